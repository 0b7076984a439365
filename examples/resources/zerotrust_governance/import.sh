# By the Log Analytics workspace's resource ID; every input is read back from Azure.
terraform import zerotrust_governance.this /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-ops-weu/providers/Microsoft.OperationalInsights/workspaces/log-platform-weu
