/* zt_comp_private.c - the private state: per node instance, what exists,
 * the hash of the body last applied, ARM's last answer (outputs) and the
 * drift flag of the last refresh. JSON so that it can be read in a
 * debugger and grow without a format version dance:
 *   {"v":1,"nodes":{"vnet":{"id":"/subscriptions/...","exists":true,
 *    "hash":"...","drift":false,"outputs":{...},"create_only":{...}}}}
 */
#include "zt_comp_internal.h"

#include <stdlib.h>
#include <string.h>

#define PRIV_VERSION 1

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
    r->outputs = keep(a, json_object_get(o, "outputs"));
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
    zt_rc rc = json_integer_value(json_object_get(doc, "v")) == PRIV_VERSION ? ZT_OK
                                                                              : ZT_ERR_DECODE;
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
        if (r->outputs)
            json_object_set(o, "outputs", r->outputs);
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
