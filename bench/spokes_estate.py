"""The 1 hub + N spokes estate the scale benchmarks share (spokes_scale.py, refresh_scale.py):
the generated spokes' tfvars, a fresh emulator with the two resource groups and a Terraform
workspace on examples/hub-and-spokes, the emulator's request log, and a sampler of the provider
processes' CPU and peak RSS.

    with SpokesEstate(root, n, binary, "rg-hub-x", "rg-spokes-x", time_scale=0.05, throttling=thr) as est:
        seq = last_seq(est.log)
        est.ws.run("apply", ...)
        reqs = read_log(est.log, seq)
"""
from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
for _p in (REPO / "tests" / "e2e", REPO, REPO / "bench"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from e2e_support import get_runner, make_workspace, process_exe  # noqa: E402
from hub_apply import make_mirror  # noqa: E402
from hub_env import TAGS, arm_env, start_emulator  # noqa: E402

EXAMPLE = REPO / "examples" / "hub-and-spokes"
TICK = os.sysconf("SC_CLK_TCK")


def spokes_tfvars(n: int, hub_rg: str, spoke_rg: str) -> str:
    """N spokes spoke-NNN with 10.a.b.0/24 address spaces and rule collection priority 200 + i."""
    lines = [f'hub_resource_group_name = "{hub_rg}"', f'spoke_resource_group_name = "{spoke_rg}"',
             "spokes = {"]
    for i in range(n):
        a, b = 1 + i // 256, i % 256          # 10.1.0.0/24, 10.1.1.0/24, ... (hub: 10.100.0.0/22)
        if a >= 100:
            raise ValueError("too many spokes for the 10.1-99.x.0/24 plan")
        lines.append(f'  "spoke-{i:03d}" = {{ address_space = "10.{a}.{b}.0/24", '
                     f'firewall_rule_priority = {200 + i} }}')
    lines.append("}")
    return "\n".join(lines) + "\n"


def read_log(path: Path, since: int) -> list[dict]:
    """The emulator's ARM requests (kind "arm") logged after sequence number `since`."""
    out = []
    with open(path) as f:
        for line in f:
            e = json.loads(line)
            if e["seq"] > since and e.get("kind") == "arm":
                out.append(e)
    return out


def last_seq(path: Path) -> int:
    seq = 0
    try:
        with open(path) as f:
            for line in f:
                seq = max(seq, json.loads(line)["seq"])
    except FileNotFoundError:
        pass
    return seq


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) a live process has used so far (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except (OSError, ValueError, IndexError):
        return 0.0


def children_cpu() -> float:
    """CPU seconds of this process's waited-for children and their own waited-for children
    (a finished terraform command: terraform and the provider processes it started)."""
    import resource
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


class ProviderSampler(threading.Thread):
    """Peak VmHWM (kB, `peak`) and last CPU seconds (utime + stime, `cpu`) per pid of every
    terraform-provider-zerotrust process whose executable lies under root."""

    def __init__(self, root: Path, period: float = 0.02):
        super().__init__(daemon=True)
        self.root, self.period = str(root), period
        self.peak: dict[int, int] = {}
        self.cpu: dict[int, float] = {}
        self.stop_ev = threading.Event()

    def _scan(self, known: set[int]):
        for d in os.listdir("/proc"):
            if d.isdigit() and int(d) not in known:
                exe = process_exe(int(d))
                if exe and exe.startswith(self.root) and "terraform-provider-zerotrust" in exe:
                    known.add(int(d))

    def _sample(self, pid: int) -> bool:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            self.cpu[pid] = (int(fields[11]) + int(fields[12])) / TICK
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        self.peak[pid] = max(self.peak.get(pid, 0), int(line.split()[1]))
            return True
        except (OSError, ValueError, IndexError):
            return False

    def run(self):
        known: set[int] = set()
        last_scan = 0.0
        while not self.stop_ev.is_set():
            now = time.monotonic()
            if now - last_scan > 0.1:           # new provider processes
                last_scan = now
                self._scan(known)
            for pid in list(known):
                if not self._sample(pid):
                    known.discard(pid)
            self.stop_ev.wait(self.period)

    def stop(self) -> "ProviderSampler":
        self.stop_ev.set()
        self.join(timeout=5)
        return self

    @property
    def cpu_s(self) -> float:
        return sum(self.cpu.values())

    @property
    def peak_kb(self) -> int:
        return max(self.peak.values(), default=0)


def throttle_body(a) -> dict:
    """The emulator's throttling switch, on, with the buckets of argparse's --reads/--writes/--deletes."""
    thr = {"enabled": True}
    for cls in ("reads", "writes", "deletes"):
        cap, rate = getattr(a, cls)
        thr[cls] = {"capacity": cap, "refill_per_second": rate}
    return thr


class SpokesEstate:
    """A fresh emulator (state in root/emu-N) with the hub and spoke resource groups, throttling
    set (a body for the emulator's throttling control), and an initialised Terraform workspace
    (root/ws-N) on examples/hub-and-spokes with N spokes, its provider from a mirror in root/m-N
    (`provider_root`: where the provider processes' executables lie). The emulator stops on exit."""

    def __init__(self, root: Path, n: int, binary: Path, hub_rg: str, spoke_rg: str, *,
                 time_scale: float, throttling: dict):
        self.root, self.n, self.binary = root, n, binary
        self.hub_rg, self.spoke_rg = hub_rg, spoke_rg
        self.time_scale, self.throttling = time_scale, throttling
        self.emu = None

    def __enter__(self) -> "SpokesEstate":
        n, root = self.n, self.root
        self.emu = start_emulator(root / f"emu-{n}", time_scale=self.time_scale, validate=False)
        try:
            c = self.client = self.emu.client
            for rg in (self.hub_rg, self.spoke_rg):
                r = c.put(c.rg_id(rg), {"location": "westeurope", "tags": TAGS})
                assert r.status_code in (200, 201), r.text
            c.control("POST", "throttling", self.throttling).raise_for_status()
            self.provider_root = root / f"m-{n}"
            mirror = make_mirror(self.provider_root, self.binary)
            self.ws = make_workspace(root / f"ws-{n}", get_runner("terraform"), mirror, config_dir=EXAMPLE,
                                     files={"bench.auto.tfvars": spokes_tfvars(n, self.hub_rg, self.spoke_rg)})
            self.ws.extra_env.update(arm_env(self.emu.info))
            self.ws.run("init", "-input=false", "-no-color", check=True, log=False)
            self.log = Path(self.emu.info.get("request_log") or self.emu.state_dir / "requests.jsonl")
        except BaseException:
            self.emu.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.emu.stop()
        return False

    def emulator_cpu(self) -> float:
        """CPU seconds the emulator process has used so far."""
        return proc_cpu(self.emu.proc.pid)

    def sampler(self) -> ProviderSampler:
        """A started sampler of this estate's provider processes."""
        s = ProviderSampler(self.provider_root)
        s.start()
        return s

    def store_under_groups(self) -> list[dict]:
        """The emulator's stored resources in the hub and spoke resource groups."""
        c = self.client
        prefixes = (c.rg_id(self.hub_rg).lower() + "/", c.rg_id(self.spoke_rg).lower() + "/")
        return [r for r in c.control("GET", "store").json()["resources"] if r["id"].lower().startswith(prefixes)]
