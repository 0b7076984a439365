/* zt_provider.h - what the provider offers (data sources, functions,
 * resources) as tables of definitions, and the per-call context every
 * handler receives. The RPC layer (zt_rpc) decodes requests, looks the
 * type up here and calls the handler; handlers never see protobuf.
 */
#ifndef ZT_PROVIDER_H
#define ZT_PROVIDER_H

#include "zt_cty.h"
#include "zt_schema.h"

#include <pthread.h>
#include <stdatomic.h>

struct zt_arm_client;

/* Settings of the provider block, after ARM_* environment fallbacks. */
typedef struct zt_provider_config {
    const char *environment;  /* public, usgovernment, china, custom */
    const char *subscription_id;
    const char *tenant_id;
    const char *client_id;
    const char *client_id_file_path;
    /* workload identity federation */
    bool use_oidc;
    const char *oidc_token;            /* secret */
    const char *oidc_token_file_path;
    const char *oidc_request_url;
    const char *oidc_request_token;    /* secret */
    /* managed identity */
    bool use_msi;
    const char *msi_endpoint;
    /* user-assigned identity selection besides client_id (IMDS object_id /
     * msi_res_id, App Service principal_id / mi_res_id); at most one */
    const char *msi_object_id;
    const char *msi_res_id;
    /* certificate */
    const char *client_certificate_path;
    const char *client_certificate;    /* base64 PKCS#12 or PEM, secret */
    const char *client_certificate_password; /* secret */
    /* last resorts */
    const char *client_secret;         /* secret */
    bool use_cli;
    /* ConfigureProvider does not sign in (address planning only) */
    bool skip_credentials_validation;
    /* custom clouds and tests: endpoints and a CA bundle to trust */
    const char *resource_manager_endpoint;
    const char *authority_host;
    const char *ca_bundle_path;
    /* policy guardrails */
    const char **allowed_locations;
    size_t n_allowed_locations;
    const char **required_tags;
    size_t n_required_tags;
    /* behaviour: a create whose Key Vault name a soft-deleted vault of this
     * subscription and location holds recovers it (default true) */
    bool recover_soft_deleted_key_vaults;
    /* behaviour: plans evaluate the Azure Policy assignments that apply to
     * what they will PUT (default true) */
    bool policy_plan_checks_enabled;
} zt_provider_config;

/* One configured provider instance (lives for the process). */
typedef struct zt_provider {
    zt_arena *arena;               /* holds config; freed at exit */
    atomic_bool configured;
    /* Incremented by every ConfigureProvider (one per Terraform command, also
     * for a provider kept running): what a command read may be reused
     * within it, not by the next one. */
    atomic_uint generation;
    zt_provider_config config;
    atomic_bool stop_requested;    /* StopProvider was called */
    const char *terraform_version;
    /* The ARM client, created on first use from config (zt_provider_arm). */
    pthread_mutex_t arm_lock;
    struct zt_arm_client *arm;
} zt_provider;

/* The process's provider instance (never freed). */
zt_provider *zt_provider_new(void);

/* The context of one RPC call. */
typedef struct zt_call {
    zt_arena *arena;
    zt_diags *diags;
    zt_provider *provider;
    /* Raised when the call's work must stop: StopProvider, or Terraform
     * cancelled the call or went away. NULL (calls made by tests): the
     * provider's stop_requested alone. */
    atomic_bool *cancel;
} zt_call;

/* The provider's ARM client, created on first use from the configured
 * zt_provider_config (thread-safe; lives as long as the provider). Error
 * diagnostics when the provider is not configured or the configuration
 * lacks a subscription or credentials. */
zt_rc zt_provider_arm(zt_call *c, struct zt_arm_client **out);

/* The flag the call's work watches (ARM requests, sleeps). */
static inline const atomic_bool *zt_call_cancel_flag(const zt_call *c)
{
    return c->cancel ? c->cancel : &c->provider->stop_requested;
}

/* Sign in once, at ConfigureProvider (unless skip_credentials_validation):
 * an error diagnostic that lists every credential source tried when none
 * gives a token, so that a plan fails before anything is applied. */
zt_rc zt_provider_sign_in(zt_call *c);

static inline bool zt_call_cancelled(const zt_call *c)
{
    return atomic_load(&c->provider->stop_requested) || atomic_load(zt_call_cancel_flag(c));
}

/* Parse a provider block value (may contain unknowns when only validating:
 * then unknown attributes are skipped) with ARM_* environment fallbacks. */
zt_rc zt_provider_config_parse(zt_call *c, const zt_cty_value *config, bool validate_only,
                               zt_provider_config *out);

typedef struct zt_datasource_def {
    const char *type_name;
    /* Config may contain unknown values; check what is known. */
    zt_rc (*validate)(zt_call *c, const zt_schema *s, const zt_cty_value *config);
    /* Config is wholly known; *state must be wholly known and non-null. */
    zt_rc (*read)(zt_call *c, const zt_schema *s, const zt_cty_value *config,
                  const zt_cty_value **state);
} zt_datasource_def;

typedef struct zt_function_param {
    const char *name;
    const char *type_json;  /* type-constraint JSON */
    bool allow_null;
    bool allow_unknown;
    const char *description;
} zt_function_param;

typedef struct zt_function_def {
    const char *name;
    const char *summary;
    const char *description; /* Markdown */
    const zt_function_param *params;
    size_t n_params;
    const zt_function_param *variadic; /* NULL if none */
    const char *return_type_json;
    /* On failure: return an error rc, put the message in *err_text and the
     * 0-based argument index in *err_arg (-1 when no argument is to blame). */
    zt_rc (*call)(zt_call *c, size_t n_args, const zt_cty_value *const *args,
                  const zt_cty_value **result, const char **err_text, int64_t *err_arg);
} zt_function_def;

/* NULL-terminated tables (zt_registry.c). */
extern const zt_datasource_def *const zt_datasources[];
extern const zt_function_def *const zt_functions[];

const zt_datasource_def *zt_datasource_find(const char *type_name);
const zt_function_def *zt_function_find(const char *name);

#endif
