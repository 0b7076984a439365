/* zt_hub.c - zerotrust_hub: the hub of the hub-and-spoke network
 * (platform-design.md, "zerotrust_hub"), as a composite definition.
 *
 * Everything here is data for the composite engine (zt_composite.h): a
 * table of Azure resources, each with a name, a parent and a PUT body
 * derived from the inputs. The engine plans, applies, refreshes and
 * destroys them.
 *
 * Layout decisions (why they differ from a naive reading of the design):
 *
 *  - Subnets are inline in the VNet body, not separate nodes. A VNet PUT
 *    without `subnets` deletes them, so a separate-subnet design must send
 *    them all back on every VNet PUT anyway (azurerm does); inline, one
 *    PUT creates all six atomically, drift in any subnet shows up as VNet
 *    drift and one PUT repairs it, and nothing needs the VNet's subnet
 *    lock. Peerings (owned by spokes) are kept by ARM when a VNet PUT
 *    omits them, so spokes can add theirs.
 *  - The GatewaySubnet route table is created before the VNet, because
 *    the association is a property of the subnet: associating it after
 *    the gateway (as the design's order suggests) would mean re-writing
 *    GatewaySubnet while the gateway holds it. Its routes belong to the
 *    spokes, so the hub never sends any: they are ignored for drift, and
 *    the engine carries them over on an update PUT.
 *  - All six subnets always exist, whatever is enabled: subnets are free,
 *    the address plan stays fixed, and turning a service on later does
 *    not touch the VNet.
 *  - Public IPs and the firewall policy do not wait for the VNet: nothing
 *    in them refers to it, and starting them in parallel saves time.
 */
#include "zt_hub.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---------------------------------------------------------------------
 * Constants of the design.
 * ------------------------------------------------------------------- */

static const char *const zt_hub_default_zones[] = {
    "privatelink.azuredatabricks.net",  "privatelink.blob.core.windows.net",
    "privatelink.dfs.core.windows.net", "privatelink.vaultcore.azure.net",
    "privatelink.azurecr.io",           "privatelink.azurewebsites.net",
    "privatelink.servicebus.windows.net",
};

/* Subnet names of the address planner's "hub" layout. */
#define ZT_HUB_SN_FIREWALL "AzureFirewallSubnet"
#define ZT_HUB_SN_FIREWALL_MGMT "AzureFirewallManagementSubnet"
#define ZT_HUB_SN_BASTION "AzureBastionSubnet"
#define ZT_HUB_SN_GATEWAY "GatewaySubnet"
#define ZT_HUB_SN_DNS_IN "dns-resolver-inbound"
#define ZT_HUB_SN_DNS_OUT "dns-resolver-outbound"

static const char *const zt_hub_subnets[] = {
    ZT_HUB_SN_FIREWALL, ZT_HUB_SN_FIREWALL_MGMT, ZT_HUB_SN_BASTION,
    ZT_HUB_SN_GATEWAY,  ZT_HUB_SN_DNS_IN,        ZT_HUB_SN_DNS_OUT,
};

#define ZT_HUB_DEFAULT_TIER "Premium"
#define ZT_HUB_DEFAULT_BASTION_SKU "Standard"
#define ZT_HUB_DEFAULT_VPN_SKU "VpnGw2AZ"
/* The Microsoft-registered Azure VPN Client application. */
#define ZT_HUB_DEFAULT_VPN_AUDIENCE "c632b3df-fb67-4d84-bdcf-b95ad541b5c8"
#define ZT_HUB_DIAG_NAME "zerotrust-law"

/* Sources the base rule collection group allows out: every private range,
 * so spokes inherit the platform rules whatever their address plan. */
static const char *const zt_hub_private_ranges[] = {"10.0.0.0/8", "172.16.0.0/12",
                                                     "192.168.0.0/16"};

/* ---------------------------------------------------------------------
 * Inputs, with the schema's documented defaults.
 * ------------------------------------------------------------------- */

static const char *zt_hub_tier(const zt_comp_eval *ev)
{
    const char *t = zt_comp_input_str(ev, "firewall_sku_tier");
    return t ? t : ZT_HUB_DEFAULT_TIER;
}

static bool zt_hub_bastion_on(const zt_comp_eval *ev)
{
    return zt_comp_input_bool(ev, "bastion_enabled", true);
}

static const char *zt_hub_bastion_sku(const zt_comp_eval *ev)
{
    const char *s = zt_comp_input_str(ev, "bastion_sku");
    return s ? s : ZT_HUB_DEFAULT_BASTION_SKU;
}

static bool zt_hub_resolver_on(const zt_comp_eval *ev)
{
    return zt_comp_input_bool(ev, "dns_resolver_enabled", true);
}

static const char *zt_hub_workspace(const zt_comp_eval *ev)
{
    return zt_comp_input_str(ev, "log_analytics_workspace_id");
}

static const zt_cty_value *zt_hub_vpn(const zt_comp_eval *ev)
{
    const zt_cty_value *v = zt_comp_input(ev, "vpn_gateway");
    return v && !v->is_null && zt_cty_is_known(v) ? v : NULL;
}

/* The block present and not enabled = false. An unknown block counts as
 * enabled so the plan shows the gateway rather than hiding it. */
static bool zt_hub_vpn_on(const zt_comp_eval *ev)
{
    const zt_cty_value *v = zt_comp_input(ev, "vpn_gateway");
    if (!v || v->is_null)
        return false;
    if (!zt_cty_is_known(v))
        return true;
    const zt_cty_value *e = zt_cty_get_attr(v, "enabled");
    return !e || e->is_null || !zt_cty_is_known(e) || e->u.b;
}

static const char *zt_hub_vpn_sku(const zt_comp_eval *ev)
{
    const char *s = zt_res_known_str(zt_hub_vpn(ev), "sku");
    return s ? s : ZT_HUB_DEFAULT_VPN_SKU;
}

/* The zones input as JSON strings (null: zone-redundant). NULL when the
 * list is unknown. */
static json_t *zt_hub_zones_json(const zt_comp_eval *ev)
{
    const zt_cty_value *v = zt_comp_input(ev, "zones");
    if (!v || v->is_null)
        return json_pack("[sss]", "1", "2", "3");
    if (!zt_cty_is_wholly_known(v))
        return NULL;
    json_t *arr = json_array();
    for (size_t i = 0; i < v->u.coll.n; i++)
        json_array_append_new(arr, json_string(v->u.coll.elems[i]->u.str.ptr));
    return arr;
}

/* The hub's private DNS zones in deterministic (sorted set) order. */
static const char **zt_hub_zone_names(const zt_comp_eval *ev, size_t *n)
{
    /* NULL while unknown: the instances are not known until the set is. */
    return zt_res_strings(ev, "private_dns_zones", zt_hub_default_zones,
                          ZT_ARRAY_LEN(zt_hub_default_zones), n);
}

/* ---------------------------------------------------------------------
 * Names: deterministic, all derived from the hub's name (CAF prefixes).
 * ------------------------------------------------------------------- */

#define ZT_HUB_NAME_FN(fn, prefix, suffix) \
    static const char *fn(const zt_comp_eval *ev) { return zt_res_named(ev, prefix, suffix); }

/* The hub VNet: also the import ID and what spokes peer with. */
#define ZT_HUB_VNET_PREFIX "vnet-"

ZT_HUB_NAME_FN(zt_hub_name_vnet, ZT_HUB_VNET_PREFIX, "")
ZT_HUB_NAME_FN(zt_hub_name_rt_gateway, "rt-", "-gateway")
ZT_HUB_NAME_FN(zt_hub_name_pip_fw, "pip-", "-afw")
ZT_HUB_NAME_FN(zt_hub_name_pip_fw_mgmt, "pip-", "-afw-mgmt")
ZT_HUB_NAME_FN(zt_hub_name_pip_bastion, "pip-", "-bas")
ZT_HUB_NAME_FN(zt_hub_name_pip_gateway, "pip-", "-vgw")
#define ZT_HUB_POLICY_PREFIX "afwp-"
ZT_HUB_NAME_FN(zt_hub_name_policy, ZT_HUB_POLICY_PREFIX, "")
ZT_HUB_NAME_FN(zt_hub_name_firewall, "afw-", "")
ZT_HUB_NAME_FN(zt_hub_name_bastion, "bas-", "")
ZT_HUB_NAME_FN(zt_hub_name_gateway, "vgw-", "")
ZT_HUB_NAME_FN(zt_hub_name_resolver, "dnspr-", "")
ZT_HUB_NAME_FN(zt_hub_name_zone_link, "link-vnet-", "")

static const char *zt_hub_name_rcg(const zt_comp_eval *ev)
{
    ZT_UNUSED(ev);
    return "hub-platform";
}

static const char *zt_hub_name_inbound(const zt_comp_eval *ev)
{
    ZT_UNUSED(ev);
    return "inbound";
}

static const char *zt_hub_name_zone(const zt_comp_eval *ev)
{
    return zt_comp_instance(ev);
}

static const char *zt_hub_name_diag(const zt_comp_eval *ev)
{
    ZT_UNUSED(ev);
    return ZT_HUB_DIAG_NAME;
}

/* ---------------------------------------------------------------------
 * Parents.
 * ------------------------------------------------------------------- */

static const char *zt_hub_parent_policy(const zt_comp_eval *ev)
{
    return zt_comp_id(ev, "firewall_policy");
}

static const char *zt_hub_parent_resolver(const zt_comp_eval *ev)
{
    return zt_comp_id(ev, "dns_resolver");
}

static const char *zt_hub_parent_zone(const zt_comp_eval *ev)
{
    return zt_comp_id(ev, zt_arena_printf(zt_comp_arena(ev), "zone[%s]", zt_comp_instance(ev)));
}

/* Diagnostic settings are extension resources of what they watch. */
static const char *zt_hub_parent_firewall(const zt_comp_eval *ev)
{
    return zt_comp_id(ev, "firewall");
}

static const char *zt_hub_parent_bastion(const zt_comp_eval *ev)
{
    return zt_comp_id(ev, "bastion");
}

static const char *zt_hub_parent_gateway(const zt_comp_eval *ev)
{
    return zt_comp_id(ev, "vpn_gateway");
}

/* ---------------------------------------------------------------------
 * Enabled / for_each.
 * ------------------------------------------------------------------- */

/* A workspace ID not known yet (created in the same apply) counts as set:
 * the settings are planned, with unknown bodies, rather than appearing
 * only at apply. */
static bool zt_hub_diag_on(const zt_comp_eval *ev)
{
    return zt_comp_input_set(ev, "log_analytics_workspace_id");
}

static bool zt_hub_diag_bastion_on(const zt_comp_eval *ev)
{
    return zt_hub_diag_on(ev) && zt_hub_bastion_on(ev);
}

static bool zt_hub_diag_gateway_on(const zt_comp_eval *ev)
{
    return zt_hub_diag_on(ev) && zt_hub_vpn_on(ev);
}

/* Public IPs log DDoS protection events and have metrics. */
#define ZT_HUB_PIP_DIAG(fn, node, on)                                                         \
    static const char *fn(const zt_comp_eval *ev) { return zt_comp_id(ev, node); }           \
    static bool fn##_on(const zt_comp_eval *ev) { return zt_hub_diag_on(ev) && on(ev); }
static bool zt_hub_always(const zt_comp_eval *ev)
{
    ZT_UNUSED(ev);
    return true;
}
ZT_HUB_PIP_DIAG(zt_hub_parent_pip_fw, "pip_firewall", zt_hub_always)
ZT_HUB_PIP_DIAG(zt_hub_parent_pip_fw_mgmt, "pip_firewall_mgmt", zt_hub_always)
ZT_HUB_PIP_DIAG(zt_hub_parent_pip_bastion, "pip_bastion", zt_hub_bastion_on)
ZT_HUB_PIP_DIAG(zt_hub_parent_pip_gateway, "pip_gateway", zt_hub_vpn_on)

/* ---------------------------------------------------------------------
 * Body builders. Each returns NULL when something it needs is not known
 * yet (plan of a create); the engine then plans the node as unknown.
 * ------------------------------------------------------------------- */

static json_t *zt_hub_body_rt_gateway(const zt_comp_eval *ev)
{
    /* GatewaySubnet must keep BGP route propagation on: the gateway
     * learns its routes that way. */
    return zt_res_tracked(ev, json_pack("{s:b}", "disableBgpRoutePropagation", 0));
}

static json_t *zt_hub_subnet(const zt_addrplan *plan, const char *name)
{
    return json_pack("{s:s,s:{s:s}}", "name", name, "properties", "addressPrefix",
                     zt_res_subnet_cidr(plan, name));
}

static json_t *zt_hub_resolver_subnet(const zt_addrplan *plan, const char *name)
{
    json_t *sn = zt_hub_subnet(plan, name);
    json_t *p = json_object_get(sn, "properties");
    json_object_set_new(p, "delegations",
                        json_pack("[{s:s,s:{s:s}}]", "name", "dnsResolvers", "properties",
                                  "serviceName", "Microsoft.Network/dnsResolvers"));
    /* Resolver endpoints never need the internet: a private subnet. */
    json_object_set_new(p, "defaultOutboundAccess", json_false());
    return sn;
}

static json_t *zt_hub_body_vnet(const zt_comp_eval *ev)
{
    const char *space = zt_comp_input_str(ev, "address_space");
    const zt_addrplan *plan = zt_res_addrplan(zt_comp_arena(ev), space, "hub");
    json_t *rt = zt_res_ref(zt_comp_id(ev, "route_table_gateway"));
    if (!plan || !rt) {
        json_decref(rt);
        return NULL;
    }
    json_t *gw = zt_hub_subnet(plan, ZT_HUB_SN_GATEWAY);
    json_object_set_new(json_object_get(gw, "properties"), "routeTable", rt);
    json_t *subnets = json_pack("[o,o,o,o,o,o]", zt_hub_subnet(plan, ZT_HUB_SN_FIREWALL),
                                zt_hub_subnet(plan, ZT_HUB_SN_FIREWALL_MGMT),
                                zt_hub_subnet(plan, ZT_HUB_SN_BASTION), gw,
                                zt_hub_resolver_subnet(plan, ZT_HUB_SN_DNS_IN),
                                zt_hub_resolver_subnet(plan, ZT_HUB_SN_DNS_OUT));
    return zt_res_tracked(ev, json_pack("{s:{s:[s]},s:o}", "addressSpace", "addressPrefixes",
                                        space, "subnets", subnets));
}

static json_t *zt_hub_body_pip(const zt_comp_eval *ev)
{
    json_t *body = zt_res_tracked(ev, json_pack("{s:s,s:s}", "publicIPAllocationMethod",
                                                "Static", "publicIPAddressVersion", "IPv4"));
    body = zt_res_set(body, "sku", json_pack("{s:s,s:s}", "name", "Standard", "tier", "Regional"));
    json_t *zones = zt_hub_zones_json(ev);
    if (zones && json_array_size(zones) == 0) { /* a region without zones */
        json_decref(zones);
        return body;
    }
    return zt_res_set(body, "zones", zones);
}

static json_t *zt_hub_body_policy(const zt_comp_eval *ev)
{
    const char *tier = zt_hub_tier(ev);
    json_t *p = json_pack("{s:{s:s},s:s,s:{s:b}}", "sku", "tier", tier, "threatIntelMode", "Deny",
                          "dnsSettings", "enableProxy", 1);
    if (strcmp(tier, "Premium") == 0) /* IDPS exists on Premium only */
        json_object_set_new(p, "intrusionDetection", json_pack("{s:s}", "mode", "Deny"));
    return zt_res_tracked(ev, p);
}

static json_t *zt_hub_private_sources(void)
{
    json_t *a = json_array();
    for (size_t i = 0; i < ZT_ARRAY_LEN(zt_hub_private_ranges); i++)
        json_array_append_new(a, json_string(zt_hub_private_ranges[i]));
    return a;
}

/* A network rule from the private ranges to service tags / FQDNs. */
static json_t *zt_hub_net_rule(const char *name, const char *proto, const char *dest_key,
                               const char *dest, const char *port)
{
    return json_pack("{s:s,s:s,s:[s],s:o,s:[s],s:[s]}", "ruleType", "NetworkRule", "name", name,
                     "ipProtocols", proto, "sourceAddresses", zt_hub_private_sources(),
                     dest_key, dest, "destinationPorts", port);
}

/* The base rule collection group: what every workload needs from the
 * Azure platform itself (Entra ID sign-in, Azure Monitor agents, time).
 * Workload egress (Databricks, PyPI, ...) comes with each spoke's own
 * group, sourced from its CIDRs. Everything else is denied and logged. */
static json_t *zt_hub_body_rcg(const zt_comp_eval *ev)
{
    ZT_UNUSED(ev);
    json_t *rules = json_pack(
        "[o,o,o]",
        zt_hub_net_rule("entra-id", "TCP", "destinationAddresses", "AzureActiveDirectory", "443"),
        zt_hub_net_rule("azure-monitor", "TCP", "destinationAddresses", "AzureMonitor", "443"),
        zt_hub_net_rule("ntp", "UDP", "destinationFqdns", "time.windows.com", "123"));
    return json_pack("{s:{s:i,s:[{s:s,s:s,s:i,s:{s:s},s:o}]}}", "properties", "priority", 100,
                     "ruleCollections", "ruleCollectionType", "FirewallPolicyFilterRuleCollection",
                     "name", "azure-platform", "priority", 100, "action", "type", "Allow", "rules",
                     rules);
}

/* {name, properties: {subnet, publicIPAddress}}: the IP configuration of
 * the firewall, Bastion and gateway. */
static json_t *zt_hub_ipconfig(const zt_comp_eval *ev, const char *name, const char *subnet,
                               const char *pip_node)
{
    const char *vnet = zt_comp_id(ev, "vnet");
    const char *pip = zt_comp_id(ev, pip_node);
    if (!vnet || !pip)
        return NULL;
    const char *sn = zt_arena_printf(zt_comp_arena(ev), "%s/subnets/%s", vnet, subnet);
    return json_pack("{s:s,s:{s:{s:s},s:{s:s}}}", "name", name, "properties", "subnet", "id", sn,
                     "publicIPAddress", "id", pip);
}

static json_t *zt_hub_body_firewall(const zt_comp_eval *ev)
{
    json_t *ip = zt_hub_ipconfig(ev, "ipconfig", ZT_HUB_SN_FIREWALL, "pip_firewall");
    json_t *mgmt = zt_hub_ipconfig(ev, "mgmt-ipconfig", ZT_HUB_SN_FIREWALL_MGMT,
                                   "pip_firewall_mgmt");
    json_t *policy = zt_res_ref(zt_comp_id(ev, "firewall_policy"));
    if (!ip || !mgmt || !policy) {
        json_decref(ip);
        json_decref(mgmt);
        json_decref(policy);
        return NULL;
    }
    json_t *p = json_pack("{s:{s:s,s:s},s:o,s:[o],s:o}", "sku", "name", "AZFW_VNet", "tier",
                          zt_hub_tier(ev), "firewallPolicy", policy, "ipConfigurations", ip,
                          "managementIpConfiguration", mgmt);
    json_t *body = zt_res_tracked(ev, p);
    json_t *zones = zt_hub_zones_json(ev);
    if (zones && json_array_size(zones) == 0) {
        json_decref(zones);
        return body;
    }
    return zt_res_set(body, "zones", zones);
}

static json_t *zt_hub_body_bastion(const zt_comp_eval *ev)
{
    const char *sku = zt_hub_bastion_sku(ev);
    json_t *ip = zt_hub_ipconfig(ev, "ipconfig", ZT_HUB_SN_BASTION, "pip_bastion");
    if (!ip)
        return NULL;
    json_t *p = json_pack("{s:[o]}", "ipConfigurations", ip);
    if (strcmp(sku, "Basic") != 0) /* native client (az network bastion ssh/rdp) */
        json_object_set_new(p, "enableTunneling", json_true());
    return zt_res_set(zt_res_tracked(ev, p), "sku", json_pack("{s:s}", "name", sku));
}

/* Point-to-site: OpenVPN only, Microsoft Entra ID authentication. */
static json_t *zt_hub_vpn_client_config(const zt_comp_eval *ev)
{
    const zt_cty_value *vpn = zt_hub_vpn(ev);
    const char *pool = zt_res_known_str(vpn, "client_address_pool");
    const char *tenant = zt_res_known_str(vpn, "tenant_id");
    const char *audience = zt_res_known_str(vpn, "audience");
    zt_arena *a = zt_comp_arena(ev);
    if (!pool || !tenant)
        return NULL;
    return json_pack("{s:{s:[s]},s:[s],s:[s],s:s,s:s,s:s}", "vpnClientAddressPool",
                     "addressPrefixes", pool, "vpnClientProtocols", "OpenVPN",
                     "vpnAuthenticationTypes", "AAD", "aadTenant",
                     zt_arena_printf(a, "https://login.microsoftonline.com/%s/", tenant),
                     "aadAudience", audience ? audience : ZT_HUB_DEFAULT_VPN_AUDIENCE, "aadIssuer",
                     zt_arena_printf(a, "https://sts.windows.net/%s/", tenant));
}

static json_t *zt_hub_body_gateway(const zt_comp_eval *ev)
{
    const char *sku = zt_hub_vpn_sku(ev);
    /* VpnGw1(AZ) is Generation1 only; the larger SKUs run best on Gen2. */
    bool gen1 = strncmp(sku, "VpnGw1", 6) == 0;
    json_t *ip = zt_hub_ipconfig(ev, "default", ZT_HUB_SN_GATEWAY, "pip_gateway");
    json_t *client = zt_hub_vpn_client_config(ev);
    if (!ip || !client) {
        json_decref(ip);
        json_decref(client);
        return NULL;
    }
    json_object_set_new(json_object_get(ip, "properties"), "privateIPAllocationMethod",
                        json_string("Dynamic"));
    json_t *p = json_pack("{s:s,s:s,s:s,s:{s:s,s:s},s:b,s:b,s:[o],s:o}", "gatewayType", "Vpn",
                          "vpnType", "RouteBased", "vpnGatewayGeneration",
                          gen1 ? "Generation1" : "Generation2", "sku", "name", sku, "tier", sku,
                          "activeActive", 0, "enableBgp", 0, "ipConfigurations", ip,
                          "vpnClientConfiguration", client);
    return zt_res_tracked(ev, p);
}

static json_t *zt_hub_body_resolver(const zt_comp_eval *ev)
{
    json_t *vnet = zt_res_ref(zt_comp_id(ev, "vnet"));
    return vnet ? zt_res_tracked(ev, json_pack("{s:o}", "virtualNetwork", vnet)) : NULL;
}

static json_t *zt_hub_body_inbound(const zt_comp_eval *ev)
{
    const char *vnet = zt_comp_id(ev, "vnet");
    if (!vnet)
        return NULL;
    const char *sn = zt_arena_printf(zt_comp_arena(ev), "%s/subnets/%s", vnet, ZT_HUB_SN_DNS_IN);
    return zt_res_tracked(ev, json_pack("{s:[{s:{s:s},s:s}]}", "ipConfigurations", "subnet", "id",
                                        sn, "privateIpAllocationMethod", "Dynamic"));
}

/* Private DNS is a global service: zones and links live in "global". */
static json_t *zt_hub_body_zone(const zt_comp_eval *ev)
{
    json_t *tags = zt_comp_tags(ev);
    return tags ? json_pack("{s:s,s:o}", "location", "global", "tags", tags) : NULL;
}

static json_t *zt_hub_body_zone_link(const zt_comp_eval *ev)
{
    json_t *vnet = zt_res_ref(zt_comp_id(ev, "vnet"));
    json_t *body = zt_hub_body_zone(ev);
    /* Resolution only: the hub runs no VMs whose names to register. */
    return zt_res_set(body, "properties",
                      vnet ? json_pack("{s:o,s:b,s:s}", "virtualNetwork", vnet,
                                       "registrationEnabled", 0, "resolutionPolicy", "Default")
                           : NULL);
}

/* Every log and metric to the workspace. `dedicated`: resource-specific
 * tables (AZFW*), which Microsoft recommends for the firewall and the
 * governance alerts query. */
static json_t *zt_hub_diag(const zt_comp_eval *ev, bool dedicated)
{
    return zt_res_diag_body(zt_hub_workspace(ev), ZT_RES_DIAG_LOGS | ZT_RES_DIAG_METRICS |
                                                     (dedicated ? ZT_RES_DIAG_DEDICATED : 0));
}

static json_t *zt_hub_body_diag_firewall(const zt_comp_eval *ev)
{
    return zt_hub_diag(ev, true);
}

static json_t *zt_hub_body_diag_other(const zt_comp_eval *ev)
{
    return zt_hub_diag(ev, false);
}

/* ---------------------------------------------------------------------
 * Deletes Azure refuses.
 * ------------------------------------------------------------------- */

/* Spokes link their VNets to the hub's zones, and Azure refuses to delete
 * a zone that has links (409 CannotDeleteResource) - on every apply, as
 * the hub is applied before the spokes that would drop theirs. */
static void zt_hub_zone_delete_check(const zt_comp_eval *ev, const char *zone_id,
                                     json_t *(*get)(void *getter, const char *arm_id),
                                     void *getter)
{
    zt_arena *a = zt_comp_arena(ev);
    zt_call c = {.arena = a, .diags = zt_comp_diags(ev)};
    zt_res_reader r = {.c = &c, .get = get, .getter = getter};
    const char *own = zt_comp_id(ev, "vnet");
    json_t *links = zt_res_read_list(&r, zt_arena_printf(a, "%s/virtualNetworkLinks", zone_id));
    zt_buf b;
    zt_buf_init(&b, a);
    json_t *link;
    size_t i;
    json_array_foreach(links, i, link)
    {
        const char *vnet = zt_res_jstr(link, "properties/virtualNetwork/id");
        if (vnet && !(own && strcasecmp(vnet, own) == 0))
            zt_buf_printf(&b, "\n  - %s (link %s)", vnet, zt_res_jstr(link, "name"));
    }
    if (!b.len)
        return;
    zt_diag_error(zt_comp_diags(ev), zt_path_attr(a, NULL, "private_dns_zones"),
                  "Private DNS zone still linked",
                  "%s cannot leave private_dns_zones yet: these virtual networks link to it:%s"
                  "\n\nAzure refuses to delete a zone that has links (409 CannotDeleteResource), "
                  "and the hub is applied before its spokes. Remove the zone from those spokes "
                  "first (filter it out of their hub_private_dns_zone_ids), apply, then remove it "
                  "here.", strrchr(zone_id, '/') + 1, zt_buf_cstr(&b));
}

/* ---------------------------------------------------------------------
 * The node table, in dependency order.
 * ------------------------------------------------------------------- */

static const char *const zt_hub_deps_vnet[] = {"route_table_gateway", NULL};
static const char *const zt_hub_deps_rcg[] = {"firewall_policy", NULL};
/* The firewall waits for the rule collection group: both write the
 * policy, which takes one write at a time. */
static const char *const zt_hub_deps_firewall[] = {"vnet", "pip_firewall", "pip_firewall_mgmt",
                                                   "firewall_policy", "firewall_rules", NULL};
static const char *const zt_hub_deps_bastion[] = {"vnet", "pip_bastion", NULL};
static const char *const zt_hub_deps_gateway[] = {"vnet", "pip_gateway", NULL};
static const char *const zt_hub_deps_resolver[] = {"vnet", NULL};
static const char *const zt_hub_deps_inbound[] = {"dns_resolver", NULL};
static const char *const zt_hub_deps_zone_link[] = {"zone", "vnet", NULL};
static const char *const zt_hub_deps_diag_fw[] = {"firewall", NULL};
static const char *const zt_hub_deps_diag_bas[] = {"bastion", NULL};
static const char *const zt_hub_deps_diag_gw[] = {"vpn_gateway", NULL};
/* A public IP's setting waits for it, and for the VNet (the id_node:
 * nothing new may exist before it). */
#define ZT_HUB_DIAG_PIP_NODE(k, pip, parent)                                                  \
    {.key = k, .arm_type = "Microsoft.Insights/diagnosticSettings",                           \
     .depends_on = (const char *const[]){"vnet", pip, NULL}, .enabled = parent##_on,         \
     .parent_id = parent, .name = zt_hub_name_diag, .body = zt_hub_body_diag_other,          \
     .expected_seconds = 5}

/* What ARM cannot change in place (the engine re-creates the node). */
static const char *const zt_hub_co_location[] = {"/location", NULL};
static const char *const zt_hub_co_zoned[] = {"/location", "/zones", "/sku/name", NULL};
static const char *const zt_hub_co_firewall[] = {"/location", "/zones", "/properties/sku/tier",
                                                 NULL};
static const char *const zt_hub_co_resolver[] = {"/location", "/properties/virtualNetwork/id",
                                                 NULL};
/* Routes in the gateway route table belong to the spokes. */
static const char *const zt_hub_ig_routes[] = {"/properties/routes", NULL};

#define ZT_HUB_TRACKED(k, t, d, en, nm, bd, co, ig, secs)                                    \
    {.key = k, .arm_type = t, .depends_on = d, .enabled = en, .name = nm, .body = bd,        \
     .create_only = co, .ignore_drift = ig, .expected_seconds = secs}

static const zt_comp_node_def zt_hub_nodes[] = {
    ZT_HUB_TRACKED("route_table_gateway", "Microsoft.Network/routeTables", NULL, NULL,
                   zt_hub_name_rt_gateway, zt_hub_body_rt_gateway, zt_hub_co_location,
                   zt_hub_ig_routes, 5),
    ZT_HUB_TRACKED("vnet", "Microsoft.Network/virtualNetworks", zt_hub_deps_vnet, NULL,
                   zt_hub_name_vnet, zt_hub_body_vnet, zt_hub_co_location, NULL, 10),
    ZT_HUB_TRACKED("pip_firewall", "Microsoft.Network/publicIPAddresses", NULL, NULL,
                   zt_hub_name_pip_fw, zt_hub_body_pip, zt_hub_co_zoned, NULL, 3),
    ZT_HUB_TRACKED("pip_firewall_mgmt", "Microsoft.Network/publicIPAddresses", NULL, NULL,
                   zt_hub_name_pip_fw_mgmt, zt_hub_body_pip, zt_hub_co_zoned, NULL, 3),
    ZT_HUB_TRACKED("pip_bastion", "Microsoft.Network/publicIPAddresses", NULL, zt_hub_bastion_on,
                   zt_hub_name_pip_bastion, zt_hub_body_pip, zt_hub_co_zoned, NULL, 3),
    ZT_HUB_TRACKED("pip_gateway", "Microsoft.Network/publicIPAddresses", NULL, zt_hub_vpn_on,
                   zt_hub_name_pip_gateway, zt_hub_body_pip, zt_hub_co_zoned, NULL, 3),
    ZT_HUB_TRACKED("firewall_policy", "Microsoft.Network/firewallPolicies", NULL, NULL,
                   zt_hub_name_policy, zt_hub_body_policy, zt_hub_co_location, NULL, 10),
    {.key = "firewall_rules", .arm_type = "Microsoft.Network/firewallPolicies/ruleCollectionGroups",
     .depends_on = zt_hub_deps_rcg, .parent_id = zt_hub_parent_policy, .name = zt_hub_name_rcg,
     .body = zt_hub_body_rcg, .expected_seconds = 10},
    ZT_HUB_TRACKED("firewall", "Microsoft.Network/azureFirewalls", zt_hub_deps_firewall, NULL,
                   zt_hub_name_firewall, zt_hub_body_firewall, zt_hub_co_firewall, NULL, 600),
    ZT_HUB_TRACKED("bastion", "Microsoft.Network/bastionHosts", zt_hub_deps_bastion,
                   zt_hub_bastion_on, zt_hub_name_bastion, zt_hub_body_bastion,
                   zt_hub_co_location, NULL, 600),
    ZT_HUB_TRACKED("vpn_gateway", "Microsoft.Network/virtualNetworkGateways", zt_hub_deps_gateway,
                   zt_hub_vpn_on, zt_hub_name_gateway, zt_hub_body_gateway, zt_hub_co_location,
                   NULL, 2700),
    ZT_HUB_TRACKED("dns_resolver", "Microsoft.Network/dnsResolvers", zt_hub_deps_resolver,
                   zt_hub_resolver_on, zt_hub_name_resolver, zt_hub_body_resolver,
                   zt_hub_co_resolver, NULL, 120),
    {.key = "dns_resolver_inbound", .arm_type = "Microsoft.Network/dnsResolvers/inboundEndpoints",
     .depends_on = zt_hub_deps_inbound, .enabled = zt_hub_resolver_on,
     .parent_id = zt_hub_parent_resolver, .name = zt_hub_name_inbound,
     .body = zt_hub_body_inbound, .create_only = zt_hub_co_location, .expected_seconds = 60},
    {.key = "zone", .arm_type = "Microsoft.Network/privateDnsZones",
     .for_each = zt_hub_zone_names, .name = zt_hub_name_zone, .body = zt_hub_body_zone,
     .expected_seconds = 30, .delete_check = zt_hub_zone_delete_check},
    {.key = "zone_link", .arm_type = "Microsoft.Network/privateDnsZones/virtualNetworkLinks",
     .depends_on = zt_hub_deps_zone_link, .for_each = zt_hub_zone_names,
     .parent_id = zt_hub_parent_zone, .name = zt_hub_name_zone_link,
     .body = zt_hub_body_zone_link, .expected_seconds = 30},
    {.key = "diag_firewall", .arm_type = "Microsoft.Insights/diagnosticSettings",
     .depends_on = zt_hub_deps_diag_fw, .enabled = zt_hub_diag_on,
     .parent_id = zt_hub_parent_firewall, .name = zt_hub_name_diag,
     .body = zt_hub_body_diag_firewall, .expected_seconds = 5},
    {.key = "diag_bastion", .arm_type = "Microsoft.Insights/diagnosticSettings",
     .depends_on = zt_hub_deps_diag_bas, .enabled = zt_hub_diag_bastion_on,
     .parent_id = zt_hub_parent_bastion, .name = zt_hub_name_diag,
     .body = zt_hub_body_diag_other, .expected_seconds = 5},
    {.key = "diag_vpn_gateway", .arm_type = "Microsoft.Insights/diagnosticSettings",
     .depends_on = zt_hub_deps_diag_gw, .enabled = zt_hub_diag_gateway_on,
     .parent_id = zt_hub_parent_gateway, .name = zt_hub_name_diag,
     .body = zt_hub_body_diag_other, .expected_seconds = 5},
    ZT_HUB_DIAG_PIP_NODE("diag_pip_firewall", "pip_firewall", zt_hub_parent_pip_fw),
    ZT_HUB_DIAG_PIP_NODE("diag_pip_firewall_mgmt", "pip_firewall_mgmt",
                         zt_hub_parent_pip_fw_mgmt),
    ZT_HUB_DIAG_PIP_NODE("diag_pip_bastion", "pip_bastion", zt_hub_parent_pip_bastion),
    ZT_HUB_DIAG_PIP_NODE("diag_pip_gateway", "pip_gateway", zt_hub_parent_pip_gateway),
};

/* ---------------------------------------------------------------------
 * Outputs.
 * ------------------------------------------------------------------- */

static const zt_cty_value *zt_hub_out_vnet_id(const zt_comp_eval *ev)
{
    return zt_res_id_out(ev, "vnet");
}

static const zt_cty_value *zt_hub_out_firewall_id(const zt_comp_eval *ev)
{
    return zt_res_id_out(ev, "firewall");
}

static const zt_cty_value *zt_hub_out_policy_id(const zt_comp_eval *ev)
{
    return zt_res_id_out(ev, "firewall_policy");
}

static const zt_cty_value *zt_hub_out_rt_id(const zt_comp_eval *ev)
{
    return zt_res_id_out(ev, "route_table_gateway");
}

/* IDs of nodes that may be disabled: null then. */
static const zt_cty_value *zt_hub_out_bastion_id(const zt_comp_eval *ev)
{
    return zt_hub_bastion_on(ev) ? zt_res_id_out(ev, "bastion")
                                 : zt_res_str_or_null(zt_comp_arena(ev), NULL);
}

static const zt_cty_value *zt_hub_out_gateway_id(const zt_comp_eval *ev)
{
    return zt_hub_vpn_on(ev) ? zt_res_id_out(ev, "vpn_gateway")
                             : zt_res_str_or_null(zt_comp_arena(ev), NULL);
}

static const zt_cty_value *zt_hub_out_gateway_enabled(const zt_comp_eval *ev)
{
    const zt_cty_value *v = zt_comp_input(ev, "vpn_gateway");
    if (v && !zt_cty_is_wholly_known(v))
        return NULL;
    return zt_cty_bool(zt_comp_arena(ev), zt_hub_vpn_on(ev));
}

static const zt_cty_value *zt_hub_out_firewall_ip(const zt_comp_eval *ev)
{
    const char *ip = zt_comp_output(ev, "firewall",
                                    "/properties/ipConfigurations/0/properties/privateIPAddress");
    return ip ? zt_cty_string(zt_comp_arena(ev), ip) : NULL;
}

static const zt_cty_value *zt_hub_out_resolver_ip(const zt_comp_eval *ev)
{
    if (!zt_hub_resolver_on(ev))
        return zt_res_str_or_null(zt_comp_arena(ev), NULL);
    const char *ip = zt_comp_output(ev, "dns_resolver_inbound",
                                    "/properties/ipConfigurations/0/privateIpAddress");
    return ip ? zt_cty_string(zt_comp_arena(ev), ip) : NULL;
}

static const zt_cty_value *zt_hub_out_subnet_ids(const zt_comp_eval *ev)
{
    return zt_res_out_subnet_ids(ev, zt_hub_subnets, ZT_ARRAY_LEN(zt_hub_subnets));
}

static const zt_cty_value *zt_hub_out_subnet_cidrs(const zt_comp_eval *ev)
{
    return zt_res_out_subnet_cidrs(ev, "hub", zt_hub_subnets, ZT_ARRAY_LEN(zt_hub_subnets));
}

/* The zones of the inputs, and those whose delete failed (they exist
 * and spokes may still link to them). */
static const zt_cty_value *zt_hub_out_zone_ids(const zt_comp_eval *ev)
{
    zt_arena *a = zt_comp_arena(ev);
    size_t n, n_left;
    const char **zones = zt_hub_zone_names(ev, &n);
    const char **left_ids;
    const char **left = zt_comp_leftovers(ev, "zone", &left_ids, &n_left);
    if (!zones)
        return NULL;
    const char **keys = zt_arena_calloc(a, n + n_left + 1, sizeof(*keys));
    const char **ids = zt_arena_calloc(a, n + n_left + 1, sizeof(*ids));
    for (size_t i = 0; i < n + n_left; i++) {
        keys[i] = i < n ? zones[i] : left[i - n];
        ids[i] = i < n ? zt_comp_id(ev, zt_arena_printf(a, "zone[%s]", keys[i])) : left_ids[i - n];
        if (!ids[i])
            return NULL;
    }
    return zt_res_string_map(a, n + n_left, keys, ids);
}

static const zt_comp_output_def zt_hub_outputs[] = {
    {"virtual_network_id", zt_hub_out_vnet_id},
    {"subnet_ids", zt_hub_out_subnet_ids},
    {"subnet_cidrs", zt_hub_out_subnet_cidrs},
    {"firewall_id", zt_hub_out_firewall_id},
    {"firewall_private_ip", zt_hub_out_firewall_ip},
    {"firewall_policy_id", zt_hub_out_policy_id},
    {"bastion_id", zt_hub_out_bastion_id},
    {"gateway_enabled", zt_hub_out_gateway_enabled},
    {"gateway_id", zt_hub_out_gateway_id},
    {"resolver_inbound_ip", zt_hub_out_resolver_ip},
    {"private_dns_zone_ids", zt_hub_out_zone_ids},
    {"gateway_route_table_id", zt_hub_out_rt_id},
};

/* ---------------------------------------------------------------------
 * Plan-time checks.
 * ------------------------------------------------------------------- */

static const char *const zt_hub_tiers[] = {"Standard", "Premium", NULL};
static const char *const zt_hub_bastion_skus[] = {"Basic", "Standard", "Premium", NULL};
static const char *const zt_hub_vpn_skus[] = {
    "VpnGw1AZ", "VpnGw2AZ", "VpnGw3AZ", "VpnGw4AZ", "VpnGw5AZ",
    "VpnGw1",   "VpnGw2",   "VpnGw3",   "VpnGw4",   "VpnGw5",   NULL};

static void zt_hub_check_names(zt_res_check *k)
{
    const char *name = zt_res_known_str(k->config, "name");
    /* 40 keeps the longest derived name (pip-<name>-afw-mgmt) well inside
     * Azure's 80-character limit. */
    if (name && (!zt_res_name_ok(name, 40, "-_.") || strchr("._-", name[strlen(name) - 1])))
        zt_diag_error(k->c->diags, zt_res_path(k, "name"), "Invalid hub name",
                      "\"%s\" must be 1 to 40 letters, digits, '-', '_' or '.', starting and "
                      "ending with a letter or digit: every Azure resource name of the hub "
                      "derives from it.", name);
    zt_res_check_rg_name(k);
}

/* RFC 1918 and the shared address space (RFC 6598) Azure also accepts. */
static bool zt_hub_is_private(zt_ipv4_prefix p)
{
    static const zt_ipv4_prefix ranges[] = {
        {0x0a000000u, 8}, {0xac100000u, 12}, {0xc0a80000u, 16}, {0x64400000u, 10}};
    for (size_t i = 0; i < ZT_ARRAY_LEN(ranges); i++)
        if (p.len >= ranges[i].len && zt_res_overlap(p, ranges[i]))
            return true;
    return false;
}

/* The address space through the shared planner ("hub" layout): syntax,
 * host bits, minimum size and fit of every hub subnet. */
static const zt_addrplan *zt_hub_check_space(zt_res_check *k)
{
    const zt_cty_value *v = zt_cty_get_attr(k->config, "address_space");
    if (!v || v->is_null || !zt_cty_is_known(v))
        return NULL;
    zt_addrplan_request req = {.address_space = v->u.str.ptr,
                               .layout = "hub",
                               .address_space_path = zt_res_path(k, "address_space")};
    zt_addrplan *plan = NULL;
    if (zt_addrplan_compute(k->c->arena, &req, &plan, k->c->diags) != ZT_OK || !plan)
        return NULL;
    if (!zt_hub_is_private(plan->space))
        zt_diag_warning(k->c->diags, zt_res_path(k, "address_space"), "Public address space",
                        "%s is not a private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 "
                        "or 100.64.0.0/10). Azure accepts it, but traffic to the real owners "
                        "of those addresses would then stay inside your network.",
                        v->u.str.ptr);
    return plan;
}

static bool zt_hub_is_guid(const char *s)
{
    static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
    if (strlen(s) != sizeof(shape) - 1)
        return false;
    for (size_t i = 0; shape[i]; i++)
        if (shape[i] == '-' ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return false;
    return true;
}

static void zt_hub_check_vpn(zt_res_check *k, const zt_addrplan *plan, bool zones_empty)
{
    const zt_cty_value *vpn = zt_cty_get_attr(k->config, "vpn_gateway");
    zt_arena *a = k->c->arena;
    zt_path *base = zt_res_path(k, "vpn_gateway");
    if (!vpn || vpn->is_null || !zt_cty_is_known(vpn))
        return;
    const zt_cty_value *en = zt_cty_get_attr(vpn, "enabled");
    if (en && !en->is_null && (!zt_cty_is_known(en) || !en->u.b))
        return; /* settings of a disabled gateway are kept, not checked */
    zt_res_check_enum(k, vpn, base, "sku", zt_hub_vpn_skus, "Unsupported SKU",
                      "VPN gateway SKU");
    const char *sku = zt_res_known_str(vpn, "sku");
    if (zones_empty && (!sku || strstr(sku, "AZ")))
        zt_diag_error(k->c->diags, zt_path_attr(a, base, "sku"), "Zone-redundant SKU without zones",
                      "%s needs zone-redundant public IPs, but zones is empty; choose a SKU "
                      "without AZ (e.g. \"VpnGw2\") in a region without availability zones.",
                      sku ? sku : ZT_HUB_DEFAULT_VPN_SKU);

    const zt_cty_value *pool = zt_cty_get_attr(vpn, "client_address_pool");
    zt_path *pool_path = zt_path_attr(a, base, "client_address_pool");
    if (!pool || pool->is_null) {
        zt_diag_error(k->c->diags, pool_path, "Missing client address pool",
                      "A point-to-site gateway needs the CIDR its clients get addresses from, "
                      "e.g. \"172.16.201.0/24\".");
    } else if (zt_cty_is_known(pool)) {
        zt_ipv4_prefix p;
        bool host_bits = false;
        const char *why = NULL;
        if (zt_ipv4_parse_cidr(a, pool->u.str.ptr, &p, &host_bits, &why) != ZT_OK)
            zt_diag_error(k->c->diags, pool_path, "Invalid client address pool",
                          "\"%s\" is not an IPv4 network in CIDR notation%s%s.", pool->u.str.ptr,
                          host_bits ? ": host bits are set, did you mean " : "",
                          host_bits ? zt_ipv4_prefix_str(a, p) : "");
        else if (plan && zt_res_overlap(p, plan->space))
            zt_diag_error(k->c->diags, pool_path, "Client address pool overlaps the hub",
                          "%s overlaps the hub's address space %s: VPN clients need addresses "
                          "outside every VNet they reach.", pool->u.str.ptr,
                          zt_ipv4_prefix_str(a, plan->space));
    }

    const zt_cty_value *tenant = zt_cty_get_attr(vpn, "tenant_id");
    zt_path *tenant_path = zt_path_attr(a, base, "tenant_id");
    if (!tenant || tenant->is_null)
        zt_diag_error(k->c->diags, tenant_path, "Missing tenant",
                      "Microsoft Entra ID authentication needs the tenant ID (a GUID) whose "
                      "users may connect.");
    else if (zt_cty_is_known(tenant) && !zt_hub_is_guid(tenant->u.str.ptr))
        zt_diag_error(k->c->diags, tenant_path, "Invalid tenant ID",
                      "\"%s\" is not a GUID such as 00000000-0000-0000-0000-000000000000.",
                      tenant->u.str.ptr);
    const char *aud = zt_res_known_str(vpn, "audience");
    if (aud && !zt_hub_is_guid(aud))
        zt_diag_error(k->c->diags, zt_path_attr(a, base, "audience"), "Invalid audience",
                      "\"%s\" is not an application ID (GUID).", aud);
}

/* Returns whether zones is known to be empty. */
static bool zt_hub_check_zones(zt_res_check *k)
{
    const zt_cty_value *z = zt_cty_get_attr(k->config, "zones");
    if (!z || z->is_null || !zt_cty_is_known(z))
        return false;
    for (size_t i = 0; i < z->u.coll.n; i++) {
        const zt_cty_value *e = z->u.coll.elems[i];
        if (zt_cty_is_known(e) && !e->is_null && strcmp(e->u.str.ptr, "1") != 0 &&
            strcmp(e->u.str.ptr, "2") != 0 && strcmp(e->u.str.ptr, "3") != 0)
            zt_diag_error(k->c->diags, zt_path_index(k->c->arena, zt_res_path(k, "zones"),
                                                     (int64_t)i),
                          "Invalid availability zone", "\"%s\" is not a zone: use \"1\", \"2\" "
                          "or \"3\".", e->u.str.ptr);
    }
    return z->u.coll.n == 0;
}

static void zt_hub_check_dns_zones(zt_res_check *k)
{
    const zt_cty_value *z = zt_cty_get_attr(k->config, "private_dns_zones");
    if (!z || z->is_null || !zt_cty_is_known(z))
        return;
    for (size_t i = 0; i < z->u.coll.n; i++) {
        const zt_cty_value *e = z->u.coll.elems[i];
        if (zt_cty_is_known(e) && !e->is_null && !zt_res_dns_name_ok(e->u.str.ptr, false))
            zt_diag_error(k->c->diags, zt_res_path(k, "private_dns_zones"),
                          "Invalid private DNS zone name",
                          "\"%s\" is not a lower-case DNS name with at least two labels "
                          "(e.g. \"privatelink.blob.core.windows.net\").", e->u.str.ptr);
    }
}

static void zt_hub_check_workspace(zt_res_check *k)
{
    const char *id = zt_res_known_str(k->config, "log_analytics_workspace_id");
    if (id && !zt_res_id_ok(id, "/providers/Microsoft.OperationalInsights/workspaces/"))
        zt_diag_error(k->c->diags, zt_res_path(k, "log_analytics_workspace_id"),
                      "Invalid workspace ID",
                      "\"%s\" is not a Log Analytics workspace resource ID "
                      "(/subscriptions/.../resourceGroups/.../providers/"
                      "Microsoft.OperationalInsights/workspaces/...).", id);
}

static zt_rc zt_hub_validate(zt_call *c, const zt_schema *s, const zt_cty_value *config)
{
    ZT_UNUSED(s);
    zt_res_check k = {c, config};
    size_t errors = c->diags->errors;
    if (!config || config->is_null || !zt_cty_is_known(config))
        return ZT_OK;
    zt_hub_check_names(&k);
    zt_res_check_location(&k);
    zt_res_check_tags(&k);
    const zt_addrplan *plan = zt_hub_check_space(&k);
    bool zones_empty = zt_hub_check_zones(&k);
    zt_res_check_enum(&k, config, NULL, "firewall_sku_tier", zt_hub_tiers, "Unsupported SKU",
                      "firewall tier");
    zt_res_check_enum(&k, config, NULL, "bastion_sku", zt_hub_bastion_skus, "Unsupported SKU",
                      "Bastion SKU");
    zt_hub_check_vpn(&k, plan, zones_empty);
    zt_hub_check_dns_zones(&k);
    zt_hub_check_workspace(&k);
    return c->diags->errors > errors ? ZT_ERR_INVALID : ZT_OK;
}

/* The hub's address space among the networks peered with it, for the
 * spokes planned in the same run (before the hub VNet exists) to check
 * theirs against; and, on a create, that its VNet and policy are new, so
 * that nothing else can be peered with or grouped in them yet. */
static void zt_hub_plan_check(zt_call *c, const zt_cty_value *config, const zt_cty_value *prior,
                              json_t *(*get)(void *getter, const char *arm_id), void *getter)
{
    ZT_UNUSED(get);
    ZT_UNUSED(getter);
    zt_arena *a = c->arena;
    const char *name = zt_res_known_str(config, "name");
    const char *rg = zt_res_known_str(config, "resource_group_name");
    const char *space = zt_res_known_str(config, "address_space");
    const char *sub = c->provider->config.subscription_id;
    size_t n;
    if (!name || !rg || !space || !sub)
        return;
    const char *net = zt_arena_printf(a, "/subscriptions/%s/resourceGroups/%s/providers/"
                                         "Microsoft.Network", sub, rg);
    const char *vnet = zt_arena_printf(a, "%s/virtualNetworks/" ZT_HUB_VNET_PREFIX "%s", net, name);
    zt_comp_claim_put(c, zt_res_peers_scope(a, vnet), zt_res_owner(a, "zerotrust_hub", name),
                      space, &n);
    if (prior)
        return;
    zt_comp_claim_put(c, ZT_RES_CREATED_SCOPE, vnet, "", &n);
    zt_comp_claim_put(c, ZT_RES_CREATED_SCOPE,
                      zt_arena_printf(a, "%s/firewallPolicies/" ZT_HUB_POLICY_PREFIX "%s", net, name),
                      "", &n);
}

/* ---------------------------------------------------------------------
 * Import: rebuild the inputs from the hub VNet's ID, as Azure holds them.
 * The inputs with defaults are optional + computed, so a configuration
 * that leaves them out, or spells the default, plans no change after the
 * import.
 * ------------------------------------------------------------------- */

typedef struct zt_hub_import_ctx {
    zt_res_reader r;
    const zt_schema *s;
    zt_hub_found h;
    zt_res_inputs in;   /* attribute -> value */
} zt_hub_import_ctx;

json_t *zt_hub_get(const zt_res_reader *r, const zt_hub_found *h, const char *fmt)
{
    return zt_res_read(r, zt_arena_printf(r->c->arena, fmt, h->net, h->id.name));
}

static const zt_cty_value *zt_hub_imp_zones_attr(zt_hub_import_ctx *m, const json_t *fw)
{
    zt_arena *a = m->r.c->arena;
    const json_t *z = json_object_get(fw, "zones");
    size_t n = json_array_size(z);
    const zt_cty_value **vals = zt_arena_calloc(a, n + 1, sizeof(*vals));
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(z, i));
        vals[i] = zt_cty_string(a, s ? s : "");
    }
    if (!fw) /* nothing to read them from: keep the default */
        return zt_cty_null(a, zt_cty_type_list(a, &zt_cty_string_type));
    return zt_cty_list(a, &zt_cty_string_type, n, vals);
}

static const zt_cty_value *zt_hub_imp_vpn(zt_hub_import_ctx *m, const zt_cty_type *t)
{
    zt_arena *a = m->r.c->arena;
    json_t *gw = zt_hub_get(&m->r, &m->h, "%s/virtualNetworkGateways/vgw-%s");
    if (!gw)
        return zt_cty_null(a, t);
    const char *tenant_url = zt_res_jstr(gw, "properties/vpnClientConfiguration/aadTenant");
    const char *tenant = NULL;
    if (tenant_url) { /* https://login.microsoftonline.com/<tenant>/ */
        const char *end = tenant_url + strlen(tenant_url);
        if (end > tenant_url && end[-1] == '/')
            end--;
        const char *start = end;
        while (start > tenant_url && start[-1] != '/')
            start--;
        tenant = zt_arena_strndup(a, start, (size_t)(end - start));
    }
    const char *names[] = {"enabled", "sku", "client_address_pool", "tenant_id", "audience"};
    const zt_cty_value *vals[] = {
        zt_cty_bool(a, true),
        zt_res_str_or_null(a, zt_res_jstr(gw, "properties/sku/name")),
        zt_res_str_or_null(a, zt_res_jstr(gw, "properties/vpnClientConfiguration/"
                                              "vpnClientAddressPool/addressPrefixes/0")),
        zt_res_str_or_null(a, tenant),
        zt_res_str_or_null(a, zt_res_jstr(gw, "properties/vpnClientConfiguration/aadAudience")),
    };
    zt_res_inputs in = {.names = names, .vals = vals, .n = ZT_ARRAY_LEN(names)};
    return zt_res_inputs_object(a, t, &in);
}

/* Which zones carry the hub's VNet link: the defaults, plus any other
 * zone of the group when the getter can list them. */
const char **zt_hub_linked_zones(const zt_res_reader *r, const zt_hub_found *h, size_t *n_out)
{
    zt_arena *a = r->c->arena;
    const char *link = zt_arena_printf(a, "link-vnet-%s", h->id.name);
    size_t cap = ZT_ARRAY_LEN(zt_hub_default_zones), n = 0;
    const char **cand = zt_arena_calloc(a, cap, sizeof(*cand));
    memcpy(cand, zt_hub_default_zones, sizeof(zt_hub_default_zones));
    json_t *list = zt_res_read_list(r, zt_arena_printf(a, "%s/privateDnsZones", h->net));
    const json_t *item;
    size_t idx;
    json_array_foreach(list, idx, item)
    {
        const char *zn = zt_res_jstr(item, "name");
        bool dup = !zn;
        for (size_t i = 0; zn && i < ZT_ARRAY_LEN(zt_hub_default_zones); i++)
            dup |= strcasecmp(zn, zt_hub_default_zones[i]) == 0;
        if (dup)
            continue;
        cand = zt_arena_realloc(a, cand, cap * sizeof(*cand), (cap + 1) * sizeof(*cand));
        cand[cap++] = zt_arena_strdup(a, zn);
    }
    const char **found = zt_arena_calloc(a, cap + 1, sizeof(*found));
    for (size_t i = 0; i < cap; i++)
        if (zt_res_read(r, zt_arena_printf(a, "%s/privateDnsZones/%s/virtualNetworkLinks/%s",
                                           h->net, cand[i], link)))
            found[n++] = cand[i];
    *n_out = n;
    return found;
}

static const zt_cty_value *zt_hub_imp_dns_zones(zt_hub_import_ctx *m)
{
    size_t n;
    const char **names = zt_hub_linked_zones(&m->r, &m->h, &n);
    return zt_res_string_set(m->r.c->arena, names, n);
}

/* What is adopted must be a hub: a VNet with the firewall subnet and the
 * hub's firewall in it (a spoke's VNet, adopted as a hub, would be
 * replaced by the next plan). */
static zt_rc zt_hub_check_shape(zt_call *c, const zt_path *path, const char *id,
                                const zt_hub_found *h)
{
    const char *vnet_id = zt_res_jstr(h->vnet, "id");
    const char *fw_subnet = zt_arena_printf(c->arena, "%s/subnets/" ZT_HUB_SN_FIREWALL,
                                            vnet_id ? vnet_id : id);
    bool has_subnet = false;
    json_t *sn;
    size_t i;
    json_array_foreach(zt_res_jget(h->vnet, "properties/subnets"), i, sn)
    {
        const char *n = zt_res_jstr(sn, "name");
        has_subnet |= n && strcmp(n, ZT_HUB_SN_FIREWALL) == 0;
    }
    bool fw_in_it = false;
    json_array_foreach(zt_res_jget(h->fw, "properties/ipConfigurations"), i, sn)
    {
        const char *s = zt_res_jstr(sn, "properties/subnet/id");
        fw_in_it |= s && strcasecmp(s, fw_subnet) == 0;
    }
    if (has_subnet && fw_in_it)
        return ZT_OK;
    return zt_diag_error(c->diags, path, "Not a zerotrust_hub VNet",
                         "%s has %s: it is not the VNet of a hub that zerotrust_hub created "
                         "(a spoke's VNet is imported as zerotrust_spoke).", id,
                         !has_subnet ? "no " ZT_HUB_SN_FIREWALL
                                     : zt_arena_printf(c->arena, "no firewall afw-%s in its "
                                                       ZT_HUB_SN_FIREWALL, h->id.name));
}

const zt_res_id_shape zt_hub_id_shape = {
    "Microsoft.Network", "virtualNetworks", "vnet-", "virtual network", "zerotrust_hub VNet",
    "zerotrust_hub"};

zt_rc zt_hub_find(const zt_res_reader *r, const char *id, const zt_path *path,
                  const char *bad_id_summary, zt_hub_found *out)
{
    zt_call *c = r->c;
    size_t errors = c->diags->errors;
    memset(out, 0, sizeof(*out));
    ZT_TRY(zt_res_parse_id(c, id, &zt_hub_id_shape, path, bad_id_summary, &out->id));
    out->net = zt_arena_printf(c->arena, "%s/providers/Microsoft.Network", out->id.rg_id);
    out->vnet = zt_hub_get(r, out, "%s/virtualNetworks/vnet-%s");
    if (c->diags->errors > errors) /* the read said why */
        return ZT_ERR_REMOTE;
    if (!out->vnet)
        return zt_diag_error(c->diags, path, "Hub not found",
                             "The virtual network %s does not exist.", id);
    out->fw = zt_hub_get(r, out, "%s/azureFirewalls/afw-%s");
    if (c->diags->errors > errors)
        return ZT_ERR_REMOTE;
    return zt_hub_check_shape(c, path, id, out);
}

static zt_rc zt_hub_import(zt_call *c, const zt_schema *s, const char *id,
                           json_t *(*get)(void *getter, const char *arm_id), void *getter,
                           const zt_cty_value **inputs)
{
    zt_arena *a = c->arena;
    zt_hub_import_ctx m = {.r = {.c = c, .get = get, .getter = getter}, .s = s};
    size_t errors = c->diags->errors;
    ZT_TRY(zt_hub_find(&m.r, id, NULL, "Invalid import ID", &m.h));
    zt_res_inputs_init(&m.in, a, s->type->n);
    json_t *vnet = m.h.vnet, *fw = m.h.fw;
    json_t *policy = zt_hub_get(&m.r, &m.h, "%s/firewallPolicies/afwp-%s");
    json_t *bastion = zt_hub_get(&m.r, &m.h, "%s/bastionHosts/bas-%s");
    json_t *resolver = zt_hub_get(&m.r, &m.h, "%s/dnsResolvers/dnspr-%s");
    json_t *diag = NULL;
    if (fw)
        diag = zt_hub_get(&m.r, &m.h, "%s/azureFirewalls/afw-%s/providers/Microsoft.Insights/"
                                      "diagnosticSettings/" ZT_HUB_DIAG_NAME);

    zt_res_inputs_set(&m.in, "name", zt_cty_string(a, m.h.id.name));
    zt_res_inputs_set(&m.in, "resource_group_name", zt_cty_string(a, m.h.id.rg));
    zt_res_inputs_set(&m.in, "location", zt_res_str_or_null(a, zt_res_jstr(vnet, "location")));
    const char *space = zt_res_jstr(vnet, "properties/addressSpace/addressPrefixes/0");
    zt_res_inputs_set(&m.in, "address_space", zt_res_str_or_null(a, space));
    zt_res_inputs_set(&m.in, "tags", zt_res_imp_tags(a, vnet));
    zt_res_inputs_set(&m.in, "zones", zt_hub_imp_zones_attr(&m, fw));
    zt_res_inputs_set(&m.in, "firewall_sku_tier",
                      zt_res_str_or_null(a, zt_res_jstr(policy, "properties/sku/tier")));
    zt_res_inputs_set(&m.in, "bastion_enabled", zt_cty_bool(a, bastion != NULL));
    zt_res_inputs_set(&m.in, "bastion_sku",
                      zt_res_str_or_null(a, zt_res_jstr(bastion, "sku/name")));
    ssize_t vpn_idx = zt_cty_type_attr_index(s->type, "vpn_gateway");
    if (vpn_idx >= 0)
        zt_res_inputs_set(&m.in, "vpn_gateway", zt_hub_imp_vpn(&m, s->type->types[vpn_idx]));
    zt_res_inputs_set(&m.in, "dns_resolver_enabled", zt_cty_bool(a, resolver != NULL));
    zt_res_inputs_set(&m.in, "private_dns_zones", zt_hub_imp_dns_zones(&m));
    zt_res_inputs_set(&m.in, "log_analytics_workspace_id",
                      zt_res_str_or_null(a, zt_res_jstr(diag, "properties/workspaceId")));

    /* Everything else (computed attributes, timeouts) null, in the
     * schema's attribute order. */
    *inputs = zt_res_inputs_object(a, s->type, &m.in);
    /* A GET that failed for another reason than 404 has said why. */
    return c->diags->errors > errors ? ZT_ERR_REMOTE : ZT_OK;
}

/* ---------------------------------------------------------------------
 * The definition.
 * ------------------------------------------------------------------- */

/* Schema version 1: virtual_network_id, as azurerm names it. */
static const zt_upgrade_op zt_hub_v0_ops[] = {
    {ZT_UPGRADE_RENAME, "vnet_id", "virtual_network_id"},
};

static const zt_state_upgrade zt_hub_upgrades[] = {
    {0, zt_hub_v0_ops, ZT_ARRAY_LEN(zt_hub_v0_ops), NULL},
};

const zt_composite_def zt_composite_hub = {
    .type_name = "zerotrust_hub",
    .nodes = zt_hub_nodes,
    .n_nodes = ZT_ARRAY_LEN(zt_hub_nodes),
    .outputs = zt_hub_outputs,
    .n_outputs = ZT_ARRAY_LEN(zt_hub_outputs),
    .id_node = "vnet",
    .upgrades = zt_hub_upgrades,
    .n_upgrades = ZT_ARRAY_LEN(zt_hub_upgrades),
    .validate = zt_hub_validate,
    .import = zt_hub_import,
    .plan_check = zt_hub_plan_check,
    /* A VPN gateway alone takes up to 45 minutes. */
    .default_create_ms = 90 * 60 * 1000,
    .default_update_ms = 90 * 60 * 1000,
    .default_delete_ms = 60 * 60 * 1000,
    .default_read_ms = 10 * 60 * 1000,
};
