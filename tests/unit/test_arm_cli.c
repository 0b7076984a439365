/* Unit tests for the Azure CLI credential and token-response parsing, with
 * fake `az` scripts. */
#include "zt_arm_internal.h"

#include "zt_test.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_dir[] = "/tmp/zt-arm-cli-XXXXXX";
static bool g_have_dir;

static void ensure_dir(void)
{
    if (!g_have_dir)
        ck_assert_ptr_nonnull(mkdtemp(g_dir));
    g_have_dir = true;
}

static const char *script(const char *name, const char *body)
{
    static char path[8][160];
    static int i;
    i = (i + 1) % 8;
    ensure_dir();
    snprintf(path[i], sizeof(path[i]), "%s/%s", g_dir, name);
    FILE *f = fopen(path[i], "w");
    fprintf(f, "#!/bin/sh\n%s", body);
    fclose(f);
    chmod(path[i], 0700);
    return path[i];
}

static zt_rc run(const char *az, const char *tenant, int64_t timeout, const char **tok,
                 int64_t *exp, zt_arm_error **err, zt_arena *a)
{
    return zt_arm_cli_token(a, az, "https://management.azure.com/", tenant, timeout, NULL, tok,
                            exp, err);
}

START_TEST(test_cli_success_and_arguments)
{
    zt_arena *a = zt_arena_new();
    char body[512];
    snprintf(body, sizeof(body),
             "echo \"$@\" > %s/args\n"
             "echo \"{\\\"accessToken\\\":\\\"tok-cli\\\",\\\"expiresOn\\\":\\\"2030-01-02 03:04:05.000000\\\","
             "\\\"expires_on\\\":$(( $(date +%%s) + 3000 )),\\\"tokenType\\\":\\\"Bearer\\\"}\"\n",
             (ensure_dir(), g_dir));
    const char *az = script("az-ok", body);
    const char *tok = NULL;
    int64_t exp = 0;
    zt_arm_error *err = NULL;
    ck_assert_int_eq(run(az, "tenant-1", 5000, &tok, &exp, &err, a), ZT_OK);
    ck_assert_str_eq(tok, "tok-cli");
    ck_assert_int_le(llabs(exp - (zt_arm_realtime_s() + 3000)), 5);
    char *args;
    size_t len;
    ck_assert_int_eq(zt_arm_read_file(zt_arena_printf(a, "%s/args", g_dir), 4096, &args, &len), ZT_OK);
    ck_assert_str_eq(zt_arm_trim(args),
                     "account get-access-token --resource https://management.azure.com/ -o json --tenant tenant-1");
    zt_arm_free_secret(args, len);
    zt_arena_free(a);
}
END_TEST

START_TEST(test_cli_failures)
{
    zt_arena *a = zt_arena_new();
    const char *tok = NULL;
    int64_t exp = 0;
    zt_arm_error *err = NULL;
    const char *az = script("az-login", "echo \"ERROR: Please run 'az login' to setup account.\" >&2\nexit 1\n");
    ck_assert_int_eq(run(az, NULL, 5000, &tok, &exp, &err, a), ZT_ERR_REMOTE);
    ck_assert_ptr_nonnull(strstr(err->message, "az login"));

    ck_assert_int_eq(run("/nonexistent/az", NULL, 5000, &tok, &exp, &err, a), ZT_ERR_UNSUPPORTED);

    az = script("az-garbage", "echo not json\n");
    ck_assert_int_eq(run(az, NULL, 5000, &tok, &exp, &err, a), ZT_ERR_DECODE);

    /* an az that never stops talking is killed at once, not waited for */
    az = script("az-chatty", "exec yes '{\"accessToken\":\"x\"}'\n");
    int64_t t_chatty = zt_arm_now_ms();
    ck_assert_int_eq(run(az, NULL, 20000, &tok, &exp, &err, a), ZT_ERR_DECODE);
    ck_assert_int_lt(zt_arm_now_ms() - t_chatty, 5000);
    ck_assert_ptr_nonnull(strstr(err->message, "256 KiB"));

    /* a hung az is killed at the timeout */
    az = script("az-hang", "exec sleep 30\n");
    int64_t t0 = zt_arm_now_ms();
    ck_assert_int_eq(run(az, NULL, 300, &tok, &exp, &err, a), ZT_ERR_TIMEOUT);
    ck_assert_int_lt(zt_arm_now_ms() - t0, 2000);
    zt_arena_free(a);
}
END_TEST

START_TEST(test_token_responses)
{
    zt_arena *a = zt_arena_new();
    const char *t;
    int64_t e;
    const int64_t now = 1700000000;
    const char *entra = "{\"token_type\":\"Bearer\",\"expires_in\":3599,\"ext_expires_in\":3599,\"access_token\":\"A\"}";
    ck_assert_int_eq(zt_arm_parse_token_response(a, entra, strlen(entra), now, &t, &e), ZT_OK);
    ck_assert_str_eq(t, "A");
    ck_assert_int_eq(e, now + 3599);
    /* IMDS: every value a string */
    const char *imds = "{\"access_token\":\"B\",\"refresh_token\":\"\",\"expires_in\":\"86400\","
                       "\"expires_on\":\"1700086400\",\"not_before\":\"1700000000\",\"resource\":\"https://management.azure.com/\",\"token_type\":\"Bearer\"}";
    ck_assert_int_eq(zt_arm_parse_token_response(a, imds, strlen(imds), now, &t, &e), ZT_OK);
    ck_assert_str_eq(t, "B");
    ck_assert_int_eq(e, 1700086400);
    /* what a server says is believed within a day, never wrapping around */
    static const char *const odd[] = {
        "{\"access_token\":\"C\",\"expires_in\":9223372036854775807}",
        "{\"access_token\":\"C\",\"expires_in\":\"99999999999999999999999\"}",
        "{\"access_token\":\"C\",\"expires_on\":1e300}",
        "{\"access_token\":\"C\",\"expires_on\":4102444800}",
        "{\"access_token\":\"C\",\"expires_in\":-5}",
    };
    static const int64_t want[] = {now + 86400, now + 600, now + 600, now + 86400, now};
    for (size_t i = 0; i < ZT_ARRAY_LEN(odd); i++) {
        ck_assert_int_eq(zt_arm_parse_token_response(a, odd[i], strlen(odd[i]), now, &t, &e), ZT_OK);
        ck_assert_msg(e == want[i], "%s: expires_on %lld", odd[i], (long long)e);
    }
    const char *bad[] = {"{}", "[]", "{\"access_token\":\"\"}", "{\"access_token\":5}", "nope"};
    for (size_t i = 0; i < ZT_ARRAY_LEN(bad); i++)
        ck_assert_int_eq(zt_arm_parse_token_response(a, bad[i], strlen(bad[i]), now, &t, &e), ZT_ERR_DECODE);
    zt_arena_free(a);
}
END_TEST

START_TEST(test_cred_chain_config)
{
    zt_arena *a = zt_arena_new();
    zt_diags d;
    zt_arm_cloud cloud = {"public", "https://login.microsoftonline.com", "https://management.azure.com",
                          "https://management.azure.com/", "https://management.azure.com/.default"};
    zt_arm_cred *c = NULL;
    unsetenv("ACTIONS_ID_TOKEN_REQUEST_URL");
    unsetenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN");
    unsetenv("AZURE_FEDERATED_TOKEN_FILE");
    unsetenv("AZURE_CLIENT_ID");
    unsetenv("AZURE_TENANT_ID");

    /* nothing enabled */
    zt_provider_config none = {0};
    zt_diags_init(&d, a);
    ck_assert_int_eq(zt_arm_cred_new(&none, &cloud, NULL, NULL, &d, &c), ZT_ERR_INVALID);
    ck_assert_uint_eq(d.errors, 1);
    ck_assert_str_eq(d.head->summary, "No Azure credentials configured");

    /* OIDC without any token source: an error, not a silent fallback */
    zt_provider_config oidc = {.use_oidc = true, .tenant_id = "t", .client_id = "c", .use_cli = true};
    zt_diags_init(&d, a);
    ck_assert_int_eq(zt_arm_cred_new(&oidc, &cloud, NULL, NULL, &d, &c), ZT_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(d.head->detail, "ACTIONS_ID_TOKEN_REQUEST_URL"));
    /* ... and with the GitHub variables it is fine */
    setenv("ACTIONS_ID_TOKEN_REQUEST_URL", "https://gh.example/token?api-version=2.0", 1);
    setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "gh-secret", 1);
    zt_diags_init(&d, a);
    ck_assert_int_eq(zt_arm_cred_new(&oidc, &cloud, NULL, NULL, &d, &c), ZT_OK);
    zt_arm_cred_free(c);
    unsetenv("ACTIONS_ID_TOKEN_REQUEST_URL");
    unsetenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN");

    /* secrets need tenant and client ids */
    zt_provider_config secret = {.client_secret = "s", .tenant_id = "t"};
    zt_diags_init(&d, a);
    ck_assert_int_eq(zt_arm_cred_new(&secret, &cloud, NULL, NULL, &d, &c), ZT_ERR_INVALID);
    ck_assert_str_eq(zt_path_str(a, d.head->path), "client_id");

    /* a user-assigned identity is chosen one way only */
    zt_provider_config msi = {.use_msi = true, .client_id = "c", .msi_res_id = "/subscriptions/x"};
    zt_diags_init(&d, a);
    ck_assert_int_eq(zt_arm_cred_new(&msi, &cloud, NULL, NULL, &d, &c), ZT_ERR_INVALID);

    /* client_id from a file */
    const char *idfile = script("client-id", "");
    FILE *f = fopen(idfile, "w");
    fputs("  11111111-2222-3333-4444-555555555555\n", f);
    fclose(f);
    zt_provider_config fromfile = {.client_secret = "s", .tenant_id = "t", .client_id_file_path = idfile};
    zt_diags_init(&d, a);
    ck_assert_int_eq(zt_arm_cred_new(&fromfile, &cloud, NULL, NULL, &d, &c), ZT_OK);
    zt_arm_cred_free(c);
    zt_arena_free(a);
}
END_TEST

START_TEST(test_cli_through_the_chain)
{
    zt_arena *a = zt_arena_new();
    zt_diags d;
    zt_diags_init(&d, a);
    zt_arm_cloud cloud = {"public", "https://login.microsoftonline.com", "https://management.azure.com",
                          "https://management.azure.com/", "https://management.azure.com/.default"};
    const char *az = script("az-chain", "echo '{\"accessToken\":\"tok-chain\",\"expires_on\":4102444800}'\n");
    /* MSI is first in the chain but IMDS is unreachable here: the chain
     * moves on to the CLI. */
    zt_provider_config cfg = {.use_msi = true, .use_cli = true,
                              .msi_endpoint = "http://127.0.0.1:1/metadata/identity/oauth2/token"};
    zt_arm_cred_options opts = {.az_path = az};
    zt_arm_http *http = NULL;
    ck_assert_int_eq(zt_arm_http_new(NULL, &d, &http), ZT_OK);
    zt_arm_cred *c = NULL;
    ck_assert_int_eq(zt_arm_cred_new(&cfg, &cloud, http, &opts, &d, &c), ZT_OK);
    const char *tok = NULL;
    zt_arm_error *err = NULL;
    ck_assert_int_eq(zt_arm_cred_token(c, a, zt_arm_deadline_in(10000), NULL, &tok, &err), ZT_OK);
    ck_assert_str_eq(tok, "tok-chain");
    ck_assert_int_eq(zt_arm_cred_kind_used(c), ZT_ARM_CRED_CLI);
    /* cached */
    ck_assert_int_eq(zt_arm_cred_token(c, a, zt_arm_deadline_in(10000), NULL, &tok, &err), ZT_OK);
    ck_assert_uint_eq(zt_arm_cred_fetches(c), 1);
    zt_arm_cred_free(c);
    zt_arm_http_free(http);
    zt_arena_free(a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("arm_cli");
    TCase *tc = tcase_create("cli");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_cli_success_and_arguments);
    tcase_add_test(tc, test_cli_failures);
    tcase_add_test(tc, test_token_responses);
    tcase_add_test(tc, test_cred_chain_config);
    tcase_add_test(tc, test_cli_through_the_chain);
    suite_add_tcase(s, tc);
    int failed = zt_test_failures(s, true);  /* the scripts' directory is shared */
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    if (g_have_dir && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", g_dir);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
