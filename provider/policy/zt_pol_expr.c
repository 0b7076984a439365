/* zt_pol_expr.c - template expressions of policy rules ("[concat('tags[',
 * parameters('tagName'), ']')]"): a tokenizer, a recursive-descent parser
 * that evaluates as it goes, and the functions the built-in definitions
 * use. Values are JSON owned by the arena; a value that holds the
 * placeholder stays unknown through the string functions, and a function
 * that must look inside it (equals, empty, contains, ...) answers UNKNOWN. */
#include "zt_pol_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum tok_kind { T_END, T_STR, T_NUM, T_ID, T_PUNCT, T_BAD } tok_kind;

typedef struct parser {
    zt_pol_ctx *x;
    const char *s;      /* the expression without its brackets */
    tok_kind kind;
    const char *text;   /* the token (strings unquoted) */
    char punct;
    int depth;
} parser;

/* A value and how it came out (TRUE: known). */
typedef struct pv {
    json_t *v;
    zt_pol_result r;
} pv;

static pv pv_ok(zt_pol_ctx *x, json_t *v) { return (pv){zt_pol_own(x->a, v), ZT_POL_TRUE}; }
static pv pv_borrow(json_t *v) { return (pv){v, ZT_POL_TRUE}; }
static pv pv_fail(zt_pol_result r) { return (pv){NULL, r}; }

static void next(parser *p)
{
    const char *s = p->s;
    while (isspace((unsigned char)*s))
        s++;
    p->punct = 0;
    if (!*s) {
        p->kind = T_END;
    } else if (*s == '\'') {
        zt_buf b;
        zt_buf_init(&b, p->x->a);
        for (s++;; s++) {
            if (!*s) {
                p->kind = T_BAD;
                break;
            }
            if (*s == '\'' && s[1] == '\'') {
                zt_buf_puts(&b, "'");
                s++;
            } else if (*s == '\'') {
                s++;
                p->kind = T_STR;
                break;
            } else {
                zt_buf_append(&b, s, 1);
            }
        }
        p->text = zt_buf_cstr(&b);
    } else if (isdigit((unsigned char)*s) || (*s == '-' && isdigit((unsigned char)s[1]))) {
        const char *start = s++;
        while (isdigit((unsigned char)*s) || *s == '.')
            s++;
        p->kind = T_NUM;
        p->text = zt_arena_strndup(p->x->a, start, (size_t)(s - start));
    } else if (isalpha((unsigned char)*s) || *s == '_') {
        const char *start = s;
        while (isalnum((unsigned char)*s) || *s == '_')
            s++;
        p->kind = T_ID;
        p->text = zt_arena_strndup(p->x->a, start, (size_t)(s - start));
    } else if (strchr("(),.[]", *s)) {
        p->kind = T_PUNCT;
        p->punct = *s++;
    } else {
        p->kind = T_BAD;
    }
    p->s = s;
}

static bool accept(parser *p, char c)
{
    if (p->kind == T_PUNCT && p->punct == c) {
        next(p);
        return true;
    }
    return false;
}

static pv expr(parser *p);

/* ---- functions ----------------------------------------------------------------- */

static pv bool_of(zt_pol_ctx *x, bool b) { return pv_ok(x, json_boolean(b)); }

static bool unknown_arg(zt_pol_ctx *x, pv *args, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (zt_pol_unknown(x, args[i].v))
            return true;
    return false;
}

static bool truthy(const json_t *v)
{
    return json_is_true(v) || (json_is_string(v) && !strcasecmp(json_string_value(v), "true"));
}

static pv fn_concat(zt_pol_ctx *x, pv *args, size_t n)
{
    bool arrays = n > 0;
    for (size_t i = 0; i < n; i++)
        arrays &= json_is_array(args[i].v);
    if (arrays) {
        json_t *out = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_extend(out, args[i].v);
        return pv_ok(x, out);
    }
    zt_buf b;
    zt_buf_init(&b, x->a);
    for (size_t i = 0; i < n; i++)
        zt_buf_puts(&b, zt_pol_str(x->a, args[i].v));
    return pv_ok(x, json_string(zt_buf_cstr(&b)));
}

static pv fn_first_last(zt_pol_ctx *x, pv *args, bool last)
{
    json_t *v = args[0].v;
    if (json_is_array(v)) {
        size_t n = json_array_size(v);
        return pv_borrow(n ? json_array_get(v, last ? n - 1 : 0) : NULL);
    }
    const char *s = zt_pol_str(x->a, v);
    size_t n = strlen(s);
    return pv_ok(x, json_stringn(n ? s + (last ? n - 1 : 0) : "", n ? 1 : 0));
}

static pv fn_split(zt_pol_ctx *x, pv *args)
{
    const char *s = zt_pol_str(x->a, args[0].v), *sep = zt_pol_str(x->a, args[1].v);
    json_t *out = json_array();
    size_t n = strlen(sep);
    for (const char *p = s;;) {
        const char *hit = n ? strstr(p, sep) : NULL;
        if (!hit) {
            json_array_append_new(out, json_string(p));
            break;
        }
        json_array_append_new(out, json_stringn(p, (size_t)(hit - p)));
        p = hit + n;
    }
    return pv_ok(x, out);
}

static bool empty(const json_t *v)
{
    return !v || json_is_null(v) || (json_is_string(v) && !*json_string_value(v)) ||
           (json_is_array(v) && !json_array_size(v)) ||
           (json_is_object(v) && !json_object_size(v));
}

static pv fn_pad_left(zt_pol_ctx *x, pv *args, size_t n)
{
    const char *s = zt_pol_str(x->a, args[0].v);
    long width = (long)json_number_value(args[1].v);
    const char *pad = n > 2 ? zt_pol_str(x->a, args[2].v) : " ";
    size_t len = strlen(s);
    if (width > 1024)
        return pv_fail(zt_pol_unevaluable(x, "padLeft() to %ld characters", width));
    zt_buf b;
    zt_buf_init(&b, x->a);
    for (long i = (long)len; i < width; i++)
        zt_buf_append(&b, pad[0] ? pad : " ", 1);
    zt_buf_puts(&b, s);
    return pv_ok(x, json_string(zt_buf_cstr(&b)));
}

static pv fn_case(zt_pol_ctx *x, pv *args, bool upper)
{
    char *s = zt_arena_strdup(x->a, zt_pol_str(x->a, args[0].v));
    for (char *c = s; *c; c++)
        *c = (char)(upper ? toupper((unsigned char)*c) : tolower((unsigned char)*c));
    return pv_ok(x, json_string(s));
}

static pv fn_contains(zt_pol_ctx *x, pv *args)
{
    json_t *hay = args[0].v;
    const char *needle = zt_pol_str(x->a, args[1].v);
    if (json_is_object(hay)) {
        const char *k;
        json_t *v;
        json_object_foreach(hay, k, v)
        {
            if (!strcasecmp(k, needle))
                return bool_of(x, true);
        }
        return bool_of(x, false);
    }
    if (json_is_array(hay)) {
        size_t i;
        json_t *e;
        json_array_foreach(hay, i, e)
        {
            if (zt_pol_eq(x->a, e, args[1].v))
                return bool_of(x, true);
        }
        return bool_of(x, false);
    }
    return bool_of(x, strcasestr(zt_pol_str(x->a, hay), needle) != NULL);
}

typedef struct fn_def {
    const char *name;
    int min, max;      /* arguments */
    bool looks_inside; /* an unknown argument makes the result unknown */
} fn_def;

static const fn_def fns[] = {
    {"parameters", 1, 1, false}, {"field", 1, 1, false},      {"current", 0, 1, false},
    {"concat", 1, 64, false},    {"first", 1, 1, false},      {"last", 1, 1, false},
    {"split", 2, 2, true},       {"empty", 1, 1, true},       {"equals", 2, 2, true},
    {"padLeft", 2, 3, false},    {"toLower", 1, 1, false},    {"toUpper", 1, 1, false},
    {"if", 3, 3, true},          {"not", 1, 1, true},         {"and", 1, 64, true},
    {"or", 1, 64, true},         {"length", 1, 1, true},      {"contains", 2, 2, true},
    {"resourceGroup", 0, 0, false}, {"subscription", 0, 0, false},
    {"requestContext", 0, 0, false}, {"string", 1, 1, false},
};

static pv call(zt_pol_ctx *x, const fn_def *f, pv *args, size_t n)
{
    const char *name = f->name;
    if (f->looks_inside && unknown_arg(x, args, n))
        return pv_fail(ZT_POL_UNKNOWN);
    if (!strcmp(name, "parameters")) {
        const char *p = zt_pol_str(x->a, args[0].v);
        json_t *v = json_object_get(x->params, p);
        return v ? pv_borrow(v)
                 : pv_fail(zt_pol_unevaluable(x, "the parameter %s has no value", p));
    }
    if (!strcmp(name, "field")) {
        zt_pol_fan fan;
        json_t *v;
        zt_pol_ctx primary = *x;
        if (x->primary) {
            primary.resource = x->primary;
            primary.frames = NULL;
        }
        zt_pol_result r = zt_pol_field(&primary, zt_pol_str(x->a, args[0].v), &fan, &v);
        if (!x->why)
            x->why = primary.why;
        return r == ZT_POL_TRUE ? pv_borrow(v) : pv_fail(r);
    }
    if (!strcmp(name, "current")) {
        json_t *v;
        zt_pol_result r = zt_pol_current(x, n ? zt_pol_str(x->a, args[0].v) : NULL, &v);
        return r == ZT_POL_TRUE ? pv_borrow(v) : pv_fail(r);
    }
    if (!strcmp(name, "concat"))
        return fn_concat(x, args, n);
    if (!strcmp(name, "first") || !strcmp(name, "last"))
        return fn_first_last(x, args, name[0] == 'l');
    if (!strcmp(name, "split"))
        return fn_split(x, args);
    if (!strcmp(name, "empty"))
        return bool_of(x, empty(args[0].v));
    if (!strcmp(name, "equals"))
        return bool_of(x, zt_pol_eq(x->a, args[0].v, args[1].v));
    if (!strcmp(name, "padLeft"))
        return fn_pad_left(x, args, n);
    if (!strcmp(name, "toLower") || !strcmp(name, "toUpper"))
        return fn_case(x, args, name[2] == 'U');
    if (!strcmp(name, "if"))
        return truthy(args[0].v) ? args[1] : args[2];
    if (!strcmp(name, "not"))
        return bool_of(x, !truthy(args[0].v));
    if (!strcmp(name, "and") || !strcmp(name, "or")) {
        bool all = true, any = false;
        for (size_t i = 0; i < n; i++) {
            all &= truthy(args[i].v);
            any |= truthy(args[i].v);
        }
        return bool_of(x, name[0] == 'a' ? all : any);
    }
    if (!strcmp(name, "length")) {
        json_t *v = args[0].v;
        size_t len = json_is_array(v) ? json_array_size(v)
                     : json_is_object(v) ? json_object_size(v)
                                         : strlen(zt_pol_str(x->a, v));
        return pv_ok(x, json_integer((json_int_t)len));
    }
    if (!strcmp(name, "contains"))
        return fn_contains(x, args);
    if (!strcmp(name, "resourceGroup") || !strcmp(name, "subscription")) {
        const json_t *v = name[0] == 'r' ? x->resource_group : x->subscription;
        return v ? pv_borrow((json_t *)v)
                 : pv_fail(zt_pol_unevaluable(x, "%s() is not known at plan time", name));
    }
    if (!strcmp(name, "requestContext"))
        return x->api_version ? pv_ok(x, json_pack("{s:s}", "apiVersion", x->api_version))
                              : pv_fail(zt_pol_unevaluable(x, "the request's api-version is "
                                                              "not known"));
    return pv_ok(x, json_string(zt_pol_str(x->a, args[0].v))); /* string() */
}

/* name(args...) */
static pv function(parser *p, const char *name)
{
    const fn_def *f = NULL;
    for (size_t i = 0; i < ZT_ARRAY_LEN(fns); i++)
        if (!strcasecmp(fns[i].name, name))
            f = &fns[i];
    if (!f)
        return pv_fail(zt_pol_unevaluable(p->x, "the template function %s() is not supported",
                                          name));
    pv args[64];
    size_t n = 0;
    zt_pol_result worst = ZT_POL_TRUE;
    if (!accept(p, '('))
        return pv_fail(zt_pol_unevaluable(p->x, "expected ( after %s", name));
    if (!accept(p, ')')) {
        do {
            if (n == ZT_ARRAY_LEN(args))
                return pv_fail(zt_pol_unevaluable(p->x, "too many arguments to %s()", name));
            args[n] = expr(p);
            if (args[n].r == ZT_POL_UNEVALUABLE)
                return args[n];
            if (args[n].r == ZT_POL_UNKNOWN)
                worst = ZT_POL_UNKNOWN;
            n++;
        } while (accept(p, ','));
        if (!accept(p, ')'))
            return pv_fail(zt_pol_unevaluable(p->x, "expected ) after the arguments of %s()",
                                              name));
    }
    if ((int)n < f->min || (int)n > f->max)
        return pv_fail(zt_pol_unevaluable(p->x, "%s() takes %d to %d arguments, not %zu",
                                          f->name, f->min, f->max, n));
    if (worst == ZT_POL_UNKNOWN)
        return pv_fail(ZT_POL_UNKNOWN);
    return call(p->x, f, args, n);
}

static json_t *index_of(zt_pol_ctx *x, json_t *v, const json_t *key)
{
    if (json_is_array(v) && json_is_integer(key))
        return json_array_get(v, (size_t)json_integer_value(key));
    const char *k = zt_pol_str(x->a, key), *mk;
    json_t *mv;
    json_object_foreach(json_is_object(v) ? v : NULL, mk, mv)
    {
        if (!strcasecmp(mk, k))
            return mv;
    }
    return NULL;
}

/* A primary (literal, call) then .member / [index] accessors. */
static pv expr(parser *p)
{
    pv v;
    if (++p->depth > 64)
        return pv_fail(zt_pol_unevaluable(p->x, "expression nested too deep"));
    if (p->kind == T_STR) {
        v = pv_ok(p->x, json_string(p->text));
        next(p);
    } else if (p->kind == T_NUM) {
        v = pv_ok(p->x, strchr(p->text, '.') ? json_real(strtod(p->text, NULL))
                                              : json_integer(strtoll(p->text, NULL, 10)));
        next(p);
    } else if (p->kind == T_ID) {
        const char *name = p->text;
        next(p);
        v = function(p, name);
    } else {
        v = pv_fail(zt_pol_unevaluable(p->x, "cannot parse the expression"));
    }
    while (v.r == ZT_POL_TRUE) {
        if (accept(p, '.')) {
            if (p->kind != T_ID)
                return pv_fail(zt_pol_unevaluable(p->x, "expected a property name after ."));
            json_t *key = zt_pol_own(p->x->a, json_string(p->text));
            next(p);
            v.v = index_of(p->x, v.v, key);
        } else if (accept(p, '[')) {
            pv key = expr(p);
            if (key.r != ZT_POL_TRUE)
                return key;
            if (!accept(p, ']'))
                return pv_fail(zt_pol_unevaluable(p->x, "expected ]"));
            v.v = index_of(p->x, v.v, key.v);
        } else {
            break;
        }
    }
    p->depth--;
    return v;
}

static bool is_expression(const json_t *v)
{
    const char *s = json_string_value(v);
    size_t n = s ? strlen(s) : 0;
    return n >= 2 && s[0] == '[' && s[1] != '[' && s[n - 1] == ']';
}

json_t *zt_pol_resolve(zt_pol_ctx *x, const json_t *v, zt_pol_result *r)
{
    *r = ZT_POL_TRUE;
    if (!is_expression(v)) {
        const char *s = json_string_value(v);
        if (s && s[0] == '[' && s[1] == '[') /* "[[" escapes a literal "[" */
            return zt_pol_own(x->a, json_string(s + 1));
        return (json_t *)v;
    }
    const char *s = json_string_value(v);
    parser p = {.x = x, .s = zt_arena_strndup(x->a, s + 1, strlen(s) - 2)};
    next(&p);
    pv out = expr(&p);
    if (out.r == ZT_POL_TRUE && p.kind != T_END)
        out = pv_fail(zt_pol_unevaluable(x, "trailing text in the expression %s", s));
    *r = out.r;
    return out.v;
}
