/* zt_test_values.h - building cty values and checking diagnostics in unit
 * tests (header-only; included by test_schema.c, test_config.c and
 * test_addrplan.c). */
#ifndef ZT_TEST_VALUES_H
#define ZT_TEST_VALUES_H

#include "zt_cty.h"
#include "zt_diag.h"

#include <check.h>
#include <stdarg.h>
#include <string.h>

/* An object of type t from NULL-terminated (name, value) pairs; the other
 * attributes are null. */
static inline const zt_cty_value *tv_object(zt_arena *a, const zt_cty_type *t, ...)
{
    const zt_cty_value **vals = zt_arena_calloc(a, t->n + 1, sizeof(*vals));
    va_list ap;
    va_start(ap, t);
    for (const char *name; (name = va_arg(ap, const char *));) {
        const zt_cty_value *v = va_arg(ap, const zt_cty_value *);
        ssize_t i = zt_cty_type_attr_index(t, name);
        ck_assert_msg(i >= 0, "no attribute %s", name);
        vals[i] = v;
    }
    va_end(ap);
    for (size_t i = 0; i < t->n; i++)
        if (!vals[i])
            vals[i] = zt_cty_null(a, t->types[i]);
    return zt_cty_object(a, t, (const zt_cty_value *const *)vals);
}

static inline const zt_cty_type *tv_type(zt_arena *a, const char *json)
{
    zt_diags d;
    zt_diags_init(&d, a);
    const zt_cty_type *t = NULL;
    ck_assert_int_eq(zt_cty_type_from_json(a, json, strlen(json), &t, &d), ZT_OK);
    return t;
}

static inline const zt_cty_value *tv_strings(zt_arena *a, size_t n, const char *const *s)
{
    const zt_cty_value **v = zt_arena_calloc(a, n + 1, sizeof(*v));
    for (size_t i = 0; i < n; i++)
        v[i] = zt_cty_string(a, s[i]);
    return zt_cty_list(a, &zt_cty_string_type, n, (const zt_cty_value *const *)v);
}

/* The first diagnostic with this summary, or NULL. */
static inline const zt_diag *tv_find(const zt_diags *d, const char *summary)
{
    for (const zt_diag *g = d->head; g; g = g->next)
        if (strcmp(g->summary, summary) == 0)
            return g;
    return NULL;
}

/* Assert that a diagnostic with this severity and summary exists at this
 * path ("" = no path) whose detail contains detail_part (if given). */
static inline void tv_expect(zt_arena *a, const zt_diags *d, zt_severity sev, const char *summary,
                             const char *path, const char *detail_part)
{
    for (const zt_diag *g = d->head; g; g = g->next) {
        if (g->severity != sev || strcmp(g->summary, summary) != 0)
            continue;
        const char *p = g->path ? zt_path_str(a, g->path) : "";
        if (strcmp(p, path) == 0 && (!detail_part || strstr(g->detail, detail_part)))
            return;
    }
    zt_buf b;
    zt_buf_init(&b, a);
    for (const zt_diag *g = d->head; g; g = g->next)
        zt_buf_printf(&b, "\n  [%d] %s at %s: %s", g->severity, g->summary,
                      g->path ? zt_path_str(a, g->path) : "-", g->detail);
    ck_abort_msg("expected \"%s\" at \"%s\" mentioning \"%s\"; got:%s", summary, path,
                 detail_part ? detail_part : "", zt_buf_cstr(&b));
}

#define tv_expect_error(a, d, summary, path, detail) \
    tv_expect(a, d, ZT_SEV_ERROR, summary, path, detail)
#define tv_expect_warning(a, d, summary, path, detail) \
    tv_expect(a, d, ZT_SEV_WARNING, summary, path, detail)

#endif
