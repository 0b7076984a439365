/* zt_arm_list.c - GETs served from shared list reads.
 *
 * Terraform refreshes every resource of a configuration in one provider
 * process, and a composite is dozens of ARM resources: one GET each spends
 * ARM's read budget (250 + 25/s) long before a large estate is read. Most
 * types have a collection list (the resource ID without its last name)
 * that answers each member with the body of its GET, so one list read, its
 * pages followed, answers for every member of a resource group or parent.
 * Some parents carry their children whole in their own body (a VNet its
 * subnets and peerings: list_reads.json "inline"): those children are
 * answered from the parent's list, as members of it.
 *
 * The cache: one entry per collection (lower-case path). The first reader
 * fills it while the others wait for that fill (one list in flight per
 * collection). Any write this process makes drops the entries it may make
 * stale, when it starts and when it ends, so nothing written after a fill
 * is answered from it: the entries of the written resource's collection and
 * below (its children, its siblings' children) and of its ancestors'
 * collections (a parent's body holds its children inline, so a write to an
 * inline child drops the parent's collection as well). A list
 * answers for each member once: Terraform reads each resource once per
 * command, and a second read of it (a later command of a provider kept
 * running, as in debug mode) must see Azure as it is then, so it reads the
 * list again. A resource shared by several nodes (a rule collection group
 * of many spokes) is read once per node, each for its part: a list answers
 * for each part once. A list that fails leaves its readers to their own
 * GETs. */
#include "zt_arm_internal.h"
#include "zt_log.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

extern const char zt_arm_list_reads_json[];
extern const size_t zt_arm_list_reads_json_len;

/* ---- the table (list_reads.json) ------------------------------------------------ */

/* An "inline" row: a child type whose members the parent's body carries,
 * in full, in the array at `path` (dot-separated). */
typedef struct inline_row {
    char *type;
    char *parent;
    char **path;          /* NULL-terminated segments */
} inline_row;

static const char **g_types;
static size_t g_n_types;
static inline_row *g_inline;
static size_t g_n_inline;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static char *xstrdup(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d)
        zt_panic("out of memory");
    return d;
}

static char **split_path(const char *path)
{
    size_t n = 1;
    for (const char *p = path; *p; p++)
        n += *p == '.';
    char **out = calloc(n + 1, sizeof(char *));
    if (!out)
        zt_panic("out of memory");
    char *copy = xstrdup(path), *save = NULL;
    size_t i = 0;
    for (char *t = strtok_r(copy, ".", &save); t; t = strtok_r(NULL, ".", &save))
        out[i++] = xstrdup(t);
    free(copy);
    return out;
}

static void load_table(void)
{
    json_error_t err;
    json_t *doc = json_loadb(zt_arm_list_reads_json, zt_arm_list_reads_json_len, 0, &err);
    json_t *types = json_object_get(doc, "types");
    json_t *inl = json_object_get(doc, "inline");
    g_types = calloc(json_object_size(types) + 1, sizeof(char *));
    g_inline = calloc(json_object_size(inl) + 1, sizeof(*g_inline));
    if (!g_types || !g_inline)
        zt_panic("out of memory");
    const char *k;
    json_t *v;
    json_object_foreach(types, k, v) g_types[g_n_types++] = xstrdup(k);
    json_object_foreach(inl, k, v)
    {
        const char *parent = json_string_value(json_object_get(v, "parent"));
        const char *path = json_string_value(json_object_get(v, "property"));
        if (!parent || !path)
            zt_panic("list_reads.json: an inline row without parent or property");
        g_inline[g_n_inline++] = (inline_row){xstrdup(k), xstrdup(parent), split_path(path)};
    }
    json_decref(doc);
}

bool zt_arm_list_row(size_t i, const char **type)
{
    pthread_once(&g_once, load_table);
    if (i >= g_n_types)
        return false;
    *type = g_types[i];
    return true;
}

static const inline_row *inline_row_of(const char *resource_type)
{
    pthread_once(&g_once, load_table);
    for (size_t i = 0; resource_type && i < g_n_inline; i++)
        if (strcasecmp(g_inline[i].type, resource_type) == 0)
            return &g_inline[i];
    return NULL;
}

static bool listed_type(const char *resource_type)
{
    const char *t;
    for (size_t i = 0; resource_type && zt_arm_list_row(i, &t); i++)
        if (strcasecmp(t, resource_type) == 0)
            return true;
    return false;
}

bool zt_arm_list_type(const char *resource_type)
{
    return listed_type(resource_type) || inline_row_of(resource_type);
}

/* ---- the cache ------------------------------------------------------------------- */

typedef enum fill_state { FILLING = 0, READY, FAILED } fill_state;

typedef struct entry {
    char *key;            /* the collection's path, lower case */
    fill_state state;
    json_t *items;        /* lower-case member ID -> body, as compact JSON text */
    json_t *served;       /* lower-case IDs answered from it (also 404s) */
    unsigned refs;        /* the table's (while linked) and each reader's */
    bool linked;
    struct entry *next;
} entry;

struct zt_arm_lists {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    entry *head;
    bool enabled;
    unsigned pages;
};

zt_arm_lists *zt_arm_lists_new(void)
{
    zt_arm_lists *l = calloc(1, sizeof(*l));
    if (!l)
        zt_panic("out of memory");
    pthread_mutex_init(&l->lock, NULL);
    zt_arm_cond_init_monotonic(&l->cond);
    const char *env = getenv("ZT_ARM_LIST_READS");
    l->enabled = !env || !(strcmp(env, "0") == 0 || strcasecmp(env, "off") == 0 ||
                           strcasecmp(env, "false") == 0);
    return l;
}

static void entry_unref(entry *e)
{
    if (--e->refs)
        return;
    json_decref(e->items);
    json_decref(e->served);
    free(e->key);
    free(e);
}

void zt_arm_lists_free(zt_arm_lists *l)
{
    if (!l)
        return;
    for (entry *e = l->head, *next; e; e = next) {
        next = e->next;
        e->linked = false;
        entry_unref(e);
    }
    pthread_mutex_destroy(&l->lock);
    pthread_cond_destroy(&l->cond);
    free(l);
}

unsigned zt_arm_lists_pages(zt_arm_lists *l)
{
    pthread_mutex_lock(&l->lock);
    unsigned n = l->pages;
    pthread_mutex_unlock(&l->lock);
    return n;
}

static char *lower_dup(zt_arena *a, const char *s, size_t n)
{
    char *out = zt_arena_alloc(a, n + 1);
    for (size_t i = 0; i < n; i++)
        out[i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i]);
    out[n] = 0;
    return out;
}

/* The ID without its last "/name"; NULL unless the segment before that
 * names the type's last segment (a plain resource ID of this type). */
static const char *collection_of(zt_arena *a, const char *id, const char *type)
{
    const char *slash = strrchr(id, '/');
    const char *last_type = type ? strrchr(type, '/') : NULL;
    if (!slash || slash == id || !last_type || !slash[1])
        return NULL;
    size_t n = (size_t)(slash - id);
    size_t tn = strlen(last_type);
    if (n < tn || strncasecmp(id + n - tn, last_type, tn) != 0)
        return NULL;
    return zt_arena_strndup(a, id, n);
}

static void unlink_entry(zt_arm_lists *l, entry *e)
{
    for (entry **p = &l->head; *p; p = &(*p)->next)
        if (*p == e) {
            *p = e->next;
            e->linked = false;
            entry_unref(e);
            return;
        }
}

void zt_arm_lists_invalidate(zt_arm_lists *l, const char *path)
{
    if (!l || !path || strncasecmp(path, "https://", 8) == 0)
        return;
    zt_arena *a = zt_arena_new();
    const char *low = lower_dup(a, path, strlen(path));
    const char *slash = strrchr(low, '/');
    size_t cn = slash ? (size_t)(slash - low) : strlen(low);
    pthread_mutex_lock(&l->lock);
    for (entry *e = l->head, *next; e; e = next) {
        next = e->next;
        size_t kn = strlen(e->key);
        bool below = strncmp(e->key, low, cn) == 0;
        bool ancestor = kn < strlen(low) && strncmp(low, e->key, kn) == 0 && low[kn] == '/';
        if (below || ancestor)
            unlink_entry(l, e);
    }
    pthread_mutex_unlock(&l->lock);
    zt_arena_free(a);
}

/* A member kept as its compact JSON text, parsed again for its reader: a
 * list of a large estate is filled at once, and parsed trees are several
 * times the size of their text. */
static void keep_member(zt_arena *a, entry *e, const char *id, const json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    if (!text)
        zt_panic("out of memory");
    json_object_set_new(e->items, lower_dup(a, id, strlen(id)),
                        json_stringn_nocheck(text, strlen(text)));
    free(text);
}

static json_t *member_body(const json_t *kept)
{
    json_error_t err;
    return json_loadb(json_string_value(kept), json_string_length(kept), 0, &err);
}

/* The children a member of type `type` carries inline (list_reads.json
 * "inline") become members of the entry too. */
static void add_inline_children(zt_arena *a, entry *e, json_t *item, const char *type)
{
    pthread_once(&g_once, load_table);
    for (size_t r = 0; r < g_n_inline; r++) {
        if (strcasecmp(g_inline[r].parent, type) != 0)
            continue;
        json_t *kids = item;
        for (char **seg = g_inline[r].path; *seg && kids; seg++)
            kids = json_object_get(kids, *seg);
        size_t i;
        json_t *kid;
        json_array_foreach(kids, i, kid)
        {
            const char *id = json_string_value(json_object_get(kid, "id"));
            if (id)
                keep_member(a, e, id, kid);
        }
    }
}

/* Every page of the collection into e->items; ZT_ERR_NOTFOUND when the
 * collection's scope does not exist (every member would answer 404). */
static zt_rc fill(zt_arm_client *c, zt_arm_lists *l, entry *e, const zt_arm_req *req,
                  const char *coll, const char *type)
{
    zt_arena *a = zt_arena_new();
    const char *path = coll;
    zt_rc rc = ZT_OK;
    for (unsigned page = 0; path && rc == ZT_OK; page++) {
        if (page == 10000) {
            rc = ZT_ERR_REMOTE; /* a nextLink that never ends */
            break;
        }
        /* Each page in an arena of its own: gone once its members are kept. */
        zt_arena *pa = zt_arena_new();
        zt_arm_req lr = {.method = ZT_ARM_GET, .path = path, .resource_type = type,
                         .api_version = req->api_version, .deadline_ms = req->deadline_ms,
                         .cancel = req->cancel};
        zt_arm_resp resp;
        rc = zt_arm_do(c, pa, &lr, &resp);
        pthread_mutex_lock(&l->lock);
        l->pages++;
        pthread_mutex_unlock(&l->lock);
        json_t *value = rc == ZT_OK ? json_object_get(resp.body, "value") : NULL;
        if (rc == ZT_OK && !json_is_array(value))
            rc = ZT_ERR_DECODE;
        size_t i;
        json_t *item;
        json_array_foreach(value, i, item)
        {
            const char *id = json_string_value(json_object_get(item, "id"));
            if (id && rc == ZT_OK) {
                keep_member(pa, e, id, item);
                add_inline_children(pa, e, item, type);
            }
        }
        const char *next = rc == ZT_OK ? json_string_value(json_object_get(resp.body, "nextLink"))
                                       : NULL;
        path = next && *next ? zt_arena_strdup(a, next) : NULL;
        zt_arena_free(pa);
    }
    if (zt_log_enabled(ZT_LOG_DEBUG))
        zt_log(ZT_LOG_DEBUG, ZT_ARM_LOG, "list read", "collection", coll, "result",
               zt_rc_str(rc), "members", zt_arena_printf(a, "%zu", json_object_size(e->items)),
               NULL);
    zt_arena_free(a);
    return rc;
}

static void json_release(void *p) { json_decref(p); }

/* The entry of coll, filled: NULL when it could not be (the caller GETs). */
static entry *filled_entry(zt_arm_client *c, zt_arm_lists *l, const zt_arm_req *req,
                           const char *coll, const char *key, const char *type, zt_rc *wait_rc)
{
    pthread_mutex_lock(&l->lock);
    entry *e = l->head;
    while (e && strcmp(e->key, key) != 0)
        e = e->next;
    if (!e) {
        e = calloc(1, sizeof(*e));
        if (!e || !(e->key = strdup(key)))
            zt_panic("out of memory");
        e->items = json_object();
        e->served = json_object();
        e->refs = 2; /* the table's and ours */
        e->linked = true;
        e->next = l->head;
        l->head = e;
        pthread_mutex_unlock(&l->lock);
        zt_rc rc = fill(c, l, e, req, coll, type);
        pthread_mutex_lock(&l->lock);
        e->state = rc == ZT_OK || rc == ZT_ERR_NOTFOUND ? READY : FAILED;
        if (rc == ZT_ERR_NOTFOUND)
            json_object_clear(e->items);
        /* A fill cut short by its caller's deadline says nothing about the
         * collection: the next reader tries again. */
        if ((rc == ZT_ERR_CANCELLED || rc == ZT_ERR_TIMEOUT) && e->linked)
            unlink_entry(l, e);
        pthread_cond_broadcast(&l->cond);
    } else {
        e->refs++;
        const atomic_bool *cancel = req->cancel;
        while (e->state == FILLING) {
            if (zt_arm_cancelled(cancel) ||
                (req->deadline_ms && zt_arm_now_ms() >= req->deadline_ms)) {
                *wait_rc = zt_arm_cancelled(cancel) ? ZT_ERR_CANCELLED : ZT_ERR_TIMEOUT;
                entry_unref(e);
                pthread_mutex_unlock(&l->lock);
                return NULL;
            }
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_nsec += 50 * 1000 * 1000;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&l->cond, &l->lock, &ts);
        }
    }
    if (e->state != READY) {
        entry_unref(e);
        e = NULL;
    }
    pthread_mutex_unlock(&l->lock);
    return e;
}

/* The member's body from a filled entry (a copy for the caller), marking
 * the reader (the member's ID, or a part of it) answered; *again when it
 * was answered before (the entry is then dropped, so that the caller reads
 * the list afresh). */
static json_t *take_member(zt_arm_lists *l, entry *e, const char *id, const char *reader,
                           bool *found, bool *again)
{
    json_t *body = NULL;
    pthread_mutex_lock(&l->lock);
    *again = json_object_get(e->served, reader) != NULL;
    if (*again) {
        if (e->linked)
            unlink_entry(l, e);
    } else {
        json_object_set_new(e->served, reader, json_true());
        json_t *item = json_object_get(e->items, id);
        *found = item != NULL;
        body = item ? member_body(item) : NULL;
        /* Answered once, a body leaves the list (a second read lists
         * again), and the list's memory goes as the refresh reads its
         * members; a part's stays for the other parts' readers. */
        if (item && reader == id)
            json_object_del(e->items, id);
    }
    entry_unref(e);
    pthread_mutex_unlock(&l->lock);
    return body;
}

/* For a child type of the "inline" rows: its parent's collection, *type
 * becoming the parent's (the type of that list); NULL when the child is
 * read by its own GET (not an inline type, not a plain child ID, or asked
 * at an api-version other than the parent's, whose model may differ). */
static const char *inline_collection(zt_arena *a, const zt_arm_req *req, const char **type)
{
    const inline_row *row = inline_row_of(*type);
    const char *kids = row ? collection_of(a, req->path, row->type) : NULL;
    const char *slash = kids ? strrchr(kids, '/') : NULL;
    if (!slash || slash == kids)
        return NULL;
    const char *parent_id = zt_arena_strndup(a, kids, (size_t)(slash - kids));
    const char *mine = req->api_version ? req->api_version : zt_arm_api_version(row->type);
    const char *theirs = zt_arm_api_version(row->parent);
    if (!mine || !theirs || strcmp(mine, theirs) != 0)
        return NULL;
    *type = row->parent;
    return collection_of(a, parent_id, row->parent);
}

static zt_rc get_listed(zt_arm_client *c, zt_arena *a, const zt_arm_req *req, const char *part,
                        zt_arm_resp *resp)
{
    zt_arm_lists *l = zt_arm_client_lists(c);
    const char *type = req->resource_type ? req->resource_type
                                          : zt_arm_resource_type(a, req->path);
    const char *coll = NULL;
    if (req->method == ZT_ARM_GET && l->enabled && !req->query)
        coll = listed_type(type) ? collection_of(a, req->path, type)
                                 : inline_collection(a, req, &type);
    if (!coll)
        return zt_arm_do(c, a, req, resp);
    const char *key = lower_dup(a, coll, strlen(coll));
    const char *id = lower_dup(a, req->path, strlen(req->path));
    const char *reader = part ? lower_dup(a, part, strlen(part)) : id;
    /* A member answered before: once more, from a list read now. */
    for (int attempt = 0; attempt < 2; attempt++) {
        zt_rc wait_rc = ZT_OK;
        entry *e = filled_entry(c, l, req, coll, key, type, &wait_rc);
        if (!e && wait_rc != ZT_OK) {
            memset(resp, 0, sizeof(*resp));
            resp->provisioning_state = resp->request_id = resp->client_request_id = "";
            return wait_rc;
        }
        if (!e)
            break;
        bool found = false, again = false;
        json_t *body = take_member(l, e, id, reader, &found, &again);
        if (again)
            continue;
        if (found && !body)
            break; /* its text did not parse again (out of memory): its own GET */
        memset(resp, 0, sizeof(*resp));
        resp->request_id = resp->client_request_id = "";
        if (!found) {
            resp->status = 404;
            resp->provisioning_state = "";
            return ZT_ERR_NOTFOUND;
        }
        zt_arena_on_free(a, json_release, body);
        resp->status = 200;
        resp->body = body;
        const char *ps = zt_arm_provisioning_state(body);
        resp->provisioning_state = ps ? zt_arena_strdup(a, ps) : "";
        return ZT_OK;
    }
    return zt_arm_do(c, a, req, resp);
}

zt_rc zt_arm_get_listed(zt_arm_client *c, zt_arena *a, const zt_arm_req *req,
                        zt_arm_resp *resp)
{
    return get_listed(c, a, req, NULL, resp);
}

zt_rc zt_arm_get_listed_part(zt_arm_client *c, zt_arena *a, const zt_arm_req *req,
                             const char *part, zt_arm_resp *resp)
{
    return get_listed(c, a, req, part, resp);
}

unsigned zt_arm_list_pages(zt_arm_client *c) { return zt_arm_lists_pages(zt_arm_client_lists(c)); }
