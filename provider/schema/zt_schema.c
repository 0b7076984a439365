/* zt_schema.c - schema documents (schemas/README.md) parsed into
 * zt_schema, checked against Terraform's InternalValidate rules, and the
 * process-wide registry of the embedded documents.
 *
 * The rules are checked here, at parse time, so that a bad schema fails a
 * unit test instead of Terraform's "Failed to load plugin schemas".
 */
#include "zt_schema.h"
#include "zt_schema_embedded.h"

#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------
 * Parse context and error helpers.
 * ------------------------------------------------------------------- */

typedef struct zt_sp {
    zt_arena *a;
    zt_diags *d;
    const char *doc;      /* "zerotrust_address_plan" or "schema document" */
    zt_schema_kind kind;
} zt_sp;

/* Schema problems are programming errors, not configuration errors: the
 * location goes into the detail (there is no configuration to point at). */
static bool sp_error(zt_sp *sp, const zt_path *where, const char *fmt, ...) ZT_PRINTF(3, 4);
static bool sp_error(zt_sp *sp, const zt_path *where, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    const char *msg = zt_arena_vprintf(sp->a, fmt, ap);
    va_end(ap);
    const char *loc = where && where->len ? zt_path_str(sp->a, where) : "top-level block";
    zt_diag_error(sp->d, NULL, "Invalid schema", "%s: %s: %s", sp->doc, loc, msg);
    return false;
}

/* Reject keys the format does not define (they are usually typos of
 * optional keys, which would otherwise be silently ignored). Keys
 * starting with '$' are comments. */
static bool check_keys(zt_sp *sp, json_t *obj, const zt_path *where, const char *const *allowed)
{
    const char *key;
    json_t *val;
    bool ok = true;
    json_object_foreach(obj, key, val) {
        bool known = key[0] == '$';
        for (size_t i = 0; allowed[i] && !known; i++)
            known = strcmp(key, allowed[i]) == 0;
        if (!known)
            ok = sp_error(sp, where, "unknown key \"%s\"", key);
    }
    return ok;
}

static bool get_string(zt_sp *sp, json_t *obj, const char *key, const zt_path *where,
                       bool required, const char **out)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v)
        return required ? sp_error(sp, where, "\"%s\" is required", key) : true;
    if (!json_is_string(v))
        return sp_error(sp, where, "\"%s\" must be a string", key);
    *out = zt_arena_strndup(sp->a, json_string_value(v), json_string_length(v));
    return true;
}

static bool get_bool(zt_sp *sp, json_t *obj, const char *key, const zt_path *where, bool *out)
{
    json_t *v = json_object_get(obj, key);
    *out = false;
    if (!v)
        return true;
    if (!json_is_boolean(v))
        return sp_error(sp, where, "\"%s\" must be true or false", key);
    *out = json_is_true(v);
    return true;
}

static bool get_int(zt_sp *sp, json_t *obj, const char *key, const zt_path *where, int64_t *out)
{
    json_t *v = json_object_get(obj, key);
    *out = 0;
    if (!v)
        return true;
    if (!json_is_integer(v))
        return sp_error(sp, where, "\"%s\" must be an integer", key);
    *out = (int64_t)json_integer_value(v);
    return true;
}

static bool get_array(zt_sp *sp, json_t *obj, const char *key, const zt_path *where,
                      json_t **out)
{
    json_t *v = json_object_get(obj, key);
    *out = v;
    if (v && !json_is_array(v))
        return sp_error(sp, where, "\"%s\" must be an array", key);
    return true;
}

/* Descriptions are shown by `terraform providers schema` and generated
 * docs; an undocumented attribute is a defect. */
static bool get_description(zt_sp *sp, json_t *obj, const zt_path *where, const char **out)
{
    if (!get_string(sp, obj, "description", where, true, out))
        return false;
    return **out ? true : sp_error(sp, where, "\"description\" must not be empty");
}

static bool parse_nesting(zt_sp *sp, const char *s, bool allow_group, const zt_path *where,
                          zt_nesting *out)
{
    static const struct {
        const char *name;
        zt_nesting mode;
    } modes[] = {{"single", ZT_NEST_SINGLE}, {"list", ZT_NEST_LIST}, {"set", ZT_NEST_SET},
                 {"map", ZT_NEST_MAP},       {"group", ZT_NEST_GROUP}};
    for (size_t i = 0; s && i < ZT_ARRAY_LEN(modes); i++)
        if (strcmp(s, modes[i].name) == 0 && (allow_group || modes[i].mode != ZT_NEST_GROUP)) {
            *out = modes[i].mode;
            return true;
        }
    return sp_error(sp, where, "\"nesting\" must be one of single, list, set, map%s",
                    allow_group ? ", group" : "");
}

/* ---------------------------------------------------------------------
 * Parsing (structure only; the rules are checked afterwards).
 * ------------------------------------------------------------------- */

static bool parse_attrs(zt_sp *sp, json_t *arr, const zt_path *where, const zt_schema_attr **out,
                        size_t *n_out);
static bool parse_block_body(zt_sp *sp, json_t *obj, const zt_path *where, zt_schema_block *b);

static bool parse_type(zt_sp *sp, json_t *v, const zt_path *where, const zt_cty_type **out)
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text)
        return sp_error(sp, where, "\"type\" cannot be serialized");
    zt_diags td;
    zt_diags_init(&td, sp->a);
    zt_rc rc = zt_cty_type_from_json(sp->a, text, strlen(text), out, &td);
    bool ok = rc == ZT_OK;
    if (!ok)
        sp_error(sp, where, "\"type\" %s is not a type constraint: %s", text,
                 td.head ? td.head->detail : zt_rc_str(rc));
    free(text);
    return ok;
}

static bool parse_nested_type(zt_sp *sp, json_t *v, const zt_path *where, zt_schema_attr *attr)
{
    static const char *const keys[] = {"nesting", "attributes", NULL};
    if (!json_is_object(v))
        return sp_error(sp, where, "\"nested_type\" must be an object");
    const char *nesting;
    json_t *attrs;
    bool ok = check_keys(sp, v, where, keys) && get_string(sp, v, "nesting", where, true, &nesting) &&
              parse_nesting(sp, nesting, false, where, &attr->nested_mode) &&
              get_array(sp, v, "attributes", where, &attrs);
    if (!ok)
        return false;
    if (!attrs || json_array_size(attrs) == 0)
        return sp_error(sp, where, "\"nested_type\" needs at least one attribute");
    return parse_attrs(sp, attrs, where, &attr->nested_attrs, &attr->n_nested_attrs);
}

/* "default": a value of the attribute's type (JSON as in state). */
static bool parse_default(zt_sp *sp, json_t *v, const zt_path *where, zt_schema_attr *attr)
{
    if (!v)
        return true;
    if (!attr->type || json_is_null(v))
        return sp_error(sp, where, "\"default\" needs a \"type\" and a value that is not null");
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    zt_diags td;
    zt_diags_init(&td, sp->a);
    zt_rc rc = zt_cty_json_decode(sp->a, text, strlen(text), attr->type, false,
                                  &attr->default_value, &td);
    if (rc != ZT_OK)
        sp_error(sp, where, "\"default\" %s is not a value of the attribute's type: %s", text,
                 td.head ? td.head->detail : zt_rc_str(rc));
    free(text);
    return rc == ZT_OK;
}

static bool parse_attr(zt_sp *sp, json_t *v, const zt_path *parent, size_t idx, zt_schema_attr *attr)
{
    static const char *const keys[] = {"name",     "type",       "nested_type", "description",
                                       "required", "optional",   "computed",    "sensitive",
                                       "deprecated", "write_only", "requires_replace", "default",
                                       NULL};
    const zt_path *where = zt_path_index(sp->a, parent ? parent : zt_path_root(sp->a), (int64_t)idx);
    if (!json_is_object(v))
        return sp_error(sp, where, "an attribute must be an object");
    if (!get_string(sp, v, "name", where, true, &attr->name))
        return false;
    where = zt_path_attr(sp->a, parent, attr->name);
    bool ok = check_keys(sp, v, where, keys) && get_description(sp, v, where, &attr->description) &&
              get_bool(sp, v, "required", where, &attr->required) &&
              get_bool(sp, v, "optional", where, &attr->optional) &&
              get_bool(sp, v, "computed", where, &attr->computed) &&
              get_bool(sp, v, "sensitive", where, &attr->sensitive) &&
              get_bool(sp, v, "deprecated", where, &attr->deprecated) &&
              get_bool(sp, v, "write_only", where, &attr->write_only) &&
              get_bool(sp, v, "requires_replace", where, &attr->requires_replace);
    if (!ok)
        return false;
    json_t *type = json_object_get(v, "type"), *nested = json_object_get(v, "nested_type");
    if (!type == !nested)
        return sp_error(sp, where, "exactly one of \"type\" and \"nested_type\" is required");
    ok = type ? parse_type(sp, type, where, &attr->type)
              : parse_nested_type(sp, nested, where, attr);
    return ok && parse_default(sp, json_object_get(v, "default"), where, attr);
}

static bool parse_attrs(zt_sp *sp, json_t *arr, const zt_path *where, const zt_schema_attr **out,
                        size_t *n_out)
{
    size_t n = arr ? json_array_size(arr) : 0;
    zt_schema_attr *attrs = zt_arena_calloc(sp->a, n + 1, sizeof(*attrs));
    bool ok = true;
    for (size_t i = 0; i < n; i++)
        ok &= parse_attr(sp, json_array_get(arr, i), where, i, &attrs[i]);
    *out = attrs;
    *n_out = n;
    return ok;
}

static bool parse_nested_block(zt_sp *sp, json_t *v, const zt_path *parent, size_t idx,
                               zt_schema_nested_block *nb)
{
    static const char *const keys[] = {"name",      "nesting",    "min_items", "max_items",
                                       "description", "deprecated", "attributes", "blocks", NULL};
    const zt_path *where = zt_path_index(sp->a, parent ? parent : zt_path_root(sp->a), (int64_t)idx);
    if (!json_is_object(v))
        return sp_error(sp, where, "a nested block must be an object");
    if (!get_string(sp, v, "name", where, true, &nb->type_name))
        return false;
    where = zt_path_attr(sp->a, parent, nb->type_name);
    const char *nesting;
    bool ok = check_keys(sp, v, where, keys) && get_string(sp, v, "nesting", where, true, &nesting) &&
              parse_nesting(sp, nesting, true, where, &nb->nesting) &&
              get_int(sp, v, "min_items", where, &nb->min_items) &&
              get_int(sp, v, "max_items", where, &nb->max_items);
    if (!ok)
        return false;
    zt_schema_block *body = zt_arena_alloc(sp->a, sizeof(*body));
    nb->block = body;
    return parse_block_body(sp, v, where, body);
}

/* Attributes, nested blocks, description and deprecation of a block; the
 * same keys serve the top-level block and nested block entries. */
static bool parse_block_body(zt_sp *sp, json_t *obj, const zt_path *where, zt_schema_block *b)
{
    json_t *attrs, *blocks;
    bool ok = get_description(sp, obj, where, &b->description) &&
              get_bool(sp, obj, "deprecated", where, &b->deprecated) &&
              get_array(sp, obj, "attributes", where, &attrs) &&
              get_array(sp, obj, "blocks", where, &blocks);
    if (!ok)
        return false;
    ok = parse_attrs(sp, attrs, where, &b->attrs, &b->n_attrs);
    size_t n = blocks ? json_array_size(blocks) : 0;
    zt_schema_nested_block *nbs = zt_arena_calloc(sp->a, n + 1, sizeof(*nbs));
    for (size_t i = 0; i < n; i++)
        ok &= parse_nested_block(sp, json_array_get(blocks, i), where, i, &nbs[i]);
    b->blocks = nbs;
    b->n_blocks = n;
    return ok;
}

static bool parse_kind(zt_sp *sp, const char *s, zt_schema_kind *out)
{
    if (strcmp(s, "provider") == 0)
        *out = ZT_SCHEMA_PROVIDER;
    else if (strcmp(s, "resource") == 0)
        *out = ZT_SCHEMA_RESOURCE;
    else if (strcmp(s, "data_source") == 0)
        *out = ZT_SCHEMA_DATA_SOURCE;
    else
        return sp_error(sp, NULL, "\"kind\" must be provider, resource or data_source");
    return true;
}

static bool parse_doc(zt_sp *sp, json_t *root, zt_schema *s)
{
    static const char *const keys[] = {"kind", "name", "version", "block", NULL};
    static const char *const block_keys[] = {"description", "deprecated", "attributes", "blocks",
                                             NULL};
    if (!json_is_object(root))
        return sp_error(sp, NULL, "a schema document must be a JSON object");
    const char *kind;
    bool ok = get_string(sp, root, "name", NULL, true, &s->name);
    if (ok)
        sp->doc = s->name;
    ok = ok && check_keys(sp, root, NULL, keys) && get_string(sp, root, "kind", NULL, true, &kind) &&
         parse_kind(sp, kind, &s->kind) && get_int(sp, root, "version", NULL, &s->version);
    if (!ok)
        return false;
    sp->kind = s->kind;
    json_t *block = json_object_get(root, "block");
    if (!json_is_object(block))
        return sp_error(sp, NULL, "\"block\" must be an object");
    if (!check_keys(sp, block, NULL, block_keys))
        return false;
    zt_schema_block *b = zt_arena_alloc(sp->a, sizeof(*b));
    s->block = b;
    return parse_block_body(sp, block, NULL, b);
}

/* ---------------------------------------------------------------------
 * Terraform's rules (configschema InternalValidate and loadschemas), plus
 * the meta-argument names a top-level attribute may not use.
 * ------------------------------------------------------------------- */

static bool valid_name(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    return true;
}

static bool type_has_dynamic(const zt_cty_type *t)
{
    switch (t->kind) {
    case ZT_CTY_DYNAMIC:
        return true;
    case ZT_CTY_LIST:
    case ZT_CTY_SET:
    case ZT_CTY_MAP:
        return type_has_dynamic(t->elem);
    case ZT_CTY_OBJECT:
    case ZT_CTY_TUPLE:
        for (size_t i = 0; i < t->n; i++)
            if (type_has_dynamic(t->types[i]))
                return true;
        return false;
    default:
        return false;
    }
}

/* cty cannot hash values of an undecided type, so sets of anything
 * dynamic are rejected by Terraform. */
static bool type_has_dynamic_set(const zt_cty_type *t)
{
    switch (t->kind) {
    case ZT_CTY_SET:
        return type_has_dynamic(t->elem);
    case ZT_CTY_LIST:
    case ZT_CTY_MAP:
        return type_has_dynamic_set(t->elem);
    case ZT_CTY_OBJECT:
    case ZT_CTY_TUPLE:
        for (size_t i = 0; i < t->n; i++)
            if (type_has_dynamic_set(t->types[i]))
                return true;
        return false;
    default:
        return false;
    }
}

static bool attr_has(const zt_schema_attr *attr, bool (*pred)(const zt_schema_attr *))
{
    if (pred(attr))
        return true;
    for (size_t i = 0; i < attr->n_nested_attrs; i++)
        if (attr_has(&attr->nested_attrs[i], pred))
            return true;
    return false;
}

static bool block_has(const zt_schema_block *b, bool (*pred)(const zt_schema_attr *))
{
    for (size_t i = 0; i < b->n_attrs; i++)
        if (attr_has(&b->attrs[i], pred))
            return true;
    for (size_t i = 0; i < b->n_blocks; i++)
        if (block_has(b->blocks[i].block, pred))
            return true;
    return false;
}

static bool pred_dynamic(const zt_schema_attr *attr) { return attr->type && type_has_dynamic(attr->type); }
static bool pred_write_only(const zt_schema_attr *attr) { return attr->write_only; }

static bool is_meta_argument(zt_schema_kind kind, const char *name)
{
    /* Resource and data blocks: the meta-arguments; provider blocks:
     * alias and version. */
    static const char *const resource_meta[] = {"count",      "for_each",    "depends_on",
                                                "provider",   "lifecycle",   "provisioner",
                                                "connection", NULL};
    static const char *const provider_meta[] = {"alias", "version", NULL};
    const char *const *list = kind == ZT_SCHEMA_PROVIDER ? provider_meta : resource_meta;
    for (size_t i = 0; list[i]; i++)
        if (strcmp(list[i], name) == 0)
            return true;
    return false;
}

static bool validate_attrs(zt_sp *sp, const zt_schema_attr *attrs, size_t n,
                           const zt_path *where, bool in_set);

static bool validate_attr_flags(zt_sp *sp, const zt_schema_attr *attr, const zt_path *where,
                                bool in_set)
{
    bool ok = true;
    if (!attr->required && !attr->optional && !attr->computed)
        ok = sp_error(sp, where, "one of required, optional or computed must be true");
    if (attr->required && attr->optional)
        ok = sp_error(sp, where, "required and optional cannot both be true");
    if (attr->required && attr->computed)
        ok = sp_error(sp, where, "required and computed cannot both be true");
    if (attr->write_only && sp->kind != ZT_SCHEMA_RESOURCE)
        ok = sp_error(sp, where, "write_only is only allowed in resource schemas");
    if (attr->write_only && attr->computed)
        ok = sp_error(sp, where, "write_only and computed cannot both be true");
    if (attr->write_only && in_set)
        ok = sp_error(sp, where, "write_only attributes cannot be inside a set");
    if (attr->requires_replace && sp->kind != ZT_SCHEMA_RESOURCE)
        ok = sp_error(sp, where, "requires_replace is only meaningful in resource schemas");
    if (attr->requires_replace && attr->computed && !attr->optional)
        ok = sp_error(sp, where, "requires_replace on a computed-only attribute never triggers");
    /* The provider plans the default where the configuration has null,
     * which Terraform accepts for optional + computed attributes only. */
    if (attr->default_value && (!attr->optional || !attr->computed || attr->write_only))
        ok = sp_error(sp, where, "a default needs optional and computed (and not write_only)");
    return ok;
}

static bool validate_attr(zt_sp *sp, const zt_schema_attr *attr, const zt_path *parent, bool in_set)
{
    const zt_path *where = zt_path_attr(sp->a, parent, attr->name);
    bool ok = validate_attr_flags(sp, attr, where, in_set);
    if (!valid_name(attr->name))
        ok = sp_error(sp, where, "attribute names must match ^[a-z0-9_]+$");
    if (attr->type) {
        if (type_has_dynamic_set(attr->type))
            ok = sp_error(sp, where, "a set type cannot contain dynamic types");
        if (in_set && type_has_dynamic(attr->type))
            ok = sp_error(sp, where, "attributes inside a set cannot have dynamic types");
        return ok;
    }
    bool set = in_set || attr->nested_mode == ZT_NEST_SET;
    return validate_attrs(sp, attr->nested_attrs, attr->n_nested_attrs, where, set) && ok;
}

static bool validate_attrs(zt_sp *sp, const zt_schema_attr *attrs, size_t n,
                           const zt_path *where, bool in_set)
{
    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        ok &= validate_attr(sp, &attrs[i], where, in_set);
        for (size_t j = 0; j < i; j++)
            if (strcmp(attrs[i].name, attrs[j].name) == 0)
                ok = sp_error(sp, where, "attribute \"%s\" is defined twice", attrs[i].name);
    }
    return ok;
}

static bool validate_nesting_items(zt_sp *sp, const zt_schema_nested_block *nb,
                                   const zt_path *where)
{
    int64_t min = nb->min_items, max = nb->max_items;
    if (min < 0 || max < 0)
        return sp_error(sp, where, "min_items and max_items cannot be negative");
    switch (nb->nesting) {
    case ZT_NEST_SINGLE:
        if (min != max || min > 1)
            return sp_error(sp, where, "single blocks need min_items == max_items, 0 or 1");
        return true;
    case ZT_NEST_GROUP:
    case ZT_NEST_MAP:
        if (min != 0 || max != 0)
            return sp_error(sp, where, "%s blocks cannot set min_items or max_items",
                            nb->nesting == ZT_NEST_MAP ? "map" : "group");
        return true;
    case ZT_NEST_LIST:
    case ZT_NEST_SET:
        if (max != 0 && min > max)
            return sp_error(sp, where, "min_items (%" PRId64 ") is greater than max_items (%" PRId64 ")",
                            min, max);
        return true;
    }
    return sp_error(sp, where, "invalid nesting mode");
}

static bool validate_block(zt_sp *sp, const zt_schema_block *b, const zt_path *where, bool in_set);

static bool validate_nested_block(zt_sp *sp, const zt_schema_nested_block *nb,
                                  const zt_path *parent, bool in_set)
{
    const zt_path *where = zt_path_attr(sp->a, parent, nb->type_name);
    bool ok = validate_nesting_items(sp, nb, where);
    if (!valid_name(nb->type_name))
        ok = sp_error(sp, where, "block names must match ^[a-z0-9_]+$");
    bool set = in_set || nb->nesting == ZT_NEST_SET;
    if (nb->nesting == ZT_NEST_SET && block_has(nb->block, pred_dynamic))
        ok = sp_error(sp, where, "set blocks cannot contain dynamic-typed attributes");
    if (nb->nesting == ZT_NEST_SET && block_has(nb->block, pred_write_only))
        ok = sp_error(sp, where, "set blocks cannot contain write-only attributes");
    return validate_block(sp, nb->block, where, set) && ok;
}

static bool validate_block(zt_sp *sp, const zt_schema_block *b, const zt_path *where, bool in_set)
{
    bool ok = validate_attrs(sp, b->attrs, b->n_attrs, where, in_set);
    for (size_t i = 0; i < b->n_blocks; i++) {
        ok &= validate_nested_block(sp, &b->blocks[i], where, in_set);
        for (size_t j = 0; j < b->n_attrs; j++)
            if (strcmp(b->blocks[i].type_name, b->attrs[j].name) == 0)
                ok = sp_error(sp, where, "\"%s\" is both an attribute and a block",
                              b->blocks[i].type_name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(b->blocks[i].type_name, b->blocks[j].type_name) == 0)
                ok = sp_error(sp, where, "block \"%s\" is defined twice", b->blocks[i].type_name);
    }
    return ok;
}

static bool validate_doc(zt_sp *sp, const zt_schema *s)
{
    bool ok = true;
    if (s->version < 0)
        ok = sp_error(sp, NULL, "\"version\" cannot be negative");
    if (s->kind == ZT_SCHEMA_PROVIDER && strcmp(s->name, "provider") != 0)
        ok = sp_error(sp, NULL, "the provider schema must be named \"provider\"");
    if (s->kind != ZT_SCHEMA_PROVIDER &&
        (strncmp(s->name, "zerotrust_", 10) != 0 || !valid_name(s->name) || !s->name[10]))
        ok = sp_error(sp, NULL,
                      "type names must match ^[a-z0-9_]+$ and start with \"zerotrust_\" so "
                      "Terraform finds the provider");
    if (s->kind == ZT_SCHEMA_PROVIDER && s->version != 0)
        ok = sp_error(sp, NULL, "only resource schemas have a version");
    for (size_t i = 0; i < s->block->n_attrs; i++)
        if (is_meta_argument(s->kind, s->block->attrs[i].name))
            ok = sp_error(sp, NULL, "\"%s\" is a meta-argument and cannot be an attribute",
                          s->block->attrs[i].name);
    for (size_t i = 0; i < s->block->n_blocks; i++)
        if (is_meta_argument(s->kind, s->block->blocks[i].type_name))
            ok = sp_error(sp, NULL, "\"%s\" is a meta-argument and cannot be a block",
                          s->block->blocks[i].type_name);
    return validate_block(sp, s->block, NULL, false) && ok;
}

/* ---------------------------------------------------------------------
 * Types of block values (plugin-protocol.md section 3.2).
 * ------------------------------------------------------------------- */

/* LIST and MAP collections of objects that contain anything dynamic
 * become dynamic as a whole (Terraform then sends a tuple or an object
 * through the dynamic wrapper), because a list or map needs one element
 * type and dynamic parts may differ per element. */
static const zt_cty_type *wrap_nesting(zt_arena *a, zt_nesting mode, const zt_cty_type *obj)
{
    switch (mode) {
    case ZT_NEST_LIST:
        return type_has_dynamic(obj) ? &zt_cty_dynamic_type : zt_cty_type_list(a, obj);
    case ZT_NEST_MAP:
        return type_has_dynamic(obj) ? &zt_cty_dynamic_type : zt_cty_type_map(a, obj);
    case ZT_NEST_SET:
        return zt_cty_type_set(a, obj);
    case ZT_NEST_SINGLE:
    case ZT_NEST_GROUP:
        break;
    }
    return obj;
}

static const zt_cty_type *attrs_object_type(zt_arena *a, const zt_schema_attr *attrs, size_t n,
                                            const zt_schema_nested_block *blocks, size_t n_blocks)
{
    const char **names = zt_arena_calloc(a, n + n_blocks + 1, sizeof(*names));
    const zt_cty_type **types = zt_arena_calloc(a, n + n_blocks + 1, sizeof(*types));
    for (size_t i = 0; i < n; i++) {
        names[i] = attrs[i].name;
        types[i] = zt_schema_attr_type(a, &attrs[i]);
    }
    for (size_t i = 0; i < n_blocks; i++) {
        names[n + i] = blocks[i].type_name;
        types[n + i] = wrap_nesting(a, blocks[i].nesting, zt_schema_block_type(a, blocks[i].block));
    }
    return zt_cty_type_object(a, n + n_blocks, (const char *const *)names,
                              (const zt_cty_type *const *)types, NULL);
}

const zt_cty_type *zt_schema_attr_type(zt_arena *a, const zt_schema_attr *attr)
{
    if (attr->type)
        return attr->type;
    const zt_cty_type *obj =
        attrs_object_type(a, attr->nested_attrs, attr->n_nested_attrs, NULL, 0);
    return wrap_nesting(a, attr->nested_mode, obj);
}

const zt_cty_type *zt_schema_block_type(zt_arena *a, const zt_schema_block *b)
{
    return attrs_object_type(a, b->attrs, b->n_attrs, b->blocks, b->n_blocks);
}

/* ---------------------------------------------------------------------
 * zt_schema_parse.
 * ------------------------------------------------------------------- */

zt_rc zt_schema_parse(zt_arena *a, const char *json, size_t len, zt_schema **out, zt_diags *d)
{
    *out = NULL;
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        zt_diag_error(d, NULL, "Invalid schema", "schema document: line %d column %d: %s",
                      jerr.line, jerr.column, jerr.text);
        return ZT_ERR_DECODE;
    }
    zt_sp sp = {.a = a, .d = d, .doc = "schema document"};
    zt_schema *s = zt_arena_alloc(a, sizeof(*s));
    bool ok = parse_doc(&sp, root, s);
    json_decref(root);
    if (!ok)
        return ZT_ERR_DECODE;
    if (!validate_doc(&sp, s))
        return ZT_ERR_INVALID;
    s->type = zt_schema_block_type(a, s->block);
    *out = s;
    return ZT_OK;
}

/* ---------------------------------------------------------------------
 * The registry of embedded schemas.
 * ------------------------------------------------------------------- */

#define ZT_KINDS 4 /* indexed by zt_schema_kind (1..3) */

static struct {
    pthread_once_t once;
    zt_arena *arena; /* never freed: the schemas live as long as the process */
    const zt_schema **by_kind[ZT_KINDS];
    size_t n[ZT_KINDS];
} zt_registry = {.once = PTHREAD_ONCE_INIT};

static int cmp_schema_name(const void *x, const void *y)
{
    const zt_schema *a = *(const zt_schema *const *)x, *b = *(const zt_schema *const *)y;
    return strcmp(a->name, b->name);
}

zt_rc zt_schema_parse_all(zt_arena *a, zt_schema_prebuilt *out, zt_diags *d)
{
    memset(out, 0, sizeof(*out));
    for (int k = 0; k < ZT_KINDS; k++)
        out->by_kind[k] = zt_arena_calloc(a, zt_schema_docs_count + 1, sizeof(zt_schema *));
    for (size_t i = 0; i < zt_schema_docs_count; i++) {
        zt_schema *s;
        zt_rc rc = zt_schema_parse(a, zt_schema_docs[i].json, zt_schema_docs[i].len, &s, d);
        if (rc != ZT_OK) {
            if (d->head)
                d->head->detail = zt_arena_printf(a, "schemas/%s: %s", zt_schema_docs[i].path,
                                                  d->head->detail);
            return rc;
        }
        out->by_kind[s->kind][out->n[s->kind]++] = s;
    }
    for (int k = 1; k < ZT_KINDS; k++) {
        qsort(out->by_kind[k], out->n[k], sizeof(zt_schema *), cmp_schema_name);
        for (size_t i = 1; i < out->n[k]; i++)
            if (strcmp(out->by_kind[k][i]->name, out->by_kind[k][i - 1]->name) == 0)
                return zt_diag_error(d, NULL, "Invalid schema", "\"%s\" is defined twice",
                                     out->by_kind[k][i]->name);
    }
    if (out->n[ZT_SCHEMA_PROVIDER] != 1)
        return zt_diag_error(d, NULL, "Invalid schema",
                             "exactly one provider schema is required, found %zu",
                             out->n[ZT_SCHEMA_PROVIDER]);
    return ZT_OK;
}

extern const zt_schema_prebuilt zt_prebuilt_schemas __attribute__((weak));

/* The build's copy when linked in (the provider binary), else parsed. */
static void registry_init(void)
{
    if (&zt_prebuilt_schemas) {
        for (int k = 0; k < ZT_KINDS; k++) {
            zt_registry.by_kind[k] = zt_prebuilt_schemas.by_kind[k];
            zt_registry.n[k] = zt_prebuilt_schemas.n[k];
        }
        return;
    }
    zt_registry.arena = zt_arena_new();
    zt_diags d;
    zt_diags_init(&d, zt_registry.arena);
    zt_schema_prebuilt r;
    /* A broken embedded schema is a build defect that the unit tests
     * catch; serving a partial schema would only confuse Terraform. */
    if (zt_schema_parse_all(zt_registry.arena, &r, &d) != ZT_OK)
        zt_panic("embedded schemas are invalid: %s", d.head ? d.head->detail : "unknown error");
    for (int k = 0; k < ZT_KINDS; k++) {
        zt_registry.by_kind[k] = r.by_kind[k];
        zt_registry.n[k] = r.n[k];
    }
}

static void registry_load(void) { pthread_once(&zt_registry.once, registry_init); }

const zt_schema *zt_schema_provider(void)
{
    registry_load();
    return zt_registry.by_kind[ZT_SCHEMA_PROVIDER][0];
}

const zt_schema *zt_schema_find(zt_schema_kind kind, const char *name)
{
    if (kind < ZT_SCHEMA_PROVIDER || kind > ZT_SCHEMA_DATA_SOURCE || !name)
        return NULL;
    registry_load();
    const zt_schema key = {.name = name}, *keyp = &key;
    const zt_schema **hit = bsearch(&keyp, zt_registry.by_kind[kind], zt_registry.n[kind],
                                    sizeof(zt_schema *), cmp_schema_name);
    return hit ? *hit : NULL;
}

size_t zt_schema_list(zt_schema_kind kind, const zt_schema ***out)
{
    if (kind < ZT_SCHEMA_PROVIDER || kind > ZT_SCHEMA_DATA_SOURCE) {
        *out = NULL;
        return 0;
    }
    registry_load();
    *out = zt_registry.by_kind[kind];
    return zt_registry.n[kind];
}
