"""Shared set-up for the zerotrust_hub suites that drive real Terraform against
the ARM emulator (test_hub_faults.py, test_hub_kill.py) and for
bench/hub_apply.py: start/stop the emulator, create the resource group and
Log Analytics workspace the hub expects, make a workspace of examples/hub,
read the request log and the store.

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

from e2e_support import REPO, make_workspace

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
from tests.emulator.client import EmulatorClient  # noqa: E402

EXAMPLE = REPO / "examples" / "hub"
HUB = "weu"
TAGS = {"environment": "test", "project": "data-platform", "owner": "e2e", "cost-centre": "CC-0"}


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
    }


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
    ws.extra_env.update(arm_env(emu.info))
    return ws


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


def is_poll(r: dict) -> bool:
    p = r["path"].lower()
    return r["method"] == "GET" and ("/operations/" in p or "/operationresults/" in p)
