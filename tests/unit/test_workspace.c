/* Unit tests for zerotrust_databricks_private_workspace
 * (provider/resources/zt_workspace.c): the node table expanded by the real
 * engine with options toggled, IDs (deterministic role assignment names),
 * bodies, outputs, and the validate hook's diagnostics with paths.
 *
 * `test_workspace --dump-bodies FILE` writes every node's PUT body (default
 * inputs, then every option on) as an emulator request log, which
 * tests/unit/check_bodies.py validates against azure-specs. */
#include "zt_comp_internal.h"

static void fake_outputs(zt_comp_eval *ev);
#define ZT_TEST_RES_AFTER_EXPAND(ev) fake_outputs(ev)
#define ZT_TEST_RES_DEF zt_composite_databricks_private_workspace
#define ZT_TEST_RES_TYPE "zerotrust_databricks_private_workspace"
#include "zt_test_res.h"
#include "zt_test_values.h"

#include "zt_res.h"

#include <ctype.h>

#define DEF zt_composite_databricks_private_workspace

#define TENANT "11111111-2222-3333-4444-555555555555"
#define RG_ID "/subscriptions/" SUB "/resourceGroups/rg-dbx"
#define SPOKE "/subscriptions/" SUB "/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet-spoke"
#define ZONES "/subscriptions/" SUB "/resourceGroups/rg-hub/providers/Microsoft.Network/privateDnsZones/"
#define WS "/subscriptions/" SUB "/resourceGroups/rg-ops/providers/Microsoft.OperationalInsights/workspaces/law"
#define KV_ID RG_ID "/providers/Microsoft.KeyVault/vaults/kv-dbx-weu"
#define DBW_ID RG_ID "/providers/Microsoft.Databricks/workspaces/dbw-analytics"

#define ZONE(z) "\"" z "\":\"" ZONES z "\""
#define BASE_INPUTS                                                                           \
    "\"name\":\"analytics\",\"location\":\"westeurope\",\"resource_group_name\":\"rg-dbx\","  \
    "\"virtual_network_id\":\"" SPOKE "\",\"host_subnet_name\":\"snet-dbx-host\","             \
    "\"container_subnet_name\":\"snet-dbx-container\","                                       \
    "\"private_endpoint_subnet_id\":\"" SPOKE "/subnets/snet-pe\","                           \
    "\"private_dns_zone_ids\":{" ZONE("privatelink.vaultcore.azure.net") ","                  \
    ZONE("privatelink.blob.core.windows.net") "," ZONE("privatelink.dfs.core.windows.net") "," \
    ZONE("privatelink.azuredatabricks.net") "," ZONE("privatelink.azurecr.io") "},"          \
    "\"key_vault_name\":\"kv-dbx-weu\",\"storage_account_name\":\"stdbxlakeweu\","            \
    "\"github_subject\":\"repo:contoso/platform:environment:prod\","                          \
    "\"tags\":{\"environment\":\"prod\",\"project\":\"dataplatform\",\"owner\":\"team\","     \
    "\"cost-centre\":\"cc-1\"}"

#define DBX_APP "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
#define SB_ID "/subscriptions/" SUB "/resourceGroups/rg-apps/providers/Microsoft.ServiceBus/namespaces/sb-apps"
#define ALL_ON_INPUTS                                                                         \
    BASE_INPUTS ",\"container_registry_name\":\"acrdbxweu\",\"browser_authentication_enabled\":true," \
    "\"azure_databricks_principal_id\":\"" DBX_APP "\",\"service_bus_namespace_id\":\"" SB_ID "\","   \
    "\"log_analytics_workspace_id\":\"" WS "\",\"storage_containers\":[\"bronze\",\"gold\"],"  \
    "\"managed_resource_group_name\":\"rg-dbx-managed\",\"infrastructure_encryption_enabled\":false"

/* What ARM returns for the nodes other bodies read from. */
static void fake_outputs(zt_comp_eval *ev)
{
    fake(ev, "id_uc", "{\"properties\":{\"tenantId\":\"" TENANT "\",\"principalId\":"
                      "\"aaaaaaaa-0000-0000-0000-000000000001\",\"clientId\":"
                      "\"cccccccc-0000-0000-0000-000000000001\"}}");
    fake(ev, "id_func", "{\"properties\":{\"principalId\":\"aaaaaaaa-0000-0000-0000-000000000002\","
                        "\"clientId\":\"cccccccc-0000-0000-0000-000000000002\"}}");
    fake(ev, "id_cicd", "{\"properties\":{\"principalId\":\"aaaaaaaa-0000-0000-0000-000000000003\","
                        "\"clientId\":\"cccccccc-0000-0000-0000-000000000003\"}}");
    fake(ev, "key_vault", "{\"properties\":{\"vaultUri\":\"https://kv-dbx-weu.vault.azure.net/\"}}");
    fake(ev, "key_databricks", "{\"properties\":{\"keyUriWithVersion\":"
                               "\"https://kv-dbx-weu.vault.azure.net/keys/cmk-databricks/0123abcd\"}}");
    fake(ev, "key_storage", "{\"properties\":{\"keyUriWithVersion\":"
                            "\"https://kv-dbx-weu.vault.azure.net/keys/cmk-storage/4567ef\"}}");
    fake(ev, "workspace", "{\"properties\":{\"storageAccountIdentity\":{\"principalId\":"
                          "\"bbbbbbbb-0000-0000-0000-000000000001\"},\"parameters\":{"
                          "\"storageAccountName\":{\"type\":\"String\",\"value\":\"dbstorageabc123\"}}}}");
    fake(ev, "workspace_cmk", "{\"properties\":{\"workspaceUrl\":\"adb-1.2.azuredatabricks.net\","
                              "\"workspaceId\":\"1234567890123456\","
                              "\"managedDiskIdentity\":{\"principalId\":"
                              "\"dddddddd-0000-0000-0000-000000000001\"}}}");
    fake(ev, "storage", "{\"properties\":{\"primaryEndpoints\":{\"dfs\":"
                        "\"https://stdbxlakeweu.dfs.core.windows.net/\"}}}");
    fake(ev, "registry", "{\"properties\":{\"loginServer\":\"acrdbxweu.azurecr.io\"}}");
    fake(ev, "pe_vault", "{\"properties\":{\"customDnsConfigs\":[{\"ipAddresses\":[\"10.1.2.4\"]}]}}");
}

static bool jtrue(json_t *doc, const char *ptr)
{
    return json_is_true(zt_comp_json_ptr(doc, ptr));
}

/* Whether node `key` depends on node `dep` in the expanded graph. */
static bool waits_for(zt_comp_eval *ev, const char *key, const char *dep)
{
    ssize_t i = zt_comp_graph_find(&ev->graph, key), d = zt_comp_graph_find(&ev->graph, dep);
    ck_assert(i >= 0 && d >= 0);
    for (size_t k = 0; k < ev->graph.inst[i].n_deps; k++)
        if (ev->graph.inst[i].deps[k] == (size_t)d)
            return true;
    return false;
}

#define DEFAULT_KEYS                                                                          \
    "id_uc id_func id_cicd fic_github key_vault pe_vault pe_vault_dns key_storage "           \
    "key_databricks ra_uc_key_storage storage container[curated] container[raw] "             \
    "container[unity-catalog] pe_blob pe_blob_dns pe_dfs pe_dfs_dns access_connector "        \
    "workspace ra_workspace_key workspace_cmk ra_workspace_disk_key pe_databricks_ui_api "      \
    "pe_databricks_ui_api_dns pe_dbfs_blob pe_dbfs_blob_dns pe_dbfs_dfs pe_dbfs_dfs_dns "     \
    "ra_uc_lake ra_func_kv_secrets ra_cicd_rg"

START_TEST(test_expand_defaults)
{
    zt_comp_eval *ev = expand(BASE_INPUTS);
    ck_assert_str_eq(keys(ev), DEFAULT_KEYS);
    ck_assert_str_eq(zt_comp_id(ev, "key_vault"), KV_ID);
    ck_assert_str_eq(zt_comp_id(ev, "workspace"), DBW_ID);
    ck_assert_str_eq(zt_comp_id(ev, "workspace_cmk"), DBW_ID); /* phase two: same resource */
    ck_assert_str_eq(zt_comp_id(ev, "key_storage"), KV_ID "/keys/cmk-storage");
    ck_assert_str_eq(zt_comp_id(ev, "fic_github"),
                     RG_ID "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"
                           "id-analytics-cicd/federatedIdentityCredentials/github-actions");
    ck_assert_str_eq(zt_comp_id(ev, "pe_vault_dns"),
                     RG_ID "/providers/Microsoft.Network/privateEndpoints/pe-kv-dbx-weu-vault/"
                           "privateDnsZoneGroups/default");
    ck_assert_str_eq(zt_comp_id(ev, "container[raw]"),
                     RG_ID "/providers/Microsoft.Storage/storageAccounts/stdbxlakeweu/"
                           "blobServices/default/containers/raw");
    ck_assert_ptr_null(zt_comp_id(ev, "registry"));
    ck_assert_ptr_null(zt_comp_id(ev, "pe_browser_authentication"));
    ck_assert_ptr_null(zt_comp_id(ev, "diag_workspace"));
    ck_assert_ptr_null(zt_comp_id(ev, "ra_databricks_app_key"));
    ck_assert_ptr_null(zt_comp_id(ev, "ra_func_sb_sender"));
    /* the root storage's endpoints are named after the workspace */
    ck_assert_str_eq(zt_comp_id(ev, "pe_dbfs_dfs"),
                     RG_ID "/providers/Microsoft.Network/privateEndpoints/pe-dbw-analytics-dbfs-dfs");

    /* role assignments: scope + deterministic GUID name */
    const char *ra = zt_comp_id(ev, "ra_uc_lake");
    const char *prefix = RG_ID "/providers/Microsoft.Storage/storageAccounts/stdbxlakeweu/"
                               "providers/Microsoft.Authorization/roleAssignments/";
    ck_assert_msg(strncmp(ra, prefix, strlen(prefix)) == 0, "%s", ra);
    const char *guid = ra + strlen(prefix);
    ck_assert_uint_eq(strlen(guid), 36);
    ck_assert_int_eq(guid[14], '5'); /* version 5 */
    ck_assert(strchr("89ab", guid[19]));
    const char *rg_ra = zt_comp_id(ev, "ra_cicd_rg");
    ck_assert_msg(strncmp(rg_ra, RG_ID "/providers/Microsoft.Authorization/roleAssignments/",
                          strlen(RG_ID "/providers/Microsoft.Authorization/roleAssignments/")) == 0,
                  "%s", rg_ra);
    const char *kra = zt_comp_id(ev, "ra_uc_key_storage"); /* scoped to the key only */
    const char *kpre = KV_ID "/keys/cmk-storage/providers/Microsoft.Authorization/roleAssignments/";
    ck_assert_msg(strncmp(kra, kpre, strlen(kpre)) == 0, "%s", kra);

    /* the same inputs give the same names (idempotent PUTs) */
    zt_comp_eval *again = expand(BASE_INPUTS);
    ck_assert_str_eq(zt_comp_id(again, "ra_uc_lake"), ra);
    ck_assert_str_ne(zt_comp_id(again, "ra_func_kv_secrets"), zt_comp_id(again, "ra_uc_lake"));
    /* two identities of one workspace on one key: two assignments */
    ck_assert_str_ne(zt_comp_id(ev, "ra_workspace_key"), zt_comp_id(ev, "ra_workspace_disk_key"));

    /* phase two waits for the grant of the workspace's storage identity */
    ck_assert(waits_for(ev, "workspace_cmk", "ra_workspace_key"));
}
END_TEST

START_TEST(test_expand_options)
{
    zt_comp_eval *ev = expand(ALL_ON_INPUTS);
    const char *k = keys(ev);
    ck_assert_msg(strstr(k, "container[bronze] container[gold] pe_blob") != NULL, "%s", k);
    ck_assert_ptr_nonnull(strstr(k, "registry pe_registry pe_registry_dns"));
    ck_assert_ptr_nonnull(strstr(k, "pe_browser_authentication pe_browser_authentication_dns"));
    ck_assert_ptr_nonnull(strstr(k, "diag_key_vault diag_storage diag_storage_account diag_workspace diag_registry"));
    ck_assert_str_eq(zt_comp_id(ev, "diag_storage"),
                     RG_ID "/providers/Microsoft.Storage/storageAccounts/stdbxlakeweu/blobServices/"
                           "default/providers/Microsoft.Insights/diagnosticSettings/zerotrust-law");
    ck_assert_str_eq(zt_comp_id(ev, "diag_workspace"),
                     DBW_ID "/providers/Microsoft.Insights/diagnosticSettings/zerotrust-law");
    /* Service Bus grants on the given namespace only; the first-party app on the key only */
    const char *sb = SB_ID "/providers/Microsoft.Authorization/roleAssignments/";
    ck_assert_msg(strncmp(zt_comp_id(ev, "ra_func_sb_sender"), sb, strlen(sb)) == 0, "%s",
                  zt_comp_id(ev, "ra_func_sb_sender"));
    ck_assert_str_ne(zt_comp_id(ev, "ra_func_sb_sender"), zt_comp_id(ev, "ra_func_sb_receiver"));
    const char *kpre = KV_ID "/keys/cmk-databricks/providers/Microsoft.Authorization/roleAssignments/";
    ck_assert(strncmp(zt_comp_id(ev, "ra_databricks_app_key"), kpre, strlen(kpre)) == 0);
    /* phase two waits for the first-party app's grant */
    ck_assert(waits_for(ev, "workspace_cmk", "ra_databricks_app_key"));
}
END_TEST

START_TEST(test_bodies)
{
    zt_comp_eval *ev = expand(BASE_INPUTS);
    json_t *fic = body_of(ev, "fic_github");
    ck_assert_str_eq(jstr(fic, "/properties/issuer"), "https://token.actions.githubusercontent.com");
    ck_assert_str_eq(jstr(fic, "/properties/audiences/0"), "api://AzureADTokenExchange");
    ck_assert_str_eq(jstr(fic, "/properties/subject"), "repo:contoso/platform:environment:prod");

    json_t *kv = body_of(ev, "key_vault");
    ck_assert_str_eq(jstr(kv, "/properties/tenantId"), TENANT);
    ck_assert(jtrue(kv, "/properties/enableRbacAuthorization"));
    ck_assert(jtrue(kv, "/properties/enablePurgeProtection"));
    ck_assert_int_eq(json_integer_value(zt_comp_json_ptr(kv, "/properties/softDeleteRetentionInDays")), 90);
    ck_assert_str_eq(jstr(kv, "/properties/publicNetworkAccess"), "Disabled");
    ck_assert_str_eq(jstr(kv, "/properties/networkAcls/defaultAction"), "Deny");

    json_t *sa = body_of(ev, "storage");
    ck_assert(jtrue(sa, "/properties/isHnsEnabled"));
    ck_assert(!jtrue(sa, "/properties/allowSharedKeyAccess"));
    ck_assert(jtrue(sa, "/properties/supportsHttpsTrafficOnly"));
    ck_assert_str_eq(jstr(sa, "/properties/minimumTlsVersion"), "TLS1_2");
    ck_assert_str_eq(jstr(sa, "/properties/publicNetworkAccess"), "Disabled");
    ck_assert(jtrue(sa, "/properties/encryption/requireInfrastructureEncryption"));
    ck_assert_str_eq(jstr(sa, "/properties/encryption/keySource"), "Microsoft.Keyvault");
    ck_assert_str_eq(jstr(sa, "/properties/encryption/keyvaultproperties/keyvaulturi"),
                     "https://kv-dbx-weu.vault.azure.net/");
    ck_assert_str_eq(jstr(sa, "/properties/encryption/identity/userAssignedIdentity"),
                     zt_comp_id(ev, "id_uc"));

    json_t *w = body_of(ev, "workspace");
    ck_assert_str_eq(jstr(w, "/sku/name"), "premium");
    ck_assert_str_eq(jstr(w, "/properties/computeMode"), "Hybrid");
    ck_assert_str_eq(jstr(w, "/properties/managedResourceGroupId"),
                     "/subscriptions/" SUB "/resourceGroups/rg-analytics-dbx-managed");
    ck_assert_str_eq(jstr(w, "/properties/publicNetworkAccess"), "Disabled");
    ck_assert_str_eq(jstr(w, "/properties/requiredNsgRules"), "NoAzureDatabricksRules");
    ck_assert_str_eq(jstr(w, "/properties/parameters/customVirtualNetworkId/value"), SPOKE);
    ck_assert_str_eq(jstr(w, "/properties/parameters/customPublicSubnetName/value"), "snet-dbx-host");
    ck_assert(jtrue(w, "/properties/parameters/enableNoPublicIp/value"));
    ck_assert(jtrue(w, "/properties/parameters/prepareEncryption/value"));
    ck_assert_ptr_null(zt_comp_json_ptr(w, "/properties/encryption"));
    ck_assert_str_eq(jstr(w, "/properties/defaultStorageFirewall"), "Enabled");
    ck_assert_str_eq(jstr(w, "/properties/accessConnector/id"), zt_comp_id(ev, "access_connector"));

    /* root storage endpoints reach the account in the managed resource group */
    json_t *root = body_of(ev, "pe_dbfs_blob");
    ck_assert_str_eq(jstr(root, "/properties/privateLinkServiceConnections/0/properties/"
                                "privateLinkServiceId"),
                     "/subscriptions/" SUB "/resourceGroups/rg-analytics-dbx-managed/providers/"
                     "Microsoft.Storage/storageAccounts/dbstorageabc123");
    ck_assert_str_eq(jstr(root, "/properties/privateLinkServiceConnections/0/properties/"
                                "groupIds/0"), "blob");
    ck_assert_str_eq(jstr(body_of(ev, "pe_dbfs_dfs_dns"), "/properties/privateDnsZoneConfigs/0/"
                                                          "properties/privateDnsZoneId"),
                     ZONES "privatelink.dfs.core.windows.net");

    json_t *cmk = body_of(ev, "workspace_cmk");
    ck_assert_str_eq(jstr(cmk, "/properties/encryption/entities/managedServices/keyVaultProperties/"
                               "keyVersion"), "0123abcd");
    ck_assert_str_eq(jstr(cmk, "/properties/encryption/entities/managedDisk/keyVaultProperties/"
                               "keyName"), "cmk-databricks");
    /* the DBFS root, through the storage identity prepareEncryption made */
    ck_assert_str_eq(jstr(cmk, "/properties/parameters/encryption/value/keySource"),
                     "Microsoft.Keyvault");
    ck_assert_str_eq(jstr(cmk, "/properties/parameters/encryption/value/keyversion"), "0123abcd");
    ck_assert(jtrue(cmk, "/properties/parameters/prepareEncryption/value"));

    json_t *ra = body_of(ev, "ra_workspace_key");
    ck_assert_str_eq(jstr(ra, "/properties/principalId"), "bbbbbbbb-0000-0000-0000-000000000001");
    ck_assert_str_eq(jstr(body_of(ev, "ra_workspace_disk_key"), "/properties/principalId"),
                     "dddddddd-0000-0000-0000-000000000001");
    ck_assert_str_eq(jstr(ra, "/properties/roleDefinitionId"),
                     "/subscriptions/" SUB "/providers/Microsoft.Authorization/roleDefinitions/"
                     "e147488a-f6f5-4113-8e2d-b22465e65bf6");
    ck_assert_str_eq(jstr(body_of(ev, "ra_cicd_rg"), "/properties/roleDefinitionId") +
                         strlen("/subscriptions/" SUB "/providers/Microsoft.Authorization/"
                                "roleDefinitions/"),
                     "b24988ac-6180-42a0-ab88-20f7382dd24c");
    ck_assert_str_eq(jstr(body_of(ev, "pe_vault"), "/properties/privateLinkServiceConnections/0/"
                                                   "properties/groupIds/0"), "vault");
    ck_assert_str_eq(jstr(body_of(ev, "pe_dfs_dns"), "/properties/privateDnsZoneConfigs/0/properties/"
                                                     "privateDnsZoneId"),
                     ZONES "privatelink.dfs.core.windows.net");

    /* options: no infrastructure encryption, own managed group */
    ev = expand(ALL_ON_INPUTS);
    ck_assert(!jtrue(body_of(ev, "storage"), "/properties/encryption/requireInfrastructureEncryption"));
    ck_assert_str_eq(jstr(body_of(ev, "workspace"), "/properties/managedResourceGroupId"),
                     "/subscriptions/" SUB "/resourceGroups/rg-dbx-managed");
    ck_assert_str_eq(jstr(body_of(ev, "diag_workspace"), "/properties/workspaceId"), WS);
    json_t *app = body_of(ev, "ra_databricks_app_key");
    ck_assert_str_eq(jstr(app, "/properties/principalId"), DBX_APP);
    ck_assert_str_eq(jstr(body_of(ev, "ra_func_sb_receiver"), "/properties/principalId"),
                     "aaaaaaaa-0000-0000-0000-000000000002");
    ck_assert_str_eq(jstr(body_of(ev, "ra_func_sb_receiver"), "/properties/roleDefinitionId") +
                         strlen("/subscriptions/" SUB "/providers/Microsoft.Authorization/"
                                "roleDefinitions/"),
                     "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0");
}
END_TEST

/* A role assignment names its role definition in its scope's subscription:
 * a Service Bus namespace in another subscription than the provider's gets
 * roles of that subscription (ARM answers with them whatever the PUT
 * names, so the provider's would read back as drift on every refresh). */
#define OTHER_SUB "00000000-0000-0000-0000-0000000000b2"
#define RD "/providers/Microsoft.Authorization/roleDefinitions/"
START_TEST(test_role_definitions_in_the_scope_subscription)
{
    const char *sb = "/subscriptions/" OTHER_SUB "/resourceGroups/rg-apps/providers/"
                     "Microsoft.ServiceBus/namespaces/sb-apps";
    zt_comp_eval *ev = expand(zt_arena_printf(A, "%s,\"service_bus_namespace_id\":\"%s\"",
                                              BASE_INPUTS, sb));
    ck_assert_str_eq(jstr(body_of(ev, "ra_func_sb_sender"), "/properties/roleDefinitionId"),
                     "/subscriptions/" OTHER_SUB RD "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39");
    ck_assert_str_eq(jstr(body_of(ev, "ra_func_sb_receiver"), "/properties/roleDefinitionId"),
                     "/subscriptions/" OTHER_SUB RD "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0");
    /* the others are in the provider's subscription */
    ck_assert_str_eq(jstr(body_of(ev, "ra_func_kv_secrets"), "/properties/roleDefinitionId"),
                     "/subscriptions/" SUB RD "4633458b-17de-408a-b874-0445c86b69e6");
    /* the provider's spelling of its own subscription, whatever the scope's */
    ck_assert_str_eq(zt_res_role_definition_id(A, "/SUBSCRIPTIONS/" SUB "/resourceGroups/rg",
                                               SUB, "r1"), "/subscriptions/" SUB RD "r1");
    ck_assert_str_eq(zt_res_role_definition_id(A, "/subscriptions/" OTHER_SUB, SUB, "r1"),
                     "/subscriptions/" OTHER_SUB RD "r1");
    /* above subscriptions: the tenant-level form */
    ck_assert_str_eq(zt_res_role_definition_id(A, "/providers/Microsoft.Management/"
                                                  "managementGroups/mg", SUB, "r1"), RD "r1");
    ck_assert_ptr_null(zt_res_role_definition_id(A, NULL, SUB, "r1"));
}
END_TEST

/* Before the identities exist, what depends on their outputs is unknown;
 * names (and so IDs) are known. */
START_TEST(test_plan_unknowns)
{
    zt_comp_eval ev;
    zt_comp_eval_init(&ev, &C, &DEF, S, inputs(BASE_INPUTS), ZT_COMP_PLAN);
    ck_assert_int_eq(zt_comp_eval_subscription(&ev), ZT_OK);
    ck_assert_int_eq(zt_comp_graph_build(&ev), ZT_OK);
    ck_assert(!ev.id_unknown);
    ssize_t i = zt_comp_graph_find(&ev.graph, "key_vault");
    ck_assert_ptr_null(zt_comp_eval_body(&ev, &ev.graph.inst[i]));
    i = zt_comp_graph_find(&ev.graph, "ra_uc_lake");
    ck_assert_ptr_null(zt_comp_eval_body(&ev, &ev.graph.inst[i]));
    ck_assert_ptr_nonnull(zt_comp_id(&ev, "ra_uc_lake"));
    i = zt_comp_graph_find(&ev.graph, "id_uc");
    ck_assert_ptr_nonnull(zt_comp_eval_body(&ev, &ev.graph.inst[i]));
}
END_TEST

START_TEST(test_outputs)
{
    zt_comp_eval *ev = expand(ALL_ON_INPUTS);
    ck_assert_str_eq(output(ev, "workspace_resource_id")->u.str.ptr, DBW_ID);
    ck_assert_str_eq(output(ev, "workspace_id")->u.str.ptr, "1234567890123456");
    ck_assert_str_eq(output(ev, "workspace_url")->u.str.ptr, "adb-1.2.azuredatabricks.net");
    ck_assert_str_eq(output(ev, "managed_resource_group_id")->u.str.ptr,
                     "/subscriptions/" SUB "/resourceGroups/rg-dbx-managed");
    ck_assert_str_eq(output(ev, "access_connector_principal_id")->u.str.ptr,
                     "aaaaaaaa-0000-0000-0000-000000000001");
    ck_assert_str_eq(output(ev, "storage_dfs_endpoint")->u.str.ptr,
                     "https://stdbxlakeweu.dfs.core.windows.net/");
    ck_assert_str_eq(output(ev, "container_registry_login_server")->u.str.ptr, "acrdbxweu.azurecr.io");
    ck_assert_str_eq(zt_cty_map_get(output(ev, "identity_client_ids"), "cicd")->u.str.ptr,
                     "cccccccc-0000-0000-0000-000000000003");
    ck_assert_str_eq(zt_cty_map_get(output(ev, "key_ids"), "storage")->u.str.ptr,
                     KV_ID "/keys/cmk-storage");
    /* endpoint IPs are known once every endpoint has answered */
    ck_assert_ptr_null(output(ev, "private_endpoint_ips"));

    ev = expand(BASE_INPUTS);
    ck_assert(output(ev, "container_registry_id")->is_null);
}
END_TEST

/* ---- validate --------------------------------------------------------------------------- */

START_TEST(test_validate_ok)
{
    ck_assert_int_eq(validate(ALL_ON_INPUTS), ZT_OK);
    ck_assert_uint_eq(D.errors, 0);
}
END_TEST

START_TEST(test_validate_names)
{
    ck_assert_int_eq(validate(BASE_INPUTS ",\"storage_account_name\":\"St-Lake\","
                                          "\"key_vault_name\":\"kv--this-name-is-far-too-long\","
                                          "\"container_registry_name\":\"acr-x\""),
                     ZT_ERR_INVALID);
    tv_expect_error(A, &D, "Invalid storage account name", "storage_account_name", "3 to 24");
    tv_expect_error(A, &D, "Invalid Key Vault name", "key_vault_name", "3 to 24");
    tv_expect_error(A, &D, "Invalid registry name", "container_registry_name", NULL);
    zt_diags_init(&D, A);
    ck_assert_int_eq(validate(BASE_INPUTS ",\"storage_account_name\":\"ab\",\"key_vault_name\":\"1kv\""),
                     ZT_ERR_INVALID);
    tv_expect_error(A, &D, "Invalid storage account name", "storage_account_name", NULL);
    tv_expect_error(A, &D, "Invalid Key Vault name", "key_vault_name", NULL);
    /* names that become URL segments */
    zt_diags_init(&D, A);
    ck_assert_int_eq(validate(BASE_INPUTS ",\"storage_containers\":[\"raw\",\"x/../other\"]"),
                     ZT_ERR_INVALID);
    tv_expect_error(A, &D, "Invalid container name", "storage_containers", "x/../other");
    zt_diags_init(&D, A);
    ck_assert_int_eq(validate(BASE_INPUTS ",\"storage_containers\":[\"a b\",\"ok-1\"]"),
                     ZT_ERR_INVALID);
    tv_expect_error(A, &D, "Invalid container name", "storage_containers", "a b");
}
END_TEST

START_TEST(test_validate_container_names)
{
    ck_assert_int_eq(validate(BASE_INPUTS ",\"storage_containers\":[\"raw\",\"Linux_Disk\",\"a--b\","
                                          "\"ab\",\"unity-catalog\"]"),
                     ZT_ERR_INVALID);
    ck_assert_uint_eq(D.errors, 3);
    tv_expect_error(A, &D, "Invalid container name", "storage_containers", "Linux_Disk");
    zt_diags_init(&D, A);
    ck_assert_int_eq(validate(BASE_INPUTS ",\"storage_containers\":[\"raw\",\"x0-y1\"]"), ZT_OK);
}
END_TEST

START_TEST(test_validate_zero_trust)
{
    ck_assert_int_eq(validate(BASE_INPUTS ",\"public_network_access_enabled\":true,"
                                          "\"shared_key_access_enabled\":true,"
                                          "\"hierarchical_namespace_enabled\":false"),
                     ZT_ERR_INVALID);
    tv_expect_error(A, &D, "Breaks zero trust", "public_network_access_enabled", "private endpoints");
    tv_expect_error(A, &D, "Breaks zero trust", "shared_key_access_enabled", "Entra");
    tv_expect_warning(A, &D, "Not ADLS Gen2", "hierarchical_namespace_enabled", "Unity Catalog");
    /* their zero-trust values are accepted */
    zt_diags_init(&D, A);
    ck_assert_int_eq(validate(BASE_INPUTS ",\"public_network_access_enabled\":false"), ZT_OK);
}
END_TEST

START_TEST(test_validate_tags_ids_zones)
{
    ck_assert_int_eq(
        validate("\"name\":\"analytics\",\"location\":\"West Europe\",\"resource_group_name\":\"rg\","
                 "\"virtual_network_id\":\"vnet-spoke\",\"host_subnet_name\":\"a\","
                 "\"container_subnet_name\":\"a\",\"private_endpoint_subnet_id\":\"" SPOKE "\","
                 "\"private_dns_zone_ids\":{" ZONE("privatelink.vaultcore.azure.net") "},"
                 "\"key_vault_name\":\"kv-x\",\"storage_account_name\":\"stx\","
                 "\"github_subject\":\"contoso/platform\","
                 "\"azure_databricks_principal_id\":\"2ff814a6-3304-4ab8-85cb-cd0e6f879c1\","
                 "\"service_bus_namespace_id\":\"" SPOKE "\","
                 "\"tags\":{\"environment\":\"prod\",\"project\":\"p\",\"owner\":\"\"}"),
        ZT_ERR_INVALID);
    tv_expect_error(A, &D, "Unknown Azure region", "location", NULL);
    tv_expect_error(A, &D, "Missing required tag", "tags", "\"cost-centre\"");
    tv_expect_error(A, &D, "Empty required tag", "tags[\"owner\"]", NULL);
    tv_expect_error(A, &D, "Invalid resource ID", "virtual_network_id", NULL);
    tv_expect_error(A, &D, "Invalid resource ID", "private_endpoint_subnet_id", NULL);
    tv_expect_error(A, &D, "Same subnet twice", "container_subnet_name", NULL);
    tv_expect_error(A, &D, "Invalid GitHub subject", "github_subject", NULL);
    tv_expect_error(A, &D, "Invalid object ID", "azure_databricks_principal_id", "az ad sp show");
    tv_expect_error(A, &D, "Invalid resource ID", "service_bus_namespace_id",
                    "Microsoft.ServiceBus/namespaces");
    tv_expect_error(A, &D, "Missing private DNS zone", "private_dns_zone_ids",
                    "privatelink.azuredatabricks.net");
}
END_TEST

START_TEST(test_validate_unknowns_skipped)
{
    const zt_cty_value *in = inputs(BASE_INPUTS);
    in = zt_comp_set_attr(A, in, "virtual_network_id", zt_cty_unknown(A, &zt_cty_string_type));
    in = zt_comp_set_attr(A, in, "private_dns_zone_ids",
                          zt_cty_unknown(A, zt_cty_type_map(A, &zt_cty_string_type)));
    ck_assert_int_eq(DEF.validate(&C, S, in), ZT_OK);
}
END_TEST

/* ---- plan-time reads of the spoke ------------------------------------------------------- */

static json_t *fake_get(void *getter, const char *arm_id)
{
    return strcasecmp(arm_id, SPOKE) == 0 ? getter : NULL;
}

#define SUBNET(name, prefix, extra)                                                            \
    "{\"name\":\"" name "\",\"properties\":{\"addressPrefix\":\"" prefix "\"" extra "}}"
#define DELEG ",\"delegations\":[{\"properties\":{\"serviceName\":\"Microsoft.Databricks/workspaces\"}}]"
#define NSG ",\"networkSecurityGroup\":{\"id\":\"nsg\"}"
#define SAL(ws)                                                                                \
    ",\"serviceAssociationLinks\":[{\"properties\":{\"linkedResourceType\":"                    \
    "\"Microsoft.Databricks/workspaces\",\"link\":\"" ws "\"}}]"
#define WS_ID(rg, name) "/subscriptions/" SUB "/resourceGroups/" rg "/providers/Microsoft.Databricks/workspaces/" name

static void plan_check(const char *vnet_json)
{
    json_t *vnet = json_loads(vnet_json, 0, NULL);
    ck_assert_ptr_nonnull(vnet);
    DEF.plan_check(&C, inputs(BASE_INPUTS), NULL, fake_get, vnet);
    json_decref(vnet);
}

START_TEST(test_plan_check_spoke)
{
    /* as zerotrust_spoke builds it: nothing to say */
    plan_check("{\"id\":\"" SPOKE "\",\"location\":\"westeurope\",\"properties\":{\"subnets\":["
               SUBNET("snet-dbx-host", "10.1.0.0/24", DELEG NSG) ","
               SUBNET("snet-dbx-container", "10.1.1.0/24", DELEG NSG) ","
               SUBNET("snet-pe", "10.1.2.0/26", "") "]}}");
    ck_assert_uint_eq(D.errors, 0);
    /* only that nothing grants the AzureDatabricks app its key (BASE_INPUTS) */
    ck_assert_uint_eq(D.count, 1);
    ck_assert_str_eq(D.head->summary, "No grant for the AzureDatabricks application");
    ck_assert_int_eq(D.head->severity, ZT_SEV_WARNING);
    /* too small, not delegated, no NSG, a delegated endpoint subnet, another region */
    plan_check("{\"id\":\"" SPOKE "\",\"location\":\"northeurope\",\"properties\":{\"subnets\":["
               SUBNET("snet-dbx-host", "10.1.0.0/27", DELEG NSG) ","
               SUBNET("snet-dbx-container", "10.1.1.0/24", "") ","
               SUBNET("snet-pe", "10.1.2.0/26", DELEG) "]}}");
    tv_expect_error(A, &D, "VNet in another region", "virtual_network_id", "northeurope");
    tv_expect_error(A, &D, "Databricks subnet too small", "host_subnet_name", "/27");
    tv_expect_error(A, &D, "Subnet not delegated to Databricks", "container_subnet_name", NULL);
    tv_expect_error(A, &D, "Subnet without a network security group", "container_subnet_name",
                    NULL);
    tv_expect_error(A, &D, "Delegated subnet", "private_endpoint_subnet_id", NULL);
    ck_assert_uint_eq(D.errors, 5);
}
END_TEST

START_TEST(test_plan_check_spoke_held_or_oversized)
{
    /* a subnet another workspace holds and a VNet wider than /16 */
    plan_check("{\"id\":\"" SPOKE "\",\"location\":\"westeurope\",\"properties\":{"
               "\"addressSpace\":{\"addressPrefixes\":[\"10.0.0.0/15\"]},\"subnets\":["
               SUBNET("snet-dbx-host", "10.1.0.0/24", DELEG NSG SAL(WS_ID("rg-x", "dbw-other"))) ","
               SUBNET("snet-dbx-container", "10.1.1.0/24", DELEG NSG) ","
               SUBNET("snet-pe", "10.1.2.0/26", "") "]}}");
    tv_expect_error(A, &D, "Subnet used by another workspace", "host_subnet_name", "dbw-other");
    tv_expect_error(A, &D, "VNet address space not supported", "virtual_network_id", "10.0.0.0/15");
    ck_assert_uint_eq(D.errors, 2);
    /* the workspace itself, about to be replaced, still holds them: nothing to say */
    zt_diags_init(&D, A);
    plan_check("{\"id\":\"" SPOKE "\",\"location\":\"westeurope\",\"properties\":{\"subnets\":["
               SUBNET("snet-dbx-host", "10.1.0.0/24", DELEG NSG SAL(WS_ID("rg-dbx", "dbw-analytics"))) ","
               SUBNET("snet-dbx-container", "10.1.1.0/24", DELEG NSG) ","
               SUBNET("snet-pe", "10.1.2.0/26", "") "]}}");
    ck_assert_uint_eq(D.errors, 0);
}
END_TEST

START_TEST(test_plan_check_skips_what_it_cannot_read)
{
    DEF.plan_check(&C, inputs(ALL_ON_INPUTS), NULL, fake_get, NULL); /* 404 / read failed */
    ck_assert_uint_eq(D.count, 0);
}
END_TEST

/* ---- enhanced security and compliance ------------------------------------------------- */

START_TEST(test_compliance_settings)
{
    const char *esc = "/properties/enhancedSecurityCompliance";
    json_t *off = body_of(expand(BASE_INPUTS), "workspace");
    ck_assert_str_eq(jstr(off, zt_arena_printf(A, "%s/complianceSecurityProfile/value", esc)),
                     "Disabled");
    ck_assert_ptr_null(zt_comp_json_ptr(off, zt_arena_printf(A, "%s/complianceSecurityProfile/"
                                                                 "complianceStandards", esc)));
    ck_assert_str_eq(jstr(off, zt_arena_printf(A, "%s/automaticClusterUpdate/value", esc)),
                     "Disabled");
    zt_comp_eval *ev = expand(BASE_INPUTS ",\"compliance_security_profile_enabled\":true,"
                              "\"compliance_standards\":[\"HIPAA\"]");
    /* both phases carry it: phase two must not undo it */
    for (int i = 0; i < 2; i++) {
        json_t *b = body_of(ev, i ? "workspace_cmk" : "workspace");
        ck_assert_str_eq(jstr(b, zt_arena_printf(A, "%s/complianceSecurityProfile/value", esc)),
                         "Enabled");
        ck_assert_str_eq(jstr(b, zt_arena_printf(A, "%s/complianceSecurityProfile/"
                                                    "complianceStandards/0", esc)), "HIPAA");
        ck_assert_str_eq(jstr(b, zt_arena_printf(A, "%s/enhancedSecurityMonitoring/value", esc)),
                         "Enabled");
        ck_assert_str_eq(jstr(b, zt_arena_printf(A, "%s/automaticClusterUpdate/value", esc)),
                         "Enabled");
    }
    ck_assert_int_ne(validate(BASE_INPUTS ",\"compliance_security_profile_enabled\":true,"
                              "\"automatic_cluster_update_enabled\":false,"
                              "\"compliance_standards\":[\"SOC2\"]"), ZT_OK);
    tv_expect_error(A, &D, "Required by the compliance security profile",
                    "automatic_cluster_update_enabled", NULL);
    tv_expect_error(A, &D, "Unknown compliance standard", "compliance_standards", "HIPAA");
    zt_diags_init(&D, A);
    ck_assert_int_ne(validate(BASE_INPUTS ",\"compliance_standards\":[\"HIPAA\"]"), ZT_OK);
    tv_expect_error(A, &D, "Standards without the compliance security profile",
                    "compliance_standards", NULL);
}
END_TEST

/* ---- body dump for the validator ---------------------------------------------------- */

START_TEST(test_dump_bodies)
{
    static const char *const sets[] = {
        BASE_INPUTS,
        ALL_ON_INPUTS,
        BASE_INPUTS ",\"compliance_security_profile_enabled\":true,"
                    "\"compliance_standards\":[\"HIPAA\",\"PCI_DSS\"]",
    };
    zt_test_res_dump_bodies(sets, ZT_ARRAY_LEN(sets));
}
END_TEST

START_TEST(test_schema_defaults_match_code)
{
    expect_defaults_match_code(BASE_INPUTS);
    expect_defaults_match_code(ALL_ON_INPUTS);
}
END_TEST

int main(int argc, char **argv)
{
    const TTest *const tests[] = {
        test_definition_passes_engine_checks,
        test_schema_defaults_match_code,
        test_expand_defaults,
        test_expand_options,
        test_bodies,
        test_role_definitions_in_the_scope_subscription,
        test_plan_unknowns,
        test_outputs,
        test_validate_ok,
        test_validate_names,
        test_validate_container_names,
        test_validate_zero_trust,
        test_validate_tags_ids_zones,
        test_validate_unknowns_skipped,
        test_plan_check_spoke,
        test_plan_check_spoke_held_or_oversized,
        test_plan_check_skips_what_it_cannot_read,
        test_compliance_settings,
    };
    return zt_test_res_main(argc, argv, "workspace", test_dump_bodies, tests, ZT_ARRAY_LEN(tests));
}
