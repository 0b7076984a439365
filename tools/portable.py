#!/usr/bin/env python3
"""Portable release binaries: linux_amd64 and linux_arm64 zips whose binary needs only the
C runtime (glibc 2.31 or later: libc, libm, libdl, libpthread, and GCC's libgcc_s, which
glibc itself loads), with everything else linked in: gRPC core, Abseil, protobuf-c, OpenSSL 3,
jansson, msgpack, zlib, and libcurl (built from Debian's source package, HTTPS only).

    tools/portable.py build --arch amd64|arm64 [--out DIR]     release zip into DIR
    tools/portable.py test  --arch amd64|arm64 --suite bullseye|bookworm|trixie --zip Z
        Real Terraform runs `providers schema -json` against the zipped binary inside a
        debootstrap'd chroot of that Debian release (arm64: under qemu-user, in the chroot).

How (everything from Debian's packages, fetched with apt through a private configuration
that leaves the machine's sources alone, and cached under ~/.cache/zerotrust/portable keyed
by what went in):
  * objects: compiled here (Debian 12's compilers and headers; arm64 with the cross
    toolchain) against Debian 12's static libraries (unpacked .debs for arm64);
  * the final link: against a sysroot of Debian 11's glibc 2.31 (unpacked libc6-dev), with
    libstdc++ linked in; two symbols newer than 2.31 that Debian 12's static libraries use
    are defined in tools/portable/glibc_compat.c;
  * the schemas prebuilt as in the meson build (tools/prebuilt_schemas.c, run by a native
    build of the same sources, build-portable-schemas), and meson.build's start-up
    link options (the start-up code placed together, provider/startup_order.ld);
  * checked: no NEEDED library beyond the C runtime, no glibc symbol version above 2.31,
    no path of the build machine, the prebuilt schemas linked in; then packaged by
    tools/dist.py (stripped, reproducible).
macOS and Windows cannot be built here (docs/index.md, "Supported platforms").
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("ZT_CACHE_DIR", Path.home() / ".cache" / "zerotrust")) / "portable"
GLIBC_MAX = (2, 31)
SYSROOT_SUITE = "bullseye"       # Debian 11: glibc 2.31
LIBS_SUITE = "bookworm"          # Debian 12: OpenSSL 3, gRPC, the compilers of this machine
ARCHES = {
    "amd64": {"triplet": "x86_64-linux-gnu", "loader": ("lib64", "ld-linux-x86-64.so.2"),
              "qemu": None},
    "arm64": {"triplet": "aarch64-linux-gnu", "loader": ("lib", "ld-linux-aarch64.so.1"),
              "qemu": "qemu-aarch64-static"},
}
SYSROOT_PACKAGES = ["libc6", "libc6-dev", "linux-libc-dev", "libcrypt1", "libcrypt-dev", "libgcc-s1"]
# Debian 12 -dev packages whose static archives the binary links (both architectures).
LIB_PACKAGES = ["libgrpc-dev", "libabsl-dev", "libre2-dev", "libc-ares-dev",
                "zlib1g-dev", "libprotobuf-c-dev", "libssl-dev", "libmsgpack-dev",
                "libjansson-dev", "libnghttp2-dev"]
# The C runtime: what the binary may still load from the system.
ALLOWED_NEEDED = {"libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1",
                  "libgcc_s.so.1", "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1"}
CURL_CONFIGURE = [
    "--disable-shared", "--enable-static", "--with-pic", "--with-zlib", "--with-nghttp2",
    "--without-ca-bundle", "--without-ca-path", "--without-libpsl", "--without-libidn2",
    "--without-brotli", "--without-zstd", "--without-librtmp", "--without-libssh2",
    "--without-libgsasl", "--disable-ldap", "--disable-ldaps", "--disable-rtsp", "--disable-dict",
    "--disable-telnet", "--disable-tftp", "--disable-pop3", "--disable-imap", "--disable-smb",
    "--disable-smtp", "--disable-gopher", "--disable-mqtt", "--disable-manual", "--disable-ntlm",
    "--disable-ftp", "--disable-file", "--disable-unix-sockets", "--disable-alt-svc",
]


def log(msg: str) -> None:
    print(f"portable: {msg}", flush=True)


def run(argv, **kw) -> subprocess.CompletedProcess:
    p = subprocess.run([str(a) for a in argv], capture_output=True, text=True, **kw)
    if p.returncode != 0:
        raise SystemExit(f"portable: $ {' '.join(map(str, argv))} -> {p.returncode}\n"
                         f"{p.stdout[-4000:]}\n{p.stderr[-4000:]}")
    return p


def key_of(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def ensure_tools(arch: str, testing: bool = False) -> None:
    need = {"debootstrap": "debootstrap", "dpkg-source": "dpkg-dev", "make": "make"}
    if arch == "arm64":
        need |= {"aarch64-linux-gnu-g++": "g++-aarch64-linux-gnu",
                 "aarch64-linux-gnu-strip": "binutils-aarch64-linux-gnu"}
        if testing:
            need["qemu-aarch64-static"] = "qemu-user-static"
    missing = sorted({pkg for prog, pkg in need.items() if not shutil.which(prog)})
    if missing:
        log(f"installing {' '.join(missing)}")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        if subprocess.run(["apt-get", "install", "-y", "-qq", *missing], env=env,
                          capture_output=True).returncode != 0:
            run(["apt-get", "update", "-qq"])
            run(["apt-get", "install", "-y", "-qq", *missing], env=env)


# ---------------------------------------------------------------- Debian packages

def debian_mirror() -> str:
    """The machine's own Debian mirror (its apt sources), so nothing else is contacted."""
    if os.environ.get("ZT_DEBIAN_MIRROR"):
        return os.environ["ZT_DEBIAN_MIRROR"]
    texts = [p.read_text() for p in [Path("/etc/apt/sources.list"),
                                      *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
             if p.is_file()]
    for url in re.findall(r"(?:URIs:\s*|^deb\s+(?:\[[^]]*\]\s+)?)(\S+)", "\n".join(texts), re.M):
        if not url.rstrip("/").endswith("-security"):
            return url.rstrip("/")
    raise SystemExit("portable: no Debian mirror in /etc/apt (set ZT_DEBIAN_MIRROR)")


class Apt:
    """apt-get with its own sources, lists and status: one suite, one architecture."""

    def __init__(self, suite: str, arch: str):
        self.dir = CACHE / "apt" / f"{suite}-{arch}"
        for d in ("lists/partial", "archives/partial"):
            (self.dir / d).mkdir(parents=True, exist_ok=True)
        (self.dir / "status").touch()
        mirror = debian_mirror()
        (self.dir / "sources.list").write_text(f"deb [arch={arch}] {mirror} {suite} main\n"
                                               f"deb-src {mirror} {suite} main\n")
        self.opts = []
        for k, v in {"Dir::Etc::SourceList": self.dir / "sources.list",
                     "Dir::Etc::SourceParts": "/nonexistent", "Dir::State::Lists": self.dir / "lists",
                     "Dir::State::status": self.dir / "status", "Dir::Cache": self.dir,
                     "Dir::Etc::Preferences": "/dev/null", "Dir::Etc::PreferencesParts": "/nonexistent",
                     "APT::Architecture": arch, "APT::Architectures": arch, "Debug::NoLocking": "1",
                     "APT::Sandbox::User": "root", "Acquire::Languages": "none"}.items():
            self.opts += ["-o", f"{k}={v}"]
        self.updated = False

    def update(self) -> None:
        if not self.updated:
            run(["apt-get", *self.opts, "-qq", "update"])
            self.updated = True

    def versions(self, packages: list[str]) -> dict[str, str]:
        self.update()
        out = run(["apt-cache", *self.opts, "show", "--no-all-versions", *packages]).stdout
        return dict(re.findall(r"^Package: (\S+)\n(?:.*\n)*?Version: (\S+)", out, re.M))

    def unpack(self, packages: list[str], dst: Path) -> None:
        with tempfile.TemporaryDirectory(prefix="zt-debs-") as tmp:
            run(["apt-get", *self.opts, "-qq", "download", *packages], cwd=tmp)
            for deb in sorted(Path(tmp).glob("*.deb")):
                run(["dpkg-deb", "-x", deb, dst])

    def source(self, package: str, dst: Path) -> Path:
        self.update()
        dst.mkdir(parents=True, exist_ok=True)
        run(["apt-get", *self.opts, "-qq", "source", "--download-only", package], cwd=dst)
        dsc = next(dst.glob(f"{package}_*.dsc"))
        out = dst / "src"
        run(["dpkg-source", "--no-check", "-x", dsc, out], cwd=dst)
        return out


def relative_symlinks(root: Path) -> None:
    """Absolute symlinks in an unpacked tree point into the tree, not at the machine."""
    for p in root.rglob("*"):
        if p.is_symlink() and os.readlink(p).startswith("/"):
            target = root / os.readlink(p).lstrip("/")
            p.unlink()
            p.symlink_to(os.path.relpath(target, p.parent))


def cached_tree(kind: str, key: str, make) -> Path:
    """CACHE/kind/key, made once by make(dir) in place (some trees name their own path);
    a tree without its .done marker was interrupted and is made again."""
    dst = CACHE / kind / key
    if (dst / ".done").exists():
        return dst
    shutil.rmtree(dst, ignore_errors=True)
    dst.mkdir(parents=True)
    make(dst)
    (dst / ".done").touch()
    return dst


def unpacked(kind: str, suite: str, arch: str, packages: list[str], what: str, finish=None) -> Path:
    """Debian packages of suite/arch unpacked into a tree, cached by their versions."""
    apt = Apt(suite, arch)
    versions = apt.versions(packages)

    def make(d: Path):
        log(f"{kind}: {what} ({arch})")
        apt.unpack(packages, d)
        relative_symlinks(d)
        if finish:
            finish(d)
    return cached_tree(kind, f"{suite}-{arch}-{key_of(versions)}", make)


def sysroot(arch: str) -> Path:
    """Debian 11's glibc for the final link (with the dynamic loader where libc.so says)."""
    def loader_link(d: Path):
        sub, name = ARCHES[arch]["loader"]
        (d / sub).mkdir(exist_ok=True)
        link = d / sub / name
        if not link.exists():
            link.symlink_to(os.path.relpath(d / "lib" / ARCHES[arch]["triplet"] / name, link.parent))
    return unpacked("sysroot", SYSROOT_SUITE, arch, SYSROOT_PACKAGES, "glibc of Debian 11",
                    loader_link)


def libs_root(arch: str) -> Path:
    """Debian 12's static libraries (and headers) for arch."""
    return unpacked("libs", LIBS_SUITE, arch, LIB_PACKAGES, "Debian 12 static archives")


# ---------------------------------------------------------------- libcurl

def toolchain(arch: str) -> dict:
    t = ARCHES[arch]["triplet"]
    if arch == "amd64":
        return {"CC": "gcc", "CXX": "g++", "AR": "ar", "STRIP": "strip", "host": None}
    return {"CC": f"{t}-gcc", "CXX": f"{t}-g++", "AR": f"{t}-ar", "STRIP": f"{t}-strip", "host": t}


def curl(arch: str, libs: Path) -> Path:
    """libcurl.a from Debian 12's curl source package: HTTPS (HTTP/2) with OpenSSL 3."""
    apt = Apt(LIBS_SUITE, arch)
    version = apt.versions(["libcurl4-openssl-dev"])["libcurl4-openssl-dev"]
    t = ARCHES[arch]["triplet"]
    tc = toolchain(arch)

    def make(prefix: Path):
        log(f"libcurl {version}: building from the Debian source package ({arch}, a few minutes)")
        with tempfile.TemporaryDirectory(prefix="zt-curl-") as tmp:
            src = Apt(LIBS_SUITE, "amd64").source("curl", Path(tmp))
            inc = f"-I{libs}/usr/include -I{libs}/usr/include/{t}"
            lib = f"-L{libs}/usr/lib/{t}"
            env = dict(os.environ, CC=tc["CC"], AR=tc["AR"], CPPFLAGS=inc, LDFLAGS=lib,
                       CFLAGS="-O2 -fPIC", PKG_CONFIG_LIBDIR=f"{libs}/usr/lib/{t}/pkgconfig",
                       PKG_CONFIG_SYSROOT_DIR=str(libs), LIBS="-lpthread -ldl")
            argv = ["./configure", f"--prefix={prefix}", f"--with-openssl={libs}/usr",
                    f"--with-nghttp2={libs}/usr", *CURL_CONFIGURE]
            if tc["host"]:
                argv.append(f"--host={tc['host']}")
            if not (src / "configure").exists():
                run(["autoreconf", "-fi"], cwd=src)
            run(argv, cwd=src, env=env)
            run(["make", f"-j{os.cpu_count() or 2}", "-C", "lib"], cwd=src, env=env)
            run(["make", "-C", "lib", "install"], cwd=src, env=env)
            run(["make", "-C", "include", "install"], cwd=src, env=env)
            (prefix / "lib" / "pkgconfig").mkdir(parents=True, exist_ok=True)
            shutil.copy(src / "libcurl.pc", prefix / "lib" / "pkgconfig" / "libcurl.pc")
    return cached_tree("curl", f"{arch}-{key_of(version, CURL_CONFIGURE, toolchain(arch))}", make)


# ---------------------------------------------------------------- the provider

def cross_file(arch: str, libs: Path, build: Path) -> list[str]:
    if arch == "amd64":
        return []
    t = ARCHES[arch]["triplet"]
    f = CACHE / "cross" / f"{build.name}.ini"
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text(f"""[binaries]
c = '{t}-gcc'
cpp = '{t}-g++'
ar = '{t}-ar'
strip = '{t}-strip'
pkgconfig = 'pkg-config'

[built-in options]
c_args = ['-I{libs}/usr/include', '-I{libs}/usr/include/{t}']
c_link_args = ['-L{libs}/usr/lib/{t}']

[properties]
# no sys_root: it would prefix libcurl's own (absolute) prefix too; the libraries'
# headers come from c_args, pkg-config drops their /usr/include as a system path
pkg_config_libdir = ['{libs}/usr/lib/{t}/pkgconfig', '{libs}/usr/share/pkgconfig']

[host_machine]
system = 'linux'
cpu_family = 'aarch64'
cpu = 'aarch64'
endian = 'little'
""")
    return ["--cross-file", str(f)]


def static_libs(arch: str, libs: Path, curl_prefix: Path) -> list[str]:
    """The archives of the link, in dependency order (gRPC's from its pkg-config files)."""
    t = ARCHES[arch]["triplet"]
    libdir = libs / "usr" / "lib" / t
    env = dict(os.environ, PKG_CONFIG_LIBDIR=f"{libdir}/pkgconfig:{libs}/usr/share/pkgconfig",
               PKG_CONFIG_SYSROOT_DIR=str(libs))
    names = run(["pkg-config", "--static", "--libs-only-l", "grpc", "gpr"], env=env).stdout.split()
    out = []
    for n in [x[2:] for x in names] + ["protobuf-c", "msgpackc", "jansson", "nghttp2", "ssl",
                                      "crypto", "z"]:
        if n in ("m", "rt", "dl", "pthread", "stdc++", "atomic") or str(libdir / f"lib{n}.a") in out:
            continue
        a = libdir / f"lib{n}.a"
        if not a.exists():
            raise SystemExit(f"portable: no static {a.name} for {arch} in {libdir}")
        out.append(str(a))
    return [str(curl_prefix / "lib" / "libcurl.a")] + out


# The schemas as data and the GetProviderSchema answer (tools/prebuilt_schemas.c), as the
# meson build links them, generated by a native build of the same sources (these builds
# cannot link the tool: static libcurl's libraries are not on this machine, and arm64's
# cannot run here); the file is the same for both architectures.
PREBUILT_SCHEMAS = "zt_prebuilt_schemas.c"
PREBUILT_SCHEMAS_O = "terraform-provider-zerotrust.p/meson-generated_.._zt_prebuilt_schemas.c.o"
# objects of the executable itself (meson.build), linked ahead of the archives
EXE_OBJECTS = ["terraform-provider-zerotrust.p/provider_main.c.o",
               "terraform-provider-zerotrust.p/provider_plugin_zt_grpc_plugins.c.o",
               PREBUILT_SCHEMAS_O]


def native_prebuilt_schemas() -> Path:
    """zt_prebuilt_schemas.c from a native build of these sources (build-portable-schemas)."""
    bdir = REPO / "build-portable-schemas"
    if not (bdir / "build.ninja").exists():
        log(f"schemas: meson setup {bdir.name} (native, for the cross build)")
        run(["meson", "setup", bdir, "-Dtests=false"], cwd=REPO)
    run(["ninja", "-C", bdir, PREBUILT_SCHEMAS])
    return bdir / PREBUILT_SCHEMAS


def check_prebuilt(exe: Path) -> None:
    """The binary serves its schemas from the prebuilt data: no process parses them."""
    syms = set(run(["nm", exe]).stdout.split())
    missing = {"zt_prebuilt_schemas", "zt_prebuilt_schema_response"} - syms
    if missing:
        raise SystemExit(f"portable: {exe.name} lacks the prebuilt schemas ({sorted(missing)})")


def build(arch: str, out: Path) -> Path:
    ensure_tools(arch)
    tc = toolchain(arch)
    t = ARCHES[arch]["triplet"]
    libs, root = libs_root(arch), sysroot(arch)
    curl_prefix = curl(arch, libs)
    bdir = REPO / f"build-portable-{arch}"
    env = dict(os.environ, PKG_CONFIG_PATH=f"{curl_prefix}/lib/pkgconfig")
    schemas = [f"-Dprebuilt_schemas={native_prebuilt_schemas()}"]
    if not (bdir / "build.ninja").exists():
        log(f"provider: meson setup {bdir.name}")
        # static_deps=false: meson only compiles; the link below names every archive
        run(["meson", "setup", bdir, "-Dtests=false", "-Dreproducible=true", "-Dcurl=static",
             "-Dstatic_deps=false", *schemas,
             *cross_file(arch, libs, bdir)], cwd=REPO, env=env)
    else:
        run(["meson", "configure", bdir, *schemas], env=env)
    log(f"provider: compiling ({arch})")
    run(["ninja", "-C", bdir, "libzt.a", "libztproto.a", *EXE_OBJECTS], env=env)
    compat = bdir / "glibc_compat.o"
    run([tc["CC"], "-O2", "-c", "-o", compat, REPO / "tools" / "portable" / "glibc_compat.c"])
    exe = bdir / "terraform-provider-zerotrust"
    log(f"provider: linking against glibc 2.31 ({arch})")
    # the start-up options of meson.build's link, but DT_RELR (glibc 2.36)
    run([tc["CXX"], "-o", exe, *(bdir / o for o in EXE_OBJECTS),
         bdir / "libzt.a", bdir / "libztproto.a", "-Wl,--start-group",
         *static_libs(arch, libs, curl_prefix), "-Wl,--end-group", compat,
         f"--sysroot={root}", f"-B{root}/usr/lib/{t}/", f"-L{root}/usr/lib/{t}",
         f"-L{root}/lib/{t}", "-static-libstdc++", "-Wl,--as-needed", "-lpthread", "-ldl",
         "-lm", "-lrt", "-Wl,--build-id=sha1", "-Wl,-O1", "-Wl,--gc-sections",
         f"-Wl,-T,{REPO / 'provider' / 'startup_order.ld'}"])
    check_prebuilt(exe)
    stripped = bdir / "stripped"
    run([tc["STRIP"], "--strip-all", "-o", stripped, exe])
    check_binary(stripped, arch)
    out.mkdir(parents=True, exist_ok=True)
    version = run(["meson", "introspect", "--projectinfo", bdir]).stdout
    version = json.loads(version)["version"]
    env = dict(os.environ)
    if not env.get("ZT_SIGNING_KEY"):
        env["ZT_DIST_UNSIGNED"] = "1"
    run([sys.executable, REPO / "tools" / "dist.py", "package", "--binary", exe, "--version",
         version, "--os", "linux", "--arch", arch, "--strip-program", tc["STRIP"], "--out", out],
        env=env)
    z = out / f"terraform-provider-zerotrust_{version}_linux_{arch}.zip"
    log(f"{z}")
    return z


def check_binary(exe: Path, arch: str) -> None:
    """Only the C runtime, glibc <= 2.31, no path of this machine."""
    dyn = run(["readelf", "-d", "-W", exe]).stdout
    needed = set(re.findall(r"\(NEEDED\)\s+Shared library: \[([^]]+)\]", dyn))
    extra = needed - ALLOWED_NEEDED
    if extra:
        raise SystemExit(f"portable: {exe.name} needs {sorted(extra)} beyond the C runtime")
    syms = run(["readelf", "--dyn-syms", "-W", exe]).stdout
    newest = max((tuple(int(x) for x in v.split(".")) for v in re.findall(r"@GLIBC_([0-9.]+)", syms)),
                 default=(0,))
    if newest > GLIBC_MAX:
        bad = sorted({m for m in re.findall(r"(\S+@GLIBC_[0-9.]+)", syms)
                      if tuple(int(x) for x in m.rsplit("_", 1)[1].split(".")) > GLIBC_MAX})
        raise SystemExit(f"portable: {exe.name} uses glibc symbols newer than 2.31: {bad[:10]}")
    data = exe.read_bytes()
    for path in {str(REPO), str(CACHE), str(Path.home())}:
        if (path + "/").encode() in data:
            raise SystemExit(f"portable: the shipped binary names {path}/")
    log(f"{arch}: needs {sorted(needed)}, glibc symbols up to {'.'.join(map(str, newest))}")


# ---------------------------------------------------------------- the proof

def chroot(suite: str, arch: str) -> Path:
    """A minimal Debian `suite` for arch: nothing but its base system."""
    mirror = debian_mirror()

    def make(d: Path):
        log(f"chroot: debootstrap {suite} ({arch})")
        argv = ["debootstrap", "--variant=minbase", f"--arch={arch}"]
        if arch != "amd64":
            argv.append("--foreign")     # unpacked only: the binaries run under qemu-user
        run(argv + [suite, d, mirror])
    return cached_tree("chroot", f"{suite}-{arch}", make)


SOURCE = "registry.zerotrust.internal/zerotrust/zerotrust"


class ChrootProvider:
    """Terraform on this machine, the zipped provider inside the chroot: dev_overrides name
    a wrapper that starts it with chroot (and qemu-user for arm64, itself inside the chroot).
    `shared` has the same absolute path inside and outside (the provider's socket goes
    there, and whatever files it must read, such as a CA)."""

    def __init__(self, arch: str, suite: str, zip_path: Path):
        ensure_tools(arch, testing=True)
        self.arch, self.suite = arch, suite
        self.root = chroot(suite, arch)
        self.work = Path(tempfile.mkdtemp(prefix="zt-portable-"))
        self.shared = Path(tempfile.mkdtemp(prefix="zt-shared-", dir=self.root / "tmp"))
        self.inside = Path("/tmp") / self.shared.name
        self.inside.symlink_to(self.shared)          # /tmp/X outside -> ROOT/tmp/X
        import zipfile
        with zipfile.ZipFile(zip_path) as z:
            exe = z.namelist()[0]
            (self.shared / exe).write_bytes(z.read(exe))
            (self.shared / exe).chmod(0o755)
        self.runner = []
        if ARCHES[arch]["qemu"]:
            q = Path(shutil.which(ARCHES[arch]["qemu"]))
            shutil.copy2(q, self.root / "usr" / "bin" / q.name)
            self.runner = [f"/usr/bin/{q.name}"]
        wrapper = self.work / "plugins" / "terraform-provider-zerotrust"
        wrapper.parent.mkdir()
        wrapper.write_text(f"#!/bin/sh\nexport TMPDIR={self.inside}\nexec chroot {self.root} "
                           + " ".join(self.runner + [str(self.inside / exe)]) + ' "$@"\n')
        wrapper.chmod(0o755)
        self.main_tf("")
        rc = self.work / "cli.tfrc"
        rc.write_text(f'provider_installation {{\n  dev_overrides {{ "{SOURCE}" = '
                      f'"{wrapper.parent}" }}\n  direct {{}}\n}}\n')
        self.env = dict(os.environ, TF_CLI_CONFIG_FILE=str(rc), TF_IN_AUTOMATION="1",
                        HOME=str(self.work), TMPDIR=str(self.inside))

    def main_tf(self, body: str) -> None:
        (self.work / "main.tf").write_text('terraform {\n  required_providers {\n'
                                           f'    zerotrust = {{ source = "{SOURCE}" }}\n  }}\n}}\n'
                                           + body)

    def terraform(self, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([str(REPO / "tools" / "terraform"), f"-chdir={self.work}", *args,
                               "-no-color"], capture_output=True, text=True,
                              env=dict(self.env, **(env or {})), timeout=300)

    def glibc(self) -> str | None:
        """The chroot's own glibc version (libc.so.6 prints it when run)."""
        out = subprocess.run(["chroot", str(self.root), *self.runner,
                              f"/lib/{ARCHES[self.arch]['triplet']}/libc.so.6"],
                             capture_output=True, text=True).stdout
        m = re.search(r"release version (\d+\.\d+)", out)
        return m.group(1) if m else None

    def close(self) -> None:
        self.inside.unlink(missing_ok=True)
        shutil.rmtree(self.shared, ignore_errors=True)
        shutil.rmtree(self.work, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def test(arch: str, suite: str, zip_path: Path) -> dict:
    """Terraform asks the zipped provider, inside the chroot, for its schema: the go-plugin
    handshake, AutoMTLS and GetProviderSchema over gRPC."""
    with ChrootProvider(arch, suite, zip_path) as cp:
        p = cp.terraform("providers", "schema", "-json")
        if p.returncode != 0:
            raise SystemExit(f"portable: {arch} in {suite}: terraform providers schema failed:\n"
                             f"{p.stderr[-3000:]}")
        schema = json.loads(p.stdout)["provider_schemas"][SOURCE]
        found = {"resources": sorted(schema["resource_schemas"]),
                 "data_sources": sorted(schema["data_source_schemas"]),
                 "functions": sorted(schema.get("functions", {})), "glibc": cp.glibc()}
        log(f"{arch} in {suite}: {found}")
        return found


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("--arch", choices=sorted(ARCHES), required=True)
    b.add_argument("--out", default=str(REPO / "build-portable-dist"))
    t = sub.add_parser("test")
    t.add_argument("--arch", choices=sorted(ARCHES), required=True)
    t.add_argument("--suite", required=True)
    t.add_argument("--zip", required=True)
    a = ap.parse_args(argv)
    if a.cmd == "build":
        build(a.arch, Path(a.out))
    else:
        print(json.dumps(test(a.arch, a.suite, Path(a.zip))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
