# The workspace in a spoke made by zerotrust_spoke, its private endpoints resolved through
# the hub's private DNS zones (the spoke and hub are in the zerotrust_spoke example).
resource "zerotrust_databricks_private_workspace" "analytics" {
  name                = "analytics"
  location            = "westeurope"
  resource_group_name = "rg-dbx-weu"

  virtual_network_id         = zerotrust_spoke.analytics.virtual_network_id
  host_subnet_name           = zerotrust_spoke.analytics.subnet_names["databricks_host"]
  container_subnet_name      = zerotrust_spoke.analytics.subnet_names["databricks_container"]
  private_endpoint_subnet_id = zerotrust_spoke.analytics.subnet_ids[zerotrust_spoke.analytics.subnet_names["private_endpoints"]]
  private_dns_zone_ids       = zerotrust_hub.this.private_dns_zone_ids

  key_vault_name          = "kv-zt-analytics-weu"
  storage_account_name    = "stztanalyticsweu"
  container_registry_name = "acrztanalyticsweu"
  github_subject          = "repo:contoso/platform:environment:prod"

  # The first workspace of a region carries the browser authentication endpoint.
  browser_authentication_enabled = true
  # az ad sp show --id 2ff814a6-3304-4ab8-85cb-cd0e6f879c1d --query id -o tsv
  azure_databricks_principal_id = "33333333-3333-3333-3333-333333333333"

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
  tags                = { environment = "prod", project = "data-platform", owner = "platform-team@example.com", cost-centre = "CC-1042" }
}

resource "zerotrust_spoke" "analytics" {
  name                       = "analytics"
  location                   = "westeurope"
  resource_group_name        = "rg-spokes-weu"
  address_space              = "10.1.0.0/22"
  hub_virtual_network_id     = zerotrust_hub.this.virtual_network_id
  hub_firewall_private_ip    = zerotrust_hub.this.firewall_private_ip
  hub_firewall_policy_id     = zerotrust_hub.this.firewall_policy_id
  hub_gateway_route_table_id = zerotrust_hub.this.gateway_route_table_id
  hub_private_dns_zone_ids   = zerotrust_hub.this.private_dns_zone_ids
  firewall_rule_priority     = 200
  tags                       = { environment = "prod", project = "data-platform", owner = "platform-team@example.com", cost-centre = "CC-1042" }
}
