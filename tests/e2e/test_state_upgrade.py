"""States written by the previous release move to the current schema: examples/platform
applied with release 0.1.0 (built from its tagged commit, cached under ~/.cache/zerotrust),
then the same platform under the current provider with the azurerm-style names: Terraform
calls UpgradeResourceState (schema version 0 -> 1), the plan replaces and recreates nothing
but moves the spoke's firewall rules from the group it owned into its collections of a shared
group (the new collections written before the old group is deleted),
the next one after apply is clean, and the state holds the new attributes (workspace id = import ID, the numeric workspace_id, virtual_network_id).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from e2e_support import (PLATFORM, PROVIDER_SOURCE, REPO, Mirror, dirhash_h1, get_runner,
                         make_workspace, project_version)
from hub_env import arm_env, plan_rc, platform_vars, start_emulator

# The commit tagged v0.1.0 (a clone may not carry tags; the history has the commit).
RELEASE_0_1_0 = "a6e8698de2e550cc6a5fd505c05d40d90d4ce3a4"
GROUPS = ("rg-hub-weu", "rg-spokes-weu", "rg-dbx-weu")
TYPES = ("zerotrust_hub", "zerotrust_spoke", "zerotrust_databricks_private_workspace")


def release_binary(commit: str, version: str) -> Path:
    """The provider as released at `commit`, built once and cached by commit."""
    cache = Path(os.environ.get("ZT_PEERS_DIR", Path.home() / ".cache" / "zerotrust")) / "releases"
    exe = cache / f"terraform-provider-zerotrust_{version}_{commit[:12]}"
    if exe.is_file():
        return exe
    if subprocess.run(["git", "-C", str(REPO), "cat-file", "-e", f"{commit}^{{commit}}"],
                      capture_output=True).returncode != 0:
        pytest.skip(f"release {version} ({commit[:12]}) is not in this clone's history (shallow?)")
    work = cache / f"build-{commit[:12]}"
    shutil.rmtree(work, ignore_errors=True)
    (work / "src").mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", commit], capture_output=True,
                             check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(work / "src")], input=archive, check=True)
    for argv in (["meson", "setup", str(work / "build"), str(work / "src"), "-Dtests=false"],
                 ["ninja", "-C", str(work / "build"), "terraform-provider-zerotrust"]):
        p = subprocess.run(argv, capture_output=True, text=True, timeout=1800)
        assert p.returncode == 0, f"building release {version}: {' '.join(argv)}\n{p.stdout[-3000:]}{p.stderr[-3000:]}"
    tmp = exe.with_suffix(".tmp")
    shutil.copy2(work / "build" / "terraform-provider-zerotrust", tmp)
    tmp.replace(exe)
    shutil.rmtree(work, ignore_errors=True)
    return exe


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory, provider_speaks) -> tuple[Mirror, str, str]:
    """A filesystem mirror with release 0.1.0 and the provider under test."""
    old, new = "0.1.0", project_version()
    assert old != new, "the current version must differ from the release whose states it upgrades"
    base = tmp_path_factory.mktemp("zt-upgrade-mirror")
    for version, binary in ((old, release_binary(RELEASE_0_1_0, old)), (new, provider_speaks)):
        pkg = base / PROVIDER_SOURCE / version / PLATFORM
        pkg.mkdir(parents=True)
        shutil.copy2(binary, pkg / f"terraform-provider-zerotrust_v{version}")
    cfg = base / "terraform.rc"
    cfg.write_text(f'disable_checkpoint = true\nprovider_installation {{\n  filesystem_mirror {{\n'
                   f'    path    = "{base}"\n    include = ["{PROVIDER_SOURCE}"]\n  }}\n}}\n')
    pkg = base / PROVIDER_SOURCE / new / PLATFORM
    return Mirror(base, pkg, pkg / f"terraform-provider-zerotrust_v{new}", new, dirhash_h1(pkg), cfg), old, new


def without_governance(text: str) -> str:
    """examples/platform without zerotrust_governance (newer than 0.1.0) and what refers to it:
    the same platform both releases can build."""
    blocks = re.split(r"(?m)^(?=(?:resource|output|variable|terraform|provider|locals|data)\b)", text)
    kept = [b for b in blocks if not (b.startswith('resource "zerotrust_governance"')
                                      or b.startswith("output") and "zerotrust_governance" in b)]
    return "\n".join(ln for ln in "".join(kept).splitlines()
                     if "zerotrust_governance." not in ln) + "\n"


def as_released(text: str, version: str) -> str:
    """examples/platform as a 0.1.0 user wrote it: the old names, that version pinned."""
    text = re.sub(r"\bhub_virtual_network_id(\s*)=", r"hub_vnet_id\1=", text)
    text = re.sub(r"\.virtual_network_id\b", ".vnet_id", text)
    return pin(text, version)


def pin(text: str, version: str) -> str:
    """The provider's version constraint (not required_version) set to exactly `version`."""
    out, n = re.subn(r'(\bversion\s*=\s*)"~>[^"]*"', rf'\g<1>"{version}"', text, count=1)
    assert n == 1, "no provider version constraint in examples/platform"
    return out


def resources(ws) -> dict[str, dict]:
    state = json.loads((ws.dir / "terraform.tfstate").read_text())
    return {r["type"]: r["instances"][0] for r in state["resources"] if r["type"] in TYPES}


def test_platform_state_of_the_previous_release_upgrades(session_root, two_versions):
    mirror, old, new = two_versions
    emu = start_emulator(session_root / "upgrade-emulator", time_scale=0.001)
    try:
        emu.create_groups(GROUPS)
        example = without_governance((REPO / "examples" / "platform" / "main.tf").read_text())
        ws = make_workspace(session_root / "upgrade", get_runner("terraform"), mirror,
                            files={"main.tf": as_released(example, old)})
        ws.extra_env.update(arm_env(emu.info) | platform_vars(emu.info))
        ws.run("init", "-input=false", "-no-color", check=True)
        ws.run("apply", "-input=false", "-auto-approve", "-no-color", check=True)
        before = resources(ws)
        assert {t: r["schema_version"] for t, r in before.items()} == dict.fromkeys(TYPES, 0)
        uc_identity = before["zerotrust_databricks_private_workspace"]["attributes"]["id"]
        assert "/userAssignedIdentities/" in uc_identity

        # the current provider, the configuration with its names
        (ws.dir / "main.tf").write_text(pin(example, new))
        ws.run("init", "-upgrade", "-input=false", "-no-color", check=True)
        # The upgrade moves the state; it recreates and replaces nothing. (Later releases may
        # update underlying resources in place for settings they added, e.g. the workspace's
        # compliance settings and key tags at create only.)
        rc, p = plan_rc(ws, "-out=upgrade.tfplan")
        assert rc in (0, 2), p.describe()
        assert "0 to add" in p.stdout or rc == 0, p.describe()
        assert "0 to destroy" in p.stdout or rc == 0, p.describe()
        assert "must be replaced" not in p.stdout, p.describe()
        # The one move: the spoke's rules leave the group it owned alone for its collections
        # in the group it shares with other spokes (created there first, then the old group
        # deleted).
        old_group = before["zerotrust_spoke"]["attributes"]["underlying_resources"]["firewall_rules"]
        assert old_group.endswith("/ruleCollectionGroups/spoke-analytics"), old_group
        planned = json.loads(ws.run("show", "-json", "upgrade.tfplan", check=True).stdout)
        changes = {c["type"]: c["change"]["after"]["underlying_changes"] for c in planned["resource_changes"]
                   if c["type"] in TYPES and c["change"]["actions"] != ["no-op"]}
        assert changes.get("zerotrust_spoke") == {"firewall_rules": "create",
                                                  f"firewall_rules~{old_group}": "delete"}, changes
        assert not any(v in ("delete", "replace") for t, ch in changes.items() if t != "zerotrust_spoke"
                       for v in ch.values()), changes
        since = max((r["seq"] for r in emu.requests(kind="arm")), default=0)
        ws.run("apply", "-input=false", "-no-color", "upgrade.tfplan", check=True)
        writes = [(r["method"], r["path"].lower()) for r in emu.requests(since=since, kind="arm")
                  if r["method"] in ("PUT", "DELETE") and "/rulecollectiongroups/" in r["path"].lower()
                  and r["status"] < 300]
        put = writes.index(("PUT", old_group.lower().rsplit("/", 1)[0] + "/spokes-3"))
        assert writes.index(("DELETE", old_group.lower())) > put, writes
        assert emu.client.get(old_group).status_code == 404
        group = emu.client.get(old_group.rsplit("/", 1)[0] + "/spokes-3").json()
        assert {c["name"] for c in group["properties"]["ruleCollections"]} == {
            "spoke-analytics-network", "spoke-analytics-application"}, group
        after = resources(ws)
        assert {t: r["schema_version"] for t, r in after.items()} == dict.fromkeys(TYPES, 1)
        hub, spoke = after["zerotrust_hub"]["attributes"], after["zerotrust_spoke"]["attributes"]
        assert hub["virtual_network_id"] == before["zerotrust_hub"]["attributes"]["vnet_id"]
        assert "vnet_id" not in hub and "vnet_id" not in spoke and "hub_vnet_id" not in spoke
        assert spoke["hub_virtual_network_id"] == hub["virtual_network_id"]
        w = after["zerotrust_databricks_private_workspace"]["attributes"]
        old_w = before["zerotrust_databricks_private_workspace"]["attributes"]
        assert w["id"] == w["workspace_resource_id"] == old_w["workspace_id"]
        assert w["workspace_id"].isdigit() and f"adb-{w['workspace_id']}." in w["workspace_url"]
        assert w["identity_ids"]["access_connector"] == uc_identity
        # nothing was created, replaced or deleted by the move
        rc, p = plan_rc(ws)
        assert rc == 0, p.describe()
        assert not ws.leftovers, ws.leftovers
    finally:
        emu.stop()
