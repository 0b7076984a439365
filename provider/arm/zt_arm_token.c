/* zt_arm_token.c - the in-memory access token cache.
 *
 * One token, refreshed 5 minutes before it expires (half its lifetime when
 * it lives less than 10 minutes). At most one fetch runs at a time: the
 * thread that finds the token stale fetches, the others wait for it and
 * share its result, success or failure, so a burst of requests after expiry
 * costs one round trip to Entra and a failing identity provider is not
 * hammered by every waiting thread. The token lives in malloc'd memory that
 * is wiped when replaced; it is never written anywhere else.
 */
#include "zt_arm_internal.h"
#include "zt_log.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REFRESH_MARGIN_S 300
#define WAIT_SLICE_MS 50

struct zt_arm_token_cache {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    zt_arm_token_fetch_fn fetch;
    void *ctx;
    int64_t (*now_s)(void);
    char *token; /* NULL: none */
    size_t token_len;
    int64_t expires_on;
    int64_t refresh_at;
    bool fetching;
    uint64_t generation; /* bumped when a fetch ends */
    /* the last fetch's outcome, for the threads that waited on it */
    zt_rc last_rc;
    long last_status;
    char *last_code;
    char *last_message;
    unsigned fetches;
};

int64_t zt_arm_token_refresh_at(int64_t now, int64_t expires_on)
{
    int64_t life = expires_on - now;
    int64_t margin = REFRESH_MARGIN_S;
    if (life < 2 * margin)
        margin = life > 0 ? life / 2 : 0;
    return expires_on - margin;
}

zt_arm_token_cache *zt_arm_token_cache_new(zt_arm_token_fetch_fn fetch, void *ctx)
{
    zt_arm_token_cache *c = calloc(1, sizeof(*c));
    if (!c)
        zt_panic("out of memory");
    pthread_mutex_init(&c->lock, NULL);
    zt_arm_cond_init_monotonic(&c->cond);
    c->fetch = fetch;
    c->ctx = ctx;
    c->now_s = zt_arm_realtime_s;
    return c;
}

static void drop_token(zt_arm_token_cache *c)
{
    if (c->token)
        zt_arm_free_secret(c->token, c->token_len);
    c->token = NULL;
    c->token_len = 0;
    c->expires_on = c->refresh_at = 0;
}

static void clear_last_error(zt_arm_token_cache *c)
{
    free(c->last_code);
    free(c->last_message);
    c->last_code = c->last_message = NULL;
}

void zt_arm_token_cache_free(zt_arm_token_cache *c)
{
    if (!c)
        return;
    drop_token(c);
    clear_last_error(c);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->cond);
    free(c);
}

void zt_arm_token_cache_set_clock(zt_arm_token_cache *c, int64_t (*now_s)(void))
{
    c->now_s = now_s ? now_s : zt_arm_realtime_s;
}

unsigned zt_arm_token_cache_fetches(zt_arm_token_cache *c)
{
    pthread_mutex_lock(&c->lock);
    unsigned n = c->fetches;
    pthread_mutex_unlock(&c->lock);
    return n;
}

void zt_arm_token_cache_invalidate(zt_arm_token_cache *c, const char *token)
{
    pthread_mutex_lock(&c->lock);
    /* Only the token that was refused: another thread may already have
     * replaced it with a fresh one. */
    if (c->token && token && strcmp(c->token, token) == 0)
        drop_token(c);
    pthread_mutex_unlock(&c->lock);
}

static void cond_wait_slice(zt_arm_token_cache *c)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += WAIT_SLICE_MS * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&c->cond, &c->lock, &ts);
}

static zt_arm_error *last_error(zt_arm_token_cache *c, zt_arena *a)
{
    zt_arm_error *e = zt_arm_error_parse(a, c->last_status, NULL, 0);
    e->code = zt_arena_strdup(a, c->last_code ? c->last_code : "");
    e->message = zt_arena_strdup(a, c->last_message ? c->last_message : "");
    return e;
}

static void remember_outcome(zt_arm_token_cache *c, zt_rc rc, const zt_arm_error *err)
{
    clear_last_error(c);
    c->last_rc = rc;
    c->last_status = err ? err->status : 0;
    if (err) {
        c->last_code = strdup(err->code ? err->code : "");
        c->last_message = strdup(err->message ? err->message : "");
    }
}

static bool usable(const zt_arm_token_cache *c, int64_t now)
{
    return c->token && now < c->refresh_at;
}

zt_rc zt_arm_token_cache_get(zt_arm_token_cache *c, zt_arena *a, int64_t deadline_ms,
                             const atomic_bool *cancel, const char **token, zt_arm_error **err)
{
    if (err)
        *err = NULL;
    pthread_mutex_lock(&c->lock);
    for (;;) {
        if (usable(c, c->now_s())) {
            *token = zt_arena_secret_strdup(a, c->token);
            pthread_mutex_unlock(&c->lock);
            return ZT_OK;
        }
        if (!c->fetching)
            break; /* we fetch */
        uint64_t gen = c->generation;
        while (c->fetching && c->generation == gen) {
            if (zt_arm_cancelled(cancel) || zt_arm_now_ms() >= deadline_ms) {
                pthread_mutex_unlock(&c->lock);
                return zt_arm_cancelled(cancel) ? ZT_ERR_CANCELLED : ZT_ERR_TIMEOUT;
            }
            cond_wait_slice(c);
        }
        /* Share the failure of the fetch we waited for, unless it only ran
         * out of its own caller's time: then our time may suffice. */
        if (c->generation != gen && c->last_rc != ZT_OK && c->last_rc != ZT_ERR_TIMEOUT &&
            c->last_rc != ZT_ERR_CANCELLED && !usable(c, c->now_s())) {
            zt_rc rc = c->last_rc;
            if (err)
                *err = last_error(c, a);
            pthread_mutex_unlock(&c->lock);
            return rc;
        }
    }
    c->fetching = true;
    c->fetches++;
    pthread_mutex_unlock(&c->lock);

    zt_arena *tmp = zt_arena_new(); /* wipes the fetched copy when freed */
    const char *fresh = NULL;
    int64_t expires_on = 0;
    zt_arm_error *ferr = NULL;
    int64_t fetched_at = c->now_s();
    zt_rc rc = c->fetch(c->ctx, tmp, deadline_ms, cancel, &fresh, &expires_on, &ferr);

    pthread_mutex_lock(&c->lock);
    c->fetching = false;
    c->generation++;
    if (rc == ZT_OK && fresh && *fresh) {
        drop_token(c);
        c->token_len = strlen(fresh);
        c->token = malloc(c->token_len + 1);
        if (!c->token)
            zt_panic("out of memory");
        memcpy(c->token, fresh, c->token_len + 1);
        c->expires_on = expires_on;
        c->refresh_at = zt_arm_token_refresh_at(fetched_at, expires_on);
        remember_outcome(c, ZT_OK, NULL);
        *token = zt_arena_secret_strdup(a, c->token);
    } else {
        if (rc == ZT_OK)
            rc = ZT_ERR_DECODE; /* an empty token */
        remember_outcome(c, rc, ferr);
        /* A refresh that fails while the old token still works is not
         * fatal: use the old one until it really expires. */
        int64_t now = c->now_s();
        if (c->token && now < c->expires_on - 30) {
            /* ...and try again in a while, not on every request. */
            c->refresh_at = now + 30 < c->expires_on - 30 ? now + 30 : c->expires_on - 30;
            zt_log(ZT_LOG_WARN, ZT_ARM_LOG, "token refresh failed; using the current token",
                   "error", zt_rc_str(rc), NULL);
            *token = zt_arena_secret_strdup(a, c->token);
            rc = ZT_OK;
        } else if (err && ferr) {
            *err = last_error(c, a);
        }
    }
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    zt_arena_free(tmp);
    return rc;
}
