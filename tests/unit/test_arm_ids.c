/* Unit tests for resource IDs, api-versions (against MANIFEST.md),
 * serialization keys and cloud endpoints. */
#include "zt_arm_internal.h"

#include "zt_test.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUB "/subscriptions/00000000-0000-0000-0000-000000000001"
#define RG SUB "/resourceGroups/rg-hub"
#define VNET RG "/providers/Microsoft.Network/virtualNetworks/vnet-hub"

START_TEST(test_resource_types)
{
    zt_arena *a = zt_arena_new();
    struct {
        const char *id, *type;
    } cases[] = {
        {VNET, "Microsoft.Network/virtualNetworks"},
        {VNET "/subnets/snet-a", "Microsoft.Network/virtualNetworks/subnets"},
        {VNET "/virtualNetworkPeerings/p1", "Microsoft.Network/virtualNetworks/virtualNetworkPeerings"},
        {RG, "Microsoft.Resources/resourceGroups"},
        {RG "/", "Microsoft.Resources/resourceGroups"},
        {SUB, "Microsoft.Resources/subscriptions"},
        {SUB "/providers/Microsoft.Databricks", "Microsoft.Resources/providers"},
        {SUB "/providers/Microsoft.Databricks/register", "Microsoft.Resources/providers"},
        {SUB "/providers/Microsoft.Consumption/budgets/b1", "Microsoft.Consumption/budgets"},
        {VNET "/providers/Microsoft.Authorization/roleAssignments/0000-1",
         "Microsoft.Authorization/roleAssignments"},
        {RG "/providers/Microsoft.Network/privateDnsZones/privatelink.azuredatabricks.net/A/ws1",
         "Microsoft.Network/privateDnsZones/A"},
        /* a collection (list) and an action keep their last segment */
        {RG "/providers/Microsoft.Network/virtualNetworks", "Microsoft.Network/virtualNetworks"},
        {VNET "/subnets", "Microsoft.Network/virtualNetworks/subnets"},
        {RG "/providers/Microsoft.Storage/storageAccounts/sa/listKeys",
         "Microsoft.Storage/storageAccounts/listKeys"},
        {VNET "?api-version=x", "Microsoft.Network/virtualNetworks"},
    };
    for (size_t i = 0; i < ZT_ARRAY_LEN(cases); i++)
        ck_assert_str_eq(zt_arm_resource_type(a, cases[i].id), cases[i].type);
    ck_assert_ptr_null(zt_arm_resource_type(a, "vnet-hub"));
    ck_assert_ptr_null(zt_arm_resource_type(a, "/foo/bar"));
    ck_assert_ptr_null(zt_arm_resource_type(a, NULL));
    zt_arena_free(a);
}
END_TEST

START_TEST(test_api_versions)
{
    ck_assert_str_eq(zt_arm_api_version("Microsoft.Network/virtualNetworks"), "2025-09-01");
    ck_assert_str_eq(zt_arm_api_version("microsoft.network/VIRTUALNETWORKS/subnets"), "2025-09-01");
    ck_assert_str_eq(zt_arm_api_version("Microsoft.Network/privateDnsZones/A"), "2024-06-01");
    ck_assert_str_eq(zt_arm_api_version("Microsoft.Network/networkSecurityGroups/securityRules"), "2025-09-01");
    ck_assert_str_eq(zt_arm_api_version("Microsoft.Storage/storageAccounts/listKeys"), "2026-04-01");
    ck_assert_str_eq(zt_arm_api_version("Microsoft.Resources/resourceGroups"), "2025-04-01");
    ck_assert_str_eq(zt_arm_api_version("Microsoft.Resources/providers"), "2021-04-01");
    ck_assert_str_eq(zt_arm_api_version("Microsoft.Databricks/workspaces"), "2026-01-01");
    ck_assert_str_eq(zt_arm_api_version("Microsoft.Insights/diagnosticSettings"), "2021-05-01-preview");
    ck_assert_ptr_null(zt_arm_api_version("Microsoft.Network/unknownThings"));
    ck_assert_ptr_null(zt_arm_api_version("Microsoft.Compute/virtualMachines"));
    ck_assert_ptr_null(zt_arm_api_version("Microsoft.Network"));
    ck_assert_ptr_null(zt_arm_api_version(NULL));
}
END_TEST

START_TEST(test_tracked_types)
{
    ck_assert(zt_arm_type_tracked("Microsoft.Network/virtualNetworks"));
    ck_assert(zt_arm_type_tracked("microsoft.keyvault/VAULTS"));
    ck_assert(!zt_arm_type_tracked("Microsoft.Network/virtualNetworks/subnets"));
    ck_assert(!zt_arm_type_tracked("Microsoft.Authorization/policyAssignments"));
    ck_assert(!zt_arm_type_tracked("Microsoft.Compute/virtualMachines"));
    ck_assert(!zt_arm_type_tracked(NULL));
}
END_TEST

/* Every row of the vendored MANIFEST.md (third_party/azure-specs) must be
 * what the table says; meson passes its path. */
START_TEST(test_table_mirrors_manifest)
{
    const char *path = getenv("ZT_AZURE_SPECS_MANIFEST");
    ck_assert_msg(path != NULL, "ZT_AZURE_SPECS_MANIFEST is not set (run through meson test)");
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    char line[1024];
    char manifest[4096] = "";  /* "|type@version|" for each row */
    int rows = 0;
    while (fgets(line, sizeof(line), f)) {
        char type[256], version[64];
        if (sscanf(line, "| %255[A-Za-z./] | %63[0-9a-z-] |", type, version) != 2)
            continue;
        if (strncmp(type, "Microsoft.", 10) != 0)
            continue;
        rows++;
        size_t used = strlen(manifest);
        snprintf(manifest + used, sizeof(manifest) - used, "|%s@%s|", type, version);
        const char *have = zt_arm_api_version(type);
        ck_assert_msg(have != NULL, "%s is missing from the api-version table", type);
        /* diagnosticSettings is listed twice; we pick the preview (see the table) */
        if (strcmp(type, "Microsoft.Insights/diagnosticSettings") != 0)
            ck_assert_msg(strcmp(have, version) == 0, "%s: table has %s, MANIFEST %s", type, have,
                          version);
    }
    fclose(f);
    ck_assert_int_gt(rows, 30);
    ck_assert_uint_lt(strlen(manifest), sizeof(manifest) - 1);
    /* and the other way: every row of the table is a row of the manifest */
    const char *type, *version;
    for (size_t i = 0; zt_arm_api_version_row(i, &type, &version); i++) {
        if (strcmp(type, "Microsoft.Resources/providers") == 0)
            continue; /* registration, not a resource type */
        char row[400];
        snprintf(row, sizeof(row), "|%s@%s|", type, version);
        ck_assert_msg(strstr(manifest, row) != NULL, "%s %s is not in MANIFEST.md", type, version);
    }
}
END_TEST

START_TEST(test_serial_keys)
{
    zt_arena *a = zt_arena_new();
    const char *vnet = zt_arm_serial_key(a, VNET, NULL);
    ck_assert_ptr_nonnull(vnet);
    ck_assert_str_eq(vnet, "vnet:/subscriptions/00000000-0000-0000-0000-000000000001/resourcegroups/rg-hub/providers/microsoft.network/virtualnetworks/vnet-hub");
    /* a VNet, its subnets and peerings: one key, whatever the casing */
    ck_assert_str_eq(zt_arm_serial_key(a, VNET "/subnets/snet-a", NULL), vnet);
    ck_assert_str_eq(zt_arm_serial_key(a, VNET "/subnets/snet-b", NULL), vnet);
    ck_assert_str_eq(zt_arm_serial_key(a, VNET "/virtualNetworkPeerings/to-spoke", NULL), vnet);
    ck_assert_str_eq(zt_arm_serial_key(a, SUB "/resourcegroups/RG-HUB/providers/microsoft.network/VirtualNetworks/VNET-HUB/Subnets/x", NULL), vnet);
    ck_assert_str_ne(zt_arm_serial_key(a, RG "/providers/Microsoft.Network/virtualNetworks/vnet-spoke/subnets/a", NULL), vnet);

    const char *pol = RG "/providers/Microsoft.Network/firewallPolicies/fwp";
    ck_assert_str_eq(zt_arm_serial_key(a, zt_arena_printf(a, "%s/ruleCollectionGroups/dbx", pol), NULL),
                     zt_arm_serial_key(a, pol, NULL));
    ck_assert_str_eq(zt_arm_serial_key(a, zt_arena_printf(a, "%s/ruleCollectionGroups/a", pol), NULL),
                     zt_arm_serial_key(a, zt_arena_printf(a, "%s/ruleCollectionGroups/b", pol), NULL));
    const char *rt = RG "/providers/Microsoft.Network/routeTables/rt";
    ck_assert_str_eq(zt_arm_serial_key(a, zt_arena_printf(a, "%s/routes/default", rt), NULL),
                     zt_arm_serial_key(a, rt, NULL));
    const char *uami = RG "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-dbx";
    const char *fic = zt_arm_serial_key(a, zt_arena_printf(a, "%s/federatedIdentityCredentials/gh", uami), NULL);
    ck_assert_ptr_nonnull(fic);
    ck_assert_ptr_nonnull(strstr(fic, "identity:"));
    ck_assert_ptr_nonnull(strstr(fic, "/useras"));
    ck_assert_str_eq(fic, zt_arm_serial_key(a, zt_arena_printf(a, "%s/federatedIdentityCredentials/ado", uami), NULL));
    /* different scopes never share a key */
    ck_assert_str_ne(zt_arm_serial_key(a, rt, NULL), zt_arm_serial_key(a, pol, NULL));

    /* types that need no serialization */
    ck_assert_ptr_null(zt_arm_serial_key(a, uami, NULL));
    ck_assert_ptr_null(zt_arm_serial_key(a, RG "/providers/Microsoft.Storage/storageAccounts/sa", NULL));
    ck_assert_ptr_null(zt_arm_serial_key(a, RG, NULL));
    ck_assert_ptr_null(zt_arm_serial_key(a, "garbage", NULL));
    ck_assert_ptr_null(zt_arm_serial_key(a, NULL, NULL));
    /* an explicit type is honoured */
    ck_assert_str_eq(zt_arm_serial_key(a, VNET "/subnets/s", "Microsoft.Network/virtualNetworks/subnets"), vnet);
    zt_arena_free(a);
}
END_TEST

static zt_rc resolve(zt_arena *a, zt_provider_config *cfg, zt_arm_cloud *out, size_t *errors)
{
    zt_diags d;
    zt_diags_init(&d, a);
    zt_rc rc = zt_arm_cloud_resolve(a, cfg, &d, out);
    *errors = d.errors;
    return rc;
}

START_TEST(test_clouds)
{
    unsetenv("AZURE_AUTHORITY_HOST");
    zt_arena *a = zt_arena_new();
    zt_arm_cloud c;
    size_t errors;
    zt_provider_config cfg = {0};
    ck_assert_int_eq(resolve(a, &cfg, &c, &errors), ZT_OK);
    ck_assert_str_eq(c.name, "public");
    ck_assert_str_eq(c.authority_host, "https://login.microsoftonline.com");
    ck_assert_str_eq(c.resource_manager, "https://management.azure.com");
    ck_assert_str_eq(c.scope, "https://management.azure.com/.default");
    ck_assert_str_eq(c.audience, "https://management.azure.com/");

    cfg.environment = "usgovernment";
    ck_assert_int_eq(resolve(a, &cfg, &c, &errors), ZT_OK);
    ck_assert_str_eq(c.authority_host, "https://login.microsoftonline.us");
    ck_assert_str_eq(c.resource_manager, "https://management.usgovcloudapi.net");
    ck_assert_str_eq(c.scope, "https://management.usgovcloudapi.net/.default");

    cfg.environment = "China";
    ck_assert_int_eq(resolve(a, &cfg, &c, &errors), ZT_OK);
    ck_assert_str_eq(c.authority_host, "https://login.chinacloudapi.cn");
    ck_assert_str_eq(c.resource_manager, "https://management.chinacloudapi.cn");
    ck_assert_str_eq(c.scope, "https://management.chinacloudapi.cn/.default");

    /* an emulator standing in for public ARM: endpoints move, audience stays */
    cfg.environment = "public";
    cfg.resource_manager_endpoint = "https://127.0.0.1:8443/";
    cfg.authority_host = "https://127.0.0.1:8443/login/";
    ck_assert_int_eq(resolve(a, &cfg, &c, &errors), ZT_OK);
    ck_assert_str_eq(c.resource_manager, "https://127.0.0.1:8443");
    ck_assert_str_eq(c.authority_host, "https://127.0.0.1:8443/login");
    ck_assert_str_eq(c.scope, "https://management.azure.com/.default");

    cfg.environment = "custom";
    ck_assert_int_eq(resolve(a, &cfg, &c, &errors), ZT_OK);
    ck_assert_str_eq(c.scope, "https://127.0.0.1:8443/.default");

    cfg.authority_host = NULL;
    ck_assert_int_eq(resolve(a, &cfg, &c, &errors), ZT_ERR_INVALID);
    ck_assert_uint_eq(errors, 1);
    cfg.environment = "mars";
    ck_assert_int_eq(resolve(a, &cfg, &c, &errors), ZT_ERR_INVALID);
    /* tokens never travel over plain HTTP */
    cfg.environment = "public";
    cfg.resource_manager_endpoint = "http://127.0.0.1:8080";
    ck_assert_int_eq(resolve(a, &cfg, &c, &errors), ZT_ERR_INVALID);

    setenv("AZURE_AUTHORITY_HOST", "https://login.example/", 1);
    cfg.resource_manager_endpoint = NULL;
    ck_assert_int_eq(resolve(a, &cfg, &c, &errors), ZT_OK);
    ck_assert_str_eq(c.authority_host, "https://login.example");
    unsetenv("AZURE_AUTHORITY_HOST");
    zt_arena_free(a);
}
END_TEST

START_TEST(test_subscription_of)
{
    zt_arena *a = zt_arena_new();
    ck_assert_str_eq(zt_arm_subscription_of(a, VNET), "00000000-0000-0000-0000-000000000001");
    ck_assert_str_eq(zt_arm_subscription_of(a, "/Subscriptions/ABC/resourceGroups/x"), "abc");
    ck_assert_str_eq(zt_arm_subscription_of(a, "https://h/subscriptions/s1?x=1"), "s1");
    ck_assert_str_eq(zt_arm_subscription_of(a, "/providers/Microsoft.Foo"), "");
    zt_arena_free(a);
}
END_TEST

/* Names in IDs never change which resource a request reaches. */
START_TEST(test_url_paths)
{
    zt_arena *a = zt_arena_new();
    const char *why;
    ck_assert_str_eq(zt_arm_url_path(a, VNET, &why), VNET);
    ck_assert_str_eq(zt_arm_url_path(a, "/subscriptions/s/resourceGroups/rg (x)_1.a", &why),
                     "/subscriptions/s/resourceGroups/rg%20(x)_1.a");
    ck_assert_str_eq(zt_arm_url_path(a, "/a/caf\xC3\xA9/b\\c\"", &why), "/a/caf%C3%A9/b%5Cc%22");
    static const char *const bad[] = {
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/x/../y",
        "/subscriptions/s/resourceGroups/./x", "/subscriptions//x", "/subscriptions/s/",
        "/subscriptions/s?api-version=1", "/subscriptions/s#frag", "/subscriptions/%2e%2e",
        "/subscriptions/a\nb", "subscriptions/s", "",
    };
    for (size_t i = 0; i < ZT_ARRAY_LEN(bad); i++) {
        ck_assert_msg(zt_arm_url_path(a, bad[i], &why) == NULL, "accepted %s", bad[i]);
        ck_assert_ptr_nonnull(why);
    }
    zt_arena_free(a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("arm_ids");
    TCase *tc = tcase_create("ids");
    tcase_add_test(tc, test_resource_types);
    tcase_add_test(tc, test_api_versions);
    tcase_add_test(tc, test_tracked_types);
    tcase_add_test(tc, test_table_mirrors_manifest);
    tcase_add_test(tc, test_serial_keys);
    tcase_add_test(tc, test_clouds);
    tcase_add_test(tc, test_subscription_of);
    tcase_add_test(tc, test_url_paths);
    suite_add_tcase(s, tc);
    return zt_test_run(s);
}
