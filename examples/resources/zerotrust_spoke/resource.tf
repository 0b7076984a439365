resource "zerotrust_spoke" "analytics" {
  name                = "analytics"
  location            = "westeurope"
  resource_group_name = "rg-spokes-weu"
  address_space       = "10.1.0.0/22"

  # The hub, by its outputs (Terraform creates the hub first).
  hub_virtual_network_id     = zerotrust_hub.this.virtual_network_id
  hub_address_space          = zerotrust_hub.this.address_space
  hub_firewall_private_ip    = zerotrust_hub.this.firewall_private_ip
  hub_firewall_policy_id     = zerotrust_hub.this.firewall_policy_id
  hub_gateway_route_table_id = zerotrust_hub.this.gateway_route_table_id
  hub_gateway_enabled        = zerotrust_hub.this.gateway_enabled
  hub_private_dns_zone_ids   = zerotrust_hub.this.private_dns_zone_ids
  hub_resolver_inbound_ip    = zerotrust_hub.this.resolver_inbound_ip

  firewall_rule_priority = 200
  allowed_fqdns          = ["conda.anaconda.org", "repo.anaconda.com"]

  tags = {
    environment = "prod"
    project     = "data-platform"
    owner       = "platform-team@example.com"
    cost-centre = "CC-1042"
  }
}

resource "zerotrust_hub" "this" {
  name                = "weu"
  location            = "westeurope"
  resource_group_name = "rg-hub-weu"
  address_space       = "10.100.0.0/22"
  tags = {
    environment = "prod"
    project     = "data-platform"
    owner       = "platform-team@example.com"
    cost-centre = "CC-1042"
  }
}
