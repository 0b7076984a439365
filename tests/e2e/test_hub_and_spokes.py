"""examples/hub-and-spokes (zerotrust_hub + three zerotrust_spoke) with real
Terraform against the ARM emulator:

  one apply creates the hub (no VPN gateway yet) and three spokes -> every
  spoke's rule collection group, GatewaySubnet route and hub peering are on
  the hub (none lost to another spoke's write, no 409 conflict) -> second
  plan clean -> the hub's VPN gateway switched on: the same apply turns
  gateway transit on in every spoke's peerings -> plan clean -> one spoke's hub route deleted through the
  emulator's control API -> plan shows it -> apply repairs -> plan clean ->
  hub and spokes imported into an empty state -> plan clean -> one spoke destroyed alone (-target): its hub-side pieces gone, the other
  spokes' and the hub's intact -> destroy all leaves nothing -> every
  request body the provider sent re-validates against azure-specs.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from e2e_support import REPO, get_runner, make_workspace
from hub_env import start_emulator, use_emulator

EXAMPLE = REPO / "examples" / "hub-and-spokes"
HUB_RG = "rg-hub-hs"
SPOKE_RG = "rg-spokes-hs"
SPOKES = {"analytics": "10.1.0.0/16", "ingestion": "10.2.0.0/20", "sandbox": "10.3.0.0/24"}
TAGS = {"environment": "test", "project": "data-platform", "owner": "e2e", "cost-centre": "CC-0"}


@pytest.fixture(scope="module")
def emu(session_root):
    e = start_emulator(session_root / "hs-emulator")
    yield e
    e.stop()


@pytest.fixture(scope="module")
def world(emu):
    c = emu.client
    out = {}
    for rg in (HUB_RG, SPOKE_RG):
        r = c.put(c.rg_id(rg), {"location": "westeurope", "tags": TAGS})
        assert r.status_code in (200, 201), r.text
        out[rg] = c.rg_id(rg)
    net = f"{out[HUB_RG]}/providers/Microsoft.Network"
    out["policy"] = f"{net}/firewallPolicies/afwp-weu"
    out["rt"] = f"{net}/routeTables/rt-weu-gateway"
    out["hub_vnet"] = f"{net}/virtualNetworks/vnet-weu"
    out["spoke_net"] = f"{out[SPOKE_RG]}/providers/Microsoft.Network"
    return out


@pytest.fixture(scope="module")
def ws(session_root, mirror, provider_speaks, emu, world):
    runner = get_runner("terraform")
    if not runner.available:
        pytest.skip(runner.why_missing)
    tfvars = (f'hub_resource_group_name = "{HUB_RG}"\n'
              f'spoke_resource_group_name = "{SPOKE_RG}"\n')
    w = make_workspace(session_root / "hub-and-spokes", runner, mirror, config_dir=EXAMPLE,
                       files={"e2e.auto.tfvars": tfvars})
    return use_emulator(w, emu.client, [world[HUB_RG], world[SPOKE_RG]])


def _plan(ws, *extra) -> tuple[int, dict]:
    r = ws.run("plan", "-input=false", "-no-color", "-detailed-exitcode", "-out=e2e.tfplan", *extra)
    assert r.rc in (0, 2), r.describe()
    return r.rc, json.loads(ws.run("show", "-json", "e2e.tfplan", check=True).stdout)


def _changed(plan: dict) -> dict:
    return {c["address"]: c["change"] for c in plan.get("resource_changes", [])
            if c["change"]["actions"] != ["no-op"]}


def _children(emu, parent: str, kind: str) -> set[str]:
    """Names of the child resources `kind` of `parent` in the emulator."""
    r = emu.client.get(f"{parent}/{kind}")
    assert r.status_code == 200, r.text
    return {v["name"] for v in r.json()["value"]}


def _collections(emu, world) -> set[str]:
    """Names of the rule collections in every group of the hub's policy."""
    r = emu.client.get(f"{world['policy']}/ruleCollectionGroups")
    assert r.status_code == 200, r.text
    return {c["name"] for g in r.json()["value"] for c in g["properties"].get("ruleCollections") or []}


def _spoke_collections(names) -> set[str]:
    return {f"spoke-{s}-{kind}" for s in names for kind in ("network", "application")}


def _hub_side(emu, world) -> tuple[set, set, set]:
    return (_children(emu, world["policy"], "ruleCollectionGroups"),
            _children(emu, world["rt"], "routes"),
            _children(emu, world["hub_vnet"], "virtualNetworkPeerings"))


def _ids_under(emu, rg_id: str) -> list[str]:
    store = emu.client.control("GET", "store").json()
    pre = rg_id.lower() + "/"
    return [r["id"] for r in store["resources"] if r["id"].lower().startswith(pre)]


@pytest.mark.incremental
class TestHubAndSpokes:
    def test_init(self, ws):
        ws.run("init", "-input=false", "-no-color", check=True)

    def test_plan_rejects_bad_spokes(self, ws):
        """Plan-time checks reach the user with the attribute they concern."""
        bad = ('{a = {address_space = "10.100.0.0/16", firewall_rule_priority = 300},'
               ' b = {address_space = "10.4.0.0/25", firewall_rule_priority = 310}}')
        r = ws.run("plan", "-input=false", "-no-color", f"-var=spokes={bad}")
        assert r.rc == 1, r.describe()
        out = r.stdout + r.stderr
        assert "Spoke overlaps the hub" in out and "10.100.0.0/22" in out, out[-3000:]
        assert "Spoke address space out of range" in out, out[-3000:]
        assert "address_space" in out

    def test_plan_everything_in_one(self, ws):
        rc, plan = _plan(ws)
        assert rc == 2
        ch = _changed(plan)
        assert ch["zerotrust_hub.this"]["actions"] == ["create"]
        for s in SPOKES:
            assert ch[f'zerotrust_spoke.this["{s}"]']["actions"] == ["create"], ch.keys()

    def test_apply_one_apply(self, ws, emu, world):
        ws.run("apply", "-input=false", "-no-color", "e2e.tfplan", check=True)
        rcgs, routes, peerings = _hub_side(emu, world)
        # the spokes' collections in the groups their names hash to (analytics 3, ingestion 1, sandbox 0)
        assert rcgs == {"hub-platform", "spokes-0", "spokes-1", "spokes-3"}, rcgs
        assert _collections(emu, world) == {"azure-platform"} | _spoke_collections(SPOKES)
        assert routes == {f"spoke-{s}" for s in SPOKES}, routes
        assert peerings == {f"peer-hub-to-{s}" for s in SPOKES}, peerings
        fw_ip = json.loads(ws.run("output", "-json", check=True).stdout)["firewall_private_ip"]["value"]
        c = emu.client
        for s, space in SPOKES.items():
            route = c.get(f"{world['rt']}/routes/spoke-{s}").json()["properties"]
            assert route["addressPrefix"] == space and route["nextHopIpAddress"] == fw_ip, route
            p = c.get(f"{world['spoke_net']}/virtualNetworks/vnet-{s}/virtualNetworkPeerings/peer-to-hub").json()
            assert p["properties"]["peeringState"] == "Connected", p
            assert p["properties"]["allowForwardedTraffic"] is True, p
            assert p["properties"]["useRemoteGateways"] is False, p  # no gateway yet
            rt = c.get(f"{world['spoke_net']}/routeTables/rt-{s}").json()["properties"]
            assert rt["disableBgpRoutePropagation"] is True
            assert rt["routes"][0]["properties"]["nextHopIpAddress"] == fw_ip, rt
        # DNS: zone links for the first two, the firewall's DNS proxy for sandbox
        zone = f"{world[HUB_RG]}/providers/Microsoft.Network/privateDnsZones/privatelink.blob.core.windows.net"
        assert _children(emu, zone, "virtualNetworkLinks") == {"link-vnet-weu", "link-vnet-analytics",
                                                             "link-vnet-ingestion"}
        sb = c.get(f"{world['spoke_net']}/virtualNetworks/vnet-sandbox").json()["properties"]
        assert sb["dhcpOptions"]["dnsServers"] == [fw_ip], sb.get("dhcpOptions")

    def test_second_plan_clean(self, ws):
        rc, plan = _plan(ws)
        assert rc == 0, _changed(plan)

    def test_no_conflicts(self, emu):
        """The hub-side writes of the three spokes were serialized by the
        provider: the emulator never had to refuse an overlapping write."""
        conflicts = [r["path"] for r in emu.requests(kind="arm") if r.get("status") == 409]
        assert not conflicts, conflicts

    def test_gateway_later_turns_transit_on(self, ws, emu, world):
        (ws.dir / "e2e.auto.tfvars").write_text(
            (ws.dir / "e2e.auto.tfvars").read_text() + f'vpn_tenant_id = "{emu.info["tenant_id"]}"\n')
        rc, plan = _plan(ws)
        assert rc == 2
        ch = _changed(plan)
        for s in SPOKES:
            changes = ch[f'zerotrust_spoke.this["{s}"]']["after"]["underlying_changes"]
            assert changes["peering"] == "update" and changes["hub_peering"] == "update", changes
            assert "vnet" not in changes and "firewall_rules" not in changes, changes
        ws.run("apply", "-input=false", "-no-color", "e2e.tfplan", check=True)
        c = emu.client
        for s in SPOKES:
            p = c.get(f"{world['spoke_net']}/virtualNetworks/vnet-{s}/virtualNetworkPeerings/peer-to-hub").json()
            assert p["properties"]["useRemoteGateways"] is True, p
            hp = c.get(f"{world['hub_vnet']}/virtualNetworkPeerings/peer-hub-to-{s}").json()
            assert hp["properties"]["allowGatewayTransit"] is True, hp
        rc, plan = _plan(ws)
        assert rc == 0, _changed(plan)

    def test_drift_repaired(self, ws, emu, world):
        emu.client.control("POST", "drift", {"id": f"{world['rt']}/routes/spoke-ingestion",
                                             "action": "delete"}).raise_for_status()
        rc, plan = _plan(ws)
        assert rc == 2
        ch = _changed(plan)
        assert set(ch) == {'zerotrust_spoke.this["ingestion"]'}, ch.keys()
        changes = ch['zerotrust_spoke.this["ingestion"]']["after"]["underlying_changes"]
        assert changes["hub_route"] == "create", changes
        assert "vnet" not in changes, changes
        ws.run("apply", "-input=false", "-no-color", "e2e.tfplan", check=True)
        assert "spoke-ingestion" in _hub_side(emu, world)[1]
        rc, plan = _plan(ws)
        assert rc == 0, _changed(plan)

    def test_import_into_empty_state(self, ws, session_root, mirror, emu, world):
        """Hub and spokes imported by their VNet IDs into a fresh state: the
        next plan is clean (the spokes' hub inputs are rebuilt from Azure)."""
        ws2 = make_workspace(session_root / "hub-and-spokes-import", ws.runner, mirror,
                             config_dir=EXAMPLE,
                             files={"e2e.auto.tfvars": (ws.dir / "e2e.auto.tfvars").read_text()})
        use_emulator(ws2, emu.client, [world[HUB_RG], world[SPOKE_RG]])
        ws2.run("init", "-input=false", "-no-color", check=True)
        ws2.run("import", "-input=false", "-no-color", "zerotrust_hub.this", world["hub_vnet"], check=True)
        for s in SPOKES:
            ws2.run("import", "-input=false", "-no-color", f'zerotrust_spoke.this["{s}"]',
                    f"{world['spoke_net']}/virtualNetworks/vnet-{s}", check=True)
        rc, plan = _plan(ws2)
        assert rc == 0, json.dumps(_changed(plan), indent=1)[:4000]

    def test_destroy_one_spoke(self, ws, emu, world):
        ws.run("destroy", "-auto-approve", "-input=false", "-no-color",
               '-target=zerotrust_spoke.this["sandbox"]', check=True)
        rcgs, routes, peerings = _hub_side(emu, world)
        # sandbox was alone in spokes-0: the group went with its collections
        assert rcgs == {"hub-platform", "spokes-1", "spokes-3"}, rcgs
        assert _collections(emu, world) == {"azure-platform"} | _spoke_collections(("analytics", "ingestion"))
        assert routes == {"spoke-analytics", "spoke-ingestion"}, routes
        assert peerings == {"peer-hub-to-analytics", "peer-hub-to-ingestion"}, peerings
        left = [i for i in _ids_under(emu, world[SPOKE_RG]) if "sandbox" in i.lower()]
        assert not left, left
        assert emu.client.get(world["hub_vnet"]).status_code == 200
        assert emu.client.get(f"{world['spoke_net']}/virtualNetworks/vnet-analytics").status_code == 200

    def test_destroy_all_leaves_nothing(self, ws, emu, world):
        ws.run("destroy", "-auto-approve", "-input=false", "-no-color", check=True)
        left = _ids_under(emu, world[HUB_RG]) + _ids_under(emu, world[SPOKE_RG])
        assert not left, left

    def test_every_body_conforms(self, emu):
        r = subprocess.run([sys.executable, "-m", "tests.emulator.validate", emu.info["request_log"],
                            "--enum-mode", "strict"], cwd=REPO, capture_output=True, text=True)
        assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
