/* zt_diag.c - see zt_diag.h. */
#include "zt_diag.h"

#include <inttypes.h>
#include <string.h>

zt_path *zt_path_root(zt_arena *a)
{
    return zt_arena_alloc(a, sizeof(zt_path));
}

static zt_path *path_extend(zt_arena *a, const zt_path *p, zt_step step)
{
    zt_path *n = zt_arena_alloc(a, sizeof(*n));
    size_t len = p ? p->len : 0;
    n->steps = zt_arena_calloc(a, len + 1, sizeof(zt_step));
    if (len)
        memcpy(n->steps, p->steps, len * sizeof(zt_step));
    n->steps[len] = step;
    n->len = len + 1;
    return n;
}

zt_path *zt_path_attr(zt_arena *a, const zt_path *p, const char *name)
{
    return path_extend(a, p, (zt_step){.kind = ZT_STEP_ATTR, .name = zt_arena_strdup(a, name)});
}

zt_path *zt_path_key(zt_arena *a, const zt_path *p, const char *key)
{
    return path_extend(a, p, (zt_step){.kind = ZT_STEP_KEY_STRING, .name = zt_arena_strdup(a, key)});
}

zt_path *zt_path_index(zt_arena *a, const zt_path *p, int64_t index)
{
    return path_extend(a, p, (zt_step){.kind = ZT_STEP_KEY_INT, .index = index});
}

const char *zt_path_str(zt_arena *a, const zt_path *p)
{
    zt_buf b;
    zt_buf_init(&b, a);
    for (size_t i = 0; p && i < p->len; i++) {
        const zt_step *s = &p->steps[i];
        switch (s->kind) {
        case ZT_STEP_ATTR:
            zt_buf_printf(&b, "%s%s", i ? "." : "", s->name);
            break;
        case ZT_STEP_KEY_STRING:
            zt_buf_printf(&b, "[\"%s\"]", s->name);
            break;
        case ZT_STEP_KEY_INT:
            zt_buf_printf(&b, "[%" PRId64 "]", s->index);
            break;
        }
    }
    return zt_buf_cstr(&b);
}

void zt_diags_init(zt_diags *d, zt_arena *a)
{
    memset(d, 0, sizeof(*d));
    d->arena = a;
}

static zt_diag *diag_addv(zt_diags *d, zt_severity sev, const zt_path *path,
                          const char *summary, const char *fmt, va_list ap)
{
    zt_diag *g = zt_arena_alloc(d->arena, sizeof(*g));
    g->severity = sev;
    g->summary = zt_arena_strdup(d->arena, summary);
    g->detail = fmt ? zt_arena_vprintf(d->arena, fmt, ap) : "";
    g->path = path;
    if (d->tail)
        d->tail->next = g;
    else
        d->head = g;
    d->tail = g;
    d->count++;
    if (sev == ZT_SEV_ERROR)
        d->errors++;
    return g;
}

zt_diag *zt_diag_add(zt_diags *d, zt_severity sev, const zt_path *path,
                     const char *summary, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    zt_diag *g = diag_addv(d, sev, path, summary, fmt, ap);
    va_end(ap);
    return g;
}

zt_rc zt_diag_error(zt_diags *d, const zt_path *path, const char *summary,
                    const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_addv(d, ZT_SEV_ERROR, path, summary, fmt, ap);
    va_end(ap);
    return ZT_ERR_INVALID;
}

void zt_diag_warning(zt_diags *d, const zt_path *path, const char *summary,
                     const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_addv(d, ZT_SEV_WARNING, path, summary, fmt, ap);
    va_end(ap);
}

void zt_diags_append(zt_diags *dst, const zt_diags *src)
{
    for (const zt_diag *g = src->head; g; g = g->next)
        zt_diag_add(dst, g->severity, g->path, g->summary, "%s", g->detail);
}
