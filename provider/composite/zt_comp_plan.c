/* zt_comp_plan.c - PlanResourceChange for composites. The plan is a pure
 * function of the inputs and the private state (Terraform plans again at
 * apply and compares, plugin-protocol §4.3): per node instance an action,
 * planned values that are unknown exactly where apply could produce
 * something else, and configured values left alone (§4.2). */
#include "zt_comp_internal.h"
#include "zt_log.h"

#include <string.h>
#include <strings.h>

zt_comp_action zt_comp_decide(zt_comp_eval *ev, zt_comp_inst *in, const zt_comp_rec *r)
{
    if (!r || !r->exists)
        return ZT_COMP_CREATE;
    /* A new name for the same node: a new resource, created first; the
     * old one is deleted after the graph is applied (zt_comp_apply moves
     * its record aside), so what it carried (a spoke's firewall rules)
     * never goes missing. */
    if (in->id && r->id && strcasecmp(in->id, r->id) != 0)
        return ZT_COMP_CREATE;
    if (!in->body)
        return ZT_COMP_UNKNOWN;
    zt_arena *a = ev->c->arena;
    if (r->create_only && json_object_size(r->create_only)) {
        json_t *co = zt_comp_create_only(a, in->def, in->body);
        if (!json_equal(co, r->create_only))
            return ZT_COMP_REPLACE;
    }
    in->hash = zt_comp_body_hash(a, in->def, in->body);
    if (r->drift || !r->hash || strcmp(r->hash, in->hash) != 0)
        return ZT_COMP_UPDATE;
    return ZT_COMP_NONE;
}

/* ARM deletes a resource's children with it: a child of a node being
 * replaced is created again, whatever its own body says. */
zt_comp_action zt_comp_cascade(const zt_comp_eval *ev, const zt_comp_inst *in,
                               zt_comp_action action)
{
    if (action == ZT_COMP_CREATE || action == ZT_COMP_REPLACE || !in->id)
        return action;
    for (size_t k = 0; k < in->n_deps; k++) {
        const zt_comp_inst *d = &ev->graph.inst[in->deps[k]];
        size_t n = d->id ? strlen(d->id) : 0;
        if (d->action == ZT_COMP_REPLACE && n && strncasecmp(in->id, d->id, n) == 0 &&
            in->id[n] == '/')
            return ZT_COMP_CREATE;
    }
    return action;
}

/* Actions in dependency order: a body may need the outputs of nodes
 * planned before it, and zt_comp_output answers "unknown" for those that
 * change. */
static void plan_actions(zt_comp_eval *ev)
{
    for (size_t k = 0; k < ev->graph.n; k++) {
        zt_comp_inst *in = &ev->graph.inst[ev->graph.order[k]];
        in->body = zt_comp_eval_body(ev, in);
        in->action = zt_comp_cascade(ev, in,
                                     zt_comp_decide(ev, in, zt_comp_priv_get(&ev->priv, in->key)));
    }
}

/* Seconds along the longest chain of changing nodes (expected_seconds):
 * what the apply should take with full parallelism. Logged for users and
 * the benchmarks. */
static int critical_path_s(const zt_comp_eval *ev)
{
    int *finish = zt_arena_calloc(ev->c->arena, ev->graph.n + 1, sizeof(int));
    int longest = 0;
    for (size_t k = 0; k < ev->graph.n; k++) {
        size_t i = ev->graph.order[k];
        const zt_comp_inst *in = &ev->graph.inst[i];
        int start = 0;
        for (size_t d = 0; d < in->n_deps; d++)
            start = finish[in->deps[d]] > start ? finish[in->deps[d]] : start;
        finish[i] = start + (in->action != ZT_COMP_NONE ? in->def->expected_seconds : 0);
        longest = finish[i] > longest ? finish[i] : longest;
    }
    return longest;
}

/* Whether some underlying resource is replaced (or may be: unknown). */
static bool replaces_something(const zt_comp_eval *ev)
{
    if (ev->shape_unknown)
        return true;
    for (size_t i = 0; i < ev->graph.n; i++)
        if (ev->graph.inst[i].action == ZT_COMP_REPLACE ||
            ev->graph.inst[i].action == ZT_COMP_UNKNOWN)
            return true;
    return false;
}

/* Top-level inputs marked requires_replace whose value changes. Between
 * null and a value, only when that replaces something underneath: null and
 * the value it defaults to (as after an import) build the same resources. */
static void replace_paths(zt_comp_eval *ev, const zt_schema *s, const zt_cty_value *prior,
                          const zt_cty_value *planned, zt_comp_plan_resp *resp)
{
    zt_call *c = ev->c;
    const zt_schema_block *b = s->block;
    bool replaces = replaces_something(ev);
    resp->requires_replace = zt_arena_calloc(c->arena, b->n_attrs + 1, sizeof(zt_path *));
    for (size_t i = 0; i < b->n_attrs; i++) {
        const zt_schema_attr *at = &b->attrs[i];
        if (!at->requires_replace)
            continue;
        const zt_cty_value *x = zt_cty_get_attr(prior, at->name);
        const zt_cty_value *y = zt_cty_get_attr(planned, at->name);
        if (!x || !y || zt_cty_equal(x, y) || ((x->is_null || y->is_null) && !replaces))
            continue;
        resp->requires_replace[resp->n_requires_replace++] =
            zt_path_attr(c->arena, zt_path_root(c->arena), at->name);
    }
}

/* Reads for plan-time checks, their failures reported to a scratch list:
 * a plan never fails because a read did (the apply will say what is
 * wrong). */
typedef struct quiet_reads {
    zt_diags scratch;
    zt_call call;
    zt_comp_getter g;
    bool ok;
} quiet_reads;

static void quiet_reads_init(quiet_reads *q, zt_call *c, const zt_composite_def *def)
{
    zt_diags_init(&q->scratch, c->arena);
    q->call = *c;
    q->call.diags = &q->scratch;
    q->ok = zt_comp_getter_init(&q->g, &q->call, def) == ZT_OK;
    q->g.deadline = zt_arm_deadline_in(30 * 1000); /* a plan waits this long at most */
}

static void quiet_reads_done(quiet_reads *q, const zt_composite_def *def)
{
    if (q->scratch.count)
        zt_log(ZT_LOG_DEBUG, ZT_COMP_LOG, "plan check skipped a read", "type", def->type_name,
               "summary", q->scratch.head->summary, NULL);
}

static json_t *no_get(void *getter, const char *arm_id)
{
    ZT_UNUSED(getter);
    ZT_UNUSED(arm_id);
    return NULL;
}

static void plan_check(zt_call *c, const zt_composite_def *def, const zt_cty_value *config,
                       const zt_cty_value *prior)
{
    if (!def->plan_check || !config)
        return;
    quiet_reads q;
    quiet_reads_init(&q, c, def);
    /* Without Azure access the checks that need no read still run. */
    def->plan_check(c, config, prior, q.ok ? zt_comp_get : no_get, &q.g);
    quiet_reads_done(&q, def);
}

/* Deletes the plan would make that Azure refuses on every apply. */
static void delete_checks(zt_comp_eval *ev)
{
    quiet_reads q = {.ok = false};
    for (size_t i = 0; i < ev->priv.n; i++) {
        const zt_comp_rec *r = &ev->priv.recs[i];
        const zt_comp_node_def *nd =
            zt_comp_def_node(ev->def, zt_comp_key_node(ev->c->arena, r->key));
        if (!r->exists || !r->id || !nd || !nd->delete_check ||
            zt_comp_graph_find(&ev->graph, r->key) >= 0)
            continue;
        if (!q.call.arena)
            quiet_reads_init(&q, ev->c, ev->def);
        if (q.ok)
            nd->delete_check(ev, r->id, zt_comp_get, &q.g);
    }
    if (q.call.arena)
        quiet_reads_done(&q, ev->def);
}

static zt_rc plan_destroy(zt_call *c, const zt_schema *s, const zt_comp_plan_req *req,
                          zt_comp_plan_resp *resp)
{
    resp->planned = zt_cty_null(c->arena, s->type);
    resp->planned_private = req->prior_private;
    resp->planned_private_len = req->prior_private_len;
    return ZT_OK;
}

/* A plan whose nodes all stay as they are and whose other values equal
 * the prior state keeps the prior underlying_changes (the entries of the
 * last apply), so that it shows no change at all; any other plan shows
 * only its own actions. */
static const zt_cty_value *planned_value(zt_comp_eval *ev, const zt_comp_plan_req *req,
                                         bool create)
{
    bool all_none;
    const zt_cty_value *fresh =
        zt_comp_state_value(ev, ev->inputs, zt_comp_changes(ev, &ev->priv, &all_none), false);
    if (create || !all_none)
        return fresh;
    const zt_cty_value *kept = zt_comp_set_attr(
        ev->c->arena, fresh, "underlying_changes", zt_cty_get_attr(req->prior, "underlying_changes"));
    return zt_cty_equal(kept, req->prior) ? kept : fresh;
}

zt_rc zt_comp_plan(zt_call *c, const zt_composite_def *def, const zt_schema *s,
                   const zt_comp_plan_req *req, zt_comp_plan_resp *resp)
{
    memset(resp, 0, sizeof(*resp));
    if (!req->proposed || req->proposed->is_null)
        return plan_destroy(c, s, req, resp);
    bool create = !req->prior || req->prior->is_null;
    zt_comp_eval ev;
    /* Attributes the configuration leaves out get their defaults. */
    zt_comp_eval_init(&ev, c, def, s, zt_schema_defaults(c->arena, s->block, req->config,
                                                         req->proposed),
                      ZT_COMP_PLAN);
    ZT_TRY(zt_comp_eval_subscription(&ev));
    ZT_TRY(zt_comp_validate(c, def, s, req->config));
    plan_check(c, def, req->config, create ? NULL : req->prior);
    if (zt_diags_has_errors(c->diags))
        return ZT_ERR_INVALID;
    /* A create (also the second half of a replace, which is handed the
     * old planned_private) starts from nothing. */
    if (!create)
        ZT_TRY(zt_comp_priv_decode(c->arena, c->diags, req->prior_private,
                                   req->prior_private_len, &ev.priv));
    ZT_TRY(zt_comp_graph_build(&ev));
    plan_actions(&ev);
    delete_checks(&ev);
    if (!zt_diags_has_errors(c->diags))
        zt_comp_policy_check(&ev);
    if (zt_diags_has_errors(c->diags))
        return ZT_ERR_INVALID;
    if (!create)
        zt_comp_explain(&ev, req->prior);
    zt_log(ZT_LOG_INFO, ZT_COMP_LOG, "planned", "type", def->type_name, "nodes",
           zt_arena_printf(c->arena, "%zu", ev.graph.n), "critical_path_s",
           zt_arena_printf(c->arena, "%d", critical_path_s(&ev)), NULL);
    resp->planned = planned_value(&ev, req, create);
    if (!create) {
        replace_paths(&ev, s, req->prior, resp->planned, resp);
        resp->planned_private = req->prior_private;
        resp->planned_private_len = req->prior_private_len;
    }
    return ZT_OK;
}
