#!/usr/bin/env python3
"""Release packages of the provider, and the trees that publish them.

    tools/dist.py package    --binary B --version V --out build/dist
        terraform-provider-zerotrust_V_linux_amd64.zip   (executable at the root, mode 0755,
                                                          fixed timestamps: reproducible)
        terraform-provider-zerotrust_V_manifest.json     (registry manifest: protocol_versions)
        terraform-provider-zerotrust_V_SHA256SUMS         (the zips and the manifest)
        terraform-provider-zerotrust_V_SHA256SUMS.sig     (binary detached OpenPGP signature)
      The binary is stripped (--strip-program, default strip; --no-strip keeps it as it is);
      --changelog FILE refuses a version without its "## [V]" section; --arch arm64 (and
      --strip-program aarch64-linux-gnu-strip) for the other platform, into the same --out.
      Signed with gpg by the key ZT_SIGNING_KEY (key id, fingerprint or user id in $GNUPGHOME,
      or the path of an exported secret key, imported into a throw-away keyring), which must be
      an RSA key (Terraform before 1.10 cannot verify other signatures);
      ZT_SIGNING_PASSPHRASE if it has one. Without ZT_SIGNING_KEY, `package` fails unless
      ZT_DIST_UNSIGNED=1 (then no .sig is written).

    tools/dist.py fs-mirror  --dist build/dist --out DIR [--layout packed|unpacked]
    tools/dist.py net-mirror --dist build/dist --out DIR
    tools/dist.py registry   --dist build/dist --out DIR --base-url https://host[:port]
                             [--public-key key.asc | (exported from gpg: ZT_SIGNING_KEY)]
    tools/dist.py nginx-conf --root DIR --out nginx.conf --listen 127.0.0.1:8443
                             --cert C --key K [--prefix DIR] [--server-name NAME]
    tools/dist.py hashes     FILE.zip|DIR      print h1: (and zh: for a zip)

The publishing subcommands add to an existing tree: index.json / versions are rebuilt from
every version present under --out, so publishing 0.2.0 keeps 0.1.0 available.
Common options: --hostname (registry.zerotrust.internal), --namespace (zerotrust), --type (zerotrust).
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

DEFAULT_HOSTNAME = "registry.zerotrust.internal"   # the canonical source address (docs/guides/installation.md)
DEFAULT_NAMESPACE = "zerotrust"
DEFAULT_TYPE = "zerotrust"
# Plugin protocol versions the binary speaks: the registry manifest and the registry API.
PROTOCOLS = ["6.0"]
# 1980-01-01 00:00:00, the earliest time a zip can record; SOURCE_DATE_EPOCH is not
# used on purpose: the bytes must depend on the binary only.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")


# ---------------------------------------------------------------- names

def zip_name(ptype: str, version: str, os_: str, arch: str) -> str:
    return f"terraform-provider-{ptype}_{version}_{os_}_{arch}.zip"


def sums_name(ptype: str, version: str) -> str:
    return f"terraform-provider-{ptype}_{version}_SHA256SUMS"


def manifest_name(ptype: str, version: str) -> str:
    return f"terraform-provider-{ptype}_{version}_manifest.json"


def exe_name(ptype: str, version: str) -> str:
    return f"terraform-provider-{ptype}_v{version}"


RE_ZIP = re.compile(r"^terraform-provider-([a-z0-9-]+)_([^_]+)_([a-z0-9]+)_([a-z0-9]+)\.zip$")


# ---------------------------------------------------------------- hashes

def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hash1(files: list[tuple[str, bytes]]) -> str:
    """Go dirhash.Hash1, which Terraform calls h1:."""
    lines = []
    for name, data in sorted(files, key=lambda f: f[0].encode()):
        if "\n" in name:
            raise ValueError(f"file name with a newline: {name!r}")
        lines.append(f"{sha256_hex(data)}  {name}\n")
    return "h1:" + base64.b64encode(hashlib.sha256("".join(lines).encode()).digest()).decode()


def h1_zip(path: Path) -> str:
    """h1: of a zip: every entry name (directories included, as Go's HashZip does)."""
    with zipfile.ZipFile(path) as z:
        return _hash1([(i.filename, z.read(i)) for i in z.infolist()])


def h1_dir(path: Path) -> str:
    """h1: of an unpacked package directory: every regular file, relative, '/'-separated."""
    return _hash1([(p.relative_to(path).as_posix(), p.read_bytes())
                   for p in path.rglob("*") if p.is_file()])


def zh_zip(path: Path) -> str:
    return "zh:" + sha256_hex(path.read_bytes())


# ---------------------------------------------------------------- package

def write_zip(dst: Path, members: list[tuple[str, bytes, int]]) -> None:
    """A reproducible zip: sorted entries, no directories, fixed time, Unix modes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, data, mode in sorted(members):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.create_system = 3                      # Unix: external_attr carries st_mode
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    tmp = dst.with_name(dst.name + ".tmp")
    tmp.write_bytes(buf.getvalue())
    tmp.replace(dst)


class Gpg:
    """gpg with the signing key of ZT_SIGNING_KEY; a key file is imported into a
    temporary GNUPGHOME that is removed (and its agent stopped) on close()."""

    def __init__(self, key: str, passphrase: str | None = None):
        self.home = None
        self.passphrase = passphrase
        if os.path.isfile(key):
            self.home = tempfile.mkdtemp(prefix="ztgpg")
            self._run(["--import", key])
            out = self._run(["--list-secret-keys", "--with-colons"]).stdout
            fprs = [ln.split(":")[9] for ln in out.splitlines() if ln.startswith("fpr:")]
            if not fprs:
                raise SystemExit(f"dist.py: no secret key in {key}")
            key = fprs[0]
        self.key = key
        require_rsa(self._run(["--list-keys", "--with-colons", key]).stdout, key)

    def _run(self, args: list[str], **kw) -> subprocess.CompletedProcess:
        argv = ["gpg", "--batch", "--no-tty", "--quiet"]
        if self.home:
            argv += ["--homedir", self.home]
        if self.passphrase is not None:
            argv += ["--pinentry-mode", "loopback", "--passphrase-fd", "0"]
            kw.setdefault("input", self.passphrase.encode())
        p = subprocess.run(argv + args, capture_output=True, **kw)
        if p.returncode != 0:
            raise SystemExit(f"dist.py: gpg {' '.join(args)} failed:\n{p.stderr.decode(errors='replace')}")
        return subprocess.CompletedProcess(p.args, 0, p.stdout.decode(errors="replace"),
                                           p.stderr.decode(errors="replace"))

    def sign_detached(self, src: Path, sig: Path) -> None:
        if sig.exists():
            sig.unlink()
        self._run(["--local-user", self.key, "--digest-algo", "SHA256", "--detach-sign",
                   "--output", str(sig), str(src)])

    def public_key(self) -> tuple[str, str]:
        """(long key id, ASCII-armoured public key) of the signing key."""
        out = self._run(["--list-keys", "--with-colons", self.key]).stdout
        key_id = next(ln.split(":")[4] for ln in out.splitlines() if ln.startswith("pub:"))
        armor = self._run(["--armor", "--export", self.key]).stdout
        return key_id.upper(), armor

    def close(self) -> None:
        if self.home:
            subprocess.run(["gpgconf", "--homedir", self.home, "--kill", "gpg-agent"],
                           capture_output=True)
            shutil.rmtree(self.home, ignore_errors=True)
            self.home = None


# OpenPGP public-key algorithms 1-3 are RSA. Terraform before 1.10 verifies signatures with
# golang.org/x/crypto/openpgp, which knows no EdDSA: an ed25519-signed SHA256SUMS installs
# on Terraform 1.11 and fails on 1.5 with "unsupported public key algorithm".
RSA_ALGOS = {"1", "2", "3"}
GPG_ALGO_NAMES = {"16": "ElGamal", "17": "DSA", "18": "ECDH", "19": "ECDSA", "22": "EdDSA (ed25519)"}


def require_rsa(colons: str, key: str) -> None:
    """Refuse a key whose primary key or any usable signing subkey is not RSA (gpg may sign
    with either)."""
    for ln in colons.splitlines():
        f = ln.split(":")
        if f[0] not in ("pub", "sub") or f[1] in ("r", "e", "i"):   # revoked, expired, invalid
            continue
        if (f[0] == "pub" or "s" in f[11]) and f[3] not in RSA_ALGOS:
            algo = GPG_ALGO_NAMES.get(f[3], f"algorithm {f[3]}")
            raise SystemExit(f"dist.py: signing key {key} has a {algo} {'sub' if f[0] == 'sub' else ''}key "
                             f"{f[4]}: Terraform before 1.10 verifies only RSA signatures; "
                             "use an RSA key (gpg --quick-gen-key UID rsa4096 sign)")


def signer_from_env() -> Gpg | None:
    key = os.environ.get("ZT_SIGNING_KEY")
    if not key:
        return None
    return Gpg(key, os.environ.get("ZT_SIGNING_PASSPHRASE"))


def stripped(binary: Path, program: str | None, tmp: Path) -> bytes:
    """The binary without symbols or debug information (what ships), or as it is."""
    if not program:
        return binary.read_bytes()
    dst = tmp / binary.name
    p = subprocess.run([program, "--strip-all", "-o", str(dst), str(binary)], capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"dist.py: {program} {binary} failed:\n{p.stderr}")
    return dst.read_bytes()


def require_changelog(path: Path, version: str) -> None:
    if not re.search(rf"^## \[{re.escape(version)}\]", path.read_text(), re.M):
        raise SystemExit(f"dist.py: {path} has no \"## [{version}]\" section: say what changed "
                         "before releasing it")


def manifest_bytes() -> bytes:
    """The registry manifest (HashiCorp's terraform-registry-manifest.json, renamed as the
    registry expects it beside the zips)."""
    return (json.dumps({"version": 1, "metadata": {"protocol_versions": PROTOCOLS}}, indent=2)
            + "\n").encode()


def cmd_package(a) -> int:
    if not SEMVER.match(a.version):
        raise SystemExit(f"dist.py: version {a.version!r} is not semver")
    if a.changelog:
        require_changelog(Path(a.changelog), a.version)
    if not os.environ.get("ZT_SIGNING_KEY") and os.environ.get("ZT_DIST_UNSIGNED") != "1":
        raise SystemExit("dist.py: ZT_SIGNING_KEY is not set (a key id in $GNUPGHOME or a secret "
                         "key file); set ZT_DIST_UNSIGNED=1 to build unsigned packages")
    signer = signer_from_env()      # refuses a non-RSA key before anything is written
    binary = Path(a.binary)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    z = out / zip_name(a.type, a.version, a.os, a.arch)
    with tempfile.TemporaryDirectory(prefix="ztdist") as tmp:
        exe = stripped(binary, None if a.no_strip else a.strip_program, Path(tmp))
    write_zip(z, [(exe_name(a.type, a.version), exe, 0o755)]
              + [(Path(f).name, Path(f).read_bytes(), 0o644) for f in a.extra])
    manifest = out / manifest_name(a.type, a.version)
    manifest.write_bytes(manifest_bytes())
    # SHA256SUMS lists every zip of this version in out (other platforms built elsewhere
    # and copied in are kept) and the manifest, sorted like HashiCorp's.
    listed = sorted(list(out.glob(f"terraform-provider-{a.type}_{a.version}_*.zip")) + [manifest])
    sums = out / sums_name(a.type, a.version)
    sums.write_text("".join(f"{sha256_hex(p.read_bytes())}  {p.name}\n" for p in listed))
    sig = sums.with_name(sums.name + ".sig")
    if signer is None:
        if sig.exists():
            sig.unlink()
        print(f"dist.py: WARNING: {sums.name} is not signed (ZT_DIST_UNSIGNED=1)", file=sys.stderr)
    else:
        try:
            signer.sign_detached(sums, sig)
        finally:
            signer.close()
    for p in [z, manifest, sums] + ([sig] if sig.exists() else []):
        print(p)
    return 0


# ---------------------------------------------------------------- reading build/dist

class Release:
    def __init__(self, zip_path: Path):
        m = RE_ZIP.match(zip_path.name)
        if not m:
            raise ValueError(zip_path.name)
        self.zip = zip_path
        self.type, self.version, self.os, self.arch = m.groups()
        self.platform = f"{self.os}_{self.arch}"
        self.sums = zip_path.with_name(sums_name(self.type, self.version))
        self.sig = self.sums.with_name(self.sums.name + ".sig")
        self.manifest = zip_path.with_name(manifest_name(self.type, self.version))
        self.h1 = h1_zip(zip_path)
        self.zh = zh_zip(zip_path)


def releases(dist: Path, ptype: str, version: str | None) -> list[Release]:
    out = []
    for p in sorted(dist.glob(f"terraform-provider-{ptype}_*.zip")):
        r = Release(p)
        if r.type == ptype and (version is None or r.version == version):
            out.append(r)
    if not out:
        raise SystemExit(f"dist.py: no terraform-provider-{ptype}_{version or '*'}_*.zip in {dist} "
                         "(run: ninja -C build release)")
    return out


def write_json(path: Path, obj, sort_keys: bool = True) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, sort_keys=sort_keys) + "\n")


def semver_key(v: str):
    core, _, pre = v.partition("+")[0].partition("-")
    return tuple(int(x) for x in core.split(".")), pre == "", pre


# ---------------------------------------------------------------- filesystem mirror

def cmd_fs_mirror(a) -> int:
    base = Path(a.out) / a.hostname / a.namespace / a.type
    for r in releases(Path(a.dist), a.type, a.version):
        if a.layout == "packed":
            base.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(r.zip, base / r.zip.name)
            print(base / r.zip.name, r.h1)
        else:
            d = base / r.version / r.platform
            if d.exists():
                shutil.rmtree(d)
            d.mkdir(parents=True)
            with zipfile.ZipFile(r.zip) as z:
                for info in z.infolist():
                    if info.is_dir():
                        continue
                    dst = d / info.filename
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    dst.write_bytes(z.read(info))
                    dst.chmod((info.external_attr >> 16) & 0o777 or 0o644)
            print(d, h1_dir(d))
    return 0


# ---------------------------------------------------------------- network mirror

def cmd_net_mirror(a) -> int:
    base = Path(a.out) / a.hostname / a.namespace / a.type
    by_version: dict[str, list[Release]] = {}
    for r in releases(Path(a.dist), a.type, a.version):
        by_version.setdefault(r.version, []).append(r)
    for version, rels in by_version.items():
        vfile = base / f"{version}.json"
        doc = json.loads(vfile.read_text()) if vfile.exists() else {"archives": {}}
        for r in rels:
            base.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(r.zip, base / r.zip.name)
            # url relative to VERSION.json; h1: lets Terraform check what it unpacked,
            # zh: the download itself
            doc["archives"][r.platform] = {"url": r.zip.name, "hashes": [r.h1, r.zh]}
        write_json(vfile, doc)
        print(vfile)
    versions = sorted((p.stem for p in base.glob("*.json") if SEMVER.match(p.stem)), key=semver_key)
    write_json(base / "index.json", {"versions": {v: {} for v in versions}}, sort_keys=False)
    print(base / "index.json")
    return 0


# ---------------------------------------------------------------- registry

def cmd_registry(a) -> int:
    root = Path(a.out)
    base_url = a.base_url.rstrip("/")
    write_json(root / ".well-known" / "terraform.json", {"providers.v1": "/v1/providers/"})
    if a.public_key:
        armor = Path(a.public_key).read_text()
        key_id = a.key_id or gpg_key_id_of(armor)
    else:
        signer = signer_from_env()
        if signer is None:
            raise SystemExit("dist.py registry: give --public-key FILE or set ZT_SIGNING_KEY")
        try:
            key_id, armor = signer.public_key()
        finally:
            signer.close()
    api = root / "v1" / "providers" / a.namespace / a.type
    for r in releases(Path(a.dist), a.type, a.version):
        if not r.sig.exists():
            raise SystemExit(f"dist.py registry: {r.sig} is missing: the registry protocol needs "
                             "signed SHA256SUMS (set ZT_SIGNING_KEY when running `ninja -C build release`)")
        rel = root / "releases" / a.namespace / a.type / r.version
        rel.mkdir(parents=True, exist_ok=True)
        for f in (r.zip, r.sums, r.sig) + ((r.manifest,) if r.manifest.exists() else ()):
            shutil.copyfile(f, rel / f.name)
        url = f"{base_url}/releases/{a.namespace}/{a.type}/{r.version}"
        write_json(api / r.version / "download" / r.os / r.arch, {
            "protocols": protocols_of(r),
            "os": r.os,
            "arch": r.arch,
            "filename": r.zip.name,
            "download_url": f"{url}/{r.zip.name}",
            "shasums_url": f"{url}/{r.sums.name}",
            "shasums_signature_url": f"{url}/{r.sig.name}",
            "shasum": r.zh[3:],
            "signing_keys": {"gpg_public_keys": [{
                "key_id": key_id, "ascii_armor": armor,
                "trust_signature": "", "source": "", "source_url": None}]},
        })
        print(api / r.version / "download" / r.os / r.arch)
    # versions: every VERSION/download/OS/ARCH present (earlier publications included)
    versions = []
    for vdir in sorted((p for p in api.iterdir() if p.is_dir() and SEMVER.match(p.name)),
                       key=lambda p: semver_key(p.name)):
        plats = sorted((f.parent.name, f.name) for f in (vdir / "download").glob("*/*") if f.is_file())
        versions.append({"version": vdir.name, "protocols": protocols_in(api / vdir.name),
                         "platforms": [{"os": o, "arch": ar} for o, ar in plats]})
    write_json(api / "versions", {"versions": versions})
    print(api / "versions")
    return 0


def protocols_of(r: Release) -> list[str]:
    """The release's own manifest says which protocols it speaks (older packages had none)."""
    if r.manifest.exists():
        return json.loads(r.manifest.read_text())["metadata"]["protocol_versions"]
    return PROTOCOLS


def protocols_in(vdir: Path) -> list[str]:
    """Protocols of a published version, from the download documents written for it."""
    for f in sorted((vdir / "download").glob("*/*")):
        return json.loads(f.read_text())["protocols"]
    return PROTOCOLS


def gpg_key_id_of(armor: str) -> str:
    p = subprocess.run(["gpg", "--batch", "--with-colons", "--import-options", "show-only",
                        "--import"], input=armor.encode(), capture_output=True)
    require_rsa(p.stdout.decode(), "given with --public-key")
    for ln in p.stdout.decode().splitlines():
        if ln.startswith("pub:"):
            return ln.split(":")[4].upper()
    raise SystemExit("dist.py: cannot read the key id of the public key (give --key-id)")


# ---------------------------------------------------------------- nginx

NGINX_CONF = """\
# generated by tools/dist.py nginx-conf
# run: nginx -p {prefix} -c {conf} -e {prefix}/error.log
{user}worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 64; }}
http {{
  types {{
    application/json json;
    application/zip zip;
    text/plain txt;
  }}
  default_type application/octet-stream;
  access_log {prefix}/access.log;
  client_body_temp_path {prefix}/tmp/client;
  proxy_temp_path {prefix}/tmp/proxy;
  fastcgi_temp_path {prefix}/tmp/fastcgi;
  uwsgi_temp_path {prefix}/tmp/uwsgi;
  scgi_temp_path {prefix}/tmp/scgi;
  server {{
    listen {listen} ssl;
    server_name {server_name};
    ssl_certificate {cert};
    ssl_certificate_key {key};
    root {root};
{locations}  }}
}}
"""

# The registry's API answers are files without an extension.
NGINX_LOCATIONS = """\
    location /v1/providers/ {
      default_type application/json;
      types { }
    }
    location ~ _SHA256SUMS$ {
      default_type text/plain;
    }
    location ~ _SHA256SUMS\\.sig$ {
      default_type application/octet-stream;
    }
"""


def cmd_nginx_conf(a) -> int:
    out = Path(a.out).resolve()
    prefix = Path(a.prefix).resolve() if a.prefix else out.parent
    (prefix / "tmp").mkdir(parents=True, exist_ok=True)
    user = a.user or ""
    out.write_text(NGINX_CONF.format(
        prefix=prefix, conf=out, listen=a.listen, server_name=a.server_name,
        cert=Path(a.cert).resolve(), key=Path(a.key).resolve(), root=Path(a.root).resolve(),
        locations=NGINX_LOCATIONS, user=f"user {user};\n" if user else ""))
    print(out)
    return 0


def cmd_hashes(a) -> int:
    p = Path(a.path)
    if p.is_dir():
        print(h1_dir(p))
    else:
        print(h1_zip(p))
        print(zh_zip(p))
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    def common(p, dist=True):
        p.add_argument("--hostname", default=DEFAULT_HOSTNAME)
        p.add_argument("--namespace", default=DEFAULT_NAMESPACE)
        p.add_argument("--type", default=DEFAULT_TYPE)
        if dist:
            p.add_argument("--dist", required=True, help="directory written by `package`")
            p.add_argument("--version", help="only this version (default: every one in --dist)")
        p.add_argument("--out", required=True)

    p = sub.add_parser("package")
    p.add_argument("--binary", required=True)
    p.add_argument("--version", required=True)
    p.add_argument("--os", default="linux")
    p.add_argument("--arch", default="amd64")
    p.add_argument("--extra", action="append", default=[], help="another file for the zip root")
    p.add_argument("--strip-program", default=os.environ.get("STRIP", "strip"),
                   help="strip for the binary's architecture (default $STRIP or strip)")
    p.add_argument("--no-strip", action="store_true", help="ship the binary with its symbols")
    p.add_argument("--changelog", help="CHANGELOG.md that must have a section for --version")
    common(p, dist=False)
    p.set_defaults(fn=cmd_package)

    p = sub.add_parser("fs-mirror")
    common(p)
    p.add_argument("--layout", choices=["packed", "unpacked"], default="packed")
    p.set_defaults(fn=cmd_fs_mirror)

    p = sub.add_parser("net-mirror")
    common(p)
    p.set_defaults(fn=cmd_net_mirror)

    p = sub.add_parser("registry")
    common(p)
    p.add_argument("--base-url", required=True, help="https://HOST[:PORT] the tree is served at")
    p.add_argument("--public-key", help="ASCII-armoured public key (default: export ZT_SIGNING_KEY)")
    p.add_argument("--key-id")
    p.set_defaults(fn=cmd_registry)

    p = sub.add_parser("nginx-conf")
    p.add_argument("--root", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--listen", default="127.0.0.1:8443")
    p.add_argument("--server-name", default="localhost")
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--prefix", help="pid file, logs, temp dirs (default: next to --out)")
    p.add_argument("--user", help="worker user when nginx is started as root (default: nginx's own)")
    p.set_defaults(fn=cmd_nginx_conf)

    p = sub.add_parser("hashes")
    p.add_argument("path")
    p.set_defaults(fn=cmd_hashes)

    a = ap.parse_args(argv)
    return a.fn(a)


if __name__ == "__main__":
    sys.exit(main())
