/* zt_hub_data.c - data source zerotrust_hub: what a spoke needs from a hub,
 * read from Azure by the hub VNet's ID, so that a spoke kept in another
 * state (another team's pipeline) needs no reference to the hub's state.
 *
 * The hub is found and checked as its import does (zt_hub_find: ID shape,
 * VNet, firewall in AzureFirewallSubnet), then only what a spoke takes is
 * read: the gateway, the resolver's inbound endpoint and the zones linked
 * to the hub VNet. Every diagnostic is on virtual_network_id.
 */
#include "zt_hub.h"

#include <string.h>

#define ZT_HUB_DS_ARG "virtual_network_id"

typedef struct zt_hub_ds_read {
    const zt_schema *s;
    const char *id;
    const zt_path *path;
    const zt_cty_value *state;
} zt_hub_ds_read;

/* The route table on GatewaySubnet, as the VNet says. */
static const char *zt_hub_ds_gateway_rt(const json_t *vnet)
{
    const json_t *sn;
    size_t i;
    json_array_foreach(zt_res_jget(vnet, "properties/subnets"), i, sn)
    {
        const char *n = zt_res_jstr(sn, "name");
        if (n && strcmp(n, "GatewaySubnet") == 0)
            return zt_res_jstr(sn, "properties/routeTable/id");
    }
    return NULL;
}

static const zt_cty_value *zt_hub_ds_zone_ids(const zt_res_reader *r, const zt_hub_found *h)
{
    zt_arena *a = r->c->arena;
    size_t n;
    const char **names = zt_hub_linked_zones(r, h, &n);
    const char **ids = zt_arena_calloc(a, n + 1, sizeof(*ids));
    for (size_t i = 0; i < n; i++)
        ids[i] = zt_arena_printf(a, "%s/privateDnsZones/%s", h->net, names[i]);
    return zt_res_string_map(a, n, names, ids);
}

/* What a spoke cannot do without: an error naming the hub part. */
static const char *zt_hub_ds_need(zt_call *c, const zt_hub_ds_read *x, const char *value,
                                  const char *what)
{
    if (!value)
        zt_diag_error(c->diags, x->path, "Incomplete hub",
                      "The hub %s has no %s in Azure; spokes cannot be attached to it until "
                      "its apply has completed.", x->id, what);
    return value;
}

static zt_rc zt_hub_ds_reads(zt_call *c, json_t *(*get)(void *getter, const char *arm_id),
                             void *getter, void *arg)
{
    zt_hub_ds_read *x = arg;
    zt_arena *a = c->arena;
    zt_res_reader r = {.c = c, .get = get, .getter = getter};
    size_t errors = c->diags->errors;
    zt_hub_found h;
    ZT_TRY(zt_hub_find(&r, x->id, x->path, "Invalid hub VNet ID", &h));
    json_t *gw = zt_hub_get(&r, &h, "%s/virtualNetworkGateways/vgw-%s");
    json_t *inbound = zt_hub_get(&r, &h, "%s/dnsResolvers/dnspr-%s/inboundEndpoints/inbound");
    const zt_cty_value *zone_ids = zt_hub_ds_zone_ids(&r, &h);
    if (c->diags->errors > errors) /* a read failed (not 404): it said why */
        return ZT_ERR_REMOTE;

    const char *fw_ip = zt_hub_ds_need(
        c, x, zt_res_jstr(h.fw, "properties/ipConfigurations/0/properties/privateIPAddress"),
        "firewall private IP");
    const char *policy = zt_hub_ds_need(c, x, zt_res_jstr(h.fw, "properties/firewallPolicy/id"),
                                        "firewall policy");
    const char *rt = zt_hub_ds_need(c, x, zt_hub_ds_gateway_rt(h.vnet),
                                    "route table on GatewaySubnet");
    const char *space = zt_hub_ds_need(
        c, x, zt_res_jstr(h.vnet, "properties/addressSpace/addressPrefixes/0"), "address space");
    if (c->diags->errors > errors)
        return ZT_ERR_REMOTE;

    zt_res_inputs in;
    zt_res_inputs_init(&in, a, x->s->type->n);
    zt_res_inputs_set(&in, ZT_HUB_DS_ARG, zt_cty_string(a, x->id));
    zt_res_inputs_set(&in, "id", zt_res_str_or_null(a, zt_res_jstr(h.vnet, "id")));
    zt_res_inputs_set(&in, "name", zt_cty_string(a, h.id.name));
    zt_res_inputs_set(&in, "resource_group_name", zt_cty_string(a, h.id.rg));
    zt_res_inputs_set(&in, "location", zt_res_str_or_null(a, zt_res_jstr(h.vnet, "location")));
    zt_res_inputs_set(&in, "address_space", zt_cty_string(a, space));
    zt_res_inputs_set(&in, "subnet_ids",
                      zt_res_name_id_map(a, zt_res_jget(h.vnet, "properties/subnets")));
    zt_res_inputs_set(&in, "firewall_id", zt_res_str_or_null(a, zt_res_jstr(h.fw, "id")));
    zt_res_inputs_set(&in, "firewall_private_ip", zt_cty_string(a, fw_ip));
    zt_res_inputs_set(&in, "firewall_policy_id", zt_cty_string(a, policy));
    zt_res_inputs_set(&in, "gateway_enabled", zt_cty_bool(a, gw != NULL));
    zt_res_inputs_set(&in, "gateway_id", zt_res_str_or_null(a, zt_res_jstr(gw, "id")));
    zt_res_inputs_set(&in, "gateway_route_table_id", zt_cty_string(a, rt));
    zt_res_inputs_set(&in, "resolver_inbound_ip",
                      zt_res_str_or_null(a, zt_res_jstr(inbound, "properties/ipConfigurations/0/"
                                                                 "privateIpAddress")));
    zt_res_inputs_set(&in, "private_dns_zone_ids", zone_ids);
    x->state = zt_res_inputs_object(a, x->s->type, &in);
    return ZT_OK;
}

/* A refused read (its diagnostic carries the ARM error code) is about the
 * hub the argument names: point it there. */
static void zt_hub_ds_point(zt_diags *d, const zt_diag *from, const zt_path *path)
{
    for (zt_diag *g = from ? from->next : d->head; g; g = g->next)
        if (!g->path)
            g->path = path;
}

static zt_rc zt_hub_ds_validate(zt_call *c, const zt_schema *s, const zt_cty_value *config)
{
    ZT_UNUSED(s);
    const char *id = zt_res_known_str(config, ZT_HUB_DS_ARG);
    zt_res_import_id pid;
    if (!id)
        return ZT_OK;
    return zt_res_parse_id(c, id, &zt_hub_id_shape, zt_path_attr(c->arena, NULL, ZT_HUB_DS_ARG),
                           "Invalid hub VNet ID", &pid);
}

static zt_rc zt_hub_ds_read_fn(zt_call *c, const zt_schema *s, const zt_cty_value *config,
                               const zt_cty_value **state)
{
    zt_hub_ds_read x = {.s = s,
                        .id = zt_res_known_str(config, ZT_HUB_DS_ARG),
                        .path = zt_path_attr(c->arena, NULL, ZT_HUB_DS_ARG)};
    if (!x.id)
        return zt_diag_error(c->diags, x.path, "Missing hub VNet ID",
                             "virtual_network_id must be known to read the hub.");
    const zt_diag *last = c->diags->tail;
    zt_rc rc = zt_comp_reads(c, &zt_composite_hub, zt_hub_ds_reads, &x);
    zt_hub_ds_point(c->diags, last, x.path);
    if (rc != ZT_OK)
        return rc;
    *state = x.state;
    return ZT_OK;
}

const zt_datasource_def zt_ds_hub = {
    .type_name = "zerotrust_hub",
    .validate = zt_hub_ds_validate,
    .read = zt_hub_ds_read_fn,
};
