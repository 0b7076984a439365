/* zt_compliance.c - the compliance mapping (zt_compliance.h) and the
 * compliance_evidence output every composite computes from it. Sources
 * and limits: docs/compliance.md. */
#include "zt_compliance.h"

#include <string.h>

#define IMPL(...) ((const char *const[]){__VA_ARGS__, NULL})
#define GOV "zerotrust_governance:"
#define HUB "zerotrust_hub:"
#define SPOKE "zerotrust_spoke:"
#define WS "zerotrust_databricks_private_workspace:"

const zt_compliance_control zt_compliance_controls[] = {
    /* NIS2 Directive (EU) 2022/2555, Article 21(2) */
    {"NIS2-21.2.a", "Policies on risk analysis and information system security",
     IMPL(GOV "policy_set", GOV "policy_assignment")},
    {"NIS2-21.2.b", "Incident handling",
     IMPL(GOV "log_analytics", GOV "alert", GOV "activity_alert", GOV "action_group",
          HUB "diag_*", SPOKE "diag_*", SPOKE "flow_log", WS "diag_*")},
    {"NIS2-21.2.c", "Business continuity, backup management and disaster recovery",
     IMPL(WS "key_vault", WS "storage")},
    {"NIS2-21.2.d", "Supply chain security",
     IMPL(WS "registry", HUB "firewall_rules", SPOKE "firewall_rules")},
    {"NIS2-21.2.e", "Security in network and information systems acquisition, development and "
                    "maintenance, including vulnerability handling",
     IMPL(HUB "firewall_policy", GOV "policy_assignment")},
    {"NIS2-21.2.f", "Assessing the effectiveness of cybersecurity risk-management measures",
     IMPL(GOV "policy_assignment", GOV "alert")},
    {"NIS2-21.2.g", "Basic cyber hygiene practices",
     IMPL(GOV "policy_assignment", HUB "firewall", SPOKE "nsg_*", SPOKE "route_table")},
    {"NIS2-21.2.h", "Cryptography and encryption",
     IMPL(WS "key_vault", WS "key_*", WS "storage", WS "workspace_cmk")},
    {"NIS2-21.2.i", "Access control policies and asset management",
     IMPL(WS "ra_*", WS "id_*", WS "fic_github", GOV "activity_alert", GOV "policy_role")},
    {"NIS2-21.2.j", "Multi-factor or continuous authentication and secured communications",
     IMPL(HUB "vpn_gateway", HUB "bastion", WS "pe_*", SPOKE "peering", SPOKE "hub_peering")},
    /* ISO/IEC 27001:2022, Annex A */
    {"ISO27001-A.5.15", "Access control", IMPL(WS "ra_*", HUB "bastion", GOV "policy_role")},
    {"ISO27001-A.5.16", "Identity management", IMPL(WS "id_*", WS "fic_github")},
    {"ISO27001-A.5.23", "Information security for use of cloud services",
     IMPL(GOV "policy_set", GOV "policy_assignment", GOV "budget")},
    {"ISO27001-A.5.36", "Compliance with policies, rules and standards for information security",
     IMPL(GOV "policy_set", GOV "policy_assignment")},
    {"ISO27001-A.8.9", "Configuration management",
     IMPL(GOV "policy_assignment", GOV "activity_alert")},
    {"ISO27001-A.8.12", "Data leakage prevention",
     IMPL(HUB "firewall", WS "pe_*", WS "storage")},
    {"ISO27001-A.8.15", "Logging",
     IMPL(GOV "log_analytics", GOV "diag_*", HUB "diag_*", SPOKE "diag_*", SPOKE "flow_log",
          WS "diag_*")},
    {"ISO27001-A.8.16", "Monitoring activities",
     IMPL(GOV "alert", GOV "activity_alert", GOV "action_group", GOV "application_insights")},
    {"ISO27001-A.8.20", "Networks security",
     IMPL(HUB "firewall", HUB "firewall_policy", SPOKE "nsg_*", SPOKE "route_table")},
    {"ISO27001-A.8.21", "Security of network services",
     IMPL(HUB "firewall_rules", SPOKE "firewall_rules", HUB "dns_resolver")},
    {"ISO27001-A.8.22", "Segregation of networks",
     IMPL(HUB "vnet", SPOKE "vnet", SPOKE "peering", SPOKE "hub_peering")},
    {"ISO27001-A.8.24", "Use of cryptography",
     IMPL(WS "key_vault", WS "key_*", WS "storage", WS "workspace_cmk")},
    /* EU AI Act, Regulation (EU) 2024/1689 */
    {"EUAIA-10", "Data and data governance",
     IMPL(WS "storage", WS "container", WS "access_connector", WS "ra_uc_lake")},
    {"EUAIA-12", "Record-keeping: automatic logging of events",
     IMPL(GOV "log_analytics", GOV "diag_log_analytics", WS "diag_workspace", WS "diag_storage")},
    {"EUAIA-15", "Accuracy, robustness and cybersecurity",
     IMPL(HUB "firewall", WS "pe_*", WS "workspace_cmk", GOV "policy_assignment")},
};
const size_t zt_compliance_n_controls = ZT_ARRAY_LEN(zt_compliance_controls);

static bool implements(const char *pattern, const char *type, const char *node)
{
    size_t tn = strlen(type), pn = strlen(pattern);
    if (strncmp(pattern, type, tn) != 0 || pattern[tn] != ':')
        return false;
    const char *want = pattern + tn + 1;
    if (pattern[pn - 1] == '*')
        return strncmp(node, want, strlen(want) - 1) == 0;
    return strcmp(node, want) == 0;
}

const zt_cty_value *zt_compliance_evidence(const zt_comp_eval *ev)
{
    zt_arena *a = zt_comp_arena(ev);
    const char *type = zt_comp_type_name(ev);
    const char **keys = zt_arena_calloc(a, zt_compliance_n_controls + 1, sizeof(*keys));
    const zt_cty_value **vals = zt_arena_calloc(a, zt_compliance_n_controls + 1, sizeof(*vals));
    size_t n = 0;
    for (size_t c = 0; c < zt_compliance_n_controls; c++) {
        const zt_compliance_control *ctl = &zt_compliance_controls[c];
        const zt_cty_value **ids = NULL;
        size_t k = 0;
        const char *key, *node, *id;
        for (size_t i = 0; zt_comp_instance_at(ev, i, &key, &node, &id); i++) {
            bool match = false;
            for (size_t m = 0; ctl->implementers[m] && !match; m++)
                match = implements(ctl->implementers[m], type, node);
            if (!match)
                continue;
            if (!id)
                return NULL;
            ids = zt_arena_realloc(a, ids, k * sizeof(*ids), (k + 1) * sizeof(*ids));
            ids[k++] = zt_cty_string(a, id);
        }
        if (!k)
            continue;
        keys[n] = ctl->id;
        vals[n++] = zt_cty_list(a, &zt_cty_string_type, k, ids);
    }
    return zt_cty_map(a, zt_cty_type_list(a, &zt_cty_string_type), n, keys, vals);
}
