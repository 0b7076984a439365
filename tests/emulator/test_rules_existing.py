"""Rules the emulator enforced before FIDELITY.md listed them, one test each (the table names them)."""
from __future__ import annotations

import copy

from .conftest import make_vnet, net
from .doc_bodies import BODIES


def _err(r, status, code):
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code, r.text
    return r.json()["error"]


def _vault(emu, rg, name="kv"):
    return emu.put_and_wait(f"{rg}/providers/Microsoft.KeyVault/vaults/{name}{rg[-8:]}",
                            BODIES["Microsoft.KeyVault/vaults"])


def test_location_cannot_change(emu, rg):
    uami = f"{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-x"
    assert emu.put(uami, {"location": "westeurope"}).status_code == 201
    _err(emu.put(uami, {"location": "northeurope"}), 400, "InvalidResourceLocation")


def test_attached_public_ip_cannot_be_deleted(emu, rg):
    pip = emu.put_and_wait(f"{net(rg)}/publicIPAddresses/pip-nat", BODIES["Microsoft.Network/publicIPAddresses"])
    nat = emu.put_and_wait(f"{net(rg)}/natGateways/nat", {"location": "westeurope", "sku": {"name": "Standard"},
                                                          "properties": {"publicIpAddresses": [{"id": pip["id"]}]}})
    err = _err(emu.delete(pip["id"]), 400, "PublicIPAddressCannotBeDeleted")
    assert nat["id"] in err["message"]
    emu.delete_and_wait(nat["id"])
    assert emu.delete(pip["id"]).status_code == 202


def test_vnet_cannot_link_two_zones_of_one_name(emu, rg):
    vnet = make_vnet(emu, rg)
    other = emu.put(f"{rg}-other", {"location": "westeurope"})
    assert other.status_code == 201
    link = {"location": "global", "properties": {"virtualNetwork": {"id": vnet["id"]},
                                                 "registrationEnabled": False}}
    for group in (rg, f"{rg}-other"):
        emu.put_and_wait(f"{net(group)}/privateDnsZones/privatelink.vaultcore.azure.net", {"location": "global"})
    emu.put_and_wait(f"{net(rg)}/privateDnsZones/privatelink.vaultcore.azure.net/virtualNetworkLinks/l1", link)
    r = emu.put(f"{net(rg + '-other')}/privateDnsZones/privatelink.vaultcore.azure.net/virtualNetworkLinks/l2", link)
    _err(r, 409, "Conflict")


def test_private_endpoint_refuses_a_delegated_subnet(emu, rg):
    kv = _vault(emu, rg)
    vnet = make_vnet(emu, rg, subnets=[{"name": "deleg", "properties": {
        "addressPrefix": "10.0.1.0/24", "delegations": [
            {"name": "d", "properties": {"serviceName": "Microsoft.Web/serverFarms"}}]}}])
    r = emu.put(f"{net(rg)}/privateEndpoints/pe", {"location": "westeurope", "properties": {
        "subnet": {"id": vnet["id"] + "/subnets/deleg"}, "privateLinkServiceConnections": [
            {"name": "c", "properties": {"privateLinkServiceId": kv["id"], "groupIds": ["vault"]}}]}})
    _err(r, 400, "PrivateEndpointCannotBeCreatedInSubnetThatHasDelegations")


def test_private_endpoint_group_id_must_exist(emu, rg):
    kv = _vault(emu, rg)
    vnet = make_vnet(emu, rg, subnets=[{"name": "pe", "properties": {"addressPrefix": "10.0.1.0/24"}}])
    r = emu.put(f"{net(rg)}/privateEndpoints/pe", {"location": "westeurope", "properties": {
        "subnet": {"id": vnet["id"] + "/subnets/pe"}, "privateLinkServiceConnections": [
            {"name": "c", "properties": {"privateLinkServiceId": kv["id"], "groupIds": ["blob"]}}]}})
    assert "vault" in _err(r, 400, "PrivateEndpointBadRequest")["message"]


def test_full_subnet_has_no_address_left(emu, rg):
    kv = _vault(emu, rg)
    vnet = make_vnet(emu, rg, subnets=[{"name": "tiny", "properties": {"addressPrefix": "10.0.1.0/29"}}])
    body = {"location": "westeurope", "properties": {"subnet": {"id": vnet["id"] + "/subnets/tiny"},
                                                      "privateLinkServiceConnections": [
        {"name": "c", "properties": {"privateLinkServiceId": kv["id"], "groupIds": ["vault"]}}]}}
    for i in range(3):           # a /29 has 8 addresses, Azure keeps 5
        emu.put_and_wait(f"{net(rg)}/privateEndpoints/pe{i}", body)
    _err(emu.put(f"{net(rg)}/privateEndpoints/pe3", body), 400, "SubnetIsFull")


def _ws_body(mrg, **props):
    return {"location": "westeurope", "sku": {"name": "premium"},
            "properties": {"computeMode": "Hybrid", "managedResourceGroupId": mrg, **props}}


def test_databricks_settings_rules(emu, rg):
    ws = f"{rg}/providers/Microsoft.Databricks/workspaces/dbw"
    mrg = f"/subscriptions/{emu.subscription}/resourceGroups/{rg.rsplit('/', 1)[1]}-m"
    _err(emu.put(ws, {"location": "westeurope", "sku": {"name": "premium"}, "properties": {"computeMode": "Hybrid"}}),
         400, "InvalidParameter")
    _err(emu.put(ws, {"location": "westeurope", "sku": {"name": "premium"}, "properties": {
        "computeMode": "Serverless", "managedResourceGroupId": mrg}}), 400, "InvalidParameter")
    _err(emu.put(ws, _ws_body(mrg, publicNetworkAccess="Disabled", requiredNsgRules="AllRules")),
         400, "InvalidParameter")
    _err(emu.put(ws, _ws_body(mrg, defaultStorageFirewall="Enabled")), 400, "InvalidParameter")
    err = _err(emu.put(ws, _ws_body(rg)), 409, "InvalidParameter")      # an existing group is not a managed one
    assert "already exists" in err["message"]


def test_databricks_create_only_settings(emu, rg):
    ws = f"{rg}/providers/Microsoft.Databricks/workspaces/dbw"
    mrg = f"/subscriptions/{emu.subscription}/resourceGroups/{rg.rsplit('/', 1)[1]}-m"
    emu.wait(emu.put(ws, _ws_body(mrg)))
    err = _err(emu.put(ws, _ws_body(mrg + "2")), 400, "BadRequest")
    assert err["target"] == "properties.managedResourceGroupId"


def test_storage_account_names(emu, rg):
    body = {"location": "westeurope", "kind": "StorageV2", "sku": {"name": "Standard_LRS"}, "properties": {}}
    name = f"st{rg[-8:]}"
    emu.wait(emu.put(f"{rg}/providers/Microsoft.Storage/storageAccounts/{name}", body))
    other = emu.put(f"{rg}-2", {"location": "westeurope"})
    assert other.status_code == 201
    _err(emu.put(f"{rg}-2/providers/Microsoft.Storage/storageAccounts/{name}", body), 409,
         "StorageAccountAlreadyTaken")
    _err(emu.put(f"{rg}/providers/Microsoft.Storage/storageAccounts/Bad_Name", body), 400, "AccountNameInvalid")


def test_storage_create_only_settings(emu, rg):
    sa = f"{rg}/providers/Microsoft.Storage/storageAccounts/st{rg[-8:]}"
    body = {"location": "westeurope", "kind": "StorageV2", "sku": {"name": "Standard_LRS"},
            "properties": {"isHnsEnabled": True}}
    emu.wait(emu.put(sa, body))
    body["properties"]["isHnsEnabled"] = False
    _err(emu.put(sa, body), 400, "HnsCannotBeChanged")
    body["properties"] = {"isHnsEnabled": True, "encryption": {"requireInfrastructureEncryption": True,
                                                              "keySource": "Microsoft.Storage"}}
    _err(emu.put(sa, body), 400, "InvalidRequestPropertyValue")


def test_registry_names_are_global(emu, rg):
    assert emu.put(f"{rg}-2", {"location": "westeurope"}).status_code == 201
    name = f"acr{rg[-8:]}"
    emu.wait(emu.put(f"{rg}/providers/Microsoft.ContainerRegistry/registries/{name}",
                     BODIES["Microsoft.ContainerRegistry/registries"]))
    _err(emu.put(f"{rg}-2/providers/Microsoft.ContainerRegistry/registries/{name}",
                 BODIES["Microsoft.ContainerRegistry/registries"]), 409, "AlreadyInUse")


def test_federated_credential_rules(emu, rg):
    uami = f"{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-f"
    assert emu.put(uami, {"location": "westeurope"}).status_code == 201
    good = BODIES["Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials"]
    bad = copy.deepcopy(good)
    bad["properties"]["issuer"] = "http://token.example"
    _err(emu.put(f"{uami}/federatedIdentityCredentials/fic0", bad), 400, "BadRequest")
    bad = copy.deepcopy(good)
    bad["properties"]["audiences"] = ["a", "b"]
    _err(emu.put(f"{uami}/federatedIdentityCredentials/fic0", bad), 400, "BadRequest")
    emu.control("POST", "config", {"time_scale": 0.0001}).raise_for_status()   # FIC writes hold the identity 2 s
    assert emu.put(f"{uami}/federatedIdentityCredentials/fic0", good).status_code == 201
    _err(emu.put(f"{uami}/federatedIdentityCredentials/dup", good), 409, "Conflict")
    for i in range(1, 20):
        b = copy.deepcopy(good)
        b["properties"]["subject"] = f"repo:org/repo:environment:e{i}"
        assert emu.put(f"{uami}/federatedIdentityCredentials/fic{i}", b).status_code == 201
    b = copy.deepcopy(good)
    b["properties"]["subject"] = "repo:org/repo:environment:one-too-many"
    assert "at most 20" in _err(emu.put(f"{uami}/federatedIdentityCredentials/fic20", b), 400,
                                "BadRequest")["message"]


def test_missing_user_assigned_identity(emu, rg):
    ghost = f"{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ghost"
    r = emu.put(f"{rg}/providers/Microsoft.Databricks/accessConnectors/ac-dbx", {
        "location": "westeurope", "identity": {"type": "UserAssigned", "userAssignedIdentities": {ghost: {}}},
        "properties": {}})
    assert ghost in _err(r, 400, "FailedIdentityOperation")["message"]
