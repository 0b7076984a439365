locals {
  spoke = provider::zerotrust::cidr_layout("10.1.0.0/24", "spoke", null)
  # {
  #   "databricks-container" = "10.1.0.64/26"
  #   "databricks-host"      = "10.1.0.0/26"
  #   "functions"            = "10.1.0.128/26"
  #   "private-endpoints"    = "10.1.0.192/27"
  # }

  apps = provider::zerotrust::cidr_layout("10.2.0.0/24", null, [
    { name = "web", prefix_length = 26 },
    { name = "db", newbits = 3 },
  ])
  # { "db" = "10.2.0.64/27", "web" = "10.2.0.0/26" }
}
