/* zt_arm_retry.c - which failures are worth another attempt, and when.
 *
 * Retried: 408, 429, 5xx (but not 501/505, which will not change),
 * connection failures, resets and per-attempt timeouts, and the 4xx codes
 * ARM uses for "busy, try later". Not retried: validation (400), 403,
 * 404, 409 conflicts that state a fact (RoleAssignmentExists), 412.
 * A POST may have side effects, so it is retried only when the server
 * cannot have acted on it (429, 503, a connection never made, a
 * "retryable" code) unless the caller marks it idempotent.
 */
#include "zt_arm_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* docs/azure-arm.md 2.7 plus codes seen from Microsoft.Network and
 * Microsoft.ManagedIdentity for the same situations. */
static const char *const retryable_codes[] = {
    "AnotherOperationInProgress",
    "RetryableError",
    "RetryableErrorDueToAnotherOperation",
    "ReferencedResourceNotProvisioned",
    "PrincipalNotFound", /* RBAC replication: a new principal is not visible yet */
    "CanceledAndSupersededDueToAnotherOperation",
    "ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity",
    "OperationPreempted",
    "TooManyRequests",
    "SubscriptionRequestsThrottled",
    "ResourceBusy",
};

bool zt_arm_retryable_code(const char *code)
{
    if (!code || !*code)
        return false;
    for (size_t i = 0; i < ZT_ARRAY_LEN(retryable_codes); i++)
        if (strcasecmp(code, retryable_codes[i]) == 0)
            return true;
    return false;
}

static bool error_retryable(const zt_arm_error *e)
{
    if (!e)
        return false;
    if (zt_arm_retryable_code(e->code))
        return true;
    for (size_t i = 0; i < e->n_details; i++)
        if (error_retryable(&e->details[i]))
            return true;
    return false;
}

zt_arm_retry_kind zt_arm_retry_status(zt_arm_method m, bool idempotent, long status,
                                      const zt_arm_error *err)
{
    if (status >= 200 && status < 300)
        return ZT_ARM_RETRY_NO;
    if (status == 401)
        return ZT_ARM_RETRY_REAUTH;
    /* "Busy" codes first: ARM sends them with 400, 409 and 429 alike, and
     * they mean the request was not acted upon. */
    if (error_retryable(err))
        return ZT_ARM_RETRY_YES;
    if (status == 429)
        return ZT_ARM_RETRY_YES;
    if (status == 503)
        return ZT_ARM_RETRY_YES; /* the service did not take it */
    if (status == 408 || (status >= 500 && status <= 599 && status != 501 && status != 505))
        return (m != ZT_ARM_POST || idempotent) ? ZT_ARM_RETRY_YES : ZT_ARM_RETRY_NO;
    return ZT_ARM_RETRY_NO;
}

bool zt_arm_retry_transport(zt_arm_method m, bool idempotent, const zt_arm_http_resp *r)
{
    if (r->rc == ZT_OK || !r->transient)
        return false;
    if (m == ZT_ARM_POST && !idempotent)
        return !r->maybe_sent;
    return true;
}

int64_t zt_arm_backoff_ms(unsigned attempt, int64_t base_ms, int64_t cap_ms, uint64_t rnd)
{
    if (base_ms <= 0)
        return 0;
    int64_t ceil = base_ms;
    for (unsigned i = 0; i < attempt && ceil < cap_ms; i++)
        ceil *= 2;
    if (ceil > cap_ms)
        ceil = cap_ms;
    /* Full jitter (AWS architecture blog, "Exponential Backoff And
     * Jitter"): spreads a crowd of clients that failed together. */
    return (int64_t)(rnd % ((uint64_t)ceil + 1));
}

static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 5.6.7). */
static int64_t parse_http_date(const char *s)
{
    char wd[4], mon[4], tz[4];
    int day, year, hh, mm, ss;
    if (sscanf(s, "%3s, %d %3s %d %d:%d:%d %3s", wd, &day, mon, &year, &hh, &mm, &ss, tz) != 8)
        return -1;
    int m = -1;
    for (int i = 0; i < 12; i++)
        if (strcmp(mon, months[i]) == 0)
            m = i;
    if (m < 0 || strcmp(tz, "GMT") != 0)
        return -1;
    struct tm tm = {.tm_year = year - 1900, .tm_mon = m, .tm_mday = day,
                    .tm_hour = hh, .tm_min = mm, .tm_sec = ss};
    return (int64_t)timegm(&tm);
}

int64_t zt_arm_parse_retry_after(const char *v, int64_t now_s)
{
    if (!v)
        return -1;
    while (isspace((unsigned char)*v))
        v++;
    if (isdigit((unsigned char)*v)) {
        char *end;
        long long secs = strtoll(v, &end, 10);
        while (isspace((unsigned char)*end))
            end++;
        if (*end || secs < 0)
            return -1;
        if (secs > 86400)
            secs = 86400;
        return (int64_t)secs * 1000;
    }
    int64_t when = parse_http_date(v);
    if (when < 0)
        return -1;
    return when > now_s ? (when - now_s) * 1000 : 0;
}

static int64_t parse_ms(const char *v)
{
    if (!v || !isdigit((unsigned char)*v))
        return -1;
    char *end;
    long long ms = strtoll(v, &end, 10);
    while (isspace((unsigned char)*end))
        end++;
    return *end ? -1 : (int64_t)ms;
}

int64_t zt_arm_retry_after_ms(const zt_arm_http_resp *r, int64_t now_s)
{
    /* The millisecond forms are more precise; Azure sends them on some
     * services alongside Retry-After. */
    int64_t ms = parse_ms(zt_arm_http_header(r, "retry-after-ms"));
    if (ms < 0)
        ms = parse_ms(zt_arm_http_header(r, "x-ms-retry-after-ms"));
    if (ms < 0)
        ms = zt_arm_parse_retry_after(zt_arm_http_header(r, "Retry-After"), now_s);
    return ms;
}
