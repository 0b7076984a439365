"""Shared set-up for the suites that drive real Terraform against the ARM
emulator (test_trust.py, test_platform_faults.py, test_platform_kill.py,
...) and for the benchmarks: start/stop the emulator, create the resource
groups the hub or the whole platform expects, make a workspace of
examples/hub or examples/platform (with a second spoke) audited for
orphans, read the request log and the store.

Everything listens on 127.0.0.1; every wait below is bounded.
"""
from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from e2e_support import REPO, _top_level_blocks, make_workspace
from orphans import audit_for

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
from tests.emulator.client import EmulatorClient  # noqa: E402

EXAMPLE = REPO / "examples" / "hub"
HUB = "weu"
TAGS = {"environment": "test", "project": "data-platform", "owner": "e2e", "cost-centre": "CC-0"}


def spoke_hcl(label: str, name: str, rg: str, address_space: str, priority: int, *,
              hub: str = "data.zerotrust_hub.hub", resolver: bool = False) -> str:
    """A zerotrust_spoke block taking everything it needs from `hub`: the data source
    zerotrust_hub (a spoke state of its own) or a zerotrust_hub resource of the same state."""
    resolver_ip = f"\n  hub_resolver_inbound_ip    = {hub}.resolver_inbound_ip" if resolver else ""
    return f'''
resource "zerotrust_spoke" "{label}" {{
  name                = "{name}"
  location            = {hub}.location
  resource_group_name = "{rg}"
  address_space       = "{address_space}"

  hub_virtual_network_id     = {hub}.virtual_network_id
  hub_address_space          = {hub}.address_space
  hub_firewall_private_ip    = {hub}.firewall_private_ip
  hub_firewall_policy_id     = {hub}.firewall_policy_id
  hub_gateway_route_table_id = {hub}.gateway_route_table_id
  hub_gateway_enabled        = {hub}.gateway_enabled
  hub_private_dns_zone_ids   = {hub}.private_dns_zone_ids{resolver_ip}

  firewall_rule_priority = {priority}
  tags                   = {json.dumps(TAGS).replace(":", " =")}
}}
'''


@dataclass
class Emulator:
    proc: subprocess.Popen
    info: dict
    client: EmulatorClient
    state_dir: Path
    _log: object

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()

    def create_groups(self, names) -> list[str]:
        """The resource groups `names` (westeurope, the platform's tags); their IDs."""
        ids = [self.client.rg_id(n) for n in names]
        for rid in ids:
            self.client.put_and_wait(rid, {"location": "westeurope", "tags": TAGS})
        return ids

    # -- control API helpers ------------------------------------------------
    def last_seq(self) -> int:
        reqs = self.requests()
        return max((r["seq"] for r in reqs), default=0)

    def requests(self, since: int = 0, kind: str | None = None) -> list[dict]:
        route = f"requests?since={since}" + (f"&kind={kind}" if kind else "")
        r = self.client.control("GET", route)
        r.raise_for_status()
        return r.json()["value"]

    def store_ids_under(self, rg_id: str, ignore=("/microsoft.operationalinsights/",)) -> list[str]:
        store = self.client.control("GET", "store").json()
        pre = rg_id.lower() + "/"
        return [r["id"] for r in store["resources"]
                if r["id"].lower().startswith(pre) and not any(i in r["id"].lower() for i in ignore)]

    def clear_faults(self) -> None:
        self.client.control("DELETE", "faults").raise_for_status()

    def faults(self) -> list[dict]:
        return self.client.control("GET", "faults").json()["value"]


def start_emulator(state_dir: Path, time_scale: float = 0.001, validate: bool = True) -> Emulator:
    state_dir.mkdir(parents=True, exist_ok=True)
    log = open(state_dir / "emulator.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "tests.emulator", "--host", "127.0.0.1", "--port", "0",
                             "--http-port", "-1", "--state-dir", str(state_dir)],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
    info_path = state_dir / "emulator.json"
    deadline = time.monotonic() + 60
    info = None
    while info is None:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            log.close()
            raise RuntimeError("the ARM emulator did not start:\n"
                               + (state_dir / "emulator.log").read_text(errors="replace")[-3000:])
        try:
            info = json.loads(info_path.read_text())
        except (OSError, ValueError):
            time.sleep(0.05)
    client = EmulatorClient.from_info(info)
    cfg = {"time_scale": time_scale, "validate_bodies": validate, "enum_mode": "strict"}
    client.control("POST", "config", cfg).raise_for_status()
    info["time_scale"] = time_scale
    return Emulator(proc, info, client, state_dir, log)


def arm_env(info: dict) -> dict:
    return {
        "ARM_SUBSCRIPTION_ID": info["subscription_id"],
        "ARM_TENANT_ID": info["tenant_id"],
        "ARM_CLIENT_ID": info["client_id"],
        "ARM_CLIENT_SECRET": info["client_secret"],
        "ARM_RESOURCE_MANAGER_ENDPOINT": info["url"],
        "ARM_AUTHORITY_HOST": info["url"],
        "ARM_CA_BUNDLE_PATH": info["ca_cert"],
        # the emulator's clock runs 1000x faster than Azure's: so may its polls
        "ZT_ARM_MIN_POLL_MS": "10",
        # and so do the durations the provider expects of a create
        "ZT_ARM_TIME_SCALE": str(info.get("time_scale", 0.001)),
    }


def use_emulator(ws, client, groups, extra_env: dict | None = None):
    """Point ws at the emulator `client` talks to (credentials, endpoints,
    CA) and audit it for orphans over the resource groups `groups` (IDs or
    names) after every step that may write (orphans.py). Returns ws."""
    info = {"subscription_id": client.subscription, "tenant_id": client.tenant,
            "client_id": client.client_id, "client_secret": client.client_secret,
            "url": client.url, "ca_cert": client.ca}
    ws.extra_env.update(arm_env(info) | (extra_env or {}))
    ws.audit = audit_for(client).watch(ws, [g if g.startswith("/") else client.rg_id(g) for g in groups])
    return ws


def platform_vars(info: dict) -> dict:
    """examples/platform's inputs from the emulated tenant: the AzureDatabricks first-party
    principal's object ID (`az ad sp show --id 2ff814a6-...` in a real one)."""
    return {"TF_VAR_azure_databricks_principal_id": info["first_party"]["AzureDatabricks"]["object_id"]}


def make_world(emu: Emulator, rg: str) -> dict:
    """The resource group and Log Analytics workspace the hub expects."""
    c = emu.client
    rg_id = c.rg_id(rg)
    r = c.put(rg_id, {"location": "westeurope", "tags": TAGS})
    assert r.status_code in (200, 201), r.text
    law = f"{rg_id}/providers/Microsoft.OperationalInsights/workspaces/law-{rg}"
    c.put_and_wait(law, {"location": "westeurope", "tags": TAGS,
                         "properties": {"sku": {"name": "PerGB2018"}, "retentionInDays": 30}})
    return {"rg": rg, "rg_id": rg_id, "law": law, "net": f"{rg_id}/providers/Microsoft.Network",
            "tfvars": (f'resource_group_name = "{rg}"\n'
                       f'vpn_tenant_id = "{emu.info["tenant_id"]}"\n'
                       f'log_analytics_workspace_id = "{law}"\n')}


def hub_workspace(root: Path, runner, mirror, emu: Emulator, world: dict):
    ws = make_workspace(root, runner, mirror, config_dir=EXAMPLE,
                        files={"e2e.auto.tfvars": world["tfvars"]})
    # the provider expects durations at the emulator's time scale (arm_env), not 0.001's
    return use_emulator(ws, emu.client, [world["rg_id"]],
                        {"ZT_ARM_TIME_SCALE": str(emu.info.get("time_scale", 0.001))})


# ------------------------------------------------------------------------------
# The whole platform: examples/platform (hub, spoke "analytics", workspace)
# plus a second spoke ("ingestion") linked to the same hub zones
# ------------------------------------------------------------------------------

PLATFORM_EXAMPLE = REPO / "examples" / "platform"
PLATFORM_GROUPS = ("rg-ops-weu", "rg-hub-weu", "rg-spokes-weu", "rg-dbx-weu")
# What zerotrust_governance keeps at the subscription itself (the initiative,
# its assignment and role assignments, the budget): audited and checked
# for leftovers like the groups.
PLATFORM_SUB_PROVIDERS = ("Microsoft.Authorization", "Microsoft.Consumption")


def platform_scopes(emu_or_client) -> list[str]:
    """The platform's resource groups and subscription-level provider prefixes (IDs)."""
    c = getattr(emu_or_client, "client", emu_or_client)
    return ([c.rg_id(rg) for rg in PLATFORM_GROUPS] +
            [f"/subscriptions/{c.subscription}/providers/{ns}" for ns in PLATFORM_SUB_PROVIDERS])


def second_spoke_tf() -> str:
    """examples/platform's spoke block made a second spoke, "ingestion",
    with an address space and a rule collection priority of its own."""
    text = (PLATFORM_EXAMPLE / "main.tf").read_text()
    block = next(text[a:b] for a, b in _top_level_blocks(text)
                 if 'resource "zerotrust_spoke" "analytics"' in text[a:b])
    for pattern, repl in ((r'"zerotrust_spoke" "analytics"', '"zerotrust_spoke" "ingestion"'),
                          (r'(\bname\s*=\s*)"analytics"', r'\1"ingestion"'),
                          (r'"10\.1\.0\.0/22"', '"10.2.0.0/22"'),
                          (r'(firewall_rule_priority\s*=\s*)200', r'\g<1>210')):
        block, n = re.subn(pattern, repl, block)
        assert n == 1, f"examples/platform's spoke changed: {pattern} matched {n} times"
    return block + "\n"


def make_platform_world(emu: Emulator) -> list[str]:
    """The four resource groups examples/platform expects; their IDs."""
    return emu.create_groups(PLATFORM_GROUPS)


def platform_workspace(root: Path, runner, mirror, emu: Emulator, two_spokes: bool = True):
    """examples/platform (with the second spoke unless two_spokes is false)
    against emu, audited over the platform's resource groups."""
    ws = make_workspace(root, runner, mirror, config_dir=PLATFORM_EXAMPLE,
                        files={"spoke2.tf": second_spoke_tf()} if two_spokes else None)
    return use_emulator(ws, emu.client, platform_scopes(emu), platform_vars(emu.info))


def platform_leftovers(emu: Emulator) -> list[str]:
    """What is left in the platform's groups and its subscription-level scopes (destroy must
    leave nothing; the Log Analytics workspace is the platform's own)."""
    return [i for scope in platform_scopes(emu) for i in emu.store_ids_under(scope, ignore=())]


def _emulator_fixture(name: str, time_scale: float, prepare=None):
    """A module-scoped `emu` fixture: an emulator of the module's own."""
    @pytest.fixture(scope="module", name="emu")
    def emu_fixture(session_root):
        e = start_emulator(session_root / f"{name}-emulator", time_scale=time_scale)
        if prepare:
            prepare(e)
        yield e
        e.stop()
    return emu_fixture


def hub_fixtures(name: str, rg: str, time_scale: float = 0.001):
    """Module-scoped fixtures `emu` (an emulator of its own), `world`
    (make_world over rg) and `ws` (examples/hub, initialised) for a test
    module: `emu, world, ws = hub_fixtures("trust", RG)`."""
    emu_fixture = _emulator_fixture(name, time_scale)

    @pytest.fixture(scope="module", name="world")
    def world_fixture(emu):
        return make_world(emu, rg)

    @pytest.fixture(scope="module", name="ws")
    def ws_fixture(session_root, mirror, provider_speaks, emu, world):
        from e2e_support import get_runner
        w = hub_workspace(session_root / f"{name}-hub", get_runner("terraform"), mirror, emu, world)
        w.run("init", "-input=false", "-no-color", check=True)
        return w

    return emu_fixture, world_fixture, ws_fixture


def platform_fixtures(name: str, time_scale: float = 0.001):
    """Module-scoped fixtures `emu` (an emulator of its own, with the
    platform's resource groups) and `ws` (the whole platform, initialised):
    `emu, ws = platform_fixtures("faults")`."""
    emu_fixture = _emulator_fixture(name, time_scale, make_platform_world)

    @pytest.fixture(scope="module", name="ws")
    def ws_fixture(session_root, mirror, provider_speaks, emu):
        from e2e_support import get_runner
        w = platform_workspace(session_root / f"{name}-platform", get_runner("terraform"), mirror, emu)
        w.run("init", "-input=false", "-no-color", check=True)
        return w

    return emu_fixture, ws_fixture


def plan_rc(ws, *extra) -> tuple[int, object]:
    r = ws.run("plan", "-input=false", "-no-color", "-detailed-exitcode", *extra)
    return r.rc, r


# ------------------------------------------------------------------------------
# Request log shapes
# ------------------------------------------------------------------------------

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


def path_template(path: str) -> str:
    p = re.sub(r"^/subscriptions/[^/]+", "", path)
    return _UUID.sub("{id}", p)


_MONITORS = ("/operations/", "/operationresults/", "/privatednsoperationstatuses/", "/privatednsoperationresults/")


def is_poll(r: dict) -> bool:
    """An LRO status or result monitor (private DNS keeps its own in the resource group)."""
    p = r["path"].lower()
    return r["method"] == "GET" and any(m in p for m in _MONITORS)
