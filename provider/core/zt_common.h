/* zt_common.h - conventions shared by every module.
 *
 * Errors: every fallible function returns a zt_rc (ZT_OK == 0, errors < 0).
 * What the user should read goes into a zt_diags list (zt_diag.h); a bare
 * rc never carries a message of its own.
 *
 * Memory: allocations made on behalf of one request come from that
 * request's zt_arena (zt_arena.h) and are released together when the
 * request ends. Functions document only the exceptions ("caller frees").
 */
#ifndef ZT_COMMON_H
#define ZT_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum zt_rc {
    ZT_OK = 0,
    ZT_ERR_NOMEM = -1,     /* allocation failed */
    ZT_ERR_INVALID = -2,   /* invalid argument or configuration value */
    ZT_ERR_DECODE = -3,    /* malformed input (msgpack, JSON, protobuf) */
    ZT_ERR_IO = -4,        /* system call or file failure */
    ZT_ERR_TLS = -5,       /* certificate or TLS setup failure */
    ZT_ERR_CANCELLED = -6, /* StopProvider or shutdown interrupted the work */
    ZT_ERR_TIMEOUT = -7,   /* an operation's deadline passed */
    ZT_ERR_HTTP = -8,      /* transport-level HTTP failure */
    ZT_ERR_REMOTE = -9,    /* the remote service answered with an error */
    ZT_ERR_NOTFOUND = -10, /* the thing asked for does not exist */
    ZT_ERR_UNSUPPORTED = -11
} zt_rc;

const char *zt_rc_str(zt_rc rc);

#define ZT_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define ZT_UNUSED(x) ((void)(x))

/* Propagate an error rc to the caller. */
#define ZT_TRY(expr)                  \
    do {                              \
        zt_rc zt_try_rc_ = (expr);    \
        if (zt_try_rc_ != ZT_OK)      \
            return zt_try_rc_;        \
    } while (0)

#if defined(__GNUC__)
#define ZT_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define ZT_NORETURN __attribute__((noreturn))
#else
#define ZT_PRINTF(fmt, args)
#define ZT_NORETURN
#endif

/* Print a Terraform-visible crash report ("panic: ...") and abort. */
ZT_NORETURN void zt_panic(const char *fmt, ...) ZT_PRINTF(1, 2);

#endif
