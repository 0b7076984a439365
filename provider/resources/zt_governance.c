/* zt_governance.c - zerotrust_governance: the monitoring and guardrail
 * layer of the platform (platform-design.md, layers 6-7 and
 * "zerotrust_governance"), as a composite definition.
 *
 * Order (same level = in parallel):
 *   Log Analytics workspace
 *   -> its own diagnostics ‖ Application Insights ‖ action group ‖
 *      the policy set definition
 *   -> scheduled query alerts ‖ activity log alerts ‖ the initiative's
 *      assignments (one per scope) ‖ budget
 *   -> the assignments' role assignments (DeployIfNotExists remediation).
 *
 * Layout decisions:
 *  - Everything waits for the workspace: it is the id_node, and the engine
 *    treats a missing id_node as "the whole composite is gone", so nothing
 *    may exist before it does.
 *  - The initiative is one set definition at the subscription, made of
 *    Microsoft's built-in definitions (third_party/azure-policy) by GUID.
 *    Each member's effect is a set parameter ("effect-<key>") whose default
 *    is ours; an assignment passes only the user's overrides, so the set
 *    stays the same across scopes and an override is one assignment PUT.
 *    Tag members are one reference per tag (their effect is fixed deny).
 *  - DeployIfNotExists members remediate with the assignment's
 *    system-assigned identity: it gets exactly the roles those members
 *    list (roleDefinitionIds), only while their effect is
 *    DeployIfNotExists, at the assignment's scope, plus Log Analytics
 *    Contributor on the workspace when the workspace lies outside it (the
 *    deployments link settings to it).
 *  - The budget's start date is the first of the month it is created in.
 *    Azure refuses to change it later, so once the budget exists its body
 *    repeats the start date Azure holds: it never drifts and never fails.
 *  - Alert queries read the resource-specific tables (AZFW*, AZKVAuditLogs,
 *    StorageBlobLogs, Databricks*) that the other composites' diagnostic
 *    settings fill (logAnalyticsDestinationType Dedicated).
 */
#include "zt_governance.h"

#include "zt_compliance.h"
#include "zt_res.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---------------------------------------------------------------------
 * The initiative: built-in definitions (third_party/azure-policy).
 * ------------------------------------------------------------------- */

#define EFFECTS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define ROLES(...) ((const char *const[]){__VA_ARGS__, NULL})

#define ADE EFFECTS("Audit", "Deny", "Disabled")
#define AD EFFECTS("Audit", "Disabled")
#define AINE EFFECTS("AuditIfNotExists", "Disabled")
#define DINE EFFECTS("DeployIfNotExists", "AuditIfNotExists", "Disabled")
#define LA_ROLE ROLES(ZT_GOV_ROLE_LA_CONTRIBUTOR)
#define LA_MON_ROLES ROLES(ZT_GOV_ROLE_MON_CONTRIBUTOR, ZT_GOV_ROLE_LA_CONTRIBUTOR)

/* Deny where the platform complies by construction (a deny then only
 * stops what bypasses it); Audit where Azure's own resources would be
 * refused (Databricks' managed root storage keeps public network access
 * and shared keys for its control plane). */
const zt_gov_policy zt_gov_policies[] = {
    {"allowed_locations", "e56962a6-4747-49cd-b67b-bf8b01975c4c", "Allowed locations", "Deny",
     ADE, ZT_GOV_P_LOCATIONS, NULL},
    {"allowed_locations_resource_groups", "e765b5de-1225-4ba3-bd56-1ac6695af988",
     "Allowed locations for resource groups", "Deny", ADE, ZT_GOV_P_LOCATIONS, NULL},
    {"storage_secure_transfer", "404c3081-a854-4457-ae30-26a93ef643f9",
     "Secure transfer to storage accounts should be enabled", "Deny", ADE, 0, NULL},
    {"storage_minimum_tls", "fe83a0eb-a853-422d-aac2-1bffd182c5d0",
     "Storage accounts should have the specified minimum TLS version", "Deny", ADE, 0, NULL},
    {"storage_public_network_access", "b2982f36-99f2-4db5-8eff-283140c09693",
     "Storage accounts should disable public network access", "Audit", ADE, 0, NULL},
    {"storage_infrastructure_encryption", "4733ea7b-a883-42fe-8cac-97454c2a9e4a",
     "Storage accounts should have infrastructure encryption", "Audit", ADE, 0, NULL},
    {"storage_shared_key_access", "fd9903f1-38c2-4d36-8e44-5c1c20c561e8",
     "Storage accounts should prevent shared key access (excluding storage accounts created by "
     "Databricks)", "Audit", ADE, 0, NULL},
    {"storage_blob_public_access", "4fa4b6c0-31ca-4c0d-b10d-24b96f62a751",
     "Storage account public access should be disallowed", "Audit",
     EFFECTS("audit", "Audit", "deny", "Deny", "disabled", "Disabled"), 0, NULL},
    {"storage_customer_managed_key", "6fac406b-40ca-413b-bf8e-0bf964659c25",
     "Storage accounts should use customer-managed key for encryption", "Audit", AD, 0, NULL},
    {"keyvault_public_network_access", "405c5871-3e91-4644-8a63-58e19d68ff5b",
     "Azure Key Vault should disable public network access", "Deny", ADE, 0, NULL},
    {"keyvault_purge_protection", "0b60c0b2-2dc2-4e1c-b5c9-abbed971de53",
     "Key vaults should have deletion protection enabled", "Deny", ADE, 0, NULL},
    {"keyvault_soft_delete", "1e66c121-a66a-4b1f-9b83-0fd99bf0fc2d",
     "Key vaults should have soft delete enabled", "Deny", ADE, 0, NULL},
    {"keyvault_rbac", "12d4fa5e-1f9f-4c21-97a9-b99b3c6611b5",
     "Azure Key Vault should use RBAC permission model", "Deny", ADE, 0, NULL},
    {"databricks_public_network_access", "0e7849de-b939-4c50-ab48-fc6b0f5eeba2",
     "Azure Databricks Workspaces should disable public network access", "Deny", ADE, 0, NULL},
    {"databricks_no_public_ip", "51c1490f-3319-459c-bbbc-7f391bbed753",
     "Azure Databricks Clusters should disable public IP", "Deny", ADE, 0, NULL},
    {"databricks_vnet_injection", "9c25c9e4-ee12-4882-afd2-11fb9d87893f",
     "Azure Databricks Workspaces should be in a virtual network", "Deny", ADE, 0, NULL},
    {"databricks_premium", "2cc2c3b5-c2f8-45aa-a9e6-f90d85ae8352",
     "Azure Databricks workspaces should be Premium SKU that supports features like private "
     "link, customer-managed key for encryption", "Deny", ADE, 0, NULL},
    {"databricks_private_link", "258823f2-4595-4b52-b333-cc96192710d8",
     "Azure Databricks Workspaces should use private link", "Audit", AD, 0, NULL},
    {"registry_public_network_access", "0fdf0491-d080-4575-b627-ad0e843cba0f",
     "Public network access should be disabled for Container registries", "Deny", ADE, 0, NULL},
    {"registry_network_rules", "d0793b48-0edc-4296-a390-4c75d1bdfd71",
     "Container registries should not allow unrestricted network access", "Deny", ADE, 0, NULL},
    {"nic_no_public_ip", "83a86a26-fd1f-447c-b59d-e51f44264114",
     "Network interfaces should not have public IPs", NULL, NULL, 0, NULL},
    {"subnet_nsg", "e71308d3-144b-4262-b144-efdc3cc90517",
     "Subnets should be associated with a Network Security Group", "AuditIfNotExists", AINE, 0,
     NULL},
    {"internet_via_firewall", "fc5e4038-4584-4632-8c85-c0448d374b2c",
     "[Preview]: All Internet traffic should be routed via your deployed Azure Firewall",
     "AuditIfNotExists", AINE, 0, NULL},
    {"diagnostics_keyvault", "6b359d8f-f88d-4052-aa7c-32015963ecc1",
     "Enable logging by category group for Key vaults (microsoft.keyvault/vaults) to Log "
     "Analytics", "DeployIfNotExists", DINE, ZT_GOV_P_WORKSPACE | ZT_GOV_P_CATEGORY, LA_ROLE},
    {"diagnostics_databricks", "454c7d4b-c141-43f1-8c81-975ebb15a9b5",
     "Enable logging by category group for Azure Databricks Services "
     "(microsoft.databricks/workspaces) to Log Analytics", "DeployIfNotExists", DINE,
     ZT_GOV_P_WORKSPACE | ZT_GOV_P_CATEGORY, LA_ROLE},
    {"diagnostics_firewall", "5fcf46f9-194c-47ff-8889-380f57ae4617",
     "Enable logging by category group for Firewalls (microsoft.network/azurefirewalls) to Log "
     "Analytics", "DeployIfNotExists", DINE, ZT_GOV_P_WORKSPACE | ZT_GOV_P_CATEGORY, LA_ROLE},
    {"diagnostics_registry", "56288eb2-4350-461d-9ece-2bb242269dce",
     "Enable logging by category group for Container registries "
     "(microsoft.containerregistry/registries) to Log Analytics", "DeployIfNotExists", DINE,
     ZT_GOV_P_WORKSPACE | ZT_GOV_P_CATEGORY, LA_ROLE},
    {"diagnostics_nsg", "baa4c6de-b7cf-4b12-b436-6e40ef44c8cb",
     "Enable logging by category group for Network security groups "
     "(microsoft.network/networksecuritygroups) to Log Analytics", "DeployIfNotExists", DINE,
     ZT_GOV_P_WORKSPACE | ZT_GOV_P_CATEGORY, LA_ROLE},
    {"diagnostics_storage", "59759c62-9a22-4cdf-ae64-074495983fef",
     "Configure diagnostic settings for Storage Accounts to Log Analytics workspace",
     "DeployIfNotExists", DINE, ZT_GOV_P_WORKSPACE, LA_MON_ROLES},
    {"diagnostics_blob", "b4fe1a3b-0715-4c6c-a5ea-ffc33cf823cb",
     "Configure diagnostic settings for Blob Services to Log Analytics workspace",
     "DeployIfNotExists", DINE, ZT_GOV_P_WORKSPACE, LA_MON_ROLES},
};
const size_t zt_gov_n_policies = ZT_ARRAY_LEN(zt_gov_policies);

const zt_gov_policy zt_gov_tag_policy = {
    ZT_GOV_TAG_REF, "871b6d14-10aa-478d-b590-94f262ecfa99", "Require a tag on resources", NULL,
    NULL, 0, NULL};
const zt_gov_policy zt_gov_rg_tag_policy = {
    ZT_GOV_RG_TAG_REF, "96670d01-0a4d-4649-9c89-2d3abc0a5025", "Require a tag on resource groups",
    NULL, NULL, 0, NULL};
const char *const zt_gov_default_tags[4] = {"environment", "project", "owner", "cost-centre"};

const zt_gov_policy *zt_gov_policy_find(const char *key)
{
    for (size_t i = 0; key && i < zt_gov_n_policies; i++)
        if (strcmp(zt_gov_policies[i].key, key) == 0)
            return &zt_gov_policies[i];
    return NULL;
}

/* ---------------------------------------------------------------------
 * Alerts.
 * ------------------------------------------------------------------- */

const zt_gov_alert zt_gov_alerts[] = {
    {"firewall_denies", "Azure Firewall denies above threshold",
     "union isfuzzy=true (AZFWNetworkRule | where Action == \"Deny\"), "
     "(AZFWApplicationRule | where Action == \"Deny\")",
     2, 15, 5, 100},
    {"keyvault_auth_failures", "Key Vault authentication or authorization failures",
     "AZKVAuditLogs | where ResultSignature in (\"Unauthorized\", \"Forbidden\") "
     "or HttpStatusCode in (401, 403)",
     1, 15, 5, 5},
    {"storage_auth_failures", "Storage authentication failures",
     "StorageBlobLogs | where StatusCode in (401, 403) or StatusText has \"AuthorizationFailure\"",
     2, 15, 5, 10},
    {"databricks_job_failures", "Databricks job failures",
     "DatabricksJobs | where ActionName in (\"runFailed\", \"runTriggerFailed\")",
     3, 60, 15, 0},
    {"databricks_cluster_failures", "Databricks cluster failures",
     "DatabricksClusters | where toint(parse_json(Response).statusCode) >= 400",
     3, 60, 15, 0},
    {"databricks_access_denied", "Denied Databricks workspace access",
     "DatabricksAccounts | where toint(parse_json(Response).statusCode) in (401, 403)",
     1, 15, 5, 5},
};
const size_t zt_gov_n_alerts = ZT_ARRAY_LEN(zt_gov_alerts);

const zt_gov_alert *zt_gov_alert_find(const char *key)
{
    for (size_t i = 0; key && i < zt_gov_n_alerts; i++)
        if (strcmp(zt_gov_alerts[i].key, key) == 0)
            return &zt_gov_alerts[i];
    return NULL;
}

/* Activity log alerts: writes in the policy scopes worth a look. */
typedef struct zt_gov_activity {
    const char *key;
    const char *description;
    const char *const *operations;
} zt_gov_activity;

#define OPS(...) ((const char *const[]){__VA_ARGS__, NULL})

static const zt_gov_activity zt_gov_activities[] = {
    {"policy_assignment_deleted", "A policy assignment was deleted.",
     OPS("Microsoft.Authorization/policyAssignments/delete")},
    {"firewall_policy_changed", "A firewall policy or its rules were written or deleted.",
     OPS("Microsoft.Network/firewallPolicies/write", "Microsoft.Network/firewallPolicies/delete",
         "Microsoft.Network/firewallPolicies/ruleCollectionGroups/write",
         "Microsoft.Network/firewallPolicies/ruleCollectionGroups/delete")},
    {"route_table_changed", "A route table or route was written or deleted.",
     OPS("Microsoft.Network/routeTables/write", "Microsoft.Network/routeTables/delete",
         "Microsoft.Network/routeTables/routes/write",
         "Microsoft.Network/routeTables/routes/delete")},
    {"nsg_changed", "A network security group or rule was written or deleted.",
     OPS("Microsoft.Network/networkSecurityGroups/write",
         "Microsoft.Network/networkSecurityGroups/delete",
         "Microsoft.Network/networkSecurityGroups/securityRules/write",
         "Microsoft.Network/networkSecurityGroups/securityRules/delete")},
    {"role_assignment_written", "A role assignment was written or deleted.",
     OPS("Microsoft.Authorization/roleAssignments/write",
         "Microsoft.Authorization/roleAssignments/delete")},
};

/* Budget notifications: 80 % and 100 % of actual, 100 % of forecast. */
static const struct {
    const char *key;
    int threshold;
    const char *type;
} zt_gov_budget_notes[] = {
    {"actual_80", 80, "Actual"},
    {"actual_100", 100, "Actual"},
    {"forecast_100", 100, "Forecasted"},
};

/* ---------------------------------------------------------------------
 * Durations.
 * ------------------------------------------------------------------- */

const char *zt_gov_duration(zt_arena *a, int64_t minutes)
{
    if (minutes > 0 && minutes % 1440 == 0)
        return zt_arena_printf(a, "P%lldD", (long long)(minutes / 1440));
    if (minutes > 0 && minutes % 60 == 0)
        return zt_arena_printf(a, "PT%lldH", (long long)(minutes / 60));
    return zt_arena_printf(a, "PT%lldM", (long long)minutes);
}

int64_t zt_gov_minutes(const char *iso)
{
    int64_t days = 0, hours = 0, mins = 0;
    const char *p = iso;
    if (!p || *p++ != 'P')
        return -1;
    bool time = false;
    while (*p) {
        if (*p == 'T') {
            time = true;
            p++;
            continue;
        }
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p)
            return -1;
        if (*end == 'D' && !time)
            days = v;
        else if (*end == 'H' && time)
            hours = v;
        else if (*end == 'M' && time)
            mins = v;
        else
            return -1;
        p = end + 1;
    }
    return days * 1440 + hours * 60 + mins;
}

/* ---------------------------------------------------------------------
 * Inputs, with the schema's documented defaults.
 * ------------------------------------------------------------------- */

static const char *zt_gov_in(const zt_comp_eval *ev, const char *attr)
{
    return zt_comp_input_str(ev, attr);
}

static const char *zt_gov_sub_id(const zt_comp_eval *ev)
{
    return zt_arena_printf(zt_comp_arena(ev), "/subscriptions/%s", zt_comp_subscription(ev));
}

/* policy_scope_ids, else the subscription; NULL while unknown. */
static const char **zt_gov_scopes(const zt_comp_eval *ev, size_t *n)
{
    const char *sub[] = {zt_gov_sub_id(ev)};
    return zt_res_strings(ev, "policy_scope_ids", sub, 1, n);
}

static const char **zt_gov_required_tags(const zt_comp_eval *ev, size_t *n)
{
    return zt_res_strings(ev, "required_tags", zt_gov_default_tags,
                          ZT_ARRAY_LEN(zt_gov_default_tags), n);
}

static const char **zt_gov_locations(const zt_comp_eval *ev, size_t *n)
{
    const char *loc[] = {zt_gov_in(ev, "location")};
    if (!loc[0]) {
        *n = 0;
        return NULL;
    }
    return zt_res_strings(ev, "allowed_locations", loc, 1, n);
}

/* The map input's value for key; *unknown when the map is not known. */
static const zt_cty_value *zt_gov_map_entry(const zt_comp_eval *ev, const char *attr,
                                            const char *key, bool *unknown)
{
    const zt_cty_value *m = zt_comp_input(ev, attr);
    *unknown = false;
    if (!m || m->is_null)
        return NULL;
    if (!zt_cty_is_wholly_known(m)) {
        *unknown = true;
        return NULL;
    }
    const zt_cty_value *v = zt_cty_map_get(m, key);
    return v && !v->is_null ? v : NULL;
}

/* The effect a member runs with (override, else ours); NULL while the
 * overrides are unknown, "" for a member whose rule fixes its effect. */
static const char *zt_gov_effect(const zt_comp_eval *ev, const zt_gov_policy *p)
{
    bool unknown;
    const zt_cty_value *v = zt_gov_map_entry(ev, "policy_effects", p->key, &unknown);
    if (unknown)
        return NULL;
    if (!p->effect)
        return "";
    return v ? v->u.str.ptr : p->effect;
}

/* One setting of one alert (alerts input), else its default; -1 while
 * the alerts input is unknown. */
static int64_t zt_gov_alert_setting(const zt_comp_eval *ev, const zt_gov_alert *al,
                                    const char *attr, int64_t dflt)
{
    bool unknown;
    const zt_cty_value *o = zt_gov_map_entry(ev, "alerts", al->key, &unknown);
    if (unknown)
        return -1;
    const zt_cty_value *v = o ? zt_cty_get_attr(o, attr) : NULL;
    int64_t i;
    if (!v || v->is_null)
        return dflt;
    if (v->type->kind == ZT_CTY_BOOL)
        return v->u.b;
    return zt_cty_number_to_int64(v, &i) ? i : dflt;
}

static bool zt_gov_under(const char *id, const char *scope)
{
    size_t n = strlen(scope);
    return strncasecmp(id, scope, n) == 0 && (id[n] == '/' || id[n] == '\0');
}

/* ---------------------------------------------------------------------
 * Names and parents.
 * ------------------------------------------------------------------- */

#define ZT_GOV_NAME_FN(fn, prefix, suffix) \
    static const char *fn(const zt_comp_eval *ev) { return zt_res_named(ev, prefix, suffix); }

ZT_GOV_NAME_FN(zt_gov_name_law, "log-", "")
ZT_GOV_NAME_FN(zt_gov_name_appi, "appi-", "")
ZT_GOV_NAME_FN(zt_gov_name_ag, "ag-", "")
ZT_GOV_NAME_FN(zt_gov_name_policy, "zt-", "-guardrails")
ZT_GOV_NAME_FN(zt_gov_name_budget, "budget-", "")

static const char *zt_gov_name_diag(const zt_comp_eval *ev)
{
    ZT_UNUSED(ev);
    return ZT_GOV_DIAG_NAME;
}

static const char *zt_gov_name_alert(const zt_comp_eval *ev)
{
    const char *name = zt_gov_in(ev, "name");
    return name ? zt_arena_printf(zt_comp_arena(ev), "alert-%s-%s", name, zt_comp_instance(ev))
                : NULL;
}

static const char *zt_gov_name_activity(const zt_comp_eval *ev)
{
    const char *name = zt_gov_in(ev, "name");
    return name ? zt_arena_printf(zt_comp_arena(ev), "activity-%s-%s", name,
                                  zt_comp_instance(ev))
                : NULL;
}

static const char *zt_gov_law_id(const zt_comp_eval *ev)
{
    return zt_comp_id(ev, "log_analytics");
}

static const char *zt_gov_parent_sub(const zt_comp_eval *ev) { return zt_gov_sub_id(ev); }
static const char *zt_gov_parent_scope(const zt_comp_eval *ev) { return zt_comp_instance(ev); }

static const char *zt_gov_budget_scope(const zt_comp_eval *ev)
{
    const char *s = zt_gov_in(ev, "budget_scope_id");
    if (s)
        return s;
    const zt_cty_value *v = zt_comp_input(ev, "budget_scope_id");
    return v && !v->is_null ? NULL : zt_gov_sub_id(ev);
}

/* ---------------------------------------------------------------------
 * Role assignments of the assignments' identities: instances
 * "<scope>|<role GUID>" (at the scope) and "<scope>|workspace" (Log
 * Analytics Contributor on the workspace, when outside the scope).
 * ------------------------------------------------------------------- */

#define ZT_GOV_AT_WORKSPACE "workspace"

/* The roles the members running DeployIfNotExists need, deduplicated;
 * NULL while the effects are unknown. */
static const char **zt_gov_dine_roles(const zt_comp_eval *ev, size_t *n)
{
    const char **roles = zt_arena_calloc(zt_comp_arena(ev), 8, sizeof(*roles));
    *n = 0;
    for (size_t i = 0; i < zt_gov_n_policies; i++) {
        const zt_gov_policy *p = &zt_gov_policies[i];
        const char *eff = zt_gov_effect(ev, p);
        if (!eff)
            return NULL;
        if (!p->roles || strcasecmp(eff, "DeployIfNotExists") != 0)
            continue;
        for (size_t r = 0; p->roles[r]; r++)
            if (!zt_res_in_list(roles, p->roles[r]) && *n < 7)
                roles[(*n)++] = p->roles[r];
    }
    return roles;
}

static const char **zt_gov_role_instances(const zt_comp_eval *ev, size_t *n)
{
    size_t ns, nr;
    const char **scopes = zt_gov_scopes(ev, &ns);
    const char **roles = zt_gov_dine_roles(ev, &nr);
    const char *law = zt_gov_law_id(ev);
    zt_arena *a = zt_comp_arena(ev);
    *n = 0;
    if (!scopes || !roles)
        return NULL;
    const char **out = zt_arena_calloc(a, ns * (nr + 1) + 1, sizeof(*out));
    for (size_t s = 0; s < ns && nr; s++) {
        for (size_t r = 0; r < nr; r++)
            out[(*n)++] = zt_arena_printf(a, "%s|%s", scopes[s], roles[r]);
        if (law && !zt_gov_under(law, scopes[s]))
            out[(*n)++] = zt_arena_printf(a, "%s|%s", scopes[s], ZT_GOV_AT_WORKSPACE);
    }
    return out;
}

typedef struct zt_gov_role {
    const char *scope;  /* the assignment's scope */
    const char *target; /* where the role is assigned */
    const char *role;   /* role definition GUID */
} zt_gov_role;

static zt_gov_role zt_gov_role_of(const zt_comp_eval *ev)
{
    zt_arena *a = zt_comp_arena(ev);
    const char *inst = zt_comp_instance(ev);
    const char *bar = strrchr(inst, '|');
    zt_gov_role r = {0};
    if (!bar)
        return r;
    r.scope = zt_arena_strndup(a, inst, (size_t)(bar - inst));
    bool at_law = strcmp(bar + 1, ZT_GOV_AT_WORKSPACE) == 0;
    r.target = at_law ? zt_gov_law_id(ev) : r.scope;
    r.role = at_law ? ZT_GOV_ROLE_LA_CONTRIBUTOR : bar + 1;
    return r;
}

static const char *zt_gov_assignment_key(zt_arena *a, const char *scope)
{
    return zt_arena_printf(a, "policy_assignment[%s]", scope);
}

static const char *zt_gov_role_parent(const zt_comp_eval *ev)
{
    return zt_gov_role_of(ev).target;
}

static const char *zt_gov_role_name(const zt_comp_eval *ev)
{
    zt_gov_role r = zt_gov_role_of(ev);
    zt_arena *a = zt_comp_arena(ev);
    const char *assignment = r.scope ? zt_comp_id(ev, zt_gov_assignment_key(a, r.scope)) : NULL;
    if (!r.target || !assignment)
        return NULL;
    return zt_res_uuid(a, zt_arena_printf(a, "%s|%s|%s", r.target, assignment, r.role));
}

static json_t *zt_gov_body_role(const zt_comp_eval *ev)
{
    zt_gov_role r = zt_gov_role_of(ev);
    zt_arena *a = zt_comp_arena(ev);
    const char *pid = r.scope ? zt_comp_output(ev, zt_gov_assignment_key(a, r.scope),
                                               "/identity/principalId")
                              : NULL;
    const char *role = zt_res_role_definition_id(a, r.target, zt_comp_subscription(ev), r.role);
    if (!pid || !role)
        return NULL;
    return json_pack("{s:{s:s,s:s,s:s}}", "properties", "roleDefinitionId", role, "principalId",
                     pid, "principalType", "ServicePrincipal");
}

/* ---------------------------------------------------------------------
 * Bodies.
 * ------------------------------------------------------------------- */

static json_t *zt_gov_strings_json(const char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

/* Local authentication off: every reader and writer signs in with
 * Microsoft Entra ID. Public access stays on: reaching the workspace
 * privately needs an Azure Monitor Private Link Scope (docs). */
static json_t *zt_gov_body_law(const zt_comp_eval *ev)
{
    json_t *p = json_pack("{s:{s:s},s:I,s:{s:b}}", "sku", "name", "PerGB2018", "retentionInDays",
                          (json_int_t)zt_comp_input_int(ev, "log_retention_in_days",
                                                        ZT_GOV_DEFAULT_RETENTION),
                          "features", "disableLocalAuth", 1);
    return zt_res_tracked(ev, p);
}

/* The workspace's own audit logs (queries, ingestion problems). */
static json_t *zt_gov_body_diag_law(const zt_comp_eval *ev)
{
    return zt_res_diag_body(zt_gov_law_id(ev), ZT_RES_DIAG_LOGS | ZT_RES_DIAG_METRICS);
}

static json_t *zt_gov_body_appi(const zt_comp_eval *ev)
{
    const char *law = zt_gov_law_id(ev);
    if (!law)
        return NULL;
    json_t *p = json_pack("{s:s,s:s,s:s,s:s,s:s,s:b}", "Application_Type", "web", "Flow_Type",
                          "Bluefield", "Request_Source", "rest", "WorkspaceResourceId", law,
                          "IngestionMode", "LogAnalytics", "DisableLocalAuth", 1);
    return zt_res_set(zt_res_tracked(ev, p), "kind", json_string("web"));
}

/* "zt-" + the name, cut to the 12 characters SMS messages allow. */
static const char *zt_gov_short_name(zt_arena *a, const char *name)
{
    return zt_arena_printf(a, "zt-%.9s", name);
}

static json_t *zt_gov_body_ag(const zt_comp_eval *ev)
{
    size_t n;
    const char **emails = zt_res_strings(ev, "alert_email_addresses", NULL, 0, &n);
    const char *name = zt_gov_in(ev, "name");
    const zt_cty_value *hook = zt_comp_input(ev, "alert_webhook_url");
    json_t *tags = zt_comp_tags(ev);
    zt_arena *a = zt_comp_arena(ev);
    if (!emails || !name || !tags || (hook && !zt_cty_is_known(hook))) {
        json_decref(tags);
        return NULL;
    }
    json_t *rx = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(rx, json_pack("{s:s,s:s,s:b}", "name",
                                            zt_arena_printf(a, "email-%zu", i), "emailAddress",
                                            emails[i], "useCommonAlertSchema", 1));
    json_t *p = json_pack("{s:s,s:b,s:o}", "groupShortName", zt_gov_short_name(a, name),
                          "enabled", 1, "emailReceivers", rx);
    if (hook && !hook->is_null)
        json_object_set_new(p, "webhookReceivers",
                            json_pack("[{s:s,s:s,s:b}]", "name", "webhook", "serviceUri",
                                      hook->u.str.ptr, "useCommonAlertSchema", 1));
    /* Action groups are global resources. */
    return json_pack("{s:s,s:o,s:o}", "location", "global", "tags", tags, "properties", p);
}

static json_t *zt_gov_body_alert(const zt_comp_eval *ev)
{
    const zt_gov_alert *al = zt_gov_alert_find(zt_comp_instance(ev));
    const char *law = zt_gov_law_id(ev);
    const char *ag = zt_comp_id(ev, "action_group");
    zt_arena *a = zt_comp_arena(ev);
    if (!al || !law || !ag)
        return NULL;
    int64_t enabled = zt_gov_alert_setting(ev, al, "enabled", 1);
    int64_t sev = zt_gov_alert_setting(ev, al, "severity", al->severity);
    int64_t win = zt_gov_alert_setting(ev, al, "window_minutes", al->window);
    int64_t freq = zt_gov_alert_setting(ev, al, "frequency_minutes", al->frequency);
    int64_t thr = zt_gov_alert_setting(ev, al, "threshold", al->threshold);
    if (enabled < 0 || sev < 0 || win < 0 || freq < 0 || thr < 0)
        return NULL;
    json_t *cond = json_pack("{s:s,s:s,s:s,s:I,s:{s:i,s:i}}", "query", al->query,
                             "timeAggregation", "Count", "operator", "GreaterThan", "threshold",
                             (json_int_t)thr, "failingPeriods", "numberOfEvaluationPeriods", 1,
                             "minFailingPeriodsToAlert", 1);
    json_t *p = json_pack("{s:s,s:s,s:I,s:b,s:s,s:s,s:[s],s:{s:[o]},s:b,s:{s:[s]}}",
                          "displayName", al->display, "description",
                          zt_arena_printf(a, "%s (zerotrust_governance).", al->display),
                          "severity", (json_int_t)sev, "enabled", (int)enabled,
                          "evaluationFrequency", zt_gov_duration(a, freq), "windowSize",
                          zt_gov_duration(a, win), "scopes", law, "criteria", "allOf", cond,
                          "autoMitigate", 1, "actions", "actionGroups", ag);
    return zt_res_set(zt_res_tracked(ev, p), "kind", json_string("LogAlert"));
}

static const char **zt_gov_alert_keys(const zt_comp_eval *ev, size_t *n)
{
    const char **k = zt_arena_calloc(zt_comp_arena(ev), zt_gov_n_alerts + 1, sizeof(*k));
    for (size_t i = 0; i < zt_gov_n_alerts; i++)
        k[i] = zt_gov_alerts[i].key;
    *n = zt_gov_n_alerts;
    return k;
}

static const zt_gov_activity *zt_gov_activity_find(const char *key)
{
    for (size_t i = 0; i < ZT_ARRAY_LEN(zt_gov_activities); i++)
        if (strcmp(zt_gov_activities[i].key, key) == 0)
            return &zt_gov_activities[i];
    return NULL;
}

static const char **zt_gov_activity_keys(const zt_comp_eval *ev, size_t *n)
{
    const char **k = zt_arena_calloc(zt_comp_arena(ev), ZT_ARRAY_LEN(zt_gov_activities) + 1,
                                     sizeof(*k));
    for (size_t i = 0; i < ZT_ARRAY_LEN(zt_gov_activities); i++)
        k[i] = zt_gov_activities[i].key;
    *n = ZT_ARRAY_LEN(zt_gov_activities);
    return k;
}

static json_t *zt_gov_leaf(const char *field, const char *value)
{
    return json_pack("{s:s,s:s}", "field", field, "equals", value);
}

/* Administrative events whose operation is one of the alert's. */
static json_t *zt_gov_body_activity(const zt_comp_eval *ev)
{
    const zt_gov_activity *act = zt_gov_activity_find(zt_comp_instance(ev));
    const char *ag = zt_comp_id(ev, "action_group");
    size_t ns;
    const char **scopes = zt_gov_scopes(ev, &ns);
    json_t *tags = zt_comp_tags(ev);
    if (!act || !ag || !scopes || !tags) {
        json_decref(tags);
        return NULL;
    }
    json_t *all = json_pack("[o]", zt_gov_leaf("category", "Administrative"));
    if (!act->operations[1]) {
        json_array_append_new(all, zt_gov_leaf("operationName", act->operations[0]));
    } else {
        json_t *any = json_array();
        for (size_t i = 0; act->operations[i]; i++)
            json_array_append_new(any, zt_gov_leaf("operationName", act->operations[i]));
        json_array_append_new(all, json_pack("{s:o}", "anyOf", any));
    }
    json_t *p = json_pack("{s:o,s:b,s:s,s:{s:o},s:{s:[{s:s}]}}", "scopes",
                          zt_gov_strings_json(scopes, ns), "enabled", 1, "description",
                          act->description, "condition", "allOf", all, "actions",
                          "actionGroups", "actionGroupId", ag);
    /* Activity log alerts live in "Global" (or West/North Europe). */
    return json_pack("{s:s,s:o,s:o}", "location", "Global", "tags", tags, "properties", p);
}

/* ---- the policy set definition ---- */

static json_t *zt_gov_param_ref(const char *param)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "[parameters('%s')]", param);
    return json_pack("{s:s}", "value", buf);
}

static json_t *zt_gov_member(zt_arena *a, const zt_gov_policy *p, const char *ref_id,
                             json_t *params)
{
    return json_pack("{s:s,s:s,s:o}", "policyDefinitionReferenceId", ref_id, "policyDefinitionId",
                     zt_arena_printf(a, "/providers/Microsoft.Authorization/policyDefinitions/%s",
                                     p->guid),
                     "parameters", params);
}

/* A member of the table: its effect from "effect-<key>", and the shared
 * parameters it takes. */
static void zt_gov_add_member(zt_arena *a, const zt_gov_policy *p, json_t *defs, json_t *params)
{
    json_t *mp = json_object();
    if (p->effect) {
        const char *name = zt_arena_printf(a, ZT_GOV_EFFECT_PARAM "%s", p->key);
        json_t *allowed = json_array();
        for (size_t i = 0; p->effects[i]; i++)
            json_array_append_new(allowed, json_string(p->effects[i]));
        json_object_set_new(params, name,
                            json_pack("{s:s,s:o,s:s,s:{s:s}}", "type", "String", "allowedValues",
                                      allowed, "defaultValue", p->effect, "metadata",
                                      "displayName", zt_arena_printf(a, "Effect: %s", p->display)));
        json_object_set_new(mp, "effect", zt_gov_param_ref(name));
    }
    if (p->params & ZT_GOV_P_LOCATIONS)
        json_object_set_new(mp, "listOfAllowedLocations",
                            zt_gov_param_ref(ZT_GOV_PARAM_LOCATIONS));
    if (p->params & ZT_GOV_P_WORKSPACE)
        json_object_set_new(mp, "logAnalytics", zt_gov_param_ref(ZT_GOV_PARAM_WORKSPACE));
    if (p->params & ZT_GOV_P_CATEGORY)
        json_object_set_new(mp, "categoryGroup", json_pack("{s:s}", "value", "allLogs"));
    json_array_append_new(defs, zt_gov_member(a, p, p->key, mp));
}

static json_t *zt_gov_body_policy_set(const zt_comp_eval *ev)
{
    size_t nt;
    const char **tags = zt_gov_required_tags(ev, &nt);
    const char *name = zt_gov_in(ev, "name");
    zt_arena *a = zt_comp_arena(ev);
    if (!tags || !name)
        return NULL;
    json_t *defs = json_array();
    json_t *params = json_pack(
        "{s:{s:s,s:{s:s}},s:{s:s,s:{s:s,s:s}}}", ZT_GOV_PARAM_LOCATIONS, "type", "Array",
        "metadata", "displayName", "Allowed locations", ZT_GOV_PARAM_WORKSPACE, "type", "String",
        "metadata", "displayName", "Log Analytics workspace", "strongType",
        "omsWorkspace");
    for (size_t i = 0; i < zt_gov_n_policies; i++)
        zt_gov_add_member(a, &zt_gov_policies[i], defs, params);
    for (size_t i = 0; i < nt; i++) {
        json_t *tp = json_pack("{s:{s:s}}", "tagName", "value", tags[i]);
        json_array_append_new(defs, zt_gov_member(a, &zt_gov_tag_policy,
                                                  zt_arena_printf(a, ZT_GOV_TAG_REF "%s",
                                                                  tags[i]), tp));
        json_array_append_new(defs, zt_gov_member(a, &zt_gov_rg_tag_policy,
                                                  zt_arena_printf(a, ZT_GOV_RG_TAG_REF "%s",
                                                                  tags[i]),
                                                  json_deep_copy(tp)));
    }
    return json_pack("{s:{s:s,s:s,s:{s:s},s:o,s:o}}", "properties", "displayName",
                     zt_arena_printf(a, "Zero-trust platform guardrails (%s)", name),
                     "description",
                     "Microsoft's built-in definitions for the zero-trust Azure Databricks "
                     "platform: required tags, allowed regions, private and encrypted storage, "
                     "Key Vault and Databricks, no public IPs, diagnostics to Log Analytics "
                     "(zerotrust_governance).",
                     "metadata", "category", "Zero trust", "parameters", params,
                     "policyDefinitions", defs);
}

/* ---- the assignments ---- */

/* The overrides the user set (policy_effects), as assignment parameters;
 * NULL while unknown. */
static json_t *zt_gov_effect_params(const zt_comp_eval *ev, json_t *params)
{
    const zt_cty_value *m = zt_comp_input(ev, "policy_effects");
    if (m && !zt_cty_is_wholly_known(m)) {
        json_decref(params);
        return NULL;
    }
    for (size_t i = 0; m && !m->is_null && i < m->u.coll.n; i++)
        json_object_set_new(params,
                            zt_arena_printf(zt_comp_arena(ev), ZT_GOV_EFFECT_PARAM "%s",
                                            m->u.coll.keys[i]),
                            json_pack("{s:s}", "value", m->u.coll.elems[i]->u.str.ptr));
    return params;
}

static const char *zt_gov_enforcement(const zt_comp_eval *ev)
{
    const char *m = zt_gov_in(ev, "policy_enforcement_mode");
    return m ? m : "Default";
}

static json_t *zt_gov_body_assignment(const zt_comp_eval *ev)
{
    size_t nl;
    const char **locs = zt_gov_locations(ev, &nl);
    const char *set = zt_comp_id(ev, "policy_set");
    const char *law = zt_gov_law_id(ev);
    const char *loc = zt_gov_in(ev, "location");
    const zt_cty_value *mode = zt_comp_input(ev, "policy_enforcement_mode");
    if (!locs || !set || !law || !loc || (mode && !zt_cty_is_known(mode)))
        return NULL;
    json_t *params = json_pack("{s:{s:o},s:{s:s}}", ZT_GOV_PARAM_LOCATIONS, "value",
                               zt_gov_strings_json(locs, nl), ZT_GOV_PARAM_WORKSPACE, "value",
                               law);
    params = zt_gov_effect_params(ev, params);
    if (!params)
        return NULL;
    json_t *p = json_pack("{s:s,s:s,s:s,s:s,s:o,s:[{s:s}]}", "displayName",
                          "Zero-trust platform guardrails", "description",
                          "Assigned by zerotrust_governance.", "policyDefinitionId", set,
                          "enforcementMode", zt_gov_enforcement(ev), "parameters", params,
                          "nonComplianceMessages", "message",
                          "The zero-trust platform guardrails refuse this resource: see the "
                          "policy named in the error for what it requires.");
    /* The identity remediates (DeployIfNotExists); Azure wants its region. */
    return json_pack("{s:s,s:{s:s},s:o}", "location", loc, "identity", "type", "SystemAssigned",
                     "properties", p);
}

/* ---- the budget ---- */

/* The first of the current month (UTC), as Azure writes budget dates. */
static const char *zt_gov_month_start(zt_arena *a)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    return zt_arena_printf(a, "%04d-%02d-01T00:00:00Z", tm.tm_year + 1900, tm.tm_mon + 1);
}

static json_t *zt_gov_body_budget(const zt_comp_eval *ev)
{
    size_t n;
    const zt_cty_value *c = zt_comp_input(ev, "budget_contact_emails");
    bool own = c && !c->is_null;
    const char **emails = zt_res_strings(ev, own ? "budget_contact_emails" : "alert_email_addresses",
                                         NULL, 0, &n);
    const char *ag = zt_comp_id(ev, "action_group");
    zt_arena *a = zt_comp_arena(ev);
    const zt_cty_value *amount = zt_comp_input(ev, "budget_amount");
    if (!emails || !ag || (amount && !zt_cty_is_known(amount)))
        return NULL;
    /* Fixed at creation: Azure refuses to change a budget's start. */
    const char *start = zt_comp_output(ev, "budget", "/properties/timePeriod/startDate");
    json_t *notes = json_object();
    for (size_t i = 0; i < ZT_ARRAY_LEN(zt_gov_budget_notes); i++)
        json_object_set_new(notes, zt_gov_budget_notes[i].key,
                            json_pack("{s:b,s:s,s:i,s:s,s:o,s:[s],s:s}", "enabled", 1, "operator",
                                      "GreaterThanOrEqualTo", "threshold",
                                      zt_gov_budget_notes[i].threshold, "thresholdType",
                                      zt_gov_budget_notes[i].type, "contactEmails",
                                      zt_gov_strings_json(emails, n), "contactGroups", ag,
                                      "locale", "en-us"));
    return json_pack("{s:{s:s,s:I,s:s,s:{s:s},s:o}}", "properties", "category", "Cost", "amount",
                     (json_int_t)zt_comp_input_int(ev, "budget_amount", ZT_GOV_DEFAULT_BUDGET),
                     "timeGrain", "Monthly", "timePeriod", "startDate",
                     start ? start : zt_gov_month_start(a), "notifications", notes);
}

/* ---------------------------------------------------------------------
 * The node table.
 * ------------------------------------------------------------------- */

#define DEPS(...) ((const char *const[]){__VA_ARGS__, NULL})

static const char *const zt_gov_co_location[] = {"/location", NULL};
static const char *const zt_gov_co_ra[] = {"/properties/principalId",
                                           "/properties/roleDefinitionId", NULL};
/* An assignment's identity and region are fixed once it exists. */
static const char *const zt_gov_co_assignment[] = {"/location", NULL};
/* Azure keeps the receivers' status next to what we send. */
static const char *const zt_gov_exists_codes[] = {"RoleAssignmentExists", NULL};

static const zt_comp_node_def zt_gov_nodes[] = {
    {.key = "log_analytics", .arm_type = "Microsoft.OperationalInsights/workspaces",
     .name = zt_gov_name_law, .body = zt_gov_body_law, .create_only = zt_gov_co_location,
     .expected_seconds = 20},
    {.key = "diag_log_analytics", .arm_type = "Microsoft.Insights/diagnosticSettings",
     .depends_on = DEPS("log_analytics"), .parent_id = zt_gov_law_id, .name = zt_gov_name_diag,
     .body = zt_gov_body_diag_law, .expected_seconds = 5},
    {.key = "application_insights", .arm_type = "Microsoft.Insights/components",
     .depends_on = DEPS("log_analytics"), .name = zt_gov_name_appi, .body = zt_gov_body_appi,
     .create_only = zt_gov_co_location, .expected_seconds = 5},
    {.key = "action_group", .arm_type = "Microsoft.Insights/actionGroups",
     .depends_on = DEPS("log_analytics"), .name = zt_gov_name_ag, .body = zt_gov_body_ag,
     .expected_seconds = 5},
    {.key = "alert", .arm_type = "Microsoft.Insights/scheduledQueryRules",
     .depends_on = DEPS("log_analytics", "action_group"), .for_each = zt_gov_alert_keys,
     .name = zt_gov_name_alert, .body = zt_gov_body_alert, .create_only = zt_gov_co_location,
     .expected_seconds = 5},
    {.key = "activity_alert", .arm_type = "Microsoft.Insights/activityLogAlerts",
     .depends_on = DEPS("action_group"), .for_each = zt_gov_activity_keys,
     .name = zt_gov_name_activity, .body = zt_gov_body_activity, .expected_seconds = 5},
    {.key = "policy_set", .arm_type = "Microsoft.Authorization/policySetDefinitions",
     .depends_on = DEPS("log_analytics"), .parent_id = zt_gov_parent_sub,
     .name = zt_gov_name_policy, .body = zt_gov_body_policy_set, .expected_seconds = 2},
    {.key = "policy_assignment", .arm_type = "Microsoft.Authorization/policyAssignments",
     .depends_on = DEPS("policy_set", "log_analytics"), .for_each = zt_gov_scopes,
     .parent_id = zt_gov_parent_scope, .name = zt_gov_name_policy,
     .body = zt_gov_body_assignment, .create_only = zt_gov_co_assignment,
     .expected_seconds = 2},
    {.key = "policy_role", .arm_type = "Microsoft.Authorization/roleAssignments",
     .depends_on = DEPS("policy_assignment", "log_analytics"),
     .for_each = zt_gov_role_instances, .parent_id = zt_gov_role_parent,
     .name = zt_gov_role_name, .body = zt_gov_body_role, .create_only = zt_gov_co_ra,
     .expected_seconds = 5, .exists_codes = zt_gov_exists_codes},
    {.key = "budget", .arm_type = "Microsoft.Consumption/budgets",
     .depends_on = DEPS("action_group", "log_analytics"), .parent_id = zt_gov_budget_scope,
     .name = zt_gov_name_budget, .body = zt_gov_body_budget, .expected_seconds = 2},
};

/* ---------------------------------------------------------------------
 * Outputs.
 * ------------------------------------------------------------------- */

#define ZT_GOV_OUT_ID(fn, node) \
    static const zt_cty_value *fn(const zt_comp_eval *ev) { return zt_res_id_out(ev, node); }
#define ZT_GOV_OUT_PTR(fn, node, ptr)                                                          \
    static const zt_cty_value *fn(const zt_comp_eval *ev)                                      \
    {                                                                                          \
        const char *s = zt_comp_output(ev, node, ptr);                                         \
        return s ? zt_cty_string(zt_comp_arena(ev), s) : NULL;                                 \
    }

ZT_GOV_OUT_ID(zt_gov_out_law_id, "log_analytics")
ZT_GOV_OUT_PTR(zt_gov_out_customer_id, "log_analytics", "/properties/customerId")
ZT_GOV_OUT_ID(zt_gov_out_appi_id, "application_insights")
ZT_GOV_OUT_PTR(zt_gov_out_appi_conn, "application_insights", "/properties/ConnectionString")
ZT_GOV_OUT_ID(zt_gov_out_ag_id, "action_group")
ZT_GOV_OUT_ID(zt_gov_out_set_id, "policy_set")
ZT_GOV_OUT_ID(zt_gov_out_budget_id, "budget")
ZT_GOV_OUT_PTR(zt_gov_out_budget_start, "budget", "/properties/timePeriod/startDate")

static const zt_cty_value *zt_gov_out_assignments(const zt_comp_eval *ev)
{
    size_t n;
    const char **scopes = zt_gov_scopes(ev, &n);
    zt_arena *a = zt_comp_arena(ev);
    if (!scopes)
        return NULL;
    const char **ids = zt_arena_calloc(a, n + 1, sizeof(*ids));
    for (size_t i = 0; i < n; i++)
        if (!(ids[i] = zt_comp_id(ev, zt_gov_assignment_key(a, scopes[i]))))
            return NULL;
    return zt_res_string_map(a, n, scopes, ids);
}

static const zt_comp_output_def zt_gov_outputs[] = {
    {"log_analytics_workspace_id", zt_gov_out_law_id},
    {"log_analytics_customer_id", zt_gov_out_customer_id},
    {"application_insights_id", zt_gov_out_appi_id},
    {"application_insights_connection_string", zt_gov_out_appi_conn},
    {"action_group_id", zt_gov_out_ag_id},
    {"policy_set_definition_id", zt_gov_out_set_id},
    {"policy_assignment_ids", zt_gov_out_assignments},
    {"budget_id", zt_gov_out_budget_id},
    {"budget_start_date", zt_gov_out_budget_start},
    {"compliance_evidence", zt_compliance_evidence},
};

/* ---------------------------------------------------------------------
 * Plan-time checks.
 * ------------------------------------------------------------------- */

/* local@domain.tld, nothing fancy: Azure refuses what this lets through. */
static bool zt_gov_email_ok(const char *s)
{
    const char *at = strchr(s, '@');
    const char *dot = at ? strrchr(at, '.') : NULL;
    if (!at || at == s || strchr(at + 1, '@') || !dot || dot == at + 1 || !dot[1])
        return false;
    for (const char *p = s; *p; p++)
        if (isspace((unsigned char)*p) || *p == ',' || *p == ';' || *p == '<' || *p == '>')
            return false;
    return true;
}

static void zt_gov_check_emails(zt_res_check *k, const char *attr, bool required)
{
    const zt_cty_value *v = zt_cty_get_attr(k->config, attr);
    if (!v || v->is_null || !zt_cty_is_known(v))
        return;
    if (required && v->u.coll.n == 0)
        zt_diag_error(k->c->diags, zt_res_path(k, attr), "No e-mail address",
                      "At least one address is needed: alerts and budget notifications go "
                      "there.");
    for (size_t i = 0; i < v->u.coll.n; i++) {
        const zt_cty_value *e = v->u.coll.elems[i];
        if (zt_cty_is_known(e) && !e->is_null && !zt_gov_email_ok(e->u.str.ptr))
            zt_diag_error(k->c->diags, zt_path_index(k->c->arena, zt_res_path(k, attr),
                                                     (int64_t)i),
                          "Invalid e-mail address", "\"%s\" is not an e-mail address.",
                          e->u.str.ptr);
    }
}

/* A known number attribute of obj within [lo, hi]. */
static void zt_gov_check_range(zt_res_check *k, const zt_cty_value *obj, zt_path *path,
                               const char *attr, int64_t lo, int64_t hi, const char *what)
{
    const zt_cty_value *v = obj ? zt_cty_get_attr(obj, attr) : NULL;
    int64_t i;
    if (!v || v->is_null || !zt_cty_is_known(v))
        return;
    if (!zt_cty_number_to_int64(v, &i) || i < lo || i > hi)
        zt_diag_error(k->c->diags, zt_path_attr(k->c->arena, path, attr), "Out of range",
                      "%s must be a whole number from %lld to %lld.", what, (long long)lo,
                      (long long)hi);
}

static const int64_t zt_gov_frequencies[] = {1, 5, 10, 15, 30, 45, 60, 120, 180, 240, 300, 360,
                                             1440};

static void zt_gov_check_alert(zt_res_check *k, const char *key, const zt_cty_value *o)
{
    zt_arena *a = k->c->arena;
    zt_path *p = zt_path_key(a, zt_res_path(k, "alerts"), key);
    const zt_gov_alert *al = zt_gov_alert_find(key);
    if (!al) {
        const char *keys[ZT_ARRAY_LEN(zt_gov_alerts) + 1] = {0};
        for (size_t i = 0; i < zt_gov_n_alerts; i++)
            keys[i] = zt_gov_alerts[i].key;
        zt_diag_error(k->c->diags, p, "Unknown alert", "\"%s\" is not one of the alerts: %s.",
                      key, zt_res_join(a, keys));
        return;
    }
    zt_gov_check_range(k, o, p, "severity", 0, 4, "severity");
    zt_gov_check_range(k, o, p, "window_minutes", 5, 2880, "window_minutes");
    zt_gov_check_range(k, o, p, "threshold", 0, 1000000, "threshold");
    const zt_cty_value *f = zt_cty_get_attr(o, "frequency_minutes");
    const zt_cty_value *w = zt_cty_get_attr(o, "window_minutes");
    int64_t freq = al->frequency, win = al->window, i;
    if (f && !f->is_null && zt_cty_is_known(f)) {
        bool ok = zt_cty_number_to_int64(f, &freq);
        bool listed = false;
        for (size_t j = 0; ok && j < ZT_ARRAY_LEN(zt_gov_frequencies); j++)
            listed |= zt_gov_frequencies[j] == freq;
        if (!listed)
            zt_diag_error(k->c->diags, zt_path_attr(a, p, "frequency_minutes"),
                          "Unsupported frequency",
                          "Log alerts run every 1, 5, 10, 15, 30, 45, 60, 120, 180, 240, 300, "
                          "360 or 1440 minutes.");
    }
    if (w && !w->is_null && zt_cty_is_known(w) && zt_cty_number_to_int64(w, &i))
        win = i;
    if ((!f || zt_cty_is_known(f)) && (!w || zt_cty_is_known(w)) && win < freq)
        zt_diag_error(k->c->diags, zt_path_attr(a, p, "window_minutes"), "Window too short",
                      "The window (%lld minutes) must be at least the frequency (%lld minutes): "
                      "otherwise logs between evaluations are never looked at.",
                      (long long)win, (long long)freq);
}

static void zt_gov_check_alerts(zt_res_check *k)
{
    const zt_cty_value *m = zt_cty_get_attr(k->config, "alerts");
    if (!m || m->is_null || !zt_cty_is_known(m))
        return;
    for (size_t i = 0; i < m->u.coll.n; i++)
        zt_gov_check_alert(k, m->u.coll.keys[i], m->u.coll.elems[i]);
}

static void zt_gov_check_effects(zt_res_check *k)
{
    const zt_cty_value *m = zt_cty_get_attr(k->config, "policy_effects");
    zt_arena *a = k->c->arena;
    if (!m || m->is_null || !zt_cty_is_known(m))
        return;
    for (size_t i = 0; i < m->u.coll.n; i++) {
        const char *key = m->u.coll.keys[i];
        const zt_cty_value *v = m->u.coll.elems[i];
        const zt_gov_policy *p = zt_gov_policy_find(key);
        zt_path *path = zt_path_key(a, zt_res_path(k, "policy_effects"), key);
        if (!p) {
            zt_diag_error(k->c->diags, path, "Unknown policy",
                          "\"%s\" is not a policy of the initiative (see the resource's "
                          "documentation for the keys).", key);
        } else if (!p->effects) {
            zt_diag_error(k->c->diags, path, "Effect fixed by the definition",
                          "\"%s\" (%s) denies in its rule: its effect cannot be changed. "
                          "Leave it out of policy_effects.", key, p->display);
        } else if (zt_cty_is_known(v) && !v->is_null &&
                   !zt_res_in_list(p->effects, v->u.str.ptr)) {
            zt_diag_error(k->c->diags, path, "Effect not allowed",
                          "\"%s\" is not an effect of \"%s\"; Azure accepts %s.", v->u.str.ptr,
                          p->display, zt_res_join(a, p->effects));
        }
    }
}

/* /subscriptions/<sub> or /subscriptions/<sub>/resourceGroups/<g>, in the
 * provider's subscription (the initiative is defined there). */
static bool zt_gov_scope_ok(const char *s, const char *sub)
{
    char g[128];
    int used = 0;
    size_t n = strlen("/subscriptions/");
    if (strncasecmp(s, "/subscriptions/", n) != 0)
        return false;
    /* Validation may run before the provider is configured: the
     * subscription is compared once it is known (at plan). */
    size_t sub_len = sub ? strlen(sub) : strcspn(s + n, "/");
    if (!sub_len || (sub && strncasecmp(s + n, sub, sub_len) != 0))
        return false;
    const char *rest = s + n + sub_len;
    if (!*rest)
        return true;
    return sscanf(rest, "/%*1[rR]esource%*1[gG]roups/%127[^/]%n", g, &used) == 1 && !rest[used];
}

static void zt_gov_check_scopes(zt_res_check *k)
{
    const zt_cty_value *v = zt_cty_get_attr(k->config, "policy_scope_ids");
    const char *sub = k->c->provider->config.subscription_id;
    zt_arena *a = k->c->arena;
    if (!v || v->is_null || !zt_cty_is_known(v))
        return;
    if (v->u.coll.n == 0)
        zt_diag_error(k->c->diags, zt_res_path(k, "policy_scope_ids"), "No policy scope",
                      "Give at least one scope, or leave policy_scope_ids out to assign the "
                      "guardrails to the subscription.");
    for (size_t i = 0; i < v->u.coll.n; i++) {
        const zt_cty_value *e = v->u.coll.elems[i];
        zt_path *p = zt_path_index(a, zt_res_path(k, "policy_scope_ids"), (int64_t)i);
        if (!zt_cty_is_known(e) || e->is_null)
            continue;
        if (!zt_gov_scope_ok(e->u.str.ptr, sub))
            zt_diag_error(k->c->diags, p, "Invalid policy scope",
                          "\"%s\" is not /subscriptions/%s or one of its resource groups "
                          "(/subscriptions/%s/resourceGroups/<name>): the initiative is "
                          "defined in the provider's subscription and assigned there.",
                          e->u.str.ptr, sub ? sub : "<id>", sub ? sub : "<id>");
        for (size_t j = 0; j < i; j++) {
            const zt_cty_value *o = v->u.coll.elems[j];
            if (zt_cty_is_known(o) && !o->is_null && strcasecmp(o->u.str.ptr, e->u.str.ptr) == 0)
                zt_diag_error(k->c->diags, p, "Duplicate policy scope",
                              "\"%s\" is listed twice.", e->u.str.ptr);
        }
    }
}

static void zt_gov_check_budget(zt_res_check *k)
{
    const zt_cty_value *amount = zt_cty_get_attr(k->config, "budget_amount");
    double d;
    if (amount && !amount->is_null && zt_cty_is_known(amount) &&
        ((d = zt_cty_number_to_double(amount)) < 1 || d != (double)(int64_t)d))
        zt_diag_error(k->c->diags, zt_res_path(k, "budget_amount"), "Invalid budget amount",
                      "The budget amount must be a whole number of at least 1.");
    const char *scope = zt_res_known_str(k->config, "budget_scope_id");
    if (scope && !zt_gov_scope_ok(scope, k->c->provider->config.subscription_id))
        zt_diag_error(k->c->diags, zt_res_path(k, "budget_scope_id"), "Invalid budget scope",
                      "\"%s\" is not the provider's subscription or one of its resource "
                      "groups.", scope);
    zt_gov_check_emails(k, "budget_contact_emails", false);
}

static void zt_gov_check_misc(zt_res_check *k)
{
    static const char *const modes[] = {"Default", "DoNotEnforce", NULL};
    const char *name = zt_res_known_str(k->config, "name");
    const char *rg = zt_res_known_str(k->config, "resource_group_name");
    const char *hook = zt_res_known_str(k->config, "alert_webhook_url");
    if (name && (!zt_res_name_ok(name, 24, "-") || name[strlen(name) - 1] == '-'))
        zt_diag_error(k->c->diags, zt_res_path(k, "name"), "Invalid name",
                      "\"%s\" must be 1 to 24 letters, digits or '-', starting and ending with "
                      "a letter or digit: every Azure resource name of the layer derives from "
                      "it.", name);
    if (rg && (!zt_res_name_ok(rg, 90, "-_.()") || rg[strlen(rg) - 1] == '.'))
        zt_diag_error(k->c->diags, zt_res_path(k, "resource_group_name"),
                      "Invalid resource group name",
                      "\"%s\" is not a valid resource group name.", rg);
    if (hook && strncmp(hook, "https://", 8) != 0)
        zt_diag_error(k->c->diags, zt_res_path(k, "alert_webhook_url"), "Invalid webhook",
                      "The webhook must be an https:// URL: alert payloads name resources.");
    zt_gov_check_range(k, k->config, NULL, "log_retention_in_days", 30, 730,
                       "log_retention_in_days");
    zt_res_check_enum(k, k->config, NULL, "policy_enforcement_mode", modes,
                      "Unsupported enforcement mode", "policy enforcement mode");
    const zt_cty_value *locs = zt_cty_get_attr(k->config, "allowed_locations");
    for (size_t i = 0; locs && !locs->is_null && zt_cty_is_known(locs) && i < locs->u.coll.n;
         i++) {
        const zt_cty_value *e = locs->u.coll.elems[i];
        if (zt_cty_is_known(e) && !e->is_null && !zt_res_region_known(e->u.str.ptr))
            zt_diag_error(k->c->diags,
                          zt_path_index(k->c->arena, zt_res_path(k, "allowed_locations"),
                                        (int64_t)i),
                          "Unknown Azure region",
                          "\"%s\" is not an Azure region's programmatic name.", e->u.str.ptr);
    }
}

static zt_rc zt_gov_validate(zt_call *c, const zt_schema *s, const zt_cty_value *config)
{
    ZT_UNUSED(s);
    zt_res_check k = {c, config};
    size_t errors = c->diags->errors;
    if (!config || config->is_null || !zt_cty_is_known(config))
        return ZT_OK;
    zt_gov_check_misc(&k);
    zt_res_check_location(&k);
    zt_res_check_tags(&k);
    zt_gov_check_emails(&k, "alert_email_addresses", true);
    zt_gov_check_alerts(&k);
    zt_gov_check_effects(&k);
    zt_gov_check_scopes(&k);
    zt_gov_check_budget(&k);
    return c->diags->errors > errors ? ZT_ERR_INVALID : ZT_OK;
}

/* The scopes must exist: one GET each (subscription or resource group);
 * a read that fails for another reason than 404 proves nothing. */
static void zt_gov_plan_check(zt_call *c, const zt_cty_value *config, const zt_cty_value *prior,
                              json_t *(*get)(void *getter, const char *arm_id), void *getter)
{
    zt_res_check k = {.c = c, .config = config};
    /* The scopes are read when they are new to the plan only. */
    if (prior &&
        zt_cty_equal(zt_cty_get_attr(config, "policy_scope_ids"),
                     zt_cty_get_attr(prior, "policy_scope_ids")) &&
        zt_cty_equal(zt_cty_get_attr(config, "budget_scope_id"),
                     zt_cty_get_attr(prior, "budget_scope_id")))
        return;
    const zt_cty_value *v = zt_cty_get_attr(config, "policy_scope_ids");
    const char *budget = zt_res_known_str(config, "budget_scope_id");
    for (size_t i = 0; v && !v->is_null && zt_cty_is_known(v) && i < v->u.coll.n; i++) {
        const zt_cty_value *e = v->u.coll.elems[i];
        if (zt_cty_is_known(e) && !e->is_null && !get(getter, e->u.str.ptr) &&
            zt_comp_get_was_404(getter))
            zt_diag_error(c->diags, zt_path_index(c->arena, zt_res_path(&k, "policy_scope_ids"),
                                                  (int64_t)i),
                          "Policy scope not found",
                          "%s does not exist: create the resource group first.", e->u.str.ptr);
    }
    if (budget && !get(getter, budget) && zt_comp_get_was_404(getter))
        zt_diag_error(c->diags, zt_res_path(&k, "budget_scope_id"), "Budget scope not found",
                      "%s does not exist.", budget);
}

/* ---------------------------------------------------------------------
 * The definition.
 * ------------------------------------------------------------------- */

const zt_composite_def zt_composite_governance = {
    .type_name = "zerotrust_governance",
    .nodes = zt_gov_nodes,
    .n_nodes = ZT_ARRAY_LEN(zt_gov_nodes),
    .outputs = zt_gov_outputs,
    .n_outputs = ZT_ARRAY_LEN(zt_gov_outputs),
    .id_node = "log_analytics",
    .validate = zt_gov_validate,
    .import = zt_gov_import,
    .plan_check = zt_gov_plan_check,
    .default_create_ms = 30 * 60 * 1000,
    .default_update_ms = 30 * 60 * 1000,
    .default_delete_ms = 30 * 60 * 1000,
    .default_read_ms = 10 * 60 * 1000,
};
