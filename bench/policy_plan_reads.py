#!/usr/bin/env python3
"""What policy-aware plans cost: examples/platform planned with real Terraform
against the ARM emulator, with the provider's policy check on and off
(`policy_plan_checks_enabled`, set by an override file), side by side.

Two moments (fresh emulator per run):
  empty    the whole platform planned from nothing: no assignment exists yet
           (the governance that assigns its initiative is in the same plan);
  governed zerotrust_governance applied first (-target), so its initiative is
           assigned at the subscription, then the hub, spoke and workspace
           planned: every underlying resource they create is evaluated
           against the initiative's built-in definitions.

Per plan: ARM requests (all, and the GETs of Microsoft.Authorization/policy*
the check sends) from the emulator's request log, and the wall time of
`terraform plan`; medians over --runs.

usage: python3 bench/policy_plan_reads.py [--runs 3] [--provider BIN] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from e2e_support import get_runner, make_workspace, provider_bin_path  # noqa: E402
from hub_env import TAGS, arm_env, platform_vars, start_emulator  # noqa: E402
from spokes_scale import last_seq, make_mirror, read_log  # noqa: E402

EXAMPLE = REPO / "examples" / "platform"
GROUPS = ("rg-ops-weu", "rg-hub-weu", "rg-spokes-weu", "rg-dbx-weu")
OFF = 'provider "zerotrust" {\n  policy_plan_checks_enabled = false\n}\n'
CMD_TIMEOUT = 900.0


def _policy_reads(reqs: list[dict]) -> int:
    return sum(1 for q in reqs if q["method"] == "GET" and "/microsoft.authorization/policy" in q["path"].lower())


def _plan(ws, log: Path, check: bool) -> dict:
    override = ws.dir / "zz_bench_override.tf"
    if check:
        override.unlink(missing_ok=True)
    else:
        override.write_text(OFF)
    seq = last_seq(log)
    t0 = time.perf_counter()
    r = ws.run("plan", "-input=false", "-no-color", "-detailed-exitcode", log=False, timeout=CMD_TIMEOUT)
    wall = time.perf_counter() - t0
    time.sleep(0.3)
    override.unlink(missing_ok=True)
    assert r.rc == 2, r.describe()
    reqs = read_log(log, seq)
    return {"wall_s": wall, "requests": len(reqs), "policy_reads": _policy_reads(reqs),
            "policy_warnings": r.stdout.count("Azure Policy findings")}


def run_once(i: int, binary: Path, root: Path) -> dict:
    emu = start_emulator(root / f"emu-{i}", validate=False)
    try:
        c = emu.client
        for rg in GROUPS:
            r = c.put(c.rg_id(rg), {"location": "westeurope", "tags": TAGS})
            assert r.status_code in (200, 201), r.text
        ws = make_workspace(root / f"ws-{i}", get_runner("terraform"), make_mirror(root / f"m-{i}", binary),
                            config_dir=EXAMPLE)
        ws.extra_env.update(arm_env(emu.info) | platform_vars(emu.info))
        ws.run("init", "-input=false", "-no-color", check=True, log=False)
        log = Path(emu.info.get("request_log") or emu.state_dir / "requests.jsonl")
        out = {"empty": {"on": _plan(ws, log, True), "off": _plan(ws, log, False)}}
        ws.run("apply", "-input=false", "-no-color", "-auto-approve", "-target=zerotrust_governance.platform",
               check=True, log=False, timeout=CMD_TIMEOUT)
        out["governed"] = {"on": _plan(ws, log, True), "off": _plan(ws, log, False)}
        return out
    finally:
        emu.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--provider", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args()
    binary = (a.provider or provider_bin_path()).resolve()
    with tempfile.TemporaryDirectory(prefix="zt-bench-policy-") as tmp:
        runs = [run_once(i, binary, Path(tmp)) for i in range(a.runs)]

    def med(moment, mode, k):
        return statistics.median(r[moment][mode][k] for r in runs)

    print(f"examples/platform plans, policy check on vs off ({a.runs} runs, medians)")
    print(f"{'plan':<10} {'requests on':>12} {'off':>6} {'policy GETs':>12} {'wall on s':>10} {'off s':>7} "
          f"{'ratio':>6} {'warnings':>9}")
    for moment in ("empty", "governed"):
        on_w, off_w = med(moment, "on", "wall_s"), med(moment, "off", "wall_s")
        print(f"{moment:<10} {med(moment, 'on', 'requests'):>12.0f} {med(moment, 'off', 'requests'):>6.0f} "
              f"{med(moment, 'on', 'policy_reads'):>12.0f} {on_w:>10.2f} {off_w:>7.2f} "
              f"{on_w / off_w if off_w else 0:>6.2f} {med(moment, 'on', 'policy_warnings'):>9.0f}")
    if a.json:
        a.json.write_text(json.dumps(runs, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
