/* Unit tests for the retry policy: which answers are retried, backoff
 * bounds, Retry-After parsing. */
#include "zt_arm_internal.h"

#include "zt_test.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static zt_arm_error *err(zt_arena *a, long status, const char *body)
{
    return zt_arm_error_parse(a, status, body, body ? strlen(body) : 0);
}

#define CODE(c) "{\"error\":{\"code\":\"" c "\",\"message\":\"m\"}}"

START_TEST(test_status_policy)
{
    zt_arena *a = zt_arena_new();
    const zt_arm_method idem[] = {ZT_ARM_GET, ZT_ARM_PUT, ZT_ARM_PATCH, ZT_ARM_DELETE};
    for (size_t i = 0; i < ZT_ARRAY_LEN(idem); i++) {
        zt_arm_method m = idem[i];
        const long yes[] = {408, 429, 500, 502, 503, 504, 507};
        for (size_t k = 0; k < ZT_ARRAY_LEN(yes); k++)
            ck_assert_int_eq(zt_arm_retry_status(m, true, yes[k], err(a, yes[k], NULL)),
                             ZT_ARM_RETRY_YES);
        const long no[] = {400, 403, 404, 405, 409, 412, 422, 501, 505};
        for (size_t k = 0; k < ZT_ARRAY_LEN(no); k++)
            ck_assert_msg(zt_arm_retry_status(m, true, no[k], err(a, no[k], CODE("Whatever"))) ==
                              ZT_ARM_RETRY_NO,
                          "status %ld must not be retried", no[k]);
        ck_assert_int_eq(zt_arm_retry_status(m, true, 401, err(a, 401, CODE("ExpiredAuthenticationToken"))),
                         ZT_ARM_RETRY_REAUTH);
        ck_assert_int_eq(zt_arm_retry_status(m, true, 200, NULL), ZT_ARM_RETRY_NO);
        ck_assert_int_eq(zt_arm_retry_status(m, true, 202, NULL), ZT_ARM_RETRY_NO);
    }
    zt_arena_free(a);
}
END_TEST

START_TEST(test_conflict_codes)
{
    zt_arena *a = zt_arena_new();
    const char *retry[] = {CODE("AnotherOperationInProgress"), CODE("RetryableError"),
                           CODE("ReferencedResourceNotProvisioned"), CODE("PrincipalNotFound"),
                           CODE("anotheroperationinprogress"),
                           CODE("ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity")};
    for (size_t i = 0; i < ZT_ARRAY_LEN(retry); i++) {
        ck_assert_int_eq(zt_arm_retry_status(ZT_ARM_PUT, true, 409, err(a, 409, retry[i])),
                         ZT_ARM_RETRY_YES);
        ck_assert_int_eq(zt_arm_retry_status(ZT_ARM_PUT, true, 400, err(a, 400, retry[i])),
                         ZT_ARM_RETRY_YES);
    }
    /* facts, not transient states */
    const char *final[] = {CODE("RoleAssignmentExists"), CODE("InvalidTemplate"),
                           CODE("AuthorizationFailed"), CODE("LinkedAuthorizationFailed"),
                           CODE("InUseSubnetCannotBeDeleted"), CODE("StorageAccountAlreadyTaken"),
                           CODE("Conflict"), CODE("PreconditionFailed")};
    for (size_t i = 0; i < ZT_ARRAY_LEN(final); i++)
        ck_assert_int_eq(zt_arm_retry_status(ZT_ARM_PUT, true, 409, err(a, 409, final[i])),
                         ZT_ARM_RETRY_NO);
    ck_assert_int_eq(zt_arm_retry_status(ZT_ARM_PUT, true, 403, err(a, 403, CODE("AuthorizationFailed"))),
                     ZT_ARM_RETRY_NO);
    /* 404 on a PUT (parent missing) will not change by waiting */
    ck_assert_int_eq(zt_arm_retry_status(ZT_ARM_PUT, true, 404, err(a, 404, CODE("ParentResourceNotFound"))),
                     ZT_ARM_RETRY_NO);
    /* wrapped by ARM in details[] */
    ck_assert_int_eq(zt_arm_retry_status(ZT_ARM_PUT, true, 409,
                                         err(a, 409, "{\"error\":{\"code\":\"Conflict\",\"details\":["
                                                     "{\"code\":\"AnotherOperationInProgress\"}]}}")),
                     ZT_ARM_RETRY_YES);
    ck_assert(zt_arm_retryable_code("RetryableError"));
    ck_assert(!zt_arm_retryable_code(""));
    ck_assert(!zt_arm_retryable_code(NULL));
    zt_arena_free(a);
}
END_TEST

START_TEST(test_post_is_careful)
{
    zt_arena *a = zt_arena_new();
    /* the server may have acted on it: not retried... */
    ck_assert_int_eq(zt_arm_retry_status(ZT_ARM_POST, false, 500, err(a, 500, NULL)), ZT_ARM_RETRY_NO);
    ck_assert_int_eq(zt_arm_retry_status(ZT_ARM_POST, false, 504, err(a, 504, NULL)), ZT_ARM_RETRY_NO);
    /* ...unless the caller knows it is idempotent */
    ck_assert_int_eq(zt_arm_retry_status(ZT_ARM_POST, true, 500, err(a, 500, NULL)), ZT_ARM_RETRY_YES);
    /* refused before acting: safe */
    ck_assert_int_eq(zt_arm_retry_status(ZT_ARM_POST, false, 429, err(a, 429, NULL)), ZT_ARM_RETRY_YES);
    ck_assert_int_eq(zt_arm_retry_status(ZT_ARM_POST, false, 503, err(a, 503, NULL)), ZT_ARM_RETRY_YES);
    ck_assert_int_eq(zt_arm_retry_status(ZT_ARM_POST, false, 409, err(a, 409, CODE("AnotherOperationInProgress"))),
                     ZT_ARM_RETRY_YES);

    zt_arm_http_resp r = {.rc = ZT_ERR_HTTP, .transient = true, .maybe_sent = true};
    ck_assert(zt_arm_retry_transport(ZT_ARM_GET, true, &r));
    ck_assert(zt_arm_retry_transport(ZT_ARM_PUT, true, &r));
    ck_assert(!zt_arm_retry_transport(ZT_ARM_POST, false, &r));
    ck_assert(zt_arm_retry_transport(ZT_ARM_POST, true, &r));
    r.maybe_sent = false; /* connection refused: nothing reached the server */
    ck_assert(zt_arm_retry_transport(ZT_ARM_POST, false, &r));
    r.transient = false; /* e.g. certificate verification failed */
    r.rc = ZT_ERR_TLS;
    ck_assert(!zt_arm_retry_transport(ZT_ARM_GET, true, &r));
    r.rc = ZT_OK;
    ck_assert(!zt_arm_retry_transport(ZT_ARM_GET, true, &r));
    zt_arena_free(a);
}
END_TEST

START_TEST(test_backoff_bounds)
{
    const int64_t base = 1000, cap = 60000;
    for (unsigned attempt = 0; attempt < 40; attempt++) {
        int64_t ceiling = base;
        for (unsigned i = 0; i < attempt && ceiling < cap; i++)
            ceiling *= 2;
        if (ceiling > cap)
            ceiling = cap;
        int64_t max_seen = 0, min_seen = INT64_MAX;
        for (int i = 0; i < 2000; i++) {
            int64_t d = zt_arm_backoff_ms(attempt, base, cap, zt_arm_random_u64());
            ck_assert_int_ge(d, 0);
            ck_assert_int_le(d, ceiling);
            if (d > max_seen)
                max_seen = d;
            if (d < min_seen)
                min_seen = d;
        }
        /* full jitter spreads over the whole range */
        ck_assert_int_gt(max_seen, ceiling * 9 / 10);
        ck_assert_int_lt(min_seen, ceiling / 10 + 1);
    }
    /* the extremes of the random input map to the extremes of the range */
    ck_assert_int_eq(zt_arm_backoff_ms(3, 100, 60000, 0), 0);
    ck_assert_int_eq(zt_arm_backoff_ms(3, 100, 60000, 800), 800);
    ck_assert_int_eq(zt_arm_backoff_ms(3, 100, 60000, 801), 0);
    ck_assert_int_le(zt_arm_backoff_ms(1000, 100, 60000, UINT64_MAX), 60000);
    ck_assert_int_eq(zt_arm_backoff_ms(5, 0, 60000, 12345), 0);
}
END_TEST

START_TEST(test_retry_after)
{
    const int64_t now = 1700000000;
    ck_assert_int_eq(zt_arm_parse_retry_after("5", now), 5000);
    ck_assert_int_eq(zt_arm_parse_retry_after(" 7 ", now), 7000);
    ck_assert_int_eq(zt_arm_parse_retry_after("0", now), 0);
    ck_assert_int_eq(zt_arm_parse_retry_after("1.5", now), -1);
    ck_assert_int_eq(zt_arm_parse_retry_after("-3", now), -1);
    ck_assert_int_eq(zt_arm_parse_retry_after("soon", now), -1);
    ck_assert_int_eq(zt_arm_parse_retry_after("", now), -1);
    ck_assert_int_eq(zt_arm_parse_retry_after(NULL, now), -1);
    /* 1700000000 is Tue, 14 Nov 2023 22:13:20 GMT */
    ck_assert_int_eq(zt_arm_parse_retry_after("Tue, 14 Nov 2023 22:13:30 GMT", now), 10000);
    ck_assert_int_eq(zt_arm_parse_retry_after("Tue, 14 Nov 2023 22:13:00 GMT", now), 0);
    ck_assert_int_eq(zt_arm_parse_retry_after("Tue, 14 Nov 2023 22:13:30 PST", now), -1);

    const char *names[] = {"Retry-After", "x-ms-retry-after-ms"};
    const char *values[] = {"3", "250"};
    zt_arm_http_resp r = {.status = 429, .header_names = names, .header_values = values,
                          .n_headers = 2};
    ck_assert_int_eq(zt_arm_retry_after_ms(&r, now), 250); /* the precise form wins */
    r.n_headers = 1;
    ck_assert_int_eq(zt_arm_retry_after_ms(&r, now), 3000);
    r.n_headers = 0;
    ck_assert_int_eq(zt_arm_retry_after_ms(&r, now), -1);
}
END_TEST

/* Server-given times never wrap around (a Retry-After of 2^63 ms). */
START_TEST(test_saturating_waits)
{
    ck_assert_int_eq(zt_arm_sat_add(INT64_MAX - 5, 10), INT64_MAX);
    ck_assert_int_eq(zt_arm_sat_add(INT64_MIN + 5, -10), INT64_MIN);
    ck_assert_int_eq(zt_arm_sat_add(40, 2), 42);
    int64_t t0 = zt_arm_now_ms();
    ck_assert_int_eq(zt_arm_sleep(INT64_MAX, zt_arm_deadline_in(100), NULL), ZT_ERR_TIMEOUT);
    int64_t took = zt_arm_now_ms() - t0;
    ck_assert_int_ge(took, 90);
    ck_assert_int_lt(took, 1000);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("arm_retry");
    TCase *tc = tcase_create("retry");
    tcase_add_test(tc, test_status_policy);
    tcase_add_test(tc, test_conflict_codes);
    tcase_add_test(tc, test_post_is_careful);
    tcase_add_test(tc, test_backoff_bounds);
    tcase_add_test(tc, test_retry_after);
    tcase_add_test(tc, test_saturating_waits);
    suite_add_tcase(s, tc);
    return zt_test_run(s);
}
