"""Faults on the hub-side writes while several spokes are created in one
apply (examples/hub-and-spokes, three spokes in parallel, real Terraform):
the spokes' rule collections in the hub's firewall policy (shared groups) and their
routes in the hub's GatewaySubnet route table get 429s, 500s, 503s, dropped
connections and AnotherOperationInProgress conflicts. The apply must absorb
them (retries, serialization per hub resource), every spoke's pieces must be
there afterwards (none lost or overwritten), a plan must be clean, and
destroy must leave nothing.
"""
from __future__ import annotations

import pytest

from e2e_support import REPO, get_runner, make_workspace
from hub_env import plan_rc, start_emulator, use_emulator

EXAMPLE = REPO / "examples" / "hub-and-spokes"
GROUPS = ("rg-hub-weu", "rg-spokes-weu")
SPOKES = ("analytics", "ingestion", "sandbox")
RCG = r"/firewallPolicies/[^/]+/ruleCollectionGroups/spokes-[0-9]+$"
ROUTE = r"/routeTables/[^/]+/routes/spoke-[^/]+$"
FAULTS = [
    {"kind": "429", "method": "PUT", "path_regex": RCG, "count": 2},
    {"kind": "conflict", "method": "PUT", "path_regex": RCG, "count": 2, "after": 1},
    {"kind": "500", "method": "PUT", "path_regex": ROUTE, "count": 1},
    {"kind": "503", "method": "PUT", "path_regex": ROUTE, "count": 1, "after": 1},
    {"kind": "reset", "method": "PUT", "path_regex": RCG, "count": 1, "after": 3},
    {"kind": "conflict", "method": "PUT", "path_regex": ROUTE, "count": 2, "after": 2},
]


@pytest.fixture(scope="module")
def emu(session_root):
    e = start_emulator(session_root / "spokes-faults-emulator", time_scale=0.001)
    e.create_groups(GROUPS)
    yield e
    e.stop()


@pytest.fixture(scope="module")
def ws(session_root, mirror, provider_speaks, emu):
    w = make_workspace(session_root / "spokes-faults", get_runner("terraform"), mirror, config_dir=EXAMPLE)
    use_emulator(w, emu.client, GROUPS)
    w.run("init", "-input=false", "-no-color", check=True)
    return w


def _ids(emu, needle: str) -> list[str]:
    store = emu.client.control("GET", "store").json()
    return sorted(r["id"] for r in store["resources"] if needle in r["id"].lower())


def test_parallel_spokes_absorb_hub_side_faults(ws, emu):
    for f in FAULTS:
        emu.client.fault(**f)
    r = ws.run("apply", "-input=false", "-auto-approve", "-no-color")
    fired = {f.get("kind"): f.get("fired", 0) for f in emu.faults()}
    assert r.rc == 0, r.describe()
    assert sum(f.get("fired", 0) for f in emu.faults()) >= 6, fired
    emu.clear_faults()

    groups = _ids(emu, "/rulecollectiongroups/spokes-")
    routes = _ids(emu, "/routes/spoke-")
    collections = {c["name"] for g in groups for c in emu.client.get(g).json()["properties"]["ruleCollections"]}
    assert collections == {f"spoke-{s}-{k}" for s in SPOKES for k in ("network", "application")}, collections
    assert len(routes) == len(SPOKES), routes
    for name in SPOKES:
        assert any(x.lower().endswith(f"/spoke-{name}") for x in routes), (name, routes)

    rc, p = plan_rc(ws)
    assert rc == 0, p.describe()
    ws.run("destroy", "-input=false", "-auto-approve", "-no-color", check=True)
    left = []
    for rg in GROUPS:
        left += emu.store_ids_under(emu.client.rg_id(rg))
    assert left == []
