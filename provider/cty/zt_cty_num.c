/* zt_cty_num.c - cty numbers as canonical decimal text, UTF-8 checks and
 * the attribute path stack used by the decoders.
 *
 * cty numbers are arbitrary precision. We keep them as canonical decimal
 * text ("-12.5", "18446744073709551616", no exponent, no trailing zeros,
 * never "-0") so that big integers and decimal fractions such as 0.1
 * survive exactly; doubles are only used where the wire format needs one.
 */
#include "zt_cty_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* Scan [0-9]* from s[*i]; returns how many digits were consumed. */
static size_t scan_digits(const char *s, size_t len, size_t *i)
{
    size_t start = *i;
    while (*i < len && is_digit(s[*i]))
        (*i)++;
    return *i - start;
}

/* Optional e/E exponent. Values beyond a billion are saturated: anything
 * that large is rejected by the length check later anyway. */
static bool scan_exponent(const char *s, size_t len, size_t *i, int64_t *exp)
{
    *exp = 0;
    if (*i >= len || (s[*i] != 'e' && s[*i] != 'E'))
        return true;
    (*i)++;
    bool neg = false;
    if (*i < len && (s[*i] == '+' || s[*i] == '-'))
        neg = s[(*i)++] == '-';
    size_t start = *i;
    while (*i < len && is_digit(s[*i])) {
        if (*exp < 1000000000)
            *exp = *exp * 10 + (s[*i] - '0');
        (*i)++;
    }
    if (*i == start)
        return false;
    if (neg)
        *exp = -*exp;
    return true;
}

/* Render digits dig[0..nd) times 10^p as plain decimal text. */
static zt_cty_num_status render_decimal(zt_arena *a, bool neg, const char *dig, size_t nd,
                                        int64_t p, const char **out)
{
    size_t k = p < 0 ? (size_t)-p : 0;
    size_t need;
    if (p >= 0)
        need = p > ZT_CTY_NUM_MAX_LEN ? ZT_CTY_NUM_MAX_LEN + 1 : nd + (size_t)p;
    else if (k > ZT_CTY_NUM_MAX_LEN)
        need = ZT_CTY_NUM_MAX_LEN + 1;
    else
        need = nd > k ? nd + 1 : k + 2;
    need += neg;
    if (need > ZT_CTY_NUM_MAX_LEN)
        return ZT_CTY_NUM_RANGE;

    char *o = zt_arena_alloc(a, need + 1);
    size_t w = 0;
    if (neg)
        o[w++] = '-';
    if (p >= 0) {
        memcpy(o + w, dig, nd);
        w += nd;
        memset(o + w, '0', (size_t)p);
        w += (size_t)p;
    } else if (nd > k) {
        memcpy(o + w, dig, nd - k);
        w += nd - k;
        o[w++] = '.';
        memcpy(o + w, dig + nd - k, k);
        w += k;
    } else {
        o[w++] = '0';
        o[w++] = '.';
        memset(o + w, '0', k - nd);
        w += k - nd;
        memcpy(o + w, dig, nd);
        w += nd;
    }
    o[w] = '\0';
    *out = o;
    return ZT_CTY_NUM_OK;
}

zt_cty_num_status zt_cty_num_parse(zt_arena *a, const char *s, size_t len, const char **out)
{
    size_t i = 0;
    bool neg = false;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    /* big.ParseFloat (behind cty.ParseNumberVal) accepts these spellings. */
    if (len - i == 3 && (memcmp(s + i, "Inf", 3) == 0 || memcmp(s + i, "inf", 3) == 0)) {
        *out = neg ? "-Inf" : "+Inf";
        return ZT_CTY_NUM_OK;
    }
    size_t int_start = i, nint = scan_digits(s, len, &i);
    size_t frac_start = i, nfrac = 0;
    if (i < len && s[i] == '.') {
        i++;
        frac_start = i;
        nfrac = scan_digits(s, len, &i);
    }
    if (nint + nfrac == 0)
        return ZT_CTY_NUM_SYNTAX;
    int64_t exp;
    if (!scan_exponent(s, len, &i, &exp) || i != len)
        return ZT_CTY_NUM_SYNTAX;

    /* Significant digits without leading and trailing zeros. */
    size_t nall = nint + nfrac;
    char *dig = zt_arena_alloc(a, nall + 1);
    memcpy(dig, s + int_start, nint);
    memcpy(dig + nint, s + frac_start, nfrac);
    size_t b = 0, e = nall;
    while (b < nall && dig[b] == '0')
        b++;
    if (b == nall) {
        *out = "0";
        return ZT_CTY_NUM_OK;
    }
    while (e > b && dig[e - 1] == '0')
        e--;
    int64_t p = exp - (int64_t)nfrac + (int64_t)(nall - e);
    return render_decimal(a, neg, dig + b, e - b, p, out);
}

/* Number of decimal places in the exact expansion of a finite double:
 * d = m * 2^e2 with m odd has -e2 fractional digits when e2 < 0. */
static int double_frac_digits(double d)
{
    if (d == 0)
        return 0;
    int e;
    double fr = frexp(fabs(d), &e);
    uint64_t m = (uint64_t)ldexp(fr, 53);
    int e2 = e - 53;
    while (m && !(m & 1)) {
        m >>= 1;
        e2++;
    }
    return e2 < 0 ? -e2 : 0;
}

const char *zt_cty_num_from_double(zt_arena *a, double d)
{
    if (isnan(d))
        return NULL;
    if (isinf(d))
        return d > 0 ? "+Inf" : "-Inf";
    if (d == 0)
        return "0"; /* also -0.0: cty has no negative zero in its text form */
    /* glibc prints doubles exactly, so "%.*f" with the exact number of
     * places gives the exact expansion with no trailing zeros. */
    return zt_arena_printf(a, "%.*f", double_frac_digits(d), d);
}

const char *zt_cty_num_from_int64(zt_arena *a, int64_t i)
{
    return zt_arena_printf(a, "%" PRId64, i);
}

const char *zt_cty_num_from_uint64(zt_arena *a, uint64_t u)
{
    return zt_arena_printf(a, "%" PRIu64, u);
}

bool zt_cty_num_is_inf(const char *num)
{
    return strcmp(num, "+Inf") == 0 || strcmp(num, "-Inf") == 0;
}

bool zt_cty_num_to_int64(const char *num, int64_t *out)
{
    if (zt_cty_num_is_inf(num) || strchr(num, '.') || strlen(num) > 20)
        return false;
    errno = 0;
    char *end;
    long long v = strtoll(num, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

bool zt_cty_num_to_exact_double(const char *num, double *out)
{
    /* No double's exact expansion is longer than ~1080 characters. */
    char buf[1200];
    if (zt_cty_num_is_inf(num) || strlen(num) >= sizeof(buf))
        return false;
    double d = strtod(num, NULL);
    if (isinf(d))
        return false;
    const char *dot = strchr(num, '.');
    int places = dot ? (int)strlen(dot + 1) : 0;
    if (double_frac_digits(d) != places)
        return false;
    int n = snprintf(buf, sizeof(buf), "%.*f", places, d);
    if (n < 0 || (size_t)n >= sizeof(buf) || strcmp(buf, num) != 0)
        return false;
    *out = d;
    return true;
}

static int num_sign(const char *s)
{
    if (s[0] == '-')
        return -1;
    return strcmp(s, "0") == 0 ? 0 : 1;
}

/* Compare magnitudes of two finite canonical texts without sign. */
static int cmp_magnitude(const char *x, const char *y)
{
    size_t ix = strcspn(x, "."), iy = strcspn(y, ".");
    if (ix != iy)
        return ix < iy ? -1 : 1;
    int c = memcmp(x, y, ix);
    if (c)
        return c < 0 ? -1 : 1;
    /* Fractions have no trailing zeros, so plain string order works. */
    const char *fx = x[ix] ? x + ix + 1 : "";
    const char *fy = y[iy] ? y + iy + 1 : "";
    c = strcmp(fx, fy);
    return c < 0 ? -1 : c > 0;
}

int zt_cty_num_cmp(const char *x, const char *y)
{
    bool xi = zt_cty_num_is_inf(x), yi = zt_cty_num_is_inf(y);
    if (xi || yi) {
        int vx = xi ? (x[0] == '-' ? -2 : 2) : 0;
        int vy = yi ? (y[0] == '-' ? -2 : 2) : 0;
        if (!xi)
            vx = num_sign(x);
        if (!yi)
            vy = num_sign(y);
        return vx < vy ? -1 : vx > vy;
    }
    int sx = num_sign(x), sy = num_sign(y);
    if (sx != sy)
        return sx < sy ? -1 : 1;
    if (sx == 0)
        return 0;
    int m = sx < 0 ? cmp_magnitude(x + 1, y + 1) : cmp_magnitude(x, y);
    return sx < 0 ? -m : m;
}

/* Strict UTF-8 as Go's utf8.Valid: no overlong forms, no surrogates,
 * nothing above U+10FFFF. */
bool zt_cty_utf8_valid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        unsigned char lo = 0x80, hi = 0xbf;
        if (c >= 0xc2 && c <= 0xdf)
            len = 2;
        else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            if (c == 0xe0)
                lo = 0xa0;
            else if (c == 0xed)
                hi = 0x9f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            if (c == 0xf0)
                lo = 0x90;
            else if (c == 0xf4)
                hi = 0x8f;
        } else
            return false;
        if (n - i < len || s[i + 1] < lo || s[i + 1] > hi)
            return false;
        for (size_t k = 2; k < len; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
        i += len;
    }
    return true;
}

size_t zt_cty_utf8_safe_prefix(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return n;
    size_t k = max;
    while (k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80)
        k--;
    return k;
}

/* ---- path stack ---- */

static void pstack_push(zt_cty_pstack *ps, zt_step st)
{
    /* Depth checks keep len below the capacity; the guard is belt and
     * braces so a mistake degrades the error path, not memory. */
    if (ps->len < ZT_ARRAY_LEN(ps->steps))
        ps->steps[ps->len] = st;
    ps->len++;
}

void zt_cty_pstack_push_attr(zt_cty_pstack *ps, const char *name)
{
    pstack_push(ps, (zt_step){.kind = ZT_STEP_ATTR, .name = name});
}

void zt_cty_pstack_push_key(zt_cty_pstack *ps, const char *key)
{
    pstack_push(ps, (zt_step){.kind = ZT_STEP_KEY_STRING, .name = key});
}

void zt_cty_pstack_push_index(zt_cty_pstack *ps, int64_t index)
{
    pstack_push(ps, (zt_step){.kind = ZT_STEP_KEY_INT, .index = index});
}

void zt_cty_pstack_pop(zt_cty_pstack *ps)
{
    if (ps->len)
        ps->len--;
}

zt_path *zt_cty_pstack_path(zt_arena *a, const zt_cty_pstack *ps)
{
    zt_path *p = zt_path_root(a);
    size_t n = ps->len < ZT_ARRAY_LEN(ps->steps) ? ps->len : ZT_ARRAY_LEN(ps->steps);
    if (!n)
        return p;
    p->steps = zt_arena_calloc(a, n, sizeof(zt_step));
    for (size_t i = 0; i < n; i++) {
        p->steps[i] = ps->steps[i];
        if (p->steps[i].name) /* the walker's strings may be transient */
            p->steps[i].name = zt_arena_strdup(a, p->steps[i].name);
    }
    p->len = n;
    return p;
}

zt_rc zt_cty_encode_failv(zt_arena *a, zt_diags *d, const zt_cty_pstack *ps, const char *fmt,
                          va_list ap)
{
    if (d) {
        char *detail = zt_arena_vprintf(a, fmt, ap);
        zt_diag_add(d, ZT_SEV_ERROR, zt_cty_pstack_path(a, ps), "Value cannot be encoded",
                    "%s.", detail);
    }
    return ZT_ERR_INVALID;
}
