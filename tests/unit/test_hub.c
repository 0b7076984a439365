/* Unit tests for zerotrust_hub (provider/resources/zt_hub.c): the node
 * table expanded by the real engine for default inputs and with options
 * toggled, IDs, outputs, the validate hook's diagnostics with attribute
 * paths, and import from canned ARM GET bodies.
 *
 * `test_hub --dump-bodies FILE` writes every node's PUT body (default
 * inputs, then every option on) as an emulator request log, which
 * tests/unit/check_bodies.py validates against azure-specs. */
#define ZT_TEST_RES_DEF zt_composite_hub
#define ZT_TEST_RES_TYPE "zerotrust_hub"
#include "zt_test_res.h"
#include "zt_test_values.h"

#define TENANT "11111111-2222-3333-4444-555555555555"
#define WS                                                                              \
    "/subscriptions/" SUB "/resourceGroups/rg-ops/providers/Microsoft.OperationalInsights/" \
    "workspaces/law-ops"
#define RG_ID "/subscriptions/" SUB "/resourceGroups/rg-hub"
#define NET RG_ID "/providers/Microsoft.Network"
#define VNET_ID NET "/virtualNetworks/vnet-weu"

/* ---- inputs ---------------------------------------------------------------- */

#define BASE_INPUTS                                                                      \
    "\"name\":\"weu\",\"location\":\"westeurope\",\"resource_group_name\":\"rg-hub\","   \
    "\"address_space\":\"10.100.0.0/22\",\"tags\":{\"environment\":\"prod\","            \
    "\"project\":\"dataplatform\",\"owner\":\"platform-team\",\"cost-centre\":\"cc-1234\"}"

#define ALL_ON_INPUTS                                                                      \
    BASE_INPUTS ",\"log_analytics_workspace_id\":\"" WS "\",\"firewall_sku_tier\":\"Standard\"," \
    "\"vpn_gateway\":{\"client_address_pool\":\"172.16.201.0/24\",\"tenant_id\":\"" TENANT "\"}"

static const char *id_of(zt_comp_eval *ev, const char *key)
{
    return zt_comp_id(ev, key);
}

/* The seven default zones, in the design's order. */
#define ZONE_KEYS(k)                                                                    \
    k "[privatelink.azuredatabricks.net] " k "[privatelink.blob.core.windows.net] " k   \
      "[privatelink.dfs.core.windows.net] " k "[privatelink.vaultcore.azure.net] " k    \
      "[privatelink.azurecr.io] " k "[privatelink.azurewebsites.net] " k                \
      "[privatelink.servicebus.windows.net]"

/* ---- the node table ---------------------------------------------------------------- */

START_TEST(test_expand_defaults)
{
    zt_comp_eval *ev = expand(BASE_INPUTS);
    ck_assert_str_eq(keys(ev), "route_table_gateway vnet pip_firewall pip_firewall_mgmt pip_bastion "
                               "firewall_policy firewall_rules firewall bastion dns_resolver "
                               "dns_resolver_inbound " ZONE_KEYS("zone") " " ZONE_KEYS("zone_link"));
    ck_assert_str_eq(id_of(ev, "vnet"), VNET_ID);
    ck_assert_str_eq(id_of(ev, "firewall_rules"),
                     NET "/firewallPolicies/afwp-weu/ruleCollectionGroups/hub-platform");
    ck_assert_str_eq(id_of(ev, "zone_link[privatelink.blob.core.windows.net]"),
                     NET "/privateDnsZones/privatelink.blob.core.windows.net/virtualNetworkLinks/"
                         "link-vnet-weu");
    ck_assert_str_eq(id_of(ev, "dns_resolver_inbound"),
                     NET "/dnsResolvers/dnspr-weu/inboundEndpoints/inbound");
    ck_assert_ptr_null(id_of(ev, "vpn_gateway"));

    /* the firewall waits for its subnet, IPs, policy and rules */
    ssize_t fw = zt_comp_graph_find(&ev->graph, "firewall");
    ck_assert_uint_eq(ev->graph.inst[fw].n_deps, 5);
}
END_TEST

START_TEST(test_expand_options_toggled)
{
    zt_comp_eval *ev = expand(ALL_ON_INPUTS ",\"bastion_enabled\":false,"
                              "\"dns_resolver_enabled\":false,"
                              "\"private_dns_zones\":[\"privatelink.vaultcore.azure.net\","
                              "\"privatelink.postgres.database.azure.com\"]");
    ck_assert_str_eq(keys(ev), "route_table_gateway vnet pip_firewall pip_firewall_mgmt pip_gateway "
                               "firewall_policy firewall_rules firewall vpn_gateway "
                               "zone[privatelink.postgres.database.azure.com] "
                               "zone[privatelink.vaultcore.azure.net] "
                               "zone_link[privatelink.postgres.database.azure.com] "
                               "zone_link[privatelink.vaultcore.azure.net] "
                               "diag_firewall diag_vpn_gateway diag_pip_firewall "
                               "diag_pip_firewall_mgmt diag_pip_gateway");
    ck_assert_str_eq(id_of(ev, "diag_firewall"),
                     NET "/azureFirewalls/afw-weu/providers/Microsoft.Insights/diagnosticSettings/"
                         "zerotrust-law");

    /* a vpn_gateway block with enabled = false builds no gateway */
    ev = expand(BASE_INPUTS ",\"vpn_gateway\":{\"enabled\":false}");
    ck_assert_int_lt(zt_comp_graph_find(&ev->graph, "vpn_gateway"), 0);
    ck_assert_int_lt(zt_comp_graph_find(&ev->graph, "pip_gateway"), 0);
}
END_TEST

START_TEST(test_bodies_follow_inputs)
{
    zt_comp_eval *ev = expand(BASE_INPUTS);
    json_t *vnet = body_of(ev, "vnet");
    ck_assert_str_eq(jstr(vnet, "/properties/addressSpace/addressPrefixes/0"), "10.100.0.0/22");
    ck_assert_uint_eq(json_array_size(zt_comp_json_ptr(vnet, "/properties/subnets")), 6);
    /* subnets come from the address planner's hub layout */
    ck_assert_str_eq(jstr(vnet, "/properties/subnets/0/name"), "AzureFirewallSubnet");
    ck_assert_str_eq(jstr(vnet, "/properties/subnets/0/properties/addressPrefix"), "10.100.0.0/26");
    ck_assert_str_eq(jstr(vnet, "/properties/subnets/3/properties/routeTable/id"),
                     NET "/routeTables/rt-weu-gateway");
    ck_assert_str_eq(jstr(vnet, "/properties/subnets/4/properties/delegations/0/properties/"
                                "serviceName"),
                     "Microsoft.Network/dnsResolvers");
    ck_assert_str_eq(jstr(vnet, "/tags/cost-centre"), "cc-1234");

    json_t *pol = body_of(ev, "firewall_policy");
    ck_assert_str_eq(jstr(pol, "/properties/sku/tier"), "Premium");
    ck_assert_str_eq(jstr(pol, "/properties/threatIntelMode"), "Deny");
    ck_assert(json_is_true(zt_comp_json_ptr(pol, "/properties/dnsSettings/enableProxy")));
    ck_assert_str_eq(jstr(pol, "/properties/intrusionDetection/mode"), "Deny");

    json_t *fw = body_of(ev, "firewall");
    ck_assert_str_eq(jstr(fw, "/properties/managementIpConfiguration/properties/subnet/id"),
                     VNET_ID "/subnets/AzureFirewallManagementSubnet");
    ck_assert_str_eq(jstr(fw, "/properties/firewallPolicy/id"), NET "/firewallPolicies/afwp-weu");
    ck_assert_str_eq(jstr(body_of(ev, "zone[privatelink.azurecr.io]"), "/location"), "global");

    /* Standard tier: no IDPS (Premium only) */
    ev = expand(ALL_ON_INPUTS);
    pol = body_of(ev, "firewall_policy");
    ck_assert_ptr_null(zt_comp_json_ptr(pol, "/properties/intrusionDetection"));
    json_t *gw = body_of(ev, "vpn_gateway");
    ck_assert_str_eq(jstr(gw, "/properties/vpnClientConfiguration/aadTenant"),
                     "https://login.microsoftonline.com/" TENANT "/");
    ck_assert_str_eq(jstr(gw, "/properties/vpnClientConfiguration/vpnClientProtocols/0"), "OpenVPN");
    ck_assert_str_eq(jstr(body_of(ev, "diag_firewall"), "/properties/workspaceId"), WS);

    /* no zones in a region without availability zones */
    ev = expand(BASE_INPUTS ",\"zones\":[]");
    ck_assert_ptr_null(zt_comp_json_ptr(body_of(ev, "pip_firewall"), "/zones"));
}
END_TEST

/* Unknown inputs at plan: bodies that need them are unknown (NULL). */
START_TEST(test_unknown_inputs)
{
    const zt_cty_value *in = inputs(BASE_INPUTS);
    in = zt_comp_set_attr(A, in, "address_space", zt_cty_unknown(A, &zt_cty_string_type));
    zt_comp_eval ev;
    zt_comp_eval_init(&ev, &C, &zt_composite_hub, S, in, ZT_COMP_PLAN);
    ck_assert_int_eq(zt_comp_eval_subscription(&ev), ZT_OK);
    ck_assert_int_eq(zt_comp_graph_build(&ev), ZT_OK);
    ssize_t i = zt_comp_graph_find(&ev.graph, "vnet");
    ck_assert_ptr_null(zt_comp_eval_body(&ev, &ev.graph.inst[i]));
    i = zt_comp_graph_find(&ev.graph, "firewall_policy");
    ck_assert_ptr_nonnull(zt_comp_eval_body(&ev, &ev.graph.inst[i]));

    /* a workspace created in the same apply: the settings are planned */
    in = zt_comp_set_attr(A, inputs(BASE_INPUTS), "log_analytics_workspace_id",
                          zt_cty_unknown(A, &zt_cty_string_type));
    zt_comp_eval_init(&ev, &C, &zt_composite_hub, S, in, ZT_COMP_PLAN);
    ck_assert_int_eq(zt_comp_eval_subscription(&ev), ZT_OK);
    ck_assert_int_eq(zt_comp_graph_build(&ev), ZT_OK);
    i = zt_comp_graph_find(&ev.graph, "diag_firewall");
    ck_assert_int_ge(i, 0);
    ck_assert_ptr_null(zt_comp_eval_body(&ev, &ev.graph.inst[i]));
}
END_TEST

/* ---- outputs ------------------------------------------------------------------------- */

START_TEST(test_outputs)
{
    zt_comp_eval *ev = expand(BASE_INPUTS);
    ck_assert_ptr_null(output(ev, "firewall_private_ip")); /* not known before ARM said */
    zt_comp_rec *r = zt_comp_priv_put(A, &ev->priv, "firewall");
    r->exists = true;
    r->outputs = json_pack("{s:{s:[{s:{s:s}}]}}", "properties", "ipConfigurations", "properties",
                           "privateIPAddress", "10.100.0.4");
    zt_arena_on_free(A, (void (*)(void *))json_decref, r->outputs);
    ck_assert_str_eq(output(ev, "firewall_private_ip")->u.str.ptr, "10.100.0.4");
    ck_assert_str_eq(output(ev, "virtual_network_id")->u.str.ptr, VNET_ID);
    ck_assert_str_eq(zt_cty_map_get(output(ev, "subnet_ids"), "GatewaySubnet")->u.str.ptr,
                     VNET_ID "/subnets/GatewaySubnet");
    ck_assert_str_eq(zt_cty_map_get(output(ev, "subnet_cidrs"), "dns-resolver-inbound")->u.str.ptr,
                     "10.100.0.224/28");
    ck_assert_uint_eq(output(ev, "private_dns_zone_ids")->u.coll.n, 7);
    ck_assert(!output(ev, "gateway_enabled")->u.b);
    ck_assert(output(ev, "gateway_id")->is_null);
    ck_assert_str_eq(output(ev, "gateway_route_table_id")->u.str.ptr,
                     NET "/routeTables/rt-weu-gateway");
}
END_TEST

/* ---- validate hook ------------------------------------------------------------------ */

START_TEST(test_validate_ok)
{
    ck_assert_int_eq(validate(ALL_ON_INPUTS), ZT_OK);
    ck_assert_uint_eq(D.errors, 0);
}
END_TEST

START_TEST(test_validate_missing_tag)
{
    ck_assert_int_eq(validate("\"name\":\"weu\",\"location\":\"westeurope\","
                              "\"resource_group_name\":\"rg\",\"address_space\":\"10.0.0.0/22\","
                              "\"tags\":{\"environment\":\"prod\",\"project\":\"p\","
                              "\"cost-centre\":\"\"}"),
                     ZT_ERR_INVALID);
    tv_expect_error(A, &D, "Missing required tag", "tags", "\"owner\"");
    tv_expect_error(A, &D, "Empty required tag", "tags[\"cost-centre\"]", NULL);
    /* tag names without case, as Azure and its policies compare them */
    zt_diags_init(&D, A);
    ck_assert_int_eq(validate("\"name\":\"weu\",\"location\":\"westeurope\","
                              "\"resource_group_name\":\"rg\",\"address_space\":\"10.0.0.0/22\","
                              "\"tags\":{\"Environment\":\"prod\",\"PROJECT\":\"p\","
                              "\"Owner\":\"o\",\"Cost-Centre\":\"\"}"),
                     ZT_ERR_INVALID);
    ck_assert_uint_eq(D.errors, 1);
    tv_expect_error(A, &D, "Empty required tag", "tags[\"Cost-Centre\"]", NULL);
}
END_TEST

START_TEST(test_validate_region)
{
    ck_assert_int_eq(validate(BASE_INPUTS ",\"location\":\"West Europe\""), ZT_ERR_INVALID);
    tv_expect_error(A, &D, "Unknown Azure region", "location", "westeurope");

    /* the provider's allowed_locations */
    static const char *allowed[] = {"northeurope", "swedencentral"};
    P.config.allowed_locations = allowed;
    P.config.n_allowed_locations = 2;
    zt_diags_init(&D, A);
    ck_assert_int_eq(validate(BASE_INPUTS), ZT_ERR_INVALID);
    tv_expect_error(A, &D, "Region not allowed", "location", "swedencentral");
}
END_TEST

START_TEST(test_validate_address_space_too_small)
{
    ck_assert_int_eq(validate(BASE_INPUTS ",\"address_space\":\"10.0.0.0/27\""), ZT_ERR_INVALID);
    ck_assert_uint_ge(D.errors, 1);
    ck_assert_str_eq(zt_path_str(A, D.head->path), "address_space");

    zt_diags_init(&D, A);
    ck_assert_int_eq(validate(BASE_INPUTS ",\"address_space\":\"20.0.0.0/22\""), ZT_OK);
    tv_expect_warning(A, &D, "Public address space", "address_space", "20.0.0.0/22");
}
END_TEST

START_TEST(test_validate_skus)
{
    ck_assert_int_eq(validate(BASE_INPUTS ",\"firewall_sku_tier\":\"Basic\",\"bastion_sku\":"
                                          "\"Developer\",\"zones\":[\"4\"]"),
                     ZT_ERR_INVALID);
    tv_expect_error(A, &D, "Unsupported SKU", "firewall_sku_tier", "\"Premium\"");
    tv_expect_error(A, &D, "Unsupported SKU", "bastion_sku", "Developer");
    tv_expect_error(A, &D, "Invalid availability zone", "zones[0]", NULL);
}
END_TEST

START_TEST(test_validate_vpn_only_when_enabled)
{
    ck_assert_int_eq(validate(BASE_INPUTS ",\"zones\":[],\"vpn_gateway\":{\"sku\":\"VpnGw9\","
                                          "\"client_address_pool\":\"10.100.1.0/24\","
                                          "\"tenant_id\":\"nope\"}"),
                     ZT_ERR_INVALID);
    tv_expect_error(A, &D, "Unsupported SKU", "vpn_gateway.sku", "VpnGw2AZ");
    tv_expect_error(A, &D, "Client address pool overlaps the hub",
                    "vpn_gateway.client_address_pool", "10.100.0.0/22");
    tv_expect_error(A, &D, "Invalid tenant ID", "vpn_gateway.tenant_id", NULL);

    zt_diags_init(&D, A);
    ck_assert_int_eq(validate(BASE_INPUTS ",\"vpn_gateway\":{}"), ZT_ERR_INVALID);
    tv_expect_error(A, &D, "Missing tenant", "vpn_gateway.tenant_id", NULL);
    tv_expect_error(A, &D, "Missing client address pool", "vpn_gateway.client_address_pool", NULL);

    /* disabled: its settings are not checked */
    zt_diags_init(&D, A);
    ck_assert_int_eq(validate(BASE_INPUTS ",\"vpn_gateway\":{\"enabled\":false,\"sku\":\"x\"}"),
                     ZT_OK);
}
END_TEST

START_TEST(test_validate_unknowns_skipped)
{
    const zt_cty_value *in = inputs(BASE_INPUTS);
    in = zt_comp_set_attr(A, in, "address_space", zt_cty_unknown(A, &zt_cty_string_type));
    in = zt_comp_set_attr(A, in, "location", zt_cty_unknown(A, &zt_cty_string_type));
    ck_assert_int_eq(zt_composite_hub.validate(&C, S, in), ZT_OK);
}
END_TEST

/* ---- import ------------------------------------------------------------------------ */

static const canned *g_canned;

#define LINK(zone) {NET "/privateDnsZones/" zone "/virtualNetworkLinks/link-vnet-weu", "{}"}
/* What makes a VNet a hub's: the firewall subnet, and the firewall in it. */
#define HUB_SUBNETS "\"subnets\":[{\"name\":\"AzureFirewallSubnet\"},{\"name\":\"GatewaySubnet\"}]"
#define FW_IPCONFIG "\"ipConfigurations\":[{\"properties\":{\"subnet\":{\"id\":\"" VNET_ID \
                    "/subnets/AzureFirewallSubnet\"}}}]"

static const canned zt_hub_world[] = {
    {VNET_ID, "{\"location\":\"westeurope\",\"tags\":{\"environment\":\"prod\",\"owner\":\"me\"},"
              "\"properties\":{\"addressSpace\":{\"addressPrefixes\":[\"10.100.0.0/22\"]},"
              HUB_SUBNETS "}}"},
    {NET "/firewallPolicies/afwp-weu", "{\"properties\":{\"sku\":{\"tier\":\"Standard\"}}}"},
    {NET "/azureFirewalls/afw-weu", "{\"zones\":[\"1\",\"2\",\"3\"],\"properties\":{" FW_IPCONFIG "}}"},
    {NET "/azureFirewalls/afw-weu/providers/Microsoft.Insights/diagnosticSettings/zerotrust-law",
     "{\"properties\":{\"workspaceId\":\"" WS "\"}}"},
    {NET "/virtualNetworkGateways/vgw-weu",
     "{\"properties\":{\"sku\":{\"name\":\"VpnGw2AZ\"},\"vpnClientConfiguration\":{"
     "\"vpnClientAddressPool\":{\"addressPrefixes\":[\"172.16.201.0/24\"]},"
     "\"aadTenant\":\"https://login.microsoftonline.com/" TENANT "/\","
     "\"aadAudience\":\"c632b3df-fb67-4d84-bdcf-b95ad541b5c8\"}}}"},
    {NET "/dnsResolvers/dnspr-weu", "{}"},
    {NET "/privateDnsZones", "{\"value\":[{\"name\":\"privatelink.blob.core.windows.net\"},"
                             "{\"name\":\"contoso.internal\"},{\"name\":\"unlinked.example\"}]}"},
    LINK("privatelink.blob.core.windows.net"),
    LINK("privatelink.vaultcore.azure.net"),
    LINK("contoso.internal"),
    {NULL, NULL},
};

static const canned zt_hub_default_world[] = {
    {VNET_ID, "{\"location\":\"westeurope\",\"tags\":{},\"properties\":{\"addressSpace\":"
              "{\"addressPrefixes\":[\"10.100.0.0/22\"]}," HUB_SUBNETS "}}"},
    {NET "/firewallPolicies/afwp-weu", "{\"properties\":{\"sku\":{\"tier\":\"Premium\"}}}"},
    {NET "/azureFirewalls/afw-weu", "{\"zones\":[\"1\",\"2\",\"3\"],\"properties\":{" FW_IPCONFIG "}}"},
    {NET "/bastionHosts/bas-weu", "{\"sku\":{\"name\":\"Standard\"}}"},
    {NET "/dnsResolvers/dnspr-weu", "{}"},
    LINK("privatelink.azuredatabricks.net"),
    LINK("privatelink.blob.core.windows.net"),
    LINK("privatelink.dfs.core.windows.net"),
    LINK("privatelink.vaultcore.azure.net"),
    LINK("privatelink.azurecr.io"),
    LINK("privatelink.azurewebsites.net"),
    LINK("privatelink.servicebus.windows.net"),
    {NULL, NULL},
};

static const zt_cty_value *import(const char *id)
{
    const zt_cty_value *v = NULL;
    ck_assert_int_eq(zt_composite_hub.import(&C, S, id, canned_get, (void *)g_canned, &v), ZT_OK);
    ck_assert_ptr_nonnull(v);
    return v;
}

START_TEST(test_import_options)
{
    g_canned = zt_hub_world;
    const zt_cty_value *v = import(VNET_ID);
    ck_assert_str_eq(attr_str(v, "name"), "weu");
    ck_assert_str_eq(attr_str(v, "resource_group_name"), "rg-hub");
    ck_assert_str_eq(attr_str(v, "location"), "westeurope");
    ck_assert_str_eq(attr_str(v, "address_space"), "10.100.0.0/22");
    ck_assert_str_eq(zt_cty_map_get(zt_cty_get_attr(v, "tags"), "owner")->u.str.ptr, "me");
    ck_assert_str_eq(attr_str(v, "firewall_sku_tier"), "Standard");
    ck_assert_uint_eq(zt_cty_get_attr(v, "zones")->u.coll.n, 3);
    ck_assert(!zt_cty_get_attr(v, "bastion_enabled")->u.b);
    ck_assert(zt_cty_get_attr(v, "bastion_sku")->is_null); /* no Bastion to read it from */
    ck_assert(zt_cty_get_attr(v, "dns_resolver_enabled")->u.b);
    ck_assert_str_eq(attr_str(v, "log_analytics_workspace_id"), WS);
    const zt_cty_value *vpn = zt_cty_get_attr(v, "vpn_gateway");
    ck_assert(!vpn->is_null);
    ck_assert_str_eq(attr_str(vpn, "tenant_id"), TENANT);
    ck_assert_str_eq(attr_str(vpn, "client_address_pool"), "172.16.201.0/24");
    ck_assert_str_eq(attr_str(vpn, "sku"), "VpnGw2AZ");
    ck_assert_str_eq(attr_str(vpn, "audience"), "c632b3df-fb67-4d84-bdcf-b95ad541b5c8");
    ck_assert(zt_cty_get_attr(vpn, "enabled")->u.b);
    const zt_cty_value *zones = zt_cty_get_attr(v, "private_dns_zones");
    ck_assert_uint_eq(zones->u.coll.n, 3);
    ck_assert_str_eq(zones->u.coll.elems[0]->u.str.ptr, "contoso.internal");
    ck_assert(zt_cty_get_attr(v, "id")->is_null); /* the engine's */
    ck_assert_uint_eq(D.errors, 0);
}
END_TEST

/* A hub as created with the defaults (lower-case ID segments, as ARM
 * accepts them): the values Azure holds, absent services off. */
START_TEST(test_import_defaults)
{
    g_canned = zt_hub_default_world;
    const zt_cty_value *v = import("/subscriptions/" SUB "/resourcegroups/rg-hub/providers/"
                                   "microsoft.network/virtualnetworks/vnet-weu");
    ck_assert_str_eq(attr_str(v, "firewall_sku_tier"), "Premium");
    ck_assert(zt_cty_get_attr(v, "bastion_enabled")->u.b);
    ck_assert_str_eq(attr_str(v, "bastion_sku"), "Standard");
    ck_assert(zt_cty_get_attr(v, "vpn_gateway")->is_null);
    ck_assert_uint_eq(zt_cty_get_attr(v, "private_dns_zones")->u.coll.n, 7);
    ck_assert(zt_cty_get_attr(v, "log_analytics_workspace_id")->is_null);
    ck_assert_uint_eq(zt_cty_get_attr(v, "zones")->u.coll.n, 3);
}
END_TEST

START_TEST(test_import_errors)
{
    g_canned = zt_hub_world;
    const zt_cty_value *v = NULL;
    ck_assert_int_eq(zt_composite_hub.import(&C, S, NET "/virtualNetworks/other", canned_get,
                                             NULL, &v),
                     ZT_ERR_INVALID);
    tv_expect_error(A, &D, "Not a zerotrust_hub VNet", "", "vnet-<name>");
    ck_assert_int_eq(zt_composite_hub.import(&C, S, NET "/virtualNetworks/vnet-gone", canned_get,
                                             NULL, &v),
                     ZT_ERR_INVALID);
    tv_expect_error(A, &D, "Hub not found", "", NULL);
    ck_assert_int_eq(zt_composite_hub.import(&C, S, "/subscriptions/x/nope", canned_get,
                                             (void *)g_canned, &v),
                     ZT_ERR_INVALID);
    tv_expect_error(A, &D, "Invalid import ID", "", NULL);
    /* a spoke's VNet (named vnet-<x> too): no firewall subnet, no firewall */
    static const canned spoke[] = {
        {NET "/virtualNetworks/vnet-analytics", "{\"location\":\"westeurope\",\"properties\":{"
         "\"subnets\":[{\"name\":\"databricks-host\"}]}}"},
        {NULL, NULL},
    };
    ck_assert_int_eq(zt_composite_hub.import(&C, S, NET "/virtualNetworks/vnet-analytics",
                                             canned_get, (void *)spoke, &v),
                     ZT_ERR_INVALID);
    tv_expect_error(A, &D, "Not a zerotrust_hub VNet", "", "no AzureFirewallSubnet");
    /* the subnet, but no firewall of the hub in it */
    static const canned bare[] = {
        {VNET_ID, "{\"location\":\"westeurope\",\"properties\":{" HUB_SUBNETS "}}"},
        {NULL, NULL},
    };
    ck_assert_int_eq(zt_composite_hub.import(&C, S, VNET_ID, canned_get, (void *)bare, &v),
                     ZT_ERR_INVALID);
    tv_expect_error(A, &D, "Not a zerotrust_hub VNet", "", "no firewall afw-weu");
}
END_TEST

/* ---- body dump for the validator ---------------------------------------------------- */

/* Check's asserts work only inside a test, so the dump is one. */
START_TEST(test_dump_bodies)
{
    static const char *const sets[] = {
        BASE_INPUTS,   /* the defaults */
        ALL_ON_INPUTS, /* every optional node and the Standard tier */
        BASE_INPUTS ",\"zones\":[],\"bastion_sku\":\"Basic\",\"vpn_gateway\":{\"sku\":"
                    "\"VpnGw1\",\"client_address_pool\":\"172.16.0.0/24\",\"tenant_id\":\""
                    TENANT "\"}",
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
        test_expand_options_toggled,
        test_bodies_follow_inputs,
        test_unknown_inputs,
        test_outputs,
        test_validate_ok,
        test_validate_missing_tag,
        test_validate_region,
        test_validate_address_space_too_small,
        test_validate_skus,
        test_validate_vpn_only_when_enabled,
        test_validate_unknowns_skipped,
        test_import_options,
        test_import_defaults,
        test_import_errors,
    };
    return zt_test_res_main(argc, argv, "hub", test_dump_bodies, tests, ZT_ARRAY_LEN(tests));
}
