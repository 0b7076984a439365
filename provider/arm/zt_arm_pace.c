/* zt_arm_pace.c - client-side pacing and write serialization.
 *
 * Token buckets per subscription and operation kind with ARM's published
 * defaults (docs/azure-arm.md 2.6: reads 250 + 25/s, writes 200 + 10/s,
 * deletes 200 + 10/s). They keep a large plan from running into 429s in
 * the first place. The server's x-ms-ratelimit-remaining-subscription-*
 * headers lower our estimate when other clients share the budget, and a
 * 429's Retry-After blocks the whole bucket, so every thread backs off
 * together instead of each finding out on its own.
 *
 * Slow start: a new bucket lets one request out and waits for its answer
 * before the rest. Terraform starts a provider process per command, and
 * the plan's refresh before it may have spent the budget we would
 * otherwise assume full: measured, a destroy's first burst drew 30-40
 * 429s in one second against ARM's default limits.
 *
 * Waiting is first in, first out per bucket, and only the head of the
 * line sleeps until the next token (a few wake-ups per token however many
 * threads wait). An operation holding a serialization scope queues before
 * the rest: every other write to that scope waits for its polls.
 *
 * Serialization: one write at a time per key (zt_arm_serial_key), held
 * for the whole operation including its polling, because Azure rejects a
 * second write to a VNet while the first is still Updating.
 */
#include "zt_arm_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* How long the others wait for a probe's answer before sending another:
 * ARM answers most requests in well under this, a slow PUT in seconds. */
#define PROBE_MS 500
/* Rate adaptation: long enough to count a slow server's accepts. */
#define RATE_WINDOW_MS 2000

static const struct {
    double capacity, rate;
} defaults[] = {
    [ZT_ARM_READS] = {250, 25},
    [ZT_ARM_WRITES] = {200, 10},
    [ZT_ARM_DELETES] = {200, 10},
};

static const char *const remaining_headers[] = {
    [ZT_ARM_READS] = "x-ms-ratelimit-remaining-subscription-reads",
    [ZT_ARM_WRITES] = "x-ms-ratelimit-remaining-subscription-writes",
    [ZT_ARM_DELETES] = "x-ms-ratelimit-remaining-subscription-deletes",
};

void zt_arm_bucket_init(zt_arm_bucket *b, double capacity, double rate_per_s, int64_t now_ms)
{
    b->capacity = capacity;
    b->tokens = capacity;
    b->rate_per_s = rate_per_s;
    b->updated_ms = now_ms;
    b->blocked_until_ms = 0;
    b->answered = false;
    b->probe_until_ms = 0;
    b->max_rate_per_s = rate_per_s;
    b->window_start_ms = now_ms;
    b->window_ok = b->window_throttled = 0;
}

static void refill(zt_arm_bucket *b, int64_t now_ms)
{
    if (now_ms <= b->updated_ms)
        return;
    b->tokens += (double)(now_ms - b->updated_ms) * b->rate_per_s / 1000.0;
    if (b->tokens > b->capacity)
        b->tokens = b->capacity;
    b->updated_ms = now_ms;
}

int64_t zt_arm_bucket_take(zt_arm_bucket *b, int64_t now_ms)
{
    if (now_ms < b->blocked_until_ms)
        return b->blocked_until_ms - now_ms;
    refill(b, now_ms);
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
        return 0;
    }
    int64_t wait = (int64_t)((1.0 - b->tokens) * 1000.0 / b->rate_per_s) + 1;
    return wait > 0 ? wait : 1;
}

void zt_arm_bucket_observe(zt_arm_bucket *b, long remaining, int64_t now_ms)
{
    if (remaining < 0)
        return;
    refill(b, now_ms);
    /* Only ever lower: responses arrive out of order, and the smallest
     * figure is the most recent one that matters. */
    if ((double)remaining < b->tokens)
        b->tokens = (double)remaining;
}

void zt_arm_bucket_block(zt_arm_bucket *b, int64_t until_ms)
{
    if (until_ms > b->blocked_until_ms)
        b->blocked_until_ms = until_ms;
    b->tokens = 0;
}

/* While 429s come, what the server accepted is its refill rate (or our
 * share of it): pacing at our assumed 25/s against a read bucket that
 * refills at 10/s drew a 429 for over a third of the requests. Never
 * faster than ARM's published rate, never to nothing. */
static void adapt_rate(zt_arm_bucket *b, int64_t now_ms)
{
    int64_t span = now_ms - b->window_start_ms;
    if (span < RATE_WINDOW_MS)
        return;
    refill(b, now_ms); /* the time so far at the old rate */
    double rate = b->rate_per_s;
    if (b->window_throttled)
        rate = (double)b->window_ok * 1000.0 / (double)span;
    else
        rate *= 1.25;
    double floor = b->max_rate_per_s / 50.0;
    b->rate_per_s = rate < floor ? floor : rate > b->max_rate_per_s ? b->max_rate_per_s : rate;
    b->window_start_ms = now_ms;
    b->window_ok = b->window_throttled = 0;
}

void zt_arm_bucket_answer(zt_arm_bucket *b, bool throttled, int64_t now_ms)
{
    if (throttled)
        b->window_throttled++;
    else
        b->window_ok++;
    adapt_rate(b, now_ms);
}

zt_arm_bucket_kind zt_arm_bucket_for(zt_arm_method m)
{
    switch (m) {
    case ZT_ARM_GET: return ZT_ARM_READS;
    case ZT_ARM_DELETE: return ZT_ARM_DELETES;
    default: return ZT_ARM_WRITES;
    }
}

/* A thread waiting for a token. Waiters queue per bucket; only the head
 * sleeps until the next token is due, the others until they are next
 * (one wake-up per token, not one per waiter and token). */
typedef struct pace_waiter {
    struct pace_waiter *next;
    pthread_cond_t cond;
    bool first; /* holds a serialization scope: queues before the others */
} pace_waiter;

typedef struct sub_buckets {
    struct sub_buckets *next;
    char *subscription;
    zt_arm_bucket b[3];
    pace_waiter *queue[3];
} sub_buckets;

typedef struct serial_entry {
    struct serial_entry *next;
    char *key;
    bool held;
    unsigned users; /* holder + waiters; the entry goes when it drops to 0 */
    pthread_cond_t cond; /* released */
} serial_entry;

struct zt_arm_pacer {
    pthread_mutex_t lock;
    bool enabled;
    double scale;
    sub_buckets *subs;
    serial_entry *serial;
};

/* The bell (zt_arm_cancel_wake): every waiter looks at its cancel flag. */
static void wake_all(void *arg)
{
    zt_arm_pacer *p = arg;
    pthread_mutex_lock(&p->lock);
    for (sub_buckets *s = p->subs; s; s = s->next)
        for (int k = 0; k < 3; k++)
            for (pace_waiter *w = s->queue[k]; w; w = w->next)
                pthread_cond_signal(&w->cond);
    for (serial_entry *e = p->serial; e; e = e->next)
        pthread_cond_broadcast(&e->cond);
    pthread_mutex_unlock(&p->lock);
}

zt_arm_pacer *zt_arm_pacer_new(double scale, bool enabled)
{
    zt_arm_pacer *p = calloc(1, sizeof(*p));
    if (!p)
        zt_panic("out of memory");
    pthread_mutex_init(&p->lock, NULL);
    p->enabled = enabled;
    p->scale = scale > 0 ? scale : 1.0;
    zt_arm_wake_register(wake_all, p);
    return p;
}

void zt_arm_pacer_free(zt_arm_pacer *p)
{
    if (!p)
        return;
    zt_arm_wake_unregister(wake_all, p);
    while (p->subs) {
        sub_buckets *s = p->subs;
        p->subs = s->next;
        free(s->subscription);
        free(s);
    }
    while (p->serial) {
        serial_entry *e = p->serial;
        p->serial = e->next;
        pthread_cond_destroy(&e->cond);
        free(e->key);
        free(e);
    }
    pthread_mutex_destroy(&p->lock);
    free(p);
}

/* With p->lock held. */
static sub_buckets *subs_for(zt_arm_pacer *p, const char *sub)
{
    for (sub_buckets *s = p->subs; s; s = s->next)
        if (strcmp(s->subscription, sub) == 0)
            return s;
    sub_buckets *s = calloc(1, sizeof(*s));
    if (!s || !(s->subscription = strdup(sub)))
        zt_panic("out of memory");
    int64_t now = zt_arm_now_ms();
    for (int i = 0; i < 3; i++)
        zt_arm_bucket_init(&s->b[i], defaults[i].capacity * p->scale,
                           defaults[i].rate * p->scale, now);
    s->next = p->subs;
    p->subs = s;
    return s;
}

/* With p->lock held: 0 when a token was taken, else the ms to wait. */
static int64_t try_take(zt_arm_pacer *p, zt_arm_bucket *b, int64_t now)
{
    if (!p->enabled)
        return now < b->blocked_until_ms ? b->blocked_until_ms - now : 0;
    if (!b->answered && now < b->probe_until_ms)
        return b->probe_until_ms - now; /* or until the answer wakes the head */
    int64_t wait = zt_arm_bucket_take(b, now);
    if (wait == 0 && !b->answered)
        b->probe_until_ms = now + PROBE_MS; /* this one is the probe */
    return wait;
}

/* Behind the waiters that hold a scope too (they keep their order), or
 * at the tail. */
static void enqueue(pace_waiter **q, pace_waiter *w)
{
    while (*q && (!w->first || (*q)->first))
        q = &(*q)->next;
    w->next = *q;
    *q = w;
}

static void dequeue(pace_waiter **q, pace_waiter *w)
{
    for (; *q; q = &(*q)->next)
        if (*q == w) {
            *q = w->next;
            return;
        }
}

zt_rc zt_arm_pace_acquire(zt_arm_pacer *p, const char *subscription, zt_arm_bucket_kind k,
                          bool first, int64_t deadline_ms, const atomic_bool *cancel)
{
    pthread_mutex_lock(&p->lock);
    sub_buckets *s = subs_for(p, subscription ? subscription : "");
    zt_arm_bucket *b = &s->b[k];
    pace_waiter **q = &s->queue[k];
    if (!*q && try_take(p, b, zt_arm_now_ms()) == 0) {
        pthread_mutex_unlock(&p->lock);
        return ZT_OK;
    }
    pace_waiter w = {.first = first};
    zt_arm_cond_init_monotonic(&w.cond);
    enqueue(q, &w);
    zt_rc rc = ZT_OK;
    for (;;) {
        int64_t now = zt_arm_now_ms();
        if (zt_arm_cancelled(cancel)) {
            rc = ZT_ERR_CANCELLED;
            break;
        }
        if (deadline_ms && now >= deadline_ms) {
            rc = ZT_ERR_TIMEOUT;
            break;
        }
        /* The slice bounds how late a cancel raised without the bell,
         * or a newer head's arrival, is seen. */
        int64_t until = now + ZT_ARM_CANCEL_SLICE_MS;
        if (*q == &w) {
            int64_t wait = try_take(p, b, now);
            if (wait == 0)
                break;
            if (now + wait < until)
                until = now + wait;
        }
        if (deadline_ms && deadline_ms < until)
            until = deadline_ms;
        zt_arm_cond_wait_until(&w.cond, &p->lock, until);
    }
    bool was_head = *q == &w;
    dequeue(q, &w);
    if (was_head && *q)
        pthread_cond_signal(&(*q)->cond); /* the next one works out its turn */
    pthread_mutex_unlock(&p->lock);
    pthread_cond_destroy(&w.cond);
    return rc;
}

size_t zt_arm_pace_waiting(zt_arm_pacer *p, const char *subscription, zt_arm_bucket_kind k)
{
    size_t n = 0;
    pthread_mutex_lock(&p->lock);
    sub_buckets *s = subs_for(p, subscription ? subscription : "");
    for (pace_waiter *w = s->queue[k]; w; w = w->next)
        n++;
    pthread_mutex_unlock(&p->lock);
    return n;
}

void zt_arm_pace_observe(zt_arm_pacer *p, const char *subscription, zt_arm_bucket_kind k,
                         const zt_arm_http_resp *r, int64_t retry_after_ms)
{
    if (!r || r->rc != ZT_OK)
        return; /* nothing learned; a probe's successor goes at PROBE_MS */
    const char *rem = zt_arm_http_header(r, remaining_headers[k]);
    pthread_mutex_lock(&p->lock);
    sub_buckets *s = subs_for(p, subscription ? subscription : "");
    zt_arm_bucket *b = &s->b[k];
    int64_t now = zt_arm_now_ms();
    /* Any answer ends slow start: a server without the header would
     * otherwise hold us to one request per PROBE_MS. */
    bool probing = !b->answered;
    b->answered = true;
    if (p->enabled)
        zt_arm_bucket_answer(b, r->status == 429, now);
    if (rem && p->enabled)
        zt_arm_bucket_observe(b, strtol(rem, NULL, 10), now);
    if (r->status == 429 && retry_after_ms > 0)
        zt_arm_bucket_block(b, now + retry_after_ms);
    if (probing && s->queue[k])
        pthread_cond_signal(&s->queue[k]->cond); /* the head waited for this answer */
    pthread_mutex_unlock(&p->lock);
}

/* ------------------------------------------------------------------ */

static serial_entry *serial_find(zt_arm_pacer *p, const char *key, bool create)
{
    for (serial_entry *e = p->serial; e; e = e->next)
        if (strcmp(e->key, key) == 0)
            return e;
    if (!create)
        return NULL;
    serial_entry *e = calloc(1, sizeof(*e));
    if (!e || !(e->key = strdup(key)))
        zt_panic("out of memory");
    zt_arm_cond_init_monotonic(&e->cond);
    e->next = p->serial;
    p->serial = e;
    return e;
}

static void serial_release_user(zt_arm_pacer *p, serial_entry *e)
{
    if (--e->users)
        return;
    for (serial_entry **pp = &p->serial; *pp; pp = &(*pp)->next)
        if (*pp == e) {
            *pp = e->next;
            break;
        }
    pthread_cond_destroy(&e->cond);
    free(e->key);
    free(e);
}

zt_rc zt_arm_serial_lock(zt_arm_pacer *p, const char *key, int64_t deadline_ms,
                         const atomic_bool *cancel)
{
    pthread_mutex_lock(&p->lock);
    serial_entry *e = serial_find(p, key, true);
    e->users++;
    while (e->held) {
        int64_t now = zt_arm_now_ms();
        zt_rc why = zt_arm_cancelled(cancel)                ? ZT_ERR_CANCELLED
                    : deadline_ms && now >= deadline_ms ? ZT_ERR_TIMEOUT
                                                        : ZT_OK;
        if (why != ZT_OK) {
            serial_release_user(p, e);
            pthread_mutex_unlock(&p->lock);
            return why;
        }
        int64_t until = now + ZT_ARM_CANCEL_SLICE_MS;
        if (deadline_ms && deadline_ms < until)
            until = deadline_ms;
        zt_arm_cond_wait_until(&e->cond, &p->lock, until);
    }
    e->held = true;
    pthread_mutex_unlock(&p->lock);
    return ZT_OK;
}

void zt_arm_serial_unlock(zt_arm_pacer *p, const char *key)
{
    pthread_mutex_lock(&p->lock);
    serial_entry *e = serial_find(p, key, false);
    if (e && e->held) {
        e->held = false;
        if (e->users > 1)
            pthread_cond_signal(&e->cond); /* one waiter of this key */
        serial_release_user(p, e);
    }
    pthread_mutex_unlock(&p->lock);
}
