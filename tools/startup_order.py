#!/usr/bin/env python3
"""Regenerates provider/startup_order.ld: the code a provider process runs from exec to its
GetProviderSchema answer (then to its first ARM answer), placed first and together in the
binary's text.

Why: a file-backed page counts in a process's RSS once it is mapped, and the kernel maps
whole page-cache folios and their neighbours (fault-around) on every fault, so code touched
here and there across the 5 MB of gRPC, Abseil and our own text makes all of it resident.
Grouped, start-up touches about 2.4 MB of it (bench/startup.py measures the effect).

    tools/startup_order.py [--build DIR]

Needs valgrind and a build DIR (default build) of the provider linked with its map file
(meson.build writes DIR/terraform-provider-zerotrust.map). Runs the provider twice under
callgrind, as Terraform starts it (go-plugin handshake, AutoMTLS, GetProviderSchema), then
twice more also through its first ARM call against the emulator (ConfigureProvider signs
in, ImportResourceState GETs), then Shutdown. Every function it ran is mapped, through the
link map, to the input section holding it: the function's own section for code built with
-ffunction-sections (ours, libstdc++), the archive member's .text for Debian's gRPC/Abseil
archives (built without it). The script lists those sections, schema path first, in the
order callgrind first met them; sections it names that a later build does not have are
simply not matched (the order then only gets less tight, never wrong).
"""
from __future__ import annotations

import argparse
import bisect
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "provider" / "startup_order.ld"
sys.path.insert(0, str(REPO / "tests" / "e2e"))
sys.path.insert(0, str(REPO / "bench"))


def callgrind_functions(path: Path, binary: Path) -> list[str]:
    """Functions of `binary` that ran, in the order the profile first names them."""
    names = {"ob": {}, "fn": {}}
    out, seen, ob = [], set(), None
    for ln in path.read_text(errors="replace").splitlines():
        m = re.match(r"^(c?)(ob|fn)=\((\d+)\)(?: (.*))?$", ln)
        if not m:
            continue
        called, kind, n, name = m.groups()
        if name is not None:
            names[kind][n] = name
        name = names[kind].get(n)
        if kind == "ob" and not called:
            ob = name
        # (valgrind 3.19 names the object "???" once the text is split in two sections;
        # symbols() keeps only names of this binary)
        elif kind == "fn" and not called and ob in (str(binary), "???"):
            name = re.sub(r"'\d+$", "", name)   # callgrind's recursion marker
            if name not in seen:
                seen.add(name)
                out.append(name)
    return out


def record(binary: Path, work: Path, arm: bool) -> list[str]:
    """One provider run under callgrind: start, schema, (first ARM call), Shutdown."""
    import grpc
    work = Path(tempfile.mkdtemp(prefix="run-", dir=work))
    from plugin_client import grpc_channel, grpc_stubs, launch, make_autotls_cert
    import startup
    tf6, tf6_grpc, plugin_pb2, plugin_grpc = grpc_stubs(REPO / "proto")
    profile = work / f"callgrind.{'arm' if arm else 'schema'}"
    wrapper = work / "under-callgrind"
    wrapper.write_text(f"#!/bin/sh\nexec valgrind --tool=callgrind --demangle=no "
                       f"--callgrind-out-file={profile} {binary} \"$@\"\n")
    wrapper.chmod(0o755)
    cert = make_autotls_cert(work / "certs")
    env = {"PLUGIN_CLIENT_CERT": cert.cert_pem.decode(), "TMPDIR": str(work)}
    emu = None
    if arm:
        from hub_env import arm_env, start_emulator
        emu = start_emulator(work / "emulator", validate=False)
        env.update(arm_env(emu.info))
    try:
        l = launch(wrapper, env, cwd=work, timeout=120)
        if not l.match:
            raise SystemExit(f"startup_order: no handshake from {binary}: {l.line!r}")
        ch, relay = grpc_channel(l, cert, work)
        stub = tf6_grpc.ProviderStub(ch)
        stub.GetProviderSchema(tf6.GetProviderSchema.Request(), timeout=120)
        if arm:
            startup.first_arm_call(stub, tf6, {"ours": True, "subscription": emu.info["subscription_id"]},
                                   {}, time.perf_counter(), l.proc.pid)
        try:
            plugin_grpc.GRPCControllerStub(ch).Shutdown(plugin_pb2.Empty(), timeout=30)
        except grpc.RpcError:
            pass
        ch.close()
        if relay:
            relay.close()
        l.proc.wait(timeout=120)   # callgrind writes its profile at exit
    finally:
        if emu:
            emu.stop()
    return callgrind_functions(profile, binary.resolve())


def text_sections(map_path: Path) -> list[tuple[int, int, str, str]]:
    """(address, size, input section, file) of every input section of the output text."""
    body = map_path.read_text().split("Linker script and memory map", 1)[1].splitlines()
    out, in_text, pending = [], False, None
    for ln in body:
        if re.match(r"^\.\S", ln):
            in_text = ln.split()[0] in (".text", ".text.zt_startup")
            pending = None
            continue
        if not in_text:
            continue
        m = re.match(r"^ (\.\S+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$", ln)
        if m:
            out.append((int(m[2], 16), int(m[3], 16), m[1], m[4]))
            pending = None
            continue
        m = re.match(r"^ (\.\S+)$", ln)
        if m:
            pending = m[1]
            continue
        m = re.match(r"^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$", ln)
        if m and pending:
            out.append((int(m[1], 16), int(m[2], 16), pending, m[3]))
            pending = None
    return sorted(s for s in out if s[1] > 0)


def symbols(binary: Path) -> dict[str, list[int]]:
    """Text symbols -> addresses (file-local functions of one name in several objects:
    callgrind does not say which ran, so all of them)."""
    out = {}
    nm = subprocess.run(["nm", binary], capture_output=True, text=True, check=True).stdout
    for ln in nm.splitlines():
        p = ln.split()
        if len(p) == 3 and p[1] in "tTwW":
            out.setdefault(p[2], []).append(int(p[0], 16))
    return out


def file_pattern(file: str) -> str:
    """The linker-script file pattern of one input file (an archive member or an object)."""
    m = re.match(r"^(?:.*/)?([^/(]+)\(([^)]+)\)$", file)   # /path/libx.a(member.o)
    return f"*{m[1]}:{m[2]}" if m else f"*{file.rsplit('/', 1)[-1]}"


def pattern(section: str, file: str) -> str:
    """The linker-script input pattern for one input section."""
    if section not in (".text", ".text.unlikely", ".text.startup", ".text.hot", ".text.exit"):
        return f"*({section})"   # a function's own section: its name is unique enough
    return f"{file_pattern(file)}({section})"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", type=Path, default=REPO / "build")
    a = ap.parse_args()
    binary = (a.build / "terraform-provider-zerotrust").resolve()
    link_map = a.build / "terraform-provider-zerotrust.map"
    for p in (binary, link_map):
        if not p.is_file():
            print(f"startup_order: {p} not found (build the provider first)", file=sys.stderr)
            return 2
    if not shutil.which("valgrind"):
        print("startup_order: needs valgrind", file=sys.stderr)
        return 2
    secs = text_sections(link_map)
    starts = [s[0] for s in secs]
    addr = symbols(binary)
    work = Path(tempfile.mkdtemp(prefix="zt-order-"))
    try:
        # twice each: thread timing varies what runs before the answer and at teardown
        phases = [record(binary, work, arm=False), record(binary, work, arm=False),
                  record(binary, work, arm=True), record(binary, work, arm=True)]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    # the C runtime's start code, before main (callgrind counts it "below main")
    lines = ["    *Scrt1.o(.text)", "    *crtbeginS.o(.text)"]
    seen, size, files = set(lines), 0, []
    # the schema path's sections, then those only the first ARM call adds; each group
    # sorted, so that a new recording changes only the lines whose code changed
    for group in (phases[:2], phases[2:]):
        new, new_files = set(), set()
        for at in (at for fns in group for fn in fns for at in addr.get(fn, [])):
            i = bisect.bisect_right(starts, at) - 1
            if i < 0 or at >= secs[i][0] + secs[i][1]:
                continue   # not in the text (PLT stubs, callgrind's own names)
            p = pattern(secs[i][2], secs[i][3])
            if p not in seen:
                seen.add(p)
                new.add(p)
                size += secs[i][1]
            f = file_pattern(secs[i][3])
            if f not in files:
                files.append(f)
                new_files.add(f)
        lines += [f"    {p}" for p in sorted(new)]
        files = [f for f in files if f not in new_files] + sorted(new_files)
    # Their read-only data (tables, strings) follows them, ahead of the rest: the data
    # callgrind does not trace is most likely that of the code it saw run.
    data = [f"    {f}(.rodata .rodata.*)" for f in files]
    OUT.write_text(
        "/* Generated by tools/startup_order.py (see there): the text a provider process runs\n"
        " * from exec to its schema answer and its first ARM answer, first and together,\n"
        " * and the read-only data of the files that code comes from. */\n"
        "SECTIONS\n{\n  .text.zt_startup :\n  {\n" + "\n".join(lines) +
        "\n  }\n}\nINSERT BEFORE .text;\n\n"
        "SECTIONS\n{\n  .rodata.zt_startup :\n  {\n" + "\n".join(data) +
        "\n  }\n}\nINSERT BEFORE .rodata;\n")
    print(f"startup_order: {len(lines)} input sections, {size // 1024} KiB of "
          f"{sum(s[1] for s in secs) // 1024} KiB text -> {OUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
