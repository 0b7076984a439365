# A zero-trust hub and three workload spokes, created in one apply.
#
#   export ARM_SUBSCRIPTION_ID=... ARM_TENANT_ID=... ARM_CLIENT_ID=...
#   export ARM_USE_OIDC=true          # or ARM_USE_MSI, ARM_CLIENT_CERTIFICATE_PATH, ARM_USE_CLI
#   terraform init && terraform apply
#
# Each spoke refers to the hub through the hub's outputs, so Terraform
# creates the hub first and the spokes in parallel after it. Every spoke
# adds its own pieces to the hub (peering, firewall rule collection group,
# route in the GatewaySubnet route table); the provider serializes those
# writes per hub resource, so the spokes never overwrite one another.
#
# The resource groups must exist (neither hub nor spokes create them).

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

variable "hub_resource_group_name" {
  type    = string
  default = "rg-hub-weu"
}

variable "spoke_resource_group_name" {
  type    = string
  default = "rg-spokes-weu"
}

variable "location" {
  type    = string
  default = "westeurope"
}

variable "vpn_tenant_id" {
  description = "Microsoft Entra tenant for point-to-site VPN; null: no gateway (and no gateway transit)."
  type        = string
  default     = null
}

variable "spokes" {
  description = "Spokes by name: address space (/16 to /24, outside the hub), priority of its rule collections in the group it shares with other spokes, extra FQDNs."
  type = map(object({
    address_space          = string
    firewall_rule_priority = number
    allowed_fqdns          = optional(set(string))
    dns_mode               = optional(string)
  }))
  default = {
    analytics = { address_space = "10.1.0.0/16", firewall_rule_priority = 200,
    allowed_fqdns = ["conda.anaconda.org", "repo.anaconda.com"] }
    ingestion = { address_space = "10.2.0.0/20", firewall_rule_priority = 210 }
    sandbox   = { address_space = "10.3.0.0/24", firewall_rule_priority = 220, dns_mode = "firewall" }
  }
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
  resource_group_name = var.hub_resource_group_name
  address_space       = "10.100.0.0/22"

  vpn_gateway = var.vpn_tenant_id == null ? null : {
    client_address_pool = "172.16.201.0/24"
    tenant_id           = var.vpn_tenant_id
  }

  tags = local.tags
}

resource "zerotrust_spoke" "this" {
  for_each = var.spokes

  name                = each.key
  location            = var.location
  resource_group_name = var.spoke_resource_group_name
  address_space       = each.value.address_space

  # The hub, by its outputs.
  hub_virtual_network_id     = zerotrust_hub.this.virtual_network_id
  hub_address_space          = zerotrust_hub.this.address_space
  hub_firewall_private_ip    = zerotrust_hub.this.firewall_private_ip
  hub_firewall_policy_id     = zerotrust_hub.this.firewall_policy_id
  hub_gateway_route_table_id = zerotrust_hub.this.gateway_route_table_id
  hub_gateway_enabled        = zerotrust_hub.this.gateway_enabled
  hub_private_dns_zone_ids   = zerotrust_hub.this.private_dns_zone_ids
  hub_resolver_inbound_ip    = zerotrust_hub.this.resolver_inbound_ip

  dns_mode               = each.value.dns_mode
  firewall_rule_priority = each.value.firewall_rule_priority
  allowed_fqdns          = each.value.allowed_fqdns

  tags = local.tags
}

output "hub_virtual_network_id" {
  value = zerotrust_hub.this.virtual_network_id
}

output "firewall_private_ip" {
  value = zerotrust_hub.this.firewall_private_ip
}

output "spoke_virtual_network_ids" {
  value = { for k, s in zerotrust_spoke.this : k => s.virtual_network_id }
}

output "spoke_subnet_ids" {
  value = { for k, s in zerotrust_spoke.this : k => s.subnet_ids }
}

output "spoke_rule_collection_group_ids" {
  value = { for k, s in zerotrust_spoke.this : k => s.rule_collection_group_id }
}

output "spoke_underlying_resources" {
  value = { for k, s in zerotrust_spoke.this : k => s.underlying_resources }
}
