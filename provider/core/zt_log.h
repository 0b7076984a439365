/* zt_log.h - hclog JSON lines on stderr, the format Terraform re-logs.
 *
 * The level comes from TF_LOG_PROVIDER, else TF_LOG (TRACE, DEBUG, INFO,
 * WARN, ERROR, OFF; JSON means TRACE); lines below it are not produced at
 * all. Key/value pairs are passed as NULL-terminated string pairs. Never
 * pass secrets: values named like credentials are redacted anyway.
 */
#ifndef ZT_LOG_H
#define ZT_LOG_H

#include "zt_common.h"

typedef enum zt_log_level {
    ZT_LOG_TRACE = 1,
    ZT_LOG_DEBUG,
    ZT_LOG_INFO,
    ZT_LOG_WARN,
    ZT_LOG_ERROR,
    ZT_LOG_OFF
} zt_log_level;

void zt_log_init(void);
/* Level from a TF_LOG-style string; unknown strings mean OFF... as Terraform. */
zt_log_level zt_log_level_parse(const char *s);
void zt_log_set_level(zt_log_level lvl);
bool zt_log_enabled(zt_log_level lvl);

/* zt_log(ZT_LOG_INFO, "arm", "request sent", "method", "PUT", NULL); */
void zt_log(zt_log_level lvl, const char *module, const char *msg, ...);

/* The exact hclog timestamp layout 2006-01-02T15:04:05.000000Z07:00 into
 * buf (at least 33 bytes). */
void zt_log_timestamp(char *buf, size_t n);

/* Install SIGSEGV/SIGBUS/SIGFPE/SIGILL/SIGABRT handlers that print a
 * "panic: " report to stderr so Terraform shows a crash (in an
 * AddressSanitizer build, SIGILL/SIGABRT only: ASan reports the others). */
void zt_log_install_crash_handler(void);

#endif
