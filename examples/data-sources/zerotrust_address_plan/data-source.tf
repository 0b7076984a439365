data "zerotrust_address_plan" "hub" {
  address_space = "10.0.0.0/22"
  layout        = "hub"

  subnets = [
    { name = "GatewaySubnet", prefix_length = 26 }, # resize a layout subnet
    { name = "shared-services", newbits = 2 },      # add one: /22 + 2 = /24
  ]
}

output "firewall_subnet" {
  value = data.zerotrust_address_plan.hub.cidrs["AzureFirewallSubnet"]
}
