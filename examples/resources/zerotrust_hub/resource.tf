resource "zerotrust_hub" "this" {
  name                = "weu"
  location            = "westeurope"
  resource_group_name = "rg-hub-weu"
  address_space       = "10.100.0.0/22"

  # Optional: point-to-site VPN with Microsoft Entra ID sign-in.
  vpn_gateway = {
    client_address_pool = "172.16.201.0/24"
    tenant_id           = "11111111-1111-1111-1111-111111111111"
  }

  tags = {
    environment = "prod"
    project     = "data-platform"
    owner       = "platform-team@example.com"
    cost-centre = "CC-1042"
  }

  timeouts {
    create = "90m"
  }
}
