"""Release packages and the three ways Terraform installs them (plugin-protocol.md §6):
filesystem mirror (packed and unpacked), provider network mirror and provider registry,
the last two served over HTTPS by a real nginx with a test CA (trusted via SSL_CERT_FILE).

Everything is made by tools/dist.py from the provider under test, signed with a
throw-away gpg key; Terraform's own checks are what is asserted: the lock file's h1:/zh:
hashes, and its checksum and signature errors for a tampered package.
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from e2e_support import (COMMAND_TIMEOUT, PLATFORM, PROVIDER_SOURCE, REPO, clean_env,
                         dirhash_h1, get_runner, provider_handshake_problem)

DIST_PY = REPO / "tools" / "dist.py"
_spec = importlib.util.spec_from_file_location("zt_dist", DIST_PY)
dist = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dist)

RUNNER_IDS = ["terraform", "tofu", "tofu-legacy", "terraform-1.5"]
TYPE = "zerotrust"
GOOD_NS = "zerotrust"


def need(prog: str) -> str:
    path = shutil.which(prog) or (f"/usr/sbin/{prog}" if os.access(f"/usr/sbin/{prog}", os.X_OK) else None)
    if not path:
        pytest.skip(f"{prog} is not installed (tools/setup.sh installs it)")
    return path


def run(argv, **kw) -> subprocess.CompletedProcess:
    p = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=120, **kw)
    assert p.returncode == 0, f"$ {' '.join(map(str, argv))} -> {p.returncode}\n{p.stdout}\n{p.stderr}"
    return p


# --------------------------------------------------------------------------
# gpg keys, packages
# --------------------------------------------------------------------------

@dataclass
class Key:
    home: Path
    fpr: str
    key_id: str


def _gen_key(home: Path, uid: str) -> Key:
    home.mkdir(mode=0o700)
    run(["gpg", "--homedir", home, "--batch", "--quiet", "--passphrase", "",
         "--quick-gen-key", uid, "rsa2048", "sign", "never"])
    out = run(["gpg", "--homedir", home, "--batch", "--with-colons", "--list-keys", uid]).stdout
    fpr = next(ln.split(":")[9] for ln in out.splitlines() if ln.startswith("fpr:"))
    return Key(home, fpr, fpr[-16:].upper())


@pytest.fixture(scope="module")
def keys():
    """The release key, and another key (someone who is not us)."""
    need("gpg")
    root = Path(tempfile.mkdtemp(prefix="ztg"))  # short: gpg-agent sockets live in it
    k = {"release": _gen_key(root / "r", "zerotrust release test <release@zerotrust.invalid>"),
         "other": _gen_key(root / "o", "someone else <other@zerotrust.invalid>")}
    yield k
    for key in k.values():
        subprocess.run(["gpgconf", "--homedir", str(key.home), "--kill", "gpg-agent"],
                       capture_output=True)
    shutil.rmtree(root, ignore_errors=True)


def package(provider_bin: Path, version: str, out: Path, key: Key) -> subprocess.CompletedProcess:
    env = dict(os.environ, GNUPGHOME=str(key.home), ZT_SIGNING_KEY=key.fpr)
    env.pop("ZT_DIST_UNSIGNED", None)
    return run([sys.executable, DIST_PY, "package", "--binary", provider_bin, "--version", version,
                "--out", out], env=env)


@pytest.fixture(scope="module")
def binary(tmp_path_factory, provider_speaks) -> Path:
    """A private copy of the provider: build/ may be rebuilt while the module runs."""
    b = tmp_path_factory.mktemp("zt-bin") / provider_speaks.name
    shutil.copy2(provider_speaks, b)
    return b


@dataclass
class Dist:
    dir: Path
    version: str
    zip: Path
    sums: Path
    sig: Path
    manifest: Path
    h1: str
    zh: str


@pytest.fixture(scope="module")
def dist_pkg(tmp_path_factory, binary, provider_version, keys) -> Dist:
    d = tmp_path_factory.mktemp("zt-dist") / "dist"
    package(binary, provider_version, d, keys["release"])
    z = d / f"terraform-provider-{TYPE}_{provider_version}_{PLATFORM}.zip"
    sums = d / f"terraform-provider-{TYPE}_{provider_version}_SHA256SUMS"
    return Dist(d, provider_version, z, sums, sums.with_name(sums.name + ".sig"),
                d / f"terraform-provider-{TYPE}_{provider_version}_manifest.json",
                dist.h1_zip(z), dist.zh_zip(z))


# --------------------------------------------------------------------------
# The packages themselves
# --------------------------------------------------------------------------

def test_meson_release_target_uses_project_version():
    text = (REPO / "meson.build").read_text()
    m = re.search(r"run_target\('release',(.*?)\)\n", text, re.S)
    assert m, "meson.build has no run_target('release', ...)"
    assert "meson.project_version()" in m.group(1) and "tools/dist.py" in m.group(1)


def test_package_layout(dist_pkg, binary, keys):
    assert sorted(p.name for p in dist_pkg.dir.iterdir()) == sorted(
        [dist_pkg.zip.name, dist_pkg.sums.name, dist_pkg.sig.name, dist_pkg.manifest.name])
    with zipfile.ZipFile(dist_pkg.zip) as z:
        infos = z.infolist()
        assert [i.filename for i in infos] == [f"terraform-provider-{TYPE}_v{dist_pkg.version}"]
        i = infos[0]
        assert not i.is_dir() and i.create_system == 3
        assert stat.S_IMODE(i.external_attr >> 16) == 0o755 and stat.S_ISREG(i.external_attr >> 16)
        assert i.date_time == (1980, 1, 1, 0, 0, 0)
        shipped = z.read(i)
    # stripped: no symbol table, no debug information; otherwise the same program
    assert len(shipped) < binary.stat().st_size
    tmp = dist_pkg.dir.parent / "shipped.bin"
    tmp.write_bytes(shipped)
    sections = run(["readelf", "-S", "-W", tmp]).stdout
    assert ".symtab" not in sections and ".debug_info" not in sections, sections
    assert ".symtab" in run(["readelf", "-S", "-W", binary]).stdout
    # the registry manifest, and SHA256SUMS over the zip and the manifest
    assert json.loads(dist_pkg.manifest.read_text()) == {"version": 1,
                                                         "metadata": {"protocol_versions": ["6.0"]}}
    # in file name order, as HashiCorp's (sorting the lines would depend on the hashes)
    assert dist_pkg.sums.read_text() == "".join(
        f"{dist.sha256_hex(p.read_bytes())}  {p.name}\n"
        for p in sorted((dist_pkg.zip, dist_pkg.manifest), key=lambda p: p.name))
    # a binary (not armoured) detached signature that gpg accepts
    assert not dist_pkg.sig.read_bytes().startswith(b"-----BEGIN")
    run(["gpg", "--homedir", keys["release"].home, "--batch", "--verify", dist_pkg.sig, dist_pkg.sums])


def test_shipped_binary_runs(dist_pkg, tmp_path):
    """The stripped binary still serves: it prints its go-plugin handshake line."""
    with zipfile.ZipFile(dist_pkg.zip) as z:
        z.extractall(tmp_path)
    exe = tmp_path / f"terraform-provider-{TYPE}_v{dist_pkg.version}"
    exe.chmod(0o755)
    problem = provider_handshake_problem(exe)
    assert problem is None, problem


def test_non_rsa_signing_key_is_refused(tmp_path, binary, dist_pkg):
    """Terraform 1.5 cannot verify an ed25519 signature: dist.py refuses such a key before
    writing anything."""
    home = tmp_path / "g"
    home.mkdir(mode=0o700)
    run(["gpg", "--homedir", home, "--batch", "--quiet", "--passphrase", "", "--quick-gen-key",
         "ed <ed@zerotrust.invalid>", "ed25519", "sign", "never"])
    try:
        env = dict(os.environ, GNUPGHOME=str(home), ZT_SIGNING_KEY="ed@zerotrust.invalid")
        p = subprocess.run([sys.executable, DIST_PY, "package", "--binary", binary, "--version",
                            dist_pkg.version, "--out", tmp_path / "d"], capture_output=True, text=True, env=env)
        assert p.returncode != 0 and "EdDSA" in p.stderr and "RSA" in p.stderr, p.stderr
        assert not (tmp_path / "d").exists()
        pub = tmp_path / "ed.asc"
        pub.write_text(run(["gpg", "--homedir", home, "--batch", "--armor", "--export",
                            "ed@zerotrust.invalid"]).stdout)
        p = subprocess.run([sys.executable, DIST_PY, "registry", "--dist", dist_pkg.dir, "--out",
                            tmp_path / "srv", "--base-url", "https://r.example", "--public-key", pub],
                           capture_output=True, text=True)
        assert p.returncode != 0 and "EdDSA" in p.stderr, p.stderr
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], capture_output=True)


def test_release_needs_a_changelog_section(tmp_path, binary, dist_pkg):
    log = tmp_path / "CHANGELOG.md"
    log.write_text("# Changelog\n\n## [0.0.1]\n\n- older\n")
    env = dict(os.environ, ZT_DIST_UNSIGNED="1")
    argv = [sys.executable, DIST_PY, "package", "--binary", binary, "--version", dist_pkg.version,
            "--out", tmp_path / "d", "--changelog", log]
    p = subprocess.run([str(a) for a in argv], capture_output=True, text=True, env=env)
    assert p.returncode != 0 and f"## [{dist_pkg.version}]" in p.stderr, p.stderr
    log.write_text(log.read_text() + f"\n## [{dist_pkg.version}]\n\n- this one\n")
    run(argv, env=env)
    # and the project's own CHANGELOG.md has a section for the version meson.build declares
    assert re.search(rf"^## \[{re.escape(dist_pkg.version)}\]", (REPO / "CHANGELOG.md").read_text(), re.M)


def test_package_is_reproducible(tmp_path, dist_pkg, binary, keys):
    time.sleep(1.1)  # a different wall clock second
    again = tmp_path / "again"
    package(binary, dist_pkg.version, again, keys["release"])
    assert (again / dist_pkg.zip.name).read_bytes() == dist_pkg.zip.read_bytes()
    assert (again / dist_pkg.sums.name).read_bytes() == dist_pkg.sums.read_bytes()


def test_unsigned_needs_opt_in(tmp_path, binary, dist_pkg):
    env = {k: v for k, v in os.environ.items() if k not in ("ZT_SIGNING_KEY", "ZT_DIST_UNSIGNED")}
    p = subprocess.run([sys.executable, DIST_PY, "package", "--binary", binary,
                        "--version", dist_pkg.version, "--out", tmp_path / "u"],
                       capture_output=True, text=True, env=env)
    assert p.returncode != 0 and "ZT_SIGNING_KEY" in p.stderr


def test_signing_key_from_a_file(tmp_path, binary, dist_pkg, keys):
    """ZT_SIGNING_KEY may name an exported secret key instead of a key in $GNUPGHOME."""
    rel = keys["release"]
    sec = tmp_path / "release.sec"
    sec.write_bytes(subprocess.run(["gpg", "--homedir", str(rel.home), "--batch", "--export-secret-keys",
                                    rel.fpr], capture_output=True, check=True).stdout)
    empty = tmp_path / "g"
    empty.mkdir(mode=0o700)
    env = dict(os.environ, GNUPGHOME=str(empty), ZT_SIGNING_KEY=str(sec))
    out = tmp_path / "d"
    run([sys.executable, DIST_PY, "package", "--binary", binary, "--version", dist_pkg.version,
         "--out", out], env=env)
    run(["gpg", "--homedir", rel.home, "--batch", "--verify", out / dist_pkg.sig.name,
         out / dist_pkg.sums.name])


def test_publishing_a_new_version_keeps_the_old(tmp_path, keys):
    import json
    rel = keys["release"]
    env = dict(os.environ, GNUPGHOME=str(rel.home), ZT_SIGNING_KEY=rel.fpr)
    fake = tmp_path / "bin"
    srv = tmp_path / "srv"
    for v in ("0.9.0", "0.10.0"):   # semver order, not string order
        fake.write_bytes(b"#!/bin/sh\necho " + v.encode() + b"\n")
        d = tmp_path / f"dist-{v}"
        run([sys.executable, DIST_PY, "package", "--binary", fake, "--version", v, "--out", d,
             "--no-strip"], env=env)
        _dist("net-mirror", "--dist", d, "--out", srv / "mirror")
        run([sys.executable, DIST_PY, "registry", "--dist", d, "--out", srv,
             "--base-url", "https://registry.example"], env=env)
    idx = json.loads((srv / "mirror" / PROVIDER_SOURCE / "index.json").read_text())
    assert list(idx["versions"]) == ["0.9.0", "0.10.0"]
    for v in ("0.9.0", "0.10.0"):
        doc = json.loads((srv / "mirror" / PROVIDER_SOURCE / f"{v}.json").read_text())
        z = srv / "mirror" / PROVIDER_SOURCE / doc["archives"][PLATFORM]["url"]
        assert doc["archives"][PLATFORM]["hashes"] == [dist.h1_zip(z), dist.zh_zip(z)]
    vers = json.loads((srv / "v1" / "providers" / GOOD_NS / TYPE / "versions").read_text())
    assert [x["version"] for x in vers["versions"]] == ["0.9.0", "0.10.0"]
    assert all(x["protocols"] == ["6.0"] for x in vers["versions"])
    assert (srv / "releases" / GOOD_NS / TYPE / "0.10.0" / "terraform-provider-zerotrust_0.10.0_manifest.json").is_file()
    assert vers["versions"][0]["platforms"] == [{"os": "linux", "arch": "amd64"}]
    dl = json.loads((srv / "v1" / "providers" / GOOD_NS / TYPE / "0.10.0" / "download" / "linux"
                     / "amd64").read_text())
    assert dl["download_url"] == ("https://registry.example/releases/zerotrust/zerotrust/0.10.0/"
                                  "terraform-provider-zerotrust_0.10.0_linux_amd64.zip")
    assert dl["signing_keys"]["gpg_public_keys"][0]["key_id"] == rel.key_id


def test_hashes_match_independent_dirhash(tmp_path, dist_pkg):
    """h1: of the zip == h1: of its unpacked dir (tests' own implementation)."""
    run([sys.executable, DIST_PY, "fs-mirror", "--dist", dist_pkg.dir, "--out", tmp_path,
         "--layout", "unpacked"])
    pkg = tmp_path / PROVIDER_SOURCE / dist_pkg.version / PLATFORM
    assert dirhash_h1(pkg) == dist_pkg.h1 == dist.h1_dir(pkg)
    exe = pkg / f"terraform-provider-{TYPE}_v{dist_pkg.version}"
    assert stat.S_IMODE(exe.stat().st_mode) == 0o755
    import hashlib
    assert dist_pkg.zh == "zh:" + hashlib.sha256(dist_pkg.zip.read_bytes()).hexdigest()


# --------------------------------------------------------------------------
# The web server: nginx over HTTPS with a test CA
# --------------------------------------------------------------------------

@dataclass
class Site:
    root: Path
    port: int
    host: str          # localhost:PORT, the registry host in source addresses
    ca: Path
    tampered_zip: bytes

    @property
    def url(self) -> str:
        return f"https://{self.host}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _make_pki(d: Path) -> tuple[Path, Path, Path]:
    need("openssl")
    d.mkdir()
    ca_key, ca, key, csr, crt, ext = (d / n for n in ("ca.key", "ca.pem", "srv.key", "srv.csr",
                                                       "srv.pem", "ext.cnf"))
    run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca,
         "-days", "2", "-subj", "/CN=zerotrust test CA",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
         "-subj", "/CN=localhost"])
    ext.write_text("subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n"
                   "extendedKeyUsage=serverAuth\n")
    run(["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
         "-out", crt, "-days", "2", "-extfile", ext])
    return ca, crt, key


def _tampered_zip(good: Path, dst: Path) -> None:
    """Same entry names, a different executable (one byte more): a valid zip that is not ours."""
    with zipfile.ZipFile(good) as z:
        members = [(i.filename, z.read(i) + b"\0", 0o755) for i in z.infolist()]
    dist.write_zip(dst, members)


def _dist(*args):
    return run([sys.executable, DIST_PY, *args])


@pytest.fixture(scope="module")
def site(tmp_path_factory, dist_pkg, keys):
    nginx = need("nginx")
    base = tmp_path_factory.mktemp("zt-site")
    ca, crt, key = _make_pki(base / "pki")
    port = _free_port()
    host = f"localhost:{port}"
    srv = base / "srv"
    rel = keys["release"]
    d, v = str(dist_pkg.dir), dist_pkg.version
    env = dict(os.environ, GNUPGHOME=str(rel.home), ZT_SIGNING_KEY=rel.fpr)

    # the registry (key exported from gpg), and variants under other namespaces
    run([sys.executable, DIST_PY, "registry", "--dist", d, "--out", srv, "--base-url", f"https://{host}"],
        env=env)
    pub = base / "release.asc"
    pub.write_text(run(["gpg", "--homedir", rel.home, "--batch", "--armor", "--export", rel.fpr]).stdout)
    for ns in ("tampered", "otherkey", "forged"):
        _dist("registry", "--dist", d, "--out", srv, "--base-url", f"https://{host}", "--namespace", ns,
              "--public-key", pub)
    # tampered: the zip is replaced, everything else (shasum, SHA256SUMS, signature) is genuine
    tz = base / "tampered.zip"
    _tampered_zip(dist_pkg.zip, tz)
    shutil.copyfile(tz, srv / "releases" / "tampered" / TYPE / v / dist_pkg.zip.name)
    # otherkey: SHA256SUMS signed by a key the registry does not list
    osig = srv / "releases" / "otherkey" / TYPE / v / dist_pkg.sig.name
    osig.unlink()
    run(["gpg", "--homedir", keys["other"].home, "--batch", "--detach-sign", "--output", osig,
         srv / "releases" / "otherkey" / TYPE / v / dist_pkg.sums.name])
    # forged: zip, shasum and SHA256SUMS all replaced consistently; the signature is the
    # genuine one (of the genuine SHA256SUMS)
    fdir = srv / "releases" / "forged" / TYPE / v
    shutil.copyfile(tz, fdir / dist_pkg.zip.name)
    tzh = dist.sha256_hex(tz.read_bytes())
    (fdir / dist_pkg.sums.name).write_text(f"{tzh}  {dist_pkg.zip.name}\n")
    dl = srv / "v1" / "providers" / "forged" / TYPE / v / "download" / "linux" / "amd64"
    dl.write_text(dl.read_text().replace(dist_pkg.zh[3:], tzh))

    # network mirrors: a genuine one, and one whose zip was replaced
    _dist("net-mirror", "--dist", d, "--out", srv / "mirror")
    _dist("net-mirror", "--dist", d, "--out", srv / "mirror-tampered")
    shutil.copyfile(tz, srv / "mirror-tampered" / PROVIDER_SOURCE / dist_pkg.zip.name)

    prefix = base / "nginx"
    conf = prefix / "nginx.conf"
    prefix.mkdir()
    _dist("nginx-conf", "--root", srv, "--out", conf, "--prefix", prefix,
          "--listen", f"127.0.0.1:{port}", "--server-name", "localhost", "--cert", crt, "--key", key,
          # as root, workers would run as nobody, who cannot read pytest's 0700 temp dirs
          *(["--user", "root"] if os.geteuid() == 0 else []))
    out = open(prefix / "stdout.log", "wb")
    proc = subprocess.Popen([nginx, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")],
                            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    try:
        ctx = ssl.create_default_context(cafile=str(ca))
        deadline = time.monotonic() + 15
        while True:
            if proc.poll() is not None:
                pytest.fail(f"nginx exited ({proc.returncode}): "
                            f"{(prefix / 'stdout.log').read_text()}"
                            f"{(prefix / 'error.log').read_text() if (prefix / 'error.log').exists() else ''}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s, \
                        ctx.wrap_socket(s, server_hostname="localhost"):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("nginx does not answer on port %d" % port)
                time.sleep(0.1)
        yield Site(srv, port, host, ca, tz.read_bytes())
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGQUIT)     # graceful: the master stops its workers
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        out.close()


def test_site_serves_registry_json(site, dist_pkg):
    import json
    import urllib.request
    ctx = ssl.create_default_context(cafile=str(site.ca))
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                         urllib.request.HTTPSHandler(context=ctx))
    url = f"{site.url}/v1/providers/{GOOD_NS}/{TYPE}/{dist_pkg.version}/download/linux/amd64"
    with opener.open(url) as r:
        assert r.headers.get_content_type() == "application/json"
        doc = json.load(r)
    assert doc["filename"] == dist_pkg.zip.name
    assert doc["shasum"] == dist_pkg.zh[3:]
    assert doc["download_url"].startswith(site.url + "/")
    assert doc["signing_keys"]["gpg_public_keys"][0]["ascii_armor"].startswith(
        "-----BEGIN PGP PUBLIC KEY BLOCK-----")
    with opener.open(doc["download_url"]) as r:
        assert r.read() == dist_pkg.zip.read_bytes()
    with opener.open(f"{site.url}/v1/providers/{GOOD_NS}/{TYPE}/versions") as r:
        assert r.headers.get_content_type() == "application/json"
        assert [x["version"] for x in json.load(r)["versions"]] == [dist_pkg.version]


# --------------------------------------------------------------------------
# Terraform / OpenTofu
# --------------------------------------------------------------------------

@dataclass
class Tf:
    runner: object
    dir: Path
    env: dict

    def __call__(self, *args: str) -> subprocess.CompletedProcess:
        p = subprocess.run(self.runner.argv + ["-chdir=" + str(self.dir)] + list(args) + ["-no-color"],
                           capture_output=True, text=True, env=self.env, stdin=subprocess.DEVNULL,
                           timeout=COMMAND_TIMEOUT)
        p.describe = f"$ {' '.join(args)} -> {p.returncode}\n--- stdout\n{p.stdout[-3000:]}\n" \
                     f"--- stderr\n{p.stderr[-3000:]}"
        return p

    def lock_hashes(self, source: str) -> list[str]:
        text = (self.dir / ".terraform.lock.hcl").read_text()
        m = re.search(r'provider "%s" \{(.*?)\n\}' % re.escape(source), text, re.S)
        assert m, f"no provider {source!r} in the lock file:\n{text}"
        return sorted(re.findall(r'"((?:h1|zh):[^"]+)"', m.group(1)))

    def installed_exe(self, source: str, version: str) -> Path:
        return (self.dir / ".terraform" / "providers" / source / version / PLATFORM
                / f"terraform-provider-{TYPE}_v{version}")


def make_tf(rid: str, tmp_path: Path, source: str, cli_config: str, site: Site | None = None) -> Tf:
    runner = get_runner(rid)
    wd = tmp_path / "work"
    wd.mkdir()
    (wd / "main.tf").write_text(
        'terraform {\n  required_providers {\n'
        f'    zerotrust = {{ source = "{source}" }}\n  }}\n}}\n')
    rc = tmp_path / "cli.tfrc"
    rc.write_text("disable_checkpoint = true\n" + cli_config)
    (tmp_path / "tmp").mkdir()
    env = clean_env({"TF_CLI_CONFIG_FILE": str(rc), "TMPDIR": str(tmp_path / "tmp"),
                     "HOME": str(tmp_path)})   # no ~/.terraform.d/plugins of anyone's
    if site is not None:
        env["SSL_CERT_FILE"] = str(site.ca)
    return Tf(runner, wd, env)


def fs_mirror_config(path: Path) -> str:
    return f'provider_installation {{\n  filesystem_mirror {{\n    path = "{path}"\n  }}\n}}\n'


def net_mirror_config(url: str) -> str:
    return f'provider_installation {{\n  network_mirror {{\n    url = "{url}"\n  }}\n}}\n'


DIRECT_ONLY = "provider_installation {\n  direct {}\n}\n"

runners = pytest.mark.parametrize("rid", RUNNER_IDS)


def net_mirror_lock(runner, dist_pkg: Dist) -> list[str]:
    """What a network mirror install records. Terraform: only the h1: it computed
    (mirror hashes are not signed, plugin-protocol.md §6.3); so does OpenTofu before 1.10.
    OpenTofu 1.10.0 also records the zip's locally verified zh: when the source offers no
    signed checksums (its CHANGELOG, opentofu/opentofu#2656); seen here with 1.10 and 1.12."""
    if runner.flavor == "opentofu" and runner.version >= (1, 10, 0):
        return sorted([dist_pkg.h1, dist_pkg.zh])
    return [dist_pkg.h1]


def assert_installed(tf: Tf, p, source: str, dist_pkg: Dist) -> None:
    assert p.returncode == 0, p.describe
    exe = tf.installed_exe(source, dist_pkg.version)
    assert exe.is_file(), f"{exe} not installed\n{p.describe}"
    assert stat.S_IMODE(exe.stat().st_mode) & 0o111, f"{exe} is not executable"


@runners
@pytest.mark.parametrize("layout", ["packed", "unpacked"])
def test_init_from_filesystem_mirror(rid, layout, tmp_path, dist_pkg):
    mirror = tmp_path / "mirror"
    _dist("fs-mirror", "--dist", dist_pkg.dir, "--out", mirror, "--layout", layout)
    tf = make_tf(rid, tmp_path, PROVIDER_SOURCE, fs_mirror_config(mirror))
    p = tf("init")
    assert_installed(tf, p, PROVIDER_SOURCE, dist_pkg)
    assert tf.lock_hashes(PROVIDER_SOURCE) == [dist_pkg.h1]


@runners
def test_init_from_network_mirror(rid, tmp_path, site, dist_pkg):
    tf = make_tf(rid, tmp_path, PROVIDER_SOURCE, net_mirror_config(f"{site.url}/mirror/"), site)
    p = tf("init")
    assert_installed(tf, p, PROVIDER_SOURCE, dist_pkg)
    assert tf.lock_hashes(PROVIDER_SOURCE) == net_mirror_lock(tf.runner, dist_pkg)


@runners
def test_init_from_registry(rid, tmp_path, site, dist_pkg, keys):
    source = f"{site.host}/{GOOD_NS}/{TYPE}"
    tf = make_tf(rid, tmp_path, source, DIRECT_ONLY, site)
    p = tf("init")
    assert_installed(tf, p, source, dist_pkg)
    assert keys["release"].key_id in p.stdout, p.describe   # "(self-signed, key ID ...)"
    # the locally computed h1: plus a zh: for every line of the signed SHA256SUMS: the zip
    # and, as for HashiCorp's own releases, the manifest (hashicorp/terraform#33599)
    sums = ["zh:" + ln.split()[0] for ln in dist_pkg.sums.read_text().splitlines()]
    assert dist_pkg.zh in sums and len(sums) == 2
    assert tf.lock_hashes(source) == sorted([dist_pkg.h1, *sums])
    if rid == "terraform":   # the installed package runs
        s = tf("providers", "schema", "-json")
        assert s.returncode == 0 and source in s.stdout, s.describe


@runners
@pytest.mark.parametrize("how", ["fs-packed", "fs-unpacked", "net"])
def test_providers_lock(rid, how, tmp_path, site, dist_pkg):
    if how == "net":
        arg = f"-net-mirror={site.url}/mirror/"
    else:
        mirror = tmp_path / "mirror"
        _dist("fs-mirror", "--dist", dist_pkg.dir, "--out", mirror, "--layout", how[3:])
        arg = f"-fs-mirror={mirror}"
    tf = make_tf(rid, tmp_path, PROVIDER_SOURCE, "", site)
    p = tf("providers", "lock", arg, f"-platform={PLATFORM}")
    assert p.returncode == 0, p.describe
    want = net_mirror_lock(tf.runner, dist_pkg) if how == "net" else [dist_pkg.h1]
    assert tf.lock_hashes(PROVIDER_SOURCE) == want


@runners
@pytest.mark.parametrize("where", ["registry", "net-mirror"])
def test_tampered_zip_is_rejected(rid, where, tmp_path, site, dist_pkg):
    if where == "registry":
        source = f"{site.host}/tampered/{TYPE}"
        tf = make_tf(rid, tmp_path, source, DIRECT_ONLY, site)
    else:
        source = PROVIDER_SOURCE
        tf = make_tf(rid, tmp_path, source, net_mirror_config(f"{site.url}/mirror-tampered/"), site)
    p = tf("init")
    assert p.returncode != 0, p.describe
    err = " ".join(p.stderr.split())   # the CLI wraps its messages
    if where == "registry":
        # Terraform's own check of the download against the registry's shasum
        assert (f"archive has incorrect checksum zh:{dist.sha256_hex(site.tampered_zip)} "
                f"(expected {dist_pkg.zh})") in err, p.describe
    else:
        # ... against the hashes of VERSION.json (sic: "the any")
        assert "provider package doesn't match the any of the expected checksums" in err, p.describe
    assert not tf.installed_exe(source, dist_pkg.version).exists()


@runners
@pytest.mark.parametrize("ns", ["otherkey", "forged"])
def test_bad_signature_is_rejected(rid, ns, tmp_path, site, dist_pkg):
    """otherkey: SHA256SUMS signed by a key the registry does not list; forged: zip,
    shasum and SHA256SUMS replaced together, the genuine signature left."""
    source = f"{site.host}/{ns}/{TYPE}"
    tf = make_tf(rid, tmp_path, source, DIRECT_ONLY, site)
    p = tf("init")
    assert p.returncode != 0, p.describe
    err = " ".join(p.stderr.split())
    if ns == "otherkey":
        assert "authentication signature from unknown issuer" in err, p.describe
    else:
        # "error checking signature: openpgp: invalid signature: RSA verification failure"
        # ("hash tag doesn't match" from Terraform 1.5's older openpgp)
        assert "error checking signature: openpgp: invalid signature" in err, p.describe
    assert not tf.installed_exe(source, dist_pkg.version).exists()


OLD_SOURCE = "registry.terraform.io/zerotrust/zerotrust"   # what mirror users wrote before


@pytest.mark.parametrize("rid", ["terraform", "terraform-1.5"])
def test_state_moves_to_the_canonical_address(rid, tmp_path, dist_pkg):
    """docs/guides/installation.md: a state written under the public-registry address moves to
    the canonical one with `terraform state replace-provider`, and then plans no change."""
    mirror = tmp_path / "mirror"
    for host in (OLD_SOURCE.split("/")[0], PROVIDER_SOURCE.split("/")[0]):
        _dist("fs-mirror", "--dist", dist_pkg.dir, "--out", mirror, "--hostname", host)
    tf = make_tf(rid, tmp_path, OLD_SOURCE, fs_mirror_config(mirror))
    body = ('provider "zerotrust" {\n  skip_credentials_validation = true  # address planning: no Azure\n}\n'
            'data "zerotrust_address_plan" "hub" {\n  address_space = "10.0.0.0/22"\n'
            '  layout        = "hub"\n}\noutput "fw" {\n'
            '  value = data.zerotrust_address_plan.hub.cidrs["AzureFirewallSubnet"]\n}\n')
    main = tf.dir / "main.tf"
    main.write_text(main.read_text() + body)
    for args in (["init"], ["apply", "-auto-approve"]):
        p = tf(*args)
        assert p.returncode == 0, p.describe
    main.write_text(main.read_text().replace(OLD_SOURCE, PROVIDER_SOURCE))
    p = tf("plan")
    assert p.returncode != 0 and "init" in p.stderr, p.describe   # the new source is not installed
    p = tf("init")
    assert p.returncode == 0, p.describe
    p = tf("state", "replace-provider", "-auto-approve", OLD_SOURCE, PROVIDER_SOURCE)
    assert p.returncode == 0 and "Successfully replaced provider" in p.stdout, p.describe
    state = json.loads((tf.dir / "terraform.tfstate").read_text())
    assert {r["provider"] for r in state["resources"]} == {f'provider["{PROVIDER_SOURCE}"]'}
    assert list(tf.dir.glob("terraform.tfstate.*backup"))    # the state before the move
    p = tf("plan", "-detailed-exitcode")
    assert p.returncode == 0, p.describe
