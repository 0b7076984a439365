#!/usr/bin/env python3
"""1 zerotrust_hub + N zerotrust_spoke in ONE `terraform apply`, against the ARM
emulator (tests/emulator) on 127.0.0.1 with ARM throttling ON (ARM's token
buckets: reads 250 + 25/s, writes/deletes 200 + 10/s per subscription and
principal, unless overridden).

For each N (default 1, 10, 50) in a fresh emulator:
  - config: examples/hub-and-spokes (no VPN gateway) with N generated spokes
    (spoke-NNN, 10.a.b.0/24 address spaces, rule collection priority 200 + i),
    `terraform apply -auto-approve` at -parallelism 10 (default);
  - printed: apply wall time (the terraform command, and first ARM request ->
    last answer from the emulator's request log), ARM requests by method
    (PUT / GET (reads) / poll (LRO status URLs) / DELETE / other), 429s
    answered and whether each was absorbed (a later request with the same
    method + path succeeded and the apply succeeded), 409s, provider peak RSS
    (VmHWM of the terraform-provider-zerotrust child, sampled from
    /proc/PID/status every 20 ms during the apply), and ratios to the
    smallest N;
  - the independent floor of the apply, computed from what the apply had to
    create and ARM's limits, not from the provider's requests (floor()):
    every resource that exists afterwards written once (a shared rule
    collection group once, whoever writes it), each asynchronous write read
    once; ARM's token buckets (wall-clock: the emulator's time scale does not
    compress them) over those counts; the critical path of the resources'
    dependencies (parent -> child, a body naming another resource's ID or
    one of its private IPs) at the emulator's durations x time scale; and
    each serialization chain (writes Azure runs one at a time: a VNet's
    peerings, a route table's routes, a firewall policy's groups) after the
    resource that scopes it exists. wall / floor is printed per N;
  - then `terraform destroy`, and the hub and spoke resource groups must be
    empty in the emulator.

The time scale matters: durations are compressed by it, ARM's buckets are not. At 0.001 (the
e2e tests' scale) every duration is noise and any N >= 10 measures only token-bucket arithmetic
on the request count; the default 0.05 keeps both within a factor of a few of each other at
N = 200 (the hub VNet's serialized peerings ~ 100 s, the write budget ~ 220 s).

usage: python3 bench/spokes_scale.py [--n 1,10,50] [--time-scale 0.05]
           [--reads 250,25] [--writes 200,10] [--deletes 200,10] [--provider BIN] [--json FILE] [--keep]
"""
from __future__ import annotations

import argparse
import json
import re
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from e2e_support import provider_bin_path  # noqa: E402
from hub_apply import make_mirror, window  # noqa: E402,F401  (make_mirror: platform_apply, policy_plan_reads)
from hub_apply import split as count_kinds  # noqa: E402
from hub_env import is_poll  # noqa: E402
from spokes_estate import SpokesEstate, last_seq, read_log, throttle_body  # noqa: E402,F401

HUB_RG, SPOKE_RG = "rg-hub-scale", "rg-spokes-scale"
CMD_TIMEOUT = 900.0


_ID_RE = re.compile(r"/subscriptions/[^\"\s]+?/providers/[^\"\s]+", re.I)
_IP_KEYS = ("privateIPAddress", "privateIpAddress")


def _ips(obj, out: set):
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in _IP_KEYS and isinstance(v, str):
                out.add(v)
            else:
                _ips(v, out)
    elif isinstance(obj, list):
        for v in obj:
            _ips(v, out)


def floor(reqs: list[dict], store: list[dict], scale: float, reads, writes) -> dict:
    """The least time ARM allows for an apply that creates what this one created, independent of
    the client: see the module docstring. Returns its components (wall seconds)."""
    from tests.emulator.resource_types import spec_for  # noqa: E402  (the emulator's durations)
    rendered = {r["id"].lower(): r for r in store}
    body: dict[str, dict] = {}
    for r in reqs:   # the last successful PUT of each resource that still exists
        rid = r["path"].lower()
        if r["method"] == "PUT" and (r["status"] or 0) < 300 and rid in rendered:
            body[rid] = r["body"] or {}
    ip_owner = {}
    for rid in body:
        found: set = set()
        _ips((rendered[rid].get("resource") or {}).get("properties"), found)
        for ip in found:
            ip_owner.setdefault(ip, rid)
    nodes = {}
    for rid, b in body.items():
        spec = spec_for(rendered[rid]["type"])
        text = json.dumps(b)
        deps = {m.lower() for m in _ID_RE.findall(text)} & body.keys()
        deps |= {o for ip, o in ip_owner.items() if f'"{ip}"' in text}
        parent = rid.rsplit("/", 2)[0]
        if parent in body:
            deps.add(parent)
        deps.discard(rid)
        scope = parent if spec.lock == "parent" and parent in body else rid
        nodes[rid] = {"s": spec.create_s, "deps": deps, "scope": scope,
                      "async": spec.put in ("async", "accepted_async")}
    finish: dict[str, float] = {}

    def fin(rid, seen=()):
        if rid not in finish:
            if rid in seen:      # a reference both ways (peerings): no order between them
                return 0.0
            n = nodes[rid]
            finish[rid] = max((fin(d, seen + (rid,)) for d in n["deps"]), default=0.0) + n["s"]
        return finish[rid]

    crit = max((fin(r) for r in nodes), default=0.0)
    chains: dict[str, float] = {}
    for rid, n in nodes.items():
        if n["scope"] != rid:
            chains[n["scope"]] = chains.get(n["scope"], 0.0) + n["s"]
    chain_scope, chain = max(((k, fin(k) + v) for k, v in chains.items()), key=lambda x: x[1],
                             default=("", 0.0))
    n_writes = len(nodes)
    n_reads = sum(1 for n in nodes.values() if n["async"])
    budget_w = max(0.0, (n_writes - writes[0]) / writes[1])
    budget_r = max(0.0, (n_reads - reads[0]) / reads[1])
    out = {"resources": n_writes, "async": n_reads, "critical_s": crit * scale, "chain_s": chain * scale,
           "chain_scope": chain_scope, "budget_writes_s": budget_w, "budget_reads_s": budget_r}
    out["floor_s"] = max(out["critical_s"], out["chain_s"], budget_w, budget_r)
    return out


def split(reqs: list[dict]) -> dict:
    """hub_apply's counts by kind, plus throttling and conflicts."""
    out = count_kinds(reqs)
    out["429"] = sum(1 for r in reqs if r["status"] == 429)
    out["409"] = sum(1 for r in reqs if r["status"] == 409)
    out["5xx"] = sum(1 for r in reqs if (r["status"] or 0) >= 500)
    # Absorbed: a later request with the same method and path got a non-429 answer.
    last_ok: dict[tuple, int] = {}
    for r in reqs:
        if r["status"] != 429:
            last_ok[(r["method"], r["path"].lower())] = r["seq"]
    out["429_by_method"] = {}
    for r in reqs:
        if r["status"] == 429:
            m = "poll" if is_poll(r) else r["method"]
            out["429_by_method"][m] = out["429_by_method"].get(m, 0) + 1
    out["429_unretried"] = sum(1 for r in reqs if r["status"] == 429
                               and last_ok.get((r["method"], r["path"].lower()), -1) < r["seq"])
    return out


def run_one(n: int, a, binary: Path, root: Path) -> dict:
    with SpokesEstate(root, n, binary, HUB_RG, SPOKE_RG, time_scale=a.time_scale,
                      throttling=throttle_body(a)) as est:
        c, ws, log = est.client, est.ws, est.log
        seq = last_seq(log)
        sampler = est.sampler()
        t0 = time.perf_counter()
        r = ws.run("apply", "-input=false", "-no-color", "-auto-approve", log=False, timeout=CMD_TIMEOUT)
        cmd_s = time.perf_counter() - t0
        peaks = dict(sampler.stop().peak)
        apply_ok = r.rc == 0
        if not apply_ok:
            print(r.describe(3000), file=sys.stderr)
        time.sleep(0.3)
        apply_reqs = read_log(log, seq)
        fl = floor(apply_reqs, est.store_under_groups(), a.time_scale, a.reads, a.writes)

        if a.apply_only:
            return {"n": n, "apply_ok": apply_ok, "floor": fl, "apply_cmd_s": cmd_s,
                    "apply_wall_s": window(apply_reqs), "apply": split(apply_reqs),
                    "rss_peak_kb": max(peaks.values(), default=0), "rss_by_pid": peaks,
                    "leftovers": list(ws.leftovers)}
        seq = last_seq(log)
        t1 = time.perf_counter()
        rp = ws.run("plan", "-input=false", "-no-color", "-detailed-exitcode", log=False, timeout=CMD_TIMEOUT)
        refresh_s = time.perf_counter() - t1
        time.sleep(0.3)
        refresh_reqs = read_log(log, seq)

        seq = last_seq(log)
        t1 = time.perf_counter()
        rd = ws.run("destroy", "-input=false", "-no-color", "-auto-approve", log=False, timeout=CMD_TIMEOUT)
        destroy_s = time.perf_counter() - t1
        time.sleep(0.3)
        destroy_reqs = read_log(log, seq)
        emu = est.emu
        left = emu.store_ids_under(c.rg_id(HUB_RG), ignore=()) + emu.store_ids_under(c.rg_id(SPOKE_RG), ignore=())
        res = {"n": n, "apply_ok": apply_ok, "floor": fl, "apply_cmd_s": cmd_s, "apply_wall_s": window(apply_reqs),
               "apply": split(apply_reqs), "refresh": split(refresh_reqs), "refresh_rc": rp.rc,
               "refresh_cmd_s": refresh_s, "refresh_wall_s": window(refresh_reqs),
               "destroy": split(destroy_reqs), "destroy_wall_s": window(destroy_reqs),
               "destroy_ok": rd.rc == 0, "destroy_cmd_s": destroy_s,
               "left": left, "rss_peak_kb": max(peaks.values(), default=0), "rss_by_pid": peaks,
               "leftovers": list(ws.leftovers)}
        if rd.rc != 0:
            print(rd.describe(3000), file=sys.stderr)
        return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    pair = lambda s: tuple(float(x) for x in s.split(","))  # noqa: E731
    ap.add_argument("--n", default="1,10,50", help="comma-separated spoke counts")
    ap.add_argument("--time-scale", type=float, default=0.05)
    ap.add_argument("--reads", type=pair, default=(250, 25), help="capacity,refill/s")
    ap.add_argument("--writes", type=pair, default=(200, 10))
    ap.add_argument("--deletes", type=pair, default=(200, 10))
    ap.add_argument("--provider", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--apply-only", action="store_true", help="no refresh and destroy after the apply")
    a = ap.parse_args()
    print("command: " + " ".join(shlex.quote(x) for x in [sys.executable] + sys.argv), flush=True)
    ns = [int(x) for x in a.n.split(",")]
    binary = (a.provider or provider_bin_path()).resolve()
    if not binary.is_file():
        print(f"provider binary {binary} not found", file=sys.stderr)
        return 2
    root = Path(tempfile.mkdtemp(prefix="zt-bench-spokes-"))
    started = time.perf_counter()
    results = []
    try:
        for n in ns:
            res = run_one(n, a, binary, root)
            results.append(res)
            tail = (f"; destroy {'ok' if res['destroy_ok'] else 'FAILED'}, left {len(res['left'])}"
                    if "destroy_ok" in res else "")
            print(f"N={n}: apply {'ok' if res['apply_ok'] else 'FAILED'} {res['apply_cmd_s']:.1f}s, "
                  f"{res['apply']['total']} ARM requests, {res['apply']['429']} x 429, "
                  f"peak RSS {res['rss_peak_kb']} kB{tail}", flush=True)
    finally:
        if not a.keep:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"work dir: {root}")

    print()
    print(f"1 hub + N spokes, one terraform apply (-parallelism 10), time scale {a.time_scale}, throttling on "
          f"(reads {a.reads[0]:g}+{a.reads[1]:g}/s, writes {a.writes[0]:g}+{a.writes[1]:g}/s, "
          f"deletes {a.deletes[0]:g}+{a.deletes[1]:g}/s)")
    hdr = (f"  {'N':>4} {'apply s':>8} {'ARM wall':>9} {'floor':>7} {'PUT':>6} {'GET':>6} {'poll':>6} {'DELETE':>7} {'other':>6}"
           f" {'total':>7} {'429':>5} {'429 !abs':>8} {'409':>5} {'5xx':>4} {'RSS MiB':>8}")
    print(hdr)
    for r in results:
        s = r["apply"]
        print(f"  {r['n']:>4} {r['apply_cmd_s']:>8.1f} {r['apply_wall_s']:>9.1f} {r['floor']['floor_s']:>7.1f} {s['PUT']:>6}"
              f" {s['GET']:>6}"
              f" {s['poll']:>6} {s['DELETE']:>7} {s['other']:>6} {s['total']:>7} {s['429']:>5}"
              f" {s['429_unretried']:>8} {s['409']:>5} {s['5xx']:>4} {r['rss_peak_kb'] / 1024:>8.1f}")
    print()
    print("  independent floor (s, wall): critical path / longest serial chain (its scope) / write budget / "
          "read budget over the resources the apply created; wall / floor")
    print(f"  {'N':>4} {'resources':>9} {'critical':>9} {'chain':>7} {'writes':>7} {'reads':>7} {'floor':>7}"
          f" {'wall/floor':>10}  chain scope")
    for r in results:
        f = r["floor"]
        ratio = r["apply_wall_s"] / f["floor_s"] if f["floor_s"] else float("nan")
        print(f"  {r['n']:>4} {f['resources']:>9} {f['critical_s']:>9.1f} {f['chain_s']:>7.1f}"
              f" {f['budget_writes_s']:>7.1f} {f['budget_reads_s']:>7.1f} {f['floor_s']:>7.1f} {ratio:>10.2f}"
              f"  {f['chain_scope'].rsplit('/providers/', 1)[-1]}")
    base = results[0]
    print()
    print(f"  growth, ratio to N={base['n']}:")
    print(f"  {'N':>4} {'N ratio':>8} {'apply s':>8} {'PUT':>6} {'GET':>6} {'poll':>6} {'total':>7} {'RSS':>6}")
    rat = lambda x, y: (x / y) if y else float("nan")  # noqa: E731
    for r in results:
        s, b = r["apply"], base["apply"]
        print(f"  {r['n']:>4} {rat(r['n'], base['n']):>8.1f} {rat(r['apply_cmd_s'], base['apply_cmd_s']):>8.2f}"
              f" {rat(s['PUT'], b['PUT']):>6.2f} {rat(s['GET'], b['GET']):>6.2f} {rat(s['poll'], b['poll']):>6.2f}"
              f" {rat(s['total'], b['total']):>7.2f} {rat(r['rss_peak_kb'], base['rss_peak_kb']):>6.2f}")
    print()
    full = [r for r in results if "refresh" in r]
    print("  refresh (terraform plan -detailed-exitcode) and destroy: command s / ARM window s (request log), requests")
    print(f"  {'N':>4} {'refresh s':>9} {'ARM wall':>8} {'reqs (GET/poll/other)':>24} {'429':>4} {'plan rc':>7}"
          f" {'destroy s':>9} {'ARM wall':>8} {'reqs (DEL/GET/poll/other)':>28} {'429':>4} {'!abs':>4} {'left':>5}")
    for r in full:
        f, d = r["refresh"], r["destroy"]
        fq = f"{f['total']} ({f['GET']}/{f['poll']}/{f['PUT'] + f['DELETE'] + f['other']})"
        dq = f"{d['total']} ({d['DELETE']}/{d['GET']}/{d['poll']}/{d['PUT'] + d['other']})"
        print(f"  {r['n']:>4} {r['refresh_cmd_s']:>9.1f} {r['refresh_wall_s']:>8.1f} {fq:>24} {f['429']:>4}"
              f" {r['refresh_rc']:>7} {r['destroy_cmd_s']:>9.1f} {r['destroy_wall_s']:>8.1f} {dq:>28}"
              f" {d['429']:>4} {d['429_unretried']:>4} {len(r['left']):>5}")
    for r in results:
        for ph in ("apply", "refresh", "destroy"):
            if ph in r and r[ph]["429_by_method"]:
                print(f"  N={r['n']}: {ph} 429s by request kind: {r[ph]['429_by_method']}")
        if r.get("left"):
            print(f"  N={r['n']}: left in the emulator: {r['left'][:5]}")
        if r["leftovers"]:
            print(f"  N={r['n']}: leftovers: {r['leftovers'][:5]}")
        if len(r["rss_by_pid"]) > 1:
            print(f"  N={r['n']}: VmHWM per provider process of the apply (plan phase, apply phase): "
                  + ", ".join(f"{v / 1024:.1f} MiB" for _, v in sorted(r["rss_by_pid"].items())))
    print(f"\n  script took {time.perf_counter() - started:.0f} s")
    if a.json:
        a.json.write_text(json.dumps({"args": vars(a) | {"provider": str(binary), "json": str(a.json)},
                                      "results": results}, indent=1, default=str))
    ok = all(r["apply_ok"] and (a.apply_only or (r["destroy_ok"] and not r["left"] and r["refresh_rc"] == 0))
             for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
