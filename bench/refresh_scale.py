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
    then the ratios old / new, and the state's size (bytes, private-state bytes, per spoke).

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
import os
import shlex
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from e2e_support import (get_runner, make_workspace, process_exe,  # noqa: E402
                         provider_bin_path)
from hub_apply import make_mirror  # noqa: E402
from hub_env import TAGS, arm_env, start_emulator  # noqa: E402
from spokes_scale import last_seq, read_log, spokes_tfvars  # noqa: E402

EXAMPLE = REPO / "examples" / "hub-and-spokes"
HUB_RG, SPOKE_RG = "rg-hub-refresh", "rg-spokes-refresh"
CMD_TIMEOUT = 1800.0
TICK = os.sysconf("SC_CLK_TCK")


class ProcSampler(threading.Thread):
    """Peak VmHWM (kB) and last CPU seconds (utime + stime) of every provider process under root."""

    def __init__(self, root: Path, period: float = 0.02):
        super().__init__(daemon=True)
        self.root, self.period = str(root), period
        self.peak: dict[int, int] = {}
        self.cpu: dict[int, float] = {}
        self.stop_ev = threading.Event()

    def _scan(self, known: set[int]):
        for d in os.listdir("/proc"):
            if d.isdigit() and int(d) not in known:
                exe = process_exe(int(d))
                if exe and exe.startswith(self.root) and "terraform-provider-zerotrust" in exe:
                    known.add(int(d))

    def _sample(self, pid: int) -> bool:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            self.cpu[pid] = (int(fields[11]) + int(fields[12])) / TICK
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        self.peak[pid] = max(self.peak.get(pid, 0), int(line.split()[1]))
            return True
        except (OSError, ValueError, IndexError):
            return False

    def run(self):
        known: set[int] = set()
        last_scan = 0.0
        while not self.stop_ev.is_set():
            now = time.monotonic()
            if now - last_scan > 0.1:
                last_scan = now
                self._scan(known)
            for pid in list(known):
                if not self._sample(pid):
                    known.discard(pid)
            self.stop_ev.wait(self.period)

    def stop(self):
        self.stop_ev.set()
        self.join(timeout=5)
        return sum(self.cpu.values()), max(self.peak.values(), default=0), len(self.cpu)


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


def measure(ws, emu, log: Path, root: Path, list_reads: bool, thr: dict) -> dict:
    emu.client.control("POST", "throttling", thr).raise_for_status()   # full buckets
    seq = last_seq(log)
    sampler = ProcSampler(root)
    sampler.start()
    env = {"ZT_ARM_LIST_READS": "1" if list_reads else "0"}
    t0 = time.perf_counter()
    r = ws.run("plan", "-input=false", "-no-color", "-detailed-exitcode", f"-parallelism={PARALLELISM}",
               log=False, timeout=CMD_TIMEOUT, env=env)
    wall = time.perf_counter() - t0
    cpu, rss, procs = sampler.stop()
    time.sleep(0.3)
    reqs = read_log(log, seq)
    if r.rc not in (0, 2):
        print(r.describe(3000), file=sys.stderr)
    return {"wall_s": wall, "rc": r.rc, "requests": len(reqs),
            "gets": sum(1 for q in reqs if q["method"] == "GET"),
            "pages": sum(1 for q in reqs if q["method"] == "GET" and _is_list(q["path"])),
            "429": sum(1 for q in reqs if q.get("status") == 429),
            "cpu_s": cpu, "rss_kb": rss, "provider_processes": procs}


def _is_list(path: str) -> bool:
    """A collection read: the path's last segment is a type (an odd count after /providers/NS)."""
    p = path.split("?")[0]
    if "$skiptoken" in path:
        return True
    tail = p.split("/providers/")[-1].split("/")
    return len(tail) >= 2 and len(tail) % 2 == 0


PARALLELISM = 10


def run_one(n: int, a, binary: Path, root: Path) -> dict:
    emu = start_emulator(root / f"emu-{n}", time_scale=0.001, validate=False)
    try:
        c = emu.client
        for rg in (HUB_RG, SPOKE_RG):
            r = c.put(c.rg_id(rg), {"location": "westeurope", "tags": TAGS})
            assert r.status_code in (200, 201), r.text
        c.control("POST", "throttling", {"enabled": False}).raise_for_status()
        mirror = make_mirror(root / f"m-{n}", binary)
        ws = make_workspace(root / f"ws-{n}", get_runner("terraform"), mirror, config_dir=EXAMPLE,
                            files={"bench.auto.tfvars": spokes_tfvars(n, HUB_RG, SPOKE_RG)})
        ws.extra_env.update(arm_env(emu.info))
        ws.run("init", "-input=false", "-no-color", check=True, log=False)
        log = Path(emu.info.get("request_log") or emu.state_dir / "requests.jsonl")
        t0 = time.perf_counter()
        r = ws.run("apply", "-input=false", "-no-color", "-auto-approve", "-parallelism=30", log=False,
                   timeout=CMD_TIMEOUT)
        setup_s = time.perf_counter() - t0
        if r.rc != 0:
            return {"n": n, "setup_ok": False, "setup_s": setup_s, "error": r.describe(2000)}
        thr = {"enabled": True}
        for cls in ("reads", "writes", "deletes"):
            cap, rate = getattr(a, cls)
            thr[cls] = {"capacity": cap, "refill_per_second": rate}
        new1 = measure(ws, emu, log, root / f"m-{n}", True, thr)
        old = measure(ws, emu, log, root / f"m-{n}", False, thr)
        new2 = measure(ws, emu, log, root / f"m-{n}", True, thr)
        size = state_size(ws)
        return {"n": n, "setup_ok": True, "setup_s": setup_s, "new": [new1, new2], "old": old, "state": size}
    finally:
        emu.stop()


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
          f" {'plan rc':>7}")
    ok = True
    for r in results:
        if not r["setup_ok"]:
            print(f"  {r['n']:>4}  set-up failed")
            ok = False
            continue
        mean = {k: sum(x[k] for x in r["new"]) / 2 for k in ("wall_s", "gets", "pages", "429", "cpu_s", "rss_kb")}
        for name, m, rc in (("new", mean, max(x["rc"] for x in r["new"])), ("old", r["old"], r["old"]["rc"])):
            print(f"  {r['n']:>4} {name:>5} {m['wall_s']:>7.1f} {m['gets']:>6.0f} {m['pages']:>6.0f} {m['429']:>5.0f}"
                  f" {m['cpu_s']:>6.2f} {m['rss_kb'] / 1024:>8.1f} {rc:>7}")
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
