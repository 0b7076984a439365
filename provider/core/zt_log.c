/* zt_log.c - see zt_log.h. */
#include "zt_log.h"
#include "zt_utf8.h"

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static zt_log_level g_level = ZT_LOG_OFF;
static pthread_mutex_t g_log_lock = PTHREAD_MUTEX_INITIALIZER;

zt_log_level zt_log_level_parse(const char *s)
{
    static const struct {
        const char *name;
        zt_log_level lvl;
    } levels[] = {
        {"TRACE", ZT_LOG_TRACE}, {"JSON", ZT_LOG_TRACE}, {"DEBUG", ZT_LOG_DEBUG},
        {"INFO", ZT_LOG_INFO},   {"WARN", ZT_LOG_WARN},  {"ERROR", ZT_LOG_ERROR},
        {"OFF", ZT_LOG_OFF},
    };
    if (!s || !*s)
        return ZT_LOG_OFF;
    for (size_t i = 0; i < ZT_ARRAY_LEN(levels); i++)
        if (strcasecmp(s, levels[i].name) == 0)
            return levels[i].lvl;
    /* Terraform treats any other non-empty value as TRACE. */
    return ZT_LOG_TRACE;
}

void zt_log_init(void)
{
    const char *v = getenv("TF_LOG_PROVIDER");
    if (!v || !*v)
        v = getenv("TF_LOG");
    g_level = zt_log_level_parse(v);
}

void zt_log_set_level(zt_log_level lvl) { g_level = lvl; }

bool zt_log_enabled(zt_log_level lvl) { return g_level != ZT_LOG_OFF && lvl >= g_level; }

void zt_log_timestamp(char *buf, size_t n)
{
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)tv.tv_usec);
}

static const char *level_name(zt_log_level lvl)
{
    static const char *names[] = {"", "trace", "debug", "info", "warn", "error", "off"};
    return names[lvl];
}

static bool is_secret_key(const char *k)
{
    static const char *words[] = {"authorization", "token", "secret", "password",
                                  "assertion", "key", "cookie"};
    for (size_t i = 0; i < ZT_ARRAY_LEN(words); i++)
        if (strcasestr(k, words[i]))
            return true;
    return false;
}

/* jansson refuses invalid UTF-8 (server text may hold any bytes). */
static json_t *log_string(const char *v)
{
    json_t *s = json_string(v);
    if (s)
        return s;
    zt_arena *tmp = zt_arena_new();
    s = json_string(zt_utf8_fix(tmp, v, strlen(v)));
    zt_arena_free(tmp);
    return s;
}

void zt_log(zt_log_level lvl, const char *module, const char *msg, ...)
{
    if (!zt_log_enabled(lvl))
        return;
    char ts[40];
    zt_log_timestamp(ts, sizeof(ts));
    json_t *o = json_object();
    json_object_set_new(o, "@level", json_string(level_name(lvl)));
    json_object_set_new(o, "@message", log_string(msg));
    json_object_set_new(o, "@module", json_string(module ? module : "zerotrust"));
    json_object_set_new(o, "@timestamp", json_string(ts));
    va_list ap;
    va_start(ap, msg);
    for (;;) {
        const char *k = va_arg(ap, const char *);
        if (!k)
            break;
        const char *v = va_arg(ap, const char *);
        if (is_secret_key(k))
            v = "[REDACTED]";
        json_object_set_new(o, k, log_string(v ? v : ""));
    }
    va_end(ap);
    char *line = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    if (!line)
        return;
    pthread_mutex_lock(&g_log_lock);
    fprintf(stderr, "%s\n", line);
    fflush(stderr);
    pthread_mutex_unlock(&g_log_lock);
    free(line);
}

/* Async-signal-safe write of a NUL-terminated string. */
static void sig_write(const char *s)
{
    size_t n = strlen(s);
    while (n) {
        ssize_t w = write(STDERR_FILENO, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static void crash_handler(int sig)
{
    sig_write("panic: terraform-provider-zerotrust crashed with signal ");
    sig_write(sig == SIGSEGV   ? "SIGSEGV (invalid memory access)"
              : sig == SIGBUS  ? "SIGBUS"
              : sig == SIGFPE  ? "SIGFPE"
              : sig == SIGILL  ? "SIGILL"
              : sig == SIGABRT ? "SIGABRT (abort)"
                               : "?");
    sig_write("\n\nThis is a bug in the provider; please report it with the log above.\n");
    signal(sig, SIG_DFL);
    raise(sig);
}

/* AddressSanitizer builds: ASan reports SIGSEGV, SIGBUS and SIGFPE itself
 * (the faulting access, both stacks, the shadow memory), and a handler of
 * ours would replace its handler and hide that report. */
#if defined(__SANITIZE_ADDRESS__)
#define ZT_ASAN_REPORTS_FAULTS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ZT_ASAN_REPORTS_FAULTS 1
#endif
#endif

void zt_log_install_crash_handler(void)
{
#ifdef ZT_ASAN_REPORTS_FAULTS
    /* ASan ends in abort() with abort_on_error=1: the panic line follows
     * its report. */
    int sigs[] = {SIGILL, SIGABRT};
#else
    int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
#endif
    for (size_t i = 0; i < ZT_ARRAY_LEN(sigs); i++)
        signal(sigs[i], crash_handler);
}

void zt_panic(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("panic: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\n", stderr);
    fflush(stderr);
    va_end(ap);
    signal(SIGABRT, SIG_DFL);
    abort();
}

const char *zt_rc_str(zt_rc rc)
{
    switch (rc) {
    case ZT_OK: return "ok";
    case ZT_ERR_NOMEM: return "out of memory";
    case ZT_ERR_INVALID: return "invalid value";
    case ZT_ERR_DECODE: return "malformed input";
    case ZT_ERR_IO: return "I/O error";
    case ZT_ERR_TLS: return "TLS error";
    case ZT_ERR_CANCELLED: return "cancelled";
    case ZT_ERR_TIMEOUT: return "timed out";
    case ZT_ERR_HTTP: return "HTTP transport error";
    case ZT_ERR_REMOTE: return "remote error";
    case ZT_ERR_NOTFOUND: return "not found";
    case ZT_ERR_UNSUPPORTED: return "unsupported";
    }
    return "unknown error";
}
