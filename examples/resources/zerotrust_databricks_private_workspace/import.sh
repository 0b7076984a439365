# By the Databricks workspace's resource ID; every input is read back from Azure.
terraform import zerotrust_databricks_private_workspace.analytics /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-dbx-weu/providers/Microsoft.Databricks/workspaces/dbw-analytics
