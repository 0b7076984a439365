"""Several subscriptions in one emulator, as one tenant has them: resources and resource groups per
subscription (the same names in two are two resources), references across them (a peering to the
other subscription's VNet), ARM's throttling buckets per subscription and principal, 404
SubscriptionNotFound for a subscription ARM does not know, 403 AuthorizationFailed for a principal
with no role in one."""
from __future__ import annotations

from .conftest import make_vnet, net

OTHER = "44444444-4444-4444-4444-444444444444"


def _add(emu, sid=OTHER, **kw):
    r = emu.control("POST", "subscriptions", {"subscription_id": sid, **kw})
    assert r.status_code == 200, r.text


def _rg(emu, sub, name="rg-same"):
    rid = f"/subscriptions/{sub}/resourceGroups/{name}"
    r = emu.put(rid, {"location": "westeurope"})
    assert r.status_code in (200, 201), r.text
    return rid


def test_resources_per_subscription(emu):
    _add(emu)
    a, b = _rg(emu, emu.subscription), _rg(emu, OTHER)
    make_vnet(emu, a, prefix="10.0.0.0/22")
    assert emu.get(f"{net(b)}/virtualNetworks/vnet-hub").json()["error"]["code"] == "ResourceNotFound"
    make_vnet(emu, b, prefix="10.8.0.0/22")
    groups = emu.get(f"/subscriptions/{OTHER}/resourcegroups").json()["value"]
    assert [g["id"].lower() for g in groups] == [b.lower()]
    assert emu.get(f"{net(a)}/virtualNetworks/vnet-hub").json()["properties"]["addressSpace"][
        "addressPrefixes"] == ["10.0.0.0/22"]
    subs = {s["subscriptionId"] for s in emu.get("/subscriptions").json()["value"]}
    assert subs == {emu.subscription, OTHER}


def test_peering_across_subscriptions(emu):
    _add(emu)
    a, b = _rg(emu, emu.subscription), _rg(emu, OTHER)
    hub = make_vnet(emu, a, prefix="10.0.0.0/22")["id"]
    spoke = make_vnet(emu, b, name="vnet-spoke", prefix="10.8.0.0/24")["id"]
    emu.put_and_wait(f"{hub}/virtualNetworkPeerings/to-spoke",
                     {"properties": {"remoteVirtualNetwork": {"id": spoke}}})
    assert emu.get(f"{hub}/virtualNetworkPeerings/to-spoke").json()["properties"]["peeringState"] == "Initiated"
    emu.put_and_wait(f"{spoke}/virtualNetworkPeerings/to-hub", {"properties": {"remoteVirtualNetwork": {"id": hub}}})
    for pe in (f"{hub}/virtualNetworkPeerings/to-spoke", f"{spoke}/virtualNetworkPeerings/to-hub"):
        p = emu.get(pe).json()["properties"]
        assert p["peeringState"] == "Connected" and p["peeringSyncLevel"] == "FullyInSync", p


def test_unknown_subscription(emu):
    unknown = "55555555-5555-5555-5555-555555555555"
    for method, path in (("GET", f"/subscriptions/{unknown}"),
                         ("GET", f"/subscriptions/{unknown}/resourceGroups/rg"),
                         ("GET", f"{net(f'/subscriptions/{unknown}/resourceGroups/rg')}/virtualNetworks/v"),
                         ("DELETE", f"{net(f'/subscriptions/{unknown}/resourceGroups/rg')}/virtualNetworks/v")):
        r = emu.request(method, path)
        err = r.json()["error"]
        assert r.status_code == 404 and err["code"] == "SubscriptionNotFound", (path, r.text)
        assert unknown in err["message"]


def test_throttling_per_subscription(emu):
    _add(emu)
    a, b = _rg(emu, emu.subscription), _rg(emu, OTHER)
    emu.control("POST", "throttling", {"enabled": True, "reads": {"capacity": 3, "refill_per_second": 0.01}})
    try:
        codes = [emu.get(a).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429], codes
        r = emu.get(b)       # the other subscription's bucket is full
        assert r.status_code == 200 and r.headers["x-ms-ratelimit-remaining-subscription-reads"] == "2"
        other = emu.control("POST", "tokens", {"lifetime": 600, "tenant_id": emu.tenant,
                                               "object_id": "66666666-6666-6666-6666-666666666666",
                                               "client_id": "77777777-7777-7777-7777-777777777777"}).json()
        assert emu.get(a, token=other["access_token"]).status_code == 200   # and another principal's
    finally:
        emu.control("POST", "throttling", {"enabled": False})


def test_principal_without_a_role(emu):
    _add(emu)
    b = _rg(emu, OTHER)
    me = emu.get("/subscriptions").json()["value"]
    _add(emu, principals=["66666666-6666-6666-6666-666666666666"])
    v = f"{net(b)}/virtualNetworks/v"
    for method, action in (("GET", "Microsoft.Network/virtualNetworks/read"),
                           ("DELETE", "Microsoft.Network/virtualNetworks/delete")):
        r = emu.request(method, v)
        err = r.json()["error"]
        assert r.status_code == 403 and err["code"] == "AuthorizationFailed", r.text
        assert f"perform action '{action}' over scope '{v}'" in err["message"], err
    r = emu.get(b)
    assert r.status_code == 403 and "Microsoft.Resources/subscriptions/resourceGroups/read" in r.text
    subs = {s["subscriptionId"] for s in emu.get("/subscriptions").json()["value"]}
    assert subs == {emu.subscription} and len(me) == 2
    _add(emu, principals=None)     # access again; the group is still there
    assert emu.get(b).status_code == 200


def test_role_definition_named_in_another_subscription(emu):
    """A role definition ID naming another subscription than the scope's is accepted and answered in the
    scope's (azurerm#8558, azure-rest-api-specs#10939: every refresh then sees a changed ID)."""
    _add(emu)
    b = _rg(emu, OTHER)
    role = "/providers/Microsoft.Authorization/roleDefinitions/69a216fc-b8fb-44d8-bc22-1f3c2cd27a39"
    ra = f"{b}/providers/Microsoft.Authorization/roleAssignments/0b6c1d2e-3f40-4a51-8b62-7c83d94ea5f6"
    r = emu.put(ra, {"properties": {"roleDefinitionId": f"/subscriptions/{emu.subscription}{role}",
                                    "principalId": "66666666-6666-6666-6666-666666666666",
                                    "principalType": "ServicePrincipal"}})
    assert r.status_code == 201, r.text
    assert r.json()["properties"]["roleDefinitionId"] == f"/subscriptions/{OTHER}{role}"
    assert emu.get(ra).json()["properties"]["roleDefinitionId"] == f"/subscriptions/{OTHER}{role}"
    listed = emu.get(f"{b}/providers/Microsoft.Authorization/roleAssignments").json()["value"]
    assert [x["properties"]["roleDefinitionId"] for x in listed] == [f"/subscriptions/{OTHER}{role}"]
    # the same role, named in the scope's subscription: the same assignment, no update refused
    r = emu.put(ra, {"properties": {"roleDefinitionId": f"/subscriptions/{OTHER}{role}",
                                    "principalId": "66666666-6666-6666-6666-666666666666",
                                    "principalType": "ServicePrincipal"}})
    assert r.status_code in (200, 201), r.text
    # in its own subscription, what was sent is kept as sent
    a = _rg(emu, emu.subscription)
    mine = f"{a}/providers/Microsoft.Authorization/roleAssignments/1c7d2e3f-4051-4b62-9c73-8d94ea5fb607"
    r = emu.put(mine, {"properties": {"roleDefinitionId": f"/subscriptions/{emu.subscription}{role}",
                                      "principalId": "66666666-6666-6666-6666-666666666666",
                                      "principalType": "ServicePrincipal"}})
    assert r.json()["properties"]["roleDefinitionId"] == f"/subscriptions/{emu.subscription}{role}", r.text
