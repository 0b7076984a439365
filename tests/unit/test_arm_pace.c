/* Unit tests for the token buckets and the serialization locks. */
#include "zt_arm_internal.h"

#include "zt_test.h"

#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

START_TEST(test_bucket_math)
{
    zt_arm_bucket b;
    zt_arm_bucket_init(&b, 3, 10, 1000); /* 3 tokens, 10 per second */
    ck_assert_int_eq(zt_arm_bucket_take(&b, 1000), 0);
    ck_assert_int_eq(zt_arm_bucket_take(&b, 1000), 0);
    ck_assert_int_eq(zt_arm_bucket_take(&b, 1000), 0);
    int64_t wait = zt_arm_bucket_take(&b, 1000);
    ck_assert_int_ge(wait, 99);
    ck_assert_int_le(wait, 101);
    ck_assert_int_eq(zt_arm_bucket_take(&b, 1100), 0); /* refilled one */
    ck_assert_int_gt(zt_arm_bucket_take(&b, 1100), 0);
    /* refill is capped at capacity */
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(zt_arm_bucket_take(&b, 100000), 0);
    ck_assert_int_gt(zt_arm_bucket_take(&b, 100000), 0);

    /* the server's remaining budget only ever lowers ours */
    zt_arm_bucket_init(&b, 250, 25, 0);
    zt_arm_bucket_observe(&b, 1000, 0);
    ck_assert(b.tokens <= 250.0);
    zt_arm_bucket_observe(&b, 2, 0);
    ck_assert_int_eq(zt_arm_bucket_take(&b, 0), 0);
    ck_assert_int_eq(zt_arm_bucket_take(&b, 0), 0);
    ck_assert_int_gt(zt_arm_bucket_take(&b, 0), 0);
    zt_arm_bucket_observe(&b, -1, 0); /* absent: no change */

    /* a 429's Retry-After blocks the bucket for everyone */
    zt_arm_bucket_init(&b, 250, 25, 0);
    zt_arm_bucket_block(&b, 5000);
    ck_assert_int_eq(zt_arm_bucket_take(&b, 1000), 4000);
    ck_assert_int_eq(zt_arm_bucket_take(&b, 5000 + 40), 0); /* refilled since */

    ck_assert_int_eq(zt_arm_bucket_for(ZT_ARM_GET), ZT_ARM_READS);
    ck_assert_int_eq(zt_arm_bucket_for(ZT_ARM_PUT), ZT_ARM_WRITES);
    ck_assert_int_eq(zt_arm_bucket_for(ZT_ARM_PATCH), ZT_ARM_WRITES);
    ck_assert_int_eq(zt_arm_bucket_for(ZT_ARM_POST), ZT_ARM_WRITES);
    ck_assert_int_eq(zt_arm_bucket_for(ZT_ARM_DELETE), ZT_ARM_DELETES);
}
END_TEST

START_TEST(test_pacer_limits_rate)
{
    /* ARM's write bucket scaled down to 2 tokens + 1/s: the 5th write of
     * a burst waits about 3 s... scaled 0.01: capacity 2, 0.1/s is too
     * slow for a test, so use scale 0.05 -> capacity 10, 0.5/s. */
    zt_arm_pacer *p = zt_arm_pacer_new(0.05, true);
    int64_t t0 = zt_arm_now_ms();
    zt_arm_http_resp ok = {.status = 200};
    for (int i = 0; i < 10; i++) {
        ck_assert_int_eq(zt_arm_pace_acquire(p, "sub", ZT_ARM_WRITES, false, t0 + 10000, NULL), ZT_OK);
        zt_arm_pace_observe(p, "sub", ZT_ARM_WRITES, &ok, 0); /* ends slow start */
    }
    ck_assert_int_lt(zt_arm_now_ms() - t0, 100);
    /* bucket empty: the next one would need ~2 s, more than the deadline */
    ck_assert_int_eq(zt_arm_pace_acquire(p, "sub", ZT_ARM_WRITES, false, zt_arm_now_ms() + 300, NULL),
                     ZT_ERR_TIMEOUT);
    /* other subscriptions and kinds have their own buckets */
    ck_assert_int_eq(zt_arm_pace_acquire(p, "other", ZT_ARM_WRITES, false, zt_arm_now_ms() + 100, NULL), ZT_OK);
    ck_assert_int_eq(zt_arm_pace_acquire(p, "sub", ZT_ARM_READS, false, zt_arm_now_ms() + 100, NULL), ZT_OK);
    atomic_bool stop = true;
    ck_assert_int_eq(zt_arm_pace_acquire(p, "sub", ZT_ARM_WRITES, false, zt_arm_now_ms() + 5000, &stop),
                     ZT_ERR_CANCELLED);
    zt_arm_pacer_free(p);

    /* disabled pacing still honours a server's 429 block */
    p = zt_arm_pacer_new(1, false);
    const char *names[] = {"Retry-After"};
    const char *values[] = {"1"};
    zt_arm_http_resp r = {.status = 429, .header_names = names, .header_values = values, .n_headers = 1};
    zt_arm_pace_observe(p, "s", ZT_ARM_READS, &r, 300);
    t0 = zt_arm_now_ms();
    ck_assert_int_eq(zt_arm_pace_acquire(p, "s", ZT_ARM_READS, false, t0 + 5000, NULL), ZT_OK);
    ck_assert_int_ge(zt_arm_now_ms() - t0, 250);
    zt_arm_pacer_free(p);
}
END_TEST

START_TEST(test_bucket_rate_adapts)
{
    zt_arm_bucket b;
    zt_arm_bucket_init(&b, 100, 25, 0);
    /* a window with 429s: the server took 20 in 2 s, so it refills 10/s */
    for (int i = 0; i < 20; i++)
        zt_arm_bucket_answer(&b, false, i * 90);
    zt_arm_bucket_answer(&b, true, 1900);
    ck_assert(b.rate_per_s == 25.0); /* not before the window ends */
    zt_arm_bucket_answer(&b, true, 2000);
    ck_assert(b.rate_per_s > 9.9 && b.rate_per_s < 10.1);
    /* quiet windows raise it back, to the default and no further */
    for (int64_t t = 4000; t <= 20000; t += 2000)
        zt_arm_bucket_answer(&b, false, t);
    ck_assert(b.rate_per_s == 25.0);
    /* never to nothing: a window of 429s only */
    zt_arm_bucket_answer(&b, true, 21000);
    zt_arm_bucket_answer(&b, true, 22000);
    ck_assert(b.rate_per_s > 0.0);
}
END_TEST

START_TEST(test_pacer_slow_start)
{
    zt_arm_pacer *p = zt_arm_pacer_new(1, true);
    /* the first request of a bucket goes at once, the next waits for its
     * answer (the server's budget may be spent already)... */
    ck_assert_int_eq(zt_arm_pace_acquire(p, "s", ZT_ARM_READS, false, zt_arm_deadline_in(100), NULL), ZT_OK);
    ck_assert_int_eq(zt_arm_pace_acquire(p, "s", ZT_ARM_READS, false, zt_arm_deadline_in(100), NULL),
                     ZT_ERR_TIMEOUT);
    /* ...other buckets probe on their own... */
    ck_assert_int_eq(zt_arm_pace_acquire(p, "s", ZT_ARM_WRITES, false, zt_arm_deadline_in(100), NULL), ZT_OK);
    /* ...and the answer, with the budget it reports, lets the rest go */
    const char *names[] = {"x-ms-ratelimit-remaining-subscription-reads"};
    const char *values[] = {"3"};
    zt_arm_http_resp r = {.status = 200, .header_names = names, .header_values = values, .n_headers = 1};
    zt_arm_pace_observe(p, "s", ZT_ARM_READS, &r, 0);
    int64_t t0 = zt_arm_now_ms();
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(zt_arm_pace_acquire(p, "s", ZT_ARM_READS, false, t0 + 1000, NULL), ZT_OK);
    ck_assert_int_lt(zt_arm_now_ms() - t0, 20);
    ck_assert_int_eq(zt_arm_pace_acquire(p, "s", ZT_ARM_READS, false, zt_arm_deadline_in(20), NULL),
                     ZT_ERR_TIMEOUT); /* 3 was all there was */
    /* a probe that never comes back (transport failure) holds the others
     * for a while only */
    t0 = zt_arm_now_ms();
    ck_assert_int_eq(zt_arm_pace_acquire(p, "s", ZT_ARM_WRITES, false, t0 + 5000, NULL), ZT_OK);
    ck_assert_int_ge(zt_arm_now_ms() - t0, 200);
    ck_assert_int_lt(zt_arm_now_ms() - t0, 1500);
    zt_arm_pacer_free(p);
}
END_TEST

typedef struct shared {
    zt_arm_pacer *p;
    atomic_int inside[2];
    atomic_int max_inside[2];
    atomic_int done;
} shared;

typedef struct lock_worker {
    shared *s;
    int key;
} lock_worker;

static void *lock_main(void *arg)
{
    lock_worker *w = arg;
    const char *keys[] = {"vnet:/a", "vnet:/b"};
    for (int i = 0; i < 20; i++) {
        ck_assert_int_eq(zt_arm_serial_lock(w->s->p, keys[w->key], zt_arm_deadline_in(20000), NULL), ZT_OK);
        int n = atomic_fetch_add(&w->s->inside[w->key], 1) + 1;
        int m = atomic_load(&w->s->max_inside[w->key]);
        while (n > m && !atomic_compare_exchange_weak(&w->s->max_inside[w->key], &m, n))
            ;
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
        atomic_fetch_sub(&w->s->inside[w->key], 1);
        zt_arm_serial_unlock(w->s->p, keys[w->key]);
    }
    atomic_fetch_add(&w->s->done, 1);
    return NULL;
}

START_TEST(test_serial_locks)
{
    shared s = {.p = zt_arm_pacer_new(1, true)};
    pthread_t th[16];
    lock_worker w[16];
    for (int i = 0; i < 16; i++) {
        w[i] = (lock_worker){&s, i % 2};
        pthread_create(&th[i], NULL, lock_main, &w[i]);
    }
    for (int i = 0; i < 16; i++)
        pthread_join(th[i], NULL);
    ck_assert_int_eq(atomic_load(&s.done), 16);
    /* one at a time per key... */
    ck_assert_int_eq(atomic_load(&s.max_inside[0]), 1);
    ck_assert_int_eq(atomic_load(&s.max_inside[1]), 1);

    /* ...a held key times out or cancels its waiters, others pass */
    ck_assert_int_eq(zt_arm_serial_lock(s.p, "k", zt_arm_deadline_in(1000), NULL), ZT_OK);
    int64_t t0 = zt_arm_now_ms();
    ck_assert_int_eq(zt_arm_serial_lock(s.p, "k", t0 + 200, NULL), ZT_ERR_TIMEOUT);
    ck_assert_int_ge(zt_arm_now_ms() - t0, 190);
    atomic_bool stop = true;
    ck_assert_int_eq(zt_arm_serial_lock(s.p, "k", zt_arm_deadline_in(5000), &stop), ZT_ERR_CANCELLED);
    ck_assert_int_eq(zt_arm_serial_lock(s.p, "other", zt_arm_deadline_in(100), NULL), ZT_OK);
    zt_arm_serial_unlock(s.p, "other");
    zt_arm_serial_unlock(s.p, "k");
    ck_assert_int_eq(zt_arm_serial_lock(s.p, "k", zt_arm_deadline_in(100), NULL), ZT_OK);
    zt_arm_serial_unlock(s.p, "k");
    zt_arm_serial_unlock(s.p, "never-locked"); /* harmless */
    zt_arm_pacer_free(s.p);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Waiting in line                                                     */

typedef struct line {
    zt_arm_pacer *p;
    atomic_int served;     /* tokens handed out so far */
    atomic_long nvcsw;     /* voluntary context switches of the waiters */
} line;

typedef struct line_worker {
    line *l;
    bool first;
    int tokens;
    int rank; /* out: place in the order tokens were handed out */
    zt_rc rc;
} line_worker;

static void *line_main(void *arg)
{
    line_worker *w = arg;
    for (int i = 0; i < w->tokens; i++) {
        w->rc = zt_arm_pace_acquire(w->l->p, "s", ZT_ARM_READS, w->first,
                                    zt_arm_deadline_in(30000), NULL);
        if (w->rc != ZT_OK)
            break;
        w->rank = atomic_fetch_add(&w->l->served, 1);
    }
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    atomic_fetch_add(&w->l->nvcsw, ru.ru_nvcsw);
    return NULL;
}

/* Wait until n threads are in line (each start is then ordered). */
static void wait_in_line(zt_arm_pacer *p, size_t n)
{
    int64_t until = zt_arm_deadline_in(10000);
    while (zt_arm_pace_waiting(p, "s", ZT_ARM_READS) < n && zt_arm_now_ms() < until) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    ck_assert_uint_eq(zt_arm_pace_waiting(p, "s", ZT_ARM_READS), n);
}

/* A 429 empties and blocks the bucket: everyone queues behind it. */
static void block_reads(zt_arm_pacer *p, int64_t ms)
{
    zt_arm_http_resp r = {.status = 429};
    zt_arm_pace_observe(p, "s", ZT_ARM_READS, &r, ms);
}

START_TEST(test_pacer_fifo_and_scope_first)
{
    /* scale 0.1: reads refill 2.5/s; the server says none are left, so
     * tokens come one per 400 ms from now on, in line (far enough apart
     * that each thread notes its rank before the next one is served) */
    line l = {.p = zt_arm_pacer_new(0.1, true)};
    const char *names[] = {"x-ms-ratelimit-remaining-subscription-reads"};
    const char *values[] = {"0"};
    zt_arm_http_resp none_left = {.status = 200, .header_names = names, .header_values = values,
                                  .n_headers = 1};
    zt_arm_pace_observe(l.p, "s", ZT_ARM_READS, &none_left, 0);
    enum { N = 6 };
    line_worker w[N + 2];
    pthread_t th[N + 2];
    /* N plain waiters in order, then two that hold a serialization scope */
    for (int i = 0; i < N + 2; i++) {
        w[i] = (line_worker){.l = &l, .first = i >= N, .tokens = 1};
        pthread_create(&th[i], NULL, line_main, &w[i]);
        wait_in_line(l.p, (size_t)i + 1);
    }
    for (int i = 0; i < N + 2; i++)
        pthread_join(th[i], NULL);
    /* the scope holders first, in their own order; then first come,
     * first served */
    ck_assert_int_eq(w[N].rank, 0);
    ck_assert_int_eq(w[N + 1].rank, 1);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(w[i].rc, ZT_OK);
        ck_assert_int_eq(w[i].rank, i + 2);
    }
    zt_arm_pacer_free(l.p);
}
END_TEST

START_TEST(test_pacer_no_lost_wakeups)
{
    /* 24 threads x 6 reads at scale 0.4 (100 tokens, 10/s): 44 are
     * waited for, 4.4 s at the bucket's rate. Every thread gets all its
     * tokens, at the rate, and the waiting costs a few wake-ups per token
     * rather than several per waiting thread and token. */
    enum { N = 24, PER = 6 };
    line l = {.p = zt_arm_pacer_new(0.4, true)};
    zt_arm_http_resp ok = {.status = 200};
    ck_assert_int_eq(zt_arm_pace_acquire(l.p, "s", ZT_ARM_READS, false, zt_arm_deadline_in(100),
                                         NULL), ZT_OK);
    zt_arm_pace_observe(l.p, "s", ZT_ARM_READS, &ok, 0); /* ends slow start */
    line_worker w[N];
    pthread_t th[N];
    int64_t t0 = zt_arm_now_ms();
    for (int i = 0; i < N; i++) {
        w[i] = (line_worker){.l = &l, .tokens = PER};
        pthread_create(&th[i], NULL, line_main, &w[i]);
    }
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    int64_t took = zt_arm_now_ms() - t0;
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(w[i].rc, ZT_OK);
    ck_assert_int_eq(atomic_load(&l.served), N * PER);
    int waited = N * PER + 1 - 100;
    ck_assert_int_ge(took, waited * 100 - 150);
    ck_assert_int_lt(took, waited * 100 + 3000);
    long switches = atomic_load(&l.nvcsw);
    /* polling every 50 ms would be ~24 threads x 20/s x ~2 s = ~1000 */
    ck_assert_msg(switches < 6 * waited + 3 * N * (took / 1000 + 1),
                  "%ld voluntary context switches for %d tokens waited for", switches, waited);
    zt_arm_pacer_free(l.p);
}
END_TEST

static void *cancel_main(void *arg)
{
    atomic_bool *stop = arg;
    struct timespec ts = {0, 100 * 1000000L};
    nanosleep(&ts, NULL);
    atomic_store(stop, true);
    zt_arm_cancel_wake();
    return NULL;
}

START_TEST(test_cancel_wakes_waiters)
{
    /* a cancel with the bell is seen at once, by the head of the line,
     * by a thread behind it, by a serial lock waiter and by a sleep */
    zt_arm_pacer *p = zt_arm_pacer_new(1, true);
    block_reads(p, 20000);
    ck_assert_int_eq(zt_arm_serial_lock(p, "k", zt_arm_deadline_in(1000), NULL), ZT_OK);
    for (int what = 0; what < 3; what++) {
        atomic_bool stop = false;
        pthread_t th;
        pthread_create(&th, NULL, cancel_main, &stop);
        int64_t t0 = zt_arm_now_ms();
        zt_rc rc = what == 0   ? zt_arm_pace_acquire(p, "s", ZT_ARM_READS, false,
                                                     zt_arm_deadline_in(20000), &stop)
                   : what == 1 ? zt_arm_serial_lock(p, "k", zt_arm_deadline_in(20000), &stop)
                               : zt_arm_sleep(20000, zt_arm_deadline_in(30000), &stop);
        int64_t took = zt_arm_now_ms() - t0;
        pthread_join(th, NULL);
        ck_assert_int_eq(rc, ZT_ERR_CANCELLED);
        ck_assert_msg(took < 600, "case %d: cancel seen after %lld ms", what, (long long)took);
    }
    zt_arm_serial_unlock(p, "k");
    zt_arm_pacer_free(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("arm_pace");
    TCase *tc = tcase_create("pace");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_bucket_math);
    tcase_add_test(tc, test_pacer_limits_rate);
    tcase_add_test(tc, test_pacer_slow_start);
    tcase_add_test(tc, test_bucket_rate_adapts);
    tcase_add_test(tc, test_serial_locks);
    tcase_add_test(tc, test_pacer_fifo_and_scope_first);
    tcase_add_test(tc, test_pacer_no_lost_wakeups);
    tcase_add_test(tc, test_cancel_wakes_waiters);
    suite_add_tcase(s, tc);
    return zt_test_run(s);
}
