/* zt_arm_internal.h - pieces of the ARM module shared between its files
 * and exposed to the unit tests. Not for other modules. */
#ifndef ZT_ARM_INTERNAL_H
#define ZT_ARM_INTERNAL_H

#include "zt_arm.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <openssl/x509.h>

#define ZT_ARM_LOG "provider.arm"

/* ------------------------------------------------------------------ */
/* Utilities (zt_arm_util.c)                                          */

int64_t zt_arm_realtime_s(void);
/* a + b, saturating at the int64 limits (server-given times and waits). */
int64_t zt_arm_sat_add(int64_t a, int64_t b);
/* A condition variable whose timed waits use CLOCK_MONOTONIC (deadlines
 * are monotonic, see zt_arm_now_ms). */
void zt_arm_cond_init_monotonic(pthread_cond_t *cond);
/* Uniformly random 64 bits from the OpenSSL DRBG. */
uint64_t zt_arm_random_u64(void);
/* Random (version 4) UUID, lower case, into out[37]. */
void zt_arm_uuid4(char out[37]);
char *zt_arm_b64url(zt_arena *a, const void *data, size_t len);
/* Decodes base64url or standard base64 (padding optional); NULL if invalid. */
unsigned char *zt_arm_b64_decode(zt_arena *a, const char *s, size_t *out_len);
/* application/x-www-form-urlencoded / query component encoding. */
char *zt_arm_url_encode(zt_arena *a, const char *s);
/* The same for a secret: the encoding is wiped with the arena. */
char *zt_arm_url_encode_secret(zt_arena *a, const char *s);
/* An ARM resource path ("/subscriptions/...") as a URL path, each segment
 * percent-encoded; NULL with *why when it is not one (no leading '/', an
 * empty, "." or ".." segment, '?', '#', '%' or a control character):
 * nothing a name holds may change which resource a request reaches. */
const char *zt_arm_url_path(zt_arena *a, const char *path, const char **why);
/* "scheme://host[:port]" of an absolute URL, lower-cased; NULL if not one. */
const char *zt_arm_url_origin(zt_arena *a, const char *url);
/* Sleep until ms have passed. ZT_ERR_TIMEOUT (after sleeping up to the
 * deadline) when now+ms passes the deadline; ZT_ERR_CANCELLED as soon as
 * cancel is seen: at once when zt_arm_cancel_wake rings, else within
 * ZT_ARM_CANCEL_SLICE_MS. */
zt_rc zt_arm_sleep(int64_t ms, int64_t deadline_ms, const atomic_bool *cancel);
#define ZT_ARM_CANCEL_SLICE_MS 1000
/* fn(arg) runs (from zt_arm_cancel_wake) to wake sleepers that wait on a
 * condition of their own; it must not call back into the bell. */
void zt_arm_wake_register(void (*fn)(void *), void *arg);
void zt_arm_wake_unregister(void (*fn)(void *), void *arg);
/* pthread_cond_timedwait to an absolute zt_arm_now_ms() time (the
 * condition made by zt_arm_cond_init_monotonic). */
void zt_arm_cond_wait_until(pthread_cond_t *cond, pthread_mutex_t *lock, int64_t until_ms);
static inline bool zt_arm_cancelled(const atomic_bool *cancel)
{
    return cancel && atomic_load(cancel);
}
/* Read a whole file (small: tokens, certificates); caller frees with
 * zt_arm_free_secret. NUL-terminated. */
zt_rc zt_arm_read_file(const char *path, size_t max, char **out, size_t *out_len);
void zt_arm_free_secret(void *p, size_t n);
/* Trim ASCII whitespace at both ends (in place, returns s). */
char *zt_arm_trim(char *s);

/* Redaction for log lines: "Authorization: Bearer x" -> "Authorization:
 * [REDACTED]" (also Proxy-Authorization, X-IDENTITY-HEADER, Secret,
 * Cookie...); query parameters that carry secrets (sig, token,
 * client_secret, client_assertion, code...) get [REDACTED] values. */
const char *zt_arm_redact_header(zt_arena *a, const char *line);
const char *zt_arm_redact_url(zt_arena *a, const char *url);

/* ------------------------------------------------------------------ */
/* Retry policy (zt_arm_retry.c)                                      */

typedef enum zt_arm_retry_kind {
    ZT_ARM_RETRY_NO = 0,
    ZT_ARM_RETRY_YES,
    ZT_ARM_RETRY_REAUTH /* 401: refresh the token, then retry once */
} zt_arm_retry_kind;

/* Codes ARM uses for "try again later" on a 400/409 (and inside failed
 * long-running operations). */
bool zt_arm_retryable_code(const char *code);
zt_arm_retry_kind zt_arm_retry_status(zt_arm_method m, bool idempotent, long status,
                                      const zt_arm_error *err);
/* A transport failure: retry when the request was idempotent or never
 * reached the server. */
bool zt_arm_retry_transport(zt_arm_method m, bool idempotent, const zt_arm_http_resp *r);
/* Full jitter: uniform in [0, min(cap, base * 2^attempt)]; rnd supplies
 * the randomness (tests pass fixed values). */
int64_t zt_arm_backoff_ms(unsigned attempt, int64_t base_ms, int64_t cap_ms, uint64_t rnd);
/* retry-after-ms, x-ms-retry-after-ms, Retry-After (seconds or HTTP date);
 * -1 when none is usable. */
int64_t zt_arm_retry_after_ms(const zt_arm_http_resp *r, int64_t now_s);
int64_t zt_arm_parse_retry_after(const char *value, int64_t now_s);

/* ------------------------------------------------------------------ */
/* Long-running operations (zt_arm_lro.c)                             */

typedef enum zt_arm_lro_kind {
    ZT_ARM_LRO_NONE = 0,
    ZT_ARM_LRO_ASYNC_OP, /* poll Azure-AsyncOperation for {"status"} */
    ZT_ARM_LRO_LOCATION, /* poll Location: 202 until done */
    ZT_ARM_LRO_RESOURCE  /* GET the resource until provisioningState is terminal */
} zt_arm_lro_kind;

typedef enum zt_arm_lro_state {
    ZT_ARM_LRO_RUNNING = 0,
    ZT_ARM_LRO_SUCCEEDED,
    ZT_ARM_LRO_FAILED,
    ZT_ARM_LRO_CANCELED
} zt_arm_lro_state;

typedef struct zt_arm_lro {
    zt_arm_lro_kind kind;
    const char *poll_url;
    const char *location;  /* Location of the first response, if any */
} zt_arm_lro;

/* Decide how to follow the first response of an operation. */
zt_arm_lro zt_arm_lro_begin(zt_arena *a, zt_arm_method m, const char *resource_url,
                            const zt_arm_http_resp *r, const json_t *body);
/* Map a status / provisioningState string; unknown values are running. */
zt_arm_lro_state zt_arm_lro_state_parse(const char *s);
/* body.status (async operation) or body.properties.provisioningState. */
const char *zt_arm_lro_status_of(const json_t *body, zt_arm_lro_kind kind);
const char *zt_arm_provisioning_state(const json_t *body);

/* The client's poll settings (zt_arm_client_options): wait without a
 * Retry-After, floor, ceiling on a server's wait. */
typedef struct zt_arm_poll_limits {
    int64_t default_ms, min_ms, max_ms;
} zt_arm_poll_limits;
/* How long to wait before the next poll of an operation at now (ms):
 * server_wait is the last answer's Retry-After (-1: none), expected_end
 * when the operation should be done (0: unknown), deadline the request's. */
int64_t zt_arm_lro_poll_wait(const zt_arm_poll_limits *l, int64_t server_wait, int64_t now,
                             int64_t expected_end, int64_t deadline);

/* ------------------------------------------------------------------ */
/* Token cache (zt_arm_token.c)                                       */

/* Fetch a new token: *token in a (wiped with a), *expires_on Unix secs. */
typedef zt_rc (*zt_arm_token_fetch_fn)(void *ctx, zt_arena *a, int64_t deadline_ms,
                                       const atomic_bool *cancel, const char **token,
                                       int64_t *expires_on, zt_arm_error **err);

typedef struct zt_arm_token_cache zt_arm_token_cache;

zt_arm_token_cache *zt_arm_token_cache_new(zt_arm_token_fetch_fn fetch, void *ctx);
void zt_arm_token_cache_free(zt_arm_token_cache *c);
/* Tests: replace the wall clock (Unix seconds). */
void zt_arm_token_cache_set_clock(zt_arm_token_cache *c, int64_t (*now_s)(void));
zt_rc zt_arm_token_cache_get(zt_arm_token_cache *c, zt_arena *a, int64_t deadline_ms,
                             const atomic_bool *cancel, const char **token, zt_arm_error **err);
void zt_arm_token_cache_invalidate(zt_arm_token_cache *c, const char *token);
unsigned zt_arm_token_cache_fetches(zt_arm_token_cache *c);
/* When a token fetched at `now` expiring at `expires_on` is refreshed. */
int64_t zt_arm_token_refresh_at(int64_t now, int64_t expires_on);

/* ------------------------------------------------------------------ */
/* Certificates and JWT assertions (zt_arm_jwt.c)                     */

typedef struct zt_arm_cert {
    EVP_PKEY *key;
    X509 *cert;
    unsigned char sha256[32]; /* of the DER certificate */
    unsigned char sha1[20];
} zt_arm_cert;

/* From a file (path) or inline data (PEM text, or base64 PKCS#12 as
 * azurerm's client_certificate); PEM may hold an encrypted key. */
zt_rc zt_arm_cert_load(const char *path, const char *inline_data, const char *password,
                       zt_diags *d, zt_arm_cert **out);
zt_rc zt_arm_cert_load_mem(const unsigned char *data, size_t len, const char *password,
                           const char *what, zt_diags *d, zt_arm_cert **out);
void zt_arm_cert_free(zt_arm_cert *c);
/* Signed client assertion: header {alg, typ, x5t#S256 (+x5t for RS256)},
 * claims {aud, iss, sub, jti, iat, nbf, exp}. */
zt_rc zt_arm_jwt_assertion(zt_arena *a, const zt_arm_cert *c, zt_arm_jwt_alg alg,
                           const char *client_id, const char *audience, int64_t now_s,
                           int64_t lifetime_s, const char **out);

/* ------------------------------------------------------------------ */
/* Credential helpers (zt_arm_cred.c, zt_arm_cli.c)                   */

/* Parse an access-token response (Entra v2 / IMDS / App Service / az):
 * access_token|accessToken, expires_on|expiresOn|expires_in. */
zt_rc zt_arm_parse_token_response(zt_arena *a, const char *body, size_t len, int64_t now_s,
                                  const char **token, int64_t *expires_on);
/* Run `az account get-access-token`; ZT_ERR_UNSUPPORTED if az is missing. */
zt_rc zt_arm_cli_token(zt_arena *a, const char *az_path, const char *resource,
                       const char *tenant_id, int64_t timeout_ms, const atomic_bool *cancel,
                       const char **token, int64_t *expires_on, zt_arm_error **err);

/* ------------------------------------------------------------------ */
/* Pacing and serialization (zt_arm_pace.c)                          */

typedef enum zt_arm_bucket_kind { ZT_ARM_READS = 0, ZT_ARM_WRITES, ZT_ARM_DELETES } zt_arm_bucket_kind;

typedef struct zt_arm_bucket {
    double tokens;
    double capacity;
    double rate_per_s;
    int64_t updated_ms;
    int64_t blocked_until_ms; /* a 429 told everyone to wait */
    bool answered;            /* the server has answered one of ours */
    int64_t probe_until_ms;   /* until then the others wait for that answer */
    double max_rate_per_s;    /* what rate_per_s recovers to */
    int64_t window_start_ms;  /* answers counted since, for the rate */
    unsigned window_ok, window_throttled;
} zt_arm_bucket;

void zt_arm_bucket_init(zt_arm_bucket *b, double capacity, double rate_per_s, int64_t now_ms);
/* Take one token if available (returns 0), else the ms to wait. */
int64_t zt_arm_bucket_take(zt_arm_bucket *b, int64_t now_ms);
/* The server said how much budget is left. */
void zt_arm_bucket_observe(zt_arm_bucket *b, long remaining, int64_t now_ms);
void zt_arm_bucket_block(zt_arm_bucket *b, int64_t until_ms);
/* Count an answer; every RATE_WINDOW a window with 429s sets the refill
 * rate to what the server accepted in it, one without raises it back. */
void zt_arm_bucket_answer(zt_arm_bucket *b, bool throttled, int64_t now_ms);

typedef struct zt_arm_pacer zt_arm_pacer;
zt_arm_pacer *zt_arm_pacer_new(double scale, bool enabled);
void zt_arm_pacer_free(zt_arm_pacer *p);
zt_arm_bucket_kind zt_arm_bucket_for(zt_arm_method m);
/* Take a token, waiting in line (first in, first out) for it. first: the
 * caller holds a serialization scope, and every other write to that scope
 * waits for it, so it goes before the waiters that do not. Until a
 * bucket's first answer, one request at a time (zt_arm_pace_observe
 * reports it): the budget may be shared with earlier processes. */
zt_rc zt_arm_pace_acquire(zt_arm_pacer *p, const char *subscription, zt_arm_bucket_kind k,
                          bool first, int64_t deadline_ms, const atomic_bool *cancel);
/* How many threads wait for a token of this bucket. */
size_t zt_arm_pace_waiting(zt_arm_pacer *p, const char *subscription, zt_arm_bucket_kind k);
/* After a response (r->rc == ZT_OK): remaining-budget headers, a 429's
 * Retry-After; r may be NULL or failed (nothing learned). */
void zt_arm_pace_observe(zt_arm_pacer *p, const char *subscription, zt_arm_bucket_kind k,
                         const zt_arm_http_resp *r, int64_t retry_after_ms);
zt_rc zt_arm_serial_lock(zt_arm_pacer *p, const char *key, int64_t deadline_ms,
                         const atomic_bool *cancel);
void zt_arm_serial_unlock(zt_arm_pacer *p, const char *key);

/* ------------------------------------------------------------------ */
/* The list-read cache (zt_arm_list.c), one per client                */

typedef struct zt_arm_lists zt_arm_lists;
/* Off when ZT_ARM_LIST_READS is 0, off or false. */
zt_arm_lists *zt_arm_lists_new(void);
void zt_arm_lists_free(zt_arm_lists *l);
/* Drop what a write to path may make stale (see zt_arm_list.c). */
void zt_arm_lists_invalidate(zt_arm_lists *l, const char *path);
unsigned zt_arm_lists_pages(zt_arm_lists *l);
zt_arm_lists *zt_arm_client_lists(zt_arm_client *c);

/* "0000-..." out of "/subscriptions/0000-.../..." (lower case); "" if none. */
const char *zt_arm_subscription_of(zt_arena *a, const char *path);

#endif
