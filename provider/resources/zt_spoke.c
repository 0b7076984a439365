/* zt_spoke.c - zerotrust_spoke: one workload spoke of the hub-and-spoke
 * network (platform-design.md, "zerotrust_spoke"), as a composite
 * definition for the engine (zt_composite.h). The hub is referenced only
 * through its outputs (inputs hub_*), so hub and spokes can be created in
 * one apply: while a hub output is unknown, the bodies that need it are
 * unknown (NULL) and the engine plans them as such.
 *
 * Import: by the spoke VNet ID; the hub inputs are rebuilt from Azure.
 *
 * Layout decisions:
 *
 *  - Subnets are inline in the VNet body (as in the hub): one PUT, drift
 *    in any subnet is VNet drift. Peerings are kept by ARM (and by the
 *    engine's preserve) when a VNet PUT omits them.
 *  - The spoke's own route table carries its 0.0.0.0/0 route inline: the
 *    spoke owns the whole table.
 *  - Hub-side pieces are separate child resources that the spoke owns:
 *    the hub->spoke peering (child of the hub VNet) and its route in the
 *    hub's GatewaySubnet route table (routeTables/routes, never a PUT of
 *    the hub's table). The ARM client serializes each of them per hub
 *    VNet / route table (zt_arm_serial_key), so many spokes applied in
 *    parallel never overlap on the hub.
 *  - Firewall rules: Azure caps a policy at 90 rule collection groups, so
 *    spokes share ZT_SPOKE_RCG_BUCKETS groups ("spokes-<bucket>", the
 *    bucket a hash of the spoke's name, the group's priority derived from
 *    it); each spoke owns two rule collections in its group (network and
 *    application rules cannot share one), at firewall_rule_priority. The
 *    engine writes them as a part of the shared group (zt_composite.h,
 *    `part`): read-modify-write under the group's etag, coalesced with the
 *    other spokes' writes of the same process.
 *  - The spoke->hub peering waits for the hub->spoke peering: with
 *    gateway transit, useRemoteGateways needs the hub side to allow it.
 *    Destroy runs the other way round.
 *  - Egress: every subnet in firewall_egress_subnets gets the route table
 *    (0/0 to the firewall); a NAT gateway is only for the others (a 0/0
 *    user route wins over NAT, so NAT there would be paid for and unused).
 */
#include "zt_res.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Subnet names of the address planner's "spoke" layout. */
#define ZT_SPOKE_SN_HOST "databricks-host"
#define ZT_SPOKE_SN_CONTAINER "databricks-container"
#define ZT_SPOKE_SN_PE "private-endpoints"
#define ZT_SPOKE_SN_FUNC "functions"

static const char *const zt_spoke_subnets[] = {ZT_SPOKE_SN_HOST, ZT_SPOKE_SN_CONTAINER,
                                               ZT_SPOKE_SN_PE, ZT_SPOKE_SN_FUNC};
/* NSG node key per subnet (same order). */
static const char *const zt_spoke_nsg_nodes[] = {"nsg_databricks_host", "nsg_databricks_container",
                                                 "nsg_private_endpoints", "nsg_functions"};
/* Default: every workload subnet egresses through the hub firewall. */
static const char *const zt_spoke_default_fw_subnets[] = {ZT_SPOKE_SN_HOST, ZT_SPOKE_SN_CONTAINER,
                                                          ZT_SPOKE_SN_FUNC};

#define ZT_SPOKE_DIAG_NAME "zerotrust-law"
#define ZT_SPOKE_DNS_ZONE_LINKS "zone_links"
#define ZT_SPOKE_DNS_RESOLVER "resolver"
#define ZT_SPOKE_DNS_FIREWALL "firewall"

/* Egress allowed by the spoke's rule collection group (platform-design.md,
 * "Egress through the firewall"). */
static const char *const zt_spoke_pypi[] = {"pypi.org", "files.pythonhosted.org", NULL};
static const char *const zt_spoke_ubuntu[] = {"archive.ubuntu.com", "security.ubuntu.com",
                                              "azure.archive.ubuntu.com", NULL};
static const char *const zt_spoke_github[] = {
    "github.com", "api.github.com", "codeload.github.com", "objects.githubusercontent.com",
    "raw.githubusercontent.com", NULL};

/* ---------------------------------------------------------------------
 * Inputs.
 * ------------------------------------------------------------------- */

static bool zt_spoke_known(const zt_cty_value *v)
{
    return v && !v->is_null && zt_cty_is_wholly_known(v);
}

static bool zt_spoke_in(const char *const *list, size_t n, const char *s)
{
    for (size_t i = 0; list && i < n; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

/* Does the subnet route 0/0 to the firewall? *unknown when the input is. */
static bool zt_spoke_fw_routed(const zt_comp_eval *ev, const char *subnet, bool *unknown)
{
    size_t n = 0;
    const char **l = zt_res_strings(ev, "firewall_egress_subnets", zt_spoke_default_fw_subnets,
                                  ZT_ARRAY_LEN(zt_spoke_default_fw_subnets), &n);
    if (!l) {
        *unknown = true;
        return false;
    }
    return zt_spoke_in(l, n, subnet);
}

static bool zt_spoke_nat_on_subnet(const zt_comp_eval *ev, const char *subnet, bool *unknown)
{
    size_t n = 0;
    const char **l = zt_res_strings(ev, "nat_gateway_subnets", NULL, 0, &n);
    if (!l) {
        *unknown = true;
        return false;
    }
    return zt_spoke_in(l, n, subnet);
}

static const char *zt_spoke_dns_mode(const zt_comp_eval *ev)
{
    const char *m = zt_comp_input_str(ev, "dns_mode");
    return m ? m : ZT_SPOKE_DNS_ZONE_LINKS;
}

/* ---------------------------------------------------------------------
 * Names.
 * ------------------------------------------------------------------- */

#define ZT_SPOKE_NAME_FN(fn, prefix, suffix) \
    static const char *fn(const zt_comp_eval *ev) { return zt_res_named(ev, prefix, suffix); }

ZT_SPOKE_NAME_FN(zt_spoke_name_vnet, "vnet-", "")
ZT_SPOKE_NAME_FN(zt_spoke_name_rt, "rt-", "")
ZT_SPOKE_NAME_FN(zt_spoke_name_nsg_host, "nsg-", "-dbw-host")
ZT_SPOKE_NAME_FN(zt_spoke_name_nsg_container, "nsg-", "-dbw-container")
ZT_SPOKE_NAME_FN(zt_spoke_name_nsg_pe, "nsg-", "-pe")
ZT_SPOKE_NAME_FN(zt_spoke_name_nsg_func, "nsg-", "-func")
ZT_SPOKE_NAME_FN(zt_spoke_name_nat, "ng-", "")
ZT_SPOKE_NAME_FN(zt_spoke_name_pip_nat, "pip-", "-ng")
ZT_SPOKE_NAME_FN(zt_spoke_name_hub_peering, "peer-hub-to-", "")
ZT_SPOKE_NAME_FN(zt_spoke_name_hub_route, "spoke-", "")
ZT_SPOKE_NAME_FN(zt_spoke_name_zone_link, "link-vnet-", "")

/* Groups the spokes of one policy share: few, so that the writes of many
 * spokes land in few group PUTs (Azure runs one write per policy at a
 * time), yet far below the policy's 90 groups and each group far below
 * its 2 MB (a spoke's collections are ~2.5 KB). */
#define ZT_SPOKE_RCG_BUCKETS 4
#define ZT_SPOKE_RCG_PRIORITY 60000 /* + bucket: after the hub's and users' groups */

/* FNV-1a of the spoke's name: the same bucket in every process. */
static unsigned zt_spoke_bucket(const char *name)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h % ZT_SPOKE_RCG_BUCKETS;
}

static const char *zt_spoke_rcg_name(zt_arena *a, const char *name)
{
    return zt_arena_printf(a, "spokes-%u", zt_spoke_bucket(name));
}

static const char *zt_spoke_name_rcg(const zt_comp_eval *ev)
{
    const char *name = zt_comp_input_str(ev, "name");
    return name ? zt_spoke_rcg_name(zt_comp_arena(ev), name) : NULL;
}

/* The spoke's rule collections in the shared group. */
static const char *zt_spoke_coll(zt_arena *a, const char *name, bool network)
{
    return zt_arena_printf(a, "spoke-%s-%s", name, network ? "network" : "application");
}

static const char *zt_spoke_part_rcg(const zt_comp_eval *ev)
{
    zt_arena *a = zt_comp_arena(ev);
    const char *name = zt_comp_input_str(ev, "name");
    return name ? zt_arena_printf(a, "%s,%s", zt_spoke_coll(a, name, true),
                                  zt_spoke_coll(a, name, false))
                : NULL;
}

/* Before the shared groups, each spoke had a group of its own in the
 * policy, "spoke-<name>": import tracks one it finds, for the next apply to
 * move (zt_comp_node_def.former_id). */
#define ZT_SPOKE_FORMER_RCG "spoke-"

static const char *zt_spoke_former_rcg(const zt_comp_eval *ev)
{
    const char *policy = zt_comp_input_str(ev, "hub_firewall_policy_id");
    const char *name = zt_comp_input_str(ev, "name");
    return policy && name ? zt_arena_printf(zt_comp_arena(ev), "%s/ruleCollectionGroups/"
                                            ZT_SPOKE_FORMER_RCG "%s", policy, name)
                          : NULL;
}

static const char *zt_spoke_name_peering(const zt_comp_eval *ev)
{
    ZT_UNUSED(ev);
    return "peer-to-hub";
}

/* ---------------------------------------------------------------------
 * Parents (hub-side pieces live under the hub's resources).
 * ------------------------------------------------------------------- */

static const char *zt_spoke_parent_vnet(const zt_comp_eval *ev)
{
    return zt_comp_id(ev, "vnet");
}

static const char *zt_spoke_parent_hub_vnet(const zt_comp_eval *ev)
{
    return zt_comp_input_str(ev, "hub_virtual_network_id");
}

static const char *zt_spoke_parent_policy(const zt_comp_eval *ev)
{
    return zt_comp_input_str(ev, "hub_firewall_policy_id");
}

static const char *zt_spoke_parent_hub_rt(const zt_comp_eval *ev)
{
    return zt_comp_input_str(ev, "hub_gateway_route_table_id");
}

static const char *zt_spoke_parent_zone(const zt_comp_eval *ev)
{
    const zt_cty_value *m = zt_comp_input(ev, "hub_private_dns_zone_ids");
    if (!zt_spoke_known(m))
        return NULL;
    const zt_cty_value *v = zt_cty_map_get(m, zt_comp_instance(ev));
    return v && !v->is_null ? v->u.str.ptr : NULL;
}

/* ---------------------------------------------------------------------
 * Enabled / for_each.
 * ------------------------------------------------------------------- */

static bool zt_spoke_nat_on(const zt_comp_eval *ev)
{
    const zt_cty_value *v = zt_comp_input(ev, "nat_gateway_subnets");
    if (!v || v->is_null)
        return false;
    return !zt_cty_is_known(v) || v->u.coll.n > 0;
}

/* A workspace ID not known yet (created in the same apply) counts as set. */
static bool zt_spoke_diag_on(const zt_comp_eval *ev)
{
    return zt_comp_input_set(ev, "log_analytics_workspace_id");
}

static bool zt_spoke_flow_logs_on(const zt_comp_eval *ev)
{
    return zt_comp_input_set(ev, "flow_logs");
}

static const char **zt_spoke_zone_names(const zt_comp_eval *ev, size_t *n)
{
    *n = 0;
    /* An unknown mode counts as zone links (the default). */
    const zt_cty_value *mode = zt_comp_input(ev, "dns_mode");
    if (mode && !mode->is_null && zt_cty_is_known(mode) &&
        strcmp(mode->u.str.ptr, ZT_SPOKE_DNS_ZONE_LINKS) != 0)
        return zt_arena_calloc(zt_comp_arena(ev), 1, sizeof(char *));
    const zt_cty_value *m = zt_comp_input(ev, "hub_private_dns_zone_ids");
    if (m && !m->is_null && !zt_cty_is_known(m))
        return NULL; /* the instances are not known until the map is */
    const char **out = zt_arena_calloc(zt_comp_arena(ev), (m && !m->is_null ? m->u.coll.n : 0) + 1,
                                       sizeof(*out));
    for (size_t i = 0; m && !m->is_null && i < m->u.coll.n; i++)
        out[i] = m->u.coll.keys[i];
    *n = m && !m->is_null ? m->u.coll.n : 0;
    return out;
}

/* ---------------------------------------------------------------------
 * Bodies (NULL when something needed is not known yet).
 * ------------------------------------------------------------------- */

static json_t *zt_spoke_body_nsg(const zt_comp_eval *ev)
{
    /* No rules of our own: the defaults deny inbound from the internet,
     * egress is the firewall's job, and Databricks (NoAzureDatabricksRules
     * with private link) adds none. Rules others add are kept (the engine
     * preserves securityRules on update). */
    return zt_res_tracked(ev, json_object());
}

static json_t *zt_spoke_body_rt(const zt_comp_eval *ev)
{
    const char *fw_ip = zt_comp_input_str(ev, "hub_firewall_private_ip");
    if (!fw_ip)
        return NULL;
    json_t *routes = json_pack("[{s:s,s:{s:s,s:s,s:s}}]", "name", "default-via-firewall",
                               "properties", "addressPrefix", "0.0.0.0/0", "nextHopType",
                               "VirtualAppliance", "nextHopIpAddress", fw_ip);
    /* Learned routes (e.g. from the VPN gateway) must not bypass the
     * firewall. */
    return zt_res_tracked(ev, json_pack("{s:b,s:o}", "disableBgpRoutePropagation", 1, "routes",
                                          routes));
}

static json_t *zt_spoke_body_pip_nat(const zt_comp_eval *ev)
{
    json_t *body = zt_res_tracked(ev, json_pack("{s:s,s:s}", "publicIPAllocationMethod",
                                                  "Static", "publicIPAddressVersion", "IPv4"));
    if (body)
        json_object_set_new(body, "sku", json_pack("{s:s,s:s}", "name", "Standard", "tier",
                                                   "Regional"));
    return body;
}

static json_t *zt_spoke_body_nat(const zt_comp_eval *ev)
{
    json_t *pip = zt_res_ref(zt_comp_id(ev, "pip_nat"));
    if (!pip)
        return NULL;
    json_t *body = zt_res_tracked(ev, json_pack("{s:i,s:[o]}", "idleTimeoutInMinutes", 4,
                                                  "publicIpAddresses", pip));
    if (body)
        json_object_set_new(body, "sku", json_pack("{s:s}", "name", "Standard"));
    return body;
}

static json_t *zt_spoke_subnet(const zt_comp_eval *ev, const zt_addrplan *plan, size_t i,
                               bool *unknown)
{
    const char *name = zt_spoke_subnets[i];
    json_t *p = json_pack("{s:s,s:o,s:b}", "addressPrefix", zt_res_subnet_cidr(plan, name),
                          "networkSecurityGroup", zt_res_ref(zt_comp_id(ev, zt_spoke_nsg_nodes[i])),
                          "defaultOutboundAccess", 0);
    if (!p) {
        *unknown = true;
        return NULL;
    }
    if (zt_spoke_fw_routed(ev, name, unknown))
        json_object_set_new(p, "routeTable", zt_res_ref(zt_comp_id(ev, "route_table")));
    if (zt_spoke_nat_on_subnet(ev, name, unknown)) {
        json_t *ng = zt_res_ref(zt_comp_id(ev, "nat_gateway"));
        if (!ng)
            *unknown = true;
        else
            json_object_set_new(p, "natGateway", ng);
    }
    const char *service = NULL;
    if (strcmp(name, ZT_SPOKE_SN_HOST) == 0 || strcmp(name, ZT_SPOKE_SN_CONTAINER) == 0)
        service = "Microsoft.Databricks/workspaces";
    else if (strcmp(name, ZT_SPOKE_SN_FUNC) == 0)
        service = "Microsoft.Web/serverFarms";
    if (service)
        json_object_set_new(p, "delegations",
                            json_pack("[{s:s,s:{s:s}}]", "name", "delegation", "properties",
                                      "serviceName", service));
    else /* private endpoints: let the NSG and route tables apply to them */
        json_object_set_new(p, "privateEndpointNetworkPolicies", json_string("Enabled"));
    return json_pack("{s:s,s:o}", "name", name, "properties", p);
}

static json_t *zt_spoke_body_vnet(const zt_comp_eval *ev)
{
    const char *space = zt_comp_input_str(ev, "address_space");
    const zt_addrplan *plan = zt_res_addrplan(zt_comp_arena(ev), space, "spoke");
    if (!plan)
        return NULL;
    bool unknown = false;
    json_t *subnets = json_array();
    for (size_t i = 0; i < ZT_ARRAY_LEN(zt_spoke_subnets); i++) {
        json_t *sn = zt_spoke_subnet(ev, plan, i, &unknown);
        if (sn)
            json_array_append_new(subnets, sn);
    }
    json_t *p = json_pack("{s:{s:[s]},s:o}", "addressSpace", "addressPrefixes", space, "subnets",
                          subnets);
    const char *mode = zt_spoke_dns_mode(ev);
    const zt_cty_value *mv = zt_comp_input(ev, "dns_mode");
    if (mv && !zt_cty_is_known(mv))
        unknown = true;
    const char *dns = NULL;
    if (strcmp(mode, ZT_SPOKE_DNS_RESOLVER) == 0)
        dns = zt_comp_input_str(ev, "hub_resolver_inbound_ip");
    else if (strcmp(mode, ZT_SPOKE_DNS_FIREWALL) == 0)
        dns = zt_comp_input_str(ev, "hub_firewall_private_ip");
    if (strcmp(mode, ZT_SPOKE_DNS_ZONE_LINKS) != 0) {
        if (!dns)
            unknown = true;
        else
            json_object_set_new(p, "dhcpOptions", json_pack("{s:[s]}", "dnsServers", dns));
    }
    if (unknown) {
        json_decref(p);
        return NULL;
    }
    return zt_res_tracked(ev, p);
}

static json_t *zt_spoke_peering(const char *remote, bool allow_transit, bool use_remote)
{
    return json_pack("{s:{s:{s:s},s:b,s:b,s:b,s:b}}", "properties", "remoteVirtualNetwork", "id",
                     remote, "allowVirtualNetworkAccess", 1, "allowForwardedTraffic", 1,
                     "allowGatewayTransit", allow_transit, "useRemoteGateways", use_remote);
}

/* hub_gateway_enabled: false when null; -1 while unknown. */
static int zt_spoke_gateway(const zt_comp_eval *ev)
{
    const zt_cty_value *v = zt_comp_input(ev, "hub_gateway_enabled");
    if (v && !zt_cty_is_known(v))
        return -1;
    return v && !v->is_null && v->u.b;
}

static json_t *zt_spoke_body_peering(const zt_comp_eval *ev)
{
    const char *hub = zt_comp_input_str(ev, "hub_virtual_network_id");
    int gw = zt_spoke_gateway(ev);
    if (!hub || gw < 0)
        return NULL;
    return zt_spoke_peering(hub, false, gw);
}

static json_t *zt_spoke_body_hub_peering(const zt_comp_eval *ev)
{
    const char *spoke = zt_comp_id(ev, "vnet");
    int gw = zt_spoke_gateway(ev);
    if (!spoke || gw < 0)
        return NULL;
    return zt_spoke_peering(spoke, gw, false);
}

static json_t *zt_spoke_body_zone_link(const zt_comp_eval *ev)
{
    json_t *vnet = zt_res_ref(zt_comp_id(ev, "vnet"));
    json_t *tags = zt_comp_tags(ev);
    if (!vnet || !tags) {
        json_decref(vnet);
        json_decref(tags);
        return NULL;
    }
    return json_pack("{s:s,s:o,s:{s:o,s:b,s:s}}", "location", "global", "tags", tags,
                     "properties", "virtualNetwork", vnet, "registrationEnabled", 0,
                     "resolutionPolicy", "Default");
}

static json_t *zt_spoke_strings(const char *const *list)
{
    json_t *a = json_array();
    for (size_t i = 0; list[i]; i++)
        json_array_append_new(a, json_string(list[i]));
    return a;
}

static json_t *zt_spoke_net_rule(const char *name, const char *source, const char *dest,
                                 const char *const *ports)
{
    return json_pack("{s:s,s:s,s:[s],s:[s],s:[s],s:o}", "ruleType", "NetworkRule", "name", name,
                     "ipProtocols", "TCP", "sourceAddresses", source, "destinationAddresses", dest,
                     "destinationPorts", zt_spoke_strings(ports));
}

static json_t *zt_spoke_app_rule(const char *name, const char *source, json_t *fqdns, bool http)
{
    json_t *protos = json_pack("[{s:s,s:i}]", "protocolType", "Https", "port", 443);
    if (http)
        json_array_append_new(protos, json_pack("{s:s,s:i}", "protocolType", "Http", "port", 80));
    return json_pack("{s:s,s:s,s:[s],s:o,s:o}", "ruleType", "ApplicationRule", "name", name,
                     "sourceAddresses", source, "protocols", protos, "targetFqdns", fqdns);
}

/* The region as service tags spell it ("westeurope" -> "WestEurope",
 * "eastus2" -> "EastUS2", "uksouth" -> "UKSouth"): greedy longest match
 * over the words region names are made of. A name that does not split
 * into them is used as given (Azure matches tags case-insensitively). */
static const char *zt_spoke_tag_region(zt_arena *a, const char *loc)
{
    static const char *const words[] = {
        "australia", "austria", "belgium", "brazil", "canada", "chile", "china", "france",
        "germany", "india", "indonesia", "israel", "italy", "japan", "jio", "korea", "malaysia",
        "mexico", "newzealand", "norway", "poland", "qatar", "southafrica", "spain", "sweden",
        "switzerland", "uae", "uk", "usgov", "usdod", "us", "east", "west", "north", "south",
        "central", "asia", "europe", "southeast", "virginia", "texas", "arizona", NULL};
    static const char *const spelled[] = {
        "Australia", "Austria", "Belgium", "Brazil", "Canada", "Chile", "China", "France",
        "Germany", "India", "Indonesia", "Israel", "Italy", "Japan", "Jio", "Korea", "Malaysia",
        "Mexico", "NewZealand", "Norway", "Poland", "Qatar", "SouthAfrica", "Spain", "Sweden",
        "Switzerland", "UAE", "UK", "USGov", "USDoD", "US", "East", "West", "North", "South",
        "Central", "Asia", "Europe", "Southeast", "Virginia", "Texas", "Arizona", NULL};
    zt_buf b;
    zt_buf_init(&b, a);
    for (const char *p = loc; *p;) {
        if (isdigit((unsigned char)*p)) {
            zt_buf_append(&b, p++, 1);
            continue;
        }
        size_t best = 0, best_i = 0;
        for (size_t i = 0; words[i]; i++) {
            size_t n = strlen(words[i]);
            if (n > best && strncmp(p, words[i], n) == 0)
                best = n, best_i = i;
        }
        if (!best)
            return loc;
        zt_buf_puts(&b, spelled[best_i]);
        p += best;
    }
    return zt_buf_cstr(&b);
}

/* The spoke's egress in the hub's firewall policy, sourced from the
 * spoke's address space: Databricks' control plane and regional
 * dependencies by service tag, package mirrors and GitHub by FQDN, plus
 * the user's FQDNs. */
static json_t *zt_spoke_body_rcg(const zt_comp_eval *ev)
{
    zt_arena *a = zt_comp_arena(ev);
    const char *name = zt_comp_input_str(ev, "name");
    const char *space = zt_comp_input_str(ev, "address_space");
    const char *loc = zt_comp_input_str(ev, "location");
    const zt_cty_value *prio = zt_comp_input(ev, "firewall_rule_priority");
    const zt_cty_value *extra = zt_comp_input(ev, "allowed_fqdns");
    int64_t priority = 0;
    if (loc)
        loc = zt_spoke_tag_region(a, loc);
    if (!name || !space || !loc || !zt_spoke_known(prio) ||
        !zt_cty_number_to_int64(prio, &priority) ||
        (extra && !extra->is_null && !zt_cty_is_wholly_known(extra)))
        return NULL;
    static const char *const dbw_ports[] = {"443", "8443-8451", NULL};
    static const char *const https[] = {"443", NULL};
    static const char *const mysql[] = {"3306", NULL};
    static const char *const kafka[] = {"9093", NULL};
    json_t *net = json_pack(
        "[o,o,o,o]", zt_spoke_net_rule("databricks-control-plane", space, "AzureDatabricks", dbw_ports),
        zt_spoke_net_rule("storage", space, zt_arena_printf(a, "Storage.%s", loc), https),
        zt_spoke_net_rule("metastore", space, zt_arena_printf(a, "Sql.%s", loc), mysql),
        zt_spoke_net_rule("eventhub", space, zt_arena_printf(a, "EventHub.%s", loc), kafka));
    json_t *app = json_pack("[o,o,o]",
                            zt_spoke_app_rule("pypi", space, zt_spoke_strings(zt_spoke_pypi), false),
                            zt_spoke_app_rule("ubuntu", space, zt_spoke_strings(zt_spoke_ubuntu),
                                              true),
                            zt_spoke_app_rule("github", space, zt_spoke_strings(zt_spoke_github),
                                              false));
    if (extra && !extra->is_null && extra->u.coll.n > 0) {
        json_t *f = json_array();
        for (size_t i = 0; i < extra->u.coll.n; i++)
            json_array_append_new(f, json_string(extra->u.coll.elems[i]->u.str.ptr));
        json_array_append_new(app, zt_spoke_app_rule("user-fqdns", space, f, false));
    }
    /* Network rules are matched before application rules whatever their
     * priorities, so both collections take the spoke's. */
    return json_pack("{s:{s:i,s:[{s:s,s:s,s:I,s:{s:s},s:o},{s:s,s:s,s:I,s:{s:s},s:o}]}}",
                     "properties", "priority", ZT_SPOKE_RCG_PRIORITY + (int)zt_spoke_bucket(name),
                     "ruleCollections", "ruleCollectionType", "FirewallPolicyFilterRuleCollection",
                     "name", zt_spoke_coll(a, name, true), "priority", (json_int_t)priority,
                     "action", "type", "Allow", "rules", net, "ruleCollectionType",
                     "FirewallPolicyFilterRuleCollection", "name", zt_spoke_coll(a, name, false),
                     "priority", (json_int_t)priority, "action", "type", "Allow", "rules", app);
}

/* The spoke's address space from the gateway through the firewall. */
static json_t *zt_spoke_body_hub_route(const zt_comp_eval *ev)
{
    const char *space = zt_comp_input_str(ev, "address_space");
    const char *fw_ip = zt_comp_input_str(ev, "hub_firewall_private_ip");
    if (!space || !fw_ip)
        return NULL;
    return json_pack("{s:{s:s,s:s,s:s}}", "properties", "addressPrefix", space, "nextHopType",
                     "VirtualAppliance", "nextHopIpAddress", fw_ip);
}

/* NSG logs (rule events and counters); NSGs have no metrics. */
static json_t *zt_spoke_body_diag_nsg(const zt_comp_eval *ev)
{
    return zt_res_diag_body(zt_comp_input_str(ev, "log_analytics_workspace_id"), ZT_RES_DIAG_LOGS);
}

/* The flow_logs block (NULL while unknown or absent). */
static const zt_cty_value *zt_spoke_flow_logs(const zt_comp_eval *ev)
{
    const zt_cty_value *v = zt_comp_input(ev, "flow_logs");
    return v && !v->is_null && zt_cty_is_wholly_known(v) ? v : NULL;
}

static int64_t zt_spoke_flow_int(const zt_cty_value *fl, const char *attr, int64_t dflt)
{
    const zt_cty_value *v = zt_cty_get_attr(fl, attr);
    int64_t i;
    return v && !v->is_null && zt_cty_number_to_int64(v, &i) ? i : dflt;
}

/* Azure's default watcher: NetworkWatcher_<region> in NetworkWatcherRG. */
static const char *zt_spoke_parent_watcher(const zt_comp_eval *ev)
{
    const char *w = zt_res_known_str(zt_spoke_flow_logs(ev), "network_watcher_id");
    const char *loc = zt_comp_input_str(ev, "location");
    if (w || !loc || !zt_spoke_flow_logs(ev))
        return w;
    return zt_arena_printf(zt_comp_arena(ev), "/subscriptions/%s/resourceGroups/NetworkWatcherRG/"
                                              "providers/Microsoft.Network/networkWatchers/"
                                              "NetworkWatcher_%s", zt_comp_subscription(ev), loc);
}

/* VNet flow logs to the storage account, with traffic analytics in the
 * Log Analytics workspace when its customer ID is given. */
static json_t *zt_spoke_body_flow_log(const zt_comp_eval *ev)
{
    const zt_cty_value *fl = zt_spoke_flow_logs(ev);
    const char *vnet = zt_comp_id(ev, "vnet");
    const char *storage = zt_res_known_str(fl, "storage_account_id");
    if (!fl || !vnet || !storage)
        return NULL;
    json_t *p = json_pack("{s:s,s:s,s:b,s:{s:s,s:i},s:{s:I,s:b}}", "targetResourceId", vnet,
                          "storageId", storage, "enabled", 1, "format", "type", "JSON", "version",
                          2, "retentionPolicy", "days",
                          (json_int_t)zt_spoke_flow_int(fl, "retention_days", 90), "enabled", 1);
    const char *customer = zt_res_known_str(fl, "log_analytics_customer_id");
    const char *law = zt_comp_input_str(ev, "log_analytics_workspace_id");
    if (customer) {
        if (!law) {
            json_decref(p);
            return NULL;
        }
        const char *region = zt_res_known_str(fl, "log_analytics_location");
        json_object_set_new(
            p, "flowAnalyticsConfiguration",
            json_pack("{s:{s:b,s:s,s:s,s:s,s:I}}", "networkWatcherFlowAnalyticsConfiguration",
                      "enabled", 1, "workspaceId", customer, "workspaceRegion",
                      region ? region : zt_comp_input_str(ev, "location"), "workspaceResourceId",
                      law, "trafficAnalyticsInterval",
                      (json_int_t)zt_spoke_flow_int(fl, "traffic_analytics_interval_minutes",
                                                    10)));
    }
    return zt_res_tracked(ev, p);
}

static const char *zt_spoke_name_flow_log(const zt_comp_eval *ev)
{
    return zt_res_named(ev, "fl-vnet-", "");
}

static const char *zt_spoke_name_diag(const zt_comp_eval *ev)
{
    ZT_UNUSED(ev);
    return ZT_SPOKE_DIAG_NAME;
}

#define ZT_SPOKE_NSG_PARENT(fn, node) \
    static const char *fn(const zt_comp_eval *ev) { return zt_comp_id(ev, node); }
ZT_SPOKE_NSG_PARENT(zt_spoke_parent_nsg_host, "nsg_databricks_host")
ZT_SPOKE_NSG_PARENT(zt_spoke_parent_nsg_container, "nsg_databricks_container")
ZT_SPOKE_NSG_PARENT(zt_spoke_parent_nsg_pe, "nsg_private_endpoints")
ZT_SPOKE_NSG_PARENT(zt_spoke_parent_nsg_func, "nsg_functions")

/* ---------------------------------------------------------------------
 * The node table.
 * ------------------------------------------------------------------- */

static const char *const zt_spoke_deps_nat[] = {"pip_nat", NULL};
static const char *const zt_spoke_deps_vnet[] = {
    "nsg_databricks_host", "nsg_databricks_container", "nsg_private_endpoints", "nsg_functions",
    "route_table", "nat_gateway", NULL};
static const char *const zt_spoke_deps_hub_peering[] = {"vnet", NULL};
static const char *const zt_spoke_deps_peering[] = {"vnet", "hub_peering", NULL};
/* Links wait for the peering: name resolution is useless before. */
static const char *const zt_spoke_deps_vnet_only[] = {"vnet", NULL};
/* Hub-side routes once the spoke is reachable. */
static const char *const zt_spoke_deps_hub_route[] = {"peering", NULL};

static const char *const zt_spoke_co_location[] = {"/location", NULL};
static const char *const zt_spoke_co_pip[] = {"/location", "/sku/name", NULL};
static const char *const zt_spoke_co_peering[] = {"/properties/remoteVirtualNetwork/id", NULL};
static const char *const zt_spoke_co_flow_log[] = {"/location", "/properties/targetResourceId",
                                                   NULL};
/* After the VNet (the id_node): nothing new may exist before it. */
static const char *const zt_spoke_deps_diag[] = {"vnet", NULL};

#define ZT_SPOKE_DIAG_NODE(k, parent)                                                         \
    {.key = k, .arm_type = "Microsoft.Insights/diagnosticSettings",                           \
     .depends_on = zt_spoke_deps_diag, .enabled = zt_spoke_diag_on, .parent_id = parent,      \
     .name = zt_spoke_name_diag, .body = zt_spoke_body_diag_nsg, .expected_seconds = 5}

#define ZT_SPOKE_TRACKED(k, t, d, en, nm, bd, co, secs)                                       \
    {.key = k, .arm_type = t, .depends_on = d, .enabled = en, .name = nm, .body = bd,         \
     .create_only = co, .expected_seconds = secs}

static const zt_comp_node_def zt_spoke_nodes[] = {
    ZT_SPOKE_TRACKED("nsg_databricks_host", "Microsoft.Network/networkSecurityGroups", NULL, NULL,
                     zt_spoke_name_nsg_host, zt_spoke_body_nsg, zt_spoke_co_location, 5),
    ZT_SPOKE_TRACKED("nsg_databricks_container", "Microsoft.Network/networkSecurityGroups", NULL,
                     NULL, zt_spoke_name_nsg_container, zt_spoke_body_nsg, zt_spoke_co_location, 5),
    ZT_SPOKE_TRACKED("nsg_private_endpoints", "Microsoft.Network/networkSecurityGroups", NULL,
                     NULL, zt_spoke_name_nsg_pe, zt_spoke_body_nsg, zt_spoke_co_location, 5),
    ZT_SPOKE_TRACKED("nsg_functions", "Microsoft.Network/networkSecurityGroups", NULL, NULL,
                     zt_spoke_name_nsg_func, zt_spoke_body_nsg, zt_spoke_co_location, 5),
    ZT_SPOKE_TRACKED("route_table", "Microsoft.Network/routeTables", NULL, NULL, zt_spoke_name_rt,
                     zt_spoke_body_rt, zt_spoke_co_location, 5),
    ZT_SPOKE_TRACKED("pip_nat", "Microsoft.Network/publicIPAddresses", NULL, zt_spoke_nat_on,
                     zt_spoke_name_pip_nat, zt_spoke_body_pip_nat, zt_spoke_co_pip, 3),
    ZT_SPOKE_TRACKED("nat_gateway", "Microsoft.Network/natGateways", zt_spoke_deps_nat,
                     zt_spoke_nat_on, zt_spoke_name_nat, zt_spoke_body_nat, zt_spoke_co_location,
                     15),
    ZT_SPOKE_TRACKED("vnet", "Microsoft.Network/virtualNetworks", zt_spoke_deps_vnet, NULL,
                     zt_spoke_name_vnet, zt_spoke_body_vnet, zt_spoke_co_location, 10),
    {.key = "hub_peering", .arm_type = "Microsoft.Network/virtualNetworks/virtualNetworkPeerings",
     .depends_on = zt_spoke_deps_hub_peering, .parent_id = zt_spoke_parent_hub_vnet,
     .name = zt_spoke_name_hub_peering, .body = zt_spoke_body_hub_peering,
     .create_only = zt_spoke_co_peering, .expected_seconds = 5},
    {.key = "peering", .arm_type = "Microsoft.Network/virtualNetworks/virtualNetworkPeerings",
     .depends_on = zt_spoke_deps_peering, .parent_id = zt_spoke_parent_vnet,
     .name = zt_spoke_name_peering, .body = zt_spoke_body_peering,
     .create_only = zt_spoke_co_peering, .expected_seconds = 5},
    {.key = "zone_link", .arm_type = "Microsoft.Network/privateDnsZones/virtualNetworkLinks",
     .depends_on = zt_spoke_deps_vnet_only, .for_each = zt_spoke_zone_names,
     .parent_id = zt_spoke_parent_zone, .name = zt_spoke_name_zone_link,
     .body = zt_spoke_body_zone_link, .expected_seconds = 30},
    {.key = "firewall_rules", .arm_type = "Microsoft.Network/firewallPolicies/ruleCollectionGroups",
     .parent_id = zt_spoke_parent_policy, .name = zt_spoke_name_rcg, .body = zt_spoke_body_rcg,
     .part = zt_spoke_part_rcg, .former_id = zt_spoke_former_rcg, .expected_seconds = 60},
    {.key = "hub_route", .arm_type = "Microsoft.Network/routeTables/routes",
     .depends_on = zt_spoke_deps_hub_route, .parent_id = zt_spoke_parent_hub_rt,
     .name = zt_spoke_name_hub_route, .body = zt_spoke_body_hub_route, .expected_seconds = 5},
    ZT_SPOKE_DIAG_NODE("diag_nsg_databricks_host", zt_spoke_parent_nsg_host),
    ZT_SPOKE_DIAG_NODE("diag_nsg_databricks_container", zt_spoke_parent_nsg_container),
    ZT_SPOKE_DIAG_NODE("diag_nsg_private_endpoints", zt_spoke_parent_nsg_pe),
    ZT_SPOKE_DIAG_NODE("diag_nsg_functions", zt_spoke_parent_nsg_func),
    {.key = "flow_log", .arm_type = "Microsoft.Network/networkWatchers/flowLogs",
     .depends_on = zt_spoke_deps_diag, .enabled = zt_spoke_flow_logs_on,
     .parent_id = zt_spoke_parent_watcher, .name = zt_spoke_name_flow_log,
     .body = zt_spoke_body_flow_log, .create_only = zt_spoke_co_flow_log,
     .expected_seconds = 30},
};

/* ---------------------------------------------------------------------
 * Outputs.
 * ------------------------------------------------------------------- */

static const zt_cty_value *zt_spoke_out_vnet_id(const zt_comp_eval *ev)
{
    return zt_res_id_out(ev, "vnet");
}

static const zt_cty_value *zt_spoke_out_rt_id(const zt_comp_eval *ev)
{
    return zt_res_id_out(ev, "route_table");
}

/* The group the spoke's collections are in (the node's ID names them). */
static const zt_cty_value *zt_spoke_out_rcg_id(const zt_comp_eval *ev)
{
    const char *id = zt_comp_id(ev, "firewall_rules");
    if (!id)
        return NULL;
    return zt_cty_string(zt_comp_arena(ev),
                         zt_arena_strndup(zt_comp_arena(ev), id, strcspn(id, "#")));
}

static const zt_cty_value *zt_spoke_out_nat_id(const zt_comp_eval *ev)
{
    const zt_cty_value *v = zt_comp_input(ev, "nat_gateway_subnets");
    if (v && !zt_cty_is_known(v))
        return NULL;
    if (!zt_spoke_nat_on(ev))
        return zt_cty_null(zt_comp_arena(ev), &zt_cty_string_type);
    return zt_res_id_out(ev, "nat_gateway");
}

static const zt_cty_value *zt_spoke_out_subnet_ids(const zt_comp_eval *ev)
{
    return zt_res_out_subnet_ids(ev, zt_spoke_subnets, ZT_ARRAY_LEN(zt_spoke_subnets));
}

static const zt_cty_value *zt_spoke_out_subnet_cidrs(const zt_comp_eval *ev)
{
    return zt_res_out_subnet_cidrs(ev, "spoke", zt_spoke_subnets, ZT_ARRAY_LEN(zt_spoke_subnets));
}

/* Role -> subnet name, for the workspace's VNet injection settings. */
static const zt_cty_value *zt_spoke_out_subnet_names(const zt_comp_eval *ev)
{
    static const char *const roles[] = {"databricks_host", "databricks_container",
                                        "private_endpoints", "functions"};
    return zt_res_string_map(zt_comp_arena(ev), ZT_ARRAY_LEN(roles), roles, zt_spoke_subnets);
}

static const zt_cty_value *zt_spoke_out_nsg_ids(const zt_comp_eval *ev)
{
    zt_arena *a = zt_comp_arena(ev);
    const char *ids[ZT_ARRAY_LEN(zt_spoke_subnets)];
    for (size_t i = 0; i < ZT_ARRAY_LEN(zt_spoke_subnets); i++)
        if (!(ids[i] = zt_comp_id(ev, zt_spoke_nsg_nodes[i])))
            return NULL;
    return zt_res_string_map(a, ZT_ARRAY_LEN(zt_spoke_subnets), zt_spoke_subnets, ids);
}

static const zt_cty_value *zt_spoke_out_peering_ids(const zt_comp_eval *ev)
{
    static const char *const keys[] = {"hub_to_spoke", "spoke_to_hub"};
    const char *ids[] = {zt_comp_id(ev, "hub_peering"), zt_comp_id(ev, "peering")};
    if (!ids[0] || !ids[1])
        return NULL;
    return zt_res_string_map(zt_comp_arena(ev), 2, keys, ids);
}

static const zt_cty_value *zt_spoke_out_zone_link_ids(const zt_comp_eval *ev)
{
    zt_arena *a = zt_comp_arena(ev);
    size_t n = 0;
    const char **zones = zt_spoke_zone_names(ev, &n);
    if (!zones)
        return NULL;
    const char **ids = zt_arena_calloc(a, n + 1, sizeof(*ids));
    for (size_t i = 0; i < n; i++)
        if (!(ids[i] = zt_comp_id(ev, zt_arena_printf(a, "zone_link[%s]", zones[i]))))
            return NULL;
    return zt_res_string_map(a, n, zones, ids);
}

static const zt_comp_output_def zt_spoke_outputs[] = {
    {"virtual_network_id", zt_spoke_out_vnet_id},
    {"subnet_ids", zt_spoke_out_subnet_ids},
    {"subnet_cidrs", zt_spoke_out_subnet_cidrs},
    {"subnet_names", zt_spoke_out_subnet_names},
    {"nsg_ids", zt_spoke_out_nsg_ids},
    {"route_table_id", zt_spoke_out_rt_id},
    {"nat_gateway_id", zt_spoke_out_nat_id},
    {"peering_ids", zt_spoke_out_peering_ids},
    {"zone_link_ids", zt_spoke_out_zone_link_ids},
    {"rule_collection_group_id", zt_spoke_out_rcg_id},
};

/* ---------------------------------------------------------------------
 * Plan-time checks (what is known).
 * ------------------------------------------------------------------- */

static void zt_spoke_check_names(zt_res_check *k)
{
    const char *name = zt_res_known_str(k->config, "name");
    const char *loc = zt_res_known_str(k->config, "location");
    if (name && (!zt_res_name_ok(name, 40, "-_.") || strchr("._-", name[strlen(name) - 1])))
        zt_diag_error(k->c->diags, zt_res_path(k, "name"), "Invalid spoke name",
                      "\"%s\" must be 1 to 40 letters, digits, '-', '_' or '.', starting and "
                      "ending with a letter or digit: every Azure resource name of the spoke "
                      "derives from it.", name);
    zt_res_check_rg_name(k);
    if (loc) {
        bool ok = *loc != '\0';
        for (const char *p = loc; *p; p++)
            ok &= islower((unsigned char)*p) || isdigit((unsigned char)*p);
        if (!ok)
            zt_diag_error(k->c->diags, zt_res_path(k, "location"), "Unknown Azure region",
                          "\"%s\" is not an Azure region's programmatic name. Use the lower-case "
                          "name without spaces (e.g. \"westeurope\", not \"West Europe\").", loc);
        if (ok && !zt_res_location_allowed(k, loc))
            zt_diag_error(k->c->diags, zt_res_path(k, "location"), "Region not allowed",
                          "\"%s\" is not one of the provider's allowed_locations.", loc);
    }
}

/* Address space through the planner's "spoke" layout (/16 to /24, every
 * subnet fits, Databricks subnets at least /26), then overlap with the
 * hub. */
static void zt_spoke_check_space(zt_res_check *k)
{
    zt_arena *a = k->c->arena;
    const zt_cty_value *v = zt_cty_get_attr(k->config, "address_space");
    if (!v || v->is_null || !zt_cty_is_known(v))
        return;
    zt_addrplan_request req = {.address_space = v->u.str.ptr,
                               .layout = "spoke",
                               .address_space_path = zt_res_path(k, "address_space")};
    zt_addrplan *plan = NULL;
    if (zt_addrplan_compute(a, &req, &plan, k->c->diags) != ZT_OK || !plan)
        return;
    const char *hub = zt_res_known_str(k->config, "hub_address_space");
    if (!hub)
        return;
    zt_ipv4_prefix hp;
    bool host_bits = false;
    const char *why = NULL;
    if (zt_ipv4_parse_cidr(a, hub, &hp, &host_bits, &why) != ZT_OK) {
        zt_diag_error(k->c->diags, zt_res_path(k, "hub_address_space"),
                      "Invalid hub address space", "\"%s\" is not an IPv4 network in CIDR "
                      "notation.", hub);
        return;
    }
    if (zt_res_overlap(plan->space, hp))
        zt_diag_error(k->c->diags, zt_res_path(k, "address_space"),
                      "Spoke overlaps the hub",
                      "%s overlaps the hub's address space %s: peered VNets must not overlap "
                      "(Azure refuses the peering). Choose a range outside the hub.",
                      v->u.str.ptr, hub);
}

static bool zt_spoke_is_subnet(const char *s)
{
    for (size_t i = 0; i < ZT_ARRAY_LEN(zt_spoke_subnets); i++)
        if (strcmp(zt_spoke_subnets[i], s) == 0)
            return true;
    return false;
}

/* A known set(string) of spoke subnet names; NULL when null/unknown. */
static const zt_cty_value *zt_spoke_check_subnet_set(zt_res_check *k, const char *attr)
{
    const zt_cty_value *v = zt_cty_get_attr(k->config, attr);
    if (!v || v->is_null || !zt_cty_is_wholly_known(v))
        return NULL;
    for (size_t i = 0; i < v->u.coll.n; i++)
        if (!zt_spoke_is_subnet(v->u.coll.elems[i]->u.str.ptr))
            zt_diag_error(k->c->diags, zt_res_path(k, attr), "Unknown spoke subnet",
                          "\"%s\" is not a subnet of the spoke; use \"databricks-host\", "
                          "\"databricks-container\", \"private-endpoints\" or \"functions\".",
                          v->u.coll.elems[i]->u.str.ptr);
    return v;
}

static void zt_spoke_check_egress(zt_res_check *k)
{
    const zt_cty_value *fw_attr = zt_cty_get_attr(k->config, "firewall_egress_subnets");
    const zt_cty_value *fw = zt_spoke_check_subnet_set(k, "firewall_egress_subnets");
    const zt_cty_value *nat = zt_spoke_check_subnet_set(k, "nat_gateway_subnets");
    if (!nat || (fw_attr && !fw_attr->is_null && !fw))
        return; /* unknown */
    for (size_t i = 0; i < nat->u.coll.n; i++) {
        const char *sn = nat->u.coll.elems[i]->u.str.ptr;
        bool routed = false;
        if (fw) {
            for (size_t j = 0; j < fw->u.coll.n; j++)
                routed |= strcmp(fw->u.coll.elems[j]->u.str.ptr, sn) == 0;
        } else {
            for (size_t j = 0; j < ZT_ARRAY_LEN(zt_spoke_default_fw_subnets); j++)
                routed |= strcmp(zt_spoke_default_fw_subnets[j], sn) == 0;
        }
        if (routed)
            zt_diag_error(k->c->diags, zt_res_path(k, "nat_gateway_subnets"),
                          "NAT gateway on a firewall-routed subnet",
                          "Subnet \"%s\" routes 0.0.0.0/0 to the hub firewall (it is in "
                          "firewall_egress_subnets%s). A 0/0 user route wins over a NAT "
                          "gateway, so the NAT would be paid for and never used. Remove the "
                          "subnet from nat_gateway_subnets, or from firewall_egress_subnets to "
                          "give it NAT egress instead of the firewall.",
                          sn, fw ? "" : ", which by default holds both Databricks subnets and "
                                        "functions");
    }
}

static void zt_spoke_check_priority(zt_res_check *k)
{
    const zt_cty_value *v = zt_cty_get_attr(k->config, "firewall_rule_priority");
    int64_t p;
    if (!v || v->is_null || !zt_cty_is_known(v))
        return;
    if (!zt_cty_number_to_int64(v, &p) || p < 101 || p > 65000)
        zt_diag_error(k->c->diags, zt_res_path(k, "firewall_rule_priority"),
                      "Invalid rule collection priority",
                      "The priority of the spoke's rule collections must be an integer from 101 "
                      "to 65000, unique among the spokes that share its rule collection group.");
}

static bool zt_spoke_fqdn_ok(const char *s)
{
    return zt_res_dns_name_ok(strncmp(s, "*.", 2) == 0 ? s + 2 : s, true);
}

static void zt_spoke_check_fqdns(zt_res_check *k)
{
    const zt_cty_value *v = zt_cty_get_attr(k->config, "allowed_fqdns");
    if (!v || v->is_null || !zt_cty_is_known(v))
        return;
    for (size_t i = 0; i < v->u.coll.n; i++) {
        const zt_cty_value *e = v->u.coll.elems[i];
        if (zt_cty_is_known(e) && !e->is_null && !zt_spoke_fqdn_ok(e->u.str.ptr))
            zt_diag_error(k->c->diags, zt_res_path(k, "allowed_fqdns"), "Invalid FQDN",
                          "\"%s\" is not a fully qualified domain name (optionally with a "
                          "leading \"*.\" wildcard), e.g. \"conda.anaconda.org\".",
                          e->u.str.ptr);
    }
}

static void zt_spoke_check_id(zt_res_check *k, const char *attr, const char *type)
{
    const char *id = zt_res_known_str(k->config, attr);
    if (id && !zt_res_id_ok(id, zt_arena_printf(k->c->arena, "/providers/%s/", type)))
        zt_diag_error(k->c->diags, zt_res_path(k, attr), "Invalid resource ID",
                      "\"%s\" is not a %s resource ID (/subscriptions/.../resourceGroups/.../"
                      "providers/%s/...); pass the zerotrust_hub output of the same name.", id,
                      type, type);
}

static void zt_spoke_check_dns(zt_res_check *k)
{
    const char *mode = zt_res_known_str(k->config, "dns_mode");
    const zt_cty_value *m = zt_cty_get_attr(k->config, "dns_mode");
    if (m && !m->is_null && !zt_cty_is_known(m))
        return;
    if (!mode)
        mode = ZT_SPOKE_DNS_ZONE_LINKS;
    if (strcmp(mode, ZT_SPOKE_DNS_ZONE_LINKS) != 0 && strcmp(mode, ZT_SPOKE_DNS_RESOLVER) != 0 &&
        strcmp(mode, ZT_SPOKE_DNS_FIREWALL) != 0) {
        zt_diag_error(k->c->diags, zt_res_path(k, "dns_mode"), "Invalid DNS mode",
                      "\"%s\" is not a DNS mode; use \"zone_links\" (link every hub private DNS "
                      "zone to the spoke), \"resolver\" (the hub's DNS resolver inbound IP) or "
                      "\"firewall\" (the hub firewall's DNS proxy).", mode);
        return;
    }
    const char *need = NULL;
    if (strcmp(mode, ZT_SPOKE_DNS_ZONE_LINKS) == 0)
        need = "hub_private_dns_zone_ids";
    else if (strcmp(mode, ZT_SPOKE_DNS_RESOLVER) == 0)
        need = "hub_resolver_inbound_ip";
    const zt_cty_value *v = need ? zt_cty_get_attr(k->config, need) : NULL;
    if (need && (!v || v->is_null))
        zt_diag_error(k->c->diags, zt_res_path(k, need), "Missing hub DNS setting",
                      "dns_mode \"%s\" needs %s (the zerotrust_hub output of the same name).",
                      mode, need);
}

/* Each zone ID becomes the parent of one of the spoke's links. */
static void zt_spoke_check_zone_ids(zt_res_check *k)
{
    const zt_cty_value *m = zt_cty_get_attr(k->config, "hub_private_dns_zone_ids");
    if (!m || m->is_null || !zt_cty_is_known(m))
        return;
    for (size_t i = 0; i < m->u.coll.n; i++) {
        const zt_cty_value *v = m->u.coll.elems[i];
        if (!zt_cty_is_known(v) || v->is_null ||
            zt_res_id_ok(v->u.str.ptr, "/providers/Microsoft.Network/privateDnsZones/"))
            continue;
        zt_diag_error(k->c->diags,
                      zt_path_key(k->c->arena, zt_res_path(k, "hub_private_dns_zone_ids"),
                                  m->u.coll.keys[i]),
                      "Invalid resource ID",
                      "\"%s\" is not a private DNS zone resource ID (/subscriptions/.../"
                      "resourceGroups/.../providers/Microsoft.Network/privateDnsZones/<zone>); "
                      "pass the zerotrust_hub output of the same name.", v->u.str.ptr);
    }
}

/* log_analytics_workspace_id and the flow_logs block. */
static void zt_spoke_check_monitoring(zt_res_check *k)
{
    zt_arena *a = k->c->arena;
    const char *law = zt_res_known_str(k->config, "log_analytics_workspace_id");
    const zt_cty_value *lawv = zt_cty_get_attr(k->config, "log_analytics_workspace_id");
    if (law && !zt_res_id_ok(law, "/providers/Microsoft.OperationalInsights/workspaces/"))
        zt_diag_error(k->c->diags, zt_res_path(k, "log_analytics_workspace_id"),
                      "Invalid workspace ID",
                      "\"%s\" is not a Log Analytics workspace resource ID; pass "
                      "zerotrust_governance's log_analytics_workspace_id.", law);
    const zt_cty_value *fl = zt_cty_get_attr(k->config, "flow_logs");
    if (!fl || fl->is_null || !zt_cty_is_known(fl))
        return;
    zt_path *base = zt_res_path(k, "flow_logs");
    const char *sa = zt_res_known_str(fl, "storage_account_id");
    if (sa && !zt_res_id_ok(sa, "/providers/Microsoft.Storage/storageAccounts/"))
        zt_diag_error(k->c->diags, zt_path_attr(a, base, "storage_account_id"),
                      "Invalid storage account ID",
                      "\"%s\" is not a storage account resource ID (flow logs are written to a "
                      "storage account in the spoke's region).", sa);
    const zt_cty_value *cust = zt_cty_get_attr(fl, "log_analytics_customer_id");
    if (cust && !cust->is_null && lawv && lawv->is_null)
        zt_diag_error(k->c->diags, zt_path_attr(a, base, "log_analytics_customer_id"),
                      "Traffic analytics without a workspace",
                      "Traffic analytics writes to the Log Analytics workspace: set "
                      "log_analytics_workspace_id too.");
    const zt_cty_value *iv = zt_cty_get_attr(fl, "traffic_analytics_interval_minutes");
    int64_t i;
    if (iv && !iv->is_null && zt_cty_is_known(iv) &&
        (!zt_cty_number_to_int64(iv, &i) || (i != 10 && i != 60)))
        zt_diag_error(k->c->diags, zt_path_attr(a, base, "traffic_analytics_interval_minutes"),
                      "Unsupported interval", "Traffic analytics runs every 10 or 60 minutes.");
    const zt_cty_value *rd = zt_cty_get_attr(fl, "retention_days");
    if (rd && !rd->is_null && zt_cty_is_known(rd) &&
        (!zt_cty_number_to_int64(rd, &i) || i < 0 || i > 365))
        zt_diag_error(k->c->diags, zt_path_attr(a, base, "retention_days"), "Out of range",
                      "retention_days must be from 0 (keep forever) to 365.");
}

static zt_rc zt_spoke_validate(zt_call *c, const zt_schema *s, const zt_cty_value *config)
{
    ZT_UNUSED(s);
    zt_res_check k = {c, config};
    size_t errors = c->diags->errors;
    if (!config || config->is_null || !zt_cty_is_known(config))
        return ZT_OK;
    zt_spoke_check_names(&k);
    zt_res_check_tags(&k);
    zt_spoke_check_space(&k);
    zt_spoke_check_egress(&k);
    zt_spoke_check_priority(&k);
    zt_spoke_check_fqdns(&k);
    zt_spoke_check_dns(&k);
    zt_spoke_check_zone_ids(&k);
    zt_spoke_check_id(&k, "hub_virtual_network_id", "Microsoft.Network/virtualNetworks");
    zt_spoke_check_id(&k, "hub_firewall_policy_id", "Microsoft.Network/firewallPolicies");
    zt_spoke_check_id(&k, "hub_gateway_route_table_id", "Microsoft.Network/routeTables");
    zt_spoke_check_monitoring(&k);
    return c->diags->errors > errors ? ZT_ERR_INVALID : ZT_OK;
}

/* ---------------------------------------------------------------------
 * Plan-time checks against the other networks of the hub and the other
 * groups of its firewall policy: what Azure holds, and what the other
 * resources planned in the same run claim (plan claims). Azure's view of
 * a resource that is planned again gives way to its plan.
 * ------------------------------------------------------------------- */

/* Something the spoke must not collide with. */
typedef struct zt_spoke_peer {
    const char *who;     /* `zerotrust_spoke "x"`, or an ARM ID */
    const char *value;   /* address space / priority */
    const char *source;  /* "planned in this run", "in Azure" */
} zt_spoke_peer;

typedef struct zt_spoke_peers {
    zt_spoke_peer *v;
    size_t n, cap;
    const zt_comp_claim *claims;
    size_t n_claims;
} zt_spoke_peers;

static void zt_spoke_peer_add(zt_arena *a, zt_spoke_peers *p, const char *who, const char *value,
                              const char *source)
{
    if (p->n == p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 8;
        p->v = zt_arena_realloc(a, p->v, p->cap * sizeof(*p->v), nc * sizeof(*p->v));
        p->cap = nc;
    }
    p->v[p->n++] = (zt_spoke_peer){.who = who, .value = value, .source = source};
}

/* The others' claims, then what Azure holds for owners that claim nothing
 * (their plans decide for the others). */
static void zt_spoke_peers_init(zt_arena *a, zt_spoke_peers *p, const zt_comp_claim *claims,
                                size_t n)
{
    memset(p, 0, sizeof(*p));
    p->claims = claims;
    p->n_claims = n;
    for (size_t i = 0; i < n; i++)
        zt_spoke_peer_add(a, p, claims[i].owner, claims[i].value, "planned in this run");
}

/* A planned owner's Azure value gives way to its claim; where the two agree
 * the value is named "in Azure", so the message does not depend on whether
 * Terraform happened to plan that owner before this one. */
static void zt_spoke_peer_azure(zt_arena *a, zt_spoke_peers *p, const char *who, const char *value)
{
    for (size_t i = 0; i < p->n_claims; i++)
        if (strcmp(p->claims[i].owner, who) == 0) {
            if (value && strcmp(p->claims[i].value, value) == 0)
                p->v[i].source = "in Azure";
            return;
        }
    if (value)
        zt_spoke_peer_add(a, p, who, value, "in Azure");
}

/* The owner of something named after a composite ("vnet-<hub>",
 * "peer-hub-to-<spoke>", "spoke-<spoke>"); else the resource itself. */
static const char *zt_spoke_owner_of(zt_arena *a, const char *type, const char *prefix,
                                     const char *name, const char *id)
{
    size_t n = strlen(prefix);
    return name && strncmp(name, prefix, n) == 0 && name[n] ? zt_res_owner(a, type, name + n)
                                                           : id;
}

/* Whether these inputs are new to the plan (a create, or changed): then
 * what they collide with is this resource's mistake. */
static bool zt_spoke_moved(const zt_cty_value *config, const zt_cty_value *prior,
                           const char *attr1, const char *attr2)
{
    return !prior || !zt_cty_equal(zt_cty_get_attr(config, attr1), zt_cty_get_attr(prior, attr1)) ||
           !zt_cty_equal(zt_cty_get_attr(config, attr2), zt_cty_get_attr(prior, attr2));
}

/* The hub VNet and the networks peered with it. */
static void zt_spoke_read_peers(zt_res_check *k, const zt_res_reader *r, const char *hub,
                                const char *name, zt_spoke_peers *p)
{
    zt_arena *a = k->c->arena;
    json_t *vnet = zt_res_read(r, hub);
    if (!vnet)
        return; /* not there yet (planned in this run) or unreadable */
    /* With hub_address_space given, validate compares against it. */
    if (!zt_res_known_str(k->config, "hub_address_space")) {
        const char *who =
            zt_spoke_owner_of(a, "zerotrust_hub", "vnet-", zt_res_jstr(vnet, "name"), hub);
        json_t *pre;
        size_t i;
        json_array_foreach(zt_res_jget(vnet, "properties/addressSpace/addressPrefixes"), i, pre)
            zt_spoke_peer_azure(a, p, who, json_string_value(pre));
    }
    json_t *peerings = zt_res_jget(vnet, "properties/virtualNetworkPeerings");
    if (!json_is_array(peerings))
        peerings = zt_res_read_list(r, zt_arena_printf(a, "%s/virtualNetworkPeerings", hub));
    json_t *pe, *pre;
    size_t i, j;
    const char *mine = zt_arena_printf(a, "peer-hub-to-%s", name);
    json_array_foreach(peerings, i, pe)
    {
        const char *pn = zt_res_jstr(pe, "name");
        if (pn && strcmp(pn, mine) == 0)
            continue;
        const char *who = zt_spoke_owner_of(a, "zerotrust_spoke", "peer-hub-to-", pn,
                                            zt_res_jstr(pe, "properties/remoteVirtualNetwork/id"));
        json_array_foreach(zt_res_jget(pe, "properties/remoteAddressSpace/addressPrefixes"), j, pre)
            zt_spoke_peer_azure(a, p, who ? who : "a peered network", json_string_value(pre));
    }
}

static void zt_spoke_check_peers(zt_res_check *k, const zt_res_reader *r,
                                 const zt_cty_value *prior, const char *name)
{
    zt_arena *a = k->c->arena;
    const char *space = zt_res_known_str(k->config, "address_space");
    const char *hub = zt_res_known_str(k->config, "hub_virtual_network_id");
    zt_ipv4_prefix mine, other;
    size_t n;
    if (!space || !hub || !zt_res_cidr(a, space, &mine))
        return;
    const zt_comp_claim *claims = zt_comp_claim_put(
        k->c, zt_res_peers_scope(a, hub), zt_res_owner(a, "zerotrust_spoke", name), space, &n);
    /* A spoke whose range stays where it was is the one the others must
     * avoid, not the one at fault. */
    if (!zt_spoke_moved(k->config, prior, "address_space", "hub_virtual_network_id"))
        return;
    zt_spoke_peers p;
    zt_spoke_peers_init(a, &p, claims, n);
    /* A hub this run creates holds nothing but what this run plans. */
    if (!zt_res_created_in_run(k->c, hub))
        zt_spoke_read_peers(k, r, hub, name, &p);
    for (size_t i = 0; i < p.n; i++)
        if (zt_res_cidr(a, p.v[i].value, &other) && zt_res_overlap(mine, other))
            zt_diag_error(k->c->diags, zt_res_path(k, "address_space"),
                          "Address space overlaps a network peered with the hub",
                          "%s overlaps %s, the address space of %s (%s). Azure refuses to peer "
                          "networks whose address spaces overlap. Choose a range outside every "
                          "network peered with the hub (if that network is destroyed in this run, "
                          "destroy it first).", space, p.v[i].value, p.v[i].who, p.v[i].source);
}

/* The priorities of the other collections in the spoke's group: a
 * spoke's own by its network collection, anything else by name. */
static void zt_spoke_read_priorities(const zt_res_reader *r, const char *group, const char *name,
                                     zt_spoke_peers *p)
{
    zt_arena *a = r->c->arena;
    json_t *coll;
    size_t i;
    const char *mine_net = zt_spoke_coll(a, name, true), *mine_app = zt_spoke_coll(a, name, false);
    json_array_foreach(zt_res_jget(zt_res_read(r, group), "properties/ruleCollections"), i, coll)
    {
        const char *cn = zt_res_jstr(coll, "name");
        json_t *prio = json_object_get(coll, "priority");
        size_t len = cn ? strlen(cn) : 0;
        if (!cn || !strcmp(cn, mine_net) || !strcmp(cn, mine_app) || !json_is_integer(prio))
            continue;
        const char *who = zt_arena_printf(a, "rule collection %s", cn);
        if (len > 14 && !strncmp(cn, "spoke-", 6) && !strcmp(cn + len - 8, "-network"))
            who = zt_res_owner(a, "zerotrust_spoke", zt_arena_strndup(a, cn + 6, len - 14));
        else if (len > 18 && !strncmp(cn, "spoke-", 6) && !strcmp(cn + len - 12, "-application"))
            continue; /* counted with its spoke's network collection */
        zt_spoke_peer_azure(a, p, who,
                            zt_arena_printf(a, "%lld", (long long)json_integer_value(prio)));
    }
}

static void zt_spoke_check_priority_free(zt_res_check *k, const zt_res_reader *r,
                                         const zt_cty_value *prior, const char *name)
{
    zt_arena *a = k->c->arena;
    const zt_cty_value *v = zt_cty_get_attr(k->config, "firewall_rule_priority");
    const char *policy = zt_res_known_str(k->config, "hub_firewall_policy_id");
    int64_t prio;
    size_t n;
    if (!policy || !v || v->is_null || !zt_cty_is_known(v) || !zt_cty_number_to_int64(v, &prio))
        return;
    const char *group = zt_arena_printf(a, "%s/ruleCollectionGroups/%s", policy,
                                        zt_spoke_rcg_name(a, name));
    const char *mine = zt_arena_printf(a, "%lld", (long long)prio);
    const zt_comp_claim *claims =
        zt_comp_claim_put(k->c, zt_arena_printf(a, "priorities-in:%s", group),
                          zt_res_owner(a, "zerotrust_spoke", name), mine, &n);
    if (!zt_spoke_moved(k->config, prior, "firewall_rule_priority", "hub_firewall_policy_id"))
        return;
    zt_spoke_peers p;
    zt_spoke_peers_init(a, &p, claims, n);
    if (!zt_res_created_in_run(k->c, policy))
        zt_spoke_read_priorities(r, group, name, &p);
    for (size_t i = 0; i < p.n; i++)
        if (strcmp(p.v[i].value, mine) == 0)
            zt_diag_error(k->c->diags, zt_res_path(k, "firewall_rule_priority"),
                          "Rule collection priority already used",
                          "Priority %s is also the priority of %s (%s) in rule collection group "
                          "%s of the hub's firewall policy, which this spoke shares with others; "
                          "collections of one priority have no defined order. Choose another "
                          "firewall_rule_priority from 101 to 65000.", mine, p.v[i].who,
                          p.v[i].source, zt_spoke_rcg_name(a, name));
}

/* Hub-side pieces are written with the hub's IDs, in the hub's subscription
 * (often the platform team's, not the provider's): whether these
 * credentials can use it is known from one read per resource group of the
 * hub IDs, not from an apply that fails half way. Answers that say so: */
static const char *const zt_spoke_refusals[] = {"SubscriptionNotFound", "AuthorizationFailed",
                                                "InvalidAuthenticationTokenTenant"};

typedef struct zt_spoke_access {
    const char *rg;              /* /subscriptions/<s>/resourceGroups/<g>, read once */
    const char *code, *message;  /* a refusal, or NULL */
} zt_spoke_access;

typedef struct zt_spoke_access_check {
    zt_res_check *k;
    const zt_res_reader *r;
    const char *mine;            /* the provider's subscription */
    zt_spoke_access seen[8];
    size_t n;
} zt_spoke_access_check;

static const zt_spoke_access *zt_spoke_access_of(zt_spoke_access_check *x, const char *id)
{
    zt_arena *a = x->k->c->arena;
    const char *rg = zt_res_rg_of(a, id);
    for (size_t i = 0; rg && i < x->n; i++)
        if (strcasecmp(x->seen[i].rg, rg) == 0)
            return &x->seen[i];
    if (!rg || x->n == ZT_ARRAY_LEN(x->seen))
        return NULL;
    zt_spoke_access *s = &x->seen[x->n++];
    *s = (zt_spoke_access){.rg = rg};
    if (zt_res_read(x->r, id))
        return s;
    const char *msg = NULL, *code = zt_comp_get_error(x->r->getter, &msg);
    for (size_t i = 0; code && i < ZT_ARRAY_LEN(zt_spoke_refusals); i++)
        if (strcasecmp(code, zt_spoke_refusals[i]) == 0) {
            s->code = zt_arena_strdup(a, code);
            s->message = zt_arena_strdup(a, msg ? msg : "");
        }
    return s;
}

static void zt_spoke_check_access(zt_spoke_access_check *x, zt_path *path, const char *id)
{
    zt_arena *a = x->k->c->arena;
    const char *p = id && strncasecmp(id, "/subscriptions/", 15) == 0 ? id + 15 : NULL;
    const char *sub = p ? zt_arena_strndup(a, p, strcspn(p, "/")) : NULL;
    /* The provider's own subscription is the one it signed in for; a hub
     * planned in this run is not there to read yet. */
    if (!sub || !x->mine || strcasecmp(sub, x->mine) == 0 || zt_res_created_in_run(x->k->c, id))
        return;
    const zt_spoke_access *s = zt_spoke_access_of(x, id);
    if (!s || !s->code)
        return;
    zt_diag_error(x->k->c->diags, path, "Hub subscription not accessible",
                  "%s is in subscription %s, which the provider's credentials cannot use: "
                  "reading %s there, Azure answered %s: %s\nThe spoke writes its hub-side "
                  "pieces (the hub->spoke peering, its route in the hub's gateway route table, "
                  "its rule collections in the hub's firewall policy, its links in the hub's "
                  "private DNS zones) with the hub's IDs, in the hub's subscription: give the "
                  "provider's identity access to them there (e.g. Network Contributor on the "
                  "hub's resource group), or correct the ID.",
                  id, sub, s->rg, s->code, s->message);
}

static void zt_spoke_check_hub_access(zt_res_check *k, const zt_res_reader *r,
                                      const zt_cty_value *prior)
{
    static const char *const attrs[] = {"hub_virtual_network_id", "hub_firewall_policy_id",
                                        "hub_gateway_route_table_id"};
    const char *zones = "hub_private_dns_zone_ids";
    bool moved = !prior || !zt_cty_equal(zt_cty_get_attr(k->config, zones),
                                         zt_cty_get_attr(prior, zones));
    for (size_t i = 0; i < ZT_ARRAY_LEN(attrs); i++)
        moved |= zt_spoke_moved(k->config, prior, attrs[i], attrs[i]);
    if (!moved || !k->c->provider)
        return;
    zt_spoke_access_check x = {.k = k, .r = r, .mine = k->c->provider->config.subscription_id};
    for (size_t i = 0; i < ZT_ARRAY_LEN(attrs); i++)
        zt_spoke_check_access(&x, zt_res_path(k, attrs[i]), zt_res_known_str(k->config, attrs[i]));
    const zt_cty_value *m = zt_cty_get_attr(k->config, zones);
    for (size_t i = 0; m && !m->is_null && zt_cty_is_known(m) && i < m->u.coll.n; i++) {
        const zt_cty_value *v = m->u.coll.elems[i];
        if (zt_cty_is_known(v) && !v->is_null)
            zt_spoke_check_access(&x, zt_path_key(k->c->arena, zt_res_path(k, zones),
                                                  m->u.coll.keys[i]), v->u.str.ptr);
    }
}

static void zt_spoke_plan_check(zt_call *c, const zt_cty_value *config, const zt_cty_value *prior,
                                json_t *(*get)(void *getter, const char *arm_id), void *getter)
{
    zt_res_check k = {c, config};
    zt_res_reader r = {.c = c, .get = get, .getter = getter};
    const char *name = zt_res_known_str(config, "name");
    if (!name)
        return;
    size_t errors = c->diags->errors;
    zt_spoke_check_hub_access(&k, &r, prior);
    if (c->diags->errors > errors)
        return; /* the checks below read the hub too */
    zt_spoke_check_peers(&k, &r, prior, name);
    zt_spoke_check_priority_free(&k, &r, prior, name);
}

/* ---------------------------------------------------------------------
 * Import: rebuild the inputs from the spoke VNet's ID. The hub inputs are
 * what the hub's outputs would be: found from the spoke->hub peering (the
 * hub VNet and its group), the spoke's route (the firewall IP) and the
 * hub-side children named after the spoke (policy, route table, zones).
 * ------------------------------------------------------------------- */

typedef struct zt_spoke_imp {
    zt_res_reader r;
    zt_res_inputs in; /* attribute -> value */
} zt_spoke_imp;

static json_t *zt_spoke_imp_get(zt_spoke_imp *m, const char *id)
{
    return zt_res_read(&m->r, id);
}

/* The first item of a collection whose child `rel` exists: its ID, and
 * the child's body in *child. */
static const char *zt_spoke_imp_find(zt_spoke_imp *m, const char *collection, const char *rel,
                                     json_t **child)
{
    json_t *item;
    size_t i;
    json_array_foreach(zt_res_read_list(&m->r, collection), i, item)
    {
        const char *id = zt_res_jstr(item, "id");
        json_t *c = id ? zt_spoke_imp_get(m, zt_arena_printf(m->r.c->arena, "%s/%s", id, rel))
                       : NULL;
        if (c) {
            *child = c;
            return zt_arena_strdup(m->r.c->arena, id);
        }
    }
    return NULL;
}

/* The NSG diagnostics' workspace, and the flow log under the region's
 * default network watcher (one elsewhere is not found). */
static void zt_spoke_imp_monitoring(zt_spoke_imp *m, const zt_schema *s, const char *net,
                                    const char *name, const char *location)
{
    zt_arena *a = m->r.c->arena;
    json_t *diag = zt_spoke_imp_get(m, zt_arena_printf(
        a, "%s/networkSecurityGroups/nsg-%s-dbw-host/providers/Microsoft.Insights/"
           "diagnosticSettings/" ZT_SPOKE_DIAG_NAME, net, name));
    const char *law = zt_res_jstr(diag, "properties/workspaceId");
    zt_res_inputs_set(&m->in, "log_analytics_workspace_id", zt_res_str_or_null(a, law));
    const char *sub = strchr(net + 1, '/') + 1;
    json_t *fl = location ? zt_spoke_imp_get(m, zt_arena_printf(
        a, "/subscriptions/%.*s/resourceGroups/NetworkWatcherRG/providers/Microsoft.Network/"
           "networkWatchers/NetworkWatcher_%s/flowLogs/fl-vnet-%s",
        (int)strcspn(sub, "/"), sub, location, name)) : NULL;
    ssize_t idx = zt_cty_type_attr_index(s->type, "flow_logs");
    if (!fl || idx < 0)
        return;
    const json_t *ta = zt_res_jget(fl, "properties/flowAnalyticsConfiguration/"
                                       "networkWatcherFlowAnalyticsConfiguration");
    json_t *days = zt_res_jget(fl, "properties/retentionPolicy/days");
    json_t *iv = json_object_get(ta, "trafficAnalyticsInterval");
    const char *region = zt_res_jstr(ta, "workspaceRegion");
    const char *names[] = {"storage_account_id", "log_analytics_customer_id",
                           "log_analytics_location", "retention_days",
                           "traffic_analytics_interval_minutes"};
    const zt_cty_value *vals[] = {
        zt_res_str_or_null(a, zt_res_jstr(fl, "properties/storageId")),
        zt_res_str_or_null(a, zt_res_jstr(ta, "workspaceId")),
        zt_res_str_or_null(a, region && strcasecmp(region, location) ? region : NULL),
        json_is_integer(days) && json_integer_value(days) != 90
            ? zt_cty_number_int(a, json_integer_value(days)) : zt_cty_null(a, &zt_cty_number_type),
        json_is_integer(iv) && json_integer_value(iv) != 10
            ? zt_cty_number_int(a, json_integer_value(iv)) : zt_cty_null(a, &zt_cty_number_type),
    };
    zt_res_inputs in = {.names = names, .vals = vals, .n = ZT_ARRAY_LEN(names)};
    zt_res_inputs_set(&m->in, "flow_logs", zt_res_inputs_object(a, s->type->types[idx], &in));
}

/* The spoke's network and application collections in a shared group. */
static void zt_spoke_imp_colls(zt_arena *a, const json_t *rcg, const char *name, json_t **net,
                               json_t **app)
{
    json_t *coll;
    size_t i;
    json_array_foreach(zt_res_jget(rcg, "properties/ruleCollections"), i, coll)
    {
        const char *cn = zt_res_jstr(coll, "name");
        if (cn && !strcmp(cn, zt_spoke_coll(a, name, true)))
            *net = coll;
        else if (cn && !strcmp(cn, zt_spoke_coll(a, name, false)))
            *app = coll;
    }
}

/* allowed_fqdns: the targets of the collection's "user-fqdns" rule. */
static void zt_spoke_imp_fqdns(zt_spoke_imp *m, const json_t *coll)
{
    zt_arena *a = m->r.c->arena;
    json_t *rule;
    size_t j;
    json_array_foreach(json_object_get(coll, "rules"), j, rule)
    {
        const char *rn = zt_res_jstr(rule, "name");
        json_t *f = json_object_get(rule, "targetFqdns");
        if (!rn || strcmp(rn, "user-fqdns") != 0 || !json_is_array(f))
            continue;
        size_t nf = json_array_size(f);
        const char **fq = zt_arena_calloc(a, nf + 1, sizeof(*fq));
        for (size_t k = 0; k < nf; k++) {
            const char *v = json_string_value(json_array_get(f, k));
            fq[k] = zt_arena_strdup(a, v ? v : "");
        }
        zt_res_inputs_set(&m->in, "allowed_fqdns", zt_res_string_set(a, fq, nf));
    }
}

static zt_rc zt_spoke_import(zt_call *c, const zt_schema *s, const char *id,
                             json_t *(*get)(void *getter, const char *arm_id), void *getter,
                             const zt_cty_value **inputs)
{
    zt_arena *a = c->arena;
    zt_spoke_imp m = {.r = {.c = c, .get = get, .getter = getter}};
    size_t errors = c->diags->errors;
    const char *rg_id = zt_res_rg_of(a, id);
    const char *last = id ? strrchr(id, '/') : NULL;
    if (!rg_id || !last || !strcasestr(id, "/providers/Microsoft.Network/virtualNetworks/") ||
        strncmp(last + 1, "vnet-", 5) != 0 || last[6] == '\0')
        return zt_diag_error(c->diags, NULL, "Invalid import ID",
                             "\"%s\" is not the ID of a spoke VNet (/subscriptions/<id>/"
                             "resourceGroups/<group>/providers/Microsoft.Network/"
                             "virtualNetworks/vnet-<spoke name>).", id);
    const char *name = zt_arena_strdup(a, last + 6);
    zt_res_inputs_init(&m.in, a, s->type->n);

    json_t *vnet = zt_spoke_imp_get(&m, id);
    if (!vnet)
        return zt_diag_error(c->diags, NULL, "Spoke not found",
                             "The virtual network %s does not exist.", id);
    json_t *peering = zt_spoke_imp_get(&m, zt_arena_printf(a, "%s/virtualNetworkPeerings/"
                                                              "peer-to-hub", id));
    const char *hub_vnet = zt_res_jstr(peering, "properties/remoteVirtualNetwork/id");
    if (!hub_vnet)
        return zt_diag_error(c->diags, NULL, "Not a zerotrust_spoke VNet",
                             "%s has no peering peer-to-hub to a hub VNet: it was not created "
                             "by zerotrust_spoke.", id);
    const char *net = zt_arena_printf(a, "%s/providers/Microsoft.Network", rg_id);
    const char *hub_net = zt_arena_printf(a, "%s/providers/Microsoft.Network",
                                          zt_res_rg_of(a, hub_vnet));
    json_t *rt = zt_spoke_imp_get(&m, zt_arena_printf(a, "%s/routeTables/rt-%s", net, name));
    const char *fw_ip = zt_res_jstr(rt, "properties/routes/0/properties/nextHopIpAddress");
    json_t *hub = zt_spoke_imp_get(&m, hub_vnet);
    const char *hub_name = strrchr(hub_vnet, '/') + 1;
    if (strncmp(hub_name, "vnet-", 5) == 0)
        hub_name += 5;

    zt_res_inputs_set(&m.in, "name", zt_cty_string(a, name));
    zt_res_inputs_set(&m.in, "resource_group_name",
                      zt_cty_string(a, strrchr(rg_id, '/') + 1));
    zt_res_inputs_set(&m.in, "location", zt_res_str_or_null(a, zt_res_jstr(vnet, "location")));
    zt_res_inputs_set(&m.in, "address_space",
                      zt_res_str_or_null(a, zt_res_jstr(vnet, "properties/addressSpace/"
                                                             "addressPrefixes/0")));
    zt_res_inputs_set(&m.in, "hub_virtual_network_id", zt_cty_string(a, hub_vnet));
    zt_res_inputs_set(&m.in, "hub_address_space",
                      zt_res_str_or_null(a, zt_res_jstr(hub, "properties/addressSpace/"
                                                            "addressPrefixes/0")));
    zt_res_inputs_set(&m.in, "hub_firewall_private_ip", zt_res_str_or_null(a, fw_ip));
    json_t *uses = zt_res_jget(peering, "properties/useRemoteGateways");
    zt_res_inputs_set(&m.in, "hub_gateway_enabled", zt_cty_bool(a, json_is_true(uses)));
    zt_res_inputs_set(&m.in, "tags", zt_res_imp_tags(a, vnet));

    /* Egress per subnet. */
    const char *fw_sn[ZT_ARRAY_LEN(zt_spoke_subnets)], *nat_sn[ZT_ARRAY_LEN(zt_spoke_subnets)];
    size_t n_fw = 0, n_nat = 0, i;
    json_t *sn;
    json_array_foreach(zt_res_jget(vnet, "properties/subnets"), i, sn)
    {
        const char *sname = zt_res_jstr(sn, "name");
        if (!sname || !zt_spoke_is_subnet(sname))
            continue;
        if (zt_res_jget(sn, "properties/routeTable") && n_fw < ZT_ARRAY_LEN(fw_sn))
            fw_sn[n_fw++] = zt_arena_strdup(a, sname);
        if (zt_res_jget(sn, "properties/natGateway") && n_nat < ZT_ARRAY_LEN(nat_sn))
            nat_sn[n_nat++] = zt_arena_strdup(a, sname);
    }
    bool fw_default = n_fw == ZT_ARRAY_LEN(zt_spoke_default_fw_subnets);
    for (size_t k = 0; fw_default && k < n_fw; k++)
        fw_default = zt_spoke_in(zt_spoke_default_fw_subnets,
                                 ZT_ARRAY_LEN(zt_spoke_default_fw_subnets), fw_sn[k]);
    if (!fw_default)
        zt_res_inputs_set(&m.in, "firewall_egress_subnets", zt_res_string_set(a, fw_sn, n_fw));
    if (n_nat)
        zt_res_inputs_set(&m.in, "nat_gateway_subnets", zt_res_string_set(a, nat_sn, n_nat));

    /* The spoke's collections in its shared group, and the GatewaySubnet
     * route on the hub. An estate an earlier release made has the rules in
     * a group of the spoke's own instead: the engine tracks that group
     * (former_id) and the next apply moves them. */
    const char *policies = zt_arena_printf(a, "%s/firewallPolicies", hub_net);
    json_t *rcg = NULL, *route = NULL, *own = NULL, *net_c = NULL, *app_c = NULL;
    const char *policy = zt_spoke_imp_find(&m, policies,
                                           zt_arena_printf(a, "ruleCollectionGroups/%s",
                                                           zt_spoke_rcg_name(a, name)),
                                           &rcg);
    zt_spoke_imp_colls(a, rcg, name, &net_c, &app_c);
    if (!net_c && !app_c) {
        const char *former = zt_spoke_imp_find(&m, policies, zt_arena_printf(
            a, "ruleCollectionGroups/" ZT_SPOKE_FORMER_RCG "%s", name), &own);
        policy = former ? former : policy;
    }
    const char *hub_rt = zt_spoke_imp_find(&m, zt_arena_printf(a, "%s/routeTables", hub_net),
                                           zt_arena_printf(a, "routes/spoke-%s", name), &route);
    zt_res_inputs_set(&m.in, "hub_firewall_policy_id", zt_res_str_or_null(a, policy));
    zt_res_inputs_set(&m.in, "hub_gateway_route_table_id", zt_res_str_or_null(a, hub_rt));
    /* The former group had the spoke's priority and its two collections
     * (the user's FQDNs in the second); the shared one has the spoke's. */
    json_t *prio = own ? zt_res_jget(own, "properties/priority") : json_object_get(net_c, "priority");
    size_t j;
    json_t *coll;
    json_array_foreach(own ? zt_res_jget(own, "properties/ruleCollections") : NULL, j, coll)
        zt_spoke_imp_fqdns(&m, coll);
    if (app_c)
        zt_spoke_imp_fqdns(&m, app_c);
    zt_res_inputs_set(&m.in, "firewall_rule_priority",
                      json_is_integer(prio) ? zt_cty_number_int(a, json_integer_value(prio))
                                            : zt_cty_null(a, &zt_cty_number_type));

    /* DNS: the hub's zones (its output map) and resolver, then the mode. */
    json_t *zones = zt_res_read_list(&m.r, zt_arena_printf(a, "%s/privateDnsZones", hub_net));
    zt_res_inputs_set(&m.in, "hub_private_dns_zone_ids",
                      zones ? zt_res_name_id_map(a, zones)
                            : zt_cty_null(a, zt_cty_type_map(a, &zt_cty_string_type)));
    json_t *inbound = zt_spoke_imp_get(
        &m, zt_arena_printf(a, "%s/dnsResolvers/dnspr-%s/inboundEndpoints/inbound", hub_net,
                            hub_name));
    zt_res_inputs_set(&m.in, "hub_resolver_inbound_ip",
                      zt_res_str_or_null(a, zt_res_jstr(inbound, "properties/ipConfigurations/0/"
                                                                 "privateIpAddress")));
    const char *dns = zt_res_jstr(vnet, "properties/dhcpOptions/dnsServers/0");
    if (dns)
        zt_res_inputs_set(&m.in, "dns_mode", zt_cty_string(a, fw_ip && strcmp(dns, fw_ip) == 0
                                                              ? ZT_SPOKE_DNS_FIREWALL
                                                              : ZT_SPOKE_DNS_RESOLVER));

    zt_spoke_imp_monitoring(&m, s, net, name, zt_res_jstr(vnet, "location"));

    /* Everything else null, in the schema's attribute order. */
    *inputs = zt_res_inputs_object(a, s->type, &m.in);
    return c->diags->errors > errors ? ZT_ERR_REMOTE : ZT_OK;
}

/* ---------------------------------------------------------------------
 * The definition.
 * ------------------------------------------------------------------- */

/* Schema version 1: virtual_network_id, as azurerm names it. */
static const zt_upgrade_op zt_spoke_v0_ops[] = {
    {ZT_UPGRADE_RENAME, "vnet_id", "virtual_network_id"},
    {ZT_UPGRADE_RENAME, "hub_vnet_id", "hub_virtual_network_id"},
};

static const zt_state_upgrade zt_spoke_upgrades[] = {
    {0, zt_spoke_v0_ops, ZT_ARRAY_LEN(zt_spoke_v0_ops), NULL},
};

const zt_composite_def zt_composite_spoke = {
    .type_name = "zerotrust_spoke",
    .nodes = zt_spoke_nodes,
    .n_nodes = ZT_ARRAY_LEN(zt_spoke_nodes),
    .outputs = zt_spoke_outputs,
    .n_outputs = ZT_ARRAY_LEN(zt_spoke_outputs),
    .id_node = "vnet",
    .upgrades = zt_spoke_upgrades,
    .n_upgrades = ZT_ARRAY_LEN(zt_spoke_upgrades),
    .validate = zt_spoke_validate,
    .import = zt_spoke_import,
    .plan_check = zt_spoke_plan_check,
    .default_create_ms = 30 * 60 * 1000,
    .default_update_ms = 30 * 60 * 1000,
    .default_delete_ms = 30 * 60 * 1000,
    .default_read_ms = 10 * 60 * 1000,
};
