"""zerotrust_databricks_private_workspace with real Terraform against the ARM
emulator, self-contained: the spoke network it injects into (VNet, NSGs,
subnets delegated to Microsoft.Databricks/workspaces, a private-endpoint
subnet), the private DNS zones and a Log Analytics workspace are created
through the emulator's API.

plan-time rejection of a zero-trust-breaking setting and of subnets VNet
injection cannot use (read from the emulator at plan: not delegated, no
NSG, missing, held by another team's workspace, one subnet for both
roles) -> plan (create) ->
apply while RBAC propagation faults (PrincipalNotFound) and an authorization
failure on the CMK phase two are injected, and key grants take 2.5 s to
propagate (the lake's CMK and phase two wait for them) -> root storage
endpoints, Service Bus (a namespace in another subscription of the tenant:
its roles named in that subscription, as ARM answers them) and
AzureDatabricks grants checked -> plan (no changes) -> drift
(workspace publicNetworkAccess flipped to Enabled, a role assignment
deleted) -> plan shows it -> apply repairs it -> plan (no changes) ->
destroy leaves nothing but the soft-deleted Key Vault -> re-apply with the
same Key Vault name and recovery switched off fails with the soft-delete
advice, with it on recovers the vault -> destroy -> every
request body re-validated against azure-specs.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import pytest

from hub_env import arm_env, start_emulator, use_emulator
from e2e_support import REPO, get_runner, make_workspace, runner_param

sys.path.insert(0, str(REPO))

RG = "rg-dbx-e2e"
SB_SUB = "5b5b5b5b-0000-4000-8000-00000000005b"  # the apps team's subscription: its Service Bus
NAME = "e2e"
KV = "kv-dbx-e2e"
SA = "stdbxe2elake"
ADDR = "zerotrust_databricks_private_workspace.this"
TAGS = {"environment": "test", "project": "data-platform", "owner": "e2e", "cost-centre": "CC-0"}
ZONES = ["privatelink.vaultcore.azure.net", "privatelink.blob.core.windows.net",
         "privatelink.dfs.core.windows.net", "privatelink.azuredatabricks.net", "privatelink.azurecr.io"]

MAIN_TF = """
terraform {
  required_providers {
    zerotrust = { source = "registry.zerotrust.internal/zerotrust/zerotrust" }
  }
}
provider "zerotrust" {}

variable "vnet_id" { type = string }
variable "zone_ids" { type = map(string) }
variable "law_id" { type = string }
variable "service_bus_id" { type = string }
variable "databricks_app_id" { type = string }
variable "update_timeout" {
  type    = string
  default = "10m"
}
variable "host_subnet" {
  type    = string
  default = "snet-dbx-host"
}
variable "public_access" {
  type    = bool
  default = null
}
variable "owner" {
  type    = string
  default = "e2e"
}

resource "zerotrust_databricks_private_workspace" "this" {
  name                           = "%(name)s"
  location                       = "westeurope"
  resource_group_name            = "%(rg)s"
  virtual_network_id             = var.vnet_id
  host_subnet_name               = var.host_subnet
  container_subnet_name          = "snet-dbx-container"
  private_endpoint_subnet_id     = "${var.vnet_id}/subnets/snet-pe"
  private_dns_zone_ids           = var.zone_ids
  key_vault_name                 = "%(kv)s"
  storage_account_name           = "%(sa)s"
  container_registry_name        = "acrdbxe2e"
  browser_authentication_enabled = true
  github_subject                 = "repo:contoso/platform:environment:prod"
  log_analytics_workspace_id     = var.law_id
  service_bus_namespace_id       = var.service_bus_id
  azure_databricks_principal_id  = var.databricks_app_id
  public_network_access_enabled  = var.public_access
  tags = {
    environment   = "test"
    project       = "data-platform"
    owner         = var.owner
    "cost-centre" = "CC-0"
  }
  timeouts {
    create = "10m"
    update = var.update_timeout
  }
}

output "ws" { value = zerotrust_databricks_private_workspace.this }
""" % {"name": NAME, "rg": RG, "kv": KV, "sa": SA}


@pytest.fixture(scope="module")
def emulator(session_root):
    e = start_emulator(session_root / "dbx-emulator", time_scale=0.001)
    yield e.info, e.client
    e.stop()


def _ok(r):
    assert r.status_code in (200, 201, 202), r.text
    return r


@pytest.fixture(scope="module")
def world(emulator):
    """What the workspace expects to exist: group, spoke network, zones, Log Analytics."""
    info, c = emulator
    rg_id = c.rg_id(RG)
    _ok(c.put(rg_id, {"location": "westeurope", "tags": TAGS}))
    net = f"{rg_id}/providers/Microsoft.Network"
    nsg = f"{net}/networkSecurityGroups/nsg-dbx"
    c.put_and_wait(nsg, {"location": "westeurope", "tags": TAGS, "properties": {}})
    other_nsg = f"{net}/networkSecurityGroups/nsg-other"
    c.put_and_wait(other_nsg, {"location": "westeurope", "tags": TAGS, "properties": {}})
    deleg = [{"name": "databricks", "properties": {"serviceName": "Microsoft.Databricks/workspaces"}}]
    vnet = f"{net}/virtualNetworks/vnet-spoke-e2e"
    c.put_and_wait(vnet, {"location": "westeurope", "tags": TAGS, "properties": {
        "addressSpace": {"addressPrefixes": ["10.20.0.0/22"]},
        "subnets": [
            {"name": "snet-dbx-host", "properties": {"addressPrefix": "10.20.0.0/24",
                                                     "networkSecurityGroup": {"id": nsg},
                                                     "delegations": deleg}},
            {"name": "snet-dbx-container", "properties": {"addressPrefix": "10.20.1.0/24",
                                                          "networkSecurityGroup": {"id": nsg},
                                                          "delegations": deleg}},
            {"name": "snet-pe", "properties": {"addressPrefix": "10.20.2.0/26"}},
            *({"name": f"snet-other-{n}", "properties": {"addressPrefix": f"10.20.3.{64 * i}/26",
                                                          "networkSecurityGroup": {"id": other_nsg},
                                                          "delegations": deleg}}
              for i, n in enumerate(("host", "container"))),
        ]}})
    # Another team's workspace, injected into two other subnets of the spoke.
    other = f"{rg_id}/providers/Microsoft.Databricks/workspaces/dbw-other"
    c.wait(_ok(c.put(other, {"location": "westeurope", "sku": {"name": "premium"}, "properties": {
        "computeMode": "Hybrid", "managedResourceGroupId": f"{rg_id}-other-managed", "parameters": {
            "customVirtualNetworkId": {"value": vnet}, "customPublicSubnetName": {"value": "snet-other-host"},
            "customPrivateSubnetName": {"value": "snet-other-container"},
            "enableNoPublicIp": {"value": True}}}})))
    zone_ids = {}
    for z in ZONES:
        zid = f"{net}/privateDnsZones/{z}"
        c.put_and_wait(zid, {"location": "global", "tags": TAGS})
        zone_ids[z] = zid
    law = f"{rg_id}/providers/Microsoft.OperationalInsights/workspaces/law-e2e"
    c.put_and_wait(law, {"location": "westeurope", "tags": TAGS,
                         "properties": {"sku": {"name": "PerGB2018"}, "retentionInDays": 30}})
    # The apps team's existing Service Bus namespace, in another subscription of the tenant
    # (outside the specs: seeded), and the tenant's AzureDatabricks first-party service principal.
    _ok(c.control("POST", "subscriptions", {"subscription_id": SB_SUB, "display_name": "apps team"}))
    sb_rg = f"/subscriptions/{SB_SUB}/resourceGroups/rg-apps"
    _ok(c.put(sb_rg, {"location": "westeurope", "tags": TAGS}))
    sb = f"{sb_rg}/providers/Microsoft.ServiceBus/namespaces/sb-e2e"
    _ok(c.control("POST", "resources", {"id": sb, "location": "westeurope"}))
    dbx_app = info["first_party"]["AzureDatabricks"]["object_id"]
    tfvars = (f'vnet_id = "{vnet}"\nlaw_id = "{law}"\nzone_ids = {json.dumps(zone_ids)}\n'
              f'service_bus_id = "{sb}"\ndatabricks_app_id = "{dbx_app}"\n')
    fixtures = {vnet.lower(), nsg.lower(), other_nsg.lower(), other.lower(), law.lower(), sb.lower()} | \
        {z.lower() for z in zone_ids.values()}
    return {"rg_id": rg_id, "sb_rg": sb_rg, "net": net, "vnet": vnet, "tfvars": tfvars, "fixtures": fixtures,
            "sb": sb,
            "dbx_app": dbx_app, "zone_ids": zone_ids}


@pytest.fixture(scope="module")
def ws(session_root, mirror, provider_speaks, emulator, world):
    info, _ = emulator
    runner = get_runner("terraform")
    if not runner.available:
        pytest.skip(runner.why_missing)
    w = make_workspace(session_root / "dbx", runner, mirror,
                       files={"main.tf": MAIN_TF, "e2e.auto.tfvars": world["tfvars"]})
    return use_emulator(w, emulator[1], [world["rg_id"], world["sb_rg"]])


def _plan_json(ws, *extra) -> tuple[int, dict]:
    r = ws.run("plan", "-input=false", "-no-color", "-detailed-exitcode", "-out=e2e.tfplan", *extra)
    assert r.rc in (0, 2), r.describe()
    show = ws.run("show", "-json", "e2e.tfplan", check=True)
    return r.rc, json.loads(show.stdout)


def _change(plan: dict) -> dict:
    rc = [c for c in plan.get("resource_changes", []) if c["address"] == ADDR]
    assert rc, json.dumps(plan)[:2000]
    return rc[0]["change"]


def _state(ws) -> dict:
    st = json.loads(ws.run("show", "-json", check=True).stdout)
    res = [r for r in st["values"]["root_module"].get("resources", []) if r["address"] == ADDR]
    return res[0]["values"] if res else {}


def _left_over(c, world) -> list[str]:
    store = c.control("GET", "store").json()
    prefixes = (world["rg_id"].lower() + "/", world["sb_rg"].lower() + "/")
    return [r["id"] for r in store["resources"]
            if r["id"].lower().startswith(prefixes) and r["id"].lower() not in world["fixtures"]
            and not any(r["id"].lower().startswith(f + "/") for f in world["fixtures"])]


@pytest.mark.incremental
class TestWorkspace:
    def test_init(self, ws):
        ws.run("init", "-input=false", "-no-color", check=True)

    def test_plan_rejects_public_access(self, ws):
        r = ws.run("plan", "-input=false", "-no-color", "-var", "public_access=true")
        assert r.rc == 1, r.describe()
        assert "Breaks zero trust" in r.stderr, r.stderr[-3000:]
        assert "public_network_access_enabled" in r.stderr, r.stderr[-3000:]

    def test_plan_checks_the_spoke_subnets(self, ws):
        """The spoke exists: its subnets are read at plan and VNet injection's rules checked."""
        r = ws.run("plan", "-input=false", "-no-color", "-var", "host_subnet=snet-pe")
        assert r.rc == 1, r.describe()
        flat = " ".join(r.stderr.split())
        assert "Subnet not delegated to Databricks" in flat and "host_subnet_name" in flat, r.stderr[-3000:]
        assert "Subnet without a network security group" in flat, r.stderr[-3000:]
        r = ws.run("plan", "-input=false", "-no-color", "-var", "host_subnet=snet-nope")
        assert r.rc == 1, r.describe()
        assert "Subnet not found" in r.stderr, r.stderr[-3000:]
        # Azure refuses a subnet another workspace holds, and one subnet for both roles
        r = ws.run("plan", "-input=false", "-no-color", "-var", "host_subnet=snet-other-host")
        assert r.rc == 1, r.describe()
        flat = " ".join(r.stderr.split())
        assert "Subnet used by another workspace" in flat and "dbw-other" in flat, r.stderr[-3000:]
        r = ws.run("plan", "-input=false", "-no-color", "-var", "host_subnet=snet-dbx-container")
        assert r.rc == 1 and "Same subnet twice" in r.stderr, r.stderr[-3000:]

    def test_plan_create(self, ws):
        rc, plan = _plan_json(ws)
        assert rc == 2
        ch = _change(plan)
        assert ch["actions"] == ["create"]
        changes = ch["after"]["underlying_changes"]
        for key in ("id_uc", "fic_github", "key_vault", "key_databricks", "storage", "workspace",
                    "workspace_cmk", "ra_workspace_key", "ra_workspace_disk_key", "ra_uc_lake", "pe_databricks_ui_api",
                    "pe_browser_authentication", "registry", "diag_workspace", "container[raw]",
                    "pe_dbfs_blob", "pe_dbfs_dfs_dns", "ra_databricks_app_key", "ra_func_sb_sender",
                    "ra_func_sb_receiver"):
            assert changes.get(key) == "create", (key, changes)

    def test_apply_absorbs_rbac_faults(self, ws, emulator, world):
        _, c = emulator
        # Entra replication: role assignments for principals younger than 4 s
        c.fault(kind="propagation", method="PUT", path_regex="roleAssignments", seconds=4,
                honor_principal_type=False)
        # The workspace's storage identity not yet allowed to use the key:
        # phase two of CMK (the second PUT of the workspace) refused once by an injected fault.
        wsp = f"/providers/Microsoft.Databricks/workspaces/dbw-{NAME}$"
        c.fault(kind="error", method="PUT", path_regex=wsp, after=1, count=1, status=403,
                code="AuthorizationFailed",
                message="The client does not have permission to use the key (RBAC propagating).")
        # and the emulator's own propagation delay, long enough to be felt: a key grant takes
        # effect 2.5 s (wall) after it is made
        c.control("POST", "config", {"rbac_propagation_seconds": 2500}).raise_for_status()
        seq = max([q["seq"] for q in c.control("GET", "requests?kind=arm").json().get("value", [])] or [0])
        t0 = time.monotonic()
        ws.run("apply", "-input=false", "-no-color", "e2e.tfplan", check=True)
        c.control("POST", "config", {"rbac_propagation_seconds": 120}).raise_for_status()
        refused = {(q["error_code"], q["path"].rsplit("/", 1)[1])
                   for q in c.control("GET", f"requests?kind=arm&since={seq}").json().get("value", [])
                   if q["status"] == 403 and q["method"] == "PUT"}
        # the lake's CMK (its identity's key grant) and phase two (the DBFS storage identity's and the
        # AzureDatabricks app's grants) waited for propagation, then went through
        assert ("KeyVaultAuthenticationFailure", SA) in refused, refused
        assert ("KeyVaultAccessForbidden", f"dbw-{NAME}") in refused, refused
        faults = c.control("GET", "faults").json()
        rules = faults["value"]
        fired = {r["kind"]: r["fired"] for r in rules}
        assert fired.get("error") == 1, rules
        assert fired.get("propagation", 0) >= 1, rules
        c.control("DELETE", "faults").raise_for_status()
        print(f"apply with faults: {time.monotonic() - t0:.1f}s")
        out = json.loads(ws.run("output", "-json", check=True).stdout)["ws"]["value"]
        assert out["workspace_url"].endswith(".azuredatabricks.net"), out
        assert out["workspace_resource_id"].endswith(f"/workspaces/dbw-{NAME}")
        # the numeric ID of the Databricks control plane, as in the workspace URL
        assert out["workspace_id"].isdigit() and f"adb-{out['workspace_id']}." in out["workspace_url"], out
        assert out["managed_resource_group_id"].endswith(f"/resourceGroups/rg-{NAME}-dbx-managed")
        assert set(out["identity_client_ids"]) == {"access_connector", "functions", "cicd"}
        assert out["access_connector_principal_id"] == out["identity_principal_ids"]["access_connector"]
        assert out["storage_dfs_endpoint"].startswith(f"https://{SA}.dfs."), out
        assert out["container_registry_login_server"], out
        assert set(out["key_ids"]) == {"storage", "databricks"}
        assert set(out["private_endpoint_ips"]) == {"vault", "blob", "dfs", "registry", "databricks_ui_api",
                                                    "browser_authentication", "dbfs_blob", "dbfs_dfs"}, out
        for ip in out["private_endpoint_ips"].values():
            assert ip.startswith("10.20.2."), out
        # phase two landed: the workspace carries the Databricks key
        w = c.get(out["workspace_resource_id"]).json()
        ent = w["properties"]["encryption"]["entities"]
        assert ent["managedServices"]["keyVaultProperties"]["keyName"] == "cmk-databricks", w
        assert w["properties"]["publicNetworkAccess"] == "Disabled"
        kv = c.get(out["key_vault_id"]).json()["properties"]
        assert kv["enablePurgeProtection"] and kv["enableRbacAuthorization"], kv
        fic = c.get(out["underlying_resources"]["fic_github"]).json()["properties"]
        assert fic["issuer"] == "https://token.actions.githubusercontent.com", fic
        self._check_root_storage(c, world, out, w)
        self._check_grants(c, world, out, w)

    @staticmethod
    def _check_root_storage(c, world, out, w):
        """The DBFS root account (Databricks', in the managed group) is firewalled and reached through our
        blob + dfs endpoints, with records in the hub zones."""
        assert w["properties"]["defaultStorageFirewall"] == "Enabled", w
        root = w["properties"]["parameters"]["storageAccountName"]["value"]
        root_id = f"{out['managed_resource_group_id']}/providers/Microsoft.Storage/storageAccounts/{root}"
        sa = c.get(root_id).json()
        assert sa["properties"]["networkAcls"]["defaultAction"] == "Deny", sa
        res = out["underlying_resources"]
        for group in ("blob", "dfs"):
            pe = c.get(res[f"pe_dbfs_{group}"]).json()["properties"]
            conn = pe["privateLinkServiceConnections"][0]["properties"]
            assert conn["privateLinkServiceId"].lower() == root_id.lower(), pe
            assert conn["groupIds"] == [group]
            assert conn["privateLinkServiceConnectionState"]["status"] == "Approved", pe
            zone = world["zone_ids"][f"privatelink.{group}.core.windows.net"]
            rec = c.get(f"{zone}/A/{root}").json()
            assert rec["properties"]["aRecords"][0]["ipv4Address"] == out["private_endpoint_ips"][f"dbfs_{group}"]

    @staticmethod
    def _check_grants(c, world, out, w):
        """Least privilege as the design lists it: Service Bus roles for the Functions identity on the given
        namespace only; the AzureDatabricks app on the Databricks key only."""
        res = out["underlying_resources"]
        func = out["identity_principal_ids"]["functions"]
        roles = {}
        for key in ("ra_func_sb_sender", "ra_func_sb_receiver", "ra_databricks_app_key"):
            p = c.get(res[key]).json()["properties"]
            roles[key] = (p["scope"].lower(), p["principalId"], p["roleDefinitionId"].rsplit("/", 1)[1])
        sb = world["sb"].lower()
        assert sb.startswith(f"/subscriptions/{SB_SUB}/"), sb
        # sent as ARM answers: the roles named in the namespace's subscription, not the provider's
        sent = {q["body"]["properties"]["roleDefinitionId"]
                for q in c.control("GET", "requests?kind=arm").json()["value"]
                if q["method"] == "PUT" and q["path"].lower().startswith(sb + "/providers/microsoft.authorization/")}
        assert sent and all(r.startswith(f"/subscriptions/{SB_SUB}/providers/") for r in sent), sent
        assert roles["ra_func_sb_sender"] == (sb, func, "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39"), roles
        assert roles["ra_func_sb_receiver"] == (sb, func, "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0"), roles
        assert roles["ra_databricks_app_key"] == (out["key_ids"]["databricks"].lower(), world["dbx_app"],
                                                  "e147488a-f6f5-4113-8e2d-b22465e65bf6"), roles

    def test_plan_clean(self, ws):
        rc, plan = _plan_json(ws)
        assert rc == 0, _change(plan)

    def test_tag_change_keeps_outputs_known(self, ws):
        """An in-place update cannot change the workspace URL, the identities' IDs or the
        endpoints' IPs: they stay known (and nothing downstream plans an update)."""
        before = _state(ws)
        rc, plan = _plan_json(ws, "-var", "owner=someone-else")
        assert rc == 2
        ch = _change(plan)
        assert ch["actions"] == ["update"], ch["actions"]
        assert set(ch["after"]["underlying_changes"].values()) == {"update"}, ch["after"]["underlying_changes"]
        for k in ("workspace_url", "identity_client_ids", "identity_principal_ids", "private_endpoint_ips",
                  "key_vault_uri", "storage_dfs_endpoint", "access_connector_principal_id"):
            assert ch["after"][k] == before[k], k
            assert not ch["after_unknown"].get(k), k

    def test_drift_shows_in_plan(self, ws, emulator):
        _, c = emulator
        st = _state(ws)
        res = st["underlying_resources"]
        c.control("POST", "drift", {"id": res["workspace"], "action": "modify",
                                    "set": {"properties.publicNetworkAccess": "Enabled"}}).raise_for_status()
        c.control("POST", "drift", {"id": res["ra_uc_lake"], "action": "delete"}).raise_for_status()
        rc, plan = _plan_json(ws)
        assert rc == 2
        changes = _change(plan)["after"]["underlying_changes"]
        assert changes["workspace"] == "update", changes
        assert changes["ra_uc_lake"] == "create", changes
        assert "storage" not in changes, changes

    def test_apply_repairs(self, ws, emulator):
        _, c = emulator
        ws.run("apply", "-input=false", "-no-color", "e2e.tfplan", check=True)
        res = _state(ws)["underlying_resources"]
        w = c.get(res["workspace"]).json()
        assert w["properties"]["publicNetworkAccess"] == "Disabled", w
        # the phase-one PUT kept the customer-managed keys
        assert w["properties"]["encryption"]["entities"]["managedDisk"]["keyVaultProperties"], w
        assert c.get(res["ra_uc_lake"]).status_code == 200
        rc, plan = _plan_json(ws)
        assert rc == 0, _change(plan)

    def test_grant_never_propagating_times_out_clearly(self, ws, emulator):
        """Phase two refused until the deadline: a diagnostic that says why
        and what to do; the next apply (grant there by then) converges."""
        _, c = emulator
        res = _state(ws)["underlying_resources"]
        c.control("POST", "drift", {"id": res["workspace"], "action": "modify",
                                    "set": {"properties.publicNetworkAccess": "Enabled"}}).raise_for_status()
        c.fault(kind="error", method="PUT", path_regex=f"/workspaces/dbw-{NAME}$", after=1, count=-1,
                status=403, code="AuthorizationFailed", message="Caller is not authorized to use the key.")
        r = ws.run("apply", "-auto-approve", "-input=false", "-no-color", "-var", "update_timeout=12s")
        c.control("DELETE", "faults").raise_for_status()
        assert r.rc == 1, r.describe()
        flat = " ".join(r.stderr.split())
        assert "Failed to apply workspace_cmk" in flat, r.stderr[-3000:]
        assert "AuthorizationFailed" in flat and "still refused after" in flat, r.stderr[-3000:]
        assert "propagate" in flat, r.stderr[-3000:]
        # each retry says at INFO what it waits for (TF_LOG=INFO shows it)
        waits = re.findall(r"\[INFO\]\s+provider\.terraform-provider-zerotrust[^:]*: waiting for an "
                           r"authorization to propagate[^\n]*", r.log_text)
        assert waits, "no INFO line about the wait in Terraform's log"
        assert all("node=workspace_cmk" in w and "code=AuthorizationFailed" in w and
                   "refused=\"Caller is not authorized to use the key.\"" in w and "gives_up_in_s=" in w
                   for w in waits), waits[:2]
        ws.run("apply", "-auto-approve", "-input=false", "-no-color", check=True)
        rc, plan = _plan_json(ws)
        assert rc == 0, _change(plan)

    def test_role_assignment_exists(self, ws, emulator):
        """409 RoleAssignmentExists naming our own (deterministic) assignment
        is success; naming somebody else's is an error that says what to do."""
        _, c = emulator
        res = _state(ws)["underlying_resources"]
        ours = res["ra_func_kv_secrets"]
        guid = ours.rsplit("/", 1)[1]
        c.control("POST", "drift", {"id": ours, "action": "modify",
                                    "set": {"properties.principalType": "Group"}}).raise_for_status()
        c.fault(kind="error", method="PUT", path_regex=guid + "$", count=1, status=409,
                code="RoleAssignmentExists",
                message=f"The role assignment already exists. The ID of the existing role assignment is {guid}.")
        ws.run("apply", "-auto-approve", "-input=false", "-no-color", check=True)
        fired = [r["fired"] for r in c.control("GET", "faults").json()["value"]]
        c.control("DELETE", "faults").raise_for_status()
        assert fired == [1], fired
        ws.run("apply", "-auto-approve", "-input=false", "-no-color", check=True)

        # somebody else's assignment for the same principal, role and scope
        lake = res["ra_uc_lake"]
        body = c.get(lake).json()
        c.control("POST", "drift", {"id": lake, "action": "delete"}).raise_for_status()
        scope = lake.split("/providers/Microsoft.Authorization/")[0]
        foreign = f"{scope}/providers/Microsoft.Authorization/roleAssignments/0000aaaa-0000-4000-8000-000000000001"
        _ok(c.put(foreign, {"properties": {k: body["properties"][k]
                                           for k in ("roleDefinitionId", "principalId", "principalType")}}))
        r = ws.run("apply", "-auto-approve", "-input=false", "-no-color")
        assert r.rc == 1, r.describe()
        flat = " ".join(r.stderr.split())
        assert "Failed to apply ra_uc_lake" in flat and "not created by this resource" in flat, r.stderr[-3000:]
        assert c.delete(foreign).status_code in (200, 204)
        ws.run("apply", "-auto-approve", "-input=false", "-no-color", check=True)
        rc, plan = _plan_json(ws)
        assert rc == 0, _change(plan)

    def test_destroy_leaves_nothing(self, ws, emulator, world):
        _, c = emulator
        ws.run("destroy", "-auto-approve", "-input=false", "-no-color", check=True)
        assert not _left_over(c, world)
        store = c.control("GET", "store").json()
        ids = [r["id"].lower() for r in store["resources"]]
        assert not any(f"/resourcegroups/rg-{NAME}-dbx-managed" in i for i in ids), ids
        # Key Vault: soft-deleted (purge protection), as Azure does
        deleted = c.get(f"/subscriptions/{emulator[0]['subscription_id']}/providers/"
                        f"Microsoft.KeyVault/locations/westeurope/deletedVaults/{KV}")
        assert deleted.status_code == 200, deleted.text
        # keys have no DELETE in ARM: they went with the vault
        reqs = c.control("GET", "requests?kind=arm").json()
        reqs = reqs.get("value", reqs) if isinstance(reqs, dict) else reqs
        assert not [q["path"] for q in reqs if q.get("method") == "DELETE"
                    and re.search(r"/vaults/[^/]+/keys/[^/]+$", q.get("path", ""), re.I)]

    def test_soft_deleted_name_is_explained(self, ws, emulator, world):
        """With recovery switched off the soft-deleted vault's name stops the
        create, with the way out; switched on (the default) it is recovered."""
        _, c = emulator
        (ws.dir / "provider_override.tf").write_text(
            'provider "zerotrust" {\n  recover_soft_deleted_key_vaults = false\n}\n')
        r = ws.run("apply", "-auto-approve", "-input=false", "-no-color")
        (ws.dir / "provider_override.tf").unlink()
        assert r.rc == 1, r.describe()
        assert "Failed to apply key_vault" in r.stderr, r.stderr[-3000:]
        flat = " ".join(r.stderr.split())
        assert "soft-deleted Key Vault holds this name and was not recovered" in flat, r.stderr[-3000:]
        assert "recover_soft_deleted_key_vaults is false" in flat and "90 days" in flat
        ws.run("apply", "-auto-approve", "-input=false", "-no-color", check=True)
        ws.run("destroy", "-auto-approve", "-input=false", "-no-color", check=True)
        assert not _left_over(c, world)

    def test_every_body_conforms(self, emulator):
        info, _ = emulator
        r = subprocess.run([sys.executable, "-m", "tests.emulator.validate", info["request_log"]],
                           cwd=REPO, capture_output=True, text=True)
        assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]


_ = runner_param


@pytest.mark.parametrize("rid", ["terraform", "terraform-1.5"])
def test_plan_warns_without_databricks_grant(rid, session_root, mirror, provider_speaks, emulator, world):
    """azure_databricks_principal_id left out: `terraform plan` (text and -json) says that
    phase two of the keys will wait for a grant nobody makes."""
    info, _ = emulator
    runner = get_runner(rid)
    tf = MAIN_TF.replace("  azure_databricks_principal_id  = var.databricks_app_id\n", "")
    assert tf != MAIN_TF
    w = make_workspace(session_root / f"dbx-nogrant-{rid}", runner, mirror,
                       files={"main.tf": tf, "e2e.auto.tfvars": world["tfvars"]})
    w.extra_env.update(arm_env(info))
    w.run("init", "-input=false", "-no-color", check=True)
    text = w.run("plan", "-input=false", "-no-color")
    assert text.rc == 0, text.describe()
    flat = " ".join((text.stdout + text.stderr).split())
    assert "Warning: No grant for the AzureDatabricks application" in flat, text.describe()
    assert "azure_databricks_principal_id" in flat
    js = w.run("plan", "-json", "-input=false")
    diags = [m["diagnostic"] for m in js.json_lines() if m.get("type") == "diagnostic"]
    assert [d["summary"] for d in diags if d["severity"] == "warning"] == \
        ["No grant for the AzureDatabricks application"], diags
    assert diags[0]["address"] == ADDR, diags
