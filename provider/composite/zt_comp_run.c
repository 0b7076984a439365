/* zt_comp_run.c - the parallel executor. Each ARM operation runs on a
 * thread of its own (zt_arm_do blocks through retries and long-running
 * operations); the RPC's thread schedules: it starts every task whose
 * dependencies are done, merges results as tasks finish, and after the
 * first failure starts nothing new but waits for what is in flight, so the
 * state we return accounts for every resource that may exist.
 *
 * Node callbacks (bodies, outputs) run on the scheduling thread only, so
 * resource implementations need no locking. */
#include "zt_comp_internal.h"
#include "zt_log.h"

#include <string.h>
#include <strings.h>
#include <time.h>

typedef struct run {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    size_t finished;   /* tasks done but not merged yet */
} run;

/* Everything a task thread allocates lives in its own arena until the
 * scheduler merges it into the call's (arenas are single-threaded). */
typedef struct task_ctx {
    zt_comp_task *t;
    zt_arena *a;
    json_t *result;
    const char *error, *error_code, *error_message;
} task_ctx;

static void set_error(task_ctx *x, const zt_arm_resp *resp, zt_rc rc)
{
    const char *what = resp->error ? zt_arm_error_str(x->a, resp->error)
                                   : zt_arena_printf(x->a, "%s (HTTP status %ld)", zt_rc_str(rc),
                                                     resp->status);
    x->error_code = resp->error ? resp->error->code : "";
    x->error_message = resp->error ? resp->error->message : NULL;
    x->error = what;
    if (rc != ZT_ERR_TIMEOUT)
        return;
    /* The resource's own deadline, not a transport detail: say which
     * setting it is and what happens next. */
    bool del = x->t->op == ZT_COMP_OP_DELETE;
    x->error = zt_arena_printf(
        x->a, "did not finish before the deadline set by the resource's %s (%s); Azure may "
        "still be working on it, and the next %s picks it up where it is",
        del ? "timeouts.delete" : "timeouts.create / timeouts.update", what,
        del ? "destroy" : "apply");
}

static zt_rc arm_call_at(task_ctx *x, zt_arm_method m, const char *path, const json_t *body,
                         zt_arm_resp *resp)
{
    zt_comp_task *t = x->t;
    zt_arm_req req = {
        .method = m,
        .path = path,
        .resource_type = t->arm_type,
        .body = body,
        .serial_scope = m == ZT_ARM_GET ? NULL : t->serial,
        .deadline_ms = t->deadline_ms,
        .expected_ms = m == ZT_ARM_PUT      ? t->expected_ms
                       : m == ZT_ARM_DELETE ? t->expected_delete_ms
                                            : 0,
        .cancel = t->cancel,
    };
    memset(resp, 0, sizeof(*resp));
    return zt_arm_do(t->arm, x->a, &req, resp);
}

static zt_rc arm_call(task_ctx *x, zt_arm_method m, const json_t *body, zt_arm_resp *resp)
{
    return arm_call_at(x, m, x->t->id, body, resp);
}

static zt_rc op_delete(task_ctx *x)
{
    zt_arm_resp resp;
    zt_rc rc = arm_call(x, ZT_ARM_DELETE, NULL, &resp);
    if (rc == ZT_ERR_NOTFOUND)
        rc = ZT_OK; /* already gone: what we wanted */
    if (rc != ZT_OK)
        set_error(x, &resp, rc);
    return rc;
}

static zt_rc op_get(task_ctx *x)
{
    zt_arm_resp resp;
    zt_rc rc = arm_call(x, ZT_ARM_GET, NULL, &resp);
    if (rc == ZT_OK)
        x->result = resp.body;
    else if (rc != ZT_ERR_NOTFOUND)
        set_error(x, &resp, rc);
    return rc;
}

/* A refresh's read: served from a list read of the node's collection
 * where its type allows (zt_arm_get_listed); apply paths GET. */
static zt_rc op_read(task_ctx *x)
{
    zt_comp_task *t = x->t;
    zt_arm_req req = {.method = ZT_ARM_GET, .path = t->id, .resource_type = t->arm_type,
                      .deadline_ms = t->deadline_ms, .cancel = t->cancel};
    zt_arm_resp resp;
    zt_rc rc = zt_arm_get_listed(t->arm, x->a, &req, &resp);
    if (rc == ZT_OK)
        x->result = resp.body;
    else if (rc != ZT_ERR_NOTFOUND)
        set_error(x, &resp, rc);
    return rc;
}

/* Before updating a parent whose inline children other nodes own, read
 * them so that the PUT does not delete them. */
static zt_rc op_preserve(task_ctx *x)
{
    zt_arm_resp resp;
    zt_rc rc = arm_call(x, ZT_ARM_GET, NULL, &resp);
    if (rc == ZT_ERR_NOTFOUND)
        return ZT_OK;
    if (rc != ZT_OK) {
        set_error(x, &resp, rc);
        return rc;
    }
    zt_comp_preserve(x->t->body, resp.body, x->t->preserve);
    return ZT_OK;
}

/* Is one of codes in e (or its details)? */
static const char *error_in(const zt_arm_error *e, const char *const *codes)
{
    for (size_t i = 0; e && codes && codes[i]; i++)
        if (zt_arm_error_has_code(e, codes[i]))
            return codes[i];
    return NULL;
}

/* "Already exists" that names our own resource (last ID segment). */
static bool exists_is_ours(const zt_comp_task *t, const zt_arm_error *e)
{
    const char *name = t->id ? strrchr(t->id, '/') : NULL;
    if (!name || !name[1] || !error_in(e, t->exists_codes))
        return false;
    if (e->message && strcasestr(e->message, name + 1))
        return true;
    for (size_t i = 0; i < e->n_details; i++)
        if (exists_is_ours(t, &e->details[i]) ||
            (e->details[i].target && strcasecmp(e->details[i].target, t->id) == 0))
            return true;
    return false;
}

/* Sleep up to ms, waking early when the provider is asked to stop.
 * Returns false when stopped. */
static bool nap(const zt_comp_task *t, int64_t ms)
{
    for (int64_t slept = 0; slept < ms; slept += 100) {
        if (t->cancel && atomic_load(t->cancel))
            return false;
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return !(t->cancel && atomic_load(t->cancel));
}

/* Refused because a soft-deleted resource holds the name? */
static bool held_by_deleted(const zt_comp_task *t, zt_rc rc, const zt_arm_error *e)
{
    const zt_comp_soft_delete *sd = t->soft_delete;
    return sd && rc == ZT_ERR_REMOTE && e && zt_arm_error_has_code(e, sd->code) &&
           (!*sd->text || (e->message && strcasestr(e->message, sd->text)));
}

/* Recover the soft-deleted resource holding the node's name, when it is
 * ours to recover (found in this subscription and location); the caller
 * then PUTs the node's body over it. Otherwise the refusal stands. */
static zt_rc op_recover(task_ctx *x, const zt_arm_resp *refused)
{
    zt_comp_task *t = x->t;
    zt_arm_resp resp;
    zt_rc rc = arm_call_at(x, ZT_ARM_GET, t->recover_id, NULL, &resp);
    if (rc == ZT_ERR_NOTFOUND) {
        set_error(x, refused, ZT_ERR_REMOTE);
        x->error = zt_arena_printf(x->a, "%s\n(no soft-deleted resource of this name in this "
                                         "subscription and location: %s; it cannot be "
                                         "recovered from here)", x->error, t->recover_id);
        return ZT_ERR_REMOTE;
    }
    if (rc == ZT_OK) {
        zt_log(ZT_LOG_WARN, ZT_COMP_LOG, "recovering a soft-deleted resource that holds the name",
               "node", t->key, "deleted", t->recover_id, NULL);
        rc = arm_call(x, ZT_ARM_PUT, t->recover_body, &resp);
        t->maybe_written = t->maybe_written || resp.maybe_written;
    }
    if (rc != ZT_OK)
        set_error(x, &resp, rc);
    return rc;
}

static zt_rc op_put(task_ctx *x)
{
    zt_arm_resp resp;
    zt_comp_task *t = x->t;
    zt_rc rc = t->preserve && t->op == ZT_COMP_OP_PUT ? op_preserve(x) : ZT_OK;
    if (rc != ZT_OK)
        return rc;
    int64_t start = zt_arm_now_ms(), wait = 1000;
    for (unsigned attempt = 1;; attempt++) {
        rc = arm_call(x, ZT_ARM_PUT, t->body, &resp);
        if (rc == ZT_OK)
            break;
        /* Any attempt of any round that may have reached ARM counts, not
         * only the last answer (zt_arm_resp.maybe_written). */
        t->maybe_written = t->maybe_written || resp.maybe_written;
        if (held_by_deleted(t, rc, resp.error)) {
            t->soft_delete = NULL; /* once: the PUT that follows is the body's own */
            rc = op_recover(x, &resp);
            if (rc != ZT_OK)
                return rc;
            continue;
        }
        if (rc == ZT_ERR_REMOTE && exists_is_ours(t, resp.error)) {
            zt_log(ZT_LOG_INFO, ZT_COMP_LOG, "resource already exists and is ours", "node",
                   t->key, "code", resp.error->code, NULL);
            t->maybe_written = true;
            return op_get(x);
        }
        const char *code = rc == ZT_ERR_REMOTE ? error_in(resp.error, t->retry_codes) : NULL;
        int64_t now = zt_arm_now_ms();
        if (code && (!t->deadline_ms || now + wait < t->deadline_ms)) {
            /* Expected while a grant propagates: INFO, saying what ARM
             * refuses and how long the wait may still last. */
            zt_log(ZT_LOG_INFO, ZT_COMP_LOG,
                   "waiting for an authorization to propagate (role assignments take minutes "
                   "in Azure); retrying the write", "node", t->key, "type", t->arm_type,
                   "code", code, "refused", resp.error->message ? resp.error->message : "",
                   "attempt", zt_arena_printf(x->a, "%u", attempt), "waited_s",
                   zt_arena_printf(x->a, "%lld", (long long)((now - start) / 1000)),
                   "gives_up_in_s",
                   t->deadline_ms ? zt_arena_printf(x->a, "%lld",
                                                    (long long)((t->deadline_ms - now) / 1000))
                                  : "never", NULL);
            if (!nap(t, wait)) {
                set_error(x, &resp, rc);
                return ZT_ERR_CANCELLED;
            }
            wait = wait * 2 > 30000 ? 30000 : wait * 2;
            continue;
        }
        set_error(x, &resp, rc);
        if (code || (attempt > 1 && rc == ZT_ERR_TIMEOUT))
            x->error = zt_arena_printf(
                x->a, "%s (still refused after %u attempts over %lld s; Azure role assignments "
                "can take several minutes to propagate: run the apply again, or raise "
                "timeouts.create / timeouts.update)", x->error, attempt,
                (long long)((now - start) / 1000));
        return rc;
    }
    x->result = resp.body;
    t->maybe_written = true;
    /* Some types answer a PUT without the resource: read it for outputs. */
    return x->result ? ZT_OK : op_get(x);
}

static void json_release_fn(void *p) { json_decref(p); }

/* A node that owns items of a shared resource (zt_comp_part.c): a PUT or
 * replace writes its items, a DELETE removes them, a GET reads them. */
static zt_rc op_part(task_ctx *x)
{
    zt_comp_task *t = x->t;
    zt_comp_part_io io = {.arm = t->arm, .a = x->a, .arm_type = t->arm_type,
                          .serial = t->serial, .deadline_ms = t->deadline_ms,
                          .cancel = t->cancel};
    zt_rc rc;
    switch (t->op) {
    case ZT_COMP_OP_GET: rc = zt_comp_part_get(&io, t->id, true); break;
    case ZT_COMP_OP_DELETE: rc = zt_comp_part_write(&io, t->id, NULL); break;
    case ZT_COMP_OP_PUT:
    case ZT_COMP_OP_REPLACE: rc = zt_comp_part_write(&io, t->id, t->body); break;
    default: rc = ZT_ERR_INVALID; break;
    }
    t->maybe_written = t->maybe_written || io.maybe_written;
    if (io.result) {
        x->result = io.result;
        zt_arena_on_free(x->a, json_release_fn, io.result);
    }
    if (rc != ZT_OK && rc != ZT_ERR_NOTFOUND) {
        x->error = io.error ? io.error : zt_rc_str(rc);
        x->error_code = io.error_code ? io.error_code : "";
        x->error_message = io.error_message;
    }
    return rc == ZT_ERR_NOTFOUND && t->op == ZT_COMP_OP_DELETE ? ZT_OK : rc;
}

static void *task_main(void *arg)
{
    task_ctx *x = arg;
    zt_comp_task *t = x->t;
    run *r = t->run;
    if (strchr(t->id ? t->id : "", '#')) {
        t->rc = op_part(x);
        goto done;
    }
    switch (t->op) {
    case ZT_COMP_OP_PUT: t->rc = op_put(x); break;
    case ZT_COMP_OP_REPLACE:
        t->rc = op_delete(x);
        if (t->rc == ZT_OK)
            t->rc = op_put(x);
        break;
    case ZT_COMP_OP_DELETE: t->rc = op_delete(x); break;
    case ZT_COMP_OP_GET: t->rc = op_read(x); break;
    }
done:
    pthread_mutex_lock(&r->lock);
    t->done = true;
    r->finished++;
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

static void json_release(void *p) { json_decref(p); }

/* Move a finished task's results into the call arena. */
static void merge(zt_call *c, zt_comp_task *t, task_ctx *x)
{
    pthread_join(t->thread, NULL);
    if (x->result) {
        t->result = json_incref(x->result);
        zt_arena_on_free(c->arena, json_release, t->result);
    }
    t->error = x->error ? zt_arena_strdup(c->arena, x->error) : NULL;
    t->error_code = x->error_code ? zt_arena_strdup(c->arena, x->error_code) : "";
    t->error_message = x->error_message ? zt_arena_strdup(c->arena, x->error_message) : "";
    zt_arena_free(x->a);
    json_decref(t->body);
    json_decref(t->recover_body);
    t->body = t->recover_body = NULL;
}

static bool task_failed(const zt_comp_task *t)
{
    return t->rc != ZT_OK && !(t->op == ZT_COMP_OP_GET && t->rc == ZT_ERR_NOTFOUND);
}

static bool start(zt_call *c, run *r, zt_comp_task *t, task_ctx *x)
{
    x->t = t;
    x->a = zt_arena_new();
    t->run = r;
    t->started = true;
    if (pthread_create(&t->thread, NULL, task_main, x) == 0)
        return true;
    zt_arena_free(x->a);
    t->rc = ZT_ERR_IO;
    t->done = true;
    t->error = "could not start a thread";
    t->error_code = "";
    zt_log(ZT_LOG_ERROR, ZT_COMP_LOG, "pthread_create failed", "node", t->key, NULL);
    ZT_UNUSED(c);
    return false;
}

typedef struct sched_state {
    zt_call *c;
    zt_arm_client *arm;
    int64_t deadline_ms;
    zt_comp_sched *s;
    run r;
    task_ctx *ctx;
    bool *merged;
    size_t running;
    zt_rc first;
} sched_state;

static void note_result(sched_state *st, size_t i)
{
    zt_comp_task *t = &st->s->tasks[i];
    t->complete = true;
    st->merged[i] = true;
    st->s->finished(st->s->arg, i);
    if (task_failed(t) && st->first == ZT_OK)
        st->first = t->rc;
}

/* Start (or complete inline) everything that became ready; a task with
 * nothing to do completes at once and may unblock others. */
static void start_ready(sched_state *st)
{
    zt_comp_sched *s = st->s;
    bool progress = true;
    while (progress && (st->first == ZT_OK || !s->stop_on_error) && !zt_call_cancelled(st->c)) {
        progress = false;
        for (size_t i = 0; i < s->n; i++) {
            zt_comp_task *t = &s->tasks[i];
            /* done is only ever set here (inline) for unstarted tasks */
            if (t->started || t->complete || !s->ready(s->arg, i))
                continue;
            progress = true;
            t->index = i;
            t->arm = st->arm;
            t->cancel = zt_call_cancel_flag(st->c);
            t->deadline_ms = st->deadline_ms;
            if (!t->op || t->done) {
                t->started = t->done = true;
                note_result(st, i);
            } else if (start(st->c, &st->r, t, &st->ctx[i])) {
                st->running++;
            } else {
                note_result(st, i);
            }
        }
    }
}

/* Wait for at least one task in flight to finish, then merge them all. */
static void reap(sched_state *st)
{
    zt_comp_sched *s = st->s;
    pthread_mutex_lock(&st->r.lock);
    while (!st->r.finished)
        pthread_cond_wait(&st->r.cond, &st->r.lock);
    pthread_mutex_unlock(&st->r.lock);
    for (size_t i = 0; i < s->n; i++) {
        zt_comp_task *t = &s->tasks[i];
        pthread_mutex_lock(&st->r.lock);
        bool ready = t->started && t->done && !st->merged[i];
        if (ready)
            st->r.finished--;
        pthread_mutex_unlock(&st->r.lock);
        if (!ready)
            continue;
        merge(st->c, t, &st->ctx[i]);
        st->running--;
        note_result(st, i);
    }
}

zt_rc zt_comp_run(zt_call *c, zt_arm_client *arm, int64_t deadline_ms, zt_comp_sched *s)
{
    sched_state st = {
        .c = c, .arm = arm, .deadline_ms = deadline_ms, .s = s,
        .ctx = zt_arena_calloc(c->arena, s->n + 1, sizeof(task_ctx)),
        .merged = zt_arena_calloc(c->arena, s->n + 1, sizeof(bool)),
        .first = ZT_OK,
    };
    pthread_mutex_init(&st.r.lock, NULL);
    pthread_cond_init(&st.r.cond, NULL);
    for (;;) {
        start_ready(&st);
        if (!st.running)
            break;
        reap(&st);
    }
    pthread_mutex_destroy(&st.r.lock);
    pthread_cond_destroy(&st.r.cond);
    if (st.first == ZT_OK && zt_call_cancelled(c))
        for (size_t i = 0; i < s->n; i++)
            if (!s->tasks[i].started)
                return ZT_ERR_CANCELLED;
    return st.first;
}
