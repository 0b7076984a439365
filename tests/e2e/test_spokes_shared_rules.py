"""Spokes share rule collection groups (examples/hub-and-spokes, real Terraform, the emulator):
a hub and four spokes, three of which (alpha, beta, analytics) hash to the group spokes-3 and one
(gamma) to spokes-2. Each spoke owns two rule collections in its group.

  one apply -> spokes-3 holds the three spokes' six collections, written in fewer PUTs than
  spokes (the first PUT is held back, the others queue and go in one) -> plan clean -> a
  collection added to the group by hand survives the spokes' writes -> one spoke's collections
  removed and another's rule changed behind Terraform's back: the plan names exactly those two
  spokes, the apply repairs them and leaves the others' collections (and the hand-made one)
  alone -> plan clean -> destroy of one spoke removes only its collections -> destroy of the
  last spoke of spokes-2 removes the group -> destroy all leaves nothing.

The orphan audit runs after every step: each collection of a shared group must belong to some
state (tests/e2e/orphans.py).
"""
from __future__ import annotations

import json

import pytest

from e2e_support import REPO, get_runner, make_workspace
from hub_env import start_emulator, use_emulator
from orphans import audit_for

EXAMPLE = REPO / "examples" / "hub-and-spokes"
HUB_RG, SPOKE_RG = "rg-hub-shared", "rg-spokes-shared"
# name -> (address space, firewall_rule_priority, group)
SPOKES = {"alpha": ("10.1.0.0/24", 200, "spokes-3"), "beta": ("10.1.1.0/24", 210, "spokes-3"),
          "analytics": ("10.1.2.0/24", 220, "spokes-3"), "gamma": ("10.1.3.0/24", 200, "spokes-2")}


def _tfvars(names) -> str:
    body = "\n".join(f'  {n} = {{ address_space = "{SPOKES[n][0]}", firewall_rule_priority = {SPOKES[n][1]}, '
                     f'dns_mode = "firewall" }}' for n in names)
    return (f'hub_resource_group_name = "{HUB_RG}"\nspoke_resource_group_name = "{SPOKE_RG}"\n'
            f"spokes = {{\n{body}\n}}\n")


def _colls(names) -> set[str]:
    return {f"spoke-{n}-{k}" for n in names for k in ("network", "application")}


@pytest.fixture(scope="module")
def emu(session_root):
    e = start_emulator(session_root / "shared-rules-emulator")
    e.create_groups((HUB_RG, SPOKE_RG))
    yield e
    e.stop()


@pytest.fixture(scope="module")
def policy(emu):
    return f"{emu.client.rg_id(HUB_RG)}/providers/Microsoft.Network/firewallPolicies/afwp-weu"


@pytest.fixture(scope="module")
def ws(session_root, mirror, provider_speaks, emu):
    runner = get_runner("terraform")
    if not runner.available:
        pytest.skip(runner.why_missing)
    w = make_workspace(session_root / "shared-rules", runner, mirror, config_dir=EXAMPLE,
                       files={"e2e.auto.tfvars": _tfvars(SPOKES)})
    use_emulator(w, emu.client, [emu.client.rg_id(HUB_RG), emu.client.rg_id(SPOKE_RG)])
    w.run("init", "-input=false", "-no-color", check=True)
    return w


def _groups(emu, policy) -> dict[str, dict]:
    r = emu.client.get(f"{policy}/ruleCollectionGroups")
    assert r.status_code == 200, r.text
    return {g["name"]: g for g in r.json()["value"]}


def _names(group: dict) -> list[str]:
    return [c["name"] for c in group["properties"]["ruleCollections"]]


def _plan(ws) -> tuple[int, dict]:
    r = ws.run("plan", "-input=false", "-no-color", "-detailed-exitcode", "-out=e2e.tfplan")
    assert r.rc in (0, 2), r.describe()
    plan = json.loads(ws.run("show", "-json", "e2e.tfplan", check=True).stdout)
    return r.rc, {c["address"]: c["change"] for c in plan.get("resource_changes", [])
                  if c["change"]["actions"] != ["no-op"]}


@pytest.mark.incremental
class TestSharedGroups:
    def test_apply_shares_and_batches(self, ws, emu, policy):
        since = emu.requests(kind="arm")[-1]["seq"] if emu.requests(kind="arm") else 0
        # The first write to spokes-3 is held back 2 s: the other spokes' writes queue behind it
        # in the provider and go to Azure together.
        emu.client.fault(kind="latency", method="PUT", path_regex=r"/ruleCollectionGroups/spokes-3$",
                         count=1, seconds=2)
        ws.run("apply", "-input=false", "-no-color", "-auto-approve", check=True)
        emu.clear_faults()
        groups = _groups(emu, policy)
        assert set(groups) == {"hub-platform", "spokes-2", "spokes-3"}, set(groups)
        assert set(_names(groups["spokes-3"])) == _colls(["alpha", "beta", "analytics"])
        assert set(_names(groups["spokes-2"])) == _colls(["gamma"])
        assert groups["spokes-3"]["properties"]["priority"] == 60003
        prios = {c["name"]: c["priority"] for c in groups["spokes-3"]["properties"]["ruleCollections"]}
        assert prios["spoke-beta-network"] == prios["spoke-beta-application"] == 210, prios
        net = next(c for c in groups["spokes-3"]["properties"]["ruleCollections"]
                   if c["name"] == "spoke-alpha-network")
        assert {r["ruleType"] for r in net["rules"]} == {"NetworkRule"}
        assert all(r["sourceAddresses"] == ["10.1.0.0/24"] for r in net["rules"])
        puts = [r for r in emu.requests(since=since, kind="arm") if r["method"] == "PUT"
                and r["path"].lower().endswith("/rulecollectiongroups/spokes-3")]
        assert 1 < len(puts) < 3, [(r["seq"], r["status"]) for r in puts]
        out = json.loads(ws.run("output", "-json", check=True).stdout)
        assert out["spoke_rule_collection_group_ids"]["value"]["beta"] == f"{policy}/ruleCollectionGroups/spokes-3"

    def test_plan_clean(self, ws):
        rc, ch = _plan(ws)
        assert rc == 0, ch

    def test_foreign_collection_kept(self, ws, emu, policy):
        g = _groups(emu, policy)["spokes-3"]
        manual = {"ruleCollectionType": "FirewallPolicyFilterRuleCollection", "name": "manual", "priority": 900,
                  "action": {"type": "Deny"}, "rules": [{"ruleType": "ApplicationRule", "name": "block",
                                                          "sourceAddresses": ["*"], "targetFqdns": ["bad.example"],
                                                          "protocols": [{"protocolType": "Https", "port": 443}]}]}
        colls = g["properties"]["ruleCollections"] + [manual]
        r = emu.client.put_and_wait(g["id"], {"properties": {"priority": 60003, "ruleCollections": colls}})
        assert "manual" in _names(r), r
        audit_for(emu.client).allow(f"{g['id']}#manual")
        rc, ch = _plan(ws)
        assert rc == 0, ch   # not the spokes' business

    def test_drift_of_one_collection_repaired(self, ws, emu, policy):
        g = _groups(emu, policy)["spokes-3"]
        colls = [c for c in g["properties"]["ruleCollections"] if not c["name"].startswith("spoke-beta-")]
        for c in colls:
            if c["name"] == "spoke-alpha-application":
                c["rules"] = c["rules"][:1]
        emu.client.control("POST", "drift", {"id": g["id"], "set": {"properties.ruleCollections": colls}}
                           ).raise_for_status()
        rc, ch = _plan(ws)
        assert rc == 2
        assert set(ch) == {'zerotrust_spoke.this["alpha"]', 'zerotrust_spoke.this["beta"]'}, set(ch)
        assert ch['zerotrust_spoke.this["beta"]']["after"]["underlying_changes"] == {"firewall_rules": "create"}
        assert ch['zerotrust_spoke.this["alpha"]']["after"]["underlying_changes"] == {"firewall_rules": "update"}
        ws.run("apply", "-input=false", "-no-color", "e2e.tfplan", check=True)
        names = _names(_groups(emu, policy)["spokes-3"])
        assert set(names) == _colls(["alpha", "beta", "analytics"]) | {"manual"}, names
        assert len(names) == len(set(names)), names
        rc, ch = _plan(ws)
        assert rc == 0, ch

    def test_destroy_one_keeps_the_others(self, ws, emu, policy):
        ws.run("destroy", "-auto-approve", "-input=false", "-no-color", '-target=zerotrust_spoke.this["beta"]',
               check=True)
        names = _names(_groups(emu, policy)["spokes-3"])
        assert set(names) == _colls(["alpha", "analytics"]) | {"manual"}, names

    def test_last_spoke_takes_its_group(self, ws, emu, policy):
        (ws.dir / "e2e.auto.tfvars").write_text(_tfvars(["alpha", "analytics"]))
        ws.run("apply", "-input=false", "-no-color", "-auto-approve", check=True)
        groups = _groups(emu, policy)
        assert "spokes-2" not in groups, set(groups)
        assert set(_names(groups["spokes-3"])) == _colls(["alpha", "analytics"]) | {"manual"}
        rc, ch = _plan(ws)
        assert rc == 0, ch

    def test_destroy_all(self, ws, emu, policy):
        ws.run("destroy", "-auto-approve", "-input=false", "-no-color", check=True)
        left = emu.store_ids_under(emu.client.rg_id(SPOKE_RG))
        assert not left, left
