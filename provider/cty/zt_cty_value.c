/* zt_cty_value.c - cty values: constructors, accessors, ordering and
 * equality. Values are immutable once built, so they can be shared. */
#include "zt_cty_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static zt_cty_value *value_new(zt_arena *a, const zt_cty_type *t)
{
    zt_cty_value *v = zt_arena_alloc(a, sizeof(*v));
    v->type = t;
    return v;
}

const zt_cty_value *zt_cty_null(zt_arena *a, const zt_cty_type *t)
{
    zt_cty_value *v = value_new(a, t);
    v->is_null = true;
    return v;
}

const zt_cty_value *zt_cty_unknown(zt_arena *a, const zt_cty_type *t)
{
    zt_cty_value *v = value_new(a, t);
    v->is_unknown = true;
    return v;
}

static bool refinement_empty(const zt_cty_refinement *r)
{
    return !r->has_nullness && !r->prefix && !r->num_lower && !r->num_upper &&
           !r->has_len_lower && !r->has_len_upper;
}

/* Bounds are kept canonical; text that is not a number is dropped. */
static const char *canon_or_null(zt_arena *a, const char *num)
{
    const char *canon = NULL;
    if (num && zt_cty_num_parse(a, num, strlen(num), &canon) != ZT_CTY_NUM_OK)
        canon = NULL;
    return canon;
}

const zt_cty_value *zt_cty_unknown_refined(zt_arena *a, const zt_cty_type *t,
                                           const zt_cty_refinement *r)
{
    /* cty never refines DynamicVal, and an unknown refined to "definitely
     * null" collapses into the null value itself. */
    if (!r || t->kind == ZT_CTY_DYNAMIC || refinement_empty(r))
        return zt_cty_unknown(a, t);
    if (r->has_nullness && r->is_null)
        return zt_cty_null(a, t);
    zt_cty_refinement *c = zt_arena_memdup(a, r, sizeof(*r));
    c->prefix = zt_arena_strdup(a, r->prefix);
    c->num_lower = canon_or_null(a, r->num_lower);
    c->num_upper = canon_or_null(a, r->num_upper);
    zt_cty_value *v = value_new(a, t);
    v->is_unknown = true;
    v->refine = c;
    return v;
}

const zt_cty_value *zt_cty_string_n(zt_arena *a, const char *s, size_t n)
{
    zt_cty_value *v = value_new(a, &zt_cty_string_type);
    v->u.str.ptr = zt_arena_memdup(a, s, n); /* memdup adds the NUL */
    v->u.str.len = n;
    return v;
}

const zt_cty_value *zt_cty_string(zt_arena *a, const char *s)
{
    return zt_cty_string_n(a, s, strlen(s));
}

/* Values are immutable, so the two bools can be shared by everyone
 * (decoding a list of bools then costs only the pointers). */
static const zt_cty_value bool_values[2] = {
    {.type = &zt_cty_bool_type, .u = {.b = false}},
    {.type = &zt_cty_bool_type, .u = {.b = true}},
};

const zt_cty_value *zt_cty_bool(zt_arena *a, bool b)
{
    ZT_UNUSED(a);
    return &bool_values[b];
}

static const zt_cty_value *number_from_canon(zt_arena *a, const char *canon)
{
    if (!canon)
        return NULL;
    zt_cty_value *v = value_new(a, &zt_cty_number_type);
    v->u.num = canon;
    return v;
}

const zt_cty_value *zt_cty_number_int(zt_arena *a, int64_t i)
{
    return number_from_canon(a, zt_cty_num_from_int64(a, i));
}

const zt_cty_value *zt_cty_number_double(zt_arena *a, double d)
{
    return number_from_canon(a, zt_cty_num_from_double(a, d)); /* NULL for NaN */
}

const zt_cty_value *zt_cty_number_text(zt_arena *a, const char *text)
{
    const char *canon = NULL;
    if (!text || zt_cty_num_parse(a, text, strlen(text), &canon) != ZT_CTY_NUM_OK)
        return NULL;
    return number_from_canon(a, canon);
}

const zt_cty_value *zt_cty_value_coll(zt_arena *a, const zt_cty_type *t, size_t n,
                                      const zt_cty_value **elems, const char **keys)
{
    zt_cty_value *v = value_new(a, t);
    v->u.coll.n = n;
    v->u.coll.elems = elems;
    v->u.coll.keys = keys;
    return v;
}

const zt_cty_type *zt_cty_coll_type(zt_arena *a, zt_cty_kind kind, const zt_cty_type *slot,
                                    size_t n, const zt_cty_value *const *elems)
{
    bool fits = true;
    for (size_t i = 0; i < n && fits; i++)
        fits = zt_cty_type_same_fast(elems[i]->type, slot->elem);
    if (fits)
        return slot;
    /* A dynamic element slot: like cty.ListVal, the value's element type
     * is the (single) concrete type of its elements. */
    for (size_t i = 1; i < n; i++)
        if (!zt_cty_type_equal(elems[i]->type, elems[0]->type))
            return NULL;
    zt_cty_type *t = zt_arena_alloc(a, sizeof(*t));
    t->kind = kind;
    t->elem = elems[0]->type;
    return t;
}

const zt_cty_type *zt_cty_struct_type(zt_arena *a, const zt_cty_type *t,
                                      const zt_cty_value *const *vals)
{
    bool fits = t->kind != ZT_CTY_OBJECT || !t->optional;
    for (size_t i = 0; i < t->n && fits; i++)
        fits = zt_cty_type_same_fast(vals[i]->type, t->types[i]);
    if (fits)
        return t;
    /* Dynamic attributes take their values' types; optional markers
     * belong to type constraints, never to value types. */
    const zt_cty_type **types = zt_arena_calloc(a, t->n ? t->n : 1, sizeof(*types));
    for (size_t i = 0; i < t->n; i++)
        types[i] = vals[i]->type;
    if (t->kind == ZT_CTY_OBJECT)
        return zt_cty_type_object_sorted(a, t->n, t->names, types, NULL);
    return zt_cty_type_tuple(a, t->n, types);
}

static const zt_cty_value **copy_values(zt_arena *a, size_t n, const zt_cty_value *const *src)
{
    const zt_cty_value **dst = zt_arena_calloc(a, n ? n : 1, sizeof(*dst));
    if (n)
        memcpy(dst, src, n * sizeof(*dst));
    return dst;
}

static const zt_cty_value *make_coll(zt_arena *a, zt_cty_kind kind, const zt_cty_type *elem,
                                     size_t n, const zt_cty_value **elems, const char **keys)
{
    zt_cty_type slot = {.kind = kind, .elem = elem};
    const zt_cty_type *t = zt_cty_coll_type(a, kind, &slot, n, elems);
    if (!t || t == &slot) /* inconsistent elements: keep the caller's type */
        t = kind == ZT_CTY_LIST  ? zt_cty_type_list(a, elem)
            : kind == ZT_CTY_SET ? zt_cty_type_set(a, elem)
                                 : zt_cty_type_map(a, elem);
    return zt_cty_value_coll(a, t, n, elems, keys);
}

const zt_cty_value *zt_cty_list(zt_arena *a, const zt_cty_type *elem, size_t n,
                                const zt_cty_value *const *elems)
{
    return make_coll(a, ZT_CTY_LIST, elem, n, copy_values(a, n, elems), NULL);
}

const zt_cty_value *zt_cty_set(zt_arena *a, const zt_cty_type *elem, size_t n,
                               const zt_cty_value *const *elems)
{
    const zt_cty_value **c = copy_values(a, n, elems);
    n = zt_cty_set_normalize(c, n);
    return make_coll(a, ZT_CTY_SET, elem, n, c, NULL);
}

const zt_cty_value *zt_cty_map(zt_arena *a, const zt_cty_type *elem, size_t n,
                               const char *const *keys, const zt_cty_value *const *vals)
{
    const zt_cty_value **c = copy_values(a, n, vals);
    const char **k = zt_arena_calloc(a, n ? n : 1, sizeof(*k));
    for (size_t i = 0; i < n; i++)
        k[i] = zt_arena_strdup(a, keys[i]);
    n = zt_cty_map_normalize(a, k, c, n);
    return make_coll(a, ZT_CTY_MAP, elem, n, c, k);
}

const zt_cty_value *zt_cty_object(zt_arena *a, const zt_cty_type *t,
                                  const zt_cty_value *const *vals)
{
    const zt_cty_type *vt = zt_cty_struct_type(a, t, vals);
    return zt_cty_value_coll(a, vt, t->n, copy_values(a, t->n, vals), (const char **)vt->names);
}

const zt_cty_value *zt_cty_tuple(zt_arena *a, const zt_cty_type *t,
                                 const zt_cty_value *const *elems)
{
    const zt_cty_type *vt = zt_cty_struct_type(a, t, elems);
    return zt_cty_value_coll(a, vt, t->n, copy_values(a, t->n, elems), NULL);
}

/* ---- accessors ---- */

static bool is_known_container(const zt_cty_value *v, zt_cty_kind kind)
{
    return v && !v->is_null && !v->is_unknown && v->type->kind == kind;
}

const zt_cty_value *zt_cty_get_attr(const zt_cty_value *obj, const char *name)
{
    if (!is_known_container(obj, ZT_CTY_OBJECT))
        return NULL;
    ssize_t i = zt_cty_type_attr_index(obj->type, name);
    return i < 0 ? NULL : obj->u.coll.elems[i];
}

const zt_cty_value *zt_cty_map_get(const zt_cty_value *map, const char *key)
{
    if (!is_known_container(map, ZT_CTY_MAP) || !key)
        return NULL;
    size_t lo = 0, hi = map->u.coll.n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(key, map->u.coll.keys[mid]);
        if (c == 0)
            return map->u.coll.elems[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

bool zt_cty_is_known(const zt_cty_value *v) { return !v->is_unknown; }

static bool has_children(const zt_cty_value *v)
{
    return !v->is_null && !v->is_unknown && !zt_cty_type_is_primitive(v->type) &&
           v->type->kind != ZT_CTY_DYNAMIC;
}

bool zt_cty_is_wholly_known(const zt_cty_value *v)
{
    if (v->is_unknown)
        return false;
    if (has_children(v))
        for (size_t i = 0; i < v->u.coll.n; i++)
            if (!zt_cty_is_wholly_known(v->u.coll.elems[i]))
                return false;
    return true;
}

static bool is_known_number(const zt_cty_value *v)
{
    return v && !v->is_null && !v->is_unknown && v->type->kind == ZT_CTY_NUMBER;
}

bool zt_cty_number_to_int64(const zt_cty_value *v, int64_t *out)
{
    return is_known_number(v) && zt_cty_num_to_int64(v->u.num, out);
}

double zt_cty_number_to_double(const zt_cty_value *v)
{
    /* strtod reads "+Inf"/"-Inf" too; big values round to nearest. */
    return is_known_number(v) ? strtod(v->u.num, NULL) : NAN;
}

bool zt_cty_shape_matches(const zt_cty_value *v, const zt_cty_type *t)
{
    const zt_cty_type *vt = v->type;
    if (t->kind == ZT_CTY_DYNAMIC)
        return true;
    if (vt->kind == ZT_CTY_DYNAMIC)
        return v->is_null || v->is_unknown;
    if (vt->kind != t->kind)
        return false;
    if (t->kind != ZT_CTY_OBJECT && t->kind != ZT_CTY_TUPLE)
        return true;
    if (vt->n != t->n)
        return false;
    for (size_t i = 0; i < t->n && t->kind == ZT_CTY_OBJECT; i++)
        if (strcmp(vt->names[i], t->names[i]) != 0)
            return false;
    return true;
}

/* ---- ordering and equality ---- */

/* cty's set order: known values, then unknowns, then nulls. */
static int state_rank(const zt_cty_value *v)
{
    return v->is_null ? 2 : v->is_unknown ? 1 : 0;
}

static int cmp_string(const zt_cty_value *x, const zt_cty_value *y)
{
    size_t n = x->u.str.len < y->u.str.len ? x->u.str.len : y->u.str.len;
    int c = memcmp(x->u.str.ptr, y->u.str.ptr, n);
    if (c)
        return c < 0 ? -1 : 1;
    return x->u.str.len < y->u.str.len ? -1 : x->u.str.len > y->u.str.len;
}

static int value_cmp(const zt_cty_value *x, const zt_cty_value *y, bool strict);

static int cmp_children(const zt_cty_value *x, const zt_cty_value *y, bool strict)
{
    size_t n = x->u.coll.n < y->u.coll.n ? x->u.coll.n : y->u.coll.n;
    for (size_t i = 0; i < n; i++) {
        int c = 0;
        if (x->type->kind == ZT_CTY_MAP)
            c = strcmp(x->u.coll.keys[i], y->u.coll.keys[i]);
        if (!c)
            c = value_cmp(x->u.coll.elems[i], y->u.coll.elems[i], strict);
        if (c)
            return c < 0 ? -1 : 1;
    }
    return x->u.coll.n < y->u.coll.n ? -1 : x->u.coll.n > y->u.coll.n;
}

static int cmp_int(int64_t x, int64_t y) { return x < y ? -1 : x > y; }

static int cmp_opt_str(const char *x, const char *y, bool numeric)
{
    if (!x || !y)
        return (int)!!x - (int)!!y;
    int c = numeric ? zt_cty_num_cmp(x, y) : strcmp(x, y);
    return c < 0 ? -1 : c > 0;
}

/* Order of refinements, only to make set order independent of the input
 * order when unknowns differ only in what is known about them. */
static int cmp_refinements(const zt_cty_refinement *x, const zt_cty_refinement *y)
{
    static const zt_cty_refinement none = {0};
    x = x ? x : &none;
    y = y ? y : &none;
    int c = cmp_int(x->has_nullness * 2 + x->is_null, y->has_nullness * 2 + y->is_null);
    if (!c)
        c = cmp_opt_str(x->prefix, y->prefix, false);
    if (!c)
        c = cmp_opt_str(x->num_lower, y->num_lower, true);
    if (!c)
        c = cmp_int(x->num_lower_inclusive, y->num_lower_inclusive);
    if (!c)
        c = cmp_opt_str(x->num_upper, y->num_upper, true);
    if (!c)
        c = cmp_int(x->num_upper_inclusive, y->num_upper_inclusive);
    if (!c)
        c = cmp_int(x->has_len_lower ? x->len_lower : -1, y->has_len_lower ? y->len_lower : -1);
    if (!c)
        c = cmp_int(x->has_len_upper ? x->len_upper : -1, y->has_len_upper ? y->len_upper : -1);
    return c;
}

/* strict: also order unknowns by their refinements (never for equality). */
static int value_cmp(const zt_cty_value *x, const zt_cty_value *y, bool strict)
{
    if (x == y)
        return 0;
    int c = zt_cty_type_cmp(x->type, y->type);
    if (c)
        return c;
    int rx = state_rank(x), ry = state_rank(y);
    if (rx != ry)
        return rx < ry ? -1 : 1;
    if (rx == 1 && strict)
        return cmp_refinements(x->refine, y->refine);
    if (rx)
        return 0; /* two nulls, or two unknowns */
    switch (x->type->kind) {
    case ZT_CTY_STRING:
        return cmp_string(x, y);
    case ZT_CTY_NUMBER:
        return zt_cty_num_cmp(x->u.num, y->u.num);
    case ZT_CTY_BOOL:
        return (int)x->u.b - (int)y->u.b;
    case ZT_CTY_DYNAMIC:
        return 0;
    default:
        return cmp_children(x, y, strict);
    }
}

int zt_cty_value_cmp(const zt_cty_value *x, const zt_cty_value *y)
{
    return value_cmp(x, y, false);
}

bool zt_cty_equal(const zt_cty_value *x, const zt_cty_value *y)
{
    return zt_cty_value_cmp(x, y) == 0;
}

static int value_ptr_cmp(const void *x, const void *y)
{
    return value_cmp(*(const zt_cty_value *const *)x, *(const zt_cty_value *const *)y, true);
}

size_t zt_cty_set_normalize(const zt_cty_value **elems, size_t n)
{
    if (n < 2)
        return n;
    qsort(elems, n, sizeof(*elems), value_ptr_cmp);
    /* cty dedups set members that are equal; values containing unknowns
     * are never equal to anything (Equals is unknown), so they all stay.
     * Equal order implies unknowns in the same places, so checking one
     * side for unknowns is enough. */
    size_t m = 1;
    for (size_t i = 1; i < n; i++) {
        if (zt_cty_value_cmp(elems[m - 1], elems[i]) == 0 && zt_cty_is_wholly_known(elems[i]))
            continue;
        elems[m++] = elems[i];
    }
    return m;
}

typedef struct {
    const char *key;
    const zt_cty_value *val;
    size_t pos;
} map_entry;

static int map_entry_cmp(const void *x, const void *y)
{
    const map_entry *a = x, *b = y;
    int c = strcmp(a->key, b->key);
    if (c)
        return c;
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

size_t zt_cty_map_normalize(zt_arena *a, const char **keys, const zt_cty_value **vals,
                            size_t n)
{
    if (n < 2)
        return n;
    map_entry *e = zt_arena_calloc(a, n, sizeof(*e));
    for (size_t i = 0; i < n; i++)
        e[i] = (map_entry){keys[i], vals[i], i};
    qsort(e, n, sizeof(*e), map_entry_cmp);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (i + 1 < n && strcmp(e[i].key, e[i + 1].key) == 0)
            continue; /* a later entry with the same key wins, as in Go */
        keys[m] = e[i].key;
        vals[m] = e[i].val;
        m++;
    }
    return m;
}

const zt_cty_value *zt_cty_coll_decoded(zt_arena *a, const zt_cty_type *t, size_t n,
                                        const zt_cty_value **elems, const char **keys)
{
    const zt_cty_type *vt = zt_cty_coll_type(a, t->kind, t, n, elems);
    return vt ? zt_cty_value_coll(a, vt, n, elems, keys) : NULL;
}
