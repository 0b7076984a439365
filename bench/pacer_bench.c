/* pacer_bench - what waiting for ARM's token buckets costs the provider:
 * T threads each take K read tokens from one pacer whose bucket is
 * nearly empty (the situation of a large refresh against ARM's read
 * budget), and we count the waiters' voluntary context switches and the
 * process's CPU time per token waited for. No network: the pacer alone.
 *
 *   meson test -C BUILD --benchmark pacer-bench -v
 *   BUILD/tests/arm/pacer_bench
 */
#include "zt_arm_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#ifdef ZT_PACER_BENCH_OLD_API /* the pacer before waiting in line */
#define ACQUIRE(p, k) zt_arm_pace_acquire(p, "s", k, zt_arm_deadline_in(60000), NULL)
#else
#define ACQUIRE(p, k) zt_arm_pace_acquire(p, "s", k, false, zt_arm_deadline_in(60000), NULL)
#endif

typedef struct run {
    zt_arm_pacer *p;
    int per_thread;
    atomic_long nvcsw, nivcsw;
    atomic_int failed;
} run;

static void *worker(void *arg)
{
    run *r = arg;
    for (int i = 0; i < r->per_thread; i++)
        if (ACQUIRE(r->p, ZT_ARM_READS) != ZT_OK)
            atomic_fetch_add(&r->failed, 1);
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    atomic_fetch_add(&r->nvcsw, ru.ru_nvcsw);
    atomic_fetch_add(&r->nivcsw, ru.ru_nivcsw);
    return NULL;
}

static double cpu_ms(const struct rusage *ru, bool sys)
{
    const struct timeval *t = sys ? &ru->ru_stime : &ru->ru_utime;
    return (double)t->tv_sec * 1000.0 + (double)t->tv_usec / 1000.0;
}

/* scale 0.4: ARM's read bucket as 100 tokens + 10/s */
static void one(int threads, int per_thread)
{
    run r = {.p = zt_arm_pacer_new(0.4, true), .per_thread = per_thread};
    zt_arm_http_resp ok = {.status = 200};
    ACQUIRE(r.p, ZT_ARM_READS);
    zt_arm_pace_observe(r.p, "s", ZT_ARM_READS, &ok, 0); /* ends slow start */
    struct rusage before, after;
    getrusage(RUSAGE_SELF, &before);
    int64_t t0 = zt_arm_now_ms();
    pthread_t *th = calloc((size_t)threads, sizeof(*th));
    for (int i = 0; i < threads; i++)
        pthread_create(&th[i], NULL, worker, &r);
    for (int i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    int64_t wall = zt_arm_now_ms() - t0;
    getrusage(RUSAGE_SELF, &after);
    int waited = threads * per_thread + 1 - 100;
    double user = cpu_ms(&after, false) - cpu_ms(&before, false);
    double sys = cpu_ms(&after, true) - cpu_ms(&before, true);
    printf("%7d %8d %8d %8.1f %10ld %11.1f %9.1f %9.1f %6d\n", threads, threads * per_thread,
           waited, (double)wall / 1000.0, (long)atomic_load(&r.nvcsw),
           (double)atomic_load(&r.nvcsw) / (waited > 0 ? waited : 1), user, sys,
           atomic_load(&r.failed));
    free(th);
    zt_arm_pacer_free(r.p);
}

int main(int argc, char **argv)
{
    (void)argv;
    (void)argc;
    printf("pacer: reads bucket 100 + 10/s; T threads take K tokens each\n");
    printf("%7s %8s %8s %8s %10s %11s %9s %9s %6s\n", "threads", "tokens", "waited", "wall s",
           "vol. csw", "csw/waited", "user ms", "sys ms", "failed");
    one(8, 17);   /* 136 tokens: 37 waited for */
    one(32, 5);   /* 160: 61 */
    one(64, 3);   /* 192: 93 */
    return 0;
}
