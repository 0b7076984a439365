# The whole zero-trust Azure Databricks platform in one apply: the governance
# layer first (Log Analytics, alerts, Azure Policy guardrails, budget), then
# the hub (firewall, Bastion, DNS resolver, private DNS zones), a workload
# spoke whose egress goes through the hub firewall, and a private Databricks
# workspace injected into the spoke with customer-managed keys, private
# endpoints and least-privilege identities. Every layer sends its logs and
# metrics to the governance layer's workspace.
#
#   export ARM_SUBSCRIPTION_ID=... ARM_TENANT_ID=... ARM_CLIENT_ID=...
#   export ARM_USE_OIDC=true          # or ARM_USE_MSI, ARM_CLIENT_CERTIFICATE_PATH, ARM_USE_CLI
#   terraform init && terraform apply
#
# The four resource groups must exist; nothing here creates or deletes them.
# The guardrails are assigned to the subscription (policy_scope_ids).

terraform {
  required_version = ">= 1.5"
  required_providers {
    zerotrust = {
      source  = "registry.zerotrust.internal/zerotrust/zerotrust"
      version = "~> 0.2.0"
    }
  }
}

provider "zerotrust" {}

variable "location" {
  type    = string
  default = "westeurope"
}

variable "governance_resource_group_name" {
  type    = string
  default = "rg-ops-weu"
}

variable "alert_email_addresses" {
  description = "Who the alerts and budget notifications e-mail."
  type        = list(string)
  default     = ["platform-team@example.com"]
}

variable "hub_resource_group_name" {
  type    = string
  default = "rg-hub-weu"
}

variable "spoke_resource_group_name" {
  type    = string
  default = "rg-spokes-weu"
}

variable "workspace_resource_group_name" {
  type    = string
  default = "rg-dbx-weu"
}

variable "github_subject" {
  description = "The GitHub Actions subject the CI/CD identity trusts."
  type        = string
  default     = "repo:contoso/platform:environment:prod"
}

variable "azure_databricks_principal_id" {
  description = <<-EOT
    Object ID of the AzureDatabricks first-party service principal in your tenant; it is granted the
    Databricks customer-managed key. Look it up once:
      az ad sp show --id 2ff814a6-3304-4ab8-85cb-cd0e6f879c1d --query id -o tsv
    Null: grant it Key Vault Crypto Service Encryption User on the key yourself.
  EOT
  type        = string
  default     = null
}

locals {
  tags = {
    environment = "prod"
    project     = "data-platform"
    owner       = "platform-team@example.com"
    cost-centre = "CC-1042"
  }
}

resource "zerotrust_governance" "platform" {
  name                  = "platform-weu"
  location              = var.location
  resource_group_name   = var.governance_resource_group_name
  alert_email_addresses = var.alert_email_addresses
  tags                  = local.tags
}

resource "zerotrust_hub" "hub" {
  name                       = "weu"
  location                   = var.location
  resource_group_name        = var.hub_resource_group_name
  address_space              = "10.100.0.0/22"
  log_analytics_workspace_id = zerotrust_governance.platform.log_analytics_workspace_id
  tags                       = local.tags
}

resource "zerotrust_spoke" "analytics" {
  name                = "analytics"
  location            = var.location
  resource_group_name = var.spoke_resource_group_name
  address_space       = "10.1.0.0/22"

  hub_virtual_network_id     = zerotrust_hub.hub.virtual_network_id
  hub_address_space          = zerotrust_hub.hub.address_space
  hub_firewall_private_ip    = zerotrust_hub.hub.firewall_private_ip
  hub_firewall_policy_id     = zerotrust_hub.hub.firewall_policy_id
  hub_gateway_route_table_id = zerotrust_hub.hub.gateway_route_table_id
  hub_gateway_enabled        = zerotrust_hub.hub.gateway_enabled
  hub_private_dns_zone_ids   = zerotrust_hub.hub.private_dns_zone_ids
  hub_resolver_inbound_ip    = zerotrust_hub.hub.resolver_inbound_ip

  firewall_rule_priority     = 200
  log_analytics_workspace_id = zerotrust_governance.platform.log_analytics_workspace_id
  tags                       = local.tags
}

resource "zerotrust_databricks_private_workspace" "analytics" {
  name                = "analytics"
  location            = var.location
  resource_group_name = var.workspace_resource_group_name

  virtual_network_id         = zerotrust_spoke.analytics.virtual_network_id
  host_subnet_name           = zerotrust_spoke.analytics.subnet_names["databricks_host"]
  container_subnet_name      = zerotrust_spoke.analytics.subnet_names["databricks_container"]
  private_endpoint_subnet_id = zerotrust_spoke.analytics.subnet_ids[zerotrust_spoke.analytics.subnet_names["private_endpoints"]]
  private_dns_zone_ids       = zerotrust_hub.hub.private_dns_zone_ids

  key_vault_name          = "kv-zt-analytics-weu"
  storage_account_name    = "stztanalyticsweu"
  container_registry_name = "acrztanalyticsweu"
  github_subject          = var.github_subject

  # One browser_authentication endpoint per region is enough; this is the first.
  browser_authentication_enabled = true
  azure_databricks_principal_id  = var.azure_databricks_principal_id
  log_analytics_workspace_id     = zerotrust_governance.platform.log_analytics_workspace_id

  tags = local.tags
}

output "workspace_url" {
  value = zerotrust_databricks_private_workspace.analytics.workspace_url
}

output "private_endpoint_ips" {
  value = zerotrust_databricks_private_workspace.analytics.private_endpoint_ips
}

output "identities" {
  value = {
    client_ids    = zerotrust_databricks_private_workspace.analytics.identity_client_ids
    principal_ids = zerotrust_databricks_private_workspace.analytics.identity_principal_ids
  }
}

output "firewall_private_ip" {
  value = zerotrust_hub.hub.firewall_private_ip
}

output "spoke_subnets" {
  value = zerotrust_spoke.analytics.subnet_cidrs
}

output "key_vault_uri" {
  value = zerotrust_databricks_private_workspace.analytics.key_vault_uri
}

output "storage_dfs_endpoint" {
  value = zerotrust_databricks_private_workspace.analytics.storage_dfs_endpoint
}

output "log_analytics_workspace_id" {
  value = zerotrust_governance.platform.log_analytics_workspace_id
}

output "policy_assignment_ids" {
  value = zerotrust_governance.platform.policy_assignment_ids
}

output "application_insights_connection_string" {
  value     = zerotrust_governance.platform.application_insights_connection_string
  sensitive = true
}
