/* zt_comp_internal.h - the composite engine's pieces shared between its
 * files and the unit tests. Not for resource implementations: they see
 * zt_composite.h only.
 *
 *   graph     the node table expanded for one set of inputs (instances,
 *             IDs, dependency edges, topological order)
 *   private   what the engine remembers per instance between RPCs
 *   eval      the context handed to node callbacks
 *   run       the parallel executor shared by apply, destroy and read
 */
#ifndef ZT_COMP_INTERNAL_H
#define ZT_COMP_INTERNAL_H

#include "zt_arm.h"
#include "zt_composite.h"

#include <pthread.h>

#define ZT_COMP_LOG "provider.composite"

/* ARM GETs for the import and plan_check hooks (zt_comp_get: NULL on 404,
 * and on failure after a diagnostic in the getter's call). */
typedef struct zt_comp_getter {
    zt_call *c;
    zt_arm_client *arm;
    int64_t deadline;
    bool not_found;   /* the last GET answered 404 */
    const char *error_code;    /* ARM's code for the last GET's failure, or NULL */
    const char *error_message;
} zt_comp_getter;

zt_rc zt_comp_getter_init(zt_comp_getter *g, zt_call *c, const zt_composite_def *def);
json_t *zt_comp_get(void *getter, const char *arm_id);

/* ---- private state --------------------------------------------------------- */

/* One node instance as last seen. Strings and JSON live in the call arena. */
typedef struct zt_comp_rec {
    const char *key;        /* "key" or "key[instance]" */
    const char *id;         /* ARM ID */
    bool exists;            /* created (or maybe created by a failed PUT) */
    bool drift;             /* the last refresh found ARM differing from the body */
    const char *hash;       /* SHA-256 of the body last applied; "" forces a PUT */
    /* The body ARM returned (GET/PUT) in this call, or NULL: the private
     * state keeps only what later calls ask of it (kept, diffs). */
    json_t *outputs;
    /* {pointer: value} of the pointers other nodes and the composite's
     * outputs read (zt_comp_output), null where ARM had none; NULL when
     * nothing was kept. */
    json_t *kept;
    /* {pointer: ARM's value} where ARM differed from the body at the last
     * read or apply (the desired body's leaves, as zt_comp_diffs finds
     * them; null where ARM had none): with the body under the prior
     * inputs, what ARM has at every leaf the plan explains. */
    json_t *diffs;
    bool slim;              /* decoded without ARM's body: kept is all there is */
    json_t *create_only;    /* {pointer: value} of create_only pointers applied */
} zt_comp_rec;

typedef struct zt_comp_priv {
    zt_comp_rec *recs;
    size_t n, cap;
} zt_comp_priv;

/* Empty or absent bytes give an empty table; a malformed document is an
 * error diagnostic (private state is ours, so that is a provider bug). */
zt_rc zt_comp_priv_decode(zt_arena *a, zt_diags *d, const void *data, size_t len,
                          zt_comp_priv *out);
/* Deterministic bytes (records sorted by key, keys sorted). */
void zt_comp_priv_encode(zt_arena *a, const zt_comp_priv *p, const void **data, size_t *len);
zt_comp_rec *zt_comp_priv_get(const zt_comp_priv *p, const char *key);
/* The record for key, added (not existing) when absent. */
zt_comp_rec *zt_comp_priv_put(zt_arena *a, zt_comp_priv *p, const char *key);
void zt_comp_priv_remove(zt_comp_priv *p, const char *key);
/* Whether some record exists (or may: a failed PUT or DELETE). */
bool zt_comp_priv_any(const zt_comp_priv *p);
/* A deep copy (records and their JSON) for a state that must not change
 * while another is built. */
void zt_comp_priv_copy(zt_arena *a, const zt_comp_priv *src, zt_comp_priv *dst);
/* Before encoding: every record that holds ARM's whole body (read or
 * applied in this call) keeps only the pointers ev was asked for, those it
 * kept before, a provisioning state other than Succeeded, and where ARM
 * differs from its instance's body (in->body, when built). */
void zt_comp_priv_slim(zt_comp_eval *ev);
/* ARM's body as the plan explains it: outputs when read in this call,
 * else `prior` (the body under the prior inputs, may be NULL) with diffs
 * and the kept provisioning state laid over it. In the call arena. */
json_t *zt_comp_rec_actual(zt_arena *a, const zt_comp_rec *r, const json_t *prior);

/* ---- parts of shared resources (zt_comp_part.c) ----------------------------- */

/* A part node's ID: "<shared resource ID>#<item>,<item>". Split it (false
 * when id has no part), in a. */
bool zt_comp_part_split(zt_arena *a, const char *id, const char **base, const char ***names,
                        size_t *n);
/* The shared resource's ID of a part ID; other IDs as given. */
const char *zt_comp_part_base(zt_arena *a, const char *id);

typedef struct zt_comp_part_io {
    zt_arm_client *arm;
    zt_arena *a;                /* the calling thread's: out strings */
    const char *arm_type;       /* the shared resource's type (NULL: derived) */
    const char *serial;         /* its serialization scope */
    int64_t deadline_ms;
    const atomic_bool *cancel;
    /* out */
    json_t *result;             /* the resource with this part's items only (new reference) */
    const char *error, *error_code, *error_message;
    bool maybe_written;
} zt_comp_part_io;

/* Write the part's items as body has them (body NULL: remove them; the
 * resource goes with its last items), by read-modify-write under the
 * resource's etag, coalesced with the other writes to the same resource
 * in this process. */
zt_rc zt_comp_part_write(zt_comp_part_io *io, const char *id, const json_t *body);
/* The resource with this part's items only; ZT_ERR_NOTFOUND when none of
 * them (or the resource) exists. listed: a refresh's read, which a list
 * read of the resource's collection may serve (zt_arm_get_listed). */
zt_rc zt_comp_part_get(zt_comp_part_io *io, const char *id, bool listed);

/* ---- graph ---------------------------------------------------------------- */

typedef enum zt_comp_action {
    ZT_COMP_NONE = 0,
    ZT_COMP_CREATE,
    ZT_COMP_UPDATE,
    ZT_COMP_REPLACE,  /* a create_only pointer changed: delete, then create */
    ZT_COMP_DELETE,
    ZT_COMP_UNKNOWN   /* plan only: the body depends on values not known yet */
} zt_comp_action;

const char *zt_comp_action_name(zt_comp_action a);

typedef struct zt_comp_inst {
    const zt_comp_node_def *def;
    const char *instance;      /* "" for single nodes */
    const char *key;           /* "key" or "key[instance]" */
    const char *id;            /* NULL while unknown (an input is unknown) */
    bool id_done, id_busy;     /* lazy ID computation (parents may refer to others) */
    size_t *deps;              /* indexes of the instances this one waits for */
    size_t n_deps;
    /* Per-operation scratch. */
    zt_comp_action action;
    json_t *body;              /* desired body, NULL when unknown */
    const char *hash;
} zt_comp_inst;

typedef struct zt_comp_graph {
    zt_comp_inst *inst;
    size_t n;
    size_t *order;             /* topological order (dependencies first) */
} zt_comp_graph;

/* Definition checks every composite must pass (unit-tested over the
 * registry): unique node keys, known dependencies, no cycles, an id_node,
 * required callbacks present. */
zt_rc zt_comp_def_check(const zt_composite_def *def, zt_diags *d);
const zt_comp_node_def *zt_comp_def_node(const zt_composite_def *def, const char *key);

/* Expand def for ev's inputs into ev->graph (instances in table order,
 * edges to every instance of each dependency, topological order). */
zt_rc zt_comp_graph_build(zt_comp_eval *ev);
ssize_t zt_comp_graph_find(const zt_comp_graph *g, const char *key);
/* "firewall" of "zone_link[x]" (the node definition's key). */
const char *zt_comp_key_node(zt_arena *a, const char *inst_key);

/* ---- evaluation context ----------------------------------------------------- */

typedef enum zt_comp_mode { ZT_COMP_PLAN = 1, ZT_COMP_APPLY, ZT_COMP_READ } zt_comp_mode;

struct zt_comp_eval {
    zt_call *c;
    const zt_composite_def *def;
    const zt_schema *s;
    const zt_cty_value *inputs;   /* planned/state object */
    const zt_cty_value *config;   /* for write-only inputs at apply; may be NULL */
    const char *subscription;
    zt_comp_mode mode;
    zt_comp_graph graph;
    zt_comp_priv priv;
    zt_comp_inst *cur;            /* instance being evaluated, NULL at top level */
    bool id_unknown;              /* some ID could not be computed */
    bool expanding;               /* enabled/for_each callbacks are running */
    bool shape_unknown;           /* ...and looked at an input not known yet */
    /* Plan only, for the policy check: what is known only after apply
     * (outputs of nodes being created, unknown string inputs and tag
     * values) is given out as this string instead of NULL. NULL: off. */
    const char *placeholder;
    /* {node key: {pointer: true}} asked of zt_comp_output in this call:
     * what the private state keeps of ARM's bodies. */
    json_t *asked;
};

void zt_comp_eval_init(zt_comp_eval *ev, zt_call *c, const zt_composite_def *def,
                       const zt_schema *s, const zt_cty_value *inputs, zt_comp_mode mode);
/* The subscription from the provider configuration; an error diagnostic
 * when it is missing. */
zt_rc zt_comp_eval_subscription(zt_comp_eval *ev);
/* Run a node callback for one instance (sets ev->cur). */
json_t *zt_comp_eval_body(zt_comp_eval *ev, zt_comp_inst *in);
const char *zt_comp_eval_str(zt_comp_eval *ev, zt_comp_inst *in,
                             const char *(*fn)(const zt_comp_eval *ev));
const char *zt_comp_eval_id(zt_comp_eval *ev, zt_comp_inst *in);

/* ---- bodies ---------------------------------------------------------------- */

/* SHA-256 (hex) of the canonical (sorted, compact) JSON text, without
 * the node's set_at_create pointers (def may be NULL). */
const char *zt_comp_body_hash(zt_arena *a, const zt_comp_node_def *def, const json_t *body);
/* RFC 6901 pointer lookup; NULL when absent. */
json_t *zt_comp_json_ptr(const json_t *doc, const char *ptr);
/* Remove doc[ptr] (object members only), if there. */
void zt_comp_json_del(json_t *doc, const char *ptr);
/* body[ptr] = v (body takes a reference of its own), creating intermediate objects; arrays
 * are not traversed (inline collections hang off objects). */
void zt_comp_json_set(json_t *body, const char *ptr, json_t *v);
/* {pointer: value} of the create_only pointers present in body. */
json_t *zt_comp_create_only(zt_arena *a, const zt_comp_node_def *def, const json_t *body);
/* Does ARM's actual body differ from the desired one? Only leaves of the
 * desired body count; ignore_drift pointers and ARM-managed properties are
 * skipped; IDs and locations compare case-insensitively. *where gets the
 * first differing pointer. */
bool zt_comp_drifted(zt_arena *a, const zt_comp_node_def *def, const json_t *desired,
                     const json_t *actual, const char **where);

/* One leaf where ARM's body differs from the desired one (want absent
 * from ARM: have NULL). */
typedef struct zt_comp_diff {
    const char *ptr;
    const json_t *want, *have;
} zt_comp_diff;

/* As zt_comp_drifted, every differing leaf: up to max into out (in the
 * desired body's order); *total gets how many there are. */
size_t zt_comp_diffs(zt_arena *a, const zt_comp_node_def *def, const json_t *desired,
                     const json_t *actual, zt_comp_diff *out, size_t max, size_t *total);

/* The pointers to preserve on an update PUT of this node (built-in
 * inline collections of its type plus the def's own); NULL when none. */
const char **zt_comp_preserve_list(zt_arena *a, const zt_comp_node_def *def);
/* Copy the preserve pointers absent from body from current into body. */
void zt_comp_preserve(json_t *body, const json_t *current, const char *const *ptrs);

/* ---- actions (shared by plan and apply) ------------------------------------ */

/* What to do with one instance whose body is known (or not: UNKNOWN at
 * plan, then a PUT at apply). */
zt_comp_action zt_comp_decide(zt_comp_eval *ev, zt_comp_inst *in, const zt_comp_rec *r);
/* CREATE for a child of a node being replaced (ARM deletes children with
 * their parent), else action unchanged. Dependencies' actions must be set. */
zt_comp_action zt_comp_cascade(const zt_comp_eval *ev, const zt_comp_inst *in,
                               zt_comp_action action);

/* ---- plan detail (zt_comp_explain.c) --------------------------------------------- */

/* Plan warnings for an update whose actions are decided: every node
 * replaced or deleted with what that costs, and every other change with
 * the properties it sets (drift to repair or configuration); prior is the
 * state before the plan. */
void zt_comp_explain(zt_comp_eval *ev, const zt_cty_value *prior);

/* "zerotrust_hub \"weu\"" (the name input), for diagnostics. */
const char *zt_comp_who(const zt_comp_eval *ev);

/* ---- policy-aware plans (zt_comp_policy.c) ------------------------------------------ */

/* The instances a plan will PUT evaluated against the Azure Policy
 * assignments that apply to their scopes (unless the provider's
 * policy_plan_checks_enabled is false): an enforced Deny is an error
 * diagnostic with the attribute path, the other findings one warning;
 * reads that fail skip the check with a warning. */
void zt_comp_policy_check(zt_comp_eval *ev);
/* The same check with its reads answered by `get` instead of ARM (path and
 * query as ARM would get them; NULL: 404), nothing cached: for the fuzz
 * target (tests/fuzz/fuzz_comp_policy.c), which gives it hostile
 * assignments and definitions. */
typedef const json_t *(*zt_comp_policy_get)(void *arg, const char *path, const char *query);
void zt_comp_policy_check_with(zt_comp_eval *ev, zt_comp_policy_get get, void *arg);

/* ---- parallel executor -------------------------------------------------------- */

/* One ARM operation per task: a thread of its own runs the steps, the
 * scheduler (the RPC's thread) decides what starts next. */
typedef enum zt_comp_op { ZT_COMP_OP_PUT = 1, ZT_COMP_OP_DELETE, ZT_COMP_OP_GET,
                          ZT_COMP_OP_REPLACE } zt_comp_op;

typedef struct zt_comp_task {
    /* in */
    zt_comp_op op;
    const char *key;
    const char *id;
    const char *arm_type;
    const char *serial;         /* serialization scope or NULL */
    /* Azure's usual duration of the task's PUT (a create's: the node's; an
     * update's: its type's, zt_arm_expected_ms) and of its DELETE; 0: unknown */
    int64_t expected_ms;
    int64_t expected_delete_ms;
    json_t *body;               /* PUT body (a reference the task drops) */
    const char **preserve;      /* pointers to copy from the current resource (update) */
    const char *const *retry_codes;  /* the node's "not yet" codes (PUT retried) */
    const char *const *exists_codes; /* the node's "already exists" codes */
    /* a create that a soft-deleted resource may block: its ID and the
     * body that recovers it (NULL: no recovery) */
    const zt_comp_soft_delete *soft_delete;
    const char *recover_id;
    json_t *recover_body;       /* a reference the task drops */
    /* out (valid after completion, in the call arena) */
    zt_rc rc;
    json_t *result;             /* the resource after PUT / GET (owned by the arena) */
    const char *error;          /* ARM's code and message */
    const char *error_code;
    bool maybe_written;         /* a failed PUT may still have created something */
    const char *error_message;  /* ARM's message alone (for the node's error hints) */
    /* complete: set by the scheduler once the result is merged; the only
     * flag callbacks may read (done is the worker's, under the run lock). */
    bool complete;
    bool started, done;
    /* scheduler-private */
    size_t index;
    int64_t deadline_ms;
    zt_arm_client *arm;
    const atomic_bool *cancel;
    void *run;
    pthread_t thread;
} zt_comp_task;

/* The scheduling callbacks: ready(i) says whether task i may start now
 * (its dependencies are done) and prepares it; finished(i) merges its
 * result. The runner stops starting tasks after the first failure
 * (stop_on_error) but always waits for those in flight. */
typedef struct zt_comp_sched {
    size_t n;
    zt_comp_task *tasks;
    bool (*ready)(void *arg, size_t i);
    void (*finished)(void *arg, size_t i);
    void *arg;
    bool stop_on_error;
} zt_comp_sched;

/* Returns ZT_OK when every task that ran succeeded (404 counts as success
 * for GET/DELETE: see task rc), otherwise the first failure's rc. */
zt_rc zt_comp_run(zt_call *c, zt_arm_client *arm, int64_t deadline_ms, zt_comp_sched *s);

/* ---- timeouts ------------------------------------------------------------------ */

/* A Go duration ("45m", "1h30m", "1.5h", "300ms") in milliseconds. */
zt_rc zt_comp_parse_duration(const char *s, int64_t *ms);
typedef enum zt_comp_timeout { ZT_COMP_T_CREATE, ZT_COMP_T_UPDATE, ZT_COMP_T_DELETE,
                               ZT_COMP_T_READ } zt_comp_timeout;
/* The timeouts block value of state/config (or the def's default, or 60
 * minutes). Validation diagnostics come from zt_comp_check_timeouts. */
int64_t zt_comp_timeout_ms(const zt_composite_def *def, const zt_cty_value *obj,
                           zt_comp_timeout which);
zt_rc zt_comp_check_timeouts(zt_call *c, const zt_cty_value *config);

/* ---- state values ------------------------------------------------------------ */

/* The state object: inputs from base, the engine's attributes and the
 * def's outputs computed with ev (unknown outputs become null when
 * wholly_known is asked: apply and read results must be wholly known). */
const zt_cty_value *zt_comp_state_value(zt_comp_eval *ev, const zt_cty_value *base,
                                        const zt_cty_value *changes, bool wholly_known);
const zt_cty_value *zt_comp_resources_map(zt_comp_eval *ev);
/* underlying_changes: node key -> action for every instance whose action
 * is not "none", and "delete" for the records of `before` that exist and
 * are no longer instances; unknown as a whole while an action or the set
 * of instances is. *all_none when nothing at all happens. */
const zt_cty_value *zt_comp_changes(zt_comp_eval *ev, const zt_comp_priv *before, bool *all_none);

/* Replace every unknown inside v by null of its type. */
const zt_cty_value *zt_comp_unknown_to_null(zt_arena *a, const zt_cty_value *v);
const zt_cty_value *zt_comp_set_attr(zt_arena *a, const zt_cty_value *obj, const char *name,
                                     const zt_cty_value *val);

/* The prior state's private data merged with ARM's answers, then state;
 * *gone when no node exists any more. */
zt_rc zt_comp_refresh(zt_comp_eval *ev, bool import, bool *gone);
void zt_comp_finish_state(zt_comp_eval *ev, const zt_cty_value *v, zt_comp_state *resp);

#endif
