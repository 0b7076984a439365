/* zt_utf8.c - see zt_utf8.h. */
#include "zt_utf8.h"

#include <string.h>

/* Length of the well-formed sequence at s (n bytes left), 0 if none. */
static size_t seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* above U+10FFFF */
    } else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return len;
}

bool zt_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t k = seq_len(p + i, n - i);
        if (!k)
            return false;
        i += k;
    }
    return true;
}

const char *zt_utf8_fix(zt_arena *a, const char *s, size_t n)
{
    if (zt_utf8_valid(s, n) && s[n] == '\0')
        return s;
    const unsigned char *p = (const unsigned char *)s;
    zt_buf b;
    zt_buf_init(&b, a);
    for (size_t i = 0; i < n;) {
        size_t k = seq_len(p + i, n - i);
        if (k) {
            zt_buf_append(&b, p + i, k);
            i += k;
        } else {
            zt_buf_append(&b, "\xEF\xBF\xBD", 3);
            i++;
        }
    }
    return zt_buf_cstr(&b);
}

size_t zt_utf8_cut(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return n;
    const unsigned char *p = (const unsigned char *)s;
    size_t cut = max;
    /* A continuation byte at max: back to the start of the character
     * that straddles it (three bytes at most). */
    while (cut > 0 && max - cut < 3 && (p[cut] & 0xC0) == 0x80)
        cut--;
    return cut;
}
