/* Unit tests for the cty value layer (provider/cty): types and type JSON,
 * numbers, msgpack and JSON codecs, with go-cty's exact bytes. */
#include "zt_cty.h"

#include "zt_test.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------- helpers ---------- */

static zt_arena *A;
static zt_diags D;

static void setup(void)
{
    A = zt_arena_new();
    zt_diags_init(&D, A);
}

static void teardown(void) { zt_arena_free(A); }

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = hex; *p;) {
        if (*p == ' ') {
            p++;
            continue;
        }
        unsigned v;
        ck_assert_msg(sscanf(p, "%2x", &v) == 1, "bad hex in test: %s", p);
        ck_assert_uint_lt(n, cap);
        out[n++] = (uint8_t)v;
        p += 2;
    }
    return n;
}

static const char *tohex(const void *p, size_t n)
{
    char *s = zt_arena_alloc(A, n * 3 + 1);
    for (size_t i = 0; i < n; i++)
        sprintf(s + 3 * i, "%02x ", ((const uint8_t *)p)[i]);
    return s;
}

static void check_bytes(const void *got, size_t n, const char *hex)
{
    static uint8_t want[8192];
    size_t wn = unhex(hex, want, sizeof(want));
    ck_assert_msg(n == wn && memcmp(got, want, n) == 0, "got  %s\nwant %s", tohex(got, n), hex);
}

static const char *diag_text(void)
{
    if (!D.head)
        return "(no diagnostics)";
    return zt_arena_printf(A, "%s: %s [at %s]", D.head->summary, D.head->detail,
                           D.head->path ? zt_path_str(A, D.head->path) : "(none)");
}

static void encode_expect(const zt_cty_value *v, const zt_cty_type *t, const char *hex)
{
    const void *out;
    size_t n;
    ck_assert_msg(zt_cty_msgpack_encode(A, v, t, &out, &n, &D) == ZT_OK, "%s", diag_text());
    check_bytes(out, n, hex);
}

static zt_rc decode_hex(const char *hex, const zt_cty_type *t, const zt_cty_value **v)
{
    static uint8_t buf[8192];
    size_t n = unhex(hex, buf, sizeof(buf));
    return zt_cty_msgpack_decode(A, buf, n, t, v, &D);
}

static const zt_cty_value *decode_ok(const char *hex, const zt_cty_type *t)
{
    const zt_cty_value *v = NULL;
    ck_assert_msg(decode_hex(hex, t, &v) == ZT_OK, "decode %s: %s", hex, diag_text());
    ck_assert_ptr_nonnull(v);
    return v;
}

/* Decoding fails with ZT_ERR_DECODE and one error whose path prints as
 * want_path. */
static void decode_fails_bytes(const void *buf, size_t n, const zt_cty_type *t,
                               const char *want_path)
{
    const zt_cty_value *v = (const zt_cty_value *)1;
    zt_diags_init(&D, A);
    ck_assert_int_eq(zt_cty_msgpack_decode(A, buf, n, t, &v, &D), ZT_ERR_DECODE);
    ck_assert_ptr_null(v);
    ck_assert_uint_eq(D.errors, 1);
    ck_assert_str_eq(D.head->summary, "Invalid value encoding");
    ck_assert_ptr_nonnull(D.head->path);
    ck_assert_msg(strcmp(zt_path_str(A, D.head->path), want_path) == 0, "path %s, want %s (%s)",
                  zt_path_str(A, D.head->path), want_path, D.head->detail);
}

static void decode_fails(const char *hex, const zt_cty_type *t, const char *want_path)
{
    static uint8_t buf[8192];
    size_t n = unhex(hex, buf, sizeof(buf));
    decode_fails_bytes(buf, n, t, want_path);
}

static const zt_cty_type *T(const char *json)
{
    const zt_cty_type *t = NULL;
    ck_assert_msg(zt_cty_type_from_json(A, json, strlen(json), &t, &D) == ZT_OK, "type %s: %s",
                  json, diag_text());
    return t;
}

static const zt_cty_value *num(const char *text)
{
    const zt_cty_value *v = zt_cty_number_text(A, text);
    ck_assert_ptr_nonnull(v);
    return v;
}

/* msgpack encode -> decode -> equal, and re-encoding gives the same bytes. */
static void msgpack_roundtrip(const zt_cty_value *v, const zt_cty_type *t)
{
    const void *b1, *b2;
    size_t n1, n2;
    const zt_cty_value *back;
    ck_assert_msg(zt_cty_msgpack_encode(A, v, t, &b1, &n1, &D) == ZT_OK, "%s", diag_text());
    ck_assert_msg(zt_cty_msgpack_decode(A, b1, n1, t, &back, &D) == ZT_OK, "%s: %s",
                  tohex(b1, n1), diag_text());
    ck_assert_msg(zt_cty_equal(v, back), "round trip changed the value: %s", tohex(b1, n1));
    ck_assert_int_eq(zt_cty_msgpack_encode(A, back, t, &b2, &n2, &D), ZT_OK);
    ck_assert_msg(n1 == n2 && memcmp(b1, b2, n1) == 0, "re-encoding differs");
}

static const char *json_encode_ok(const zt_cty_value *v, const zt_cty_type *t)
{
    const char *out;
    size_t n;
    ck_assert_msg(zt_cty_json_encode(A, v, t, &out, &n, &D) == ZT_OK, "%s", diag_text());
    ck_assert_uint_eq(strlen(out), n);
    return out;
}

static const zt_cty_value *json_decode_ok(const char *json, const zt_cty_type *t, bool ignore)
{
    const zt_cty_value *v = NULL;
    ck_assert_msg(zt_cty_json_decode(A, json, strlen(json), t, ignore, &v, &D) == ZT_OK,
                  "json %s: %s", json, diag_text());
    return v;
}

static void json_decode_fails(const char *json, const zt_cty_type *t, bool ignore,
                              const char *want_path)
{
    const zt_cty_value *v = (const zt_cty_value *)1;
    zt_diags_init(&D, A);
    ck_assert_int_eq(zt_cty_json_decode(A, json, strlen(json), t, ignore, &v, &D),
                     ZT_ERR_DECODE);
    ck_assert_ptr_null(v);
    ck_assert_uint_eq(D.errors, 1);
    ck_assert_msg(strcmp(zt_path_str(A, D.head->path), want_path) == 0,
                  "json %s: path %s, want %s (%s)", json, zt_path_str(A, D.head->path),
                  want_path, D.head->detail);
}

/* ---------- types ---------- */

START_TEST(test_type_json_roundtrip)
{
    static const char *const cases[] = {
        "\"string\"",
        "\"number\"",
        "\"bool\"",
        "\"dynamic\"",
        "[\"list\",\"string\"]",
        "[\"set\",[\"map\",\"number\"]]",
        "[\"list\",[\"object\",{\"name\":\"string\",\"port\":\"number\"}]]",
        "[\"object\",{}]",
        "[\"tuple\",[]]",
        "[\"tuple\",[\"string\",[\"list\",\"bool\"],\"dynamic\"]]",
        "[\"object\",{\"a\":\"string\",\"b\":[\"object\",{\"c\":\"number\"},[\"c\"]]},[\"a\",\"b\"]]",
        "[\"map\",[\"set\",[\"tuple\",[\"number\"]]]]",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const zt_cty_type *t = T(cases[i]);
        ck_assert_str_eq(zt_cty_type_to_json(A, t), cases[i]);
        ck_assert(zt_cty_type_equal(t, T(zt_cty_type_to_json(A, t))));
    }
    /* Keys come out sorted, whitespace is dropped. */
    const zt_cty_type *t = T(" [ \"object\" , { \"z\" : \"bool\", \"a\":\"string\" } ] ");
    ck_assert_str_eq(zt_cty_type_to_json(A, t), "[\"object\",{\"a\":\"string\",\"z\":\"bool\"}]");
    ck_assert_uint_eq(t->n, 2);
    ck_assert_str_eq(t->names[0], "a");
    ck_assert_ptr_null(t->optional);
    /* Optional attributes. */
    t = T("[\"object\",{\"b\":\"number\",\"a\":\"string\"},[\"b\"]]");
    ck_assert_ptr_nonnull(t->optional);
    ck_assert(!t->optional[0] && t->optional[1]);
    ck_assert(!zt_cty_type_equal(t, T("[\"object\",{\"b\":\"number\",\"a\":\"string\"}]")));
}
END_TEST

START_TEST(test_type_json_malformed)
{
    static const char *const bad[] = {
        "",
        "\"strin\"",
        "\"string\" x",
        "\"string\"\"string\"",
        "42",
        "null",
        "{}",
        "[]",
        "[\"list\"]",
        "[\"list\",\"string\",\"string\"]",
        "[\"lisst\",\"string\"]",
        "[\"object\",[]]",
        "[\"object\",{\"a\":\"string\"},[\"b\"]]",
        "[\"object\",{\"a\":\"string\"},\"a\"]",
        "[\"object\",{\"a\":\"string\"},[\"a\"],1]",
        "[\"tuple\",{}]",
        "[\"list\",\"string\"",
        "[\"object\",{\"a\\u0000\":\"string\"}]",
        "[1,\"string\"]",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const zt_cty_type *t = (const zt_cty_type *)1;
        zt_diags_init(&D, A);
        ck_assert_msg(zt_cty_type_from_json(A, bad[i], strlen(bad[i]), &t, &D) == ZT_ERR_DECODE,
                      "accepted %s", bad[i]);
        ck_assert_ptr_null(t);
        ck_assert_uint_eq(D.errors, 1);
    }
    /* Deep nesting is refused, not recursed into without bound. */
    zt_buf b;
    zt_buf_init(&b, A);
    for (int i = 0; i < 200; i++)
        zt_buf_puts(&b, "[\"list\",");
    zt_buf_puts(&b, "\"string\"");
    for (int i = 0; i < 200; i++)
        zt_buf_puts(&b, "]");
    const zt_cty_type *t;
    ck_assert_int_eq(zt_cty_type_from_json(A, b.data, b.len, &t, &D), ZT_ERR_DECODE);
}
END_TEST

START_TEST(test_type_helpers)
{
    const char *names[] = {"zeta", "alpha", "mid"};
    const zt_cty_type *types[] = {&zt_cty_bool_type, &zt_cty_string_type, &zt_cty_number_type};
    const zt_cty_type *o = zt_cty_type_object(A, 3, names, types, NULL);
    ck_assert_str_eq(o->names[0], "alpha");
    ck_assert_ptr_eq(o->types[0], &zt_cty_string_type);
    ck_assert_ptr_eq(o->types[2], &zt_cty_bool_type);
    ck_assert_int_eq(zt_cty_type_attr_index(o, "mid"), 1);
    ck_assert_int_eq(zt_cty_type_attr_index(o, "nope"), -1);
    ck_assert_str_eq(zt_cty_type_friendly(A, T("[\"list\",[\"map\",\"string\"]]")),
                     "list of map of string");
    ck_assert_str_eq(zt_cty_type_friendly(A, o), "object");
    ck_assert(zt_cty_type_equal(zt_cty_type_list(A, &zt_cty_string_type), T("[\"list\",\"string\"]")));
    ck_assert(!zt_cty_type_equal(zt_cty_type_set(A, &zt_cty_string_type), T("[\"list\",\"string\"]")));
}
END_TEST

/* ---------- numbers ---------- */

START_TEST(test_number_canonical)
{
    static const char *const cases[][2] = {
        {"1", "1"},           {"1.50", "1.5"},   {"-0", "0"},        {"-0.000", "0"},
        {"1e3", "1000"},      {"1.5E-3", "0.0015"}, {"+7", "7"},      {"007", "7"},
        {".5", "0.5"},        {"5.", "5"},       {"-12.340e1", "-123.4"}, {"Inf", "+Inf"},
        {"-inf", "-Inf"},     {"1e-7", "0.0000001"}, {"123456789012345678901234567890", "123456789012345678901234567890"},
        {"0.1", "0.1"},       {"100e-2", "1"},   {"0e999999999999", "0"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const zt_cty_value *v = zt_cty_number_text(A, cases[i][0]);
        ck_assert_msg(v, "rejected %s", cases[i][0]);
        ck_assert_str_eq(v->u.num, cases[i][1]);
    }
    static const char *const bad[] = {"", "abc", "1e", "1e+", "--1", "1.2.3", "NaN", "0x10",
                                      " 1", "1 ", "1e100000", "1_000", "."};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(!zt_cty_number_text(A, bad[i]), "accepted %s", bad[i]);

    ck_assert_str_eq(zt_cty_number_double(A, 0.1)->u.num,
                     "0.1000000000000000055511151231257827021181583404541015625");
    ck_assert_str_eq(zt_cty_number_double(A, -2.5)->u.num, "-2.5");
    ck_assert_str_eq(zt_cty_number_double(A, 1e21)->u.num, "1000000000000000000000");
    ck_assert_str_eq(zt_cty_number_double(A, -0.0)->u.num, "0");
    ck_assert_str_eq(zt_cty_number_double(A, INFINITY)->u.num, "+Inf");
    ck_assert_ptr_null(zt_cty_number_double(A, NAN));
    ck_assert_str_eq(zt_cty_number_int(A, INT64_MIN)->u.num, "-9223372036854775808");

    int64_t i;
    ck_assert(zt_cty_number_to_int64(num("-42"), &i) && i == -42);
    ck_assert(zt_cty_number_to_int64(num("9223372036854775807"), &i) && i == INT64_MAX);
    ck_assert(!zt_cty_number_to_int64(num("9223372036854775808"), &i));
    ck_assert(!zt_cty_number_to_int64(num("1.5"), &i));
    ck_assert(zt_cty_number_to_double(num("1.25")) == 1.25);
    ck_assert(isinf(zt_cty_number_to_double(num("-Inf"))));
}
END_TEST

/* ---------- msgpack: go-cty's exact bytes ---------- */

START_TEST(test_msgpack_number_bytes)
{
    const zt_cty_type *N = &zt_cty_number_type;
    encode_expect(num("1"), N, "01");
    encode_expect(num("-1"), N, "ff");
    encode_expect(num("0"), N, "00");
    encode_expect(num("127"), N, "7f");
    encode_expect(num("-32"), N, "e0");
    encode_expect(num("-33"), N, "d0 df");
    encode_expect(num("200"), N, "cc c8");
    encode_expect(num("-200"), N, "d1 ff 38");
    encode_expect(num("65536"), N, "ce 00 01 00 00");
    encode_expect(num("-9223372036854775808"), N, "d3 80 00 00 00 00 00 00 00");
    encode_expect(num("9223372036854775807"), N, "cf 7f ff ff ff ff ff ff ff");
    encode_expect(num("1.5"), N, "cb 3f f8 00 00 00 00 00 00");
    encode_expect(num("-0.25"), N, "cb bf d0 00 00 00 00 00 00");
    /* 0.1 from config is not a float64: decimal text. */
    encode_expect(num("0.1"), N, "a3 30 2e 31");
    /* ... but 0.1 that arrived as a float64 is one. */
    encode_expect(zt_cty_number_double(A, 0.1), N, "cb 3f b9 99 99 99 99 99 9a");
    /* uint64 max is not a float64 either. */
    encode_expect(num("18446744073709551615"), N,
                  "b4 31 38 34 34 36 37 34 34 30 37 33 37 30 39 35 35 31 36 31 35");
    /* 2^64 is exactly a float64, but integers go as text (go-cty >= 1.13). */
    encode_expect(num("18446744073709551616"), N,
                  "b4 31 38 34 34 36 37 34 34 30 37 33 37 30 39 35 35 31 36 31 36");
    zt_buf want;
    zt_buf_init(&want, A);
    zt_buf_puts(&want, "da 01 2d 31"); /* 1e300: 301 characters of text */
    for (int i = 0; i < 300; i++)
        zt_buf_puts(&want, " 30");
    encode_expect(num("1e300"), N, zt_buf_cstr(&want));
    encode_expect(num("18446744073709551617"), N,
                  "b4 31 38 34 34 36 37 34 34 30 37 33 37 30 39 35 35 31 36 31 37");
    encode_expect(num("+Inf"), N, "cb 7f f0 00 00 00 00 00 00");
    encode_expect(num("-Inf"), N, "cb ff f0 00 00 00 00 00 00");
}
END_TEST

START_TEST(test_msgpack_number_decode_forms)
{
    const zt_cty_type *N = &zt_cty_number_type;
    static const char *const cases[][2] = {
        {"01", "1"},
        {"ff", "-1"},
        {"d0 80", "-128"},
        {"d1 ff 38", "-200"},
        {"d2 80 00 00 00", "-2147483648"},
        {"d3 80 00 00 00 00 00 00 00", "-9223372036854775808"},
        {"cc ff", "255"},
        {"cd ff ff", "65535"},
        {"ce ff ff ff ff", "4294967295"},
        {"cf ff ff ff ff ff ff ff ff", "18446744073709551615"},
        {"ca 3f c0 00 00", "1.5"},
        {"ca 3d cc cc cd", "0.100000001490116119384765625"},
        {"cb 3f b9 99 99 99 99 99 9a", "0.1000000000000000055511151231257827021181583404541015625"},
        {"cb 7f f0 00 00 00 00 00 00", "+Inf"},
        {"cb 80 00 00 00 00 00 00 00", "0"},
        {"a3 31 65 33", "1000"},
        {"c4 03 31 2e 35", "1.5"},
        {"a4 2d 31 45 32", "-100"},
        {"b4 31 38 34 34 36 37 34 34 30 37 33 37 30 39 35 35 31 36 31 36", "18446744073709551616"},
        {"a3 49 6e 66", "+Inf"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const zt_cty_value *v = decode_ok(cases[i][0], N);
        ck_assert_msg(strcmp(v->u.num, cases[i][1]) == 0, "%s: got %s want %s", cases[i][0],
                      v->u.num, cases[i][1]);
    }
    /* A float that arrived stays the same float on the way out. */
    const zt_cty_value *f = decode_ok("cb 3f b9 99 99 99 99 99 9a", N);
    encode_expect(f, N, "cb 3f b9 99 99 99 99 99 9a");
    f = decode_ok("ca 3d cc cc cd", N); /* float32 widens to the same value */
    encode_expect(f, N, "cb 3f b9 99 99 a0 00 00 00");
    /* NaN and junk are errors. */
    decode_fails("cb 7f f8 00 00 00 00 00 00", N, "");
    decode_fails("ca 7f c0 00 00", N, "");
    decode_fails("a3 61 62 63", N, "");
    decode_fails("c3", N, "");
    decode_fails("cd ff", N, "");
}
END_TEST

START_TEST(test_msgpack_unknown_bytes)
{
    const zt_cty_type *S = &zt_cty_string_type;
    encode_expect(zt_cty_unknown(A, S), S, "d4 00 00");
    zt_cty_refinement r = {.has_nullness = true, .is_null = false};
    encode_expect(zt_cty_unknown_refined(A, S, &r), S, "c7 03 0c 81 01 c2");
    r.prefix = "ab";
    encode_expect(zt_cty_unknown_refined(A, S, &r), S, "c7 07 0c 82 01 c2 02 a2 61 62");
    /* Nothing to say: never an ext 12 with an empty map. */
    zt_cty_refinement empty = {0};
    encode_expect(zt_cty_unknown_refined(A, S, &empty), S, "d4 00 00");
    zt_cty_refinement only_empty_prefix = {.prefix = ""};
    encode_expect(zt_cty_unknown_refined(A, S, &only_empty_prefix), S, "d4 00 00");
    /* Number bounds; infinite bounds are omitted. */
    zt_cty_refinement nr = {.has_nullness = true, .num_lower = "0", .num_lower_inclusive = true,
                            .num_upper = "+Inf"};
    const zt_cty_value *nu = zt_cty_unknown_refined(A, &zt_cty_number_type, &nr);
    encode_expect(nu, &zt_cty_number_type, "c7 07 0c 82 01 c2 03 92 00 c3");
    msgpack_roundtrip(nu, &zt_cty_number_type);
    /* Collection length bounds; lower bound 0 is omitted. */
    const zt_cty_type *L = T("[\"list\",\"string\"]");
    zt_cty_refinement lr = {.has_len_lower = true, .len_lower = 1, .has_len_upper = true,
                            .len_upper = 5};
    encode_expect(zt_cty_unknown_refined(A, L, &lr), L, "c7 05 0c 82 05 01 06 05");
    lr.len_lower = 0;
    encode_expect(zt_cty_unknown_refined(A, L, &lr), L, "c7 03 0c 81 06 05");
    /* Refinements of dynamic values do not exist. */
    encode_expect(zt_cty_unknown_refined(A, &zt_cty_dynamic_type, &r), &zt_cty_dynamic_type,
                  "d4 00 00");
    /* A "definitely null" unknown is just null, as in cty. */
    zt_cty_refinement isnull = {.has_nullness = true, .is_null = true};
    const zt_cty_value *n = zt_cty_unknown_refined(A, S, &isnull);
    ck_assert(n->is_null && !n->is_unknown);
    /* Long prefixes are cut to Terraform's 256-byte limit at a UTF-8 boundary. */
    char longp[600];
    for (int i = 0; i < 299; i++)
        memcpy(longp + 2 * i, "\xc3\xa9", 2); /* e-acute */
    longp[598] = 0;
    zt_cty_refinement lp = {.prefix = longp};
    const void *out;
    size_t len;
    ck_assert_int_eq(zt_cty_msgpack_encode(A, zt_cty_unknown_refined(A, S, &lp), S, &out, &len, &D),
                     ZT_OK);
    const zt_cty_value *back = decode_ok(tohex(out, len), S);
    ck_assert(back->is_unknown && back->refine && strlen(back->refine->prefix) == 254);
}
END_TEST

START_TEST(test_msgpack_dynamic_and_object_bytes)
{
    const zt_cty_type *DY = &zt_cty_dynamic_type;
    encode_expect(zt_cty_string(A, "hi"), DY,
                  "92 c4 08 22 73 74 72 69 6e 67 22 a2 68 69");
    encode_expect(zt_cty_null(A, &zt_cty_string_type), DY,
                  "92 c4 08 22 73 74 72 69 6e 67 22 c0");
    encode_expect(zt_cty_unknown(A, &zt_cty_string_type), DY,
                  "92 c4 08 22 73 74 72 69 6e 67 22 d4 00 00");
    encode_expect(zt_cty_null(A, DY), DY, "c0");
    encode_expect(zt_cty_unknown(A, DY), DY, "d4 00 00");

    const zt_cty_type *O = T("[\"object\",{\"name\":\"string\",\"id\":\"string\"}]");
    const zt_cty_value *vals[] = {zt_cty_unknown(A, &zt_cty_string_type), zt_cty_string(A, "x")};
    const zt_cty_value *obj = zt_cty_object(A, O, vals);
    encode_expect(obj, O, "82 a2 69 64 d4 00 00 a4 6e 61 6d 65 a1 78");
    const zt_cty_value *back = decode_ok("82 a4 6e 61 6d 65 a1 78 a2 69 64 d4 00 00", O);
    ck_assert(zt_cty_equal(back, obj));
    ck_assert(zt_cty_get_attr(back, "id")->is_unknown);
    ck_assert_str_eq(zt_cty_get_attr(back, "name")->u.str.ptr, "x");
    ck_assert(!zt_cty_is_wholly_known(back));
    ck_assert(zt_cty_is_known(back));

    /* Decoding accepts str for the type and any string/array forms. */
    const zt_cty_value *h = decode_ok("dc 00 02 a8 22 73 74 72 69 6e 67 22 d9 02 68 69", DY);
    ck_assert_int_eq(h->type->kind, ZT_CTY_STRING);
    ck_assert_str_eq(h->u.str.ptr, "hi");
    /* Typed null and typed unknown inside dynamic keep their type. */
    const zt_cty_value *tn = decode_ok("92 c4 08 22 73 74 72 69 6e 67 22 c0", DY);
    ck_assert(tn->is_null && tn->type->kind == ZT_CTY_STRING);
    const zt_cty_value *un = decode_ok("d4 00 00", DY);
    ck_assert(un->is_unknown && un->type->kind == ZT_CTY_DYNAMIC);
    /* Refinements on a bare dynamic unknown are ignored. */
    un = decode_ok("c7 03 0c 81 01 c2", DY);
    ck_assert(un->is_unknown && !un->refine);
    /* An empty map is an empty object only for an object type with no attributes. */
    const zt_cty_value *eo = decode_ok("80", T("[\"object\",{}]"));
    ck_assert_uint_eq(eo->u.coll.n, 0);
    decode_fails("80", O, "");
}
END_TEST

START_TEST(test_msgpack_refinement_decode)
{
    const zt_cty_type *S = &zt_cty_string_type;
    const zt_cty_value *v = decode_ok("c7 03 0c 81 01 c2", S);
    ck_assert(v->is_unknown && v->refine && v->refine->has_nullness && !v->refine->is_null);
    v = decode_ok("c7 07 0c 82 01 c2 02 a2 61 62", S);
    ck_assert_str_eq(v->refine->prefix, "ab");
    /* Unknown keys are skipped (even with container values). */
    v = decode_ok("c7 07 0c 82 09 81 01 02 01 c2", S);
    ck_assert(v->refine && v->refine->has_nullness);
    /* Trailing bytes inside the payload are ignored, as cty does. */
    v = decode_ok("c7 04 0c 81 01 c2 ff", S);
    ck_assert(v->refine);
    /* {1: true} collapses to null. */
    v = decode_ok("c7 03 0c 81 01 c3", S);
    ck_assert(v->is_null && !v->is_unknown);
    /* Any 0- or 1-byte extension is a plain unknown. */
    ck_assert(decode_ok("d4 05 00", S)->is_unknown);
    ck_assert(decode_ok("c7 00 00", S)->is_unknown);
    /* Number bounds in every number form. */
    const zt_cty_type *N = &zt_cty_number_type;
    v = decode_ok("c7 14 0c 82 03 92 a3 30 2e 31 c2 04 92 cb 40 24 00 00 00 00 00 00 c3", N);
    ck_assert_str_eq(v->refine->num_lower, "0.1");
    ck_assert(!v->refine->num_lower_inclusive);
    ck_assert_str_eq(v->refine->num_upper, "10");
    ck_assert(v->refine->num_upper_inclusive);
    msgpack_roundtrip(v, N);
    /* Length bounds. */
    const zt_cty_type *M = T("[\"map\",\"string\"]");
    v = decode_ok("c7 06 0c 82 05 02 06 cc 10", M);
    ck_assert(v->refine->has_len_lower && v->refine->len_lower == 2);
    ck_assert(v->refine->has_len_upper && v->refine->len_upper == 16);
    /* Errors. */
    decode_fails("c7 02 05 00 00", S, "");                /* other ext code with data */
    decode_fails("c7 04 0c 81 02 a1 61", N, "");          /* prefix on a number */
    decode_fails("c7 03 0c 81 05 01", S, "");             /* length on a string */
    decode_fails("c7 03 0c 81 03 01", S, "");             /* bound on a string */
    decode_fails("c7 02 0c 91 01", S, "");                /* payload not a map */
    decode_fails("c7 04 0c 81 a1 61 c2", S, "");          /* non-integer key */
    decode_fails("c7 03 0c 81 01 01", S, "");             /* nullness not bool */
    decode_fails("c7 04 0c 81 03 92 d4 00 00", N, "");     /* unknown as a bound */
    decode_fails("c7 05 0c 82 05 05 06 01", M, "");       /* lower > upper */
    decode_fails("c7 03 0c 81 05 ff", M, "");             /* negative length */
    decode_fails("c7 05 0c 81 02 a2 c3 28", S, "");       /* prefix not UTF-8 */
    decode_fails("c7 05 0c 81 01 c2", S, "");             /* ext longer than data */
    /* Oversized refinement payload. */
    static uint8_t big[1100];
    big[0] = 0xc8;
    big[1] = 0x04;
    big[2] = 0x01; /* 1025 bytes */
    big[3] = 0x0c;
    big[4] = 0x81;
    big[5] = 0x01;
    big[6] = 0xc2;
    decode_fails_bytes(big, 4 + 1025, S, "");
}
END_TEST

/* ---------- msgpack: round trips ---------- */

static const zt_cty_type *everything_type(void)
{
    return T("[\"object\",{"
             "\"s\":\"string\",\"n\":\"number\",\"b\":\"bool\","
             "\"l\":[\"list\",\"string\"],\"set\":[\"set\",\"number\"],"
             "\"m\":[\"map\",\"bool\"],"
             "\"o\":[\"object\",{\"x\":\"number\",\"y\":[\"list\",[\"object\",{\"z\":\"string\"}]]}],"
             "\"t\":[\"tuple\",[\"string\",\"number\",\"dynamic\"]],"
             "\"d\":\"dynamic\",\"dn\":\"dynamic\",\"du\":\"dynamic\","
             "\"ld\":[\"list\",\"dynamic\"],"
             "\"nul\":[\"list\",\"string\"],\"unk\":[\"map\",\"string\"]}]");
}

static const zt_cty_value *everything_value(const zt_cty_type *t)
{
    const zt_cty_type *S = &zt_cty_string_type, *N = &zt_cty_number_type;
    const zt_cty_value *ls[] = {zt_cty_string(A, "a"), zt_cty_string(A, "\xc3\xa9t\xc3\xa9"),
                                zt_cty_string_n(A, "nul\0byte", 8)};
    const zt_cty_value *ns[] = {num("3"), num("1.5"), num("3"), num("-7"), num("0.1"),
                                num("123456789012345678901234567890.5")};
    const char *mk[] = {"yes", "no", "maybe"};
    const zt_cty_value *mv[] = {zt_cty_bool(A, true), zt_cty_bool(A, false),
                                zt_cty_null(A, &zt_cty_bool_type)};
    const zt_cty_type *ot = t->types[zt_cty_type_attr_index(t, "o")];
    const zt_cty_type *zt = ot->types[1]->elem;
    const zt_cty_value *z1[] = {zt_cty_string(A, "zz")};
    const zt_cty_value *z2[] = {zt_cty_unknown(A, S)};
    const zt_cty_value *ys[] = {zt_cty_object(A, zt, z1), zt_cty_object(A, zt, z2)};
    const zt_cty_value *ov[] = {num("-0.5"), zt_cty_list(A, zt, 2, ys)};
    const zt_cty_type *tt = t->types[zt_cty_type_attr_index(t, "t")];
    const zt_cty_value *tv[] = {zt_cty_string(A, ""), num("18446744073709551616"),
                                zt_cty_list(A, N, 2, ns)};
    const zt_cty_value *ld[] = {zt_cty_string(A, "p"), zt_cty_string(A, "q")};
    const zt_cty_value *vals[] = {
        zt_cty_bool(A, true),                     /* b */
        zt_cty_string(A, "dyn"),                  /* d */
        zt_cty_null(A, N),                        /* dn: typed null in dynamic */
        zt_cty_unknown(A, &zt_cty_dynamic_type),  /* du */
        zt_cty_list(A, S, 3, ls),                 /* l */
        zt_cty_list(A, &zt_cty_dynamic_type, 2, ld), /* ld */
        zt_cty_map(A, &zt_cty_bool_type, 3, mk, mv), /* m */
        num("42"),                                /* n */
        zt_cty_null(A, t->types[zt_cty_type_attr_index(t, "nul")]), /* nul */
        zt_cty_object(A, ot, ov),                 /* o */
        zt_cty_string(A, "hello"),                /* s */
        zt_cty_set(A, N, 6, ns),                  /* set */
        zt_cty_tuple(A, tt, tv),                  /* t */
        zt_cty_unknown(A, t->types[zt_cty_type_attr_index(t, "unk")]), /* unk */
    };
    return zt_cty_object(A, t, vals);
}

START_TEST(test_msgpack_roundtrip_kinds)
{
    const zt_cty_type *S = &zt_cty_string_type, *N = &zt_cty_number_type;
    msgpack_roundtrip(zt_cty_string(A, "x"), S);
    msgpack_roundtrip(zt_cty_string(A, ""), S);
    msgpack_roundtrip(zt_cty_null(A, S), S);
    msgpack_roundtrip(zt_cty_unknown(A, S), S);
    msgpack_roundtrip(num("-123.456"), N);
    msgpack_roundtrip(num("1e300"), N);
    msgpack_roundtrip(num("99999999999999999999999999999999999999.000000000000000000001"), N);
    msgpack_roundtrip(zt_cty_bool(A, false), &zt_cty_bool_type);
    const zt_cty_type *t = everything_type();
    const zt_cty_value *v = everything_value(t);
    msgpack_roundtrip(v, t);
    /* The same value through a dynamic slot. */
    msgpack_roundtrip(v, &zt_cty_dynamic_type);
    /* Long strings and collections use the 16/32-bit forms. */
    char *big = zt_arena_alloc(A, 70001);
    memset(big, 'q', 70000);
    msgpack_roundtrip(zt_cty_string(A, big), S);
    const zt_cty_value **many = zt_arena_calloc(A, 70000, sizeof(*many));
    for (int i = 0; i < 70000; i++)
        many[i] = zt_cty_number_int(A, i);
    msgpack_roundtrip(zt_cty_list(A, N, 70000, many), T("[\"list\",\"number\"]"));
    msgpack_roundtrip(zt_cty_set(A, N, 70000, many), T("[\"set\",\"number\"]"));
}
END_TEST

START_TEST(test_msgpack_list_of_dynamic)
{
    const zt_cty_type *LD = T("[\"list\",\"dynamic\"]");
    const zt_cty_value *v = decode_ok("92 92 c4 08 22 73 74 72 69 6e 67 22 a1 61"
                                      " 92 c4 08 22 73 74 72 69 6e 67 22 a1 62",
                                      LD);
    /* Like cty.ListVal, the value's type is list(string). */
    ck_assert_str_eq(zt_cty_type_to_json(A, v->type), "[\"list\",\"string\"]");
    ck_assert_uint_eq(v->u.coll.n, 2);
    msgpack_roundtrip(v, LD);
    /* Elements of different types cannot form a list. */
    decode_fails("92 92 c4 08 22 73 74 72 69 6e 67 22 a1 61"
                 " 92 c4 08 22 6e 75 6d 62 65 72 22 01",
                 LD, "");
    /* A tuple holds them fine. */
    const zt_cty_type *TD = T("[\"tuple\",[\"dynamic\",\"dynamic\"]]");
    v = decode_ok("92 92 c4 08 22 73 74 72 69 6e 67 22 a1 61"
                  " 92 c4 08 22 6e 75 6d 62 65 72 22 01",
                  TD);
    ck_assert_str_eq(zt_cty_type_to_json(A, v->type), "[\"tuple\",[\"string\",\"number\"]]");
    msgpack_roundtrip(v, TD);
}
END_TEST

START_TEST(test_set_dedup_and_order)
{
    const zt_cty_type *S = &zt_cty_string_type;
    const zt_cty_value *in1[] = {zt_cty_string(A, "b"), zt_cty_string(A, "a"),
                                 zt_cty_string(A, "b"), zt_cty_null(A, S)};
    const zt_cty_value *in2[] = {zt_cty_null(A, S), zt_cty_string(A, "a"), zt_cty_string(A, "b")};
    const zt_cty_value *s1 = zt_cty_set(A, S, 4, in1), *s2 = zt_cty_set(A, S, 3, in2);
    ck_assert_uint_eq(s1->u.coll.n, 3);
    ck_assert_str_eq(s1->u.coll.elems[0]->u.str.ptr, "a");
    ck_assert(zt_cty_equal(s1, s2));
    const zt_cty_type *ST = T("[\"set\",\"string\"]");
    encode_expect(s1, ST, "93 a1 61 a1 62 c0");
    encode_expect(s2, ST, "93 a1 61 a1 62 c0");
    /* Duplicates on the wire collapse. */
    ck_assert_uint_eq(decode_ok("93 a1 78 a1 78 a1 79", ST)->u.coll.n, 2);
    /* Numbers are ordered numerically, equal numbers dedup. */
    const zt_cty_value *ns[] = {num("10"), num("9"), num("-1"), num("9.5"), num("1e1")};
    const zt_cty_value *sn = zt_cty_set(A, &zt_cty_number_type, 5, ns);
    ck_assert_uint_eq(sn->u.coll.n, 4);
    ck_assert_str_eq(sn->u.coll.elems[0]->u.num, "-1");
    ck_assert_str_eq(sn->u.coll.elems[3]->u.num, "10");
    /* Unknowns are never equal to anything, so they are all kept. */
    const zt_cty_value *us[] = {zt_cty_unknown(A, S), zt_cty_unknown(A, S), zt_cty_string(A, "k")};
    const zt_cty_value *su = zt_cty_set(A, S, 3, us);
    ck_assert_uint_eq(su->u.coll.n, 3);
    encode_expect(su, ST, "93 a1 6b d4 00 00 d4 00 00");
}
END_TEST

START_TEST(test_values_accessors)
{
    const char *keys[] = {"b", "a", "b"};
    const zt_cty_value *vals[] = {zt_cty_string(A, "1"), zt_cty_string(A, "2"),
                                  zt_cty_string(A, "3")};
    const zt_cty_value *m = zt_cty_map(A, &zt_cty_string_type, 3, keys, vals);
    ck_assert_uint_eq(m->u.coll.n, 2);
    ck_assert_str_eq(m->u.coll.keys[0], "a");
    ck_assert_str_eq(zt_cty_map_get(m, "b")->u.str.ptr, "3"); /* later wins */
    ck_assert_ptr_null(zt_cty_map_get(m, "c"));
    ck_assert_ptr_null(zt_cty_get_attr(m, "a"));
    ck_assert(zt_cty_is_wholly_known(m));
    ck_assert(!zt_cty_equal(zt_cty_string(A, "a"), zt_cty_null(A, &zt_cty_string_type)));
    ck_assert(zt_cty_equal(zt_cty_unknown(A, &zt_cty_string_type),
                           zt_cty_unknown(A, &zt_cty_string_type)));
    ck_assert(!zt_cty_equal(zt_cty_string(A, "1"), num("1")));
    ck_assert(zt_cty_equal(num("1.0"), num("1")));
    ck_assert(zt_cty_equal(zt_cty_string_n(A, "a\0b", 3), zt_cty_string_n(A, "a\0b", 3)));
    ck_assert(!zt_cty_equal(zt_cty_string_n(A, "a\0b", 3), zt_cty_string_n(A, "a\0c", 3)));
    /* An object typed with a dynamic attribute takes its value's type. */
    const zt_cty_type *O = T("[\"object\",{\"v\":\"dynamic\"},[\"v\"]]");
    const zt_cty_value *ov[] = {num("5")};
    const zt_cty_value *o = zt_cty_object(A, O, ov);
    ck_assert_str_eq(zt_cty_type_to_json(A, o->type), "[\"object\",{\"v\":\"number\"}]");
    ck_assert_str_eq(zt_cty_get_attr(o, "v")->u.num, "5");
    ck_assert_ptr_null(zt_cty_get_attr(o, "w"));
    ck_assert_ptr_null(zt_cty_get_attr(zt_cty_null(A, O), "v"));
    msgpack_roundtrip(o, O);
}
END_TEST

/* ---------- msgpack: malformed input ---------- */

START_TEST(test_msgpack_malformed)
{
    const zt_cty_type *S = &zt_cty_string_type, *N = &zt_cty_number_type;
    decode_fails("", S, "");
    decode_fails("a5 61 62", S, "");               /* truncated string */
    decode_fails("d9", S, "");                     /* truncated header */
    decode_fails("01", S, "");                     /* wrong type */
    decode_fails("a1 61 a1 62", S, "");            /* trailing bytes */
    decode_fails("01 01", N, "");
    decode_fails("c1", S, "");                     /* reserved byte */
    decode_fails("a2 c3 28", S, "");               /* invalid UTF-8 */
    decode_fails("a3 ed a0 80", S, "");            /* surrogate */
    decode_fails("a2 c0 80", S, "");               /* overlong NUL */
    decode_fails("92 01 02", &zt_cty_bool_type, "");
    /* Huge claimed lengths fail before any allocation. */
    decode_fails("dd ff ff ff ff 01", T("[\"list\",\"number\"]"), "");
    decode_fails("df ff ff ff ff", T("[\"map\",\"number\"]"), "");
    decode_fails("db ff ff ff ff 61", S, "");
    decode_fails("c6 ff ff ff ff", S, "");
    decode_fails("c9 ff ff ff ff 0c", S, "");
    decode_fails("dc ff ff", T("[\"set\",\"string\"]"), "");
    /* Paths point inside the value. */
    const zt_cty_type *O = T("[\"object\",{\"a\":[\"list\",[\"object\",{\"b\":\"number\"}]],"
                             "\"m\":[\"map\",\"number\"]}]");
    decode_fails("82 a1 61 91 81 a1 62 a1 78 a1 6d 80", O, "a[0].b");
    decode_fails("82 a1 61 90 a1 6d 81 a1 6b c3", O, "m[\"k\"]");
    decode_fails("82 a1 61 90 a1 6d 81 a1 6b", O, "m[\"k\"]");
    decode_fails("82 a1 61 90 a2 7a 7a 80", O, "zz");      /* unknown attribute */
    decode_fails("82 a1 61 90 a1 61 90", O, "a");          /* duplicate attribute */
    decode_fails("81 a1 61 90", O, "");                    /* too few attributes */
    decode_fails("83 a1 61 90 a1 6d 80 a1 78 c0", O, "");  /* too many */
    decode_fails("82 01 90 a1 6d 80", O, "");              /* non-string key */
    decode_fails("82 a1 61 91 91 a1 62 01 a1 6d 80", O, "a[0]");
    decode_fails("92 a1 61", T("[\"tuple\",[\"string\"]]"), "");
    decode_fails("81 a2 6b 00 01", T("[\"map\",\"number\"]"), ""); /* NUL in key */
    /* Dynamic wrappers. */
    const zt_cty_type *DY = &zt_cty_dynamic_type;
    decode_fails("93 c4 08 22 73 74 72 69 6e 67 22 a1 61 c0", DY, "");
    decode_fails("92 c4 07 22 73 74 72 69 6e 67 a1 61", DY, "");
    decode_fails("92 c4 0a 22 73 74 72 69 6e 67 22 20 78 a1 61", DY, "");
    decode_fails("92 01 a1 61", DY, "");
    decode_fails("a1 61", DY, "");
    decode_fails("92 c4 08 22 6e 75 6d 62 65 72 22 a1 61", DY, "");
    decode_fails("91", DY, "");
    /* Deep nesting: 100 nested lists of a 100-deep type. */
    const zt_cty_type *deep = &zt_cty_number_type;
    uint8_t buf[128];
    for (int i = 0; i < 100; i++) {
        deep = zt_cty_type_list(A, deep);
        buf[i] = 0x91;
    }
    buf[100] = 0x01;
    zt_buf want;
    zt_buf_init(&want, A);
    for (int i = 0; i < 64; i++)
        zt_buf_puts(&want, "[0]");
    decode_fails_bytes(buf, 101, deep, zt_buf_cstr(&want));
    /* ... also through dynamic wrappers nested in each other. */
    zt_buf w;
    zt_buf_init(&w, A);
    for (int i = 0; i < 100; i++)
        zt_buf_append(&w, "\x92\xc4\x09\"dynamic\"", 12);
    zt_buf_append(&w, "\xc0", 1);
    decode_fails_bytes(w.data, w.len, DY, "");
    /* 63 levels are fine. */
    deep = &zt_cty_number_type;
    for (int i = 0; i < 63; i++)
        deep = zt_cty_type_list(A, deep);
    buf[63] = 0x01;
    const zt_cty_value *v;
    ck_assert_int_eq(zt_cty_msgpack_decode(A, buf, 64, deep, &v, &D), ZT_OK);
    msgpack_roundtrip(v, deep);
}
END_TEST

START_TEST(test_msgpack_encode_errors)
{
    const zt_cty_type *O = T("[\"object\",{\"a\":\"string\"}]");
    const zt_cty_value *vals[] = {num("1")};
    const zt_cty_value *bad = zt_cty_object(A, T("[\"object\",{\"a\":\"number\"}]"), vals);
    const void *out;
    size_t n;
    ck_assert_int_eq(zt_cty_msgpack_encode(A, bad, O, &out, &n, &D), ZT_ERR_INVALID);
    ck_assert_str_eq(zt_path_str(A, D.head->path), "a");
    zt_diags_init(&D, A);
    ck_assert_int_eq(zt_cty_msgpack_encode(A, zt_cty_string(A, "x"), &zt_cty_number_type, &out,
                                           &n, &D),
                     ZT_ERR_INVALID);
    /* A null of dynamic type fits any slot. */
    encode_expect(zt_cty_null(A, &zt_cty_dynamic_type), O, "c0");
}
END_TEST

/* ---------- JSON ---------- */

START_TEST(test_json_roundtrip)
{
    const zt_cty_type *t = everything_type();
    const zt_cty_value *v = everything_value(t);
    /* Unknowns cannot go to JSON: replace the unknown parts. */
    ck_assert_int_eq(zt_cty_json_encode(A, v, t, &(const char *){0}, &(size_t){0}, &D),
                     ZT_ERR_INVALID);
    ck_assert_str_eq(zt_path_str(A, D.head->path), "du");

    const char *json =
        "{\"b\":true,\"d\":{\"value\":\"dyn\",\"type\":\"string\"},"
        "\"dn\":{\"value\":null,\"type\":\"number\"},\"du\":null,"
        "\"l\":[\"a\",\"\\u003c\\u0026\\u003e\\n\\u2028\",\"nul\\u0000byte\"],"
        "\"ld\":[{\"value\":\"p\",\"type\":\"string\"},{\"value\":\"q\",\"type\":\"string\"}],"
        "\"m\":{\"maybe\":null,\"no\":false,\"yes\":true},\"n\":42,\"nul\":null,"
        "\"o\":{\"x\":-0.5,\"y\":[{\"z\":\"zz\"}]},\"s\":\"hello\","
        "\"set\":[-7,0.1,1.5,3,123456789012345678901234567890.5],"
        "\"t\":[\"\",18446744073709551616,{\"value\":[3,1.5],\"type\":[\"list\",\"number\"]}],"
        "\"unk\":{}}";
    const zt_cty_value *d = json_decode_ok(json, t, false);
    ck_assert_str_eq(json_encode_ok(d, t), json);
    /* and through msgpack too */
    msgpack_roundtrip(d, t);
    ck_assert_str_eq(zt_cty_get_attr(d, "l")->u.coll.elems[1]->u.str.ptr,
                     "<&>\n\xe2\x80\xa8");
    ck_assert_uint_eq(zt_cty_get_attr(d, "l")->u.coll.elems[2]->u.str.len, 8);
}
END_TEST

START_TEST(test_json_numbers_exact)
{
    const zt_cty_type *N = &zt_cty_number_type;
    static const char *const cases[][2] = {
        {"123456789012345678901234567890.123456789", "123456789012345678901234567890.123456789"},
        {"18446744073709551616", "18446744073709551616"},
        {"-9223372036854775809", "-9223372036854775809"},
        {"1e400", NULL},
        {"0.1", "0.1"},
        {"-0", "0"},
        {"1.50E+2", "150"},
        {"\"42\"", "42"},
        {"\"1e3\"", "1000"},
        {" 7 ", "7"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const zt_cty_value *v = json_decode_ok(cases[i][0], N, false);
        if (cases[i][1])
            ck_assert_str_eq(v->u.num, cases[i][1]);
    }
    const zt_cty_value *big = json_decode_ok("1e400", N, false);
    ck_assert_uint_eq(strlen(big->u.num), 401);
    ck_assert_str_eq(json_encode_ok(big, N), big->u.num);
    /* Floats that came from msgpack print exactly. */
    ck_assert_str_eq(json_encode_ok(zt_cty_number_double(A, 0.5), N), "0.5");
    ck_assert_int_eq(zt_cty_json_encode(A, num("+Inf"), N, &(const char *){0}, &(size_t){0}, &D),
                     ZT_ERR_INVALID);
}
END_TEST

START_TEST(test_json_lenient)
{
    const zt_cty_type *O = T("[\"object\",{\"s\":\"string\",\"n\":\"number\",\"b\":\"bool\","
                             "\"l\":[\"list\",[\"object\",{\"k\":\"string\"}]],"
                             "\"d\":\"dynamic\"}]");
    const zt_cty_value *v = json_decode_ok("{\"s\":12.50,\"n\":\"3\",\"b\":\"true\"}", O, false);
    ck_assert_str_eq(zt_cty_get_attr(v, "s")->u.str.ptr, "12.50");
    ck_assert_str_eq(zt_cty_get_attr(v, "n")->u.num, "3");
    ck_assert(zt_cty_get_attr(v, "b")->u.b);
    ck_assert(zt_cty_get_attr(v, "l")->is_null); /* missing -> null */
    ck_assert(zt_cty_get_attr(v, "d")->is_null);
    ck_assert_int_eq(zt_cty_get_attr(v, "d")->type->kind, ZT_CTY_DYNAMIC);
    v = json_decode_ok("{\"s\":true,\"b\":\"0\"}", O, false);
    ck_assert_str_eq(zt_cty_get_attr(v, "s")->u.str.ptr, "true");
    ck_assert(!zt_cty_get_attr(v, "b")->u.b);
    /* Extra attributes: an error, or dropped (recursively) on request. */
    json_decode_fails("{\"x\":1}", O, false, "");
    json_decode_fails("{\"l\":[{\"k\":\"a\",\"gone\":1}]}", O, false, "l[0]");
    v = json_decode_ok("{\"x\":1,\"l\":[{\"k\":\"a\",\"gone\":{\"deep\":[1]}}]}", O, true);
    ck_assert_str_eq(json_encode_ok(v, O),
                     "{\"b\":null,\"d\":null,\"l\":[{\"k\":\"a\"}],\"n\":null,\"s\":null}");
    /* ... but not inside dynamic values. */
    json_decode_fails("{\"d\":{\"value\":{\"a\":1,\"b\":2},\"type\":[\"object\",{\"a\":\"number\"}]}}",
                      O, true, "d");
    /* Wrong kinds. */
    json_decode_fails("{\"n\":\"abc\"}", O, false, "n");
    json_decode_fails("{\"n\":true}", O, false, "n");
    json_decode_fails("{\"b\":\"yes\"}", O, false, "b");
    json_decode_fails("{\"b\":1}", O, false, "b");
    json_decode_fails("{\"s\":[]}", O, false, "s");
    json_decode_fails("{\"l\":{}}", O, false, "l");
    json_decode_fails("{\"l\":[1]}", O, false, "l[0]");
    json_decode_fails("{\"d\":\"x\"}", O, false, "d");
    json_decode_fails("{\"d\":{\"value\":1}}", O, false, "d");
    json_decode_fails("{\"d\":{\"type\":\"number\"}}", O, false, "d");
    json_decode_fails("{\"d\":{\"type\":\"number\",\"value\":1,\"x\":2}}", O, false, "d");
    json_decode_fails("{\"d\":{\"type\":\"nmber\",\"value\":1}}", O, false, "d");
    json_decode_fails("[\"a\"]", T("[\"tuple\",[\"string\",\"string\"]]"), false, "");
    json_decode_fails("{\"k\\u0000\":1}", T("[\"map\",\"number\"]"), false, "");
    /* Map keys come out sorted. */
    const zt_cty_type *M = T("[\"map\",\"number\"]");
    ck_assert_str_eq(json_encode_ok(json_decode_ok("{\"z\":1,\"a\":2,\"m\":3}", M, false), M),
                     "{\"a\":2,\"m\":3,\"z\":1}");
    /* Sets dedup. */
    const zt_cty_type *ST = T("[\"set\",\"string\"]");
    ck_assert_str_eq(json_encode_ok(json_decode_ok("[\"b\",\"a\",\"b\"]", ST, false), ST),
                     "[\"a\",\"b\"]");
    /* Top-level dynamic. */
    const zt_cty_value *dv = json_decode_ok("{\"type\":[\"map\",\"bool\"],\"value\":{\"k\":true}}",
                                            &zt_cty_dynamic_type, false);
    ck_assert_str_eq(json_encode_ok(dv, &zt_cty_dynamic_type),
                     "{\"value\":{\"k\":true},\"type\":[\"map\",\"bool\"]}");
    ck_assert_str_eq(json_encode_ok(zt_cty_null(A, &zt_cty_dynamic_type), &zt_cty_dynamic_type),
                     "null");
}
END_TEST

START_TEST(test_json_strings_and_markers)
{
    const zt_cty_type *S = &zt_cty_string_type;
    /* Strings starting with NUL must not be confused with the number marker. */
    const zt_cty_value *v = json_decode_ok("\"\\u0000abc\"", S, false);
    ck_assert_uint_eq(v->u.str.len, 4);
    ck_assert_int_eq(v->u.str.ptr[0], 0);
    ck_assert_str_eq(json_encode_ok(v, S), "\"\\u0000abc\"");
    v = json_decode_ok("\"\\u0000\"", S, false);
    ck_assert_uint_eq(v->u.str.len, 1);
    v = json_decode_ok("\"\\u00001\"", S, false);
    ck_assert_uint_eq(v->u.str.len, 2);
    ck_assert_str_eq(v->u.str.ptr + 1, "1");
    json_decode_fails("\"\\u00001\"", &zt_cty_number_type, false, "");
    /* Numbers inside strings are left alone. */
    v = json_decode_ok("\"a-1 \\\" 2e5\"", S, false);
    ck_assert_str_eq(v->u.str.ptr, "a-1 \" 2e5");
    /* Go-compatible escaping. */
    ck_assert_str_eq(json_encode_ok(zt_cty_string(A, "\"\\\t\x01<>&\xe2\x80\xa9\xff"), S),
                     "\"\\\"\\\\\\t\\u0001\\u003c\\u003e\\u0026\\u2029\\ufffd\"");
    ck_assert_str_eq(json_encode_ok(zt_cty_string(A, "\xc3\xa9\xf0\x9f\x98\x80"), S),
                     "\"\xc3\xa9\xf0\x9f\x98\x80\"");
}
END_TEST

START_TEST(test_json_malformed)
{
    const zt_cty_type *L = T("[\"list\",\"number\"]");
    static const char *const bad[] = {"",       "[1,]",     "[1 2]",  "[01]",   "[1.]",
                                      "[-]",    "[1e]",     "[+1]",   "[1]x",   "[1] [2]",
                                      "{1:2}",  "[\"a\"",   "[NaN]",  "[.5]",   "[1,,2]",
                                      "[0x1]",  "[\"\\ud800\"]", "[tru]", "[\"\xff\"]", "[1-2]"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const zt_cty_value *v = (const zt_cty_value *)1;
        zt_diags_init(&D, A);
        ck_assert_msg(zt_cty_json_decode(A, bad[i], strlen(bad[i]), L, false, &v, &D) ==
                          ZT_ERR_DECODE,
                      "accepted %s", bad[i]);
        ck_assert_ptr_null(v);
        ck_assert_uint_eq(D.errors, 1);
    }
    const zt_cty_type *M = T("[\"map\",\"number\"]");
    json_decode_fails("{1:2}", M, false, "");
    /* Diagnostics quoting hostile input stay valid UTF-8 without controls. */
    json_decode_fails("[1] \xff\x01", L, false, "");
    ck_assert_ptr_null(strchr(D.head->detail, '\x01'));
    ck_assert_ptr_null(strstr(D.head->detail, "\xff"));
    const zt_cty_type *bt;
    ck_assert_int_eq(zt_cty_type_from_json(A, "\"\\u0001\\n\"", 10, &bt, &D), ZT_ERR_DECODE);
    ck_assert_ptr_nonnull(strstr(D.tail->detail, "\\u0001\\n"));
    /* Deep nesting. */
    const zt_cty_type *deep = &zt_cty_number_type;
    zt_buf b;
    zt_buf_init(&b, A);
    for (int i = 0; i < 100; i++) {
        deep = zt_cty_type_list(A, deep);
        zt_buf_puts(&b, "[");
    }
    zt_buf_puts(&b, "1");
    for (int i = 0; i < 100; i++)
        zt_buf_puts(&b, "]");
    zt_buf want;
    zt_buf_init(&want, A);
    for (int i = 0; i < 64; i++)
        zt_buf_puts(&want, "[0]");
    json_decode_fails(zt_buf_cstr(&b), deep, false, zt_buf_cstr(&want));
    /* Unknown values and infinities cannot be written. */
    const zt_cty_type *O = T("[\"object\",{\"a\":[\"list\",\"string\"]}]");
    const zt_cty_value *el[] = {zt_cty_string(A, "x"), zt_cty_unknown(A, &zt_cty_string_type)};
    const zt_cty_value *ov[] = {zt_cty_list(A, &zt_cty_string_type, 2, el)};
    const char *out;
    size_t n;
    zt_diags_init(&D, A);
    ck_assert_int_eq(zt_cty_json_encode(A, zt_cty_object(A, O, ov), O, &out, &n, &D),
                     ZT_ERR_INVALID);
    ck_assert_str_eq(zt_path_str(A, D.head->path), "a[1]");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cty");
    TCase *tc = tcase_create("cty");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_type_json_roundtrip);
    tcase_add_test(tc, test_type_json_malformed);
    tcase_add_test(tc, test_type_helpers);
    tcase_add_test(tc, test_number_canonical);
    tcase_add_test(tc, test_msgpack_number_bytes);
    tcase_add_test(tc, test_msgpack_number_decode_forms);
    tcase_add_test(tc, test_msgpack_unknown_bytes);
    tcase_add_test(tc, test_msgpack_dynamic_and_object_bytes);
    tcase_add_test(tc, test_msgpack_refinement_decode);
    tcase_add_test(tc, test_msgpack_roundtrip_kinds);
    tcase_add_test(tc, test_msgpack_list_of_dynamic);
    tcase_add_test(tc, test_set_dedup_and_order);
    tcase_add_test(tc, test_values_accessors);
    tcase_add_test(tc, test_msgpack_malformed);
    tcase_add_test(tc, test_msgpack_encode_errors);
    tcase_add_test(tc, test_json_roundtrip);
    tcase_add_test(tc, test_json_numbers_exact);
    tcase_add_test(tc, test_json_lenient);
    tcase_add_test(tc, test_json_strings_and_markers);
    tcase_add_test(tc, test_json_malformed);
    suite_add_tcase(s, tc);
    return zt_test_run(s);
}
