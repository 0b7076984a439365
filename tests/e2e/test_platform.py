"""examples/platform, the whole design (governance + hub + spoke + private Databricks
workspace), with real Terraform (the main one, 1.5.7) and OpenTofu (1.12, 1.6) where they
are installed (tools/install-peers.sh; skipped otherwise), each against a fresh ARM
emulator: applied from empty in ONE apply, a second plan is clean, a refresh reads every
underlying resource once per node (by its own GET, or in the one list read of its collection,
whose body for each member is the member's GET body), destroy leaves nothing (but the soft-deleted Key Vault,
as Azure keeps it under purge protection) and deletes policy assignments before their set
definition and diagnostic settings before the Log Analytics workspace, and every request
body re-validates against azure-specs.

With the main Terraform also: drift on a spoke NSG holding the workspace's network intent
policy rules is repaired without dropping them; drift (a diagnostic setting and a policy
assignment deleted out of band) is found by refresh and repaired by the next apply, and
the governance layer imported by its Log Analytics workspace ID plans no change.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from e2e_support import REPO, get_runner, runner_param
from hub_env import make_platform_world, plan_rc, platform_leftovers, platform_workspace, start_emulator
from tests.emulator.client import api_version_for  # noqa: E402  (hub_env puts the repository on the path)

GOVERNANCE = "zerotrust_governance.platform"
RUNNERS = ["terraform", "terraform-1.5", "tofu", "tofu-legacy"]


@pytest.fixture(params=[runner_param(r) for r in RUNNERS])
def runner(request):
    return get_runner(request.param)


@pytest.fixture
def emu(session_root, runner):
    e = start_emulator(session_root / f"platform-emulator-{runner.id}", time_scale=0.001)
    make_platform_world(e)
    yield e
    e.stop()


@pytest.fixture
def ws(session_root, mirror, provider_speaks, emu, runner):
    w = platform_workspace(session_root / f"platform-{runner.id}", runner, mirror, emu, two_spokes=False)
    w.run("init", "-input=false", "-no-color", check=True)
    return w


NIP_RULE = "Microsoft.Databricks-workspaces_UseOnly_databricks-worker-to-worker-inbound"


def _repair_spoke_nsg(ws, emu):
    """The workspace's network intent policy put its rules into the spoke's Databricks NSGs, and Azure refuses an
    NSG PUT without them (ConflictWithNetworkIntentPolicy): repairing drift on such an NSG must keep them."""
    c = emu.client
    nsgs = [r for r in c.control("GET", "store?type=Microsoft.Network/networkSecurityGroups").json()["resources"]
            if any(x["name"] == NIP_RULE for x in r["resource"]["properties"].get("securityRules", []))]
    assert nsgs, "the workspace added no network intent policy rules to the spoke's NSGs"
    nsg = nsgs[0]["id"]
    c.control("POST", "drift", {"id": nsg, "set": {"tags.owner": "someone-else"}}).raise_for_status()
    rc, p = plan_rc(ws)
    assert rc == 2, p.describe()
    ws.run("apply", "-input=false", "-auto-approve", "-no-color", check=True)
    after = c.get(nsg).json()
    assert after["tags"].get("owner") != "someone-else", after["tags"]
    assert NIP_RULE in {x["name"] for x in after["properties"]["securityRules"]}
    rc, p = plan_rc(ws)
    assert rc == 0, p.describe()


def _underlying(ws) -> dict[str, str]:
    """node key (prefixed with the resource address) -> ARM ID, from the state."""
    state = json.loads(ws.run("state", "pull", check=True).stdout)
    out = {}
    for r in state["resources"]:
        for inst in r["instances"]:
            for key, rid in (inst["attributes"].get("underlying_resources") or {}).items():
                # a part of a shared resource (<ID>#<items>) is read as the resource
                out[f"{r['type']}.{r['name']}:{key}"] = rid.split("#", 1)[0]
    return out


def _path(q: dict) -> str:
    return q["path"].split("?")[0].lower()


def _list_reads() -> dict:
    return json.loads((REPO / "provider" / "arm" / "list_reads.json").read_text())


def _listed_types() -> set[str]:
    """The types whose refresh reads are list reads (provider/arm/list_reads.json), lower case."""
    return {t.lower() for t in _list_reads()["types"]}


def _inline_types() -> dict[str, str]:
    """Child type -> the property path of its array in the parent's body (list_reads.json "inline"):
    read from the list of the parent's collection, lower case."""
    return {t.lower(): row["property"] for t, row in _list_reads().get("inline", {}).items()}


def _type_of(rid: str) -> str:
    """Microsoft.X/a/b of .../providers/Microsoft.X/a/NAME/b/NAME (the last provider's)."""
    segs = rid.split("/providers/")[-1].split("/")
    return "/".join([segs[0]] + segs[1::2]).lower()


def _collection(rid: str) -> str:
    """The collection whose list read answers rid: its parent's for an inline child."""
    if _type_of(rid) in _inline_types():
        rid = rid.rsplit("/", 2)[0]
    return rid.rsplit("/", 1)[0].lower()


def _check_refresh_reads_each_once(ws, reads: list[dict]):
    """Every underlying resource is read once: a listed type within the one list read of its
    collection (its pages followed), any other by its own GET; nothing else is read."""
    ids = _underlying(ws)
    listed = _listed_types() | set(_inline_types())
    assert reads and all(q["method"] == "GET" for q in reads), sorted({q["method"] for q in reads})
    counts: dict[str, int] = {}
    for q in reads:
        if "$skiptoken=" not in q["path"]:
            counts[_path(q)] = counts.get(_path(q), 0) + 1
    nodes: dict[str, int] = {}      # two nodes may share a resource (workspace, workspace_cmk)
    for rid in ids.values():
        nodes[rid.lower()] = nodes.get(rid.lower(), 0) + 1
    collections = set()
    for key, rid in ids.items():
        if _type_of(rid) in listed:
            collections.add(_collection(rid))
            assert rid.lower() not in counts, (key, rid, "read by its own GET")
        else:
            assert counts.get(rid.lower()) == nodes[rid.lower()], (key, rid, counts.get(rid.lower()))
    for c in collections:
        assert counts.get(c) == 1, (c, counts.get(c))
    assert set(counts) == collections | {rid.lower() for rid in ids.values() if _type_of(rid) not in listed}, \
        sorted(set(counts) ^ (collections | {r.lower() for r in ids.values()}))[:10]
    assert len(reads) < len(ids), (len(reads), len(ids))


def _check_list_bodies_are_get_bodies(ws, emu):
    """For every type of list_reads.json, each member of the platform's collections answers the
    list with the body of its own GET (which is what lets a refresh read the list)."""
    listed, inline, seen = _listed_types(), _inline_types(), set()
    for key, rid in _underlying(ws).items():
        t = _type_of(rid)
        if t not in listed and t not in inline:
            continue
        seen.add(t)
        own = emu.client.get(rid)
        assert own.status_code == 200, (key, own.text[:300])
        if t in inline:     # an inline child: in its parent's body, in the parent's collection
            own_id, rid = rid, rid.rsplit("/", 2)[0]
        members, url = {}, _collection(rid)
        while url:
            page = emu.client.get(url, api_version=api_version_for(rid)) if not url.startswith("http") \
                else emu.client.get(url)
            assert page.status_code == 200, (url, page.text[:300])
            members.update({m["id"].lower(): m for m in page.json()["value"]})
            url = page.json().get("nextLink")
        if t in inline:
            kids = members.get(rid.lower()) or {}
            for seg in inline[t].split("."):
                kids = kids.get(seg) or {}
            assert [k for k in kids if k["id"].lower() == own_id.lower()] == [own.json()], (key, own_id)
        else:
            assert members.get(rid.lower()) == own.json(), (key, rid)
    assert seen >= listed, f"types of list_reads.json the platform does not have: {sorted(listed - seen)}"


def _check_delete_order(deletes: list[dict]):
    last: dict[str, int] = {}
    for q in deletes:
        last[_path(q)] = max(last.get(_path(q), 0), q["seq"])

    def when(part):
        return [s for p, s in last.items() if part in p]

    assignments, sets = when("/policyassignments/"), when("/policysetdefinitions/")
    assert assignments and sets and max(assignments) < min(sets), (assignments, sets)
    diags = when("/diagnosticsettings/")
    law = [s for p, s in last.items() if p.endswith("/workspaces/log-platform-weu")]
    assert diags and law and max(diags) < min(law), (max(diags), law)


def _drift_is_repaired(ws, emu):
    ids = _underlying(ws)
    diag = ids["zerotrust_hub.hub:diag_firewall"]
    assignment = next(v for k, v in ids.items() if k.startswith(f"{GOVERNANCE}:policy_assignment["))
    for rid in (diag, assignment):
        emu.client.control("POST", "drift", {"id": rid, "action": "delete"}).raise_for_status()
    rc, p = plan_rc(ws)
    assert rc == 2, p.describe()
    assert "zerotrust_hub.hub" in p.stdout and GOVERNANCE in p.stdout, p.stdout[-3000:]
    ws.run("apply", "-input=false", "-auto-approve", "-no-color", check=True)
    for rid in (diag, assignment):
        assert emu.client.get(rid).status_code == 200, rid
    rc, p = plan_rc(ws)
    assert rc == 0, p.describe()


def _import_plans_clean(ws):
    law = _underlying(ws)[f"{GOVERNANCE}:log_analytics"]
    ws.run("state", "rm", GOVERNANCE, "-no-color", check=True)
    ws.run("import", "-input=false", "-no-color", GOVERNANCE, law, check=True)
    rc, p = plan_rc(ws)
    assert rc == 0, p.describe()


def test_platform_lifecycle(ws, emu):
    r = ws.run("apply", "-input=false", "-auto-approve", "-no-color", check=True)
    assert "4 added" in r.stdout, r.describe()
    out = ws.run("output", "-json", check=True).stdout
    assert "azuredatabricks.net" in out and "databricks_ui_api" in out and "dbfs_dfs" in out
    assert "log-platform-weu" in out and "zt-platform-weu-guardrails" in out

    seq = emu.last_seq()
    rc, p = plan_rc(ws)
    assert rc == 0, p.describe()
    _check_refresh_reads_each_once(ws, emu.requests(since=seq, kind="arm"))
    if ws.runner.id == "terraform":       # once: the behaviour does not depend on the runner
        _check_list_bodies_are_get_bodies(ws, emu)
        _repair_spoke_nsg(ws, emu)
        _drift_is_repaired(ws, emu)
        _import_plans_clean(ws)

    seq = emu.last_seq()
    ws.run("destroy", "-input=false", "-auto-approve", "-no-color", check=True)
    assert platform_leftovers(emu) == []
    _check_delete_order([q for q in emu.requests(since=seq, kind="arm") if q["method"] == "DELETE"])
    log = emu.info.get("request_log") or str(emu.state_dir / "requests.jsonl")
    v = subprocess.run([sys.executable, "-m", "tests.emulator.validate", log], cwd=REPO,
                       capture_output=True, text=True)
    assert v.returncode == 0, v.stdout[-3000:] + v.stderr[-2000:]
    assert not ws.leftovers, ws.leftovers
