/* Unit tests for zerotrust_governance (provider/resources/zt_governance.c):
 * the node table expanded by the real engine, IDs, bodies, the initiative
 * against the vendored built-in definitions (third_party/azure-policy),
 * least roles for remediation, outputs, the validate and plan_check hooks,
 * and import from canned ARM reads.
 *
 * `test_governance --dump-bodies FILE` writes every node's PUT body as an
 * emulator request log, which tests/unit/check_bodies.py validates against
 * azure-specs. */
#include "zt_comp_internal.h"

static void fake_outputs(zt_comp_eval *ev);
#define ZT_TEST_RES_AFTER_EXPAND(ev) fake_outputs(ev)
#define ZT_TEST_RES_DEF zt_composite_governance
#define ZT_TEST_RES_TYPE "zerotrust_governance"
#include "zt_test_res.h"
#include "zt_test_values.h"

#include "zt_compliance.h"
#include "zt_governance.h"
#include "zt_res.h"

#include <dirent.h>
#include <time.h>

#define DEF zt_composite_governance

#define SUB_ID "/subscriptions/" SUB
#define RG_ID SUB_ID "/resourceGroups/rg-ops"
#define LAW_ID RG_ID "/providers/Microsoft.OperationalInsights/workspaces/log-platform"
#define AG_ID RG_ID "/providers/Microsoft.Insights/actionGroups/ag-platform"
#define SET_ID SUB_ID "/providers/Microsoft.Authorization/policySetDefinitions/zt-platform-guardrails"
#define RG_DBX SUB_ID "/resourceGroups/rg-dbx"
#define PRINCIPAL "aaaaaaaa-0000-0000-0000-00000000000a"

#define BASE_INPUTS                                                                           \
    "\"name\":\"platform\",\"location\":\"westeurope\",\"resource_group_name\":\"rg-ops\","   \
    "\"alert_email_addresses\":[\"ops@example.com\",\"sec@example.com\"],"                    \
    "\"tags\":{\"environment\":\"prod\",\"project\":\"dataplatform\",\"owner\":\"team\","     \
    "\"cost-centre\":\"cc-1\"}"

#define ALL_ON_INPUTS                                                                         \
    BASE_INPUTS ",\"alert_webhook_url\":\"https://hooks.example.com/alerts\","                \
    "\"log_retention_in_days\":180,\"policy_scope_ids\":[\"" RG_ID "\",\"" RG_DBX "\"],"      \
    "\"policy_enforcement_mode\":\"DoNotEnforce\",\"policy_effects\":{"                       \
    "\"storage_public_network_access\":\"Deny\",\"diagnostics_storage\":\"Disabled\","        \
    "\"diagnostics_blob\":\"AuditIfNotExists\"},\"required_tags\":[\"owner\",\"data-class\"]," \
    "\"allowed_locations\":[\"westeurope\",\"northeurope\"],\"budget_amount\":2500,"          \
    "\"budget_scope_id\":\"" RG_DBX "\",\"budget_contact_emails\":[\"finance@example.com\"],"  \
    "\"alerts\":{\"firewall_denies\":{\"severity\":1,\"window_minutes\":60,"                  \
    "\"frequency_minutes\":15,\"threshold\":500},\"databricks_job_failures\":{"               \
    "\"enabled\":false}}"

/* What ARM returns for the nodes other bodies and outputs read from. */
static void fake_outputs(zt_comp_eval *ev)
{
    fake(ev, "log_analytics", "{\"properties\":{\"customerId\":\"cccccccc-1111-2222-3333-444444444444\"}}");
    fake(ev, "application_insights",
         "{\"properties\":{\"ConnectionString\":\"InstrumentationKey=k;IngestionEndpoint=https://x/\"}}");
    for (size_t i = 0; i < ev->graph.n; i++)
        if (strcmp(ev->graph.inst[i].def->key, "policy_assignment") == 0)
            fake(ev, ev->graph.inst[i].key,
                 "{\"identity\":{\"type\":\"SystemAssigned\",\"principalId\":\"" PRINCIPAL "\"}}");
}

static ssize_t find(zt_comp_eval *ev, const char *key)
{
    return zt_comp_graph_find(&ev->graph, key);
}

/* ---- the table against the vendored built-in definitions ------------------------- */

static json_t *load_definition(const char *guid)
{
    const char *dir = getenv("ZT_AZURE_POLICY_DIR");
    ck_assert_msg(dir != NULL, "ZT_AZURE_POLICY_DIR is not set (run through meson test)");
    DIR *cats = opendir(dir);
    ck_assert_ptr_nonnull(cats);
    json_t *found = NULL;
    for (struct dirent *c; !found && (c = readdir(cats));) {
        if (c->d_name[0] == '.')
            continue;
        const char *sub = zt_arena_printf(A, "%s/%s", dir, c->d_name);
        DIR *files = opendir(sub);
        for (struct dirent *f; files && !found && (f = readdir(files));) {
            if (!strstr(f->d_name, ".json"))
                continue;
            json_t *d = json_load_file(zt_arena_printf(A, "%s/%s", sub, f->d_name), 0, NULL);
            if (d && strcmp(json_string_value(json_object_get(d, "name")), guid) == 0)
                found = d;
            else
                json_decref(d);
        }
        if (files)
            closedir(files);
    }
    closedir(cats);
    ck_assert_msg(found != NULL, "no built-in definition %s in third_party/azure-policy", guid);
    zt_arena_on_free(A, (void (*)(void *))json_decref, found);
    return found;
}

static void check_member(const zt_gov_policy *p)
{
    json_t *d = load_definition(p->guid);
    json_t *props = json_object_get(d, "properties");
    ck_assert_str_eq(json_string_value(json_object_get(props, "displayName")), p->display);
    json_t *params = json_object_get(props, "parameters");
    json_t *effect = json_object_get(params, "effect");
    if (!p->effect) {
        ck_assert_msg(effect == NULL, "%s: the definition has an effect parameter", p->key);
        return;
    }
    json_t *allowed = json_object_get(effect, "allowedValues");
    size_t n = 0;
    while (p->effects[n])
        n++;
    ck_assert_uint_eq(json_array_size(allowed), n);
    for (size_t i = 0; i < n; i++)
        ck_assert_str_eq(json_string_value(json_array_get(allowed, i)), p->effects[i]);
    ck_assert_msg(zt_res_in_list(p->effects, p->effect), "%s: default %s", p->key, p->effect);
    if (p->params & ZT_GOV_P_LOCATIONS)
        ck_assert_ptr_nonnull(json_object_get(params, "listOfAllowedLocations"));
    if (p->params & ZT_GOV_P_WORKSPACE)
        ck_assert_ptr_nonnull(json_object_get(params, "logAnalytics"));
    if (p->params & ZT_GOV_P_CATEGORY)
        ck_assert_ptr_nonnull(json_object_get(params, "categoryGroup"));
    /* every parameter without a default is given */
    const char *k;
    json_t *v;
    json_object_foreach(params, k, v)
    {
        if (json_object_get(v, "defaultValue"))
            continue;
        ck_assert_msg((strcmp(k, "listOfAllowedLocations") == 0 && p->params & ZT_GOV_P_LOCATIONS) ||
                          (strcmp(k, "logAnalytics") == 0 && p->params & ZT_GOV_P_WORKSPACE),
                      "%s: parameter %s has no default and is not given", p->key, k);
    }
    /* DeployIfNotExists: the roles are the definition's, no more, no less */
    json_t *roles = zt_comp_json_ptr(props, "/policyRule/then/details/roleDefinitionIds");
    size_t nr = 0;
    while (p->roles && p->roles[nr])
        nr++;
    ck_assert_uint_eq(json_array_size(roles), nr);
    for (size_t i = 0; i < nr; i++) {
        const char *id = json_string_value(json_array_get(roles, i));
        ck_assert_str_eq(strrchr(id, '/') + 1, p->roles[i]);
    }
}

START_TEST(test_members_are_the_vendored_builtins)
{
    for (size_t i = 0; i < zt_gov_n_policies; i++)
        check_member(&zt_gov_policies[i]);
    check_member(&zt_gov_tag_policy);
    check_member(&zt_gov_rg_tag_policy);
    for (size_t i = 0; i < zt_gov_n_policies; i++)
        for (size_t j = 0; j < i; j++)
            ck_assert_str_ne(zt_gov_policies[i].guid, zt_gov_policies[j].guid);
}
END_TEST

/* ---- expansion and IDs ---------------------------------------------------------------- */

START_TEST(test_expand_defaults)
{
    zt_comp_eval *ev = expand(BASE_INPUTS);
    ck_assert_str_eq(zt_comp_id(ev, "log_analytics"), LAW_ID);
    ck_assert_str_eq(zt_comp_id(ev, "diag_log_analytics"),
                     LAW_ID "/providers/Microsoft.Insights/diagnosticSettings/zerotrust-law");
    ck_assert_str_eq(zt_comp_id(ev, "action_group"), AG_ID);
    ck_assert_str_eq(zt_comp_id(ev, "alert[firewall_denies]"),
                     RG_ID "/providers/Microsoft.Insights/scheduledQueryRules/"
                           "alert-platform-firewall_denies");
    ck_assert_str_eq(zt_comp_id(ev, "activity_alert[nsg_changed]"),
                     RG_ID "/providers/Microsoft.Insights/activityLogAlerts/"
                           "activity-platform-nsg_changed");
    ck_assert_str_eq(zt_comp_id(ev, "policy_set"), SET_ID);
    /* default scope: the subscription */
    ck_assert_str_eq(zt_comp_id(ev, "policy_assignment[" SUB_ID "]"),
                     SUB_ID "/providers/Microsoft.Authorization/policyAssignments/"
                            "zt-platform-guardrails");
    ck_assert_str_eq(zt_comp_id(ev, "budget"),
                     SUB_ID "/providers/Microsoft.Consumption/budgets/budget-platform");
    /* the two roles the DeployIfNotExists members list, at the scope; the
     * workspace is inside the subscription: no extra grant */
    ck_assert(find(ev, "policy_role[" SUB_ID "|" ZT_GOV_ROLE_LA_CONTRIBUTOR "]") >= 0);
    ck_assert(find(ev, "policy_role[" SUB_ID "|" ZT_GOV_ROLE_MON_CONTRIBUTOR "]") >= 0);
    ck_assert(find(ev, "policy_role[" SUB_ID "|workspace]") < 0);
    size_t roles = 0;
    for (size_t i = 0; i < ev->graph.n; i++)
        roles += strcmp(ev->graph.inst[i].def->key, "policy_role") == 0;
    ck_assert_uint_eq(roles, 2);
    const char *ra = zt_comp_id(ev, "policy_role[" SUB_ID "|" ZT_GOV_ROLE_LA_CONTRIBUTOR "]");
    ck_assert(strncmp(ra, SUB_ID "/providers/Microsoft.Authorization/roleAssignments/",
                      strlen(SUB_ID "/providers/Microsoft.Authorization/roleAssignments/")) == 0);
    /* stable names */
    ck_assert_str_eq(zt_comp_id(expand(BASE_INPUTS), "policy_role[" SUB_ID "|"
                                                     ZT_GOV_ROLE_LA_CONTRIBUTOR "]"), ra);
    /* nothing exists before the workspace (the id_node) */
    for (size_t i = 0; i < ev->graph.n; i++) {
        const zt_comp_inst *in = &ev->graph.inst[i];
        ck_assert_msg(in->n_deps > 0 || strcmp(in->key, "log_analytics") == 0, "%s", in->key);
    }
}
END_TEST

START_TEST(test_roles_follow_effects_and_scopes)
{
    zt_comp_eval *ev = expand(ALL_ON_INPUTS);
    /* diagnostics_storage Disabled, diagnostics_blob AuditIfNotExists: the
     * remaining DeployIfNotExists members need Log Analytics Contributor only */
    ck_assert(find(ev, "policy_role[" RG_DBX "|" ZT_GOV_ROLE_LA_CONTRIBUTOR "]") >= 0);
    ck_assert(find(ev, "policy_role[" RG_DBX "|" ZT_GOV_ROLE_MON_CONTRIBUTOR "]") < 0);
    /* rg-dbx does not hold the workspace: a grant on the workspace itself */
    ssize_t w = find(ev, "policy_role[" RG_DBX "|workspace]");
    ck_assert(w >= 0);
    const char *id = ev->graph.inst[w].id;
    ck_assert_msg(strncmp(id, LAW_ID "/providers/Microsoft.Authorization/roleAssignments/",
                          strlen(LAW_ID "/providers/")) == 0, "%s", id);
    ck_assert(find(ev, "policy_role[" RG_ID "|workspace]") < 0); /* rg-ops holds it */
    json_t *b = body_of(ev, "policy_role[" RG_DBX "|workspace]");
    ck_assert_str_eq(jstr(b, "/properties/principalId"), PRINCIPAL);
    ck_assert(strstr(jstr(b, "/properties/roleDefinitionId"), ZT_GOV_ROLE_LA_CONTRIBUTOR));
    /* every member off DeployIfNotExists: no roles at all */
    zt_comp_eval *none = expand(BASE_INPUTS ",\"policy_effects\":{\"diagnostics_keyvault\":"
                                "\"Disabled\",\"diagnostics_databricks\":\"Disabled\","
                                "\"diagnostics_firewall\":\"Disabled\",\"diagnostics_registry\":"
                                "\"Disabled\",\"diagnostics_nsg\":\"Disabled\","
                                "\"diagnostics_storage\":\"Disabled\",\"diagnostics_blob\":"
                                "\"Disabled\"}");
    for (size_t i = 0; i < none->graph.n; i++)
        ck_assert_str_ne(none->graph.inst[i].def->key, "policy_role");
}
END_TEST

/* ---- bodies ---------------------------------------------------------------------------- */

START_TEST(test_bodies_monitoring)
{
    zt_comp_eval *ev = expand(ALL_ON_INPUTS);
    json_t *law = body_of(ev, "log_analytics");
    ck_assert_str_eq(jstr(law, "/properties/sku/name"), "PerGB2018");
    ck_assert_int_eq(json_integer_value(zt_comp_json_ptr(law, "/properties/retentionInDays")), 180);
    ck_assert(json_is_true(zt_comp_json_ptr(law, "/properties/features/disableLocalAuth")));
    json_t *diag = body_of(ev, "diag_log_analytics");
    ck_assert_str_eq(jstr(diag, "/properties/workspaceId"), LAW_ID);
    ck_assert_str_eq(jstr(diag, "/properties/logs/0/categoryGroup"), "allLogs");
    json_t *ai = body_of(ev, "application_insights");
    ck_assert_str_eq(jstr(ai, "/properties/WorkspaceResourceId"), LAW_ID);
    ck_assert(json_is_true(zt_comp_json_ptr(ai, "/properties/DisableLocalAuth")));
    json_t *ag = body_of(ev, "action_group");
    ck_assert_str_eq(jstr(ag, "/location"), "global");
    ck_assert_str_eq(jstr(ag, "/properties/groupShortName"), "zt-platform");
    ck_assert_str_eq(jstr(ag, "/properties/emailReceivers/1/emailAddress"), "sec@example.com");
    ck_assert_str_eq(jstr(ag, "/properties/webhookReceivers/0/serviceUri"),
                     "https://hooks.example.com/alerts");
    json_t *fw = body_of(ev, "alert[firewall_denies]");
    ck_assert_int_eq(json_integer_value(zt_comp_json_ptr(fw, "/properties/severity")), 1);
    ck_assert_str_eq(jstr(fw, "/properties/windowSize"), "PT1H");
    ck_assert_str_eq(jstr(fw, "/properties/evaluationFrequency"), "PT15M");
    ck_assert_int_eq(json_integer_value(zt_comp_json_ptr(fw, "/properties/criteria/allOf/0/threshold")),
                     500);
    ck_assert(strstr(jstr(fw, "/properties/criteria/allOf/0/query"), "AZFWApplicationRule"));
    ck_assert_str_eq(jstr(fw, "/properties/scopes/0"), LAW_ID);
    ck_assert_str_eq(jstr(fw, "/properties/actions/actionGroups/0"), AG_ID);
    json_t *jobs = body_of(ev, "alert[databricks_job_failures]");
    ck_assert(json_is_false(zt_comp_json_ptr(jobs, "/properties/enabled")));
    ck_assert_str_eq(jstr(jobs, "/properties/windowSize"), "PT1H"); /* default 60 */
    json_t *act = body_of(ev, "activity_alert[policy_assignment_deleted]");
    ck_assert_str_eq(jstr(act, "/location"), "Global");
    ck_assert_str_eq(jstr(act, "/properties/condition/allOf/1/equals"),
                     "Microsoft.Authorization/policyAssignments/delete");
    ck_assert_str_eq(jstr(act, "/properties/scopes/1"), RG_DBX);
    json_t *rt = body_of(ev, "activity_alert[route_table_changed]");
    ck_assert_uint_eq(json_array_size(zt_comp_json_ptr(rt, "/properties/condition/allOf/1/anyOf")), 4);
    ck_assert_str_eq(zt_gov_duration(A, 1440), "P1D");
    ck_assert_int_eq(zt_gov_minutes("PT1H"), 60);
    ck_assert_int_eq(zt_gov_minutes("P1D"), 1440);
    ck_assert_int_eq(zt_gov_minutes("PT15M"), 15);
}
END_TEST

START_TEST(test_bodies_policy)
{
    zt_comp_eval *ev = expand(ALL_ON_INPUTS);
    json_t *set = body_of(ev, "policy_set");
    json_t *defs = zt_comp_json_ptr(set, "/properties/policyDefinitions");
    /* the table's members plus one resource and one resource-group member per tag */
    ck_assert_uint_eq(json_array_size(defs), zt_gov_n_policies + 2 * 2);
    json_t *last = json_array_get(defs, json_array_size(defs) - 2);
    ck_assert_str_eq(jstr(last, "/policyDefinitionReferenceId"), "require-tag-data-class");
    ck_assert_str_eq(jstr(last, "/parameters/tagName/value"), "data-class");
    json_t *first = json_array_get(defs, 0);
    ck_assert_str_eq(jstr(first, "/policyDefinitionId"),
                     "/providers/Microsoft.Authorization/policyDefinitions/"
                     "e56962a6-4747-49cd-b67b-bf8b01975c4c");
    ck_assert_str_eq(jstr(first, "/parameters/effect/value"),
                     "[parameters('effect-allowed_locations')]");
    ck_assert_str_eq(jstr(first, "/parameters/listOfAllowedLocations/value"),
                     "[parameters('allowedLocations')]");
    ck_assert_str_eq(jstr(set, "/properties/parameters/effect-keyvault_rbac/defaultValue"), "Deny");
    json_t *a = body_of(ev, "policy_assignment[" RG_DBX "]");
    ck_assert_str_eq(jstr(a, "/identity/type"), "SystemAssigned");
    ck_assert_str_eq(jstr(a, "/location"), "westeurope");
    ck_assert_str_eq(jstr(a, "/properties/policyDefinitionId"), SET_ID);
    ck_assert_str_eq(jstr(a, "/properties/enforcementMode"), "DoNotEnforce");
    ck_assert_str_eq(jstr(a, "/properties/parameters/logAnalytics/value"), LAW_ID);
    ck_assert_str_eq(jstr(a, "/properties/parameters/allowedLocations/value/1"), "northeurope");
    ck_assert_str_eq(jstr(a, "/properties/parameters/effect-storage_public_network_access/value"),
                     "Deny");
    /* defaults stay in the set: not repeated in the assignment */
    ck_assert_ptr_null(zt_comp_json_ptr(a, "/properties/parameters/effect-keyvault_rbac"));
}
END_TEST

START_TEST(test_budget_start_fixed_at_creation)
{
    zt_comp_eval *ev = expand(ALL_ON_INPUTS);
    json_t *b = body_of(ev, "budget");
    ck_assert_str_eq(jstr(b, "/properties/timeGrain"), "Monthly");
    ck_assert_int_eq(json_integer_value(zt_comp_json_ptr(b, "/properties/amount")), 2500);
    char month[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    snprintf(month, sizeof(month), "%04d-%02d-01T00:00:00Z", tm.tm_year + 1900, tm.tm_mon + 1);
    ck_assert_str_eq(jstr(b, "/properties/timePeriod/startDate"), month);
    ck_assert_str_eq(jstr(b, "/properties/notifications/forecast_100/thresholdType"), "Forecasted");
    ck_assert_int_eq(json_integer_value(zt_comp_json_ptr(b, "/properties/notifications/actual_80/"
                                                            "threshold")), 80);
    ck_assert_str_eq(jstr(b, "/properties/notifications/actual_80/contactEmails/0"),
                     "finance@example.com");
    ck_assert_str_eq(jstr(b, "/properties/notifications/actual_100/contactGroups/0"), AG_ID);
    ck_assert_str_eq(zt_comp_id(ev, "budget"),
                     RG_DBX "/providers/Microsoft.Consumption/budgets/budget-platform");
    /* once it exists, the date Azure holds is repeated: months later, no change */
    fake(ev, "budget", "{\"properties\":{\"timePeriod\":{\"startDate\":\"2024-03-01T00:00:00Z\"}}}");
    ck_assert_str_eq(jstr(body_of(ev, "budget"), "/properties/timePeriod/startDate"),
                     "2024-03-01T00:00:00Z");
    ck_assert_str_eq(output(ev, "budget_start_date")->u.str.ptr, "2024-03-01T00:00:00Z");
}
END_TEST

/* ---- outputs --------------------------------------------------------------------------- */

START_TEST(test_outputs)
{
    zt_comp_eval *ev = expand(ALL_ON_INPUTS);
    ck_assert_str_eq(output(ev, "log_analytics_workspace_id")->u.str.ptr, LAW_ID);
    ck_assert_str_eq(output(ev, "log_analytics_customer_id")->u.str.ptr,
                     "cccccccc-1111-2222-3333-444444444444");
    ck_assert(strstr(output(ev, "application_insights_connection_string")->u.str.ptr,
                     "InstrumentationKey="));
    ck_assert_str_eq(output(ev, "action_group_id")->u.str.ptr, AG_ID);
    const zt_cty_value *pa = output(ev, "policy_assignment_ids");
    ck_assert_uint_eq(pa->u.coll.n, 2);
    ck_assert_str_eq(zt_cty_map_get(pa, RG_DBX)->u.str.ptr,
                     RG_DBX "/providers/Microsoft.Authorization/policyAssignments/"
                            "zt-platform-guardrails");
    const zt_cty_value *ev_map = output(ev, "compliance_evidence");
    const zt_cty_value *logging = zt_cty_map_get(ev_map, "ISO27001-A.8.15");
    ck_assert_ptr_nonnull(logging);
    ck_assert_str_eq(logging->u.coll.elems[0]->u.str.ptr, LAW_ID);
    const zt_cty_value *nis2a = zt_cty_map_get(ev_map, "NIS2-21.2.a");
    ck_assert_uint_eq(nis2a->u.coll.n, 3); /* the set and its two assignments */
    /* controls only other composites implement are left out */
    ck_assert_ptr_null(zt_cty_map_get(ev_map, "ISO27001-A.8.22"));
    /* every implementer names a composite and a node it has */
    for (size_t c = 0; c < zt_compliance_n_controls; c++)
        for (const char *const *m = zt_compliance_controls[c].implementers; *m; m++) {
            const char *colon = strchr(*m, ':');
            ck_assert_ptr_nonnull(colon);
            const zt_composite_def *d =
                zt_composite_find(zt_arena_strndup(A, *m, (size_t)(colon - *m)));
            ck_assert_msg(d != NULL, "%s", *m);
            bool node = false;
            size_t len = strlen(colon + 1);
            bool prefix = colon[len] == '*';
            for (size_t i = 0; i < d->n_nodes; i++)
                node |= prefix ? strncmp(d->nodes[i].key, colon + 1, len - 1) == 0
                               : strcmp(d->nodes[i].key, colon + 1) == 0;
            ck_assert_msg(node, "%s: no such node", *m);
        }
}
END_TEST

/* ---- plan-time checks --------------------------------------------------------------------- */

START_TEST(test_validate_ok)
{
    ck_assert_int_eq(validate(BASE_INPUTS), ZT_OK);
    ck_assert_int_eq(validate(ALL_ON_INPUTS), ZT_OK);
    ck_assert_uint_eq(D.count, 0);
}
END_TEST

START_TEST(test_validate_errors)
{
    ck_assert_int_ne(validate(
        "\"name\":\"-bad\",\"location\":\"West Europe\",\"resource_group_name\":\"rg\","
        "\"alert_email_addresses\":[\"ops@example.com\",\"not-an-address\"],"
        "\"log_retention_in_days\":7,\"alert_webhook_url\":\"http://x\","
        "\"policy_scope_ids\":[\"/subscriptions/99999999-0000-0000-0000-000000000000\","
        "\"" RG_ID "\",\"" RG_ID "\"],\"policy_enforcement_mode\":\"Audit\","
        "\"policy_effects\":{\"nope\":\"Deny\",\"storage_customer_managed_key\":\"Deny\","
        "\"nic_no_public_ip\":\"Audit\"},\"allowed_locations\":[\"mars\"],\"budget_amount\":0,"
        "\"alerts\":{\"firewall_denies\":{\"severity\":7,\"frequency_minutes\":7},"
        "\"other\":{},\"keyvault_auth_failures\":{\"window_minutes\":5,\"frequency_minutes\":15}},"
        "\"tags\":{\"environment\":\"prod\"}"), ZT_OK);
    tv_expect_error(A, &D, "Invalid name", "name", "-bad");
    tv_expect_error(A, &D, "Unknown Azure region", "location", "West Europe");
    tv_expect_error(A, &D, "Invalid e-mail address", "alert_email_addresses[1]", NULL);
    tv_expect_error(A, &D, "Out of range", "log_retention_in_days", "30");
    tv_expect_error(A, &D, "Invalid webhook", "alert_webhook_url", NULL);
    tv_expect_error(A, &D, "Invalid policy scope", "policy_scope_ids[0]", NULL);
    tv_expect_error(A, &D, "Duplicate policy scope", "policy_scope_ids[2]", NULL);
    tv_expect_error(A, &D, "Unsupported enforcement mode", "policy_enforcement_mode", "DoNotEnforce");
    tv_expect_error(A, &D, "Unknown policy", "policy_effects[\"nope\"]", NULL);
    tv_expect_error(A, &D, "Effect not allowed", "policy_effects[\"storage_customer_managed_key\"]",
                    "Audit");
    tv_expect_error(A, &D, "Effect fixed by the definition", "policy_effects[\"nic_no_public_ip\"]",
                    NULL);
    tv_expect_error(A, &D, "Unknown Azure region", "allowed_locations[0]", "mars");
    tv_expect_error(A, &D, "Invalid budget amount", "budget_amount", NULL);
    tv_expect_error(A, &D, "Out of range", "alerts[\"firewall_denies\"].severity", NULL);
    tv_expect_error(A, &D, "Unsupported frequency", "alerts[\"firewall_denies\"].frequency_minutes",
                    NULL);
    tv_expect_error(A, &D, "Unknown alert", "alerts[\"other\"]", "firewall_denies");
    tv_expect_error(A, &D, "Window too short", "alerts[\"keyvault_auth_failures\"].window_minutes",
                    NULL);
    tv_expect_error(A, &D, "Missing required tag", "tags", "project");
}
END_TEST

START_TEST(test_validate_unknowns_skipped)
{
    const zt_cty_value *in = inputs(BASE_INPUTS);
    const char *unknowns[] = {"policy_scope_ids", "policy_effects", "alerts", "budget_amount",
                              "alert_email_addresses"};
    for (size_t i = 0; i < ZT_ARRAY_LEN(unknowns); i++) {
        ssize_t k = zt_cty_type_attr_index(S->type, unknowns[i]);
        in = zt_comp_set_attr(A, in, unknowns[i], zt_cty_unknown(A, S->type->types[k]));
    }
    ck_assert_int_eq(DEF.validate(&C, S, in), ZT_OK);
    ck_assert_uint_eq(D.count, 0);
}
END_TEST

/* A getter answering 404 for everything but the subscription. */
static json_t *scope_get(void *arg, const char *id)
{
    zt_comp_getter *g = arg;
    g->not_found = strcasecmp(id, SUB_ID) != 0;
    if (g->not_found)
        return NULL;
    json_t *b = json_pack("{s:s}", "id", SUB_ID); /* borrowed, as the engine's */
    zt_arena_on_free(A, (void (*)(void *))json_decref, b);
    return b;
}

static json_t *failing_get(void *arg, const char *id)
{
    ZT_UNUSED(id);
    ((zt_comp_getter *)arg)->not_found = false; /* a 403, say */
    return NULL;
}

START_TEST(test_plan_check_scopes)
{
    zt_comp_getter g = {0};
    const zt_cty_value *in = inputs(BASE_INPUTS ",\"policy_scope_ids\":[\"" SUB_ID "\",\"" RG_DBX
                                    "\"],\"budget_scope_id\":\"" RG_ID "\"");
    DEF.plan_check(&C, in, NULL, scope_get, &g);
    tv_expect_error(A, &D, "Policy scope not found", "policy_scope_ids[1]", "rg-dbx");
    tv_expect_error(A, &D, "Budget scope not found", "budget_scope_id", "rg-ops");
    ck_assert_uint_eq(D.errors, 2);
    zt_diags_init(&D, A);
    DEF.plan_check(&C, in, in, scope_get, &g); /* scopes not new to the plan: not read */
    ck_assert_uint_eq(D.count, 0);
    DEF.plan_check(&C, inputs(ALL_ON_INPUTS), NULL, failing_get, &g);
    ck_assert_uint_eq(D.count, 0); /* a failed read proves nothing */
}
END_TEST

/* ---- import ---------------------------------------------------------------------------------- */

static const canned imported[] = {
    {LAW_ID, "{\"id\":\"" LAW_ID "\",\"location\":\"westeurope\",\"tags\":{\"environment\":\"prod\"},"
             "\"properties\":{\"retentionInDays\":90}}"},
    {AG_ID, "{\"properties\":{\"emailReceivers\":[{\"name\":\"email-0\",\"emailAddress\":"
            "\"ops@example.com\"}],\"webhookReceivers\":[]}}"},
    {RG_ID "/providers/Microsoft.Insights/scheduledQueryRules/alert-platform-firewall_denies",
     "{\"properties\":{\"severity\":1,\"enabled\":true,\"windowSize\":\"PT15M\","
     "\"evaluationFrequency\":\"PT5M\",\"criteria\":{\"allOf\":[{\"threshold\":100}]}}}"},
    {RG_ID "/providers/Microsoft.Insights/scheduledQueryRules/alert-platform-storage_auth_failures",
     "{\"properties\":{\"severity\":2,\"enabled\":true,\"windowSize\":\"PT15M\","
     "\"evaluationFrequency\":\"PT5M\",\"criteria\":{\"allOf\":[{\"threshold\":10}]}}}"},
    {SUB_ID "/providers/Microsoft.Authorization/policyAssignments",
     "{\"value\":[{\"name\":\"zt-platform-guardrails\",\"properties\":{\"scope\":\"" RG_DBX "\","
     "\"enforcementMode\":\"DoNotEnforce\",\"parameters\":{\"allowedLocations\":{\"value\":"
     "[\"westeurope\"]},\"effect-keyvault_rbac\":{\"value\":\"Audit\"}}}},"
     "{\"name\":\"someone-else\",\"properties\":{\"scope\":\"" SUB_ID "\"}}]}"},
    {SET_ID, "{\"properties\":{\"policyDefinitions\":[{\"policyDefinitionReferenceId\":"
             "\"require-tag-environment\",\"parameters\":{\"tagName\":{\"value\":\"environment\"}}},"
             "{\"policyDefinitionReferenceId\":\"require-rg-tag-environment\",\"parameters\":"
             "{\"tagName\":{\"value\":\"environment\"}}}]}}"},
    {SUB_ID "/providers/Microsoft.Consumption/budgets/budget-platform",
     "{\"properties\":{\"amount\":1000,\"notifications\":{\"actual_80\":{\"contactEmails\":"
     "[\"ops@example.com\"]}}}}"},
    {NULL, NULL},
};

START_TEST(test_import)
{
    const zt_cty_value *in = NULL;
    ck_assert_int_eq(DEF.import(&C, S, LAW_ID, canned_get, (void *)imported, &in), ZT_OK);
    ck_assert_str_eq(attr_str(in, "name"), "platform");
    ck_assert_str_eq(attr_str(in, "resource_group_name"), "rg-ops");
    ck_assert_str_eq(attr_str(in, "location"), "westeurope");
    ck_assert(zt_cty_get_attr(in, "log_retention_in_days")->is_null); /* the default */
    ck_assert_str_eq(zt_cty_get_attr(in, "alert_email_addresses")->u.coll.elems[0]->u.str.ptr,
                     "ops@example.com");
    ck_assert(zt_cty_get_attr(in, "alert_webhook_url")->is_null);
    const zt_cty_value *alerts = zt_cty_get_attr(in, "alerts");
    ck_assert_uint_eq(alerts->u.coll.n, 1); /* only the one off its defaults */
    const zt_cty_value *fw = zt_cty_map_get(alerts, "firewall_denies");
    int64_t sev;
    ck_assert(zt_cty_number_to_int64(zt_cty_get_attr(fw, "severity"), &sev) && sev == 1);
    ck_assert(zt_cty_get_attr(fw, "threshold")->is_null);
    const zt_cty_value *scopes = zt_cty_get_attr(in, "policy_scope_ids");
    ck_assert_uint_eq(scopes->u.coll.n, 1);
    ck_assert_str_eq(scopes->u.coll.elems[0]->u.str.ptr, RG_DBX);
    ck_assert_str_eq(attr_str(in, "policy_enforcement_mode"), "DoNotEnforce");
    ck_assert_str_eq(zt_cty_map_get(zt_cty_get_attr(in, "policy_effects"), "keyvault_rbac")->u.str.ptr,
                     "Audit");
    ck_assert(zt_cty_get_attr(in, "allowed_locations")->is_null); /* = [location] */
    ck_assert_uint_eq(zt_cty_get_attr(in, "required_tags")->u.coll.n, 1);
    ck_assert(zt_cty_get_attr(in, "budget_amount")->is_null);
    ck_assert(zt_cty_get_attr(in, "budget_contact_emails")->is_null);
    ck_assert(zt_cty_get_attr(in, "budget_scope_id")->is_null);
    /* not ours */
    zt_diags_init(&D, A);
    ck_assert_int_ne(DEF.import(&C, S, RG_ID "/providers/Microsoft.OperationalInsights/workspaces/"
                                       "other", canned_get, (void *)imported, &in), ZT_OK);
    tv_expect_error(A, &D, "Not a zerotrust_governance workspace", "", "log-<name>");
}
END_TEST

/* ---- body dump for the validator ---------------------------------------------------- */

START_TEST(test_dump_bodies)
{
    static const char *const sets[] = {BASE_INPUTS, ALL_ON_INPUTS};
    zt_test_res_dump_bodies(sets, ZT_ARRAY_LEN(sets));
}
END_TEST

int main(int argc, char **argv)
{
    const TTest *const tests[] = {
        test_definition_passes_engine_checks,
        test_members_are_the_vendored_builtins,
        test_expand_defaults,
        test_roles_follow_effects_and_scopes,
        test_bodies_monitoring,
        test_bodies_policy,
        test_budget_start_fixed_at_creation,
        test_outputs,
        test_validate_ok,
        test_validate_errors,
        test_validate_unknowns_skipped,
        test_plan_check_scopes,
        test_import,
    };
    return zt_test_res_main(argc, argv, "governance", test_dump_bodies, tests,
                            ZT_ARRAY_LEN(tests));
}
