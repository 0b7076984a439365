/* zt_pol_cond.c - conditions of the policy language (logical operators,
 * field / value / count conditions and their operators), the rule's `if`
 * and effect, and parameter values. Three-valued: a value holding the
 * placeholder makes a comparison UNKNOWN; allOf is FALSE as soon as one
 * member is, anyOf TRUE as soon as one member is. */
#include "zt_pol_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- operators ------------------------------------------------------------------ */

typedef enum op {
    OP_EQUALS, OP_NOT_EQUALS, OP_IN, OP_NOT_IN, OP_EXISTS, OP_LIKE, OP_NOT_LIKE, OP_CONTAINS,
    OP_NOT_CONTAINS, OP_CONTAINS_KEY, OP_NOT_CONTAINS_KEY, OP_LESS, OP_LESS_OR_EQUALS,
    OP_GREATER, OP_GREATER_OR_EQUALS, OP_MATCH, OP_NOT_MATCH, OP_MATCH_CI, OP_NOT_MATCH_CI,
} op;

static const char *const op_names[] = {
    "equals", "notEquals", "in", "notIn", "exists", "like", "notLike", "contains", "notContains",
    "containsKey", "notContainsKey", "less", "lessOrEquals", "greater", "greaterOrEquals",
    "match", "notMatch", "matchInsensitively", "notMatchInsensitively",
};

static bool op_negated(op o)
{
    return o == OP_NOT_EQUALS || o == OP_NOT_IN || o == OP_NOT_LIKE || o == OP_NOT_CONTAINS ||
           o == OP_NOT_CONTAINS_KEY || o == OP_NOT_MATCH || o == OP_NOT_MATCH_CI;
}

/* "*" is the only wildcard of like, case-insensitive. */
static bool like(const char *s, const char *p)
{
    if (!*p)
        return !*s;
    if (*p == '*') {
        for (const char *t = s;; t++) {
            if (like(t, p + 1))
                return true;
            if (!*t)
                return false;
        }
    }
    return *s && tolower((unsigned char)*s) == tolower((unsigned char)*p) && like(s + 1, p + 1);
}

/* '#' a digit, '?' a letter, '.' any character, the rest itself. */
static bool match(const char *s, const char *p, bool ci)
{
    if (strlen(s) != strlen(p))
        return false;
    for (; *s; s++, p++) {
        unsigned char c = (unsigned char)*s, q = (unsigned char)*p;
        bool ok = q == '#'   ? isdigit(c)
                  : q == '?' ? isalpha(c)
                  : q == '.' ? true
                  : ci       ? tolower(c) == tolower(q)
                             : c == q;
        if (!ok)
            return false;
    }
    return true;
}

/* Numbers numerically, everything else as text ignoring case (ISO dates
 * order as text). */
static int order(zt_arena *a, const json_t *p, const json_t *q)
{
    const char *sp = zt_pol_str(a, p), *sq = zt_pol_str(a, q);
    char *ep, *eq;
    double dp = strtod(sp, &ep), dq = strtod(sq, &eq);
    if (*sp && *sq && !*ep && !*eq)
        return (dp > dq) - (dp < dq);
    return strcasecmp(sp, sq);
}

static bool in_list(zt_arena *a, const json_t *v, const json_t *list)
{
    size_t i;
    json_t *e;
    if (!v || json_is_null(v))
        return false;
    json_array_foreach(list, i, e)
    {
        if (zt_pol_eq(a, v, e))
            return true;
    }
    return false;
}

static bool contains(zt_arena *a, const json_t *v, const json_t *t)
{
    if (!v || json_is_null(v))
        return false;
    if (json_is_array(v))
        return in_list(a, t, v);
    return strcasestr(zt_pol_str(a, v), zt_pol_str(a, t)) != NULL;
}

static bool contains_key(const json_t *v, const char *k)
{
    const char *mk;
    json_t *mv;
    json_object_foreach(json_is_object(v) ? (json_t *)v : NULL, mk, mv)
    {
        if (!strcasecmp(mk, k))
            return true;
    }
    return false;
}

/* The operator on one value (NULL: absent). */
static zt_pol_result op_holds(zt_pol_ctx *x, op o, const json_t *v, const json_t *t)
{
    zt_arena *a = x->a;
    if (o == OP_EXISTS) {
        bool want = json_is_boolean(t) ? json_is_true(t) : !strcasecmp(zt_pol_str(a, t), "true");
        return (v && !json_is_null(v)) == want;
    }
    if (zt_pol_unknown(x, v) || zt_pol_unknown(x, t))
        return ZT_POL_UNKNOWN;
    bool r;
    switch (o) {
    case OP_EQUALS: case OP_NOT_EQUALS: r = zt_pol_eq(a, v, t); break;
    case OP_IN: case OP_NOT_IN:
        if (!json_is_array(t))
            return zt_pol_unevaluable(x, "in / notIn need an array");
        r = in_list(a, v, t);
        break;
    case OP_LIKE: case OP_NOT_LIKE:
        r = v && !json_is_null(v) && like(zt_pol_str(a, v), zt_pol_str(a, t));
        break;
    case OP_CONTAINS: case OP_NOT_CONTAINS: r = contains(a, v, t); break;
    case OP_CONTAINS_KEY: case OP_NOT_CONTAINS_KEY: r = contains_key(v, zt_pol_str(a, t)); break;
    case OP_LESS: return v && order(a, v, t) < 0;
    case OP_LESS_OR_EQUALS: return v && order(a, v, t) <= 0;
    case OP_GREATER: return v && order(a, v, t) > 0;
    case OP_GREATER_OR_EQUALS: return v && order(a, v, t) >= 0;
    case OP_MATCH: case OP_NOT_MATCH:
        r = v && !json_is_null(v) && match(zt_pol_str(a, v), zt_pol_str(a, t), false);
        break;
    default:
        r = v && !json_is_null(v) && match(zt_pol_str(a, v), zt_pol_str(a, t), true);
        break;
    }
    return op_negated(o) ? !r : r;
}

/* ---- three-valued logic -------------------------------------------------------------- */

/* allOf: FALSE wins, then UNEVALUABLE, then UNKNOWN. */
static zt_pol_result and2(zt_pol_result p, zt_pol_result q)
{
    if (p == ZT_POL_FALSE || q == ZT_POL_FALSE)
        return ZT_POL_FALSE;
    if (p == ZT_POL_UNEVALUABLE || q == ZT_POL_UNEVALUABLE)
        return ZT_POL_UNEVALUABLE;
    return p == ZT_POL_UNKNOWN || q == ZT_POL_UNKNOWN ? ZT_POL_UNKNOWN : ZT_POL_TRUE;
}

/* anyOf: TRUE wins, then UNEVALUABLE, then UNKNOWN. */
static zt_pol_result or2(zt_pol_result p, zt_pol_result q)
{
    if (p == ZT_POL_TRUE || q == ZT_POL_TRUE)
        return ZT_POL_TRUE;
    if (p == ZT_POL_UNEVALUABLE || q == ZT_POL_UNEVALUABLE)
        return ZT_POL_UNEVALUABLE;
    return p == ZT_POL_UNKNOWN || q == ZT_POL_UNKNOWN ? ZT_POL_UNKNOWN : ZT_POL_FALSE;
}

static zt_pol_result not1(zt_pol_result p)
{
    return p == ZT_POL_TRUE ? ZT_POL_FALSE : p == ZT_POL_FALSE ? ZT_POL_TRUE : p;
}

/* ---- conditions ------------------------------------------------------------------------ */

/* The member of cond named key, ignoring case (definitions write "anyof"). */
static json_t *get_ci(const json_t *cond, const char *key)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)cond, k, v)
    {
        if (!strcasecmp(k, key))
            return v;
    }
    return NULL;
}

/* The one operator of a condition and its target (resolved). */
static zt_pol_result condition_op(zt_pol_ctx *x, const json_t *cond, op *o, json_t **target)
{
    int found = 0;
    const char *k;
    json_t *v, *raw = NULL;
    json_object_foreach((json_t *)cond, k, v)
    {
        for (size_t i = 0; i < ZT_ARRAY_LEN(op_names); i++)
            if (!strcasecmp(k, op_names[i])) {
                *o = (op)i;
                raw = v;
                found++;
            }
    }
    if (found != 1)
        return zt_pol_unevaluable(x, "a condition needs exactly one operator");
    zt_pol_result r;
    *target = zt_pol_resolve(x, raw, &r);
    return r;
}

static zt_pol_result count_of(zt_pol_ctx *x, const json_t *spec, json_int_t *n);

/* Remember the field that made a condition hold: the property a denial
 * is about. "type" only says which resources a rule is for. */
static void note_property(zt_pol_ctx *x, const char *name, const json_t *v, zt_pol_result r)
{
    if (r == ZT_POL_TRUE && strcasecmp(name, "type") != 0 && !x->frames) {
        x->property = name;
        x->property_value = v;
    }
}

static zt_pol_result field_condition(zt_pol_ctx *x, const json_t *field, op o, json_t *target)
{
    zt_pol_result r;
    json_t *name = zt_pol_resolve(x, field, &r);
    if (r != ZT_POL_TRUE)
        return r;
    if (!json_is_string(name))
        return zt_pol_unevaluable(x, "a field must name a string");
    zt_pol_fan fan;
    json_t *v;
    r = zt_pol_field(x, json_string_value(name), &fan, &v);
    if (r != ZT_POL_TRUE)
        return r;
    if (fan == ZT_POL_ONE) {
        r = op_holds(x, o, v, target);
    } else {
        r = fan == ZT_POL_ALL ? ZT_POL_TRUE : ZT_POL_FALSE;
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            zt_pol_result one = op_holds(x, o, e, target);
            r = fan == ZT_POL_ALL ? and2(r, one) : or2(r, one);
        }
    }
    note_property(x, json_string_value(name), v, r);
    return r;
}

zt_pol_result zt_pol_holds(zt_pol_ctx *x, const json_t *cond)
{
    json_t *sub;
    if (!json_is_object(cond))
        return zt_pol_unevaluable(x, "a condition must be an object");
    if ((sub = get_ci(cond, "allOf")) || (sub = get_ci(cond, "anyOf"))) {
        bool all = get_ci(cond, "allOf") != NULL;
        zt_pol_result r = all ? ZT_POL_TRUE : ZT_POL_FALSE;
        size_t i;
        json_t *c;
        if (!json_is_array(sub))
            return zt_pol_unevaluable(x, "allOf / anyOf need an array");
        json_array_foreach(sub, i, c)
        {
            zt_pol_result one = zt_pol_holds(x, c);
            r = all ? and2(r, one) : or2(r, one);
        }
        return r;
    }
    if ((sub = get_ci(cond, "not")))
        return not1(zt_pol_holds(x, sub));
    op o = OP_EQUALS;
    json_t *target = NULL;
    zt_pol_result r = condition_op(x, cond, &o, &target);
    if (r != ZT_POL_TRUE)
        return r;
    if ((sub = get_ci(cond, "count"))) {
        json_int_t n;
        r = count_of(x, sub, &n);
        if (r != ZT_POL_TRUE)
            return r;
        json_t *nv = zt_pol_own(x->a, json_integer(n));
        return op_holds(x, o, nv, target);
    }
    if ((sub = get_ci(cond, "value"))) {
        json_t *v = zt_pol_resolve(x, sub, &r);
        return r != ZT_POL_TRUE ? r : op_holds(x, o, v, target);
    }
    if ((sub = get_ci(cond, "field")))
        return field_condition(x, sub, o, target);
    return zt_pol_unevaluable(x, "a condition needs field, value or count");
}

/* count: {field: "<array alias>[*]", where} or {value: [...], name, where}. */
static zt_pol_result count_of(zt_pol_ctx *x, const json_t *spec, json_int_t *n)
{
    zt_pol_result r;
    const json_t *where = get_ci(spec, "where");
    zt_pol_frame frame = {.up = x->frames};
    json_t *items;
    *n = 0;
    if (get_ci(spec, "field")) {
        json_t *name = zt_pol_resolve(x, get_ci(spec, "field"), &r);
        if (r != ZT_POL_TRUE)
            return r;
        bool legacy;
        const char *path = json_is_string(name)
                               ? zt_pol_alias_path(json_string_value(name), &legacy) : NULL;
        size_t len = path ? strlen(path) : 0;
        if (!path || len < 3 || strcmp(path + len - 3, "[*]") != 0)
            return zt_pol_unevaluable(x, "count over %s, which is not an array alias",
                                      zt_pol_str(x->a, name));
        zt_pol_fan fan;
        r = zt_pol_field(x, json_string_value(name), &fan, &items);
        if (r != ZT_POL_TRUE)
            return r;
        frame.path = path;
    } else if (get_ci(spec, "value")) {
        items = zt_pol_resolve(x, get_ci(spec, "value"), &r);
        if (r != ZT_POL_TRUE)
            return r;
        frame.name = json_string_value(get_ci(spec, "name"));
        if (!frame.name)
            frame.name = "";
    } else {
        return zt_pol_unevaluable(x, "count needs field or value");
    }
    if (zt_pol_unknown(x, items) && !where)
        return ZT_POL_UNKNOWN;
    zt_pol_result all = ZT_POL_TRUE;
    size_t i;
    json_t *e;
    json_array_foreach(json_is_array(items) ? items : NULL, i, e)
    {
        frame.elem = e;
        x->frames = &frame;
        r = where ? zt_pol_holds(x, where) : ZT_POL_TRUE;
        x->frames = frame.up;
        if (r == ZT_POL_TRUE)
            (*n)++;
        else if (r != ZT_POL_FALSE)
            all = and2(all, r);
    }
    return all;
}

/* ---- definitions ------------------------------------------------------------------------ */

zt_pol_result zt_pol_match(zt_pol_ctx *x, const json_t *definition)
{
    const char *mode = json_string_value(zt_pol_json_path(definition, "properties", "mode", NULL));
    const json_t *rule = zt_pol_json_path(definition, "properties", "policyRule", "if", NULL);
    if (!rule)
        return zt_pol_unevaluable(x, "the definition has no policyRule.if");
    if (mode && !strcasecmp(mode, "Indexed") && !x->indexed)
        return ZT_POL_FALSE;
    if (mode && strcasecmp(mode, "Indexed") && strcasecmp(mode, "All"))
        return zt_pol_unevaluable(x, "the mode %s (a resource provider mode) is not evaluated",
                                  mode);
    return zt_pol_holds(x, rule);
}

zt_pol_result zt_pol_exists(zt_pol_ctx *x, const json_t *definition)
{
    const json_t *cond = zt_pol_json_path(definition, "properties", "policyRule", "then",
                                          "details", "existenceCondition", NULL);
    return cond ? zt_pol_holds(x, cond) : ZT_POL_TRUE;
}

const char *zt_pol_effect(zt_pol_ctx *x, const json_t *definition)
{
    const json_t *then = zt_pol_json_path(definition, "properties", "policyRule", "then", NULL);
    zt_pol_result r;
    json_t *e = zt_pol_resolve(x, json_object_get(then, "effect"), &r);
    if (r != ZT_POL_TRUE || !json_is_string(e)) {
        if (r == ZT_POL_TRUE)
            zt_pol_unevaluable(x, "the effect is not a string");
        return NULL;
    }
    return json_string_value(e);
}

json_t *zt_pol_param_values(zt_arena *a, const json_t *definition, const json_t *given)
{
    json_t *out = zt_pol_own(a, json_object());
    const json_t *defs = zt_pol_json_path(definition, "properties", "parameters", NULL);
    const char *k;
    json_t *spec;
    json_object_foreach((json_t *)defs, k, spec)
    {
        json_t *v = json_object_get(given, k);
        if (!v)
            v = json_object_get(spec, "defaultValue");
        if (v)
            json_object_set(out, k, v);
    }
    return out;
}
