/* Unit tests for zerotrust_spoke (provider/resources/zt_spoke.c): the node
 * table expanded by the real engine, hub-side IDs, bodies, unknown hub
 * outputs at plan, outputs, and the validate hook's diagnostics with
 * attribute paths (overlap with the hub, NAT + firewall route, sizes,
 * tags, priority, DNS mode) and import from canned ARM GET bodies.
 *
 * `test_spoke --dump-bodies FILE` writes every node's PUT body for several
 * input sets as an emulator request log; tests/unit/check_bodies.py
 * validates them against azure-specs. */
#define ZT_TEST_RES_DEF zt_composite_spoke
#define ZT_TEST_RES_TYPE "zerotrust_spoke"
#include "zt_test_res.h"
#include "zt_res.h"
#include "zt_test_values.h"


#define HUB_NET "/subscriptions/" SUB "/resourceGroups/rg-hub/providers/Microsoft.Network"
#define HUB_VNET HUB_NET "/virtualNetworks/vnet-weu"
#define HUB_POLICY HUB_NET "/firewallPolicies/afwp-weu"
#define HUB_RT HUB_NET "/routeTables/rt-weu-gateway"
#define ZONE(z) HUB_NET "/privateDnsZones/" z
#define NET "/subscriptions/" SUB "/resourceGroups/rg-spoke/providers/Microsoft.Network"
#define VNET_ID NET "/virtualNetworks/vnet-analytics"

#define TAGS                                                                              \
    "\"tags\":{\"environment\":\"prod\",\"project\":\"dataplatform\",\"owner\":\"platform\"," \
    "\"cost-centre\":\"cc-1234\"}"

#define BASE_INPUTS                                                                        \
    "\"name\":\"analytics\",\"location\":\"westeurope\",\"resource_group_name\":\"rg-spoke\"," \
    "\"address_space\":\"10.1.0.0/16\",\"hub_virtual_network_id\":\"" HUB_VNET "\","                  \
    "\"hub_address_space\":\"10.100.0.0/22\",\"hub_firewall_private_ip\":\"10.100.0.4\","   \
    "\"hub_firewall_policy_id\":\"" HUB_POLICY "\",\"hub_gateway_route_table_id\":\"" HUB_RT \
    "\",\"hub_private_dns_zone_ids\":{\"privatelink.azuredatabricks.net\":\""              \
    ZONE("privatelink.azuredatabricks.net") "\",\"privatelink.blob.core.windows.net\":\""  \
    ZONE("privatelink.blob.core.windows.net") "\"},\"firewall_rule_priority\":200," TAGS

/* The subnet object of the VNet body by name. */
static json_t *subnet(json_t *vnet, const char *name)
{
    json_t *sns = zt_comp_json_ptr(vnet, "/properties/subnets"), *sn;
    size_t i;
    json_array_foreach(sns, i, sn)
    {
        if (strcmp(json_string_value(json_object_get(sn, "name")), name) == 0)
            return json_object_get(sn, "properties");
    }
    ck_abort_msg("no subnet %s", name);
    return NULL;
}

/* ---- the node table ---------------------------------------------------------------- */

START_TEST(test_expand_defaults)
{
    zt_comp_eval *ev = expand(BASE_INPUTS);
    ck_assert_str_eq(keys(ev), "nsg_databricks_host nsg_databricks_container nsg_private_endpoints "
                               "nsg_functions route_table vnet hub_peering peering "
                               "zone_link[privatelink.azuredatabricks.net] "
                               "zone_link[privatelink.blob.core.windows.net] firewall_rules "
                               "hub_route");
    ck_assert_str_eq(zt_comp_id(ev, "vnet"), VNET_ID);
    ck_assert_str_eq(zt_comp_id(ev, "nsg_databricks_host"),
                     NET "/networkSecurityGroups/nsg-analytics-dbw-host");
    /* hub-side children live under the hub's resources */
    ck_assert_str_eq(zt_comp_id(ev, "hub_peering"),
                     HUB_VNET "/virtualNetworkPeerings/peer-hub-to-analytics");
    ck_assert_str_eq(zt_comp_id(ev, "peering"), VNET_ID "/virtualNetworkPeerings/peer-to-hub");
    /* the spoke's collections in the group its name hashes to */
    ck_assert_str_eq(zt_comp_id(ev, "firewall_rules"),
                     HUB_POLICY "/ruleCollectionGroups/spokes-3#spoke-analytics-network,"
                                "spoke-analytics-application");
    ck_assert_str_eq(zt_comp_id(ev, "hub_route"), HUB_RT "/routes/spoke-analytics");
    ck_assert_str_eq(zt_comp_id(ev, "zone_link[privatelink.blob.core.windows.net]"),
                     ZONE("privatelink.blob.core.windows.net") "/virtualNetworkLinks/"
                                                               "link-vnet-analytics");
    /* hub-side writes share the hub's serialization scopes */
    zt_arena *a = A;
    ck_assert_str_eq(zt_arm_serial_key(a, zt_comp_id(ev, "firewall_rules"), NULL),
                     zt_arm_serial_key(a, HUB_POLICY, NULL));
    ck_assert_str_eq(zt_arm_serial_key(a, zt_comp_id(ev, "hub_route"), NULL),
                     zt_arm_serial_key(a, HUB_RT, NULL));
    ck_assert_str_eq(zt_arm_serial_key(a, zt_comp_id(ev, "hub_peering"), NULL),
                     zt_arm_serial_key(a, HUB_VNET, NULL));
    /* the spoke->hub peering waits for the hub side */
    ssize_t p = zt_comp_graph_find(&ev->graph, "peering");
    ck_assert_uint_eq(ev->graph.inst[p].n_deps, 2);
}
END_TEST

START_TEST(test_expand_options)
{
    zt_comp_eval *ev = expand(BASE_INPUTS ",\"dns_mode\":\"firewall\","
                              "\"firewall_egress_subnets\":[\"functions\"],"
                              "\"nat_gateway_subnets\":[\"databricks-host\","
                              "\"databricks-container\"]");
    ck_assert_str_eq(keys(ev), "nsg_databricks_host nsg_databricks_container nsg_private_endpoints "
                               "nsg_functions route_table pip_nat nat_gateway vnet hub_peering "
                               "peering firewall_rules hub_route");
    json_t *vnet = body_of(ev, "vnet");
    ck_assert_str_eq(jstr(vnet, "/properties/dhcpOptions/dnsServers/0"), "10.100.0.4");
    ck_assert_str_eq(jstr(subnet(vnet, "databricks-host"), "/natGateway/id"),
                     NET "/natGateways/ng-analytics");
    ck_assert_ptr_null(json_object_get(subnet(vnet, "databricks-host"), "routeTable"));
    ck_assert_ptr_null(json_object_get(subnet(vnet, "functions"), "natGateway"));
    ck_assert_str_eq(jstr(subnet(vnet, "functions"), "/routeTable/id"), NET "/routeTables/rt-analytics");

    ev = expand(BASE_INPUTS ",\"dns_mode\":\"resolver\",\"hub_resolver_inbound_ip\":\"10.100.0.228\"");
    ck_assert_int_lt(zt_comp_graph_find(&ev->graph, "zone_link[privatelink.blob.core.windows.net]"), 0);
    ck_assert_str_eq(jstr(body_of(ev, "vnet"), "/properties/dhcpOptions/dnsServers/0"),
                     "10.100.0.228");
}
END_TEST

START_TEST(test_bodies_follow_inputs)
{
    zt_comp_eval *ev = expand(BASE_INPUTS);
    json_t *vnet = body_of(ev, "vnet");
    ck_assert_str_eq(jstr(vnet, "/properties/addressSpace/addressPrefixes/0"), "10.1.0.0/16");
    ck_assert_uint_eq(json_array_size(zt_comp_json_ptr(vnet, "/properties/subnets")), 4);
    ck_assert_ptr_null(zt_comp_json_ptr(vnet, "/properties/dhcpOptions"));
    /* the planner's spoke layout */
    json_t *host = subnet(vnet, "databricks-host");
    ck_assert_str_eq(jstr(host, "/addressPrefix"), "10.1.0.0/18");
    ck_assert_str_eq(jstr(subnet(vnet, "databricks-container"), "/addressPrefix"), "10.1.64.0/18");
    ck_assert_str_eq(jstr(subnet(vnet, "private-endpoints"), "/addressPrefix"), "10.1.128.0/24");
    ck_assert_str_eq(jstr(subnet(vnet, "functions"), "/addressPrefix"), "10.1.129.0/26");
    ck_assert_str_eq(jstr(host, "/delegations/0/properties/serviceName"),
                     "Microsoft.Databricks/workspaces");
    ck_assert_str_eq(jstr(host, "/networkSecurityGroup/id"),
                     NET "/networkSecurityGroups/nsg-analytics-dbw-host");
    ck_assert_str_eq(jstr(host, "/routeTable/id"), NET "/routeTables/rt-analytics");
    ck_assert_str_eq(jstr(subnet(vnet, "functions"), "/delegations/0/properties/serviceName"),
                     "Microsoft.Web/serverFarms");
    ck_assert_ptr_null(json_object_get(subnet(vnet, "private-endpoints"), "routeTable"));
    ck_assert_ptr_null(json_object_get(subnet(vnet, "private-endpoints"), "delegations"));

    json_t *rt = body_of(ev, "route_table");
    ck_assert(json_is_true(zt_comp_json_ptr(rt, "/properties/disableBgpRoutePropagation")));
    ck_assert_str_eq(jstr(rt, "/properties/routes/0/properties/addressPrefix"), "0.0.0.0/0");
    ck_assert_str_eq(jstr(rt, "/properties/routes/0/properties/nextHopIpAddress"), "10.100.0.4");

    json_t *p = body_of(ev, "peering");
    ck_assert_str_eq(jstr(p, "/properties/remoteVirtualNetwork/id"), HUB_VNET);
    ck_assert(json_is_true(zt_comp_json_ptr(p, "/properties/allowForwardedTraffic")));
    ck_assert(json_is_false(zt_comp_json_ptr(p, "/properties/useRemoteGateways")));
    json_t *hp = body_of(ev, "hub_peering");
    ck_assert_str_eq(jstr(hp, "/properties/remoteVirtualNetwork/id"), VNET_ID);
    ck_assert(json_is_false(zt_comp_json_ptr(hp, "/properties/allowGatewayTransit")));

    json_t *route = body_of(ev, "hub_route");
    ck_assert_str_eq(jstr(route, "/properties/addressPrefix"), "10.1.0.0/16");
    ck_assert_str_eq(jstr(route, "/properties/nextHopType"), "VirtualAppliance");
    ck_assert_str_eq(jstr(route, "/properties/nextHopIpAddress"), "10.100.0.4");

    json_t *rcg = body_of(ev, "firewall_rules");
    ck_assert_int_eq(json_integer_value(zt_comp_json_ptr(rcg, "/properties/priority")), 60003);
    ck_assert_str_eq(jstr(rcg, "/properties/ruleCollections/0/name"), "spoke-analytics-network");
    ck_assert_str_eq(jstr(rcg, "/properties/ruleCollections/1/name"),
                     "spoke-analytics-application");
    ck_assert_int_eq(json_integer_value(zt_comp_json_ptr(rcg, "/properties/ruleCollections/0/"
                                                              "priority")), 200);
    ck_assert_int_eq(json_integer_value(zt_comp_json_ptr(rcg, "/properties/ruleCollections/1/"
                                                              "priority")), 200);
    ck_assert_str_eq(jstr(rcg, "/properties/ruleCollections/0/rules/0/destinationAddresses/0"),
                     "AzureDatabricks");
    ck_assert_str_eq(jstr(rcg, "/properties/ruleCollections/0/rules/1/destinationAddresses/0"),
                     "Storage.WestEurope");
    ck_assert_str_eq(jstr(rcg, "/properties/ruleCollections/0/rules/2/destinationPorts/0"), "3306");
    ck_assert_str_eq(jstr(rcg, "/properties/ruleCollections/0/rules/3/destinationAddresses/0"),
                     "EventHub.WestEurope");
    ck_assert_str_eq(jstr(rcg, "/properties/ruleCollections/0/rules/3/destinationPorts/0"), "9093");
    ck_assert_str_eq(jstr(rcg, "/properties/ruleCollections/0/rules/0/sourceAddresses/0"),
                     "10.1.0.0/16");
    ck_assert_str_eq(jstr(rcg, "/properties/ruleCollections/1/rules/0/targetFqdns/0"), "pypi.org");
    ck_assert_uint_eq(json_array_size(zt_comp_json_ptr(rcg, "/properties/ruleCollections/1/rules")),
                      3);

    json_t *link = body_of(ev, "zone_link[privatelink.azuredatabricks.net]");
    ck_assert_str_eq(jstr(link, "/properties/virtualNetwork/id"), VNET_ID);
    ck_assert_str_eq(jstr(link, "/location"), "global");

    /* service tags spell the region their way */
    ev = expand(BASE_INPUTS ",\"location\":\"eastus2\"");
    ck_assert_str_eq(jstr(body_of(ev, "firewall_rules"),
                          "/properties/ruleCollections/0/rules/2/destinationAddresses/0"),
                     "Sql.EastUS2");
    ev = expand(BASE_INPUTS ",\"location\":\"uksouth\"");
    ck_assert_str_eq(jstr(body_of(ev, "firewall_rules"),
                          "/properties/ruleCollections/0/rules/1/destinationAddresses/0"),
                     "Storage.UKSouth");
    ev = expand(BASE_INPUTS ",\"location\":\"southeastasia\"");
    ck_assert_str_eq(jstr(body_of(ev, "firewall_rules"),
                          "/properties/ruleCollections/0/rules/1/destinationAddresses/0"),
                     "Storage.SoutheastAsia");

    /* gateway transit once the hub has a gateway; user FQDNs */
    ev = expand(BASE_INPUTS ",\"hub_gateway_enabled\":true,\"allowed_fqdns\":[\"conda.anaconda.org\"]");
    ck_assert(json_is_true(zt_comp_json_ptr(body_of(ev, "peering"), "/properties/useRemoteGateways")));
    ck_assert(json_is_true(zt_comp_json_ptr(body_of(ev, "hub_peering"),
                                            "/properties/allowGatewayTransit")));
    rcg = body_of(ev, "firewall_rules");
    ck_assert_str_eq(jstr(rcg, "/properties/ruleCollections/1/rules/3/targetFqdns/0"),
                     "conda.anaconda.org");
}
END_TEST

/* Hub and spoke in one apply: the hub's computed outputs are unknown. */
START_TEST(test_unknown_hub)
{
    const zt_cty_value *in = inputs(BASE_INPUTS);
    in = zt_comp_set_attr(A, in, "hub_firewall_private_ip", zt_cty_unknown(A, &zt_cty_string_type));
    in = zt_comp_set_attr(A, in, "hub_gateway_enabled", zt_cty_unknown(A, &zt_cty_bool_type));
    zt_comp_eval *ev = expand_in(in, ZT_COMP_PLAN);
    ck_assert_ptr_null(body_or_null(ev, "route_table"));
    ck_assert_ptr_null(body_or_null(ev, "hub_route"));
    ck_assert_ptr_null(body_or_null(ev, "peering"));
    ck_assert_ptr_null(body_or_null(ev, "hub_peering"));
    ck_assert_ptr_nonnull(body_or_null(ev, "vnet")); /* refers to the route table by ID only */
    ck_assert_ptr_nonnull(body_or_null(ev, "firewall_rules"));
    ck_assert_ptr_nonnull(body_or_null(ev, "nsg_functions"));

    /* IDs from unknown hub outputs: the nodes are planned, IDs unknown */
    in = zt_comp_set_attr(A, inputs(BASE_INPUTS), "hub_firewall_policy_id",
                          zt_cty_unknown(A, &zt_cty_string_type));
    in = zt_comp_set_attr(A, in, "hub_private_dns_zone_ids",
                          zt_cty_unknown(A, zt_cty_type_map(A, &zt_cty_string_type)));
    ev = expand_in(in, ZT_COMP_PLAN);
    ck_assert(ev->id_unknown || ev->shape_unknown);
    ck_assert_ptr_null(zt_comp_id(ev, "firewall_rules"));
    ck_assert_ptr_nonnull(zt_comp_id(ev, "vnet"));

    /* the whole config unknown-safe for validate */
    ck_assert_int_eq(zt_composite_spoke.validate(&C, S, in), ZT_OK);
}
END_TEST

START_TEST(test_outputs)
{
    zt_comp_eval *ev = expand(BASE_INPUTS);
    ck_assert_str_eq(output(ev, "virtual_network_id")->u.str.ptr, VNET_ID);
    ck_assert_str_eq(zt_cty_map_get(output(ev, "subnet_ids"), "functions")->u.str.ptr,
                     VNET_ID "/subnets/functions");
    ck_assert_str_eq(zt_cty_map_get(output(ev, "subnet_cidrs"), "databricks-host")->u.str.ptr,
                     "10.1.0.0/18");
    ck_assert_str_eq(zt_cty_map_get(output(ev, "subnet_names"), "databricks_container")->u.str.ptr,
                     "databricks-container");
    ck_assert_uint_eq(output(ev, "nsg_ids")->u.coll.n, 4);
    ck_assert(output(ev, "nat_gateway_id")->is_null);
    ck_assert_str_eq(zt_cty_map_get(output(ev, "peering_ids"), "hub_to_spoke")->u.str.ptr,
                     HUB_VNET "/virtualNetworkPeerings/peer-hub-to-analytics");
    ck_assert_uint_eq(output(ev, "zone_link_ids")->u.coll.n, 2);
    ck_assert_str_eq(output(ev, "rule_collection_group_id")->u.str.ptr,
                     HUB_POLICY "/ruleCollectionGroups/spokes-3");
}
END_TEST

/* ---- validate hook ------------------------------------------------------------------ */

START_TEST(test_validate_ok)
{
    ck_assert_int_eq(validate(BASE_INPUTS ",\"nat_gateway_subnets\":[\"private-endpoints\"]"),
                     ZT_OK);
    ck_assert_uint_eq(D.errors, 0);
    ck_assert_int_eq(validate(BASE_INPUTS ",\"address_space\":\"10.2.0.0/24\""), ZT_OK);
}
END_TEST

START_TEST(test_validate_overlap)
{
    ck_assert_int_eq(validate(BASE_INPUTS ",\"address_space\":\"10.100.0.0/16\""), ZT_ERR_INVALID);
    tv_expect_error(A, &D, "Spoke overlaps the hub", "address_space", "10.100.0.0/22");
}
END_TEST

START_TEST(test_validate_nat_and_firewall)
{
    ck_assert_int_eq(validate(BASE_INPUTS ",\"nat_gateway_subnets\":[\"databricks-host\"]"),
                     ZT_ERR_INVALID);
    tv_expect_error(A, &D, "NAT gateway on a firewall-routed subnet", "nat_gateway_subnets",
                    "0/0 user route wins over a NAT");
    /* taken out of the firewall set: fine */
    zt_diags_init(&D, A);
    ck_assert_int_eq(validate(BASE_INPUTS ",\"nat_gateway_subnets\":[\"databricks-host\"],"
                                          "\"firewall_egress_subnets\":[\"functions\"]"),
                     ZT_OK);
    zt_diags_init(&D, A);
    ck_assert_int_eq(validate(BASE_INPUTS ",\"nat_gateway_subnets\":[\"AzureFirewallSubnet\"]"),
                     ZT_ERR_INVALID);
    tv_expect_error(A, &D, "Unknown spoke subnet", "nat_gateway_subnets", NULL);
}
END_TEST

START_TEST(test_validate_sizes)
{
    ck_assert_int_eq(validate(BASE_INPUTS ",\"address_space\":\"10.1.0.0/25\""), ZT_ERR_INVALID);
    tv_expect_error(A, &D, "Spoke address space out of range", "address_space", "/16");
    zt_diags_init(&D, A);
    ck_assert_int_eq(validate(BASE_INPUTS ",\"address_space\":\"10.0.0.0/15\""), ZT_ERR_INVALID);
    tv_expect_error(A, &D, "Spoke address space out of range", "address_space", NULL);
    zt_diags_init(&D, A);
    ck_assert_int_eq(validate(BASE_INPUTS ",\"firewall_rule_priority\":100"), ZT_ERR_INVALID);
    tv_expect_error(A, &D, "Invalid rule collection priority", "firewall_rule_priority",
                    NULL);
}
END_TEST

START_TEST(test_validate_missing_tags)
{
    ck_assert_int_eq(validate(BASE_INPUTS ",\"tags\":{\"environment\":\"prod\",\"project\":\"p\","
                                          "\"cost-centre\":\"\"}"),
                     ZT_ERR_INVALID);
    tv_expect_error(A, &D, "Missing required tag", "tags", "\"owner\"");
    tv_expect_error(A, &D, "Empty required tag", "tags[\"cost-centre\"]", NULL);
}
END_TEST

START_TEST(test_validate_dns_and_ids)
{
    ck_assert_int_eq(validate(BASE_INPUTS ",\"dns_mode\":\"resolver\",\"allowed_fqdns\":"
                                          "[\"not a name\"],\"hub_virtual_network_id\":\"/nope\""),
                     ZT_ERR_INVALID);
    tv_expect_error(A, &D, "Missing hub DNS setting", "hub_resolver_inbound_ip", NULL);
    tv_expect_error(A, &D, "Invalid FQDN", "allowed_fqdns", NULL);
    tv_expect_error(A, &D, "Invalid resource ID", "hub_virtual_network_id", NULL);
    /* IDs that become request URLs: no dot segments, no query */
    zt_diags_init(&D, A);
    ck_assert_int_eq(validate(BASE_INPUTS ",\"hub_firewall_policy_id\":\"/subscriptions/s/"
                                          "resourceGroups/rg/providers/Microsoft.Network/"
                                          "firewallPolicies/p/../../routeTables/x\","
                                          "\"hub_private_dns_zone_ids\":{\"z.net\":\"/subscriptions/"
                                          "s/resourceGroups/rg/providers/Microsoft.Network/"
                                          "privateDnsZones/z.net?api-version=1\"}"),
                     ZT_ERR_INVALID);
    tv_expect_error(A, &D, "Invalid resource ID", "hub_firewall_policy_id", NULL);
    tv_expect_error(A, &D, "Invalid resource ID", "hub_private_dns_zone_ids[\"z.net\"]", NULL);
    zt_diags_init(&D, A);
    ck_assert_int_eq(validate(BASE_INPUTS ",\"dns_mode\":\"custom\""), ZT_ERR_INVALID);
    tv_expect_error(A, &D, "Invalid DNS mode", "dns_mode", NULL);
}
END_TEST

/* ---- import ------------------------------------------------------------------------ */

static const canned spoke_world[] = {
    {VNET_ID, "{\"location\":\"westeurope\",\"tags\":{\"owner\":\"me\"},\"properties\":{"
              "\"addressSpace\":{\"addressPrefixes\":[\"10.1.0.0/16\"]},"
              "\"dhcpOptions\":{\"dnsServers\":[\"10.100.0.4\"]},\"subnets\":["
              "{\"name\":\"databricks-host\",\"properties\":{\"natGateway\":{\"id\":\"x\"}}},"
              "{\"name\":\"databricks-container\",\"properties\":{\"natGateway\":{\"id\":\"x\"}}},"
              "{\"name\":\"private-endpoints\",\"properties\":{}},"
              "{\"name\":\"functions\",\"properties\":{\"routeTable\":{\"id\":\"y\"}}}]}}"},
    {VNET_ID "/virtualNetworkPeerings/peer-to-hub",
     "{\"properties\":{\"remoteVirtualNetwork\":{\"id\":\"" HUB_VNET "\"},"
     "\"useRemoteGateways\":true}}"},
    {NET "/routeTables/rt-analytics",
     "{\"properties\":{\"routes\":[{\"properties\":{\"nextHopIpAddress\":\"10.100.0.4\"}}]}}"},
    {HUB_VNET, "{\"properties\":{\"addressSpace\":{\"addressPrefixes\":[\"10.100.0.0/22\"]}}}"},
    {HUB_NET "/firewallPolicies", "{\"value\":[{\"id\":\"" HUB_NET "/firewallPolicies/other\"},"
                                  "{\"id\":\"" HUB_POLICY "\"}]}"},
    {HUB_POLICY "/ruleCollectionGroups/spokes-3",
     "{\"properties\":{\"priority\":60003,\"ruleCollections\":["
     "{\"name\":\"spoke-alpha-application\",\"priority\":300,\"rules\":[{\"name\":"
     "\"user-fqdns\",\"targetFqdns\":[\"other.example.com\",\"x.example.com\"]}]},"
     "{\"name\":\"spoke-analytics-network\",\"priority\":250,\"rules\":[]},"
     "{\"name\":\"spoke-analytics-application\",\"priority\":250,\"rules\":[{\"name\":"
     "\"pypi\",\"targetFqdns\":[\"pypi.org\"]},{\"name\":\"user-fqdns\",\"targetFqdns\":["
     "\"conda.anaconda.org\"]}]}]}}"},
    {HUB_NET "/routeTables", "{\"value\":[{\"id\":\"" HUB_RT "\"}]}"},
    {HUB_RT "/routes/spoke-analytics", "{}"},
    {HUB_NET "/privateDnsZones", "{\"value\":[{\"name\":\"privatelink.blob.core.windows.net\","
                                 "\"id\":\"" ZONE("privatelink.blob.core.windows.net") "\"}]}"},
    {NULL, NULL},
};

START_TEST(test_import)
{
    const zt_cty_value *v = NULL;
    ck_assert_int_eq(zt_composite_spoke.import(&C, S, VNET_ID, canned_get, (void *)spoke_world, &v),
                     ZT_OK);
    ck_assert_str_eq(attr_str(v, "name"), "analytics");
    ck_assert_str_eq(attr_str(v, "resource_group_name"), "rg-spoke");
    ck_assert_str_eq(attr_str(v, "address_space"), "10.1.0.0/16");
    ck_assert_str_eq(attr_str(v, "hub_virtual_network_id"), HUB_VNET);
    ck_assert_str_eq(attr_str(v, "hub_address_space"), "10.100.0.0/22");
    ck_assert_str_eq(attr_str(v, "hub_firewall_private_ip"), "10.100.0.4");
    ck_assert_str_eq(attr_str(v, "hub_firewall_policy_id"), HUB_POLICY);
    ck_assert_str_eq(attr_str(v, "hub_gateway_route_table_id"), HUB_RT);
    ck_assert(zt_cty_get_attr(v, "hub_gateway_enabled")->u.b);
    ck_assert_str_eq(attr_str(v, "dns_mode"), "firewall");
    int64_t prio = 0;
    ck_assert(zt_cty_number_to_int64(zt_cty_get_attr(v, "firewall_rule_priority"), &prio));
    ck_assert_int_eq(prio, 250);
    ck_assert_uint_eq(zt_cty_get_attr(v, "allowed_fqdns")->u.coll.n, 1);
    ck_assert_uint_eq(zt_cty_get_attr(v, "firewall_egress_subnets")->u.coll.n, 1);
    ck_assert_uint_eq(zt_cty_get_attr(v, "nat_gateway_subnets")->u.coll.n, 2);
    ck_assert_uint_eq(zt_cty_get_attr(v, "hub_private_dns_zone_ids")->u.coll.n, 1);
    ck_assert_str_eq(zt_cty_map_get(zt_cty_get_attr(v, "tags"), "owner")->u.str.ptr, "me");
    ck_assert_uint_eq(D.errors, 0);
}
END_TEST

START_TEST(test_import_errors)
{
    const zt_cty_value *v = NULL;
    ck_assert_int_eq(zt_composite_spoke.import(&C, S, NET "/virtualNetworks/other", canned_get,
                                               (void *)spoke_world, &v),
                     ZT_ERR_INVALID);
    tv_expect_error(A, &D, "Invalid import ID", "", NULL);
    ck_assert_int_eq(zt_composite_spoke.import(&C, S, NET "/virtualNetworks/vnet-gone", canned_get,
                                               (void *)spoke_world, &v),
                     ZT_ERR_INVALID);
    tv_expect_error(A, &D, "Spoke not found", "", NULL);
    ck_assert_int_eq(zt_composite_spoke.import(&C, S, HUB_VNET, canned_get, (void *)spoke_world,
                                               &v),
                     ZT_ERR_INVALID);
    tv_expect_error(A, &D, "Not a zerotrust_spoke VNet", "", NULL);
}
END_TEST

/* ---- diagnostics and flow logs ------------------------------------------------------ */

#define LAW "/subscriptions/" SUB "/resourceGroups/rg-ops/providers/Microsoft.OperationalInsights/" \
            "workspaces/log-platform"
#define SA "/subscriptions/" SUB "/resourceGroups/rg-ops/providers/Microsoft.Storage/" \
           "storageAccounts/stflowlogs"
#define MONITORING_INPUTS                                                                   \
    BASE_INPUTS ",\"log_analytics_workspace_id\":\"" LAW "\",\"flow_logs\":{"              \
    "\"storage_account_id\":\"" SA "\",\"log_analytics_customer_id\":"                       \
    "\"cccccccc-1111-2222-3333-444444444444\",\"retention_days\":30}"

START_TEST(test_monitoring)
{
    zt_comp_eval *ev = expand(MONITORING_INPUTS);
    ck_assert_ptr_nonnull(strstr(keys(ev), "hub_route diag_nsg_databricks_host "
                                           "diag_nsg_databricks_container "
                                           "diag_nsg_private_endpoints diag_nsg_functions "
                                           "flow_log"));
    ck_assert_str_eq(zt_comp_id(ev, "diag_nsg_functions"),
                     NET "/networkSecurityGroups/nsg-analytics-func/providers/"
                         "Microsoft.Insights/diagnosticSettings/zerotrust-law");
    ck_assert_str_eq(zt_comp_id(ev, "flow_log"),
                     "/subscriptions/" SUB "/resourceGroups/NetworkWatcherRG/providers/"
                     "Microsoft.Network/networkWatchers/NetworkWatcher_westeurope/flowLogs/"
                     "fl-vnet-analytics");
    json_t *d = body_of(ev, "diag_nsg_databricks_host");
    ck_assert_str_eq(jstr(d, "/properties/workspaceId"), LAW);
    ck_assert_ptr_null(zt_comp_json_ptr(d, "/properties/metrics"));
    json_t *fl = body_of(ev, "flow_log");
    ck_assert_str_eq(jstr(fl, "/properties/targetResourceId"), VNET_ID);
    ck_assert_str_eq(jstr(fl, "/properties/storageId"), SA);
    ck_assert_int_eq(json_integer_value(zt_comp_json_ptr(fl, "/properties/retentionPolicy/days")),
                     30);
    const char *ta = "/properties/flowAnalyticsConfiguration/networkWatcherFlowAnalyticsConfiguration";
    ck_assert_str_eq(jstr(fl, zt_arena_printf(A, "%s/workspaceResourceId", ta)), LAW);
    ck_assert_str_eq(jstr(fl, zt_arena_printf(A, "%s/workspaceRegion", ta)), "westeurope");
    /* off by default */
    ck_assert_ptr_null(strstr(keys(expand(BASE_INPUTS)), "diag_"));
    ck_assert_ptr_null(strstr(keys(expand(BASE_INPUTS)), "flow_log"));
    /* plan-time checks */
    ck_assert_int_ne(validate(BASE_INPUTS ",\"log_analytics_workspace_id\":\"law\","
                              "\"flow_logs\":{\"storage_account_id\":\"x\","
                              "\"traffic_analytics_interval_minutes\":5,\"retention_days\":400}"),
                     ZT_OK);
    tv_expect_error(A, &D, "Invalid workspace ID", "log_analytics_workspace_id", NULL);
    tv_expect_error(A, &D, "Invalid storage account ID", "flow_logs.storage_account_id", NULL);
    tv_expect_error(A, &D, "Unsupported interval", "flow_logs.traffic_analytics_interval_minutes",
                    NULL);
    tv_expect_error(A, &D, "Out of range", "flow_logs.retention_days", NULL);
    zt_diags_init(&D, A);
    ck_assert_int_ne(validate(BASE_INPUTS ",\"flow_logs\":{\"storage_account_id\":\"" SA "\","
                              "\"log_analytics_customer_id\":\"x\"}"), ZT_OK);
    tv_expect_error(A, &D, "Traffic analytics without a workspace",
                    "flow_logs.log_analytics_customer_id", NULL);
}
END_TEST

/* ---- body dump for the validator ---------------------------------------------------- */

START_TEST(test_dump_bodies)
{
    static const char *const sets[] = {
        BASE_INPUTS,
        BASE_INPUTS ",\"hub_gateway_enabled\":true,\"allowed_fqdns\":[\"*.anaconda.org\"],"
                    "\"dns_mode\":\"firewall\",\"firewall_egress_subnets\":[\"functions\"],"
                    "\"nat_gateway_subnets\":[\"databricks-host\",\"databricks-container\"]",
        BASE_INPUTS ",\"address_space\":\"10.2.0.0/24\",\"dns_mode\":\"resolver\","
                    "\"hub_resolver_inbound_ip\":\"10.100.0.228\"",
        MONITORING_INPUTS,
    };
    zt_test_res_dump_bodies(sets, ZT_ARRAY_LEN(sets));
}
END_TEST

/* ---- plan-time checks against the hub -------------------------------------------- */

/* The hub as Azure has it: its VNet with two peerings besides this spoke's
 * (another spoke's, an on-premises network's) and its policy's groups. */
static const canned hub_world[] = {
    {HUB_VNET, "{\"name\":\"vnet-weu\",\"properties\":{\"addressSpace\":{\"addressPrefixes\":"
               "[\"10.100.0.0/22\"]},\"virtualNetworkPeerings\":["
               "{\"name\":\"peer-hub-to-analytics\",\"properties\":{\"remoteAddressSpace\":"
               "{\"addressPrefixes\":[\"10.1.0.0/16\"]}}},"
               "{\"name\":\"peer-hub-to-ingest\",\"properties\":{\"remoteAddressSpace\":"
               "{\"addressPrefixes\":[\"10.2.0.0/20\"]}}},"
               "{\"name\":\"to-onprem\",\"properties\":{\"remoteVirtualNetwork\":{\"id\":\"/x/vnet-dc\"},"
               "\"remoteAddressSpace\":{\"addressPrefixes\":[\"172.20.0.0/16\"]}}}]}}"},
    /* ingest's group, shared with delta's (and others') by their names' hash */
    {HUB_POLICY "/ruleCollectionGroups/spokes-1",
     "{\"properties\":{\"priority\":60001,\"ruleCollections\":["
     "{\"name\":\"spoke-ingest-network\",\"priority\":210},"
     "{\"name\":\"spoke-ingest-application\",\"priority\":210},"
     "{\"name\":\"spoke-delta-network\",\"priority\":220},"
     "{\"name\":\"manual\",\"priority\":230}]}}"},
    {NULL, NULL},
};

static void plan_check(const char *attrs, const zt_cty_value *prior)
{
    ZT_TEST_RES_DEF.plan_check(&C, inputs(attrs), prior, canned_get, (void *)hub_world);
}

START_TEST(test_plan_check_against_the_hub)
{
    /* its own peering and group are not in the way */
    plan_check(BASE_INPUTS, NULL);
    ck_assert_uint_eq(D.count, 0);
    /* another spoke's range, an on-premises range, a priority taken in the
     * group the spoke shares (two, like ingest, hashes to spokes-1) */
    plan_check(BASE_INPUTS ",\"name\":\"two\",\"address_space\":\"10.2.0.0/16\","
                           "\"firewall_rule_priority\":210", NULL);
    tv_expect_error(A, &D, "Address space overlaps a network peered with the hub", "address_space",
                    "10.2.0.0/20, the address space of zerotrust_spoke \"ingest\" (in Azure)");
    tv_expect_error(A, &D, "Rule collection priority already used",
                    "firewall_rule_priority", "zerotrust_spoke \"ingest\" (in Azure)");
    ck_assert_uint_eq(D.errors, 2);
    /* a collection someone added by hand counts; the spoke's own does not */
    zt_diags_init(&D, A);
    plan_check(BASE_INPUTS ",\"name\":\"two\",\"firewall_rule_priority\":230", NULL);
    tv_expect_error(A, &D, "Rule collection priority already used", "firewall_rule_priority",
                    "rule collection manual (in Azure)");
    zt_diags_init(&D, A);
    plan_check(BASE_INPUTS ",\"name\":\"delta\",\"address_space\":\"10.4.0.0/16\","
                           "\"firewall_rule_priority\":220", NULL);
    ck_assert_uint_eq(D.count, 0);
    /* the same priority in another group is no conflict (sandbox: spokes-0) */
    zt_diags_init(&D, A);
    plan_check(BASE_INPUTS ",\"name\":\"sandbox\",\"address_space\":\"10.3.0.0/16\","
                           "\"firewall_rule_priority\":210", NULL);
    ck_assert_uint_eq(D.count, 0);
    zt_diags_init(&D, A);
    plan_check(BASE_INPUTS ",\"name\":\"dc\",\"address_space\":\"172.20.0.0/24\","
                           "\"firewall_rule_priority\":300", NULL);
    tv_expect_error(A, &D, "Address space overlaps a network peered with the hub", "address_space",
                    "/x/vnet-dc (in Azure)");
    /* the hub itself, when hub_address_space does not say it */
    zt_diags_init(&D, A);
    plan_check(BASE_INPUTS ",\"name\":\"inner\",\"address_space\":\"10.100.2.0/24\","
                           "\"hub_address_space\":null,\"firewall_rule_priority\":310", NULL);
    tv_expect_error(A, &D, "Address space overlaps a network peered with the hub", "address_space",
                    "zerotrust_hub \"weu\"");
    ck_assert_uint_eq(D.errors, 1);
    /* a spoke that stays where it is is not the one at fault */
    zt_diags_init(&D, A);
    const zt_cty_value *stays = inputs(BASE_INPUTS ",\"name\":\"sandbox\",\"address_space\":"
                                                   "\"10.2.0.0/16\",\"firewall_rule_priority\":210");
    plan_check(BASE_INPUTS ",\"name\":\"sandbox\",\"address_space\":\"10.2.0.0/16\","
                           "\"firewall_rule_priority\":210", stays);
    ck_assert_uint_eq(D.count, 0);
}
END_TEST

START_TEST(test_plan_check_sees_the_run)
{
    /* two spokes of a hub that does not exist yet (no read answers), in one
     * run: the second planned sees the first's claims */
#define NEW_HUB "\"hub_virtual_network_id\":\"" HUB_NET "/virtualNetworks/vnet-new\",\"hub_firewall_policy_id\":\"" \
                HUB_NET "/firewallPolicies/afwp-new\""
    plan_check(BASE_INPUTS ",\"name\":\"one\"," NEW_HUB, NULL);
    ck_assert_uint_eq(D.count, 0);
    plan_check(BASE_INPUTS ",\"name\":\"alpha\",\"address_space\":\"10.1.128.0/24\"," NEW_HUB,
               NULL); /* alpha and one share spokes-3 */
    tv_expect_error(A, &D, "Address space overlaps a network peered with the hub", "address_space",
                    "zerotrust_spoke \"one\" (planned in this run)");
    tv_expect_error(A, &D, "Rule collection priority already used",
                    "firewall_rule_priority", "zerotrust_spoke \"one\" (planned in this run)");
    /* planned again (the apply's plan) with its own values: no conflict with itself */
    zt_diags_init(&D, A);
    plan_check(BASE_INPUTS ",\"name\":\"one\"," NEW_HUB, NULL);
    ck_assert_uint_eq(D.errors, 2); /* with "alpha", now that it has claimed */
#undef NEW_HUB
}
END_TEST

START_TEST(test_plan_check_trusts_a_hub_created_in_the_run)
{
    /* the hub's plan said it creates its VNet and policy: Azure's older
     * answers about them (here, taken ranges and priorities) are not read */
    size_t n;
    zt_comp_claim_put(&C, ZT_RES_CREATED_SCOPE, HUB_VNET, "", &n);
    zt_comp_claim_put(&C, ZT_RES_CREATED_SCOPE, HUB_POLICY, "", &n);
    plan_check(BASE_INPUTS ",\"name\":\"sandbox\",\"address_space\":\"10.2.0.0/16\","
                           "\"firewall_rule_priority\":210", NULL);
    ck_assert_uint_eq(D.count, 0);
}
END_TEST

/* ---- the hub in another subscription (the platform team's) ----------------------- */

#define XSUB "00000000-0000-0000-0000-0000000000aa"
#define XNET "/subscriptions/" XSUB "/resourceGroups/rg-hub/providers/Microsoft.Network"
#define XHUB                                                                                 \
    "\"hub_virtual_network_id\":\"" XNET "/virtualNetworks/vnet-weu\",\"hub_firewall_policy_id\":\"" \
    XNET "/firewallPolicies/afwp-weu\",\"hub_gateway_route_table_id\":\"" XNET                \
    "/routeTables/rt-weu-gateway\",\"hub_private_dns_zone_ids\":{\"privatelink.azuredatabricks.net\":\"" \
    XNET "/privateDnsZones/privatelink.azuredatabricks.net\"}"

/* ARM refusing every read in XSUB (the principal has no role there), with
 * the engine's getter's record of the answer. */
static json_t *scope_missing_get(void *arg, const char *id)
{
    ZT_UNUSED(id);
    zt_comp_getter *g = arg;
    g->not_found = true;
    g->error_code = "ResourceNotFound";
    return NULL;
}

static json_t *refusing_get(void *arg, const char *id)
{
    zt_comp_getter *g = arg;
    bool refused = strstr(id, XSUB) != NULL;
    g->not_found = !refused;
    g->error_code = refused ? "AuthorizationFailed" : NULL;
    g->error_message = refused ? "no role assignment" : NULL;
    return NULL;
}

START_TEST(test_hub_in_another_subscription)
{
    zt_comp_eval *ev = expand(BASE_INPUTS "," XHUB);
    /* spoke-side in the provider's subscription, hub-side at the hub's IDs */
    ck_assert_str_eq(zt_comp_id(ev, "vnet"), VNET_ID);
    ck_assert_str_eq(zt_comp_id(ev, "hub_peering"),
                     XNET "/virtualNetworks/vnet-weu/virtualNetworkPeerings/peer-hub-to-analytics");
    ck_assert_str_eq(zt_comp_id(ev, "hub_route"), XNET "/routeTables/rt-weu-gateway/routes/spoke-analytics");
    ck_assert_str_eq(zt_comp_id(ev, "zone_link[privatelink.azuredatabricks.net]"),
                     XNET "/privateDnsZones/privatelink.azuredatabricks.net/virtualNetworkLinks/"
                          "link-vnet-analytics");
    ck_assert_str_eq(zt_comp_id(ev, "firewall_rules"),
                     XNET "/firewallPolicies/afwp-weu/ruleCollectionGroups/spokes-3#"
                          "spoke-analytics-network,spoke-analytics-application");
    /* the peerings name each other's VNets across the subscriptions */
    ck_assert_str_eq(jstr(body_of(ev, "hub_peering"), "/properties/remoteVirtualNetwork/id"), VNET_ID);
    ck_assert_str_eq(jstr(body_of(ev, "peering"), "/properties/remoteVirtualNetwork/id"),
                     XNET "/virtualNetworks/vnet-weu");
    /* hub-side writes serialize in the hub's subscription's scopes */
    ck_assert_str_eq(zt_arm_serial_key(A, zt_comp_id(ev, "hub_route"), NULL),
                     zt_arm_serial_key(A, XNET "/routeTables/rt-weu-gateway", NULL));

    /* credentials with no role there: each hub ID says so at plan (one read
     * for the hub's resource group) */
    zt_comp_getter g = {0};
    ZT_TEST_RES_DEF.plan_check(&C, inputs(BASE_INPUTS "," XHUB), NULL, refusing_get, &g);
    const char *const paths[] = {"hub_virtual_network_id", "hub_firewall_policy_id",
                                 "hub_gateway_route_table_id",
                                 "hub_private_dns_zone_ids[\"privatelink.azuredatabricks.net\"]"};
    for (size_t i = 0; i < ZT_ARRAY_LEN(paths); i++)
        tv_expect_error(A, &D, "Hub subscription not accessible", paths[i],
                        "subscription " XSUB ", which the provider's credentials cannot use");
    tv_expect_error(A, &D, "Hub subscription not accessible", "hub_virtual_network_id",
                    "AuthorizationFailed: no role assignment");
    ck_assert_uint_eq(D.errors, 4);
    /* the hub IDs unchanged since the last plan: not read again */
    zt_diags_init(&D, A);
    const zt_cty_value *same = inputs(BASE_INPUTS "," XHUB);
    ZT_TEST_RES_DEF.plan_check(&C, same, same, refusing_get, &g);
    ck_assert_uint_eq(D.count, 0);
    /* a 404 is no refusal (a hub not created yet) */
    zt_diags_init(&D, A);
    ZT_TEST_RES_DEF.plan_check(&C, inputs(BASE_INPUTS "," XHUB ",\"name\":\"other\",\"address_space\":"
                                                      "\"10.9.0.0/16\",\"firewall_rule_priority\":290"),
                               NULL,
                               scope_missing_get, &g);
    ck_assert_uint_eq(D.errors, 0);
}
END_TEST

START_TEST(test_schema_defaults_match_code)
{
    expect_defaults_match_code(BASE_INPUTS);
}
END_TEST

int main(int argc, char **argv)
{
    const TTest *const tests[] = {
        test_definition_passes_engine_checks,
        test_schema_defaults_match_code,
        test_expand_defaults,
        test_expand_options,
        test_bodies_follow_inputs,
        test_unknown_hub,
        test_outputs,
        test_validate_ok,
        test_validate_overlap,
        test_validate_nat_and_firewall,
        test_validate_sizes,
        test_validate_missing_tags,
        test_validate_dns_and_ids,
        test_import,
        test_import_errors,
        test_monitoring,
        test_plan_check_against_the_hub,
        test_plan_check_sees_the_run,
        test_plan_check_trusts_a_hub_created_in_the_run,
        test_hub_in_another_subscription,
    };
    return zt_test_res_main(argc, argv, "spoke", test_dump_bodies, tests, ZT_ARRAY_LEN(tests));
}
