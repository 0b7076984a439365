"""The private state keeps what plans need, not ARM's bodies, and states written before keep
working: examples/hub-and-spokes (a hub and three spokes) with real Terraform against the ARM
emulator.

  apply -> every spoke's private state is version 2 and at most 8 KiB, holding no ARM body ->
  plan clean -> a spoke NSG's tag changed behind Terraform's back: the plan's warning names the
  property with Azure's value and the planned one, as drift -> apply repairs -> plan clean ->
  the state replaced by one the provider wrote before (tests/e2e/states/
  hub_and_spokes_private_v1.tfstate: this configuration applied against this emulator by the
  provider at commit 53b342b, private state version 1 with ARM's whole bodies, about 40 KiB a
  spoke, and each spoke's own rule collection group) -> a plan without refresh and one with
  refresh change nothing but the move of the spokes' rules into their shared groups -> the apply
  writes version 2 -> plan clean.
"""
from __future__ import annotations

import base64
import json
import shutil

import pytest

from e2e_support import REPO, get_runner, make_workspace
from hub_env import plan_rc, start_emulator, use_emulator

EXAMPLE = REPO / "examples" / "hub-and-spokes"
GROUPS = ("rg-hub-weu", "rg-spokes-weu")    # the example's defaults: the fixture's IDs
FIXTURE = REPO / "tests" / "e2e" / "states" / "hub_and_spokes_private_v1.tfstate"
MAX_SPOKE_PRIVATE = 8 * 1024


@pytest.fixture(scope="module")
def emu(session_root):
    e = start_emulator(session_root / "private-emulator")
    e.create_groups(GROUPS)
    yield e
    e.stop()


@pytest.fixture(scope="module")
def ws(session_root, mirror, provider_speaks, emu):
    runner = get_runner("terraform")
    if not runner.available:
        pytest.skip(runner.why_missing)
    w = make_workspace(session_root / "private", runner, mirror, config_dir=EXAMPLE)
    use_emulator(w, emu.client, GROUPS)
    w.run("init", "-input=false", "-no-color", check=True)
    return w


def _privates(ws) -> dict[str, dict]:
    """resource address -> its private state document."""
    st = json.loads((ws.dir / "terraform.tfstate").read_text())
    out = {}
    for r in st["resources"]:
        for inst in r["instances"]:
            key = f"{r['type']}.{r['name']}" + (f"[{inst['index_key']!r}]" if "index_key" in inst else "")
            raw = base64.b64decode(inst["private"])
            out[key] = {"bytes": len(raw), "doc": json.loads(raw)}
    return out


def _check_slim(ws):
    privs = _privates(ws)
    spokes = {k: v for k, v in privs.items() if k.startswith("zerotrust_spoke.")}
    assert len(spokes) == 3, sorted(privs)
    for key, p in privs.items():
        assert p["doc"]["v"] == 2, key
        assert not any("outputs" in n for n in p["doc"]["nodes"].values()), key
    for key, p in spokes.items():
        assert p["bytes"] <= MAX_SPOKE_PRIVATE, (key, p["bytes"])
    return privs


def _drift_warning(ws, emu):
    """A spoke NSG's tag changed in Azure: the plan says which, from what to what, and why."""
    st = json.loads(ws.run("show", "-json", check=True).stdout)
    spoke = next(r for r in st["values"]["root_module"]["resources"] if r["type"] == "zerotrust_spoke")
    nsg = spoke["values"]["underlying_resources"]["nsg_functions"]
    emu.client.control("POST", "drift", {"id": nsg, "set": {"tags.owner": "someone-else"}}).raise_for_status()
    r = ws.run("plan", "-json", "-input=false", "-detailed-exitcode")
    assert r.rc == 2, r.describe()
    details = [m["diagnostic"].get("detail", "") for m in r.json_lines() if m.get("type") == "diagnostic"]
    want = 'tags.owner "someone-else" -> "platform-team@example.com" (drift, will be repaired)'
    assert any("nsg_functions" in d and want in d for d in details), details
    ws.run("apply", "-input=false", "-auto-approve", "-no-color", check=True)
    assert emu.client.get(nsg).json()["tags"]["owner"] == "platform-team@example.com"


def _only_rule_moves(ws, *extra, old_group: bool):
    r = ws.run("plan", "-input=false", "-no-color", "-detailed-exitcode", "-out=move.tfplan", *extra)
    assert r.rc == 2, r.describe()
    plan = json.loads(ws.run("show", "-json", "move.tfplan", check=True).stdout)
    for c in plan["resource_changes"]:
        if c["change"]["actions"] == ["no-op"]:
            continue
        assert c["type"] == "zerotrust_spoke" and c["change"]["actions"] == ["update"], c["address"]
        changes = c["change"]["after"]["underlying_changes"]
        assert changes["firewall_rules"] == "create", changes
        old = [k for k in changes if k != "firewall_rules"]
        assert len(old) == int(old_group), changes
        for k in old:
            assert k.startswith("firewall_rules~") and changes[k] == "delete", changes
            assert k.endswith(f"/ruleCollectionGroups/spoke-{c['index']}"), old


def test_private_state_is_small_and_older_states_upgrade(ws, emu):
    ws.run("apply", "-input=false", "-auto-approve", "-no-color", check=True)
    before = _check_slim(ws)
    rc, p = plan_rc(ws)
    assert rc == 0, p.describe()
    _drift_warning(ws, emu)
    rc, p = plan_rc(ws)
    assert rc == 0, p.describe()

    # A state written before: version 1 private state over the same resources.
    shutil.copy(FIXTURE, ws.dir / "terraform.tfstate")
    old = _privates(ws)
    assert all(p["doc"]["v"] == 1 for p in old.values())
    assert sum(p["bytes"] for p in old.values()) > 4 * sum(p["bytes"] for p in before.values())
    # That provider gave each spoke a rule collection group of its own: the plans move the
    # spokes' rules to their collections in the shared groups, and nothing else (the old
    # groups are not in this emulator: a refresh finds them gone, so only the collections are
    # planned, already there as they are, and rewritten).
    _only_rule_moves(ws, "-refresh=false", old_group=True)
    _only_rule_moves(ws, old_group=False)
    ws.run("apply", "-input=false", "-auto-approve", "-no-color", check=True)
    after = _check_slim(ws)
    print("\n[private state] bytes per resource, version 1 -> 2: "
          + ", ".join(f"{k} {old[k]['bytes']} -> {after[k]['bytes']}" for k in sorted(after)))
    rc, p = plan_rc(ws)
    assert rc == 0, p.describe()
    ws.run("destroy", "-input=false", "-auto-approve", "-no-color", check=True)
