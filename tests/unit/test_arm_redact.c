/* Unit tests for redaction and the small helpers it relies on; and an end
 * to end check that a token never reaches the log: a client with a fake
 * `az` (CLI credential) sends requests at TRACE level to a port where
 * nothing listens, and the captured stderr is searched for the token. */
#include "zt_arm_internal.h"
#include "zt_log.h"

#include "zt_test.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

START_TEST(test_redact_headers)
{
    zt_arena *a = zt_arena_new();
    ck_assert_str_eq(zt_arm_redact_header(a, "Authorization: Bearer eyJhbGciOi.x.y"),
                     "Authorization: [REDACTED]");
    ck_assert_str_eq(zt_arm_redact_header(a, "authorization:Bearer x"), "authorization: [REDACTED]");
    ck_assert_str_eq(zt_arm_redact_header(a, "Proxy-Authorization: Basic eA=="),
                     "Proxy-Authorization: [REDACTED]");
    ck_assert_str_eq(zt_arm_redact_header(a, "X-IDENTITY-HEADER: abc"), "X-IDENTITY-HEADER: [REDACTED]");
    ck_assert_str_eq(zt_arm_redact_header(a, "Secret: abc"), "Secret: [REDACTED]");
    ck_assert_str_eq(zt_arm_redact_header(a, "Cookie: a=b"), "Cookie: [REDACTED]");
    /* harmless headers stay readable */
    ck_assert_str_eq(zt_arm_redact_header(a, "Metadata: true"), "Metadata: true");
    ck_assert_str_eq(zt_arm_redact_header(a, "x-ms-client-request-id: 1-2"), "x-ms-client-request-id: 1-2");
    ck_assert_str_eq(zt_arm_redact_header(a, "Authorizations-Count: 1"), "Authorizations-Count: 1");
    ck_assert_str_eq(zt_arm_redact_header(a, "no colon"), "no colon");
    zt_arena_free(a);
}
END_TEST

START_TEST(test_redact_urls)
{
    zt_arena *a = zt_arena_new();
    ck_assert_str_eq(zt_arm_redact_url(a, "https://h/p?api-version=2025-09-01"),
                     "https://h/p?api-version=2025-09-01");
    ck_assert_str_eq(zt_arm_redact_url(a, "https://sa.blob/c?sv=1&sig=abc%2B&se=2"),
                     "https://sa.blob/c?sv=1&sig=[REDACTED]&se=2");
    ck_assert_str_eq(zt_arm_redact_url(a, "https://h/t?client_secret=s3&client_assertion=eyJ&x=1"),
                     "https://h/t?client_secret=[REDACTED]&client_assertion=[REDACTED]&x=1");
    ck_assert_str_eq(zt_arm_redact_url(a, "https://h/?token=t#frag"), "https://h/?token=[REDACTED]#frag");
    ck_assert_str_eq(zt_arm_redact_url(a, "https://h/p"), "https://h/p");
    ck_assert_str_eq(zt_arm_redact_url(a, "https://h/p?flag&code=x"), "https://h/p?flag&code=[REDACTED]");
    zt_arena_free(a);
}
END_TEST

START_TEST(test_helpers)
{
    zt_arena *a = zt_arena_new();
    char u1[37], u2[37];
    zt_arm_uuid4(u1);
    zt_arm_uuid4(u2);
    ck_assert_uint_eq(strlen(u1), 36);
    ck_assert_str_ne(u1, u2);
    ck_assert(u1[8] == '-' && u1[13] == '-' && u1[18] == '-' && u1[23] == '-');
    ck_assert_int_eq(u1[14], '4');
    ck_assert_ptr_nonnull(strchr("89ab", u1[19]));

    ck_assert_str_eq(zt_arm_url_encode(a, "api://AzureADTokenExchange"), "api%3A%2F%2FAzureADTokenExchange");
    ck_assert_str_eq(zt_arm_url_encode(a, "a b+c~_.-"), "a%20b%2Bc~_.-");

    ck_assert_str_eq(zt_arm_url_origin(a, "https://Management.Azure.com/subscriptions/x?y"),
                     "https://management.azure.com");
    ck_assert_str_eq(zt_arm_url_origin(a, "https://management.azure.com:443/x"), "https://management.azure.com");
    ck_assert_str_eq(zt_arm_url_origin(a, "https://127.0.0.1:8443"), "https://127.0.0.1:8443");
    ck_assert_str_ne(zt_arm_url_origin(a, "https://evil.example/management.azure.com"),
                     "https://management.azure.com");
    ck_assert_ptr_null(zt_arm_url_origin(a, "/relative/path"));

    /* sleep: deadline and cancel */
    int64_t t0 = zt_arm_now_ms();
    ck_assert_int_eq(zt_arm_sleep(1000, t0 + 100, NULL), ZT_ERR_TIMEOUT);
    ck_assert_int_lt(zt_arm_now_ms() - t0, 400);
    atomic_bool stop = true;
    t0 = zt_arm_now_ms();
    ck_assert_int_eq(zt_arm_sleep(5000, 0, &stop), ZT_ERR_CANCELLED);
    ck_assert_int_lt(zt_arm_now_ms() - t0, 200);
    ck_assert_int_eq(zt_arm_sleep(20, 0, NULL), ZT_OK);
    zt_arena_free(a);
}
END_TEST

#define TOKEN "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.SECRET-TOKEN-VALUE.sig"

static char g_dir[] = "/tmp/zt-arm-redact-XXXXXX";

static const char *write_fake_az(void)
{
    static char path[128];
    snprintf(path, sizeof(path), "%s/az", g_dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "#!/bin/sh\n"
               "cat <<'EOF'\n"
               "{\"accessToken\":\"%s\",\"expires_on\":4102444800,\"tokenType\":\"Bearer\"}\n"
               "EOF\n", TOKEN);
    fclose(f);
    chmod(path, 0700);
    return path;
}

START_TEST(test_token_never_logged)
{
    ck_assert_ptr_nonnull(mkdtemp(g_dir));
    const char *az = write_fake_az();
    char logpath[128];
    snprintf(logpath, sizeof(logpath), "%s/log", g_dir);

    /* stderr -> file */
    fflush(stderr);
    int saved = dup(2);
    int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    close(fd);
    zt_log_set_level(ZT_LOG_TRACE);

    zt_provider_config cfg = {.use_cli = true,
                              .resource_manager_endpoint = "https://127.0.0.1:1"};
    zt_arm_client_options o = {.config = &cfg, .retry_base_ms = 5, .max_attempts = 3,
                               .cred = {.az_path = az}};
    zt_arena *a = zt_arena_new();
    zt_diags d;
    zt_diags_init(&d, a);
    zt_arm_client *c = NULL;
    zt_rc rc = zt_arm_client_new(&o, &d, &c);
    zt_arm_resp resp;
    zt_arm_req req = {.method = ZT_ARM_GET,
                      .path = "/subscriptions/s1/resourceGroups/rg",
                      .query = "x=1",
                      .deadline_ms = zt_arm_deadline_in(10000)};
    zt_rc get_rc = rc == ZT_OK ? zt_arm_do(c, a, &req, &resp) : rc;

    zt_log_set_level(ZT_LOG_OFF);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);

    ck_assert_int_eq(rc, ZT_OK);
    ck_assert_int_eq(get_rc, ZT_ERR_HTTP); /* connection refused, retried */
    ck_assert_uint_eq(resp.attempts, 3);
    ck_assert_int_eq(zt_arm_cred_kind_used(zt_arm_client_cred(c)), ZT_ARM_CRED_CLI);

    char *log;
    size_t len;
    ck_assert_int_eq(zt_arm_read_file(logpath, 1 << 22, &log, &len), ZT_OK);
    ck_assert_ptr_nonnull(strstr(log, "Authorization: [REDACTED]"));
    ck_assert_ptr_nonnull(strstr(log, "x-ms-client-request-id"));
    ck_assert_ptr_nonnull(strstr(log, "arm request"));
    ck_assert_msg(strstr(log, "SECRET-TOKEN-VALUE") == NULL, "the token leaked into the log");
    ck_assert_ptr_null(strstr(log, "Bearer ey"));
    zt_arm_free_secret(log, len);

    zt_diags_init(&d, a);
    zt_arm_diag(&d, get_rc, &req, &resp, "Cannot read the resource group");
    ck_assert_uint_eq(d.errors, 1);
    ck_assert_ptr_nonnull(strstr(d.head->detail, "GET /subscriptions/s1/resourceGroups/rg"));
    ck_assert_ptr_null(strstr(d.head->detail, "SECRET-TOKEN-VALUE"));

    zt_arm_client_free(c);
    zt_arena_free(a);
    unlink(logpath);
    unlink(az);
    rmdir(g_dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("arm_redact");
    TCase *tc = tcase_create("redact");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_redact_headers);
    tcase_add_test(tc, test_redact_urls);
    tcase_add_test(tc, test_helpers);
    tcase_add_test(tc, test_token_never_logged);
    suite_add_tcase(s, tc);
    return zt_test_run(s);
}
