/* zt_proto.h - conversions between protobuf-c messages and our types:
 * diagnostics, attribute paths, schemas, DynamicValues. All memory comes
 * from the call's arena (protobuf-c is given an arena allocator). */
#ifndef ZT_PROTO_H
#define ZT_PROTO_H

#include "tfplugin6.pb-c.h"
#include "zt_provider.h"

#include <protobuf-c/protobuf-c.h>

/* A protobuf-c allocator drawing from an arena (free is a no-op). */
void zt_proto_allocator(zt_arena *a, ProtobufCAllocator *out);

/* Serialize any message into the arena, its strings made valid UTF-8
 * first (invalid bytes become U+FFFD). */
void zt_proto_pack(zt_arena *a, ProtobufCMessage *m, const void **data, size_t *len);

Tfplugin6__AttributePath *zt_proto_path(zt_arena *a, const zt_path *p);
/* The diagnostics list as a protobuf array (count in *n). */
Tfplugin6__Diagnostic **zt_proto_diags(zt_arena *a, const zt_diags *d, size_t *n);

Tfplugin6__Schema *zt_proto_schema(zt_arena *a, const zt_schema *s);
Tfplugin6__Function *zt_proto_function(zt_arena *a, const zt_function_def *f);

/* Decode a DynamicValue of type t (msgpack, else json, else null). Errors
 * become diagnostics naming what (e.g. "config"). */
zt_rc zt_proto_decode_value(zt_call *c, const Tfplugin6__DynamicValue *dv, const zt_cty_type *t,
                            const char *what, const zt_cty_value **out);
/* Encode v as a msgpack DynamicValue. */
Tfplugin6__DynamicValue *zt_proto_encode_value(zt_call *c, const zt_cty_value *v,
                                               const zt_cty_type *t);

#endif
