/* Integration tests of the ARM client against the local ARM emulator
 * (tests/emulator), over TLS with the emulator's test CA: every credential
 * flow, every fault kind, long-running operations, cancellation,
 * serialization and throttling.
 *
 * Run through tests/arm/run_with_emulator.py, which starts the emulator and
 * names its emulator.json in ZT_EMULATOR_JSON. The emulator's control API
 * (/__emulator/...) resets state and injects faults between tests.
 */
#include "zt_arm_internal.h"
#include "zt_log.h"

#include "zt_test.h"

#include <check.h>
#include "zt_test_emulator.h"
#include <curl/curl.h>
#include <fcntl.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define GITHUB_ISSUER "https://token.actions.githubusercontent.com"

static json_t *g_info;
static const char *g_url, *g_ca, *g_tenant, *g_sub, *g_client, *g_secret;
static const char *g_http_url, *g_gh_url, *g_gh_token, *g_id_header, *g_id_endpoint;
static char g_dir[] = "/tmp/zt-arm-it-XXXXXX";

/* ------------------------------------------------------------------ */
/* Emulator info and control API                                      */

static zt_test_emulator g_emu;

static void load_info(void)
{
    zt_test_emulator_load(&g_emu);
    g_info = g_emu.info;
    g_url = g_emu.url;
    g_ca = g_emu.ca;
    g_tenant = g_emu.tenant;
    g_sub = g_emu.sub;
    g_client = g_emu.client;
    g_secret = g_emu.secret;
    g_http_url = zt_test_emulator_str(g_info, "http_url");
    g_id_endpoint = zt_test_emulator_str(g_info, "identity_endpoint");
    g_id_header = zt_test_emulator_str(g_info, "identity_header");
    const json_t *gh = json_object_get(g_info, "github_oidc");
    g_gh_url = zt_test_emulator_str(gh, "request_url");
    g_gh_token = zt_test_emulator_str(gh, "request_token");
}

/* A control API call; the parsed answer (caller decrefs), asserting 2xx. */
#define ctl(method, path, ...) zt_test_emulator_ctlf(&g_emu, method, path, __VA_ARGS__)
/* The same, answer dropped. */
#define ctl0(method, path, ...) json_decref(ctl(method, path, __VA_ARGS__))
/* Inject a fault (tests/emulator/README.md, Faults). */
#define fault(...) ctl0("POST", "/faults", __VA_ARGS__)

/* ------------------------------------------------------------------ */
/* Clients and requests                                               */

static zt_provider_config base_cfg(void)
{
    return (zt_provider_config){
        .tenant_id = g_tenant,
        .subscription_id = g_sub,
        .resource_manager_endpoint = g_url,
        .authority_host = g_url,
        .ca_bundle_path = g_ca,
    };
}

static zt_provider_config secret_cfg(void)
{
    zt_provider_config c = base_cfg();
    c.client_id = g_client;
    c.client_secret = g_secret;
    return c;
}

/* Test timings: fast retries and polls (the emulator runs at 1/1000). */
static zt_arm_client_options fast_opts(const zt_provider_config *cfg)
{
    return (zt_arm_client_options){
        .config = cfg,
        .terraform_version = "1.9.8",
        .default_timeout_ms = 60000,
        .retry_base_ms = 50,
        .retry_cap_ms = 1000,
        .poll_interval_ms = 100,
        .min_poll_interval_ms = 10, /* the emulator runs at 1/1000 */
    };
}

static zt_arm_client *client_opts(const zt_arm_client_options *o)
{
    zt_arena *a = zt_arena_new();
    zt_diags d;
    zt_diags_init(&d, a);
    zt_arm_client *c = NULL;
    zt_rc rc = zt_arm_client_new(o, &d, &c);
    ck_assert_msg(rc == ZT_OK, "client: %s: %s", d.head ? d.head->summary : "?",
                  d.head ? d.head->detail : "");
    zt_arena_free(a);
    return c;
}

static zt_arm_client *client_cfg(const zt_provider_config *cfg)
{
    zt_arm_client_options o = fast_opts(cfg);
    return client_opts(&o);
}

static const char *rg_id(zt_arena *a)
{
    return zt_arena_printf(a, "/subscriptions/%s/resourceGroups/rg-it", g_sub);
}

static const char *vnet_id(zt_arena *a, const char *name)
{
    return zt_arena_printf(a, "%s/providers/Microsoft.Network/virtualNetworks/%s", rg_id(a), name);
}

#define VNET_BODY "{\"location\":\"westeurope\",\"properties\":{\"addressSpace\":{\"addressPrefixes\":[\"10.0.0.0/16\"]}}}"

static zt_rc arm_req(zt_arm_client *c, zt_arena *a, zt_arm_req req, const char *body,
                     zt_arm_resp *resp)
{
    json_t *j = NULL;
    if (body) {
        json_error_t je;
        j = json_loads(body, 0, &je);
        ck_assert_msg(j != NULL, "test body: %s", je.text);
        req.body = j;
    }
    if (!req.deadline_ms)
        req.deadline_ms = zt_arm_deadline_in(60000);
    zt_rc rc = zt_arm_do(c, a, &req, resp);
    json_decref(j);
    return rc;
}

static zt_rc arm(zt_arm_client *c, zt_arena *a, zt_arm_method m, const char *path,
                 const char *body, zt_arm_resp *resp)
{
    return arm_req(c, a, (zt_arm_req){.method = m, .path = path}, body, resp);
}

static const char *why(zt_arena *a, zt_rc rc, const zt_arm_resp *r)
{
    return zt_arena_printf(a, "%s: status %ld, %s", zt_rc_str(rc), r->status,
                           r->error ? zt_arm_error_str(a, r->error) : "no error");
}

#define ASSERT_RC(rc, want, a, resp) \
    ck_assert_msg((rc) == (want), "want %s, got %s", zt_rc_str(want), why(a, rc, resp))

static void create_rg(void)
{
    zt_provider_config cfg = secret_cfg();
    zt_arm_client *c = client_cfg(&cfg);
    zt_arena *a = zt_arena_new();
    zt_arm_resp r;
    zt_rc rc = arm(c, a, ZT_ARM_PUT, rg_id(a), "{\"location\":\"westeurope\"}", &r);
    ASSERT_RC(rc, ZT_OK, a, &r);
    zt_arena_free(a);
    zt_arm_client_free(c);
}

static void setup(void)
{
    ctl0("POST", "/reset", NULL);
    ctl0("POST", "/config", "{\"time_scale\":0.001,\"token_lifetime\":3600}");
    ctl0("POST", "/throttling", "{\"enabled\":false,\"reads\":{\"capacity\":250,\"refill_per_second\":25}}");
    unsetenv("ACTIONS_ID_TOKEN_REQUEST_URL");
    unsetenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN");
    unsetenv("AZURE_FEDERATED_TOKEN_FILE");
    unsetenv("IDENTITY_ENDPOINT");
    unsetenv("IDENTITY_HEADER");
    unsetenv("AZURE_AUTHORITY_HOST");
    create_rg();
}

/* A GET of the resource group with a fresh client for cfg/opts. */
static zt_rc probe(zt_arm_client *c, zt_arena *a, zt_arm_resp *r)
{
    return arm(c, a, ZT_ARM_GET, rg_id(a), NULL, r);
}

static const char *write_file(const char *name, const void *data, size_t len, mode_t mode)
{
    static char paths[16][200];
    static int i;
    i = (i + 1) % 16;
    snprintf(paths[i], sizeof(paths[i]), "%s/%s", g_dir, name);
    FILE *f = fopen(paths[i], "wb");
    ck_assert_ptr_nonnull(f);
    fwrite(data, 1, len, f);
    fclose(f);
    chmod(paths[i], mode);
    return paths[i];
}

static char *mint_github(const char *sub)
{
    json_t *j = ctl("POST", "/issuers/github/mint", "{\"sub\":\"%s\"}", sub);
    char *t = strdup(json_string_value(json_object_get(j, "token")));
    json_decref(j);
    return t;
}

static void register_federated(const char *client_id, const char *subject)
{
    ctl0("POST", "/clients",
         "{\"client_id\":\"%s\",\"federated\":[{\"issuer\":\"" GITHUB_ISSUER "\",\"subject\":\"%s\"}]}",
         client_id, subject);
}

/* ------------------------------------------------------------------ */
/* Credentials                                                        */

START_TEST(test_secret_and_lro_lifecycle)
{
    zt_provider_config cfg = secret_cfg();
    zt_arm_client *c = client_cfg(&cfg);
    zt_arena *a = zt_arena_new();
    zt_arm_resp r;
    const char *vnet = vnet_id(a, "vnet-life");

    zt_rc rc = arm(c, a, ZT_ARM_PUT, vnet, VNET_BODY, &r);
    ASSERT_RC(rc, ZT_OK, a, &r);
    ck_assert_int_eq(r.status, 200); /* the final GET */
    ck_assert_str_eq(r.provisioning_state, "Succeeded");
    ck_assert_uint_ge(r.polls, 1);
    ck_assert_ptr_nonnull(r.lro_url);
    ck_assert_str_eq(json_string_value(json_object_get(r.body, "name")), "vnet-life");
    ck_assert_uint_eq(strlen(r.client_request_id), 36);
    ck_assert_uint_gt(strlen(r.request_id), 0);
    ck_assert_int_eq(zt_arm_cred_kind_used(zt_arm_client_cred(c)), ZT_ARM_CRED_SECRET);

    const char *subnet = zt_arena_printf(a, "%s/subnets/snet-a", vnet);
    rc = arm(c, a, ZT_ARM_PUT, subnet, "{\"properties\":{\"addressPrefix\":\"10.0.1.0/24\"}}", &r);
    ASSERT_RC(rc, ZT_OK, a, &r);
    rc = arm(c, a, ZT_ARM_GET, subnet, NULL, &r);
    ASSERT_RC(rc, ZT_OK, a, &r);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r.body, "properties"),
                                                       "addressPrefix")), "10.0.1.0/24");
    rc = arm(c, a, ZT_ARM_PATCH, vnet, "{\"tags\":{\"env\":\"it\"}}", &r);
    ASSERT_RC(rc, ZT_OK, a, &r);
    /* create-only: the VNet exists, so 412, final */
    rc = arm_req(c, a, (zt_arm_req){.method = ZT_ARM_PUT, .path = vnet, .if_none_match = "*"},
                 VNET_BODY, &r);
    ASSERT_RC(rc, ZT_ERR_REMOTE, a, &r);
    ck_assert_int_eq(r.status, 412);
    ck_assert_uint_eq(r.attempts, 1);

    rc = arm(c, a, ZT_ARM_DELETE, subnet, NULL, &r);
    ASSERT_RC(rc, ZT_OK, a, &r);
    rc = arm(c, a, ZT_ARM_DELETE, vnet, NULL, &r);
    ASSERT_RC(rc, ZT_OK, a, &r);
    rc = arm(c, a, ZT_ARM_GET, vnet, NULL, &r);
    ASSERT_RC(rc, ZT_ERR_NOTFOUND, a, &r);
    ck_assert_int_eq(r.status, 404);
    ck_assert_uint_eq(r.attempts, 1); /* a 404 is not retried */
    rc = arm(c, a, ZT_ARM_DELETE, vnet, NULL, &r);
    ASSERT_RC(rc, ZT_OK, a, &r);
    ck_assert_int_eq(r.status, 204); /* already gone */

    /* a list, and the provider registration POST */
    rc = arm(c, a, ZT_ARM_GET, zt_arena_printf(a, "%s/providers/Microsoft.Network/virtualNetworks", rg_id(a)), NULL, &r);
    ASSERT_RC(rc, ZT_OK, a, &r);
    ck_assert(json_is_array(json_object_get(r.body, "value")));
    rc = arm(c, a, ZT_ARM_POST, zt_arena_printf(a, "/subscriptions/%s/providers/Microsoft.Network/register", g_sub),
             NULL, &r);
    ASSERT_RC(rc, ZT_OK, a, &r);

    /* one token for all of it */
    ck_assert_uint_eq(zt_arm_cred_fetches(zt_arm_client_cred(c)), 1);

    /* what the server saw: our User-Agent and request id, no token */
    json_t *log = ctl("GET", "/requests?kind=arm", NULL);
    const json_t *v = json_object_get(log, "value");
    const json_t *h = json_object_get(json_array_get(v, json_array_size(v) - 1), "headers");
    const char *ua = NULL, *crid = NULL;
    const char *k;
    const json_t *val;
    json_object_foreach((json_t *)h, k, val) {
        if (strcasecmp(k, "User-Agent") == 0)
            ua = json_string_value(val);
        if (strcasecmp(k, "x-ms-client-request-id") == 0)
            crid = json_string_value(val);
    }
    ck_assert_ptr_nonnull(ua);
    ck_assert_ptr_nonnull(strstr(ua, "terraform-provider-zerotrust/" ZT_VERSION " Terraform/1.9.8"));
    ck_assert_str_eq(crid, r.client_request_id);
    json_decref(log);
    zt_arena_free(a);
    zt_arm_client_free(c);
}
END_TEST

START_TEST(test_secret_rejected)
{
    zt_provider_config cfg = secret_cfg();
    cfg.client_secret = "not-the-secret";
    cfg.use_cli = true; /* must not be tried: Entra answered */
    zt_arm_client_options o = fast_opts(&cfg);
    o.cred.az_path = "/nonexistent/az";
    zt_arm_client *c = client_opts(&o);
    zt_arena *a = zt_arena_new();
    zt_arm_resp r;
    zt_rc rc = probe(c, a, &r);
    ASSERT_RC(rc, ZT_ERR_REMOTE, a, &r);
    ck_assert_str_eq(r.error->code, "invalid_client");
    ck_assert_ptr_nonnull(strstr(r.error->message, "AADSTS7000215"));
    ck_assert_int_eq(zt_arm_cred_kind_used(zt_arm_client_cred(c)), 0);
    zt_diags d;
    zt_diags_init(&d, a);
    zt_arm_req req = {.method = ZT_ARM_GET, .path = rg_id(a)};
    zt_arm_diag(&d, rc, &req, &r, "Cannot read the resource group");
    ck_assert_ptr_nonnull(strstr(d.head->detail, "authentication failed"));
    zt_arena_free(a);
    zt_arm_client_free(c);
}
END_TEST

static X509 *make_cert(EVP_PKEY *key)
{
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"zt-it", -1, -1, 0);
    X509_set_issuer_name(x, n);
    X509_set_pubkey(x, key);
    X509_sign(x, key, EVP_sha256());
    return x;
}

static char *pem_of(X509 *x)
{
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    char *p;
    long n = BIO_get_mem_data(b, &p);
    char *out = malloc((size_t)n + 1); /* the BIO's data is not NUL-terminated */
    memcpy(out, p, (size_t)n);
    out[n] = '\0';
    BIO_free(b);
    return out;
}

/* JSON string escaping for a PEM's newlines. */
static char *json_escape(const char *s)
{
    json_t *j = json_string(s);
    char *d = json_dumps(j, JSON_ENCODE_ANY);
    json_decref(j);
    return d;
}

START_TEST(test_certificate)
{
    EVP_PKEY *key = EVP_RSA_gen(2048);
    X509 *cert = make_cert(key);
    char *pem = pem_of(cert);
    char *jpem = json_escape(pem);
    const char *app = "aaaaaaaa-0000-0000-0000-0000000ce47f";
    ctl0("POST", "/clients", "{\"client_id\":\"%s\",\"certificate\":%s}", app, jpem);

    /* PEM: key + certificate */
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL);
    PEM_write_bio_X509(b, cert);
    char *p;
    long n = BIO_get_mem_data(b, &p);
    const char *pem_path = write_file("client.pem", p, (size_t)n, 0600);
    BIO_free(b);
    /* PKCS#12 with a password */
    PKCS12 *p12 = PKCS12_create("pfx-pass", "zt", key, cert, NULL, 0, 0, 0, 0, 0);
    unsigned char *der = NULL;
    int dlen = i2d_PKCS12(p12, &der);
    const char *pfx_path = write_file("client.pfx", der, (size_t)dlen, 0600);
    OPENSSL_free(der);
    PKCS12_free(p12);

    struct {
        const char *path, *password;
        zt_arm_jwt_alg alg;
    } cases[] = {
        {pem_path, NULL, ZT_ARM_JWT_PS256},
        {pem_path, NULL, ZT_ARM_JWT_RS256},
        {pfx_path, "pfx-pass", ZT_ARM_JWT_PS256},
    };
    for (size_t i = 0; i < ZT_ARRAY_LEN(cases); i++) {
        zt_provider_config cfg = base_cfg();
        cfg.client_id = app;
        cfg.client_certificate_path = cases[i].path;
        cfg.client_certificate_password = cases[i].password;
        zt_arm_client_options o = fast_opts(&cfg);
        o.cred.jwt_alg = cases[i].alg;
        zt_arm_client *c = client_opts(&o);
        zt_arena *a = zt_arena_new();
        zt_arm_resp r;
        zt_rc rc = probe(c, a, &r);
        ASSERT_RC(rc, ZT_OK, a, &r);
        ck_assert_int_eq(zt_arm_cred_kind_used(zt_arm_client_cred(c)), ZT_ARM_CRED_CERT);
        zt_arena_free(a);
        zt_arm_client_free(c);
    }

    /* a certificate Entra does not know */
    EVP_PKEY *other = EVP_RSA_gen(2048);
    X509 *ocert = make_cert(other);
    b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, other, NULL, NULL, 0, NULL, NULL);
    PEM_write_bio_X509(b, ocert);
    n = BIO_get_mem_data(b, &p);
    const char *bad_path = write_file("other.pem", p, (size_t)n, 0600);
    BIO_free(b);
    zt_provider_config cfg = base_cfg();
    cfg.client_id = app;
    cfg.client_certificate_path = bad_path;
    zt_arm_client *c = client_cfg(&cfg);
    zt_arena *a = zt_arena_new();
    zt_arm_resp r;
    zt_rc rc = probe(c, a, &r);
    ASSERT_RC(rc, ZT_ERR_REMOTE, a, &r);
    ck_assert_str_eq(r.error->code, "invalid_client");
    zt_arena_free(a);
    zt_arm_client_free(c);

    X509_free(ocert);
    EVP_PKEY_free(other);
    free(jpem);
    free(pem);
    X509_free(cert);
    EVP_PKEY_free(key);
}
END_TEST

START_TEST(test_oidc_token_and_file)
{
    const char *app = "bbbbbbbb-0000-0000-0000-0000000000f1";
    const char *subject = "repo:contoso/platform:environment:prod";
    register_federated(app, subject);
    char *jwt = mint_github(subject);

    /* oidc_token */
    zt_provider_config cfg = base_cfg();
    cfg.use_oidc = true;
    cfg.client_id = app;
    cfg.oidc_token = jwt;
    zt_arm_client *c = client_cfg(&cfg);
    zt_arena *a = zt_arena_new();
    zt_arm_resp r;
    zt_rc rc = probe(c, a, &r);
    ASSERT_RC(rc, ZT_OK, a, &r);
    ck_assert_int_eq(zt_arm_cred_kind_used(zt_arm_client_cred(c)), ZT_ARM_CRED_OIDC);
    zt_arm_client_free(c);

    /* oidc_token_file_path, re-read for every token: rotate it */
    const char *file = write_file("federated-token", jwt, strlen(jwt), 0600);
    cfg.oidc_token = NULL;
    cfg.oidc_token_file_path = file;
    c = client_cfg(&cfg);
    rc = probe(c, a, &r);
    ASSERT_RC(rc, ZT_OK, a, &r);
    char *jwt2 = mint_github(subject);
    write_file("federated-token", jwt2, strlen(jwt2), 0600);
    const char *tok;
    zt_arm_error *err;
    ck_assert_int_eq(zt_arm_cred_token(zt_arm_client_cred(c), a, zt_arm_deadline_in(5000), NULL, &tok, &err), ZT_OK);
    zt_arm_cred_invalidate(zt_arm_client_cred(c), tok);
    rc = probe(c, a, &r);
    ASSERT_RC(rc, ZT_OK, a, &r);
    ck_assert_uint_eq(zt_arm_cred_fetches(zt_arm_client_cred(c)), 2);
    zt_arm_client_free(c);

    /* AZURE_FEDERATED_TOKEN_FILE (AKS workload identity) */
    cfg.oidc_token_file_path = NULL;
    setenv("AZURE_FEDERATED_TOKEN_FILE", file, 1);
    c = client_cfg(&cfg);
    rc = probe(c, a, &r);
    ASSERT_RC(rc, ZT_OK, a, &r);
    zt_arm_client_free(c);
    unsetenv("AZURE_FEDERATED_TOKEN_FILE");

    /* a token whose subject the app does not trust */
    char *evil = mint_github("repo:evil/fork:ref:refs/heads/main");
    cfg.oidc_token = evil;
    c = client_cfg(&cfg);
    rc = probe(c, a, &r);
    ASSERT_RC(rc, ZT_ERR_REMOTE, a, &r);
    ck_assert_ptr_nonnull(strstr(r.error->message, "AADSTS700213"));
    zt_arm_client_free(c);
    free(evil);
    free(jwt2);
    free(jwt);
    zt_arena_free(a);
}
END_TEST

START_TEST(test_oidc_github_actions)
{
    const char *app = "cccccccc-0000-0000-0000-0000000000a1";
    /* the emulator's GitHub issuer mints tokens with this subject */
    register_federated(app, "repo:contoso/platform:ref:refs/heads/main");
    setenv("ACTIONS_ID_TOKEN_REQUEST_URL", g_gh_url, 1);
    setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", g_gh_token, 1);
    zt_provider_config cfg = base_cfg();
    cfg.use_oidc = true;
    cfg.client_id = app;
    zt_arm_client *c = client_cfg(&cfg);
    zt_arena *a = zt_arena_new();
    zt_arm_resp r;
    zt_rc rc = probe(c, a, &r);
    ASSERT_RC(rc, ZT_OK, a, &r);
    ck_assert_int_eq(zt_arm_cred_kind_used(zt_arm_client_cred(c)), ZT_ARM_CRED_OIDC);
    zt_arm_client_free(c);

    /* the request went out with the Entra audience */
    json_t *log = ctl("GET", "/requests?kind=oidc", NULL);
    const json_t *last = json_array_get(json_object_get(log, "value"),
                                        json_array_size(json_object_get(log, "value")) - 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(last, "query"), "audience")),
                     "api://AzureADTokenExchange");
    json_decref(log);

    /* a wrong request token: the error says what to check */
    setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "wrong", 1);
    c = client_cfg(&cfg);
    rc = probe(c, a, &r);
    ASSERT_RC(rc, ZT_ERR_REMOTE, a, &r);
    ck_assert_ptr_nonnull(strstr(r.error->message, "id-token: write"));
    zt_arm_client_free(c);
    zt_arena_free(a);
}
END_TEST

static json_t *create_identity(zt_arena *a, const char *name)
{
    zt_provider_config cfg = secret_cfg();
    zt_arm_client *c = client_cfg(&cfg);
    zt_arm_resp r;
    const char *id = zt_arena_printf(a, "%s/providers/Microsoft.ManagedIdentity/userAssignedIdentities/%s",
                                     rg_id(a), name);
    zt_rc rc = arm(c, a, ZT_ARM_PUT, id, "{\"location\":\"westeurope\"}", &r);
    ASSERT_RC(rc, ZT_OK, a, &r);
    json_t *body = json_incref(r.body);
    zt_arm_client_free(c);
    return body;
}

START_TEST(test_managed_identity_imds)
{
    zt_arena *a = zt_arena_new();
    zt_provider_config cfg = base_cfg();
    cfg.use_msi = true;
    cfg.msi_endpoint = zt_arena_printf(a, "%s/metadata/identity/oauth2/token", g_http_url);
    /* system-assigned */
    zt_arm_client *c = client_cfg(&cfg);
    zt_arm_resp r;
    zt_rc rc = probe(c, a, &r);
    ASSERT_RC(rc, ZT_OK, a, &r);
    ck_assert_int_eq(zt_arm_cred_kind_used(zt_arm_client_cred(c)), ZT_ARM_CRED_MSI);
    zt_arm_client_free(c);

    /* user-assigned, chosen each of the three ways */
    json_t *uami = create_identity(a, "id-it");
    const json_t *props = json_object_get(uami, "properties");
    const char *client_id = json_string_value(json_object_get(props, "clientId"));
    const char *object_id = json_string_value(json_object_get(props, "principalId"));
    const char *res_id = json_string_value(json_object_get(uami, "id"));
    ck_assert_ptr_nonnull(client_id);
    const char *param[] = {"client_id", "object_id", "msi_res_id"};
    for (int i = 0; i < 3; i++) {
        zt_provider_config u = cfg;
        u.client_id = i == 0 ? client_id : NULL;
        u.msi_object_id = i == 1 ? object_id : NULL;
        u.msi_res_id = i == 2 ? res_id : NULL;
        ctl0("DELETE", "/requests", NULL);
        c = client_cfg(&u);
        rc = probe(c, a, &r);
        ASSERT_RC(rc, ZT_OK, a, &r);
        zt_arm_client_free(c);
        json_t *log = ctl("GET", "/requests?kind=identity", NULL);
        const json_t *e = json_array_get(json_object_get(log, "value"), 0);
        const json_t *q = json_object_get(e, "query");
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(e, "headers"), "Metadata")), "true");
        ck_assert_ptr_nonnull(json_string_value(json_object_get(q, param[i])));
        ck_assert_str_eq(json_string_value(json_object_get(q, "resource")), "https://management.azure.com/");
        json_decref(log);
    }

    /* an identity the host does not have */
    zt_provider_config bad = cfg;
    bad.client_id = "99999999-9999-9999-9999-999999999999";
    c = client_cfg(&bad);
    rc = probe(c, a, &r);
    ASSERT_RC(rc, ZT_ERR_REMOTE, a, &r);
    ck_assert_ptr_nonnull(strstr(r.error->message, "Identity not found"));
    zt_arm_client_free(c);
    json_decref(uami);
    zt_arena_free(a);
}
END_TEST

START_TEST(test_managed_identity_app_service)
{
    setenv("IDENTITY_ENDPOINT", g_id_endpoint, 1);
    setenv("IDENTITY_HEADER", g_id_header, 1);
    zt_provider_config cfg = base_cfg();
    cfg.use_msi = true;
    zt_arm_client *c = client_cfg(&cfg);
    zt_arena *a = zt_arena_new();
    zt_arm_resp r;
    zt_rc rc = probe(c, a, &r);
    ASSERT_RC(rc, ZT_OK, a, &r);
    ck_assert_int_eq(zt_arm_cred_kind_used(zt_arm_client_cred(c)), ZT_ARM_CRED_MSI);
    zt_arm_client_free(c);
    json_t *log = ctl("GET", "/requests?kind=identity", NULL);
    const json_t *e = json_array_get(json_object_get(log, "value"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(e, "query"), "api-version")), "2019-08-01");
    json_decref(log);

    setenv("IDENTITY_HEADER", "wrong", 1);
    c = client_cfg(&cfg);
    rc = probe(c, a, &r);
    ASSERT_RC(rc, ZT_ERR_REMOTE, a, &r);
    zt_arm_client_free(c);
    zt_arena_free(a);
}
END_TEST

static const char *fake_az(const char *name, const char *script_body)
{
    char buf[8192];
    snprintf(buf, sizeof(buf), "#!/bin/sh\n%s", script_body);
    return write_file(name, buf, strlen(buf), 0700);
}

static char *mint_arm_token(int lifetime)
{
    json_t *j = ctl("POST", "/tokens", "{\"lifetime\":%d}", lifetime);
    char *t = strdup(json_string_value(json_object_get(j, "access_token")));
    json_decref(j);
    return t;
}

/* az runs while the client holds connections (to ARM, with tokens in
 * flight): none of them may reach it. */
START_TEST(test_azure_cli_inherits_no_socket)
{
    char *tok = mint_arm_token(3600);
    char script[6000];
    snprintf(script, sizeof(script),
             "ls -l /proc/$$/fd/ >> '%s/az-fds.txt'\n"
             "echo '{\"accessToken\":\"%s\",\"expires_on\":4102444800}'\n", g_dir, tok);
    zt_provider_config cfg = base_cfg();
    cfg.use_cli = true;
    zt_arm_client_options o = fast_opts(&cfg);
    o.cred.az_path = fake_az("az-fds", script);
    zt_arm_client *c = client_opts(&o);
    zt_arena *a = zt_arena_new();
    zt_arm_resp r;
    ASSERT_RC(probe(c, a, &r), ZT_OK, a, &r);
    /* a second token, fetched with the first request's connection open */
    zt_arm_cred_invalidate(zt_arm_client_cred(c), tok);
    ASSERT_RC(probe(c, a, &r), ZT_OK, a, &r);
    ck_assert_uint_eq(zt_arm_cred_fetches(zt_arm_client_cred(c)), 2);
    char *fds;
    size_t len;
    ck_assert_int_eq(zt_arm_read_file(zt_arena_printf(a, "%s/az-fds.txt", g_dir), 1 << 20, &fds, &len),
                     ZT_OK);
    ck_assert_msg(strstr(fds, "socket:") == NULL, "az inherited a socket:\n%s", fds);
    zt_arm_free_secret(fds, len);
    zt_arm_client_free(c);
    zt_arena_free(a);
    free(tok);
}
END_TEST

START_TEST(test_azure_cli_and_reauth)
{
    char *tok = mint_arm_token(3600);
    char script[6000];
    snprintf(script, sizeof(script),
             "echo '{\"accessToken\":\"%s\",\"expires_on\":4102444800,\"tokenType\":\"Bearer\"}'\n", tok);
    const char *az = fake_az("az-good", script);
    zt_provider_config cfg = base_cfg();
    cfg.use_cli = true;
    zt_arm_client_options o = fast_opts(&cfg);
    o.cred.az_path = az;
    zt_arm_client *c = client_opts(&o);
    zt_arena *a = zt_arena_new();
    zt_arm_resp r;
    zt_rc rc = probe(c, a, &r);
    ASSERT_RC(rc, ZT_OK, a, &r);
    ck_assert_int_eq(zt_arm_cred_kind_used(zt_arm_client_cred(c)), ZT_ARM_CRED_CLI);
    zt_arm_client_free(c);

    /* ARM refuses the first token (401): one refresh, one retry */
    snprintf(script, sizeof(script),
             "if [ -e '%s/az-called' ]; then t='%s'; else t='eyJhbGciOiJub25lIn0.eyJ4IjoxfQ.revoked'; "
             "touch '%s/az-called'; fi\n"
             "echo \"{\\\"accessToken\\\":\\\"$t\\\",\\\"expires_on\\\":4102444800}\"\n",
             g_dir, tok, g_dir);
    o.cred.az_path = fake_az("az-revoked-first", script);
    c = client_opts(&o);
    rc = probe(c, a, &r);
    ASSERT_RC(rc, ZT_OK, a, &r);
    ck_assert_uint_eq(r.retries, 1);
    ck_assert_uint_eq(zt_arm_cred_fetches(zt_arm_client_cred(c)), 2);
    zt_arm_client_free(c);

    /* ... but a token that keeps failing is an error after one refresh */
    o.cred.az_path = fake_az("az-always-bad", "echo '{\"accessToken\":\"eyJhbGciOiJub25lIn0.e30.bad\",\"expires_on\":4102444800}'\n");
    c = client_opts(&o);
    rc = probe(c, a, &r);
    ASSERT_RC(rc, ZT_ERR_REMOTE, a, &r);
    ck_assert_int_eq(r.status, 401);
    ck_assert_str_eq(r.error->code, "InvalidAuthenticationToken");
    ck_assert_uint_eq(r.attempts, 2);
    zt_arm_client_free(c);
    free(tok);
    zt_arena_free(a);
}
END_TEST

START_TEST(test_chain_falls_through_unavailable)
{
    zt_provider_config cfg = secret_cfg();
    cfg.use_msi = true; /* first in the chain, but no IMDS listens there */
    cfg.msi_endpoint = "http://127.0.0.1:1/metadata/identity/oauth2/token";
    cfg.client_id = g_client;
    cfg.use_msi = true;
    /* client_id also selects the MSI identity; fine, IMDS is absent anyway */
    zt_arm_client *c = client_cfg(&cfg);
    zt_arena *a = zt_arena_new();
    zt_arm_resp r;
    zt_rc rc = probe(c, a, &r);
    ASSERT_RC(rc, ZT_OK, a, &r);
    ck_assert_int_eq(zt_arm_cred_kind_used(zt_arm_client_cred(c)), ZT_ARM_CRED_SECRET);
    zt_arm_client_free(c);
    zt_arena_free(a);
}
END_TEST

typedef struct gets {
    zt_arm_client *c;
    int n;
    int ok;
    unsigned retries;
    unsigned attempts;
} gets;

/* n GETs of the resource group at once via zt_arm_start/zt_arm_wait. */
static void parallel_gets(gets *g)
{
    zt_arena *a = zt_arena_new();
    zt_arm_op **ops = calloc((size_t)g->n, sizeof(*ops));
    zt_arm_req req = {.method = ZT_ARM_GET, .path = rg_id(a), .deadline_ms = zt_arm_deadline_in(60000)};
    for (int i = 0; i < g->n; i++)
        ck_assert_int_eq(zt_arm_start(g->c, &req, &ops[i]), ZT_OK);
    g->ok = 0;
    g->retries = g->attempts = 0;
    for (int i = 0; i < g->n; i++) {
        zt_arm_resp r;
        if (zt_arm_wait(ops[i], a, &r) == ZT_OK)
            g->ok++;
        g->retries += r.retries;
        g->attempts += r.attempts;
    }
    free(ops);
    zt_arena_free(a);
}

START_TEST(test_token_cache_concurrency_and_expiry)
{
    zt_provider_config cfg = secret_cfg();
    zt_arm_client *c = client_cfg(&cfg);
    gets g = {.c = c, .n = 48};
    parallel_gets(&g);
    ck_assert_int_eq(g.ok, 48);
    ck_assert_uint_eq(zt_arm_cred_fetches(zt_arm_client_cred(c)), 1);
    zt_arm_client_free(c);

    /* 4 s tokens: refreshed after half their life */
    ctl0("POST", "/config", "{\"token_lifetime\":4}");
    c = client_cfg(&cfg);
    zt_arena *a = zt_arena_new();
    zt_arm_resp r;
    ASSERT_RC(probe(c, a, &r), ZT_OK, a, &r);
    ASSERT_RC(probe(c, a, &r), ZT_OK, a, &r);
    ck_assert_uint_eq(zt_arm_cred_fetches(zt_arm_client_cred(c)), 1);
    struct timespec ts = {2, 500000000};
    nanosleep(&ts, NULL);
    ASSERT_RC(probe(c, a, &r), ZT_OK, a, &r);
    ck_assert_uint_eq(zt_arm_cred_fetches(zt_arm_client_cred(c)), 2);
    zt_arena_free(a);
    zt_arm_client_free(c);
}
END_TEST

START_TEST(test_tls_verification_is_on)
{
    char *tok = mint_arm_token(3600);
    char script[6000];
    snprintf(script, sizeof(script), "echo '{\"accessToken\":\"%s\",\"expires_on\":4102444800}'\n", tok);
    zt_provider_config cfg = base_cfg();
    cfg.use_cli = true;
    cfg.ca_bundle_path = NULL; /* the emulator's CA is not trusted */
    zt_arm_client_options o = fast_opts(&cfg);
    o.cred.az_path = fake_az("az-tls", script);
    zt_arm_client *c = client_opts(&o);
    zt_arena *a = zt_arena_new();
    zt_arm_resp r;
    zt_rc rc = probe(c, a, &r);
    ASSERT_RC(rc, ZT_ERR_TLS, a, &r);
    ck_assert_uint_eq(r.attempts, 1); /* not a transient failure */
    zt_arm_client_free(c);
    free(tok);
    zt_arena_free(a);
}
END_TEST

START_TEST(test_system_ca_directory)
{
    /* The system's CAs come from a hashed directory (certificates read as
     * a chain needs them): the emulator's CA placed in one is trusted
     * without ca_bundle_path; a directory without it is not. */
    char dir[] = "/tmp/zt-ca-dir-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    FILE *f = fopen(g_ca, "r");
    ck_assert_ptr_nonnull(f);
    X509 *ca = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    ck_assert_ptr_nonnull(ca);
    char path[256];
    for (int trusted = 0; trusted < 2; trusted++) {
        snprintf(path, sizeof(path), "%s/%08lx.0", dir,
                 trusted ? X509_subject_name_hash(ca) : 0x12345678ul);
        f = fopen(path, "w");
        ck_assert_ptr_nonnull(f);
        if (trusted)
            PEM_write_X509(f, ca);
        fclose(f);
        setenv("SSL_CERT_DIR", dir, 1);
        zt_provider_config cfg = secret_cfg();
        cfg.ca_bundle_path = NULL;
        zt_arm_client *c = client_cfg(&cfg);
        zt_arena *a = zt_arena_new();
        zt_arm_resp r;
        zt_rc rc = probe(c, a, &r);
        ASSERT_RC(rc, trusted ? ZT_OK : ZT_ERR_TLS, a, &r);
        unsetenv("SSL_CERT_DIR");
        zt_arm_client_free(c);
        zt_arena_free(a);
        unlink(path);
    }
    rmdir(dir);
    X509_free(ca);
}
END_TEST

START_TEST(test_logs_hold_no_secrets)
{
    char logpath[200];
    snprintf(logpath, sizeof(logpath), "%s/trace.log", g_dir);
    fflush(stderr);
    int saved = dup(2);
    int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    close(fd);
    zt_log_set_level(ZT_LOG_TRACE);
    zt_provider_config cfg = secret_cfg();
    zt_arm_client *c = client_cfg(&cfg);
    zt_arena *a = zt_arena_new();
    zt_arm_resp r;
    zt_rc rc = arm(c, a, ZT_ARM_PUT, vnet_id(a, "vnet-log"), VNET_BODY, &r);
    zt_arm_client_free(c);
    zt_log_set_level(ZT_LOG_OFF);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    ASSERT_RC(rc, ZT_OK, a, &r);
    char *log;
    size_t len;
    ck_assert_int_eq(zt_arm_read_file(logpath, 1 << 24, &log, &len), ZT_OK);
    ck_assert_ptr_nonnull(strstr(log, "\"arm request\""));
    ck_assert_ptr_nonnull(strstr(log, "Authorization: [REDACTED]"));
    ck_assert_msg(!strstr(log, g_secret), "the client secret is in the log");
    ck_assert_msg(!strstr(log, "eyJ"), "a JWT is in the log");
    zt_arm_free_secret(log, len);
    zt_arena_free(a);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Faults                                                             */

static zt_arm_client *secret_client(void)
{
    static zt_provider_config cfg;
    cfg = secret_cfg();
    return client_cfg(&cfg);
}

START_TEST(test_fault_429_retry_after)
{
    zt_arm_client *c = secret_client();
    zt_arena *a = zt_arena_new();
    zt_arm_resp r;
    ASSERT_RC(probe(c, a, &r), ZT_OK, a, &r); /* token in the cache */
    fault("{\"kind\":\"429\",\"method\":\"GET\",\"path_regex\":\"/resourceGroups/rg-it$\",\"count\":2,\"retry_after\":1}");
    int64_t t0 = zt_arm_now_ms();
    zt_rc rc = probe(c, a, &r);
    int64_t took = zt_arm_now_ms() - t0;
    ASSERT_RC(rc, ZT_OK, a, &r);
    ck_assert_uint_eq(r.attempts, 3);
    ck_assert_uint_eq(r.retries, 2);
    ck_assert_int_ge(took, 1900); /* Retry-After: 1 s, twice */
    ck_assert_int_lt(took, 5000);

    /* a Retry-After longer than the deadline ends the operation at once */
    fault("{\"kind\":\"429\",\"method\":\"GET\",\"path_regex\":\"/resourceGroups/rg-it$\",\"count\":1,\"retry_after\":30}");
    t0 = zt_arm_now_ms();
    rc = arm_req(c, a, (zt_arm_req){.method = ZT_ARM_GET, .path = rg_id(a),
                                     .deadline_ms = zt_arm_deadline_in(3000)}, NULL, &r);
    ASSERT_RC(rc, ZT_ERR_TIMEOUT, a, &r);
    ck_assert_int_lt(zt_arm_now_ms() - t0, 1000);
    ck_assert_int_eq(r.error->status, 429); /* what is known */
    zt_arena_free(a);
    zt_arm_client_free(c);
}
END_TEST

START_TEST(test_fault_500_503)
{
    zt_arm_client *c = secret_client();
    zt_arena *a = zt_arena_new();
    zt_arm_resp r;
    fault("{\"kind\":\"500\",\"method\":\"GET\",\"path_regex\":\"/resourceGroups/rg-it$\",\"count\":2}");
    zt_rc rc = probe(c, a, &r);
    ASSERT_RC(rc, ZT_OK, a, &r);
    ck_assert_uint_eq(r.attempts, 3);

    fault("{\"kind\":\"503\",\"method\":\"GET\",\"path_regex\":\"/resourceGroups/rg-it$\",\"count\":1,\"retry_after\":1}");
    int64_t t0 = zt_arm_now_ms();
    rc = probe(c, a, &r);
    ASSERT_RC(rc, ZT_OK, a, &r);
    ck_assert_uint_eq(r.attempts, 2);
    ck_assert_int_ge(zt_arm_now_ms() - t0, 900);
    zt_arm_client_free(c);

    /* a persistent 500 ends after max_attempts, with ARM's error */
    zt_provider_config cfg = secret_cfg();
    zt_arm_client_options o = fast_opts(&cfg);
    o.max_attempts = 4;
    c = client_opts(&o);
    fault("{\"kind\":\"500\",\"method\":\"GET\",\"path_regex\":\"/resourceGroups/rg-it$\",\"count\":-1}");
    rc = probe(c, a, &r);
    ASSERT_RC(rc, ZT_ERR_REMOTE, a, &r);
    ck_assert_int_eq(r.status, 500);
    ck_assert_uint_eq(r.attempts, 4);
    ck_assert_str_eq(r.error->code, "InternalServerError");
    ctl0("DELETE", "/faults", NULL);

    /* a POST that may have been acted on is not repeated... */
    const char *reg = zt_arena_printf(a, "/subscriptions/%s/providers/Microsoft.Network/register", g_sub);
    fault("{\"kind\":\"500\",\"method\":\"POST\",\"path_regex\":\"/register$\",\"count\":1}");
    rc = arm(c, a, ZT_ARM_POST, reg, NULL, &r);
    ASSERT_RC(rc, ZT_ERR_REMOTE, a, &r);
    ck_assert_uint_eq(r.attempts, 1);
    /* ...unless the caller says it is idempotent */
    fault("{\"kind\":\"500\",\"method\":\"POST\",\"path_regex\":\"/register$\",\"count\":1}");
    rc = arm_req(c, a, (zt_arm_req){.method = ZT_ARM_POST, .path = reg, .flags = ZT_ARM_IDEMPOTENT_POST},
                 NULL, &r);
    ASSERT_RC(rc, ZT_OK, a, &r);
    ck_assert_uint_eq(r.attempts, 2);
    zt_arena_free(a);
    zt_arm_client_free(c);
}
END_TEST

START_TEST(test_fault_reset)
{
    zt_arm_client *c = secret_client();
    zt_arena *a = zt_arena_new();
    zt_arm_resp r;
    ASSERT_RC(probe(c, a, &r), ZT_OK, a, &r);
    fault("{\"kind\":\"reset\",\"method\":\"GET\",\"path_regex\":\"/resourceGroups/rg-it$\",\"count\":2}");
    zt_rc rc = probe(c, a, &r);
    ASSERT_RC(rc, ZT_OK, a, &r);
    /* curl itself resends a GET once when a reused connection dies before
     * answering; the rest are our retries */
    ck_assert_uint_ge(r.attempts, 2);
    json_t *fl = ctl("GET", "/faults", NULL);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(json_object_get(fl, "value"), 0), "fired")), 2);
    json_decref(fl);
    ctl0("DELETE", "/faults", NULL);

    /* an idempotent PUT survives a reset too */
    fault("{\"kind\":\"reset\",\"method\":\"PUT\",\"path_regex\":\"virtualNetworks/vnet-reset$\",\"count\":1}");
    rc = arm(c, a, ZT_ARM_PUT, vnet_id(a, "vnet-reset"), VNET_BODY, &r);
    ASSERT_RC(rc, ZT_OK, a, &r);
    fl = ctl("GET", "/faults", NULL);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(json_object_get(fl, "value"), 0), "fired")), 1);
    json_decref(fl);
    ctl0("DELETE", "/faults", NULL);

    /* a POST cut off mid-way is not repeated blindly */
    fault("{\"kind\":\"reset\",\"method\":\"POST\",\"path_regex\":\"/register$\",\"count\":1}");
    rc = arm(c, a, ZT_ARM_POST, zt_arena_printf(a, "/subscriptions/%s/providers/Microsoft.Network/register", g_sub),
             NULL, &r);
    ASSERT_RC(rc, ZT_ERR_HTTP, a, &r);
    ck_assert_uint_eq(r.attempts, 1);
    zt_arena_free(a);
    zt_arm_client_free(c);
}
END_TEST

START_TEST(test_fault_hang_past_deadline)
{
    zt_arm_client *c = secret_client();
    zt_arena *a = zt_arena_new();
    zt_arm_resp r;
    ASSERT_RC(probe(c, a, &r), ZT_OK, a, &r);
    fault("{\"kind\":\"hang\",\"method\":\"GET\",\"path_regex\":\"/resourceGroups/rg-it$\",\"count\":1,\"seconds\":30}");
    int64_t t0 = zt_arm_now_ms();
    zt_rc rc = arm_req(c, a, (zt_arm_req){.method = ZT_ARM_GET, .path = rg_id(a),
                                           .deadline_ms = zt_arm_deadline_in(1500)}, NULL, &r);
    int64_t took = zt_arm_now_ms() - t0;
    ASSERT_RC(rc, ZT_ERR_TIMEOUT, a, &r);
    ck_assert_int_ge(took, 1400);
    ck_assert_int_lt(took, 2500);
    zt_arm_client_free(c);

    /* a per-attempt timeout turns one hang into a retry */
    zt_provider_config cfg = secret_cfg();
    zt_arm_client_options o = fast_opts(&cfg);
    o.attempt_timeout_ms = 700;
    c = client_opts(&o);
    ASSERT_RC(probe(c, a, &r), ZT_OK, a, &r);
    fault("{\"kind\":\"hang\",\"method\":\"GET\",\"path_regex\":\"/resourceGroups/rg-it$\",\"count\":1,\"seconds\":30}");
    rc = probe(c, a, &r);
    ASSERT_RC(rc, ZT_OK, a, &r);
    ck_assert_uint_eq(r.attempts, 2);
    zt_arena_free(a);
    zt_arm_client_free(c);
}
END_TEST

START_TEST(test_fault_async_failed)
{
    zt_arm_client *c = secret_client();
    zt_arena *a = zt_arena_new();
    zt_arm_resp r;
    fault("{\"kind\":\"async_failed\",\"method\":\"PUT\",\"path_regex\":\"virtualNetworks/vnet-fail$\","
          "\"code\":\"VnetAddressSpaceInvalid\",\"message\":\"injected failure\"}");
    zt_rc rc = arm(c, a, ZT_ARM_PUT, vnet_id(a, "vnet-fail"), VNET_BODY, &r);
    ASSERT_RC(rc, ZT_ERR_REMOTE, a, &r);
    ck_assert_str_eq(r.error->code, "VnetAddressSpaceInvalid");
    ck_assert_str_eq(r.error->message, "injected failure");
    ck_assert_str_eq(r.provisioning_state, "Failed");
    ck_assert_ptr_nonnull(r.lro_url);
    ck_assert_uint_eq(r.retries, 0); /* a real failure is not retried */

    /* a failure that says "retry" starts the operation again */
    fault("{\"kind\":\"async_failed\",\"method\":\"PUT\",\"path_regex\":\"virtualNetworks/vnet-again$\","
          "\"code\":\"RetryableError\",\"message\":\"try again\"}");
    rc = arm(c, a, ZT_ARM_PUT, vnet_id(a, "vnet-again"), VNET_BODY, &r);
    ASSERT_RC(rc, ZT_OK, a, &r);
    ck_assert_uint_ge(r.retries, 1);
    ck_assert_str_eq(r.provisioning_state, "Succeeded");
    zt_arena_free(a);
    zt_arm_client_free(c);
}
END_TEST

START_TEST(test_fault_conflicts_and_final_errors)
{
    zt_arm_client *c = secret_client();
    zt_arena *a = zt_arena_new();
    zt_arm_resp r;
    fault("{\"kind\":\"conflict\",\"method\":\"PUT\",\"path_regex\":\"virtualNetworks/vnet-busy$\",\"count\":2}");
    zt_rc rc = arm(c, a, ZT_ARM_PUT, vnet_id(a, "vnet-busy"), VNET_BODY, &r);
    ASSERT_RC(rc, ZT_OK, a, &r);
    ck_assert_uint_eq(r.retries, 2);

    /* never retried: validation, authorization, missing parent */
    fault("{\"kind\":\"error\",\"method\":\"PUT\",\"path_regex\":\"vnet-bad$\",\"status\":400,"
          "\"code\":\"InvalidRequestFormat\",\"message\":\"bad\"}");
    rc = arm(c, a, ZT_ARM_PUT, vnet_id(a, "vnet-bad"), VNET_BODY, &r);
    ASSERT_RC(rc, ZT_ERR_REMOTE, a, &r);
    ck_assert_uint_eq(r.attempts, 1);
    fault("{\"kind\":\"error\",\"method\":\"GET\",\"path_regex\":\"/resourceGroups/rg-it$\",\"status\":403,"
          "\"code\":\"AuthorizationFailed\",\"message\":\"no\"}");
    rc = probe(c, a, &r);
    ASSERT_RC(rc, ZT_ERR_REMOTE, a, &r);
    ck_assert_uint_eq(r.attempts, 1);
    ck_assert_str_eq(r.error->code, "AuthorizationFailed");
    rc = arm(c, a, ZT_ARM_PUT, zt_arena_printf(a, "%s/subnets/s", vnet_id(a, "no-such-vnet")),
             "{\"properties\":{\"addressPrefix\":\"10.0.1.0/24\"}}", &r);
    ASSERT_RC(rc, ZT_ERR_REMOTE, a, &r);
    ck_assert_int_eq(r.status, 404);
    ck_assert_uint_eq(r.attempts, 1);

    /* RoleAssignmentExists is reported, not hidden and not retried */
    json_t *uami = create_identity(a, "id-ra");
    const char *pid = json_string_value(json_object_get(json_object_get(uami, "properties"), "principalId"));
    const char *body = zt_arena_printf(
        a, "{\"properties\":{\"roleDefinitionId\":\"/subscriptions/%s/providers/Microsoft.Authorization/"
           "roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c\",\"principalId\":\"%s\","
           "\"principalType\":\"ServicePrincipal\"}}", g_sub, pid);
    const char *ra1 = zt_arena_printf(a, "%s/providers/Microsoft.Authorization/roleAssignments/"
                                         "0b6a4f2e-1111-4c3a-9d6e-000000000001", rg_id(a));
    const char *ra2 = zt_arena_printf(a, "%s/providers/Microsoft.Authorization/roleAssignments/"
                                         "0b6a4f2e-1111-4c3a-9d6e-000000000002", rg_id(a));
    ASSERT_RC(arm(c, a, ZT_ARM_PUT, ra1, body, &r), ZT_OK, a, &r);
    rc = arm(c, a, ZT_ARM_PUT, ra2, body, &r);
    ASSERT_RC(rc, ZT_ERR_REMOTE, a, &r);
    ck_assert_int_eq(r.status, 409);
    ck_assert_uint_eq(r.attempts, 1);
    ck_assert(zt_arm_error_has_code(r.error, "RoleAssignmentExists"));
    ck_assert_uint_eq(r.error->n_details, 1);
    json_decref(uami);
    zt_arena_free(a);
    zt_arm_client_free(c);
}
END_TEST

START_TEST(test_foreign_polling_url_refused)
{
    zt_arm_client *c = secret_client();
    zt_arena *a = zt_arena_new();
    zt_arm_resp r;
    /* An answer pointing the client at another host for polling: the
     * token must not follow it there. */
    fault("{\"kind\":\"error\",\"method\":\"PUT\",\"path_regex\":\"vnet-evil$\",\"status\":202,"
          "\"code\":\"Accepted\",\"message\":\"accepted\","
          "\"headers\":{\"Azure-AsyncOperation\":\"https://evil.example/operations/1\"}}");
    zt_rc rc = arm(c, a, ZT_ARM_PUT, vnet_id(a, "vnet-evil"), VNET_BODY, &r);
    ASSERT_RC(rc, ZT_ERR_REMOTE, a, &r);
    ck_assert_str_eq(r.error->code, "UntrustedPollingUrl");
    ck_assert_uint_eq(r.attempts, 1);
    ck_assert_uint_eq(r.polls, 0);
    zt_arena_free(a);
    zt_arm_client_free(c);
}
END_TEST

/* A PUT Azure carried out but whose answer was lost, retried, then
 * refused (400): the operation may have written, whatever the last answer
 * says. A refusal on its own changed nothing. */
START_TEST(test_lost_answer_counts_as_written)
{
    zt_arm_client *c = secret_client();
    zt_arena *a = zt_arena_new();
    zt_arm_resp r;
    ASSERT_RC(arm(c, a, ZT_ARM_GET, rg_id(a), NULL, &r), ZT_OK, a, &r); /* a warm connection */
    fault("{\"kind\":\"lost_answer\",\"method\":\"PUT\",\"path_regex\":\"vnet-lost$\"}");
    fault("{\"kind\":\"error\",\"method\":\"PUT\",\"path_regex\":\"vnet-lost$\",\"status\":400,"
          "\"code\":\"InvalidRequestFormat\"}");
    zt_rc rc = arm(c, a, ZT_ARM_PUT, vnet_id(a, "vnet-lost"), VNET_BODY, &r);
    ASSERT_RC(rc, ZT_ERR_REMOTE, a, &r);
    ck_assert_int_eq(r.status, 400);
    ck_assert_msg(r.maybe_written, "a lost answer must count as a possible write (%u attempts)",
                  r.attempts);
    ASSERT_RC(arm(c, a, ZT_ARM_GET, vnet_id(a, "vnet-lost"), NULL, &r), ZT_OK, a, &r);

    fault("{\"kind\":\"error\",\"method\":\"PUT\",\"path_regex\":\"vnet-refused$\",\"status\":400,"
          "\"code\":\"InvalidRequestFormat\"}");
    rc = arm(c, a, ZT_ARM_PUT, vnet_id(a, "vnet-refused"), VNET_BODY, &r);
    ASSERT_RC(rc, ZT_ERR_REMOTE, a, &r);
    ck_assert(!r.maybe_written);
    zt_arena_free(a);
    zt_arm_client_free(c);
}
END_TEST

START_TEST(test_fault_principal_propagation)
{
    zt_arm_client *c = secret_client();
    zt_arena *a = zt_arena_new();
    zt_arm_resp r;
    json_t *uami = create_identity(a, "id-new");
    const char *pid = json_string_value(json_object_get(json_object_get(uami, "properties"), "principalId"));
    fault("{\"kind\":\"propagation\",\"path_regex\":\"roleAssignments\",\"seconds\":1.5}");
    const char *ra = zt_arena_printf(a, "%s/providers/Microsoft.Authorization/roleAssignments/"
                                        "0b6a4f2e-2222-4c3a-9d6e-000000000001", rg_id(a));
    zt_rc rc = arm(c, a, ZT_ARM_PUT, ra,
                   zt_arena_printf(a, "{\"properties\":{\"roleDefinitionId\":\"/subscriptions/%s/providers/"
                                      "Microsoft.Authorization/roleDefinitions/"
                                      "b24988ac-6180-42a0-ab88-20f7382dd24c\",\"principalId\":\"%s\","
                                      "\"principalType\":\"ServicePrincipal\"}}", g_sub, pid),
                   &r);
    ASSERT_RC(rc, ZT_OK, a, &r);
    ck_assert_uint_ge(r.retries, 1); /* PrincipalNotFound until replication caught up */
    json_decref(uami);
    zt_arena_free(a);
    zt_arm_client_free(c);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Cancellation, deadlines, serialization, throttling                 */

typedef struct canceller {
    atomic_bool *flag;
    int after_ms;
} canceller;

static void *cancel_later(void *arg)
{
    canceller *k = arg;
    struct timespec ts = {k->after_ms / 1000, (long)(k->after_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    atomic_store(k->flag, true);
    return NULL;
}

START_TEST(test_cancel_and_deadline_during_lro)
{
    ctl0("POST", "/config", "{\"time_scale\":1.0}"); /* a VNet takes 10 s */
    atomic_bool stop = false;
    zt_provider_config cfg = secret_cfg();
    zt_arm_client_options o = fast_opts(&cfg);
    o.cancel = &stop;
    zt_arm_client *c = client_opts(&o);
    zt_arena *a = zt_arena_new();
    zt_arm_resp r;
    canceller k = {&stop, 600};
    pthread_t th;
    pthread_create(&th, NULL, cancel_later, &k);
    int64_t t0 = zt_arm_now_ms();
    zt_rc rc = arm(c, a, ZT_ARM_PUT, vnet_id(a, "vnet-slow"), VNET_BODY, &r);
    int64_t took = zt_arm_now_ms() - t0;
    pthread_join(th, NULL);
    ASSERT_RC(rc, ZT_ERR_CANCELLED, a, &r);
    ck_assert_int_lt(took, 1500);            /* promptly, not after 10 s */
    ck_assert_ptr_nonnull(r.lro_url);        /* what is known */
    ck_assert_str_eq(r.provisioning_state, "Updating");
    ck_assert_int_eq(r.status, 201);

    /* the deadline, likewise */
    atomic_store(&stop, false);
    t0 = zt_arm_now_ms();
    rc = arm_req(c, a, (zt_arm_req){.method = ZT_ARM_PUT, .path = vnet_id(a, "vnet-slow2"),
                                     .deadline_ms = zt_arm_deadline_in(800)}, VNET_BODY, &r);
    took = zt_arm_now_ms() - t0;
    ASSERT_RC(rc, ZT_ERR_TIMEOUT, a, &r);
    ck_assert_int_ge(took, 750);
    ck_assert_int_lt(took, 1500);
    ck_assert_ptr_nonnull(r.lro_url);
    zt_diags d;
    zt_diags_init(&d, a);
    zt_arm_req req = {.method = ZT_ARM_PUT, .path = vnet_id(a, "vnet-slow2")};
    zt_arm_diag(&d, rc, &req, &r, "Timed out");
    ck_assert_ptr_nonnull(strstr(d.head->detail, "may still be working"));
    zt_arena_free(a);
    zt_arm_client_free(c);
}
END_TEST

typedef struct subnet_job {
    zt_arm_client *c;
    const char *vnet;
    int index;
    bool serialize;
    zt_rc rc;
    unsigned retries;
} subnet_job;

static void *put_subnet(void *arg)
{
    subnet_job *j = arg;
    zt_arena *a = zt_arena_new();
    const char *id = zt_arena_printf(a, "%s/subnets/snet-%d", j->vnet, j->index);
    zt_arm_req req = {.method = ZT_ARM_PUT, .path = id,
                      .serial_scope = j->serialize ? zt_arm_serial_key(a, id, NULL) : NULL};
    zt_arm_resp r;
    j->rc = arm_req(j->c, a, req,
                    zt_arena_printf(a, "{\"properties\":{\"addressPrefix\":\"10.0.%d.0/24\"}}", j->index + 10),
                    &r);
    j->retries = r.retries;
    zt_arena_free(a);
    return NULL;
}

static unsigned put_subnets(zt_arm_client *c, const char *vnet, int base, bool serialize)
{
    enum { N = 6 };
    subnet_job jobs[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        jobs[i] = (subnet_job){c, vnet, base + i, serialize, 0, 0};
        pthread_create(&th[i], NULL, put_subnet, &jobs[i]);
    }
    unsigned retries = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        ck_assert_msg(jobs[i].rc == ZT_OK, "subnet %d: %s", i, zt_rc_str(jobs[i].rc));
        retries += jobs[i].retries;
    }
    return retries;
}

START_TEST(test_polls_start_near_expected_end)
{
    /* A rule collection group takes 60 Azure s, and the emulator says to
     * poll every 10 (Retry-After); at time scale 0.01: 600 ms, every
     * 100 ms. */
    ctl0("POST", "/config", "{\"time_scale\":0.01}");
    zt_provider_config cfg = secret_cfg();
    zt_arm_client_options o = fast_opts(&cfg);
    o.time_scale = 0.01;
    zt_arm_client *c = client_opts(&o);
    zt_arena *a = zt_arena_new();
    zt_arm_resp r;
    const char *policy = zt_arena_printf(a, "%s/providers/Microsoft.Network/firewallPolicies/afwp-polls",
                                         rg_id(a));
    ASSERT_RC(arm(c, a, ZT_ARM_PUT, policy,
                  "{\"location\":\"westeurope\",\"properties\":{\"sku\":{\"tier\":\"Standard\"}}}", &r),
              ZT_OK, a, &r);
    unsigned polls[2];
    for (int expected = 0; expected < 2; expected++) {
        const char *id = zt_arena_printf(a, "%s/ruleCollectionGroups/rcg-%d", policy, expected);
        zt_rc rc = arm_req(c, a, (zt_arm_req){.method = ZT_ARM_PUT, .path = id,
                                              .expected_ms = expected ? 60000 : 0},
                           "{\"properties\":{\"priority\":200,\"ruleCollections\":[]}}", &r);
        ASSERT_RC(rc, ZT_OK, a, &r);
        ck_assert_str_eq(r.provisioning_state, "Succeeded");
        polls[expected] = r.polls;
        ASSERT_RC(arm(c, a, ZT_ARM_DELETE, id, NULL, &r), ZT_OK, a, &r);
    }
    ASSERT_RC(arm(c, a, ZT_ARM_DELETE, policy, NULL, &r), ZT_OK, a, &r);
    /* at the server's pace from the start: a poll per Retry-After (a slow
     * machine only makes fewer); from near the expected end: the
     * server's last polls (at 40, 50 and 60 of 60 s) */
    ck_assert_uint_ge(polls[0], 4);
    ck_assert_uint_le(polls[1], 3);
    fprintf(stderr, "rule collection group create: %u polls at Retry-After pace, %u from its "
                    "expected duration\n", polls[0], polls[1]);
    zt_arena_free(a);
    zt_arm_client_free(c);
}
END_TEST

/* Polls of one write: at the server's pace (expected 0), or from the
 * type's usual duration for the method (zt_arm_expected_ms). */
static unsigned polls_of(zt_arm_client *c, zt_arena *a, zt_arm_method m, const char *id,
                         const char *type, bool expected, const char *body)
{
    zt_arm_resp r;
    zt_arm_req req = {.method = m, .path = id,
                      .expected_ms = expected ? zt_arm_expected_ms(type, m) : 0};
    ASSERT_RC(arm_req(c, a, req, body, &r), ZT_OK, a, &r);
    return r.polls;
}

START_TEST(test_update_and_delete_polls_start_near_expected_end)
{
    /* A rule collection group's update takes 60 Azure s, a DNS resolver's
     * delete 60 (zt_arm_durations.def, which the emulator reads too), and
     * the emulator says to poll every 10; at time scale 0.01: 600 ms,
     * every 100 ms. */
    ctl0("POST", "/config", "{\"time_scale\":0.01}");
    zt_provider_config cfg = secret_cfg();
    zt_arm_client_options o = fast_opts(&cfg);
    o.time_scale = 0.01;
    zt_arm_client *c = client_opts(&o);
    zt_arena *a = zt_arena_new();
    zt_arm_resp r;
    const char *rcg_type = "Microsoft.Network/firewallPolicies/ruleCollectionGroups";
    const char *dnspr_type = "Microsoft.Network/dnsResolvers";
    const char *policy = zt_arena_printf(a, "%s/providers/Microsoft.Network/firewallPolicies/afwp-upd",
                                         rg_id(a));
    ASSERT_RC(arm(c, a, ZT_ARM_PUT, policy,
                  "{\"location\":\"westeurope\",\"properties\":{\"sku\":{\"tier\":\"Standard\"}}}", &r),
              ZT_OK, a, &r);
    const char *vnet = vnet_id(a, "vnet-polls");
    ASSERT_RC(arm(c, a, ZT_ARM_PUT, vnet, VNET_BODY, &r), ZT_OK, a, &r);
    const char *resolver_body = zt_arena_printf(
        a, "{\"location\":\"westeurope\",\"properties\":{\"virtualNetwork\":{\"id\":\"%s\"}}}", vnet);
    unsigned upd[2], del[2];
    for (int expected = 0; expected < 2; expected++) {
        const char *rcg = zt_arena_printf(a, "%s/ruleCollectionGroups/rcg-upd-%d", policy, expected);
        const char *body = "{\"properties\":{\"priority\":300,\"ruleCollections\":[]}}";
        ASSERT_RC(arm(c, a, ZT_ARM_PUT, rcg, body, &r), ZT_OK, a, &r); /* the create */
        upd[expected] = polls_of(c, a, ZT_ARM_PUT, rcg, rcg_type, expected, body);
        ASSERT_RC(arm(c, a, ZT_ARM_DELETE, rcg, NULL, &r), ZT_OK, a, &r);
        const char *dnspr = zt_arena_printf(a, "%s/providers/Microsoft.Network/dnsResolvers/dnspr-%d",
                                            rg_id(a), expected);
        ASSERT_RC(arm(c, a, ZT_ARM_PUT, dnspr, resolver_body, &r), ZT_OK, a, &r);
        del[expected] = polls_of(c, a, ZT_ARM_DELETE, dnspr, dnspr_type, expected, NULL);
    }
    ASSERT_RC(arm(c, a, ZT_ARM_DELETE, policy, NULL, &r), ZT_OK, a, &r);
    ASSERT_RC(arm(c, a, ZT_ARM_DELETE, vnet, NULL, &r), ZT_OK, a, &r);
    /* at the server's pace: a poll per Retry-After (a slow machine only
     * makes fewer); from near the expected end: the server's last polls
     * (at 40, 50 and 60 of 60 s) */
    ck_assert_uint_ge(upd[0], 4);
    ck_assert_uint_le(upd[1], 3);
    ck_assert_uint_ge(del[0], 4);
    ck_assert_uint_le(del[1], 3);
    fprintf(stderr, "rule collection group update: %u polls at Retry-After pace, %u from its "
                    "expected duration; DNS resolver delete: %u, %u\n", upd[0], upd[1], del[0], del[1]);
    zt_arena_free(a);
    zt_arm_client_free(c);
}
END_TEST

START_TEST(test_serialized_subnet_writes)
{
    zt_arm_client *c = secret_client();
    zt_arena *a = zt_arena_new();
    zt_arm_resp r;
    const char *vnet = vnet_id(a, "vnet-serial");
    ASSERT_RC(arm(c, a, ZT_ARM_PUT, vnet, VNET_BODY, &r), ZT_OK, a, &r);
    ctl0("POST", "/config", "{\"time_scale\":0.05}"); /* a subnet write takes 250 ms */
    /* Azure refuses overlapping writes to one VNet: without serialization
     * they fail with AnotherOperationInProgress and get retried... */
    unsigned free_for_all = put_subnets(c, vnet, 0, false);
    ck_assert_uint_gt(free_for_all, 0);
    /* ...with it, they queue on the client and never collide. */
    unsigned serialized = put_subnets(c, vnet, 20, true);
    ck_assert_uint_eq(serialized, 0);
    fprintf(stderr, "subnet writes: %u retries unserialized, %u serialized\n", free_for_all, serialized);
    zt_arena_free(a);
    zt_arm_client_free(c);
}
END_TEST

START_TEST(test_throttling_and_pacing)
{
    /* ARM's read bucket at 4 % (10 + 1/s) */
    ctl0("POST", "/throttling", "{\"enabled\":true,\"reads\":{\"capacity\":10,\"refill_per_second\":1}}");
    zt_provider_config cfg = secret_cfg();
    zt_arm_client_options o = fast_opts(&cfg);
    o.disable_pacing = true;
    zt_arm_client *c = client_opts(&o);
    gets g = {.c = c, .n = 14};
    parallel_gets(&g);
    ck_assert_int_eq(g.ok, 14); /* 429s, honoured, retried */
    ck_assert_uint_gt(g.retries, 0);
    unsigned unpaced = g.retries;
    zt_arm_client_free(c);

    /* With client-side buckets a little below the server's, nothing is
     * refused at all. */
    ctl0("POST", "/throttling", "{\"enabled\":true,\"reads\":{\"capacity\":10,\"refill_per_second\":1}}");
    o.disable_pacing = false;
    o.pace_scale = 0.035; /* 8.75 + 0.875/s */
    c = client_opts(&o);
    zt_arena *a = zt_arena_new();
    zt_arm_resp r;
    ASSERT_RC(probe(c, a, &r), ZT_OK, a, &r); /* the token fetch is not an ARM read */
    g = (gets){.c = c, .n = 11};
    parallel_gets(&g);
    ck_assert_int_eq(g.ok, 11);
    ck_assert_uint_eq(g.retries, 0);
    fprintf(stderr, "throttling: %u retries unpaced, %u paced\n", unpaced, g.retries);
    zt_arena_free(a);
    zt_arm_client_free(c);
}
END_TEST

int main(void)
{
    load_info();
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return EXIT_FAILURE;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    Suite *s = suite_create("arm_integration");
    TCase *cred = tcase_create("credentials");
    tcase_add_checked_fixture(cred, setup, NULL);
    tcase_set_timeout(cred, 120);
    tcase_add_test(cred, test_secret_and_lro_lifecycle);
    tcase_add_test(cred, test_secret_rejected);
    tcase_add_test(cred, test_certificate);
    tcase_add_test(cred, test_oidc_token_and_file);
    tcase_add_test(cred, test_oidc_github_actions);
    tcase_add_test(cred, test_managed_identity_imds);
    tcase_add_test(cred, test_managed_identity_app_service);
    tcase_add_test(cred, test_azure_cli_and_reauth);
    tcase_add_test(cred, test_azure_cli_inherits_no_socket);
    tcase_add_test(cred, test_chain_falls_through_unavailable);
    tcase_add_test(cred, test_token_cache_concurrency_and_expiry);
    tcase_add_test(cred, test_tls_verification_is_on);
    tcase_add_test(cred, test_system_ca_directory);
    tcase_add_test(cred, test_logs_hold_no_secrets);
    suite_add_tcase(s, cred);
    TCase *faults = tcase_create("faults");
    tcase_add_checked_fixture(faults, setup, NULL);
    tcase_set_timeout(faults, 120);
    tcase_add_test(faults, test_fault_429_retry_after);
    tcase_add_test(faults, test_fault_500_503);
    tcase_add_test(faults, test_fault_reset);
    tcase_add_test(faults, test_fault_hang_past_deadline);
    tcase_add_test(faults, test_fault_async_failed);
    tcase_add_test(faults, test_fault_conflicts_and_final_errors);
    tcase_add_test(faults, test_fault_principal_propagation);
    tcase_add_test(faults, test_lost_answer_counts_as_written);
    tcase_add_test(faults, test_foreign_polling_url_refused);
    tcase_add_test(faults, test_cancel_and_deadline_during_lro);
    tcase_add_test(faults, test_serialized_subnet_writes);
    tcase_add_test(faults, test_polls_start_near_expected_end);
    tcase_add_test(faults, test_update_and_delete_polls_start_near_expected_end);
    tcase_add_test(faults, test_throttling_and_pacing);
    suite_add_tcase(s, faults);
    int failed = zt_test_failures(s, false);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", g_dir);
    json_decref(g_info);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
