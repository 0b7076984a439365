# A spoke in its own state: the hub (in the platform team's state) is read from Azure.
data "zerotrust_hub" "platform" {
  virtual_network_id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-hub-weu/providers/Microsoft.Network/virtualNetworks/vnet-weu"
}

resource "zerotrust_spoke" "analytics" {
  name                = "analytics"
  location            = data.zerotrust_hub.platform.location
  resource_group_name = "rg-spokes-weu"
  address_space       = "10.1.0.0/22"

  hub_virtual_network_id     = data.zerotrust_hub.platform.virtual_network_id
  hub_address_space          = data.zerotrust_hub.platform.address_space
  hub_firewall_private_ip    = data.zerotrust_hub.platform.firewall_private_ip
  hub_firewall_policy_id     = data.zerotrust_hub.platform.firewall_policy_id
  hub_gateway_route_table_id = data.zerotrust_hub.platform.gateway_route_table_id
  hub_gateway_enabled        = data.zerotrust_hub.platform.gateway_enabled
  hub_private_dns_zone_ids   = data.zerotrust_hub.platform.private_dns_zone_ids
  hub_resolver_inbound_ip    = data.zerotrust_hub.platform.resolver_inbound_ip

  firewall_rule_priority = 200

  tags = {
    environment = "prod"
    project     = "data-platform"
    owner       = "analytics-team@example.com"
    cost-centre = "CC-2001"
  }
}
