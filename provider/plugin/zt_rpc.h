/* zt_rpc.h - the tfplugin6.Provider service, go-plugin's controller and the
 * gRPC health service: protobuf in, handler call, protobuf out. */
#ifndef ZT_RPC_H
#define ZT_RPC_H

#include "zt_provider.h"
#include "zt_server.h"

typedef struct zt_rpc_ctx {
    zt_provider *provider;
    zt_server *server;
} zt_rpc_ctx;

/* Method table for zt_server (terminated by a NULL path). */
extern const zt_method zt_rpc_methods[];

/* The GetProviderSchema answer, encoded from the embedded schemas (once;
 * process lifetime). */
void zt_rpc_schema_response(const void **data, size_t *len);

#endif
