# What a Terraform plan deletes, one line each, from `terraform show -json PLAN`:
#
#   terraform plan -out=tfplan && terraform show -json tfplan > plan.json
#   jq -r -f destructive.jq plan.json | tee destructive.txt
#   test ! -s destructive.txt     # fail the pipeline when anything is listed
#
# A zerotrust resource is one Terraform resource over many Azure resources:
# Terraform shows "update in-place" even when the update replaces a firewall
# underneath. Its underlying_changes attribute names every node the plan
# replaces or deletes; when an update's map is unknown (it depends on values
# known only after apply), it may delete something and is listed too.
.resource_changes[]? | .address as $a | .change as $c |
  (select($c.actions | index("delete")) | "\($a): \($c.actions | join(", "))"),
  (($c.after.underlying_changes? // {}) | objects | to_entries[]
     | select(.value == "replace" or .value == "delete") | "\($a): \(.key) \(.value)"),
  (select(($c.actions | index("update")) and ($c.after_unknown.underlying_changes? // false) == true)
     | "\($a): underlying changes known only after apply")
