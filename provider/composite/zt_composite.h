/* zt_composite.h - composite resources: one Terraform resource that owns a
 * graph of ARM resources ("nodes"), planned, applied in parallel, refreshed,
 * imported and destroyed as one unit.
 *
 * A composite is DATA: a table of node definitions (ARM type, deterministic
 * name, parent, how the PUT body derives from the inputs, dependencies,
 * outputs). The engine (zt_composite.c) does everything else. Adding a
 * sub-resource is adding a table entry.
 *
 * Terraform-facing attributes every composite schema must declare (the
 * engine fills them):
 *   id                    computed string: the import ID (e.g. the hub VNet ID)
 *   underlying_resources  computed map(string): node key -> ARM resource ID
 *                         (after an apply or a read also the instances no
 *                         longer enabled that still exist: a failed delete)
 *   underlying_changes    computed map(string): node key -> planned action
 *                         ("create", "update", "replace", "delete") of the
 *                         nodes the plan changes, nodes left alone absent;
 *                         a plan that changes nothing at all keeps the
 *                         prior value (the changes the last apply made) so
 *                         that it shows no change; unknown as a whole while
 *                         some action depends on an unknown input (so that
 *                         the apply-time re-plan may turn into a no-op,
 *                         plugin-protocol 4.3). "replace": a create_only
 *                         pointer changed (delete + PUT); the node's ARM
 *                         children are then "create". A node whose ID
 *                         changes is "create", and its old resource
 *                         "delete" under "key~<old ID>" (deleted after the
 *                         new one is created).
 *   timeouts              optional single nested block {create, update,
 *                         delete, read} of Go-style durations ("45m", "1h30m")
 * Node keys of multi-instance nodes are "key[instance]", e.g.
 * "zone_link[privatelink.blob.core.windows.net]".
 * Inputs the engine reads itself: "resource_group_id" or else
 * "resource_group_name" (zt_comp_resource_group_id), "tags" (zt_comp_tags).
 * Write-only inputs are read from the configuration at apply and stored as
 * null.
 *
 * Private state (JSON, opaque to Terraform) records per node: the ARM ID,
 * whether it exists, a hash of the body last applied, the values of ARM's
 * answer that zt_comp_output was asked for (e.g. the firewall's private IP)
 * and where ARM differed from the body, and whether the last refresh found
 * drift. Plans are computed from inputs + private state, so they are
 * deterministic.
 */
#ifndef ZT_COMPOSITE_H
#define ZT_COMPOSITE_H

#include "zt_provider.h"

#include <jansson.h>

typedef struct zt_comp_eval zt_comp_eval;

/* ---- what a node definition can ask the engine while building bodies ---- */

zt_arena *zt_comp_arena(const zt_comp_eval *ev);
/* Report a problem with the inputs (plan-time checks); path is relative to
 * the resource's configuration. */
zt_diags *zt_comp_diags(const zt_comp_eval *ev);
/* The resource's input attributes (from config at plan, from state at
 * apply/read). NULL when absent; may be unknown at plan time. */
const zt_cty_value *zt_comp_input(const zt_comp_eval *ev, const char *attr);
/* Conveniences: NULL / fallback when the attribute is null or unknown. */
const char *zt_comp_input_str(const zt_comp_eval *ev, const char *attr);
bool zt_comp_input_bool(const zt_comp_eval *ev, const char *attr, bool fallback);
int64_t zt_comp_input_int(const zt_comp_eval *ev, const char *attr, int64_t fallback);
/* Whether the attribute is set (not null; unknown counts as set): the
 * enabled callback of a node an optional input switches on. */
bool zt_comp_input_set(const zt_comp_eval *ev, const char *attr);
/* The for_each instance key of the node being evaluated ("" if single). */
const char *zt_comp_instance(const zt_comp_eval *ev);
/* The ARM ID a node has (or will have) under the current inputs: names are
 * deterministic, so this is known even before the node exists. "key" or
 * "key[instance]". NULL when the node is not enabled. */
const char *zt_comp_id(const zt_comp_eval *ev, const char *node_key);
/* A value ARM returned for another node (JSON pointer into its last GET
 * body, e.g. "/properties/ipConfigurations/0/properties/privateIPAddress").
 * At plan, a node planned for "update" answers with what its new body
 * sets at that pointer, else with its last known value: an in-place update
 * keeps what it does not set (IPs, principal IDs, URIs, key versions).
 * NULL while it is not known yet: a node being created or replaced, or
 * one that never answered. Bodies that depend on it are then planned as
 * unknown, and the dependency ordering guarantees it is known when the
 * body is finally built at apply time. */
const char *zt_comp_output(const zt_comp_eval *ev, const char *node_key, const char *pointer);
/* The instances of node_key that still exist although the inputs no
 * longer enable them (their delete failed): at apply and read, so that
 * outputs keep naming what exists; none at plan, which deletes them.
 * *n instance keys, their ARM IDs in *ids, in the call arena. */
const char **zt_comp_leftovers(const zt_comp_eval *ev, const char *node_key, const char ***ids,
                               size_t *n);
/* The composite's type name ("zerotrust_hub"). */
const char *zt_comp_type_name(const zt_comp_eval *ev);
/* The i-th node instance under the current inputs: its key ("zone[x]"),
 * its node definition's key ("zone") and its ARM ID (NULL while unknown);
 * false past the last. */
bool zt_comp_instance_at(const zt_comp_eval *ev, size_t i, const char **key, const char **node,
                         const char **id);
/* Common ARM scaffolding. */
const char *zt_comp_subscription(const zt_comp_eval *ev);
/* The "resource_group_id" input, else /subscriptions/<sub>/resourceGroups/
 * <"resource_group_name" input>; NULL while unknown. */
const char *zt_comp_resource_group_id(const zt_comp_eval *ev);
/* The "tags" input as a new JSON object (the caller owns the reference,
 * e.g. json_object_set_new it into the body); {} when null; NULL while the
 * map is not wholly known (plan). */
json_t *zt_comp_tags(const zt_comp_eval *ev);

/* ---- plan claims, for plan_check hooks -------------------------------------- */

typedef struct zt_comp_claim {
    const char *owner;  /* e.g. `zerotrust_spoke "alpha"` */
    const char *value;
} zt_comp_claim;

/* Record that `owner` holds `value` in `scope` (e.g. the address spaces
 * peered with one hub VNet; compared without case, as ARM IDs are) for the
 * plans of this provider process, replacing what the same owner recorded
 * there before, and return what the others recorded there (*n of them, in
 * the call's arena). Resources planned in the same run that Azure does not
 * have yet are visible only this way; Terraform plans a resource after
 * those it refers to. */
const zt_comp_claim *zt_comp_claim_put(zt_call *c, const char *scope, const char *owner,
                                       const char *value, size_t *n);
/* What every owner recorded in `scope`, without recording anything. */
const zt_comp_claim *zt_comp_claims(zt_call *c, const char *scope, size_t *n);

/* ---- the definition tables ----------------------------------------------- */

/* Soft delete: after a DELETE Azure keeps the resource (a Key Vault, with
 * its keys, for its retention period) and its name stays taken. A create
 * that ARM refuses because a soft-deleted one holds the name recovers it
 * instead, when it is in this subscription and location (a GET of
 * deleted_id answers) and the provider's recover_soft_deleted_key_vaults
 * is not false: the PUT is sent with recover_ptr set to recover_value,
 * then again with the node's own body, over what was recovered. */
typedef struct zt_comp_soft_delete {
    const char *code;          /* ARM's error code: "a deleted one holds the name" */
    const char *text;          /* ...with this in its message (case-insensitive; "" : any) */
    /* The soft-deleted resource's ARM ID for this node; NULL while unknown. */
    const char *(*deleted_id)(const zt_comp_eval *ev);
    const char *recover_ptr;   /* e.g. "/properties/createMode" */
    const char *recover_value; /* e.g. "recover" */
} zt_comp_soft_delete;

typedef struct zt_comp_node_def {
    const char *key;         /* unique within the composite, e.g. "firewall" */
    const char *arm_type;    /* "Microsoft.Network/azureFirewalls" */
    const char *const *depends_on; /* NULL-terminated node keys, or NULL */
    /* Exists for these inputs? NULL: always. At plan an input may be
     * unknown: answer anything; the engine notices that an input it gave
     * out (zt_comp_input*) was unknown and plans underlying_resources,
     * underlying_changes and the outputs as unknown. */
    bool (*enabled)(const zt_comp_eval *ev);
    /* Multi-instance nodes: instance keys (deterministic order). NULL: one.
     * Unknown inputs: as for enabled. */
    const char **(*for_each)(const zt_comp_eval *ev, size_t *n);
    /* ID of the parent for child types (e.g. the VNet for a subnet) or the
     * scope of an extension type (roleAssignments, diagnosticSettings:
     * <scope>/providers/<type>/<name>); NULL callback: the resource group.
     * Microsoft.Resources/resourceGroups is /subscriptions/<sub>/
     * resourceGroups/<name>. */
    const char *(*parent_id)(const zt_comp_eval *ev);
    /* The resource's own name (last ID segment). */
    const char *(*name)(const zt_comp_eval *ev);
    /* Desired PUT body. Return NULL when an input it needs is not known
     * yet (plan only). The engine owns the returned reference. */
    json_t *(*body)(const zt_comp_eval *ev);
    /* Body JSON pointers ARM refuses to change in place; a change makes the
     * engine delete and re-create the node. NULL-terminated, or NULL. */
    const char *const *create_only;
    /* Body JSON pointers excluded from drift comparison (Azure manages
     * them itself). NULL-terminated, or NULL. */
    const char *const *ignore_drift;
    /* Body JSON pointers ARM takes only when it creates the resource and
     * never changes afterwards (a Key Vault key's tags: ARM's key PUT
     * returns an existing key untouched). Sent on create; left out of the
     * body hash and of drift, so a change plans nothing rather than an
     * update that could never converge. NULL-terminated, or NULL. */
    const char *const *set_at_create;
    /* How long Azure usually takes to create it (seconds): the plan's
     * critical-path estimate, the bench, and when its create is first
     * polled (zt_arm_req.expected_ms). 0: unknown. An update's and a
     * delete's are its type's (zt_arm_expected_ms, zt_arm_durations.def). */
    int expected_seconds;
    /* Body JSON pointers that, when the body leaves them out, are copied
     * from the resource as it is right before an update PUT: inline child
     * collections that ARM would otherwise empty because other nodes own
     * the children. The engine already does this for VNet subnets and
     * peerings, NSG rules and route table routes. NULL-terminated, or NULL.
     * (Engine extension, not in the lead's first header.) */
    const char *const *preserve;
    /* ARM error codes that mean "not yet" for this node's PUT (e.g. an
     * authorization that depends on a role assignment still propagating):
     * the PUT is retried with backoff until it succeeds or the operation's
     * deadline passes, then fails saying so. NULL-terminated, or NULL.
     * (Engine extension for zerotrust_databricks_private_workspace.) */
    const char *const *retry_codes;
    /* ARM error codes that mean "this already exists" (409
     * RoleAssignmentExists): the PUT counts as done, and the resource is
     * read back, when ARM's message names this node's own resource name
     * (it is ours); otherwise the error stands. NULL-terminated, or NULL. */
    const char *const *exists_codes;
    /* Advice appended to a failed PUT's diagnostic, as triples {ARM error
     * code, text that must occur in ARM's message ("" : any; compared
     * case-insensitively), advice}. NULL-terminated, or NULL. */
    const char *const *error_hints;
    /* ARM offers no DELETE for this type (Microsoft.KeyVault/vaults/keys):
     * the node is never deleted on its own; it leaves the state when it is
     * deleted, which the engine orders before its parent, and ARM removes
     * it with that parent. */
    bool delete_with_parent;
    /* Azure soft-deletes this type (see zt_comp_soft_delete). NULL: no. */
    const zt_comp_soft_delete *soft_delete;
    /* The node owns items of a resource it shares with others (spokes'
     * rule collections in one rule collection group): the item names,
     * comma-separated; NULL callback: the node owns the whole resource.
     * The node's ID is then "<resource ID>#<names>", its body the resource
     * with its own items only; the engine writes them by read-modify-write
     * under the resource's etag, reads them out of the resource, and its
     * delete removes them (the resource with the last of them). NULL while
     * unknown. */
    const char *(*part)(const zt_comp_eval *ev);
    /* Plan-time check before a plan deletes an instance of this node (it
     * left the configuration), against Azure's view read with `get` (a
     * read that fails answers NULL: the check passes, the apply will say
     * what is wrong). Error diagnostics (zt_comp_diags) refuse the plan:
     * for what ARM would refuse on every apply. NULL: none. */
    void (*delete_check)(const zt_comp_eval *ev, const char *arm_id,
                         json_t *(*get)(void *getter, const char *arm_id), void *getter);
    /* Where an earlier release kept this node's resource (a spoke's own
     * rule collection group, before the shared groups). When import finds
     * nothing at the node's ID but a resource there, the state tracks that
     * one, as an upgraded state does: the next apply creates the node at
     * its ID, then deletes the former resource. NULL: none, or unknown. */
    const char *(*former_id)(const zt_comp_eval *ev);
} zt_comp_node_def;

/* A computed attribute filled from node outputs. */
typedef struct zt_comp_output_def {
    const char *attr;        /* state attribute name */
    /* Build the value (must match the schema type). Called at apply/read
     * with every node's outputs known; at plan it may return NULL for
     * "unknown". */
    const zt_cty_value *(*value)(const zt_comp_eval *ev);
} zt_comp_output_def;

typedef struct zt_composite_def {
    const char *type_name;           /* "zerotrust_hub" */
    const zt_comp_node_def *nodes;
    size_t n_nodes;
    const zt_comp_output_def *outputs;
    size_t n_outputs;
    /* The node whose ARM ID is the composite's id and import ID. */
    const char *id_node;
    /* State upgrades, one step per schema version (from 0 up to the schema's
     * version - 1), applied in order by UpgradeResourceState. */
    const struct zt_state_upgrade *upgrades;
    size_t n_upgrades;
    /* Plan-time checks of the configuration (unknowns possible: check what
     * is known). Diagnostics with attribute paths. May be NULL. */
    zt_rc (*validate)(zt_call *c, const zt_schema *s, const zt_cty_value *config);
    /* Import: rebuild the input attributes from ARM reads, starting at the
     * id_node's ARM ID. `get` performs an ARM GET (NULL body on 404). */
    zt_rc (*import)(zt_call *c, const zt_schema *s, const char *id,
                    json_t *(*get)(void *getter, const char *arm_id), void *getter,
                    const zt_cty_value **inputs);
    /* Plan-time checks that need Azure's view (the subnets a workspace is
     * injected into, what other resources already hold): called on every
     * plan that creates or updates the composite, after validate; prior is
     * NULL on a create (also the create half of a replace). `get` as for
     * import, but a read that fails only answers NULL (the check is
     * skipped: the plan must not depend on read permissions). Error
     * diagnostics with paths. May be NULL. */
    void (*plan_check)(zt_call *c, const zt_cty_value *config, const zt_cty_value *prior,
                       json_t *(*get)(void *getter, const char *arm_id), void *getter);
    /* Default timeouts (milliseconds) when the timeouts block is absent. */
    int64_t default_create_ms, default_update_ms, default_delete_ms, default_read_ms;
} zt_composite_def;

/* After `get` (import, plan_check) answered NULL: whether ARM said 404
 * (of the resource, or of its subscription: SubscriptionNotFound), rather
 * than the read failing otherwise. */
bool zt_comp_get_was_404(void *getter);
/* After `get` answered NULL: ARM's error code (and *message) for the
 * failure, or NULL (404 of the resource, no answer at all). */
const char *zt_comp_get_error(void *getter, const char **message);

/* ---- state upgrades ---------------------------------------------------------- */

/* What one step does to the stored state (its JSON object), as data. */
typedef enum zt_upgrade_op_kind {
    ZT_UPGRADE_RENAME, /* the value moves from `from` to `to` */
    ZT_UPGRADE_COPY,   /* `to` gets a copy of `from` (which stays) */
    ZT_UPGRADE_DROP,   /* `from` goes (a computed attribute the next refresh fills anew) */
} zt_upgrade_op_kind;

typedef struct zt_upgrade_op {
    zt_upgrade_op_kind kind;
    const char *from;
    const char *to;
} zt_upgrade_op;

/* Turns a state written with schema version `from_version` into one of
 * from_version + 1: the ops in order, then `fn` (may be NULL) for what ops
 * cannot say. Attributes the newer schema does not have are dropped, and
 * those it adds are null, when the result is decoded. */
typedef struct zt_state_upgrade {
    int64_t from_version;
    const zt_upgrade_op *ops;
    size_t n_ops;
    zt_rc (*fn)(zt_arena *a, json_t *state, zt_diags *d);
} zt_state_upgrade;

/* The state of `version` (raw JSON) as a value of the current schema. */
zt_rc zt_comp_upgrade_state(zt_call *c, const zt_composite_def *def, const zt_schema *s,
                            int64_t version, const char *json, size_t len,
                            const zt_cty_value **out);

/* NULL-terminated table of composites (zt_registry.c). */
extern const zt_composite_def *const zt_composites[];
const zt_composite_def *zt_composite_find(const char *type_name);

/* ---- the engine, called by the RPC layer ----------------------------------- */

typedef struct zt_comp_plan_req {
    const zt_cty_value *prior;      /* null on create */
    const zt_cty_value *proposed;   /* null on destroy */
    const zt_cty_value *config;     /* null on destroy */
    const void *prior_private;
    size_t prior_private_len;
} zt_comp_plan_req;

typedef struct zt_comp_plan_resp {
    const zt_cty_value *planned;
    zt_path **requires_replace;     /* attribute paths (inputs marked requires_replace that changed) */
    size_t n_requires_replace;
    const void *planned_private;
    size_t planned_private_len;
} zt_comp_plan_resp;

zt_rc zt_comp_validate(zt_call *c, const zt_composite_def *def, const zt_schema *s,
                       const zt_cty_value *config);
zt_rc zt_comp_plan(zt_call *c, const zt_composite_def *def, const zt_schema *s,
                   const zt_comp_plan_req *req, zt_comp_plan_resp *resp);

typedef struct zt_comp_apply_req {
    const zt_cty_value *prior;      /* null on create */
    const zt_cty_value *planned;    /* null on destroy */
    const zt_cty_value *config;
    const void *planned_private;
    size_t planned_private_len;
} zt_comp_apply_req;

typedef struct zt_comp_state {
    const zt_cty_value *state;      /* null after a complete destroy */
    const void *private_data;
    size_t private_len;
} zt_comp_state;

/* On failure: error diagnostics naming the node and ARM's error, and
 * resp holds the state of everything that exists (partial state; a null
 * state when a create left nothing behind). Destroy (planned null) returns
 * a null state, or on failure the prior state with private data tracking
 * what still exists. The ARM client is the provider's (zt_provider_arm). */
zt_rc zt_comp_apply(zt_call *c, const zt_composite_def *def, const zt_schema *s,
                    const zt_comp_apply_req *req, zt_comp_state *resp);
/* Refresh: one read per node (zt_arm_get_listed); drift recorded in private state; the
 * composite is gone (state null) only when none of its nodes exists, so
 * whatever a failed create left behind stays tracked. On failure the
 * state and private data are returned unchanged with error diagnostics. */
zt_rc zt_comp_read(zt_call *c, const zt_composite_def *def, const zt_schema *s,
                   const zt_cty_value *state, const void *priv, size_t priv_len,
                   zt_comp_state *resp);
zt_rc zt_comp_import(zt_call *c, const zt_composite_def *def, const zt_schema *s,
                     const char *id, zt_comp_state *resp);

/* Reads for a data source about what a composite created: fn gets a `get`
 * as import's (the provider's ARM client, the call's cancellation, def's
 * default read timeout; NULL on 404 and after an error diagnostic). */
typedef zt_rc (*zt_comp_reads_fn)(zt_call *c, json_t *(*get)(void *getter, const char *arm_id),
                                  void *getter, void *arg);
zt_rc zt_comp_reads(zt_call *c, const zt_composite_def *def, zt_comp_reads_fn fn, void *arg);

#endif
