/* zt_arm_cred.c - getting a bearer token for ARM (docs/azure-arm.md 3).
 *
 * The chain holds every method the provider block enables, in order of
 * preference: workload identity federation (no secret anywhere), managed
 * identity (no secret in our hands), client certificate (a key, but never
 * sent), client secret (last resort), Azure CLI (developer laptops). The
 * first method that produces a token is kept for later refreshes. A method
 * that is merely unavailable here (no IMDS, no az) hands over to the next;
 * one that gets an answer from Entra (wrong secret, unknown app) stops the
 * chain, because silently switching identity would be worse.
 */
#include "zt_arm_internal.h"
#include "zt_log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_TOKEN_FILE (64 * 1024)
#define ASSERTION_LIFETIME_S 600
#define CRED_ATTEMPTS 4
#define CRED_MAX_WAIT_MS (60 * 1000) /* the longest Retry-After honoured */
#define IMDS_ATTEMPTS 6
#define IMDS_DEFAULT "http://169.254.169.254/metadata/identity/oauth2/token"
#define GITHUB_AUDIENCE "api://AzureADTokenExchange"
#define ASSERTION_TYPE "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

typedef struct zt_arm_cred zt_arm_cred;

typedef struct fetch_out {
    const char *token;
    int64_t expires_on;
    zt_arm_error *err;
    bool unavailable; /* not usable here: try the next method */
} fetch_out;

typedef zt_rc (*source_fn)(zt_arm_cred *c, zt_arena *a, int64_t deadline,
                           const atomic_bool *cancel, fetch_out *out);

typedef struct source {
    zt_arm_cred_kind kind;
    source_fn fetch;
} source;

struct zt_arm_cred {
    zt_arena *arena; /* copies of the settings; secrets wiped with it */
    zt_arm_http *http;
    zt_arm_cloud cloud;
    zt_arm_cred_options opts;
    const char *tenant_id;
    const char *client_id;
    /* workload identity federation */
    const char *oidc_token;
    const char *oidc_token_file;
    const char *oidc_request_url;
    const char *oidc_request_token;
    /* managed identity */
    const char *msi_endpoint;
    const char *identity_endpoint; /* App Service */
    const char *identity_header;
    const char *msi_client_id;
    const char *msi_object_id;
    const char *msi_res_id;
    /* certificate, secret */
    zt_arm_cert *cert;
    const char *client_secret;
    source sources[5];
    size_t n_sources;
    atomic_int pinned; /* index into sources, -1 until one worked */
    atomic_int used_kind;
    zt_arm_token_cache *cache;
};

static bool is_set(const char *s) { return s && *s; }

const char *zt_arm_cred_kind_name(zt_arm_cred_kind k)
{
    switch (k) {
    case ZT_ARM_CRED_OIDC: return "workload identity federation";
    case ZT_ARM_CRED_MSI: return "managed identity";
    case ZT_ARM_CRED_CERT: return "client certificate";
    case ZT_ARM_CRED_SECRET: return "client secret";
    case ZT_ARM_CRED_CLI: return "Azure CLI";
    }
    return "none";
}

/* ------------------------------------------------------------------ */
/* Token responses                                                    */

/* Overwrite the strings jansson holds (tokens) before releasing them. */
static void json_wipe(json_t *v)
{
    if (json_is_string(v)) {
        OPENSSL_cleanse((char *)json_string_value(v), json_string_length(v));
    } else if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x) json_wipe(x);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) json_wipe(x);
    }
}

/* A number that may arrive as a JSON number or a string (IMDS); out of
 * int64 range (or not finite) counts as absent. */
static bool json_int_of(const json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return true;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!(d > -9.2e18 && d < 9.2e18)) /* NaN fails too */
            return false;
        *out = (int64_t)d;
        return true;
    }
    if (json_is_string(v)) {
        char *end;
        errno = 0;
        long long n = strtoll(json_string_value(v), &end, 10);
        if (end != json_string_value(v) && *end == '\0' && errno != ERANGE) {
            *out = (int64_t)n;
            return true;
        }
    }
    return false;
}

/* A token is cached for what the server says, within reason: never past
 * a day (no ARM token lives longer), never with arithmetic that wraps. */
#define TOKEN_MAX_LIFETIME_S (24 * 3600)

static int64_t clamp_expiry(int64_t now_s, int64_t expires_on)
{
    if (expires_on < now_s)
        return now_s;
    return expires_on - now_s > TOKEN_MAX_LIFETIME_S ? now_s + TOKEN_MAX_LIFETIME_S : expires_on;
}

/* az's expiresOn: "2024-06-01 12:34:56.000000", local time. */
static bool parse_local_time(const char *s, int64_t *out)
{
    struct tm tm = {0};
    if (sscanf(s, "%d-%d-%d %d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec) != 6)
        return false;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    tm.tm_isdst = -1;
    time_t t = mktime(&tm);
    if (t == (time_t)-1)
        return false;
    *out = (int64_t)t;
    return true;
}

zt_rc zt_arm_parse_token_response(zt_arena *a, const char *body, size_t len, int64_t now_s,
                                  const char **token, int64_t *expires_on)
{
    json_t *root = json_loadb(body, len, 0, NULL);
    if (!json_is_object(root)) {
        json_decref(root);
        return ZT_ERR_DECODE;
    }
    const json_t *t = json_object_get(root, "access_token");
    if (!json_is_string(t))
        t = json_object_get(root, "accessToken"); /* az */
    zt_rc rc = ZT_ERR_DECODE;
    int64_t v;
    if (json_is_string(t) && json_string_length(t) > 0) {
        *token = zt_arena_secret_strdup(a, json_string_value(t));
        if (json_int_of(json_object_get(root, "expires_on"), &v))
            *expires_on = clamp_expiry(now_s, v);
        else if (json_int_of(json_object_get(root, "expires_in"), &v))
            *expires_on = clamp_expiry(now_s, zt_arm_sat_add(now_s, v));
        else if (json_is_string(json_object_get(root, "expiresOn")) &&
                 parse_local_time(json_string_value(json_object_get(root, "expiresOn")), &v))
            *expires_on = clamp_expiry(now_s, v);
        else
            *expires_on = now_s + 600; /* unknown: assume short, refresh early */
        rc = ZT_OK;
    }
    json_wipe(root);
    json_decref(root);
    return rc;
}

/* ------------------------------------------------------------------ */
/* HTTP with a small retry loop for identity endpoints                */

typedef struct cred_call {
    const char *what;     /* for logs and errors */
    const char *method;
    const char *url;
    const char **headers;
    size_t n_headers;
    const char *body;
    bool imds;            /* IMDS semantics: no proxy, 404/410 retried */
    unsigned attempts;
} cred_call;

static bool cred_status_retryable(long status, bool imds)
{
    if (status == 429 || status == 408 || (status >= 500 && status != 501 && status != 505))
        return true;
    /* IMDS answers 404/410 while the identity is being set up. */
    return imds && (status == 404 || status == 410);
}

/* Runs the call; ZT_OK means an HTTP answer (any status) is in *r. */
static zt_rc cred_http(zt_arm_cred *c, zt_arena *a, const cred_call *call, int64_t deadline,
                       const atomic_bool *cancel, zt_arm_http_resp *r, fetch_out *out)
{
    zt_arm_http_req req = {
        .method = call->method,
        .url = call->url,
        .headers = call->headers,
        .n_headers = call->n_headers,
        .body = call->body,
        .body_len = call->body ? strlen(call->body) : 0,
        .secret_request = true,
        .secret_response = true,
        .no_proxy = call->imds,
        .deadline_ms = deadline,
        /* a missing IMDS should not cost the whole deadline */
        .attempt_timeout_ms = call->imds ? 5000 : 60000,
        .cancel = cancel,
    };
    unsigned attempts = call->attempts ? call->attempts : CRED_ATTEMPTS;
    for (unsigned i = 0;; i++) {
        zt_arm_http_do(c->http, a, &req, r);
        if (zt_log_enabled(ZT_LOG_DEBUG))
            zt_log(ZT_LOG_DEBUG, ZT_ARM_LOG, "identity request", "what", call->what, "method",
                   call->method, "url", zt_arm_redact_url(a, call->url), "status",
                   zt_arena_printf(a, "%ld", r->status), "result", zt_rc_str(r->rc), NULL);
        if (r->rc == ZT_ERR_TIMEOUT || r->rc == ZT_ERR_CANCELLED)
            return r->rc;
        bool again;
        if (r->rc != ZT_OK) {
            /* Nobody listening (IMDS off Azure, endpoint down): unavailable. */
            if (!r->maybe_sent && r->transient && call->imds) {
                out->unavailable = true;
                out->err = zt_arm_error_parse(a, 0, NULL, 0);
                out->err->message = zt_arena_printf(a, "%s: %s", call->what, r->transport_error);
                return ZT_ERR_HTTP;
            }
            again = r->transient;
        } else {
            again = cred_status_retryable(r->status, call->imds);
        }
        if (!again || i + 1 >= attempts) {
            if (r->rc != ZT_OK) {
                out->unavailable = true;
                out->err = zt_arm_error_parse(a, 0, NULL, 0);
                out->err->message = zt_arena_printf(a, "%s: %s", call->what, r->transport_error);
                return r->rc;
            }
            return ZT_OK;
        }
        int64_t wait = r->rc == ZT_OK ? zt_arm_retry_after_ms(r, zt_arm_realtime_s()) : -1;
        if (wait < 0)
            wait = zt_arm_backoff_ms(i, 500, 8000, zt_arm_random_u64());
        if (wait > CRED_MAX_WAIT_MS) /* the identity endpoint's advice, within reason */
            wait = CRED_MAX_WAIT_MS;
        zt_rc rc = zt_arm_sleep(wait, deadline, cancel);
        if (rc != ZT_OK)
            return rc;
    }
}

static zt_rc token_from(zt_arena *a, const char *what, const zt_arm_http_resp *r,
                        fetch_out *out)
{
    if (r->status != 200) {
        out->err = zt_arm_error_parse(a, r->status, r->body, r->body_len);
        if (!*out->err->message)
            out->err->message = zt_arena_printf(a, "%s answered HTTP %ld", what, r->status);
        return ZT_ERR_REMOTE;
    }
    zt_rc rc = zt_arm_parse_token_response(a, r->body, r->body_len, zt_arm_realtime_s(),
                                           &out->token, &out->expires_on);
    if (rc != ZT_OK) {
        out->err = zt_arm_error_parse(a, r->status, NULL, 0);
        out->err->message = zt_arena_printf(a, "%s: no access_token in the response", what);
    }
    return rc;
}

/* ------------------------------------------------------------------ */
/* Entra token endpoint (client credentials grant)                    */

static zt_rc entra_token(zt_arm_cred *c, zt_arena *a, const char *what, const char *credential,
                         int64_t deadline, const atomic_bool *cancel, fetch_out *out)
{
    const char *url = zt_arena_printf(a, "%s/%s/oauth2/v2.0/token", c->cloud.authority_host,
                                      zt_arm_url_encode(a, c->tenant_id));
    const char *body = zt_arena_secret_printf(
        a, "grant_type=client_credentials&client_id=%s&scope=%s&%s",
        zt_arm_url_encode(a, c->client_id), zt_arm_url_encode(a, c->cloud.scope), credential);
    char rid[37];
    zt_arm_uuid4(rid);
    const char *headers[] = {"Content-Type: application/x-www-form-urlencoded",
                             "Accept: application/json",
                             zt_arena_printf(a, "client-request-id: %s", rid)};
    cred_call call = {.what = what, .method = "POST", .url = url, .headers = headers,
                      .n_headers = ZT_ARRAY_LEN(headers), .body = body};
    zt_arm_http_resp r;
    zt_rc rc = cred_http(c, a, &call, deadline, cancel, &r, out);
    if (rc != ZT_OK)
        return rc;
    return token_from(a, what, &r, out);
}

static const char *assertion_form(zt_arena *a, const char *assertion)
{
    return zt_arena_secret_printf(a, "client_assertion_type=%s&client_assertion=%s",
                                  zt_arm_url_encode(a, ASSERTION_TYPE),
                                  zt_arm_url_encode_secret(a, assertion));
}

/* ------------------------------------------------------------------ */
/* Workload identity federation                                       */

static zt_rc github_token(zt_arm_cred *c, zt_arena *a, int64_t deadline,
                          const atomic_bool *cancel, const char **jwt, fetch_out *out)
{
    const char *sep = strchr(c->oidc_request_url, '?') ? "&" : "?";
    const char *url = zt_arena_printf(a, "%s%saudience=%s", c->oidc_request_url, sep,
                                      zt_arm_url_encode(a, GITHUB_AUDIENCE));
    const char *headers[] = {
        zt_arena_secret_printf(a, "Authorization: Bearer %s", c->oidc_request_token),
        "Accept: application/json"};
    cred_call call = {.what = "GitHub Actions OIDC token", .method = "GET", .url = url,
                      .headers = headers, .n_headers = ZT_ARRAY_LEN(headers)};
    zt_arm_http_resp r;
    zt_rc rc = cred_http(c, a, &call, deadline, cancel, &r, out);
    if (rc != ZT_OK)
        return rc;
    if (r.status != 200) {
        out->err = zt_arm_error_parse(a, r.status, r.body, r.body_len);
        out->err->message = zt_arena_printf(
            a, "the GitHub Actions OIDC endpoint answered HTTP %ld (does the job have "
               "\"permissions: id-token: write\"?) %s", r.status, out->err->message);
        return ZT_ERR_REMOTE;
    }
    json_t *root = json_loadb(r.body, r.body_len, 0, NULL);
    const json_t *v = json_object_get(root, "value");
    rc = ZT_ERR_DECODE;
    if (json_is_string(v) && json_string_length(v)) {
        *jwt = zt_arena_secret_strdup(a, json_string_value(v));
        rc = ZT_OK;
    } else {
        out->err = zt_arm_error_parse(a, r.status, NULL, 0);
        out->err->message = "the GitHub Actions OIDC response has no \"value\"";
    }
    json_wipe(root);
    json_decref(root);
    return rc;
}

static zt_rc oidc_fetch(zt_arm_cred *c, zt_arena *a, int64_t deadline, const atomic_bool *cancel,
                        fetch_out *out)
{
    const char *jwt = NULL;
    if (is_set(c->oidc_token)) {
        jwt = c->oidc_token;
    } else if (is_set(c->oidc_token_file)) {
        /* Re-read every time: kubelet rotates the projected token. */
        char *buf;
        size_t len;
        zt_rc rc = zt_arm_read_file(c->oidc_token_file, MAX_TOKEN_FILE, &buf, &len);
        if (rc != ZT_OK) {
            out->err = zt_arm_error_parse(a, 0, NULL, 0);
            out->err->message = zt_arena_printf(a, "cannot read the federated token file %s: %s",
                                                c->oidc_token_file, zt_rc_str(rc));
            return rc;
        }
        jwt = zt_arena_secret_strdup(a, zt_arm_trim(buf));
        zt_arm_free_secret(buf, len);
    } else {
        ZT_TRY(github_token(c, a, deadline, cancel, &jwt, out));
    }
    return entra_token(c, a, "Entra ID token endpoint (federated credential)",
                       assertion_form(a, jwt), deadline, cancel, out);
}

/* ------------------------------------------------------------------ */
/* Managed identity                                                   */

static zt_rc msi_fetch(zt_arm_cred *c, zt_arena *a, int64_t deadline, const atomic_bool *cancel,
                       fetch_out *out)
{
    zt_buf url;
    zt_buf_init(&url, a);
    const char *headers[1];
    cred_call call = {.method = "GET", .headers = headers, .n_headers = 1, .imds = true};
    const char *res = zt_arm_url_encode(a, c->cloud.audience);
    if (!is_set(c->msi_endpoint) && is_set(c->identity_endpoint)) {
        /* App Service, Functions, Container Apps (api-version 2019-08-01) */
        call.what = "App Service identity endpoint";
        zt_buf_printf(&url, "%s%sapi-version=2019-08-01&resource=%s", c->identity_endpoint,
                      strchr(c->identity_endpoint, '?') ? "&" : "?", res);
        if (is_set(c->msi_client_id))
            zt_buf_printf(&url, "&client_id=%s", zt_arm_url_encode(a, c->msi_client_id));
        else if (is_set(c->msi_object_id))
            zt_buf_printf(&url, "&principal_id=%s", zt_arm_url_encode(a, c->msi_object_id));
        else if (is_set(c->msi_res_id))
            zt_buf_printf(&url, "&mi_res_id=%s", zt_arm_url_encode(a, c->msi_res_id));
        headers[0] = zt_arena_secret_printf(a, "X-IDENTITY-HEADER: %s", c->identity_header);
        call.attempts = CRED_ATTEMPTS;
    } else {
        /* VM / VMSS / AKS node: IMDS (api-version 2018-02-01) */
        const char *ep = is_set(c->msi_endpoint) ? c->msi_endpoint : IMDS_DEFAULT;
        call.what = "managed identity endpoint (IMDS)";
        zt_buf_printf(&url, "%s%sapi-version=2018-02-01&resource=%s", ep,
                      strchr(ep, '?') ? "&" : "?", res);
        if (is_set(c->msi_client_id))
            zt_buf_printf(&url, "&client_id=%s", zt_arm_url_encode(a, c->msi_client_id));
        else if (is_set(c->msi_object_id))
            zt_buf_printf(&url, "&object_id=%s", zt_arm_url_encode(a, c->msi_object_id));
        else if (is_set(c->msi_res_id))
            zt_buf_printf(&url, "&msi_res_id=%s", zt_arm_url_encode(a, c->msi_res_id));
        headers[0] = "Metadata: true";
        call.attempts = IMDS_ATTEMPTS;
    }
    call.url = zt_buf_cstr(&url);
    zt_arm_http_resp r;
    zt_rc rc = cred_http(c, a, &call, deadline, cancel, &r, out);
    if (rc != ZT_OK)
        return rc;
    return token_from(a, call.what, &r, out);
}

/* ------------------------------------------------------------------ */
/* Certificate, secret, CLI                                           */

static zt_rc cert_fetch(zt_arm_cred *c, zt_arena *a, int64_t deadline, const atomic_bool *cancel,
                        fetch_out *out)
{
    const char *aud = zt_arena_printf(a, "%s/%s/oauth2/v2.0/token", c->cloud.authority_host,
                                      c->tenant_id);
    const char *jwt;
    zt_rc rc = zt_arm_jwt_assertion(a, c->cert, c->opts.jwt_alg, c->client_id, aud,
                                    zt_arm_realtime_s(), ASSERTION_LIFETIME_S, &jwt);
    if (rc != ZT_OK) {
        out->err = zt_arm_error_parse(a, 0, NULL, 0);
        out->err->message = "cannot sign the client assertion with the certificate's key";
        return rc;
    }
    return entra_token(c, a, "Entra ID token endpoint (client certificate)",
                       assertion_form(a, jwt), deadline, cancel, out);
}

static zt_rc secret_fetch(zt_arm_cred *c, zt_arena *a, int64_t deadline,
                          const atomic_bool *cancel, fetch_out *out)
{
    const char *form =
        zt_arena_secret_printf(a, "client_secret=%s", zt_arm_url_encode_secret(a, c->client_secret));
    return entra_token(c, a, "Entra ID token endpoint (client secret)", form, deadline, cancel,
                       out);
}

static zt_rc cli_fetch(zt_arm_cred *c, zt_arena *a, int64_t deadline, const atomic_bool *cancel,
                       fetch_out *out)
{
    int64_t timeout = c->opts.cli_timeout_ms ? c->opts.cli_timeout_ms : 30000;
    int64_t left = deadline - zt_arm_now_ms();
    if (left < timeout)
        timeout = left;
    zt_rc rc = zt_arm_cli_token(a, c->opts.az_path, c->cloud.audience, c->tenant_id, timeout,
                                cancel, &out->token, &out->expires_on, &out->err);
    if (rc == ZT_ERR_UNSUPPORTED)
        out->unavailable = true;
    return rc;
}

/* ------------------------------------------------------------------ */
/* The chain                                                          */

static zt_rc chain_fetch(void *ctx, zt_arena *a, int64_t deadline, const atomic_bool *cancel,
                         const char **token, int64_t *expires_on, zt_arm_error **err)
{
    zt_arm_cred *c = ctx;
    int pinned = atomic_load(&c->pinned);
    size_t first = pinned >= 0 ? (size_t)pinned : 0;
    size_t last = pinned >= 0 ? (size_t)pinned + 1 : c->n_sources;
    zt_buf why;
    zt_buf_init(&why, a);
    zt_rc rc = ZT_ERR_INVALID;
    for (size_t i = first; i < last; i++) {
        const source *s = &c->sources[i];
        fetch_out out = {0};
        rc = s->fetch(c, a, deadline, cancel, &out);
        if (rc == ZT_OK) {
            if (pinned < 0)
                zt_log(ZT_LOG_INFO, ZT_ARM_LOG, "authenticated to Azure", "method",
                       zt_arm_cred_kind_name(s->kind), NULL);
            atomic_store(&c->pinned, (int)i);
            atomic_store(&c->used_kind, (int)s->kind);
            *token = out.token;
            *expires_on = out.expires_on;
            return ZT_OK;
        }
        const char *msg = out.err ? zt_arm_error_str(a, out.err) : zt_rc_str(rc);
        zt_buf_printf(&why, "%s%s: %s", why.len ? "\n" : "", zt_arm_cred_kind_name(s->kind), msg);
        if (rc == ZT_ERR_TIMEOUT || rc == ZT_ERR_CANCELLED || !out.unavailable) {
            if (err) {
                *err = out.err ? out.err : zt_arm_error_parse(a, 0, NULL, 0);
                (*err)->message = zt_arena_printf(a, "%s: %s", zt_arm_cred_kind_name(s->kind),
                                                  *(*err)->message ? (*err)->message
                                                                   : zt_rc_str(rc));
            }
            return rc;
        }
        zt_log(ZT_LOG_DEBUG, ZT_ARM_LOG, "credential unavailable, trying the next", "method",
               zt_arm_cred_kind_name(s->kind), NULL);
    }
    if (err) {
        *err = zt_arm_error_parse(a, 0, NULL, 0);
        (*err)->code = "CredentialUnavailable";
        (*err)->message = zt_arena_printf(a, "no configured credential could get a token:\n%s",
                                          zt_buf_cstr(&why));
    }
    return rc == ZT_OK ? ZT_ERR_INVALID : rc;
}

zt_rc zt_arm_cred_token(zt_arm_cred *c, zt_arena *a, int64_t deadline_ms,
                        const atomic_bool *cancel, const char **token, zt_arm_error **err)
{
    return zt_arm_token_cache_get(c->cache, a, deadline_ms, cancel, token, err);
}

void zt_arm_cred_invalidate(zt_arm_cred *c, const char *token)
{
    zt_arm_token_cache_invalidate(c->cache, token);
}

zt_arm_cred_kind zt_arm_cred_kind_used(const zt_arm_cred *c)
{
    return (zt_arm_cred_kind)atomic_load(&c->used_kind);
}

unsigned zt_arm_cred_fetches(zt_arm_cred *c)
{
    return zt_arm_token_cache_fetches(c->cache);
}

void zt_arm_cred_free(zt_arm_cred *c)
{
    if (!c)
        return;
    zt_arm_token_cache_free(c->cache);
    zt_arm_cert_free(c->cert);
    zt_arena_free(c->arena);
    free(c);
}

/* ------------------------------------------------------------------ */
/* Construction                                                       */

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return is_set(v) ? v : NULL;
}

static const char *first_set(const char *a, const char *b)
{
    return is_set(a) ? a : is_set(b) ? b : NULL;
}

static zt_rc need_ids(zt_arm_cred *c, zt_diags *d, const char *method)
{
    if (is_set(c->tenant_id) && is_set(c->client_id))
        return ZT_OK;
    return zt_diag_error(d, zt_path_attr(d->arena, NULL, is_set(c->tenant_id) ? "client_id"
                                                                              : "tenant_id"),
                         "Incomplete Azure credentials",
                         "Authenticating with %s needs tenant_id and client_id (or "
                         "ARM_TENANT_ID / ARM_CLIENT_ID).", method);
}

static zt_rc read_client_id(zt_arm_cred *c, const zt_provider_config *cfg, zt_diags *d)
{
    c->client_id = zt_arena_strdup(c->arena, cfg->client_id);
    if (is_set(c->client_id) || !is_set(cfg->client_id_file_path))
        return ZT_OK;
    char *buf;
    size_t len;
    zt_rc rc = zt_arm_read_file(cfg->client_id_file_path, 4096, &buf, &len);
    if (rc != ZT_OK)
        return zt_diag_error(d, zt_path_attr(d->arena, NULL, "client_id_file_path"),
                             "Cannot read the client ID file", "%s: %s",
                             cfg->client_id_file_path, zt_rc_str(rc));
    c->client_id = zt_arena_strdup(c->arena, zt_arm_trim(buf));
    zt_arm_free_secret(buf, len);
    return ZT_OK;
}

static zt_rc add_oidc(zt_arm_cred *c, const zt_provider_config *cfg, zt_diags *d)
{
    zt_arena *a = c->arena;
    /* AKS workload identity's webhook injects AZURE_* for the pod. */
    if (!is_set(c->tenant_id))
        c->tenant_id = zt_arena_strdup(a, env("AZURE_TENANT_ID"));
    if (!is_set(c->client_id))
        c->client_id = zt_arena_strdup(a, env("AZURE_CLIENT_ID"));
    ZT_TRY(need_ids(c, d, "workload identity federation (use_oidc)"));
    c->oidc_token = zt_arena_secret_strdup(a, cfg->oidc_token);
    c->oidc_token_file = zt_arena_strdup(a, first_set(cfg->oidc_token_file_path,
                                                      env("AZURE_FEDERATED_TOKEN_FILE")));
    c->oidc_request_url = zt_arena_strdup(a, first_set(cfg->oidc_request_url,
                                                       env("ACTIONS_ID_TOKEN_REQUEST_URL")));
    c->oidc_request_token = zt_arena_secret_strdup(
        a, first_set(cfg->oidc_request_token, env("ACTIONS_ID_TOKEN_REQUEST_TOKEN")));
    bool github = is_set(c->oidc_request_url) && is_set(c->oidc_request_token);
    if (!is_set(c->oidc_token) && !is_set(c->oidc_token_file) && !github)
        return zt_diag_error(d, zt_path_attr(d->arena, NULL, "use_oidc"),
                             "No federated token available",
                             "use_oidc is set but there is no token: set oidc_token or "
                             "oidc_token_file_path (AZURE_FEDERATED_TOKEN_FILE), or run in "
                             "GitHub Actions with \"permissions: id-token: write\" so that "
                             "ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN "
                             "are set.");
    if (github && !is_set(c->oidc_token) && !is_set(c->oidc_token_file) &&
        strncasecmp(c->oidc_request_url, "https://", 8) != 0)
        return zt_diag_error(d, zt_path_attr(d->arena, NULL, "oidc_request_url"),
                             "Invalid OIDC request URL", "oidc_request_url must be https.");
    c->sources[c->n_sources++] = (source){ZT_ARM_CRED_OIDC, oidc_fetch};
    return ZT_OK;
}

static zt_rc add_msi(zt_arm_cred *c, const zt_provider_config *cfg, zt_diags *d)
{
    zt_arena *a = c->arena;
    c->msi_client_id = c->client_id;
    c->msi_object_id = zt_arena_strdup(a, cfg->msi_object_id);
    c->msi_res_id = zt_arena_strdup(a, cfg->msi_res_id);
    int selectors = is_set(c->msi_client_id) + is_set(c->msi_object_id) + is_set(c->msi_res_id);
    if (selectors > 1)
        return zt_diag_error(d, zt_path_attr(d->arena, NULL, "use_msi"),
                             "Ambiguous managed identity",
                             "Select a user-assigned identity by one of client_id, "
                             "msi_object_id or msi_res_id, not several.");
    c->msi_endpoint = zt_arena_strdup(a, cfg->msi_endpoint);
    c->identity_endpoint = zt_arena_strdup(a, env("IDENTITY_ENDPOINT"));
    c->identity_header = zt_arena_secret_strdup(a, env("IDENTITY_HEADER"));
    if (is_set(c->identity_endpoint) && !is_set(c->identity_header))
        c->identity_endpoint = NULL; /* half an App Service environment: use IMDS */
    c->sources[c->n_sources++] = (source){ZT_ARM_CRED_MSI, msi_fetch};
    return ZT_OK;
}

static zt_rc add_cert(zt_arm_cred *c, const zt_provider_config *cfg, zt_diags *d)
{
    ZT_TRY(need_ids(c, d, "a client certificate"));
    ZT_TRY(zt_arm_cert_load(cfg->client_certificate_path, cfg->client_certificate,
                            cfg->client_certificate_password, d, &c->cert));
    c->sources[c->n_sources++] = (source){ZT_ARM_CRED_CERT, cert_fetch};
    return ZT_OK;
}

static zt_rc add_secret(zt_arm_cred *c, const zt_provider_config *cfg, zt_diags *d)
{
    ZT_TRY(need_ids(c, d, "a client secret"));
    c->client_secret = zt_arena_secret_strdup(c->arena, cfg->client_secret);
    zt_log(ZT_LOG_WARN, ZT_ARM_LOG,
           "authenticating with a client secret; prefer workload identity federation "
           "(use_oidc), a managed identity (use_msi) or a client certificate",
           NULL);
    c->sources[c->n_sources++] = (source){ZT_ARM_CRED_SECRET, secret_fetch};
    return ZT_OK;
}

zt_rc zt_arm_cred_new(const zt_provider_config *cfg, const zt_arm_cloud *cloud,
                      zt_arm_http *http, const zt_arm_cred_options *opts, zt_diags *d,
                      zt_arm_cred **out)
{
    zt_arm_cred *c = calloc(1, sizeof(*c));
    if (!c)
        zt_panic("out of memory");
    c->arena = zt_arena_new();
    c->http = http;
    if (opts)
        c->opts = *opts;
    atomic_init(&c->pinned, -1);
    atomic_init(&c->used_kind, 0);
    zt_arena *a = c->arena;
    c->cloud = (zt_arm_cloud){
        .name = zt_arena_strdup(a, cloud->name),
        .authority_host = zt_arena_strdup(a, cloud->authority_host),
        .resource_manager = zt_arena_strdup(a, cloud->resource_manager),
        .audience = zt_arena_strdup(a, cloud->audience),
        .scope = zt_arena_strdup(a, cloud->scope),
    };
    c->opts.az_path = zt_arena_strdup(a, c->opts.az_path);
    c->tenant_id = zt_arena_strdup(a, cfg->tenant_id);

    zt_rc rc = read_client_id(c, cfg, d);
    if (rc == ZT_OK && cfg->use_oidc)
        rc = add_oidc(c, cfg, d);
    if (rc == ZT_OK && cfg->use_msi)
        rc = add_msi(c, cfg, d);
    if (rc == ZT_OK && (is_set(cfg->client_certificate_path) || is_set(cfg->client_certificate)))
        rc = add_cert(c, cfg, d);
    if (rc == ZT_OK && is_set(cfg->client_secret))
        rc = add_secret(c, cfg, d);
    if (rc == ZT_OK && cfg->use_cli)
        c->sources[c->n_sources++] = (source){ZT_ARM_CRED_CLI, cli_fetch};
    if (rc == ZT_OK && c->n_sources == 0)
        rc = zt_diag_error(d, NULL, "No Azure credentials configured",
                           "The provider looked for use_oidc / ARM_USE_OIDC (workload identity "
                           "federation, recommended for CI), use_msi / ARM_USE_MSI (managed "
                           "identity), client_certificate_path / ARM_CLIENT_CERTIFICATE_PATH "
                           "and client_certificate / ARM_CLIENT_CERTIFICATE, client_secret / "
                           "ARM_CLIENT_SECRET and use_cli / ARM_USE_CLI (Azure CLI, for a "
                           "developer workstation): none is set. Set one of them.");
    if (rc != ZT_OK) {
        zt_arm_cred_free(c);
        return rc;
    }
    c->cache = zt_arm_token_cache_new(chain_fetch, c);
    *out = c;
    return ZT_OK;
}
