/* zt_comp_eval.c - what node callbacks may ask the engine (zt_composite.h),
 * ARM IDs from the deterministic names, and body utilities (hash, JSON
 * pointers, create_only values). */
#include "zt_comp_internal.h"
#include "zt_log.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void json_release_asked(void *p) { json_decref(p); }

void zt_comp_eval_init(zt_comp_eval *ev, zt_call *c, const zt_composite_def *def,
                       const zt_schema *s, const zt_cty_value *inputs, zt_comp_mode mode)
{
    memset(ev, 0, sizeof(*ev));
    ev->c = c;
    ev->def = def;
    ev->s = s;
    ev->inputs = inputs;
    ev->mode = mode;
    ev->asked = json_object();
    zt_arena_on_free(c->arena, json_release_asked, ev->asked);
}

zt_rc zt_comp_eval_subscription(zt_comp_eval *ev)
{
    const char *sub = ev->c->provider ? ev->c->provider->config.subscription_id : NULL;
    if (!sub || !*sub)
        return zt_diag_error(ev->c->diags, NULL, "Missing subscription",
                             "%s needs the Azure subscription to name its resources: set "
                             "subscription_id in the provider block or ARM_SUBSCRIPTION_ID.",
                             ev->def->type_name);
    ev->subscription = sub;
    return ZT_OK;
}

zt_arena *zt_comp_arena(const zt_comp_eval *ev) { return ev->c->arena; }
zt_diags *zt_comp_diags(const zt_comp_eval *ev) { return ev->c->diags; }

const zt_cty_value *zt_comp_input(const zt_comp_eval *ev, const char *attr)
{
    const zt_cty_value *v = zt_cty_get_attr(ev->inputs, attr);
    /* Write-only inputs are null in plans and state; apply has them in config. */
    if ((!v || v->is_null) && ev->config) {
        const zt_cty_value *cv = zt_cty_get_attr(ev->config, attr);
        if (cv && !cv->is_null)
            v = cv;
    }
    /* Which nodes exist depends on this value: if it is not known yet,
     * neither is the set of nodes (see zt_comp_graph_build). */
    if (ev->expanding && v && !zt_cty_is_wholly_known(v))
        ((zt_comp_eval *)ev)->shape_unknown = true;
    return v;
}

const char *zt_comp_input_str(const zt_comp_eval *ev, const char *attr)
{
    const zt_cty_value *v = zt_comp_input(ev, attr);
    if (v && v->is_unknown && ev->placeholder)
        return ev->placeholder;
    if (!v || v->is_null || v->is_unknown || v->type->kind != ZT_CTY_STRING)
        return NULL;
    return v->u.str.ptr;
}

bool zt_comp_input_set(const zt_comp_eval *ev, const char *attr)
{
    const zt_cty_value *v = zt_comp_input(ev, attr);
    return v && !v->is_null;
}

bool zt_comp_input_bool(const zt_comp_eval *ev, const char *attr, bool fallback)
{
    const zt_cty_value *v = zt_comp_input(ev, attr);
    if (!v || v->is_null || v->is_unknown || v->type->kind != ZT_CTY_BOOL)
        return fallback;
    return v->u.b;
}

int64_t zt_comp_input_int(const zt_comp_eval *ev, const char *attr, int64_t fallback)
{
    const zt_cty_value *v = zt_comp_input(ev, attr);
    int64_t i;
    if (!v || v->is_null || v->is_unknown || v->type->kind != ZT_CTY_NUMBER ||
        !zt_cty_number_to_int64(v, &i))
        return fallback;
    return i;
}

const char *zt_comp_instance(const zt_comp_eval *ev)
{
    return ev->cur ? ev->cur->instance : "";
}

const char *zt_comp_subscription(const zt_comp_eval *ev) { return ev->subscription; }

const char *zt_comp_type_name(const zt_comp_eval *ev) { return ev->def->type_name; }

bool zt_comp_instance_at(const zt_comp_eval *ev, size_t i, const char **key, const char **node,
                         const char **id)
{
    if (i >= ev->graph.n)
        return false;
    const zt_comp_inst *in = &ev->graph.inst[i];
    *key = in->key;
    *node = in->def->key;
    *id = in->id;
    return true;
}

const char *zt_comp_resource_group_id(const zt_comp_eval *ev)
{
    const char *id = zt_comp_input_str(ev, "resource_group_id");
    if (id)
        return id;
    const char *rg = zt_comp_input_str(ev, "resource_group_name");
    if (!rg || !ev->subscription)
        return NULL;
    return zt_arena_printf(ev->c->arena, "/subscriptions/%s/resourceGroups/%s",
                           ev->subscription, rg);
}

json_t *zt_comp_tags(const zt_comp_eval *ev)
{
    const zt_cty_value *v = zt_comp_input(ev, "tags");
    if (v && (v->is_unknown || (!zt_cty_is_wholly_known(v) && !ev->placeholder)))
        return NULL;
    json_t *o = json_object();
    if (!v || v->is_null || (v->type->kind != ZT_CTY_MAP && v->type->kind != ZT_CTY_OBJECT))
        return o;
    for (size_t i = 0; i < v->u.coll.n; i++) {
        const zt_cty_value *e = v->u.coll.elems[i];
        if (e->is_unknown)
            json_object_set_new(o, v->u.coll.keys[i], json_string(ev->placeholder));
        else if (!e->is_null && e->type->kind == ZT_CTY_STRING)
            json_object_set_new(o, v->u.coll.keys[i], json_string(e->u.str.ptr));
    }
    return o;
}

/* ---- IDs ----------------------------------------------------------------------- */

/* parent + the type's last segment + name for child types; extension and
 * top-level types go under /providers/. */
static const char *compose_id(zt_arena *a, const zt_comp_eval *ev, const char *type,
                              const char *parent, bool explicit_parent, const char *name)
{
    if (strcasecmp(type, "Microsoft.Resources/resourceGroups") == 0)
        return zt_arena_printf(a, "/subscriptions/%s/resourceGroups/%s", ev->subscription, name);
    const char *last = strrchr(type, '/');
    const char *first = strchr(type, '/');
    if (explicit_parent && last != first)
        return zt_arena_printf(a, "%s/%s/%s", parent, last + 1, name);
    return zt_arena_printf(a, "%s/providers/%s/%s", parent, type, name);
}

const char *zt_comp_eval_id(zt_comp_eval *ev, zt_comp_inst *in)
{
    if (in->id_done || in->id_busy)
        return in->id; /* busy: a parent cycle; leave it unknown */
    in->id_busy = true;
    zt_comp_inst *saved = ev->cur;
    ev->cur = in;
    const zt_comp_node_def *n = in->def;
    const char *parent = n->parent_id ? n->parent_id(ev) : zt_comp_resource_group_id(ev);
    const char *name = n->name(ev);
    const char *part = n->part ? n->part(ev) : NULL;
    ev->cur = saved;
    if (name && (parent || !strcasecmp(n->arm_type, "Microsoft.Resources/resourceGroups")) &&
        ev->subscription && (!n->part || part))
        in->id = compose_id(ev->c->arena, ev, n->arm_type, parent ? parent : "",
                            n->parent_id != NULL, name);
    if (in->id && part)
        in->id = zt_arena_printf(ev->c->arena, "%s#%s", in->id, part);
    in->id_busy = false;
    in->id_done = true;
    return in->id;
}

const char *zt_comp_id(const zt_comp_eval *ev, const char *node_key)
{
    zt_comp_eval *mev = (zt_comp_eval *)ev; /* lazy cache only */
    ssize_t i = zt_comp_graph_find(&mev->graph, node_key);
    return i < 0 ? NULL : zt_comp_eval_id(mev, &mev->graph.inst[i]);
}

static const char *json_scalar_str(zt_arena *a, const json_t *v)
{
    if (!v || json_is_null(v))
        return NULL;
    if (json_is_string(v))
        return zt_arena_strdup(a, json_string_value(v));
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    const char *out = zt_arena_strdup(a, s);
    free(s);
    return out;
}

/* A pointer the private state did not keep (never asked before): ARM's
 * body, read now. A failed read answers NULL (unknown), reported only in
 * the log: a plan must not fail on it, an apply says what it could not
 * build. */
static json_t *read_outputs(const zt_comp_eval *ev, const zt_comp_rec *r)
{
    zt_diags scratch;
    zt_diags_init(&scratch, ev->c->arena);
    zt_call call = *ev->c;
    call.diags = &scratch;
    zt_comp_getter g;
    if (zt_comp_getter_init(&g, &call, ev->def) != ZT_OK)
        return NULL;
    g.deadline = zt_arm_deadline_in(60 * 1000);
    json_t *body = zt_comp_get(&g, r->id);
    zt_log(ZT_LOG_INFO, ZT_COMP_LOG, "output not kept: read from Azure", "node", r->key, "id",
           r->id, "result", body ? "ok" : "failed", NULL);
    return body;
}

/* Note that pointer was asked of node_key (what the private state keeps). */
static void ask(const zt_comp_eval *ev, const char *node_key, const char *pointer)
{
    if (!ev->asked)
        return;
    json_t *o = json_object_get(ev->asked, node_key);
    if (!o) {
        o = json_object();
        json_object_set_new(ev->asked, node_key, o);
    }
    json_object_set_new(o, pointer, json_true());
}

static const char *output_of(const zt_comp_eval *ev, const char *node_key, const char *pointer)
{
    ask(ev, node_key, pointer);
    if (ev->mode == ZT_COMP_PLAN) {
        ssize_t i = zt_comp_graph_find(&ev->graph, node_key);
        const zt_comp_inst *in = i >= 0 ? &ev->graph.inst[i] : NULL;
        zt_comp_action act = in ? in->action : ZT_COMP_NONE;
        /* A new resource has no answer yet. */
        if (act != ZT_COMP_NONE && act != ZT_COMP_UPDATE)
            return NULL;
        /* An update sets what its body says and keeps the rest. */
        json_t *set = act == ZT_COMP_UPDATE ? zt_comp_json_ptr(in->body, pointer) : NULL;
        if (set)
            return json_scalar_str(ev->c->arena, set);
    }
    zt_comp_rec *r = zt_comp_priv_get(&ev->priv, node_key);
    if (!r || !r->exists)
        return NULL;
    if (!r->outputs && r->kept && json_object_get(r->kept, pointer))
        return json_scalar_str(ev->c->arena, json_object_get(r->kept, pointer));
    if (!r->outputs && r->slim && r->id) {
        r->slim = false; /* one read at most */
        r->outputs = read_outputs(ev, r);
    }
    if (!r->outputs)
        return NULL;
    return json_scalar_str(ev->c->arena, zt_comp_json_ptr(r->outputs, pointer));
}

const char *zt_comp_output(const zt_comp_eval *ev, const char *node_key, const char *pointer)
{
    const char *v = output_of(ev, node_key, pointer);
    return v || ev->mode != ZT_COMP_PLAN ? v : ev->placeholder;
}

/* ---- callbacks ------------------------------------------------------------------ */

static void json_release(void *p) { json_decref(p); }

const char *zt_comp_eval_str(zt_comp_eval *ev, zt_comp_inst *in,
                             const char *(*fn)(const zt_comp_eval *ev))
{
    zt_comp_inst *saved = ev->cur;
    ev->cur = in;
    const char *s = fn(ev);
    ev->cur = saved;
    return s;
}

json_t *zt_comp_eval_body(zt_comp_eval *ev, zt_comp_inst *in)
{
    zt_comp_inst *saved = ev->cur;
    ev->cur = in;
    json_t *b = in->def->body(ev);
    ev->cur = saved;
    if (b)
        zt_arena_on_free(ev->c->arena, json_release, b);
    return b;
}

/* ---- bodies --------------------------------------------------------------------- */

const char *zt_comp_body_hash(zt_arena *a, const zt_comp_node_def *def, const json_t *body)
{
    json_t *copy = NULL;
    if (def && def->set_at_create) {
        copy = json_deep_copy(body);
        for (size_t i = 0; def->set_at_create[i]; i++)
            zt_comp_json_del(copy, def->set_at_create[i]);
        body = copy;
    }
    char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    json_decref(copy);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(text, strlen(text), md, &len, EVP_sha256(), NULL);
    free(text);
    char *hex = zt_arena_alloc(a, len * 2 + 1);
    for (unsigned i = 0; i < len; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return hex;
}

/* One reference token of a pointer, unescaped (~1 -> /, ~0 -> ~). */
static const char *ptr_token(char *buf, size_t cap, const char **p)
{
    size_t n = 0;
    const char *s = *p;
    while (*s && *s != '/' && n + 1 < cap) {
        if (s[0] == '~' && (s[1] == '0' || s[1] == '1')) {
            buf[n++] = s[1] == '0' ? '~' : '/';
            s += 2;
        } else {
            buf[n++] = *s++;
        }
    }
    buf[n] = '\0';
    *p = s;
    return buf;
}

json_t *zt_comp_json_ptr(const json_t *doc, const char *ptr)
{
    const json_t *cur = doc;
    const char *p = ptr;
    char tok[256];
    if (!ptr || !doc)
        return NULL;
    while (cur && *p == '/') {
        p++;
        ptr_token(tok, sizeof(tok), &p);
        if (json_is_object(cur)) {
            cur = json_object_get(cur, tok);
        } else if (json_is_array(cur)) {
            char *end;
            unsigned long i = strtoul(tok, &end, 10);
            cur = (*tok && !*end) ? json_array_get(cur, i) : NULL;
        } else {
            cur = NULL;
        }
    }
    return *p ? NULL : (json_t *)cur;
}

json_t *zt_comp_create_only(zt_arena *a, const zt_comp_node_def *def, const json_t *body)
{
    json_t *o = json_object();
    zt_arena_on_free(a, json_release, o);
    for (size_t i = 0; def->create_only && def->create_only[i]; i++) {
        json_t *v = zt_comp_json_ptr(body, def->create_only[i]);
        if (v)
            json_object_set(o, def->create_only[i], v);
    }
    return o;
}

/* ---- inline children ARM would empty ------------------------------------------- */

static const struct {
    const char *type;
    const char *ptr;
} g_inline[] = {
    {"Microsoft.Network/virtualNetworks", "/properties/subnets"},
    {"Microsoft.Network/virtualNetworks", "/properties/virtualNetworkPeerings"},
    {"Microsoft.Network/networkSecurityGroups", "/properties/securityRules"},
    {"Microsoft.Network/routeTables", "/properties/routes"},
};

const char **zt_comp_preserve_list(zt_arena *a, const zt_comp_node_def *def)
{
    size_t n = 0, own = 0;
    while (def->preserve && def->preserve[own])
        own++;
    const char **out = zt_arena_calloc(a, own + ZT_ARRAY_LEN(g_inline) + 1, sizeof(*out));
    for (size_t i = 0; i < ZT_ARRAY_LEN(g_inline); i++)
        if (strcasecmp(g_inline[i].type, def->arm_type) == 0)
            out[n++] = g_inline[i].ptr;
    for (size_t i = 0; i < own; i++)
        out[n++] = def->preserve[i];
    return n ? out : NULL;
}

void zt_comp_json_del(json_t *doc, const char *ptr)
{
    const char *last = strrchr(ptr, '/');
    if (!last)
        return;
    char *parent = strndup(ptr, (size_t)(last - ptr));
    json_t *p = *parent ? zt_comp_json_ptr(doc, parent) : doc;
    free(parent);
    char tok[256];
    const char *t = last + 1;
    if (json_is_object(p))
        json_object_del(p, ptr_token(tok, sizeof(tok), &t));
}

void zt_comp_json_set(json_t *body, const char *ptr, json_t *v)
{
    char tok[256];
    const char *p = ptr;
    json_t *cur = body;
    while (*p == '/') {
        p++;
        ptr_token(tok, sizeof(tok), &p);
        if (!json_is_object(cur))
            return;
        if (!*p) {
            json_object_set(cur, tok, v);
            return;
        }
        json_t *next = json_object_get(cur, tok);
        if (!next) {
            next = json_object();
            json_object_set_new(cur, tok, next);
        }
        cur = next;
    }
}

void zt_comp_preserve(json_t *body, const json_t *current, const char *const *ptrs)
{
    for (size_t i = 0; ptrs && ptrs[i]; i++) {
        json_t *have = zt_comp_json_ptr(current, ptrs[i]);
        if (have && !zt_comp_json_ptr(body, ptrs[i]))
            zt_comp_json_set(body, ptrs[i], have);
    }
}
