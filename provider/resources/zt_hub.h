/* zt_hub.h - what zerotrust_hub's definition (zt_hub.c) shares with the
 * zerotrust_hub data source (zt_hub_data.c): finding an existing hub in
 * Azure by its VNet's ID and reading its parts, as the import does. */
#ifndef ZT_HUB_H
#define ZT_HUB_H

#include "zt_res.h"

/* A hub as found in Azure. */
typedef struct zt_hub_found {
    zt_res_import_id id; /* subscription, group, hub name (without "vnet-") */
    const char *net;     /* id.rg_id + "/providers/Microsoft.Network" */
    json_t *vnet;        /* the hub VNet, as Azure holds it */
    json_t *fw;          /* its firewall afw-<name> */
} zt_hub_found;

/* The hub VNet's ID: .../providers/Microsoft.Network/virtualNetworks/vnet-<name>. */
extern const zt_res_id_shape zt_hub_id_shape;

/* Reads the VNet id (/subscriptions/../virtualNetworks/vnet-<name>) and
 * its firewall. Error diagnostics at path: bad_id_summary for an ID of
 * another shape, "Hub not found" for a missing VNet, the ARM error of a
 * failed read, "Not a zerotrust_hub VNet" for a VNet without
 * AzureFirewallSubnet or without the hub's firewall in it. */
zt_rc zt_hub_find(const zt_res_reader *r, const char *id, const zt_path *path,
                  const char *bad_id_summary, zt_hub_found *out);

/* A GET of printf(fmt, h->net, hub name): NULL on 404 or after an error
 * diagnostic. */
json_t *zt_hub_get(const zt_res_reader *r, const zt_hub_found *h, const char *fmt);

/* Names of the private DNS zones of the hub's group that carry the hub
 * VNet's link (link-vnet-<name>), in the order read. */
const char **zt_hub_linked_zones(const zt_res_reader *r, const zt_hub_found *h, size_t *n);

extern const zt_composite_def zt_composite_hub;

#endif
