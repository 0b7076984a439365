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

Medians, and the ratio Go floor / ours. Target (issue): 10x faster start,
5x less memory than the Go floor.

The Go floor is tools/install-peers.sh's terraform-provider-gofloor (a
null_resource provider on terraform-plugin-framework, as
hashicorp/terraform-provider-null is built; the real one is not available
from the module proxy here). Any other provider binary can be passed with
--peer.

grpcio's BoringSSL cannot verify go-plugin's P-521 server certificates, so
the gRPC client reaches every provider through the same small TLS relay
(Python's OpenSSL; tests/e2e/plugin_client.py). Its cost is included for
both providers alike.

usage: bench/startup.sh [-n RUNS] [--ours BIN] [--peer BIN] [--json FILE]
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


def one_run(binary: Path, cert, workdir: Path, stubs) -> dict:
    tf6, tf6_grpc, plugin_pb2, plugin_grpc = stubs
    import grpc
    d = Path(tempfile.mkdtemp(prefix="b-", dir=workdir))
    env = {"PLUGIN_CLIENT_CERT": cert.cert_pem.decode(), "TMPDIR": str(d)}
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
        try:
            with open(f"/proc/{p.pid}/status") as f:
                hwm = [ln for ln in f if ln.startswith("VmHWM:")]
            res["vmhwm_kib"] = int(hwm[0].split()[1]) if hwm else None
        except OSError:
            res["vmhwm_kib"] = None
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
    ap.add_argument("--json", type=Path, help="also write the raw runs here")
    a = ap.parse_args()

    provs = {"zerotrust (C)": a.ours, "Go floor": a.peer}
    for name, b in provs.items():
        if not (b.is_file() and os.access(b, os.X_OK)):
            print(f"startup: {name} binary not found: {b}"
                  + (" (run tools/install-peers.sh)" if name == "Go floor" else " (build it first)"),
                  file=sys.stderr)
            return 2
    work = Path(tempfile.mkdtemp(prefix="zt-bench-"))
    try:
        stubs = grpc_stubs(REPO / "proto")
        cert = make_autotls_cert(work / "certs", "client")   # P-521, as Terraform
        runs = {n: [] for n in provs}
        # one warm-up each (page cache), then interleaved runs
        for n, b in provs.items():
            one_run(b, cert, work, stubs)
        for i in range(a.runs):
            for n, b in provs.items():
                runs[n].append(one_run(b, cert, work, stubs))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    ours, floor = runs["zerotrust (C)"], runs["Go floor"]
    rows = [
        ("exec -> handshake line", "handshake_ms", "ms"),
        ("exec -> GetProviderSchema answer", "schema_ms", "ms"),
        ("Shutdown RPC -> exited", "exit_ms", "ms"),
        ("CPU time (user+sys)", "cpu_ms", "ms"),
        ("handshake -> schema answer", "rpc_ms", "ms"),
        ("peak RSS (VmHWM at schema answer)", "vmhwm_kib", "KiB"),
        ("schema response size", "schema_bytes", "B"),
    ]
    print(f"\nProvider start-up, {a.runs} runs each (interleaved, after 1 warm-up), medians")
    print(f"host: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs; "
          f"ours: {a.ours}; Go floor: {a.peer}")
    w = 34
    print(f"\n{'metric':<{w}} {'zerotrust (C)':>14} {'Go floor':>14} {'floor/ours':>11}")
    print("-" * (w + 42))
    summary = {}
    for label, key, unit in rows:
        mo, mf = med([r.get(key) for r in ours]), med([r.get(key) for r in floor])
        ratio = (mf / mo) if (mo and mf) else None
        summary[key] = {"ours": mo, "floor": mf, "ratio": ratio}
        fmt = (lambda v: "-" if v is None else (f"{v:.1f} {unit}" if unit == "ms" else f"{v:.0f} {unit}"))
        print(f"{label:<{w}} {fmt(mo):>14} {fmt(mf):>14} "
              f"{('-' if ratio is None else f'{ratio:.1f}x'):>11}")
    killed = {n: sum(1 for r in rs if r.get("killed")) for n, rs in runs.items()}
    if any(killed.values()):
        print(f"\nkilled after 2 s without exiting on Shutdown: {killed}")
    st, mem = summary["schema_ms"]["ratio"], summary["vmhwm_kib"]["ratio"]
    print(f"\ntarget 10x faster start (to schema answer): "
          f"{'-' if st is None else f'{st:.1f}x'} -> {'met' if st and st >= 10 else 'NOT met'}")
    print(f"target 5x less memory (peak RSS):          "
          f"{'-' if mem is None else f'{mem:.1f}x'} -> {'met' if mem and mem >= 5 else 'NOT met'}")
    if a.json:
        a.json.write_text(json.dumps({"runs": runs, "summary": summary}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
