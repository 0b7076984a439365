/* zt_schema_defaults.c - the schemas' "default" values, put where the
 * configuration leaves an attribute out, so that plans, state after a
 * create and state after an import all hold the value in use. */
#include "zt_schema.h"

#include <string.h>

/* "${name}" in a string default: the sibling attribute's string. */
static const zt_cty_value *expand(zt_arena *a, const zt_cty_value *dflt, const zt_cty_value *obj)
{
    if (dflt->type->kind != ZT_CTY_STRING || !strstr(dflt->u.str.ptr, "${"))
        return dflt;
    zt_buf b;
    zt_buf_init(&b, a);
    for (const char *p = dflt->u.str.ptr; *p;) {
        const char *open = strstr(p, "${"), *close = open ? strchr(open, '}') : NULL;
        if (!close) {
            zt_buf_puts(&b, p);
            break;
        }
        zt_buf_append(&b, p, (size_t)(open - p));
        const zt_cty_value *v =
            zt_cty_get_attr(obj, zt_arena_strndup(a, open + 2, (size_t)(close - open - 2)));
        if (!v || !zt_cty_is_known(v))
            return zt_cty_unknown(a, dflt->type);
        if (v->is_null || v->type->kind != ZT_CTY_STRING)
            return zt_cty_null(a, dflt->type);
        zt_buf_puts(&b, v->u.str.ptr);
        p = close + 1;
    }
    return zt_cty_string(a, zt_buf_cstr(&b));
}

static const zt_cty_value *fill(zt_arena *a, const zt_schema_attr *attrs, size_t n,
                                const zt_cty_value *config, const zt_cty_value *value)
{
    if (!value || value->is_null || !zt_cty_is_known(value) || value->type->kind != ZT_CTY_OBJECT)
        return value;
    const zt_cty_value **vals = NULL;
    for (size_t i = 0; i < n; i++) {
        const zt_schema_attr *at = &attrs[i];
        ssize_t idx = zt_cty_type_attr_index(value->type, at->name);
        if (idx < 0)
            continue;
        const zt_cty_value *cur = value->u.coll.elems[idx];
        const zt_cty_value *cv = config ? zt_cty_get_attr(config, at->name) : cur;
        const zt_cty_value *nv = cur;
        if (at->default_value && cv && cv->is_null)
            nv = expand(a, at->default_value, value);
        else if (at->optional && at->computed && config && cv && cv->is_null &&
                 !zt_cty_is_known(cur))
            /* left out at create, no default: nothing to wait for */
            nv = zt_cty_null(a, cur->type);
        else if (at->nested_mode == ZT_NEST_SINGLE && (!config || cv))
            nv = fill(a, at->nested_attrs, at->n_nested_attrs, config ? cv : NULL, cur);
        if (nv == cur)
            continue;
        if (!vals) {
            vals = zt_arena_calloc(a, value->type->n, sizeof(*vals));
            memcpy(vals, value->u.coll.elems, value->type->n * sizeof(*vals));
        }
        vals[idx] = nv;
    }
    return vals ? zt_cty_object(a, value->type, vals) : value;
}

const zt_cty_value *zt_schema_defaults(zt_arena *a, const zt_schema_block *b,
                                       const zt_cty_value *config, const zt_cty_value *value)
{
    return fill(a, b->attrs, b->n_attrs, config, value);
}
