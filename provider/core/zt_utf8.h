/* zt_utf8.h - text from outside (ARM error bodies, response headers, the
 * az CLI's output) made fit for places that only take UTF-8: protobuf
 * `string` fields, which Terraform refuses whole messages over, and JSON
 * log lines. */
#ifndef ZT_UTF8_H
#define ZT_UTF8_H

#include "zt_arena.h"

/* Well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
 * above U+10FFFF), as Go's utf8.Valid judges it. */
bool zt_utf8_valid(const char *s, size_t n);
/* s[0..n) with every byte that is not part of a well-formed sequence
 * replaced by U+FFFD; s itself when it is valid and NUL-terminated at n. */
const char *zt_utf8_fix(zt_arena *a, const char *s, size_t n);
/* The longest length <= max that does not split a character of s[0..n). */
size_t zt_utf8_cut(const char *s, size_t n, size_t max);

#endif
