"""Spokes in another subscription than their hub, as large organisations run them: the hub in the
platform team's subscription (A) and state, two spokes in a workload team's subscription (B) and a
state of their own, configured with `subscription_id = B` in the provider block and reading the hub
through `data "zerotrust_hub"` (real Terraform, the emulator holding both subscriptions).

Both subscriptions have resource groups of the same names (the hub's and the spokes'): a provider that
composed a hub-side ID from its own subscription, or a spoke-side one from the hub's, would write
into the wrong one without an error, and the checks below find it there.

  hub apply (A) -> spokes apply (B): every hub-side piece (hub->spoke peering, GatewaySubnet route,
  zone links, rule collections) in A, every spoke-side one in B, peerings Connected both ways, zone
  links to the spoke VNet in B, no request to the other subscription's groups -> plans clean ->
  drift on the hub side (a route deleted in A) planned and repaired -> import of a spoke by its VNet
  ID (B) rebuilds its hub inputs from A, plan clean -> destroy of the spokes' state removes the
  hub-side pieces in A, the hub untouched.

  A hub subscription the credentials cannot use (unknown: 404 SubscriptionNotFound; no role there:
  403 AuthorizationFailed) fails the plan with a diagnostic on each hub attribute; the data source
  says so on virtual_network_id; losing the role after the apply fails the refresh, state kept.
  A policy of A using subscription() is evaluated with A for the hub-side pieces. Hub and spoke in
  one configuration through two providers (an alias for the hub's subscription) apply and destroy.
"""
from __future__ import annotations

import json

import pytest

from e2e_support import PROVIDER_SOURCE, get_runner, make_workspace
from hub_env import spoke_hcl, start_emulator, use_emulator

SUB_B = "44444444-4444-4444-4444-444444444444"
SUB_UNKNOWN = "55555555-5555-5555-5555-555555555555"
SUB_NO_ROLE = "66666666-6666-6666-6666-666666666666"   # exists; the provider's principal has no role in it
OTHER_TEAM = "77777777-7777-7777-7777-777777777777"
HUB_RG, SPOKE_RG = "rg-hub-xsub", "rg-spokes-xsub"
TAGS = {"environment": "test", "project": "data-platform", "owner": "e2e", "cost-centre": "CC-0"}
SPOKES = ("sales", "risk")
HUB_SIDE = ("hub_peering", "hub_route", "firewall_rules", "zone_link")


def _hcl(d: dict) -> str:
    return json.dumps(d).replace(":", " =")


def provider_tf(subscription: str | None) -> str:
    sub = f'\n  subscription_id = "{subscription}"\n' if subscription else ""
    return f'''terraform {{
  required_providers {{
    zerotrust = {{ source = "{PROVIDER_SOURCE}" }}
  }}
}}

provider "zerotrust" {{{sub}}}
'''


HUB_TF = provider_tf(None) + f'''
resource "zerotrust_hub" "this" {{
  name                 = "xsub"
  location             = "westeurope"
  resource_group_name  = "{HUB_RG}"
  address_space        = "10.100.0.0/22"
  dns_resolver_enabled = false
  tags                 = {_hcl(TAGS)}
}}

output "virtual_network_id" {{
  value = zerotrust_hub.this.virtual_network_id
}}
'''


def spoke_block(name: str, i: int) -> str:
    return spoke_hcl(name, name, SPOKE_RG, f"10.{i + 1}.0.0/24", 200 + 10 * i)


def spokes_tf(hub_id: str) -> str:
    return provider_tf(SUB_B) + f'''
data "zerotrust_hub" "hub" {{
  virtual_network_id = "{hub_id}"
}}
''' + "".join(spoke_block(n, i) for i, n in enumerate(SPOKES))


def rg(sub: str, name: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{name}"


@pytest.fixture(scope="module")
def emu(session_root):
    e = start_emulator(session_root / "xsub-emulator")
    sub_a = e.client.subscription
    for body in ({"subscription_id": SUB_B, "display_name": "workload team"},
                 {"subscription_id": SUB_NO_ROLE, "display_name": "another team", "principals": [OTHER_TEAM]}):
        r = e.client.control("POST", "subscriptions", body)
        assert r.status_code in (200, 201), r.text
    # the same group names in both subscriptions: a write to the wrong one would succeed
    for sub in (sub_a, SUB_B):
        for name in (HUB_RG, SPOKE_RG):
            r = e.client.put(rg(sub, name), {"location": "westeurope", "tags": TAGS})
            assert r.status_code in (200, 201), r.text
    yield e
    e.stop()


@pytest.fixture(scope="module")
def world(session_root, mirror, provider_speaks, emu):
    runner = get_runner("terraform")
    a = emu.client.subscription
    groups = [rg(s, n) for s in (a, SUB_B) for n in (HUB_RG, SPOKE_RG)]
    hub = use_emulator(make_workspace(session_root / "xsub-hub", runner, mirror, files={"main.tf": HUB_TF}),
                       emu.client, groups)
    hub.run("init", "-input=false", "-no-color", check=True)
    hub.run("apply", "-input=false", "-no-color", "-auto-approve", check=True)
    hub_id = json.loads(hub.run("output", "-json", check=True).stdout)["virtual_network_id"]["value"]
    assert hub_id.lower().startswith(f"/subscriptions/{a}/".lower()), hub_id
    # ARM_SUBSCRIPTION_ID stays A (the emulator's): the provider block's B must win
    spokes = use_emulator(make_workspace(session_root / "xsub-spokes", runner, mirror,
                                         files={"main.tf": spokes_tf(hub_id)}), emu.client, groups)
    spokes.run("init", "-input=false", "-no-color", check=True)
    net = f"{rg(a, HUB_RG)}/providers/Microsoft.Network"
    return {"a": a, "hub": hub, "spokes": spokes, "hub_id": hub_id,
            "policy": f"{net}/firewallPolicies/afwp-xsub", "rt": f"{net}/routeTables/rt-xsub-gateway",
            "zones": f"{net}/privateDnsZones"}


def _state(ws) -> dict:
    """Spoke name -> its underlying_resources (node key -> ID)."""
    st = json.loads((ws.dir / "terraform.tfstate").read_text())
    return {inst["attributes"]["name"]: inst["attributes"]["underlying_resources"]
            for res in st["resources"] if res["type"] == "zerotrust_spoke" for inst in res["instances"]}


def _hub_side(key: str) -> bool:
    return key.split("[")[0] in HUB_SIDE


def _under(rid: str, prefix: str) -> bool:
    return rid.lower().startswith(prefix.lower() + "/")


def _store(emu) -> list[dict]:
    return emu.client.control("GET", "store").json()["resources"]


def _hub_pieces(emu, w) -> dict:
    """What the spokes own on the hub, read from subscription A."""
    c = emu.client
    groups = c.get(f"{w['policy']}/ruleCollectionGroups").json()["value"]
    colls = {x["name"] for g in groups for x in g["properties"].get("ruleCollections") or []}
    routes = {r["name"] for r in c.get(f"{w['rt']}/routes").json()["value"]}
    peerings = {p["name"]: p for p in c.get(f"{w['hub_id']}/virtualNetworkPeerings").json()["value"]}
    links = {}
    for z in c.get(w["zones"]).json()["value"]:
        for ln in c.get(f"{z['id']}/virtualNetworkLinks").json()["value"]:
            links[f"{z['name']}/{ln['name']}"] = ln
    return {"collections": colls - {"azure-platform"}, "routes": routes, "peerings": peerings,
            "links": {k: v for k, v in links.items() if not k.endswith("/link-vnet-xsub")}}


def _errors(r) -> list[dict]:
    return [x["diagnostic"] for x in r.json_lines()
            if x.get("type") == "diagnostic" and x["diagnostic"]["severity"] == "error"]


def _plan_clean(ws):
    r = ws.run("plan", "-input=false", "-no-color", "-detailed-exitcode")
    assert r.rc == 0, r.describe(3000)


@pytest.mark.incremental
class TestCrossSubscription:
    def test_apply_spokes_in_b(self, emu, world):
        a, b = world["a"], SUB_B
        since = emu.last_seq()
        world["spokes"].run("apply", "-input=false", "-no-color", "-auto-approve", check=True)
        state = _state(world["spokes"])
        assert set(state) == set(SPOKES), state
        for name, ur in state.items():
            hub_side = {k: v for k, v in ur.items() if _hub_side(k)}
            spoke_side = {k: v for k, v in ur.items() if not _hub_side(k)}
            assert {k.split("[")[0] for k in hub_side} == set(HUB_SIDE), ur
            wrong = {k: v for k, v in hub_side.items() if not _under(v, f"/subscriptions/{a}")}
            wrong |= {k: v for k, v in spoke_side.items() if not _under(v, rg(b, SPOKE_RG))}
            assert not wrong, f"{name}: IDs in the wrong subscription: {wrong}"

        # Azure's view: the hub side in A, pointing at the spokes' VNets in B
        hub = _hub_pieces(emu, world)
        assert hub["collections"] == {f"spoke-{n}-{k}" for n in SPOKES for k in ("network", "application")}
        assert hub["routes"] == {f"spoke-{n}" for n in SPOKES}
        assert set(hub["peerings"]) == {f"peer-hub-to-{n}" for n in SPOKES}
        zones = {x["name"] for x in emu.client.get(world["zones"]).json()["value"]}
        assert set(hub["links"]) == {f"{z}/link-vnet-{n}" for z in zones for n in SPOKES}, hub["links"]
        for n in SPOKES:
            spoke_vnet = f"{rg(b, SPOKE_RG)}/providers/Microsoft.Network/virtualNetworks/vnet-{n}"
            there = emu.client.get(f"{spoke_vnet}/virtualNetworkPeerings/peer-to-hub")
            assert there.status_code == 200, there.text
            back = there.json()["properties"]
            fwd = hub["peerings"][f"peer-hub-to-{n}"]["properties"]
            assert fwd["remoteVirtualNetwork"]["id"].lower() == spoke_vnet.lower(), fwd
            assert back["remoteVirtualNetwork"]["id"].lower() == world["hub_id"].lower(), back
            assert fwd["peeringState"] == back["peeringState"] == "Connected", (fwd, back)
            for z in zones:
                ln = hub["links"][f"{z}/link-vnet-{n}"]["properties"]
                assert ln["virtualNetwork"]["id"].lower() == spoke_vnet.lower(), ln

        # nothing in the trap groups (the other subscription's groups of the same names)
        trap = [r["id"] for r in _store(emu)
                if _under(r["id"], rg(b, HUB_RG)) or _under(r["id"], rg(a, SPOKE_RG))]
        assert not trap, trap
        writes = [f"{q['method']} {q['path']}" for q in emu.requests(since=since, kind="arm")
                  if q["method"] != "GET" and (_under(q["path"], rg(b, HUB_RG)) or _under(q["path"], rg(a, SPOKE_RG)))]
        assert not writes, writes

    def test_plans_clean(self, world):
        _plan_clean(world["spokes"])
        _plan_clean(world["hub"])

    def test_hub_side_drift_repaired(self, emu, world):
        """A route deleted in A is read there (not in B): planned, then put back in A."""
        route = f"{world['rt']}/routes/spoke-{SPOKES[0]}"
        emu.client.delete_and_wait(route)
        r = world["spokes"].run("plan", "-input=false", "-no-color", "-detailed-exitcode")
        assert r.rc == 2 and "hub_route" in r.stdout, r.describe(3000)
        world["spokes"].run("apply", "-input=false", "-no-color", "-auto-approve", check=True)
        assert emu.client.get(route).status_code == 200
        _plan_clean(world["spokes"])

    def test_import_spoke(self, emu, world):
        """Import by the spoke VNet's ID in B: the hub inputs are read from A."""
        ws, name = world["spokes"], SPOKES[1]
        before = _state(ws)[name]
        ws.run("state", "rm", f"zerotrust_spoke.{name}", check=True)
        vnet = f"{rg(SUB_B, SPOKE_RG)}/providers/Microsoft.Network/virtualNetworks/vnet-{name}"
        ws.run("import", "-input=false", "-no-color", f"zerotrust_spoke.{name}", vnet, check=True)
        after = _state(ws)[name]
        assert {k: v.lower() for k, v in after.items()} == {k: v.lower() for k, v in before.items()}
        _plan_clean(ws)

    def test_hub_access_lost(self, emu, world):
        """The spokes' principal loses its role in the hub's subscription: the refresh fails on the
        hub-side pieces (403), it does not plan them anew, and the state keeps them."""
        before = _state(world["spokes"])
        emu.client.control("POST", "subscriptions", {"subscription_id": world["a"], "principals": [OTHER_TEAM]})
        try:
            r = world["spokes"].run("plan", "-input=false", "-no-color", "-json")
        finally:
            emu.client.control("POST", "subscriptions", {"subscription_id": world["a"], "principals": None})
        errs = _errors(r)
        assert r.rc == 1 and errs, r.describe(3000)
        assert all("AuthorizationFailed" in d["detail"] for d in errs), errs
        assert not [x for x in r.json_lines() if x.get("type") == "planned_change"], r.describe(3000)
        assert _state(world["spokes"]) == before
        _plan_clean(world["spokes"])

    def test_destroy_spokes(self, emu, world):
        world["spokes"].run("destroy", "-input=false", "-no-color", "-auto-approve", check=True)
        hub = _hub_pieces(emu, world)
        assert hub == {"collections": set(), "routes": set(), "peerings": {}, "links": {}}, hub
        left = emu.store_ids_under(rg(SUB_B, SPOKE_RG))
        assert not left, left
        _plan_clean(world["hub"])


# ------------------------------------------------------------------------------
# A hub subscription the credentials cannot use
# ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def lone(session_root, mirror, provider_speaks, emu):
    """A workspace (provider in B) rewritten per case."""
    ws = use_emulator(make_workspace(session_root / "xsub-lone", get_runner("terraform"), mirror,
                                     files={"main.tf": provider_tf(SUB_B)}), emu.client, [])
    ws.run("init", "-input=false", "-no-color", check=True)
    return ws


UNUSABLE = [pytest.param(SUB_UNKNOWN, "SubscriptionNotFound", id="unknown"),
            pytest.param(SUB_NO_ROLE, "AuthorizationFailed", id="no-role")]


@pytest.mark.parametrize("sub,code", UNUSABLE)
def test_spoke_hub_subscription_unusable(emu, world, lone, sub, code):
    """The hub's IDs in a subscription ARM does not know, or where the provider's principal has no
    role: the plan fails on each hub attribute (not a create planned over what cannot be read,
    then an apply failing half way)."""
    net = f"{rg(sub, HUB_RG)}/providers/Microsoft.Network"
    (lone.dir / "main.tf").write_text(provider_tf(SUB_B) + f'''
resource "zerotrust_spoke" "lost" {{
  name                = "lost"
  location            = "westeurope"
  resource_group_name = "{SPOKE_RG}"
  address_space       = "10.9.0.0/24"

  hub_virtual_network_id     = "{net}/virtualNetworks/vnet-xsub"
  hub_address_space          = "10.100.0.0/22"
  hub_firewall_private_ip    = "10.100.0.4"
  hub_firewall_policy_id     = "{net}/firewallPolicies/afwp-xsub"
  hub_gateway_route_table_id = "{net}/routeTables/rt-xsub-gateway"
  dns_mode                   = "firewall"

  firewall_rule_priority = 300
  tags                   = {_hcl(TAGS)}
}}
''')
    since = emu.last_seq()
    r = lone.run("plan", "-input=false", "-no-color", "-json")
    errs = _errors(r)
    assert r.rc == 1 and errs, r.describe(3000)
    attrs = {d.get("snippet", {}).get("code", "").strip().split(" ")[0] for d in errs}
    assert attrs == {"hub_virtual_network_id", "hub_firewall_policy_id", "hub_gateway_route_table_id"}, errs
    for d in errs:
        assert d["summary"] == "Hub subscription not accessible", d
        assert code in d["detail"] and sub in d["detail"], d
    writes = [q for q in emu.requests(since=since, kind="arm") if q["method"] != "GET"]
    assert not writes, writes


@pytest.mark.parametrize("sub,code", UNUSABLE)
def test_data_source_hub_subscription_unusable(emu, world, lone, sub, code):
    hub_id = world["hub_id"].replace(world["a"], sub)
    (lone.dir / "main.tf").write_text(provider_tf(SUB_B) + f'''
data "zerotrust_hub" "hub" {{
  virtual_network_id = "{hub_id}"
}}
''')
    r = lone.run("plan", "-input=false", "-no-color", "-json")
    errs = _errors(r)
    assert r.rc == 1 and len(errs) == 1, r.describe(3000)
    d = errs[0]
    assert d.get("snippet", {}).get("code", "").strip().startswith("virtual_network_id"), d
    assert code in d["detail"] and sub in d["detail"], d


def test_policy_evaluated_in_the_hubs_subscription(emu, world, lone):
    """A policy of the hub's subscription (A) that keeps peerings within their own subscription,
    `[subscription().subscriptionId]`: the spoke's hub->spoke peering is A's resource, so A is its
    subscription() and the plan fails on it (evaluated with the provider's B it would pass, and
    ARM refuse the PUT)."""
    c, a = emu.client, world["a"]
    definition = f"/subscriptions/{a}/providers/Microsoft.Authorization/policyDefinitions/peer-in-subscription"
    assignment = f"{rg(a, HUB_RG)}/providers/Microsoft.Authorization/policyAssignments/peer-in-subscription"
    r = c.put(definition, {"properties": {
        "displayName": "Peerings within this subscription", "policyType": "Custom", "mode": "All",
        "policyRule": {"if": {"allOf": [
            {"field": "type", "equals": "Microsoft.Network/virtualNetworks/virtualNetworkPeerings"},
            {"field": "Microsoft.Network/virtualNetworks/virtualNetworkPeerings/remoteVirtualNetwork.id",
             "notContains": "[subscription().subscriptionId]"}]},
            "then": {"effect": "deny"}}}})
    assert r.status_code in (200, 201), r.text
    r = c.put(assignment, {"properties": {"displayName": "Peerings within this subscription",
                                          "policyDefinitionId": definition}})
    assert r.status_code in (200, 201), r.text
    (lone.dir / "main.tf").write_text(provider_tf(SUB_B) + f'''
data "zerotrust_hub" "hub" {{
  virtual_network_id = "{world["hub_id"]}"
}}
''' + spoke_block("audit", 5))
    try:
        r = lone.run("plan", "-input=false", "-no-color", "-json")
    finally:
        c.delete(assignment)
        c.delete(definition)
    errs = _errors(r)
    assert r.rc == 1 and errs, r.describe(3000)
    assert [d["summary"] for d in errs] == \
        ['Azure Policy denies hub_peering: "Peerings within this subscription"'], errs
    assert "RequestDisallowedByPolicy" in errs[0]["detail"], errs[0]


def test_one_configuration_two_providers(session_root, mirror, provider_speaks, emu):
    """Hub and spoke in one configuration and one apply, each through a provider of its own
    subscription (an alias for the hub's): the spoke's hub inputs are unknown until the hub is
    created, then its hub-side pieces go into the hub's subscription; destroy removes both."""
    a, hub_rg = emu.client.subscription, "rg-hub-duo"   # a hub's zones are named by the zone: one hub a group
    r = emu.client.put(rg(a, hub_rg), {"location": "westeurope", "tags": TAGS})
    assert r.status_code in (200, 201), r.text
    tf = provider_tf(SUB_B) + f'''
provider "zerotrust" {{
  alias           = "platform"
  subscription_id = "{a}"
}}

resource "zerotrust_hub" "duo" {{
  provider             = zerotrust.platform
  name                 = "duo"
  location             = "westeurope"
  resource_group_name  = "{hub_rg}"
  address_space        = "10.120.0.0/22"
  dns_resolver_enabled = false
  tags                 = {_hcl(TAGS)}
}}

''' + spoke_hcl("duo", "duo", SPOKE_RG, "10.121.0.0/24", 400, hub="zerotrust_hub.duo")
    groups = [rg(s, n) for s in (a, SUB_B) for n in (HUB_RG, SPOKE_RG)] + [rg(a, hub_rg)]
    ws = use_emulator(make_workspace(session_root / "xsub-duo", get_runner("terraform"), mirror,
                                     files={"main.tf": tf}), emu.client, groups)
    ws.run("init", "-input=false", "-no-color", check=True)
    ws.run("apply", "-input=false", "-no-color", "-auto-approve", check=True)
    st = json.loads((ws.dir / "terraform.tfstate").read_text())
    ur = next(i["attributes"]["underlying_resources"] for r in st["resources"] if r["type"] == "zerotrust_spoke"
              for i in r["instances"])
    hub_ur = next(i["attributes"]["underlying_resources"] for r in st["resources"] if r["type"] == "zerotrust_hub"
                  for i in r["instances"])
    wrong = {k: v for k, v in ur.items() if not _under(v, f"/subscriptions/{a}" if _hub_side(k) else rg(SUB_B, SPOKE_RG))}
    wrong |= {k: v for k, v in hub_ur.items() if not _under(v, rg(a, hub_rg))}
    assert not wrong, wrong
    peering = emu.client.get(ur["peering"]).json()["properties"]
    assert peering["peeringState"] == "Connected" and _under(peering["remoteVirtualNetwork"]["id"], rg(a, hub_rg))
    _plan_clean(ws)
    ws.run("destroy", "-input=false", "-no-color", "-auto-approve", check=True)
    left = [r["id"] for r in _store(emu) if "duo" in r["id"].lower() and r["id"].lower() != rg(a, hub_rg).lower()]
    assert not left, left
