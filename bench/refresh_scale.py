#!/usr/bin/env python3
"""Refresh of 1 zerotrust_hub + N zerotrust_spoke (examples/hub-and-spokes), real Terraform against
the ARM emulator (tests/emulator) with ARM's throttling on: list reads side by side with the old
path (one GET per underlying resource, ZT_ARM_LIST_READS=0), in the same run, on the same estate.

For each N (default 50,200) in a fresh emulator:
  - the estate is applied once with throttling off (set-up, not measured);
  - throttling is switched on with ARM's default budget (reads 250 + 25/s per subscription and
    principal, unless --reads says otherwise), its buckets full, before each measured command;
  - `terraform plan -detailed-exitcode` (a refreshing plan: Terraform calls ReadResource for every
    resource, then plans) runs once per path, list reads first, then one GET per node, then list
    reads again (the figure printed is the mean of the two list-read runs);
  - printed per path: command wall time, ARM requests of the refresh (GETs, list pages among them,
    429s), provider CPU (user + system, from /proc/PID/stat of every provider process the command
    started, sampled every 20 ms) and peak RSS (VmHWM), and the plan's exit code (0: no changes);
    where the wall time goes: the ARM window (first request -> last answer, request log), the
    emulator's CPU during the command (/proc/PID/stat) and Terraform's (the command's process tree
    from getrusage(RUSAGE_CHILDREN), less the provider's); then the ratios old / new, and the
    state's size (bytes, private-state bytes, per spoke).

The emulator's time scale is 0.001 (a 10-minute firewall takes 0.6 s); reads are not scaled, so the
refresh is bounded by ARM's read budget exactly as in Azure. Each spoke adds a rule collection
group to the hub's firewall policy: an emulator that enforces Azure's 90-group limit refuses N > 89
unless the spokes share groups (see issue 16); the script says which happened.

usage: python3 bench/refresh_scale.py [--n 50,200] [--reads 250,25] [--provider BIN] [--json FILE]
           [--parallelism 10] [--keep]
"""
from __future__ import annotations

import argparse
import base64
import json
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from spokes_estate import SpokesEstate, children_cpu, last_seq, read_log, throttle_body  # noqa: E402
from e2e_support import provider_bin_path  # noqa: E402  (spokes_estate puts tests/e2e on the path)
from hub_apply import window  # noqa: E402

HUB_RG, SPOKE_RG = "rg-hub-refresh", "rg-spokes-refresh"
CMD_TIMEOUT = 1800.0


def state_size(ws) -> dict:
    text = ws.run("state", "pull", check=True, log=False).stdout
    st = json.loads(text)
    private = nodes = 0
    for r in st["resources"]:
        for inst in r["instances"]:
            if inst.get("private"):
                private += len(base64.b64decode(inst["private"]))
            nodes += len(inst["attributes"].get("underlying_resources") or {})
    return {"bytes": len(text.encode()), "private": private, "nodes": nodes}


def measure(est, list_reads: bool, thr: dict) -> dict:
    ws, log = est.ws, est.log
    est.client.control("POST", "throttling", thr).raise_for_status()   # full buckets
    seq = last_seq(log)
    sampler = est.sampler()
    env = {"ZT_ARM_LIST_READS": "1" if list_reads else "0"}
    emu0, kids0 = est.emulator_cpu(), children_cpu()
    t0 = time.perf_counter()
    r = ws.run("plan", "-input=false", "-no-color", "-detailed-exitcode", f"-parallelism={PARALLELISM}",
               log=False, timeout=CMD_TIMEOUT, env=env)
    wall = time.perf_counter() - t0
    emu_cpu, kids_cpu = est.emulator_cpu() - emu0, children_cpu() - kids0
    sampler.stop()
    cpu, rss, procs = sampler.cpu_s, sampler.peak_kb, len(sampler.cpu)
    time.sleep(0.3)
    reqs = read_log(log, seq)
    if r.rc not in (0, 2):
        print(r.describe(3000), file=sys.stderr)
    return {"wall_s": wall, "rc": r.rc, "requests": len(reqs),
            "gets": sum(1 for q in reqs if q["method"] == "GET"),
            "pages": sum(1 for q in reqs if q["method"] == "GET" and _is_list(q["path"])),
            "429": sum(1 for q in reqs if q.get("status") == 429),
            "cpu_s": cpu, "rss_kb": rss, "provider_processes": procs,
            "emulator_cpu_s": emu_cpu, "terraform_cpu_s": max(0.0, kids_cpu - cpu),
            "arm_window_s": window(reqs)}


def _is_list(path: str) -> bool:
    """A collection read: the path's last segment is a type (an odd count after /providers/NS)."""
    p = path.split("?")[0]
    if "$skiptoken" in path:
        return True
    tail = p.split("/providers/")[-1].split("/")
    return len(tail) >= 2 and len(tail) % 2 == 0


PARALLELISM = 10


def run_one(n: int, a, binary: Path, root: Path) -> dict:
    with SpokesEstate(root, n, binary, HUB_RG, SPOKE_RG, time_scale=0.001,
                      throttling={"enabled": False}) as est:
        t0 = time.perf_counter()
        r = est.ws.run("apply", "-input=false", "-no-color", "-auto-approve", "-parallelism=30", log=False,
                       timeout=CMD_TIMEOUT)
        setup_s = time.perf_counter() - t0
        if r.rc != 0:
            return {"n": n, "setup_ok": False, "setup_s": setup_s, "error": r.describe(2000)}
        thr = throttle_body(a)
        new1 = measure(est, True, thr)
        old = measure(est, False, thr)
        new2 = measure(est, True, thr)
        size = state_size(est.ws)
        return {"n": n, "setup_ok": True, "setup_s": setup_s, "new": [new1, new2], "old": old, "state": size}


def main() -> int:
    global PARALLELISM
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    pair = lambda s: tuple(float(x) for x in s.split(","))  # noqa: E731
    ap.add_argument("--n", default="50,200", help="comma-separated spoke counts")
    ap.add_argument("--reads", type=pair, default=(250, 25), help="capacity,refill/s")
    ap.add_argument("--writes", type=pair, default=(200, 10))
    ap.add_argument("--deletes", type=pair, default=(200, 10))
    ap.add_argument("--parallelism", type=int, default=10, help="terraform plan -parallelism")
    ap.add_argument("--provider", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    PARALLELISM = a.parallelism
    print("command: " + " ".join(shlex.quote(x) for x in [sys.executable] + sys.argv), flush=True)
    binary = (a.provider or provider_bin_path()).resolve()
    if not binary.is_file():
        print(f"provider binary {binary} not found", file=sys.stderr)
        return 2
    root = Path(tempfile.mkdtemp(prefix="zt-bench-refresh-"))
    started = time.perf_counter()
    results = []
    try:
        for n in (int(x) for x in a.n.split(",")):
            res = run_one(n, a, binary, root)
            results.append(res)
            print(f"N={n}: set-up apply {'ok' if res['setup_ok'] else 'FAILED'} in {res['setup_s']:.0f} s",
                  flush=True)
            if not res["setup_ok"]:
                print(res["error"], file=sys.stderr)
    finally:
        if a.keep:
            print(f"work dir: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)

    print()
    print(f"Refreshing plan of 1 hub + N spokes (terraform plan, -parallelism {PARALLELISM}), emulator throttling "
          f"on (reads {a.reads[0]:g}+{a.reads[1]:g}/s): list reads (new) beside one GET per node (old, "
          f"ZT_ARM_LIST_READS=0), same estate, same run")
    print(f"  {'N':>4} {'path':>5} {'wall s':>7} {'GETs':>6} {'lists':>6} {'429':>5} {'CPU s':>6} {'RSS MiB':>8}"
          f" {'plan rc':>7} {'ARM s':>6} {'emu CPU':>8} {'tf CPU':>7}")
    ok = True
    for r in results:
        if not r["setup_ok"]:
            print(f"  {r['n']:>4}  set-up failed")
            ok = False
            continue
        mean = {k: sum(x[k] for x in r["new"]) / 2 for k in ("wall_s", "gets", "pages", "429", "cpu_s", "rss_kb",
                                                             "arm_window_s", "emulator_cpu_s", "terraform_cpu_s")}
        for name, m, rc in (("new", mean, max(x["rc"] for x in r["new"])), ("old", r["old"], r["old"]["rc"])):
            print(f"  {r['n']:>4} {name:>5} {m['wall_s']:>7.1f} {m['gets']:>6.0f} {m['pages']:>6.0f} {m['429']:>5.0f}"
                  f" {m['cpu_s']:>6.2f} {m['rss_kb'] / 1024:>8.1f} {rc:>7} {m['arm_window_s']:>6.1f}"
                  f" {m['emulator_cpu_s']:>8.2f} {m['terraform_cpu_s']:>7.2f}")
            ok = ok and rc == 0
        o = r["old"]
        rat = lambda x, y: (x / y) if y else float("nan")  # noqa: E731
        print(f"  {r['n']:>4} old/new: wall {rat(o['wall_s'], mean['wall_s']):.1f}x, GETs "
              f"{rat(o['gets'], mean['gets']):.1f}x, CPU {rat(o['cpu_s'], mean['cpu_s']):.1f}x, RSS "
              f"{rat(o['rss_kb'], mean['rss_kb']):.2f}x; list-read runs: {r['new'][0]['wall_s']:.1f} s and "
              f"{r['new'][1]['wall_s']:.1f} s")
        s = r["state"]
        print(f"  {r['n']:>4} state: {s['bytes'] / 1024:.0f} KiB ({s['nodes']} underlying resources), private "
              f"{s['private'] / 1024:.0f} KiB; per spoke {s['bytes'] / 1024 / r['n']:.1f} KiB, private "
              f"{s['private'] / 1024 / r['n']:.1f} KiB")
    print(f"\n  script took {time.perf_counter() - started:.0f} s")
    if a.json:
        a.json.write_text(json.dumps({"args": vars(a) | {"provider": str(binary), "json": str(a.json)},
                                      "results": results}, indent=1, default=str))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
