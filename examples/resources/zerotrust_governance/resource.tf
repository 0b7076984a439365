# Monitoring, alerts, the built-in policy initiative and the budget of the platform; the
# other composites send their diagnostics to its Log Analytics workspace.
resource "zerotrust_governance" "this" {
  name                  = "platform-weu"
  location              = "westeurope"
  resource_group_name   = "rg-ops-weu"
  alert_email_addresses = ["platform-team@example.com"]

  # policy_scope_ids: the subscription (the default) or some of its resource groups
  allowed_locations = ["westeurope", "northeurope"]
  policy_effects = {
    storage_public_network_access = "Deny"
  }
  budget_amount = 2500

  tags = {
    environment = "prod"
    project     = "data-platform"
    owner       = "platform-team@example.com"
    cost-centre = "CC-1042"
  }
}

resource "zerotrust_hub" "this" {
  name                       = "weu"
  location                   = "westeurope"
  resource_group_name        = "rg-hub-weu"
  address_space              = "10.100.0.0/22"
  log_analytics_workspace_id = zerotrust_governance.this.log_analytics_workspace_id
  tags                       = { environment = "prod", project = "data-platform", owner = "platform-team@example.com", cost-centre = "CC-1042" }
}
