/* zt_arm_cloud.c - clouds, resource IDs, api-versions, serialization keys. */
#include "zt_arm_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct cloud_def {
    const char *name;
    const char *authority_host;
    const char *resource_manager;
} cloud_def;

/* docs/azure-arm.md section 3. The ARM audience is the endpoint plus "/". */
static const cloud_def clouds[] = {
    {"public", "https://login.microsoftonline.com", "https://management.azure.com"},
    {"usgovernment", "https://login.microsoftonline.us", "https://management.usgovcloudapi.net"},
    {"china", "https://login.chinacloudapi.cn", "https://management.chinacloudapi.cn"},
};

static bool is_set(const char *s) { return s && *s; }

/* Without the trailing slashes, so paths can be appended. */
static const char *strip_slash(zt_arena *a, const char *s)
{
    char *c = zt_arena_strdup(a, s);
    size_t n = strlen(c);
    while (n && c[n - 1] == '/')
        c[--n] = '\0';
    return c;
}

static zt_rc check_https(zt_diags *d, const char *attr, const char *url)
{
    if (strncasecmp(url, "https://", 8) == 0 && url[8])
        return ZT_OK;
    return zt_diag_error(d, zt_path_attr(d->arena, NULL, attr), "Invalid endpoint",
                         "%s must be an https:// URL (got \"%s\"): tokens are never sent "
                         "over plain HTTP.", attr, url);
}

zt_rc zt_arm_cloud_resolve(zt_arena *a, const zt_provider_config *cfg, zt_diags *d,
                           zt_arm_cloud *out)
{
    const char *env = is_set(cfg->environment) ? cfg->environment : "public";
    const cloud_def *def = NULL;
    for (size_t i = 0; i < ZT_ARRAY_LEN(clouds); i++)
        if (strcasecmp(env, clouds[i].name) == 0)
            def = &clouds[i];
    bool custom = strcasecmp(env, "custom") == 0;
    if (!def && !custom)
        return zt_diag_error(d, zt_path_attr(d->arena, NULL, "environment"),
                             "Unknown Azure environment",
                             "environment must be one of public, usgovernment, china or "
                             "custom; got \"%s\".", env);
    if (custom && (!is_set(cfg->resource_manager_endpoint) || !is_set(cfg->authority_host)))
        return zt_diag_error(d, zt_path_attr(d->arena, NULL, "environment"),
                             "Incomplete custom environment",
                             "environment \"custom\" needs both resource_manager_endpoint "
                             "and authority_host.");

    const char *authority = is_set(cfg->authority_host) ? cfg->authority_host : NULL;
    /* AKS workload identity injects the cloud's authority here. */
    if (!authority && is_set(getenv("AZURE_AUTHORITY_HOST")))
        authority = getenv("AZURE_AUTHORITY_HOST");
    if (!authority)
        authority = def->authority_host;
    const char *arm = is_set(cfg->resource_manager_endpoint) ? cfg->resource_manager_endpoint
                                                             : def->resource_manager;
    ZT_TRY(check_https(d, "authority_host", authority));
    ZT_TRY(check_https(d, "resource_manager_endpoint", arm));

    memset(out, 0, sizeof(*out));
    out->name = custom ? "custom" : def->name;
    out->authority_host = strip_slash(a, authority);
    out->resource_manager = strip_slash(a, arm);
    /* Tokens are minted for the cloud's audience even when the endpoint is
     * overridden (a proxy or an emulator standing in for ARM). */
    const char *aud_base = custom ? out->resource_manager : def->resource_manager;
    out->audience = zt_arena_printf(a, "%s/", aud_base);
    out->scope = zt_arena_printf(a, "%s/.default", aud_base);
    return ZT_OK;
}

/* ------------------------------------------------------------------ */

typedef struct seg {
    const char *p;
    size_t n;
} seg;

#define MAX_SEGS 64

/* Split the path part of an ID ("/a/b/c", no query) into segments. */
static size_t split_id(const char *id, seg *segs)
{
    size_t n = 0;
    const char *p = id;
    size_t len = strcspn(id, "?#");
    const char *end = id + len;
    while (p < end && n < MAX_SEGS) {
        while (p < end && *p == '/')
            p++;
        if (p >= end)
            break;
        const char *s = p;
        while (p < end && *p != '/')
            p++;
        segs[n++] = (seg){s, (size_t)(p - s)};
    }
    return n;
}

static bool seg_is(seg s, const char *word)
{
    return strlen(word) == s.n && strncasecmp(s.p, word, s.n) == 0;
}

const char *zt_arm_resource_type(zt_arena *a, const char *resource_id)
{
    if (!resource_id || resource_id[0] != '/')
        return NULL;
    seg segs[MAX_SEGS];
    size_t n = split_id(resource_id, segs);
    ssize_t prov = -1;
    for (size_t i = 0; i + 1 < n; i++)
        if (seg_is(segs[i], "providers"))
            prov = (ssize_t)i;
    if (prov < 0) {
        if (n >= 3 && seg_is(segs[0], "subscriptions") && seg_is(segs[2], "resourceGroups"))
            return "Microsoft.Resources/resourceGroups";
        if (n >= 1 && seg_is(segs[0], "subscriptions"))
            return "Microsoft.Resources/subscriptions";
        return NULL;
    }
    size_t first = (size_t)prov + 2; /* first type segment */
    size_t rest = n - first;
    /* /subscriptions/{s}/providers/{ns}[/register]: the namespace itself */
    if (rest == 0 || (rest == 1 && (seg_is(segs[first], "register") ||
                                    seg_is(segs[first], "unregister"))))
        return "Microsoft.Resources/providers";
    zt_buf b;
    zt_buf_init(&b, a);
    zt_buf_append(&b, segs[prov + 1].p, segs[prov + 1].n);
    /* type/name pairs; an odd tail is a child collection or an action and
     * is kept (zt_arm_api_version falls back to the parent type) */
    for (size_t i = first; i < n; i += 2) {
        zt_buf_puts(&b, "/");
        zt_buf_append(&b, segs[i].p, segs[i].n);
    }
    return zt_buf_cstr(&b);
}

typedef struct api_version_def {
    const char *type;
    const char *version;
    /* A tracked type: it takes tags and a location of its own, which is what
     * Azure Policy's Indexed mode covers. */
    bool tracked;
} api_version_def;

/* Mirrors third_party/azure-specs/MANIFEST.md; tests/unit/test_arm_ids.c
 * checks that the two agree, tests/emulator/test_tracked_types.py that
 * `tracked` says what the type's definition says. */
static const api_version_def api_versions[] = {
    {"Microsoft.Authorization/locks", "2020-05-01", false},
    {"Microsoft.Authorization/policyAssignments", "2026-07-01", false},
    {"Microsoft.Authorization/policyDefinitions", "2026-07-01", false},
    {"Microsoft.Authorization/policyExemptions", "2026-01-01-preview", false},
    {"Microsoft.Authorization/policySetDefinitions", "2026-07-01", false},
    {"Microsoft.Authorization/roleAssignments", "2022-04-01", false},
    {"Microsoft.Consumption/budgets", "2026-06-01", false},
    {"Microsoft.ContainerRegistry/registries", "2025-11-01", true},
    {"Microsoft.Databricks/accessConnectors", "2026-01-01", true},
    {"Microsoft.Databricks/workspaces", "2026-01-01", true},
    {"Microsoft.Insights/actionGroups", "2023-01-01", true},
    {"Microsoft.Insights/activityLogAlerts", "2026-01-01", true},
    {"Microsoft.Insights/components", "2020-02-02", true},
    /* MANIFEST lists 2016-09-01 too; only the preview knows categoryGroup
     * ("allLogs"), which the zero-trust settings use. */
    {"Microsoft.Insights/diagnosticSettings", "2021-05-01-preview", false},
    {"Microsoft.Insights/scheduledQueryRules", "2026-03-01", true},
    {"Microsoft.KeyVault/vaults", "2026-02-01", true},
    {"Microsoft.KeyVault/vaults/keys", "2026-02-01", false},
    {"Microsoft.ManagedIdentity/userAssignedIdentities", "2024-11-30", true},
    {"Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials", "2024-11-30",
     false},
    {"Microsoft.Network/azureFirewalls", "2025-09-01", true},
    {"Microsoft.Network/bastionHosts", "2025-09-01", true},
    {"Microsoft.Network/ddosProtectionPlans", "2025-09-01", true},
    {"Microsoft.Network/dnsForwardingRulesets", "2025-05-01", true},
    {"Microsoft.Network/dnsForwardingRulesets/forwardingRules", "2025-05-01", false},
    {"Microsoft.Network/dnsForwardingRulesets/virtualNetworkLinks", "2025-05-01", false},
    {"Microsoft.Network/dnsResolvers", "2025-05-01", true},
    {"Microsoft.Network/dnsResolvers/inboundEndpoints", "2025-05-01", true},
    {"Microsoft.Network/dnsResolvers/outboundEndpoints", "2025-05-01", true},
    {"Microsoft.Network/firewallPolicies", "2025-09-01", true},
    {"Microsoft.Network/firewallPolicies/ruleCollectionGroups", "2025-09-01", false},
    {"Microsoft.Network/natGateways", "2025-09-01", true},
    {"Microsoft.Network/networkSecurityGroups", "2025-09-01", true},
    {"Microsoft.Network/networkWatchers", "2025-09-01", true},
    {"Microsoft.Network/networkWatchers/flowLogs", "2025-09-01", true},
    {"Microsoft.Network/privateDnsZones", "2024-06-01", true},
    {"Microsoft.Network/privateDnsZones/virtualNetworkLinks", "2024-06-01", true},
    {"Microsoft.Network/privateEndpoints", "2025-09-01", true},
    {"Microsoft.Network/privateEndpoints/privateDnsZoneGroups", "2025-09-01", false},
    {"Microsoft.Network/publicIPAddresses", "2025-09-01", true},
    {"Microsoft.Network/routeTables", "2025-09-01", true},
    {"Microsoft.Network/routeTables/routes", "2025-09-01", false},
    {"Microsoft.Network/virtualNetworkGateways", "2025-09-01", true},
    {"Microsoft.Network/virtualNetworks", "2025-09-01", true},
    {"Microsoft.Network/virtualNetworks/subnets", "2025-09-01", false},
    {"Microsoft.Network/virtualNetworks/virtualNetworkPeerings", "2025-09-01", false},
    {"Microsoft.OperationalInsights/workspaces", "2026-03-01", true},
    {"Microsoft.Resources/resourceGroups", "2025-04-01", false},
    {"Microsoft.ServiceBus/namespaces", "2026-01-01", true},
    {"Microsoft.ServiceBus/namespaces/queues", "2026-01-01", false},
    {"Microsoft.Storage/storageAccounts", "2026-04-01", true},
    {"Microsoft.Storage/storageAccounts/blobServices", "2026-04-01", false},
    {"Microsoft.Storage/storageAccounts/blobServices/containers", "2026-04-01", false},
    {"Microsoft.Web/serverfarms", "2025-03-01", true},
    {"Microsoft.Web/sites", "2025-03-01", true},
    {"Microsoft.Web/sites/config", "2025-03-01", false},
    /* Not in MANIFEST: provider registration (docs/azure-arm.md 2.7). */
    {"Microsoft.Resources/providers", "2021-04-01", false},
};

bool zt_arm_api_version_row(size_t i, const char **type, const char **version)
{
    if (i >= ZT_ARRAY_LEN(api_versions))
        return false;
    *type = api_versions[i].type;
    *version = api_versions[i].version;
    return true;
}

const char *zt_arm_api_version(const char *resource_type)
{
    if (!resource_type)
        return NULL;
    size_t len = strlen(resource_type);
    /* Try the full type, then each parent type: record sets, NSG rules,
     * collections and actions use their parent's version. */
    while (len) {
        for (size_t i = 0; i < ZT_ARRAY_LEN(api_versions); i++)
            if (strlen(api_versions[i].type) == len &&
                strncasecmp(api_versions[i].type, resource_type, len) == 0)
                return api_versions[i].version;
        while (len && resource_type[len - 1] != '/')
            len--;
        if (len)
            len--; /* drop the slash */
        if (!memchr(resource_type, '/', len))
            break; /* a bare namespace is not a type */
    }
    return NULL;
}

bool zt_arm_type_tracked(const char *resource_type)
{
    for (size_t i = 0; resource_type && i < ZT_ARRAY_LEN(api_versions); i++)
        if (strcasecmp(api_versions[i].type, resource_type) == 0)
            return api_versions[i].tracked;
    return false;
}

typedef struct serial_rule {
    const char *type;
    unsigned up;        /* how many type/name pairs to drop to reach the scope */
    const char *scope;  /* the scope's type, for the key */
} serial_rule;

/* Writes Azure refuses to overlap ("AnotherOperationInProgress" and kin,
 * docs/azure-arm.md 2.7). */
static const serial_rule serial_rules[] = {
    {"Microsoft.Network/virtualNetworks", 0, "vnet"},
    {"Microsoft.Network/virtualNetworks/subnets", 1, "vnet"},
    {"Microsoft.Network/virtualNetworks/virtualNetworkPeerings", 1, "vnet"},
    {"Microsoft.Network/firewallPolicies", 0, "firewallpolicy"},
    {"Microsoft.Network/firewallPolicies/ruleCollectionGroups", 1, "firewallpolicy"},
    {"Microsoft.Network/routeTables", 0, "routetable"},
    {"Microsoft.Network/routeTables/routes", 1, "routetable"},
    {"Microsoft.Network/networkSecurityGroups", 0, "nsg"},
    {"Microsoft.Network/networkSecurityGroups/securityRules", 1, "nsg"},
    {"Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials", 1,
     "identity"},
};

const char *zt_arm_serial_key(zt_arena *a, const char *resource_id, const char *resource_type)
{
    if (!resource_id)
        return NULL;
    const char *type = resource_type ? resource_type : zt_arm_resource_type(a, resource_id);
    if (!type)
        return NULL;
    const serial_rule *rule = NULL;
    for (size_t i = 0; i < ZT_ARRAY_LEN(serial_rules); i++)
        if (strcasecmp(serial_rules[i].type, type) == 0)
            rule = &serial_rules[i];
    if (!rule)
        return NULL;
    seg segs[MAX_SEGS];
    size_t n = split_id(resource_id, segs);
    size_t drop = 2 * rule->up;
    /* The ID must end in a type/name pair of the rule's depth. */
    if (n < drop + 4)
        return NULL;
    n -= drop;
    zt_buf b;
    zt_buf_init(&b, a);
    zt_buf_printf(&b, "%s:", rule->scope);
    for (size_t i = 0; i < n; i++) {
        zt_buf_puts(&b, "/");
        zt_buf_append(&b, segs[i].p, segs[i].n);
    }
    /* ARM IDs are case-insensitive: one scope, one key. */
    char *key = (char *)zt_buf_cstr(&b);
    for (char *p = key; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return key;
}
