"""Many states, many teams: the hub in the platform team's state, each spoke in a state of its
own that reads the hub through the `zerotrust_hub` data source (no reference to the hub's state),
all spoke applies launched at once as separate Terraform processes (real Terraform, the emulator).

The states live in Terraform's `pg` backend (one schema per state, locks held by PostgreSQL)
against a PostgreSQL server the test starts from the Debian packages' binaries
(/usr/lib/postgresql/*/bin); without them, in local backends in separate directories (said in the
test's output). The spokes' names hash to the same rule collection group (spokes-3),
so their hub-side writes race: rule collections by read-modify-write under the group's etag
(412 -> read again), routes and peerings as children of one hub route table / VNet (409
AnotherOperationInProgress -> retried).

  hub apply -> N spoke applies at once: all succeed -> every spoke's collections, route and
  peerings on the hub (no lost update) -> every plan clean -> one spoke state destroyed: the
  others' hub-side pieces intact, plans clean -> the rest destroyed: nothing left. The orphan
  audit checks every state after the concurrent applies and after each destroy.

ZT_MANY_STATES=N runs N spoke states (default 10, as a platform with ten workload teams; about
30 s on 2 cores).
"""
from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

from e2e_support import PROVIDER_SOURCE, get_runner, make_workspace
from hub_env import spoke_hcl, start_emulator, use_emulator
from orphans import audit_for

HUB_RG, SPOKE_RG, OTHER_RG = "rg-hub-many", "rg-spokes-many", "rg-other-many"
TAGS = {"environment": "test", "project": "data-platform", "owner": "e2e", "cost-centre": "CC-0"}
# all in spokes-3 (the first four), then the others' buckets
NAMES = ["alpha", "beta", "zeta", "theta", "gamma", "delta", "kappa", "iota", "omega", "tau"]
N = max(1, min(len(NAMES), int(os.environ.get("ZT_MANY_STATES", "10"))))
SPOKES = NAMES[:N]

PROVIDER = f'''terraform {{
  required_providers {{
    zerotrust = {{ source = "{PROVIDER_SOURCE}" }}
  }}
  BACKEND
}}

provider "zerotrust" {{}}
'''


def with_backend(text: str, pg: str | None, schema: str) -> str:
    backend = f'backend "pg" {{\n    conn_str    = "{pg}"\n    schema_name = "{schema}"\n  }}' if pg else ""
    return text.replace("BACKEND", backend)

HUB = PROVIDER + f'''
resource "zerotrust_hub" "this" {{
  name                 = "many"
  location             = "westeurope"
  resource_group_name  = "{HUB_RG}"
  address_space        = "10.100.0.0/22"
  dns_resolver_enabled = false
  tags                 = {json.dumps(TAGS).replace(":", " =")}
}}

output "virtual_network_id" {{
  value = zerotrust_hub.this.virtual_network_id
}}
'''


def spoke_tf(name: str, i: int, hub_id: str) -> str:
    return PROVIDER + f'''
data "zerotrust_hub" "hub" {{
  virtual_network_id = "{hub_id}"
}}
''' + spoke_hcl("this", name, SPOKE_RG, f"10.{i + 1}.0.0/24", 200 + 10 * i, resolver=True)


@pytest.fixture(scope="module")
def emu(session_root):
    e = start_emulator(session_root / "many-states-emulator")
    e.create_groups((HUB_RG, SPOKE_RG, OTHER_RG))
    yield e
    e.stop()


def _free_port() -> int:
    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        return so.getsockname()[1]


@pytest.fixture(scope="module")
def pg(session_root):
    """A PostgreSQL server for the pg backend (its connection string), or None."""
    initdb = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not initdb:
        print("\n[many states] no PostgreSQL binaries: local backends in separate directories")
        yield None
        return
    # outside pytest's private temp dir: the postgres user must reach it
    bindir, d = initdb[-1].parent, Path(tempfile.mkdtemp(prefix="zt-many-states-pg-"))
    as_pg = []
    if os.geteuid() == 0:         # PostgreSQL refuses to run as root
        pw = pwd.getpwnam("postgres")
        os.chown(d, pw.pw_uid, pw.pw_gid)
        as_pg = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    subprocess.run(as_pg + [str(bindir / "initdb"), "-D", str(d / "data"), "-A", "trust", "-U", "postgres"],
                   check=True, capture_output=True)
    subprocess.run(as_pg + [str(bindir / "pg_ctl"), "-D", str(d / "data"), "-l", str(d / "server.log"), "-w",
                            "-o", f"-p {port} -k {d} -c listen_addresses=127.0.0.1", "start"],
                   check=True, capture_output=True)
    try:
        yield f"postgres://postgres@127.0.0.1:{port}/postgres?sslmode=disable"
    finally:
        subprocess.run(as_pg + [str(bindir / "pg_ctl"), "-D", str(d / "data"), "-m", "fast", "stop"],
                       capture_output=True)
        shutil.rmtree(d, ignore_errors=True)


def _pull(ws) -> None:
    """The orphan audit reads terraform.tfstate: the pg backend's state, pulled."""
    if "backend \"pg\"" in (ws.dir / "main.tf").read_text():
        st = ws.run("state", "pull", check=True, log=False).stdout
        (ws.dir / "terraform.tfstate").write_text(st or "{}")


@pytest.fixture(scope="module")
def world(session_root, mirror, provider_speaks, emu, pg):
    runner = get_runner("terraform")
    groups = [emu.client.rg_id(HUB_RG), emu.client.rg_id(SPOKE_RG)]
    hub = use_emulator(make_workspace(session_root / "many-hub", runner, mirror,
                                      files={"main.tf": with_backend(HUB, pg, "hub")}),
                       emu.client, groups)
    if pg:
        hub.audit = None     # audited by _audit_all, after the states are pulled
    hub.run("init", "-input=false", "-no-color", check=True)
    hub.run("apply", "-input=false", "-no-color", "-auto-approve", check=True)
    _pull(hub)
    hub_id = json.loads(hub.run("output", "-json", check=True).stdout)["virtual_network_id"]["value"]
    spokes = {}
    for i, name in enumerate(SPOKES):
        ws = make_workspace(session_root / f"many-spoke-{name}", runner, mirror,
                            files={"main.tf": with_backend(spoke_tf(name, i, hub_id), pg, f"spoke_{name}")})
        use_emulator(ws, emu.client, groups)
        if pg:
            ws.audit = None
        ws.run("init", "-input=false", "-no-color", check=True)
        if pg:
            # The team's state exists before its pipelines run (the pg backend holds one
            # cluster-wide lock for the whole run that creates a state): a refresh-only apply
            # writes it, with the data source's read of the hub.
            ws.run("apply", "-refresh-only", "-input=false", "-no-color", "-auto-approve", check=True)
        spokes[name] = ws
    net = f"{emu.client.rg_id(HUB_RG)}/providers/Microsoft.Network"
    return {"hub": hub, "spokes": spokes, "pg": pg, "policy": f"{net}/firewallPolicies/afwp-many",
            "rt": f"{net}/routeTables/rt-many-gateway", "vnet": hub_id}


def ds_tf(hub_id: str) -> str:
    """Plans only: no state to share, a local backend."""
    return with_backend(PROVIDER, None, "ds") + f'''
data "zerotrust_hub" "hub" {{
  virtual_network_id = "{hub_id}"
}}

output "firewall_private_ip" {{
  value = data.zerotrust_hub.hub.firewall_private_ip
}}
'''


@pytest.fixture(scope="module")
def ds_ws(session_root, mirror, emu):
    """A state holding only the data source, rewritten per case."""
    ws = use_emulator(make_workspace(session_root / "many-ds", get_runner("terraform"), mirror,
                                     files={"main.tf": ds_tf("/x")}), emu.client, [])
    ws.run("init", "-input=false", "-no-color", check=True)
    return ws


def _ds_plan(emu, ws, hub_id):
    """Plan of ds_tf(hub_id): (result, its error diagnostics, the ARM requests it made)."""
    (ws.dir / "main.tf").write_text(ds_tf(hub_id))
    since = max((r["seq"] for r in emu.requests(kind="arm")), default=0)
    r = ws.run("plan", "-input=false", "-no-color", "-json")
    diags = [x["diagnostic"] for x in r.json_lines()
             if x.get("type") == "diagnostic" and x["diagnostic"]["severity"] == "error"]
    return r, diags, emu.requests(since=since, kind="arm")


def _on_argument(diag) -> bool:
    """Terraform shows the argument's line when the diagnostic has its attribute path."""
    return diag.get("snippet", {}).get("code", "").strip().startswith("virtual_network_id")


def _hub_side(emu, w) -> tuple[set, set, set]:
    c = emu.client
    groups = c.get(f"{w['policy']}/ruleCollectionGroups").json()["value"]
    colls = [x["name"] for g in groups for x in g["properties"].get("ruleCollections") or []]
    assert len(colls) == len(set(colls)), colls
    routes = {r["name"] for r in c.get(f"{w['rt']}/routes").json()["value"]}
    peerings = {p["name"] for p in c.get(f"{w['vnet']}/virtualNetworkPeerings").json()["value"]}
    return set(colls), routes, peerings


def _expected(names) -> tuple[set, set, set]:
    return ({f"spoke-{n}-{k}" for n in names for k in ("network", "application")} | {"azure-platform"},
            {f"spoke-{n}" for n in names}, {f"peer-hub-to-{n}" for n in names})


def _audit_all(emu, w, step):
    """Every state (pulled from the backend) accounts for every resource on the hub and the spokes."""
    for ws in [w["hub"], *w["spokes"].values()]:
        _pull(ws)
    found = audit_for(emu.client)(w["hub"], step)
    assert not found, found


@pytest.mark.incremental
class TestManyStates:
    def test_spoke_applies_at_once(self, emu, world):
        spokes = world["spokes"]
        since = max((r["seq"] for r in emu.requests(kind="arm")), default=0)
        results: dict[str, object] = {}
        audits = {name: ws.audit for name, ws in spokes.items()}
        for ws in spokes.values():      # states are written as each apply goes: audit once, after all
            ws.audit = None
        print(f"\n[many states] backend: {'pg' if world['pg'] else 'local'}")

        def apply(name, ws):
            # a lock held by another run of the same state is waited for, as pipelines do
            results[name] = ws.run("apply", "-input=false", "-no-color", "-auto-approve", "-lock-timeout=300s")

        threads = [threading.Thread(target=apply, args=item) for item in spokes.items()]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for name, ws in spokes.items():
            ws.audit = audits[name]
            if world["pg"]:
                assert not (ws.dir / "terraform.tfstate").exists() or "lineage" not in \
                    (ws.dir / "terraform.tfstate").read_text(), "the state must be in the pg backend"
        failed = {n: r.describe(2000) for n, r in results.items() if r.rc != 0}
        assert not failed, failed
        assert _hub_side(emu, world) == _expected(SPOKES)
        _audit_all(emu, world, "apply")
        raced = [(r["status"], r["method"]) for r in emu.requests(since=since, kind="arm")
                 if r["status"] in (409, 412) and r["method"] != "GET"]
        print(f"\n[many states] {len(SPOKES)} spoke applies at once: {raced.count((412, 'PUT'))} PUTs refused "
              f"412 (stale etag, read again), {sum(1 for s, _ in raced if s == 409)} writes refused 409")

    def test_plans_clean(self, world):
        for ws in [world["hub"], *world["spokes"].values()]:
            r = ws.run("plan", "-input=false", "-no-color", "-detailed-exitcode")
            assert r.rc == 0, r.describe(3000)

    def test_data_source_reads(self, emu, world, ds_ws):
        """What a spoke needs, in 12 GETs: VNet, firewall, gateway (404), resolver inbound endpoint
        (404), the group's zone list, the hub VNet's link in each of the 7 default zones."""
        r, diags, reqs = _ds_plan(emu, ds_ws, world["vnet"])
        assert r.rc == 0 and not diags, r.describe(3000)
        gets = [q["path"] for q in reqs if q["method"] == "GET"]
        assert len(gets) == 12 and len(reqs) == 12, gets

    def test_data_source_not_a_hub(self, emu, world, ds_ws):
        c = emu.client
        vnet = f"{c.rg_id(OTHER_RG)}/providers/Microsoft.Network/virtualNetworks/vnet-plain"
        put = c.put(vnet, {"location": "westeurope",
                           "properties": {"addressSpace": {"addressPrefixes": ["10.200.0.0/24"]},
                                          "subnets": [{"name": "default",
                                                       "properties": {"addressPrefix": "10.200.0.0/26"}}]}})
        assert put.status_code in (200, 201), put.text
        r, diags, _ = _ds_plan(emu, ds_ws, vnet)
        assert r.rc == 1 and [d["summary"] for d in diags] == ["Not a zerotrust_hub VNet"], r.describe(3000)
        assert _on_argument(diags[0]) and "no AzureFirewallSubnet" in diags[0]["detail"], diags

    def test_data_source_missing_vnet(self, emu, world, ds_ws):
        r, diags, _ = _ds_plan(emu, ds_ws, world["vnet"].replace("vnet-many", "vnet-gone"))
        assert r.rc == 1 and [d["summary"] for d in diags] == ["Hub not found"], r.describe(3000)
        assert _on_argument(diags[0]) and "vnet-gone does not exist" in diags[0]["detail"], diags

    def test_data_source_invalid_id(self, emu, world, ds_ws):
        bad = world["vnet"].replace("/virtualNetworks/", "/virtualNetworks//")
        r, diags, reqs = _ds_plan(emu, ds_ws, bad)
        assert r.rc == 1 and [d["summary"] for d in diags] == ["Invalid hub VNet ID"], r.describe(3000)
        assert _on_argument(diags[0]) and not reqs, (diags, reqs)

    def test_data_source_refused_read(self, emu, world, ds_ws):
        emu.client.fault(kind="error", method="GET", path_regex=r"/azureFirewalls/afw-many$", status=403,
                         code="AuthorizationFailed", count=-1, message="No read access to the firewall.")
        try:
            r, diags, _ = _ds_plan(emu, ds_ws, world["vnet"])
        finally:
            emu.clear_faults()
        assert r.rc == 1 and len(diags) == 1, r.describe(3000)
        assert _on_argument(diags[0]) and "AuthorizationFailed" in diags[0]["detail"], diags

    def test_destroy_one_spoke_state(self, emu, world):
        first, rest = SPOKES[0], SPOKES[1:]
        world["spokes"][first].run("destroy", "-input=false", "-no-color", "-auto-approve", check=True)
        assert _hub_side(emu, world) == _expected(rest)
        _audit_all(emu, world, "destroy")
        for name in rest:
            r = world["spokes"][name].run("plan", "-input=false", "-no-color", "-detailed-exitcode")
            assert r.rc == 0, r.describe(3000)

    def test_destroy_the_rest(self, emu, world):
        for name in SPOKES[1:]:
            world["spokes"][name].run("destroy", "-input=false", "-no-color", "-auto-approve", check=True)
        assert _hub_side(emu, world) == _expected([])
        world["hub"].run("destroy", "-input=false", "-no-color", "-auto-approve", check=True)
        left = emu.store_ids_under(emu.client.rg_id(HUB_RG)) + emu.store_ids_under(emu.client.rg_id(SPOKE_RG))
        assert not left, left
