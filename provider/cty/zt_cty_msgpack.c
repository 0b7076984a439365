/* zt_cty_msgpack.c - cty values <-> msgpack, as go-cty's cty/msgpack.
 *
 * Decoding uses a small bounds-checked pull reader rather than
 * msgpack-c's unpacker: the unpacker builds a whole object tree first,
 * allocates arrays from lengths claimed in the input before checking that
 * the bytes exist, and has a fixed 32-level stack. Reading item by item
 * lets every claimed length be checked against the remaining bytes, keeps
 * the nesting limit ours, and points each error at the attribute path.
 * Encoding uses msgpack-c's packer, which writes the same compact forms
 * as the Go encoder Terraform uses.
 */
#include "zt_cty_internal.h"

#include <math.h>
#include <msgpack.h>
#include <stdarg.h>
#include <string.h>

#define MP_SUMMARY "Invalid value encoding"
#define EXT_REFINED 12

/* ======================= decoding ======================= */

typedef struct mp_dec {
    zt_arena *a;
    zt_diags *d;
    const uint8_t *base; /* start of the whole input, for offsets */
    const uint8_t *p;
    const uint8_t *end;
    zt_cty_pstack ps;
    int depth;
    /* Consecutive dynamic wrappers usually carry the same type JSON (a
     * list of dynamic elements); parsing it once keeps decoding linear
     * and makes the element types pointer-identical. */
    const uint8_t *tc_json;
    size_t tc_len;
    const zt_cty_type *tc_type;
    /* Nulls are immutable: a run of nils of one slot type (a sparse list)
     * shares one value instead of allocating one per input byte. */
    const zt_cty_value *last_null;
} mp_dec;

static const zt_cty_value *mp_null(mp_dec *x, const zt_cty_type *t)
{
    if (!x->last_null || x->last_null->type != t)
        x->last_null = zt_cty_null(x->a, t);
    return x->last_null;
}

static zt_rc mp_fail(mp_dec *x, const char *fmt, ...) ZT_PRINTF(2, 3);

static zt_rc mp_fail(mp_dec *x, const char *fmt, ...)
{
    if (x->d) {
        va_list ap;
        va_start(ap, fmt);
        char *detail = zt_arena_vprintf(x->a, fmt, ap);
        va_end(ap);
        zt_diag_add(x->d, ZT_SEV_ERROR, zt_cty_pstack_path(x->a, &x->ps), MP_SUMMARY,
                    "%s (msgpack byte offset %zu).", detail, (size_t)(x->p - x->base));
    }
    return ZT_ERR_DECODE;
}

/* Input text made safe for a diagnostic (which must be valid UTF-8). */
static const char *quote_input(zt_arena *a, const char *s, size_t n)
{
    zt_buf b;
    zt_buf_init(&b, a);
    size_t k = zt_cty_utf8_safe_prefix(s, n, 64);
    zt_cty_json_write_string(&b, s, k);
    if (k < n)
        zt_buf_puts(&b, "...");
    return zt_buf_cstr(&b);
}

static const char *mp_kind_name(uint8_t b)
{
    if (b <= 0x7f || b >= 0xe0 || (b >= 0xcc && b <= 0xd3))
        return "an integer";
    if (b <= 0x8f || b == 0xde || b == 0xdf)
        return "a map";
    if (b <= 0x9f || b == 0xdc || b == 0xdd)
        return "an array";
    if (b <= 0xbf || (b >= 0xd9 && b <= 0xdb))
        return "a string";
    switch (b) {
    case 0xc0:
        return "nil";
    case 0xc1:
        return "the reserved byte 0xc1";
    case 0xc2:
    case 0xc3:
        return "a bool";
    case 0xc4:
    case 0xc5:
    case 0xc6:
        return "binary data";
    case 0xca:
    case 0xcb:
        return "a float";
    default:
        return "an extension";
    }
}

static bool is_ext(uint8_t b) { return (b >= 0xc7 && b <= 0xc9) || (b >= 0xd4 && b <= 0xd8); }

static size_t mp_left(const mp_dec *x) { return (size_t)(x->end - x->p); }

static uint64_t load_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static zt_rc mp_peek(mp_dec *x, const char *what, uint8_t *b)
{
    if (x->p >= x->end)
        return mp_fail(x, "Expected %s, found the end of the data (truncated input)", what);
    *b = *x->p;
    return ZT_OK;
}

static zt_rc mp_unexpected(mp_dec *x, const char *what)
{
    return mp_fail(x, "Expected %s, found %s", what, mp_kind_name(*x->p));
}

/* The lead byte and a big-endian length of len_bytes after it; checks the
 * header itself is present (the caller checks what the length claims). */
static zt_rc mp_read_len(mp_dec *x, const char *what, size_t len_bytes, size_t *n)
{
    if (mp_left(x) < 1 + len_bytes)
        return mp_fail(x, "Truncated %s header", what);
    *n = (size_t)load_be(x->p + 1, len_bytes);
    x->p += 1 + len_bytes;
    return ZT_OK;
}

/* str or bin (cty's decoder accepts both wherever it wants a string). */
static zt_rc mp_read_strbin(mp_dec *x, const char *what, const char **s, size_t *n)
{
    uint8_t b = 0;
    ZT_TRY(mp_peek(x, what, &b));
    size_t lb = 0;
    if (b >= 0xa0 && b <= 0xbf) {
        *n = b & 0x1f;
        x->p++;
    } else {
        if (b == 0xd9 || b == 0xc4)
            lb = 1;
        else if (b == 0xda || b == 0xc5)
            lb = 2;
        else if (b == 0xdb || b == 0xc6)
            lb = 4;
        else
            return mp_unexpected(x, what);
        ZT_TRY(mp_read_len(x, what, lb, n));
    }
    if (*n > mp_left(x))
        return mp_fail(x, "Truncated input: %s of %zu bytes claimed, %zu left", what, *n,
                       mp_left(x));
    *s = (const char *)x->p;
    x->p += *n;
    return ZT_OK;
}

/* Array header; the count is checked against the bytes left (every
 * element takes at least one byte) before anyone allocates for it. */
static zt_rc mp_read_array(mp_dec *x, const char *what, size_t *n)
{
    uint8_t b = 0;
    ZT_TRY(mp_peek(x, what, &b));
    if (b >= 0x90 && b <= 0x9f) {
        *n = b & 0x0f;
        x->p++;
    } else if (b == 0xdc || b == 0xdd)
        ZT_TRY(mp_read_len(x, what, b == 0xdc ? 2 : 4, n));
    else
        return mp_unexpected(x, what);
    if (*n > mp_left(x))
        return mp_fail(x, "Truncated input: an array of %zu elements claimed, %zu bytes left",
                       *n, mp_left(x));
    return ZT_OK;
}

static zt_rc mp_read_map(mp_dec *x, const char *what, size_t *n)
{
    uint8_t b = 0;
    ZT_TRY(mp_peek(x, what, &b));
    if (b >= 0x80 && b <= 0x8f) {
        *n = b & 0x0f;
        x->p++;
    } else if (b == 0xde || b == 0xdf)
        ZT_TRY(mp_read_len(x, what, b == 0xde ? 2 : 4, n));
    else
        return mp_unexpected(x, what);
    if (*n > mp_left(x) / 2)
        return mp_fail(x, "Truncated input: a map of %zu entries claimed, %zu bytes left", *n,
                       mp_left(x));
    return ZT_OK;
}

/* Width in bytes of the payload of an integer or float lead byte. */
static size_t num_width(uint8_t b)
{
    static const uint8_t w[] = {4, 8, 1, 2, 4, 8, 1, 2, 4, 8}; /* 0xca..0xd3 */
    return (b >= 0xca && b <= 0xd3) ? w[b - 0xca] : 0;
}

/* Any msgpack integer that fits int64 (refinement keys and lengths). */
static zt_rc mp_read_int(mp_dec *x, const char *what, int64_t *out)
{
    uint8_t b = 0;
    ZT_TRY(mp_peek(x, what, &b));
    if (b <= 0x7f || b >= 0xe0) {
        *out = (int8_t)b;
        x->p++;
        return ZT_OK;
    }
    if (b < 0xcc || b > 0xd3)
        return mp_unexpected(x, what);
    size_t w = num_width(b);
    if (mp_left(x) < 1 + w)
        return mp_fail(x, "Truncated %s", what);
    uint64_t u = load_be(x->p + 1, w);
    if (b >= 0xd0) /* signed: narrow to the wire width to sign-extend */
        *out = w == 1 ? (int8_t)u : w == 2 ? (int16_t)u : w == 4 ? (int32_t)u : (int64_t)u;
    else if (u > INT64_MAX)
        return mp_fail(x, "%s is out of range", what);
    else
        *out = (int64_t)u;
    x->p += 1 + w;
    return ZT_OK;
}

static zt_rc mp_read_float(mp_dec *x, uint8_t b, double *out)
{
    size_t w = num_width(b);
    if (mp_left(x) < 1 + w)
        return mp_fail(x, "Truncated float");
    uint64_t bits = load_be(x->p + 1, w);
    if (b == 0xca) {
        uint32_t b32 = (uint32_t)bits;
        float f;
        memcpy(&f, &b32, sizeof(f));
        *out = f;
    } else
        memcpy(out, &bits, sizeof(*out));
    if (isnan(*out))
        return mp_fail(x, "Expected a number, found a NaN float (cty numbers cannot be NaN)");
    x->p += 1 + w;
    return ZT_OK;
}

static zt_rc mp_number_from_text(mp_dec *x, const char *s, size_t n, const char **num)
{
    switch (zt_cty_num_parse(x->a, s, n, num)) {
    case ZT_CTY_NUM_OK:
        return ZT_OK;
    case ZT_CTY_NUM_RANGE:
        return mp_fail(x, "The number %s is too large or too precise to handle",
                       quote_input(x->a, s, n));
    default:
        return mp_fail(x, "Expected a number, found the string %s", quote_input(x->a, s, n));
    }
}

/* Every msgpack number form: fixints, int8..64, uint8..64 (also above
 * INT64_MAX), float32/64, and decimal text in str or bin. */
static zt_rc mp_read_number(mp_dec *x, const char **num)
{
    uint8_t b = 0;
    ZT_TRY(mp_peek(x, "a number", &b));
    if (b <= 0x7f || b >= 0xe0 || (b >= 0xd0 && b <= 0xd3)) {
        int64_t i;
        ZT_TRY(mp_read_int(x, "a number", &i));
        *num = zt_cty_num_from_int64(x->a, i);
        return ZT_OK;
    }
    if (b >= 0xcc && b <= 0xcf) {
        size_t w = num_width(b);
        if (mp_left(x) < 1 + w)
            return mp_fail(x, "Truncated integer");
        *num = zt_cty_num_from_uint64(x->a, load_be(x->p + 1, w));
        x->p += 1 + w;
        return ZT_OK;
    }
    if (b == 0xca || b == 0xcb) {
        double d;
        ZT_TRY(mp_read_float(x, b, &d));
        *num = zt_cty_num_from_double(x->a, d);
        return ZT_OK;
    }
    const char *s = NULL;
    size_t n = 0;
    ZT_TRY(mp_read_strbin(x, "a number", &s, &n));
    return mp_number_from_text(x, s, n, num);
}

static zt_rc mp_read_bool(mp_dec *x, bool *out)
{
    uint8_t b = 0;
    ZT_TRY(mp_peek(x, "a bool", &b));
    if (b != 0xc2 && b != 0xc3)
        return mp_unexpected(x, "a bool");
    *out = b == 0xc3;
    x->p++;
    return ZT_OK;
}

/* A string that must be valid UTF-8 (values, keys, prefixes). */
static zt_rc mp_read_text(mp_dec *x, const char *what, const char **s, size_t *n)
{
    ZT_TRY(mp_read_strbin(x, what, s, n));
    if (!zt_cty_utf8_valid(*s, *n)) {
        x->p -= *n; /* point the offset at the string's bytes */
        return mp_fail(x, "Invalid UTF-8 in %s", what);
    }
    return ZT_OK;
}

static zt_rc mp_enter(mp_dec *x)
{
    if (++x->depth > ZT_CTY_MAX_DEPTH) {
        x->depth--;
        return mp_fail(x, "Value is nested more than %d levels deep", ZT_CTY_MAX_DEPTH);
    }
    return ZT_OK;
}

/* Extension header and payload bounds; the payload is not interpreted. */
static zt_rc mp_read_ext(mp_dec *x, int8_t *code, const uint8_t **payload, size_t *len)
{
    uint8_t b = *x->p;
    static const uint8_t fix[] = {1, 2, 4, 8, 16};
    if (b >= 0xd4) {
        *len = fix[b - 0xd4];
        x->p++;
    } else
        ZT_TRY(mp_read_len(x, "extension", b == 0xc7 ? 1 : b == 0xc8 ? 2 : 4, len));
    if (mp_left(x) < 1 || *len > mp_left(x) - 1)
        return mp_fail(x, "Truncated extension: %zu bytes claimed, %zu left", *len,
                       mp_left(x) ? mp_left(x) - 1 : 0);
    *code = (int8_t)x->p[0];
    *payload = x->p + 1;
    x->p += 1 + *len;
    return ZT_OK;
}

static zt_rc mp_skip(mp_dec *x, int depth);

static zt_rc mp_skip_items(mp_dec *x, size_t n, int depth)
{
    for (size_t i = 0; i < n; i++)
        ZT_TRY(mp_skip(x, depth + 1));
    return ZT_OK;
}

/* Skip one value of any kind (unknown refinement keys). */
static zt_rc mp_skip(mp_dec *x, int depth)
{
    uint8_t b = 0;
    ZT_TRY(mp_peek(x, "a value", &b));
    if (depth > ZT_CTY_MAX_DEPTH)
        return mp_fail(x, "Value is nested more than %d levels deep", ZT_CTY_MAX_DEPTH);
    size_t n = 0;
    const char *s = NULL;
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
        x->p++;
        return ZT_OK;
    }
    if ((b >= 0x90 && b <= 0x9f) || b == 0xdc || b == 0xdd) {
        ZT_TRY(mp_read_array(x, "an array", &n));
        return mp_skip_items(x, n, depth);
    }
    if ((b >= 0x80 && b <= 0x8f) || b == 0xde || b == 0xdf) {
        ZT_TRY(mp_read_map(x, "a map", &n));
        return mp_skip_items(x, 2 * n, depth);
    }
    if (b >= 0xca && b <= 0xd3) {
        if (mp_left(x) < 1 + num_width(b))
            return mp_fail(x, "Truncated number");
        x->p += 1 + num_width(b);
        return ZT_OK;
    }
    if (is_ext(b)) {
        int8_t code;
        const uint8_t *payload;
        return mp_read_ext(x, &code, &payload, &n);
    }
    if (b == 0xc1)
        return mp_unexpected(x, "a value");
    return mp_read_strbin(x, "a value", &s, &n);
}

static zt_rc mp_decode(mp_dec *x, const zt_cty_type *t, const zt_cty_value **out);

/* One [number, bool] bound of a number refinement. */
static zt_rc mp_read_bound(mp_dec *x, const char **num, bool *inclusive)
{
    size_t n = 0;
    ZT_TRY(mp_read_array(x, "a [number, bool] refinement bound", &n));
    if (n != 2)
        return mp_fail(x, "A number refinement bound must be a [number, bool] array");
    ZT_TRY(mp_read_number(x, num));
    return mp_read_bool(x, inclusive);
}

static zt_rc mp_read_length_bound(mp_dec *x, const zt_cty_type *t, int64_t *out)
{
    if (!zt_cty_type_is_collection(t))
        return mp_fail(x, "Length refinement on an unknown %s (only lists, sets and maps)",
                       zt_cty_type_friendly(x->a, t));
    ZT_TRY(mp_read_int(x, "a collection length bound", out));
    if (*out < 0)
        return mp_fail(x, "Negative collection length bound %lld", (long long)*out);
    return ZT_OK;
}

static zt_rc mp_refinement_entry(mp_dec *x, const zt_cty_type *t, int64_t key,
                                 zt_cty_refinement *r)
{
    const char *s = NULL;
    size_t n = 0;
    switch (key) {
    case 1:
        r->has_nullness = true;
        return mp_read_bool(x, &r->is_null);
    case 2:
        if (t->kind != ZT_CTY_STRING)
            return mp_fail(x, "String prefix refinement on an unknown %s",
                           zt_cty_type_friendly(x->a, t));
        ZT_TRY(mp_read_text(x, "a string prefix refinement", &s, &n));
        r->prefix = zt_arena_strndup(x->a, s, n);
        return ZT_OK;
    case 3:
    case 4:
        if (t->kind != ZT_CTY_NUMBER)
            return mp_fail(x, "Number bound refinement on an unknown %s",
                           zt_cty_type_friendly(x->a, t));
        if (key == 3)
            return mp_read_bound(x, &r->num_lower, &r->num_lower_inclusive);
        return mp_read_bound(x, &r->num_upper, &r->num_upper_inclusive);
    case 5:
        r->has_len_lower = true;
        return mp_read_length_bound(x, t, &r->len_lower);
    case 6:
        r->has_len_upper = true;
        return mp_read_length_bound(x, t, &r->len_upper);
    default:
        /* Newer Terraform may add keys; skip their values. */
        return mp_skip(x, x->depth + 1);
    }
}

static zt_rc mp_check_refinement(mp_dec *x, const zt_cty_refinement *r)
{
    if (r->has_len_lower && r->has_len_upper && r->len_lower > r->len_upper)
        return mp_fail(x, "Collection length refinement has lower bound %lld above upper "
                          "bound %lld",
                       (long long)r->len_lower, (long long)r->len_upper);
    if (r->num_lower && r->num_upper && zt_cty_num_cmp(r->num_lower, r->num_upper) > 0)
        return mp_fail(x, "Number refinement has lower bound above upper bound");
    return ZT_OK;
}

/* The ext-12 payload: a map with small integer keys (see zt_cty.h). */
static zt_rc mp_decode_refinements(mp_dec *x, const zt_cty_type *t, const zt_cty_value **out)
{
    size_t n = 0;
    ZT_TRY(mp_read_map(x, "a refinement map in an unknown value", &n));
    if (t->kind == ZT_CTY_DYNAMIC) { /* cty ignores refinements of DynamicVal */
        *out = zt_cty_unknown(x->a, t);
        return ZT_OK;
    }
    zt_cty_refinement r = {0};
    for (size_t i = 0; i < n; i++) {
        int64_t key;
        ZT_TRY(mp_read_int(x, "an integer refinement key", &key));
        ZT_TRY(mp_refinement_entry(x, t, key, &r));
    }
    ZT_TRY(mp_check_refinement(x, &r));
    /* Bytes after the map are ignored, as cty does (reserved for later). */
    *out = zt_cty_unknown_refined(x->a, t, &r);
    return ZT_OK;
}

/* Any extension value means "unknown" (checked before everything else). */
static zt_rc mp_decode_unknown(mp_dec *x, const zt_cty_type *t, const zt_cty_value **out)
{
    int8_t code = 0;
    const uint8_t *payload = NULL;
    size_t len = 0;
    const uint8_t *start = x->p;
    ZT_TRY(mp_read_ext(x, &code, &payload, &len));
    if (len <= 1) { /* Terraform's d4 00 00, whatever the code */
        *out = zt_cty_unknown(x->a, t);
        return ZT_OK;
    }
    const uint8_t *after = x->p;
    x->p = start;
    if (code != EXT_REFINED)
        return mp_fail(x, "Unsupported msgpack extension type %d with %zu bytes of data "
                          "(only unknown values are expected here)",
                       code, len);
    if (len > ZT_CTY_MAX_REFINEMENT_LEN)
        return mp_fail(x, "Refinements of an unknown value take %zu bytes (limit %d)", len,
                       ZT_CTY_MAX_REFINEMENT_LEN);
    const uint8_t *saved_end = x->end;
    x->p = payload;
    x->end = payload + len;
    zt_rc rc = mp_decode_refinements(x, t, out);
    x->end = saved_end;
    x->p = after;
    return rc;
}

static zt_rc mp_decode_string(mp_dec *x, const zt_cty_value **out)
{
    const char *s = NULL;
    size_t n = 0;
    ZT_TRY(mp_read_text(x, "a string", &s, &n));
    *out = zt_cty_string_n(x->a, s, n);
    return ZT_OK;
}

static zt_rc mp_decode_primitive(mp_dec *x, const zt_cty_type *t, const zt_cty_value **out)
{
    if (t->kind == ZT_CTY_STRING)
        return mp_decode_string(x, out);
    if (t->kind == ZT_CTY_NUMBER) {
        const char *num;
        ZT_TRY(mp_read_number(x, &num));
        zt_cty_value *v = zt_arena_alloc(x->a, sizeof(*v));
        v->type = t;
        v->u.num = num;
        *out = v;
        return ZT_OK;
    }
    bool b = false;
    ZT_TRY(mp_read_bool(x, &b));
    *out = zt_cty_bool(x->a, b);
    return ZT_OK;
}

static zt_rc mp_decode_elems(mp_dec *x, const zt_cty_type *et, size_t n,
                             const zt_cty_value **elems)
{
    for (size_t i = 0; i < n; i++) {
        zt_cty_pstack_push_index(&x->ps, (int64_t)i);
        zt_rc rc = mp_decode(x, et, &elems[i]);
        zt_cty_pstack_pop(&x->ps);
        if (rc != ZT_OK)
            return rc;
    }
    return ZT_OK;
}

static zt_rc mp_finish_coll(mp_dec *x, const zt_cty_type *t, size_t n,
                            const zt_cty_value **elems, const char **keys,
                            const zt_cty_value **out)
{
    *out = zt_cty_coll_decoded(x->a, t, n, elems, keys);
    if (!*out)
        return mp_fail(x, "Elements of the %s have different types",
                       zt_cty_type_friendly(x->a, t));
    return ZT_OK;
}

static zt_rc mp_decode_list_or_set(mp_dec *x, const zt_cty_type *t, const zt_cty_value **out)
{
    size_t n = 0;
    ZT_TRY(mp_read_array(x, t->kind == ZT_CTY_LIST ? "a list" : "a set", &n));
    const zt_cty_value **elems = zt_arena_calloc(x->a, n ? n : 1, sizeof(*elems));
    ZT_TRY(mp_decode_elems(x, t->elem, n, elems));
    if (t->kind == ZT_CTY_SET)
        n = zt_cty_set_normalize(elems, n);
    return mp_finish_coll(x, t, n, elems, NULL, out);
}

static zt_rc mp_decode_map(mp_dec *x, const zt_cty_type *t, const zt_cty_value **out)
{
    size_t n = 0;
    ZT_TRY(mp_read_map(x, "a map", &n));
    const zt_cty_value **vals = zt_arena_calloc(x->a, n ? n : 1, sizeof(*vals));
    const char **keys = zt_arena_calloc(x->a, n ? n : 1, sizeof(*keys));
    for (size_t i = 0; i < n; i++) {
        const char *s = NULL;
        size_t len = 0;
        ZT_TRY(mp_read_text(x, "a map key string", &s, &len));
        if (memchr(s, '\0', len))
            return mp_fail(x, "Map keys containing NUL bytes are not supported");
        keys[i] = zt_arena_strndup(x->a, s, len);
        zt_cty_pstack_push_key(&x->ps, keys[i]);
        zt_rc rc = mp_decode(x, t->elem, &vals[i]);
        zt_cty_pstack_pop(&x->ps);
        if (rc != ZT_OK)
            return rc;
    }
    n = zt_cty_map_normalize(x->a, keys, vals, n);
    return mp_finish_coll(x, t, n, vals, keys, out);
}

/* Attribute index by a key that is not NUL-terminated. */
static ssize_t attr_index_n(const zt_cty_type *t, const char *key, size_t len)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *name = t->names[mid];
        size_t nl = strlen(name);
        int c = memcmp(key, name, len < nl ? len : nl);
        if (!c)
            c = len < nl ? -1 : len > nl;
        if (!c)
            return (ssize_t)mid;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -1;
}

static zt_rc mp_decode_attr(mp_dec *x, const zt_cty_type *t, const zt_cty_value **vals)
{
    const char *s = NULL;
    size_t len = 0;
    ZT_TRY(mp_read_text(x, "an attribute name string", &s, &len));
    ssize_t i = attr_index_n(t, s, len);
    if (i < 0) {
        zt_cty_pstack_push_attr(&x->ps, zt_arena_strndup(x->a, s, len));
        x->p -= len;
        return mp_fail(x, "Unsupported attribute %s: the object type has no such attribute",
                       quote_input(x->a, s, len));
    }
    zt_cty_pstack_push_attr(&x->ps, t->names[i]);
    zt_rc rc = vals[i] ? mp_fail(x, "Duplicate attribute \"%s\"", t->names[i])
                       : mp_decode(x, t->types[i], &vals[i]);
    zt_cty_pstack_pop(&x->ps);
    return rc;
}

static zt_rc mp_decode_object(mp_dec *x, const zt_cty_type *t, const zt_cty_value **out)
{
    size_t n = 0;
    ZT_TRY(mp_read_map(x, "an object", &n));
    /* cty demands exactly the type's attributes. (It decodes an empty map
     * as an empty object even when the type has attributes, yielding a
     * value of the wrong type; we report that as the error it is.) */
    if (n != t->n)
        return mp_fail(x, "Expected an object with %zu attributes, found a map with %zu entries",
                       t->n, n);
    const zt_cty_value **vals = zt_arena_calloc(x->a, n ? n : 1, sizeof(*vals));
    for (size_t i = 0; i < n; i++)
        ZT_TRY(mp_decode_attr(x, t, vals));
    const zt_cty_type *vt = zt_cty_struct_type(x->a, t, vals);
    *out = zt_cty_value_coll(x->a, vt, n, vals, (const char **)vt->names);
    return ZT_OK;
}

static zt_rc mp_decode_tuple(mp_dec *x, const zt_cty_type *t, const zt_cty_value **out)
{
    size_t n = 0;
    ZT_TRY(mp_read_array(x, "a tuple", &n));
    if (n != t->n)
        return mp_fail(x, "Expected a tuple of %zu elements, found an array of %zu", t->n, n);
    const zt_cty_value **elems = zt_arena_calloc(x->a, n ? n : 1, sizeof(*elems));
    for (size_t i = 0; i < n; i++) {
        zt_cty_pstack_push_index(&x->ps, (int64_t)i);
        zt_rc rc = mp_decode(x, t->types[i], &elems[i]);
        zt_cty_pstack_pop(&x->ps);
        if (rc != ZT_OK)
            return rc;
    }
    *out = zt_cty_value_coll(x->a, zt_cty_struct_type(x->a, t, elems), n, elems, NULL);
    return ZT_OK;
}

static zt_rc mp_wrapper_type(mp_dec *x, const zt_cty_type **t)
{
    const char *s = NULL;
    size_t n = 0;
    const uint8_t *start = x->p;
    ZT_TRY(mp_read_strbin(x, "the type JSON of a dynamic value", &s, &n));
    if (x->tc_type && n == x->tc_len && memcmp(s, x->tc_json, n) == 0) {
        *t = x->tc_type;
        return ZT_OK;
    }
    const char *err = NULL;
    *t = zt_cty_type_parse(x->a, s, n, &err);
    if (!*t) {
        x->p = start;
        return mp_fail(x, "Invalid type in dynamic value: %s", err);
    }
    x->tc_json = (const uint8_t *)s;
    x->tc_len = n;
    x->tc_type = *t;
    return ZT_OK;
}

/* A dynamic slot: nil (untyped null) or [type JSON, value]. */
static zt_rc mp_decode_dynamic(mp_dec *x, const zt_cty_value **out)
{
    if (*x->p == 0xc0) {
        x->p++;
        *out = mp_null(x, &zt_cty_dynamic_type);
        return ZT_OK;
    }
    size_t n = 0;
    ZT_TRY(mp_read_array(x, "a dynamic value ([type, value] array)", &n));
    if (n != 2)
        return mp_fail(x, "A dynamic value must be a [type, value] array of 2 elements, "
                          "found %zu elements",
                       n);
    const zt_cty_type *t;
    ZT_TRY(mp_wrapper_type(x, &t));
    ZT_TRY(mp_enter(x));
    zt_rc rc = mp_decode(x, t, out);
    x->depth--;
    return rc;
}

static zt_rc mp_decode(mp_dec *x, const zt_cty_type *t, const zt_cty_value **out)
{
    uint8_t b = 0;
    ZT_TRY(mp_peek(x, "a value", &b));
    if (is_ext(b))
        return mp_decode_unknown(x, t, out);
    if (t->kind == ZT_CTY_DYNAMIC)
        return mp_decode_dynamic(x, out);
    if (b == 0xc0) {
        x->p++;
        *out = mp_null(x, t);
        return ZT_OK;
    }
    if (zt_cty_type_is_primitive(t))
        return mp_decode_primitive(x, t, out);
    ZT_TRY(mp_enter(x));
    zt_rc rc;
    switch (t->kind) {
    case ZT_CTY_LIST:
    case ZT_CTY_SET:
        rc = mp_decode_list_or_set(x, t, out);
        break;
    case ZT_CTY_MAP:
        rc = mp_decode_map(x, t, out);
        break;
    case ZT_CTY_OBJECT:
        rc = mp_decode_object(x, t, out);
        break;
    default:
        rc = mp_decode_tuple(x, t, out);
        break;
    }
    x->depth--;
    return rc;
}

zt_rc zt_cty_msgpack_decode(zt_arena *a, const void *buf, size_t len, const zt_cty_type *t,
                            const zt_cty_value **out, zt_diags *d)
{
    mp_dec *x = zt_arena_alloc(a, sizeof(*x));
    x->a = a;
    x->d = d;
    x->base = x->p = buf;
    x->end = x->p + len;
    *out = NULL;
    if (!t)
        return mp_fail(x, "No type given to decode the value with");
    const zt_cty_value *v = NULL;
    ZT_TRY(mp_decode(x, t, &v));
    /* cty stops after one value; trailing bytes here can only mean a
     * framing bug, so they are reported rather than ignored. */
    if (x->p != x->end)
        return mp_fail(x, "Unexpected %zu bytes of trailing data after the value",
                       mp_left(x));
    *out = v;
    return ZT_OK;
}

/* ======================= encoding ======================= */

typedef struct mp_enc {
    zt_arena *a;
    zt_diags *d;
    zt_cty_pstack ps;
    int depth;
} mp_enc;

static zt_rc enc_fail(mp_enc *x, const char *fmt, ...) ZT_PRINTF(2, 3);

static zt_rc enc_fail(mp_enc *x, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    zt_rc rc = zt_cty_encode_failv(x->a, x->d, &x->ps, fmt, ap);
    va_end(ap);
    return rc;
}

static int buf_write(void *data, const char *p, size_t n)
{
    zt_buf_append(data, p, n);
    return 0;
}

static void packer_init(msgpack_packer *pk, zt_buf *b, zt_arena *a)
{
    zt_buf_init(b, a);
    msgpack_packer_init(pk, b, buf_write);
}

static void pack_str(msgpack_packer *pk, const char *s, size_t n)
{
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

/* go-cty's rule: int64 when integral and in range; float64 when not an
 * integer and exactly a float64; otherwise the decimal text as a string
 * (so 2^64 goes as "18446744073709551616", though a float64 could hold it). */
static void pack_number(msgpack_packer *pk, const char *num)
{
    int64_t i;
    double d;
    if (zt_cty_num_is_inf(num))
        msgpack_pack_double(pk, num[0] == '-' ? -INFINITY : INFINITY);
    else if (zt_cty_num_to_int64(num, &i))
        msgpack_pack_int64(pk, i);
    else if (strchr(num, '.') && zt_cty_num_to_exact_double(num, &d))
        msgpack_pack_double(pk, d);
    else
        pack_str(pk, num, strlen(num));
}

/* Refinement entries as go-cty writes them; returns how many. */
static size_t pack_refinements(msgpack_packer *pk, const zt_cty_type *t,
                               const zt_cty_refinement *r)
{
    size_t n = 0;
    if (r->has_nullness && !r->is_null) {
        msgpack_pack_int64(pk, 1);
        msgpack_pack_false(pk);
        n++;
    }
    if (t->kind == ZT_CTY_NUMBER) {
        const char *bound[2] = {r->num_lower, r->num_upper};
        const bool incl[2] = {r->num_lower_inclusive, r->num_upper_inclusive};
        for (int k = 0; k < 2; k++) {
            if (!bound[k] || zt_cty_num_is_inf(bound[k])) /* infinite = no bound */
                continue;
            msgpack_pack_int64(pk, 3 + k);
            msgpack_pack_array(pk, 2);
            pack_number(pk, bound[k]);
            incl[k] ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
            n++;
        }
    } else if (t->kind == ZT_CTY_STRING && r->prefix && r->prefix[0]) {
        /* Terraform truncates long prefixes (to stay under its 1 KiB cap). */
        size_t len = strlen(r->prefix);
        if (len > ZT_CTY_MAX_PREFIX_LEN)
            len = zt_cty_utf8_safe_prefix(r->prefix, len, ZT_CTY_MAX_PREFIX_LEN - 1);
        msgpack_pack_int64(pk, 2);
        pack_str(pk, r->prefix, len);
        n++;
    } else if (zt_cty_type_is_collection(t)) {
        if (r->has_len_lower && r->len_lower > 0) {
            msgpack_pack_int64(pk, 5);
            msgpack_pack_int64(pk, r->len_lower);
            n++;
        }
        if (r->has_len_upper && r->len_upper < INT64_MAX) {
            msgpack_pack_int64(pk, 6);
            msgpack_pack_int64(pk, r->len_upper);
            n++;
        }
    }
    return n;
}

static const char unknown_bytes[] = {(char)0xd4, 0, 0};

static void enc_unknown(mp_enc *x, msgpack_packer *pk, const zt_cty_value *v)
{
    zt_buf body;
    msgpack_packer bp;
    packer_init(&bp, &body, x->a);
    size_t n = v->refine ? pack_refinements(&bp, v->type, v->refine) : 0;
    if (n == 0) { /* never an ext 12 with an empty map */
        buf_write(pk->data, unknown_bytes, sizeof(unknown_bytes));
        return;
    }
    zt_buf head;
    msgpack_packer hp;
    packer_init(&hp, &head, x->a);
    msgpack_pack_map(&hp, n);
    msgpack_pack_ext(pk, head.len + body.len, EXT_REFINED);
    msgpack_pack_ext_body(pk, head.data, head.len);
    msgpack_pack_ext_body(pk, body.data, body.len);
}

static zt_rc enc_value(mp_enc *x, msgpack_packer *pk, const zt_cty_value *v,
                       const zt_cty_type *t);

static zt_rc enc_enter(mp_enc *x)
{
    if (++x->depth > ZT_CTY_MAX_DEPTH) {
        x->depth--;
        return enc_fail(x, "Value is nested more than %d levels deep", ZT_CTY_MAX_DEPTH);
    }
    return ZT_OK;
}

/* [bin(type JSON), value] for a typed value in a dynamic slot. */
static zt_rc enc_dynamic(mp_enc *x, msgpack_packer *pk, const zt_cty_value *v)
{
    if (v->type->kind == ZT_CTY_DYNAMIC) {
        if (v->is_null)
            msgpack_pack_nil(pk);
        else if (v->is_unknown)
            buf_write(pk->data, unknown_bytes, sizeof(unknown_bytes));
        else
            return enc_fail(x, "A known value has no concrete type");
        return ZT_OK;
    }
    if (zt_cty_type_depth(v->type, ZT_CTY_MAX_DEPTH) > ZT_CTY_MAX_DEPTH)
        return enc_fail(x, "The value's type is nested more than %d levels deep",
                        ZT_CTY_MAX_DEPTH);
    const char *tj = zt_cty_type_to_json(x->a, v->type);
    size_t tl = strlen(tj);
    ZT_TRY(enc_enter(x));
    msgpack_pack_array(pk, 2);
    msgpack_pack_bin(pk, tl);
    msgpack_pack_bin_body(pk, tj, tl);
    zt_rc rc = enc_value(x, pk, v, v->type);
    x->depth--;
    return rc;
}

static zt_rc enc_elems(mp_enc *x, msgpack_packer *pk, const zt_cty_value *v,
                       const zt_cty_type *t)
{
    msgpack_pack_array(pk, v->u.coll.n);
    for (size_t i = 0; i < v->u.coll.n; i++) {
        zt_cty_pstack_push_index(&x->ps, (int64_t)i);
        zt_rc rc = enc_value(x, pk, v->u.coll.elems[i], t->kind == ZT_CTY_TUPLE ? t->types[i] : t->elem);
        zt_cty_pstack_pop(&x->ps);
        if (rc != ZT_OK)
            return rc;
    }
    return ZT_OK;
}

static zt_rc enc_map(mp_enc *x, msgpack_packer *pk, const zt_cty_value *v,
                     const zt_cty_type *t)
{
    msgpack_pack_map(pk, v->u.coll.n);
    for (size_t i = 0; i < v->u.coll.n; i++) {
        const char *k = v->u.coll.keys[i];
        pack_str(pk, k, strlen(k));
        if (t->kind == ZT_CTY_OBJECT)
            zt_cty_pstack_push_attr(&x->ps, k);
        else
            zt_cty_pstack_push_key(&x->ps, k);
        zt_rc rc = enc_value(x, pk, v->u.coll.elems[i], t->kind == ZT_CTY_OBJECT ? t->types[i] : t->elem);
        zt_cty_pstack_pop(&x->ps);
        if (rc != ZT_OK)
            return rc;
    }
    return ZT_OK;
}

static zt_rc enc_value(mp_enc *x, msgpack_packer *pk, const zt_cty_value *v,
                       const zt_cty_type *t)
{
    if (!v)
        return enc_fail(x, "Missing value (NULL pointer)");
    if (t->kind == ZT_CTY_DYNAMIC)
        return enc_dynamic(x, pk, v);
    if (!zt_cty_shape_matches(v, t))
        return enc_fail(x, "Expected a value of type %s, got %s", zt_cty_type_friendly(x->a, t),
                        zt_cty_type_friendly(x->a, v->type));
    if (v->is_unknown) {
        enc_unknown(x, pk, v);
        return ZT_OK;
    }
    if (v->is_null) {
        msgpack_pack_nil(pk);
        return ZT_OK;
    }
    switch (t->kind) {
    case ZT_CTY_STRING:
        pack_str(pk, v->u.str.ptr, v->u.str.len);
        return ZT_OK;
    case ZT_CTY_NUMBER:
        pack_number(pk, v->u.num);
        return ZT_OK;
    case ZT_CTY_BOOL:
        v->u.b ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
        return ZT_OK;
    default:
        break;
    }
    ZT_TRY(enc_enter(x));
    zt_rc rc = (t->kind == ZT_CTY_MAP || t->kind == ZT_CTY_OBJECT) ? enc_map(x, pk, v, t)
                                                                   : enc_elems(x, pk, v, t);
    x->depth--;
    return rc;
}

zt_rc zt_cty_msgpack_encode(zt_arena *a, const zt_cty_value *v, const zt_cty_type *t,
                            const void **out, size_t *out_len, zt_diags *d)
{
    mp_enc *x = zt_arena_alloc(a, sizeof(*x));
    x->a = a;
    x->d = d;
    *out = NULL;
    *out_len = 0;
    if (!t && v)
        t = v->type;
    if (!t)
        return enc_fail(x, "No type given to encode the value with");
    zt_buf b;
    msgpack_packer pk;
    packer_init(&pk, &b, a);
    ZT_TRY(enc_value(x, &pk, v, t));
    *out = zt_buf_cstr(&b);
    *out_len = b.len;
    return ZT_OK;
}
