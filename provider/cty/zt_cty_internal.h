/* zt_cty_internal.h - helpers shared by the cty module's source files.
 * Not part of the public contract (zt_cty.h); nothing outside
 * provider/cty/ should include this. */
#ifndef ZT_CTY_INTERNAL_H
#define ZT_CTY_INTERNAL_H

#include "zt_cty.h"

#include <stdarg.h>

#include <jansson.h>

/* Nesting limit for values (every container and every dynamic wrapper is
 * one level) and for type descriptions. Terraform schemas stay far below;
 * the limit keeps recursion bounded on hostile input. */
#define ZT_CTY_MAX_DEPTH 64

/* Longest canonical number text accepted. The exact expansion of any
 * float64 needs at most ~1100 characters; cty's 512-bit numbers in
 * realistic ranges need far fewer. Longer texts (1e100000) are rejected
 * rather than expanded. */
#define ZT_CTY_NUM_MAX_LEN 4096

/* Refined-unknown payloads larger than this are rejected, as cty does. */
#define ZT_CTY_MAX_REFINEMENT_LEN 1024

/* Terraform caps string-prefix refinements at 256 bytes on encode. */
#define ZT_CTY_MAX_PREFIX_LEN 256

/* ---- numbers (zt_cty_num.c) ---- */

typedef enum zt_cty_num_status {
    ZT_CTY_NUM_OK = 0,
    ZT_CTY_NUM_SYNTAX, /* not a decimal number */
    ZT_CTY_NUM_RANGE   /* canonical text would exceed ZT_CTY_NUM_MAX_LEN */
} zt_cty_num_status;

/* Parse decimal text as cty.ParseNumberVal accepts it (sign, digits,
 * fraction, e-exponent, "Inf") into canonical form. */
zt_cty_num_status zt_cty_num_parse(zt_arena *a, const char *s, size_t len, const char **out);
/* Exact decimal expansion of a double; NULL for NaN. */
const char *zt_cty_num_from_double(zt_arena *a, double d);
const char *zt_cty_num_from_int64(zt_arena *a, int64_t i);
const char *zt_cty_num_from_uint64(zt_arena *a, uint64_t u);
bool zt_cty_num_is_inf(const char *num);
bool zt_cty_num_to_int64(const char *num, int64_t *out);
/* True when the canonical text is exactly a float64 (and not infinite). */
bool zt_cty_num_to_exact_double(const char *num, double *out);
/* Numeric order of two canonical texts. */
int zt_cty_num_cmp(const char *x, const char *y);

bool zt_cty_utf8_valid(const char *s, size_t n);
/* Length of the longest prefix of s (at most max bytes) that does not end
 * inside a UTF-8 sequence. */
size_t zt_cty_utf8_safe_prefix(const char *s, size_t n, size_t max);

/* ---- attribute path stack ----
 * Decoders push steps here while walking and only build a zt_path (which
 * copies) when they report an error. */
typedef struct zt_cty_pstack {
    zt_step steps[ZT_CTY_MAX_DEPTH + 4];
    size_t len;
} zt_cty_pstack;

void zt_cty_pstack_push_attr(zt_cty_pstack *ps, const char *name);
void zt_cty_pstack_push_key(zt_cty_pstack *ps, const char *key);
void zt_cty_pstack_push_index(zt_cty_pstack *ps, int64_t index);
void zt_cty_pstack_pop(zt_cty_pstack *ps);
zt_path *zt_cty_pstack_path(zt_arena *a, const zt_cty_pstack *ps);
/* The "Value cannot be encoded" diagnostic both encoders report at the
 * current path (d may be NULL); returns ZT_ERR_INVALID. */
zt_rc zt_cty_encode_failv(zt_arena *a, zt_diags *d, const zt_cty_pstack *ps, const char *fmt,
                          va_list ap);

/* ---- types (zt_cty_type.c) ---- */

bool zt_cty_type_is_primitive(const zt_cty_type *t);
bool zt_cty_type_is_collection(const zt_cty_type *t); /* list, set, map */
/* A deterministic total order on types (used to order set elements). */
int zt_cty_type_cmp(const zt_cty_type *x, const zt_cty_type *y);
/* Cheap check that a value of type vt fits the slot st without rebuilding
 * the slot's type (pointer identity, or same primitive kind). */
bool zt_cty_type_same_fast(const zt_cty_type *vt, const zt_cty_type *st);
/* Object type from names that are already sorted and unique (no copy of
 * the arrays is made; they must live in the arena). */
const zt_cty_type *zt_cty_type_object_sorted(zt_arena *a, size_t n, const char **names,
                                             const zt_cty_type **types, const bool *optional);
/* Type from an already-parsed JSON node; NULL with *err set on failure. */
const zt_cty_type *zt_cty_type_from_node(zt_arena *a, const json_t *node, int depth,
                                         const char **err);
/* Nesting depth of a type (1 for primitives), capped at limit + 1. */
int zt_cty_type_depth(const zt_cty_type *t, int limit);
/* Type from type-constraint JSON bytes; NULL with *err set on failure. */
const zt_cty_type *zt_cty_type_parse(zt_arena *a, const char *json, size_t len,
                                     const char **err);
void zt_cty_type_write_json(zt_buf *b, const zt_cty_type *t);

/* JSON string literal as Go's encoding/json writes it (HTML-safe escapes,
 * invalid UTF-8 replaced by U+FFFD). */
void zt_cty_json_write_string(zt_buf *b, const char *s, size_t n);
/* The same escaping without the quotes. */
void zt_cty_json_escape(zt_buf *b, const char *s, size_t n);
/* Text from the input (or from jansson's messages, which quote it) made
 * fit for a diagnostic: valid UTF-8, no control characters, at most ~200
 * bytes. */
const char *zt_cty_safe_text(zt_arena *a, const char *s, size_t n);

/* ---- values (zt_cty_value.c) ---- */

/* Constructors that take ownership of arena arrays (no copy, no checks). */
const zt_cty_value *zt_cty_value_coll(zt_arena *a, const zt_cty_type *t, size_t n,
                                      const zt_cty_value **elems, const char **keys);
/* Value type of a list/set/map with slot element type elem: elem itself,
 * or the elements' common concrete type when it differs (dynamic slots).
 * Returns NULL when elements disagree about their type. */
const zt_cty_type *zt_cty_coll_type(zt_arena *a, zt_cty_kind kind, const zt_cty_type *slot,
                                    size_t n, const zt_cty_value *const *elems);
/* A decoded list/set/map of slot type t (zt_cty_coll_type + value); NULL
 * when the elements disagree about their type. */
const zt_cty_value *zt_cty_coll_decoded(zt_arena *a, const zt_cty_type *t, size_t n,
                                        const zt_cty_value **elems, const char **keys);
/* Value type of an object/tuple with slot type t holding vals. */
const zt_cty_type *zt_cty_struct_type(zt_arena *a, const zt_cty_type *t,
                                      const zt_cty_value *const *vals);
/* Sort set elements and drop duplicates among wholly known ones; returns
 * the new count. */
size_t zt_cty_set_normalize(const zt_cty_value **elems, size_t n);
/* Sort map entries by key; on duplicate keys the later entry wins.
 * Returns the new count. */
size_t zt_cty_map_normalize(zt_arena *a, const char **keys, const zt_cty_value **vals,
                            size_t n);
/* Whether v can be written in slot t at the top level: same kind (or a
 * null/unknown of dynamic type, which fits anywhere), and for objects and
 * tuples the same attribute names / length. */
bool zt_cty_shape_matches(const zt_cty_value *v, const zt_cty_type *t);
/* Total order on values (type, then known non-null < unknown < null,
 * then content). Unknowns compare equal to each other. */
int zt_cty_value_cmp(const zt_cty_value *x, const zt_cty_value *y);

#endif
