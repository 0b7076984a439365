/* zt_cty_type.c - cty types: constructors, comparison and the
 * type-constraint JSON form (as cty.Type's MarshalJSON/UnmarshalJSON). */
#include "zt_cty_internal.h"

#include <stdlib.h>
#include <string.h>

const zt_cty_type zt_cty_string_type = {.kind = ZT_CTY_STRING};
const zt_cty_type zt_cty_number_type = {.kind = ZT_CTY_NUMBER};
const zt_cty_type zt_cty_bool_type = {.kind = ZT_CTY_BOOL};
const zt_cty_type zt_cty_dynamic_type = {.kind = ZT_CTY_DYNAMIC};

static const zt_cty_type *type_elem(zt_arena *a, zt_cty_kind kind, const zt_cty_type *elem)
{
    zt_cty_type *t = zt_arena_alloc(a, sizeof(*t));
    t->kind = kind;
    t->elem = elem;
    return t;
}

const zt_cty_type *zt_cty_type_list(zt_arena *a, const zt_cty_type *elem)
{
    return type_elem(a, ZT_CTY_LIST, elem);
}

const zt_cty_type *zt_cty_type_set(zt_arena *a, const zt_cty_type *elem)
{
    return type_elem(a, ZT_CTY_SET, elem);
}

const zt_cty_type *zt_cty_type_map(zt_arena *a, const zt_cty_type *elem)
{
    return type_elem(a, ZT_CTY_MAP, elem);
}

const zt_cty_type *zt_cty_type_object_sorted(zt_arena *a, size_t n, const char **names,
                                             const zt_cty_type **types, const bool *optional)
{
    zt_cty_type *t = zt_arena_alloc(a, sizeof(*t));
    t->kind = ZT_CTY_OBJECT;
    t->n = n;
    t->names = names;
    t->types = types;
    t->optional = optional;
    return t;
}

/* qsort context for sorting attribute indices by name (then position, so
 * that "last duplicate wins" is well defined). */
typedef struct {
    const char *name;
    size_t pos;
} name_pos;

static int name_pos_cmp(const void *x, const void *y)
{
    const name_pos *a = x, *b = y;
    int c = strcmp(a->name, b->name);
    if (c)
        return c;
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

const zt_cty_type *zt_cty_type_object(zt_arena *a, size_t n, const char *const *names,
                                      const zt_cty_type *const *types, const bool *optional)
{
    name_pos *np = zt_arena_calloc(a, n ? n : 1, sizeof(*np));
    for (size_t i = 0; i < n; i++)
        np[i] = (name_pos){names[i], i};
    if (n > 1)
        qsort(np, n, sizeof(*np), name_pos_cmp);

    const char **nn = zt_arena_calloc(a, n ? n : 1, sizeof(*nn));
    const zt_cty_type **nt = zt_arena_calloc(a, n ? n : 1, sizeof(*nt));
    bool *no = zt_arena_calloc(a, n ? n : 1, sizeof(*no));
    bool any_optional = false;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (i + 1 < n && strcmp(np[i].name, np[i + 1].name) == 0)
            continue; /* a later duplicate replaces this one */
        nn[m] = zt_arena_strdup(a, np[i].name);
        nt[m] = types[np[i].pos];
        no[m] = optional && optional[np[i].pos];
        any_optional |= no[m];
        m++;
    }
    return zt_cty_type_object_sorted(a, m, nn, nt, any_optional ? no : NULL);
}

const zt_cty_type *zt_cty_type_tuple(zt_arena *a, size_t n, const zt_cty_type *const *types)
{
    zt_cty_type *t = zt_arena_alloc(a, sizeof(*t));
    t->kind = ZT_CTY_TUPLE;
    t->n = n;
    t->types = zt_arena_calloc(a, n ? n : 1, sizeof(*t->types));
    if (n)
        memcpy(t->types, types, n * sizeof(*t->types));
    return t;
}

bool zt_cty_type_is_primitive(const zt_cty_type *t)
{
    return t->kind == ZT_CTY_STRING || t->kind == ZT_CTY_NUMBER || t->kind == ZT_CTY_BOOL;
}

bool zt_cty_type_is_collection(const zt_cty_type *t)
{
    return t->kind == ZT_CTY_LIST || t->kind == ZT_CTY_SET || t->kind == ZT_CTY_MAP;
}

bool zt_cty_type_same_fast(const zt_cty_type *vt, const zt_cty_type *st)
{
    return vt == st || ((zt_cty_type_is_primitive(st) || st->kind == ZT_CTY_DYNAMIC) &&
                        vt->kind == st->kind);
}

static bool attr_optional(const zt_cty_type *t, size_t i)
{
    return t->optional && t->optional[i];
}

int zt_cty_type_cmp(const zt_cty_type *x, const zt_cty_type *y)
{
    if (x == y)
        return 0;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    switch (x->kind) {
    case ZT_CTY_LIST:
    case ZT_CTY_SET:
    case ZT_CTY_MAP:
        return zt_cty_type_cmp(x->elem, y->elem);
    case ZT_CTY_OBJECT:
    case ZT_CTY_TUPLE:
        if (x->n != y->n)
            return x->n < y->n ? -1 : 1;
        for (size_t i = 0; i < x->n; i++) {
            int c = x->kind == ZT_CTY_OBJECT ? strcmp(x->names[i], y->names[i]) : 0;
            if (!c)
                c = zt_cty_type_cmp(x->types[i], y->types[i]);
            if (!c && x->kind == ZT_CTY_OBJECT)
                c = (int)attr_optional(x, i) - (int)attr_optional(y, i);
            if (c)
                return c < 0 ? -1 : 1;
        }
        return 0;
    default:
        return 0; /* primitives and dynamic: kind says it all */
    }
}

bool zt_cty_type_equal(const zt_cty_type *x, const zt_cty_type *y)
{
    return zt_cty_type_cmp(x, y) == 0;
}

ssize_t zt_cty_type_attr_index(const zt_cty_type *t, const char *name)
{
    if (!t || t->kind != ZT_CTY_OBJECT || !name)
        return -1;
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, t->names[mid]);
        if (c == 0)
            return (ssize_t)mid;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -1;
}

const char *zt_cty_type_friendly(zt_arena *a, const zt_cty_type *t)
{
    switch (t->kind) {
    case ZT_CTY_DYNAMIC:
        return "dynamic";
    case ZT_CTY_STRING:
        return "string";
    case ZT_CTY_NUMBER:
        return "number";
    case ZT_CTY_BOOL:
        return "bool";
    case ZT_CTY_LIST:
        return zt_arena_printf(a, "list of %s", zt_cty_type_friendly(a, t->elem));
    case ZT_CTY_SET:
        return zt_arena_printf(a, "set of %s", zt_cty_type_friendly(a, t->elem));
    case ZT_CTY_MAP:
        return zt_arena_printf(a, "map of %s", zt_cty_type_friendly(a, t->elem));
    case ZT_CTY_OBJECT:
        return "object";
    case ZT_CTY_TUPLE:
        return "tuple";
    }
    return "invalid type";
}

int zt_cty_type_depth(const zt_cty_type *t, int limit)
{
    if (limit <= 0)
        return 1;
    int sub = 0;
    if (zt_cty_type_is_collection(t))
        sub = zt_cty_type_depth(t->elem, limit - 1);
    else if (t->kind == ZT_CTY_OBJECT || t->kind == ZT_CTY_TUPLE)
        for (size_t i = 0; i < t->n && sub < limit; i++) {
            int d = zt_cty_type_depth(t->types[i], limit - 1);
            if (d > sub)
                sub = d;
        }
    return 1 + sub;
}

/* ---- JSON writing ---- */

static const char hexdig[] = "0123456789abcdef";

static void put_u_escape(zt_buf *b, unsigned cp)
{
    char e[6] = {'\\', 'u', hexdig[(cp >> 12) & 15], hexdig[(cp >> 8) & 15],
                 hexdig[(cp >> 4) & 15], hexdig[cp & 15]};
    zt_buf_append(b, e, sizeof(e));
}

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    size_t len = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
    if (len > n || !zt_cty_utf8_valid((const char *)s, len))
        return 0;
    return len;
}

void zt_cty_json_write_string(zt_buf *b, const char *str, size_t n)
{
    zt_buf_append(b, "\"", 1);
    zt_cty_json_escape(b, str, n);
    zt_buf_append(b, "\"", 1);
}

const char *zt_cty_safe_text(zt_arena *a, const char *s, size_t n)
{
    zt_buf b;
    zt_buf_init(&b, a);
    size_t k = zt_cty_utf8_safe_prefix(s, n, 200);
    zt_cty_json_escape(&b, s, k);
    if (k < n)
        zt_buf_puts(&b, "...");
    return zt_buf_cstr(&b);
}

void zt_cty_json_escape(zt_buf *b, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t run = 0; /* start of the pending run of bytes copied verbatim */
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        size_t adv = 1;
        const char *esc = NULL;
        int uesc = -1;
        if (c >= 0x80) {
            adv = utf8_seq_len(s + i, n - i);
            if (!adv) {
                adv = 1;
                uesc = 0xfffd; /* Go replaces invalid bytes */
            } else if (adv == 3 && c == 0xe2 && s[i + 1] == 0x80 &&
                       (s[i + 2] == 0xa8 || s[i + 2] == 0xa9))
                uesc = s[i + 2] == 0xa8 ? 0x2028 : 0x2029;
        } else if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c == '\n')
            esc = "\\n";
        else if (c == '\r')
            esc = "\\r";
        else if (c == '\t')
            esc = "\\t";
        else if (c < 0x20 || c == '<' || c == '>' || c == '&')
            uesc = c; /* Go's encoder is HTML-safe by default */
        if (esc || uesc >= 0) {
            zt_buf_append(b, s + run, i - run);
            if (esc)
                zt_buf_puts(b, esc);
            else
                put_u_escape(b, (unsigned)uesc);
            run = i + adv;
        }
        i += adv;
    }
    zt_buf_append(b, s + run, n - run);
}

static void write_object_type(zt_buf *b, const zt_cty_type *t)
{
    zt_buf_puts(b, "[\"object\",{");
    for (size_t i = 0; i < t->n; i++) {
        if (i)
            zt_buf_append(b, ",", 1);
        zt_cty_json_write_string(b, t->names[i], strlen(t->names[i]));
        zt_buf_append(b, ":", 1);
        zt_cty_type_write_json(b, t->types[i]);
    }
    zt_buf_append(b, "}", 1);
    if (t->optional) {
        /* Names are sorted, so the optional list comes out sorted too. */
        bool first = true;
        for (size_t i = 0; i < t->n; i++) {
            if (!t->optional[i])
                continue;
            zt_buf_puts(b, first ? ",[" : ",");
            first = false;
            zt_cty_json_write_string(b, t->names[i], strlen(t->names[i]));
        }
        if (!first)
            zt_buf_append(b, "]", 1);
    }
    zt_buf_append(b, "]", 1);
}

void zt_cty_type_write_json(zt_buf *b, const zt_cty_type *t)
{
    switch (t->kind) {
    case ZT_CTY_DYNAMIC:
        zt_buf_puts(b, "\"dynamic\"");
        break;
    case ZT_CTY_STRING:
        zt_buf_puts(b, "\"string\"");
        break;
    case ZT_CTY_NUMBER:
        zt_buf_puts(b, "\"number\"");
        break;
    case ZT_CTY_BOOL:
        zt_buf_puts(b, "\"bool\"");
        break;
    case ZT_CTY_LIST:
    case ZT_CTY_SET:
    case ZT_CTY_MAP:
        zt_buf_puts(b, t->kind == ZT_CTY_LIST  ? "[\"list\","
                       : t->kind == ZT_CTY_SET ? "[\"set\","
                                               : "[\"map\",");
        zt_cty_type_write_json(b, t->elem);
        zt_buf_append(b, "]", 1);
        break;
    case ZT_CTY_OBJECT:
        write_object_type(b, t);
        break;
    case ZT_CTY_TUPLE:
        zt_buf_puts(b, "[\"tuple\",[");
        for (size_t i = 0; i < t->n; i++) {
            if (i)
                zt_buf_append(b, ",", 1);
            zt_cty_type_write_json(b, t->types[i]);
        }
        zt_buf_puts(b, "]]");
        break;
    }
}

const char *zt_cty_type_to_json(zt_arena *a, const zt_cty_type *t)
{
    zt_buf b;
    zt_buf_init(&b, a);
    zt_cty_type_write_json(&b, t);
    return zt_buf_cstr(&b);
}

/* ---- JSON parsing ---- */

static const zt_cty_type *type_fail(zt_arena *a, const char **err, const char *msg)
{
    ZT_UNUSED(a);
    *err = msg;
    return NULL;
}

static const zt_cty_type *primitive_from_name(const char *s, size_t n)
{
    static const struct {
        const char *name;
        const zt_cty_type *type;
    } prims[] = {{"string", &zt_cty_string_type},
                 {"number", &zt_cty_number_type},
                 {"bool", &zt_cty_bool_type},
                 {"dynamic", &zt_cty_dynamic_type}};
    for (size_t i = 0; i < ZT_ARRAY_LEN(prims); i++)
        if (strlen(prims[i].name) == n && memcmp(prims[i].name, s, n) == 0)
            return prims[i].type;
    return NULL;
}

static const zt_cty_type *object_from_node(zt_arena *a, const json_t *arr, int depth,
                                           const char **err)
{
    const json_t *attrs = json_array_get(arr, 1);
    const json_t *opts = json_array_size(arr) == 3 ? json_array_get(arr, 2) : NULL;
    if (!json_is_object(attrs))
        return type_fail(a, err, "object type attributes must be a JSON object");
    size_t n = json_object_size(attrs), i = 0;
    const char **names = zt_arena_calloc(a, n ? n : 1, sizeof(*names));
    const zt_cty_type **types = zt_arena_calloc(a, n ? n : 1, sizeof(*types));
    for (void *it = json_object_iter((json_t *)attrs); it;
         it = json_object_iter_next((json_t *)attrs, it), i++) {
        const char *key = json_object_iter_key(it);
        if (strlen(key) != json_object_iter_key_len(it))
            return type_fail(a, err, "object attribute names must not contain NUL bytes");
        names[i] = key;
        types[i] = zt_cty_type_from_node(a, json_object_iter_value(it), depth + 1, err);
        if (!types[i])
            return NULL;
    }
    bool *optional = NULL;
    if (opts) {
        if (!json_is_array(opts))
            return type_fail(a, err, "optional attribute names must be a JSON array");
        optional = zt_arena_calloc(a, n ? n : 1, sizeof(*optional));
        for (size_t k = 0; k < json_array_size(opts); k++) {
            const json_t *o = json_array_get(opts, k);
            size_t j = 0;
            while (j < n && !(json_is_string(o) && strlen(names[j]) == json_string_length(o) &&
                              strcmp(names[j], json_string_value(o)) == 0))
                j++;
            if (j == n)
                return type_fail(a, err, "optional attribute is not an attribute of the object");
            optional[j] = true;
        }
    }
    /* jansson keys live in the JSON tree, which is freed after parsing:
     * zt_cty_type_object copies names into the arena. */
    return zt_cty_type_object(a, n, names, types, optional);
}

static const zt_cty_type *tuple_from_node(zt_arena *a, const json_t *arr, int depth,
                                          const char **err)
{
    const json_t *elems = json_array_get(arr, 1);
    if (!json_is_array(elems))
        return type_fail(a, err, "tuple element types must be a JSON array");
    size_t n = json_array_size(elems);
    const zt_cty_type **types = zt_arena_calloc(a, n ? n : 1, sizeof(*types));
    for (size_t i = 0; i < n; i++) {
        types[i] = zt_cty_type_from_node(a, json_array_get(elems, i), depth + 1, err);
        if (!types[i])
            return NULL;
    }
    return zt_cty_type_tuple(a, n, types);
}

static const zt_cty_type *complex_from_node(zt_arena *a, const json_t *arr, int depth,
                                            const char **err)
{
    size_t n = json_array_size(arr);
    const json_t *k = json_array_get(arr, 0);
    if (n < 2 || !json_is_string(k))
        return type_fail(a, err, "invalid complex type description");
    const char *kind = json_string_value(k);
    size_t klen = json_string_length(k);
    bool is_object = klen == 6 && memcmp(kind, "object", 6) == 0;
    if (n > 2 && !(is_object && n == 3))
        return type_fail(a, err, "unexpected extra data in type description");
    if (is_object)
        return object_from_node(a, arr, depth, err);
    if (klen == 5 && memcmp(kind, "tuple", 5) == 0)
        return tuple_from_node(a, arr, depth, err);
    zt_cty_kind ck;
    if (klen == 4 && memcmp(kind, "list", 4) == 0)
        ck = ZT_CTY_LIST;
    else if (klen == 3 && memcmp(kind, "set", 3) == 0)
        ck = ZT_CTY_SET;
    else if (klen == 3 && memcmp(kind, "map", 3) == 0)
        ck = ZT_CTY_MAP;
    else
        return type_fail(a, err, "invalid complex type kind name");
    const zt_cty_type *elem = zt_cty_type_from_node(a, json_array_get(arr, 1), depth + 1, err);
    return elem ? type_elem(a, ck, elem) : NULL;
}

const zt_cty_type *zt_cty_type_from_node(zt_arena *a, const json_t *node, int depth,
                                         const char **err)
{
    if (depth > ZT_CTY_MAX_DEPTH)
        return type_fail(a, err, "type description is nested too deeply");
    if (json_is_string(node)) {
        const zt_cty_type *t = primitive_from_name(json_string_value(node),
                                                   json_string_length(node));
        if (!t)
            *err = zt_arena_printf(a, "invalid primitive type name \"%s\"",
                                   zt_cty_safe_text(a, json_string_value(node),
                                                    json_string_length(node)));
        return t;
    }
    if (json_is_array(node))
        return complex_from_node(a, node, depth, err);
    return type_fail(a, err, "invalid type description");
}

const zt_cty_type *zt_cty_type_parse(zt_arena *a, const char *json, size_t len,
                                     const char **err)
{
    json_error_t jerr;
    /* jansson rejects trailing data unless told otherwise. */
    json_t *root = json_loadb(json, len, JSON_DECODE_ANY, &jerr);
    if (!root) {
        *err = zt_arena_printf(a, "invalid JSON in type description: %s",
                               zt_cty_safe_text(a, jerr.text, strlen(jerr.text)));
        return NULL;
    }
    /* Everything kept from the tree is copied into the arena. */
    const zt_cty_type *t = zt_cty_type_from_node(a, root, 1, err);
    json_decref(root);
    return t;
}

zt_rc zt_cty_type_from_json(zt_arena *a, const char *json, size_t len,
                            const zt_cty_type **out, zt_diags *d)
{
    const char *err = NULL;
    const zt_cty_type *t = zt_cty_type_parse(a, json, len, &err);
    *out = t;
    if (t)
        return ZT_OK;
    if (d)
        zt_diag_add(d, ZT_SEV_ERROR, NULL, "Invalid type description", "%s", err);
    return ZT_ERR_DECODE;
}
