"""Ctrl-C during `terraform apply` of examples/hub: the terminal sends SIGINT
to the whole process group; the provider ignores it (go-plugin semantics)
and Terraform calls StopProvider instead. The apply must come back promptly
with what exists recorded in the state (the provider stops polling ARM and
returns the partial state with an error diagnostic), the provider process
must exit cleanly, and the next apply must converge.

The emulator's clock is slowed so the firewall alone would take ~60 s: an
apply that ignored StopProvider would run far past the bound asserted here.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from e2e_support import get_runner, provider_processes_under
from hub_env import hub_workspace, make_world, plan_rc, start_emulator

RG = "rg-hub-interrupt"
SLOW_SCALE = 0.1    # a 10-minute firewall takes 60 s
STOP_BOUND_S = 30.0  # from SIGINT to Terraform's exit


@pytest.fixture(scope="module")
def emu(session_root):
    e = start_emulator(session_root / "interrupt-emulator", time_scale=SLOW_SCALE)
    yield e
    e.stop()


@pytest.fixture(scope="module")
def ws(session_root, mirror, provider_speaks, emu):
    world = make_world(emu, RG)
    w = hub_workspace(session_root / "hub-interrupt", get_runner("terraform"), mirror, emu, world)
    w.run("init", "-input=false", "-no-color", check=True)
    return w


def _wait_for_arm_writes(emu, n: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        puts = [r for r in emu.requests(kind="arm") if r["method"] == "PUT"]
        if len(puts) >= n:
            return
        time.sleep(0.2)
    pytest.fail(f"the apply sent fewer than {n} PUTs within {timeout} s")


def test_ctrl_c_stops_the_apply_promptly_and_the_next_apply_converges(ws, emu):
    argv = ws.runner.argv + ["apply", "-input=false", "-auto-approve", "-no-color"]
    env = ws.env(ws.root / "logs" / "interrupted-apply.log")
    (ws.root / "logs").mkdir(parents=True, exist_ok=True)
    ws.tmpdir.mkdir(parents=True, exist_ok=True)
    p = subprocess.Popen(argv, cwd=ws.dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_for_arm_writes(emu, 6, timeout=60)
        time.sleep(1.0)  # long-running operations (firewall, Bastion, ...) now in flight
        t0 = time.monotonic()
        os.killpg(p.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
        out, _ = p.communicate(timeout=STOP_BOUND_S + 30)
        elapsed = time.monotonic() - t0
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    assert elapsed < STOP_BOUND_S, f"Terraform took {elapsed:.1f} s to stop after Ctrl-C:\n{out[-3000:]}"
    assert p.returncode != 0, out[-3000:]
    assert "Interrupt received" in out, out[-3000:]
    assert "panic" not in out.lower(), out[-3000:]
    log = (ws.root / "logs" / "interrupted-apply.log").read_text(errors="replace")
    assert "StopProvider" in log or "stop requested" in log, "Terraform never called StopProvider"
    deadline = time.monotonic() + 5
    while provider_processes_under(ws.mirror.base.parent) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not provider_processes_under(ws.mirror.base.parent), "the provider outlived Terraform"

    # What existed when the apply stopped is in the state (partial state), so
    # nothing created so far is forgotten.
    state = json.loads((ws.dir / "terraform.tfstate").read_text())
    hubs = [r for r in state.get("resources", []) if r["type"] == "zerotrust_hub"]
    assert hubs, f"the interrupted apply recorded no hub in the state:\n{out[-3000:]}"
    recorded = hubs[0]["instances"][0]["attributes"]["underlying_resources"]
    assert recorded, "the partial state names no underlying resource"

    # Full speed again: the next apply converges and a plan is clean.
    emu.client.control("POST", "config", {"time_scale": 0.001}).raise_for_status()
    ws.extra_env["ZT_ARM_TIME_SCALE"] = "0.001"  # what the provider expects of a create
    ws.run("apply", "-input=false", "-auto-approve", "-no-color", check=True)
    rc, r = plan_rc(ws)
    assert rc == 0, r.describe()
    ws.run("destroy", "-input=false", "-auto-approve", "-no-color", check=True)
    assert emu.store_ids_under(emu.client.rg_id(RG)) == []
