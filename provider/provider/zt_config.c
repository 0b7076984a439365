/* zt_config.c - the provider block: values from the configuration, else
 * from the environment variables azurerm users already set (ARM_*, and the
 * variables CI systems and AKS inject), then validation with diagnostics
 * pointing at the attribute. Nothing is used yet: the ARM client picks the
 * credential later; this only makes sure what it will get is well-formed.
 */
#include "zt_provider.h"

#include <ctype.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------------
 * The settings, as data.
 * ------------------------------------------------------------------- */

typedef enum zt_cfg_kind { ZT_CFG_STRING, ZT_CFG_SECRET, ZT_CFG_BOOL } zt_cfg_kind;

typedef enum zt_cfg_id {
    F_SUBSCRIPTION_ID,
    F_TENANT_ID,
    F_CLIENT_ID,
    F_CLIENT_ID_FILE_PATH,
    F_ENVIRONMENT,
    F_USE_OIDC,
    F_OIDC_TOKEN,
    F_OIDC_TOKEN_FILE_PATH,
    F_OIDC_REQUEST_URL,
    F_OIDC_REQUEST_TOKEN,
    F_USE_MSI,
    F_MSI_ENDPOINT,
    F_MSI_OBJECT_ID,
    F_MSI_RES_ID,
    F_CLIENT_CERTIFICATE_PATH,
    F_CLIENT_CERTIFICATE,
    F_CLIENT_CERTIFICATE_PASSWORD,
    F_CLIENT_SECRET,
    F_USE_CLI,
    F_SKIP_CREDENTIALS_VALIDATION,
    F_RESOURCE_MANAGER_ENDPOINT,
    F_AUTHORITY_HOST,
    F_CA_BUNDLE_PATH,
    F_COUNT
} zt_cfg_id;

typedef struct zt_cfg_field {
    const char *attr;
    const char *env[3]; /* fallbacks, first set wins */
    zt_cfg_kind kind;
    size_t offset; /* in zt_provider_config */
} zt_cfg_field;

#define FIELD(id, name, kind, ...) \
    [id] = {#name, {__VA_ARGS__}, kind, offsetof(zt_provider_config, name)}

/* azurerm's names and variables; AZURE_* are what azure-identity and the
 * AKS workload identity webhook use, ACTIONS_* what GitHub Actions sets. */
static const zt_cfg_field zt_cfg_fields[F_COUNT] = {
    FIELD(F_SUBSCRIPTION_ID, subscription_id, ZT_CFG_STRING, "ARM_SUBSCRIPTION_ID"),
    FIELD(F_TENANT_ID, tenant_id, ZT_CFG_STRING, "ARM_TENANT_ID", "AZURE_TENANT_ID"),
    FIELD(F_CLIENT_ID, client_id, ZT_CFG_STRING, "ARM_CLIENT_ID", "AZURE_CLIENT_ID"),
    FIELD(F_CLIENT_ID_FILE_PATH, client_id_file_path, ZT_CFG_STRING, "ARM_CLIENT_ID_FILE_PATH"),
    FIELD(F_ENVIRONMENT, environment, ZT_CFG_STRING, "ARM_ENVIRONMENT"),
    FIELD(F_USE_OIDC, use_oidc, ZT_CFG_BOOL, "ARM_USE_OIDC"),
    FIELD(F_OIDC_TOKEN, oidc_token, ZT_CFG_SECRET, "ARM_OIDC_TOKEN"),
    FIELD(F_OIDC_TOKEN_FILE_PATH, oidc_token_file_path, ZT_CFG_STRING,
              "ARM_OIDC_TOKEN_FILE_PATH", "AZURE_FEDERATED_TOKEN_FILE"),
    FIELD(F_OIDC_REQUEST_URL, oidc_request_url, ZT_CFG_STRING, "ARM_OIDC_REQUEST_URL",
              "ACTIONS_ID_TOKEN_REQUEST_URL"),
    FIELD(F_OIDC_REQUEST_TOKEN, oidc_request_token, ZT_CFG_SECRET, "ARM_OIDC_REQUEST_TOKEN",
              "ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
    FIELD(F_USE_MSI, use_msi, ZT_CFG_BOOL, "ARM_USE_MSI"),
    FIELD(F_MSI_ENDPOINT, msi_endpoint, ZT_CFG_STRING, "ARM_MSI_ENDPOINT"),
    FIELD(F_MSI_OBJECT_ID, msi_object_id, ZT_CFG_STRING, "ARM_MSI_OBJECT_ID"),
    FIELD(F_MSI_RES_ID, msi_res_id, ZT_CFG_STRING, "ARM_MSI_RES_ID"),
    FIELD(F_CLIENT_CERTIFICATE_PATH, client_certificate_path, ZT_CFG_STRING,
              "ARM_CLIENT_CERTIFICATE_PATH"),
    FIELD(F_CLIENT_CERTIFICATE, client_certificate, ZT_CFG_SECRET, "ARM_CLIENT_CERTIFICATE"),
    FIELD(F_CLIENT_CERTIFICATE_PASSWORD, client_certificate_password, ZT_CFG_SECRET,
              "ARM_CLIENT_CERTIFICATE_PASSWORD"),
    FIELD(F_CLIENT_SECRET, client_secret, ZT_CFG_SECRET, "ARM_CLIENT_SECRET"),
    FIELD(F_USE_CLI, use_cli, ZT_CFG_BOOL, "ARM_USE_CLI"),
    FIELD(F_SKIP_CREDENTIALS_VALIDATION, skip_credentials_validation, ZT_CFG_BOOL,
          "ARM_SKIP_CREDENTIALS_VALIDATION"),
    FIELD(F_RESOURCE_MANAGER_ENDPOINT, resource_manager_endpoint, ZT_CFG_STRING,
              "ARM_RESOURCE_MANAGER_ENDPOINT"),
    FIELD(F_AUTHORITY_HOST, authority_host, ZT_CFG_STRING, "ARM_AUTHORITY_HOST",
              "AZURE_AUTHORITY_HOST"),
    FIELD(F_CA_BUNDLE_PATH, ca_bundle_path, ZT_CFG_STRING, "ARM_CA_BUNDLE_PATH"),
};

/* The Azure clouds by azurerm's names (endpoints: docs/azure-arm.md
 * section 3, resolved by the ARM client). */
static const char *const zt_clouds[] = {"public", "usgovernment", "china", "custom"};

/* platform-design.md: the four tags every resource carries. */
static const char *const zt_default_required_tags[] = {"environment", "project", "owner",
                                                       "cost-centre"};

/* ---------------------------------------------------------------------
 * Parse context.
 * ------------------------------------------------------------------- */

typedef enum zt_cfg_source { SRC_UNSET = 0, SRC_CONFIG, SRC_ENV, SRC_UNKNOWN } zt_cfg_source;

typedef struct zt_cfg_ctx {
    zt_call *c;
    bool validate_only;
    zt_provider_config *out;
    zt_cfg_source source[F_COUNT];
    const char *env_name[F_COUNT]; /* the variable a value came from */
} zt_cfg_ctx;

static const char **str_slot(zt_cfg_ctx *x, zt_cfg_id id)
{
    return (const char **)((char *)x->out + zt_cfg_fields[id].offset);
}

static bool *bool_slot(zt_cfg_ctx *x, zt_cfg_id id)
{
    return (bool *)((char *)x->out + zt_cfg_fields[id].offset);
}

static const zt_path *attr_path(zt_cfg_ctx *x, zt_cfg_id id)
{
    return zt_path_attr(x->c->arena, NULL, zt_cfg_fields[id].attr);
}

/* " (from ARM_TENANT_ID)" for values taken from the environment, so the
 * user knows the configuration is not where to look. */
static const char *origin(zt_cfg_ctx *x, zt_cfg_id id)
{
    if (x->source[id] != SRC_ENV)
        return "";
    return zt_arena_printf(x->c->arena, " (from the environment variable %s)", x->env_name[id]);
}

static bool is_set(const zt_cfg_ctx *x, zt_cfg_id id)
{
    return x->source[id] == SRC_CONFIG || x->source[id] == SRC_ENV;
}

static bool is_unknown(const zt_cfg_ctx *x, zt_cfg_id id) { return x->source[id] == SRC_UNKNOWN; }

static void unset(zt_cfg_ctx *x, zt_cfg_id id)
{
    if (zt_cfg_fields[id].kind == ZT_CFG_BOOL)
        *bool_slot(x, id) = false;
    else
        *str_slot(x, id) = NULL;
    x->source[id] = SRC_UNSET;
}

/* ---------------------------------------------------------------------
 * Reading values.
 * ------------------------------------------------------------------- */

static void store_string(zt_cfg_ctx *x, zt_cfg_id id, const char *s)
{
    zt_arena *a = x->c->arena;
    *str_slot(x, id) = zt_cfg_fields[id].kind == ZT_CFG_SECRET ? zt_arena_secret_strdup(a, s)
                                                               : zt_arena_strdup(a, s);
}

/* strconv.ParseBool, as azurerm reads its boolean variables. */
static bool parse_env_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"1", "t", "T", "true", "TRUE", "True"};
    static const char *const no[] = {"0", "f", "F", "false", "FALSE", "False"};
    for (size_t i = 0; i < ZT_ARRAY_LEN(yes); i++) {
        if (strcmp(s, yes[i]) == 0)
            return *out = true, true;
        if (strcmp(s, no[i]) == 0)
            return *out = false, true;
    }
    return false;
}

static void read_env(zt_cfg_ctx *x, zt_cfg_id id)
{
    const zt_cfg_field *f = &zt_cfg_fields[id];
    for (size_t i = 0; i < ZT_ARRAY_LEN(f->env) && f->env[i]; i++) {
        const char *v = getenv(f->env[i]);
        if (!v || !*v)
            continue;
        x->source[id] = SRC_ENV;
        x->env_name[id] = f->env[i];
        if (f->kind != ZT_CFG_BOOL) {
            store_string(x, id, v);
        } else if (!parse_env_bool(v, bool_slot(x, id))) {
            zt_diag_error(x->c->diags, attr_path(x, id), "Invalid boolean in the environment",
                          "The environment variable %s is \"%s\"; use true or false.", f->env[i],
                          v);
            x->source[id] = SRC_UNSET;
        }
        return;
    }
}

static bool check_type(zt_cfg_ctx *x, zt_cfg_id id, const zt_cty_value *v, zt_cty_kind want)
{
    if (v->type->kind == want)
        return true;
    zt_diag_error(x->c->diags, attr_path(x, id), "Unexpected value type",
                  "%s has type %s, which the provider schema does not allow.",
                  zt_cfg_fields[id].attr, zt_cty_type_friendly(x->c->arena, v->type));
    return false;
}

/* An unknown value: fine while validating (it is checked once known),
 * but the provider cannot be configured with it. */
static bool check_known(zt_cfg_ctx *x, const zt_path *p, const char *name, const zt_cty_value *v)
{
    if (zt_cty_is_known(v))
        return true;
    if (!x->validate_only)
        zt_diag_error(x->c->diags, p, "Provider setting not known",
                      "The value of %s is only known after apply, but the provider needs it to "
                      "be configured. Use a value known at plan time.", name);
    return false;
}

/* Configuration first (an empty string counts as unset, as in azurerm),
 * then the environment. */
static void read_field(zt_cfg_ctx *x, const zt_cty_value *config, zt_cfg_id id)
{
    const zt_cfg_field *f = &zt_cfg_fields[id];
    const zt_cty_value *v = config ? zt_cty_get_attr(config, f->attr) : NULL;
    if (v && !check_known(x, attr_path(x, id), f->attr, v)) {
        x->source[id] = SRC_UNKNOWN;
        return;
    }
    if (v && !v->is_null) {
        if (f->kind == ZT_CFG_BOOL && check_type(x, id, v, ZT_CTY_BOOL)) {
            *bool_slot(x, id) = v->u.b;
            x->source[id] = SRC_CONFIG;
            return;
        }
        if (f->kind != ZT_CFG_BOOL && check_type(x, id, v, ZT_CTY_STRING) && v->u.str.len > 0) {
            store_string(x, id, v->u.str.ptr);
            x->source[id] = SRC_CONFIG;
            return;
        }
    }
    read_env(x, id);
}

/* A list(string) setting; NULL list = unset. Unknown elements are skipped
 * while validating. */
static bool read_string_list(zt_cfg_ctx *x, const zt_cty_value *config, const char *name,
                             const char ***items, size_t *n)
{
    const zt_cty_value *v = config ? zt_cty_get_attr(config, name) : NULL;
    const zt_path *p = zt_path_attr(x->c->arena, NULL, name);
    *items = NULL;
    *n = 0;
    if (!v || !check_known(x, p, name, v) || v->is_null)
        return false;
    const char **out = zt_arena_calloc(x->c->arena, v->u.coll.n + 1, sizeof(*out));
    size_t k = 0;
    for (size_t i = 0; i < v->u.coll.n; i++) {
        const zt_cty_value *e = v->u.coll.elems[i];
        const zt_path *ep = zt_path_index(x->c->arena, p, (int64_t)i);
        if (!check_known(x, ep, zt_path_str(x->c->arena, ep), e))
            continue;
        if (e->is_null || e->type->kind != ZT_CTY_STRING) {
            zt_diag_error(x->c->diags, ep, "Invalid list element",
                          "%s must contain strings, not null.", name);
            continue;
        }
        out[k++] = zt_arena_strdup(x->c->arena, e->u.str.ptr);
    }
    *items = out;
    *n = k;
    return true;
}

/* ---------------------------------------------------------------------
 * Validation.
 * ------------------------------------------------------------------- */

static bool is_uuid(const char *s)
{
    static const int dashes[] = {8, 13, 18, 23};
    if (strlen(s) != 36)
        return false;
    for (int i = 0, k = 0; i < 36; i++) {
        if (k < 4 && i == dashes[k]) {
            if (s[i] != '-')
                return false;
            k++;
        } else if (!isxdigit((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}

static void check_uuid(zt_cfg_ctx *x, zt_cfg_id id)
{
    const char *v = *str_slot(x, id);
    if (is_set(x, id) && !is_uuid(v))
        zt_diag_error(x->c->diags, attr_path(x, id), "Invalid UUID",
                      "%s \"%s\"%s is not a UUID such as 00000000-0000-0000-0000-000000000000.",
                      zt_cfg_fields[id].attr, v, origin(x, id));
}

/* Canonical lower-case spelling (azurerm compares without case); unset
 * means public. Endpoints stay unset unless configured: the ARM client
 * knows each cloud's defaults and treats a set endpoint as an override. */
static void check_environment(zt_cfg_ctx *x)
{
    const char **env = str_slot(x, F_ENVIRONMENT);
    if (is_unknown(x, F_ENVIRONMENT))
        return;
    if (!is_set(x, F_ENVIRONMENT)) {
        *env = "public";
        return;
    }
    for (size_t i = 0; i < ZT_ARRAY_LEN(zt_clouds); i++)
        if (strcasecmp(*env, zt_clouds[i]) == 0) {
            *env = zt_clouds[i];
            return;
        }
    zt_diag_error(x->c->diags, attr_path(x, F_ENVIRONMENT), "Invalid environment",
                  "\"%s\"%s is not an Azure environment: use public, usgovernment, china, or "
                  "custom (with resource_manager_endpoint and authority_host).",
                  *env, origin(x, F_ENVIRONMENT));
}

static void check_custom_cloud(zt_cfg_ctx *x)
{
    const char *env = *str_slot(x, F_ENVIRONMENT);
    static const zt_cfg_id needed[] = {F_RESOURCE_MANAGER_ENDPOINT, F_AUTHORITY_HOST};
    if (!env || strcmp(env, "custom") != 0)
        return;
    for (size_t i = 0; i < ZT_ARRAY_LEN(needed); i++)
        if (!is_set(x, needed[i]) && !is_unknown(x, needed[i]))
            zt_diag_error(x->c->diags, attr_path(x, needed[i]), "Missing endpoint",
                          "environment = \"custom\" has no built-in endpoints: set %s.",
                          zt_cfg_fields[needed[i]].attr);
}

/* Split an absolute http(s) URL; returns the host (arena copy) or NULL. */
static const char *url_host(zt_arena *a, const char *url, bool *https)
{
    size_t skip;
    if (strncasecmp(url, "https://", 8) == 0)
        *https = true, skip = 8;
    else if (strncasecmp(url, "http://", 7) == 0)
        *https = false, skip = 7;
    else
        return NULL;
    for (const char *p = url; *p; p++)
        if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
            return NULL;
    const char *h = url + skip;
    size_t n = strcspn(h, "/?#");
    if (memchr(h, '@', n)) /* credentials in a URL end up in logs */
        return NULL;
    size_t hn = h[0] == '[' ? strcspn(h, "]") + 1 : strcspn(h, ":/?#");
    if (hn == 0 || hn > n)
        return NULL;
    return zt_arena_strndup(a, h, hn);
}

static bool is_local_host(const char *host)
{
    static const char *const local[] = {"localhost", "127.0.0.1", "[::1]", "169.254.169.254"};
    for (size_t i = 0; i < ZT_ARRAY_LEN(local); i++)
        if (strcasecmp(host, local[i]) == 0)
            return true;
    return false;
}

/* Tokens travel over these URLs: https only, except that managed identity
 * endpoints are plain http on the machine itself by design. */
static void check_url(zt_cfg_ctx *x, zt_cfg_id id, bool allow_local_http)
{
    const char *v = *str_slot(x, id);
    if (!is_set(x, id))
        return;
    bool https;
    const char *host = url_host(x->c->arena, v, &https);
    if (!host)
        zt_diag_error(x->c->diags, attr_path(x, id), "Invalid URL",
                      "%s \"%s\"%s is not an absolute https URL such as https://host/path "
                      "(without user name or password).", zt_cfg_fields[id].attr, v, origin(x, id));
    else if (!https && !(allow_local_http && is_local_host(host)))
        zt_diag_error(x->c->diags, attr_path(x, id), "Insecure URL",
                      "%s \"%s\"%s must use https: credentials and tokens are sent to it.%s",
                      zt_cfg_fields[id].attr, v, origin(x, id),
                      allow_local_http ? " Plain http is accepted only for localhost, "
                                         "127.0.0.1, [::1] and 169.254.169.254."
                                       : "");
}

/* Files are read when a credential is first needed; at configure time
 * they must at least exist, so the error names the setting. While
 * validating, the file may well be created later in the pipeline. */
static void check_file(zt_cfg_ctx *x, zt_cfg_id id)
{
    const char *path = *str_slot(x, id);
    struct stat st;
    if (x->validate_only || !is_set(x, id))
        return;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        zt_diag_error(x->c->diags, attr_path(x, id), "File not found",
                      "%s \"%s\"%s is not a regular file.", zt_cfg_fields[id].attr, path,
                      origin(x, id));
    else if (access(path, R_OK) != 0)
        zt_diag_error(x->c->diags, attr_path(x, id), "File not readable",
                      "%s \"%s\"%s cannot be read by the provider.", zt_cfg_fields[id].attr, path,
                      origin(x, id));
}

/* Two settings that say the same thing differently. A configured value
 * beats one from the environment (the configuration is more specific;
 * e.g. AKS injects AZURE_FEDERATED_TOKEN_FILE into every pod); two at the
 * same level are ambiguous. */
static void check_conflict(zt_cfg_ctx *x, zt_cfg_id first, zt_cfg_id second, const char *why)
{
    bool both = is_set(x, first) && is_set(x, second);
    if (both && zt_cfg_fields[first].kind == ZT_CFG_BOOL)
        both = *bool_slot(x, first) && *bool_slot(x, second);
    if (!both)
        return;
    if (x->source[first] != x->source[second]) {
        unset(x, x->source[first] == SRC_ENV ? first : second);
        return;
    }
    zt_diag_error(x->c->diags, attr_path(x, second), "Conflicting provider settings",
                  "%s%s and %s%s are both set: %s", zt_cfg_fields[first].attr, origin(x, first),
                  zt_cfg_fields[second].attr, origin(x, second), why);
}

static void check_conflicts(zt_cfg_ctx *x)
{
    check_conflict(x, F_CLIENT_ID, F_CLIENT_ID_FILE_PATH, "set the client ID one way only.");
    check_conflict(x, F_OIDC_TOKEN, F_OIDC_TOKEN_FILE_PATH, "give the ID token one way only.");
    check_conflict(x, F_CLIENT_CERTIFICATE, F_CLIENT_CERTIFICATE_PATH,
                   "give the certificate one way only.");
    check_conflict(x, F_USE_OIDC, F_USE_MSI,
                   "choose one keyless method (the provider would only ever use one).");
    check_conflict(x, F_CLIENT_CERTIFICATE, F_CLIENT_SECRET,
                   "a certificate and a secret for the same application; keep the certificate "
                   "and remove the secret.");
    check_conflict(x, F_CLIENT_CERTIFICATE_PATH, F_CLIENT_SECRET,
                   "a certificate and a secret for the same application; keep the certificate "
                   "and remove the secret.");
}

/* A user-assigned identity is chosen by one of client_id, msi_object_id
 * (its principal ID) or msi_res_id (its ARM resource ID). */
static void check_msi_selector(zt_cfg_ctx *x)
{
    static const char marker[] = "/providers/microsoft.managedidentity/userassignedidentities/";
    const char *res = *str_slot(x, F_MSI_RES_ID);
    check_uuid(x, F_MSI_OBJECT_ID);
    if (is_set(x, F_MSI_RES_ID) &&
        (strncasecmp(res, "/subscriptions/", 15) != 0 || !strcasestr(res, marker)))
        zt_diag_error(x->c->diags, attr_path(x, F_MSI_RES_ID), "Invalid identity resource ID",
                      "msi_res_id \"%s\"%s is not the ARM ID of a user-assigned identity, "
                      "/subscriptions/<id>/resourceGroups/<group>/providers/"
                      "Microsoft.ManagedIdentity/userAssignedIdentities/<name>.", res,
                      origin(x, F_MSI_RES_ID));
    check_conflict(x, F_MSI_OBJECT_ID, F_MSI_RES_ID, "choose the managed identity one way only.");
    if (is_set(x, F_USE_MSI) && x->out->use_msi) {
        check_conflict(x, F_CLIENT_ID, F_MSI_OBJECT_ID,
                       "choose the managed identity one way only.");
        check_conflict(x, F_CLIENT_ID, F_MSI_RES_ID, "choose the managed identity one way only.");
    }
}

/* use_oidc without any way to get an ID token can only fail later, with
 * a less precise message. */
static void check_oidc_source(zt_cfg_ctx *x)
{
    if (x->validate_only || !is_set(x, F_USE_OIDC) || !x->out->use_oidc)
        return;
    bool request = is_set(x, F_OIDC_REQUEST_URL) && is_set(x, F_OIDC_REQUEST_TOKEN);
    if (is_set(x, F_OIDC_TOKEN) || is_set(x, F_OIDC_TOKEN_FILE_PATH) || request)
        return;
    zt_diag_error(x->c->diags, attr_path(x, F_USE_OIDC), "No ID token for OIDC",
                  "use_oidc is true but there is no ID token to exchange: set oidc_token, "
                  "oidc_token_file_path, or oidc_request_url and oidc_request_token. In GitHub "
                  "Actions, give the job `permissions: id-token: write` so that "
                  "ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are set.");
}

/* Base64 PKCS#12 or PEM text. */
static void check_certificate_text(zt_cfg_ctx *x)
{
    const char *v = *str_slot(x, F_CLIENT_CERTIFICATE);
    if (!is_set(x, F_CLIENT_CERTIFICATE) || strncmp(v, "-----BEGIN ", 11) == 0)
        return;
    for (const char *p = v; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("+/=\r\n", *p)) {
            zt_diag_error(x->c->diags, attr_path(x, F_CLIENT_CERTIFICATE), "Invalid certificate",
                          "client_certificate%s must be base64-encoded PKCS#12 or PEM text "
                          "(the value is not shown because it is sensitive).",
                          origin(x, F_CLIENT_CERTIFICATE));
            return;
        }
}

static void check_password_use(zt_cfg_ctx *x)
{
    if (x->source[F_CLIENT_CERTIFICATE_PASSWORD] == SRC_CONFIG &&
        !is_set(x, F_CLIENT_CERTIFICATE) && !is_set(x, F_CLIENT_CERTIFICATE_PATH) &&
        !is_unknown(x, F_CLIENT_CERTIFICATE) && !is_unknown(x, F_CLIENT_CERTIFICATE_PATH))
        zt_diag_warning(x->c->diags, attr_path(x, F_CLIENT_CERTIFICATE_PASSWORD),
                        "Certificate password without a certificate",
                        "client_certificate_password has no effect unless client_certificate or "
                        "client_certificate_path is set.");
}

/* Azure locations by their programmatic names: "westeurope", not
 * "West Europe". */
static void check_locations(zt_cfg_ctx *x)
{
    zt_provider_config *o = x->out;
    const zt_path *p = zt_path_attr(x->c->arena, NULL, "allowed_locations");
    for (size_t i = 0; i < o->n_allowed_locations; i++) {
        const char *loc = o->allowed_locations[i];
        const zt_path *ep = zt_path_index(x->c->arena, p, (int64_t)i);
        bool ok = *loc != '\0';
        for (const char *c = loc; *c; c++)
            ok &= (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9');
        if (!ok) {
            zt_diag_error(x->c->diags, ep, "Invalid location",
                          "\"%s\" is not an Azure location name: use the programmatic name in "
                          "lower case without spaces, e.g. \"westeurope\" (see `az account "
                          "list-locations -o table`).", loc);
            continue;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(loc, o->allowed_locations[j]) == 0) {
                zt_diag_error(x->c->diags, ep, "Duplicate location",
                              "\"%s\" is listed twice in allowed_locations.", loc);
                break;
            }
    }
}

/* Azure tag names: at most 512 characters, none of < > % & \ ? /, and
 * compared without regard to case. */
static void check_tags(zt_cfg_ctx *x)
{
    zt_provider_config *o = x->out;
    const zt_path *p = zt_path_attr(x->c->arena, NULL, "required_tags");
    for (size_t i = 0; i < o->n_required_tags; i++) {
        const char *tag = o->required_tags[i];
        const zt_path *ep = zt_path_index(x->c->arena, p, (int64_t)i);
        if (!*tag || strlen(tag) > 512 || strpbrk(tag, "<>%&\\?/")) {
            zt_diag_error(x->c->diags, ep, "Invalid tag name",
                          "\"%s\" is not a valid Azure tag name: use 1 to 512 characters "
                          "without < > %% & \\ ? /.", tag);
            continue;
        }
        for (size_t j = 0; j < i; j++)
            if (strcasecmp(tag, o->required_tags[j]) == 0) {
                zt_diag_error(x->c->diags, ep, "Duplicate tag name",
                              "\"%s\" is listed twice in required_tags (Azure tag names are "
                              "not case-sensitive).", tag);
                break;
            }
    }
}

static void read_guardrails(zt_cfg_ctx *x, const zt_cty_value *config)
{
    zt_provider_config *o = x->out;
    read_string_list(x, config, "allowed_locations", &o->allowed_locations,
                     &o->n_allowed_locations);
    const zt_cty_value *tags = config ? zt_cty_get_attr(config, "required_tags") : NULL;
    if (!read_string_list(x, config, "required_tags", &o->required_tags, &o->n_required_tags) &&
        !(tags && !zt_cty_is_known(tags))) {
        o->required_tags = zt_arena_calloc(x->c->arena, ZT_ARRAY_LEN(zt_default_required_tags),
                                           sizeof(char *));
        for (size_t i = 0; i < ZT_ARRAY_LEN(zt_default_required_tags); i++)
            o->required_tags[i] = zt_default_required_tags[i];
        o->n_required_tags = ZT_ARRAY_LEN(zt_default_required_tags);
    }
}

/* ---------------------------------------------------------------------
 * Entry point.
 * ------------------------------------------------------------------- */

/* azurerm's features.key_vault.recover_soft_deleted_key_vaults, default
 * true: unset (or unknown while validating) recovers. */
static bool read_switch(zt_cfg_ctx *x, const zt_cty_value *config, const char *name)
{
    const zt_cty_value *v = config ? zt_cty_get_attr(config, name) : NULL;
    if (v && check_known(x, zt_path_attr(x->c->arena, NULL, name), name, v) && !v->is_null &&
        v->type->kind == ZT_CTY_BOOL)
        return v->u.b;
    return true;
}

static void read_recovery(zt_cfg_ctx *x, const zt_cty_value *config)
{
    x->out->recover_soft_deleted_key_vaults =
        read_switch(x, config, "recover_soft_deleted_key_vaults");
}

/* Plans read and evaluate the policy assignments of what they PUT,
 * default true (zt_comp_policy.c). */
static void read_policy_checks(zt_cfg_ctx *x, const zt_cty_value *config)
{
    x->out->policy_plan_checks_enabled = read_switch(x, config, "policy_plan_checks_enabled");
}

zt_rc zt_provider_config_parse(zt_call *c, const zt_cty_value *config, bool validate_only,
                               zt_provider_config *out)
{
    zt_cfg_ctx x = {.c = c, .validate_only = validate_only, .out = out};
    size_t errors_before = c->diags->errors;
    memset(out, 0, sizeof(*out));
    if (config && !zt_cty_is_known(config)) {
        /* The whole block is unknown (e.g. it comes from a module output). */
        if (validate_only)
            return ZT_OK;
        return zt_diag_error(c->diags, NULL, "Provider configuration not known",
                             "The provider configuration is only known after apply, but the "
                             "provider needs it to be configured.");
    }
    if (config && config->is_null)
        config = NULL;
    for (int id = 0; id < F_COUNT; id++)
        read_field(&x, config, (zt_cfg_id)id);
    read_guardrails(&x, config);
    read_recovery(&x, config);
    read_policy_checks(&x, config);

    check_uuid(&x, F_SUBSCRIPTION_ID);
    check_uuid(&x, F_TENANT_ID);
    check_uuid(&x, F_CLIENT_ID);
    check_environment(&x);
    check_custom_cloud(&x);
    check_url(&x, F_RESOURCE_MANAGER_ENDPOINT, false);
    check_url(&x, F_AUTHORITY_HOST, false);
    check_url(&x, F_OIDC_REQUEST_URL, false);
    check_url(&x, F_MSI_ENDPOINT, true);
    check_conflicts(&x);
    check_msi_selector(&x);
    check_oidc_source(&x);
    check_certificate_text(&x);
    check_password_use(&x);
    check_file(&x, F_CLIENT_ID_FILE_PATH);
    check_file(&x, F_OIDC_TOKEN_FILE_PATH);
    check_file(&x, F_CLIENT_CERTIFICATE_PATH);
    check_file(&x, F_CA_BUNDLE_PATH);
    check_locations(&x);
    check_tags(&x);
    return c->diags->errors > errors_before ? ZT_ERR_INVALID : ZT_OK;
}
