/* Unit tests for long-running operation detection, status parsing and
 * ARM error bodies. */
#include "zt_arm_internal.h"

#include "zt_test.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define RES "https://management.azure.com/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v?api-version=2025-09-01"
#define ASYNC "https://management.azure.com/subscriptions/s/providers/Microsoft.Network/locations/westeurope/operations/op1?api-version=2025-09-01"
#define LOC "https://management.azure.com/subscriptions/s/providers/Microsoft.Network/locations/westeurope/operationResults/op1?api-version=2025-09-01"

typedef struct {
    const char *names[4];
    const char *values[4];
    zt_arm_http_resp r;
} fake_resp;

static void make(fake_resp *f, long status, const char *async, const char *loc)
{
    memset(f, 0, sizeof(*f));
    size_t n = 0;
    if (async) {
        f->names[n] = "Azure-AsyncOperation";
        f->values[n++] = async;
    }
    if (loc) {
        f->names[n] = "location"; /* header names are case-insensitive */
        f->values[n++] = loc;
    }
    f->names[n] = "Retry-After";
    f->values[n++] = "1";
    f->r.status = status;
    f->r.header_names = f->names;
    f->r.header_values = f->values;
    f->r.n_headers = n;
}

static zt_arm_lro begin(zt_arena *a, zt_arm_method m, long status, const char *async,
                        const char *loc, const char *body)
{
    fake_resp f;
    make(&f, status, async, loc);
    json_t *j = body ? json_loads(body, 0, NULL) : NULL;
    zt_arm_lro l = zt_arm_lro_begin(a, m, RES, &f.r, j);
    json_decref(j);
    return l;
}

START_TEST(test_header_selection)
{
    zt_arena *a = zt_arena_new();
    const char *creating = "{\"properties\":{\"provisioningState\":\"Creating\"}}";
    const char *done = "{\"properties\":{\"provisioningState\":\"Succeeded\"}}";

    /* Azure-AsyncOperation wins over Location */
    zt_arm_lro l = begin(a, ZT_ARM_PUT, 201, ASYNC, LOC, creating);
    ck_assert_int_eq(l.kind, ZT_ARM_LRO_ASYNC_OP);
    ck_assert_str_eq(l.poll_url, ASYNC);
    ck_assert_str_eq(l.location, LOC);
    /* even when the body already says Succeeded (the SDKs poll too) */
    l = begin(a, ZT_ARM_PUT, 200, ASYNC, NULL, done);
    ck_assert_int_eq(l.kind, ZT_ARM_LRO_ASYNC_OP);

    /* Location on a 202 */
    l = begin(a, ZT_ARM_DELETE, 202, NULL, LOC, NULL);
    ck_assert_int_eq(l.kind, ZT_ARM_LRO_LOCATION);
    ck_assert_str_eq(l.poll_url, LOC);
    l = begin(a, ZT_ARM_POST, 202, NULL, LOC, NULL);
    ck_assert_int_eq(l.kind, ZT_ARM_LRO_LOCATION);
    /* a Location on a 201 with a terminal body: nothing left to follow */
    l = begin(a, ZT_ARM_PUT, 201, NULL, LOC, done);
    ck_assert_int_eq(l.kind, ZT_ARM_LRO_NONE);
    /* ...with a running or empty body it is the operation (private DNS) */
    l = begin(a, ZT_ARM_PUT, 201, NULL, LOC, creating);
    ck_assert_int_eq(l.kind, ZT_ARM_LRO_LOCATION);
    ck_assert_str_eq(l.poll_url, LOC);
    l = begin(a, ZT_ARM_PUT, 200, NULL, LOC, "{}");
    ck_assert_int_eq(l.kind, ZT_ARM_LRO_LOCATION);
    /* ...unless it is the resource's own address */
    l = begin(a, ZT_ARM_PUT, 201, NULL, RES, creating);
    ck_assert_int_eq(l.kind, ZT_ARM_LRO_RESOURCE);

    /* no headers: the resource itself while it is not terminal */
    l = begin(a, ZT_ARM_PUT, 201, NULL, NULL, creating);
    ck_assert_int_eq(l.kind, ZT_ARM_LRO_RESOURCE);
    ck_assert_str_eq(l.poll_url, RES);
    l = begin(a, ZT_ARM_PATCH, 200, NULL, NULL, "{\"properties\":{\"provisioningState\":\"Updating\"}}");
    ck_assert_int_eq(l.kind, ZT_ARM_LRO_RESOURCE);
    l = begin(a, ZT_ARM_PUT, 200, NULL, NULL, done);
    ck_assert_int_eq(l.kind, ZT_ARM_LRO_NONE);
    l = begin(a, ZT_ARM_PUT, 200, NULL, NULL, "{\"properties\":{}}");
    ck_assert_int_eq(l.kind, ZT_ARM_LRO_NONE);
    l = begin(a, ZT_ARM_DELETE, 202, NULL, NULL, NULL);
    ck_assert_int_eq(l.kind, ZT_ARM_LRO_RESOURCE);

    /* nothing to follow */
    ck_assert_int_eq(begin(a, ZT_ARM_DELETE, 204, NULL, NULL, NULL).kind, ZT_ARM_LRO_NONE);
    ck_assert_int_eq(begin(a, ZT_ARM_DELETE, 200, NULL, NULL, NULL).kind, ZT_ARM_LRO_NONE);
    ck_assert_int_eq(begin(a, ZT_ARM_GET, 200, ASYNC, LOC, creating).kind, ZT_ARM_LRO_NONE);
    ck_assert_int_eq(begin(a, ZT_ARM_PUT, 409, ASYNC, LOC, creating).kind, ZT_ARM_LRO_NONE);
    ck_assert_int_eq(begin(a, ZT_ARM_POST, 200, NULL, NULL, NULL).kind, ZT_ARM_LRO_NONE);
    /* empty header values are as good as absent */
    ck_assert_int_eq(begin(a, ZT_ARM_PUT, 201, "", NULL, done).kind, ZT_ARM_LRO_NONE);
    zt_arena_free(a);
}
END_TEST

START_TEST(test_status_parsing)
{
    ck_assert_int_eq(zt_arm_lro_state_parse("Succeeded"), ZT_ARM_LRO_SUCCEEDED);
    ck_assert_int_eq(zt_arm_lro_state_parse("succeeded"), ZT_ARM_LRO_SUCCEEDED);
    ck_assert_int_eq(zt_arm_lro_state_parse("Failed"), ZT_ARM_LRO_FAILED);
    ck_assert_int_eq(zt_arm_lro_state_parse("Canceled"), ZT_ARM_LRO_CANCELED);
    ck_assert_int_eq(zt_arm_lro_state_parse("Cancelled"), ZT_ARM_LRO_CANCELED);
    const char *running[] = {"InProgress", "Accepted", "Creating", "Updating", "Deleting",
                             "Running", "Ready", "Provisioning", "SomethingNew", ""};
    for (size_t i = 0; i < ZT_ARRAY_LEN(running); i++)
        ck_assert_int_eq(zt_arm_lro_state_parse(running[i]), ZT_ARM_LRO_RUNNING);
    ck_assert_int_eq(zt_arm_lro_state_parse(NULL), ZT_ARM_LRO_RUNNING);

    json_t *op = json_loads("{\"status\":\"InProgress\",\"properties\":{\"provisioningState\":\"Succeeded\"}}", 0, NULL);
    ck_assert_str_eq(zt_arm_lro_status_of(op, ZT_ARM_LRO_ASYNC_OP), "InProgress");
    ck_assert_str_eq(zt_arm_lro_status_of(op, ZT_ARM_LRO_RESOURCE), "Succeeded");
    json_decref(op);
    json_t *top = json_loads("{\"provisioningState\":\"Updating\"}", 0, NULL);
    ck_assert_str_eq(zt_arm_provisioning_state(top), "Updating");
    ck_assert_ptr_null(zt_arm_lro_status_of(top, ZT_ARM_LRO_ASYNC_OP));
    json_decref(top);
    ck_assert_ptr_null(zt_arm_provisioning_state(NULL));
}
END_TEST

/* Updates and deletes are first polled near Azure's usual duration of
 * their type (zt_arm_durations.def): the figures reach the client in ms,
 * by method, whatever the letter case; creates, reads and unknown or
 * synchronous types have none. */
START_TEST(test_expected_durations)
{
    const char *fw = "Microsoft.Network/azureFirewalls";
    ck_assert_int_eq(zt_arm_expected_ms(fw, ZT_ARM_PUT), 240000);
    ck_assert_int_eq(zt_arm_expected_ms(fw, ZT_ARM_PATCH), 240000);
    ck_assert_int_eq(zt_arm_expected_ms(fw, ZT_ARM_DELETE), 300000);
    ck_assert_int_eq(zt_arm_expected_ms("microsoft.network/AZUREFIREWALLS", ZT_ARM_DELETE), 300000);
    ck_assert_int_eq(zt_arm_expected_ms("Microsoft.Network/virtualNetworkGateways", ZT_ARM_DELETE),
                     1200000);
    ck_assert_int_eq(zt_arm_expected_ms("Microsoft.Network/firewallPolicies/ruleCollectionGroups",
                                        ZT_ARM_PUT), 60000);
    ck_assert_int_eq(zt_arm_expected_ms("Microsoft.Databricks/workspaces", ZT_ARM_DELETE), 600000);
    ck_assert_int_eq(zt_arm_expected_ms(fw, ZT_ARM_GET), 0);
    ck_assert_int_eq(zt_arm_expected_ms(fw, ZT_ARM_POST), 0);
    ck_assert_int_eq(zt_arm_expected_ms("Microsoft.KeyVault/vaults", ZT_ARM_DELETE), 0);
    ck_assert_int_eq(zt_arm_expected_ms("Microsoft.Insights/diagnosticSettings", ZT_ARM_PUT), 0);
    ck_assert_int_eq(zt_arm_expected_ms(NULL, ZT_ARM_DELETE), 0);
}
END_TEST

/* When an operation ending at end (ms after its first answer) is polled,
 * with Retry-After server (-1: none) and an expected duration (0: none):
 * the times of the polls, up to the first at or after its end. */
#define T0 1000000
static unsigned poll_times(const zt_arm_poll_limits *l, int64_t server, int64_t expected,
                           int64_t end, int64_t deadline, int64_t *at, unsigned max)
{
    int64_t t = T0;
    unsigned n = 0;
    while (n < max) {
        t += zt_arm_lro_poll_wait(l, server, t, expected ? T0 + expected : 0, T0 + deadline);
        at[n++] = t - T0;
        if (t - T0 >= end)
            break;
    }
    return n;
}

START_TEST(test_poll_schedule)
{
    const zt_arm_poll_limits azure = {.default_ms = 5000, .min_ms = 1000, .max_ms = 300000};
    int64_t at[64];
    const int64_t hour = 3600000;
    /* a 60 s write, Retry-After 10 s: every 10 s without an expectation;
     * with one, the early polls are skipped and those left are the
     * server's own (40, 50, 60 s), so the end is heard when it would have
     * been at the server's pace, not at 45, 56 and 66 s */
    ck_assert_uint_eq(poll_times(&azure, 10000, 0, 60000, hour, at, 64), 6);
    ck_assert_int_eq(at[5], 60000);
    ck_assert_uint_eq(poll_times(&azure, 10000, 60000, 60000, hour, at, 64), 3);
    ck_assert_int_eq(at[0], 40000);
    ck_assert_int_eq(at[1], 50000);
    ck_assert_int_eq(at[2], 60000);
    /* a 20-minute VPN gateway delete: 7 polls instead of 120 (no wait
     * longer than the 5-minute ceiling) */
    ck_assert_uint_eq(poll_times(&azure, 10000, 1200000, 1200000, hour, at, 64), 7);
    ck_assert_int_eq(at[0], 300000);
    ck_assert_int_eq(at[3], 1120000);
    ck_assert_int_eq(at[6], 1200000);
    /* no Retry-After: the client's own interval is the step */
    ck_assert_uint_eq(poll_times(&azure, -1, 60000, 60000, hour, at, 64), 3);
    ck_assert_int_eq(at[0], 45000);
    /* the floor holds against the server and the estimate alike */
    ck_assert_int_eq(zt_arm_lro_poll_wait(&azure, 10, T0, 0, T0 + hour), 1000);
    ck_assert_int_eq(zt_arm_lro_poll_wait(&azure, 10, T0, T0 + 1200, T0 + hour), 1000);
    /* a server's wait is honoured, up to the ceiling */
    ck_assert_int_eq(zt_arm_lro_poll_wait(&azure, 30000, T0, 0, T0 + hour), 30000);
    ck_assert_int_eq(zt_arm_lro_poll_wait(&azure, 2 * hour, T0, 0, T0 + 3 * hour), 300000);
    /* an estimate never sleeps past the deadline */
    ck_assert_int_eq(zt_arm_lro_poll_wait(&azure, 10000, T0, T0 + 600000, T0 + 300000), 10000);
    /* whatever the duration and the server's pace: the end heard when the
     * server's pace would have heard it, with no more polls */
    const zt_arm_poll_limits any = {.default_ms = 5000, .min_ms = 1, .max_ms = 300000};
    const int64_t paces[] = {1000, 2000, 5000, 7000, 10000, 15000, 30000};
    for (size_t p = 0; p < ZT_ARRAY_LEN(paces); p++)
        for (int64_t end = 1000; end <= 1200000; end += 7000) {
            int64_t s = paces[p], at_pace = (end + s - 1) / s * s;
            unsigned n = poll_times(&any, s, end, end, 10 * hour, at, 64);
            ck_assert_msg(at[n - 1] == at_pace, "end %lld, pace %lld: heard at %lld, not %lld",
                          (long long)end, (long long)s, (long long)at[n - 1], (long long)at_pace);
            ck_assert_uint_le(n, (unsigned)(at_pace / s));
        }
}
END_TEST

START_TEST(test_error_envelopes)
{
    zt_arena *a = zt_arena_new();
    const char *arm = "{\"error\":{\"code\":\"InvalidTemplateDeployment\",\"message\":\"outer\","
                      "\"target\":\"properties.subnets\",\"details\":[{\"code\":\"RoleAssignmentExists\","
                      "\"message\":\"The role assignment already exists.\",\"details\":["
                      "{\"code\":\"Deep\",\"message\":\"d\"}]}]}}";
    zt_arm_error *e = zt_arm_error_parse(a, 409, arm, strlen(arm));
    ck_assert_int_eq(e->status, 409);
    ck_assert_str_eq(e->code, "InvalidTemplateDeployment");
    ck_assert_str_eq(e->message, "outer");
    ck_assert_str_eq(e->target, "properties.subnets");
    ck_assert_uint_eq(e->n_details, 1);
    ck_assert_str_eq(e->details[0].code, "RoleAssignmentExists");
    ck_assert(zt_arm_error_has_code(e, "RoleAssignmentExists"));
    ck_assert(zt_arm_error_has_code(e, "deep"));
    ck_assert(!zt_arm_error_has_code(e, "Other"));
    e->request_id = "rid-1";
    const char *s = zt_arm_error_str(a, e);
    ck_assert_ptr_nonnull(strstr(s, "HTTP 409 InvalidTemplateDeployment: outer"));
    ck_assert_ptr_nonnull(strstr(s, "RoleAssignmentExists: The role assignment already exists."));
    ck_assert_ptr_nonnull(strstr(s, "x-ms-request-id rid-1"));

    const char *entra = "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215: "
                        "Invalid client secret\",\"trace_id\":\"t1\",\"correlation_id\":\"c1\"}";
    e = zt_arm_error_parse(a, 401, entra, strlen(entra));
    ck_assert_str_eq(e->code, "invalid_client");
    ck_assert_str_eq(e->message, "AADSTS7000215: Invalid client secret");
    ck_assert_str_eq(e->request_id, "t1");
    ck_assert_str_eq(e->correlation_id, "c1");

    e = zt_arm_error_parse(a, 502, "  <html>Bad gateway</html>\n", 27);
    ck_assert_str_eq(e->code, "");
    ck_assert_str_eq(e->message, "<html>Bad gateway</html>");
    const char *bare = "{\"code\":\"BadRequest\",\"message\":\"bare\"}";
    e = zt_arm_error_parse(a, 400, bare, strlen(bare));
    ck_assert_str_eq(e->code, "BadRequest");
    e = zt_arm_error_parse(a, 500, NULL, 0);
    ck_assert_str_eq(e->code, "");
    ck_assert_str_eq(e->message, "");
    /* hostile input: deep nesting is bounded, garbage is text */
    const char *odd = "{\"error\":{\"details\":[1,\"x\",null]}}";
    e = zt_arm_error_parse(a, 400, odd, strlen(odd));
    ck_assert_uint_eq(e->n_details, 3);
    ck_assert_str_eq(e->details[1].code, "");
    zt_arena_free(a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("arm_lro");
    TCase *tc = tcase_create("lro");
    tcase_add_test(tc, test_header_selection);
    tcase_add_test(tc, test_status_parsing);
    tcase_add_test(tc, test_expected_durations);
    tcase_add_test(tc, test_poll_schedule);
    tcase_add_test(tc, test_error_envelopes);
    suite_add_tcase(s, tc);
    return zt_test_run(s);
}
