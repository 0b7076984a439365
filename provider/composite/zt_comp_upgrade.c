/* zt_comp_upgrade.c - UpgradeResourceState for composites: a state written
 * with an older schema version goes through the composite's chain of steps
 * (zt_state_upgrade, one per version), then is decoded with the current
 * schema. Steps work on the raw JSON object, as Terraform stores it. */
#include "zt_comp_internal.h"

#include <string.h>

static const zt_state_upgrade *find_step(const zt_composite_def *def, int64_t from)
{
    for (size_t i = 0; i < def->n_upgrades; i++)
        if (def->upgrades[i].from_version == from)
            return &def->upgrades[i];
    return NULL;
}

static void apply_op(json_t *state, const zt_upgrade_op *op)
{
    json_t *v = json_object_get(state, op->from);
    switch (op->kind) {
    case ZT_UPGRADE_RENAME:
        if (v)
            json_object_set(state, op->to, v);
        json_object_del(state, op->from);
        break;
    case ZT_UPGRADE_COPY:
        if (v)
            json_object_set_new(state, op->to, json_deep_copy(v));
        break;
    case ZT_UPGRADE_DROP:
        json_object_del(state, op->from);
        break;
    }
}

static zt_rc run_step(zt_call *c, const zt_composite_def *def, const zt_state_upgrade *st,
                      json_t *state)
{
    for (size_t i = 0; i < st->n_ops; i++)
        apply_op(state, &st->ops[i]);
    if (st->fn && st->fn(c->arena, state, c->diags) != ZT_OK)
        return zt_diags_has_errors(c->diags)
                   ? ZT_ERR_INVALID
                   : zt_diag_error(c->diags, NULL, "State upgrade failed",
                                   "%s: the upgrade from schema version %lld failed.",
                                   def->type_name, (long long)st->from_version);
    return ZT_OK;
}

zt_rc zt_comp_upgrade_state(zt_call *c, const zt_composite_def *def, const zt_schema *s,
                            int64_t version, const char *json, size_t len,
                            const zt_cty_value **out)
{
    zt_arena *a = c->arena;
    *out = NULL;
    json_error_t err;
    json_t *state = json_loadb(json, len, 0, &err);
    if (!json_is_object(state)) {
        json_decref(state);
        return zt_diag_error(c->diags, NULL, "Unreadable state",
                             "The stored state of this %s is not a JSON object: %s.",
                             def->type_name, err.text);
    }
    zt_rc rc = ZT_OK;
    for (int64_t v = version; v < s->version && rc == ZT_OK; v++) {
        const zt_state_upgrade *st = find_step(def, v);
        rc = st ? run_step(c, def, st, state)
                : zt_diag_error(c->diags, NULL, "No state upgrade",
                                "%s has no upgrade from schema version %lld to %lld.",
                                def->type_name, (long long)v, (long long)v + 1);
    }
    char *text = rc == ZT_OK ? json_dumps(state, JSON_COMPACT) : NULL;
    json_decref(state);
    if (rc != ZT_OK)
        return rc;
    if (!text)
        return zt_diag_error(c->diags, NULL, "State upgrade failed", "Out of memory.");
    /* Attributes the schema no longer has are dropped (ignore_unknown). */
    rc = zt_cty_json_decode(a, text, strlen(text), s->type, true, out, c->diags);
    free(text);
    return rc;
}
