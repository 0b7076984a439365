/* zt_server.c - see zt_server.h.
 *
 * gRPC C core hands out calls through grpc_server_request_call on a
 * notification queue. We keep a few requests outstanding; each arriving
 * call is bound to its own pluck queue and served synchronously by a
 * detached thread, so one slow call never holds up another.
 */
#include "zt_server.h"
#include "zt_log.h"

#include <errno.h>
#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ZT_PENDING_REQUESTS 16
#define ZT_MAX_MESSAGE (256 * 1024 * 1024)

typedef struct zt_slot zt_slot;

struct zt_server {
    grpc_server *server;
    grpc_completion_queue *cq;
    const zt_method *methods;
    void *ctx;
    char *socket_path; /* unix only, removed at exit */
    char address[160];
    atomic_bool shutting_down;
    atomic_bool shutdown_started;
    atomic_int active;
    pid_t parent;      /* exit_with_parent: the process that started us; else 0 */
    pthread_mutex_t calls_lock;
    zt_slot *calls;    /* unary calls being served */
};

static int g_shutdown_tag;
static void begin_shutdown(zt_server *s);

/* One outstanding grpc_server_request_call, then the call it produced. */
struct zt_slot {
    zt_server *srv;
    grpc_call *call;
    grpc_call_details details;
    grpc_metadata_array md;
    grpc_completion_queue *cq; /* pluck queue bound to the call */
    /* the handler's stop flag, and how it is raised when the client goes */
    atomic_bool cancel;
    int close_tag;             /* address: RECV_CLOSE_ON_SERVER's tag */
    int client_cancelled;
    bool close_started;        /* RECV_CLOSE_ON_SERVER is pending */
    pthread_t watcher;
    bool watching;             /* ...and a thread waits for it */
    zt_slot *prev, *next;      /* in srv->calls while served */
};

static const char *slice_str(zt_arena *a, grpc_slice s)
{
    return zt_arena_strndup(a, (const char *)GRPC_SLICE_START_PTR(s), GRPC_SLICE_LENGTH(s));
}

static bool call_batch(zt_slot *slot, const grpc_op *ops, size_t n)
{
    void *tag = (void *)slot;
    if (grpc_call_start_batch(slot->call, ops, n, tag, NULL) != GRPC_CALL_OK)
        return false;
    grpc_event ev = grpc_completion_queue_pluck(slot->cq, tag,
                                                gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    return ev.type == GRPC_OP_COMPLETE && ev.success;
}

static void finish_call(zt_slot *slot, const void *data, size_t len, grpc_status_code code,
                        const char *message)
{
    grpc_op ops[4];
    memset(ops, 0, sizeof(ops));
    size_t n = 0;
    int cancelled = 0;
    grpc_byte_buffer *bb = NULL;
    bool close_pending = slot->close_started; /* watch_start's batch receives it */
    ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
    if (code == GRPC_STATUS_OK) {
        grpc_slice body = grpc_slice_from_copied_buffer(data, len);
        bb = grpc_raw_byte_buffer_create(&body, 1);
        grpc_slice_unref(body);
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n++].data.send_message.send_message = bb;
    }
    grpc_slice details = grpc_slice_from_copied_string(message ? message : "");
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = code;
    ops[n++].data.send_status_from_server.status_details = &details;
    if (!close_pending) {
        ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
        ops[n++].data.recv_close_on_server.cancelled = &cancelled;
    }
    call_batch(slot, ops, n);
    grpc_slice_unref(details);
    if (bb)
        grpc_byte_buffer_destroy(bb);
}

static bool read_request(zt_slot *slot, zt_arena *a, void **data, size_t *len)
{
    grpc_byte_buffer *bb = NULL;
    grpc_op op;
    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &bb;
    if (!call_batch(slot, &op, 1) || !bb)
        return false;
    grpc_byte_buffer_reader reader;
    bool ok = grpc_byte_buffer_reader_init(&reader, bb) != 0;
    if (ok) {
        grpc_slice s = grpc_byte_buffer_reader_readall(&reader);
        *len = GRPC_SLICE_LENGTH(s);
        *data = zt_arena_memdup(a, GRPC_SLICE_START_PTR(s), *len);
        grpc_slice_unref(s);
        grpc_byte_buffer_reader_destroy(&reader);
    }
    grpc_byte_buffer_destroy(bb);
    return ok;
}

/* The client's end of the call: completes when the call is over, early
 * with `cancelled` when the client cancelled it or its connection went
 * away (Terraform killed). The handler's work stops with it, as a Go
 * provider's does through the call's context. */
static void *watch_close(void *arg)
{
    zt_slot *slot = arg;
    grpc_completion_queue_pluck(slot->cq, &slot->close_tag, gpr_inf_future(GPR_CLOCK_REALTIME),
                                NULL);
    if (slot->client_cancelled && !atomic_exchange(&slot->cancel, true))
        zt_log(ZT_LOG_WARN, "plugin", "the call was cancelled or Terraform went away: stopping "
               "its work", NULL);
    return NULL;
}

static void watch_start(zt_slot *slot)
{
    grpc_op op;
    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    op.data.recv_close_on_server.cancelled = &slot->client_cancelled;
    slot->close_started =
        grpc_call_start_batch(slot->call, &op, 1, &slot->close_tag, NULL) == GRPC_CALL_OK;
    slot->watching =
        slot->close_started && pthread_create(&slot->watcher, NULL, watch_close, slot) == 0;
}

/* After the answer: the close has completed; collect it. */
static void watch_end(zt_slot *slot)
{
    if (slot->watching)
        pthread_join(slot->watcher, NULL);
    else if (slot->close_started) /* no thread could be made: the work was not watched */
        watch_close(slot);
}

static void calls_link(zt_slot *slot, bool in)
{
    zt_server *s = slot->srv;
    pthread_mutex_lock(&s->calls_lock);
    if (in) {
        slot->next = s->calls;
        if (s->calls)
            s->calls->prev = slot;
        s->calls = slot;
        /* asked to stop before this call arrived: its work stops too */
        if (atomic_load(&s->shutting_down))
            atomic_store(&slot->cancel, true);
    } else {
        if (slot->prev)
            slot->prev->next = slot->next;
        else
            s->calls = slot->next;
        if (slot->next)
            slot->next->prev = slot->prev;
    }
    pthread_mutex_unlock(&s->calls_lock);
}

static void serve_unary(zt_slot *slot, const zt_method *m, zt_arena *a)
{
    void *req = NULL;
    size_t len = 0;
    if (!read_request(slot, a, &req, &len)) {
        finish_call(slot, NULL, 0, GRPC_STATUS_INVALID_ARGUMENT, "no request message");
        return;
    }
    zt_rpc_result res = {.status = GRPC_STATUS_OK};
    calls_link(slot, true);
    watch_start(slot);
    m->fn(slot->srv->ctx, a, req, len, &res, &slot->cancel);
    calls_link(slot, false);
    finish_call(slot, res.data, res.len, res.status, res.message);
    watch_end(slot);
    if (res.stop_server) {
        atomic_store(&slot->srv->shutting_down, true);
        begin_shutdown(slot->srv);
    }
}

/* Accept the stream and keep it open until the client or shutdown ends it. */
static void serve_hold(zt_slot *slot)
{
    grpc_op ops[2];
    int cancelled = 0;
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[1].data.recv_close_on_server.cancelled = &cancelled;
    if (!call_batch(slot, ops, 2) || cancelled)
        return;
    finish_call(slot, NULL, 0, GRPC_STATUS_OK, NULL);
}

static const zt_method *find_method(const zt_server *s, const char *path)
{
    for (const zt_method *m = s->methods; m->path; m++)
        if (strcmp(m->path, path) == 0)
            return m;
    return NULL;
}

static void slot_free(zt_slot *slot)
{
    if (slot->call)
        grpc_call_unref(slot->call);
    grpc_call_details_destroy(&slot->details);
    grpc_metadata_array_destroy(&slot->md);
    grpc_completion_queue_shutdown(slot->cq);
    grpc_completion_queue_destroy(slot->cq);
    free(slot);
}

static void *call_thread(void *arg)
{
    zt_slot *slot = arg;
    zt_server *srv = slot->srv;
    zt_arena *a = zt_arena_new();
    const char *path = slice_str(a, slot->details.method);
    const zt_method *m = find_method(srv, path);
    if (zt_log_enabled(ZT_LOG_TRACE))
        zt_log(ZT_LOG_TRACE, "plugin", "rpc", "method", path, NULL);
    if (!m)
        finish_call(slot, NULL, 0, GRPC_STATUS_UNIMPLEMENTED,
                    zt_arena_printf(a, "method %s is not implemented", path));
    else if (m->kind == ZT_METHOD_HOLD)
        serve_hold(slot);
    else
        serve_unary(slot, m, a);
    zt_arena_free(a);
    slot_free(slot);
    atomic_fetch_sub(&srv->active, 1);
    return NULL;
}

static void request_next(zt_server *s)
{
    zt_slot *slot = calloc(1, sizeof(*slot));
    if (!slot)
        zt_panic("out of memory");
    slot->srv = s;
    atomic_init(&slot->cancel, false);
    slot->cq = grpc_completion_queue_create_for_pluck(NULL);
    grpc_call_details_init(&slot->details);
    grpc_metadata_array_init(&slot->md);
    if (grpc_server_request_call(s->server, &slot->call, &slot->details, &slot->md, slot->cq,
                                 s->cq, slot) != GRPC_CALL_OK)
        slot_free(slot);
}

static void dispatch(zt_server *s, zt_slot *slot)
{
    atomic_fetch_add(&s->active, 1);
    pthread_attr_t attr;
    pthread_t tid;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&tid, &attr, call_thread, slot) != 0) {
        /* Cannot serve it: fail the call rather than leave it hanging. */
        finish_call(slot, NULL, 0, GRPC_STATUS_RESOURCE_EXHAUSTED, "no thread for the call");
        slot_free(slot);
        atomic_fetch_sub(&s->active, 1);
    }
    pthread_attr_destroy(&attr);
}

static grpc_server_credentials *make_creds(const zt_server_opts *o)
{
    if (!o->client_cert_pem)
        return grpc_insecure_server_credentials_create();
    grpc_ssl_pem_key_cert_pair pair = {.private_key = o->server_key_pem,
                                       .cert_chain = o->server_cert_pem};
    /* The client certificate Terraform generated is the only trust anchor,
     * and presenting it is mandatory: no other local process gets in. */
    return grpc_ssl_server_credentials_create_ex(
        o->client_cert_pem, &pair, 1, GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY,
        NULL);
}

static bool bind_unix(zt_server *s, const zt_server_opts *o, grpc_server_credentials *creds)
{
    const char *dir = o->socket_dir && *o->socket_dir ? o->socket_dir : "/tmp";
    for (int attempt = 0; attempt < 8; attempt++) {
        char path[128];
        unsigned r;
        FILE *f = fopen("/dev/urandom", "rb");
        if (!f || fread(&r, sizeof(r), 1, f) != 1)
            r = (unsigned)getpid() * 2654435761u + (unsigned)attempt;
        if (f)
            fclose(f);
        int n = snprintf(path, sizeof(path), "%s/plugin%u", dir, r % 1000000000u);
        if (n < 0 || (size_t)n >= 108) /* sun_path limit */
            return false;
        if (access(path, F_OK) == 0)
            continue;
        snprintf(s->address, sizeof(s->address), "unix:%s", path);
        /* umask makes the socket 0600 from the start: no window in which
         * another user could connect. */
        mode_t old = umask(0177);
        int ok = grpc_server_add_http2_port(s->server, s->address, creds);
        umask(old);
        if (ok) {
            s->socket_path = strdup(path);
            return s->socket_path != NULL;
        }
    }
    return false;
}

static bool bind_tcp(zt_server *s, const zt_server_opts *o, grpc_server_credentials *creds)
{
    int lo = o->min_port > 0 ? o->min_port : 10000;
    int hi = o->max_port >= lo ? o->max_port : 25000;
    for (int port = lo; port <= hi; port++) {
        snprintf(s->address, sizeof(s->address), "127.0.0.1:%d", port);
        if (grpc_server_add_http2_port(s->server, s->address, creds) == port)
            return true;
    }
    return false;
}

zt_rc zt_server_start(const zt_server_opts *o, zt_server **out, const char **network,
                      const char **address)
{
    zt_server *s = calloc(1, sizeof(*s));
    if (!s)
        return ZT_ERR_NOMEM;
    s->methods = o->methods;
    s->ctx = o->ctx;
    s->parent = o->exit_with_parent ? getppid() : 0;
    pthread_mutex_init(&s->calls_lock, NULL);
    grpc_arg args[2];
    memset(args, 0, sizeof(args));
    args[0].type = GRPC_ARG_INTEGER;
    args[0].key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
    args[0].value.integer = ZT_MAX_MESSAGE;
    args[1].type = GRPC_ARG_INTEGER;
    args[1].key = GRPC_ARG_MAX_SEND_MESSAGE_LENGTH;
    args[1].value.integer = ZT_MAX_MESSAGE;
    grpc_channel_args cargs = {.num_args = 2, .args = args};
    s->server = grpc_server_create(&cargs, NULL);
    s->cq = grpc_completion_queue_create_for_next(NULL);
    grpc_server_register_completion_queue(s->server, s->cq, NULL);
    grpc_server_credentials *creds = make_creds(o);
    bool bound = o->use_tcp ? bind_tcp(s, o, creds) : bind_unix(s, o, creds);
    if (!bound && !o->use_tcp)
        bound = bind_tcp(s, o, creds); /* e.g. a socket dir path too long */
    grpc_server_credentials_release(creds);
    if (!bound) {
        grpc_server_destroy(s->server);
        grpc_completion_queue_shutdown(s->cq);
        grpc_completion_queue_destroy(s->cq);
        free(s);
        return ZT_ERR_IO;
    }
    grpc_server_start(s->server);
    for (int i = 0; i < ZT_PENDING_REQUESTS; i++)
        request_next(s);
    *network = s->socket_path ? "unix" : "tcp";
    *address = s->socket_path ? s->socket_path : s->address;
    *out = s;
    return ZT_OK;
}

static void *shutdown_watchdog(void *arg)
{
    /* go-plugin kills us 2 s after Shutdown; leave on our own terms first. */
    zt_server *s = arg;
    usleep(1500 * 1000);
    if (s->socket_path)
        unlink(s->socket_path);
    _exit(0);
    return NULL;
}

/* Stop accepting, cancel what is in flight; the serving loop then sees the
 * shutdown tag. Thread-safe and idempotent (not async-signal-safe). */
static void begin_shutdown(zt_server *s)
{
    if (atomic_exchange(&s->shutdown_started, true))
        return;
    pthread_t tid;
    if (pthread_create(&tid, NULL, shutdown_watchdog, s) == 0)
        pthread_detach(tid);
    grpc_server_shutdown_and_notify(s->server, s->cq, &g_shutdown_tag);
    grpc_server_cancel_all_calls(s->server);
}

/* Terraform gone (killed: the kernel gave us another parent): whatever
 * is in flight stops, and the process leaves rather than write on its own
 * while the next apply starts. */
static void check_parent(zt_server *s)
{
    if (!s->parent || getppid() == s->parent || atomic_load(&s->shutting_down))
        return;
    zt_log(ZT_LOG_WARN, "plugin", "Terraform went away: cancelling in-flight work and exiting",
           NULL);
    atomic_store(&s->shutting_down, true);
    zt_server_cancel_work(s);
}

void zt_server_run(zt_server *s)
{
    for (;;) {
        gpr_timespec deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                             gpr_time_from_millis(100, GPR_TIMESPAN));
        grpc_event ev = grpc_completion_queue_next(s->cq, deadline, NULL);
        check_parent(s);
        if (atomic_load(&s->shutting_down))
            begin_shutdown(s); /* a signal (or the parent's death) asked for it */
        if (ev.type == GRPC_QUEUE_TIMEOUT)
            continue;
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (ev.tag == &g_shutdown_tag) {
            grpc_completion_queue_shutdown(s->cq);
            continue;
        }
        zt_slot *slot = ev.tag;
        if (!ev.success || atomic_load(&s->shutting_down)) {
            if (ev.success && slot->call)
                finish_call(slot, NULL, 0, GRPC_STATUS_UNAVAILABLE, "shutting down");
            slot_free(slot);
            continue;
        }
        dispatch(s, slot);
        request_next(s);
    }
    if (s->socket_path)
        unlink(s->socket_path);
}

void zt_server_shutdown(zt_server *s)
{
    atomic_store(&s->shutting_down, true);
}

void zt_server_cancel_work(zt_server *s)
{
    pthread_mutex_lock(&s->calls_lock);
    for (zt_slot *c = s->calls; c; c = c->next)
        atomic_store(&c->cancel, true);
    pthread_mutex_unlock(&s->calls_lock);
}

int zt_server_active_calls(zt_server *s)
{
    return atomic_load(&s->active);
}
