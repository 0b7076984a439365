/* zt_comp_apply.c - ApplyResourceChange for composites: create/update the
 * graph in parallel (a node starts as soon as its dependencies succeeded),
 * then delete what is no longer enabled in reverse dependency order;
 * destroy deletes everything that way. A failure lets operations in flight
 * finish, starts nothing new, and returns the state of everything that
 * exists, so the next apply resumes (names are deterministic and PUT is
 * idempotent). */
#include "zt_comp_internal.h"
#include "zt_log.h"

#include <string.h>
#include <strings.h>

/* ---- the ARM client -------------------------------------------------------- */

static zt_rc arm_client(zt_call *c, zt_arm_client **out)
{
    return zt_provider_arm(c, (struct zt_arm_client **)out);
}

/* The node's advice for this error (error_hints), "" when none. */
static const char *node_hint(zt_call *c, const zt_comp_node_def *def, const zt_comp_task *t)
{
    const char *const *h = def ? def->error_hints : NULL;
    zt_buf b;
    zt_buf_init(&b, c->arena);
    for (size_t i = 0; h && h[i] && h[i + 1] && h[i + 2]; i += 3) {
        bool code = strcmp(h[i], "*") == 0 || (t->error_code && strcasecmp(h[i], t->error_code) == 0);
        bool text = !h[i + 1][0] || (t->error_message && strcasestr(t->error_message, h[i + 1]));
        if (code && text)
            zt_buf_printf(&b, "\n\n%s", h[i + 2]);
    }
    return zt_buf_cstr(&b);
}

/* What the next apply does. After a failed create Terraform taints the
 * resource: the next apply replaces it (deletes everything that exists,
 * then creates it again) unless it is untainted. */
static const char *resume_advice(bool create)
{
    return create ? "Everything that exists is kept in the state. Terraform marks the resource "
                    "as tainted after a failed create, so the next apply replaces it: it deletes "
                    "what exists, then creates it all again. To resume where this apply stopped "
                    "instead, run `terraform untaint` with the resource's address (shown above) "
                    "first, then apply again."
                  : "Everything that exists is kept in the state; run the apply again to resume.";
}

static void node_error(zt_call *c, const char *verb, const zt_comp_task *t,
                       const zt_comp_node_def *def, bool create)
{
    zt_diag_error(c->diags, NULL, zt_arena_printf(c->arena, "Failed to %s %s", verb, t->key),
                  "Node %s (ARM ID %s): %s.%s\n\n%s", t->key, t->id ? t->id : "?",
                  t->error ? t->error : zt_rc_str(t->rc), node_hint(c, def, t),
                  resume_advice(create));
}

/* ---- create / update ---------------------------------------------------------- */

typedef struct apply_ctx {
    zt_comp_eval *ev;
    zt_comp_task *tasks;
    json_t **create_only;
} apply_ctx;

/* A create of a type Azure soft-deletes: what recovers a deleted one. */
static void prepare_recovery(zt_comp_eval *ev, zt_comp_inst *in, zt_comp_task *t)
{
    const zt_comp_soft_delete *sd = in->def->soft_delete;
    if (!sd || (in->action != ZT_COMP_CREATE && in->action != ZT_COMP_REPLACE) ||
        !ev->c->provider->config.recover_soft_deleted_key_vaults)
        return;
    t->recover_id = zt_comp_eval_str(ev, in, sd->deleted_id);
    if (!t->recover_id)
        return;
    t->soft_delete = sd;
    t->recover_body = json_deep_copy(in->body);
    json_t *v = json_string(sd->recover_value);
    zt_comp_json_set(t->recover_body, sd->recover_ptr, v);
    json_decref(v);
}

static bool deps_done(const apply_ctx *x, const zt_comp_inst *in)
{
    for (size_t k = 0; k < in->n_deps; k++) {
        const zt_comp_task *d = &x->tasks[in->deps[k]];
        if (!d->complete || d->rc != ZT_OK)
            return false;
    }
    return true;
}

/* The body is built now, with every dependency's outputs known. */
static bool apply_ready(void *arg, size_t i)
{
    apply_ctx *x = arg;
    zt_comp_eval *ev = x->ev;
    zt_comp_inst *in = &ev->graph.inst[i];
    zt_comp_task *t = &x->tasks[i];
    if (!deps_done(x, in))
        return false;
    zt_arena *a = ev->c->arena;
    t->key = in->key;
    t->id = in->id;
    t->arm_type = in->def->arm_type;
    in->body = zt_comp_eval_body(ev, in);
    if (!in->body || !in->id) {
        t->rc = ZT_ERR_INVALID;
        t->error = "its body could not be built at apply time (an input is still unknown); "
                   "this is a provider bug";
        t->done = true;
        return true;
    }
    in->action = zt_comp_cascade(ev, in,
                                 zt_comp_decide(ev, in, zt_comp_priv_get(&ev->priv, in->key)));
    if (!in->hash)
        in->hash = zt_comp_body_hash(a, in->def, in->body);
    x->create_only[i] = zt_comp_create_only(a, in->def, in->body);
    t->serial = zt_arm_serial_key(a, zt_comp_part_base(a, in->id), in->def->arm_type);
    /* a create takes the node's time; an update or a delete its type's */
    t->expected_ms = in->action == ZT_COMP_CREATE || in->action == ZT_COMP_REPLACE
                         ? (int64_t)in->def->expected_seconds * 1000
                         : zt_arm_expected_ms(in->def->arm_type, ZT_ARM_PUT);
    t->expected_delete_ms = zt_arm_expected_ms(in->def->arm_type, ZT_ARM_DELETE);
    switch (in->action) {
    case ZT_COMP_CREATE:
    case ZT_COMP_UPDATE: t->op = ZT_COMP_OP_PUT; break;
    case ZT_COMP_REPLACE: t->op = ZT_COMP_OP_REPLACE; break;
    default: t->op = 0; break;
    }
    if (t->op) {
        t->body = json_deep_copy(in->body);
        t->retry_codes = in->def->retry_codes;
        t->exists_codes = in->def->exists_codes;
        if (in->action == ZT_COMP_UPDATE)
            t->preserve = zt_comp_preserve_list(a, in->def);
        prepare_recovery(ev, in, t);
        zt_log(ZT_LOG_DEBUG, ZT_COMP_LOG, "starting node", "node", in->key, "action",
               zt_comp_action_name(in->action), "id", in->id, NULL);
    }
    return true;
}

static void apply_finished(void *arg, size_t i)
{
    apply_ctx *x = arg;
    zt_comp_eval *ev = x->ev;
    zt_comp_inst *in = &ev->graph.inst[i];
    zt_comp_task *t = &x->tasks[i];
    if (!t->op)
        return;
    zt_comp_rec *r = zt_comp_priv_put(ev->c->arena, &ev->priv, in->key);
    r->id = in->id;
    zt_log(t->rc == ZT_OK ? ZT_LOG_INFO : ZT_LOG_WARN, ZT_COMP_LOG,
           t->rc == ZT_OK ? "node applied" : "node failed", "node", in->key, "action",
           zt_comp_action_name(in->action), "id", in->id, "rc", zt_rc_str(t->rc), NULL);
    if (t->rc != ZT_OK) {
        /* A failed PUT may have left the resource behind (an LRO that
         * ended Failed): track it, and force a PUT next time. A create ARM
         * refused outright left nothing. */
        if (in->action != ZT_COMP_CREATE || t->maybe_written)
            r->exists = true;
        r->hash = "";
        return;
    }
    r->exists = true;
    r->drift = false;
    r->hash = in->hash;
    r->outputs = t->result;
    r->create_only = x->create_only[i];
}

/* Records whose node now has another ARM ID (a renamed resource) are
 * kept under "<key>~<old ID>": the node is created under its new ID and
 * the old resource deleted with the nodes no longer enabled. */
static void set_aside_renamed(zt_comp_eval *ev)
{
    for (size_t i = 0; i < ev->graph.n; i++) {
        const zt_comp_inst *in = &ev->graph.inst[i];
        zt_comp_rec *r = zt_comp_priv_get(&ev->priv, in->key);
        if (!r || !r->exists || !r->id || !in->id || strcasecmp(r->id, in->id) == 0)
            continue;
        r->key = zt_arena_printf(ev->c->arena, "%s~%s", in->key, r->id);
    }
}

static zt_rc apply_graph(zt_comp_eval *ev, zt_arm_client *arm, int64_t deadline, bool create)
{
    zt_call *c = ev->c;
    size_t n = ev->graph.n;
    apply_ctx x = {
        .ev = ev,
        .tasks = zt_arena_calloc(c->arena, n + 1, sizeof(zt_comp_task)),
        .create_only = zt_arena_calloc(c->arena, n + 1, sizeof(json_t *)),
    };
    zt_comp_sched s = {.n = n, .tasks = x.tasks, .ready = apply_ready,
                       .finished = apply_finished, .arg = &x, .stop_on_error = true};
    zt_rc rc = zt_comp_run(c, arm, deadline, &s);
    for (size_t i = 0; i < n; i++)
        if (x.tasks[i].complete && x.tasks[i].rc != ZT_OK)
            node_error(c, x.tasks[i].op == ZT_COMP_OP_REPLACE ? "replace" : "apply", &x.tasks[i],
                       ev->graph.inst[i].def, create);
    if (rc == ZT_ERR_CANCELLED)
        zt_diag_error(c->diags, NULL, "Apply cancelled",
                      "Terraform asked the provider to stop; nodes not started yet were left "
                      "alone.\n\n%s", resume_advice(create));
    return rc;
}

/* ---- deletes ------------------------------------------------------------------ */

/* Does node definition `from` depend on `to`, directly or not? */
static bool def_reaches(const zt_composite_def *def, const char *from, const char *to,
                        size_t depth)
{
    const zt_comp_node_def *n = zt_comp_def_node(def, from);
    if (!n || depth > def->n_nodes)
        return false;
    for (size_t k = 0; n->depends_on && n->depends_on[k]; k++)
        if (strcmp(n->depends_on[k], to) == 0 ||
            def_reaches(def, n->depends_on[k], to, depth + 1))
            return true;
    return false;
}

/* ARM's own order: a child resource (its ID under the parent's) goes
 * before its parent, declared dependency or not. */
static bool is_child(const char *id, const char *parent)
{
    size_t n = parent ? strlen(parent) : 0;
    return id && n && strncasecmp(id, parent, n) == 0 && id[n] == '/';
}

typedef struct delete_ctx {
    zt_comp_eval *ev;
    zt_comp_rec **recs;
    const char **node;       /* definition key of each record */
    zt_comp_task *tasks;
    size_t n;
} delete_ctx;

/* A node goes once everything that depends on it is gone. */
static bool delete_ready(void *arg, size_t i)
{
    delete_ctx *x = arg;
    const zt_composite_def *def = x->ev->def;
    for (size_t j = 0; j < x->n; j++) {
        if (j == i || (x->tasks[j].complete && x->tasks[j].rc == ZT_OK))
            continue;
        if (is_child(x->recs[j]->id, x->recs[i]->id))
            return false;
        if (strcmp(x->node[j], x->node[i]) != 0 && def_reaches(def, x->node[j], x->node[i], 0))
            return false;
    }
    zt_comp_task *t = &x->tasks[i];
    const zt_comp_node_def *nd = zt_comp_def_node(def, x->node[i]);
    /* No DELETE in ARM: goes with its parent (op 0 completes at once). */
    t->op = nd && nd->delete_with_parent ? 0 : ZT_COMP_OP_DELETE;
    t->key = x->recs[i]->key;
    t->id = x->recs[i]->id;
    t->arm_type = nd ? nd->arm_type : NULL;
    t->expected_delete_ms = zt_arm_expected_ms(t->arm_type, ZT_ARM_DELETE);
    t->serial = zt_arm_serial_key(x->ev->c->arena, zt_comp_part_base(x->ev->c->arena, t->id),
                                  t->arm_type);
    return true;
}

static void delete_finished(void *arg, size_t i)
{
    delete_ctx *x = arg;
    if (x->tasks[i].rc == ZT_OK)
        x->recs[i]->exists = false;
}

/* Delete the existing records doomed() picks, in reverse dependency order. */
static zt_rc delete_records(zt_comp_eval *ev, zt_arm_client *arm, int64_t deadline,
                            bool (*doomed)(zt_comp_eval *ev, const zt_comp_rec *r))
{
    zt_call *c = ev->c;
    size_t n = 0, cap = ev->priv.n + 1;
    delete_ctx x = {
        .ev = ev,
        .recs = zt_arena_calloc(c->arena, cap, sizeof(zt_comp_rec *)),
        .node = zt_arena_calloc(c->arena, cap, sizeof(char *)),
        .tasks = zt_arena_calloc(c->arena, cap, sizeof(zt_comp_task)),
    };
    for (size_t i = 0; i < ev->priv.n; i++) {
        zt_comp_rec *r = &ev->priv.recs[i];
        if (!r->exists || !doomed(ev, r))
            continue;
        x.recs[n] = r;
        x.node[n++] = zt_comp_key_node(c->arena, r->key);
    }
    if (!n)
        return ZT_OK;
    x.n = n;
    zt_comp_sched s = {.n = n, .tasks = x.tasks, .ready = delete_ready,
                       .finished = delete_finished, .arg = &x, .stop_on_error = true};
    zt_rc rc = zt_comp_run(c, arm, deadline, &s);
    for (size_t i = 0; i < n; i++)
        if (x.tasks[i].complete && x.tasks[i].rc != ZT_OK)
            node_error(c, "delete", &x.tasks[i], NULL, false);
    /* Records deleted for good leave the private state. */
    for (size_t i = 0; i < n; i++)
        if (x.tasks[i].complete && x.tasks[i].rc == ZT_OK)
            x.recs[i]->hash = NULL;
    for (size_t i = ev->priv.n; i-- > 0;)
        if (!ev->priv.recs[i].hash)
            zt_comp_priv_remove(&ev->priv, ev->priv.recs[i].key);
    if (rc == ZT_ERR_CANCELLED)
        zt_diag_error(c->diags, NULL, "Delete cancelled",
                      "Terraform asked the provider to stop; some resources still exist.");
    return rc;
}

static bool not_enabled(zt_comp_eval *ev, const zt_comp_rec *r)
{
    return zt_comp_graph_find(&ev->graph, r->key) < 0;
}

static bool everything(zt_comp_eval *ev, const zt_comp_rec *r)
{
    ZT_UNUSED(ev);
    ZT_UNUSED(r);
    return true;
}

/* ---- entry points ---------------------------------------------------------------- */

/* The planned underlying_changes, or when the plan could not know it,
 * what this apply did (before: the records as the apply found them). */
static const zt_cty_value *final_changes(zt_comp_eval *ev, const zt_cty_value *planned,
                                         const zt_comp_priv *before)
{
    const zt_cty_value *m = zt_cty_get_attr(planned, "underlying_changes");
    if (m && zt_cty_is_wholly_known(m))
        return m;
    bool all_none;
    return zt_comp_changes(ev, before, &all_none);
}

static zt_rc destroy(zt_call *c, const zt_composite_def *def, const zt_schema *s,
                     const zt_comp_apply_req *req, zt_comp_state *resp)
{
    zt_arm_client *arm;
    zt_comp_eval ev;
    zt_comp_eval_init(&ev, c, def, s, req->prior, ZT_COMP_APPLY);
    ZT_TRY(arm_client(c, &arm));
    ZT_TRY(zt_comp_eval_subscription(&ev));
    ZT_TRY(zt_comp_priv_decode(c->arena, c->diags, req->planned_private,
                               req->planned_private_len, &ev.priv));
    ZT_TRY(zt_comp_graph_build(&ev));
    /* Without private state (an old or hand-edited state), delete by the
     * deterministic IDs: a 404 is fine. */
    for (size_t i = 0; i < ev.graph.n; i++) {
        zt_comp_inst *in = &ev.graph.inst[i];
        if (in->id && !zt_comp_priv_get(&ev.priv, in->key)) {
            zt_comp_rec *r = zt_comp_priv_put(c->arena, &ev.priv, in->key);
            r->id = in->id;
            r->exists = true;
        }
    }
    int64_t deadline = zt_arm_deadline_in(zt_comp_timeout_ms(def, req->prior, ZT_COMP_T_DELETE));
    zt_rc rc = delete_records(&ev, arm, deadline, everything);
    if (rc == ZT_OK && !zt_comp_priv_any(&ev.priv)) {
        resp->state = zt_cty_null(c->arena, s->type);
        return ZT_OK;
    }
    /* Keep tracking what still exists. */
    zt_comp_finish_state(&ev, req->prior, resp);
    return rc != ZT_OK ? rc : ZT_ERR_REMOTE;
}

zt_rc zt_comp_apply(zt_call *c, const zt_composite_def *def, const zt_schema *s,
                    const zt_comp_apply_req *req, zt_comp_state *resp)
{
    memset(resp, 0, sizeof(*resp));
    if (!req->planned || req->planned->is_null)
        return destroy(c, def, s, req, resp);
    bool create = !req->prior || req->prior->is_null;
    zt_arm_client *arm;
    zt_comp_eval ev;
    zt_comp_eval_init(&ev, c, def, s, req->planned, ZT_COMP_APPLY);
    ev.config = req->config;
    ZT_TRY(arm_client(c, &arm));
    ZT_TRY(zt_comp_eval_subscription(&ev));
    if (!create)
        ZT_TRY(zt_comp_priv_decode(c->arena, c->diags, req->planned_private,
                                   req->planned_private_len, &ev.priv));
    ZT_TRY(zt_comp_graph_build(&ev));
    int64_t ms = zt_comp_timeout_ms(def, req->planned,
                                    create ? ZT_COMP_T_CREATE : ZT_COMP_T_UPDATE);
    int64_t deadline = zt_arm_deadline_in(ms);
    zt_comp_priv before;
    zt_comp_priv_copy(c->arena, &ev.priv, &before);
    set_aside_renamed(&ev);
    zt_rc rc = apply_graph(&ev, arm, deadline, create);
    if (rc == ZT_OK)
        rc = delete_records(&ev, arm, deadline, not_enabled);
    if (rc != ZT_OK && create && !zt_comp_priv_any(&ev.priv)) {
        resp->state = NULL; /* nothing was created: no state at all */
        return rc;
    }
    const zt_cty_value *v = zt_comp_state_value(
        &ev, req->planned, final_changes(&ev, req->planned, &before), true);
    zt_comp_finish_state(&ev, v, resp);
    return rc;
}
