#!/usr/bin/env python3
"""zerotrust_hub apply: wall time against the dependency graph's critical path,
and ARM requests per apply and per refresh, with real Terraform against the
ARM emulator (tests/emulator) on 127.0.0.1.

The emulator runs long-running operations for the durations Azure shows, in
Azure's proportions (tests/emulator/resource_types.py: VPN gateway 2700 s,
firewall 600 s, Bastion 480 s ...), multiplied by --time-scale (default 0.001:
the VPN gateway takes 2.7 s). examples/hub is applied with the VPN gateway
and diagnostics on.

Per run (fresh resource group contents each time):
  apply wall    first ARM request of ApplyResourceChange -> last response
                (emulator request log: `ts` is recorded when the answer is
                sent, `duration_ms` is the handling time)
  critical path longest path through the hub's node graph (depends_on in
                provider/resources/zt_hub.c), each node weighted by the
                emulator's create duration for its ARM type x time scale
  sum           sum of every underlying resource's create duration (what a
                one-at-a-time apply would wait)
  wall/critical 1.0 is the best an apply can do
  wall/sum      below 1: what the parallel executor bought
  destroy       its wall (request log window) and command time, against the
                destroy's critical path (the node graph reversed, each node
                weighted by its type's delete duration, zt_arm_durations.def)
  requests      ARM requests of the apply, and of a `terraform plan` (with
                refresh) right after it, split into PUT / GET (resource reads)
                / poll (LRO status URLs) / DELETE; target for the refresh:
                one GET per underlying resource, no polls.
Three runs (--runs), medians.

usage: python3 bench/hub_apply.py [--runs 3] [--time-scale 0.001] [--provider BIN] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
sys.path.insert(0, str(REPO))

from e2e_support import (PLATFORM, PROVIDER_SOURCE, Mirror, dirhash_h1,  # noqa: E402
                         get_runner, project_version, provider_bin_path)
from hub_env import hub_workspace, is_poll, make_world, start_emulator  # noqa: E402
from tests.emulator import resource_types  # noqa: E402

HUB_C = REPO / "provider" / "resources" / "zt_hub.c"
RG = "rg-hub-bench"


# ------------------------------------------------------------------------------
# The hub's node graph, read from the C table
# ------------------------------------------------------------------------------

def hub_nodes() -> dict[str, dict]:
    """key -> {type, deps, for_each}, parsed from zt_hub.c's zt_hub_nodes[]."""
    src = HUB_C.read_text()
    arrays = {m.group(1): re.findall(r'"([^"]+)"', m.group(2))
              for m in re.finditer(r"static const char \*const (zt_hub_deps_\w+)\[\]\s*=\s*\{([^}]*)\}", src)}
    table = src[src.index("zt_hub_nodes[] = {"):]
    table = table[:table.index("\n};")]
    nodes = {}
    for m in re.finditer(r'ZT_HUB_TRACKED\("([^"]+)",\s*"([^"]+)",\s*(\w+)', table):
        nodes[m.group(1)] = {"type": m.group(2), "deps": arrays.get(m.group(3), []), "for_each": False}
    for m in re.finditer(r'\{\s*\.key\s*=\s*"([^"]+)",\s*\.arm_type\s*=\s*"([^"]+)",(.*?)\}\s*,', table, re.S):
        body = m.group(3)
        d = re.search(r"\.depends_on\s*=\s*(\w+)", body)
        nodes[m.group(1)] = {"type": m.group(2), "deps": arrays.get(d.group(1), []) if d else [],
                             "for_each": ".for_each" in body}
    if len(nodes) < 10:
        raise RuntimeError(f"could not parse the node table of {HUB_C} (found {list(nodes)})")
    return nodes


def create_seconds(arm_type: str) -> float:
    spec = resource_types.spec_for(arm_type)
    return spec.create_s if spec.put != "sync" else spec.sync_latency_s


def delete_seconds(arm_type: str) -> float:
    """The emulator's delete duration (provider/arm/zt_arm_durations.def; 0: synchronous)."""
    return resource_types.spec_for(arm_type).delete_s


def destroy_critical(nodes: dict, present: set[str], scale: float) -> tuple[float, list]:
    """Longest path of the destroy: a node goes after every node that depends on it,
    each weighted by its type's delete duration x time scale."""
    memo: dict[str, tuple[float, list]] = {}

    def longest(k):
        if k not in memo:
            best = (0.0, [])
            for j in present:
                if k in nodes[j]["deps"]:
                    best = max(best, longest(j), key=lambda x: x[0])
            memo[k] = (best[0] + delete_seconds(nodes[k]["type"]) * scale, best[1] + [k])
        return memo[k]

    return max((longest(k) for k in present), key=lambda x: x[0])


def graph_figures(nodes: dict, present: set[str], instances: dict[str, int], scale: float):
    """(critical path seconds, the path, sum of durations) over the nodes present."""
    memo: dict[str, tuple[float, list]] = {}

    def longest(k):
        if k not in memo:
            best = (0.0, [])
            for d in nodes[k]["deps"]:
                if d in present:
                    best = max(best, longest(d), key=lambda x: x[0])
            memo[k] = (best[0] + create_seconds(nodes[k]["type"]) * scale, best[1] + [k])
        return memo[k]

    crit = max((longest(k) for k in present), key=lambda x: x[0])
    total = sum(create_seconds(nodes[k]["type"]) * scale * instances.get(k, 1) for k in present)
    return crit[0], crit[1], total


# ------------------------------------------------------------------------------
# Request log
# ------------------------------------------------------------------------------

def split(reqs: list[dict]) -> dict:
    out = {"PUT": 0, "GET": 0, "poll": 0, "DELETE": 0, "other": 0}
    for r in reqs:
        if is_poll(r):
            out["poll"] += 1
        elif r["method"] in out:
            out[r["method"]] += 1
        else:
            out["other"] += 1
    out["total"] = len(reqs)
    return out


def node_spans(reqs: list[dict], nodes: dict, scale: float) -> list[tuple]:
    """Per node: (key, emulated create s, observed PUT start -> last read of the
    resource, in s after the apply's first request); for_each nodes: the slowest
    instance."""
    t0 = min(r["ts"] - r["duration_ms"] / 1000 for r in reqs)
    by_path: dict[str, list] = {}
    for r in reqs:
        if not is_poll(r):
            by_path.setdefault(r["path"].lower(), []).append(r)
    out = []
    for key, n in nodes.items():
        leaf = n["type"].split("/")[-1].lower()
        spans = []
        for path, rs in by_path.items():
            segs = path.split("/")
            if len(segs) < 2 or segs[-2] != leaf:
                continue
            puts = [r for r in rs if r["method"] == "PUT"]
            if not puts:
                continue
            start = min(r["ts"] - r["duration_ms"] / 1000 for r in puts) - t0
            end = max(r["ts"] for r in rs) - t0
            spans.append((start, end, path))
        pip = {"pip_firewall": "pip-weu-afw", "pip_firewall_mgmt": "pip-weu-afw-mgmt",
               "pip_bastion": "pip-weu-bas", "pip_gateway": "pip-weu-vgw"}.get(key)
        if pip:
            spans = [s for s in spans if s[2].rsplit("/", 1)[-1] == pip]
        if key.startswith("diag_"):
            parent = {"diag_firewall": "/azurefirewalls/", "diag_bastion": "/bastionhosts/",
                      "diag_vpn_gateway": "/virtualnetworkgateways/"}[key]
            spans = [s for s in spans if parent in s[2]]
        if spans:
            worst = max(spans, key=lambda s: s[1] - s[0])
            out.append((key, create_seconds(n["type"]) * scale, worst[0], worst[1]))
    return sorted(out, key=lambda x: x[2])


def window(reqs: list[dict]) -> float:
    """First request's start -> last answer, s (0 without requests)."""
    if not reqs:
        return 0.0
    return max(r["ts"] for r in reqs) - min(r["ts"] - r["duration_ms"] / 1000 for r in reqs)


# ------------------------------------------------------------------------------

def make_mirror(root: Path, binary: Path) -> Mirror:
    version = project_version()
    base = root / "mirror"
    pkg = base / PROVIDER_SOURCE / version / PLATFORM
    pkg.mkdir(parents=True)
    exe = pkg / f"terraform-provider-zerotrust_v{version}"
    shutil.copy2(binary, exe)
    exe.chmod(0o755)
    cfg = root / "terraform.rc"
    cfg.write_text(f'disable_checkpoint = true\nprovider_installation {{\n  filesystem_mirror {{\n'
                   f'    path    = "{base}"\n    include = ["{PROVIDER_SOURCE}"]\n  }}\n}}\n')
    return Mirror(base, pkg, exe, version, dirhash_h1(pkg), cfg)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--time-scale", type=float, default=0.001)
    ap.add_argument("--provider", type=Path, default=None, help="provider binary (default: ZT_PROVIDER_BIN or build/)")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    a = ap.parse_args()

    binary = (a.provider or provider_bin_path()).resolve()
    if not binary.is_file():
        print(f"provider binary {binary} not found (build it, or --provider)", file=sys.stderr)
        return 2
    root = Path(tempfile.mkdtemp(prefix="zt-bench-hub-"))
    emu = start_emulator(root / "emulator", time_scale=a.time_scale, validate=False)
    runs = []
    try:
        mirror = make_mirror(root, binary)
        world = make_world(emu, RG)
        ws = hub_workspace(root / "ws", get_runner("terraform"), mirror, emu, world)
        ws.run("init", "-input=false", "-no-color", check=True, log=False)
        nodes = hub_nodes()
        for i in range(a.runs):
            assert not emu.store_ids_under(world["rg_id"]), "resources left from the previous run"
            ws.run("plan", "-input=false", "-no-color", "-out=bench.tfplan", check=True, log=False)
            seq = emu.last_seq()
            t0 = time.perf_counter()
            ws.run("apply", "-input=false", "-no-color", "bench.tfplan", check=True, log=False)
            cmd_s = time.perf_counter() - t0
            apply_reqs = emu.requests(since=seq, kind="arm")
            seq = emu.last_seq()
            r = ws.run("plan", "-input=false", "-no-color", "-detailed-exitcode", log=False)
            assert r.rc == 0, r.describe()
            refresh_reqs = emu.requests(since=seq, kind="arm")
            seq = emu.last_seq()
            t1 = time.perf_counter()
            ws.run("destroy", "-auto-approve", "-input=false", "-no-color", check=True, log=False)
            destroy_cmd_s = time.perf_counter() - t1
            destroy_reqs = emu.requests(since=seq, kind="arm")

            # Which nodes exist (the example turns everything on) and how many instances.
            puts = [q["path"].lower() for q in apply_reqs if q["method"] == "PUT"]
            zones = len({p for p in puts if re.search(r"/privatednszones/[^/]+$", p)})
            instances = {k: zones for k, n in nodes.items() if n["for_each"]}
            present = set(nodes)
            crit, path, total = graph_figures(nodes, present, instances, a.time_scale)
            dcrit, dpath = destroy_critical(nodes, present, a.time_scale)
            underlying = sum(instances.get(k, 1) for k in present)
            wall = window(apply_reqs)
            spans = node_spans(apply_reqs, nodes, a.time_scale)
            runs.append({"spans": spans, "apply_wall_s": wall, "apply_cmd_s": cmd_s, "critical_s": crit, "critical_path": path,
                         "sum_s": total, "underlying": underlying,
                         "apply": split(apply_reqs), "refresh": split(refresh_reqs),
                         "destroy": split(destroy_reqs), "destroy_wall_s": window(destroy_reqs),
                         "destroy_cmd_s": destroy_cmd_s, "destroy_critical_s": dcrit,
                         "destroy_critical_path": dpath})
            print(f"run {i + 1}: apply {wall:.2f}s (terraform apply {cmd_s:.2f}s), "
                  f"{len(apply_reqs)} ARM requests; refresh {len(refresh_reqs)}", flush=True)
    finally:
        emu.stop()
        if not a.keep:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"work dir: {root}")

    med = lambda f: statistics.median(f(r) for r in runs)  # noqa: E731
    r0 = runs[0]
    wall, crit, total = med(lambda r: r["apply_wall_s"]), r0["critical_s"], r0["sum_s"]
    print()
    print(f"zerotrust_hub apply, examples/hub (VPN gateway on), time scale {a.time_scale}, "
          f"{len(runs)} runs, medians; {r0['underlying']} underlying resources")
    print(f"critical path: {' -> '.join(r0['critical_path'])}; "
          f"destroy: {' -> '.join(r0['destroy_critical_path'])}")
    rows = [
        ("apply wall (first ARM request -> last answer)", f"{wall:.2f} s"),
        ("terraform apply command", f"{med(lambda r: r['apply_cmd_s']):.2f} s"),
        ("critical path of the node graph", f"{crit:.2f} s"),
        ("sum of all create durations", f"{total:.2f} s"),
        ("wall / critical path", f"{wall / crit:.2f}"),
        ("wall / sum", f"{wall / total:.2f}  (parallel speed-up sum/wall {total / wall:.1f}x)"),
        ("destroy wall (first ARM request -> last answer)", f"{med(lambda r: r['destroy_wall_s']):.2f} s"),
        ("terraform destroy command", f"{med(lambda r: r['destroy_cmd_s']):.2f} s"),
        ("critical path of the destroy (delete durations)", f"{r0['destroy_critical_s']:.2f} s"),
        ("destroy wall / its critical path", f"{med(lambda r: r['destroy_wall_s']) / r0['destroy_critical_s']:.2f}"),
    ]
    w = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"  {k:<{w}}  {v}")
    print()
    print(f"  {'ARM requests':<22}{'PUT':>6}{'GET':>6}{'poll':>6}{'DELETE':>8}{'total':>7}")
    for phase in ("apply", "refresh", "destroy"):
        vals = [med(lambda r, c=c: r[phase][c]) for c in ("PUT", "GET", "poll", "DELETE", "total")]
        label = {"apply": "apply", "refresh": "refresh (plan)", "destroy": "destroy"}[phase]
        print(f"  {label:<22}{vals[0]:>6g}{vals[1]:>6g}{vals[2]:>6g}{vals[3]:>8g}{vals[4]:>7g}")
    print(f"  (refresh target: {r0['underlying']} GETs, one per underlying resource, no polls)")
    print()
    print("  per node, run 1 (s after the apply's first ARM request; for_each: slowest instance):")
    print(f"  {'node':<22}{'emulated':>9}{'PUT at':>8}{'done at':>9}{'took':>7}")
    for key, emu_s, st, en in r0["spans"]:
        print(f"  {key:<22}{emu_s:>9.2f}{st:>8.2f}{en:>9.2f}{en - st:>7.2f}")
    if a.json:
        a.json.write_text(json.dumps({"time_scale": a.time_scale, "runs": runs}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
