/* zt_server.h - a gRPC server on gRPC C core that serves every call on its
 * own thread (Terraform runs up to 10 RPCs at once on one connection, and
 * a long apply must never block StopProvider or a read).
 *
 * Methods are looked up by their full path in a table the caller gives;
 * anything not in it is answered UNIMPLEMENTED at once.
 */
#ifndef ZT_SERVER_H
#define ZT_SERVER_H

#include "zt_arena.h"

#include <grpc/status.h>
#include <stdatomic.h>

typedef struct zt_server zt_server;

/* What a unary handler answers: a serialized message, or a gRPC status. */
typedef struct zt_rpc_result {
    const void *data;
    size_t len;
    grpc_status_code status; /* GRPC_STATUS_OK unless the call failed as a call */
    const char *message;
    bool stop_server;        /* stop serving once this reply is sent */
} zt_rpc_result;

/* cancel: set when the call's work must stop (the client cancelled the
 * call or went away, or zt_server_cancel_work); the handler passes it on
 * to what it starts and returns what it has. */
typedef void (*zt_unary_fn)(void *ctx, zt_arena *a, const void *req, size_t len,
                            zt_rpc_result *res, atomic_bool *cancel);

typedef enum zt_method_kind {
    ZT_METHOD_UNARY = 1,
    ZT_METHOD_HOLD = 2 /* a stream we accept and keep open, sending nothing */
} zt_method_kind;

typedef struct zt_method {
    const char *path; /* "/tfplugin6.Provider/GetProviderSchema" */
    zt_method_kind kind;
    zt_unary_fn fn;
} zt_method;

typedef struct zt_server_opts {
    const char *client_cert_pem; /* AutoMTLS trust anchor; NULL: plaintext */
    const char *server_cert_pem;
    const char *server_key_pem;
    bool use_tcp;                /* else a unix socket */
    int min_port, max_port;      /* TCP range (go-plugin: PLUGIN_MIN/MAX_PORT) */
    const char *socket_dir;      /* unix socket directory */
    const zt_method *methods;    /* table, terminated by a NULL path */
    void *ctx;                   /* passed to every handler */
    /* Stop serving (in-flight work cancelled, then exit) when the process
     * that started us dies: Terraform killed, nothing left to answer to.
     * Off in debug mode, where the parent is a shell. */
    bool exit_with_parent;
} zt_server_opts;

/* Bind and start listening. *network is "unix" or "tcp"; *address the
 * socket path or 127.0.0.1:PORT (valid while the server lives). */
zt_rc zt_server_start(const zt_server_opts *opts, zt_server **out, const char **network,
                      const char **address);

/* Serve until zt_server_shutdown is called; then stop, remove the socket. */
void zt_server_run(zt_server *s);

/* Ask the server to stop. Async-signal-safe: the serving loop notices
 * within 100 ms. (A handler sets zt_rpc_result.stop_server instead, which
 * stops at once after its reply.) */
void zt_server_shutdown(zt_server *s);

/* Raise the cancel flag of every call being served (StopProvider). */
void zt_server_cancel_work(zt_server *s);

/* Calls being served right now (for tests and logs). */
int zt_server_active_calls(zt_server *s);

#endif
