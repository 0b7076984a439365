"""Never lose track, always recover: odd answers from Azure, failures and
refused changes, each through real Terraform against the ARM emulator. In
every test Terraform's state stays the truth (the orphan audit runs after
every step, orphans.py) and the next apply converges.

  - a 400 whose body is a Latin-1 HTML page (a proxy's) and whose
    x-ms-request-id holds a non-UTF-8 byte: the failure is reported and
    the partial state kept (Terraform refuses a whole response over one
    invalid UTF-8 byte in a diagnostic);
  - a PUT that Azure carried out but whose answer was lost, retried and
    then refused with a 400: the resource is tracked, so a destroy
    removes it;
  - names unknown at plan are checked at apply before any of them reaches
    a URL (a "/../" in a container name must not write somewhere else).
"""
from __future__ import annotations

import base64
import json
import os
import re

import pytest

from e2e_support import get_runner, make_workspace
from hub_env import (EXAMPLE as HUB_EXAMPLE, PLATFORM_GROUPS, hub_fixtures, hub_workspace,
                     make_platform_world, plan_rc, platform_leftovers, platform_workspace,
                     use_emulator)

RG = "rg-trust"
NET = rf"/resourceGroups/{RG}/providers/Microsoft\.Network"


emu, world, ws = hub_fixtures("trust", RG)


def _apply(ws, *extra):
    return ws.run("apply", "-auto-approve", "-input=false", "-no-color", *extra)


def _text(r) -> str:
    return " ".join((r.stdout + "\n" + r.stderr).split())


def _state(ws) -> dict:
    try:
        return json.loads((ws.dir / "terraform.tfstate").read_text())
    except (OSError, ValueError):
        return {}


def _instances(ws, rtype: str) -> list[dict]:
    return [i for r in _state(ws).get("resources", []) if r["type"] == rtype for i in r["instances"]]


def _converge(ws):
    """The next apply converges: it succeeds and a plan is clean."""
    r = _apply(ws)
    assert r.rc == 0, r.describe()
    rc, p = plan_rc(ws)
    assert rc == 0, p.describe()


def _converge_and_destroy(ws, emu, world):
    """The next apply converges, destroy leaves nothing."""
    _converge(ws)
    ws.run("destroy", "-auto-approve", "-input=false", "-no-color", check=True)
    assert emu.store_ids_under(world["rg_id"]) == []


def test_non_utf8_error_body_keeps_the_partial_state(ws, emu, world):
    page = ("<html><head><title>400 Requ\u00eate incorrecte</title></head><body><h1>Requ\u00eate "
            "refus\u00e9e par le mandataire</h1></body></html>").encode("latin-1")
    emu.client.fault(kind="raw", method="PUT", path_regex=rf"{NET}/azureFirewalls/afw-weu$", status=400,
                     headers={"Content-Type": "text/html; charset=iso-8859-1",
                              "x-ms-request-id": "proxy-caf\u00e9"},
                     body_b64=base64.b64encode(page).decode())
    r = _apply(ws)
    emu.clear_faults()
    text = _text(r)
    assert r.rc != 0, r.describe()
    assert "invalid UTF-8" not in text, text[-3000:]
    assert "Failed to apply firewall" in text and "Requ\ufffdte refus\ufffde" in text, text[-3000:]
    hubs = _instances(ws, "zerotrust_hub")
    assert hubs, "the failed apply recorded no hub: everything it created is unknown to Terraform"
    assert "vnet" in hubs[0]["attributes"]["underlying_resources"]
    _converge_and_destroy(ws, emu, world)


def test_lost_answer_then_refusal_is_tracked(ws, emu, world):
    """The gateway route table's PUT is carried out but its answer lost; the
    retry is refused (400), and so is every other PUT of the apply. The
    route table exists: the state must say so (the apply's only trace),
    and a destroy must delete it."""
    emu.client.fault(kind="lost_answer", method="PUT", path_regex=rf"{NET}/routeTables/rt-weu-gateway$")
    emu.client.fault(kind="error", method="PUT", path_regex=NET, count=-1, status=400,
                     code="InvalidRequestFormat", message="Cannot parse the request. (injected)")
    r = _apply(ws)
    fired = [f["fired"] for f in emu.faults()]
    emu.clear_faults()
    assert r.rc != 0 and fired[0] == 1, (fired, r.describe())
    assert "InvalidRequestFormat" in _text(r), _text(r)[-3000:]
    left = emu.store_ids_under(world["rg_id"])
    assert [i for i in left if i.lower().endswith("/routetables/rt-weu-gateway")], left
    assert _instances(ws, "zerotrust_hub"), "the route table that exists is in no state"
    ws.run("destroy", "-auto-approve", "-input=false", "-no-color", check=True)
    assert emu.store_ids_under(world["rg_id"]) == [], "destroy left what the lost answer created"


FAKE_AZ = r"""#!/usr/bin/env python3
# `az account get-access-token` for the emulated tenant: a token that
# lives 6 s (so that it is fetched again mid-apply, connections open), and
# what the process inherited, logged.
import json, os, ssl, sys, time, urllib.request
with open(os.environ["ZT_FAKE_AZ_LOG"], "a") as log:
    for fd in sorted(os.listdir("/proc/self/fd")):
        try:
            log.write(f"{fd} {os.readlink('/proc/self/fd/' + fd)}\n")
        except OSError:
            pass
    log.write("--\n")
req = urllib.request.Request(os.environ["ZT_FAKE_AZ_URL"] + "/__emulator/tokens", method="POST",
                             data=json.dumps({"lifetime": 6}).encode(),
                             headers={"Content-Type": "application/json"})
ctx = ssl.create_default_context(cafile=os.environ["ZT_FAKE_AZ_CA"])
token = json.load(urllib.request.urlopen(req, context=ctx))["access_token"]
print(json.dumps({"accessToken": token, "expires_on": int(time.time()) + 6, "tokenType": "Bearer"}))
"""
POLL = re.compile(r"/operations/[^/]+$|/operationResults/[^/]+$|/privateDnsOperationStatuses/[^/]+$", re.I)


def test_cli_credential_and_lro_polls(session_root, mirror, provider_speaks, emu, world):
    """The Azure CLI credential's child inherits no socket of the provider's
    (ARM connections with tokens in flight, Terraform's gRPC), and no
    long-running operation is polled more than once a second, whatever the
    emulator's Retry-After (scaled to its fast clock) says."""
    ws = hub_workspace(session_root / "trust-cli", get_runner("terraform"), mirror, emu, world)
    bin_dir = ws.root / "fake-bin"
    bin_dir.mkdir()
    (bin_dir / "az").write_text(FAKE_AZ)
    (bin_dir / "az").chmod(0o755)
    log = ws.root / "az-calls.log"
    env = {"ARM_USE_CLI": "true", "ARM_CLIENT_ID": "", "ARM_CLIENT_SECRET": "",
           "ZT_ARM_MIN_POLL_MS": "", "PATH": f"{bin_dir}:{os.environ['PATH']}",
           "ZT_FAKE_AZ_LOG": str(log), "ZT_FAKE_AZ_URL": emu.info["url"], "ZT_FAKE_AZ_CA": emu.info["ca_cert"]}
    ws.extra_env.update(env)
    ws.run("init", "-input=false", "-no-color", check=True)
    seq = emu.last_seq()
    _converge(ws)
    calls = log.read_text().split("--\n")[:-1]
    assert len(calls) >= 2, f"az ran {len(calls)} time(s): the token was not fetched again mid-apply"
    leaked = [line for call in calls for line in call.splitlines() if "socket:" in line]
    assert not leaked, f"az inherited the provider's sockets: {leaked[:5]}"
    polls: dict[str, list[float]] = {}
    for q in emu.requests(since=seq, kind="arm"):
        if q["method"] == "GET" and POLL.search(q["path"]):
            polls.setdefault(q["path"], []).append(q["ts"] - q["duration_ms"] / 1000)
    gaps = sorted(b - a for t in polls.values() for a, b in zip(sorted(t), sorted(t)[1:]))
    assert polls and (not gaps or gaps[0] >= 0.9), f"polls {gaps[:3]} s apart"
    ws.run("destroy", "-auto-approve", "-input=false", "-no-color", check=True)
    assert emu.store_ids_under(world["rg_id"]) == []


# ------------------------------------------------------------------------------
# The whole platform (governance, hub, two spokes, workspace), one step after another
# ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def platform(session_root, mirror, provider_speaks, emu):
    make_platform_world(emu)
    w = platform_workspace(session_root / "trust-platform", get_runner("terraform"), mirror, emu)
    w.run("init", "-input=false", "-no-color", check=True)
    return w


WS = "zerotrust_databricks_private_workspace.analytics"

CONTAINER_FROM_APPLY = """
resource "terraform_data" "container" {
  input = "%s"
}
"""
CONTAINERS_OVERRIDE = """
resource "zerotrust_databricks_private_workspace" "analytics" {
  storage_containers = ["raw", terraform_data.container.output]
}
"""


TAGS_OVERRIDE = """
resource "zerotrust_databricks_private_workspace" "analytics" {
  tags = merge(local.tags, { team = "lakehouse" })
}
"""
ZONES_OVERRIDE = """
resource "zerotrust_hub" "hub" {
  private_dns_zones = [for z in [
    "privatelink.azuredatabricks.net", "privatelink.blob.core.windows.net",
    "privatelink.dfs.core.windows.net", "privatelink.vaultcore.azure.net",
    "privatelink.azurecr.io", "privatelink.azurewebsites.net",
    "privatelink.servicebus.windows.net"] : z if z != "%s"]
}
"""
KV = "kv-zt-analytics-weu"


def _deleted_vaults(emu) -> list[str]:
    return [v["name"] for v in emu.client.control("GET", "store").json()["deleted_vaults"]]


def _plan_json(ws) -> dict:
    r = ws.run("plan", "-input=false", "-no-color", "-out=e2e.tfplan")
    assert r.rc == 0, r.describe()
    return json.loads(ws.run("show", "-json", "e2e.tfplan", check=True).stdout)


def _change(plan: dict, address: str) -> dict:
    return next(c["change"] for c in plan["resource_changes"] if c["address"] == address)


@pytest.mark.incremental
class TestPlatform:
    def test_apply(self, platform):
        r = _apply(platform)
        assert r.rc == 0 and "5 added" in r.stdout, r.describe()

    def test_key_tags_converge_in_one_apply(self, platform):
        """ARM's key PUT leaves an existing key as it is, tags included: a
        tag change plans nothing for the keys (their versioned URIs stay
        known) and one apply converges."""
        (platform.dir / "tags_override.tf").write_text(TAGS_OVERRIDE)
        plan = _plan_json(platform)
        change = _change(plan, WS)
        changes = change["after"]["underlying_changes"]
        # underlying_changes lists the nodes a plan changes only
        assert changes["key_vault"] == "update" and "key_databricks" not in changes, changes
        assert not change["after_unknown"].get("key_versioned_uris"), change["after_unknown"]
        assert platform.run("apply", "-input=false", "-no-color", "e2e.tfplan").rc == 0
        rc, p = plan_rc(platform)
        assert rc == 0, p.describe()
        (platform.dir / "tags_override.tf").unlink()
        assert _apply(platform).rc == 0

    def test_names_unknown_at_plan_are_checked_before_any_request(self, platform, emu):
        """A container name known only at apply (terraform_data): refused
        before it reaches a URL, where "x/../other" would make libcurl
        write container "other", which no state knows."""
        (platform.dir / "container.tf").write_text(CONTAINER_FROM_APPLY % "x/../other")
        (platform.dir / "containers_override.tf").write_text(CONTAINERS_OVERRIDE)
        seq = emu.last_seq()
        r = _apply(platform)
        writes = [f"{q['method']} {q['path']}" for q in emu.requests(since=seq, kind="arm")
                  if q["method"] != "GET"]
        assert r.rc != 0, r.describe()
        assert "Invalid container name" in _text(r) and "x/../other" in _text(r), _text(r)[-3000:]
        assert not [w for w in writes if "/blobServices/" in w], writes
        # A valid name, known only at apply as well: the next apply converges.
        (platform.dir / "container.tf").write_text(CONTAINER_FROM_APPLY % "landing")
        r = _apply(platform)
        assert r.rc == 0, r.describe()
        rc, p = plan_rc(platform)
        assert rc == 0, p.describe()
        (platform.dir / "container.tf").unlink()
        (platform.dir / "containers_override.tf").unlink()
        assert _apply(platform).rc == 0

    def test_import_refuses_a_spoke_vnet_as_hub(self, platform, session_root, mirror, emu):
        """The next plan would replace the "hub": delete the spoke's VNet."""
        w = make_workspace(session_root / "trust-import", platform.runner, mirror, config_dir=HUB_EXAMPLE)
        use_emulator(w, emu.client, PLATFORM_GROUPS)
        w.run("init", "-input=false", "-no-color", check=True)
        spoke_vnet = emu.client.rg_id("rg-spokes-weu") + "/providers/Microsoft.Network/virtualNetworks/vnet-analytics"
        r = w.run("import", "-input=false", "-no-color", "zerotrust_hub.this", spoke_vnet)
        assert r.rc != 0, r.describe()
        assert "Not a zerotrust_hub VNet" in _text(r) and "AzureFirewallSubnet" in _text(r), _text(r)[-2000:]
        assert not _instances(w, "zerotrust_hub")

    def test_linked_zone_is_refused_at_plan_and_a_failed_delete_stays_tracked(self, platform, emu):
        zone = "privatelink.servicebus.windows.net"
        (platform.dir / "zones_override.tf").write_text(ZONES_OVERRIDE % zone)
        r = platform.run("plan", "-input=false", "-no-color")
        text = _text(r)
        assert r.rc == 1 and "Private DNS zone still linked" in text, text[-3000:]
        assert "vnet-analytics" in text and "vnet-ingestion" in text, text[-3000:]
        # The links cannot be read at plan (the check is skipped): the apply
        # runs into Azure's refusal, and the zone, which still exists, stays
        # in the state and in the hub's outputs.
        emu.client.fault(kind="error", method="GET", path_regex=rf"/privateDnsZones/{zone}/virtualNetworkLinks$",
                         count=-1, status=403, code="AuthorizationFailed", message="injected")
        r = _apply(platform)
        emu.clear_faults()
        assert r.rc != 0 and "CannotDeleteResource" in _text(r), _text(r)[-3000:]
        hub = next(i["attributes"] for i in _instances(platform, "zerotrust_hub"))
        assert f"zone[{zone}]" in hub["underlying_resources"], sorted(hub["underlying_resources"])
        assert zone in hub["private_dns_zone_ids"], hub["private_dns_zone_ids"]
        # (private_dns_zones is optional + computed: unset, it would keep the six)
        (platform.dir / "zones_override.tf").write_text(ZONES_OVERRIDE % "none")
        _converge(platform)
        (platform.dir / "zones_override.tf").unlink()

    def test_failed_workspace_create_recovers_its_vault(self, platform, emu):
        """After a failed create Terraform replaces the workspace: its Key
        Vault goes into soft delete (purge protection) and the create must
        recover it, not fail on its name for 90 days."""
        platform.run("destroy", "-auto-approve", "-input=false", "-no-color", f"-target={WS}", check=True)
        assert _deleted_vaults(emu) == [KV]
        emu.client.fault(kind="async_failed", method="PUT", path_regex=r"/workspaces/dbw-analytics$",
                         code="ZtInjectedFailure", message="Injected by test_trust.")
        r = _apply(platform)
        emu.clear_faults()
        text = _text(r)
        assert r.rc != 0 and "ZtInjectedFailure" in text, text[-3000:]
        assert "tainted" in text and "terraform untaint" in text, text[-3000:]
        assert _deleted_vaults(emu) == [], "the soft-deleted vault was not recovered"
        _converge(platform)  # a replace: the vault is soft-deleted and recovered once more

    def test_destroy(self, platform, emu):
        platform.run("destroy", "-auto-approve", "-input=false", "-no-color", check=True)
        assert platform_leftovers(emu) == []
