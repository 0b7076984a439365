/* zt_comp_read.c - ReadResource and ImportResourceState for composites:
 * one read per node (in parallel; served from a list read of its collection
 * where the type allows, zt_arm_get_listed), 404 means the node is gone, the rest is
 * compared with the body we would PUT now and drift is recorded in the
 * private state so that the next plan repairs it. */
#include "zt_comp_internal.h"
#include "zt_log.h"

#include <string.h>
#include <strings.h>

typedef struct read_ctx {
    zt_comp_eval *ev;
    zt_comp_task *tasks;
    const char **keys;
    const char **types;
    const char **ids;
    /* Nodes that share another's resource (read once): key and task. */
    const char **alias_keys;
    size_t *alias_of;
    size_t n_alias;
} read_ctx;

static bool read_ready(void *arg, size_t i)
{
    read_ctx *x = arg;
    zt_comp_task *t = &x->tasks[i];
    t->op = ZT_COMP_OP_GET;
    t->key = x->keys[i];
    t->id = x->ids[i];
    t->arm_type = x->types[i];
    return true;
}

static void merge_read(read_ctx *x, const char *key, const char *id, zt_rc rc, json_t *result)
{
    zt_comp_rec *r = zt_comp_priv_get(&x->ev->priv, key);
    if (rc == ZT_ERR_NOTFOUND) {
        if (r) {
            r->exists = false;
            r->drift = false;
        }
        return;
    }
    if (rc != ZT_OK)
        return;
    if (!r) {
        /* Found but never recorded (lost private state): adopt it, and
         * let the next plan PUT the desired body over it. */
        r = zt_comp_priv_put(x->ev->c->arena, &x->ev->priv, key);
        r->id = id;
        r->hash = "";
    }
    r->exists = true;
    r->outputs = result;
}

static void read_finished(void *arg, size_t i)
{
    read_ctx *x = arg;
    zt_comp_task *t = &x->tasks[i];
    merge_read(x, t->key, t->id, t->rc, t->result);
    for (size_t k = 0; k < x->n_alias; k++)
        if (x->alias_of[k] == i)
            merge_read(x, x->alias_keys[k], t->id, t->rc, t->result);
}

/* One read per resource: a node whose ID an earlier one has shares its. */
static bool add_target(read_ctx *x, size_t *n, const char *key, const char *id, const char *type)
{
    for (size_t j = 0; j < *n; j++)
        if (strcasecmp(x->ids[j], id) == 0) {
            x->alias_keys[x->n_alias] = key;
            x->alias_of[x->n_alias++] = j;
            return false;
        }
    x->keys[*n] = key;
    x->ids[*n] = id;
    x->types[(*n)++] = type;
    return true;
}

/* The GET list: every enabled instance plus recorded ones no longer
 * enabled (they still exist until an apply deletes them). */
static size_t read_targets(read_ctx *x)
{
    zt_comp_eval *ev = x->ev;
    zt_arena *a = ev->c->arena;
    size_t cap = ev->graph.n + ev->priv.n + 1, n = 0;
    x->keys = zt_arena_calloc(a, cap, sizeof(char *));
    x->ids = zt_arena_calloc(a, cap, sizeof(char *));
    x->types = zt_arena_calloc(a, cap, sizeof(char *));
    x->tasks = zt_arena_calloc(a, cap, sizeof(zt_comp_task));
    x->alias_keys = zt_arena_calloc(a, cap, sizeof(char *));
    x->alias_of = zt_arena_calloc(a, cap, sizeof(size_t));
    for (size_t i = 0; i < ev->graph.n; i++) {
        const zt_comp_inst *in = &ev->graph.inst[i];
        const zt_comp_rec *r = zt_comp_priv_get(&ev->priv, in->key);
        if (!in->id)
            continue;
        /* A node that moves to a new ID (the apply creates the new one, then
         * deletes the old): the state tracks the old resource until then. */
        bool moved = r && r->exists && r->id && strcasecmp(r->id, in->id) != 0;
        add_target(x, &n, in->key, moved ? r->id : in->id, in->def->arm_type);
    }
    for (size_t i = 0; i < ev->priv.n; i++) {
        const zt_comp_rec *r = &ev->priv.recs[i];
        if (!r->exists || zt_comp_graph_find(&ev->graph, r->key) >= 0)
            continue;
        const zt_comp_node_def *nd = zt_comp_def_node(ev->def, zt_comp_key_node(a, r->key));
        add_target(x, &n, r->key, r->id, nd ? nd->arm_type : NULL);
    }
    return n;
}

/* After every GET: compare what exists with the body we would send now. */
static void mark_drift(zt_comp_eval *ev, bool import)
{
    zt_arena *a = ev->c->arena;
    for (size_t k = 0; k < ev->graph.n; k++) {
        zt_comp_inst *in = &ev->graph.inst[ev->graph.order[k]];
        zt_comp_rec *r = zt_comp_priv_get(&ev->priv, in->key);
        if (!r || !r->exists || !r->outputs)
            continue;
        json_t *body = zt_comp_eval_body(ev, in);
        if (!body)
            continue;
        in->body = body; /* the private state keeps where ARM differs from it */
        const char *where = NULL;
        const char *ps = json_string_value(zt_comp_json_ptr(r->outputs,
                                                            "/properties/provisioningState"));
        /* A resource left Failed by an operation is repaired by a PUT. */
        if (ps && strcasecmp(ps, "Failed") == 0)
            where = "/properties/provisioningState";
        r->drift = where || zt_comp_drifted(a, in->def, body, r->outputs, &where);
        if (r->drift)
            zt_log(ZT_LOG_INFO, ZT_COMP_LOG, "drift detected", "node", in->key, "pointer",
                   where, NULL);
        if (import) {
            /* What exists becomes the baseline; drift still forces a PUT. */
            r->hash = zt_comp_body_hash(a, in->def, body);
            r->create_only = zt_comp_create_only(a, in->def, body);
        }
    }
}

static const char *task_error(const zt_comp_task *t)
{
    return t->error ? t->error : zt_rc_str(t->rc);
}

/* What a failure is, without the request IDs each answer carries. */
static const char *error_kind(zt_arena *a, const zt_comp_task *t)
{
    if (t->error_message && *t->error_message)
        return zt_arena_printf(a, "%s: %s", t->error_code ? t->error_code : "", t->error_message);
    return task_error(t);
}

static bool read_failed(const zt_comp_task *t)
{
    return t->complete && t->rc != ZT_OK && t->rc != ZT_ERR_NOTFOUND;
}

/* One diagnostic per kind of failure: one that is not the node's own (a
 * credential that stopped working, a throttled subscription) names the
 * nodes it hit once instead of repeating itself for each of them. */
static void read_errors(zt_call *c, const zt_comp_task *tasks, size_t n)
{
    bool *said = zt_arena_calloc(c->arena, n + 1, sizeof(bool));
    for (size_t i = 0; i < n; i++) {
        if (said[i] || !read_failed(&tasks[i]))
            continue;
        const char *kind = error_kind(c->arena, &tasks[i]);
        zt_buf keys;
        zt_buf_init(&keys, c->arena);
        size_t count = 0;
        for (size_t j = i; j < n; j++) {
            if (said[j] || !read_failed(&tasks[j]) ||
                strcmp(error_kind(c->arena, &tasks[j]), kind) != 0)
                continue;
            said[j] = true;
            zt_buf_printf(&keys, "%s%s", count++ ? ", " : "", tasks[j].key);
        }
        if (count == 1)
            zt_diag_error(c->diags, NULL,
                          zt_arena_printf(c->arena, "Failed to read %s", tasks[i].key),
                          "Node %s (ARM ID %s): %s.", tasks[i].key, tasks[i].id,
                          task_error(&tasks[i]));
        else
            zt_diag_error(c->diags, NULL,
                          zt_arena_printf(c->arena, "Failed to read %zu underlying resources",
                                          count),
                          "%s: %s (the first of them: %s).", zt_buf_cstr(&keys), kind,
                          task_error(&tasks[i]));
    }
}

zt_rc zt_comp_refresh(zt_comp_eval *ev, bool import, bool *gone)
{
    zt_call *c = ev->c;
    zt_arm_client *arm;
    ZT_TRY(zt_provider_arm(c, (struct zt_arm_client **)&arm));
    read_ctx x = {.ev = ev};
    size_t n = read_targets(&x);
    zt_comp_sched s = {.n = n, .tasks = x.tasks, .ready = read_ready,
                       .finished = read_finished, .arg = &x, .stop_on_error = false};
    int64_t deadline = zt_arm_deadline_in(zt_comp_timeout_ms(ev->def, ev->inputs,
                                                             ZT_COMP_T_READ));
    zt_rc rc = zt_comp_run(c, arm, deadline, &s);
    read_errors(c, x.tasks, n);
    if (rc != ZT_OK)
        return rc;
    /* Gone means nothing of it exists: a composite whose first node is
     * missing (a create that failed early, a resource deleted by hand)
     * still owns what does exist, which the state must keep tracking. */
    *gone = !zt_comp_priv_any(&ev->priv);
    if (!*gone)
        mark_drift(ev, import);
    return ZT_OK;
}

zt_rc zt_comp_read(zt_call *c, const zt_composite_def *def, const zt_schema *s,
                   const zt_cty_value *state, const void *priv, size_t priv_len,
                   zt_comp_state *resp)
{
    memset(resp, 0, sizeof(*resp));
    resp->state = state;
    resp->private_data = priv;
    resp->private_len = priv_len;
    if (!state || state->is_null)
        return ZT_OK;
    /* A state written before a default existed gets it now. */
    state = zt_schema_defaults(c->arena, s->block, NULL, state);
    zt_comp_eval ev;
    zt_comp_eval_init(&ev, c, def, s, state, ZT_COMP_READ);
    ZT_TRY(zt_comp_eval_subscription(&ev));
    ZT_TRY(zt_comp_priv_decode(c->arena, c->diags, priv, priv_len, &ev.priv));
    ZT_TRY(zt_comp_graph_build(&ev));
    bool gone = false;
    ZT_TRY(zt_comp_refresh(&ev, false, &gone));
    if (gone) {
        resp->state = zt_cty_null(c->arena, s->type);
        resp->private_data = NULL;
        resp->private_len = 0;
        return ZT_OK;
    }
    zt_comp_finish_state(&ev, zt_comp_state_value(&ev, state, NULL, true), resp);
    return ZT_OK;
}

/* ---- import ----------------------------------------------------------------------- */

static void json_release(void *p) { json_decref(p); }

zt_rc zt_comp_getter_init(zt_comp_getter *g, zt_call *c, const zt_composite_def *def)
{
    memset(g, 0, sizeof(*g));
    g->c = c;
    g->deadline = zt_arm_deadline_in(zt_comp_timeout_ms(def, NULL, ZT_COMP_T_READ));
    return zt_provider_arm(c, (struct zt_arm_client **)&g->arm);
}

json_t *zt_comp_get(void *arg, const char *arm_id)
{
    zt_comp_getter *g = arg;
    zt_arm_req req = {.method = ZT_ARM_GET, .path = arm_id, .deadline_ms = g->deadline,
                      .cancel = zt_call_cancel_flag(g->c)};
    zt_arm_resp resp;
    zt_rc rc = zt_arm_do(g->arm, g->c->arena, &req, &resp);
    /* 404 also when the subscription is unknown: the read failed, but what
     * it named does not exist for these credentials either. */
    g->not_found = rc == ZT_ERR_NOTFOUND || (rc == ZT_ERR_REMOTE && resp.status == 404);
    g->error_code = rc != ZT_OK && resp.error ? resp.error->code : NULL;
    g->error_message = rc != ZT_OK && resp.error ? resp.error->message : NULL;
    if (rc == ZT_ERR_NOTFOUND)
        return NULL;
    if (rc != ZT_OK) {
        zt_arm_diag(g->c->diags, rc, &req, &resp, "Could not read a resource");
        return NULL;
    }
    /* The hook owns what it is given only until the arena goes. */
    if (resp.body) {
        json_incref(resp.body);
        zt_arena_on_free(g->c->arena, json_release, resp.body);
    }
    return resp.body;
}

bool zt_comp_get_was_404(void *getter)
{
    return ((zt_comp_getter *)getter)->not_found;
}

const char *zt_comp_get_error(void *getter, const char **message)
{
    const zt_comp_getter *g = getter;
    if (message)
        *message = g->error_message;
    return g->error_code;
}

/* Nodes with a resource at their former ID (zt_comp_node_def.former_id):
 * the state tracks it, so that the next apply moves it rather than leave it
 * to no state. Nothing at the node's ID: the node's record is the former
 * resource, as in an upgraded state (the apply creates the node, then
 * deletes it). Both (a move that stopped before its delete): the former is
 * a record set aside as the apply sets it, "<key>~<former ID>", deleted by
 * the next apply. */
static zt_rc adopt_former(zt_comp_eval *ev, zt_comp_getter *g)
{
    size_t errors = ev->c->diags->errors;
    zt_arena *a = ev->c->arena;
    for (size_t i = 0; i < ev->graph.n; i++) {
        zt_comp_inst *in = &ev->graph.inst[i];
        zt_comp_rec *r = zt_comp_priv_get(&ev->priv, in->key);
        const char *former = in->def->former_id ? zt_comp_eval_str(ev, in, in->def->former_id)
                                                : NULL;
        if (!former || (in->id && strcasecmp(former, in->id) == 0))
            continue;
        json_t *body = zt_comp_get(g, former);
        if (!body)
            continue;
        zt_log(ZT_LOG_INFO, ZT_COMP_LOG, "import tracks the node's resource where an earlier "
               "release kept it; the next apply moves it", "node", in->key, "id", former, NULL);
        if (r && r->exists)
            r = zt_comp_priv_put(a, &ev->priv, zt_arena_printf(a, "%s~%s", in->key, former));
        else if (!r)
            r = zt_comp_priv_put(a, &ev->priv, in->key);
        r->id = zt_arena_strdup(a, former);
        r->exists = true;
        r->drift = false;
        r->hash = "";
        r->outputs = body;
    }
    return ev->c->diags->errors > errors ? ZT_ERR_REMOTE : ZT_OK;
}

zt_rc zt_comp_import(zt_call *c, const zt_composite_def *def, const zt_schema *s,
                     const char *id, zt_comp_state *resp)
{
    memset(resp, 0, sizeof(*resp));
    if (!def->import)
        return zt_diag_error(c->diags, NULL, "Import not supported",
                             "%s cannot be imported.", def->type_name);
    zt_comp_getter g;
    ZT_TRY(zt_comp_getter_init(&g, c, def));
    const zt_cty_value *inputs = NULL;
    ZT_TRY(def->import(c, s, id, zt_comp_get, &g, &inputs));
    if (!inputs || inputs->is_null || inputs->type->kind != ZT_CTY_OBJECT)
        return zt_diag_error(c->diags, NULL, "Cannot import",
                             "No %s was found at %s.", def->type_name, id);
    /* What Azure shows at its default comes back null: the default. */
    inputs = zt_schema_defaults(c->arena, s->block, NULL, inputs);
    zt_comp_eval ev;
    zt_comp_eval_init(&ev, c, def, s, inputs, ZT_COMP_READ);
    ZT_TRY(zt_comp_eval_subscription(&ev));
    ZT_TRY(zt_comp_graph_build(&ev));
    bool gone = false;
    ZT_TRY(zt_comp_refresh(&ev, true, &gone));
    if (gone)
        return zt_diag_error(c->diags, NULL, "Cannot import non-existent remote object",
                             "%s does not exist.", id);
    ZT_TRY(adopt_former(&ev, &g));
    zt_comp_finish_state(&ev, zt_comp_state_value(&ev, inputs,
                                                  zt_cty_map(c->arena, &zt_cty_string_type, 0,
                                                             NULL, NULL),
                                                  true), resp);
    return ZT_OK;
}

zt_rc zt_comp_reads(zt_call *c, const zt_composite_def *def, zt_comp_reads_fn fn, void *arg)
{
    zt_comp_getter g;
    ZT_TRY(zt_comp_getter_init(&g, c, def));
    return fn(c, zt_comp_get, &g, arg);
}
