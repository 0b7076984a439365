/* zt_host.h - the go-plugin side of the binary: how Terraform launches us
 * (magic cookie, protocol version, AutoMTLS, handshake line) and how a
 * developer runs us under a debugger (-debug, TF_REATTACH_PROVIDERS). */
#ifndef ZT_HOST_H
#define ZT_HOST_H

#include "zt_arena.h"

#define ZT_MAGIC_COOKIE_KEY "TF_PLUGIN_MAGIC_COOKIE"
#define ZT_MAGIC_COOKIE_VALUE "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2"
#define ZT_PROVIDER_ADDRESS "registry.zerotrust.internal/zerotrust/zerotrust"

/* Entry point; returns the process exit code. */
int zt_host_main(int argc, char **argv);

/* The protocol version to announce for a PLUGIN_PROTOCOL_VERSIONS value:
 * 6 whenever the client lists it, else still 6 (our only version) so the
 * client reports the mismatch itself. */
int zt_host_pick_protocol(const char *versions);

/* The handshake line (with trailing newline). cert_b64 NULL: plaintext. */
const char *zt_host_handshake_line(zt_arena *a, int proto, const char *network,
                                   const char *address, const char *cert_b64);

/* The TF_REATTACH_PROVIDERS value for debug mode. */
const char *zt_host_reattach_json(zt_arena *a, long pid, const char *network,
                                  const char *address);

#endif
