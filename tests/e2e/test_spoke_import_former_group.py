"""Import of a spoke whose rules are still in the rule collection group of its own that releases
before the shared groups made ("spoke-<name>"): examples/hub-and-spokes with two spokes that hash
to spokes-3 (analytics, alpha), real Terraform, the emulator.

  apply -> analytics' estate put back as an earlier release left it: its group spoke-analytics
  with the body that release wrote (tests/e2e/states/hub_and_spokes_private_v1.tfstate, the
  provider at commit 53b342b), its collections gone from spokes-3 (alpha's stay) -> analytics
  removed from the state and imported by its VNet ID: the state tracks spoke-analytics (the orphan
  audit after the import fails the test otherwise), and its priority and FQDNs come from it ->
  the plan moves the rules as for an upgraded state (firewall_rules create, firewall_rules~<old
  group> delete) and nothing else -> apply: the collections in spokes-3, the old group deleted
  after they were written -> plan clean.

A move that stopped before its delete (both layouts in Azure, alpha's collections and its old
group): the import tracks the old group beside the collections, the plan deletes only it.
"""
from __future__ import annotations

import base64
import json

import pytest

from e2e_support import REPO, get_runner, make_workspace
from hub_env import start_emulator, use_emulator

EXAMPLE = REPO / "examples" / "hub-and-spokes"
FIXTURE = REPO / "tests" / "e2e" / "states" / "hub_and_spokes_private_v1.tfstate"
HUB_RG, SPOKE_RG = "rg-hub-former", "rg-spokes-former"
ADDR = 'zerotrust_spoke.this["analytics"]'
# analytics as the fixture's provider applied it (its group's body is the fixture's); alpha shares
# spokes-3 with it
TFVARS = (f'hub_resource_group_name = "{HUB_RG}"\nspoke_resource_group_name = "{SPOKE_RG}"\n'
          'spokes = {\n'
          '  analytics = { address_space = "10.1.0.0/16", firewall_rule_priority = 200,\n'
          '                allowed_fqdns = ["conda.anaconda.org", "repo.anaconda.com"] }\n'
          '  alpha     = { address_space = "10.4.0.0/24", firewall_rule_priority = 210 }\n'
          '}\n')


def _former_body() -> dict:
    """The group spoke-analytics as the earlier provider wrote it (its private state has ARM's
    answer): priority and collections."""
    st = json.loads(FIXTURE.read_text())
    inst = next(i for r in st["resources"] if r["type"] == "zerotrust_spoke"
                for i in r["instances"] if i.get("index_key") == "analytics")
    out = json.loads(base64.b64decode(inst["private"]))["nodes"]["firewall_rules"]["outputs"]
    assert out["name"] == "spoke-analytics", out["id"]
    props = out["properties"]
    return {"properties": {"priority": props["priority"], "ruleCollections": props["ruleCollections"]}}


@pytest.fixture(scope="module")
def emu(session_root):
    e = start_emulator(session_root / "former-group-emulator")
    e.create_groups((HUB_RG, SPOKE_RG))
    yield e
    e.stop()


@pytest.fixture(scope="module")
def ws(session_root, mirror, provider_speaks, emu):
    runner = get_runner("terraform")
    if not runner.available:
        pytest.skip(runner.why_missing)
    w = make_workspace(session_root / "former-group", runner, mirror, config_dir=EXAMPLE,
                       files={"e2e.auto.tfvars": TFVARS})
    use_emulator(w, emu.client, [emu.client.rg_id(HUB_RG), emu.client.rg_id(SPOKE_RG)])
    w.run("init", "-input=false", "-no-color", check=True)
    return w


def _names(group: dict) -> set[str]:
    return {c["name"] for c in group["properties"]["ruleCollections"]}


def _spoke(ws) -> dict:
    st = json.loads((ws.dir / "terraform.tfstate").read_text())
    return next(i["attributes"] for r in st["resources"] if r["type"] == "zerotrust_spoke"
                for i in r["instances"] if i.get("index_key") == "analytics")


def _plan(ws) -> tuple[int, dict]:
    r = ws.run("plan", "-input=false", "-no-color", "-detailed-exitcode", "-out=e2e.tfplan")
    assert r.rc in (0, 2), r.describe()
    plan = json.loads(ws.run("show", "-json", "e2e.tfplan", check=True).stdout)
    return r.rc, {c["address"]: c["change"] for c in plan.get("resource_changes", [])
                  if c["change"]["actions"] != ["no-op"]}


def test_import_moves_the_former_group(ws, emu):
    c = emu.client
    policy = f"{c.rg_id(HUB_RG)}/providers/Microsoft.Network/firewallPolicies/afwp-weu"
    shared, former = f"{policy}/ruleCollectionGroups/spokes-3", f"{policy}/ruleCollectionGroups/spoke-analytics"
    ws.run("apply", "-input=false", "-no-color", "-auto-approve", check=True)
    mine = {"spoke-analytics-network", "spoke-analytics-application"}
    alpha = {"spoke-alpha-network", "spoke-alpha-application"}
    assert _names(c.get(shared).json()) == mine | alpha

    # The estate an earlier release left: analytics' rules in a group of its own.
    g = c.get(shared).json()
    keep = [x for x in g["properties"]["ruleCollections"] if x["name"] not in mine]
    c.put_and_wait(shared, {"properties": {"priority": g["properties"]["priority"], "ruleCollections": keep}})
    c.put_and_wait(former, _former_body())
    assert _names(c.get(shared).json()) == alpha
    ws.run("state", "rm", "-no-color", ADDR, check=True)

    vnet = f"{c.rg_id(SPOKE_RG)}/providers/Microsoft.Network/virtualNetworks/vnet-analytics"
    ws.run("import", "-input=false", "-no-color", ADDR, vnet, check=True)
    spoke = _spoke(ws)
    # the state lists the group it tracks under the key the apply deletes it as
    tracked = {k.lower(): v.lower() for k, v in spoke["underlying_resources"].items()}
    assert tracked.get(f"firewall_rules~{former}".lower()) == former.lower(), tracked
    assert tracked["firewall_rules"] == f"{shared}#spoke-analytics-network,spoke-analytics-application".lower()
    assert spoke["firewall_rule_priority"] == 200
    assert sorted(spoke["allowed_fqdns"]) == ["conda.anaconda.org", "repo.anaconda.com"]
    assert spoke["hub_firewall_policy_id"].lower() == policy.lower()

    # The move an upgraded state plans, and nothing else.
    rc, changes = _plan(ws)
    assert rc == 2 and set(changes) == {ADDR}, changes
    assert changes[ADDR]["actions"] == ["update"], changes[ADDR]["actions"]
    underlying = changes[ADDR]["after"]["underlying_changes"]
    assert {k.lower(): v for k, v in underlying.items()} == {
        "firewall_rules": "create", f"firewall_rules~{former}".lower(): "delete"}, underlying

    since = max((r["seq"] for r in emu.requests(kind="arm")), default=0)
    ws.run("apply", "-input=false", "-no-color", "e2e.tfplan", check=True)
    writes = [(r["method"], r["path"].lower()) for r in emu.requests(since=since, kind="arm")
              if r["method"] in ("PUT", "DELETE") and "/rulecollectiongroups/" in r["path"].lower()
              and r["status"] < 300]
    # the collections written before the old group goes
    assert writes.index(("DELETE", former.lower())) > writes.index(("PUT", shared.lower())), writes
    assert c.get(former).status_code == 404
    g = c.get(shared).json()
    assert _names(g) == mine | alpha
    colls = {x["name"]: x for x in g["properties"]["ruleCollections"]}
    assert colls["spoke-analytics-network"]["priority"] == colls["spoke-analytics-application"]["priority"] == 200
    user = next(r for r in colls["spoke-analytics-application"]["rules"] if r["name"] == "user-fqdns")
    assert sorted(user["targetFqdns"]) == ["conda.anaconda.org", "repo.anaconda.com"]
    tracked = {k.lower(): v.lower() for k, v in _spoke(ws)["underlying_resources"].items()}
    assert not any(k.startswith("firewall_rules~") for k in tracked), tracked

    rc, changes = _plan(ws)
    assert rc == 0, changes
    ws.run("destroy", "-input=false", "-no-color", "-auto-approve", check=True)


def test_import_after_a_move_that_stopped_before_its_delete(ws, emu):
    """Both layouts in Azure (a move whose delete of the old group never ran): the import tracks
    the old group beside the spoke's collections, and the next apply deletes it."""
    c = emu.client
    policy = f"{c.rg_id(HUB_RG)}/providers/Microsoft.Network/firewallPolicies/afwp-weu"
    shared, former = f"{policy}/ruleCollectionGroups/spokes-3", f"{policy}/ruleCollectionGroups/spoke-alpha"
    addr = 'zerotrust_spoke.this["alpha"]'
    ws.run("apply", "-input=false", "-no-color", "-auto-approve", check=True)
    c.put_and_wait(former, _former_body())
    ws.run("state", "rm", "-no-color", addr, check=True)
    vnet = f"{c.rg_id(SPOKE_RG)}/providers/Microsoft.Network/virtualNetworks/vnet-alpha"
    ws.run("import", "-input=false", "-no-color", addr, vnet, check=True)
    st = json.loads((ws.dir / "terraform.tfstate").read_text())
    spoke = next(i["attributes"] for r in st["resources"] if r["type"] == "zerotrust_spoke"
                 for i in r["instances"] if i.get("index_key") == "alpha")
    tracked = {k.lower(): v.lower() for k, v in spoke["underlying_resources"].items()}
    assert tracked.get(f"firewall_rules~{former}".lower()) == former.lower(), tracked
    assert tracked["firewall_rules"] == f"{shared}#spoke-alpha-network,spoke-alpha-application".lower()
    assert spoke["firewall_rule_priority"] == 210

    rc, changes = _plan(ws)
    assert rc == 2 and set(changes) == {addr}, changes
    underlying = changes[addr]["after"]["underlying_changes"]
    assert {k.lower(): v for k, v in underlying.items()} == {f"firewall_rules~{former}".lower(): "delete"}, underlying
    ws.run("apply", "-input=false", "-no-color", "e2e.tfplan", check=True)
    assert c.get(former).status_code == 404
    assert {"spoke-alpha-network", "spoke-alpha-application"} <= _names(c.get(shared).json())
    rc, changes = _plan(ws)
    assert rc == 0, changes
    ws.run("destroy", "-input=false", "-no-color", "-auto-approve", check=True)
