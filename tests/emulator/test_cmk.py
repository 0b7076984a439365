"""Customer-managed keys: key grants that must exist and have propagated; the DBFS root account in a workspace's
managed group and its storage firewall; first-party principals; resources seeded from outside the specs."""
from __future__ import annotations

import time

from .conftest import make_vnet, net
from .doc_bodies import BODIES

CRYPTO_USER = "e147488a-f6f5-4113-8e2d-b22465e65bf6"
SB_SENDER = "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39"


def _vault_and_key(emu, rg):
    kv = emu.put_and_wait(f"{rg}/providers/Microsoft.KeyVault/vaults/kv{rg[-8:]}", BODIES["Microsoft.KeyVault/vaults"])
    key = emu.put_and_wait(kv["id"] + "/keys/cmk", BODIES["Microsoft.KeyVault/vaults/keys"])
    return kv, key


def _grant(emu, scope, principal, role=CRYPTO_USER, name="0000aaaa-0000-4000-8000-00000000000a"):
    r = emu.put(f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}", {"properties": {
        "roleDefinitionId": f"/subscriptions/{emu.subscription}/providers/Microsoft.Authorization/roleDefinitions/{role}",
        "principalId": principal, "principalType": "ServicePrincipal"}})
    assert r.status_code in (200, 201), r.text
    return r.json()


def test_storage_cmk_waits_for_the_key_grant_to_propagate(emu, rg):
    emu.control("POST", "config", {"rbac_propagation_seconds": 500}).raise_for_status()   # 0.5 s wall
    kv, key = _vault_and_key(emu, rg)
    uami = emu.put_and_wait(f"{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-lake",
                            {"location": "westeurope"})
    body = {"location": "westeurope", "kind": "StorageV2", "sku": {"name": "Standard_ZRS"},
            "identity": {"type": "UserAssigned", "userAssignedIdentities": {uami["id"]: {}}},
            "properties": {"encryption": {"keySource": "Microsoft.Keyvault", "keyvaultproperties": {
                "keyname": "cmk", "keyvaulturi": kv["properties"]["vaultUri"]},
                "identity": {"userAssignedIdentity": uami["id"]}}}}
    sa = f"{rg}/providers/Microsoft.Storage/storageAccounts/st{rg[-8:]}"
    r = emu.put(sa, body)                                   # no grant at all
    assert r.status_code == 403 and r.json()["error"]["code"] == "KeyVaultAuthenticationFailure", r.text
    assert uami["properties"]["principalId"] in r.json()["error"]["message"]
    _grant(emu, key["id"], uami["properties"]["principalId"])
    r = emu.put(sa, body)                                   # granted, not yet propagated
    assert r.status_code == 403, r.text
    time.sleep(0.6)
    r = emu.put(sa, body)
    assert r.status_code in (200, 202), r.text
    emu.wait(r)
    # an update that leaves the encryption alone is not checked again
    body["tags"] = {"x": "y"}
    assert emu.put(sa, body).status_code in (200, 202)


def test_vault_scope_grant_counts_for_its_keys(emu, rg):
    emu.control("POST", "config", {"rbac_propagation_seconds": 0}).raise_for_status()
    kv, _ = _vault_and_key(emu, rg)
    uami = emu.put_and_wait(f"{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-v",
                            {"location": "westeurope"})
    _grant(emu, kv["id"], uami["properties"]["principalId"])
    r = emu.put(f"{rg}/providers/Microsoft.Storage/storageAccounts/sv{rg[-8:]}", {
        "location": "westeurope", "kind": "StorageV2", "sku": {"name": "Standard_ZRS"},
        "identity": {"type": "UserAssigned", "userAssignedIdentities": {uami["id"]: {}}},
        "properties": {"encryption": {"keySource": "Microsoft.Keyvault", "keyvaultproperties": {
            "keyname": "cmk", "keyvaulturi": kv["properties"]["vaultUri"]},
            "identity": {"userAssignedIdentity": uami["id"]}}}})
    assert r.status_code in (200, 202), r.text


def _workspace(emu, rg):
    nsg = emu.put_and_wait(f"{net(rg)}/networkSecurityGroups/nsg", {"location": "westeurope"})
    deleg = [{"name": "dbx", "properties": {"serviceName": "Microsoft.Databricks/workspaces"}}]
    vnet = make_vnet(emu, rg, "vnet-dbx", "10.20.0.0/16", subnets=[
        {"name": n, "properties": {"addressPrefix": p, "delegations": deleg, "networkSecurityGroup": {"id": nsg["id"]}}}
        for n, p in (("host", "10.20.0.0/26"), ("container", "10.20.0.64/26"))])
    ac = emu.put_and_wait(f"{rg}/providers/Microsoft.Databricks/accessConnectors/dbac-test",
                          BODIES["Microsoft.Databricks/accessConnectors"])
    mrg = f"/subscriptions/{emu.subscription}/resourceGroups/{rg.rsplit('/', 1)[1]}-managed"
    return {"location": "westeurope", "sku": {"name": "premium"}, "properties": {
        "computeMode": "Hybrid", "managedResourceGroupId": mrg, "publicNetworkAccess": "Disabled",
        "requiredNsgRules": "NoAzureDatabricksRules", "defaultStorageFirewall": "Enabled", "parameters": {
            "customVirtualNetworkId": {"value": vnet["id"]}, "customPublicSubnetName": {"value": "host"},
            "customPrivateSubnetName": {"value": "container"}, "enableNoPublicIp": {"value": True},
            "prepareEncryption": {"value": True}}}}, ac["id"], mrg


def test_workspace_root_storage_and_two_phase_cmk(emu, rg, server):
    emu.control("POST", "config", {"rbac_propagation_seconds": 0}).raise_for_status()
    body, ac, mrg = _workspace(emu, rg)
    ws_id = f"{rg}/providers/Microsoft.Databricks/workspaces/dbw"
    r = emu.put(ws_id, body)                                # the storage firewall needs the connector
    assert r.status_code == 400 and r.json()["error"]["target"] == "properties.accessConnector", r.text
    body["properties"]["accessConnector"] = {"id": ac, "identityType": "SystemAssigned"}
    ws = emu.put_and_wait(ws_id, body)
    root = ws["properties"]["parameters"]["storageAccountName"]["value"]
    root_id = f"{mrg}/providers/Microsoft.Storage/storageAccounts/{root}"
    sa = emu.get(root_id).json()
    assert sa["properties"]["networkAcls"]["defaultAction"] == "Deny", sa
    assert sa["properties"]["networkAcls"]["resourceAccessRules"][0]["resourceId"] == ac
    assert sa["properties"]["primaryEndpoints"]["dfs"] == f"https://{root}.dfs.core.windows.net/"

    # phase two: managed services wrapped by the AzureDatabricks app, the DBFS root by the storage identity
    kv, key = _vault_and_key(emu, rg)
    version = key["properties"]["keyUriWithVersion"].rsplit("/", 1)[1]
    kvp = {"keyVaultUri": kv["properties"]["vaultUri"], "keyName": "cmk", "keyVersion": version}
    body["properties"]["encryption"] = {"entities": {"managedServices": {"keySource": "Microsoft.Keyvault",
                                                                         "keyVaultProperties": kvp}}}
    body["properties"]["parameters"]["encryption"] = {"value": {
        "keySource": "Microsoft.Keyvault", "KeyName": "cmk", "keyvaulturi": kv["properties"]["vaultUri"],
        "keyversion": version}}
    app = server.info["first_party"]["AzureDatabricks"]
    assert app["client_id"] == "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d"
    r = emu.put(ws_id, body)
    assert r.status_code == 403 and app["object_id"] in r.json()["error"]["message"], r.text
    _grant(emu, key["id"], app["object_id"], name="0000aaaa-0000-4000-8000-00000000000b")
    r = emu.put(ws_id, body)
    assert r.status_code == 403 and ws["properties"]["storageAccountIdentity"]["principalId"] in r.text, r.text
    _grant(emu, key["id"], ws["properties"]["storageAccountIdentity"]["principalId"],
           name="0000aaaa-0000-4000-8000-00000000000c")
    emu.wait(emu.put(ws_id, body))
    assert emu.get(root_id).json()["properties"]["encryption"]["keySource"] == "Microsoft.Keyvault"
    emu.delete_and_wait(ws_id)
    assert emu.get(root_id).status_code == 404 and emu.get(mrg).status_code == 404


def test_seeded_outside_resource_is_a_role_assignment_scope(emu, rg):
    sb = f"{rg}/providers/Microsoft.ServiceBus/namespaces/sb-apps"
    r = emu.control("POST", "resources", {"id": sb, "location": "westeurope", "body": {"sku": {"name": "Premium"}}})
    assert r.status_code == 200, r.text
    # in the store, though the type's own API is not served (no definitions for it)
    store = emu.control("GET", "store?type=Microsoft.ServiceBus/namespaces").json()["resources"]
    assert [s["id"] for s in store] == [sb]
    assert emu.get(sb, api_version="2024-01-01").json()["error"]["code"] == "NoRegisteredProviderFound"
    ra = _grant(emu, sb, "44444444-4444-4444-4444-444444444444", role=SB_SENDER)
    assert ra["properties"]["scope"].lower() == sb.lower()
    r = emu.control("POST", "resources", {"id": "/subscriptions/x/resourceGroups/nope/providers/A.B/c/d"})
    assert r.status_code == 404, r.text
