/* zt_comp_policy.c - policy-aware plans: every underlying resource a plan
 * will PUT is evaluated (provider/policy) against the Azure Policy
 * assignments that apply to its scope, so that what Azure would refuse
 * with 403 RequestDisallowedByPolicy fails the plan instead of the middle
 * of an apply.
 *
 * Reads: the assignments listed at the resource group (ARM's
 * `$filter=atScope()` answers those there and at the subscription and
 * management groups above; the subscription when the group does not exist
 * yet), then the definitions and set definitions they name. Answers are
 * kept for the Terraform command (a few minutes at most), so a plan of many
 * resources reads each once. A read that fails skips the check with one
 * warning: a plan never fails because a policy could not be read.
 *
 * Bodies: what the plan will send. A body that depends on values known
 * only at apply is built again with those values as the evaluator's
 * placeholder (unknown, three-valued); one that cannot be built at all is
 * reported as not checked.
 *
 * Findings: Deny (enforced) is an error naming the assignment, the
 * definition, the node and the property; Deny not enforced
 * (enforcementMode DoNotEnforce), Audit, AuditIfNotExists,
 * DeployIfNotExists, Modify, what could not be evaluated and what depends
 * on unknown values are lines of one warning per resource. */
#include "zt_comp_internal.h"
#include "zt_log.h"
#include "zt_policy.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define POL_PLACEHOLDER "${zerotrust:known-after-apply}"
#define POL_DEADLINE_MS (30 * 1000)   /* what a plan waits for policy reads, at most */
#define POL_KEEP_MS (5 * 60 * 1000)   /* how long an answer is reused */
#define POL_KEEP_FAILED_MS (60 * 1000) /* ...and a failed read */
#define POL_MAX_LINES 40               /* warning lines per resource */

/* ---- process-wide cache of policy reads ----------------------------------------- */

typedef struct pol_entry {
    const char *key;      /* path?query, lower case */
    unsigned generation;  /* the provider configuration it was read under */
    json_t *doc;          /* the answer (a list: {"value": [...]}); NULL: 404 or failed */
    const char *error;    /* the failure, NULL when read (or 404) */
    int64_t at_ms;
} pol_entry;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static zt_arena *g_arena;
static pol_entry *g_entries;
static size_t g_n, g_cap;

/* Under g_lock: the fresh entry for key read by this Terraform command
 * (generation), else NULL. */
static pol_entry *cache_find(const char *key, unsigned generation)
{
    int64_t now = zt_arm_now_ms();
    for (size_t i = 0; i < g_n; i++) {
        pol_entry *e = &g_entries[i];
        if (strcmp(e->key, key) != 0 || e->generation != generation)
            continue;
        int64_t keep = e->error ? POL_KEEP_FAILED_MS : POL_KEEP_MS;
        return now - e->at_ms <= keep ? e : NULL;
    }
    return NULL;
}

/* Under g_lock: record an answer (the document's reference is taken). */
static void cache_put(const char *key, unsigned generation, json_t *doc, const char *error)
{
    if (!g_arena)
        g_arena = zt_arena_new();
    pol_entry *e = NULL;
    for (size_t i = 0; i < g_n && !e; i++)
        if (strcmp(g_entries[i].key, key) == 0)
            e = &g_entries[i];
    if (!e) {
        if (g_n == g_cap) {
            size_t nc = g_cap ? g_cap * 2 : 64;
            g_entries = zt_arena_realloc(g_arena, g_entries, g_cap * sizeof(*g_entries),
                                         nc * sizeof(*g_entries));
            g_cap = nc;
        }
        e = &g_entries[g_n++];
        e->key = zt_arena_strdup(g_arena, key);
        e->doc = NULL;
    }
    json_decref(e->doc); /* an older answer: nobody holds it outside the lock */
    e->doc = doc;
    e->error = error ? zt_arena_strdup(g_arena, error) : NULL;
    e->at_ms = zt_arm_now_ms();
    e->generation = generation;
}

/* ---- reads ------------------------------------------------------------------------- */

typedef struct pol_reader {
    zt_call *c;
    zt_arm_client *arm;
    int64_t deadline;
    unsigned generation;  /* the provider's: answers are reused within one command */
    unsigned reads;       /* ARM requests this check sent */
    const char *failure;  /* the first read that failed: why the check is skipped */
    zt_comp_policy_get get; /* reads answered by the caller, not ARM (NULL: ARM) */
    void *get_arg;
} pol_reader;

static void json_release(void *p) { json_decref(p); }

/* A new value owned by the arena (the reference is taken). */
static json_t *owned(zt_arena *a, json_t *v)
{
    if (v)
        zt_arena_on_free(a, json_release, v);
    return v;
}

/* One GET; a list's pages are followed and their values concatenated. */
static json_t *arm_get(pol_reader *r, const char *path, const char *type, const char *query,
                       bool *not_found, const char **error)
{
    json_t *out = NULL;
    *not_found = false;
    *error = NULL;
    for (const char *next = path; next;) {
        zt_arm_req req = {.method = ZT_ARM_GET, .path = next, .resource_type = type,
                          .query = next == path ? query : NULL, .deadline_ms = r->deadline,
                          .cancel = zt_call_cancel_flag(r->c)};
        zt_arm_resp resp;
        zt_rc rc = zt_arm_do(r->arm, r->c->arena, &req, &resp);
        r->reads += resp.attempts ? resp.attempts : 1;
        if (rc == ZT_ERR_NOTFOUND) {
            *not_found = true;
            json_decref(out);
            return NULL;
        }
        if (rc != ZT_OK) {
            *error = resp.error ? zt_arm_error_str(r->c->arena, resp.error)
                                : zt_arena_printf(r->c->arena, "%s", zt_rc_str(rc));
            json_decref(out);
            return NULL;
        }
        if (!query) /* a single resource */
            return json_incref(resp.body);
        if (!out)
            out = json_pack("{s:[]}", "value");
        json_array_extend(json_object_get(out, "value"), json_object_get(resp.body, "value"));
        next = json_string_value(json_object_get(resp.body, "nextLink"));
        next = next && *next ? zt_arena_strdup(r->c->arena, next) : NULL;
    }
    return out;
}

/* A read through the cache; NULL on 404 or failure (r->failure says
 * which). The answer lives as long as the call's arena. */
static const char *cache_key(zt_arena *a, const char *path, const char *query)
{
    char *key = (char *)zt_arena_printf(a, "%s?%s", path, query ? query : "");
    for (char *p = key; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    return key;
}

static const json_t *cached_get(pol_reader *r, const char *path, const char *type,
                                const char *query)
{
    if (r->get) {
        r->reads++;
        return r->get(r->get_arg, path, query);
    }
    const char *low = cache_key(r->c->arena, path, query);
    pthread_mutex_lock(&g_lock);
    pol_entry *e = cache_find(low, r->generation);
    const char *error = NULL;
    json_t *doc;
    if (e) {
        doc = json_incref(e->doc);
        error = e->error ? zt_arena_strdup(r->c->arena, e->error) : NULL;
    } else {
        bool not_found;
        doc = arm_get(r, path, type, query, &not_found, &error);
        cache_put(low, r->generation, json_incref(doc), error);
    }
    pthread_mutex_unlock(&g_lock);
    if (doc)
        zt_arena_on_free(r->c->arena, json_release, doc);
    if (error && !r->failure)
        r->failure = zt_arena_printf(r->c->arena, "reading %s: %s", path, error);
    return doc;
}

/* The assignments that apply at scope (its own and its ancestors'). */
static const json_t *assignments_at(pol_reader *r, const char *scope)
{
    return cached_get(r,
                      zt_arena_printf(r->c->arena,
                                      "%s/providers/Microsoft.Authorization/policyAssignments",
                                      scope),
                      "Microsoft.Authorization/policyAssignments", "$filter=atScope()");
}

static bool is_set_id(const char *id) { return id && strcasestr(id, "/policySetDefinitions/"); }

static const json_t *definition(pol_reader *r, const char *id)
{
    if (!id || !*id)
        return NULL;
    return cached_get(r, id,
                      is_set_id(id) ? "Microsoft.Authorization/policySetDefinitions"
                                    : "Microsoft.Authorization/policyDefinitions",
                      NULL);
}

#define POL_PARALLEL 16 /* member definitions read at once */

/* A set definition's members not cached yet, read in parallel into the
 * cache (a set has dozens: one round trip each would add seconds to a
 * plan). Failures are left to the reads that follow, which report them. */
static void prefetch(pol_reader *r, const json_t *refs, const char *type)
{
    if (r->get)
        return;
    zt_arena *a = r->c->arena;
    size_t n = json_array_size(refs);
    zt_arm_op *ops[POL_PARALLEL];
    const char *keys[POL_PARALLEL];
    pthread_mutex_lock(&g_lock);
    for (size_t first = 0; first < n; first += POL_PARALLEL) {
        size_t started = 0;
        for (size_t i = first; i < n && i < first + POL_PARALLEL; i++) {
            const char *id = json_string_value(
                json_object_get(json_array_get(refs, i), "policyDefinitionId"));
            const char *key = id ? cache_key(a, id, NULL) : NULL;
            if (!key || cache_find(key, r->generation))
                continue;
            zt_arm_req req = {.method = ZT_ARM_GET, .path = id, .resource_type = type,
                              .deadline_ms = r->deadline, .cancel = zt_call_cancel_flag(r->c)};
            if (zt_arm_start(r->arm, &req, &ops[started]) == ZT_OK)
                keys[started++] = key;
        }
        for (size_t i = 0; i < started; i++) {
            zt_arm_resp resp;
            zt_rc rc = zt_arm_wait(ops[i], a, &resp);
            r->reads += resp.attempts ? resp.attempts : 1;
            if (rc == ZT_OK || rc == ZT_ERR_NOTFOUND)
                cache_put(keys[i], r->generation, rc == ZT_OK ? json_incref(resp.body) : NULL,
                          NULL);
        }
    }
    pthread_mutex_unlock(&g_lock);
}

/* ---- assignments and their members ----------------------------------------------- */

typedef struct pol_member {
    const json_t *definition;
    json_t *params;          /* the definition's parameter values */
    const json_t *set;       /* the set definition it is a member of, or NULL */
} pol_member;

typedef struct pol_assignment {
    const char *id, *name, *scope;
    bool enforced;
    const json_t *not_scopes;
    pol_member *members;
    size_t n;
    const char *unreadable;  /* a definition it names could not be read */
} pol_assignment;

static const char *str_at(const json_t *doc, const char *k1, const char *k2)
{
    const json_t *v = json_object_get(doc, k1);
    if (k2)
        v = json_object_get(v, k2);
    return json_string_value(v);
}

/* {"p": {"value": v}} -> {"p": v} */
static json_t *values_of(zt_arena *a, const json_t *params)
{
    json_t *out = owned(a, json_object());
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)params, k, v)
    {
        json_t *val = json_object_get(v, "value");
        if (val)
            json_object_set(out, k, val);
    }
    return out;
}

static void add_member(zt_arena *a, pol_assignment *as, const json_t *d, json_t *params,
                       const json_t *set, size_t cap)
{
    if (as->n < cap)
        as->members[as->n++] = (pol_member){.definition = d, .params = params, .set = set};
}

/* A set definition's members, their parameters resolved from the set's. */
static void set_members(pol_reader *r, pol_assignment *as, const json_t *set, const json_t *given)
{
    zt_arena *a = r->c->arena;
    json_t *set_params = zt_pol_param_values(a, set, given);
    const json_t *refs = json_object_get(json_object_get(set, "properties"), "policyDefinitions");
    as->members = zt_arena_calloc(a, json_array_size(refs) + 1, sizeof(pol_member));
    prefetch(r, refs, "Microsoft.Authorization/policyDefinitions");
    size_t i;
    json_t *ref;
    json_array_foreach(refs, i, ref)
    {
        const char *id = str_at(ref, "policyDefinitionId", NULL);
        const json_t *d = definition(r, id);
        if (!d) {
            as->unreadable = zt_arena_printf(a, "its member %s could not be read", id ? id : "?");
            continue;
        }
        zt_pol_ctx x = {.a = a, .params = set_params, .api_version = ""};
        json_t *vals = owned(a, json_object());
        json_t *given_here = values_of(a, json_object_get(ref, "parameters"));
        const char *k;
        json_t *v;
        json_object_foreach(given_here, k, v)
        {
            zt_pol_result res;
            json_t *got = zt_pol_resolve(&x, v, &res);
            if (res == ZT_POL_TRUE && got)
                json_object_set(vals, k, got);
        }
        add_member(a, as, d, zt_pol_param_values(a, d, vals), set, json_array_size(refs));
    }
}

static pol_assignment read_assignment(pol_reader *r, const json_t *body)
{
    zt_arena *a = r->c->arena;
    const json_t *props = json_object_get(body, "properties");
    pol_assignment as = {
        .id = str_at(body, "id", NULL),
        .name = str_at(props, "displayName", NULL),
        .scope = str_at(props, "scope", NULL),
        .not_scopes = json_object_get(props, "notScopes"),
    };
    const char *mode = str_at(props, "enforcementMode", NULL);
    as.enforced = !mode || strcasecmp(mode, "Default") == 0;
    if (!as.name || !*as.name)
        as.name = str_at(body, "name", NULL);
    const char *def_id = str_at(props, "policyDefinitionId", NULL);
    const json_t *d = definition(r, def_id);
    json_t *given = values_of(a, json_object_get(props, "parameters"));
    if (!d) {
        as.unreadable = zt_arena_printf(a, "its definition %s could not be read",
                                        def_id ? def_id : "?");
        return as;
    }
    if (is_set_id(def_id)) {
        set_members(r, &as, d, given);
        return as;
    }
    as.members = zt_arena_calloc(a, 1, sizeof(pol_member));
    add_member(a, &as, d, zt_pol_param_values(a, d, given), NULL, 1);
    return as;
}

static bool covers(const char *scope, const char *id)
{
    size_t n = scope ? strlen(scope) : 0;
    while (n && scope[n - 1] == '/')
        n--;
    return n && strncasecmp(scope, id, n) == 0 && (id[n] == '\0' || id[n] == '/');
}

static bool excluded(const pol_assignment *as, const char *id)
{
    size_t i;
    json_t *ns;
    json_array_foreach(as->not_scopes, i, ns)
    {
        if (covers(json_string_value(ns), id))
            return true;
    }
    return false;
}

/* ---- the check ----------------------------------------------------------------------- */

typedef struct pol_target {
    const zt_comp_inst *in;
    const json_t *body;   /* NULL: not known at plan */
    const char *scope;    /* where assignments are listed */
} pol_target;

typedef struct pol_scope {
    const char *scope;
    pol_assignment *list;
    size_t n;
} pol_scope;

typedef struct pol_check {
    zt_comp_eval *ev;
    pol_scope *scopes;   /* one per target at most */
    size_t n_scopes;
    pol_reader r;
    zt_buf lines;
    size_t n_lines, n_more;
    size_t n_denied, n_audit, n_remediate, n_unsure, n_unknown_bodies;
    zt_buf unknown_bodies;
    zt_buf assignments;  /* "\n- name: ID" of those the lines name */
} pol_check;

/* The scope assignments are listed at: the resource group of the ID, else
 * its subscription; NULL for tenant-level IDs. */
static const char *scope_of(zt_arena *a, const char *id)
{
    if (!id || strncasecmp(id, "/subscriptions/", 15) != 0)
        return NULL;
    const char *p = strchr(id + 15, '/');
    if (!p)
        return zt_arena_strdup(a, id);
    if (strncasecmp(p, "/resourceGroups/", 16) != 0)
        return zt_arena_strndup(a, id, (size_t)(p - id));
    const char *end = strchr(p + 16, '/');
    return end ? zt_arena_strndup(a, id, (size_t)(end - id)) : zt_arena_strdup(a, id);
}

/* The planned body again, with what is known only at apply as the
 * evaluator's placeholder; NULL when even that cannot be built. Node
 * callbacks' diagnostics go to a scratch list. */
static json_t *body_with_placeholders(zt_comp_eval *ev, zt_comp_inst *in)
{
    zt_call *saved = ev->c;
    zt_diags scratch;
    zt_diags_init(&scratch, saved->arena);
    zt_call quiet = *saved;
    quiet.diags = &scratch;
    ev->c = &quiet;
    ev->placeholder = POL_PLACEHOLDER;
    json_t *saved_body = in->body;
    json_t *b = zt_comp_eval_body(ev, in);
    in->body = saved_body;
    ev->placeholder = NULL;
    ev->c = saved;
    return b;
}

static const char *node_label(zt_arena *a, const zt_comp_inst *in)
{
    return zt_arena_printf(a, "%s (%s)", in->key, in->def->arm_type);
}

static const char *display_name(const json_t *d)
{
    const char *n = str_at(json_object_get(d, "properties"), "displayName", NULL);
    return n && *n ? n : str_at(d, "name", NULL);
}

static void add_line(pol_check *k, const char *fmt, ...) ZT_PRINTF(2, 3);
static void add_line(pol_check *k, const char *fmt, ...)
{
    if (k->n_lines >= POL_MAX_LINES) {
        k->n_more++;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    if (s) {
        zt_buf_printf(&k->lines, "\n- %s", s);
        free(s);
    }
    k->n_lines++;
}

/* The composite's attribute a deciding property comes from: tags and
 * location are the composite's own inputs; other properties are set by
 * the composite itself (the detail names them). */
static const zt_path *property_path(const zt_comp_eval *ev, const char *property)
{
    zt_arena *a = ev->c->arena;
    if (!property)
        return NULL;
    if (strncasecmp(property, "tags", 4) == 0 && zt_cty_get_attr(ev->inputs, "tags"))
        return zt_path_attr(a, NULL, "tags");
    if (strcasecmp(property, "location") == 0 && zt_cty_get_attr(ev->inputs, "location"))
        return zt_path_attr(a, NULL, "location");
    return NULL;
}

static const char *property_text(zt_arena *a, const zt_pol_ctx *x)
{
    if (!x->property)
        return "";
    bool legacy;
    const char *path = zt_pol_alias_path(x->property, &legacy);
    char *v = x->property_value
                  ? json_dumps(x->property_value, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    const char *out = zt_arena_printf(a, "; deciding property: %s%s%s%s = %s", x->property,
                                      path ? " (" : "", path ? path : "", path ? ")" : "",
                                      v ? v : "absent");
    free(v);
    return out;
}

/* The assignment (with its ID for an error; a warning lists the IDs once
 * at its end) and the initiative a member came through. */
static const char *via_id(zt_arena *a, const pol_assignment *as, const pol_member *m, bool id)
{
    const char *set = m->set ? zt_arena_printf(a, ", initiative \"%s\"", display_name(m->set))
                             : "";
    return zt_arena_printf(a, "assignment \"%s\"%s%s%s%s", as->name ? as->name : "?",
                           id ? " (" : "", id && as->id ? as->id : "", id ? ")" : "", set);
}

static const char *via(pol_check *k, const pol_assignment *as, const pol_member *m)
{
    zt_arena *a = k->ev->c->arena;
    const char *line = zt_arena_printf(a, "\n- \"%s\": %s", as->name ? as->name : "?",
                                       as->id ? as->id : "?");
    if (!strstr(zt_buf_cstr(&k->assignments), line))
        zt_buf_puts(&k->assignments, line);
    return via_id(a, as, m, false);
}

static void report_deny(pol_check *k, const pol_target *t, const pol_assignment *as,
                        const pol_member *m, const zt_pol_ctx *x)
{
    zt_comp_eval *ev = k->ev;
    zt_arena *a = ev->c->arena;
    const char *dname = display_name(m->definition);
    if (!as->enforced) {
        k->n_audit++;
        add_line(k, "%s: would be denied by \"%s\" (%s), which is not enforced "
                 "(enforcementMode DoNotEnforce)%s", node_label(a, t->in), dname,
                 via(k, as, m), property_text(a, x));
        return;
    }
    k->n_denied++;
    zt_diag_error(ev->c->diags, property_path(ev, x->property),
                  zt_arena_printf(a, "Azure Policy denies %s: \"%s\"", t->in->key, dname),
                  "%s: the underlying resource %s, %s, would be refused by Azure "
                  "(403 RequestDisallowedByPolicy): policy definition \"%s\" (%s), %s, "
                  "effect Deny%s.\n\nChange the configuration, or have the assignment exempt "
                  "this resource. The provider's policy_plan_checks_enabled = false skips this "
                  "check; Azure still refuses the request at apply.",
                  zt_comp_who(ev), node_label(a, t->in), t->in->id,
                  dname, str_at(m->definition, "id", NULL), via_id(a, as, m, true),
                  property_text(a, x));
}

/* *IfNotExists, Modify and the like: decided by Azure after the request,
 * from related resources (details.type) the plan does not evaluate. */
static void related_line(pol_check *k, const pol_target *t, const pol_assignment *as,
                         const pol_member *m, const char *effect)
{
    zt_arena *a = k->ev->c->arena;
    const json_t *rule = json_object_get(json_object_get(m->definition, "properties"),
                                         "policyRule");
    const char *related = str_at(json_object_get(json_object_get(rule, "then"), "details"),
                                 "type", NULL);
    bool audit = strcasecmp(effect, "AuditIfNotExists") == 0;
    if (audit)
        k->n_audit++;
    else
        k->n_remediate++;
    add_line(k, "%s: %s by \"%s\" (%s): %s unless a related %s meets its existence condition",
             node_label(a, t->in), effect, display_name(m->definition), via(k, as, m),
             audit ? "reported non-compliant" : "Azure remediates", related ? related : "resource");
}

/* What one member of an assignment makes of one planned resource. */
static void check_member(pol_check *k, const pol_target *t, const pol_assignment *as,
                         const pol_member *m)
{
    zt_comp_eval *ev = k->ev;
    zt_arena *a = ev->c->arena;
    json_t *res = owned(a, json_deep_copy(t->body));
    const char *type = t->in->def->arm_type;
    /* a part of a shared resource is evaluated as that resource */
    const char *id = zt_comp_part_base(a, t->in->id);
    const char *slash = strrchr(id, '/');
    json_object_set_new(res, "id", json_string(id));
    json_object_set_new(res, "name", json_string(slash ? slash + 1 : id));
    json_object_set_new(res, "type", json_string(type));
    const char *api = zt_arm_api_version(type);
    /* subscription() is the resource's: a spoke's hub-side pieces are in
     * the hub's subscription, not the provider's. */
    const char *sub = ev->subscription;
    if (strncasecmp(id, "/subscriptions/", 15) == 0 && id[15] && id[15] != '/')
        sub = zt_arena_strndup(a, id + 15, strcspn(id + 15, "/"));
    zt_pol_ctx x = {
        .a = a,
        .resource = res,
        .params = m->params,
        .api_version = api ? api : "",
        .subscription = owned(a, json_pack("{s:s,s:s}", "subscriptionId", sub, "id",
                                                zt_arena_printf(a, "/subscriptions/%s", sub))),
        .indexed = zt_arm_type_tracked(type),
        .placeholder = POL_PLACEHOLDER,
    };
    const char *dname = display_name(m->definition);
    zt_pol_result hit = zt_pol_match(&x, m->definition);
    if (hit == ZT_POL_FALSE)
        return;
    const char *effect = hit == ZT_POL_UNEVALUABLE ? NULL : zt_pol_effect(&x, m->definition);
    if (hit == ZT_POL_UNEVALUABLE || !effect) {
        k->n_unsure++;
        add_line(k, "%s: \"%s\" (%s) could not be evaluated: %s", node_label(a, t->in), dname,
                 via(k, as, m), x.why ? x.why : "unsupported construct");
        return;
    }
    if (strcasecmp(effect, "Disabled") == 0)
        return;
    if (hit == ZT_POL_UNKNOWN) {
        if (strcasecmp(effect, "Deny") == 0 || strcasecmp(effect, "Audit") == 0) {
            k->n_unsure++;
            add_line(k, "%s: \"%s\" (%s, effect %s) depends on values known only after apply",
                     node_label(a, t->in), dname, via(k, as, m), effect);
        }
        return;
    }
    if (strcasecmp(effect, "Deny") == 0) {
        report_deny(k, t, as, m, &x);
    } else if (strcasecmp(effect, "Audit") == 0) {
        k->n_audit++;
        add_line(k, "%s: Audit by \"%s\" (%s): Azure will report it non-compliant%s",
                 node_label(a, t->in), dname, via(k, as, m), property_text(a, &x));
    } else {
        related_line(k, t, as, m, effect);
    }
}

/* The assignments that apply at a scope, read once per check. */
static const pol_scope *scope_assignments(pol_check *k, const char *scope)
{
    zt_arena *a = k->ev->c->arena;
    for (size_t i = 0; i < k->n_scopes; i++)
        if (strcasecmp(k->scopes[i].scope, scope) == 0)
            return &k->scopes[i];
    const json_t *list = assignments_at(&k->r, scope);
    const char *rg = strcasestr(scope, "/resourceGroups/");
    if (!list && !k->r.failure && rg) /* the group does not exist yet: its subscription's */
        list = assignments_at(&k->r, zt_arena_strndup(a, scope, (size_t)(rg - scope)));
    if (k->r.failure)
        return NULL;
    const json_t *items = json_object_get(list, "value");
    pol_scope *s = &k->scopes[k->n_scopes++];
    s->scope = scope;
    s->list = zt_arena_calloc(a, json_array_size(items) + 1, sizeof(pol_assignment));
    size_t i;
    json_t *body;
    json_array_foreach(items, i, body)
    {
        s->list[s->n++] = read_assignment(&k->r, body);
        if (k->r.failure)
            return NULL;
    }
    return s;
}

static void check_target(pol_check *k, const pol_target *t)
{
    zt_arena *a = k->ev->c->arena;
    const pol_scope *s = scope_assignments(k, t->scope);
    bool applies = false;
    for (size_t i = 0; s && i < s->n; i++) {
        const pol_assignment *as = &s->list[i];
        if (excluded(as, t->in->id))
            continue;
        applies = true;
        if (!t->body)
            continue;
        if (as->unreadable) {
            k->n_unsure++;
            add_line(k, "%s: assignment \"%s\" could not be evaluated: %s", node_label(a, t->in),
                     as->name ? as->name : "?", as->unreadable);
        }
        for (size_t j = 0; j < as->n; j++)
            check_member(k, t, as, &as->members[j]);
    }
    if (applies && !t->body) {
        zt_buf_printf(&k->unknown_bodies, "%s%s", k->n_unknown_bodies ? ", " : "", t->in->key);
        k->n_unknown_bodies++;
    }
}

static bool puts_something(const zt_comp_inst *in)
{
    return in->action == ZT_COMP_CREATE || in->action == ZT_COMP_UPDATE ||
           in->action == ZT_COMP_REPLACE || in->action == ZT_COMP_UNKNOWN;
}

static void summarize(pol_check *k)
{
    zt_comp_eval *ev = k->ev;
    zt_arena *a = ev->c->arena;
    if (k->n_unknown_bodies)
        add_line(k, "not checked at plan, its body depends on values known only after apply: %s",
                 zt_buf_cstr(&k->unknown_bodies));
    if (k->n_more)
        add_line(k, "and %zu more", k->n_more);
    if (!k->n_lines)
        return;
    zt_buf head;
    zt_buf_init(&head, a);
    const char *sep = "";
    struct { size_t n; const char *what; } parts[] = {
        {k->n_audit, "audited"}, {k->n_remediate, "remediated by Azure"},
        {k->n_unsure + k->n_unknown_bodies, "not decided at plan"},
    };
    for (size_t i = 0; i < ZT_ARRAY_LEN(parts); i++) {
        if (!parts[i].n)
            continue;
        zt_buf_printf(&head, "%s%zu %s", sep, parts[i].n, parts[i].what);
        sep = ", ";
    }
    zt_diag_warning(ev->c->diags, NULL,
                    zt_arena_printf(a, "%s: Azure Policy findings (%s)", zt_comp_who(ev),
                                    *zt_buf_cstr(&head) ? zt_buf_cstr(&head) : "notes"),
                    "The policy assignments that apply to the underlying resources this plan "
                    "creates or updates, evaluated against the planned bodies:%s%s%s",
                    zt_buf_cstr(&k->lines), *zt_buf_cstr(&k->assignments) ? "\n\nAssignments:" : "",
                    zt_buf_cstr(&k->assignments));
}

static void policy_check(zt_comp_eval *ev, zt_comp_policy_get get, void *get_arg)
{
    zt_call *c = ev->c;
    if (!c->provider || !c->provider->config.policy_plan_checks_enabled)
        return;
    pol_target *targets = zt_arena_calloc(c->arena, ev->graph.n + 1, sizeof(*targets));
    size_t n = 0;
    for (size_t i = 0; i < ev->graph.n; i++) {
        zt_comp_inst *in = &ev->graph.inst[i];
        if (!puts_something(in) || !in->id)
            continue;
        const char *scope = scope_of(c->arena, in->id);
        if (!scope)
            continue;
        json_t *body = in->body ? in->body : body_with_placeholders(ev, in);
        targets[n++] = (pol_target){.in = in, .body = body, .scope = scope};
    }
    if (!n)
        return;
    pol_check k = {.ev = ev, .scopes = zt_arena_calloc(c->arena, n, sizeof(pol_scope))};
    zt_buf_init(&k.lines, c->arena);
    zt_buf_init(&k.unknown_bodies, c->arena);
    zt_buf_init(&k.assignments, c->arena);
    zt_diags scratch;
    zt_diags_init(&scratch, c->arena);
    zt_call quiet = *c;
    quiet.diags = &scratch;
    k.r = (pol_reader){.c = &quiet, .deadline = zt_arm_deadline_in(POL_DEADLINE_MS),
                       .generation = atomic_load(&c->provider->generation), .get = get,
                       .get_arg = get_arg};
    if (!get && zt_provider_arm(&quiet, &k.r.arm) != ZT_OK)
        return; /* no credential: the plan says so elsewhere */
    for (size_t i = 0; i < n && !k.r.failure; i++)
        check_target(&k, &targets[i]);
    zt_log(ZT_LOG_DEBUG, ZT_COMP_LOG, "policy check", "type", ev->def->type_name, "reads",
           zt_arena_printf(c->arena, "%u", k.r.reads), "denied",
           zt_arena_printf(c->arena, "%zu", k.n_denied), NULL);
    if (k.r.failure) {
        zt_diag_warning(c->diags, NULL,
                        zt_arena_printf(c->arena, "%s: Azure Policy not checked at plan",
                                        zt_comp_who(ev)),
                        "The plan could not read the policy assignments that apply to its "
                        "resources, so it does not know whether Azure will refuse them "
                        "(RequestDisallowedByPolicy comes at apply then): %s. Reading them needs "
                        "Microsoft.Authorization/policyAssignments/read and policyDefinitions/"
                        "read (e.g. the Reader role); policy_plan_checks_enabled = false in the "
                        "provider block turns this check off.",
                        k.r.failure);
        return;
    }
    summarize(&k);
}

void zt_comp_policy_check(zt_comp_eval *ev)
{
    policy_check(ev, NULL, NULL);
}

void zt_comp_policy_check_with(zt_comp_eval *ev, zt_comp_policy_get get, void *arg)
{
    policy_check(ev, get, arg);
}
