# Address planning for a hub and a spoke: no Azure calls, no credentials.
#
#   terraform init && terraform apply -auto-approve && terraform output
#
# Provider functions (provider::zerotrust::cidr_layout) need Terraform >= 1.8
# or OpenTofu >= 1.7.

terraform {
  required_version = ">= 1.8"
  required_providers {
    zerotrust = {
      source  = "registry.zerotrust.internal/zerotrust/zerotrust"
      version = "~> 0.2.0"
    }
  }
}

# Address planning only: nothing here reaches Azure, so the provider does
# not sign in (without this setting, configuring it needs a credential).
provider "zerotrust" {
  skip_credentials_validation = true
}

variable "hub_address_space" {
  type    = string
  default = "10.0.0.0/22"
}

variable "spoke_address_space" {
  type    = string
  default = "10.1.0.0/24"
}

# The hub: the layout's six subnets plus a shared-services /24.
data "zerotrust_address_plan" "hub" {
  address_space = var.hub_address_space
  layout        = "hub"

  subnets = [
    { name = "shared-services", newbits = 2 },
  ]
}

# The spoke through the provider function: a map of name => CIDR.
locals {
  spoke_subnets = provider::zerotrust::cidr_layout(var.spoke_address_space, "spoke", [])

  apps_subnets = provider::zerotrust::cidr_layout("10.2.0.0/24", null, [
    { name = "web", prefix_length = 26 },
    { name = "db", newbits = 3 },
  ])
}

output "hub_cidrs" {
  description = "Hub subnets by name."
  value       = data.zerotrust_address_plan.hub.cidrs
}

output "hub_firewall_subnet" {
  value = data.zerotrust_address_plan.hub.cidrs["AzureFirewallSubnet"]
}

output "hub_allocations" {
  description = "Every hub subnet with its usable range (Azure reserves 5 addresses per subnet)."
  value = [
    for s in data.zerotrust_address_plan.hub.allocations :
    "${s.name} ${s.cidr} ${s.first_usable}-${s.last_usable} (${s.usable_hosts} usable)"
  ]
}

output "hub_free_cidrs" {
  value = data.zerotrust_address_plan.hub.free_cidrs
}

output "spoke_subnets" {
  value = local.spoke_subnets
}

output "databricks_host_subnet" {
  value = local.spoke_subnets["databricks-host"]
}

output "apps_subnets" {
  value = local.apps_subnets
}
