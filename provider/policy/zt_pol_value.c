/* zt_pol_value.c - values of the policy language: their text and
 * equality, and what a field reference reads from the resource body
 * (aliases, the special fields, [*] fan-out, the enclosing counts). */
#include "zt_pol_internal.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void release(void *p) { json_decref(p); }

json_t *zt_pol_own(zt_arena *a, json_t *v)
{
    if (v)
        zt_arena_on_free(a, release, v);
    return v;
}

zt_pol_result zt_pol_unevaluable(zt_pol_ctx *x, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (!x->why)
        x->why = zt_arena_strdup(x->a, buf);
    return ZT_POL_UNEVALUABLE;
}

const json_t *zt_pol_json_path(const json_t *doc, ...)
{
    va_list ap;
    va_start(ap, doc);
    for (const char *k; doc && (k = va_arg(ap, const char *));)
        doc = json_object_get(doc, k);
    va_end(ap);
    return doc;
}

const char *zt_pol_str(zt_arena *a, const json_t *v)
{
    if (!v || json_is_null(v))
        return "";
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_boolean(v))
        return json_is_true(v) ? "true" : "false";
    if (json_is_integer(v))
        return zt_arena_printf(a, "%lld", (long long)json_integer_value(v));
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d == floor(d) && fabs(d) < 1e15)
            return zt_arena_printf(a, "%lld", (long long)d);
        return zt_arena_printf(a, "%g", d);
    }
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    const char *out = zt_arena_strdup(a, s ? s : "");
    free(s);
    return out;
}

bool zt_pol_unknown(const zt_pol_ctx *x, const json_t *v)
{
    if (!x->placeholder || !v)
        return false;
    if (json_is_string(v))
        return strstr(json_string_value(v), x->placeholder) != NULL;
    if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            if (zt_pol_unknown(x, e))
                return true;
        }
    } else if (json_is_object(v)) {
        const char *k;
        json_t *e;
        json_object_foreach((json_t *)v, k, e)
        {
            if (zt_pol_unknown(x, e))
                return true;
        }
    }
    return false;
}

bool zt_pol_eq(zt_arena *a, const json_t *p, const json_t *q)
{
    if (json_is_number(p) && json_is_number(q))
        return json_number_value(p) == json_number_value(q);
    return strcasecmp(zt_pol_str(a, p), zt_pol_str(a, q)) == 0;
}

/* ---- body paths ------------------------------------------------------------- */

/* Case-insensitive member lookup (ARM deserialises names that way). */
static json_t *member(const json_t *obj, const char *key, size_t n)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        if (strlen(k) == n && strncasecmp(k, key, n) == 0)
            return v;
    }
    return NULL;
}

/* Every value at a dotted path with [*] fan-out ("a.b[*].c"), from each
 * value of `from`; missing steps drop out. A new array. */
static json_t *walk(const json_t *from, const char *path)
{
    json_t *cur = json_deep_copy(from);
    const char *p = path;
    while (*p) {
        size_t n = strcspn(p, ".[");
        bool star = strncmp(p + n, "[*]", 3) == 0;
        if (p[n] == '[' && !star) /* not a fan-out ("[0]", a stray '['): part of the name */
            n += strcspn(p + n, ".");
        json_t *next = json_array();
        size_t i;
        json_t *c;
        json_array_foreach(cur, i, c)
        {
            json_t *v = json_is_object(c) ? member(c, p, n) : NULL;
            if (!v || json_is_null(v))
                continue;
            if (star && json_is_array(v))
                json_array_extend(next, v);
            else if (!star)
                json_array_append(next, v);
        }
        json_decref(cur);
        cur = next;
        p += n + (star ? 3 : 0);
        if (*p == '.')
            p++;
    }
    return cur;
}

static bool has_prefix_ci(const char *s, const char *prefix)
{
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

/* ---- fields ----------------------------------------------------------------- */

static json_t *tag_value(const json_t *tags, const char *tag, size_t n)
{
    json_t *v = json_is_object(tags) ? member(tags, tag, n) : NULL;
    return v ? json_incref(v) : NULL;
}

/* "fullName": the resource's names from the type's first segment on
 * ("vnet/subnet" for a subnet). */
static json_t *full_name(zt_arena *a, const json_t *r)
{
    const char *id = json_string_value(json_object_get(r, "id"));
    const char *prov = id ? strcasestr(id, "/providers/") : NULL;
    for (const char *q = prov; q; q = strcasestr(q + 1, "/providers/"))
        prov = q;
    if (!prov)
        return json_incref(json_object_get(r, "name"));
    /* /providers/<ns>/<type>/<name>[/<type>/<name>...] */
    zt_buf b;
    zt_buf_init(&b, a);
    const char *s = prov + strlen("/providers/");
    s = strchr(s, '/');
    for (int k = 0; s && *s; k++) {
        s++;
        size_t n = strcspn(s, "/");
        if (k % 2 == 1)
            zt_buf_printf(&b, "%s%.*s", k > 1 ? "/" : "", (int)n, s);
        s += n;
    }
    return json_string(zt_buf_cstr(&b));
}

/* The fields that are not aliases: *found false when `name` is an alias. */
static json_t *special(zt_pol_ctx *x, const char *name, bool *found)
{
    const json_t *r = x->resource;
    static const char *const plain[] = {"name", "type", "location", "id", "kind", "tags"};
    *found = true;
    for (size_t i = 0; i < ZT_ARRAY_LEN(plain); i++)
        if (strcasecmp(name, plain[i]) == 0) {
            json_t *v = json_object_get(r, plain[i]);
            if (i == 2 && json_is_string(v)) { /* "West Europe" is westeurope */
                char *loc = zt_arena_strdup(x->a, json_string_value(v)), *o = loc;
                for (const char *s = loc; *s; s++)
                    if (*s != ' ')
                        *o++ = (char)tolower((unsigned char)*s);
                *o = '\0';
                return json_string(loc);
            }
            return v ? json_incref(v) : NULL;
        }
    if (strcasecmp(name, "fullName") == 0)
        return full_name(x->a, r);
    if (has_prefix_ci(name, "tags[")) {
        const char *t = name + 5;
        size_t n = strcspn(t, "]");
        if (n >= 2 && (t[0] == '\'' || t[0] == '"') && t[n - 1] == t[0])
            t++, n -= 2;
        return tag_value(json_object_get(r, "tags"), t, n);
    }
    if (has_prefix_ci(name, "tags."))
        return tag_value(json_object_get(r, "tags"), name + 5, strlen(name + 5));
    if (has_prefix_ci(name, "identity.")) {
        json_t *root = json_pack("[O]", r);
        json_t *vals = walk(root, name);
        json_t *v = json_incref(json_array_get(vals, 0));
        json_decref(root);
        json_decref(vals);
        return v;
    }
    *found = false;
    return NULL;
}

zt_pol_result zt_pol_field(zt_pol_ctx *x, const char *name, zt_pol_fan *fan, json_t **values)
{
    bool found, legacy;
    *fan = ZT_POL_ONE;
    *values = NULL;
    json_t *v = special(x, name, &found);
    if (found) {
        *values = zt_pol_own(x->a, v);
        return ZT_POL_TRUE;
    }
    const char *path = zt_pol_alias_path(name, &legacy);
    if (!path)
        return zt_pol_unevaluable(x, "the alias %s is not in the provider's alias table", name);
    /* Inside a count over a prefix of this path: relative to its element. */
    const char *rest = path;
    json_t *vals = NULL;
    for (zt_pol_frame *f = x->frames; f; f = f->up) {
        if (!f->path || !has_prefix_ci(path, f->path))
            continue;
        rest = path + strlen(f->path);
        rest += *rest == '.';
        json_t *elem = json_pack("[O]", f->elem);
        vals = *rest ? walk(elem, rest) : json_incref(elem);
        json_decref(elem);
        break;
    }
    if (!vals) {
        json_t *root = json_pack("[O]", x->resource);
        vals = walk(root, path);
        json_decref(root);
    }
    zt_pol_own(x->a, vals);
    if (!strstr(rest, "[*]")) {
        *values = json_array_get(vals, 0);
        return ZT_POL_TRUE;
    }
    *fan = legacy ? ZT_POL_ANY : ZT_POL_ALL;
    *values = vals;
    return ZT_POL_TRUE;
}

zt_pol_result zt_pol_current(zt_pol_ctx *x, const char *name, json_t **value)
{
    *value = NULL;
    if (!x->frames)
        return zt_pol_unevaluable(x, "current() outside a count");
    if (!name) {
        *value = (json_t *)x->frames->elem;
        return ZT_POL_TRUE;
    }
    for (zt_pol_frame *f = x->frames; f; f = f->up)
        if (f->name && strcasecmp(f->name, name) == 0) {
            *value = (json_t *)f->elem;
            return ZT_POL_TRUE;
        }
    bool legacy;
    const char *path = zt_pol_alias_path(name, &legacy);
    for (zt_pol_frame *f = path ? x->frames : NULL; f; f = f->up) {
        if (!f->path || !has_prefix_ci(path, f->path))
            continue;
        const char *rest = path + strlen(f->path);
        rest += *rest == '.';
        json_t *elem = json_pack("[O]", f->elem);
        json_t *vals = zt_pol_own(x->a, *rest ? walk(elem, rest) : json_incref(elem));
        json_decref(elem);
        *value = json_array_get(vals, 0);
        return ZT_POL_TRUE;
    }
    return zt_pol_unevaluable(x, "current('%s') outside its count", name);
}
