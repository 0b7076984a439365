"""Kill trials for zerotrust_hub: `terraform apply` of examples/hub against the
ARM emulator, the provider process (terraform-provider-zerotrust, Terraform's
child) SIGKILLed part-way, then `terraform apply` again must converge (a plan
afterwards is clean) and `terraform destroy` must leave nothing in the
emulator's store.

Kill points are measured in ARM requests of the apply: a clean apply is run
first to count them (N, about 300-380: the number of LRO polls varies a
little); trial i of T is killed once the emulator has seen round(f_i * N)
requests of the killed apply, f_i drawn (seeded: ZT_KILL_SEED, default
20261128) uniformly from the i-th of T equal strata of (0, 1], so the points
are spread from the first PUTs to the final read-backs and the same seed gives
the same fractions. T = ZT_KILL_TRIALS (default 5).

What is accepted after the kill: Terraform reports the plugin crash (exit
!= 0) and, depending on the point, the hub is absent from the state (the
create never returned: the second apply creates it again over what already
exists in Azure; ARM PUTs are idempotent) or present. The second apply is a
plain `terraform apply -auto-approve`; nothing is untainted or imported.
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import time

import pytest

from e2e_support import pid_alive, provider_processes_under
from hub_env import hub_fixtures

RG = "rg-hub-kill"
TRIALS = int(os.environ.get("ZT_KILL_TRIALS", "5"))
SEED = int(os.environ.get("ZT_KILL_SEED", "20261128"))
RESULTS: list[str] = []


emu, world, ws = hub_fixtures("kill", RG)


@pytest.fixture(scope="module")
def clean_count(ws, emu, world):
    """ARM requests of a clean apply (the scale of the kill points)."""
    seq = emu.last_seq()
    ws.run("apply", "-auto-approve", "-input=false", "-no-color", check=True)
    n = len(emu.requests(since=seq, kind="arm"))
    ws.run("destroy", "-auto-approve", "-input=false", "-no-color", check=True)
    assert not emu.store_ids_under(world["rg_id"])
    assert n > 10, n
    return n


def kill_fractions() -> list[float]:
    """Trial i: a seeded uniform draw in the i-th of TRIALS equal strata of (0, 1]."""
    rnd = random.Random(SEED)
    return [(i + rnd.random()) / TRIALS for i in range(TRIALS)]


def kill_points(n: int) -> list[int]:
    return [max(1, min(n, round(f * n))) for f in kill_fractions()]


def _apply_and_kill(ws, emu, session_root, target: int, timeout: float = 180) -> dict:
    """Start `terraform apply`, SIGKILL the provider once the emulator has seen
    `target` ARM requests of it; return what happened."""
    ws._n += 1
    log = ws.root / "logs" / f"{ws._n:02d}-apply-killed.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    ws.tmpdir.mkdir(parents=True, exist_ok=True)
    seq = emu.last_seq()
    out = open(ws.root / "logs" / f"{ws._n:02d}-apply-killed.out", "w")
    p = subprocess.Popen(ws.runner.argv + ["apply", "-auto-approve", "-input=false", "-no-color"],
                         cwd=ws.dir, env=ws.env(log), stdout=out, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL, start_new_session=True)
    seen, last, killed = 0, seq, []
    deadline = time.monotonic() + timeout
    try:
        while p.poll() is None and time.monotonic() < deadline and not killed:
            new = emu.requests(since=last, kind="arm")
            if new:
                seen += len(new)
                last = max(r["seq"] for r in new)
            if seen >= target:
                for pid in provider_processes_under(session_root):
                    try:
                        os.kill(pid, signal.SIGKILL)
                        killed.append(pid)
                    except ProcessLookupError:
                        pass
                if not killed:  # between two provider instances: try again shortly
                    time.sleep(0.01)
                    continue
                break
            time.sleep(0.02)
        try:
            rc = p.wait(timeout=max(5.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            rc = p.wait()
            raise AssertionError(f"terraform apply did not end within {timeout}s after the kill")
    finally:
        out.close()
    for pid in killed:  # reaped by Terraform; make sure none is left
        t_end = time.monotonic() + 5
        while pid_alive(pid) and time.monotonic() < t_end:
            time.sleep(0.05)
    text = (ws.root / "logs" / f"{ws._n:02d}-apply-killed.out").read_text(errors="replace")
    return {"rc": rc, "killed": killed, "seen": seen, "text": text}


def test_kill_points_spread(clean_count):
    pts = kill_points(clean_count)
    assert pts == sorted(pts) and pts[0] <= clean_count // 2 <= pts[-1] if TRIALS >= 2 else True, pts
    print(f"\n[kill] clean apply: {clean_count} ARM requests; kill points (seed {SEED}): {pts} "
          f"(fractions {[round(f, 3) for f in kill_fractions()]})")


@pytest.mark.parametrize("trial", range(TRIALS))
def test_kill_then_converge(ws, emu, world, session_root, clean_count, trial):
    target = kill_points(clean_count)[trial]
    assert not emu.store_ids_under(world["rg_id"])
    k = _apply_and_kill(ws, emu, session_root, target)
    state = ws.run("state", "list", log=False).stdout.split()
    in_azure = len(emu.store_ids_under(world["rg_id"]))
    desc = (f"trial {trial}: kill at ARM request {target}/{clean_count} "
            f"(seen {k['seen']}, killed pids {k['killed']}, apply exit {k['rc']}, "
            f"hub in state: {'zerotrust_hub.this' in state}, {in_azure} resources in Azure)")
    if k["killed"]:
        assert k["rc"] != 0, desc + "\n" + k["text"][-2000:]
    r2 = ws.run("apply", "-auto-approve", "-input=false", "-no-color")
    assert r2.rc == 0, desc + "\nsecond apply:\n" + r2.describe()
    r3 = ws.run("plan", "-input=false", "-no-color", "-detailed-exitcode")
    assert r3.rc == 0, desc + "\nplan after the second apply:\n" + r3.describe()
    r4 = ws.run("destroy", "-auto-approve", "-input=false", "-no-color")
    assert r4.rc == 0, desc + "\ndestroy:\n" + r4.describe()
    left = emu.store_ids_under(world["rg_id"])
    assert not left, desc + f"\ndestroy left: {left}"
    RESULTS.append(desc + f"; converged (second apply {r2.seconds:.1f}s), destroy left nothing")
    print("\n[kill] " + RESULTS[-1])
