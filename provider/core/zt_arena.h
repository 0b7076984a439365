/* zt_arena.h - region allocator: one arena per RPC call, freed at once.
 *
 * Allocation never returns NULL: running out of memory is reported as a
 * crash (zt_panic), as the Go runtime does, so callers need no NULL checks.
 * Memory is zeroed. Cleanups registered with zt_arena_on_free run in
 * reverse order when the arena is freed (for foreign objects such as
 * msgpack zones or jansson values that must be released with their own
 * functions).
 */
#ifndef ZT_ARENA_H
#define ZT_ARENA_H

#include "zt_common.h"
#include <stdarg.h>

typedef struct zt_arena zt_arena;

zt_arena *zt_arena_new(void);
void zt_arena_free(zt_arena *a);

void *zt_arena_alloc(zt_arena *a, size_t size);
/* Array allocation with overflow check. */
void *zt_arena_calloc(zt_arena *a, size_t n, size_t size);
/* Grow a block previously returned by this arena (copying; old is abandoned). */
void *zt_arena_realloc(zt_arena *a, void *old, size_t old_size, size_t new_size);
void *zt_arena_memdup(zt_arena *a, const void *p, size_t n);
char *zt_arena_strdup(zt_arena *a, const char *s);
char *zt_arena_strndup(zt_arena *a, const char *s, size_t n);
char *zt_arena_printf(zt_arena *a, const char *fmt, ...) ZT_PRINTF(2, 3);
char *zt_arena_vprintf(zt_arena *a, const char *fmt, va_list ap);

/* Copy of a secret: wiped (OPENSSL_cleanse) when the arena is freed. */
char *zt_arena_secret_strdup(zt_arena *a, const char *s);
/* Formatted straight into memory wiped when the arena is freed (a header
 * or form carrying a token or secret: no unwiped copy is ever made). */
char *zt_arena_secret_printf(zt_arena *a, const char *fmt, ...) ZT_PRINTF(2, 3);
/* Wipe n bytes at p (memory of this arena) when the arena is freed. */
void zt_arena_wipe_on_free(zt_arena *a, void *p, size_t n);
/* Wipe everything the arena handed out when it is freed: for a call
 * whose request holds secrets (the provider configuration). */
void zt_arena_set_secret(zt_arena *a);

void zt_arena_on_free(zt_arena *a, void (*fn)(void *), void *arg);

/* Bytes handed out so far (for tests and benchmarks). */
size_t zt_arena_used(const zt_arena *a);

/* A growable byte buffer living in an arena. */
typedef struct zt_buf {
    zt_arena *arena;
    char *data;
    size_t len;
    size_t cap;
} zt_buf;

void zt_buf_init(zt_buf *b, zt_arena *a);
void zt_buf_append(zt_buf *b, const void *p, size_t n);
void zt_buf_puts(zt_buf *b, const char *s);
void zt_buf_printf(zt_buf *b, const char *fmt, ...) ZT_PRINTF(2, 3);
/* NUL-terminated view of the contents (the NUL is not counted in len). */
const char *zt_buf_cstr(zt_buf *b);

#endif
