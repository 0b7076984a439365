/* zt_governance_import.c - terraform import for zerotrust_governance:
 * rebuild every input attribute from ARM reads, starting at the Log
 * Analytics workspace's ARM ID (.../workspaces/log-<name>).
 *
 * The other resources are named after the layer, so each is one GET:
 * action group (e-mails, webhook), alerts (their settings), the policy set
 * definition (required tags), the assignments (found by name in the
 * subscription's list: their scopes, enforcement mode, effect overrides,
 * allowed locations) and the budget (at the subscription, else the
 * workspace's resource group). Optional inputs at their default come back
 * null, so the configuration that created the layer plans no change.
 */
#include "zt_governance.h"

#include "zt_res.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef struct zt_gov_imp {
    zt_res_reader r;
    zt_call *c;
    const zt_schema *s;
    const char *sub;      /* subscription ID */
    const char *rg_id;    /* /subscriptions/<s>/resourceGroups/<g> */
    const char *name;     /* the "name" input */
    zt_res_inputs in;
} zt_gov_imp;

static json_t *zt_gov_imp_get(zt_gov_imp *m, const char *fmt, const char *a, const char *b)
{
    return zt_res_read(&m->r, zt_arena_printf(m->c->arena, fmt, a, b));
}

static void zt_gov_imp_set(zt_gov_imp *m, const char *attr, const zt_cty_value *v)
{
    zt_res_inputs_set(&m->in, attr, v);
}

/* list(string) of the JSON array's strings (at `field` of each element
 * when field is set). */
static const zt_cty_value *zt_gov_imp_strings(zt_gov_imp *m, const json_t *arr, const char *field)
{
    zt_arena *a = m->c->arena;
    size_t n = json_array_size(arr), k = 0;
    const zt_cty_value **v = zt_arena_calloc(a, n + 1, sizeof(*v));
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(arr, i);
        const char *s = field ? zt_res_jstr(e, field) : json_string_value(e);
        if (s)
            v[k++] = zt_cty_string(a, s);
    }
    return zt_cty_list(a, &zt_cty_string_type, k, v);
}

static bool zt_gov_imp_same_strings(const zt_cty_value *x, const zt_cty_value *y)
{
    return x && y && zt_cty_equal(x, y);
}

static const zt_cty_value *zt_gov_imp_int(zt_gov_imp *m, int64_t v, int64_t dflt)
{
    return v == dflt ? zt_cty_null(m->c->arena, &zt_cty_number_type)
                     : zt_cty_number_int(m->c->arena, v);
}

static const zt_res_id_shape zt_gov_imp_shape = {
    "Microsoft.OperationalInsights", "workspaces", "log-", "Log Analytics workspace",
    "zerotrust_governance workspace", "zerotrust_governance"};

static zt_rc zt_gov_imp_parse(zt_gov_imp *m, const char *id)
{
    zt_res_import_id pid;
    ZT_TRY(zt_res_parse_import_id(m->c, id, &zt_gov_imp_shape, &pid));
    m->sub = pid.sub;
    m->rg_id = pid.rg_id;
    m->name = pid.name;
    zt_gov_imp_set(m, "name", zt_cty_string(m->c->arena, m->name));
    zt_gov_imp_set(m, "resource_group_name", zt_cty_string(m->c->arena, pid.rg));
    return ZT_OK;
}

static const zt_cty_value *zt_gov_imp_alert(zt_gov_imp *m, const zt_gov_alert *al,
                                            const json_t *rule, const zt_cty_type *t)
{
    zt_arena *a = m->c->arena;
    const json_t *p = json_object_get(rule, "properties");
    const json_t *cond = zt_res_jget(p, "criteria/allOf/0");
    json_t *en = json_object_get(p, "enabled");
    const char *names[] = {"enabled", "severity", "window_minutes", "frequency_minutes",
                           "threshold"};
    const zt_cty_value *vals[] = {
        json_is_false(en) ? zt_cty_bool(a, false) : zt_cty_null(a, &zt_cty_bool_type),
        zt_gov_imp_int(m, json_integer_value(json_object_get(p, "severity")), al->severity),
        zt_gov_imp_int(m, zt_gov_minutes(zt_res_jstr(p, "windowSize")), al->window),
        zt_gov_imp_int(m, zt_gov_minutes(zt_res_jstr(p, "evaluationFrequency")), al->frequency),
        zt_gov_imp_int(m, json_integer_value(json_object_get(cond, "threshold")), al->threshold),
    };
    for (size_t i = 0; i < ZT_ARRAY_LEN(vals); i++)
        if (!vals[i]->is_null) {
            zt_res_inputs in = {.names = names, .vals = vals, .n = ZT_ARRAY_LEN(names)};
            return zt_res_inputs_object(a, t, &in);
        }
    return NULL; /* every setting at its default: left out of the map */
}

static void zt_gov_imp_alerts(zt_gov_imp *m)
{
    zt_arena *a = m->c->arena;
    ssize_t idx = zt_cty_type_attr_index(m->s->type, "alerts");
    const zt_cty_type *mt = idx >= 0 ? m->s->type->types[idx] : NULL;
    if (!mt)
        return;
    const char **keys = zt_arena_calloc(a, zt_gov_n_alerts + 1, sizeof(*keys));
    const zt_cty_value **vals = zt_arena_calloc(a, zt_gov_n_alerts + 1, sizeof(*vals));
    size_t n = 0;
    for (size_t i = 0; i < zt_gov_n_alerts; i++) {
        const zt_gov_alert *al = &zt_gov_alerts[i];
        json_t *rule = zt_gov_imp_get(m, "%s/providers/Microsoft.Insights/scheduledQueryRules/%s",
                                      m->rg_id, zt_arena_printf(a, "alert-%s-%s", m->name,
                                                                al->key));
        const zt_cty_value *v = rule ? zt_gov_imp_alert(m, al, rule, mt->elem) : NULL;
        if (v) {
            keys[n] = al->key;
            vals[n++] = v;
        }
    }
    zt_gov_imp_set(m, "alerts", n ? zt_cty_map(a, mt->elem, n, keys, vals) : zt_cty_null(a, mt));
}

/* The assignments: scopes, and from the first one the enforcement mode,
 * the effect overrides and the allowed locations. */
static void zt_gov_imp_assignments(zt_gov_imp *m, const char *location)
{
    zt_arena *a = m->c->arena;
    const char *want = zt_arena_printf(a, "zt-%s-guardrails", m->name);
    json_t *list = zt_res_read_list(&m->r, zt_arena_printf(
        a, "/subscriptions/%s/providers/Microsoft.Authorization/policyAssignments", m->sub));
    json_t *first = NULL, *item;
    const zt_cty_value **scopes = zt_arena_calloc(a, json_array_size(list) + 1, sizeof(*scopes));
    size_t n = 0, i;
    json_array_foreach(list, i, item)
    {
        const char *nm = zt_res_jstr(item, "name");
        const char *scope = zt_res_jstr(item, "properties/scope");
        if (!nm || strcasecmp(nm, want) != 0 || !scope)
            continue;
        scopes[n++] = zt_cty_string(a, scope);
        first = first ? first : item;
    }
    const char *sub_id = zt_arena_printf(a, "/subscriptions/%s", m->sub);
    bool just_sub = n == 1 && strcasecmp(scopes[0]->u.str.ptr, sub_id) == 0;
    if (n && !just_sub)
        zt_gov_imp_set(m, "policy_scope_ids", zt_cty_list(a, &zt_cty_string_type, n, scopes));
    if (!first)
        return;
    const char *mode = zt_res_jstr(first, "properties/enforcementMode");
    if (mode && strcmp(mode, "Default") != 0)
        zt_gov_imp_set(m, "policy_enforcement_mode", zt_cty_string(a, mode));
    const json_t *params = zt_res_jget(first, "properties/parameters");
    const zt_cty_value *locs = zt_gov_imp_strings(
        m, zt_res_jget(params, ZT_GOV_PARAM_LOCATIONS "/value"), NULL);
    const zt_cty_value *loc1[] = {location ? zt_cty_string(a, location) : NULL};
    const zt_cty_value *dflt = location ? zt_cty_list(a, &zt_cty_string_type, 1, loc1) : NULL;
    if (locs->u.coll.n && !zt_gov_imp_same_strings(locs, dflt))
        zt_gov_imp_set(m, "allowed_locations", locs);
    const char *k;
    json_t *v;
    size_t ne = 0, cap = json_object_size(params) + 1;
    const char **ek = zt_arena_calloc(a, cap, sizeof(*ek));
    const zt_cty_value **evals = zt_arena_calloc(a, cap, sizeof(*evals));
    json_object_foreach((json_t *)params, k, v)
    {
        const char *val = zt_res_jstr(v, "value");
        if (strncmp(k, ZT_GOV_EFFECT_PARAM, strlen(ZT_GOV_EFFECT_PARAM)) == 0 && val) {
            ek[ne] = zt_arena_strdup(a, k + strlen(ZT_GOV_EFFECT_PARAM));
            evals[ne++] = zt_cty_string(a, val);
        }
    }
    if (ne)
        zt_gov_imp_set(m, "policy_effects", zt_cty_map(a, &zt_cty_string_type, ne, ek, evals));
}

/* required_tags: the tag names of the set's require-tag members. */
static void zt_gov_imp_tags(zt_gov_imp *m)
{
    zt_arena *a = m->c->arena;
    json_t *set = zt_gov_imp_get(m, "/subscriptions/%s/providers/Microsoft.Authorization/"
                                    "policySetDefinitions/%s", m->sub,
                                 zt_arena_printf(a, "zt-%s-guardrails", m->name));
    json_t *defs = zt_res_jget(set, "properties/policyDefinitions"), *d;
    const zt_cty_value **tags = zt_arena_calloc(a, json_array_size(defs) + 1, sizeof(*tags));
    size_t n = 0, i;
    json_array_foreach(defs, i, d)
    {
        const char *ref = zt_res_jstr(d, "policyDefinitionReferenceId");
        const char *tag = zt_res_jstr(d, "parameters/tagName/value");
        if (ref && tag && strncmp(ref, ZT_GOV_TAG_REF, strlen(ZT_GOV_TAG_REF)) == 0)
            tags[n++] = zt_cty_string(a, tag);
    }
    if (!set)
        return;
    const zt_cty_value *have = zt_cty_list(a, &zt_cty_string_type, n, tags);
    const zt_cty_value **dv = zt_arena_calloc(a, 5, sizeof(*dv));
    for (size_t j = 0; j < ZT_ARRAY_LEN(zt_gov_default_tags); j++)
        dv[j] = zt_cty_string(a, zt_gov_default_tags[j]);
    if (!zt_gov_imp_same_strings(have, zt_cty_list(a, &zt_cty_string_type, 4, dv)))
        zt_gov_imp_set(m, "required_tags", have);
}

static void zt_gov_imp_budget(zt_gov_imp *m, const zt_cty_value *emails)
{
    zt_arena *a = m->c->arena;
    const char *name = zt_arena_printf(a, "budget-%s", m->name);
    const char *at = zt_arena_printf(a, "/subscriptions/%s", m->sub);
    json_t *b = zt_gov_imp_get(m, "%s/providers/Microsoft.Consumption/budgets/%s", at, name);
    if (!b) {
        at = m->rg_id;
        b = zt_gov_imp_get(m, "%s/providers/Microsoft.Consumption/budgets/%s", at, name);
    }
    if (!b)
        return;
    if (at == m->rg_id)
        zt_gov_imp_set(m, "budget_scope_id", zt_cty_string(a, at));
    int64_t amount = (int64_t)json_number_value(zt_res_jget(b, "properties/amount"));
    zt_gov_imp_set(m, "budget_amount", zt_gov_imp_int(m, amount, ZT_GOV_DEFAULT_BUDGET));
    const zt_cty_value *contacts = zt_gov_imp_strings(
        m, zt_res_jget(b, "properties/notifications/actual_80/contactEmails"), NULL);
    if (contacts->u.coll.n && !zt_gov_imp_same_strings(contacts, emails))
        zt_gov_imp_set(m, "budget_contact_emails", contacts);
}

zt_rc zt_gov_import(zt_call *c, const zt_schema *s, const char *id,
                    json_t *(*get)(void *getter, const char *arm_id), void *getter,
                    const zt_cty_value **inputs)
{
    zt_arena *a = c->arena;
    zt_gov_imp m = {.r = {.c = c, .get = get, .getter = getter}, .c = c, .s = s};
    size_t errors = c->diags->errors;
    zt_res_inputs_init(&m.in, a, s->type->n);
    ZT_TRY(zt_gov_imp_parse(&m, id));
    json_t *law = zt_res_read(&m.r, id);
    if (!law)
        return zt_diag_error(c->diags, NULL, "Workspace not found",
                             "The Log Analytics workspace %s does not exist.", id);
    const char *location = zt_res_jstr(law, "location");
    zt_gov_imp_set(&m, "location", zt_res_str_or_null(a, location));
    zt_gov_imp_set(&m, "tags", zt_res_imp_tags(a, law));
    json_t *ret = zt_res_jget(law, "properties/retentionInDays");
    zt_gov_imp_set(&m, "log_retention_in_days",
                   zt_gov_imp_int(&m, json_integer_value(ret), ZT_GOV_DEFAULT_RETENTION));

    json_t *ag = zt_gov_imp_get(&m, "%s/providers/Microsoft.Insights/actionGroups/%s", m.rg_id,
                                zt_arena_printf(a, "ag-%s", m.name));
    const zt_cty_value *emails = zt_gov_imp_strings(
        &m, zt_res_jget(ag, "properties/emailReceivers"), "emailAddress");
    zt_gov_imp_set(&m, "alert_email_addresses", emails);
    zt_gov_imp_set(&m, "alert_webhook_url",
                   zt_res_str_or_null(a, zt_res_jstr(ag, "properties/webhookReceivers/0/"
                                                         "serviceUri")));
    zt_gov_imp_alerts(&m);
    zt_gov_imp_assignments(&m, location);
    zt_gov_imp_tags(&m);
    zt_gov_imp_budget(&m, emails);
    *inputs = zt_res_inputs_object(a, s->type, &m.in);
    /* A GET that failed for another reason than 404 has said why. */
    return c->diags->errors > errors ? ZT_ERR_REMOTE : ZT_OK;
}
