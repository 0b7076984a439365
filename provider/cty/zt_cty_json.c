/* zt_cty_json.c - cty values <-> JSON, as go-cty's cty/json with
 * Terraform's leniency (numbers as strings, missing attributes null).
 *
 * Parsing uses jansson, which turns numbers into int64/double and so
 * loses precision (and fails on 1e400 or integers above 2^63). To keep
 * every number exactly, a small scanner first rewrites each number token
 * into a string carrying a private marker: "\u0000" followed by the
 * number's text. Genuine strings that start with a NUL character get a
 * second NUL so the two can never be confused. The rewrite keeps tokens
 * where they were, so jansson still checks the whole syntax.
 *
 * Writing is done here (compact, Go-compatible escaping, exact number
 * text), not with jansson.
 */
#include "zt_cty_internal.h"

#include <stdarg.h>
#include <string.h>

#define JS_SUMMARY "Invalid value encoding"

/* ======================= number-preserving rewrite ======================= */

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static bool is_num_char(char c)
{
    return is_digit(c) || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

/* RFC 8259 number grammar. */
static bool json_number_valid(const char *s, size_t n)
{
    size_t i = 0;
    if (i < n && s[i] == '-')
        i++;
    if (i < n && s[i] == '0')
        i++;
    else if (i < n && s[i] >= '1' && s[i] <= '9')
        while (i < n && is_digit(s[i]))
            i++;
    else
        return false;
    if (i < n && s[i] == '.') {
        size_t start = ++i;
        while (i < n && is_digit(s[i]))
            i++;
        if (i == start)
            return false;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t start = i;
        while (i < n && is_digit(s[i]))
            i++;
        if (i == start)
            return false;
    }
    return i == n;
}

static bool followed_by_colon(const char *in, size_t len, size_t i)
{
    while (i < len && is_ws(in[i]))
        i++;
    return i < len && in[i] == ':';
}

/* End (one past the closing quote) of the string starting at in[i]. */
static size_t string_end(const char *in, size_t len, size_t i)
{
    size_t j = i + 1;
    while (j < len && in[j] != '"')
        j += in[j] == '\\' ? 2 : 1;
    return j < len ? j + 1 : len;
}

typedef struct js_rewrite_err {
    size_t offset;
    const char *what;
} js_rewrite_err;

static bool js_rewrite(const char *in, size_t len, zt_buf *out, js_rewrite_err *err)
{
    size_t i = 0;
    while (i < len) {
        char c = in[i];
        if (c == '"') {
            size_t end = string_end(in, len, i);
            bool marker_clash = end - i >= 8 && memcmp(in + i + 1, "\\u0000", 6) == 0;
            if (marker_clash && !followed_by_colon(in, len, end)) {
                zt_buf_puts(out, "\"\\u0000");
                zt_buf_append(out, in + i + 1, end - i - 1);
            } else
                zt_buf_append(out, in + i, end - i);
            i = end;
        } else if (c == '-' || is_digit(c)) {
            size_t j = i;
            while (j < len && is_num_char(in[j]))
                j++;
            if (!json_number_valid(in + i, j - i) || followed_by_colon(in, len, j)) {
                *err = (js_rewrite_err){i, followed_by_colon(in, len, j)
                                               ? "a number cannot be an object key"
                                               : "invalid number"};
                return false;
            }
            zt_buf_puts(out, "\"\\u0000");
            zt_buf_append(out, in + i, j - i);
            zt_buf_append(out, "\"", 1);
            i = j;
        } else {
            size_t j = i + 1;
            while (j < len && in[j] != '"' && in[j] != '-' && !is_digit(in[j]))
                j++;
            zt_buf_append(out, in + i, j - i);
            i = j;
        }
    }
    return true;
}

/* ======================= decoding ======================= */

typedef enum js_kind { JS_NULL, JS_BOOL, JS_NUMBER, JS_STRING, JS_ARRAY, JS_OBJECT } js_kind;

static const char *const js_kind_names[] = {"null",     "a bool",    "a number",
                                            "a string", "an array", "an object"};

/* Kind of a node, undoing the rewrite: s and n get the text of strings and
 * numbers. */
static js_kind js_node_kind(const json_t *node, const char **s, size_t *n)
{
    switch (json_typeof(node)) {
    case JSON_OBJECT:
        return JS_OBJECT;
    case JSON_ARRAY:
        return JS_ARRAY;
    case JSON_TRUE:
    case JSON_FALSE:
        return JS_BOOL;
    case JSON_STRING:
        *s = json_string_value(node);
        *n = json_string_length(node);
        if (*n >= 2 && (*s)[0] == '\0') {
            bool genuine = (*s)[1] == '\0';
            (*s)++;
            (*n)--;
            return genuine ? JS_STRING : JS_NUMBER;
        }
        return JS_STRING;
    case JSON_NULL:
        return JS_NULL;
    default: /* integers and reals cannot occur after the rewrite */
        return JS_NUMBER;
    }
}

typedef struct js_dec {
    zt_arena *a;
    zt_diags *d;
    zt_cty_pstack ps;
    int depth;
} js_dec;

static zt_rc js_fail(js_dec *x, const char *fmt, ...) ZT_PRINTF(2, 3);

static zt_rc js_fail(js_dec *x, const char *fmt, ...)
{
    if (x->d) {
        va_list ap;
        va_start(ap, fmt);
        char *detail = zt_arena_vprintf(x->a, fmt, ap);
        va_end(ap);
        zt_diag_add(x->d, ZT_SEV_ERROR, zt_cty_pstack_path(x->a, &x->ps), JS_SUMMARY, "%s.",
                    detail);
    }
    return ZT_ERR_DECODE;
}

static const char *quote(zt_arena *a, const char *s, size_t n)
{
    zt_buf b;
    zt_buf_init(&b, a);
    size_t k = zt_cty_utf8_safe_prefix(s, n, 64);
    zt_cty_json_write_string(&b, s, k);
    if (k < n)
        zt_buf_puts(&b, "...");
    return zt_buf_cstr(&b);
}

static zt_rc js_expected(js_dec *x, const char *what, js_kind found)
{
    return js_fail(x, "Expected %s, found %s", what, js_kind_names[found]);
}

static zt_rc js_decode(js_dec *x, const json_t *node, const zt_cty_type *t, bool ignore,
                       const zt_cty_value **out);

static zt_rc js_number(js_dec *x, const char *s, size_t n, bool from_string,
                       const zt_cty_value **out)
{
    const char *num;
    switch (zt_cty_num_parse(x->a, s, n, &num)) {
    case ZT_CTY_NUM_OK: {
        zt_cty_value *v = zt_arena_alloc(x->a, sizeof(*v));
        v->type = &zt_cty_number_type;
        v->u.num = num;
        *out = v;
        return ZT_OK;
    }
    case ZT_CTY_NUM_RANGE:
        return js_fail(x, "The number %s is too large or too precise to handle",
                       quote(x->a, s, n));
    default:
        return js_fail(x, "Expected a number, found %s %s",
                       from_string ? "the string" : "the JSON number", quote(x->a, s, n));
    }
}

/* Primitive slots accept what cty's converter accepts from JSON. */
static zt_rc js_primitive(js_dec *x, const json_t *node, const zt_cty_type *t,
                          const zt_cty_value **out)
{
    const char *s = NULL;
    size_t n = 0;
    js_kind k = js_node_kind(node, &s, &n);
    if (t->kind == ZT_CTY_STRING) {
        if (k == JS_STRING || k == JS_NUMBER) { /* numbers keep their text */
            if (!zt_cty_utf8_valid(s, n))
                return js_fail(x, "Invalid UTF-8 in string");
            *out = zt_cty_string_n(x->a, s, n);
        } else if (k == JS_BOOL)
            *out = zt_cty_string(x->a, json_is_true(node) ? "true" : "false");
        else
            return js_expected(x, "a string", k);
        return ZT_OK;
    }
    if (t->kind == ZT_CTY_NUMBER) {
        if (k != JS_NUMBER && k != JS_STRING)
            return js_expected(x, "a number", k);
        return js_number(x, s, n, k == JS_STRING, out);
    }
    if (k == JS_BOOL) {
        *out = zt_cty_bool(x->a, json_is_true(node));
        return ZT_OK;
    }
    if (k == JS_STRING) { /* cty's string-to-bool conversion */
        static const char *const truthy[] = {"true", "1"}, *const falsy[] = {"false", "0"};
        for (int i = 0; i < 2; i++) {
            bool t_ok = strlen(truthy[i]) == n && memcmp(s, truthy[i], n) == 0;
            bool f_ok = strlen(falsy[i]) == n && memcmp(s, falsy[i], n) == 0;
            if (t_ok || f_ok) {
                *out = zt_cty_bool(x->a, t_ok);
                return ZT_OK;
            }
        }
    }
    if (k == JS_STRING)
        return js_fail(x, "Expected a bool, found the string %s", quote(x->a, s, n));
    return js_expected(x, "a bool", k);
}

static zt_rc js_enter(js_dec *x)
{
    if (++x->depth > ZT_CTY_MAX_DEPTH) {
        x->depth--;
        return js_fail(x, "Value is nested more than %d levels deep", ZT_CTY_MAX_DEPTH);
    }
    return ZT_OK;
}

static zt_rc js_finish_coll(js_dec *x, const zt_cty_type *t, size_t n,
                            const zt_cty_value **elems, const char **keys,
                            const zt_cty_value **out)
{
    *out = zt_cty_coll_decoded(x->a, t, n, elems, keys);
    if (!*out)
        return js_fail(x, "Elements of the %s have different types",
                       zt_cty_type_friendly(x->a, t));
    return ZT_OK;
}

/* Lists, sets and tuples: JSON arrays. */
static zt_rc js_sequence(js_dec *x, const json_t *node, const zt_cty_type *t, bool ignore,
                         const zt_cty_value **out)
{
    size_t n = json_array_size(node);
    if (t->kind == ZT_CTY_TUPLE && n != t->n)
        return js_fail(x, "Expected a tuple of %zu elements, found an array of %zu", t->n, n);
    const zt_cty_value **elems = zt_arena_calloc(x->a, n ? n : 1, sizeof(*elems));
    for (size_t i = 0; i < n; i++) {
        const zt_cty_type *et = t->kind == ZT_CTY_TUPLE ? t->types[i] : t->elem;
        zt_cty_pstack_push_index(&x->ps, (int64_t)i);
        zt_rc rc = js_decode(x, json_array_get(node, i), et, ignore, &elems[i]);
        zt_cty_pstack_pop(&x->ps);
        if (rc != ZT_OK)
            return rc;
    }
    if (t->kind == ZT_CTY_TUPLE) {
        *out = zt_cty_value_coll(x->a, zt_cty_struct_type(x->a, t, elems), n, elems, NULL);
        return ZT_OK;
    }
    if (t->kind == ZT_CTY_SET)
        n = zt_cty_set_normalize(elems, n);
    return js_finish_coll(x, t, n, elems, NULL, out);
}

static zt_rc js_map(js_dec *x, const json_t *node, const zt_cty_type *t, bool ignore,
                    const zt_cty_value **out)
{
    size_t n = json_object_size(node), i = 0;
    const zt_cty_value **vals = zt_arena_calloc(x->a, n ? n : 1, sizeof(*vals));
    const char **keys = zt_arena_calloc(x->a, n ? n : 1, sizeof(*keys));
    for (void *it = json_object_iter((json_t *)node); it && i < n;
         it = json_object_iter_next((json_t *)node, it), i++) {
        const char *key = json_object_iter_key(it);
        size_t klen = json_object_iter_key_len(it);
        if (strlen(key) != klen)
            return js_fail(x, "Map keys containing NUL bytes are not supported");
        keys[i] = zt_arena_strndup(x->a, key, klen);
        zt_cty_pstack_push_key(&x->ps, keys[i]);
        zt_rc rc = js_decode(x, json_object_iter_value(it), t->elem, ignore, &vals[i]);
        zt_cty_pstack_pop(&x->ps);
        if (rc != ZT_OK)
            return rc;
    }
    n = zt_cty_map_normalize(x->a, keys, vals, i);
    return js_finish_coll(x, t, n, vals, keys, out);
}

static ssize_t attr_index_n(const zt_cty_type *t, const char *key, size_t len)
{
    if (strlen(key) != len) /* attribute names never contain NUL */
        return -1;
    return zt_cty_type_attr_index(t, key);
}

/* Objects: missing attributes are null; unknown ones are an error unless
 * the caller asked to drop them (UpgradeResourceState). */
static zt_rc js_object(js_dec *x, const json_t *node, const zt_cty_type *t, bool ignore,
                       const zt_cty_value **out)
{
    const zt_cty_value **vals = zt_arena_calloc(x->a, t->n ? t->n : 1, sizeof(*vals));
    for (void *it = json_object_iter((json_t *)node); it;
         it = json_object_iter_next((json_t *)node, it)) {
        const char *key = json_object_iter_key(it);
        size_t klen = json_object_iter_key_len(it);
        ssize_t i = attr_index_n(t, key, klen);
        if (i < 0) {
            if (ignore)
                continue;
            return js_fail(x, "Unsupported attribute %s: the object type has no such attribute",
                           quote(x->a, key, klen));
        }
        zt_cty_pstack_push_attr(&x->ps, t->names[i]);
        zt_rc rc = js_decode(x, json_object_iter_value(it), t->types[i], ignore, &vals[i]);
        zt_cty_pstack_pop(&x->ps);
        if (rc != ZT_OK)
            return rc;
    }
    for (size_t i = 0; i < t->n; i++)
        if (!vals[i])
            vals[i] = zt_cty_null(x->a, t->types[i]);
    const zt_cty_type *vt = zt_cty_struct_type(x->a, t, vals);
    *out = zt_cty_value_coll(x->a, vt, t->n, vals, (const char **)vt->names);
    return ZT_OK;
}

/* {"value": ..., "type": ...}; nothing else may be in the object. */
static zt_rc js_dynamic(js_dec *x, const json_t *node, const zt_cty_value **out)
{
    const char *s = NULL;
    size_t n = 0;
    js_kind k = js_node_kind(node, &s, &n);
    if (k != JS_OBJECT)
        return js_expected(x, "a {\"value\": ..., \"type\": ...} object for a dynamic value", k);
    const json_t *tnode = NULL, *vnode = NULL;
    for (void *it = json_object_iter((json_t *)node); it;
         it = json_object_iter_next((json_t *)node, it)) {
        const char *key = json_object_iter_key(it);
        size_t klen = json_object_iter_key_len(it);
        if (klen == 4 && !strcmp(key, "type"))
            tnode = json_object_iter_value(it);
        else if (klen == 5 && !strcmp(key, "value"))
            vnode = json_object_iter_value(it);
        else
            return js_fail(x, "Invalid key %s in a dynamic value (only \"value\" and \"type\")",
                           quote(x->a, key, klen));
    }
    if (!tnode)
        return js_fail(x, "Missing \"type\" in a dynamic value");
    if (!vnode)
        return js_fail(x, "Missing \"value\" in a dynamic value");
    const char *err = NULL;
    const zt_cty_type *t = zt_cty_type_from_node(x->a, tnode, 1, &err);
    if (!t)
        return js_fail(x, "Invalid type in dynamic value: %s", err);
    ZT_TRY(js_enter(x));
    /* Terraform never strips unknown attributes inside dynamic values. */
    zt_rc rc = js_decode(x, vnode, t, false, out);
    x->depth--;
    return rc;
}

static zt_rc js_decode(js_dec *x, const json_t *node, const zt_cty_type *t, bool ignore,
                       const zt_cty_value **out)
{
    const char *s = NULL;
    size_t n = 0;
    js_kind k = js_node_kind(node, &s, &n);
    if (k == JS_NULL) {
        *out = zt_cty_null(x->a, t);
        return ZT_OK;
    }
    if (t->kind == ZT_CTY_DYNAMIC)
        return js_dynamic(x, node, out);
    if (zt_cty_type_is_primitive(t))
        return js_primitive(x, node, t, out);
    bool want_object = t->kind == ZT_CTY_MAP || t->kind == ZT_CTY_OBJECT;
    if (k != (want_object ? JS_OBJECT : JS_ARRAY)) {
        const char *what = want_object ? "an object" : "an array";
        return js_fail(x, "Expected %s for a %s value, found %s", what,
                       zt_cty_type_friendly(x->a, t), js_kind_names[k]);
    }
    ZT_TRY(js_enter(x));
    zt_rc rc = t->kind == ZT_CTY_MAP      ? js_map(x, node, t, ignore, out)
               : t->kind == ZT_CTY_OBJECT ? js_object(x, node, t, ignore, out)
                                          : js_sequence(x, node, t, ignore, out);
    x->depth--;
    return rc;
}

zt_rc zt_cty_json_decode(zt_arena *a, const char *buf, size_t len, const zt_cty_type *t,
                         bool ignore_unknown_attrs, const zt_cty_value **out, zt_diags *d)
{
    js_dec *x = zt_arena_alloc(a, sizeof(*x));
    x->a = a;
    x->d = d;
    *out = NULL;
    if (!t)
        return js_fail(x, "No type given to decode the value with");
    zt_buf text;
    zt_buf_init(&text, a);
    js_rewrite_err rerr;
    if (!js_rewrite(buf, len, &text, &rerr))
        return js_fail(x, "Invalid JSON: %s at byte offset %zu", rerr.what, rerr.offset);
    json_error_t jerr;
    /* Without JSON_DISABLE_EOF_CHECK jansson rejects trailing data. */
    json_t *root = json_loadb(text.data ? text.data : "", text.len,
                              JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!root)
        return js_fail(x, "Invalid JSON on line %d: %s", jerr.line,
                       zt_cty_safe_text(a, jerr.text, strlen(jerr.text)));
    const zt_cty_value *v = NULL;
    zt_rc rc = js_decode(x, root, t, ignore_unknown_attrs, &v);
    json_decref(root); /* everything kept was copied into the arena */
    if (rc == ZT_OK)
        *out = v;
    return rc;
}

/* ======================= encoding ======================= */

typedef struct js_enc {
    zt_arena *a;
    zt_diags *d;
    zt_buf b;
    zt_cty_pstack ps;
    int depth;
} js_enc;

static zt_rc je_fail(js_enc *x, const char *fmt, ...) ZT_PRINTF(2, 3);

static zt_rc je_fail(js_enc *x, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    zt_rc rc = zt_cty_encode_failv(x->a, x->d, &x->ps, fmt, ap);
    va_end(ap);
    return rc;
}

static zt_rc je_value(js_enc *x, const zt_cty_value *v, const zt_cty_type *t);

static zt_rc je_enter(js_enc *x)
{
    if (++x->depth > ZT_CTY_MAX_DEPTH) {
        x->depth--;
        return je_fail(x, "Value is nested more than %d levels deep", ZT_CTY_MAX_DEPTH);
    }
    return ZT_OK;
}

static zt_rc je_dynamic(js_enc *x, const zt_cty_value *v)
{
    if (v->type->kind == ZT_CTY_DYNAMIC) {
        if (v->is_null) {
            zt_buf_puts(&x->b, "null");
            return ZT_OK;
        }
        return je_fail(x, v->is_unknown ? "Unknown values cannot be represented in JSON"
                                        : "A known value has no concrete type");
    }
    ZT_TRY(je_enter(x));
    zt_buf_puts(&x->b, "{\"value\":");
    zt_rc rc = je_value(x, v, v->type);
    x->depth--;
    if (rc != ZT_OK)
        return rc;
    zt_buf_puts(&x->b, ",\"type\":");
    zt_cty_type_write_json(&x->b, v->type);
    zt_buf_append(&x->b, "}", 1);
    return ZT_OK;
}

static zt_rc je_children(js_enc *x, const zt_cty_value *v, const zt_cty_type *t)
{
    bool keyed = t->kind == ZT_CTY_MAP || t->kind == ZT_CTY_OBJECT;
    zt_buf_append(&x->b, keyed ? "{" : "[", 1);
    for (size_t i = 0; i < v->u.coll.n; i++) {
        if (i)
            zt_buf_append(&x->b, ",", 1);
        const zt_cty_type *et = t->elem;
        if (t->kind == ZT_CTY_OBJECT || t->kind == ZT_CTY_TUPLE)
            et = t->types[i];
        if (keyed) {
            const char *k = v->u.coll.keys[i];
            zt_cty_json_write_string(&x->b, k, strlen(k));
            zt_buf_append(&x->b, ":", 1);
            if (t->kind == ZT_CTY_OBJECT)
                zt_cty_pstack_push_attr(&x->ps, k);
            else
                zt_cty_pstack_push_key(&x->ps, k);
        } else
            zt_cty_pstack_push_index(&x->ps, (int64_t)i);
        zt_rc rc = je_value(x, v->u.coll.elems[i], et);
        zt_cty_pstack_pop(&x->ps);
        if (rc != ZT_OK)
            return rc;
    }
    zt_buf_append(&x->b, keyed ? "}" : "]", 1);
    return ZT_OK;
}

static zt_rc je_value(js_enc *x, const zt_cty_value *v, const zt_cty_type *t)
{
    if (!v)
        return je_fail(x, "Missing value (NULL pointer)");
    if (t->kind == ZT_CTY_DYNAMIC)
        return je_dynamic(x, v);
    if (!zt_cty_shape_matches(v, t))
        return je_fail(x, "Expected a value of type %s, got %s", zt_cty_type_friendly(x->a, t),
                       zt_cty_type_friendly(x->a, v->type));
    if (v->is_null) {
        zt_buf_puts(&x->b, "null");
        return ZT_OK;
    }
    if (v->is_unknown)
        return je_fail(x, "Unknown values cannot be represented in JSON");
    switch (t->kind) {
    case ZT_CTY_STRING:
        zt_cty_json_write_string(&x->b, v->u.str.ptr, v->u.str.len);
        return ZT_OK;
    case ZT_CTY_NUMBER:
        if (zt_cty_num_is_inf(v->u.num))
            return je_fail(x, "Infinity cannot be represented in JSON");
        zt_buf_puts(&x->b, v->u.num);
        return ZT_OK;
    case ZT_CTY_BOOL:
        zt_buf_puts(&x->b, v->u.b ? "true" : "false");
        return ZT_OK;
    default:
        break;
    }
    ZT_TRY(je_enter(x));
    zt_rc rc = je_children(x, v, t);
    x->depth--;
    return rc;
}

zt_rc zt_cty_json_encode(zt_arena *a, const zt_cty_value *v, const zt_cty_type *t,
                         const char **out, size_t *out_len, zt_diags *d)
{
    js_enc *x = zt_arena_alloc(a, sizeof(*x));
    x->a = a;
    x->d = d;
    zt_buf_init(&x->b, a);
    *out = NULL;
    *out_len = 0;
    if (!t && v)
        t = v->type;
    if (!t)
        return je_fail(x, "No type given to encode the value with");
    ZT_TRY(je_value(x, v, t));
    *out = zt_buf_cstr(&x->b);
    *out_len = x->b.len;
    return ZT_OK;
}
