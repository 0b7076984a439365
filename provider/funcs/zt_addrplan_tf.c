/* zt_addrplan_tf.c - the address planner as Terraform sees it: the data
 * source zerotrust_address_plan and the function cidr_layout. Both turn
 * cty values into a zt_addrplan_request, so their checks and results are
 * the same; they differ only in how results and errors are returned.
 */
#include "zt_addrplan.h"
#include "zt_provider.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------
 * cty values -> request.
 * ------------------------------------------------------------------- */

static const char *const zt_subnet_fields[] = {"name", "prefix_length", "newbits", "cidr"};

/* A field of a subnet entry: an object attribute (data source, HCL
 * object literal) or a map element (the function's dynamic argument may
 * have been converted with tomap). NULL when absent. */
static const zt_cty_value *entry_field(const zt_cty_value *e, const char *name)
{
    if (e->type->kind == ZT_CTY_OBJECT)
        return zt_cty_get_attr(e, name);
    if (e->type->kind == ZT_CTY_MAP)
        return zt_cty_map_get(e, name);
    return NULL;
}

static bool read_text(zt_arena *a, const zt_cty_value *v, const zt_path *p, const char *what,
                      const char **out, bool *unknown, zt_diags *d)
{
    *out = NULL;
    *unknown = false;
    if (!v || v->is_null)
        return true;
    if (!zt_cty_is_known(v)) {
        *unknown = true;
        return true;
    }
    if (v->type->kind != ZT_CTY_STRING) {
        zt_diag_error(d, p, "Invalid value", "%s must be a string, not %s.", what,
                      zt_cty_type_friendly(a, v->type));
        return false;
    }
    *out = v->u.str.ptr;
    return true;
}

/* A whole number, given as a number or as decimal text (tomap() turns
 * numbers into strings). */
static bool read_int(zt_arena *a, const zt_cty_value *v, const zt_path *p, const char *what,
                     int64_t *out, zt_diags *d)
{
    *out = ZT_ADDRPLAN_UNSET;
    if (!v || v->is_null)
        return true;
    if (!zt_cty_is_known(v)) {
        *out = ZT_ADDRPLAN_UNKNOWN;
        return true;
    }
    int64_t i = 0;
    bool ok = false;
    if (v->type->kind == ZT_CTY_NUMBER) {
        ok = zt_cty_number_to_int64(v, &i);
    } else if (v->type->kind == ZT_CTY_STRING && v->u.str.len > 0) {
        char *end;
        errno = 0;
        long long ll = strtoll(v->u.str.ptr, &end, 10);
        ok = errno == 0 && *end == '\0';
        i = ll;
    }
    if (!ok || i < 0 || i > 32) {
        zt_diag_error(d, p, "Invalid value", "%s must be a whole number from 0 to 32.", what);
        return false;
    }
    *out = i;
    return true;
}

/* Attributes the entry does not define are typos (the function's
 * argument is dynamic, so nothing else catches them). */
static void check_entry_attrs(zt_arena *a, const zt_cty_value *e, const zt_path *p, zt_diags *d)
{
    const char *const *names = e->type->kind == ZT_CTY_OBJECT ? e->type->names : e->u.coll.keys;
    size_t n = e->type->kind == ZT_CTY_OBJECT ? e->type->n : e->u.coll.n;
    for (size_t i = 0; i < n; i++) {
        bool known = false;
        for (size_t k = 0; k < ZT_ARRAY_LEN(zt_subnet_fields); k++)
            known |= strcmp(names[i], zt_subnet_fields[k]) == 0;
        if (!known)
            zt_diag_error(d, zt_path_attr(a, p, names[i]), "Unsupported subnet attribute",
                          "\"%s\" is not a subnet setting; use name and one of prefix_length, "
                          "newbits or cidr.", names[i]);
    }
}

static void read_entry(zt_arena *a, const zt_cty_value *e, const zt_path *p,
                       zt_addrplan_want *w, zt_diags *d)
{
    w->path = p;
    if (!zt_cty_is_known(e)) {
        w->name_unknown = w->cidr_unknown = true;
        w->prefix_length = w->newbits = ZT_ADDRPLAN_UNKNOWN;
        return;
    }
    if (e->is_null || (e->type->kind != ZT_CTY_OBJECT && e->type->kind != ZT_CTY_MAP)) {
        zt_diag_error(d, p, "Invalid subnet",
                      "Each subnet must be an object such as { name = \"web\", prefix_length = "
                      "26 }.");
        w->name_unknown = true; /* already reported; no second "missing" error */
        return;
    }
    check_entry_attrs(a, e, p, d);
    read_text(a, entry_field(e, "name"), zt_path_attr(a, p, "name"), "name", &w->name,
              &w->name_unknown, d);
    read_int(a, entry_field(e, "prefix_length"), zt_path_attr(a, p, "prefix_length"),
             "prefix_length", &w->prefix_length, d);
    read_int(a, entry_field(e, "newbits"), zt_path_attr(a, p, "newbits"), "newbits", &w->newbits,
             d);
    read_text(a, entry_field(e, "cidr"), zt_path_attr(a, p, "cidr"), "cidr", &w->cidr,
              &w->cidr_unknown, d);
}

static void read_subnets(zt_arena *a, const zt_cty_value *v, zt_addrplan_request *req,
                         zt_diags *d)
{
    const zt_path *p = zt_path_attr(a, NULL, "subnets");
    if (!v || v->is_null)
        return;
    if (!zt_cty_is_known(v)) {
        req->subnets_unknown = true;
        return;
    }
    zt_cty_kind k = v->type->kind;
    if (k != ZT_CTY_LIST && k != ZT_CTY_TUPLE && k != ZT_CTY_SET) {
        zt_diag_error(d, p, "Invalid subnets",
                      "subnets must be a list of objects such as [{ name = \"web\", "
                      "prefix_length = 26 }], not %s.", zt_cty_type_friendly(a, v->type));
        return;
    }
    zt_addrplan_want *ws = zt_arena_calloc(a, v->u.coll.n + 1, sizeof(*ws));
    for (size_t i = 0; i < v->u.coll.n; i++)
        read_entry(a, v->u.coll.elems[i], zt_path_index(a, p, (int64_t)i), &ws[i], d);
    req->subnets = ws;
    req->n_subnets = v->u.coll.n;
}

static zt_rc request_from_values(zt_arena *a, const zt_cty_value *space,
                                 const zt_cty_value *layout, const zt_cty_value *subnets,
                                 zt_addrplan_request *req, zt_diags *d)
{
    size_t errors_before = d->errors;
    memset(req, 0, sizeof(*req));
    req->address_space_path = zt_path_attr(a, NULL, "address_space");
    req->layout_path = zt_path_attr(a, NULL, "layout");
    read_text(a, space, req->address_space_path, "address_space", &req->address_space,
              &req->address_space_unknown, d);
    read_text(a, layout, req->layout_path, "layout", &req->layout, &req->layout_unknown, d);
    read_subnets(a, subnets, req, d);
    return d->errors > errors_before ? ZT_ERR_INVALID : ZT_OK;
}

static zt_rc plan_from_config(zt_call *c, const zt_cty_value *config, zt_addrplan **plan)
{
    zt_addrplan_request req;
    *plan = NULL;
    if (!config || config->is_null || !zt_cty_is_known(config))
        return ZT_OK; /* nothing known to check yet */
    ZT_TRY(request_from_values(c->arena, zt_cty_get_attr(config, "address_space"),
                               zt_cty_get_attr(config, "layout"),
                               zt_cty_get_attr(config, "subnets"), &req, c->diags));
    return zt_addrplan_compute(c->arena, &req, plan, c->diags);
}

/* ---------------------------------------------------------------------
 * Plan -> cty values.
 * ------------------------------------------------------------------- */

/* An object of type t from (name, value) pairs; attributes not given are
 * null. */
static const zt_cty_value *object_from(zt_arena *a, const zt_cty_type *t, size_t n,
                                       const char *const *names, const zt_cty_value *const *vals)
{
    const zt_cty_value **ordered = zt_arena_calloc(a, t->n + 1, sizeof(*ordered));
    for (size_t i = 0; i < n; i++) {
        ssize_t idx = zt_cty_type_attr_index(t, names[i]);
        if (idx < 0)
            zt_panic("address plan: attribute %s missing from the schema", names[i]);
        ordered[idx] = vals[i];
    }
    for (size_t i = 0; i < t->n; i++)
        if (!ordered[i])
            ordered[i] = zt_cty_null(a, t->types[i]);
    return zt_cty_object(a, t, (const zt_cty_value *const *)ordered);
}

static const zt_cty_type *attr_type(const zt_cty_type *obj, const char *name)
{
    ssize_t idx = zt_cty_type_attr_index(obj, name);
    if (idx < 0)
        zt_panic("address plan: attribute %s missing from the schema", name);
    return obj->types[idx];
}

static const zt_cty_value *allocation_value(zt_arena *a, const zt_cty_type *t,
                                            const zt_addrplan_subnet *s)
{
    static const char *const names[] = {"name",        "cidr",          "prefix_length",
                                        "first_usable", "last_usable",  "address_count",
                                        "usable_hosts"};
    const zt_cty_value *vals[] = {
        zt_cty_string(a, s->name),
        zt_cty_string(a, s->cidr),
        zt_cty_number_int(a, s->prefix.len),
        zt_cty_string(a, s->first_usable),
        zt_cty_string(a, s->last_usable),
        zt_cty_number_int(a, (int64_t)s->address_count),
        zt_cty_number_int(a, (int64_t)s->usable_hosts),
    };
    return object_from(a, t, ZT_ARRAY_LEN(names), names, vals);
}

static const zt_cty_value *allocations_value(zt_arena *a, const zt_cty_type *list_t,
                                             const zt_addrplan *plan)
{
    const zt_cty_value **elems = zt_arena_calloc(a, plan->n_subnets + 1, sizeof(*elems));
    for (size_t i = 0; i < plan->n_subnets; i++)
        elems[i] = allocation_value(a, list_t->elem, &plan->subnets[i]);
    return zt_cty_list(a, list_t->elem, plan->n_subnets, (const zt_cty_value *const *)elems);
}

static const zt_cty_value *cidrs_value(zt_arena *a, const zt_addrplan *plan)
{
    const char **keys = zt_arena_calloc(a, plan->n_subnets + 1, sizeof(*keys));
    const zt_cty_value **vals = zt_arena_calloc(a, plan->n_subnets + 1, sizeof(*vals));
    for (size_t i = 0; i < plan->n_subnets; i++) {
        keys[i] = plan->subnets[i].name;
        vals[i] = zt_cty_string(a, plan->subnets[i].cidr);
    }
    return zt_cty_map(a, &zt_cty_string_type, plan->n_subnets, (const char *const *)keys,
                      (const zt_cty_value *const *)vals);
}

static const zt_cty_value *free_value(zt_arena *a, const zt_addrplan *plan)
{
    const zt_cty_value **elems = zt_arena_calloc(a, plan->n_free + 1, sizeof(*elems));
    for (size_t i = 0; i < plan->n_free; i++)
        elems[i] = zt_cty_string(a, zt_ipv4_prefix_str(a, plan->free[i]));
    return zt_cty_list(a, &zt_cty_string_type, plan->n_free, (const zt_cty_value *const *)elems);
}

/* ---------------------------------------------------------------------
 * Data source zerotrust_address_plan.
 * ------------------------------------------------------------------- */

static zt_rc ds_validate(zt_call *c, const zt_schema *s, const zt_cty_value *config)
{
    zt_addrplan *plan;
    return plan_from_config(c, config, &plan);
}

/* The state echoes the configuration and adds the computed plan. */
static zt_rc ds_read(zt_call *c, const zt_schema *s, const zt_cty_value *config,
                     const zt_cty_value **state)
{
    zt_arena *a = c->arena;
    zt_addrplan *plan;
    ZT_TRY(plan_from_config(c, config, &plan));
    if (!plan)
        return zt_diag_error(c->diags, NULL, "Address plan not computed",
                             "The configuration is not wholly known; Terraform should not read "
                             "the data source before it is.");
    static const char *const names[] = {"address_space", "layout",   "subnets",
                                        "allocations",   "cidrs",    "free_cidrs"};
    const zt_cty_value *vals[] = {
        zt_cty_get_attr(config, "address_space"),
        zt_cty_get_attr(config, "layout"),
        zt_cty_get_attr(config, "subnets"),
        allocations_value(a, attr_type(s->type, "allocations"), plan),
        cidrs_value(a, plan),
        free_value(a, plan),
    };
    *state = object_from(a, s->type, ZT_ARRAY_LEN(names), names, vals);
    return ZT_OK;
}

const zt_datasource_def zt_ds_address_plan = {
    .type_name = "zerotrust_address_plan",
    .validate = ds_validate,
    .read = ds_read,
};

/* ---------------------------------------------------------------------
 * Function cidr_layout(address_space, layout, subnets) -> map(string).
 * ------------------------------------------------------------------- */

static const zt_function_param zt_cidr_layout_params[] = {
    {"address_space", "\"string\"", false, false,
     "The VNet's IPv4 address space in CIDR notation, e.g. `10.0.0.0/22`."},
    {"layout", "\"string\"", true, false,
     "`\"hub\"`, `\"spoke\"`, or `null` for only the listed subnets."},
    {"subnets", "\"dynamic\"", true, false,
     "A list of objects `{ name, prefix_length | newbits | cidr }` to add to the layout or to "
     "resize its subnets, or `null`/`[]`."},
};

/* Diagnostics point at request paths; the first step names the argument. */
static int64_t argument_index(const zt_path *p)
{
    if (!p || p->len == 0 || p->steps[0].kind != ZT_STEP_ATTR)
        return -1;
    for (size_t i = 0; i < ZT_ARRAY_LEN(zt_cidr_layout_params); i++)
        if (strcmp(p->steps[0].name, zt_cidr_layout_params[i].name) == 0)
            return (int64_t)i;
    return -1;
}

static const zt_diag *first_error(const zt_diags *d)
{
    for (const zt_diag *g = d->head; g; g = g->next)
        if (g->severity == ZT_SEV_ERROR)
            return g;
    return NULL;
}

static zt_rc cidr_layout_call(zt_call *c, size_t n_args, const zt_cty_value *const *args,
                              const zt_cty_value **result, const char **err_text,
                              int64_t *err_arg)
{
    zt_arena *a = c->arena;
    const zt_cty_type *map_t = zt_cty_type_map(a, &zt_cty_string_type);
    *err_arg = -1;
    if (n_args != ZT_ARRAY_LEN(zt_cidr_layout_params)) {
        *err_text = "cidr_layout takes 3 arguments: address_space, layout and subnets.";
        return ZT_ERR_INVALID;
    }
    for (size_t i = 0; i < n_args; i++)
        if (!zt_cty_is_wholly_known(args[i])) { /* Terraform does not send these; be safe */
            *result = zt_cty_unknown(a, map_t);
            return ZT_OK;
        }
    zt_diags d;
    zt_diags_init(&d, a);
    zt_addrplan_request req;
    zt_addrplan *plan = NULL;
    if (request_from_values(a, args[0], args[1], args[2], &req, &d) == ZT_OK)
        zt_addrplan_compute(a, &req, &plan, &d);
    const zt_diag *err = first_error(&d);
    if (err || !plan) {
        const zt_path *p = err ? err->path : NULL;
        *err_arg = argument_index(p);
        char *text = zt_arena_printf(a, "%s%s%s: %s", p && p->len > 1 ? zt_path_str(a, p) : "",
                                     p && p->len > 1 ? ": " : "",
                                     err ? err->summary : "Invalid arguments",
                                     err ? err->detail : "the address plan could not be computed");
        /* Terraform ends the message with its own period. */
        size_t n = strlen(text);
        if (n && text[n - 1] == '.')
            text[n - 1] = '\0';
        *err_text = text;
        return ZT_ERR_INVALID;
    }
    *result = cidrs_value(a, plan);
    return ZT_OK;
}

const zt_function_def zt_fn_cidr_layout = {
    .name = "cidr_layout",
    .summary = "Subnet CIDR blocks of an Azure VNet by name",
    .description =
        "Derives the subnets of an Azure virtual network from its IPv4 address space and "
        "returns their CIDR blocks as a map from subnet name to CIDR. `layout` chooses a "
        "predefined set (`\"hub\"` or `\"spoke\"`, as in the `zerotrust_address_plan` data "
        "source); `subnets` adds subnets or resizes the layout's. Subnets are placed largest "
        "first at the lowest free aligned address, so the result is deterministic. Azure's "
        "sizing rules are checked (reserved subnet names and their minimum sizes, /29 smallest "
        "subnet, Databricks /26 minimum, overlaps and fit); a violation is an error naming the "
        "argument.",
    .params = zt_cidr_layout_params,
    .n_params = ZT_ARRAY_LEN(zt_cidr_layout_params),
    .variadic = NULL,
    .return_type_json = "[\"map\",\"string\"]",
    .call = cidr_layout_call,
};
