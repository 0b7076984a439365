#!/usr/bin/env python3
"""examples/platform (zerotrust_governance + zerotrust_hub + zerotrust_spoke +
zerotrust_databricks_private_workspace) applied from empty with real Terraform
against the ARM emulator (tests/emulator) on 127.0.0.1: wall time of the whole
apply against the critical path of the combined dependency graph, the sum of
all durations, and ARM requests per apply and per refresh.

Durations: the emulator's per-type table (tests/emulator/resource_types.py,
Azure's seconds: firewall 600, Bastion 480, Databricks workspace 300, ...)
x --time-scale. A node's weight is its type's create duration (async types;
synchronous types: their sync latency); `workspace_cmk` is the second PUT of
the Databricks workspace, weighted with the type's update duration. RBAC
propagation is an edge weight: a node that uses a customer-managed key
(`storage`, `workspace_cmk`) can succeed only rbac_propagation_seconds (the
emulator's, 120 Azure s) after the role assignments it depends on, as in Azure.

Graph (method): the nodes and their `depends_on` are parsed from the four
node tables in provider/resources/zt_{governance,hub,spoke,workspace}.c; which nodes
exist and how many instances a for_each node has is read from each
resource's `underlying_resources` in the state after the apply. Between the
four resources, Terraform's graph: the hub starts when the whole governance
layer is done (it needs its workspace ID), the spoke when the whole hub is,
the workspace when the whole spoke is, so every node of a layer depends on
every node of the layers before. Critical path = longest weighted path
through that combined graph (= the sum of the per-resource critical paths). Sum = every underlying resource's
duration added up (for_each instances counted each).

Wall: first ARM request of the apply -> last answer (emulator request log),
and the whole `terraform apply` command; per resource, the window of its
requests to its own underlying resources (their IDs from the state).
Default time scale 0.02 (the firewall takes 12 s): at 0.001 the critical
path (1.3 s) is below the emulator's 1 s Retry-After floor and Terraform's
fixed costs, and the ratio measures those instead of the graph.

Per run (fresh emulator each run): apply -auto-approve, `terraform plan
-detailed-exitcode` (the refresh; must be clean), destroy (nothing may be
left but the soft-deleted Key Vault). --runs (3) runs; medians.

usage: python3 bench/platform_apply.py [--runs 3] [--time-scale 0.02] [--provider BIN] [--json FILE] [--keep]
"""
from __future__ import annotations

import argparse
import json
import re
import shlex
import shutil
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
from hub_env import TAGS, arm_env, is_poll, platform_vars, start_emulator  # noqa: E402
from spokes_scale import last_seq, make_mirror, read_log, split, window  # noqa: E402
from tests.emulator import resource_types  # noqa: E402
from tests.emulator.config import Config  # noqa: E402

# Nodes whose PUT waits for key grants to propagate (the emulator enforces it).
KEY_USERS = {"workspace.storage", "workspace.workspace_cmk"}
RBAC_PROPAGATION_S = Config().rbac_propagation_seconds

EXAMPLE = REPO / "examples" / "platform"
GROUPS = {"governance": "rg-ops-weu", "hub": "rg-hub-weu", "spoke": "rg-spokes-weu",
          "workspace": "rg-dbx-weu"}
TABLES = {"governance": ("zt_governance.c", "zt_gov_nodes"), "hub": ("zt_hub.c", "zt_hub_nodes"),
          "spoke": ("zt_spoke.c", "zt_spoke_nodes"), "workspace": ("zt_workspace.c", "zt_ws_nodes")}
TF_TYPES = {"governance": "zerotrust_governance", "hub": "zerotrust_hub", "spoke": "zerotrust_spoke",
            "workspace": "zerotrust_databricks_private_workspace"}
LAYERS = ("governance", "hub", "spoke", "workspace")
CMD_TIMEOUT = 900.0


# ------------------------------------------------------------------------------
# Node tables, parsed from the C sources
# ------------------------------------------------------------------------------

def _split_top(s: str) -> list[str]:
    """Split on commas outside (), {} and strings."""
    out, depth, cur, in_str = [], 0, [], False
    i = 0
    while i < len(s):
        ch = s[i]
        if in_str:
            cur.append(ch)
            if ch == "\\":
                cur.append(s[i + 1])
                i += 1
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
            cur.append(ch)
        elif ch in "({":
            depth += 1
            cur.append(ch)
        elif ch in ")}":
            depth -= 1
            cur.append(ch)
        elif ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
        i += 1
    if "".join(cur).strip():
        out.append("".join(cur).strip())
    return out


def parse_table(source: str, table: str) -> dict[str, dict]:
    src = (REPO / "provider" / "resources" / source).read_text()
    src = re.sub(r"/\*.*?\*/", "", src, flags=re.S)
    arrays = {m.group(1): re.findall(r'"([^"]+)"', m.group(2))
              for m in re.finditer(r"static const char \*const (\w+)\[\]\s*=\s*\{([^}]*)\}", src)}
    body = src[src.index(f"{table}[] = {{") + len(f"{table}[] = {{"):]
    body = body[:body.index("\n};")]

    def deps(expr: str) -> list[str]:
        expr = expr.strip()
        if expr in ("NULL", ""):
            return []
        if expr.startswith("DEPS("):
            return re.findall(r'"([^"]+)"', expr)
        if expr not in arrays:
            raise RuntimeError(f"{source}: unknown depends_on {expr!r}")
        return arrays[expr]

    nodes: dict[str, dict] = {}
    for entry in _split_top(body):
        if entry.startswith("{"):
            f = dict((m.group(1), m.group(2).strip()) for m in
                     (re.match(r"\.(\w+)\s*=\s*(.*)", x, re.S) for x in _split_top(entry[1:-1])) if m)
            key = f["key"].strip('"')
            nodes[key] = {"type": f["arm_type"].strip('"'), "deps": deps(f.get("depends_on", "NULL"))}
            continue
        m = re.match(r"(\w+)\((.*)\)$", entry, re.S)
        if not m:
            raise RuntimeError(f"{source}: cannot read node entry {entry[:80]!r}")
        macro, args = m.group(1), _split_top(m.group(2))
        if macro.endswith("_TRACKED"):
            nodes[args[0].strip('"')] = {"type": args[1].strip('"'), "deps": deps(args[2])}
        elif macro == "ZT_WS_PE_NODES":
            k = args[1].strip('"')
            nodes[k] = {"type": "Microsoft.Network/privateEndpoints", "deps": deps(args[2])}
            nodes[k + "_dns"] = {"type": "Microsoft.Network/privateEndpoints/privateDnsZoneGroups", "deps": [k]}
        elif macro in ("ZT_WS_RA_NODE", "ZT_WS_RA_NODE_IF"):
            nodes[args[1].strip('"')] = {"type": "Microsoft.Authorization/roleAssignments", "deps": deps(args[2])}
        elif macro == "ZT_WS_DIAG_NODE":
            nodes[args[0].strip('"')] = {"type": "Microsoft.Insights/diagnosticSettings", "deps": [args[1].strip()]}
        elif macro == "ZT_HUB_DIAG_PIP_NODE":      # after the VNet and its public IP
            nodes[args[0].strip('"')] = {"type": "Microsoft.Insights/diagnosticSettings",
                                         "deps": ["vnet", args[1].strip('"')]}
        elif macro == "ZT_SPOKE_DIAG_NODE":        # after the VNet (and so its NSGs)
            nodes[args[0].strip('"')] = {"type": "Microsoft.Insights/diagnosticSettings", "deps": ["vnet"]}
        else:
            raise RuntimeError(f"{source}: unknown node macro {macro}")
    for k, n in nodes.items():
        for d in n["deps"]:
            if d not in nodes:
                raise RuntimeError(f"{source}: node {k} depends on unknown {d}")
    return nodes


def duration_s(key: str, arm_type: str) -> float:
    spec = resource_types.spec_for(arm_type)
    if spec.put == "sync":
        return spec.sync_latency_s
    if key == "workspace_cmk":          # second PUT of the same workspace: an update
        return spec.update_s
    return spec.create_s


def combined_graph(instances: dict[str, dict[str, int]]):
    """Nodes 'res.key' with weight (Azure s, one instance) and deps, over the present nodes."""
    graph = {}
    prev_all: list[str] = []
    for res in LAYERS:
        nodes = parse_table(*TABLES[res])
        present = instances[res]
        unknown = set(present) - set(nodes)
        if unknown:
            raise RuntimeError(f"{res}: state has nodes the table has not: {sorted(unknown)}")
        mine = []
        for k, n in nodes.items():
            if k not in present:
                continue
            name = f"{res}.{k}"
            graph[name] = {"w": duration_s(k, n["type"]), "count": present[k], "type": n["type"],
                           "deps": [f"{res}.{d}" for d in n["deps"] if d in present] + prev_all}
            mine.append(name)
        prev_all = prev_all + mine
    return graph


def critical_path(graph: dict) -> tuple[float, list[str]]:
    memo: dict[str, tuple[float, list]] = {}

    def longest(k):
        if k not in memo:
            best = (0.0, [])
            for d in graph[k]["deps"]:
                t, path = longest(d)
                if k in KEY_USERS and graph[d]["type"] == "Microsoft.Authorization/roleAssignments":
                    t, path = t + RBAC_PROPAGATION_S, path + ["(propagation)"]
                best = max(best, (t, path), key=lambda x: x[0])
            memo[k] = (best[0] + graph[k]["w"], best[1] + [k])
        return memo[k]

    return max((longest(k) for k in graph), key=lambda x: x[0])


# ------------------------------------------------------------------------------

def state_instances(ws) -> tuple[dict[str, dict[str, int]], dict[str, list[str]]]:
    """Per composite: node key -> instance count, and the ARM IDs of its underlying resources."""
    st = json.loads(ws.run("show", "-json", check=True, log=False).stdout)
    counts_by, ids_by = {}, {}
    for r in st["values"]["root_module"]["resources"]:
        for res, tf in TF_TYPES.items():
            if r["type"] == tf:
                counts: dict[str, int] = {}
                under = r["values"].get("underlying_resources") or {}
                for k in under:
                    base = k.split("[")[0]
                    counts[base] = counts.get(base, 0) + 1
                counts_by[res] = counts
                ids_by[res] = {k: v.lower() for k, v in under.items() if v}
    return counts_by, ids_by


def node_spans(reqs: list[dict], ids_by: dict[str, dict[str, str]], scale: float) -> list[tuple]:
    """Per node instance: (res.key, emulated s, first PUT start, last PUT/GET answer), s after
    the apply's first request. workspace/workspace_cmk share one URL: split at the second PUT."""
    t0 = min(r["ts"] - r["duration_ms"] / 1000 for r in reqs)
    by_url: dict[str, list] = {}
    for r in reqs:
        if not is_poll(r):
            by_url.setdefault(r["path"].lower().rstrip("/"), []).append(r)
    tables = {res: parse_table(*TABLES[res]) for res in TABLES}
    out = []
    for res, under in ids_by.items():
        for key, url in under.items():
            base = key.split("[")[0]
            rs = by_url.get(url, [])
            puts = [i for i, r in enumerate(rs) if r["method"] == "PUT"]
            if not puts:
                continue
            if base in ("workspace", "workspace_cmk") and len(puts) > 1:
                lo, hi = (puts[0], puts[1]) if base == "workspace" else (puts[1], len(rs))
                rs = rs[lo:hi]
            else:
                rs = rs[puts[0]:]
            start = rs[0]["ts"] - rs[0]["duration_ms"] / 1000 - t0
            end = max(r["ts"] for r in rs) - t0
            out.append((f"{res}.{key}", duration_s(base, tables[res][base]["type"]) * scale, start, end))
    return sorted(out, key=lambda x: x[2])


def per_resource_windows(reqs: list[dict], ids_by: dict[str, dict[str, str]]) -> dict[str, tuple[float, float]]:
    """(start, end) in s after the apply's first request, of each composite's requests to its
    own underlying resources (URL = one of its IDs, longest match wins; LRO polls are not
    attributed, so `end` is the last PUT/GET answer)."""
    t0 = min(r["ts"] - r["duration_ms"] / 1000 for r in reqs)
    owner_of = {}
    for res, ids in ids_by.items():
        for i in ids.values():
            owner_of[i] = res
    spans: dict[str, list] = {}
    for r in reqs:
        if is_poll(r):
            continue
        owner = owner_of.get(r["path"].lower().rstrip("/"))
        if owner is None:
            continue
        spans.setdefault(owner, []).append((r["ts"] - r["duration_ms"] / 1000 - t0, r["ts"] - t0))
    return {k: (min(s for s, _ in v), max(e for _, e in v)) for k, v in spans.items()}


def run_once(i: int, a, binary: Path, root: Path) -> dict:
    emu = start_emulator(root / f"emu-{i}", time_scale=a.time_scale, validate=False)
    try:
        c = emu.client
        for rg in GROUPS.values():
            r = c.put(c.rg_id(rg), {"location": "westeurope", "tags": TAGS})
            assert r.status_code in (200, 201), r.text
        mirror = make_mirror(root / f"m-{i}", binary)
        ws = make_workspace(root / f"ws-{i}", get_runner("terraform"), mirror, config_dir=EXAMPLE)
        ws.extra_env.update(arm_env(emu.info) | platform_vars(emu.info))
        ws.run("init", "-input=false", "-no-color", check=True, log=False)
        log = Path(emu.info.get("request_log") or emu.state_dir / "requests.jsonl")

        seq = last_seq(log)
        t0 = time.perf_counter()
        ws.run("apply", "-input=false", "-no-color", "-auto-approve", check=True, log=False, timeout=CMD_TIMEOUT)
        cmd_s = time.perf_counter() - t0
        time.sleep(0.3)
        apply_reqs = read_log(log, seq)
        inst, ids_by = state_instances(ws)

        seq = last_seq(log)
        rp = ws.run("plan", "-input=false", "-no-color", "-detailed-exitcode", log=False, timeout=CMD_TIMEOUT)
        time.sleep(0.3)
        refresh_reqs = read_log(log, seq)

        seq = last_seq(log)
        ws.run("destroy", "-input=false", "-no-color", "-auto-approve", check=True, log=False, timeout=CMD_TIMEOUT)
        time.sleep(0.3)
        destroy_reqs = read_log(log, seq)
        left = [x for rg in GROUPS.values() for x in emu.store_ids_under(c.rg_id(rg), ignore=())]

        graph = combined_graph(inst)
        crit, path = critical_path(graph)
        total = sum(n["w"] * n["count"] for n in graph.values())
        put_paths = {q["path"].lower() for q in apply_reqs if q["method"] == "PUT"}
        return {"apply_cmd_s": cmd_s, "apply_wall_s": window(apply_reqs),
                "critical_s": crit * a.time_scale, "critical_path": path, "sum_s": total * a.time_scale,
                "underlying": sum(n["count"] for n in graph.values()), "instances": inst,
                "distinct_put_urls": len(put_paths),
                "windows": per_resource_windows(apply_reqs, ids_by),
                "spans": node_spans(apply_reqs, ids_by, a.time_scale),
                "apply": split(apply_reqs), "refresh": split(refresh_reqs), "refresh_rc": rp.rc,
                "refresh_methods": sorted({q["method"] + (" poll" if is_poll(q) else "") for q in refresh_reqs}),
                "destroy": split(destroy_reqs), "left": left, "leftovers": list(ws.leftovers)}
    finally:
        emu.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--time-scale", type=float, default=0.02)
    ap.add_argument("--provider", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--top", type=int, default=15, help="how many slowest nodes to list")
    a = ap.parse_args()
    print("command: " + " ".join(shlex.quote(x) for x in [sys.executable] + sys.argv), flush=True)
    binary = (a.provider or provider_bin_path()).resolve()
    if not binary.is_file():
        print(f"provider binary {binary} not found", file=sys.stderr)
        return 2
    root = Path(tempfile.mkdtemp(prefix="zt-bench-platform-"))
    started = time.perf_counter()
    runs = []
    try:
        for i in range(a.runs):
            r = run_once(i, a, binary, root)
            runs.append(r)
            print(f"run {i + 1}: apply {r['apply_wall_s']:.2f}s (terraform apply {r['apply_cmd_s']:.2f}s), "
                  f"{r['apply']['total']} ARM requests; refresh {r['refresh']['total']} (plan rc {r['refresh_rc']}); "
                  f"left {len(r['left'])}", flush=True)
    finally:
        if not a.keep:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"work dir: {root}")

    med = lambda f: statistics.median(f(r) for r in runs)  # noqa: E731
    r0 = runs[0]
    wall, crit, total = med(lambda r: r["apply_wall_s"]), r0["critical_s"], r0["sum_s"]
    print()
    print(f"examples/platform (governance + hub + spoke + workspace), apply from empty, time scale {a.time_scale}, "
          f"{len(runs)} runs, medians; {r0['underlying']} underlying resources "
          f"({', '.join(f'{k} {sum(v.values())}' for k, v in r0['instances'].items())})")
    print("critical path: " + " -> ".join(r0["critical_path"]))
    rows = [
        ("apply wall (first ARM request -> last answer)", f"{wall:.2f} s"),
        ("terraform apply command", f"{med(lambda r: r['apply_cmd_s']):.2f} s"),
        ("critical path of the combined graph", f"{crit:.2f} s  (Azure: {crit / a.time_scale / 60:.1f} min)"),
        ("sum of all durations", f"{total:.2f} s  (Azure: {total / a.time_scale / 60:.1f} min)"),
        ("wall / critical path", f"{wall / crit:.2f}"),
        ("wall / sum", f"{wall / total:.2f}"),
    ]
    for res in LAYERS:
        s = med(lambda r, res=res: r["windows"].get(res, (0, 0))[0])
        e = med(lambda r, res=res: r["windows"].get(res, (0, 0))[1])
        rows.append((f"  {res} requests window", f"{s:.2f} -> {e:.2f} s ({e - s:.2f} s)"))
    w = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"  {k:<{w}}  {v}")
    print()
    print(f"  {'ARM requests':<22}{'PUT':>6}{'GET':>6}{'poll':>6}{'DELETE':>8}{'other':>6}{'total':>7}{'429':>5}{'409':>5}")
    for phase, label in (("apply", "apply"), ("refresh", "refresh (plan)"), ("destroy", "destroy")):
        vals = [med(lambda r, c=c: r[phase][c]) for c in ("PUT", "GET", "poll", "DELETE", "other", "total", "429", "409")]
        print(f"  {label:<22}" + "".join(f"{v:>{wd}g}" for v, wd in zip(vals, (6, 6, 6, 8, 6, 7, 5, 5))))
    print(f"  (refresh target: {r0['underlying']} GETs, one per underlying resource, no polls; "
          f"apply wrote {r0['distinct_put_urls']} distinct URLs)")
    print()
    print("  slowest nodes against their emulated duration, run 1 (s after the apply's first ARM request;")
    print("  'took' = first PUT -> last PUT/GET answer of the node's URL):")
    print(f"  {'node':<44}{'emulated':>9}{'PUT at':>8}{'done at':>9}{'took':>7}{'excess':>8}")
    for key, emu_s, st, en in sorted(r0["spans"], key=lambda x: -(x[3] - x[2] - x[1]))[:a.top]:
        print(f"  {key:<44}{emu_s:>9.2f}{st:>8.2f}{en:>9.2f}{en - st:>7.2f}{en - st - emu_s:>8.2f}")
    bad = [r for r in runs if r["left"] or r["refresh_rc"] != 0 or r["leftovers"]]
    for r in bad:
        print(f"  run problem: left={r['left'][:4]} plan rc={r['refresh_rc']} leftovers={r['leftovers'][:3]}")
    print(f"\n  script took {time.perf_counter() - started:.0f} s")
    if a.json:
        a.json.write_text(json.dumps({"time_scale": a.time_scale, "runs": runs}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
