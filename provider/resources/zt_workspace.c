/* zt_workspace.c - zerotrust_databricks_private_workspace: the workload
 * layer of the platform (platform-design.md, layers 3-5 and
 * "zerotrust_databricks_private_workspace"), as a composite definition.
 *
 * Order (same level = in parallel):
 *   identities (access connector / Unity Catalog, Functions, CI/CD) +
 *   the GitHub Actions federated credential on the CI/CD identity
 *   -> Key Vault (RBAC, soft delete 90 days, purge protection, no public
 *      access) + its `vault` endpoint
 *   -> keys via ARM (storage, Databricks) -> the storage key's grant to the
 *      Unity Catalog identity
 *   -> ADLS Gen2 (CMK through that identity) + containers + `blob`/`dfs`
 *      endpoints; Container Registry Premium + `registry` endpoint
 *   -> access connector -> workspace (phase one: prepareEncryption)
 *   -> grant the workspace's storage identity the Databricks key
 *   -> phase two of CMK (workspace_cmk: the same ARM resource, with
 *      encryption.entities) -> Databricks endpoints
 *   -> least-privilege role assignments, diagnostic settings.
 *
 * Layout decisions:
 *  - Phase two of CMK is a second node on the workspace's own ARM ID. The
 *    phase-one node preserves /properties/encryption on its update PUTs so
 *    a later change (tags, drift repair) never strips the keys; phase two
 *    has no create_only pointers, so it only ever PUTs.
 *  - Role assignment names are UUIDv5-style (SHA-1) of scope, the
 *    principal's ARM resource (the identity, or the workspace's storage
 *    identity) and the role: known at plan, stable across applies, so PUT
 *    is idempotent. RoleAssignmentExists that names our own assignment
 *    counts as success (engine exists_codes).
 *  - Nodes whose PUT needs a grant that may still be propagating (the
 *    storage account's CMK, phase two) retry authorization failures until
 *    the operation's deadline (engine retry_codes); PrincipalNotFound on
 *    the role assignments is retried by the ARM client itself.
 *  - Keys are scoped grants: Key Vault Crypto Service Encryption User on
 *    the single key, not on the vault.
 */
#include "zt_res.h"
#include "zt_workspace.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---------------------------------------------------------------------
 * Constants.
 * ------------------------------------------------------------------- */


#define ZT_WS_GH_ISSUER "https://token.actions.githubusercontent.com"
#define ZT_WS_GH_AUDIENCE "api://AzureADTokenExchange"

#define ZT_WS_ZONE_VAULT "privatelink.vaultcore.azure.net"
#define ZT_WS_ZONE_BLOB "privatelink.blob.core.windows.net"
#define ZT_WS_ZONE_DFS "privatelink.dfs.core.windows.net"
#define ZT_WS_ZONE_ACR "privatelink.azurecr.io"
#define ZT_WS_ZONE_DBX "privatelink.azuredatabricks.net"

static const char *const zt_ws_default_containers[] = {"curated", "raw", "unity-catalog"};

/* Authorization failures that mean "the grant has not propagated yet". */
static const char *const zt_ws_rbac_codes[] = {
    "AuthorizationFailed",          "LinkedAuthorizationFailed",
    "KeyVaultAuthorizationFailed",  "KeyVaultAuthenticationFailure",
    "KeyVaultAccessForbidden",      "Forbidden",
    "PrincipalNotFound",            NULL};
static const char *const zt_ws_exists_codes[] = {"RoleAssignmentExists", NULL};

static const char *const zt_ws_kv_hints[] = {
    "ConflictError", "deleted",
    "A soft-deleted Key Vault holds this name and was not recovered: it is in another "
    "subscription or region, or the provider's recover_soft_deleted_key_vaults is false. "
    "Recover it there (`az keyvault recover --name NAME`), or choose another key_vault_name; "
    "with purge protection on (as this platform sets it) it cannot be purged and the name stays "
    "taken until the retention period ends (up to 90 days).",
    "VaultAlreadyExists", "",
    "Key Vault names are global: another vault (possibly soft-deleted, in any subscription) "
    "holds it. Choose another key_vault_name.",
    NULL};
static const char *const zt_ws_sa_hints[] = {
    "StorageAccountAlreadyTaken", "",
    "Storage account names are global: choose another storage_account_name.", NULL};
static const char *const zt_ws_cmk_hints[] = {
    "*", "AzureDatabricks",
    "The AzureDatabricks first-party application wraps the managed-services key: set "
    "azure_databricks_principal_id (`az ad sp show --id 2ff814a6-3304-4ab8-85cb-cd0e6f879c1d "
    "--query id -o tsv`) so that this resource grants it, or grant it Key Vault Crypto Service "
    "Encryption User on the key yourself.",
    NULL};
static const char *const zt_ws_ra_hints[] = {
    "RoleAssignmentExists", "",
    "Another role assignment, not created by this resource, already grants this role to this "
    "principal on this scope. Remove it (or import it elsewhere) so that this resource owns "
    "the grant.",
    NULL};

/* ---------------------------------------------------------------------
 * Inputs.
 * ------------------------------------------------------------------- */

static const char *zt_ws_in(const zt_comp_eval *ev, const char *attr)
{
    return zt_comp_input_str(ev, attr);
}

static bool zt_ws_registry_on(const zt_comp_eval *ev)
{
    return zt_comp_input_set(ev, "container_registry_name");
}

static bool zt_ws_browser_auth_on(const zt_comp_eval *ev)
{
    return zt_comp_input_bool(ev, "browser_authentication_enabled", false);
}

static bool zt_ws_databricks_app_on(const zt_comp_eval *ev)
{
    return zt_comp_input_set(ev, "azure_databricks_principal_id");
}

static bool zt_ws_service_bus_on(const zt_comp_eval *ev)
{
    return zt_comp_input_set(ev, "service_bus_namespace_id");
}

static bool zt_ws_diag_on(const zt_comp_eval *ev)
{
    return zt_comp_input_set(ev, "log_analytics_workspace_id");
}

static bool zt_ws_diag_registry_on(const zt_comp_eval *ev)
{
    return zt_ws_diag_on(ev) && zt_ws_registry_on(ev);
}

static const char *zt_ws_managed_rg(const zt_comp_eval *ev)
{
    const char *rg = zt_ws_in(ev, "managed_resource_group_name");
    const char *name = zt_ws_in(ev, "name");
    if (rg)
        return rg;
    return name ? zt_arena_printf(zt_comp_arena(ev), "rg-%s-dbx-managed", name) : NULL;
}

static const char **zt_ws_containers(const zt_comp_eval *ev, size_t *n)
{
    return zt_res_strings(ev, "storage_containers", zt_ws_default_containers,
                          ZT_ARRAY_LEN(zt_ws_default_containers), n);
}

/* The zone ID for a zone name from private_dns_zone_ids; NULL while
 * unknown or absent (validate reports absence). */
static const char *zt_ws_zone_id(const zt_comp_eval *ev, const char *zone)
{
    const zt_cty_value *m = zt_comp_input(ev, "private_dns_zone_ids");
    if (!m || m->is_null || !zt_cty_is_known(m))
        return NULL;
    const zt_cty_value *v = zt_cty_map_get(m, zone);
    return v && !v->is_null && zt_cty_is_known(v) ? v->u.str.ptr : NULL;
}

/* ---------------------------------------------------------------------
 * Names.
 * ------------------------------------------------------------------- */

#define ZT_WS_NAME_FN(fn, prefix, suffix) \
    static const char *fn(const zt_comp_eval *ev) { return zt_res_named(ev, prefix, suffix); }
#define ZT_WS_CONST_FN(fn, s)                                                                 \
    static const char *fn(const zt_comp_eval *ev) { ZT_UNUSED(ev); return s; }
#define ZT_WS_INPUT_FN(fn, attr) \
    static const char *fn(const zt_comp_eval *ev) { return zt_ws_in(ev, attr); }

ZT_WS_NAME_FN(zt_ws_name_id_uc, "id-", "-uc")
ZT_WS_NAME_FN(zt_ws_name_id_func, "id-", "-func")
ZT_WS_NAME_FN(zt_ws_name_id_cicd, "id-", "-cicd")
ZT_WS_NAME_FN(zt_ws_name_connector, "dbac-", "")
ZT_WS_NAME_FN(zt_ws_name_workspace, "dbw-", "")
ZT_WS_CONST_FN(zt_ws_name_fic, ZT_WS_FIC_NAME)
ZT_WS_CONST_FN(zt_ws_name_key_storage, ZT_WS_KEY_STORAGE)
ZT_WS_CONST_FN(zt_ws_name_key_dbx, ZT_WS_KEY_DBX)
ZT_WS_CONST_FN(zt_ws_name_default, "default")
ZT_WS_CONST_FN(zt_ws_name_diag, ZT_WS_DIAG_NAME)
ZT_WS_INPUT_FN(zt_ws_name_kv, "key_vault_name")
ZT_WS_INPUT_FN(zt_ws_name_sa, "storage_account_name")
ZT_WS_INPUT_FN(zt_ws_name_acr, "container_registry_name")

static const char *zt_ws_name_container(const zt_comp_eval *ev)
{
    return zt_comp_instance(ev);
}

/* ---------------------------------------------------------------------
 * Private endpoints: one table row per endpoint.
 * ------------------------------------------------------------------- */

typedef struct zt_ws_pe {
    const char *key;     /* node key of the endpoint; "<key>_dns" is its zone group */
    const char *target;  /* node key of the resource it reaches */
    const char *group;   /* private-link group ID */
    const char *zone;    /* private DNS zone */
    const char *out;     /* key in the private_endpoint_ips output */
    /* The target is the workspace's root (DBFS) storage account, which
     * Databricks creates in the managed resource group: its ID comes from
     * the workspace's answer, not from a node of ours. */
    bool root_storage;
} zt_ws_pe;

static const zt_ws_pe zt_ws_pes[] = {
    {"pe_vault", "key_vault", "vault", ZT_WS_ZONE_VAULT, "vault", false},
    {"pe_blob", "storage", "blob", ZT_WS_ZONE_BLOB, "blob", false},
    {"pe_dfs", "storage", "dfs", ZT_WS_ZONE_DFS, "dfs", false},
    {"pe_registry", "registry", "registry", ZT_WS_ZONE_ACR, "registry", false},
    {"pe_databricks_ui_api", "workspace", "databricks_ui_api", ZT_WS_ZONE_DBX,
     "databricks_ui_api", false},
    {"pe_browser_authentication", "workspace", "browser_authentication", ZT_WS_ZONE_DBX,
     "browser_authentication", false},
    {"pe_dbfs_blob", "workspace", "blob", ZT_WS_ZONE_BLOB, "dbfs_blob", true},
    {"pe_dbfs_dfs", "workspace", "dfs", ZT_WS_ZONE_DFS, "dbfs_dfs", true},
};

/* The workspace's root storage account; NULL until the workspace has
 * answered with its name. */
static const char *zt_ws_root_storage_id(const zt_comp_eval *ev)
{
    const char *sub = zt_comp_subscription(ev);
    const char *mrg = zt_ws_managed_rg(ev);
    const char *sa = zt_comp_output(ev, "workspace",
                                    "/properties/parameters/storageAccountName/value");
    if (!sub || !mrg || !sa)
        return NULL;
    return zt_arena_printf(zt_comp_arena(ev),
                           "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Storage/"
                           "storageAccounts/%s", sub, mrg, sa);
}

static const char *zt_ws_pe_target(const zt_comp_eval *ev, const zt_ws_pe *pe)
{
    return pe->root_storage ? zt_ws_root_storage_id(ev) : zt_comp_id(ev, pe->target);
}

/* "pe-<target name>-<group>"; the root storage's endpoints are named
 * after the workspace (the account's name is Databricks' random one). */
static const char *zt_ws_pe_name(const zt_comp_eval *ev, const zt_ws_pe *pe)
{
    const char *target = zt_comp_id(ev, pe->target);
    const char *last = target ? strrchr(target, '/') : NULL;
    return last ? zt_arena_printf(zt_comp_arena(ev), "pe-%s-%s%s", last + 1,
                                  pe->root_storage ? "dbfs-" : "", pe->group)
                : NULL;
}

/* ---------------------------------------------------------------------
 * Body helpers.
 * ------------------------------------------------------------------- */

static json_t *zt_ws_body_identity(const zt_comp_eval *ev)
{
    return zt_res_tracked(ev, NULL);
}

static json_t *zt_ws_body_fic(const zt_comp_eval *ev)
{
    const char *subject = zt_ws_in(ev, "github_subject");
    if (!subject)
        return NULL;
    return json_pack("{s:{s:s,s:s,s:[s]}}", "properties", "issuer", ZT_WS_GH_ISSUER, "subject",
                     subject, "audiences", ZT_WS_GH_AUDIENCE);
}

static json_t *zt_ws_body_kv(const zt_comp_eval *ev)
{
    const char *tenant = zt_comp_output(ev, "id_uc", "/properties/tenantId");
    if (!tenant)
        return NULL;
    json_t *p = json_pack("{s:s,s:{s:s,s:s},s:b,s:b,s:i,s:b,s:s,s:{s:s,s:s}}", "tenantId", tenant,
                          "sku", "family", "A", "name", "premium", "enableRbacAuthorization", 1,
                          "enableSoftDelete", 1, "softDeleteRetentionInDays", 90,
                          "enablePurgeProtection", 1, "publicNetworkAccess", "Disabled",
                          "networkAcls", "defaultAction", "Deny", "bypass", "AzureServices");
    return zt_res_tracked(ev, p);
}

/* Where Azure keeps the vault once deleted (purge protection: for its
 * whole retention period), to recover it on create. */
static const char *zt_ws_kv_deleted_id(const zt_comp_eval *ev)
{
    const char *sub = zt_comp_subscription(ev);
    const char *loc = zt_comp_input_str(ev, "location");
    const char *name = zt_comp_input_str(ev, "key_vault_name");
    if (!sub || !loc || !name)
        return NULL;
    return zt_arena_printf(zt_comp_arena(ev), "/subscriptions/%s/providers/Microsoft.KeyVault/"
                           "locations/%s/deletedVaults/%s", sub, loc, name);
}

static const zt_comp_soft_delete zt_ws_kv_soft_delete = {
    .code = "ConflictError",
    .text = "deleted state",
    .deleted_id = zt_ws_kv_deleted_id,
    .recover_ptr = "/properties/createMode",
    .recover_value = "recover",
};

static json_t *zt_ws_body_key(const zt_comp_eval *ev)
{
    json_t *tags = zt_comp_tags(ev);
    if (!tags)
        return NULL;
    return json_pack("{s:o,s:{s:s,s:i,s:[s,s]}}", "tags", tags, "properties", "kty", "RSA-HSM",
                     "keySize", 3072, "keyOps", "wrapKey", "unwrapKey");
}

static const char *zt_ws_vault_uri(const zt_comp_eval *ev)
{
    return zt_comp_output(ev, "key_vault", "/properties/vaultUri");
}

static json_t *zt_ws_body_storage(const zt_comp_eval *ev)
{
    const char *uai = zt_comp_id(ev, "id_uc");
    const char *uri = zt_ws_vault_uri(ev);
    if (!uai || !uri)
        return NULL;
    json_t *enc = json_pack(
        "{s:b,s:s,s:{s:s,s:s},s:{s:s},s:{s:{s:b,s:s},s:{s:b,s:s}}}", "requireInfrastructureEncryption",
        zt_comp_input_bool(ev, "infrastructure_encryption_enabled", true), "keySource",
        "Microsoft.Keyvault", "keyvaultproperties", "keyname", ZT_WS_KEY_STORAGE, "keyvaulturi", uri,
        "identity", "userAssignedIdentity", uai, "services", "blob", "enabled", 1, "keyType",
        "Account", "file", "enabled", 1, "keyType", "Account");
    json_t *p = json_pack("{s:b,s:s,s:b,s:b,s:b,s:s,s:b,s:s,s:{s:s,s:s},s:o}", "isHnsEnabled",
                          zt_comp_input_bool(ev, "hierarchical_namespace_enabled", true),
                          "publicNetworkAccess", "Disabled", "allowBlobPublicAccess", 0,
                          "allowSharedKeyAccess", 0, "defaultToOAuthAuthentication", 1,
                          "minimumTlsVersion", "TLS1_2", "supportsHttpsTrafficOnly", 1,
                          "allowedCopyScope", "PrivateLink", "networkAcls", "defaultAction",
                          "Deny", "bypass", "AzureServices", "encryption", enc);
    json_t *body = zt_res_tracked(ev, p);
    body = zt_res_set(body, "kind", json_string("StorageV2"));
    body = zt_res_set(body, "sku", json_pack("{s:s}", "name", "Standard_ZRS"));
    json_t *ids = json_object();
    json_object_set_new(ids, uai, json_object());
    return zt_res_set(body, "identity",
                     json_pack("{s:s,s:o}", "type", "UserAssigned", "userAssignedIdentities", ids));
}

static const char *zt_ws_parent_blob_service(const zt_comp_eval *ev)
{
    const char *sa = zt_comp_id(ev, "storage");
    return sa ? zt_arena_printf(zt_comp_arena(ev), "%s/blobServices/default", sa) : NULL;
}

static json_t *zt_ws_body_container(const zt_comp_eval *ev)
{
    ZT_UNUSED(ev);
    return json_pack("{s:{s:s}}", "properties", "publicAccess", "None");
}

static json_t *zt_ws_body_registry(const zt_comp_eval *ev)
{
    json_t *p = json_pack("{s:b,s:s,s:s,s:b,s:b,s:s}", "adminUserEnabled", 0, "publicNetworkAccess",
                          "Disabled", "networkRuleBypassOptions", "AzureServices",
                          "dataEndpointEnabled", 1, "anonymousPullEnabled", 0, "zoneRedundancy",
                          "Enabled");
    return zt_res_set(zt_res_tracked(ev, p), "sku", json_pack("{s:s}", "name", "Premium"));
}

static json_t *zt_ws_body_connector(const zt_comp_eval *ev)
{
    const char *uai = zt_comp_id(ev, "id_uc");
    if (!uai)
        return NULL;
    json_t *ids = json_object();
    json_object_set_new(ids, uai, json_object());
    json_t *body = zt_res_tracked(ev, json_object());
    return zt_res_set(body, "identity",
                     json_pack("{s:s,s:o}", "type", "UserAssigned", "userAssignedIdentities", ids));
}

static json_t *zt_ws_str_param(const char *v)
{
    return v ? json_pack("{s:s}", "value", v) : NULL;
}

static const char *zt_ws_on_off(bool on) { return on ? "Enabled" : "Disabled"; }

/* The enhanced security and compliance add-on: the compliance security
 * profile (with its standards), enhanced security monitoring and automatic
 * cluster update; the last two follow the profile unless set, as the
 * profile requires both. NULL while an input is unknown. */
static json_t *zt_ws_compliance(const zt_comp_eval *ev)
{
    static const char *const attrs[] = {"compliance_security_profile_enabled",
                                        "enhanced_security_monitoring_enabled",
                                        "automatic_cluster_update_enabled",
                                        "compliance_standards"};
    for (size_t i = 0; i < ZT_ARRAY_LEN(attrs); i++) {
        const zt_cty_value *v = zt_comp_input(ev, attrs[i]);
        if (v && !zt_cty_is_wholly_known(v))
            return NULL;
    }
    bool csp = zt_comp_input_bool(ev, attrs[0], false);
    json_t *profile = json_pack("{s:s}", "value", zt_ws_on_off(csp));
    size_t n;
    const char **std = zt_res_strings(ev, attrs[3], NULL, 0, &n);
    if (csp) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, json_string(std[i]));
        json_object_set_new(profile, "complianceStandards", arr);
    }
    return json_pack("{s:o,s:{s:s},s:{s:s}}", "complianceSecurityProfile", profile,
                     "enhancedSecurityMonitoring", "value",
                     zt_ws_on_off(zt_comp_input_bool(ev, attrs[1], csp)),
                     "automaticClusterUpdate", "value",
                     zt_ws_on_off(zt_comp_input_bool(ev, attrs[2], csp)));
}

/* Phase one: VNet injection, no public IP, front end private,
 * prepareEncryption for the DBFS storage identity. */
static json_t *zt_ws_body_workspace(const zt_comp_eval *ev)
{
    const char *vnet = zt_ws_in(ev, "virtual_network_id");
    const char *host = zt_ws_in(ev, "host_subnet_name");
    const char *cont = zt_ws_in(ev, "container_subnet_name");
    const char *mrg = zt_ws_managed_rg(ev);
    const char *sub = zt_comp_subscription(ev);
    const char *ac = zt_comp_id(ev, "access_connector");
    const char *uai = zt_comp_id(ev, "id_uc");
    json_t *esc = zt_ws_compliance(ev);
    if (!vnet || !host || !cont || !mrg || !sub || !ac || !uai || !esc) {
        json_decref(esc);
        return NULL;
    }
    json_t *params = json_pack(
        "{s:o,s:o,s:o,s:{s:b},s:{s:b},s:{s:b}}", "customVirtualNetworkId", zt_ws_str_param(vnet),
        "customPublicSubnetName", zt_ws_str_param(host), "customPrivateSubnetName",
        zt_ws_str_param(cont), "enableNoPublicIp", "value", 1, "prepareEncryption", "value", 1,
        "requireInfrastructureEncryption", "value",
        zt_comp_input_bool(ev, "infrastructure_encryption_enabled", true));
    json_t *p = json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:o,s:{s:s,s:s,s:s},s:o}", "computeMode", "Hybrid",
        "managedResourceGroupId",
        zt_arena_printf(zt_comp_arena(ev), "/subscriptions/%s/resourceGroups/%s", sub, mrg),
        "publicNetworkAccess", "Disabled", "requiredNsgRules", "NoAzureDatabricksRules",
        "defaultStorageFirewall", "Enabled", "parameters", params, "accessConnector", "id", ac,
        "identityType", "UserAssigned", "userAssignedIdentityId", uai,
        "enhancedSecurityCompliance", esc);
    return zt_res_set(zt_res_tracked(ev, p), "sku", json_pack("{s:s}", "name", "premium"));
}

/* The version segment of a key's versioned URI. */
static const char *zt_ws_key_version(const zt_comp_eval *ev, const char *node)
{
    const char *kid = zt_comp_output(ev, node, "/properties/keyUriWithVersion");
    const char *slash = kid ? strrchr(kid, '/') : NULL;
    return slash && slash[1] ? slash + 1 : NULL;
}

/* Phase two: the same workspace with the Databricks key for managed
 * services, managed disks and the DBFS root (which prepareEncryption made
 * ready: its storage identity now holds the key). */
static json_t *zt_ws_body_workspace_cmk(const zt_comp_eval *ev)
{
    const char *uri = zt_ws_vault_uri(ev);
    const char *version = zt_ws_key_version(ev, "key_databricks");
    json_t *body = zt_ws_body_workspace(ev);
    if (!body || !uri || !version) {
        json_decref(body);
        return NULL;
    }
    json_t *kvp = json_pack("{s:s,s:s,s:s}", "keyVaultUri", uri, "keyName", ZT_WS_KEY_DBX,
                            "keyVersion", version);
    json_t *ent = json_pack("{s:{s:s,s:O},s:{s:s,s:O,s:b}}", "managedServices", "keySource",
                            "Microsoft.Keyvault", "keyVaultProperties", kvp, "managedDisk",
                            "keySource", "Microsoft.Keyvault", "keyVaultProperties", kvp,
                            "rotationToLatestKeyVersionEnabled", 1);
    json_decref(kvp);
    json_t *props = json_object_get(body, "properties");
    json_object_set_new(props, "encryption", json_pack("{s:o}", "entities", ent));
    /* the definitions spell this one's key name "KeyName" */
    json_object_set_new(json_object_get(props, "parameters"), "encryption",
                        json_pack("{s:{s:s,s:s,s:s,s:s}}", "value", "keySource", "Microsoft.Keyvault",
                                  "KeyName", ZT_WS_KEY_DBX, "keyvaulturi", uri, "keyversion",
                                  version));
    return body;
}

/* ---- private endpoints ---- */

static json_t *zt_ws_body_pe(const zt_comp_eval *ev, const zt_ws_pe *pe)
{
    const char *subnet = zt_ws_in(ev, "private_endpoint_subnet_id");
    const char *target = zt_ws_pe_target(ev, pe);
    const char *name = zt_ws_pe_name(ev, pe);
    if (!subnet || !target || !name)
        return NULL;
    json_t *p = json_pack("{s:{s:s},s:[{s:s,s:{s:s,s:[s]}}]}", "subnet", "id", subnet,
                          "privateLinkServiceConnections", "name", name, "properties",
                          "privateLinkServiceId", target, "groupIds", pe->group);
    return zt_res_tracked(ev, p);
}

static json_t *zt_ws_body_pe_dns(const zt_comp_eval *ev, const zt_ws_pe *pe)
{
    const char *zone = zt_ws_zone_id(ev, pe->zone);
    if (!zone)
        return NULL;
    char cfg[128];
    snprintf(cfg, sizeof(cfg), "%s", pe->zone);
    for (char *p = cfg; *p; p++)
        if (*p == '.')
            *p = '-';
    return json_pack("{s:{s:[{s:s,s:{s:s}}]}}", "properties", "privateDnsZoneConfigs", "name", cfg,
                     "properties", "privateDnsZoneId", zone);
}

#define ZT_WS_PE_FNS(idx, sfx)                                                                   \
    static const char *zt_ws_pe_name_##sfx(const zt_comp_eval *ev)                               \
    {                                                                                            \
        return zt_ws_pe_name(ev, &zt_ws_pes[idx]);                                               \
    }                                                                                            \
    static json_t *zt_ws_pe_body_##sfx(const zt_comp_eval *ev)                                   \
    {                                                                                            \
        return zt_ws_body_pe(ev, &zt_ws_pes[idx]);                                               \
    }                                                                                            \
    static json_t *zt_ws_pe_dns_body_##sfx(const zt_comp_eval *ev)                               \
    {                                                                                            \
        return zt_ws_body_pe_dns(ev, &zt_ws_pes[idx]);                                           \
    }                                                                                            \
    static const char *zt_ws_pe_parent_##sfx(const zt_comp_eval *ev)                             \
    {                                                                                            \
        return zt_comp_id(ev, zt_ws_pes[idx].key);                                               \
    }

ZT_WS_PE_FNS(0, vault)
ZT_WS_PE_FNS(1, blob)
ZT_WS_PE_FNS(2, dfs)
ZT_WS_PE_FNS(3, registry)
ZT_WS_PE_FNS(4, ui)
ZT_WS_PE_FNS(5, auth)
ZT_WS_PE_FNS(6, dbfs_blob)
ZT_WS_PE_FNS(7, dbfs_dfs)

/* ---- role assignments ---- */

typedef struct zt_ws_ra {
    const char *key;
    const char *scope_node;     /* NULL: scope_input, else the resource group */
    const char *principal_node; /* the node whose ARM output holds the principal */
    const char *principal_ptr;  /* NULL: an identity's /properties/principalId */
    const char *role;
    const char *scope_input;     /* an input holding the scope's ARM ID */
    const char *principal_input; /* an input holding the principal's object ID */
} zt_ws_ra;

#define ZT_WS_PTR_STORAGE_ID "/properties/storageAccountIdentity/principalId"
#define ZT_WS_PTR_DISK_ID "/properties/managedDiskIdentity/principalId"

static const zt_ws_ra zt_ws_ras[] = {
    {.key = "ra_uc_key_storage", .scope_node = "key_storage", .principal_node = "id_uc",
     .role = ZT_WS_ROLE_CRYPTO_USER},
    /* the workspace's DBFS storage identity (prepareEncryption) */
    {.key = "ra_workspace_key", .scope_node = "key_databricks", .principal_node = "workspace",
     .principal_ptr = ZT_WS_PTR_STORAGE_ID, .role = ZT_WS_ROLE_CRYPTO_USER},
    /* the managed disks' encryption set identity, which phase two creates */
    {.key = "ra_workspace_disk_key", .scope_node = "key_databricks",
     .principal_node = "workspace_cmk", .principal_ptr = ZT_WS_PTR_DISK_ID,
     .role = ZT_WS_ROLE_CRYPTO_USER},
    {.key = "ra_uc_lake", .scope_node = "storage", .principal_node = "id_uc",
     .role = ZT_WS_ROLE_BLOB_CONTRIB},
    {.key = "ra_func_kv_secrets", .scope_node = "key_vault", .principal_node = "id_func",
     .role = ZT_WS_ROLE_SECRETS_USER},
    {.key = "ra_cicd_rg", .principal_node = "id_cicd", .role = ZT_WS_ROLE_CONTRIBUTOR},
    /* the AzureDatabricks first-party app wraps the managed-services key */
    {.key = "ra_databricks_app_key", .scope_node = "key_databricks",
     .principal_input = "azure_databricks_principal_id", .role = ZT_WS_ROLE_CRYPTO_USER},
    {.key = "ra_func_sb_sender", .scope_input = "service_bus_namespace_id",
     .principal_node = "id_func", .role = ZT_WS_ROLE_SB_SENDER},
    {.key = "ra_func_sb_receiver", .scope_input = "service_bus_namespace_id",
     .principal_node = "id_func", .role = ZT_WS_ROLE_SB_RECEIVER},
};

static const char *zt_ws_ra_scope(const zt_comp_eval *ev, const zt_ws_ra *ra)
{
    if (ra->scope_node)
        return zt_comp_id(ev, ra->scope_node);
    return ra->scope_input ? zt_ws_in(ev, ra->scope_input) : zt_comp_resource_group_id(ev);
}

/* The principal's object ID; NULL while unknown. */
static const char *zt_ws_ra_principal(const zt_comp_eval *ev, const zt_ws_ra *ra)
{
    if (ra->principal_input)
        return zt_ws_in(ev, ra->principal_input);
    return zt_comp_output(ev, ra->principal_node,
                          ra->principal_ptr ? ra->principal_ptr : "/properties/principalId");
}

static const char *zt_ws_ra_name(const zt_comp_eval *ev, const zt_ws_ra *ra)
{
    const char *scope = zt_ws_ra_scope(ev, ra);
    const char *principal = ra->principal_input ? zt_ws_in(ev, ra->principal_input)
                                                : zt_comp_id(ev, ra->principal_node);
    if (!scope || !principal)
        return NULL;
    zt_arena *a = zt_comp_arena(ev);
    /* the principal is named by its resource (+ which identity of it) */
    return zt_res_uuid(a, zt_arena_printf(a, "%s|%s%s%s|%s", scope, principal,
                                         ra->principal_ptr ? "#" : "",
                                         ra->principal_ptr ? ra->principal_ptr : "", ra->role));
}

static json_t *zt_ws_ra_body(const zt_comp_eval *ev, const zt_ws_ra *ra)
{
    /* a scope given as input (service_bus_namespace_id) may be in another
     * subscription: the role definition is named in the scope's */
    const char *role = zt_res_role_definition_id(zt_comp_arena(ev), zt_ws_ra_scope(ev, ra),
                                                 zt_comp_subscription(ev), ra->role);
    const char *pid = zt_ws_ra_principal(ev, ra);
    if (!role || !pid)
        return NULL;
    return json_pack("{s:{s:s,s:s,s:s}}", "properties", "roleDefinitionId", role, "principalId",
                     pid, "principalType", "ServicePrincipal");
}

#define ZT_WS_RA_FNS(idx, sfx)                                                                   \
    static const char *zt_ws_ra_name_##sfx(const zt_comp_eval *ev)                               \
    {                                                                                            \
        return zt_ws_ra_name(ev, &zt_ws_ras[idx]);                                               \
    }                                                                                            \
    static const char *zt_ws_ra_scope_##sfx(const zt_comp_eval *ev)                              \
    {                                                                                            \
        return zt_ws_ra_scope(ev, &zt_ws_ras[idx]);                                              \
    }                                                                                            \
    static json_t *zt_ws_ra_body_##sfx(const zt_comp_eval *ev)                                   \
    {                                                                                            \
        return zt_ws_ra_body(ev, &zt_ws_ras[idx]);                                               \
    }

ZT_WS_RA_FNS(0, uc_key)
ZT_WS_RA_FNS(1, ws_key)
ZT_WS_RA_FNS(2, ws_disk_key)
ZT_WS_RA_FNS(3, uc_lake)
ZT_WS_RA_FNS(4, func_kv)
ZT_WS_RA_FNS(5, cicd_rg)
ZT_WS_RA_FNS(6, dbx_app_key)
ZT_WS_RA_FNS(7, func_sb_sender)
ZT_WS_RA_FNS(8, func_sb_receiver)

/* ---- parents ---- */

static const char *zt_ws_parent_cicd(const zt_comp_eval *ev) { return zt_comp_id(ev, "id_cicd"); }
static const char *zt_ws_parent_kv(const zt_comp_eval *ev) { return zt_comp_id(ev, "key_vault"); }
static const char *zt_ws_parent_storage(const zt_comp_eval *ev)
{
    return zt_ws_parent_blob_service(ev);
}

/* ---- diagnostics ---- */

/* Logs go to resource-specific tables (AZKVAuditLogs, Databricks*,
 * StorageBlobLogs), which the governance alerts query. */
static json_t *zt_ws_diag(const zt_comp_eval *ev, unsigned what)
{
    return zt_res_diag_body(zt_ws_in(ev, "log_analytics_workspace_id"), what);
}

#define ZT_WS_DIAG_FN(fn, what) \
    static json_t *fn(const zt_comp_eval *ev) { return zt_ws_diag(ev, what); }
/* Key Vault and the registry have an audit category group. */
ZT_WS_DIAG_FN(zt_ws_body_diag_audited, ZT_RES_DIAG_LOGS | ZT_RES_DIAG_AUDIT_OFF |
                                           ZT_RES_DIAG_METRICS | ZT_RES_DIAG_DEDICATED)
ZT_WS_DIAG_FN(zt_ws_body_diag_metrics, ZT_RES_DIAG_LOGS | ZT_RES_DIAG_METRICS |
                                           ZT_RES_DIAG_DEDICATED)
ZT_WS_DIAG_FN(zt_ws_body_diag_logs, ZT_RES_DIAG_LOGS | ZT_RES_DIAG_DEDICATED)
/* The account level has metrics only; its logs are per service (blob). */
ZT_WS_DIAG_FN(zt_ws_body_diag_account, ZT_RES_DIAG_METRICS)

/* ---------------------------------------------------------------------
 * The node table.
 * ------------------------------------------------------------------- */

#define DEPS(...) ((const char *const[]){__VA_ARGS__, NULL})

static const char *const zt_ws_co_location[] = {"/location", NULL};
static const char *const zt_ws_co_storage[] = {
    "/location", "/properties/isHnsEnabled", "/properties/encryption/requireInfrastructureEncryption",
    NULL};
static const char *const zt_ws_co_workspace[] = {
    "/location",
    "/properties/managedResourceGroupId",
    "/properties/parameters/customVirtualNetworkId/value",
    "/properties/parameters/customPublicSubnetName/value",
    "/properties/parameters/customPrivateSubnetName/value",
    "/properties/parameters/requireInfrastructureEncryption/value",
    NULL};
/* ARM does not move an endpoint to another subnet or target. */
static const char *const zt_ws_co_pe[] = {
    "/location", "/properties/subnet/id",
    "/properties/privateLinkServiceConnections/0/properties/privateLinkServiceId", NULL};
static const char *const zt_ws_co_ra[] = {"/properties/principalId",
                                          "/properties/roleDefinitionId", NULL};
static const char *const zt_ws_preserve_encryption[] = {
    "/properties/encryption", "/properties/parameters/encryption/value", NULL};
/* ARM answers a key PUT on an existing key with the key unchanged. */
static const char *const zt_ws_co_key[] = {"/properties/kty", "/properties/keySize", NULL};
/* ...tags included: they are the resource's tags when the key is created;
 * changing them later takes Key Vault's data plane (UpdateKey), which the
 * vault's private endpoint keeps out of the provider's reach. */
static const char *const zt_ws_key_once[] = {"/tags", NULL};

#define ZT_WS_TRACKED(k, t, d, en, nm, bd, co, secs)                                           \
    {.key = k, .arm_type = t, .depends_on = d, .enabled = en, .name = nm, .body = bd,        \
     .create_only = co, .expected_seconds = secs}

#define ZT_WS_PE_NODES(sfx, k, target_deps, en)                                                \
    {.key = k, .arm_type = "Microsoft.Network/privateEndpoints", .depends_on = target_deps,    \
     .enabled = en, .name = zt_ws_pe_name_##sfx, .body = zt_ws_pe_body_##sfx,                  \
     .create_only = zt_ws_co_pe, .expected_seconds = 30},                                       \
    {.key = k "_dns", .arm_type = "Microsoft.Network/privateEndpoints/privateDnsZoneGroups",   \
     .depends_on = DEPS(k), .enabled = en, .parent_id = zt_ws_pe_parent_##sfx,                 \
     .name = zt_ws_name_default, .body = zt_ws_pe_dns_body_##sfx, .expected_seconds = 10}

#define ZT_WS_RA_NODE(sfx, k, d) ZT_WS_RA_NODE_IF(sfx, k, d, NULL)
#define ZT_WS_RA_NODE_IF(sfx, k, d, en)                                                        \
    {.key = k, .arm_type = "Microsoft.Authorization/roleAssignments", .depends_on = d,         \
     .enabled = en, .parent_id = zt_ws_ra_scope_##sfx, .name = zt_ws_ra_name_##sfx,                          \
     .body = zt_ws_ra_body_##sfx, .create_only = zt_ws_co_ra, .expected_seconds = 5,           \
     .exists_codes = zt_ws_exists_codes, .error_hints = zt_ws_ra_hints}

#define ZT_WS_DIAG_NODE(k, target, en, bd)                                                     \
    {.key = k, .arm_type = "Microsoft.Insights/diagnosticSettings", .depends_on = DEPS(#target),  \
     .enabled = en, .parent_id = zt_ws_diag_parent_##target, .name = zt_ws_name_diag,          \
     .body = bd, .expected_seconds = 5}

static const char *zt_ws_diag_parent_key_vault(const zt_comp_eval *ev)
{
    return zt_comp_id(ev, "key_vault");
}
static const char *zt_ws_parent_sa(const zt_comp_eval *ev) { return zt_comp_id(ev, "storage"); }
static const char *zt_ws_diag_parent_storage(const zt_comp_eval *ev)
{
    return zt_ws_parent_blob_service(ev);
}
static const char *zt_ws_diag_parent_workspace_cmk(const zt_comp_eval *ev)
{
    return zt_comp_id(ev, "workspace");
}
static const char *zt_ws_diag_parent_registry(const zt_comp_eval *ev)
{
    return zt_comp_id(ev, "registry");
}

static const zt_comp_node_def zt_ws_nodes[] = {
    ZT_WS_TRACKED("id_uc", "Microsoft.ManagedIdentity/userAssignedIdentities", NULL, NULL,
                  zt_ws_name_id_uc, zt_ws_body_identity, zt_ws_co_location, 2),
    ZT_WS_TRACKED("id_func", "Microsoft.ManagedIdentity/userAssignedIdentities", NULL, NULL,
                  zt_ws_name_id_func, zt_ws_body_identity, zt_ws_co_location, 2),
    ZT_WS_TRACKED("id_cicd", "Microsoft.ManagedIdentity/userAssignedIdentities", NULL, NULL,
                  zt_ws_name_id_cicd, zt_ws_body_identity, zt_ws_co_location, 2),
    {.key = "fic_github",
     .arm_type = "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
     .depends_on = DEPS("id_cicd"), .parent_id = zt_ws_parent_cicd, .name = zt_ws_name_fic,
     .body = zt_ws_body_fic, .expected_seconds = 2},
    {.key = "key_vault", .arm_type = "Microsoft.KeyVault/vaults", .depends_on = DEPS("id_uc"),
     .name = zt_ws_name_kv, .body = zt_ws_body_kv, .create_only = zt_ws_co_location,
     .expected_seconds = 30, .error_hints = zt_ws_kv_hints, .soft_delete = &zt_ws_kv_soft_delete},
    ZT_WS_PE_NODES(vault, "pe_vault", DEPS("key_vault"), NULL),
    {.key = "key_storage", .arm_type = "Microsoft.KeyVault/vaults/keys",
     .depends_on = DEPS("key_vault"), .parent_id = zt_ws_parent_kv, .name = zt_ws_name_key_storage,
     .body = zt_ws_body_key, .create_only = zt_ws_co_key, .set_at_create = zt_ws_key_once,
     .expected_seconds = 2, .delete_with_parent = true},
    {.key = "key_databricks", .arm_type = "Microsoft.KeyVault/vaults/keys",
     .depends_on = DEPS("key_vault"), .parent_id = zt_ws_parent_kv, .name = zt_ws_name_key_dbx,
     .body = zt_ws_body_key, .create_only = zt_ws_co_key, .set_at_create = zt_ws_key_once,
     .expected_seconds = 2, .delete_with_parent = true},
    ZT_WS_RA_NODE(uc_key, "ra_uc_key_storage", DEPS("key_storage", "id_uc")),
    {.key = "storage", .arm_type = "Microsoft.Storage/storageAccounts",
     .depends_on = DEPS("id_uc", "key_vault", "key_storage", "ra_uc_key_storage"),
     .name = zt_ws_name_sa, .body = zt_ws_body_storage, .create_only = zt_ws_co_storage,
     .expected_seconds = 30, .retry_codes = zt_ws_rbac_codes, .error_hints = zt_ws_sa_hints},
    {.key = "container", .arm_type = "Microsoft.Storage/storageAccounts/blobServices/containers",
     .depends_on = DEPS("storage"), .for_each = zt_ws_containers,
     .parent_id = zt_ws_parent_storage, .name = zt_ws_name_container,
     .body = zt_ws_body_container, .expected_seconds = 2},
    ZT_WS_PE_NODES(blob, "pe_blob", DEPS("storage"), NULL),
    ZT_WS_PE_NODES(dfs, "pe_dfs", DEPS("storage"), NULL),
    ZT_WS_TRACKED("registry", "Microsoft.ContainerRegistry/registries", NULL, zt_ws_registry_on,
                  zt_ws_name_acr, zt_ws_body_registry, zt_ws_co_location, 30),
    ZT_WS_PE_NODES(registry, "pe_registry", DEPS("registry"), zt_ws_registry_on),
    {.key = "access_connector", .arm_type = "Microsoft.Databricks/accessConnectors",
     .depends_on = DEPS("id_uc"), .name = zt_ws_name_connector, .body = zt_ws_body_connector,
     .create_only = zt_ws_co_location, .expected_seconds = 30},
    {.key = "workspace", .arm_type = "Microsoft.Databricks/workspaces",
     .depends_on = DEPS("access_connector", "id_uc"), .name = zt_ws_name_workspace,
     .body = zt_ws_body_workspace, .create_only = zt_ws_co_workspace,
     .preserve = zt_ws_preserve_encryption, .expected_seconds = 300},
    ZT_WS_RA_NODE(ws_key, "ra_workspace_key", DEPS("workspace", "key_databricks")),
    ZT_WS_RA_NODE_IF(dbx_app_key, "ra_databricks_app_key", DEPS("key_databricks"),
                     zt_ws_databricks_app_on),
    {.key = "workspace_cmk", .arm_type = "Microsoft.Databricks/workspaces",
     .depends_on = DEPS("workspace", "ra_workspace_key", "ra_databricks_app_key",
                        "key_databricks", "key_vault"),
     .name = zt_ws_name_workspace, .body = zt_ws_body_workspace_cmk, .expected_seconds = 120,
     .retry_codes = zt_ws_rbac_codes, .error_hints = zt_ws_cmk_hints},
    ZT_WS_RA_NODE(ws_disk_key, "ra_workspace_disk_key", DEPS("workspace_cmk", "key_databricks")),
    ZT_WS_PE_NODES(ui, "pe_databricks_ui_api", DEPS("workspace_cmk"), NULL),
    ZT_WS_PE_NODES(auth, "pe_browser_authentication", DEPS("workspace_cmk", "pe_databricks_ui_api"),
                   zt_ws_browser_auth_on),
    /* The workspace's root storage, firewalled (defaultStorageFirewall). */
    ZT_WS_PE_NODES(dbfs_blob, "pe_dbfs_blob", DEPS("workspace"), NULL),
    ZT_WS_PE_NODES(dbfs_dfs, "pe_dbfs_dfs", DEPS("workspace", "pe_dbfs_blob"), NULL),
    ZT_WS_RA_NODE(uc_lake, "ra_uc_lake", DEPS("storage", "id_uc")),
    ZT_WS_RA_NODE(func_kv, "ra_func_kv_secrets", DEPS("key_vault", "id_func")),
    ZT_WS_RA_NODE(cicd_rg, "ra_cicd_rg", DEPS("id_cicd")),
    ZT_WS_RA_NODE_IF(func_sb_sender, "ra_func_sb_sender", DEPS("id_func"), zt_ws_service_bus_on),
    ZT_WS_RA_NODE_IF(func_sb_receiver, "ra_func_sb_receiver", DEPS("id_func"),
                     zt_ws_service_bus_on),
    ZT_WS_DIAG_NODE("diag_key_vault", key_vault, zt_ws_diag_on, zt_ws_body_diag_audited),
    ZT_WS_DIAG_NODE("diag_storage", storage, zt_ws_diag_on, zt_ws_body_diag_metrics),
    {.key = "diag_storage_account", .arm_type = "Microsoft.Insights/diagnosticSettings",
     .depends_on = DEPS("storage"), .enabled = zt_ws_diag_on, .parent_id = zt_ws_parent_sa,
     .name = zt_ws_name_diag, .body = zt_ws_body_diag_account, .expected_seconds = 5},
    ZT_WS_DIAG_NODE("diag_workspace", workspace_cmk, zt_ws_diag_on, zt_ws_body_diag_logs),
    ZT_WS_DIAG_NODE("diag_registry", registry, zt_ws_diag_registry_on, zt_ws_body_diag_audited),
};

/* ---------------------------------------------------------------------
 * Outputs.
 * ------------------------------------------------------------------- */

static const zt_cty_value *zt_ws_str(const zt_comp_eval *ev, const char *s)
{
    return s ? zt_cty_string(zt_comp_arena(ev), s) : NULL;
}

static const zt_cty_value *zt_ws_null(const zt_comp_eval *ev)
{
    return zt_cty_null(zt_comp_arena(ev), &zt_cty_string_type);
}

#define ZT_WS_OUT_ID(fn, node) \
    static const zt_cty_value *fn(const zt_comp_eval *ev) { return zt_ws_str(ev, zt_comp_id(ev, node)); }
#define ZT_WS_OUT_PTR(fn, node, ptr)                                                           \
    static const zt_cty_value *fn(const zt_comp_eval *ev)                                      \
    {                                                                                          \
        return zt_ws_str(ev, zt_comp_output(ev, node, ptr));                                   \
    }

ZT_WS_OUT_ID(zt_ws_out_workspace_resource_id, "workspace")
ZT_WS_OUT_PTR(zt_ws_out_workspace_number, "workspace_cmk", "/properties/workspaceId")
ZT_WS_OUT_PTR(zt_ws_out_workspace_url, "workspace_cmk", "/properties/workspaceUrl")
ZT_WS_OUT_ID(zt_ws_out_connector_id, "access_connector")
ZT_WS_OUT_PTR(zt_ws_out_connector_principal, "id_uc", "/properties/principalId")
ZT_WS_OUT_ID(zt_ws_out_kv_id, "key_vault")
ZT_WS_OUT_PTR(zt_ws_out_kv_uri, "key_vault", "/properties/vaultUri")
ZT_WS_OUT_ID(zt_ws_out_sa_id, "storage")
ZT_WS_OUT_PTR(zt_ws_out_dfs, "storage", "/properties/primaryEndpoints/dfs")

static const zt_cty_value *zt_ws_out_mrg_id(const zt_comp_eval *ev)
{
    const char *sub = zt_comp_subscription(ev);
    const char *mrg = zt_ws_managed_rg(ev);
    if (!sub || !mrg)
        return NULL;
    return zt_ws_str(ev, zt_arena_printf(zt_comp_arena(ev), "/subscriptions/%s/resourceGroups/%s",
                                         sub, mrg));
}

static const zt_cty_value *zt_ws_out_acr_id(const zt_comp_eval *ev)
{
    return zt_ws_registry_on(ev) ? zt_ws_str(ev, zt_comp_id(ev, "registry")) : zt_ws_null(ev);
}

static const zt_cty_value *zt_ws_out_acr_login(const zt_comp_eval *ev)
{
    if (!zt_ws_registry_on(ev))
        return zt_ws_null(ev);
    return zt_ws_str(ev, zt_comp_output(ev, "registry", "/properties/loginServer"));
}

static const zt_cty_value *zt_ws_map(const zt_comp_eval *ev, size_t n, const char *const *keys,
                                     const char *const *vals)
{
    zt_arena *a = zt_comp_arena(ev);
    const zt_cty_value **v = zt_arena_calloc(a, n + 1, sizeof(*v));
    for (size_t i = 0; i < n; i++) {
        if (!vals[i])
            return NULL;
        v[i] = zt_cty_string(a, vals[i]);
    }
    return zt_cty_map(a, &zt_cty_string_type, n, keys, v);
}

static const char *const zt_ws_identity_roles[] = {"access_connector", "functions", "cicd"};
static const char *const zt_ws_identity_nodes[] = {"id_uc", "id_func", "id_cicd"};

static const zt_cty_value *zt_ws_identity_map(const zt_comp_eval *ev, const char *ptr)
{
    const char *vals[3];
    for (size_t i = 0; i < 3; i++)
        vals[i] = ptr ? zt_comp_output(ev, zt_ws_identity_nodes[i], ptr)
                      : zt_comp_id(ev, zt_ws_identity_nodes[i]);
    return zt_ws_map(ev, 3, zt_ws_identity_roles, vals);
}

static const zt_cty_value *zt_ws_out_identity_ids(const zt_comp_eval *ev)
{
    return zt_ws_identity_map(ev, NULL);
}
static const zt_cty_value *zt_ws_out_identity_clients(const zt_comp_eval *ev)
{
    return zt_ws_identity_map(ev, "/properties/clientId");
}
static const zt_cty_value *zt_ws_out_identity_principals(const zt_comp_eval *ev)
{
    return zt_ws_identity_map(ev, "/properties/principalId");
}

static const zt_cty_value *zt_ws_out_key_ids(const zt_comp_eval *ev)
{
    static const char *const keys[] = {"databricks", "storage"};
    const char *vals[] = {zt_comp_id(ev, "key_databricks"), zt_comp_id(ev, "key_storage")};
    return zt_ws_map(ev, 2, keys, vals);
}

static const zt_cty_value *zt_ws_out_key_uris(const zt_comp_eval *ev)
{
    static const char *const keys[] = {"databricks", "storage"};
    const char *vals[] = {zt_comp_output(ev, "key_databricks", "/properties/keyUriWithVersion"),
                          zt_comp_output(ev, "key_storage", "/properties/keyUriWithVersion")};
    return zt_ws_map(ev, 2, keys, vals);
}

/* Endpoint group -> private IP, for the endpoints that exist. */
static const zt_cty_value *zt_ws_out_pe_ips(const zt_comp_eval *ev)
{
    const char *keys[ZT_ARRAY_LEN(zt_ws_pes)], *vals[ZT_ARRAY_LEN(zt_ws_pes)];
    size_t n = 0;
    for (size_t i = 0; i < ZT_ARRAY_LEN(zt_ws_pes); i++) {
        if (!zt_comp_id(ev, zt_ws_pes[i].key))
            continue; /* not enabled */
        const char *ip = zt_comp_output(ev, zt_ws_pes[i].key,
                                        "/properties/customDnsConfigs/0/ipAddresses/0");
        if (!ip && zt_comp_output(ev, zt_ws_pes[i].key, "/properties/provisioningState"))
            continue; /* known, without an IP in customDnsConfigs: left out */
        keys[n] = zt_ws_pes[i].out;
        vals[n++] = ip;
    }
    return zt_ws_map(ev, n, keys, vals);
}

static const zt_comp_output_def zt_ws_outputs[] = {
    {"workspace_resource_id", zt_ws_out_workspace_resource_id},
    {"workspace_id", zt_ws_out_workspace_number},
    {"workspace_url", zt_ws_out_workspace_url},
    {"managed_resource_group_id", zt_ws_out_mrg_id},
    {"access_connector_id", zt_ws_out_connector_id},
    {"access_connector_principal_id", zt_ws_out_connector_principal},
    {"key_vault_id", zt_ws_out_kv_id},
    {"key_vault_uri", zt_ws_out_kv_uri},
    {"key_ids", zt_ws_out_key_ids},
    {"key_versioned_uris", zt_ws_out_key_uris},
    {"storage_account_id", zt_ws_out_sa_id},
    {"storage_dfs_endpoint", zt_ws_out_dfs},
    {"container_registry_id", zt_ws_out_acr_id},
    {"container_registry_login_server", zt_ws_out_acr_login},
    {"identity_ids", zt_ws_out_identity_ids},
    {"identity_client_ids", zt_ws_out_identity_clients},
    {"identity_principal_ids", zt_ws_out_identity_principals},
    {"private_endpoint_ips", zt_ws_out_pe_ips},
};

/* ---------------------------------------------------------------------
 * Plan-time checks.
 * ------------------------------------------------------------------- */

static void zt_ws_check_location(zt_res_check *k)
{
    const char *loc = zt_res_known_str(k->config, "location");
    if (!loc)
        return;
    for (const char *p = loc; *p; p++)
        if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p)) {
            zt_diag_error(k->c->diags, zt_res_path(k, "location"), "Unknown Azure region",
                          "\"%s\" is not an Azure region's programmatic name (lower case, no "
                          "spaces, e.g. \"westeurope\").", loc);
            return;
        }
    if (zt_res_location_allowed(k, loc))
        return;
    zt_diag_error(k->c->diags, zt_res_path(k, "location"), "Region not allowed",
                  "\"%s\" is not one of the provider's allowed_locations.", loc);
}

static bool zt_ws_all(const char *s, const char *extra, bool lower_only)
{
    for (; *s; s++)
        if (!(isdigit((unsigned char)*s) ||
              (lower_only ? islower((unsigned char)*s) : isalpha((unsigned char)*s)) ||
              strchr(extra, *s)))
            return false;
    return true;
}

static void zt_ws_check_names(zt_res_check *k)
{
    zt_diags *d = k->c->diags;
    const char *name = zt_res_known_str(k->config, "name");
    const char *sa = zt_res_known_str(k->config, "storage_account_name");
    const char *kv = zt_res_known_str(k->config, "key_vault_name");
    const char *acr = zt_res_known_str(k->config, "container_registry_name");
    const char *mrg = zt_res_known_str(k->config, "managed_resource_group_name");
    if (name && (strlen(name) < 1 || strlen(name) > 40 || !zt_ws_all(name, "-", false) ||
                 name[0] == '-' || name[strlen(name) - 1] == '-'))
        zt_diag_error(d, zt_res_path(k, "name"), "Invalid workspace name",
                      "\"%s\" must be 1 to 40 letters, digits or '-', not starting or ending with "
                      "'-': the names of the workspace (dbw-<name>), access connector and "
                      "identities derive from it.", name);
    if (sa && (strlen(sa) < 3 || strlen(sa) > 24 || !zt_ws_all(sa, "", true)))
        zt_diag_error(d, zt_res_path(k, "storage_account_name"), "Invalid storage account name",
                      "\"%s\" must be 3 to 24 lower-case letters and digits (globally unique).",
                      sa);
    if (kv && (strlen(kv) < 3 || strlen(kv) > 24 || !isalpha((unsigned char)kv[0]) ||
               kv[strlen(kv) - 1] == '-' || strstr(kv, "--") || !zt_ws_all(kv, "-", false)))
        zt_diag_error(d, zt_res_path(k, "key_vault_name"), "Invalid Key Vault name",
                      "\"%s\" must be 3 to 24 letters, digits and '-', starting with a letter, "
                      "not ending with '-' and without \"--\" (globally unique).", kv);
    if (acr && (strlen(acr) < 5 || strlen(acr) > 50 || !zt_ws_all(acr, "", false)))
        zt_diag_error(d, zt_res_path(k, "container_registry_name"), "Invalid registry name",
                      "\"%s\" must be 5 to 50 letters and digits (globally unique).", acr);
    if (mrg && (strlen(mrg) > 90 || !zt_ws_all(mrg, "-_.()", false) || mrg[strlen(mrg) - 1] == '.'))
        zt_diag_error(d, zt_res_path(k, "managed_resource_group_name"),
                      "Invalid resource group name",
                      "\"%s\" is not a valid resource group name.", mrg);
}

/* Azure's container names (3 to 63 lower-case letters, digits and '-',
 * starting with a letter or digit, no "--"): each is a URL segment. */
static void zt_ws_check_containers(zt_res_check *k)
{
    const zt_cty_value *v = zt_cty_get_attr(k->config, "storage_containers");
    if (!v || v->is_null || !zt_cty_is_known(v))
        return;
    for (size_t i = 0; i < v->u.coll.n; i++) {
        const zt_cty_value *e = v->u.coll.elems[i];
        const char *c = zt_cty_is_known(e) && !e->is_null ? e->u.str.ptr : NULL;
        size_t n = c ? strlen(c) : 0;
        if (c && (n < 3 || n > 63 || !zt_ws_all(c, "-", true) || !isalnum((unsigned char)c[0]) ||
                  c[n - 1] == '-' || strstr(c, "--")))
            zt_diag_error(k->c->diags, zt_res_path(k, "storage_containers"),
                          "Invalid container name",
                          "\"%s\" must be 3 to 63 lower-case letters, digits and '-', starting "
                          "and ending with a letter or digit, without \"--\".", c);
    }
}

/* Azure does not inject one workspace into a single subnet twice. */
static void zt_ws_check_subnet_pair(zt_res_check *k)
{
    const char *host = zt_res_known_str(k->config, "host_subnet_name");
    const char *container = zt_res_known_str(k->config, "container_subnet_name");
    if (host && container && strcasecmp(host, container) == 0)
        zt_diag_error(k->c->diags, zt_res_path(k, "container_subnet_name"), "Same subnet twice",
                      "host_subnet_name and container_subnet_name are both \"%s\": VNet injection "
                      "needs two distinct subnets.", host);
}

/* Settings that would open the platform up: accepted only with their
 * zero-trust value, so that nobody believes they took effect. */
static void zt_ws_check_zero_trust(zt_res_check *k)
{
    static const struct {
        const char *attr, *what;
    } locks[] = {
        {"public_network_access_enabled",
         "Public network access stays disabled on the workspace, Key Vault, storage and "
         "registry: they are reached through private endpoints only"},
        {"shared_key_access_enabled",
         "Shared-key (account key and SAS) access to the lake stays off: use Microsoft Entra "
         "ID (the access connector identity)"},
    };
    for (size_t i = 0; i < ZT_ARRAY_LEN(locks); i++) {
        const zt_cty_value *v = zt_cty_get_attr(k->config, locks[i].attr);
        if (v && !v->is_null && zt_cty_is_known(v) && v->u.b)
            zt_diag_error(k->c->diags, zt_res_path(k, locks[i].attr), "Breaks zero trust",
                          "%s. Remove %s or set it to false.", locks[i].what, locks[i].attr);
    }
    const zt_cty_value *hns = zt_cty_get_attr(k->config, "hierarchical_namespace_enabled");
    if (hns && !hns->is_null && zt_cty_is_known(hns) && !hns->u.b)
        zt_diag_warning(k->c->diags, zt_res_path(k, "hierarchical_namespace_enabled"),
                        "Not ADLS Gen2",
                        "Without a hierarchical namespace the lake is plain Blob storage: "
                        "Unity Catalog external locations and the dfs endpoint's directory "
                        "semantics need ADLS Gen2. This cannot be changed after creation.");
}


/* 8-4-4-4-12 hexadecimal digits. */
static bool zt_ws_guid_ok(const char *s)
{
    static const size_t groups[] = {8, 4, 4, 4, 12};
    for (size_t g = 0; g < ZT_ARRAY_LEN(groups); g++) {
        for (size_t i = 0; i < groups[g]; i++, s++)
            if (!isxdigit((unsigned char)*s))
                return false;
        if (*s != (g + 1 < ZT_ARRAY_LEN(groups) ? '-' : '\0'))
            return false;
        s += *s == '-';
    }
    return true;
}

static void zt_ws_check_ids(zt_res_check *k)
{
    static const struct {
        const char *attr, *segment, *example;
    } ids[] = {
        {"virtual_network_id", "/providers/Microsoft.Network/virtualNetworks/",
         "Microsoft.Network/virtualNetworks/<spoke VNet>"},
        {"private_endpoint_subnet_id", "/subnets/",
         "Microsoft.Network/virtualNetworks/<VNet>/subnets/<private-endpoint subnet>"},
        {"log_analytics_workspace_id", "/providers/Microsoft.OperationalInsights/workspaces/",
         "Microsoft.OperationalInsights/workspaces/<workspace>"},
        {"service_bus_namespace_id", "/providers/Microsoft.ServiceBus/namespaces/",
         "Microsoft.ServiceBus/namespaces/<namespace>"},
    };
    for (size_t i = 0; i < ZT_ARRAY_LEN(ids); i++) {
        const char *v = zt_res_known_str(k->config, ids[i].attr);
        if (v && !zt_res_id_ok(v, ids[i].segment))
            zt_diag_error(k->c->diags, zt_res_path(k, ids[i].attr), "Invalid resource ID",
                          "\"%s\" is not a resource ID of the form /subscriptions/<id>/"
                          "resourceGroups/<group>/providers/%s.", v, ids[i].example);
    }
    const char *host = zt_res_known_str(k->config, "host_subnet_name");
    const char *cont = zt_res_known_str(k->config, "container_subnet_name");
    if (host && cont && strcasecmp(host, cont) == 0)
        zt_diag_error(k->c->diags, zt_res_path(k, "container_subnet_name"),
                      "Same subnet twice",
                      "Databricks needs two different subnets (host and container); both are "
                      "\"%s\".", host);
    const char *oid = zt_res_known_str(k->config, "azure_databricks_principal_id");
    if (oid && !zt_ws_guid_ok(oid))
        zt_diag_error(k->c->diags, zt_res_path(k, "azure_databricks_principal_id"),
                      "Invalid object ID",
                      "\"%s\" is not an Entra object ID (a GUID). Look it up with `az ad sp show "
                      "--id 2ff814a6-3304-4ab8-85cb-cd0e6f879c1d --query id -o tsv`.", oid);
    const char *subject = zt_res_known_str(k->config, "github_subject");
    if (subject && strncmp(subject, "repo:", 5) != 0)
        zt_diag_error(k->c->diags, zt_res_path(k, "github_subject"), "Invalid GitHub subject",
                      "\"%s\" is not a GitHub Actions OIDC subject (repo:ORG/REPO:ref:refs/"
                      "heads/main, repo:ORG/REPO:environment:prod, ...).", subject);
}

static void zt_ws_check_zones(zt_res_check *k)
{
    const zt_cty_value *m = zt_cty_get_attr(k->config, "private_dns_zone_ids");
    if (!m || m->is_null || !zt_cty_is_known(m))
        return;
    const char *need[] = {ZT_WS_ZONE_VAULT, ZT_WS_ZONE_BLOB, ZT_WS_ZONE_DFS, ZT_WS_ZONE_DBX,
                          ZT_WS_ZONE_ACR};
    const zt_cty_value *acr = zt_cty_get_attr(k->config, "container_registry_name");
    size_t n = acr && !acr->is_null ? 5 : 4;
    for (size_t i = 0; i < n; i++)
        if (!zt_cty_map_get(m, need[i]))
            zt_diag_error(k->c->diags, zt_res_path(k, "private_dns_zone_ids"),
                          "Missing private DNS zone",
                          "private_dns_zone_ids has no \"%s\"; pass the hub's "
                          "private_dns_zone_ids output (it holds every zone the workspace's "
                          "private endpoints register in).", need[i]);
}

/* The compliance standards Azure Databricks' compliance security profile
 * certifies (ARM template reference, Microsoft.Databricks/workspaces). */
static const char *const zt_ws_standards[] = {
    "C5", "CANADA_PROTECTED_B", "CYBER_ESSENTIAL_PLUS", "FEDRAMP_HIGH", "FEDRAMP_IL5",
    "FEDRAMP_MODERATE", "HIPAA", "HITRUST", "IRAP_PROTECTED", "ISMAP", "ITAR_EAR", "K_FSI",
    "NONE", "PCI_DSS", NULL};

static void zt_ws_check_compliance(zt_res_check *k)
{
    const zt_cty_value *csp = zt_cty_get_attr(k->config, "compliance_security_profile_enabled");
    const zt_cty_value *std = zt_cty_get_attr(k->config, "compliance_standards");
    bool on = csp && !csp->is_null && zt_cty_is_known(csp) && csp->u.b;
    bool off = !csp || csp->is_null || (zt_cty_is_known(csp) && !csp->u.b);
    static const char *const needed[] = {"enhanced_security_monitoring_enabled",
                                         "automatic_cluster_update_enabled"};
    for (size_t i = 0; on && i < ZT_ARRAY_LEN(needed); i++) {
        const zt_cty_value *v = zt_cty_get_attr(k->config, needed[i]);
        if (v && !v->is_null && zt_cty_is_known(v) && !v->u.b)
            zt_diag_error(k->c->diags, zt_res_path(k, needed[i]), "Required by the compliance "
                          "security profile", "The compliance security profile needs %s: "
                          "leave it out (it follows the profile) or set it to true.", needed[i]);
    }
    if (!std || std->is_null || !zt_cty_is_known(std))
        return;
    if (off && std->u.coll.n)
        zt_diag_error(k->c->diags, zt_res_path(k, "compliance_standards"),
                      "Standards without the compliance security profile",
                      "Compliance standards apply to the compliance security profile: set "
                      "compliance_security_profile_enabled = true.");
    for (size_t i = 0; i < std->u.coll.n; i++) {
        const zt_cty_value *e = std->u.coll.elems[i];
        if (zt_cty_is_known(e) && !e->is_null && !zt_res_in_list(zt_ws_standards, e->u.str.ptr))
            zt_diag_error(k->c->diags, zt_res_path(k, "compliance_standards"),
                          "Unknown compliance standard", "\"%s\" is not one of %s.",
                          e->u.str.ptr, zt_res_join(k->c->arena, zt_ws_standards));
    }
}

static zt_rc zt_ws_validate(zt_call *c, const zt_schema *s, const zt_cty_value *config)
{
    ZT_UNUSED(s);
    zt_res_check k = {c, config};
    size_t errors = c->diags->errors;
    if (!config || config->is_null || !zt_cty_is_known(config))
        return ZT_OK;
    zt_ws_check_names(&k);
    zt_res_check_rg_name(&k);
    zt_ws_check_containers(&k);
    zt_ws_check_subnet_pair(&k);
    zt_ws_check_location(&k);
    zt_res_check_tags(&k);
    zt_ws_check_zero_trust(&k);
    zt_ws_check_ids(&k);
    zt_ws_check_zones(&k);
    zt_ws_check_compliance(&k);
    return c->diags->errors > errors ? ZT_ERR_INVALID : ZT_OK;
}

/* ---- checks against the spoke as Azure has it ---- */

/* The subnet named `name` in a VNet's GET body (case-insensitive). */
static json_t *zt_ws_subnet(const json_t *vnet, const char *name)
{
    json_t *sn;
    size_t i;
    json_array_foreach(zt_res_jget(vnet, "properties/subnets"), i, sn)
    {
        const char *n = zt_res_jstr(sn, "name");
        if (n && strcasecmp(n, name) == 0)
            return sn;
    }
    return NULL;
}

static bool zt_ws_delegated_to_databricks(const json_t *subnet)
{
    json_t *d;
    size_t i;
    json_array_foreach(zt_res_jget(subnet, "properties/delegations"), i, d)
    {
        const char *svc = zt_res_jstr(d, "properties/serviceName");
        if (svc && strcasecmp(svc, "Microsoft.Databricks/workspaces") == 0)
            return true;
    }
    return false;
}

/* The workspace a subnet's service association link names (VNet injection
 * in use), or NULL. */
static const char *zt_ws_injected_workspace(const json_t *subnet)
{
    json_t *sal;
    size_t i;
    json_array_foreach(zt_res_jget(subnet, "properties/serviceAssociationLinks"), i, sal)
    {
        const char *t = zt_res_jstr(sal, "properties/linkedResourceType");
        if (t && strcasecmp(t, "Microsoft.Databricks/workspaces") == 0)
            return zt_res_jstr(sal, "properties/link");
    }
    return NULL;
}

/* Whether a workspace ID is the one this configuration names (a replacement
 * plan reads the subnets while the old workspace still holds them). */
static bool zt_ws_is_this_workspace(zt_res_check *k, const char *id)
{
    const char *rg = zt_res_known_str(k->config, "resource_group_name");
    const char *name = zt_res_known_str(k->config, "name");
    if (!rg || !name)
        return true; /* not known yet: do not accuse another workspace */
    const char *tail = zt_arena_printf(k->c->arena, "/resourceGroups/%s/providers/"
                                                    "Microsoft.Databricks/workspaces/dbw-%s", rg, name);
    size_t n = strlen(id), t = strlen(tail);
    return n >= t && strcasecmp(id + n - t, tail) == 0;
}

/* The prefix length of a subnet's (first) IPv4 prefix; -1 if none. */
static int zt_ws_prefix_len(const json_t *subnet)
{
    const char *p = zt_res_jstr(subnet, "properties/addressPrefix");
    if (!p)
        p = zt_res_jstr(subnet, "properties/addressPrefixes/0");
    const char *slash = p ? strchr(p, '/') : NULL;
    return slash ? atoi(slash + 1) : -1;
}

/* VNet injection's rules for one of the two Databricks subnets. */
static void zt_ws_check_dbx_subnet(zt_res_check *k, const json_t *vnet, const char *attr)
{
    const char *name = zt_res_known_str(k->config, attr);
    const char *vnet_id = zt_res_jstr(vnet, "id");
    json_t *sn = name ? zt_ws_subnet(vnet, name) : NULL;
    zt_path *p = zt_res_path(k, attr);
    if (!name)
        return;
    if (!sn) {
        zt_diag_error(k->c->diags, p, "Subnet not found", "%s has no subnet \"%s\".", vnet_id,
                      name);
        return;
    }
    if (!zt_ws_delegated_to_databricks(sn))
        zt_diag_error(k->c->diags, p, "Subnet not delegated to Databricks",
                      "VNet injection needs subnet \"%s\" delegated to "
                      "Microsoft.Databricks/workspaces (zerotrust_spoke does this).", name);
    if (!zt_res_jget(sn, "properties/networkSecurityGroup/id"))
        zt_diag_error(k->c->diags, p, "Subnet without a network security group",
                      "VNet injection needs a network security group on subnet \"%s\".", name);
    int len = zt_ws_prefix_len(sn);
    if (len > 26)
        zt_diag_error(k->c->diags, p, "Databricks subnet too small",
                      "Subnet \"%s\" is a /%d; Databricks needs at least a /26 for each of its "
                      "two subnets (each cluster node takes one address in both).", name, len);
    const char *other = zt_ws_injected_workspace(sn);
    if (other && !zt_ws_is_this_workspace(k, other))
        zt_diag_error(k->c->diags, p, "Subnet used by another workspace",
                      "Subnet \"%s\" already hosts workspace %s: Azure does not share Databricks "
                      "subnets between workspaces.", name, other);
}

/* The VNet's address space, /16 to /24 for VNet injection. */
static void zt_ws_check_vnet_space(zt_res_check *k, const json_t *vnet)
{
    json_t *pfx;
    size_t i;
    json_array_foreach(zt_res_jget(vnet, "properties/addressSpace/addressPrefixes"), i, pfx)
    {
        const char *slash = json_is_string(pfx) ? strchr(json_string_value(pfx), '/') : NULL;
        int len = slash ? atoi(slash + 1) : -1;
        if (len >= 0 && (len < 16 || len > 24))
            zt_diag_error(k->c->diags, zt_res_path(k, "virtual_network_id"),
                          "VNet address space not supported",
                          "%s has the address space %s; Databricks VNet injection needs one between "
                          "/16 and /24.", zt_res_jstr(vnet, "id"), json_string_value(pfx));
    }
}

static void zt_ws_check_pe_subnet(zt_res_check *k, const json_t *vnet)
{
    const char *id = zt_res_known_str(k->config, "private_endpoint_subnet_id");
    const char *vnet_id = zt_res_jstr(vnet, "id");
    size_t n = vnet_id ? strlen(vnet_id) : 0;
    if (!id || !n || strncasecmp(id, vnet_id, n) != 0 || strncasecmp(id + n, "/subnets/", 9) != 0)
        return; /* another VNet: not read here */
    json_t *sn = zt_ws_subnet(vnet, id + n + 9);
    zt_path *p = zt_res_path(k, "private_endpoint_subnet_id");
    if (!sn)
        zt_diag_error(k->c->diags, p, "Subnet not found", "%s does not exist.", id);
    else if (json_array_size(zt_res_jget(sn, "properties/delegations")))
        zt_diag_error(k->c->diags, p, "Delegated subnet",
                      "Private endpoints cannot be placed in a delegated subnet (%s).", id);
}

/* One GET of the spoke VNet (subnets inline) when the plan creates the
 * workspace and the VNet already exists; skipped while it is unknown or
 * not there yet (created in the same apply). */
static void zt_ws_plan_check(zt_call *c, const zt_cty_value *config, const zt_cty_value *prior,
                             json_t *(*get)(void *getter, const char *arm_id), void *getter)
{
    zt_res_check k = {.c = c, .config = config};
    if (prior)
        return; /* what it checks is create-only */
    const zt_cty_value *app = zt_cty_get_attr(config, "azure_databricks_principal_id");
    if (app && app->is_null)
        zt_diag_warning(c->diags, zt_res_path(&k, "azure_databricks_principal_id"),
                        "No grant for the AzureDatabricks application",
                        "Customer-managed keys for managed services need the AzureDatabricks "
                        "first-party application to hold Key Vault Crypto Service Encryption User "
                        "on the Databricks key. Without azure_databricks_principal_id this resource "
                        "does not grant it: unless it is granted otherwise, phase two of the keys "
                        "retries until timeouts.create and fails.");
    const char *vnet_id = zt_res_known_str(config, "virtual_network_id");
    json_t *vnet = vnet_id && zt_res_id_ok(vnet_id, "/virtualNetworks/") ? get(getter, vnet_id)
                                                                            : NULL;
    if (!vnet)
        return;
    const char *loc = zt_res_known_str(config, "location");
    const char *vloc = zt_res_jstr(vnet, "location");
    if (loc && vloc && strcasecmp(loc, vloc) != 0)
        zt_diag_error(c->diags, zt_res_path(&k, "virtual_network_id"), "VNet in another region",
                      "The workspace is in %s but %s is in %s: VNet injection needs both in one "
                      "region.", loc, vnet_id, vloc);
    zt_ws_check_vnet_space(&k, vnet);
    zt_ws_check_dbx_subnet(&k, vnet, "host_subnet_name");
    zt_ws_check_dbx_subnet(&k, vnet, "container_subnet_name");
    zt_ws_check_pe_subnet(&k, vnet);
}

/* ---------------------------------------------------------------------
 * The definition.
 * ------------------------------------------------------------------- */

/* Schema version 1: names as azurerm's (id is the workspace, the import
 * ID; the numeric workspace_id comes with the next refresh). */
static const zt_upgrade_op zt_ws_v0_ops[] = {
    {ZT_UPGRADE_RENAME, "workspace_id", "workspace_resource_id"},
    {ZT_UPGRADE_COPY, "workspace_resource_id", "id"},
};

static const zt_state_upgrade zt_ws_upgrades[] = {
    {0, zt_ws_v0_ops, ZT_ARRAY_LEN(zt_ws_v0_ops), NULL},
};

const zt_composite_def zt_composite_databricks_private_workspace = {
    .type_name = "zerotrust_databricks_private_workspace",
    .nodes = zt_ws_nodes,
    .n_nodes = ZT_ARRAY_LEN(zt_ws_nodes),
    .outputs = zt_ws_outputs,
    .n_outputs = ZT_ARRAY_LEN(zt_ws_outputs),
    /* id = the import ID, as azurerm's */
    .id_node = "workspace",
    .upgrades = zt_ws_upgrades,
    .n_upgrades = ZT_ARRAY_LEN(zt_ws_upgrades),
    .validate = zt_ws_validate,
    .import = zt_ws_import,
    .plan_check = zt_ws_plan_check,
    .default_create_ms = 60 * 60 * 1000,
    .default_update_ms = 60 * 60 * 1000,
    .default_delete_ms = 60 * 60 * 1000,
    .default_read_ms = 10 * 60 * 1000,
};
