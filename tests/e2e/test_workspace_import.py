"""terraform import of zerotrust_databricks_private_workspace with real
Terraform against the ARM emulator (the world is built like
test_workspace.py's: spoke network, the hub's private DNS zones, Log
Analytics, and a Service Bus namespace seeded through the control API).

Per scenario (defaults, but for the AzureDatabricks app's key grant,
which phase two of CMK needs; every option on: registry, browser
authentication, Log Analytics, Service Bus, own containers, own managed
group, no infrastructure encryption, no hierarchical namespace): apply -> `terraform state rm`
-> `terraform import ... <workspace ARM ID>` -> plan -detailed-exitcode
is 0 (no changes) -> destroy. Then: an ID that is not a workspace's, a
workspace that does not exist and one not created by the provider each
fail with their diagnostic.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from hub_env import start_emulator, use_emulator
from e2e_support import REPO, get_runner, make_workspace, runner_param

RG = "rg-dbx-imp"  # the network, the hub's zones, Log Analytics, Service Bus
ADDR = "zerotrust_databricks_private_workspace.this"
TAGS = {"environment": "test", "project": "data-platform", "owner": "e2e", "cost-centre": "CC-0"}
ZONES = ["privatelink.vaultcore.azure.net", "privatelink.blob.core.windows.net",
         "privatelink.dfs.core.windows.net", "privatelink.azuredatabricks.net", "privatelink.azurecr.io",
         "privatelink.queue.core.windows.net"]  # the hub has more zones than the workspace uses

HEAD = """
terraform {
  required_providers {
    zerotrust = { source = "registry.zerotrust.internal/zerotrust/zerotrust" }
  }
}
provider "zerotrust" {}

variable "vnet_id" { type = string }
variable "zone_ids" { type = map(string) }
variable "law_id" { type = string }
variable "sb_id" { type = string }
variable "dbx_app" { type = string }
"""

COMMON = """
  location                   = "westeurope"
  resource_group_name        = "__RG__"
  virtual_network_id         = var.vnet_id
  host_subnet_name           = "snet-dbx-host"
  container_subnet_name      = "snet-dbx-container"
  private_endpoint_subnet_id = "${var.vnet_id}/subnets/snet-pe"
  private_dns_zone_ids       = var.zone_ids
  github_subject             = "repo:contoso/platform:environment:prod"
  tags = {
    environment   = "test"
    project       = "data-platform"
    owner         = "e2e"
    "cost-centre" = "CC-0"
  }
"""

SCENARIOS = {
    "defaults": {
        "name": "imp",
        "body": """
  name                 = "imp"
  key_vault_name       = "kv-dbx-imp"
  storage_account_name = "stdbximplake"
  # not optional in practice: the CMK of managed services needs the grant
  azure_databricks_principal_id = var.dbx_app
""",
    },
    "options": {
        "name": "impopt",
        "body": """
  name                              = "impopt"
  key_vault_name                    = "kv-dbx-impopt"
  storage_account_name              = "stdbximpoptlake"
  managed_resource_group_name       = "rg-impopt-databricks"
  storage_containers                = ["bronze", "silver", "gold"]
  container_registry_name           = "acrdbximpopt"
  browser_authentication_enabled    = true
  infrastructure_encryption_enabled = false
  hierarchical_namespace_enabled    = false
  log_analytics_workspace_id        = var.law_id
  service_bus_namespace_id          = var.sb_id
  azure_databricks_principal_id     = var.dbx_app
""",
    },
}


def _main_tf(scenario: str) -> str:
    s = SCENARIOS[scenario]
    common = COMMON.replace("__RG__", _ws_rg(scenario))
    return (HEAD + 'resource "zerotrust_databricks_private_workspace" "this" {\n' + s["body"] + common
            + "}\n")


def _ws_rg(scenario: str) -> str:
    """Each workspace in a group of its own, as the platform lays them out."""
    return f"{RG}-{SCENARIOS[scenario]['name']}"


@pytest.fixture(scope="module")
def emu(session_root):
    e = start_emulator(session_root / "dbx-import-emulator", time_scale=0.001)
    yield e
    e.stop()


def _ok(r):
    assert r.status_code in (200, 201, 202), r.text
    return r


@pytest.fixture(scope="module")
def world(emu):
    """Group, spoke network, the hub's zones, Log Analytics, Service Bus."""
    c = emu.client
    rg_id = c.rg_id(RG)
    for g in [RG] + [_ws_rg(s) for s in SCENARIOS]:
        _ok(c.put(c.rg_id(g), {"location": "westeurope", "tags": TAGS}))
    net = f"{rg_id}/providers/Microsoft.Network"
    nsg = f"{net}/networkSecurityGroups/nsg-dbx"
    c.put_and_wait(nsg, {"location": "westeurope", "tags": TAGS, "properties": {}})
    deleg = [{"name": "databricks", "properties": {"serviceName": "Microsoft.Databricks/workspaces"}}]
    vnet = f"{net}/virtualNetworks/vnet-spoke-imp"
    subnets = []
    for i, ws in enumerate(SCENARIOS.values()):  # one pair of Databricks subnets per workspace
        for j, role in enumerate(("host", "container")):
            subnets.append({"name": f"snet-{ws['name']}-{role}",
                            "properties": {"addressPrefix": f"10.30.{2 * i + j}.0/24",
                                           "networkSecurityGroup": {"id": nsg}, "delegations": deleg}})
    subnets.append({"name": "snet-pe", "properties": {"addressPrefix": "10.30.8.0/24"}})
    c.put_and_wait(vnet, {"location": "westeurope", "tags": TAGS, "properties": {
        "addressSpace": {"addressPrefixes": ["10.30.0.0/20"]}, "subnets": subnets}})
    zone_ids = {}
    for z in ZONES:
        zid = f"{net}/privateDnsZones/{z}"
        c.put_and_wait(zid, {"location": "global", "tags": TAGS})
        zone_ids[z] = zid
    law = f"{rg_id}/providers/Microsoft.OperationalInsights/workspaces/law-imp"
    c.put_and_wait(law, {"location": "westeurope", "tags": TAGS,
                         "properties": {"sku": {"name": "PerGB2018"}, "retentionInDays": 30}})
    # the specs do not cover Service Bus: seeded as a bare resource
    sb = f"{rg_id}/providers/Microsoft.ServiceBus/namespaces/sb-imp"
    _ok(c.control("POST", "resources", {"id": sb, "location": "westeurope"}))
    info = c.control("GET", "info").json()
    dbx_app = info["first_party"]["AzureDatabricks"]["object_id"]
    tfvars = (f'vnet_id = "{vnet}"\nlaw_id = "{law}"\nsb_id = "{sb}"\ndbx_app = "{dbx_app}"\n'
              f"zone_ids = {json.dumps(zone_ids)}\n")
    return {"rg_id": rg_id, "vnet": vnet, "tfvars": tfvars,
            "ws_rg_id": c.rg_id(_ws_rg("defaults"))}


_workspaces: dict = {}


def _workspace(session_root, mirror, emu, world, scenario: str, tag: str = ""):
    """One working directory per scenario (and tag), kept across steps."""
    key = f"{scenario}{tag}"
    if key in _workspaces:
        return _workspaces[key]
    runner = get_runner("terraform")
    if not runner.available:
        pytest.skip(runner.why_missing)
    # each workspace gets its own pair of Databricks subnets
    name = SCENARIOS[scenario]["name"]
    tf = _main_tf(scenario).replace('"snet-dbx-host"', f'"snet-{name}-host"') \
                           .replace('"snet-dbx-container"', f'"snet-{name}-container"')
    w = make_workspace(session_root / f"dbx-import-{key}", runner, mirror,
                       files={"main.tf": tf, "e2e.auto.tfvars": world["tfvars"]})
    use_emulator(w, emu.client, [world["rg_id"], _ws_rg(scenario)])
    _workspaces[key] = w
    return w


def _delta(x, y):
    """What differs: for two maps, only their differing keys."""
    if isinstance(x, dict) and isinstance(y, dict):
        return {k: (x.get(k), y.get(k)) for k in set(x) | set(y) if x.get(k) != y.get(k)}
    return (x, y)


def _changes(ws) -> str:
    r = ws.run("plan", "-input=false", "-no-color", "-out=imp.tfplan")
    show = ws.run("show", "-json", "imp.tfplan")
    try:
        rc = [c for c in json.loads(show.stdout).get("resource_changes", []) if c["address"] == ADDR]
        ch = rc[0]["change"] if rc else {}
        before, after = ch.get("before") or {}, ch.get("after") or {}
        diff = {k: _delta(before.get(k), after.get(k)) for k in set(before) | set(after)
                if before.get(k) != after.get(k) and k != "underlying_changes"}
        moved = {k: v for k, v in (after.get("underlying_changes") or {}).items() if v != "none"}
        return json.dumps({"actions": ch.get("actions"), "diff": diff, "nodes": moved}, indent=1)[:6000]
    except (ValueError, KeyError, IndexError):
        return r.describe()


@pytest.mark.incremental
@pytest.mark.parametrize("scenario", list(SCENARIOS))
class TestWorkspaceImport:
    def test_apply(self, scenario, session_root, mirror, provider_speaks, emu, world):
        ws = _workspace(session_root, mirror, emu, world, scenario)
        ws.run("init", "-input=false", "-no-color", check=True)
        t0 = time.monotonic()
        ws.run("apply", "-auto-approve", "-input=false", "-no-color", check=True)
        print(f"[{scenario}] apply: {time.monotonic() - t0:.1f}s")

    def test_import_plans_no_change(self, scenario, session_root, mirror, emu, world):
        ws = _workspace(session_root, mirror, emu, world, scenario)
        state = json.loads(ws.run("show", "-json", check=True).stdout)
        res = [r for r in state["values"]["root_module"]["resources"] if r["address"] == ADDR][0]
        ws_id = res["values"]["id"]          # the import ID
        assert ws_id == res["values"]["workspace_resource_id"]
        before = {k: v for k, v in res["values"].items() if k != "timeouts"}
        ws.run("state", "rm", ADDR, check=True)
        # pages of two: the lists the import reads (role assignments of the
        # subscription, endpoints, zones) come in several pages (nextLink)
        emu.client.control("POST", "config", {"page_size": 2}).raise_for_status()
        seq0 = emu.last_seq()
        t0 = time.monotonic()
        try:
            ws.run("import", "-input=false", "-no-color", ADDR, ws_id, check=True)
        finally:
            emu.client.control("POST", "config", {"page_size": 100}).raise_for_status()
        print(f"[{scenario}] import: {time.monotonic() - t0:.1f}s")
        pages = [q["path"] for q in emu.requests(since=seq0, kind="arm")
                 if "$skiptoken" in (q.get("query") or {})]
        assert any(p.endswith("/Microsoft.Authorization/roleAssignments") for p in pages), pages
        r = ws.run("plan", "-input=false", "-no-color", "-detailed-exitcode")
        assert r.rc == 0, _changes(ws)
        state = json.loads(ws.run("show", "-json", check=True).stdout)
        after = [r for r in state["values"]["root_module"]["resources"] if r["address"] == ADDR][0]
        after = {k: v for k, v in after["values"].items() if k != "timeouts"}
        # the same resource, node for node (underlying_changes aside)
        assert after["underlying_resources"] == before["underlying_resources"]
        diff = {k: (before.get(k), after.get(k)) for k in before
                if k != "underlying_changes" and before.get(k) != after.get(k)}
        assert not diff, diff

    def test_explicit_defaults_plan_nothing(self, scenario, session_root, mirror, emu, world):
        """Writing out the defaults the import read back plans no change at all: create,
        import and the configuration agree on them (issue 12, item 3)."""
        if scenario != "defaults":
            pytest.skip("the defaults scenario leaves them out")
        ws = _workspace(session_root, mirror, emu, world, scenario)
        state = json.loads(ws.run("show", "-json", check=True).stdout)
        vals = [r for r in state["values"]["root_module"]["resources"] if r["address"] == ADDR][0]["values"]
        assert (vals["infrastructure_encryption_enabled"], vals["hierarchical_namespace_enabled"],
                vals["browser_authentication_enabled"], sorted(vals["storage_containers"]),
                vals["managed_resource_group_name"]) == \
            (True, True, False, ["curated", "raw", "unity-catalog"], "rg-imp-dbx-managed"), vals
        tf = ws.dir / "main.tf"
        tf.write_text(tf.read_text().replace(
            "  name                 = \"imp\"\n",
            "  name                 = \"imp\"\n  infrastructure_encryption_enabled = true\n"
            "  hierarchical_namespace_enabled    = true\n"
            "  browser_authentication_enabled    = false\n"
            "  storage_containers = [\"curated\", \"raw\", \"unity-catalog\"]\n"
            "  managed_resource_group_name = \"rg-imp-dbx-managed\"\n"))
        r = ws.run("plan", "-input=false", "-no-color", "-detailed-exitcode")
        assert r.rc == 0, _changes(ws)

    def test_destroy(self, scenario, session_root, mirror, emu, world):
        ws = _workspace(session_root, mirror, emu, world, scenario)
        ws.run("destroy", "-auto-approve", "-input=false", "-no-color", check=True)


@pytest.fixture(scope="module")
def err_ws(session_root, mirror, provider_speaks, emu, world):
    w = _workspace(session_root, mirror, emu, world, "defaults", "-errors")
    w.run("init", "-input=false", "-no-color", check=True)
    return w


class TestImportErrors:

    def _import_fails(self, ws, import_id: str) -> str:
        r = ws.run("import", "-input=false", "-no-color", ADDR, import_id)
        assert r.rc == 1, r.describe()
        return " ".join(r.stderr.split())

    def test_not_a_workspace_id(self, err_ws, world):
        err = self._import_fails(err_ws, world["vnet"])
        assert "Invalid import ID" in err and "Microsoft.Databricks/workspaces/dbw-<name>" in err, err

    def test_not_named_by_the_provider(self, err_ws, world):
        err = self._import_fails(err_ws, f"{world['ws_rg_id']}/providers/Microsoft.Databricks/workspaces/other")
        assert "Not a zerotrust_databricks_private_workspace" in err and "dbw-<name>" in err, err

    def test_not_created_by_the_provider(self, err_ws, emu, world):
        """A dbw- workspace without the composite's identities beside it."""
        foreign = f"{world['ws_rg_id']}/providers/Microsoft.Databricks/workspaces/dbw-foreign"
        _ok(emu.client.control("POST", "resources", {"id": foreign, "location": "westeurope"}))
        err_ws.audit.allow(foreign)
        err = self._import_fails(err_ws, foreign)
        assert "Not a zerotrust_databricks_private_workspace" in err and "id-foreign-uc" in err, err
        assert emu.client.delete(foreign).status_code in (200, 202, 204)

    def test_missing_workspace(self, err_ws, world):
        missing = f"{world['ws_rg_id']}/providers/Microsoft.Databricks/workspaces/dbw-nothere"
        err = self._import_fails(err_ws, missing)
        assert "Workspace not found" in err and "dbw-nothere" in err, err
        assert not json.loads(err_ws.run("show", "-json", check=True).stdout).get("values"), "state written"

    def test_every_body_conforms(self, emu):
        r = subprocess.run([sys.executable, "-m", "tests.emulator.validate", emu.info["request_log"]],
                           cwd=REPO, capture_output=True, text=True)
        assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]


_ = runner_param
