# By the hub VNet's resource ID; every input is read back from Azure.
terraform import zerotrust_hub.this /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-hub-weu/providers/Microsoft.Network/virtualNetworks/vnet-weu
