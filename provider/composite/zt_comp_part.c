/* zt_comp_part.c - nodes that own part of a shared ARM resource: named
 * items of one inline collection (each spoke's rule collections in a rule
 * collection group that several spokes share). Such a node's ID is the
 * shared resource's ID, '#', then the item names it owns, comma-separated:
 * the ID alone says what to read, write and delete.
 *
 * Writes are read-modify-write under the resource's etag (If-Match, or
 * If-None-Match: * for a create), redone from a fresh read on 412, so that
 * writers elsewhere (other Terraform processes) never overwrite each
 * other's items. The last item to leave deletes the resource, under its
 * etag too. In one process, writes to one resource are coalesced: while
 * one thread writes, the others queue, and the next write carries them
 * all (one PUT for several spokes planned together).
 */
#include "zt_comp_internal.h"
#include "zt_log.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Where the items of a shared type are, and what a write carries over
 * from the resource as it is when no writer says otherwise. */
typedef struct part_type {
    const char *type;
    const char *items;             /* JSON pointer of the array */
    const char *const *keep;       /* pointers copied from the current resource */
} part_type;

static const char *const rcg_keep[] = {"/properties/priority", NULL};
static const part_type part_types[] = {
    {"Microsoft.Network/firewallPolicies/ruleCollectionGroups", "/properties/ruleCollections",
     rcg_keep},
};

/* Attempts of one read-modify-write before giving up (each lost race is
 * another writer's success). */
#define PART_MAX_ROUNDS 50

static const part_type *part_type_of(zt_arena *a, const char *base, const char *arm_type)
{
    const char *t = arm_type ? arm_type : zt_arm_resource_type(a, base);
    for (size_t i = 0; t && i < ZT_ARRAY_LEN(part_types); i++)
        if (strcasecmp(part_types[i].type, t) == 0)
            return &part_types[i];
    return NULL;
}

bool zt_comp_part_split(zt_arena *a, const char *id, const char **base, const char ***names,
                        size_t *n)
{
    const char *hash = id ? strchr(id, '#') : NULL;
    if (!hash)
        return false;
    *base = zt_arena_strndup(a, id, (size_t)(hash - id));
    size_t cnt = 1;
    for (const char *p = hash + 1; *p; p++)
        cnt += *p == ',';
    const char **v = zt_arena_calloc(a, cnt + 1, sizeof(*v));
    size_t k = 0;
    for (const char *p = hash + 1;;) {
        size_t len = strcspn(p, ",");
        if (len)
            v[k++] = zt_arena_strndup(a, p, len);
        if (!p[len])
            break;
        p += len + 1;
    }
    *names = v;
    *n = k;
    return true;
}

const char *zt_comp_part_base(zt_arena *a, const char *id)
{
    const char *hash = id ? strchr(id, '#') : NULL;
    return hash ? zt_arena_strndup(a, id, (size_t)(hash - id)) : id;
}

static bool owned(const char *const *names, size_t n, const json_t *item)
{
    const char *nm = json_string_value(json_object_get(item, "name"));
    for (size_t i = 0; nm && i < n; i++)
        if (strcmp(names[i], nm) == 0)
            return true;
    return false;
}

/* The resource as the part sees it: its items only (a new reference);
 * NULL when none of them is there. */
static json_t *part_view(const part_type *pt, const json_t *whole, const char *const *names,
                         size_t n)
{
    json_t *items = zt_comp_json_ptr(whole, pt->items);
    json_t *mine = json_array(), *it;
    size_t i;
    json_array_foreach(items, i, it)
        if (owned(names, n, it))
            json_array_append(mine, it);
    if (!json_array_size(mine)) {
        json_decref(mine);
        return NULL;
    }
    json_t *out = json_deep_copy(whole);
    zt_comp_json_set(out, pt->items, mine);
    json_decref(mine);
    return out;
}

/* ---- coalescing ------------------------------------------------------------ */

typedef struct part_change {
    const char **names;
    size_t n;
    json_t *body;                 /* desired body (items: this part's); NULL: remove */
    /* out, written by whichever thread ran the write */
    zt_rc rc;
    json_t *result;               /* new reference, or NULL */
    char *error, *error_code, *error_message; /* malloc'd */
    bool maybe_written, done;
    struct part_change *next;
} part_change;

typedef struct part_slot {
    char *base;                   /* lower-cased resource ID */
    part_change *pending;
    bool busy;
    struct part_slot *next;
} part_slot;

static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t slots_cond = PTHREAD_COND_INITIALIZER;
static part_slot *slots;

static part_slot *slot_for(const char *base)
{
    for (part_slot *s = slots; s; s = s->next)
        if (strcasecmp(s->base, base) == 0)
            return s;
    part_slot *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->base = strdup(base);
    s->next = slots;
    slots = s;
    return s;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void fail_all(part_change *batch, zt_rc rc, zt_arena *a, const zt_arm_resp *resp,
                     const char *what)
{
    const char *err = resp && resp->error ? zt_arm_error_str(a, resp->error) : NULL;
    if (!err)
        err = zt_arena_printf(a, "%s (%s, HTTP status %ld)", what, zt_rc_str(rc),
                              resp ? resp->status : 0L);
    for (part_change *c = batch; c; c = c->next) {
        c->rc = rc;
        c->error = dup_or_null(err);
        c->error_code = dup_or_null(resp && resp->error ? resp->error->code : "");
        c->error_message = dup_or_null(resp && resp->error ? resp->error->message : NULL);
        c->maybe_written = resp && resp->maybe_written;
    }
}

/* The body to write: the last writer's body (its non-item properties),
 * else what the resource has now; items: the current ones no change in
 * the batch owns, then every change's own. NULL items: nothing left. */
static json_t *merged_body(const part_type *pt, const json_t *cur, part_change *batch,
                           bool *empty)
{
    json_t *items = json_array(), *it;
    size_t i;
    json_array_foreach(zt_comp_json_ptr(cur, pt->items), i, it)
    {
        bool theirs = true;
        for (part_change *c = batch; c && theirs; c = c->next)
            theirs = !owned((const char *const *)c->names, c->n, it);
        if (theirs)
            json_array_append(items, it);
    }
    const json_t *base = NULL;
    for (part_change *c = batch; c; c = c->next) {
        if (!c->body)
            continue;
        base = c->body;
        json_array_foreach(zt_comp_json_ptr(c->body, pt->items), i, it)
            if (owned((const char *const *)c->names, c->n, it))
                json_array_append(items, it);
    }
    *empty = json_array_size(items) == 0;
    json_t *body = base ? json_deep_copy(base) : json_object();
    for (size_t k = 0; !base && pt->keep[k]; k++) {
        json_t *v = zt_comp_json_ptr(cur, pt->keep[k]);
        if (v)
            zt_comp_json_set(body, pt->keep[k], v);
    }
    zt_comp_json_set(body, pt->items, items);
    json_decref(items);
    return body;
}

static bool precondition_failed(zt_rc rc, const zt_arm_resp *r)
{
    return rc == ZT_ERR_REMOTE && (r->status == 412 ||
                                   (r->error && zt_arm_error_has_code(r->error, "PreconditionFailed")));
}

/* One read-modify-write for the batch, redone while another writer wins
 * the race. */
static void write_batch(const zt_comp_part_io *io, const part_type *pt, const char *base,
                        part_change *batch)
{
    zt_arena *a = zt_arena_new();
    for (unsigned round = 1;; round++) {
        zt_arm_req get = {.method = ZT_ARM_GET, .path = base, .resource_type = pt->type,
                          .deadline_ms = io->deadline_ms, .cancel = io->cancel};
        zt_arm_resp g = {0}, w = {0};
        zt_rc rc = zt_arm_do(io->arm, a, &get, &g);
        if (rc != ZT_OK && rc != ZT_ERR_NOTFOUND) {
            fail_all(batch, rc, a, &g, "reading the shared resource failed");
            break;
        }
        json_t *cur = rc == ZT_OK ? g.body : NULL;
        const char *etag = json_string_value(json_object_get(cur, "etag"));
        bool empty;
        json_t *body = merged_body(pt, cur, batch, &empty);
        zt_arm_req put = {.method = empty ? ZT_ARM_DELETE : ZT_ARM_PUT, .path = base,
                          .resource_type = pt->type, .body = empty ? NULL : body,
                          .serial_scope = io->serial, .deadline_ms = io->deadline_ms,
                          .cancel = io->cancel,
                          /* an update or delete of the group: its type's time */
                          .expected_ms = cur ? zt_arm_expected_ms(pt->type, empty ? ZT_ARM_DELETE
                                                                                  : ZT_ARM_PUT)
                                             : 0,
                          .if_match = cur ? etag : NULL,
                          .if_none_match = cur ? NULL : "*"};
        if (empty && !cur)
            rc = ZT_OK; /* nothing there, nothing wanted */
        else
            rc = zt_arm_do(io->arm, a, &put, &w);
        json_decref(body);
        if (empty && rc == ZT_ERR_NOTFOUND)
            rc = ZT_OK;
        if (precondition_failed(rc, &w) && round < PART_MAX_ROUNDS) {
            zt_log(ZT_LOG_INFO, ZT_COMP_LOG, "another writer changed the shared resource; "
                   "reading it again", "id", base, "round", zt_arena_printf(a, "%u", round), NULL);
            continue;
        }
        if (rc != ZT_OK) {
            fail_all(batch, rc, a, &w, "writing the shared resource failed");
            break;
        }
        size_t n = 0;
        for (part_change *c = batch; c; c = c->next, n++) {
            c->rc = ZT_OK;
            c->maybe_written = true;
            c->result = c->body && w.body ? part_view(pt, w.body, (const char *const *)c->names,
                                                      c->n)
                                          : NULL;
        }
        zt_log(ZT_LOG_INFO, ZT_COMP_LOG, "shared resource written", "id", base, "parts",
               zt_arena_printf(a, "%zu", n), "method", empty ? "DELETE" : "PUT", NULL);
        break;
    }
    zt_arena_free(a);
}

/* Queue the change; whoever finds the resource idle writes everything
 * queued for it, until this change is done. */
static void coalesce(const zt_comp_part_io *io, const part_type *pt, const char *base,
                     part_change *ch)
{
    pthread_mutex_lock(&slots_lock);
    part_slot *s = slot_for(base);
    if (!s) {
        pthread_mutex_unlock(&slots_lock);
        ch->rc = ZT_ERR_NOMEM;
        ch->error = strdup("out of memory");
        ch->done = true;
        return;
    }
    part_change **tail = &s->pending;
    while (*tail)
        tail = &(*tail)->next;
    *tail = ch;
    while (!ch->done) {
        if (s->busy) {
            pthread_cond_wait(&slots_cond, &slots_lock);
            continue;
        }
        s->busy = true;
        part_change *batch = s->pending;
        s->pending = NULL;
        pthread_mutex_unlock(&slots_lock);
        write_batch(io, pt, base, batch);
        pthread_mutex_lock(&slots_lock);
        for (part_change *c = batch; c; c = c->next)
            c->done = true;
        s->busy = false;
        pthread_cond_broadcast(&slots_cond);
    }
    pthread_mutex_unlock(&slots_lock);
}

static void take_out(zt_comp_part_io *io, part_change *ch)
{
    io->result = ch->result;
    io->error = ch->error ? zt_arena_strdup(io->a, ch->error) : NULL;
    io->error_code = ch->error_code ? zt_arena_strdup(io->a, ch->error_code) : "";
    io->error_message = ch->error_message ? zt_arena_strdup(io->a, ch->error_message) : NULL;
    io->maybe_written = ch->maybe_written;
    free(ch->error);
    free(ch->error_code);
    free(ch->error_message);
}

zt_rc zt_comp_part_write(zt_comp_part_io *io, const char *id, const json_t *body)
{
    const char *base, **names;
    size_t n;
    const part_type *pt = NULL;
    if (!zt_comp_part_split(io->a, id, &base, &names, &n) || !n ||
        !(pt = part_type_of(io->a, base, io->arm_type))) {
        io->error = zt_arena_printf(io->a, "%s is not part of a shared resource type this "
                                           "provider knows (a provider bug)", id);
        io->error_code = "";
        return ZT_ERR_INVALID;
    }
    part_change ch = {.names = names, .n = n, .body = body ? json_deep_copy(body) : NULL};
    coalesce(io, pt, base, &ch);
    json_decref(ch.body);
    take_out(io, &ch);
    return ch.rc;
}

zt_rc zt_comp_part_get(zt_comp_part_io *io, const char *id, bool listed)
{
    const char *base, **names;
    size_t n;
    const part_type *pt = NULL;
    if (!zt_comp_part_split(io->a, id, &base, &names, &n) ||
        !(pt = part_type_of(io->a, base, io->arm_type)))
        return ZT_ERR_INVALID;
    zt_arm_req get = {.method = ZT_ARM_GET, .path = base, .resource_type = pt->type,
                      .deadline_ms = io->deadline_ms, .cancel = io->cancel};
    zt_arm_resp g = {0};
    zt_rc rc = listed ? zt_arm_get_listed_part(io->arm, io->a, &get, id, &g)
                      : zt_arm_do(io->arm, io->a, &get, &g);
    if (rc != ZT_OK) {
        if (rc != ZT_ERR_NOTFOUND) {
            io->error = g.error ? zt_arm_error_str(io->a, g.error)
                                : zt_arena_printf(io->a, "%s (HTTP status %ld)", zt_rc_str(rc),
                                                  g.status);
            io->error_code = g.error ? g.error->code : "";
            io->error_message = g.error ? g.error->message : NULL;
        }
        return rc;
    }
    io->result = part_view(pt, g.body, names, n);
    return io->result ? ZT_OK : ZT_ERR_NOTFOUND;
}
