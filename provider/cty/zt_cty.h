/* zt_cty.h - Terraform's value model (go-cty) in C: types, values with null
 * and unknown (with refinements), and the wire codecs Terraform uses:
 * msgpack (DynamicValue.msgpack), JSON (RawState, DynamicValue.json) and
 * type-constraint JSON (schema "type" bytes, dynamic wrappers).
 *
 * Every type and value lives in the arena it was made or decoded in and is
 * immutable after construction. Decoders never crash on bad input: they
 * return ZT_ERR_DECODE and add an error diagnostic naming the path inside
 * the value where decoding failed.
 */
#ifndef ZT_CTY_H
#define ZT_CTY_H

#include "zt_arena.h"
#include "zt_diag.h"

#include <sys/types.h>

typedef enum zt_cty_kind {
    ZT_CTY_DYNAMIC = 0, /* "dynamic": any type, decided by the value */
    ZT_CTY_STRING,
    ZT_CTY_NUMBER,
    ZT_CTY_BOOL,
    ZT_CTY_LIST,
    ZT_CTY_SET,
    ZT_CTY_MAP,
    ZT_CTY_OBJECT,
    ZT_CTY_TUPLE
} zt_cty_kind;

typedef struct zt_cty_type zt_cty_type;
struct zt_cty_type {
    zt_cty_kind kind;
    const zt_cty_type *elem; /* LIST, SET, MAP */
    size_t n;                /* OBJECT attributes, TUPLE elements */
    const char **names;      /* OBJECT attribute names, sorted bytewise */
    const zt_cty_type **types; /* OBJECT attribute types (same order), TUPLE elements */
    const bool *optional;    /* OBJECT: optional-attribute flags of a type
                              * constraint, or NULL when none are optional */
};

/* Shared immutable primitive types. */
extern const zt_cty_type zt_cty_string_type;
extern const zt_cty_type zt_cty_number_type;
extern const zt_cty_type zt_cty_bool_type;
extern const zt_cty_type zt_cty_dynamic_type;

const zt_cty_type *zt_cty_type_list(zt_arena *a, const zt_cty_type *elem);
const zt_cty_type *zt_cty_type_set(zt_arena *a, const zt_cty_type *elem);
const zt_cty_type *zt_cty_type_map(zt_arena *a, const zt_cty_type *elem);
/* names need not be sorted; they are copied and sorted with their types.
 * optional may be NULL. */
const zt_cty_type *zt_cty_type_object(zt_arena *a, size_t n, const char *const *names,
                                      const zt_cty_type *const *types, const bool *optional);
const zt_cty_type *zt_cty_type_tuple(zt_arena *a, size_t n, const zt_cty_type *const *types);

bool zt_cty_type_equal(const zt_cty_type *x, const zt_cty_type *y);
/* Index of an object attribute, or -1. */
ssize_t zt_cty_type_attr_index(const zt_cty_type *t, const char *name);
/* Friendly name for diagnostics: "string", "list of string", "object", ... */
const char *zt_cty_type_friendly(zt_arena *a, const zt_cty_type *t);

/* Type-constraint JSON, e.g. ["list",["object",{"a":"string"}]]; the
 * optional-attribute form ["object",{...},["a"]] is accepted and produced. */
zt_rc zt_cty_type_from_json(zt_arena *a, const char *json, size_t len,
                            const zt_cty_type **out, zt_diags *d);
const char *zt_cty_type_to_json(zt_arena *a, const zt_cty_type *t);

/* Refinements of an unknown value (Terraform >= 1.6, msgpack ext 12). */
typedef struct zt_cty_refinement {
    bool has_nullness;
    bool is_null;             /* definitely null (true) / definitely not null (false) */
    const char *prefix;       /* strings: known prefix, or NULL */
    const char *num_lower;    /* numbers: bound as decimal text, or NULL */
    bool num_lower_inclusive;
    const char *num_upper;
    bool num_upper_inclusive;
    bool has_len_lower;       /* collections */
    int64_t len_lower;
    bool has_len_upper;
    int64_t len_upper;
} zt_cty_refinement;

typedef struct zt_cty_value zt_cty_value;
struct zt_cty_value {
    const zt_cty_type *type; /* the concrete type (DYNAMIC only for the
                              * untyped null / wholly unknown DynamicVal) */
    bool is_null;
    bool is_unknown;
    const zt_cty_refinement *refine; /* unknown only; NULL = unrefined */
    union {
        struct {
            const char *ptr; /* UTF-8, NUL-terminated */
            size_t len;
        } str;
        const char *num; /* canonical decimal text ("12", "-0.5",
                          * "18446744073709551616"; "+Inf"/"-Inf") */
        bool b;
        struct {
            size_t n;
            const zt_cty_value **elems; /* LIST, SET, TUPLE elements; MAP
                                         * and OBJECT values */
            const char **keys;          /* MAP keys (sorted); OBJECT: the
                                         * type's attribute names */
        } coll;
    } u;
};

/* Constructors. Collections copy the pointer arrays, not the elements. */
const zt_cty_value *zt_cty_null(zt_arena *a, const zt_cty_type *t);
const zt_cty_value *zt_cty_unknown(zt_arena *a, const zt_cty_type *t);
const zt_cty_value *zt_cty_unknown_refined(zt_arena *a, const zt_cty_type *t,
                                           const zt_cty_refinement *r);
const zt_cty_value *zt_cty_string(zt_arena *a, const char *s);
const zt_cty_value *zt_cty_string_n(zt_arena *a, const char *s, size_t n);
const zt_cty_value *zt_cty_bool(zt_arena *a, bool b);
const zt_cty_value *zt_cty_number_int(zt_arena *a, int64_t i);
/* Stored as the double's exact decimal expansion; NULL for NaN. */
const zt_cty_value *zt_cty_number_double(zt_arena *a, double d);
/* Decimal text (sign, digits, optional fraction and exponent); returns NULL
 * when the text is not a number. The stored form is canonical. */
const zt_cty_value *zt_cty_number_text(zt_arena *a, const char *text);
const zt_cty_value *zt_cty_list(zt_arena *a, const zt_cty_type *elem, size_t n,
                                const zt_cty_value *const *elems);
/* Sets are kept sorted (deterministic encoding) and deduplicated as cty
 * does: equal wholly known elements collapse; elements containing
 * unknowns are never equal to anything and are all kept. */
const zt_cty_value *zt_cty_set(zt_arena *a, const zt_cty_type *elem, size_t n,
                               const zt_cty_value *const *elems);
/* Map keys are copied and sorted; a later duplicate key wins. */
const zt_cty_value *zt_cty_map(zt_arena *a, const zt_cty_type *elem, size_t n,
                               const char *const *keys, const zt_cty_value *const *vals);
/* vals in the order of t->names (t must be an OBJECT type). As in cty,
 * a value's type is concrete: where t (or a collection's elem) has a
 * dynamic part, the value's type takes the elements' actual types, and
 * optional-attribute markers are dropped. */
const zt_cty_value *zt_cty_object(zt_arena *a, const zt_cty_type *t,
                                  const zt_cty_value *const *vals);
const zt_cty_value *zt_cty_tuple(zt_arena *a, const zt_cty_type *t,
                                 const zt_cty_value *const *elems);

/* Accessors. */
const zt_cty_value *zt_cty_get_attr(const zt_cty_value *obj, const char *name); /* NULL if no such attribute or obj null/unknown */
const zt_cty_value *zt_cty_map_get(const zt_cty_value *map, const char *key);
bool zt_cty_is_known(const zt_cty_value *v);      /* known at top level */
bool zt_cty_is_wholly_known(const zt_cty_value *v); /* no unknown anywhere */
/* Number as int64 when it is an integer in range. */
bool zt_cty_number_to_int64(const zt_cty_value *v, int64_t *out);
double zt_cty_number_to_double(const zt_cty_value *v);
/* cty RawEquals: same type, nullness, knownness and value (refinements ignored). */
bool zt_cty_equal(const zt_cty_value *x, const zt_cty_value *y);

/* msgpack, as go-cty's cty/msgpack package. The type is the slot type
 * (DYNAMIC slots carry [type JSON, value] wrappers). Decoding rejects
 * trailing bytes and an empty buffer (an empty DynamicValue means null:
 * the caller handles that); nesting is limited to 64 levels. Encoding
 * errors (value does not fit the type) return ZT_ERR_INVALID. */
zt_rc zt_cty_msgpack_decode(zt_arena *a, const void *buf, size_t len,
                            const zt_cty_type *t, const zt_cty_value **out,
                            zt_diags *d);
zt_rc zt_cty_msgpack_encode(zt_arena *a, const zt_cty_value *v, const zt_cty_type *t,
                            const void **out, size_t *out_len, zt_diags *d);

/* JSON, as go-cty's cty/json package (no unknowns; dynamic slots use
 * {"value":...,"type":...}). Decoding is lenient as Terraform's is: object
 * attributes missing from the input are null; unknown attributes are an
 * error unless ignore_unknown_attrs (UpgradeResourceState drops them,
 * recursively, but not inside dynamic values). Numbers keep their exact
 * decimal text both ways. Encoding fails (ZT_ERR_INVALID) on unknowns and
 * on infinities, which JSON cannot hold. */
zt_rc zt_cty_json_decode(zt_arena *a, const char *buf, size_t len, const zt_cty_type *t,
                         bool ignore_unknown_attrs, const zt_cty_value **out, zt_diags *d);
zt_rc zt_cty_json_encode(zt_arena *a, const zt_cty_value *v, const zt_cty_type *t,
                         const char **out, size_t *out_len, zt_diags *d);

#endif
