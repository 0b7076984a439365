/* zt_host.c - see zt_host.h. */
#include "zt_host.h"
#include "zt_log.h"
#include "zt_rpc.h"
#include "zt_server.h"
#include "zt_tls.h"

#include <grpc/grpc.h>
#include <grpc/support/log.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static zt_server *g_server;

int zt_host_pick_protocol(const char *versions)
{
    /* The list comes from a Go map, so its order is arbitrary. */
    const char *p = versions ? versions : "";
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end != p && v == 6)
            return 6;
        p = *end ? end + 1 : end;
    }
    return 6;
}

const char *zt_host_handshake_line(zt_arena *a, int proto, const char *network,
                                   const char *address, const char *cert_b64)
{
    return zt_arena_printf(a, "1|%d|%s|%s|grpc|%s\n", proto, network, address,
                           cert_b64 ? cert_b64 : "");
}

const char *zt_host_reattach_json(zt_arena *a, long pid, const char *network,
                                  const char *address)
{
    json_t *addr = json_pack("{s:s,s:s}", "Network", network, "String", address);
    json_t *entry = json_pack("{s:s,s:i,s:I,s:b,s:o}", "Protocol", "grpc", "ProtocolVersion", 6,
                              "Pid", (json_int_t)pid, "Test", 1, "Addr", addr);
    json_t *root = json_pack("{s:o}", ZT_PROVIDER_ADDRESS, entry);
    char *s = json_dumps(root, JSON_COMPACT);
    const char *out = zt_arena_strdup(a, s ? s : "{}");
    free(s);
    json_decref(root);
    return out;
}

static void on_term(int sig)
{
    ZT_UNUSED(sig);
    if (g_server)
        zt_server_shutdown(g_server);
}

/* Ctrl-C reaches the whole process group; Terraform turns it into
 * StopProvider, so the provider must survive the signal itself. */
static void install_signals(bool debug)
{
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    if (debug)
        sigaction(SIGINT, &sa, NULL);
    else
        signal(SIGINT, SIG_IGN);
}

static void grpc_log_to_hclog(gpr_log_func_args *args)
{
    zt_log_level lvl = args->severity == GPR_LOG_SEVERITY_ERROR  ? ZT_LOG_ERROR
                       : args->severity == GPR_LOG_SEVERITY_INFO ? ZT_LOG_DEBUG
                                                                 : ZT_LOG_TRACE;
    zt_log(lvl, "grpc", args->message, "file", args->file, NULL);
}

static int usage_error(void)
{
    fputs("This binary is a plugin. These are not meant to be executed directly.\n"
          "Please execute the program that consumes these plugins, which will\n"
          "load any plugins automatically.\n"
          "(To debug the provider, run it with -debug and follow its instructions.)\n",
          stderr);
    return 1;
}

static int env_int(const char *name, int fallback)
{
    const char *v = getenv(name);
    return v && *v ? atoi(v) : fallback;
}

static void announce(zt_arena *a, bool debug, int proto, const char *network,
                     const char *address, const char *cert_b64)
{
    if (debug) {
        printf("Provider started. To attach Terraform CLI, set the TF_REATTACH_PROVIDERS "
               "environment variable with the following:\n\n"
               "\tTF_REATTACH_PROVIDERS='%s'\n\n",
               zt_host_reattach_json(a, (long)getpid(), network, address));
    } else {
        fputs(zt_host_handshake_line(a, proto, network, address, cert_b64), stdout);
    }
    fflush(stdout);
}

static int serve(zt_arena *a, bool debug)
{
    const char *client_cert = debug ? NULL : getenv("PLUGIN_CLIENT_CERT");
    if (client_cert && !*client_cert)
        client_cert = NULL;
    zt_tls_identity id = {0};
    if (client_cert) {
        if (!zt_tls_pem_has_cert(client_cert)) {
            zt_log(ZT_LOG_ERROR, "plugin", "PLUGIN_CLIENT_CERT holds no certificate", NULL);
            return 1;
        }
        if (zt_tls_make_identity(a, &id) != ZT_OK)
            return 1;
    }
    zt_provider *provider = zt_provider_new();
    static zt_rpc_ctx ctx;
    ctx.provider = provider;
    const char *sock_dir = getenv("PLUGIN_UNIX_SOCKET_DIR");
    if (!sock_dir || !*sock_dir)
        sock_dir = getenv("TMPDIR");
    const char *transport = getenv("ZT_PLUGIN_TRANSPORT");
    zt_server_opts opts = {
        .client_cert_pem = client_cert,
        .server_cert_pem = id.cert_pem,
        .server_key_pem = id.key_pem,
        .use_tcp = transport && strcmp(transport, "tcp") == 0,
        .min_port = env_int("PLUGIN_MIN_PORT", 10000),
        .max_port = env_int("PLUGIN_MAX_PORT", 25000),
        .socket_dir = sock_dir,
        .methods = zt_rpc_methods,
        .ctx = &ctx,
        .exit_with_parent = !debug,
    };
    const char *network, *address;
    if (zt_server_start(&opts, &g_server, &network, &address) != ZT_OK) {
        zt_log(ZT_LOG_ERROR, "plugin", "could not listen for Terraform", NULL);
        return 1;
    }
    ctx.server = g_server;
    zt_log(ZT_LOG_DEBUG, "plugin", "plugin address", "network", network, "address", address,
           "tls", client_cert ? "mutual" : "off", NULL);
    announce(a, debug, zt_host_pick_protocol(getenv("PLUGIN_PROTOCOL_VERSIONS")), network,
             address, client_cert ? id.cert_b64 : NULL);
    zt_server_run(g_server);
    zt_log(ZT_LOG_DEBUG, "plugin", "plugin exited", NULL);
    return 0;
}

int zt_host_main(int argc, char **argv)
{
    bool debug = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-debug") == 0 || strcmp(argv[i], "--debug") == 0)
            debug = true;
        else if (strcmp(argv[i], "-version") == 0 || strcmp(argv[i], "--version") == 0) {
            printf("terraform-provider-zerotrust %s\n", ZT_VERSION);
            return 0;
        }
    }
    install_signals(debug);
    zt_log_init();
    zt_log_install_crash_handler();
    const char *cookie = getenv(ZT_MAGIC_COOKIE_KEY);
    if (!debug && (!cookie || strcmp(cookie, ZT_MAGIC_COOKIE_VALUE) != 0))
        return usage_error();
    gpr_set_log_function(grpc_log_to_hclog);
    grpc_init();
    zt_arena *a = zt_arena_new();
    int rc = serve(a, debug);
    /* Handler threads may still be unwinding; the process ends here, so
     * gRPC and the arena are left to the kernel rather than torn down. */
    fflush(stderr);
    _exit(rc);
}
