/* zt_arena.c - see zt_arena.h. */
#include "zt_arena.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ZT_ARENA_ALIGN 16
#define ZT_ARENA_CHUNK (16 * 1024)

typedef struct zt_chunk {
    struct zt_chunk *next;
    size_t size; /* usable bytes after the header */
    size_t used;
    max_align_t data[]; /* aligned start of the usable area */
} zt_chunk;

typedef struct zt_cleanup {
    struct zt_cleanup *next;
    void (*fn)(void *);
    void *arg;
} zt_cleanup;

struct zt_arena {
    zt_chunk *chunks;
    zt_cleanup *cleanups;
    size_t total;
    bool secret; /* wipe every chunk when freed */
};

static zt_chunk *chunk_new(size_t size)
{
    zt_chunk *c = calloc(1, sizeof(*c) + size);
    if (!c)
        zt_panic("out of memory allocating %zu bytes", size);
    c->size = size;
    return c;
}

zt_arena *zt_arena_new(void)
{
    zt_arena *a = calloc(1, sizeof(*a));
    if (!a)
        zt_panic("out of memory allocating an arena");
    return a;
}

void zt_arena_free(zt_arena *a)
{
    if (!a)
        return;
    for (zt_cleanup *c = a->cleanups; c; c = c->next)
        c->fn(c->arg);
    zt_chunk *c = a->chunks;
    while (c) {
        zt_chunk *next = c->next;
        if (a->secret)
            OPENSSL_cleanse(c->data, c->used);
        free(c);
        c = next;
    }
    free(a);
}

void *zt_arena_alloc(zt_arena *a, size_t size)
{
    size_t need = (size + ZT_ARENA_ALIGN - 1) & ~(size_t)(ZT_ARENA_ALIGN - 1);
    if (need < size)
        zt_panic("arena allocation of %zu bytes overflows", size);
    if (need == 0)
        need = ZT_ARENA_ALIGN;
    zt_chunk *c = a->chunks;
    if (!c || c->size - c->used < need) {
        /* Large requests get a chunk of their own, placed behind the
         * current one so the current chunk's free space stays usable. */
        size_t csize = need > ZT_ARENA_CHUNK / 4 ? need : ZT_ARENA_CHUNK;
        zt_chunk *n = chunk_new(csize);
        if (c && csize != ZT_ARENA_CHUNK) {
            n->next = c->next;
            c->next = n;
        } else {
            n->next = c;
            a->chunks = n;
        }
        c = n;
    }
    void *p = (char *)c->data + c->used;
    c->used += need;
    a->total += need;
    return p;
}

void *zt_arena_calloc(zt_arena *a, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        zt_panic("arena allocation of %zu x %zu bytes overflows", n, size);
    return zt_arena_alloc(a, n * size);
}

void *zt_arena_realloc(zt_arena *a, void *old, size_t old_size, size_t new_size)
{
    void *p = zt_arena_alloc(a, new_size);
    if (old && old_size)
        memcpy(p, old, old_size < new_size ? old_size : new_size);
    return p;
}

void *zt_arena_memdup(zt_arena *a, const void *p, size_t n)
{
    void *d = zt_arena_alloc(a, n + 1); /* +1: callers may treat it as a string */
    if (n)
        memcpy(d, p, n);
    return d;
}

char *zt_arena_strdup(zt_arena *a, const char *s)
{
    return s ? zt_arena_memdup(a, s, strlen(s)) : NULL;
}

char *zt_arena_strndup(zt_arena *a, const char *s, size_t n)
{
    return zt_arena_memdup(a, s, strnlen(s, n));
}

char *zt_arena_vprintf(zt_arena *a, const char *fmt, va_list ap)
{
    if (!fmt)
        return zt_arena_strdup(a, "");
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return zt_arena_strdup(a, "");
    char *s = zt_arena_alloc(a, (size_t)n + 1);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

char *zt_arena_printf(zt_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = zt_arena_vprintf(a, fmt, ap);
    va_end(ap);
    return s;
}

typedef struct {
    char *p;
    size_t n;
} zt_secret;

static void secret_wipe(void *arg)
{
    zt_secret *s = arg;
    OPENSSL_cleanse(s->p, s->n);
}

void zt_arena_wipe_on_free(zt_arena *a, void *p, size_t n)
{
    zt_secret *sec = zt_arena_alloc(a, sizeof(*sec));
    sec->p = p;
    sec->n = n;
    zt_arena_on_free(a, secret_wipe, sec);
}

char *zt_arena_secret_strdup(zt_arena *a, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *p = zt_arena_memdup(a, s, n);
    zt_arena_wipe_on_free(a, p, n);
    return p;
}

char *zt_arena_secret_printf(zt_arena *a, const char *fmt, ...)
{
    va_list ap, aq;
    va_start(ap, fmt);
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, fmt, aq);
    va_end(aq);
    if (n < 0)
        zt_panic("bad format string %s", fmt);
    char *p = zt_arena_alloc(a, (size_t)n + 1);
    zt_arena_wipe_on_free(a, p, (size_t)n);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void zt_arena_set_secret(zt_arena *a)
{
    a->secret = true;
}

void zt_arena_on_free(zt_arena *a, void (*fn)(void *), void *arg)
{
    zt_cleanup *c = zt_arena_alloc(a, sizeof(*c));
    c->fn = fn;
    c->arg = arg;
    c->next = a->cleanups;
    a->cleanups = c;
}

size_t zt_arena_used(const zt_arena *a)
{
    return a->total;
}

void zt_buf_init(zt_buf *b, zt_arena *a)
{
    memset(b, 0, sizeof(*b));
    b->arena = a;
}

static void buf_reserve(zt_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap * 2 : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    b->data = zt_arena_realloc(b->arena, b->data, b->len, cap);
    b->cap = cap;
}

void zt_buf_append(zt_buf *b, const void *p, size_t n)
{
    buf_reserve(b, n);
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void zt_buf_puts(zt_buf *b, const char *s)
{
    zt_buf_append(b, s, strlen(s));
}

void zt_buf_printf(zt_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = zt_arena_vprintf(b->arena, fmt, ap);
    va_end(ap);
    zt_buf_puts(b, s);
}

const char *zt_buf_cstr(zt_buf *b)
{
    buf_reserve(b, 0);
    b->data[b->len] = '\0';
    return b->data;
}
