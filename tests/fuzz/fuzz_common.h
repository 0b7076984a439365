/* fuzz_common.h - shared pieces of the cty fuzz targets: the fixed slot
 * types inputs are decoded against (the first input byte picks one) and
 * the round-trip checks. A failed check aborts, which libFuzzer reports. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include "zt_cty.h"
#include "zt_cty_internal.h" /* zt_cty_utf8_valid */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const fuzz_type_json[] = {
    "\"dynamic\"",
    "\"string\"",
    "\"number\"",
    "\"bool\"",
    "[\"list\",\"dynamic\"]",
    "[\"object\",{\"a\":\"string\",\"b\":[\"list\",\"number\"],\"c\":[\"map\",\"bool\"],"
    "\"d\":[\"set\",\"string\"],\"e\":[\"tuple\",[\"string\",\"dynamic\"]],\"f\":\"dynamic\","
    "\"g\":[\"object\",{\"x\":\"number\"}]}]",
    "[\"set\",[\"object\",{\"k\":\"string\",\"v\":\"dynamic\"}]]",
    "[\"map\",[\"list\",\"string\"]]",
    "[\"list\",[\"set\",\"number\"]]",
};
#define FUZZ_NTYPES (sizeof(fuzz_type_json) / sizeof(fuzz_type_json[0]))

static zt_arena *fuzz_type_arena;
static const zt_cty_type *fuzz_types[FUZZ_NTYPES];

#define FUZZ_CHECK(cond)                                                         \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "fuzz check failed: %s (%s:%d)\n", #cond, __FILE__, \
                    __LINE__);                                                   \
            abort();                                                             \
        }                                                                        \
    } while (0)

static const zt_cty_type *fuzz_pick_type(uint8_t selector)
{
    if (!fuzz_type_arena) {
        /* Lives for the whole run (reachable, so not reported as a leak). */
        fuzz_type_arena = zt_arena_new();
        for (size_t i = 0; i < FUZZ_NTYPES; i++) {
            zt_diags d;
            zt_diags_init(&d, fuzz_type_arena);
            FUZZ_CHECK(zt_cty_type_from_json(fuzz_type_arena, fuzz_type_json[i],
                                             strlen(fuzz_type_json[i]), &fuzz_types[i],
                                             &d) == ZT_OK);
        }
    }
    return fuzz_types[selector % FUZZ_NTYPES];
}

/* Diagnostics go into protobuf strings: they must be valid UTF-8 even
 * when they quote hostile input. */
static void fuzz_check_text(zt_arena *a, const zt_diag *g)
{
    const char *path = zt_path_str(a, g->path);
    FUZZ_CHECK(zt_cty_utf8_valid(g->summary, strlen(g->summary)));
    FUZZ_CHECK(zt_cty_utf8_valid(g->detail, strlen(g->detail)));
    FUZZ_CHECK(zt_cty_utf8_valid(path, strlen(path)));
}

/* A failed decode must say why, with a path. */
static void fuzz_check_failure(zt_arena *a, zt_rc rc, const zt_diags *d, const zt_cty_value *v)
{
    FUZZ_CHECK(rc == ZT_ERR_DECODE);
    FUZZ_CHECK(v == NULL);
    FUZZ_CHECK(d->errors == 1 && d->head && d->head->path && d->head->detail);
    fuzz_check_text(a, d->head);
}

static bool fuzz_has_infinity(const zt_cty_value *v)
{
    if (v->is_null || v->is_unknown)
        return false;
    switch (v->type->kind) {
    case ZT_CTY_NUMBER:
        return strcmp(v->u.num, "+Inf") == 0 || strcmp(v->u.num, "-Inf") == 0;
    case ZT_CTY_LIST:
    case ZT_CTY_SET:
    case ZT_CTY_MAP:
    case ZT_CTY_OBJECT:
    case ZT_CTY_TUPLE:
        for (size_t i = 0; i < v->u.coll.n; i++)
            if (fuzz_has_infinity(v->u.coll.elems[i]))
                return true;
        return false;
    default:
        return false;
    }
}

/* msgpack: encode must work, decode back to an equal value, and encoding
 * again must give the same bytes. */
static void fuzz_msgpack_roundtrip(zt_arena *a, const zt_cty_value *v, const zt_cty_type *t)
{
    zt_diags d;
    zt_diags_init(&d, a);
    const void *b1, *b2;
    size_t n1, n2;
    const zt_cty_value *back;
    FUZZ_CHECK(zt_cty_msgpack_encode(a, v, t, &b1, &n1, &d) == ZT_OK);
    FUZZ_CHECK(zt_cty_msgpack_decode(a, b1, n1, t, &back, &d) == ZT_OK);
    FUZZ_CHECK(zt_cty_equal(v, back));
    FUZZ_CHECK(zt_cty_msgpack_encode(a, back, t, &b2, &n2, &d) == ZT_OK);
    FUZZ_CHECK(n1 == n2 && memcmp(b1, b2, n1) == 0);
}

/* JSON: possible for wholly known values without infinities. */
static void fuzz_json_roundtrip(zt_arena *a, const zt_cty_value *v, const zt_cty_type *t)
{
    zt_diags d;
    zt_diags_init(&d, a);
    const char *j1, *j2;
    size_t n1, n2;
    const zt_cty_value *back;
    zt_rc rc = zt_cty_json_encode(a, v, t, &j1, &n1, &d);
    if (!zt_cty_is_wholly_known(v) || fuzz_has_infinity(v)) {
        FUZZ_CHECK(rc == ZT_ERR_INVALID && d.errors == 1);
        return;
    }
    FUZZ_CHECK(rc == ZT_OK);
    FUZZ_CHECK(zt_cty_json_decode(a, j1, n1, t, false, &back, &d) == ZT_OK);
    FUZZ_CHECK(zt_cty_equal(v, back));
    FUZZ_CHECK(zt_cty_json_encode(a, back, t, &j2, &n2, &d) == ZT_OK);
    FUZZ_CHECK(n1 == n2 && memcmp(j1, j2, n1) == 0);
}

#endif
