# By the spoke VNet's resource ID; the hub inputs are rebuilt from the spoke's peering and
# the hub-side resources named after the spoke.
terraform import zerotrust_spoke.analytics /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-spokes-weu/providers/Microsoft.Network/virtualNetworks/vnet-analytics
