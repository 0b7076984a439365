"""The portable release (tools/portable.py): linux_amd64 and linux_arm64 zips whose binary
needs only the C runtime of glibc 2.31 or later, proved where it has to run. For each cell
(architecture x Debian release) real Terraform on this machine asks the zipped binary,
started inside a debootstrap'd chroot of that release (arm64: under qemu-user inside the
chroot), for its schema: go-plugin handshake, AutoMTLS, GetProviderSchema over gRPC.

Cells: Debian 11 (glibc 2.31, OpenSSL 1.1: the oldest the release supports), 12 and 13.
In Debian 11 each binary also signs in and calls the ARM emulator over HTTPS (the linked-in
libcurl and OpenSSL 3).
CI runs Debian 11 for both architectures and one more cell, chosen by
ZT_PORTABLE_SHIFT (a rotating subset as in test_hub_faults.py); ZT_PORTABLE_FULL=1 runs all
six. Builds, sysroots, libcurl and chroots are cached under ~/.cache/zerotrust/portable,
keyed by what went into them; a fresh machine makes them first (a few minutes).
"""
from __future__ import annotations

import importlib.util
import json
import os
import zipfile
from pathlib import Path

import pytest

from e2e_support import REPO

_spec = importlib.util.spec_from_file_location("zt_portable", REPO / "tools" / "portable.py")
portable = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(portable)

ARCHES = ["amd64", "arm64"]
SUITES = ["bullseye", "bookworm", "trixie"]
GLIBC = {"bullseye": "2.31", "bookworm": "2.36", "trixie": "2.41"}   # Debian 11, 12, 13
FULL = os.environ.get("ZT_PORTABLE_FULL") == "1"
SHIFT = int(os.environ.get("ZT_PORTABLE_SHIFT", "0"))


def cells() -> list[tuple[str, str]]:
    every = [(a, s) for a in ARCHES for s in SUITES]
    if FULL:
        return every
    oldest = [(a, SUITES[0]) for a in ARCHES]
    rest = [c for c in every if c not in oldest]
    return oldest + [rest[SHIFT % len(rest)]]


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("chroot and debootstrap need root (CI runs as root)")
    out = tmp_path_factory.mktemp("zt-portable-dist")
    zips = {a: portable.build(a, out) for a in ARCHES}
    return out, zips


def expected_schema() -> dict:
    names = {}
    for kind, key in (("resources", "resources"), ("data-sources", "data_sources")):
        names[key] = sorted(json.loads(p.read_text())["name"]
                            for p in (REPO / "schemas" / kind).glob("*.json"))
    return names


def test_release_set_has_both_platforms(dist):
    out, zips = dist
    version = portable.json.loads(portable.run(["meson", "introspect", "--projectinfo",
                                                REPO / "meson.build"]).stdout)["version"]
    sums = (out / f"terraform-provider-zerotrust_{version}_SHA256SUMS").read_text()
    listed = sorted(line.split()[1] for line in sums.splitlines())
    assert listed == sorted([zips["amd64"].name, zips["arm64"].name,
                             f"terraform-provider-zerotrust_{version}_manifest.json"])
    for arch, z in zips.items():
        with zipfile.ZipFile(z) as f:
            assert f.namelist() == [f"terraform-provider-zerotrust_v{version}"]
            exe = out / f"{arch}.bin"
            exe.write_bytes(f.read(f.namelist()[0]))
        portable.check_binary(exe, arch)      # the C runtime only, glibc <= 2.31, no paths
        machine = portable.run(["readelf", "-h", exe]).stdout
        assert ("AArch64" if arch == "arm64" else "X86-64") in machine


@pytest.mark.parametrize("arch,suite", cells(), ids=[f"{a}-{s}" for a, s in cells()])
def test_zip_serves_its_schema_in_debian(arch, suite, dist):
    _, zips = dist
    found = portable.test(arch, suite, zips[arch])
    want = expected_schema()
    assert found["resources"] == want["resources"]
    assert found["data_sources"] == want["data_sources"]
    assert found["functions"] == ["cidr_layout"]
    assert found["glibc"] == GLIBC[suite]     # the chroot's own C library served it


@pytest.mark.parametrize("arch", ARCHES)
def test_zip_reaches_azure_from_debian_11(arch, dist, session_root):
    """The linked-in libcurl and OpenSSL 3 at work on glibc 2.31: importing a hub that does
    not exist signs in (client secret, token endpoint) and GETs its VNet over HTTPS from
    inside the chroot; the emulator's CA is the only trust anchor there (no ca-certificates)."""
    from hub_env import arm_env, start_emulator
    _, zips = dist
    emu = start_emulator(session_root / f"portable-emulator-{arch}", time_scale=0.001)
    try:
        with portable.ChrootProvider(arch, SUITES[0], zips[arch]) as cp:
            ca = cp.inside / "emulator-ca.pem"
            ca.write_bytes(Path(emu.info["ca_cert"]).read_bytes())
            env = arm_env(emu.info) | {"ARM_CA_BUNDLE_PATH": str(ca)}
            cp.main_tf((REPO / "examples" / "resources" / "zerotrust_hub" / "resource.tf").read_text())
            vnet = (f"/subscriptions/{emu.info['subscription_id']}/resourceGroups/rg-none"
                    "/providers/Microsoft.Network/virtualNetworks/vnet-none")
            seq = emu.last_seq()
            p = cp.terraform("import", "zerotrust_hub.this", vnet, env=env)
            assert p.returncode != 0
            err = " ".join(p.stderr.split())
            # ARM's 404, read over TLS: not a TLS, DNS or libcurl error
            assert f"Hub not found The virtual network {vnet} does not exist." in err, err
            gets = [r for r in emu.requests(since=seq, kind="arm")
                    if r["method"] == "GET" and "/virtualNetworks/vnet-none" in r["path"]]
            assert gets, emu.requests(since=seq)
    finally:
        emu.stop()
