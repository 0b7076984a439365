/* zt_arm_util.c - small helpers of the ARM module: clocks, randomness,
 * base64url, URL encoding, redaction, files holding secrets. */
#include "zt_arm_internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int64_t zt_arm_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t zt_arm_realtime_s(void)
{
    return (int64_t)time(NULL);
}

uint64_t zt_arm_random_u64(void)
{
    uint64_t v;
    if (RAND_bytes((unsigned char *)&v, sizeof(v)) != 1)
        zt_panic("OpenSSL random generator failed");
    return v;
}

void zt_arm_uuid4(char out[37])
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof(b)) != 1)
        zt_panic("OpenSSL random generator failed");
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    snprintf(out, 37,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
             b[12], b[13], b[14], b[15]);
}

char *zt_arm_b64url(zt_arena *a, const void *data, size_t len)
{
    static const char tbl[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const unsigned char *p = data;
    char *out = zt_arena_alloc(a, (len + 2) / 3 * 4 + 1);
    size_t o = 0, i = 0;
    for (; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = tbl[v >> 18 & 63];
        out[o++] = tbl[v >> 12 & 63];
        out[o++] = tbl[v >> 6 & 63];
        out[o++] = tbl[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        out[o++] = tbl[v >> 18 & 63];
        out[o++] = tbl[v >> 12 & 63];
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        out[o++] = tbl[v >> 18 & 63];
        out[o++] = tbl[v >> 12 & 63];
        out[o++] = tbl[v >> 6 & 63];
    }
    out[o] = '\0';
    return out;
}

static int b64_value(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

unsigned char *zt_arm_b64_decode(zt_arena *a, const char *s, size_t *out_len)
{
    size_t n = strlen(s);
    unsigned char *out = zt_arena_alloc(a, n / 4 * 3 + 3);
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    bool padding = false;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '=') {
            padding = true;
            continue;
        }
        if (isspace(c))
            continue; /* PEM-style line breaks in pasted values */
        int v = b64_value(c);
        if (v < 0 || padding)
            return NULL;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits & 0xff);
        }
    }
    if (bits >= 6) /* a lone trailing character cannot encode a byte */
        return NULL;
    *out_len = o;
    return out;
}

char *zt_arm_url_encode(zt_arena *a, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = zt_arena_alloc(a, n * 3 + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
    return out;
}

/* Characters a path segment keeps as they are: RFC 3986 unreserved, the
 * sub-delimiters and ':' '@' (ARM names use parentheses, for one). */
static bool segment_char(unsigned char c)
{
    return isalnum(c) || strchr("-._~!$&'()*+,;=:@", c);
}

const char *zt_arm_url_path(zt_arena *a, const char *path, const char **why)
{
    static const char hex[] = "0123456789ABCDEF";
    *why = NULL;
    if (!path || path[0] != '/')
        *why = "it does not start with '/'";
    zt_buf b;
    zt_buf_init(&b, a);
    for (const char *seg = path; !*why && *seg == '/';) {
        const char *end = strchr(seg + 1, '/');
        size_t n = end ? (size_t)(end - seg - 1) : strlen(seg + 1);
        if (n == 0 || (n == 1 && seg[1] == '.') || (n == 2 && seg[1] == '.' && seg[2] == '.')) {
            *why = n ? "it has a \".\" or \"..\" segment" : "it has an empty segment";
            break;
        }
        zt_buf_puts(&b, "/");
        for (size_t i = 1; i <= n; i++) {
            unsigned char c = (unsigned char)seg[i];
            if (c == '?' || c == '#' || c == '%' || c < 0x20 || c == 0x7f) {
                *why = "it holds '?', '#', '%' or a control character";
                break;
            }
            if (segment_char(c))
                zt_buf_append(&b, &seg[i], 1);
            else
                zt_buf_printf(&b, "%%%c%c", hex[c >> 4], hex[c & 15]);
        }
        seg += n + 1;
    }
    return *why ? NULL : zt_buf_cstr(&b);
}

char *zt_arm_url_encode_secret(zt_arena *a, const char *s)
{
    char *out = zt_arm_url_encode(a, s);
    zt_arena_wipe_on_free(a, out, strlen(out));
    return out;
}

const char *zt_arm_url_origin(zt_arena *a, const char *url)
{
    const char *p = strstr(url, "://");
    if (!p || p == url)
        return NULL;
    const char *host = p + 3;
    size_t hl = strcspn(host, "/?#");
    if (hl == 0)
        return NULL;
    char *o = zt_arena_strndup(a, url, (size_t)(host - url) + hl);
    for (char *q = o; *q; q++)
        *q = (char)tolower((unsigned char)*q);
    /* https://host:443 and https://host are the same origin */
    size_t ol = strlen(o);
    if (strncmp(o, "https://", 8) == 0 && ol > 4 && strcmp(o + ol - 4, ":443") == 0)
        o[ol - 4] = '\0';
    else if (strncmp(o, "http://", 7) == 0 && ol > 3 && strcmp(o + ol - 3, ":80") == 0)
        o[ol - 3] = '\0';
    return o;
}

int64_t zt_arm_sat_add(int64_t a, int64_t b)
{
    if (b > 0 && a > INT64_MAX - b)
        return INT64_MAX;
    if (b < 0 && a < INT64_MIN - b)
        return INT64_MIN;
    return a + b;
}

/* The bell: zt_arm_cancel_wake rings it after a cancel flag is raised, so
 * that sleepers notice at once instead of polling their flag. Waiters
 * that sleep on a condition of their own (the pacer's queues, the serial
 * locks) register a waker. */
typedef struct waker {
    struct waker *next;
    void (*fn)(void *);
    void *arg;
} waker;

static pthread_once_t bell_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t bell_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t bell;
static waker *wakers;

static void bell_init(void) { zt_arm_cond_init_monotonic(&bell); }

void zt_arm_wake_register(void (*fn)(void *), void *arg)
{
    waker *w = calloc(1, sizeof(*w));
    if (!w)
        zt_panic("out of memory");
    w->fn = fn;
    w->arg = arg;
    pthread_mutex_lock(&bell_lock);
    w->next = wakers;
    wakers = w;
    pthread_mutex_unlock(&bell_lock);
}

void zt_arm_wake_unregister(void (*fn)(void *), void *arg)
{
    pthread_mutex_lock(&bell_lock);
    for (waker **pp = &wakers; *pp; pp = &(*pp)->next)
        if ((*pp)->fn == fn && (*pp)->arg == arg) {
            waker *w = *pp;
            *pp = w->next;
            free(w);
            break;
        }
    pthread_mutex_unlock(&bell_lock);
}

void zt_arm_cancel_wake(void)
{
    pthread_once(&bell_once, bell_init);
    pthread_mutex_lock(&bell_lock);
    pthread_cond_broadcast(&bell);
    for (waker *w = wakers; w; w = w->next)
        w->fn(w->arg);
    pthread_mutex_unlock(&bell_lock);
}

void zt_arm_cond_wait_until(pthread_cond_t *cond, pthread_mutex_t *lock, int64_t until_ms)
{
    struct timespec ts = {.tv_sec = until_ms / 1000, .tv_nsec = (until_ms % 1000) * 1000000L};
    pthread_cond_timedwait(cond, lock, &ts);
}

zt_rc zt_arm_sleep(int64_t ms, int64_t deadline_ms, const atomic_bool *cancel)
{
    int64_t now = zt_arm_now_ms();
    int64_t until = zt_arm_sat_add(now, ms > 0 ? ms : 0);
    zt_rc rc = ZT_OK;
    if (deadline_ms && until > deadline_ms) {
        until = deadline_ms;
        rc = ZT_ERR_TIMEOUT;
    }
    /* One wake-up at the end (or on the bell); the slice bounds how late
     * a cancel raised without ringing the bell is seen. */
    pthread_once(&bell_once, bell_init);
    pthread_mutex_lock(&bell_lock);
    while (now < until && !zt_arm_cancelled(cancel)) {
        int64_t slice = until - now;
        zt_arm_cond_wait_until(&bell, &bell_lock,
                               now + (slice < ZT_ARM_CANCEL_SLICE_MS ? slice : ZT_ARM_CANCEL_SLICE_MS));
        now = zt_arm_now_ms();
    }
    pthread_mutex_unlock(&bell_lock);
    if (zt_arm_cancelled(cancel))
        return ZT_ERR_CANCELLED;
    return rc;
}

void zt_arm_free_secret(void *p, size_t n)
{
    if (!p)
        return;
    OPENSSL_cleanse(p, n);
    free(p);
}

zt_rc zt_arm_read_file(const char *path, size_t max, char **out, size_t *out_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? ZT_ERR_NOTFOUND : ZT_ERR_IO;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        zt_panic("out of memory reading %s", path);
    for (;;) {
        if (len + 1 >= cap) {
            if (cap >= max) {
                close(fd);
                zt_arm_free_secret(buf, cap);
                return ZT_ERR_INVALID;
            }
            /* Grow by copying so the old buffer can be wiped: it may hold
             * part of a private key. */
            char *nb = malloc(cap * 2);
            if (!nb)
                zt_panic("out of memory reading %s", path);
            memcpy(nb, buf, len);
            zt_arm_free_secret(buf, cap);
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + len, cap - len - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            close(fd);
            zt_arm_free_secret(buf, cap);
            return ZT_ERR_IO;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    return ZT_OK;
}

char *zt_arm_trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* Headers whose values are credentials. */
static bool secret_header(const char *name, size_t n)
{
    static const char *names[] = {"authorization", "proxy-authorization", "x-identity-header",
                                  "secret", "cookie", "set-cookie", "x-ms-authorization-auxiliary",
                                  "ocp-apim-subscription-key"};
    for (size_t i = 0; i < ZT_ARRAY_LEN(names); i++)
        if (strlen(names[i]) == n && strncasecmp(name, names[i], n) == 0)
            return true;
    return false;
}

const char *zt_arm_redact_header(zt_arena *a, const char *line)
{
    const char *colon = strchr(line, ':');
    if (!colon)
        return zt_arena_strdup(a, line);
    size_t n = (size_t)(colon - line);
    while (n && line[n - 1] == ' ')
        n--;
    if (!secret_header(line, n))
        return zt_arena_strdup(a, line);
    return zt_arena_printf(a, "%.*s: [REDACTED]", (int)n, line);
}

static bool secret_param(const char *name, size_t n)
{
    static const char *names[] = {"sig", "token", "access_token", "client_secret",
                                  "client_assertion", "code", "password", "secret",
                                  "refresh_token", "assertion", "key"};
    for (size_t i = 0; i < ZT_ARRAY_LEN(names); i++)
        if (strlen(names[i]) == n && strncasecmp(name, names[i], n) == 0)
            return true;
    return false;
}

const char *zt_arm_redact_url(zt_arena *a, const char *url)
{
    const char *q = strchr(url, '?');
    if (!q)
        return zt_arena_strdup(a, url);
    zt_buf b;
    zt_buf_init(&b, a);
    zt_buf_append(&b, url, (size_t)(q - url) + 1);
    const char *p = q + 1;
    while (*p) {
        size_t plen = strcspn(p, "&#");
        size_t nlen = strcspn(p, "=&#");
        if (nlen < plen && secret_param(p, nlen)) {
            zt_buf_append(&b, p, nlen);
            zt_buf_puts(&b, "=[REDACTED]");
        } else {
            zt_buf_append(&b, p, plen);
        }
        p += plen;
        if (*p == '#') { /* fragments never reach the server; keep as is */
            zt_buf_puts(&b, p);
            break;
        }
        if (*p == '&')
            zt_buf_append(&b, p++, 1);
    }
    return zt_buf_cstr(&b);
}

const char *zt_arm_subscription_of(zt_arena *a, const char *path)
{
    const char *p = strcasestr(path, "/subscriptions/");
    if (!p)
        return "";
    p += strlen("/subscriptions/");
    size_t n = strcspn(p, "/?#");
    char *s = zt_arena_strndup(a, p, n);
    for (char *q = s; *q; q++)
        *q = (char)tolower((unsigned char)*q);
    return s;
}

const char *zt_arm_method_name(zt_arm_method m)
{
    switch (m) {
    case ZT_ARM_GET: return "GET";
    case ZT_ARM_PUT: return "PUT";
    case ZT_ARM_PATCH: return "PATCH";
    case ZT_ARM_DELETE: return "DELETE";
    case ZT_ARM_POST: return "POST";
    }
    return NULL;
}

void zt_arm_cond_init_monotonic(pthread_cond_t *cond)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(cond, &ca);
    pthread_condattr_destroy(&ca);
}
