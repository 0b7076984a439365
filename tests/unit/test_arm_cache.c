/* Unit tests for the token cache: expiry, one refresh under concurrency,
 * shared failures, invalidation, cancellation. */
#include "zt_arm_internal.h"

#include "zt_test.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static _Atomic int64_t g_now = 1700000000;
static int64_t fake_now(void) { return atomic_load(&g_now); }

typedef struct fake {
    atomic_int calls;
    int64_t lifetime;
    int sleep_ms;
    zt_rc fail_with; /* ZT_OK: succeed */
} fake;

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static zt_rc fake_fetch(void *ctx, zt_arena *a, int64_t deadline, const atomic_bool *cancel,
                        const char **token, int64_t *expires_on, zt_arm_error **err)
{
    fake *f = ctx;
    int n = atomic_fetch_add(&f->calls, 1) + 1;
    if (f->sleep_ms)
        sleep_ms(f->sleep_ms);
    if (f->fail_with != ZT_OK) {
        *err = zt_arm_error_parse(a, 401, "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215\"}", 62);
        return f->fail_with;
    }
    *token = zt_arena_secret_strdup(a, zt_arena_printf(a, "token-%d", n));
    *expires_on = fake_now() + f->lifetime;
    return ZT_OK;
}

static const char *get(zt_arm_token_cache *c, zt_arena *a, zt_rc *rc)
{
    const char *t = NULL;
    zt_arm_error *err = NULL;
    *rc = zt_arm_token_cache_get(c, a, zt_arm_deadline_in(10000), NULL, &t, &err);
    return t;
}

START_TEST(test_refresh_window)
{
    ck_assert_int_eq(zt_arm_token_refresh_at(1000, 1000 + 3600), 1000 + 3600 - 300);
    ck_assert_int_eq(zt_arm_token_refresh_at(1000, 1000 + 600), 1000 + 600 - 300);
    /* short-lived tokens: half their life */
    ck_assert_int_eq(zt_arm_token_refresh_at(1000, 1000 + 60), 1000 + 30);
    ck_assert_int_eq(zt_arm_token_refresh_at(1000, 1000), 1000);
}
END_TEST

START_TEST(test_cached_until_five_minutes_before_expiry)
{
    fake f = {.lifetime = 3600};
    zt_arm_token_cache *c = zt_arm_token_cache_new(fake_fetch, &f);
    zt_arm_token_cache_set_clock(c, fake_now);
    zt_arena *a = zt_arena_new();
    zt_rc rc;
    atomic_store(&g_now, 1700000000);
    ck_assert_str_eq(get(c, a, &rc), "token-1");
    ck_assert_str_eq(get(c, a, &rc), "token-1");
    atomic_store(&g_now, 1700000000 + 3600 - 301);
    ck_assert_str_eq(get(c, a, &rc), "token-1");
    ck_assert_int_eq(atomic_load(&f.calls), 1);
    atomic_store(&g_now, 1700000000 + 3600 - 299);
    ck_assert_str_eq(get(c, a, &rc), "token-2");
    ck_assert_int_eq(atomic_load(&f.calls), 2);
    ck_assert_uint_eq(zt_arm_token_cache_fetches(c), 2);
    zt_arena_free(a);
    zt_arm_token_cache_free(c);
}
END_TEST

typedef struct worker {
    zt_arm_token_cache *c;
    pthread_barrier_t *start;
    zt_rc rc;
    char token[64];
    char code[64];
    const atomic_bool *cancel;
    int64_t elapsed_ms;
} worker;

static void *worker_main(void *arg)
{
    worker *w = arg;
    zt_arena *a = zt_arena_new();
    pthread_barrier_wait(w->start);
    const char *t = NULL;
    zt_arm_error *err = NULL;
    int64_t t0 = zt_arm_now_ms();
    w->rc = zt_arm_token_cache_get(w->c, a, zt_arm_deadline_in(10000), w->cancel, &t, &err);
    w->elapsed_ms = zt_arm_now_ms() - t0;
    if (t)
        snprintf(w->token, sizeof(w->token), "%s", t);
    if (err)
        snprintf(w->code, sizeof(w->code), "%s", err->code);
    zt_arena_free(a);
    return NULL;
}

#define N 32

static void run_workers(zt_arm_token_cache *c, worker *w, size_t n, const atomic_bool *cancel)
{
    pthread_t th[N];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)n);
    for (size_t i = 0; i < n; i++) {
        w[i] = (worker){.c = c, .start = &start, .cancel = cancel};
        pthread_create(&th[i], NULL, worker_main, &w[i]);
    }
    for (size_t i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&start);
}

START_TEST(test_single_refresh_under_concurrency)
{
    fake f = {.lifetime = 3600, .sleep_ms = 200};
    zt_arm_token_cache *c = zt_arm_token_cache_new(fake_fetch, &f);
    zt_arm_token_cache_set_clock(c, fake_now);
    atomic_store(&g_now, 1700000000);
    worker w[N];
    run_workers(c, w, N, NULL);
    ck_assert_int_eq(atomic_load(&f.calls), 1);
    for (size_t i = 0; i < N; i++) {
        ck_assert_int_eq(w[i].rc, ZT_OK);
        ck_assert_str_eq(w[i].token, "token-1");
    }
    /* after expiry: again exactly one refresh for the whole crowd */
    atomic_store(&g_now, 1700000000 + 3600);
    run_workers(c, w, N, NULL);
    ck_assert_int_eq(atomic_load(&f.calls), 2);
    for (size_t i = 0; i < N; i++)
        ck_assert_str_eq(w[i].token, "token-2");
    zt_arm_token_cache_free(c);
}
END_TEST

START_TEST(test_failure_shared_not_repeated)
{
    fake f = {.lifetime = 3600, .sleep_ms = 200, .fail_with = ZT_ERR_REMOTE};
    zt_arm_token_cache *c = zt_arm_token_cache_new(fake_fetch, &f);
    zt_arm_token_cache_set_clock(c, fake_now);
    worker w[N];
    run_workers(c, w, N, NULL);
    /* The waiters take the fetcher's answer instead of each asking again. */
    ck_assert_int_eq(atomic_load(&f.calls), 1);
    for (size_t i = 0; i < N; i++) {
        ck_assert_int_eq(w[i].rc, ZT_ERR_REMOTE);
        ck_assert_str_eq(w[i].code, "invalid_client");
    }
    zt_arm_token_cache_free(c);
}
END_TEST

START_TEST(test_failed_refresh_keeps_valid_token)
{
    fake f = {.lifetime = 3600};
    zt_arm_token_cache *c = zt_arm_token_cache_new(fake_fetch, &f);
    zt_arm_token_cache_set_clock(c, fake_now);
    zt_arena *a = zt_arena_new();
    zt_rc rc;
    atomic_store(&g_now, 1700000000);
    ck_assert_str_eq(get(c, a, &rc), "token-1");
    /* in the refresh window, Entra is down: the current token still works */
    atomic_store(&g_now, 1700000000 + 3600 - 200);
    f.fail_with = ZT_ERR_HTTP;
    ck_assert_str_eq(get(c, a, &rc), "token-1");
    ck_assert_int_eq(rc, ZT_OK);
    ck_assert_int_eq(atomic_load(&f.calls), 2);
    /* the next attempt waits a little instead of hitting Entra every call */
    ck_assert_str_eq(get(c, a, &rc), "token-1");
    ck_assert_int_eq(atomic_load(&f.calls), 2);
    atomic_store(&g_now, 1700000000 + 3600 - 200 + 31);
    get(c, a, &rc);
    ck_assert_int_eq(atomic_load(&f.calls), 3);
    /* past expiry: the error comes through */
    atomic_store(&g_now, 1700000000 + 3600);
    ck_assert_ptr_null(get(c, a, &rc));
    ck_assert_int_eq(rc, ZT_ERR_HTTP);
    zt_arena_free(a);
    zt_arm_token_cache_free(c);
}
END_TEST

START_TEST(test_invalidate_only_the_refused_token)
{
    fake f = {.lifetime = 3600};
    zt_arm_token_cache *c = zt_arm_token_cache_new(fake_fetch, &f);
    zt_arm_token_cache_set_clock(c, fake_now);
    zt_arena *a = zt_arena_new();
    zt_rc rc;
    ck_assert_str_eq(get(c, a, &rc), "token-1");
    zt_arm_token_cache_invalidate(c, "some-older-token");
    ck_assert_str_eq(get(c, a, &rc), "token-1");
    zt_arm_token_cache_invalidate(c, "token-1");
    ck_assert_str_eq(get(c, a, &rc), "token-2");
    ck_assert_int_eq(atomic_load(&f.calls), 2);
    zt_arena_free(a);
    zt_arm_token_cache_free(c);
}
END_TEST

START_TEST(test_waiter_cancel_is_prompt)
{
    fake f = {.lifetime = 3600, .sleep_ms = 1500};
    zt_arm_token_cache *c = zt_arm_token_cache_new(fake_fetch, &f);
    zt_arm_token_cache_set_clock(c, fake_now);
    atomic_bool cancel = true;
    /* One thread fetches slowly; a second one, cancelled, must not wait
     * for it. */
    worker slow[1], quick[1];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, 1);
    slow[0] = (worker){.c = c, .start = &start};
    pthread_t th;
    pthread_create(&th, NULL, worker_main, &slow[0]);
    sleep_ms(100);
    quick[0] = (worker){.c = c, .start = &start, .cancel = &cancel};
    worker_main(&quick[0]);
    ck_assert_int_eq(quick[0].rc, ZT_ERR_CANCELLED);
    ck_assert_int_lt(quick[0].elapsed_ms, 500);
    pthread_join(th, NULL);
    ck_assert_int_eq(slow[0].rc, ZT_OK);
    pthread_barrier_destroy(&start);
    zt_arm_token_cache_free(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("arm_cache");
    TCase *tc = tcase_create("cache");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_refresh_window);
    tcase_add_test(tc, test_cached_until_five_minutes_before_expiry);
    tcase_add_test(tc, test_single_refresh_under_concurrency);
    tcase_add_test(tc, test_failure_shared_not_repeated);
    tcase_add_test(tc, test_failed_refresh_keeps_valid_token);
    tcase_add_test(tc, test_invalidate_only_the_refused_token);
    tcase_add_test(tc, test_waiter_cancel_is_prompt);
    suite_add_tcase(s, tc);
    return zt_test_run(s);
}
