# The hub of a zero-trust hub-and-spoke network: Azure Firewall (Premium,
# forced-tunnelling ready), Bastion, a Private DNS Resolver, the platform's
# private DNS zones and, optionally, a point-to-site VPN gateway.
#
#   export ARM_SUBSCRIPTION_ID=... ARM_TENANT_ID=... ARM_CLIENT_ID=...
#   export ARM_USE_OIDC=true          # or ARM_USE_MSI, ARM_CLIENT_CERTIFICATE_PATH, ARM_USE_CLI
#   terraform init && terraform apply
#
# The resource group must exist (the hub never creates or deletes it):
#   az group create -n rg-hub-weu -l westeurope --tags environment=prod ...

terraform {
  required_version = ">= 1.5"
  required_providers {
    zerotrust = {
      source  = "registry.zerotrust.internal/zerotrust/zerotrust"
      version = "~> 0.2.0"
    }
  }
}

# Credentials, subscription and (for tests) the ARM endpoint come from the
# ARM_* environment variables, as with azurerm.
provider "zerotrust" {}

variable "resource_group_name" {
  type    = string
  default = "rg-hub-weu"
}

variable "location" {
  type    = string
  default = "westeurope"
}

variable "address_space" {
  description = "The hub VNet's address space; a /22 leaves room to grow."
  type        = string
  default     = "10.100.0.0/22"
}

variable "vpn_tenant_id" {
  description = "Microsoft Entra tenant whose users may connect over point-to-site VPN; null: no VPN gateway."
  type        = string
  default     = null
}

variable "log_analytics_workspace_id" {
  description = "Log Analytics workspace for the firewall's, Bastion's and the gateway's logs; null: none."
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

resource "zerotrust_hub" "this" {
  name                = "weu"
  location            = var.location
  resource_group_name = var.resource_group_name
  address_space       = var.address_space

  firewall_sku_tier = "Premium"
  bastion_sku       = "Standard"

  # 45 minutes to create: only when a tenant is given.
  vpn_gateway = var.vpn_tenant_id == null ? null : {
    client_address_pool = "172.16.201.0/24"
    tenant_id           = var.vpn_tenant_id
  }

  log_analytics_workspace_id = var.log_analytics_workspace_id

  # The platform's seven zones plus one for PostgreSQL.
  private_dns_zones = [
    "privatelink.azuredatabricks.net",
    "privatelink.blob.core.windows.net",
    "privatelink.dfs.core.windows.net",
    "privatelink.vaultcore.azure.net",
    "privatelink.azurecr.io",
    "privatelink.azurewebsites.net",
    "privatelink.servicebus.windows.net",
    "privatelink.postgres.database.azure.com",
  ]

  tags = local.tags

  # Default timeouts: create and update 90m, delete 60m. A timeouts block
  # is configuration only: after `terraform import` it shows as a change.
}

output "hub_id" {
  value = zerotrust_hub.this.id
}

output "virtual_network_id" {
  value = zerotrust_hub.this.virtual_network_id
}

output "subnet_cidrs" {
  value = zerotrust_hub.this.subnet_cidrs
}

output "firewall_private_ip" {
  description = "Next hop of the spokes' default routes and their DNS server."
  value       = zerotrust_hub.this.firewall_private_ip
}

output "firewall_policy_id" {
  value = zerotrust_hub.this.firewall_policy_id
}

output "gateway_enabled" {
  value = zerotrust_hub.this.gateway_enabled
}

output "resolver_inbound_ip" {
  value = zerotrust_hub.this.resolver_inbound_ip
}

output "private_dns_zone_ids" {
  value = zerotrust_hub.this.private_dns_zone_ids
}

output "gateway_route_table_id" {
  value = zerotrust_hub.this.gateway_route_table_id
}

output "underlying_resources" {
  value = zerotrust_hub.this.underlying_resources
}
