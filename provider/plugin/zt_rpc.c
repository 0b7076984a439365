/* zt_rpc.c - the RPC handlers. Each one: unpack the request into the call's
 * arena, do the work through the provider tables (zt_provider.h), pack the
 * response. Problems the user can fix travel as diagnostics in a normal
 * response; gRPC error statuses are kept for requests that cannot be
 * decoded at all, as Terraform reports those as provider bugs. */
#include "zt_rpc.h"
#include "health.pb-c.h"
#include "plugin.pb-c.h"
#include "zt_arm.h"
#include "zt_composite.h"
#include "zt_log.h"
#include "zt_proto.h"

#include <pthread.h>
#include <string.h>

typedef struct rpc {
    zt_call call;
    zt_diags diags;
    ProtobufCAllocator alloc;
    zt_rpc_ctx *ctx;
    zt_rpc_result *res;
} rpc;

static void rpc_begin(rpc *r, void *ctx, zt_arena *a, zt_rpc_result *res, atomic_bool *cancel)
{
    memset(r, 0, sizeof(*r));
    r->ctx = ctx;
    r->res = res;
    zt_diags_init(&r->diags, a);
    zt_proto_allocator(a, &r->alloc);
    r->call.arena = a;
    r->call.diags = &r->diags;
    r->call.provider = r->ctx->provider;
    r->call.cancel = cancel;
    if (atomic_load(&r->call.provider->stop_requested)) /* StopProvider came first */
        atomic_store(cancel, true);
}

static void rpc_reply(rpc *r, ProtobufCMessage *m)
{
    zt_proto_pack(r->call.arena, m, &r->res->data, &r->res->len);
}

static void rpc_bad_request(rpc *r, const char *what)
{
    r->res->status = GRPC_STATUS_INVALID_ARGUMENT;
    r->res->message = zt_arena_printf(r->call.arena, "malformed %s request", what);
    zt_log(ZT_LOG_ERROR, "rpc", "malformed request", "method", what, NULL);
}

/* Unpack the request of type T or answer INVALID_ARGUMENT. */
#define RPC_UNPACK(r, T, desc, data, len)                                  \
    T *req = (T *)protobuf_c_message_unpack(&(desc), &(r)->alloc, (len),   \
                                            (const uint8_t *)(data));     \
    if (!req) {                                                            \
        rpc_bad_request((r), #T);                                          \
        return;                                                            \
    }

#define RPC_SET_DIAGS(r, resp) \
    (resp).diagnostics = zt_proto_diags((r)->call.arena, &(r)->diags, &(resp).n_diagnostics)

static void unknown_type(rpc *r, const char *kind, const char *name)
{
    zt_diag_error(&r->diags, NULL, zt_arena_printf(r->call.arena, "Unknown %s type", kind),
                  "This provider has no %s type named \"%s\". Check the provider version and "
                  "the spelling of the type.",
                  kind, name ? name : "");
}

/* ---- provider-level RPCs ------------------------------------------------ */

static Tfplugin6__ServerCapabilities *capabilities(zt_arena *a)
{
    Tfplugin6__ServerCapabilities *caps = zt_arena_alloc(a, sizeof(*caps));
    tfplugin6__server_capabilities__init(caps);
    caps->plan_destroy = true;
    caps->get_provider_schema_optional = true;
    return caps;
}

/* The schema never changes while the process runs: build it once. */
static pthread_once_t g_schema_once = PTHREAD_ONCE_INIT;
static zt_arena *g_schema_arena;
static const void *g_schema_bytes;
static size_t g_schema_len;

static void schema_entries(zt_arena *a, zt_schema_kind kind, size_t *n, void ***out,
                           size_t entry_size, const ProtobufCMessageDescriptor *desc)
{
    const zt_schema **list = NULL;
    *n = zt_schema_list(kind, &list);
    *out = zt_arena_calloc(a, *n ? *n : 1, sizeof(void *));
    for (size_t i = 0; i < *n; i++) {
        /* Every map entry message is {base, char *key, Schema *value}. */
        Tfplugin6__GetProviderSchema__Response__ResourceSchemasEntry *e =
            zt_arena_alloc(a, entry_size);
        protobuf_c_message_init(desc, e);
        e->key = (char *)list[i]->name;
        e->value = zt_proto_schema(a, list[i]);
        (*out)[i] = e;
    }
}

static size_t function_count(void)
{
    size_t n = 0;
    while (zt_functions[n])
        n++;
    return n;
}

/* The functions map has the same entry layout in both responses. */
typedef Tfplugin6__GetProviderSchema__Response__FunctionsEntry fn_entry;

static fn_entry **function_entries(zt_arena *a, size_t *n,
                                   const ProtobufCMessageDescriptor *desc)
{
    *n = function_count();
    fn_entry **out = zt_arena_calloc(a, *n ? *n : 1, sizeof(*out));
    for (size_t i = 0; i < *n; i++) {
        fn_entry *e = zt_arena_alloc(a, sizeof(*e));
        protobuf_c_message_init(desc, e);
        e->key = (char *)zt_functions[i]->name;
        e->value = zt_proto_function(a, zt_functions[i]);
        out[i] = e;
    }
    return out;
}

static void build_schema_response(void)
{
    zt_arena *a = g_schema_arena = zt_arena_new();
    Tfplugin6__GetProviderSchema__Response resp = TFPLUGIN6__GET_PROVIDER_SCHEMA__RESPONSE__INIT;
    zt_diags d;
    zt_diags_init(&d, a);
    const zt_schema *p = zt_schema_provider();
    if (p) {
        resp.provider = zt_proto_schema(a, p);
    } else {
        zt_diag_error(&d, NULL, "Provider schema unavailable",
                      "The embedded provider schema failed to load; this is a provider bug.");
    }
    schema_entries(a, ZT_SCHEMA_RESOURCE, &resp.n_resource_schemas,
                   (void ***)&resp.resource_schemas, sizeof(**resp.resource_schemas),
                   &tfplugin6__get_provider_schema__response__resource_schemas_entry__descriptor);
    schema_entries(a, ZT_SCHEMA_DATA_SOURCE, &resp.n_data_source_schemas,
                   (void ***)&resp.data_source_schemas, sizeof(**resp.data_source_schemas),
                   &tfplugin6__get_provider_schema__response__data_source_schemas_entry__descriptor);
    resp.functions = function_entries(
        a, &resp.n_functions, &tfplugin6__get_provider_schema__response__functions_entry__descriptor);
    resp.server_capabilities = capabilities(a);
    resp.diagnostics = zt_proto_diags(a, &d, &resp.n_diagnostics);
    zt_proto_pack(a, &resp.base, &g_schema_bytes, &g_schema_len);
}

void zt_rpc_schema_response(const void **data, size_t *len)
{
    pthread_once(&g_schema_once, build_schema_response);
    *data = g_schema_bytes;
    *len = g_schema_len;
}

/* The same answer, encoded when the provider was built (tools/
 * schema_response.c writes it; only the provider binary links it in):
 * a process that Terraform starts for the schema alone then never parses
 * the schema documents. */
extern const unsigned char zt_prebuilt_schema_response[] __attribute__((weak));
extern const size_t zt_prebuilt_schema_response_len __attribute__((weak));

static void h_get_provider_schema(void *ctx, zt_arena *a, const void *data, size_t len,
                                  zt_rpc_result *res, atomic_bool *cancel)
{
    ZT_UNUSED(ctx);
    ZT_UNUSED(a);
    ZT_UNUSED(data);
    ZT_UNUSED(len);
    ZT_UNUSED(cancel);
    if (&zt_prebuilt_schema_response_len && zt_prebuilt_schema_response_len) {
        res->data = zt_prebuilt_schema_response;
        res->len = zt_prebuilt_schema_response_len;
        return;
    }
    zt_rpc_schema_response(&res->data, &res->len);
}

static void h_get_metadata(void *ctx, zt_arena *a, const void *data, size_t len,
                           zt_rpc_result *res, atomic_bool *cancel)
{
    rpc r;
    rpc_begin(&r, ctx, a, res, cancel);
    RPC_UNPACK(&r, Tfplugin6__GetMetadata__Request, tfplugin6__get_metadata__request__descriptor,
               data, len);
    ZT_UNUSED(req);
    Tfplugin6__GetMetadata__Response resp = TFPLUGIN6__GET_METADATA__RESPONSE__INIT;
    resp.server_capabilities = capabilities(a);
    const zt_schema **list = NULL;
    size_t n = zt_schema_list(ZT_SCHEMA_RESOURCE, &list);
    resp.n_resources = n;
    resp.resources = zt_arena_calloc(a, n ? n : 1, sizeof(*resp.resources));
    for (size_t i = 0; i < n; i++) {
        resp.resources[i] = zt_arena_alloc(a, sizeof(**resp.resources));
        tfplugin6__get_metadata__resource_metadata__init(resp.resources[i]);
        resp.resources[i]->type_name = (char *)list[i]->name;
    }
    n = zt_schema_list(ZT_SCHEMA_DATA_SOURCE, &list);
    resp.n_data_sources = n;
    resp.data_sources = zt_arena_calloc(a, n ? n : 1, sizeof(*resp.data_sources));
    for (size_t i = 0; i < n; i++) {
        resp.data_sources[i] = zt_arena_alloc(a, sizeof(**resp.data_sources));
        tfplugin6__get_metadata__data_source_metadata__init(resp.data_sources[i]);
        resp.data_sources[i]->type_name = (char *)list[i]->name;
    }
    n = function_count();
    resp.n_functions = n;
    resp.functions = zt_arena_calloc(a, n ? n : 1, sizeof(*resp.functions));
    for (size_t i = 0; i < n; i++) {
        resp.functions[i] = zt_arena_alloc(a, sizeof(**resp.functions));
        tfplugin6__get_metadata__function_metadata__init(resp.functions[i]);
        resp.functions[i]->name = (char *)zt_functions[i]->name;
    }
    rpc_reply(&r, &resp.base);
}

static void h_get_resource_identity_schemas(void *ctx, zt_arena *a, const void *data,
                                            size_t len, zt_rpc_result *res, atomic_bool *cancel)
{
    rpc r;
    rpc_begin(&r, ctx, a, res, cancel);
    RPC_UNPACK(&r, Tfplugin6__GetResourceIdentitySchemas__Request,
               tfplugin6__get_resource_identity_schemas__request__descriptor, data, len);
    ZT_UNUSED(req);
    /* No resource offers an identity yet: an empty map, not UNIMPLEMENTED. */
    Tfplugin6__GetResourceIdentitySchemas__Response resp =
        TFPLUGIN6__GET_RESOURCE_IDENTITY_SCHEMAS__RESPONSE__INIT;
    rpc_reply(&r, &resp.base);
}

static void provider_config_value(rpc *r, const Tfplugin6__DynamicValue *dv,
                                  const zt_cty_value **v)
{
    const zt_schema *s = zt_schema_provider();
    if (!s) {
        zt_diag_error(&r->diags, NULL, "Provider schema unavailable", "This is a provider bug.");
        return;
    }
    if (zt_proto_decode_value(&r->call, dv, s->type, "provider configuration", v) != ZT_OK)
        *v = NULL;
}

static void h_validate_provider_config(void *ctx, zt_arena *a, const void *data, size_t len,
                                       zt_rpc_result *res, atomic_bool *cancel)
{
    zt_arena_set_secret(a); /* the request holds the provider block's secrets */
    rpc r;
    rpc_begin(&r, ctx, a, res, cancel);
    RPC_UNPACK(&r, Tfplugin6__ValidateProviderConfig__Request,
               tfplugin6__validate_provider_config__request__descriptor, data, len);
    const zt_cty_value *config = NULL;
    provider_config_value(&r, req->config, &config);
    if (config) {
        zt_provider_config scratch;
        zt_provider_config_parse(&r.call, config, true, &scratch);
    }
    Tfplugin6__ValidateProviderConfig__Response resp =
        TFPLUGIN6__VALIDATE_PROVIDER_CONFIG__RESPONSE__INIT;
    RPC_SET_DIAGS(&r, resp);
    rpc_reply(&r, &resp.base);
}

static pthread_mutex_t g_configure_lock = PTHREAD_MUTEX_INITIALIZER;

static void configure(rpc *r, const zt_cty_value *config, const char *tf_version)
{
    zt_provider *p = r->call.provider;
    pthread_mutex_lock(&g_configure_lock);
    /* The settings outlive this call: parse them into the provider's arena,
     * reporting into this call's diagnostics. */
    zt_call pc = {.arena = p->arena, .diags = r->call.diags, .provider = p};
    bool partial = !zt_cty_is_wholly_known(config);
    bool ok = zt_provider_config_parse(&pc, config, partial, &p->config) == ZT_OK;
    if (ok) {
        p->terraform_version = zt_arena_strdup(p->arena, tf_version);
        atomic_store(&p->configured, true);
        atomic_fetch_add(&p->generation, 1);
    }
    pthread_mutex_unlock(&g_configure_lock);
    /* No credential, no plan: fail here, once, rather than in every
     * resource or only at apply. */
    if (ok && !partial)
        zt_provider_sign_in(&r->call);
}

static void h_configure_provider(void *ctx, zt_arena *a, const void *data, size_t len,
                                 zt_rpc_result *res, atomic_bool *cancel)
{
    zt_arena_set_secret(a); /* the request holds the provider block's secrets */
    rpc r;
    rpc_begin(&r, ctx, a, res, cancel);
    RPC_UNPACK(&r, Tfplugin6__ConfigureProvider__Request,
               tfplugin6__configure_provider__request__descriptor, data, len);
    const zt_cty_value *config = NULL;
    provider_config_value(&r, req->config, &config);
    if (config)
        configure(&r, config, req->terraform_version);
    Tfplugin6__ConfigureProvider__Response resp = TFPLUGIN6__CONFIGURE_PROVIDER__RESPONSE__INIT;
    RPC_SET_DIAGS(&r, resp);
    rpc_reply(&r, &resp.base);
}

static void h_stop_provider(void *ctx, zt_arena *a, const void *data, size_t len,
                            zt_rpc_result *res, atomic_bool *cancel)
{
    rpc r;
    rpc_begin(&r, ctx, a, res, cancel);
    RPC_UNPACK(&r, Tfplugin6__StopProvider__Request, tfplugin6__stop_provider__request__descriptor,
               data, len);
    ZT_UNUSED(req);
    /* In-flight work polls these flags and returns what it has. */
    atomic_store(&r.call.provider->stop_requested, true);
    zt_server_cancel_work(r.ctx->server);
    zt_arm_cancel_wake();
    zt_log(ZT_LOG_INFO, "provider", "stop requested: cancelling in-flight operations", NULL);
    Tfplugin6__StopProvider__Response resp = TFPLUGIN6__STOP_PROVIDER__RESPONSE__INIT;
    resp.error = "";
    rpc_reply(&r, &resp.base);
}

/* ---- data sources -------------------------------------------------------- */

static bool data_source_lookup(rpc *r, const char *type_name, const zt_datasource_def **def,
                               const zt_schema **schema)
{
    *def = zt_datasource_find(type_name);
    *schema = zt_schema_find(ZT_SCHEMA_DATA_SOURCE, type_name);
    if (*def && *schema)
        return true;
    unknown_type(r, "data source", type_name);
    return false;
}

static void h_validate_data_resource_config(void *ctx, zt_arena *a, const void *data,
                                            size_t len, zt_rpc_result *res, atomic_bool *cancel)
{
    rpc r;
    rpc_begin(&r, ctx, a, res, cancel);
    RPC_UNPACK(&r, Tfplugin6__ValidateDataResourceConfig__Request,
               tfplugin6__validate_data_resource_config__request__descriptor, data, len);
    const zt_datasource_def *def;
    const zt_schema *s;
    const zt_cty_value *config;
    if (data_source_lookup(&r, req->type_name, &def, &s) &&
        zt_proto_decode_value(&r.call, req->config, s->type, "configuration", &config) == ZT_OK &&
        def->validate)
        def->validate(&r.call, s, config);
    Tfplugin6__ValidateDataResourceConfig__Response resp =
        TFPLUGIN6__VALIDATE_DATA_RESOURCE_CONFIG__RESPONSE__INIT;
    RPC_SET_DIAGS(&r, resp);
    rpc_reply(&r, &resp.base);
}

static void h_read_data_source(void *ctx, zt_arena *a, const void *data, size_t len,
                               zt_rpc_result *res, atomic_bool *cancel)
{
    rpc r;
    rpc_begin(&r, ctx, a, res, cancel);
    RPC_UNPACK(&r, Tfplugin6__ReadDataSource__Request, tfplugin6__read_data_source__request__descriptor,
               data, len);
    Tfplugin6__ReadDataSource__Response resp = TFPLUGIN6__READ_DATA_SOURCE__RESPONSE__INIT;
    const zt_datasource_def *def;
    const zt_schema *s;
    const zt_cty_value *config, *state = NULL;
    if (data_source_lookup(&r, req->type_name, &def, &s) &&
        zt_proto_decode_value(&r.call, req->config, s->type, "configuration", &config) == ZT_OK &&
        def->read(&r.call, s, config, &state) == ZT_OK && state) {
        if (!zt_cty_is_wholly_known(state) || state->is_null)
            zt_diag_error(&r.diags, NULL, "Provider produced an incomplete result",
                          "The data source %s returned unknown or null values; this is a "
                          "provider bug.",
                          req->type_name);
        else
            resp.state = zt_proto_encode_value(&r.call, state, s->type);
    }
    RPC_SET_DIAGS(&r, resp);
    rpc_reply(&r, &resp.base);
}

/* ---- managed resources ---------------------------------------------------
 * Every managed resource is a composite (zt_composite.h): look the type
 * up, decode the values with its schema, hand them to the engine, encode
 * what it returns. */

static bool resource_lookup(rpc *r, const char *type_name, const zt_composite_def **def,
                            const zt_schema **schema)
{
    *def = zt_composite_find(type_name);
    *schema = zt_schema_find(ZT_SCHEMA_RESOURCE, type_name);
    if (*def && *schema)
        return true;
    unknown_type(r, "resource", type_name);
    return false;
}

static void h_validate_resource_config(void *ctx, zt_arena *a, const void *data, size_t len,
                                       zt_rpc_result *res, atomic_bool *cancel)
{
    rpc r;
    rpc_begin(&r, ctx, a, res, cancel);
    RPC_UNPACK(&r, Tfplugin6__ValidateResourceConfig__Request,
               tfplugin6__validate_resource_config__request__descriptor, data, len);
    const zt_composite_def *def;
    const zt_schema *s;
    const zt_cty_value *config;
    if (resource_lookup(&r, req->type_name, &def, &s) &&
        zt_proto_decode_value(&r.call, req->config, s->type, "configuration", &config) == ZT_OK)
        zt_comp_validate(&r.call, def, s, config);
    Tfplugin6__ValidateResourceConfig__Response resp =
        TFPLUGIN6__VALIDATE_RESOURCE_CONFIG__RESPONSE__INIT;
    RPC_SET_DIAGS(&r, resp);
    rpc_reply(&r, &resp.base);
}

static void h_upgrade_resource_state(void *ctx, zt_arena *a, const void *data, size_t len,
                                     zt_rpc_result *res, atomic_bool *cancel)
{
    rpc r;
    rpc_begin(&r, ctx, a, res, cancel);
    RPC_UNPACK(&r, Tfplugin6__UpgradeResourceState__Request,
               tfplugin6__upgrade_resource_state__request__descriptor, data, len);
    Tfplugin6__UpgradeResourceState__Response resp =
        TFPLUGIN6__UPGRADE_RESOURCE_STATE__RESPONSE__INIT;
    const zt_composite_def *def;
    const zt_schema *s;
    const zt_cty_value *state = NULL;
    if (!resource_lookup(&r, req->type_name, &def, &s)) {
        /* said why */
    } else if (!req->raw_state || !req->raw_state->json.len) {
        zt_diag_error(&r.diags, NULL, "Unsupported state format",
                      "The stored state of this %s is in the pre-0.12 flatmap format, which "
                      "this provider never wrote.",
                      req->type_name);
    } else if (req->version > s->version) {
        zt_diag_error(&r.diags, NULL, "State from a newer provider",
                      "The state was written with schema version %lld, newer than this "
                      "provider's %lld. Upgrade the provider.",
                      (long long)req->version, (long long)s->version);
    } else if (req->version < s->version) {
        zt_comp_upgrade_state(&r.call, def, s, req->version,
                              (const char *)req->raw_state->json.data, req->raw_state->json.len,
                              &state);
    } else {
        /* Same schema: re-encode, dropping attributes the schema no longer has. */
        zt_diags local;
        zt_diags_init(&local, a);
        if (zt_cty_json_decode(a, (const char *)req->raw_state->json.data,
                               req->raw_state->json.len, s->type, true, &state,
                               &local) != ZT_OK) {
            zt_diags_append(&r.diags, &local);
            state = NULL;
        }
    }
    if (state)
        resp.upgraded_state = zt_proto_encode_value(&r.call, state, s->type);
    RPC_SET_DIAGS(&r, resp);
    rpc_reply(&r, &resp.base);
}

/* A null or absent DynamicValue decodes as a null object. */
static bool decode_state(rpc *r, const Tfplugin6__DynamicValue *dv, const zt_schema *s,
                         const char *what, const zt_cty_value **out)
{
    if (!dv) {
        *out = zt_cty_null(r->call.arena, s->type);
        return true;
    }
    return zt_proto_decode_value(&r->call, dv, s->type, what, out) == ZT_OK;
}

static Tfplugin6__DynamicValue *encode_state(rpc *r, const zt_cty_value *v, const zt_schema *s)
{
    return zt_proto_encode_value(&r->call, v ? v : zt_cty_null(r->call.arena, s->type), s->type);
}

static ProtobufCBinaryData bytes(const void *p, size_t n)
{
    return (ProtobufCBinaryData){.len = n, .data = (uint8_t *)p};
}

static void h_read_resource(void *ctx, zt_arena *a, const void *data, size_t len,
                            zt_rpc_result *res, atomic_bool *cancel)
{
    rpc r;
    rpc_begin(&r, ctx, a, res, cancel);
    RPC_UNPACK(&r, Tfplugin6__ReadResource__Request, tfplugin6__read_resource__request__descriptor,
               data, len);
    Tfplugin6__ReadResource__Response resp = TFPLUGIN6__READ_RESOURCE__RESPONSE__INIT;
    const zt_composite_def *def;
    const zt_schema *s;
    const zt_cty_value *state;
    if (resource_lookup(&r, req->type_name, &def, &s) &&
        decode_state(&r, req->current_state, s, "current state", &state)) {
        zt_comp_state out;
        /* On failure the engine returns the state and private unchanged. */
        zt_comp_read(&r.call, def, s, state, req->private_.data, req->private_.len, &out);
        resp.new_state = encode_state(&r, out.state, s);
        resp.private_ = bytes(out.private_data, out.private_len);
    }
    RPC_SET_DIAGS(&r, resp);
    rpc_reply(&r, &resp.base);
}

static void h_plan_resource_change(void *ctx, zt_arena *a, const void *data, size_t len,
                                   zt_rpc_result *res, atomic_bool *cancel)
{
    rpc r;
    rpc_begin(&r, ctx, a, res, cancel);
    RPC_UNPACK(&r, Tfplugin6__PlanResourceChange__Request,
               tfplugin6__plan_resource_change__request__descriptor, data, len);
    Tfplugin6__PlanResourceChange__Response resp =
        TFPLUGIN6__PLAN_RESOURCE_CHANGE__RESPONSE__INIT;
    const zt_composite_def *def;
    const zt_schema *s;
    zt_comp_plan_req pr = {.prior_private = req->prior_private.data,
                           .prior_private_len = req->prior_private.len};
    zt_comp_plan_resp out;
    if (resource_lookup(&r, req->type_name, &def, &s) &&
        decode_state(&r, req->prior_state, s, "prior state", &pr.prior) &&
        decode_state(&r, req->proposed_new_state, s, "proposed new state", &pr.proposed) &&
        decode_state(&r, req->config, s, "configuration", &pr.config) &&
        zt_comp_plan(&r.call, def, s, &pr, &out) == ZT_OK) {
        resp.planned_state = encode_state(&r, out.planned, s);
        resp.planned_private = bytes(out.planned_private, out.planned_private_len);
        resp.n_requires_replace = out.n_requires_replace;
        resp.requires_replace =
            zt_arena_calloc(a, out.n_requires_replace + 1, sizeof(*resp.requires_replace));
        for (size_t i = 0; i < out.n_requires_replace; i++)
            resp.requires_replace[i] = zt_proto_path(a, out.requires_replace[i]);
    }
    RPC_SET_DIAGS(&r, resp);
    rpc_reply(&r, &resp.base);
}

static void h_apply_resource_change(void *ctx, zt_arena *a, const void *data, size_t len,
                                    zt_rpc_result *res, atomic_bool *cancel)
{
    rpc r;
    rpc_begin(&r, ctx, a, res, cancel);
    RPC_UNPACK(&r, Tfplugin6__ApplyResourceChange__Request,
               tfplugin6__apply_resource_change__request__descriptor, data, len);
    Tfplugin6__ApplyResourceChange__Response resp =
        TFPLUGIN6__APPLY_RESOURCE_CHANGE__RESPONSE__INIT;
    const zt_composite_def *def;
    const zt_schema *s;
    zt_comp_apply_req ar = {.planned_private = req->planned_private.data,
                            .planned_private_len = req->planned_private.len};
    if (resource_lookup(&r, req->type_name, &def, &s) &&
        decode_state(&r, req->prior_state, s, "prior state", &ar.prior) &&
        decode_state(&r, req->planned_state, s, "planned state", &ar.planned) &&
        decode_state(&r, req->config, s, "configuration", &ar.config)) {
        zt_comp_state out;
        /* Even on failure: the partial state is what Terraform must keep. */
        zt_comp_apply(&r.call, def, s, &ar, &out);
        resp.new_state = encode_state(&r, out.state, s);
        resp.private_ = bytes(out.private_data, out.private_len);
    }
    RPC_SET_DIAGS(&r, resp);
    rpc_reply(&r, &resp.base);
}

static void h_import_resource_state(void *ctx, zt_arena *a, const void *data, size_t len,
                                    zt_rpc_result *res, atomic_bool *cancel)
{
    rpc r;
    rpc_begin(&r, ctx, a, res, cancel);
    RPC_UNPACK(&r, Tfplugin6__ImportResourceState__Request,
               tfplugin6__import_resource_state__request__descriptor, data, len);
    Tfplugin6__ImportResourceState__Response resp =
        TFPLUGIN6__IMPORT_RESOURCE_STATE__RESPONSE__INIT;
    const zt_composite_def *def;
    const zt_schema *s;
    zt_comp_state out;
    if (resource_lookup(&r, req->type_name, &def, &s) &&
        zt_comp_import(&r.call, def, s, req->id, &out) == ZT_OK && out.state) {
        Tfplugin6__ImportResourceState__ImportedResource *ir = zt_arena_alloc(a, sizeof(*ir));
        tfplugin6__import_resource_state__imported_resource__init(ir);
        ir->type_name = req->type_name;
        ir->state = encode_state(&r, out.state, s);
        ir->private_ = bytes(out.private_data, out.private_len);
        resp.n_imported_resources = 1;
        resp.imported_resources = zt_arena_calloc(a, 1, sizeof(*resp.imported_resources));
        resp.imported_resources[0] = ir;
    }
    RPC_SET_DIAGS(&r, resp);
    rpc_reply(&r, &resp.base);
}

static void h_move_resource_state(void *ctx, zt_arena *a, const void *data, size_t len,
                                  zt_rpc_result *res, atomic_bool *cancel)
{
    rpc r;
    rpc_begin(&r, ctx, a, res, cancel);
    RPC_UNPACK(&r, Tfplugin6__MoveResourceState__Request,
               tfplugin6__move_resource_state__request__descriptor, data, len);
    zt_diag_error(&r.diags, NULL, "Moving resources is not supported",
                  "zerotrust resources cannot take over state from %s (%s). Import the existing "
                  "Azure resources instead (terraform import).",
                  req->source_type_name, req->source_provider_address);
    Tfplugin6__MoveResourceState__Response resp = TFPLUGIN6__MOVE_RESOURCE_STATE__RESPONSE__INIT;
    RPC_SET_DIAGS(&r, resp);
    rpc_reply(&r, &resp.base);
}

static void h_upgrade_resource_identity(void *ctx, zt_arena *a, const void *data, size_t len,
                                        zt_rpc_result *res, atomic_bool *cancel)
{
    rpc r;
    rpc_begin(&r, ctx, a, res, cancel);
    RPC_UNPACK(&r, Tfplugin6__UpgradeResourceIdentity__Request,
               tfplugin6__upgrade_resource_identity__request__descriptor, data, len);
    zt_diag_error(&r.diags, NULL, "Resource identity not supported",
                  "The resource type %s declares no identity.", req->type_name);
    Tfplugin6__UpgradeResourceIdentity__Response resp =
        TFPLUGIN6__UPGRADE_RESOURCE_IDENTITY__RESPONSE__INIT;
    RPC_SET_DIAGS(&r, resp);
    rpc_reply(&r, &resp.base);
}

/* ---- functions ----------------------------------------------------------- */

static void h_get_functions(void *ctx, zt_arena *a, const void *data, size_t len,
                            zt_rpc_result *res, atomic_bool *cancel)
{
    rpc r;
    rpc_begin(&r, ctx, a, res, cancel);
    RPC_UNPACK(&r, Tfplugin6__GetFunctions__Request, tfplugin6__get_functions__request__descriptor,
               data, len);
    ZT_UNUSED(req);
    Tfplugin6__GetFunctions__Response resp = TFPLUGIN6__GET_FUNCTIONS__RESPONSE__INIT;
    resp.functions = (Tfplugin6__GetFunctions__Response__FunctionsEntry **)function_entries(
        a, &resp.n_functions, &tfplugin6__get_functions__response__functions_entry__descriptor);
    rpc_reply(&r, &resp.base);
}

static Tfplugin6__FunctionError *function_error(zt_arena *a, const char *text, int64_t arg)
{
    Tfplugin6__FunctionError *e = zt_arena_alloc(a, sizeof(*e));
    tfplugin6__function_error__init(e);
    /* Terraform ends the sentence itself ("...failed: TEXT."). */
    size_t n = strlen(text);
    while (n > 0 && text[n - 1] == '.')
        n--;
    e->text = zt_arena_strndup(a, text, n);
    if (arg >= 0) {
        e->_function_argument_case = TFPLUGIN6__FUNCTION_ERROR___FUNCTION_ARGUMENT_FUNCTION_ARGUMENT;
        e->function_argument = arg;
    }
    return e;
}

static const zt_function_param *param_at(const zt_function_def *f, size_t i)
{
    return i < f->n_params ? &f->params[i] : f->variadic;
}

/* Decode the arguments; on failure return the error to send. */
static Tfplugin6__FunctionError *decode_args(rpc *r, const zt_function_def *f,
                                             const Tfplugin6__CallFunction__Request *req,
                                             const zt_cty_value ***args)
{
    zt_arena *a = r->call.arena;
    if (req->n_arguments < f->n_params || (!f->variadic && req->n_arguments > f->n_params))
        return function_error(a, zt_arena_printf(a, "%s takes %zu arguments, got %zu", f->name,
                                                 f->n_params, req->n_arguments),
                              -1);
    *args = zt_arena_calloc(a, req->n_arguments + 1, sizeof(**args));
    for (size_t i = 0; i < req->n_arguments; i++) {
        const zt_function_param *p = param_at(f, i);
        const zt_cty_type *t = NULL;
        zt_diags local;
        zt_diags_init(&local, a);
        if (zt_cty_type_from_json(a, p->type_json, strlen(p->type_json), &t, &local) != ZT_OK ||
            zt_proto_decode_value(&(zt_call){.arena = a, .diags = &local,
                                             .provider = r->call.provider},
                                  req->arguments[i], t, "argument", &(*args)[i]) != ZT_OK) {
            const char *why = local.head ? local.head->detail : "invalid value";
            return function_error(a, zt_arena_printf(a, "invalid %s: %s", p->name, why),
                                  (int64_t)i);
        }
        if ((*args)[i]->is_null && !p->allow_null)
            return function_error(a, zt_arena_printf(a, "%s must not be null", p->name),
                                  (int64_t)i);
    }
    return NULL;
}

static void h_call_function(void *ctx, zt_arena *a, const void *data, size_t len,
                            zt_rpc_result *res, atomic_bool *cancel)
{
    rpc r;
    rpc_begin(&r, ctx, a, res, cancel);
    RPC_UNPACK(&r, Tfplugin6__CallFunction__Request, tfplugin6__call_function__request__descriptor,
               data, len);
    Tfplugin6__CallFunction__Response resp = TFPLUGIN6__CALL_FUNCTION__RESPONSE__INIT;
    const zt_function_def *f = zt_function_find(req->name);
    const zt_cty_value **args = NULL;
    if (!f) {
        resp.error = function_error(a, zt_arena_printf(a, "unknown function %s", req->name), -1);
    } else if (!(resp.error = decode_args(&r, f, req, &args))) {
        const zt_cty_value *result = NULL;
        const char *err = NULL;
        int64_t err_arg = -1;
        const zt_cty_type *rt = NULL;
        zt_cty_type_from_json(a, f->return_type_json, strlen(f->return_type_json), &rt, &r.diags);
        if (f->call(&r.call, req->n_arguments, args, &result, &err, &err_arg) != ZT_OK || !result)
            resp.error = function_error(a, err ? err : "function failed", err_arg);
        else if (!(resp.result = zt_proto_encode_value(&r.call, result, rt)))
            resp.error = function_error(a, "could not encode the result", -1);
    }
    rpc_reply(&r, &resp.base);
}

/* ---- go-plugin controller and health -------------------------------------- */

static void h_shutdown(void *ctx, zt_arena *a, const void *data, size_t len,
                       zt_rpc_result *res, atomic_bool *cancel)
{
    rpc r;
    rpc_begin(&r, ctx, a, res, cancel);
    RPC_UNPACK(&r, Plugin__Empty, plugin__empty__descriptor, data, len);
    ZT_UNUSED(req);
    atomic_store(&r.call.provider->stop_requested, true);
    zt_server_cancel_work(r.ctx->server);
    zt_arm_cancel_wake();
    res->stop_server = true; /* after go-plugin has its reply */
    Plugin__Empty resp = PLUGIN__EMPTY__INIT;
    rpc_reply(&r, &resp.base);
}

static void h_health_check(void *ctx, zt_arena *a, const void *data, size_t len,
                           zt_rpc_result *res, atomic_bool *cancel)
{
    rpc r;
    rpc_begin(&r, ctx, a, res, cancel);
    RPC_UNPACK(&r, Grpc__Health__V1__HealthCheckRequest,
               grpc__health__v1__health_check_request__descriptor, data, len);
    if (req->service[0] && strcmp(req->service, "plugin") != 0) {
        res->status = GRPC_STATUS_NOT_FOUND;
        res->message = "unknown service";
        return;
    }
    Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    resp.status = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
    rpc_reply(&r, &resp.base);
}

#define TF(m) "/tfplugin6.Provider/" #m

const zt_method zt_rpc_methods[] = {
    {TF(GetMetadata), ZT_METHOD_UNARY, h_get_metadata},
    {TF(GetProviderSchema), ZT_METHOD_UNARY, h_get_provider_schema},
    {TF(GetResourceIdentitySchemas), ZT_METHOD_UNARY, h_get_resource_identity_schemas},
    {TF(ValidateProviderConfig), ZT_METHOD_UNARY, h_validate_provider_config},
    {TF(ConfigureProvider), ZT_METHOD_UNARY, h_configure_provider},
    {TF(StopProvider), ZT_METHOD_UNARY, h_stop_provider},
    {TF(ValidateResourceConfig), ZT_METHOD_UNARY, h_validate_resource_config},
    {TF(UpgradeResourceState), ZT_METHOD_UNARY, h_upgrade_resource_state},
    {TF(UpgradeResourceIdentity), ZT_METHOD_UNARY, h_upgrade_resource_identity},
    {TF(ReadResource), ZT_METHOD_UNARY, h_read_resource},
    {TF(PlanResourceChange), ZT_METHOD_UNARY, h_plan_resource_change},
    {TF(ApplyResourceChange), ZT_METHOD_UNARY, h_apply_resource_change},
    {TF(ImportResourceState), ZT_METHOD_UNARY, h_import_resource_state},
    {TF(MoveResourceState), ZT_METHOD_UNARY, h_move_resource_state},
    {TF(ValidateDataResourceConfig), ZT_METHOD_UNARY, h_validate_data_resource_config},
    {TF(ReadDataSource), ZT_METHOD_UNARY, h_read_data_source},
    {TF(GetFunctions), ZT_METHOD_UNARY, h_get_functions},
    {TF(CallFunction), ZT_METHOD_UNARY, h_call_function},
    {"/plugin.GRPCController/Shutdown", ZT_METHOD_UNARY, h_shutdown},
    {"/plugin.GRPCStdio/StreamStdio", ZT_METHOD_HOLD, NULL},
    {"/plugin.GRPCBroker/StartStream", ZT_METHOD_HOLD, NULL},
    {"/grpc.health.v1.Health/Check", ZT_METHOD_UNARY, h_health_check},
    {NULL, 0, NULL},
};
