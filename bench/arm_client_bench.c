/* arm_client_bench - what the ARM client sustains against the local ARM
 * emulator on loopback:
 *
 *   1. GET requests per second at concurrency 1, 8 and 32 (one shared
 *      client, one multi loop), with latency percentiles and the client's
 *      own CPU time per request;
 *   2. the time to recover from a burst of 429s (every one of 32 concurrent
 *      GETs answered 429 Retry-After: 1 once), and from ARM's read bucket
 *      running dry (400 GETs at once against 250 + 25/s), with and without
 *      the client's own pacing.
 *
 * Run it through the wrapper that starts the emulator:
 *   meson test -C BUILD --benchmark arm-client-bench -v
 *   tests/arm/run_with_emulator.py BUILD/tests/arm/arm_client_bench [seconds]
 *
 * The emulator is a Python ThreadingHTTPServer speaking HTTP/1.1, so the
 * request rates are bounded by it; the CPU figure is the client's cost.
 */
#include "zt_arm.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static const char *g_url, *g_ca, *g_sub;
static json_t *g_info;

static const char *info(const char *k)
{
    const char *v = json_string_value(json_object_get(g_info, k));
    if (!v) {
        fprintf(stderr, "emulator.json has no %s\n", k);
        exit(1);
    }
    return v;
}

static size_t discard(char *p, size_t s, size_t n, void *u) { return s * n; }

static void ctl(const char *method, const char *path, const char *body)
{
    char url[512];
    snprintf(url, sizeof(url), "%s/__emulator%s", g_url, path);
    CURL *e = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CAINFO, g_ca);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    if (body)
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    long status = 0;
    if (curl_easy_perform(e) != CURLE_OK ||
        (curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status), status >= 300)) {
        fprintf(stderr, "control %s %s failed (%ld)\n", method, path, status);
        exit(1);
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

typedef struct worker {
    zt_arm_client *c;
    const char *path;
    int64_t until_ms;
    long done, failed;
    int64_t *lat; /* ms */
    size_t nlat, caplat;
} worker;

static void *worker_main(void *arg)
{
    worker *w = arg;
    zt_arm_req req = {.method = ZT_ARM_GET, .path = w->path};
    while (zt_arm_now_ms() < w->until_ms) {
        zt_arena *a = zt_arena_new();
        zt_arm_resp r;
        req.deadline_ms = zt_arm_deadline_in(30000);
        int64_t t0 = zt_arm_now_ms();
        zt_rc rc = zt_arm_do(w->c, a, &req, &r);
        int64_t dt = zt_arm_now_ms() - t0;
        zt_arena_free(a);
        if (rc != ZT_OK) {
            w->failed++;
            continue;
        }
        w->done++;
        if (w->nlat == w->caplat) {
            w->caplat = w->caplat ? w->caplat * 2 : 1024;
            w->lat = realloc(w->lat, w->caplat * sizeof(int64_t));
        }
        w->lat[w->nlat++] = dt;
    }
    return NULL;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void throughput(zt_arm_client *c, const char *path, int conc, double seconds)
{
    worker *w = calloc((size_t)conc, sizeof(*w));
    pthread_t *th = calloc((size_t)conc, sizeof(*th));
    int64_t t0 = zt_arm_now_ms();
    double cpu0 = cpu_seconds();
    zt_arm_http_stats s0 = zt_arm_client_stats(c);
    for (int i = 0; i < conc; i++) {
        w[i] = (worker){.c = c, .path = path, .until_ms = t0 + (int64_t)(seconds * 1000)};
        pthread_create(&th[i], NULL, worker_main, &w[i]);
    }
    long done = 0, failed = 0;
    size_t nlat = 0;
    for (int i = 0; i < conc; i++) {
        pthread_join(th[i], NULL);
        done += w[i].done;
        failed += w[i].failed;
        nlat += w[i].nlat;
    }
    double elapsed = (zt_arm_now_ms() - t0) / 1000.0;
    double cpu = cpu_seconds() - cpu0;
    zt_arm_http_stats s1 = zt_arm_client_stats(c);
    int64_t *all = malloc((nlat + 1) * sizeof(int64_t));
    size_t k = 0;
    for (int i = 0; i < conc; i++) {
        memcpy(all + k, w[i].lat, w[i].nlat * sizeof(int64_t));
        k += w[i].nlat;
        free(w[i].lat);
    }
    qsort(all, nlat, sizeof(int64_t), cmp64);
    printf("GET  concurrency %2d: %7.0f req/s  (%ld ok, %ld failed in %.1f s)  "
           "latency p50 %lld ms p99 %lld ms  client CPU %.0f us/req  new connections %llu\n",
           conc, done / elapsed, done, failed, elapsed, nlat ? (long long)all[nlat / 2] : -1LL,
           nlat ? (long long)all[nlat * 99 / 100] : -1LL, done ? cpu * 1e6 / done : 0.0,
           (unsigned long long)(s1.connects - s0.connects));
    free(all);
    free(w);
    free(th);
}

typedef struct burst {
    zt_arm_client *c;
    const char *path;
    int n;
    int ok;
    unsigned retries;
} burst;

static int64_t run_burst(burst *b)
{
    zt_arena *a = zt_arena_new();
    zt_arm_op **ops = calloc((size_t)b->n, sizeof(*ops));
    zt_arm_req req = {.method = ZT_ARM_GET, .path = b->path, .deadline_ms = zt_arm_deadline_in(120000)};
    int64_t t0 = zt_arm_now_ms();
    for (int i = 0; i < b->n; i++)
        if (zt_arm_start(b->c, &req, &ops[i]) != ZT_OK)
            exit(1);
    b->ok = 0;
    b->retries = 0;
    int64_t lo = INT64_MAX, hi = 0;
    for (int i = 0; i < b->n; i++) {
        zt_arm_resp r;
        if (zt_arm_wait(ops[i], a, &r) == ZT_OK)
            b->ok++;
        b->retries += r.retries;
        if (r.elapsed_ms < lo)
            lo = r.elapsed_ms;
        if (r.elapsed_ms > hi)
            hi = r.elapsed_ms;
    }
    if (getenv("BENCH_DEBUG"))
        fprintf(stderr, "burst of %d: fastest %lld ms, slowest %lld ms\n", b->n, (long long)lo, (long long)hi);
    int64_t took = zt_arm_now_ms() - t0;
    free(ops);
    zt_arena_free(a);
    return took;
}

static zt_arm_client *new_client(zt_provider_config *cfg, bool pacing)
{
    zt_arm_client_options o = {.config = cfg, .disable_pacing = !pacing, .retry_base_ms = 100,
                               .retry_cap_ms = 5000, .max_attempts = 30};
    zt_arena *a = zt_arena_new();
    zt_diags d;
    zt_diags_init(&d, a);
    zt_arm_client *c = NULL;
    if (zt_arm_client_new(&o, &d, &c) != ZT_OK) {
        fprintf(stderr, "client: %s\n", d.head ? d.head->detail : "?");
        exit(1);
    }
    zt_arena_free(a);
    return c;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 3.0;
    const char *p = getenv("ZT_EMULATOR_JSON");
    if (!p) {
        fprintf(stderr, "run through tests/arm/run_with_emulator.py\n");
        return 77;
    }
    g_info = json_load_file(p, 0, NULL);
    g_url = info("url");
    g_ca = info("ca_path");
    g_sub = info("subscription_id");
    curl_global_init(CURL_GLOBAL_DEFAULT);
    zt_provider_config cfg = {
        .tenant_id = info("tenant_id"), .subscription_id = g_sub, .client_id = info("client_id"),
        .client_secret = info("client_secret"), .resource_manager_endpoint = g_url,
        .authority_host = g_url, .ca_bundle_path = g_ca,
    };
    char path[256];
    snprintf(path, sizeof(path), "/subscriptions/%s/resourceGroups/rg-bench", g_sub);

    /* Throughput: raw client, no client-side pacing (it would hold us at
     * ARM's 25 reads/s after the first 250). */
    zt_arm_client *c = new_client(&cfg, false);
    zt_arena *a = zt_arena_new();
    json_t *body = json_pack("{s:s}", "location", "westeurope");
    zt_arm_resp r;
    zt_arm_req put = {.method = ZT_ARM_PUT, .path = path, .body = body};
    if (zt_arm_do(c, a, &put, &r) != ZT_OK) {
        fprintf(stderr, "cannot create the resource group\n");
        return 1;
    }
    json_decref(body);
    zt_arena_free(a);
    printf("ARM client benchmark against the emulator at %s (%s)\n", g_url, curl_version());
    throughput(c, path, 1, seconds / 3 > 0.5 ? seconds / 3 : 0.5); /* warm-up */
    int conc[] = {1, 8, 32};
    for (size_t i = 0; i < sizeof(conc) / sizeof(conc[0]); i++)
        throughput(c, path, conc[i], seconds);

    /* A burst of 429s: each of 32 concurrent GETs is refused once with
     * Retry-After: 1. Ideal recovery is 1 s plus one round trip. */
    char fault[256];
    snprintf(fault, sizeof(fault),
             "{\"kind\":\"429\",\"method\":\"GET\",\"path_regex\":\"rg-bench$\",\"count\":32,\"retry_after\":1}");
    ctl("POST", "/faults", fault);
    burst b = {.c = c, .path = path, .n = 32};
    int64_t took = run_burst(&b);
    printf("429 burst (32 GETs, each 429 Retry-After 1 s once): all %d done in %lld ms, %u retries\n",
           b.ok, (long long)took, b.retries);
    zt_arm_client_free(c);

    /* ARM's read bucket running dry: the emulator throttles like ARM
     * (250 + 25/s per subscription and principal) and 400 GETs start at
     * once. Ideal: (400 - 250) / 25 = 6 s. Without client pacing the
     * requests find out by 429s; with it they queue in the client. */
    const char *th = "{\"enabled\":true,\"reads\":{\"capacity\":250,\"refill_per_second\":25}}";
    for (int paced = 0; paced < 2; paced++) {
        zt_arm_client *pc = new_client(&cfg, paced);
        zt_arena *wa = zt_arena_new();
        zt_arm_cred_token(zt_arm_client_cred(pc), wa, zt_arm_deadline_in(10000), NULL,
                          &(const char *){NULL}, NULL); /* token outside the timing */
        zt_arena_free(wa);
        ctl("POST", "/throttling", th); /* a full bucket */
        b = (burst){.c = pc, .path = path, .n = 400};
        took = run_burst(&b);
        printf("read bucket dry (400 GETs at once, ARM limits 250 + 25/s, ideal 6000 ms), "
               "client pacing %s: %d ok in %lld ms, %u retries after 429\n",
               paced ? "on " : "off", b.ok, (long long)took, b.retries);
        zt_arm_client_free(pc);
    }
    ctl("POST", "/throttling", "{\"enabled\":false}");
    json_decref(g_info);
    return 0;
}
