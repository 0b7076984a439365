terraform {
  required_providers {
    zerotrust = {
      source  = "registry.zerotrust.internal/zerotrust/zerotrust"
      version = "~> 0.2.0"
    }
  }
}

# Keyless in a pipeline: workload identity federation (GitHub Actions shown). The IDs can
# also come from ARM_SUBSCRIPTION_ID, ARM_TENANT_ID, ARM_CLIENT_ID and ARM_USE_OIDC.
provider "zerotrust" {
  subscription_id = "00000000-0000-0000-0000-000000000000"
  tenant_id       = "11111111-1111-1111-1111-111111111111"
  client_id       = "22222222-2222-2222-2222-222222222222"
  use_oidc        = true
}
