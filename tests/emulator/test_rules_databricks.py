"""Databricks VNet injection and customer-managed key prerequisites (FIDELITY.md, first rows)."""
from __future__ import annotations

import copy

from .conftest import make_vnet, net
from .doc_bodies import BODIES
from .test_rules_existing import _err

DELEG = [{"name": "dbx", "properties": {"serviceName": "Microsoft.Databricks/workspaces"}}]
WORKER_IN = "Microsoft.Databricks-workspaces_UseOnly_databricks-worker-to-worker-inbound"


def _network(emu, rg, vnet_prefix="10.20.0.0/16", host="10.20.0.0/26", container="10.20.0.64/26"):
    nsg = emu.put_and_wait(f"{net(rg)}/networkSecurityGroups/nsg-dbx", {"location": "westeurope"})
    subnets = [{"name": n, "properties": {"addressPrefix": p, "delegations": DELEG,
                                          "networkSecurityGroup": {"id": nsg["id"]}}}
               for n, p in (("host", host), ("container", container))]
    subnets.append({"name": "spare", "properties": {"addressPrefix": "10.20.1.0/26", "delegations": DELEG,
                                                    "networkSecurityGroup": {"id": nsg["id"]}}})
    return nsg, make_vnet(emu, rg, "vnet-dbx", vnet_prefix, subnets=subnets)


def _body(emu, rg, vnet, suffix="", host="host", container="container", **props):
    mrg = f"/subscriptions/{emu.subscription}/resourceGroups/{rg.rsplit('/', 1)[1]}-managed{suffix}"
    return {"location": "westeurope", "sku": {"name": "premium"}, "properties": {
        "computeMode": "Hybrid", "managedResourceGroupId": mrg, "publicNetworkAccess": "Disabled",
        "requiredNsgRules": "NoAzureDatabricksRules", **props, "parameters": {
            "customVirtualNetworkId": {"value": vnet["id"]}, "customPublicSubnetName": {"value": host},
            "customPrivateSubnetName": {"value": container}, "enableNoPublicIp": {"value": True}}}}


def _workspace(emu, rg, vnet, name="dbw", **kw):
    r = emu.put(f"{rg}/providers/Microsoft.Databricks/workspaces/{name}", _body(emu, rg, vnet, **kw))
    assert r.status_code == 201, r.text
    emu.wait(r)
    return r.json()


def test_injection_sizes(emu, rg):
    _, vnet = _network(emu, rg, host="10.20.0.0/28", container="10.20.0.64/26")
    err = _err(emu.put(f"{rg}/providers/Microsoft.Databricks/workspaces/dbw", _body(emu, rg, vnet)),
               400, "InvalidParameter")
    assert "/26 or larger" in err["message"] and err["target"] == "properties.parameters.customPublicSubnetName"
    _, wide = _network(emu, f"{rg}", vnet_prefix="10.0.0.0/8", host="10.20.0.0/26")
    err = _err(emu.put(f"{rg}/providers/Microsoft.Databricks/workspaces/dbw", _body(emu, rg, wide)),
               400, "InvalidParameter")
    assert "between /16 and /24" in err["message"]


def test_subnets_are_not_shared_between_workspaces(emu, rg):
    _, vnet = _network(emu, rg)
    _err(emu.put(f"{rg}/providers/Microsoft.Databricks/workspaces/dbw",
                 _body(emu, rg, vnet, container="host")), 400, "InvalidParameter")
    _workspace(emu, rg, vnet)
    err = _err(emu.put(f"{rg}/providers/Microsoft.Databricks/workspaces/dbw2",
                       _body(emu, rg, vnet, suffix="2", host="spare")), 400, "InvalidParameter")
    assert "cannot be shared" in err["message"]


def test_intent_policy_adds_rules_and_keeps_them(emu, rg):
    nsg, vnet = _network(emu, rg)
    ws = _workspace(emu, rg, vnet)
    rules = {r["name"]: r for r in emu.get(nsg["id"]).json()["properties"]["securityRules"]}
    assert set(rules) == {WORKER_IN, WORKER_IN.replace("inbound", "outbound")}
    assert rules[WORKER_IN]["properties"]["priority"] == 100
    # a PUT of the NSG without them is refused; one that keeps them passes
    err = _err(emu.put(nsg["id"], {"location": "westeurope"}), 400, "ConflictWithNetworkIntentPolicy")
    assert "databricks-worker-to-worker" in err["message"] and nsg["id"] in err["message"]
    keep = [{"name": n, "properties": {k: v for k, v in r["properties"].items() if k != "provisioningState"}}
            for n, r in rules.items()]
    emu.wait(emu.put(nsg["id"], {"location": "westeurope", "tags": {"a": "b"},
                                 "properties": {"securityRules": keep}}))
    _err(emu.delete(f"{nsg['id']}/securityRules/{WORKER_IN}"), 400, "ConflictWithNetworkIntentPolicy")
    # the subnets keep their delegation and NSG
    host = emu.get(vnet["id"] + "/subnets/host").json()
    err = _err(emu.put(host["id"], {"properties": {"addressPrefix": "10.20.0.0/26",
                                                   "networkSecurityGroup": {"id": nsg["id"]}}}),
               400, "SubnetDelegationsCannotChangeWhenSubnetUsedByResource")
    assert "[Microsoft.Databricks/workspaces] to []" in err["message"]
    err = _err(emu.put(host["id"], {"properties": {"addressPrefix": "10.20.0.0/26", "delegations": DELEG}}),
               400, "NetworkSecurityGroupCannotBeRemovedDueToNipOnSubnet")
    assert "networkIntentPolicies/adb-westeurope-" in err["message"]
    bare = emu.put_and_wait(f"{net(rg)}/networkSecurityGroups/nsg-bare", {"location": "westeurope"})
    _err(emu.put(host["id"], {"properties": {"addressPrefix": "10.20.0.0/26", "delegations": DELEG,
                                             "networkSecurityGroup": {"id": bare["id"]}}}),
         400, "ConflictWithNetworkIntentPolicy")
    # the same through a VNet PUT
    body = {"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.20.0.0/16"]},
                                                     "subnets": copy.deepcopy(vnet["properties"]["subnets"])}}
    body["properties"]["subnets"][0]["properties"].pop("networkSecurityGroup")
    _err(emu.put(vnet["id"], body), 400, "NetworkSecurityGroupCannotBeRemovedDueToNipOnSubnet")
    # the policy leaves with the workspace
    emu.delete_and_wait(ws["id"])
    assert "securityRules" not in emu.get(nsg["id"]).json()["properties"] or \
        emu.get(nsg["id"]).json()["properties"]["securityRules"] == []
    emu.wait(emu.put(host["id"], {"properties": {"addressPrefix": "10.20.0.0/26"}}))


def test_all_rules_adds_the_control_plane_rules(emu, rg):
    nsg, vnet = _network(emu, rg)
    body = _body(emu, rg, vnet, requiredNsgRules="AllRules")
    body["properties"].pop("publicNetworkAccess")
    emu.wait(emu.put(f"{rg}/providers/Microsoft.Databricks/workspaces/dbw", body))
    names = {r["name"].rsplit("_", 1)[1] for r in emu.get(nsg["id"]).json()["properties"]["securityRules"]}
    assert {"databricks-worker-to-databricks-webapp", "databricks-worker-to-sql", "databricks-worker-to-storage",
            "databricks-worker-to-eventhub"} <= names


def test_customer_managed_keys_need_premium(emu, rg):
    _, vnet = _network(emu, rg)
    body = _body(emu, rg, vnet)
    body["sku"]["name"] = "standard"
    body["properties"]["parameters"]["prepareEncryption"] = {"value": True}
    assert "Premium" in _err(emu.put(f"{rg}/providers/Microsoft.Databricks/workspaces/dbw", body),
                             400, "InvalidParameter")["message"]


def test_access_connector_must_exist_with_its_identity(emu, rg):
    _, vnet = _network(emu, rg)
    ac_id = f"{rg}/providers/Microsoft.Databricks/accessConnectors/dbac"
    body = _body(emu, rg, vnet, defaultStorageFirewall="Enabled",
                 accessConnector={"id": ac_id, "identityType": "SystemAssigned"})
    ws = f"{rg}/providers/Microsoft.Databricks/workspaces/dbw"
    _err(emu.put(ws, body), 400, "InvalidResourceReference")
    uami = emu.put(f"{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-ac",
                   {"location": "westeurope"}).json()
    emu.put_and_wait(ac_id, {"location": "westeurope", "identity": {
        "type": "UserAssigned", "userAssignedIdentities": {uami["id"]: {}}}, "properties": {}})
    _err(emu.put(ws, body), 400, "InvalidParameter")
    body["properties"]["accessConnector"] = {"id": ac_id, "identityType": "UserAssigned",
                                             "userAssignedIdentityId": uami["id"]}
    assert emu.put(ws, body).status_code == 201


def test_cmk_vault_must_be_recoverable(emu, rg):
    _, vnet = _network(emu, rg)
    body = BODIES["Microsoft.KeyVault/vaults"]
    soft_only = {**body, "properties": {k: v for k, v in body["properties"].items() if k != "enablePurgeProtection"}}
    kv = emu.put_and_wait(f"{rg}/providers/Microsoft.KeyVault/vaults/kvd{rg[-8:]}", soft_only)
    ws = _body(emu, rg, vnet)
    ws["properties"]["encryption"] = {"entities": {"managedServices": {
        "keySource": "Microsoft.Keyvault", "keyVaultProperties": {
            "keyVaultUri": kv["properties"]["vaultUri"], "keyName": "cmk", "keyVersion": "0" * 32}}}}
    err = _err(emu.put(f"{rg}/providers/Microsoft.Databricks/workspaces/dbw", ws), 400, "InvalidParameter")
    assert "purge protection" in err["message"]
    ws["properties"].pop("encryption")
    ws["properties"]["parameters"]["encryption"] = {"value": {
        "keySource": "Microsoft.Keyvault", "KeyName": "cmk", "keyvaulturi": kv["properties"]["vaultUri"]}}
    _err(emu.put(f"{rg}/providers/Microsoft.Databricks/workspaces/dbw", ws), 400, "KeyVaultPolicyError")
