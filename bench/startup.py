#!/usr/bin/env python3
"""Start-up cost of the provider, side by side with a Go provider (the floor
of the Go plugin stack), in the same run: each provider is started as
Terraform starts it (go-plugin environment, AutoMTLS client certificate),
N times, interleaved, and we measure

  handshake   exec -> the go-plugin handshake line on stdout
  schema      exec -> the answer to GetProviderSchema (grpcio client, mutual
              TLS; includes channel set-up and the TLS handshake)
  exit        Shutdown RPC -> the process has exited
  peak RSS    VmHWM of the provider process (/proc/PID/status) when the
              schema answer has arrived
  first ARM   (ours, with --arm, the default when the ARM emulator can start)
              ConfigureProvider (which signs in: a token over TLS from the
              emulator) then ImportResourceState of a spoke whose VNet does
              not exist (one GET to ARM): exec -> that answer, and VmHWM
              after it (libcurl, the TLS trust store, the credential loaded).
              The Go floor is configured only (it has no API to call), its
              VmHWM taken after that.

Medians, and the ratio Go floor / ours. Targets: a quarter of the Go
floor's time to the schema answer, half its memory (at the schema answer,
and after our first ARM call against the floor configured).

The Go floor is tools/install-peers.sh's terraform-provider-gofloor (a
null_resource provider on terraform-plugin-framework, as
hashicorp/terraform-provider-null is built; the real one is not available
from the module proxy here). Any other provider binary can be passed with
--peer.

grpcio's BoringSSL cannot verify go-plugin's P-521 server certificates, so
the gRPC client reaches every provider through the same small TLS relay
(Python's OpenSSL; tests/e2e/plugin_client.py). Its cost is included for
both providers alike.

--base BIN adds another build of this provider (main's, say) as a third
column, run interleaved with the others: before/after figures from one run.

usage: bench/startup.sh [-n RUNS] [--ours BIN] [--peer BIN] [--base BIN] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))

from plugin_client import (grpc_channel, grpc_stubs, launch, make_autotls_cert)  # noqa: E402


def vmhwm_kib(pid: int):
    try:
        with open(f"/proc/{pid}/status") as f:
            hwm = [ln for ln in f if ln.startswith("VmHWM:")]
        return int(hwm[0].split()[1]) if hwm else None
    except OSError:
        return None


def first_arm_call(stub, tf6, arm: dict | None, res: dict, t0: float, pid: int) -> None:
    """ConfigureProvider, then (ours) one ImportResourceState that GETs a VNet."""
    r = stub.ConfigureProvider(tf6.ConfigureProvider.Request(
        terraform_version="1.5.7", config=tf6.DynamicValue(json=b"{}")), timeout=30)
    errs = [x.summary + ": " + x.detail for x in r.diagnostics if x.severity == 1]
    if errs:
        raise RuntimeError(f"ConfigureProvider: {errs}")
    if arm["ours"]:
        vnet = (f"/subscriptions/{arm['subscription']}/resourceGroups/rg-startup/providers/"
                "Microsoft.Network/virtualNetworks/vnet-absent")
        r = stub.ImportResourceState(tf6.ImportResourceState.Request(type_name="zerotrust_spoke", id=vnet),
                                     timeout=60)
        why = " ".join(x.summary + " " + x.detail for x in r.diagnostics)
        if "not" not in why.lower():   # the VNet is absent: Azure's 404, as a diagnostic
            raise RuntimeError(f"ImportResourceState did not reach ARM: {why!r}")
    res["arm_ms"] = (time.perf_counter() - t0) * 1000
    res["arm_vmhwm_kib"] = vmhwm_kib(pid)


def one_run(binary: Path, cert, workdir: Path, stubs, arm: dict | None = None) -> dict:
    tf6, tf6_grpc, plugin_pb2, plugin_grpc = stubs
    import grpc
    d = Path(tempfile.mkdtemp(prefix="b-", dir=workdir))
    env = {"PLUGIN_CLIENT_CERT": cert.cert_pem.decode(), "TMPDIR": str(d)}
    if arm:
        env.update(arm["env"])  # the same environment for both
    # As Terraform: no TF_LOG -> providers log nothing.
    for k in ("TF_LOG", "TF_LOG_PROVIDER", "TF_LOG_PATH"):
        env[k] = ""
    t0 = time.perf_counter()
    l = launch(binary, env, cwd=d, timeout=30)
    p = l.proc
    res = {"handshake_ms": (time.perf_counter() - t0) * 1000 if l.match else None}
    if not l.match:
        p.kill()
        _, status, ru = os.wait4(p.pid, 0)
        err = p.stderr.read().decode(errors="replace")[-500:]
        raise RuntimeError(f"{binary}: no handshake (first line {l.line!r}, stderr {err!r})")
    ch, relay = grpc_channel(l, cert, d)
    try:
        resp = tf6_grpc.ProviderStub(ch).GetProviderSchema(tf6.GetProviderSchema.Request(), timeout=30)
        res["schema_ms"] = (time.perf_counter() - t0) * 1000
        res["schema_bytes"] = resp.ByteSize()
        errs = [x.summary for x in resp.diagnostics if x.severity == 1]
        if errs:
            raise RuntimeError(f"{binary}: GetProviderSchema errors {errs}")
        res["vmhwm_kib"] = vmhwm_kib(p.pid)
        if arm:
            first_arm_call(tf6_grpc.ProviderStub(ch), tf6, arm, res, t0, p.pid)
        t1 = time.perf_counter()
        try:
            plugin_grpc.GRPCControllerStub(ch).Shutdown(plugin_pb2.Empty(), timeout=5)
        except grpc.RpcError:
            pass  # go-plugin servers drop the connection while stopping
    finally:
        ch.close()
        if relay:
            relay.close()
    # wait4 for the rusage; give it go-plugin's 2 s, then kill as Terraform would
    deadline = time.monotonic() + 2.0
    status, ru = None, None
    while time.monotonic() < deadline:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        time.sleep(0.002)
    else:
        p.kill()
        _, status, ru = os.wait4(p.pid, 0)
        res["killed"] = True
    res["exit_ms"] = (time.perf_counter() - t1) * 1000
    # (ru.ru_maxrss is useless here: Linux counts the forked Python image
    # before exec. VmHWM belongs to the exec'd image only.)
    res["rpc_ms"] = res["schema_ms"] - res["handshake_ms"]
    res["cpu_ms"] = (ru.ru_utime + ru.ru_stime) * 1000
    p.returncode = os.waitstatus_to_exitcode(status)
    for s in (p.stdout, p.stderr):
        s.close()
    shutil.rmtree(d, ignore_errors=True)
    return res


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", "--runs", type=int, default=int(os.environ.get("ZT_BENCH_RUNS", "20")))
    ap.add_argument("--ours", type=Path, default=Path(os.environ.get(
        "ZT_PROVIDER_BIN", REPO / "build" / "terraform-provider-zerotrust")))
    ap.add_argument("--peer", type=Path, default=Path(os.environ.get(
        "ZT_BENCH_PEER", Path(os.environ.get("ZT_PEERS_DIR", Path.home() / ".cache" / "zerotrust"))
        / "bin" / "terraform-provider-gofloor")))
    ap.add_argument("--base", type=Path, help="another build of this provider, as a third column")
    ap.add_argument("--json", type=Path, help="also write the raw runs here")
    ap.add_argument("--no-arm", dest="arm", action="store_false",
                    help="skip the first-ARM-call phase (no emulator)")
    a = ap.parse_args()

    provs = {"zerotrust (C)": a.ours, "Go floor": a.peer}
    if a.base:
        provs["base"] = a.base
    for name, b in provs.items():
        if not (b.is_file() and os.access(b, os.X_OK)):
            print(f"startup: {name} binary not found: {b}"
                  + (" (run tools/install-peers.sh)" if name == "Go floor" else " (build it first)"),
                  file=sys.stderr)
            return 2
    work = Path(tempfile.mkdtemp(prefix="zt-bench-"))
    emu = None
    try:
        stubs = grpc_stubs(REPO / "proto")
        cert = make_autotls_cert(work / "certs", "client")   # P-521, as Terraform
        arms = {n: None for n in provs}
        if a.arm:
            from hub_env import arm_env, start_emulator
            emu = start_emulator(work / "emulator", validate=False)
            e = arm_env(emu.info)
            arms = {n: {"ours": n != "Go floor", "env": e, "subscription": emu.info["subscription_id"]}
                    for n in provs}
        runs = {n: [] for n in provs}
        # one warm-up each (page cache), then interleaved runs
        for n, b in provs.items():
            one_run(b, cert, work, stubs, arms[n])
        for i in range(a.runs):
            for n, b in provs.items():
                runs[n].append(one_run(b, cert, work, stubs, arms[n]))
    finally:
        if emu:
            emu.stop()
        shutil.rmtree(work, ignore_errors=True)

    ours, floor = runs["zerotrust (C)"], runs["Go floor"]
    rows = [
        ("exec -> handshake line", "handshake_ms", "ms"),
        ("exec -> GetProviderSchema answer", "schema_ms", "ms"),
        ("Shutdown RPC -> exited", "exit_ms", "ms"),
        ("CPU time (user+sys)", "cpu_ms", "ms"),
        ("handshake -> schema answer", "rpc_ms", "ms"),
        ("peak RSS (VmHWM at schema answer)", "vmhwm_kib", "KiB"),
        ("exec -> first ARM answer (floor: configured)", "arm_ms", "ms"),
        ("peak RSS after it", "arm_vmhwm_kib", "KiB"),
        ("schema response size", "schema_bytes", "B"),
    ]
    print(f"\nProvider start-up, {a.runs} runs each (interleaved, after 1 warm-up), medians")
    print(f"host: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs; "
          f"ours: {a.ours}; Go floor: {a.peer}")
    w = 46
    base = runs.get("base")
    if base:
        print(f"base: {a.base}")
    print(f"\n{'metric':<{w}} {'zerotrust (C)':>14} {'Go floor':>14} {'floor/ours':>11}"
          + (f" {'base':>14} {'base/ours':>10}" if base else ""))
    print("-" * (w + 42 + (26 if base else 0)))
    summary = {}
    for label, key, unit in rows:
        mo, mf = med([r.get(key) for r in ours]), med([r.get(key) for r in floor])
        ratio = (mf / mo) if (mo and mf) else None
        summary[key] = {"ours": mo, "floor": mf, "ratio": ratio}
        fmt = (lambda v: "-" if v is None else (f"{v:.1f} {unit}" if unit == "ms" else f"{v:.0f} {unit}"))
        line = (f"{label:<{w}} {fmt(mo):>14} {fmt(mf):>14} "
                f"{('-' if ratio is None else f'{ratio:.1f}x'):>11}")
        if base:
            mb = med([r.get(key) for r in base])
            summary[key]["base"] = mb
            line += f" {fmt(mb):>14} {('-' if not (mb and mo) else f'{mb / mo:.2f}x'):>10}"
        print(line)
    killed = {n: sum(1 for r in rs if r.get("killed")) for n, rs in runs.items()}
    if any(killed.values()):
        print(f"\nkilled after 2 s without exiting on Shutdown: {killed}")
    def target(label, key, want):
        r = summary[key]["ratio"]
        print(f"{label:<52} {'-' if r is None else f'{r:.1f}x':>6} -> "
              f"{'met' if r and r >= want else 'NOT met'}")
    print()
    target("target 4x faster start (to schema answer):", "schema_ms", 4)
    target("target 2x less memory (peak RSS at schema answer):", "vmhwm_kib", 2)
    if a.arm:
        target("target 2x less memory (after the first ARM call):", "arm_vmhwm_kib", 2)
    if a.json:
        a.json.write_text(json.dumps({"runs": runs, "summary": summary}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
