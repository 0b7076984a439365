/* zt_res.h - helpers shared by the composite resource definitions
 * (zt_hub.c, zt_spoke.c, zt_workspace.c): body builders, names, outputs,
 * plan-time checks and import. */
#ifndef ZT_RES_H
#define ZT_RES_H

#include "zt_addrplan.h"
#include "zt_composite.h"

#include <stdbool.h>
#include <stddef.h>

/* ---- Bodies (NULL: something needed is not known yet) ---------------- */

/* {"id": id}, or NULL (making json_pack fail) when the ID is unknown. */
json_t *zt_res_ref(const char *id);
/* The frame every tracked resource shares: location and tags (JSON, via
 * zt_comp_tags). Steals `properties` (may be NULL: omitted). */
json_t *zt_res_tracked(const zt_comp_eval *ev, json_t *properties);
/* Steals `v`; a NULL v (an unknown part) makes the whole body unknown. */
json_t *zt_res_set(json_t *body, const char *key, json_t *v);

/* What a diagnostic setting sends (zt_res_diag_body). */
enum {
    ZT_RES_DIAG_LOGS = 1 << 0,      /* every log: category group allLogs */
    /* ... with the audit group listed as off: the shape Azure Policy's
     * category-group DeployIfNotExists definitions check for on types that
     * have an audit group (Key Vault, Container Registry) */
    ZT_RES_DIAG_AUDIT_OFF = 1 << 1,
    ZT_RES_DIAG_METRICS = 1 << 2,   /* AllMetrics */
    /* resource-specific tables (AZFW*, AZKVAuditLogs, Databricks*) instead
     * of AzureDiagnostics: the governance alerts query them */
    ZT_RES_DIAG_DEDICATED = 1 << 3,
};
/* A diagnostic setting sending to a Log Analytics workspace; NULL when
 * workspace_id is. */
json_t *zt_res_diag_body(const char *workspace_id, unsigned what);

/* A list/set(string) input as a NULL-terminated array (*n elements): a
 * copy of `fallback` when null, NULL while unknown. */
const char **zt_res_strings(const zt_comp_eval *ev, const char *attr, const char *const *fallback,
                            size_t n_fallback, size_t *n);

/* ---- Names, address plan, outputs ------------------------------------- */

/* A UUIDv5-style (SHA-1) name from text, case-insensitive: role
 * assignment names that are known at plan and stable across applies. */
const char *zt_res_uuid(zt_arena *a, const char *text);
/* The role definition ID a role assignment at `scope` names for the role
 * `role` (a GUID): in the scope's subscription, where ARM resolves it (it
 * answers with that subscription whatever another one the PUT named, so
 * naming another one reads back as drift); spelled as `sub` (the
 * provider's) when it is that subscription; the tenant-level form for a
 * scope above subscriptions. NULL while the scope is unknown. */
const char *zt_res_role_definition_id(zt_arena *a, const char *scope, const char *sub,
                                      const char *role);
/* prefix + the "name" input + suffix; NULL while the name is unknown. */
const char *zt_res_named(const zt_comp_eval *ev, const char *prefix, const char *suffix);
/* The address planner's plan of `layout` for `space`; NULL while the space
 * is unknown or invalid (the validate hook has reported why). */
const zt_addrplan *zt_res_addrplan(zt_arena *a, const char *space, const char *layout);
const char *zt_res_subnet_cidr(const zt_addrplan *plan, const char *name);
/* A node's ID as a string value; NULL while unknown. */
const zt_cty_value *zt_res_id_out(const zt_comp_eval *ev, const char *node);
/* s as a string value, or a null string. */
const zt_cty_value *zt_res_str_or_null(zt_arena *a, const char *s);
/* map(string) of n keys and (non-NULL) values. */
const zt_cty_value *zt_res_string_map(zt_arena *a, size_t n, const char *const *keys,
                                      const char *const *vals);

/* Outputs subnet_ids and subnet_cidrs: subnet name -> ID under the "vnet"
 * node, and -> CIDR from the `layout` plan of the address_space input;
 * NULL while unknown. */
const zt_cty_value *zt_res_out_subnet_ids(const zt_comp_eval *ev, const char *const *subnets,
                                          size_t n);
const zt_cty_value *zt_res_out_subnet_cidrs(const zt_comp_eval *ev, const char *layout,
                                            const char *const *subnets, size_t n);

/* ---- Plan-time checks ------------------------------------------------- */

typedef struct zt_res_check {
    zt_call *c;
    const zt_cty_value *config;
} zt_res_check;

/* The path of a top-level attribute. */
zt_path *zt_res_path(const zt_res_check *k, const char *attr);
/* A known, non-null string attribute of obj, else NULL. */
const char *zt_res_known_str(const zt_cty_value *obj, const char *attr);
/* 1..max characters, alphanumeric first, the rest alphanumeric or in extra. */
bool zt_res_name_ok(const char *s, size_t max, const char *extra);
/* resource_group_name, when known: Azure's rule (1 to 90 letters, digits,
 * '-', '_', '.', '(' or ')', not ending with '.'). */
void zt_res_check_rg_name(zt_res_check *k);
/* The ARM ID of a resource in a resource group, as an input may hold one
 * that goes into request URLs: "/subscriptions/.../resourceGroups/...", no
 * empty, "." or ".." segment, no '?', '#', '%', space or control
 * character; with `segment` (e.g.
 * "/providers/Microsoft.Network/virtualNetworks/"), containing it
 * (case-insensitively) and a name after it. */
bool zt_res_id_ok(const char *id, const char *segment);
/* Every tag of the provider's required_tags present and not empty; skipped
 * until the provider is configured (validation), as its settings are not
 * known before. */
void zt_res_check_tags(zt_res_check *k);
/* The "location" input: an Azure region's programmatic name, and one of
 * the provider's allowed_locations when those are set. */
void zt_res_check_location(zt_res_check *k);
/* Whether loc is an Azure region's programmatic name. */
bool zt_res_region_known(const char *loc);
/* Whether the NULL-terminated list holds s (case-sensitive), and the list
 * as "\"a\", \"b\"" for messages. */
bool zt_res_in_list(const char *const *list, const char *s);
const char *zt_res_join(zt_arena *a, const char *const *list);
/* A known string attribute of obj (base: its path) outside `allowed`:
 * an error (`summary`) naming `what` and the allowed values. */
void zt_res_check_enum(zt_res_check *k, const zt_cty_value *obj, const zt_path *base,
                       const char *attr, const char *const *allowed, const char *summary,
                       const char *what);
/* Whether the provider's allowed_locations (once configured, when set)
 * admit loc. */
bool zt_res_location_allowed(const zt_res_check *k, const char *loc);
/* A DNS name: dot-separated labels of 1..63 lower-case letters (any case
 * with allow_upper), digits or '-', at least two, 253 characters at most. */
bool zt_res_dns_name_ok(const char *s, bool allow_upper);
bool zt_res_overlap(zt_ipv4_prefix x, zt_ipv4_prefix y);

/* ---- What other resources hold (plan_check hooks) --------------------- */

/* The owner of a plan claim: `type "name"`. */
const char *zt_res_owner(zt_arena *a, const char *type_name, const char *name);
/* The claim scope of the address spaces peered with a hub VNet. */
const char *zt_res_peers_scope(zt_arena *a, const char *hub_vnet_id);
/* The claim scope of the ARM IDs created by this run's plans (owner: the
 * ID): nothing else can hold anything in or under them yet. */
#define ZT_RES_CREATED_SCOPE "created-in-this-run"
/* Whether a plan of this run creates the resource of this ARM ID. */
bool zt_res_created_in_run(zt_call *c, const char *id);
/* An IPv4 CIDR without host bits; false for anything else. */
bool zt_res_cidr(zt_arena *a, const char *text, zt_ipv4_prefix *out);

/* ---- Import ----------------------------------------------------------- */

/* Rebuilt inputs: attribute -> value, ordered into the schema's object by
 * zt_res_inputs_object. */
typedef struct zt_res_inputs {
    const char **names;
    const zt_cty_value **vals;
    size_t n;
} zt_res_inputs;

void zt_res_inputs_init(zt_res_inputs *in, zt_arena *a, size_t cap);
void zt_res_inputs_set(zt_res_inputs *in, const char *attr, const zt_cty_value *v);
/* An object of type t from in; every attribute not set is null. */
const zt_cty_value *zt_res_inputs_object(zt_arena *a, const zt_cty_type *t,
                                         const zt_res_inputs *in);
/* ARM reads for an import hook (the engine's getter; bodies borrowed for
 * the call). */
typedef struct zt_res_reader {
    zt_call *c;
    json_t *(*get)(void *getter, const char *arm_id);
    void *getter;
} zt_res_reader;

/* An import ID /subscriptions/<sub>/resourceGroups/<rg>/providers/<ns>/
 * <type>/<prefix><name> (fixed segments case-insensitive, as ARM's are).
 * Error diagnostics "Invalid import ID" naming `what` ("virtual network")
 * and "Not a <not_ours>" when the name lacks the prefix. */
typedef struct zt_res_id_shape {
    const char *ns, *type, *prefix;
    const char *what;      /* "virtual network" */
    const char *not_ours;  /* "zerotrust_hub VNet" */
    const char *composite; /* "zerotrust_hub" */
} zt_res_id_shape;

typedef struct zt_res_import_id {
    const char *sub, *rg, *rg_id, *name; /* name without the prefix */
} zt_res_import_id;

zt_rc zt_res_parse_import_id(zt_call *c, const char *id, const zt_res_id_shape *shape,
                             zt_res_import_id *out);
/* The same for an ID given as an argument: diagnostics at path, summary
 * for a malformed ID. */
zt_rc zt_res_parse_id(zt_call *c, const char *id, const zt_res_id_shape *shape,
                      const zt_path *path, const char *summary, zt_res_import_id *out);

/* A GET: NULL for a NULL id, on 404, or after an error diagnostic. */
json_t *zt_res_read(const zt_res_reader *r, const char *id);
/* Every item of a collection, following ARM's nextLink paging; NULL when
 * the first page cannot be read. Lives as long as the call's arena. */
json_t *zt_res_read_list(const zt_res_reader *r, const char *collection);
/* The "/subscriptions/<s>/resourceGroups/<g>" prefix of an ARM ID. */
const char *zt_res_rg_of(zt_arena *a, const char *id);
/* set(string) of n values. */
const zt_cty_value *zt_res_string_set(zt_arena *a, const char *const *v, size_t n);
/* name -> id map(string) of a list's items (those with both). */
const zt_cty_value *zt_res_name_id_map(zt_arena *a, const json_t *items);

/* "a/b/0/c" walk (objects by key, arrays by index); NULL when absent. */
json_t *zt_res_jget(const json_t *doc, const char *path);
const char *zt_res_jstr(const json_t *doc, const char *path);
/* A resource's "tags" as map(string). */
const zt_cty_value *zt_res_imp_tags(zt_arena *a, const json_t *resource);

#endif
