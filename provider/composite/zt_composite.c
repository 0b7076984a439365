/* zt_composite.c - validation and the state values the engine fills in:
 * id, underlying_resources, underlying_changes and the composite's outputs
 * (zt_composite.h lists the attributes every composite schema declares). */
#include "zt_comp_internal.h"

#include <string.h>
#include <strings.h>

const zt_cty_value *zt_comp_set_attr(zt_arena *a, const zt_cty_value *obj, const char *name,
                                     const zt_cty_value *val)
{
    ssize_t i = zt_cty_type_attr_index(obj->type, name);
    if (i < 0 || obj->is_null || obj->is_unknown)
        return obj;
    const zt_cty_value **vals = zt_arena_calloc(a, obj->type->n, sizeof(*vals));
    memcpy(vals, obj->u.coll.elems, obj->type->n * sizeof(*vals));
    vals[i] = val;
    return zt_cty_object(a, obj->type, vals);
}

static const zt_cty_type *attr_type(const zt_cty_value *obj, const char *name)
{
    ssize_t i = zt_cty_type_attr_index(obj->type, name);
    return i < 0 ? NULL : obj->type->types[i];
}

const zt_cty_value *zt_comp_unknown_to_null(zt_arena *a, const zt_cty_value *v)
{
    if (v->is_unknown)
        return zt_cty_null(a, v->type);
    if (v->is_null || zt_cty_is_wholly_known(v))
        return v;
    size_t n = v->u.coll.n;
    const zt_cty_value **e = zt_arena_calloc(a, n ? n : 1, sizeof(*e));
    for (size_t i = 0; i < n; i++)
        e[i] = zt_comp_unknown_to_null(a, v->u.coll.elems[i]);
    switch (v->type->kind) {
    case ZT_CTY_LIST: return zt_cty_list(a, v->type->elem, n, e);
    case ZT_CTY_SET: return zt_cty_set(a, v->type->elem, n, e);
    case ZT_CTY_MAP: return zt_cty_map(a, v->type->elem, n, v->u.coll.keys, e);
    case ZT_CTY_OBJECT: return zt_cty_object(a, v->type, e);
    case ZT_CTY_TUPLE: return zt_cty_tuple(a, v->type, e);
    default: return v;
    }
}

/* A record the inputs no longer enable that still exists (its delete
 * failed): the state keeps naming it until it is gone, except in a plan,
 * which deletes it. */
static bool leftover(const zt_comp_eval *ev, const zt_comp_rec *r)
{
    return ev->mode != ZT_COMP_PLAN && r->exists && r->id &&
           zt_comp_graph_find(&ev->graph, r->key) < 0;
}

/* node key -> ARM ID for every enabled instance and every leftover one;
 * unknown when some name depends on an input that is not known yet. */
const zt_cty_value *zt_comp_resources_map(zt_comp_eval *ev)
{
    zt_arena *a = ev->c->arena;
    const zt_comp_graph *g = &ev->graph;
    if (ev->id_unknown || ev->shape_unknown)
        return zt_cty_unknown(a, zt_cty_type_map(a, &zt_cty_string_type));
    size_t n = 0;
    const char **keys = zt_arena_calloc(a, g->n + 2 * ev->priv.n + 1, sizeof(*keys));
    const zt_cty_value **vals = zt_arena_calloc(a, g->n + 2 * ev->priv.n + 1, sizeof(*vals));
    for (size_t i = 0; i < g->n; i++) {
        keys[n] = g->inst[i].key;
        vals[n++] = zt_cty_string(a, g->inst[i].id);
        /* Still at its old ID until an apply moves it (an upgraded or
         * imported spoke's own rule collection group): listed under the key
         * the apply sets it aside as, so the state shows what it tracks. */
        const zt_comp_rec *r = zt_comp_priv_get(&ev->priv, g->inst[i].key);
        if (ev->mode != ZT_COMP_PLAN && r && r->exists && r->id && g->inst[i].id &&
            strcasecmp(r->id, g->inst[i].id) != 0) {
            keys[n] = zt_arena_printf(a, "%s~%s", r->key, r->id);
            vals[n++] = zt_cty_string(a, r->id);
        }
    }
    for (size_t i = 0; i < ev->priv.n; i++)
        if (leftover(ev, &ev->priv.recs[i])) {
            keys[n] = ev->priv.recs[i].key;
            vals[n++] = zt_cty_string(a, ev->priv.recs[i].id);
        }
    return zt_cty_map(a, &zt_cty_string_type, n, keys, vals);
}

const char **zt_comp_leftovers(const zt_comp_eval *ev, const char *node_key, const char ***ids,
                               size_t *n)
{
    zt_arena *a = ev->c->arena;
    size_t len = strlen(node_key);
    const char **out = zt_arena_calloc(a, ev->priv.n + 1, sizeof(*out));
    *ids = zt_arena_calloc(a, ev->priv.n + 1, sizeof(**ids));
    *n = 0;
    for (size_t i = 0; i < ev->priv.n; i++) {
        const char *k = ev->priv.recs[i].key;
        const char *close = strchr(k, ']');
        /* "node[instance]" exactly (not a renamed one set aside: "...~<old ID>") */
        if (!leftover(ev, &ev->priv.recs[i]) || strncmp(k, node_key, len) != 0 ||
            k[len] != '[' || !close || close[1])
            continue;
        (*ids)[*n] = ev->priv.recs[i].id;
        out[(*n)++] = zt_arena_strndup(a, k + len + 1, (size_t)(close - k - len - 1));
    }
    return out;
}

const zt_cty_value *zt_comp_changes(zt_comp_eval *ev, const zt_comp_priv *before, bool *all_none)
{
    zt_arena *a = ev->c->arena;
    size_t cap = ev->graph.n + before->n + 1, n = 0;
    const char **keys = zt_arena_calloc(a, cap, sizeof(*keys));
    const zt_cty_value **vals = zt_arena_calloc(a, cap, sizeof(*vals));
    bool unknown = ev->shape_unknown;
    for (size_t i = 0; i < ev->graph.n; i++) {
        const zt_comp_inst *in = &ev->graph.inst[i];
        const char *name = zt_comp_action_name(in->action);
        unknown |= !name;
        if (name && in->action != ZT_COMP_NONE) {
            keys[n] = in->key;
            vals[n++] = zt_cty_string(a, name);
        }
        /* Moved to a new ID: the old resource is deleted after the new one
         * exists, under the key the apply sets it aside as. */
        const zt_comp_rec *r = zt_comp_priv_get(before, in->key);
        if (r && r->exists && r->id && in->id && strcasecmp(r->id, in->id) != 0) {
            keys[n] = zt_arena_printf(a, "%s~%s", in->key, r->id);
            vals[n++] = zt_cty_string(a, zt_comp_action_name(ZT_COMP_DELETE));
        }
    }
    for (size_t i = 0; i < before->n; i++) {
        const zt_comp_rec *r = &before->recs[i];
        if (!r->exists || zt_comp_graph_find(&ev->graph, r->key) >= 0)
            continue;
        keys[n] = r->key;
        vals[n++] = zt_cty_string(a, zt_comp_action_name(ZT_COMP_DELETE));
    }
    *all_none = n == 0 && !unknown;
    if (unknown)
        return zt_cty_unknown(a, zt_cty_type_map(a, &zt_cty_string_type));
    return zt_cty_map(a, &zt_cty_string_type, n, keys, vals);
}

static const zt_cty_value *id_value(zt_comp_eval *ev)
{
    zt_arena *a = ev->c->arena;
    const char *id = zt_comp_id(ev, ev->def->id_node);
    return id ? zt_cty_string(a, id) : zt_cty_unknown(a, &zt_cty_string_type);
}

const zt_cty_value *zt_comp_state_value(zt_comp_eval *ev, const zt_cty_value *base,
                                        const zt_cty_value *changes, bool wholly_known)
{
    zt_arena *a = ev->c->arena;
    const zt_cty_value *v = base;
    v = zt_comp_set_attr(a, v, "id", id_value(ev));
    v = zt_comp_set_attr(a, v, "underlying_resources", zt_comp_resources_map(ev));
    if (changes)
        v = zt_comp_set_attr(a, v, "underlying_changes", changes);
    for (size_t i = 0; i < ev->def->n_outputs; i++) {
        const zt_comp_output_def *o = &ev->def->outputs[i];
        const zt_cty_type *t = attr_type(v, o->attr);
        if (!t)
            continue;
        ev->cur = NULL;
        /* Nodes may come or go once the inputs are known: no output is. */
        const zt_cty_value *ov = ev->shape_unknown ? NULL : o->value(ev);
        v = zt_comp_set_attr(a, v, o->attr, ov ? ov : zt_cty_unknown(a, t));
    }
    /* Write-only inputs are never stored. */
    for (size_t i = 0; i < ev->s->block->n_attrs; i++) {
        const zt_schema_attr *at = &ev->s->block->attrs[i];
        if (at->write_only)
            v = zt_comp_set_attr(a, v, at->name, zt_cty_null(a, attr_type(v, at->name)));
    }
    return wholly_known ? zt_comp_unknown_to_null(a, v) : v;
}

void zt_comp_finish_state(zt_comp_eval *ev, const zt_cty_value *v, zt_comp_state *resp)
{
    resp->state = v;
    zt_comp_priv_slim(ev);
    zt_comp_priv_encode(ev->c->arena, &ev->priv, &resp->private_data, &resp->private_len);
}

zt_rc zt_comp_validate(zt_call *c, const zt_composite_def *def, const zt_schema *s,
                       const zt_cty_value *config)
{
    zt_rc rc = zt_comp_def_check(def, c->diags);
    if (rc != ZT_OK || !config || config->is_null)
        return rc;
    rc = zt_comp_check_timeouts(c, config);
    if (def->validate && def->validate(c, s, config) != ZT_OK)
        rc = ZT_ERR_INVALID;
    return zt_diags_has_errors(c->diags) ? ZT_ERR_INVALID : rc;
}
