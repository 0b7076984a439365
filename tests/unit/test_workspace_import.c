/* Unit tests for the import of zerotrust_databricks_private_workspace
 * (provider/resources/zt_workspace_import.c) from canned ARM GET bodies:
 * every option found, defaults left null, nextLink pages followed, and the
 * diagnostics for IDs that are not a workspace's. The e2e counterpart
 * (tests/e2e/test_workspace_import.py) checks the plan after a real import. */
#define ZT_TEST_RES_DEF zt_composite_databricks_private_workspace
#define ZT_TEST_RES_TYPE "zerotrust_databricks_private_workspace"
#include "zt_test_res.h"
#include "zt_test_values.h"

#define RG_ID "/subscriptions/" SUB "/resourceGroups/rg-dbx"
#define HUB_NET "/subscriptions/" SUB "/resourceGroups/rg-hub/providers/Microsoft.Network"
#define NET RG_ID "/providers/Microsoft.Network"
#define WS_ID RG_ID "/providers/Microsoft.Databricks/workspaces/dbw-lake"
#define UAMI RG_ID "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-lake-"
#define KV_ID RG_ID "/providers/Microsoft.KeyVault/vaults/kv-lake"
#define SA_ID RG_ID "/providers/Microsoft.Storage/storageAccounts/stlake"
#define VNET "/subscriptions/" SUB "/resourceGroups/rg-spoke/providers/Microsoft.Network/" \
             "virtualNetworks/vnet-analytics"
#define PE_SUBNET VNET "/subnets/private-endpoints"
#define ZONE(z) HUB_NET "/privateDnsZones/" z
#define SB_ID "/subscriptions/" SUB "/resourceGroups/rg-bus/providers/Microsoft.ServiceBus/" \
              "namespaces/sb-1"
#define RA_LIST "/providers/Microsoft.Authorization/roleAssignments"
#define ROLE(g) "\"/subscriptions/" SUB "/providers/Microsoft.Authorization/roleDefinitions/" g "\""
#define NEXT "https://management.azure.com/subscriptions/" SUB RA_LIST "?page=2"

#define WS_PARAMS                                                                               \
    "\"parameters\":{\"customVirtualNetworkId\":{\"value\":\"" VNET "\"},"                       \
    "\"customPublicSubnetName\":{\"value\":\"databricks-host\"},"                                \
    "\"customPrivateSubnetName\":{\"value\":\"databricks-container\"},"                          \
    "\"requireInfrastructureEncryption\":{\"value\":false}}"

/* Every option on. */
static const canned ws_world[] = {
    {WS_ID, "{\"location\":\"westeurope\",\"tags\":{\"owner\":\"me\"},\"properties\":{" WS_PARAMS
            ",\"managedResourceGroupId\":\"/subscriptions/" SUB "/resourceGroups/rg-managed\","
            "\"storageAccountIdentity\":{\"principalId\":\"p-storage\"},"
            "\"managedDiskIdentity\":{\"principalId\":\"p-disk\"},"
            "\"encryption\":{\"entities\":{\"managedServices\":{\"keyVaultProperties\":{"
            "\"keyVaultUri\":\"https://kv-lake.vault.azure.net/\"}}}},"
            "\"enhancedSecurityCompliance\":{\"complianceSecurityProfile\":{\"value\":\"Enabled\","
            "\"complianceStandards\":[\"HIPAA\",\"PCI_DSS\"]},\"enhancedSecurityMonitoring\":{"
            "\"value\":\"Enabled\"},\"automaticClusterUpdate\":{\"value\":\"Disabled\"}}}}"},
    {UAMI "uc", "{\"properties\":{\"principalId\":\"p-uc\"}}"},
    {UAMI "func", "{\"properties\":{\"principalId\":\"p-func\"}}"},
    {UAMI "cicd/federatedIdentityCredentials/github-actions",
     "{\"properties\":{\"subject\":\"repo:contoso/platform:ref:refs/heads/main\"}}"},
    {RG_ID "/providers/Microsoft.Storage/storageAccounts",
     "{\"value\":[{\"id\":\"" RG_ID "/providers/Microsoft.Storage/storageAccounts/other\"},"
     "{\"id\":\"" SA_ID "\",\"identity\":{\"userAssignedIdentities\":{\"" UAMI "UC\":{}}},"
     "\"properties\":{\"isHnsEnabled\":false}}]}"},
    {SA_ID "/blobServices/default/containers",
     "{\"value\":[{\"name\":\"raw\"},{\"name\":\"gold\"}]}"},
    {NET "/privateEndpoints/pe-kv-lake-vault", "{\"properties\":{\"subnet\":{\"id\":\"" PE_SUBNET
                                              "\"}}}"},
    {NET "/privateEndpoints/pe-kv-lake-vault/privateDnsZoneGroups/default",
     "{\"properties\":{\"privateDnsZoneConfigs\":[{\"properties\":{\"privateDnsZoneId\":\""
     ZONE("privatelink.vaultcore.azure.net") "\"}}]}}"},
    {HUB_NET "/privateDnsZones",
     "{\"value\":[{\"name\":\"privatelink.vaultcore.azure.net\",\"id\":\""
     ZONE("privatelink.vaultcore.azure.net") "\"},{\"name\":\"privatelink.azurecr.io\",\"id\":\""
     ZONE("privatelink.azurecr.io") "\"}]}"},
    {NET "/privateEndpoints",
     "{\"value\":[{\"properties\":{\"subnet\":{\"id\":\"" PE_SUBNET "\"},"
     "\"privateLinkServiceConnections\":[{\"properties\":{\"privateLinkServiceId\":\"" KV_ID "\"}}]}},"
     "{\"properties\":{\"subnet\":{\"id\":\"" PE_SUBNET "\"},"
     "\"privateLinkServiceConnections\":[{\"properties\":{\"privateLinkServiceId\":\"" RG_ID
     "/providers/Microsoft.ContainerRegistry/registries/acrlake\"}}]}}]}"},
    {NET "/privateEndpoints/pe-dbw-lake-browser_authentication", "{}"},
    {WS_ID "/providers/Microsoft.Insights/diagnosticSettings/zerotrust-law",
     "{\"properties\":{\"workspaceId\":\"/law\"}}"},
    {KV_ID "/keys/cmk-databricks" RA_LIST,
     "{\"value\":["
     "{\"properties\":{\"principalId\":\"p-storage\",\"roleDefinitionId\":"
     ROLE("e147488a-f6f5-4113-8e2d-b22465e65bf6") ",\"scope\":\"" KV_ID "/keys/cmk-databricks\"}},"
     "{\"properties\":{\"principalId\":\"p-inherited\",\"roleDefinitionId\":"
     ROLE("e147488a-f6f5-4113-8e2d-b22465e65bf6") ",\"scope\":\"" RG_ID "\"}},"
     "{\"properties\":{\"principalId\":\"p-disk\",\"roleDefinitionId\":"
     ROLE("e147488a-f6f5-4113-8e2d-b22465e65bf6") ",\"scope\":\"" KV_ID "/keys/cmk-databricks\"}},"
     "{\"properties\":{\"principalId\":\"p-dbx-app\",\"roleDefinitionId\":"
     ROLE("e147488a-f6f5-4113-8e2d-b22465e65bf6") ",\"scope\":\"" KV_ID "/keys/cmk-databricks\"}}]}"},
    /* the Functions identity's sender grant on the second page */
    {"/subscriptions/" SUB RA_LIST,
     "{\"value\":[{\"properties\":{\"principalId\":\"p-func\",\"roleDefinitionId\":"
     ROLE("4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0") ",\"scope\":\"" SB_ID "\"}}],"
     "\"nextLink\":\"" NEXT "\"}"},
    {NEXT, "{\"value\":[{\"properties\":{\"principalId\":\"p-func\",\"roleDefinitionId\":"
           ROLE("69a216fc-b8fb-44d8-bc22-1f3c2cd27a39") ",\"scope\":\"" SB_ID "\"}}]}"},
    {NULL, NULL},
};

START_TEST(test_import_options)
{
    const zt_cty_value *v = NULL;
    ck_assert_int_eq(ZT_TEST_RES_DEF.import(&C, S, WS_ID, canned_get, (void *)ws_world, &v), ZT_OK);
    ck_assert_uint_eq(D.errors, 0);
    ck_assert_str_eq(attr_str(v, "name"), "lake");
    ck_assert_str_eq(attr_str(v, "resource_group_name"), "rg-dbx");
    ck_assert_str_eq(attr_str(v, "location"), "westeurope");
    ck_assert_str_eq(attr_str(v, "virtual_network_id"), VNET);
    ck_assert_str_eq(attr_str(v, "host_subnet_name"), "databricks-host");
    ck_assert_str_eq(attr_str(v, "container_subnet_name"), "databricks-container");
    ck_assert_str_eq(attr_str(v, "managed_resource_group_name"), "rg-managed");
    ck_assert(!zt_cty_get_attr(v, "infrastructure_encryption_enabled")->u.b);
    ck_assert(!zt_cty_get_attr(v, "infrastructure_encryption_enabled")->is_null);
    ck_assert_str_eq(attr_str(v, "key_vault_name"), "kv-lake");
    ck_assert_str_eq(attr_str(v, "storage_account_name"), "stlake");
    ck_assert(!zt_cty_get_attr(v, "hierarchical_namespace_enabled")->is_null);
    ck_assert_uint_eq(zt_cty_get_attr(v, "storage_containers")->u.coll.n, 2);
    ck_assert_str_eq(attr_str(v, "private_endpoint_subnet_id"), PE_SUBNET);
    ck_assert_uint_eq(zt_cty_get_attr(v, "private_dns_zone_ids")->u.coll.n, 2);
    ck_assert_str_eq(attr_str(v, "container_registry_name"), "acrlake");
    ck_assert(zt_cty_get_attr(v, "browser_authentication_enabled")->u.b);
    ck_assert_str_eq(attr_str(v, "github_subject"), "repo:contoso/platform:ref:refs/heads/main");
    ck_assert_str_eq(attr_str(v, "log_analytics_workspace_id"), "/law");
    ck_assert_str_eq(attr_str(v, "azure_databricks_principal_id"), "p-dbx-app");
    ck_assert_str_eq(attr_str(v, "service_bus_namespace_id"), SB_ID);
    ck_assert(zt_cty_get_attr(v, "public_network_access_enabled")->is_null);
    ck_assert_str_eq(zt_cty_map_get(zt_cty_get_attr(v, "tags"), "owner")->u.str.ptr, "me");
    /* the compliance profile on; monitoring follows it (null), updates off */
    ck_assert(zt_cty_get_attr(v, "compliance_security_profile_enabled")->u.b);
    ck_assert(zt_cty_get_attr(v, "enhanced_security_monitoring_enabled")->is_null);
    ck_assert(!zt_cty_get_attr(v, "automatic_cluster_update_enabled")->u.b);
    ck_assert(!zt_cty_get_attr(v, "automatic_cluster_update_enabled")->is_null);
    ck_assert_uint_eq(zt_cty_get_attr(v, "compliance_standards")->u.coll.n, 2);
}
END_TEST

/* Nothing optional in Azure; the vault is found by its key when the
 * workspace has no CMK yet. */
static const canned ws_defaults[] = {
    {WS_ID, "{\"location\":\"westeurope\",\"properties\":{\"parameters\":{"
            "\"requireInfrastructureEncryption\":{\"value\":true}},"
            "\"managedResourceGroupId\":\"/subscriptions/" SUB "/resourceGroups/RG-lake-dbx-managed\"}}"},
    {UAMI "uc", "{}"},
    {RG_ID "/providers/Microsoft.KeyVault/vaults",
     "{\"value\":[{\"id\":\"" RG_ID "/providers/Microsoft.KeyVault/vaults/kv-other\"},"
     "{\"id\":\"" KV_ID "\"}]}"},
    {KV_ID "/keys/cmk-databricks", "{}"},
    {RG_ID "/providers/Microsoft.Storage/storageAccounts",
     "{\"value\":[{\"id\":\"" SA_ID "\",\"identity\":{\"userAssignedIdentities\":{\"" UAMI
     "uc\":{}}},\"properties\":{\"isHnsEnabled\":true}}]}"},
    {SA_ID "/blobServices/default/containers",
     "{\"value\":[{\"name\":\"unity-catalog\"},{\"name\":\"raw\"},{\"name\":\"curated\"}]}"},
    {NULL, NULL},
};

START_TEST(test_import_defaults)
{
    const zt_cty_value *v = NULL;
    ck_assert_int_eq(ZT_TEST_RES_DEF.import(&C, S, WS_ID, canned_get, (void *)ws_defaults, &v),
                     ZT_OK);
    ck_assert_uint_eq(D.errors, 0);
    ck_assert_str_eq(attr_str(v, "key_vault_name"), "kv-lake");
    ck_assert_str_eq(attr_str(v, "storage_account_name"), "stlake");
    /* what Azure holds, defaults included */
    ck_assert(zt_cty_get_attr(v, "infrastructure_encryption_enabled")->u.b);
    ck_assert(zt_cty_get_attr(v, "hierarchical_namespace_enabled")->u.b);
    ck_assert(!zt_cty_get_attr(v, "browser_authentication_enabled")->u.b);
    ck_assert_uint_eq(zt_cty_get_attr(v, "storage_containers")->u.coll.n, 3);
    /* the default managed group in another case: null, for the engine to
     * fill with the default's spelling */
    static const char *const nulls[] = {
        "managed_resource_group_name", "container_registry_name", "log_analytics_workspace_id",
        "azure_databricks_principal_id", "service_bus_namespace_id", "timeouts",
        "compliance_security_profile_enabled", "compliance_standards",
        "enhanced_security_monitoring_enabled", "automatic_cluster_update_enabled"};
    for (size_t i = 0; i < ZT_ARRAY_LEN(nulls); i++)
        ck_assert_msg(zt_cty_get_attr(v, nulls[i])->is_null, "%s not null", nulls[i]);
    v = zt_schema_defaults(A, S->block, NULL, v);
    ck_assert_str_eq(attr_str(v, "managed_resource_group_name"), "rg-lake-dbx-managed");
}
END_TEST

START_TEST(test_import_errors)
{
    static const char *const invalid[] = {
        NET "/virtualNetworks/vnet-lake",
        WS_ID "/",
        WS_ID "/privateEndpointConnections/x",
        "/subscriptions/" SUB "/resourceGroups//providers/Microsoft.Databricks/workspaces/dbw-lake",
        "dbw-lake",
        "",
    };
    const zt_cty_value *v = NULL;
    for (size_t i = 0; i < ZT_ARRAY_LEN(invalid); i++) {
        ck_assert_int_eq(ZT_TEST_RES_DEF.import(&C, S, invalid[i], canned_get, (void *)ws_world,
                                                &v),
                         ZT_ERR_INVALID);
        ck_assert_uint_eq(D.errors, i + 1); /* one diagnostic each */
        tv_expect_error(A, &D, "Invalid import ID", "", invalid[i]);
    }
    ck_assert_int_eq(ZT_TEST_RES_DEF.import(&C, S, RG_ID "/providers/Microsoft.Databricks/"
                                                  "workspaces/lake", canned_get, (void *)ws_world, &v),
                     ZT_ERR_INVALID);
    tv_expect_error(A, &D, "Not a zerotrust_databricks_private_workspace", "", "dbw-<name>");
    ck_assert_int_eq(ZT_TEST_RES_DEF.import(&C, S, RG_ID "/providers/Microsoft.Databricks/"
                                                  "workspaces/dbw-gone", canned_get, (void *)ws_world, &v),
                     ZT_ERR_INVALID);
    tv_expect_error(A, &D, "Workspace not found", "", "dbw-gone");
    static const canned foreign[] = {{WS_ID, "{}"}, {NULL, NULL}};
    ck_assert_int_eq(ZT_TEST_RES_DEF.import(&C, S, WS_ID, canned_get, (void *)foreign, &v),
                     ZT_ERR_INVALID);
    tv_expect_error(A, &D, "Not a zerotrust_databricks_private_workspace", "", "id-lake-uc");
    ck_assert_uint_eq(D.errors, ZT_ARRAY_LEN(invalid) + 3);
    /* ARM's segment names are case-insensitive */
    ck_assert_int_eq(ZT_TEST_RES_DEF.import(&C, S, "/SUBSCRIPTIONS/" SUB "/resourcegroups/rg-dbx/"
                                                  "PROVIDERS/microsoft.databricks/Workspaces/dbw-lake",
                                            canned_get, (void *)ws_world, &v),
                     ZT_OK);
    ck_assert_str_eq(attr_str(v, "name"), "lake");
    ck_assert_uint_eq(D.errors, ZT_ARRAY_LEN(invalid) + 3);
}
END_TEST

int main(int argc, char **argv)
{
    const TTest *const tests[] = {
        test_definition_passes_engine_checks,
        test_import_options,
        test_import_defaults,
        test_import_errors,
    };
    return zt_test_res_main(argc, argv, "workspace_import", test_import_options, tests,
                            ZT_ARRAY_LEN(tests));
}
