"""Azure's conflicts: concurrent subnet writes, in-use deletes, role assignments, Key Vault soft delete,
zones with links, references to missing or unfinished resources, peering state."""
from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from .conftest import make_vnet, net
from .doc_bodies import BODIES

ROLE = "/providers/Microsoft.Authorization/roleDefinitions/ba92f5b4-2d11-453d-a403-e96b0029c9fe"


def test_concurrent_subnet_writes_conflict(emu, rg):
    vnet = make_vnet(emu, rg)
    emu.control("POST", "time-scale", {"scale": 0.1})            # a subnet write takes 0.5 s
    r1 = emu.put(vnet["id"] + "/subnets/a", {"properties": {"addressPrefix": "10.0.0.0/24"}})
    assert r1.status_code == 201
    r2 = emu.put(vnet["id"] + "/subnets/b", {"properties": {"addressPrefix": "10.0.1.0/24"}})
    assert r2.status_code == 409
    err = r2.json()["error"]
    assert err["code"] == "AnotherOperationInProgress" and "/operations/" in err["message"]
    r3 = emu.put(vnet["id"], {"location": "westeurope", "properties": {"addressSpace": {
        "addressPrefixes": ["10.0.0.0/22"]}}})
    assert r3.status_code == 409
    emu.wait(r1)
    assert emu.put(vnet["id"] + "/subnets/b", {"properties": {"addressPrefix": "10.0.1.0/24"}}).status_code == 201


def test_parallel_subnet_puts_only_one_wins(emu, rg):
    vnet = make_vnet(emu, rg)
    emu.control("POST", "time-scale", {"scale": 0.1})
    token = emu.token()

    def put(i):
        return emu.put(vnet["id"] + f"/subnets/s{i}", {"properties": {"addressPrefix": f"10.0.{i}.0/24"}},
                       token=token).status_code
    with ThreadPoolExecutor(4) as ex:
        codes = sorted(ex.map(put, range(4)))
    assert codes.count(201) == 1 and codes.count(409) == 3


def test_subnet_in_use_by_private_endpoint_and_vnet_delete(emu, rg):
    vnet = make_vnet(emu, rg, subnets=[{"name": "pe", "properties": {"addressPrefix": "10.0.1.0/24"}}])
    uami = emu.put(f"{rg}/providers/Microsoft.KeyVault/vaults/kvx{rg[-8:]}", BODIES["Microsoft.KeyVault/vaults"])
    emu.wait(uami)
    pe = emu.put_and_wait(f"{net(rg)}/privateEndpoints/pe1", {"location": "westeurope", "properties": {
        "subnet": {"id": vnet["id"] + "/subnets/pe"}, "privateLinkServiceConnections": [
            {"name": "c", "properties": {"privateLinkServiceId": uami.json()["id"], "groupIds": ["vault"]}}]}})
    r = emu.delete(vnet["id"] + "/subnets/pe")
    assert r.status_code == 400 and r.json()["error"]["code"] == "InUseSubnetCannotBeDeleted"
    assert pe["id"] in r.json()["error"]["message"]
    r = emu.delete(vnet["id"])
    assert r.status_code == 400 and r.json()["error"]["code"] == "InUseSubnetCannotBeDeleted"
    # a VNet PUT that drops the subnet is refused the same way
    r = emu.put(vnet["id"], {"location": "westeurope", "properties": {"addressSpace": {
        "addressPrefixes": ["10.0.0.0/22"]}}})
    assert r.status_code == 400 and r.json()["error"]["code"] == "InUseSubnetCannotBeDeleted"
    emu.delete_and_wait(pe["id"])
    assert emu.delete(vnet["id"] + "/subnets/pe").status_code == 202


def test_nsg_and_route_table_in_use(emu, rg):
    nsg = emu.put_and_wait(f"{net(rg)}/networkSecurityGroups/nsg", {"location": "westeurope"})
    rt = emu.put_and_wait(f"{net(rg)}/routeTables/rt", {"location": "westeurope", "properties": {
        "disableBgpRoutePropagation": True, "routes": [{"name": "default", "properties": {
            "addressPrefix": "0.0.0.0/0", "nextHopType": "VirtualAppliance", "nextHopIpAddress": "10.0.0.4"}}]}})
    assert emu.get(rt["id"] + "/routes/default").json()["properties"]["nextHopIpAddress"] == "10.0.0.4"
    vnet = make_vnet(emu, rg, subnets=[{"name": "s", "properties": {
        "addressPrefix": "10.0.1.0/24", "networkSecurityGroup": {"id": nsg["id"]}, "routeTable": {"id": rt["id"]}}}])
    assert emu.get(nsg["id"]).json()["properties"]["subnets"] == [{"id": vnet["id"] + "/subnets/s"}]
    assert emu.delete(nsg["id"]).json()["error"]["code"] == "InUseNetworkSecurityGroupCannotBeDeleted"
    assert emu.delete(rt["id"]).json()["error"]["code"] == "InUseRouteTableCannotBeDeleted"


def test_references_must_exist_and_be_provisioned(emu, rg):
    vnet = make_vnet(emu, rg, subnets=[{"name": "s", "properties": {"addressPrefix": "10.0.1.0/24"}}])
    r = emu.put(f"{net(rg)}/privateEndpoints/pe", {"location": "westeurope", "properties": {
        "subnet": {"id": vnet["id"] + "/subnets/nope"}}})
    assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidResourceReference"
    emu.control("POST", "time-scale", {"scale": 1.0})
    nsg = emu.put(f"{net(rg)}/networkSecurityGroups/slow", {"location": "westeurope"})
    r = emu.put(vnet["id"] + "/subnets/s", {"properties": {"addressPrefix": "10.0.1.0/24",
                                                            "networkSecurityGroup": {"id": nsg.json()["id"]}}})
    assert r.status_code == 409 and r.json()["error"]["code"] == "ReferencedResourceNotProvisioned"


def test_role_assignments(emu, rg):
    uami = emu.put(f"{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1", {"location": "westeurope"})
    pid = uami.json()["properties"]["principalId"]
    body = {"properties": {"roleDefinitionId": f"/subscriptions/{emu.subscription}{ROLE}", "principalId": pid,
                           "principalType": "ServicePrincipal"}}
    ra = f"{rg}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}"
    r = emu.put(ra, body)
    assert r.status_code == 201
    assert r.json()["properties"]["scope"] == rg
    assert emu.put(ra, body).status_code == 200                      # idempotent
    dup = emu.put(f"{rg}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}", body)
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "RoleAssignmentExists"
    assert ra.rsplit("/", 1)[1] in dup.json()["error"]["message"]
    bad = emu.put(f"{rg}/providers/Microsoft.Authorization/roleAssignments/not-a-guid", body)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "InvalidRoleAssignmentId"
    other = dict(body["properties"], principalId=str(uuid.uuid4()))
    r = emu.put(ra, {"properties": other})
    assert r.status_code == 400 and r.json()["error"]["code"] == "RoleAssignmentUpdateNotPermitted"
    lst = emu.get(f"{rg}/providers/Microsoft.Authorization/roleAssignments").json()["value"]
    assert [x["id"] for x in lst] == [r2["id"] for r2 in [emu.get(ra).json()]]
    # extension resources go with their scope
    vnet = make_vnet(emu, rg)
    ra2 = f"{vnet['id']}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}"
    assert emu.put(ra2, body).status_code == 201
    emu.delete_and_wait(vnet["id"])
    assert emu.get(ra2).status_code == 404


def test_principal_propagation_fault(emu, rg):
    emu.fault(kind="propagation", method="PUT", path_regex="roleAssignments", seconds=0.5)
    uami = emu.put(f"{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/fresh", {"location": "westeurope"})
    body = {"properties": {"roleDefinitionId": f"/subscriptions/{emu.subscription}{ROLE}",
                           "principalId": uami.json()["properties"]["principalId"]}}
    ra = f"{rg}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}"
    r = emu.put(ra, body)
    assert r.status_code == 400 and r.json()["error"]["code"] == "PrincipalNotFound"
    import time
    time.sleep(0.55)
    assert emu.put(ra, body).status_code == 201


def test_key_vault_soft_delete_and_purge_protection(emu, rg):
    name = "kv" + uuid.uuid4().hex[:10]
    kid = f"{rg}/providers/Microsoft.KeyVault/vaults/{name}"
    emu.put_and_wait(kid, BODIES["Microsoft.KeyVault/vaults"])
    emu.put(kid + "/keys/cmk", BODIES["Microsoft.KeyVault/vaults/keys"])
    other_rg = emu.rg_id("rg-other-kv")
    emu.put(other_rg, {"location": "westeurope"})
    r = emu.put(f"{other_rg}/providers/Microsoft.KeyVault/vaults/{name}", BODIES["Microsoft.KeyVault/vaults"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "VaultAlreadyExists"
    body = BODIES["Microsoft.KeyVault/vaults"]
    r = emu.put(kid, {**body, "properties": {**body["properties"], "enablePurgeProtection": False}})
    assert r.status_code == 400
    assert emu.delete(kid).status_code == 200
    assert emu.get(kid).status_code == 404
    deleted = emu.get(f"/subscriptions/{emu.subscription}/providers/Microsoft.KeyVault/deletedVaults",
                      api_version="2026-02-01").json()["value"]
    rec = next(d for d in deleted if d["name"] == name)
    assert rec["properties"]["purgeProtectionEnabled"] is True
    assert rec["properties"]["vaultId"].lower() == kid.lower()
    one = emu.get(f"/subscriptions/{emu.subscription}/providers/Microsoft.KeyVault/locations/westeurope/"
                  f"deletedVaults/{name}", api_version="2026-02-01")
    assert one.status_code == 200
    r = emu.put(kid, BODIES["Microsoft.KeyVault/vaults"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "ConflictError"
    assert "deleted state" in r.json()["error"]["message"]
    r = emu.post(f"/subscriptions/{emu.subscription}/providers/Microsoft.KeyVault/locations/westeurope/"
                 f"deletedVaults/{name}/purge", api_version="2026-02-01")
    assert r.status_code == 409
    # recover brings the vault and its key back
    r = emu.put(kid, {**body, "properties": {**body["properties"], "createMode": "recover"}})
    assert r.status_code == 201
    emu.wait(r)
    assert emu.get(kid + "/keys/cmk").status_code == 200


def test_key_vault_purge_without_protection(emu, rg):
    name = "kv" + uuid.uuid4().hex[:10]
    kid = f"{rg}/providers/Microsoft.KeyVault/vaults/{name}"
    body = BODIES["Microsoft.KeyVault/vaults"]
    emu.put_and_wait(kid, {**body, "properties": {**body["properties"], "enablePurgeProtection": None}})
    emu.delete(kid)
    r = emu.post(f"/subscriptions/{emu.subscription}/providers/Microsoft.KeyVault/locations/westeurope/"
                 f"deletedVaults/{name}/purge", api_version="2026-02-01")
    assert r.status_code == 202
    assert emu.wait(r).status_code == 204
    assert emu.put(kid, body).status_code == 201


def test_zone_with_links_cannot_be_deleted(emu, rg):
    vnet = make_vnet(emu, rg)
    zone = emu.put_and_wait(f"{net(rg)}/privateDnsZones/privatelink.dfs.core.windows.net", {"location": "global"})
    link = emu.put_and_wait(zone["id"] + "/virtualNetworkLinks/hub", {"location": "global", "properties": {
        "virtualNetwork": {"id": vnet["id"]}, "registrationEnabled": False}})
    assert link["properties"]["virtualNetworkLinkState"] == "Completed"
    assert emu.get(zone["id"]).json()["properties"]["numberOfVirtualNetworkLinks"] == 1
    r = emu.delete(zone["id"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "CannotDeleteResource"
    dup = emu.put(zone["id"] + "/virtualNetworkLinks/hub2", {"location": "global", "properties": {
        "virtualNetwork": {"id": vnet["id"]}}})
    assert dup.status_code == 409
    emu.delete_and_wait(link["id"])
    emu.wait(emu.delete(zone["id"]))
    assert emu.get(zone["id"]).status_code == 404


def test_peering_state_and_gateway_transit(emu, rg):
    hub = make_vnet(emu, rg, "hub", "10.0.0.0/22")
    spoke = make_vnet(emu, rg, "spoke", "10.1.0.0/22")
    p1 = emu.put_and_wait(spoke["id"] + "/virtualNetworkPeerings/to-hub", {"properties": {
        "remoteVirtualNetwork": {"id": hub["id"]}, "allowForwardedTraffic": True}})
    assert p1["properties"]["peeringState"] == "Initiated"
    emu.put_and_wait(hub["id"] + "/virtualNetworkPeerings/to-spoke", {"properties": {
        "remoteVirtualNetwork": {"id": spoke["id"]}}})
    p1 = emu.get(p1["id"]).json()
    assert p1["properties"]["peeringState"] == "Connected"
    assert p1["properties"]["remoteAddressSpace"] == {"addressPrefixes": ["10.0.0.0/22"]}
    assert [x["name"] for x in emu.get(spoke["id"]).json()["properties"]["virtualNetworkPeerings"]] == ["to-hub"]
    r = emu.put(p1["id"], {"properties": {"remoteVirtualNetwork": {"id": hub["id"]}, "useRemoteGateways": True}})
    assert r.status_code == 400 and r.json()["error"]["code"] == "RemoteVnetHasNoGateways"


def test_federated_credentials_concurrent_writes(emu, rg):
    uami = emu.put(f"{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-ci",
                   {"location": "westeurope"}).json()
    emu.control("POST", "time-scale", {"scale": 0.25})           # a FIC write holds its identity for 0.5 s
    token = emu.token()
    fic = BODIES["Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials"]

    def put(i):
        b = {"properties": dict(fic["properties"], subject=f"repo:org/repo:environment:e{i}")}
        return emu.put(uami["id"] + f"/federatedIdentityCredentials/fic{i}", b, token=token)
    with ThreadPoolExecutor(3) as ex:
        rs = list(ex.map(put, range(3)))
    codes = sorted(r.status_code for r in rs)
    assert codes == [201, 409, 409], [r.text for r in rs]
    assert {r.json()["error"]["code"] for r in rs if r.status_code == 409} == {
        "ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity"}
