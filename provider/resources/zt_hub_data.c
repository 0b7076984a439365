/* zt_hub_data.c - data source zerotrust_hub: what a spoke needs from a hub,
 * read from Azure by the hub VNet's ID, so that a spoke kept in another
 * state (another team's pipeline) needs no reference to the hub's state.
 *
 * The hub is read the way `terraform import` reads it (the hub composite's
 * import, then one GET per node), and the data source copies the hub's
 * outputs: the values are the ones a zerotrust_hub resource of that hub
 * holds in its own state.
 */
#include "zt_composite.h"
#include "zt_res.h"

#include <string.h>

/* The hub outputs a spoke takes, by the same names. */
static const char *const zt_hub_data_attrs[] = {
    "name", "location", "resource_group_name", "address_space", "firewall_id",
    "firewall_private_ip", "firewall_policy_id", "gateway_enabled", "gateway_id",
    "gateway_route_table_id", "resolver_inbound_ip", "private_dns_zone_ids", "subnet_ids",
};

static zt_rc zt_hub_data_validate(zt_call *c, const zt_schema *s, const zt_cty_value *config)
{
    ZT_UNUSED(s);
    const char *id = zt_res_known_str(config, "virtual_network_id");
    if (id && !zt_res_id_ok(id, "/providers/Microsoft.Network/virtualNetworks/"))
        return zt_diag_error(c->diags, zt_path_attr(c->arena, zt_path_root(c->arena),
                                                    "virtual_network_id"),
                             "Invalid resource ID",
                             "\"%s\" is not a virtual network's resource ID (/subscriptions/.../"
                             "resourceGroups/.../providers/Microsoft.Network/virtualNetworks/"
                             "vnet-<hub name>).", id);
    return ZT_OK;
}

static zt_rc zt_hub_data_read(zt_call *c, const zt_schema *s, const zt_cty_value *config,
                              const zt_cty_value **state)
{
    zt_arena *a = c->arena;
    const char *id = zt_res_known_str(config, "virtual_network_id");
    const zt_composite_def *def = zt_composite_find("zerotrust_hub");
    const zt_schema *hs = zt_schema_find(ZT_SCHEMA_RESOURCE, "zerotrust_hub");
    if (!id || !def || !hs)
        return zt_diag_error(c->diags, NULL, "Cannot read the hub",
                             "virtual_network_id is not known, or the provider lacks the hub's "
                             "definition (a provider bug).");
    zt_comp_state hub;
    ZT_TRY(zt_comp_import(c, def, hs, id, &hub));
    const char **names = zt_arena_calloc(a, s->type->n + 1, sizeof(*names));
    const zt_cty_value **vals = zt_arena_calloc(a, s->type->n + 1, sizeof(*vals));
    size_t n = 0;
    names[n] = "virtual_network_id";
    vals[n++] = zt_cty_string(a, id);
    const zt_cty_value *vnet = zt_cty_get_attr(hub.state, "virtual_network_id");
    names[n] = "id";
    vals[n++] = vnet && !vnet->is_null ? vnet : zt_cty_string(a, id);
    /* Attributes the hub's state lacks stay null. */
    for (size_t i = 0; i < ZT_ARRAY_LEN(zt_hub_data_attrs); i++) {
        const zt_cty_value *v = zt_cty_get_attr(hub.state, zt_hub_data_attrs[i]);
        if (v) {
            names[n] = zt_hub_data_attrs[i];
            vals[n++] = v;
        }
    }
    zt_res_inputs in = {.names = names, .vals = vals, .n = n};
    *state = zt_res_inputs_object(a, s->type, &in);
    return ZT_OK;
}

const zt_datasource_def zt_ds_hub = {
    .type_name = "zerotrust_hub",
    .validate = zt_hub_data_validate,
    .read = zt_hub_data_read,
};
