"""Many states, many teams: the hub in the platform team's state, each spoke in a state of its
own that reads the hub through the `zerotrust_hub` data source (no reference to the hub's state),
all spoke applies launched at once as separate Terraform processes (real Terraform, the emulator).

Local backends in separate directories: one state per process, as a pipeline per team would have
(no remote backend here). The spokes' names hash to the same rule collection group (spokes-3),
so their hub-side writes race: rule collections by read-modify-write under the group's etag
(412 -> read again), routes and peerings as children of one hub route table / VNet (409
AnotherOperationInProgress -> retried).

  hub apply -> N spoke applies at once: all succeed -> every spoke's collections, route and
  peerings on the hub (no lost update) -> every plan clean -> one spoke state destroyed: the
  others' hub-side pieces intact, plans clean -> the rest destroyed: nothing left. The orphan
  audit checks every state after the concurrent applies and after each destroy.

ZT_MANY_STATES=N runs N spoke states (default 4, for a 2-core CI machine).
"""
from __future__ import annotations

import json
import os
import threading

import pytest

from e2e_support import PROVIDER_SOURCE, get_runner, make_workspace
from hub_env import start_emulator, use_emulator
from orphans import audit_for

HUB_RG, SPOKE_RG = "rg-hub-many", "rg-spokes-many"
TAGS = {"environment": "test", "project": "data-platform", "owner": "e2e", "cost-centre": "CC-0"}
# all in spokes-3 (the first four), then the others' buckets
NAMES = ["alpha", "beta", "zeta", "theta", "gamma", "delta", "kappa", "iota", "omega", "tau"]
N = max(1, min(len(NAMES), int(os.environ.get("ZT_MANY_STATES", "4"))))
SPOKES = NAMES[:N]

PROVIDER = f'''terraform {{
  required_providers {{
    zerotrust = {{ source = "{PROVIDER_SOURCE}" }}
  }}
}}

provider "zerotrust" {{}}
'''

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

resource "zerotrust_spoke" "this" {{
  name                = "{name}"
  location            = data.zerotrust_hub.hub.location
  resource_group_name = "{SPOKE_RG}"
  address_space       = "10.{i + 1}.0.0/24"

  hub_virtual_network_id     = data.zerotrust_hub.hub.virtual_network_id
  hub_address_space          = data.zerotrust_hub.hub.address_space
  hub_firewall_private_ip    = data.zerotrust_hub.hub.firewall_private_ip
  hub_firewall_policy_id     = data.zerotrust_hub.hub.firewall_policy_id
  hub_gateway_route_table_id = data.zerotrust_hub.hub.gateway_route_table_id
  hub_gateway_enabled        = data.zerotrust_hub.hub.gateway_enabled
  hub_private_dns_zone_ids   = data.zerotrust_hub.hub.private_dns_zone_ids
  hub_resolver_inbound_ip    = data.zerotrust_hub.hub.resolver_inbound_ip

  firewall_rule_priority = {200 + 10 * i}
  tags                   = {json.dumps(TAGS).replace(":", " =")}
}}
'''


@pytest.fixture(scope="module")
def emu(session_root):
    e = start_emulator(session_root / "many-states-emulator")
    for rg in (HUB_RG, SPOKE_RG):
        r = e.client.put(e.client.rg_id(rg), {"location": "westeurope", "tags": TAGS})
        assert r.status_code in (200, 201), r.text
    yield e
    e.stop()


@pytest.fixture(scope="module")
def world(session_root, mirror, provider_speaks, emu):
    runner = get_runner("terraform")
    groups = [emu.client.rg_id(HUB_RG), emu.client.rg_id(SPOKE_RG)]
    hub = use_emulator(make_workspace(session_root / "many-hub", runner, mirror, files={"main.tf": HUB}),
                       emu.client, groups)
    hub.run("init", "-input=false", "-no-color", check=True)
    hub.run("apply", "-input=false", "-no-color", "-auto-approve", check=True)
    hub_id = json.loads(hub.run("output", "-json", check=True).stdout)["virtual_network_id"]["value"]
    spokes = {}
    for i, name in enumerate(SPOKES):
        ws = make_workspace(session_root / f"many-spoke-{name}", runner, mirror,
                            files={"main.tf": spoke_tf(name, i, hub_id)})
        use_emulator(ws, emu.client, groups)
        ws.run("init", "-input=false", "-no-color", check=True)
        spokes[name] = ws
    net = f"{emu.client.rg_id(HUB_RG)}/providers/Microsoft.Network"
    return {"hub": hub, "spokes": spokes, "policy": f"{net}/firewallPolicies/afwp-many",
            "rt": f"{net}/routeTables/rt-many-gateway", "vnet": hub_id}


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


def _audit(emu, ws, step):
    found = audit_for(emu.client)(ws, step)
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

        def apply(name, ws):
            results[name] = ws.run("apply", "-input=false", "-no-color", "-auto-approve")

        threads = [threading.Thread(target=apply, args=item) for item in spokes.items()]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for name, ws in spokes.items():
            ws.audit = audits[name]
        failed = {n: r.describe(2000) for n, r in results.items() if r.rc != 0}
        assert not failed, failed
        assert _hub_side(emu, world) == _expected(SPOKES)
        _audit(emu, world["hub"], "apply")
        raced = [(r["status"], r["method"]) for r in emu.requests(since=since, kind="arm")
                 if r["status"] in (409, 412) and r["method"] != "GET"]
        print(f"\n[many states] {len(SPOKES)} spoke applies at once: {raced.count((412, 'PUT'))} PUTs refused "
              f"412 (stale etag, read again), {sum(1 for s, _ in raced if s == 409)} writes refused 409")

    def test_plans_clean(self, world):
        for ws in [world["hub"], *world["spokes"].values()]:
            r = ws.run("plan", "-input=false", "-no-color", "-detailed-exitcode")
            assert r.rc == 0, r.describe(3000)

    def test_destroy_one_spoke_state(self, emu, world):
        first, rest = SPOKES[0], SPOKES[1:]
        world["spokes"][first].run("destroy", "-input=false", "-no-color", "-auto-approve", check=True)
        assert _hub_side(emu, world) == _expected(rest)
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
