/* zt_comp_drift.c - does the resource ARM returns still match the body we
 * would PUT? Only what we set counts: ARM adds read-only and defaulted
 * properties (provisioningState, resourceGuid, etags, ...) that were never
 * ours, so the walk goes over the desired body's leaves. */
#include "zt_comp_internal.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

typedef struct drift_walk {
    zt_arena *a;
    const zt_comp_node_def *def;
    const char *where;
    /* Collecting every differing leaf (zt_comp_diffs), not only the first. */
    zt_comp_diff *out;
    size_t max, n, total;
} drift_walk;

/* Properties Azure manages even if a body names them. */
static bool managed_key(const char *k)
{
    static const char *const keys[] = {"provisioningState", "etag", "resourceGuid", "id",
                                       "type", NULL};
    for (size_t i = 0; keys[i]; i++)
        if (strcmp(k, keys[i]) == 0)
            return true;
    return false;
}

/* ptr is one of list or lies under one. */
static bool under_any(const char *const *list, const char *ptr)
{
    for (size_t i = 0; list && list[i]; i++) {
        size_t n = strlen(list[i]);
        if (strncmp(ptr, list[i], n) == 0 && (ptr[n] == '\0' || ptr[n] == '/'))
            return true;
    }
    return false;
}

static bool ignored(const zt_comp_node_def *def, const char *ptr)
{
    return under_any(def->ignore_drift, ptr) || under_any(def->set_at_create, ptr);
}

/* "West Europe" == "westeurope". */
static bool location_equal(const char *x, const char *y)
{
    for (;;) {
        while (*x == ' ')
            x++;
        while (*y == ' ')
            y++;
        if (tolower((unsigned char)*x) != tolower((unsigned char)*y))
            return false;
        if (!*x)
            return true;
        x++, y++;
    }
}

/* ARM IDs and resource names are case-insensitive. */
static bool string_equal(const char *key, const char *x, const char *y)
{
    if (key && strcmp(key, "location") == 0)
        return location_equal(x, y);
    if (x[0] == '/' || (key && strcmp(key, "name") == 0) ||
        (key && strlen(key) >= 2 && !strcasecmp(key + strlen(key) - 2, "id")))
        return strcasecmp(x, y) == 0;
    return strcmp(x, y) == 0;
}

static const char *ptr_append(zt_arena *a, const char *ptr, const char *tok)
{
    zt_buf b;
    zt_buf_init(&b, a);
    zt_buf_puts(&b, ptr);
    zt_buf_puts(&b, "/");
    for (const char *s = tok; *s; s++) {
        if (*s == '~')
            zt_buf_puts(&b, "~0");
        else if (*s == '/')
            zt_buf_puts(&b, "~1");
        else
            zt_buf_append(&b, s, 1);
    }
    return zt_buf_cstr(&b);
}

static bool walk(drift_walk *w, const char *ptr, const char *key, const json_t *want,
                 const json_t *have);

static bool walk_object(drift_walk *w, const char *ptr, const json_t *want, const json_t *have)
{
    const char *k;
    json_t *v;
    bool ok = true;
    json_object_foreach((json_t *)want, k, v)
    {
        if (managed_key(k))
            continue;
        ok &= walk(w, ptr_append(w->a, ptr, k), k, v, json_object_get(have, k));
        if (!ok && !w->max)
            return false;
    }
    return ok;
}

static const char *elem_name(const json_t *e)
{
    return json_is_object(e) ? json_string_value(json_object_get(e, "name")) : NULL;
}

/* ARM returns some collections in its own order: named elements (rules,
 * subnets, ip configurations) match by name, scalars anywhere. */
static const json_t *array_match(drift_walk *w, const char *ptr, const char *key,
                                 const json_t *want_e, const json_t *have, size_t i)
{
    const char *name = elem_name(want_e);
    const json_t *same = json_array_get(have, i);
    if (name) {
        for (size_t j = 0; j < json_array_size(have); j++) {
            const char *hn = elem_name(json_array_get(have, j));
            if (hn && strcasecmp(hn, name) == 0)
                return json_array_get(have, j);
        }
        return NULL;
    }
    if (json_is_object(want_e) || json_is_array(want_e))
        return same;
    drift_walk probe = {.a = w->a, .def = w->def};
    for (size_t j = 0; j < json_array_size(have); j++)
        if (walk(&probe, ptr, key, want_e, json_array_get(have, j)))
            return json_array_get(have, j);
    return same;
}

static bool walk_array(drift_walk *w, const char *ptr, const char *key, const json_t *want,
                       const json_t *have)
{
    bool ok = true;
    for (size_t i = 0; i < json_array_size(want); i++) {
        const char *p = zt_arena_printf(w->a, "%s/%zu", ptr, i);
        const json_t *we = json_array_get(want, i);
        ok &= walk(w, p, key, we, array_match(w, p, key, we, have, i));
        if (!ok && !w->max)
            return false;
    }
    return ok;
}

/* A differing leaf: the first one's pointer, and when collecting, each. */
static void note(drift_walk *w, const char *ptr, const json_t *want, const json_t *have)
{
    if (!w->where)
        w->where = ptr;
    w->total++;
    if (w->n < w->max)
        w->out[w->n++] = (zt_comp_diff){.ptr = ptr, .want = want, .have = have};
}

static bool walk(drift_walk *w, const char *ptr, const char *key, const json_t *want,
                 const json_t *have)
{
    bool ok, leaf = true;
    if (ignored(w->def, ptr))
        return true;
    if (json_is_null(want))
        ok = !have || json_is_null(have);
    else if (!have || json_is_null(have))
        /* ARM leaves out empty collections ("tags": {}) */
        ok = (json_is_object(want) && !json_object_size(want)) ||
             (json_is_array(want) && !json_array_size(want));
    else if (json_is_object(want) && json_is_object(have)) {
        leaf = false; /* the differing pointers are deeper */
        ok = walk_object(w, ptr, want, have);
    } else if (json_is_array(want) && json_is_array(have) &&
               json_array_size(have) == json_array_size(want)) {
        leaf = false;
        ok = walk_array(w, ptr, key, want, have);
    } else if (json_is_object(want) || json_is_array(want))
        ok = false;
    else if (json_is_string(want))
        ok = json_is_string(have) &&
             string_equal(key, json_string_value(want), json_string_value(have));
    else if (json_is_number(want))
        ok = json_is_number(have) && json_number_value(want) == json_number_value(have);
    else
        ok = json_equal((json_t *)want, (json_t *)have);
    if (!ok && leaf)
        note(w, ptr, want, have);
    return ok;
}

bool zt_comp_drifted(zt_arena *a, const zt_comp_node_def *def, const json_t *desired,
                     const json_t *actual, const char **where)
{
    drift_walk w = {.a = a, .def = def};
    bool same = walk(&w, "", NULL, desired, actual);
    if (where)
        *where = same ? NULL : (w.where ? w.where : "");
    return !same;
}

size_t zt_comp_diffs(zt_arena *a, const zt_comp_node_def *def, const json_t *desired,
                     const json_t *actual, zt_comp_diff *out, size_t max, size_t *total)
{
    drift_walk w = {.a = a, .def = def, .out = out, .max = max};
    walk(&w, "", NULL, desired, actual);
    if (total)
        *total = w.total;
    return w.n;
}
