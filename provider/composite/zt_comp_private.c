/* zt_comp_private.c - the private state: per node instance, what exists,
 * the hash of the body last applied, the drift flag of the last refresh,
 * and of ARM's last answer only what later calls need without reading
 * Azure: the values other nodes and the composite's outputs read (kept)
 * and where ARM differed from the body (diffs, for the plan's property
 * lines). Whole bodies made a large estate's state mostly private state
 * (about 40 KiB a spoke); this is about 6. JSON, so that it can be read in
 * a debugger:
 *   {"v":2,"nodes":{"firewall":{"id":"/subscriptions/...","exists":true,
 *    "hash":"...","drift":false,"kept":{"/properties/...":"10.0.1.4"},
 *    "diffs":{...},"create_only":{...}}}}
 * Version 1 (0.1.0 and builds before this format) held ARM's whole body
 * as "outputs": it is read as a body of this call, and the next read or
 * apply writes version 2. Terraform hands private state to ReadResource,
 * PlanResourceChange and ApplyResourceChange, never to
 * UpgradeResourceState: this decoder is where it is upgraded.
 */
#include "zt_comp_internal.h"

#include <stdlib.h>
#include <string.h>

#define PRIV_VERSION 2

static void json_release(void *p) { json_decref(p); }

static json_t *keep(zt_arena *a, json_t *j)
{
    if (j) {
        json_incref(j);
        zt_arena_on_free(a, json_release, j);
    }
    return j;
}

zt_comp_rec *zt_comp_priv_get(const zt_comp_priv *p, const char *key)
{
    for (size_t i = 0; key && i < p->n; i++)
        if (strcmp(p->recs[i].key, key) == 0)
            return &p->recs[i];
    return NULL;
}

zt_comp_rec *zt_comp_priv_put(zt_arena *a, zt_comp_priv *p, const char *key)
{
    zt_comp_rec *r = zt_comp_priv_get(p, key);
    if (r)
        return r;
    if (p->n == p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 16;
        p->recs = zt_arena_realloc(a, p->recs, p->cap * sizeof(*p->recs), nc * sizeof(*p->recs));
        p->cap = nc;
    }
    r = &p->recs[p->n++];
    memset(r, 0, sizeof(*r));
    r->key = zt_arena_strdup(a, key);
    r->hash = "";
    return r;
}

void zt_comp_priv_remove(zt_comp_priv *p, const char *key)
{
    zt_comp_rec *r = zt_comp_priv_get(p, key);
    if (!r)
        return;
    size_t i = (size_t)(r - p->recs);
    memmove(&p->recs[i], &p->recs[i + 1], (p->n - i - 1) * sizeof(*r));
    p->n--;
}

void zt_comp_priv_copy(zt_arena *a, const zt_comp_priv *src, zt_comp_priv *dst)
{
    memset(dst, 0, sizeof(*dst));
    for (size_t i = 0; i < src->n; i++) {
        const zt_comp_rec *s = &src->recs[i];
        zt_comp_rec *r = zt_comp_priv_put(a, dst, s->key);
        *r = *s;
        r->key = zt_arena_strdup(a, s->key);
    }
}

static const char *str_field(zt_arena *a, const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) ? zt_arena_strdup(a, json_string_value(v)) : NULL;
}

static zt_rc decode_rec(zt_arena *a, zt_comp_priv *p, const char *key, const json_t *o)
{
    if (!json_is_object(o))
        return ZT_ERR_DECODE;
    zt_comp_rec *r = zt_comp_priv_put(a, p, key);
    r->id = str_field(a, o, "id");
    r->hash = str_field(a, o, "hash");
    if (!r->hash)
        r->hash = "";
    r->exists = json_is_true(json_object_get(o, "exists"));
    r->drift = json_is_true(json_object_get(o, "drift"));
    r->outputs = keep(a, json_object_get(o, "outputs")); /* version 1 */
    r->kept = keep(a, json_object_get(o, "kept"));
    r->diffs = keep(a, json_object_get(o, "diffs"));
    r->slim = !r->outputs;
    r->create_only = keep(a, json_object_get(o, "create_only"));
    return r->id ? ZT_OK : ZT_ERR_DECODE;
}

zt_rc zt_comp_priv_decode(zt_arena *a, zt_diags *d, const void *data, size_t len,
                          zt_comp_priv *out)
{
    memset(out, 0, sizeof(*out));
    if (!data || !len)
        return ZT_OK;
    json_error_t err;
    json_t *doc = json_loadb(data, len, 0, &err);
    if (!doc)
        return zt_diag_error(d, NULL, "Unreadable private state",
                             "The private state of this resource is not JSON (%s). This is a "
                             "provider bug; `terraform apply -refresh-only` does not fix it, "
                             "re-import the resource.",
                             err.text);
    zt_arena_on_free(a, json_release, doc);
    json_t *nodes = json_object_get(doc, "nodes");
    const char *k;
    json_t *v;
    json_int_t version = json_integer_value(json_object_get(doc, "v"));
    zt_rc rc = version == 1 || version == PRIV_VERSION ? ZT_OK : ZT_ERR_DECODE;
    json_object_foreach(nodes, k, v)
    {
        if (rc == ZT_OK)
            rc = decode_rec(a, out, k, v);
    }
    if (rc != ZT_OK)
        return zt_diag_error(d, NULL, "Unreadable private state",
                             "The private state of this resource has an unexpected shape. "
                             "This is a provider bug.");
    return ZT_OK;
}

void zt_comp_priv_encode(zt_arena *a, const zt_comp_priv *p, const void **data, size_t *len)
{
    json_t *nodes = json_object();
    for (size_t i = 0; i < p->n; i++) {
        const zt_comp_rec *r = &p->recs[i];
        json_t *o = json_object();
        json_object_set_new(o, "id", json_string(r->id ? r->id : ""));
        json_object_set_new(o, "exists", json_boolean(r->exists));
        json_object_set_new(o, "drift", json_boolean(r->drift));
        json_object_set_new(o, "hash", json_string(r->hash ? r->hash : ""));
        if (r->kept && json_object_size(r->kept))
            json_object_set(o, "kept", r->kept);
        if (r->diffs && json_object_size(r->diffs))
            json_object_set(o, "diffs", r->diffs);
        if (r->create_only && json_object_size(r->create_only))
            json_object_set(o, "create_only", r->create_only);
        json_object_set_new(nodes, r->key, o);
    }
    json_t *doc = json_pack("{s:i,s:o}", "v", PRIV_VERSION, "nodes", nodes);
    char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(doc);
    *len = strlen(text);
    *data = zt_arena_memdup(a, text, *len);
    free(text);
}

bool zt_comp_priv_any(const zt_comp_priv *p)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->recs[i].exists)
            return true;
    return false;
}

/* ---- what the private state keeps of ARM's bodies ------------------------------------ */

#define MAX_DIFFS 32 /* leaves kept where ARM differs from the body */

static json_t *slim_kept(const zt_comp_eval *ev, const zt_comp_rec *r)
{
    json_t *kept = json_object();
    const char *ptr;
    json_t *v;
    /* What was kept before stays kept: a later plan may ask it again. */
    json_object_foreach(r->kept, ptr, v)
    {
        json_t *now = zt_comp_json_ptr(r->outputs, ptr);
        json_object_set(kept, ptr, now ? now : json_null());
    }
    json_object_foreach(json_object_get(ev->asked, r->key), ptr, v)
    {
        json_t *now = zt_comp_json_ptr(r->outputs, ptr);
        json_object_set(kept, ptr, now ? now : json_null());
    }
    /* A plan says when an operation left the resource Failed, and when
     * ARM never answered for it. */
    json_t *ps = zt_comp_json_ptr(r->outputs, "/properties/provisioningState");
    if (json_is_string(ps))
        json_object_set(kept, "/properties/provisioningState", ps);
    return kept;
}

static json_t *slim_diffs(zt_arena *a, const zt_comp_inst *in, const json_t *outputs)
{
    zt_comp_diff d[MAX_DIFFS];
    size_t total = 0;
    size_t n = zt_comp_diffs(a, in->def, in->body, outputs, d, MAX_DIFFS, &total);
    json_t *diffs = json_object();
    for (size_t i = 0; i < n; i++)
        json_object_set(diffs, d[i].ptr, d[i].have ? (json_t *)d[i].have : json_null());
    return diffs;
}

void zt_comp_priv_slim(zt_comp_eval *ev)
{
    zt_arena *a = ev->c->arena;
    for (size_t i = 0; i < ev->priv.n; i++) {
        zt_comp_rec *r = &ev->priv.recs[i];
        if (!r->outputs)
            continue;
        r->kept = keep(a, slim_kept(ev, r));
        json_decref(r->kept);
        ssize_t k = zt_comp_graph_find(&ev->graph, r->key);
        const zt_comp_inst *in = k >= 0 ? &ev->graph.inst[k] : NULL;
        /* Without the instance's body (not enabled any more, not built)
         * the diffs of the last read stand. */
        if (in && in->body) {
            r->diffs = keep(a, slim_diffs(a, in, r->outputs));
            json_decref(r->diffs);
        }
        r->outputs = NULL;
        r->slim = true;
    }
}

/* doc[ptr] = v through objects and arrays (an index up to the array's
 * size); NULL v removes it. Pointers the document cannot take are
 * skipped: the plan then shows the body's value against nothing. */
static void put_ptr(json_t *doc, const char *ptr, json_t *v)
{
    json_t *cur = doc;
    const char *p = ptr;
    while (p && *p == '/' && cur) {
        const char *end = strchr(p + 1, '/');
        size_t n = end ? (size_t)(end - p - 1) : strlen(p + 1);
        char tok[256];
        if (n >= sizeof(tok))
            return;
        size_t w = 0;
        for (size_t j = 0; j < n; j++) {
            if (p[1 + j] == '~' && j + 1 < n && (p[2 + j] == '0' || p[2 + j] == '1')) {
                tok[w++] = p[2 + j] == '0' ? '~' : '/';
                j++;
            } else {
                tok[w++] = p[1 + j];
            }
        }
        tok[w] = 0;
        bool last = !end;
        if (json_is_array(cur)) {
            char *e;
            unsigned long idx = strtoul(tok, &e, 10);
            if (*e || idx > json_array_size(cur))
                return;
            if (last) {
                if (!v && idx < json_array_size(cur))
                    json_array_remove(cur, idx);
                else if (v && idx < json_array_size(cur))
                    json_array_set(cur, idx, v);
                else if (v)
                    json_array_append(cur, v);
                return;
            }
            cur = json_array_get(cur, idx);
        } else if (json_is_object(cur)) {
            if (last) {
                if (v)
                    json_object_set(cur, tok, v);
                else
                    json_object_del(cur, tok);
                return;
            }
            json_t *next = json_object_get(cur, tok);
            if (!next) {
                if (!v)
                    return;
                next = json_object();
                json_object_set_new(cur, tok, next);
            }
            cur = next;
        } else {
            return;
        }
        p = end;
    }
}

json_t *zt_comp_rec_actual(zt_arena *a, const zt_comp_rec *r, const json_t *prior)
{
    if (r->outputs)
        return r->outputs;
    json_t *doc = prior ? json_deep_copy(prior) : json_object();
    const char *ptr;
    json_t *v;
    json_object_foreach(r->diffs, ptr, v)
        put_ptr(doc, ptr, json_is_null(v) ? NULL : v);
    json_t *ps = json_object_get(r->kept, "/properties/provisioningState");
    if (json_is_string(ps))
        put_ptr(doc, "/properties/provisioningState", ps);
    keep(a, doc);
    json_decref(doc); /* the arena's reference remains */
    return doc;
}
