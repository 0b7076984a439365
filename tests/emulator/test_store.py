"""Resource store semantics: IDs, casing, parents, 404 shapes, nested resources, lists, read-only values."""
from __future__ import annotations

import ipaddress

from .conftest import make_subnet, make_vnet, net
from .doc_bodies import BODIES


def test_resource_group_crud_and_envelope(emu):
    rid = emu.rg_id("Rg-Mixed")
    r = emu.put(rid, {"location": "West Europe", "tags": {"a": "b"}})
    assert r.status_code == 201
    b = r.json()
    assert b == {"id": f"/subscriptions/{emu.subscription}/resourceGroups/Rg-Mixed", "name": "Rg-Mixed",
                 "type": "Microsoft.Resources/resourceGroups", "location": "westeurope", "tags": {"a": "b"},
                 "properties": {"provisioningState": "Succeeded"}}
    assert emu.put(rid, {"location": "westeurope"}).status_code == 200
    # case-insensitive lookup, creation casing returned
    g = emu.get(rid.lower().replace("resourcegroups", "RESOURCEGROUPS"))
    assert g.status_code == 200 and g.json()["name"] == "Rg-Mixed"
    r = emu.put(rid, {"location": "northeurope"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "InvalidResourceGroupLocation"
    assert emu.get(emu.rg_id("nope")).json()["error"]["code"] == "ResourceGroupNotFound"
    names = [x["name"] for x in emu.get(f"/subscriptions/{emu.subscription}/resourcegroups").json()["value"]]
    assert "Rg-Mixed" in names


def test_parent_must_exist(emu, rg):
    r = emu.put(f"{net(emu.rg_id('missing'))}/virtualNetworks/v", {"location": "westeurope"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "ResourceGroupNotFound"
    r = emu.put(f"{net(rg)}/virtualNetworks/nope/subnets/s", {"properties": {"addressPrefix": "10.0.0.0/24"}})
    assert r.status_code == 404 and r.json()["error"]["code"] == "ParentResourceNotFound"
    r = emu.get(f"{net(rg)}/virtualNetworks/nope")
    err = r.json()["error"]
    assert r.status_code == 404 and err["code"] == "ResourceNotFound"
    assert "Microsoft.Network/virtualNetworks/nope" in err["message"]
    r = emu.get("/subscriptions/99999999-9999-9999-9999-999999999999/resourceGroups/x")
    assert r.status_code == 404 and r.json()["error"]["code"] == "SubscriptionNotFound"


def test_api_version_checks(emu, rg):
    v = f"{net(rg)}/virtualNetworks/v"
    r = emu.get(v, api_version="")
    assert r.status_code == 400 and r.json()["error"]["code"] == "MissingApiVersionParameter"
    r = emu.get(v, api_version="2019-01-01")
    assert r.status_code == 400 and r.json()["error"]["code"] == "NoRegisteredProviderFound"
    assert "2025-09-01" in r.json()["error"]["message"]
    r = emu.get(rg, api_version="2019-01-01")
    assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidApiVersionParameter"
    r = emu.get(rg, api_version="not-a-version")
    assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidApiVersionParameter"
    r = emu.get(f"{rg}/providers/Microsoft.Network/virtualNetworkz/v", api_version="2025-09-01")
    assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidResourceType"


def test_invalid_body_is_rejected_and_recorded(emu, rg):
    r = emu.put(f"{net(rg)}/virtualNetworks/v", {"location": "westeurope", "properties": {"adressSpace": {}}})
    err = r.json()["error"]
    assert r.status_code == 400 and err["code"] == "InvalidRequestContent"
    assert err["target"] == "properties.adressSpace" and err["details"][0]["code"] == "UnknownProperty"
    log = emu.control("GET", "requests?kind=arm").json()["value"]
    last = [e for e in log if e["method"] == "PUT"][-1]
    assert last["status"] == 400 and last["validation"]["errors"][0]["path"] == "properties.adressSpace"
    assert "Authorization" not in last["headers"] and "authorization" not in {k.lower() for k in last["headers"]}
    r = emu.put(f"{net(rg)}/virtualNetworks/v", "not json", raw=True)
    assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidRequestContent"
    r = emu.put(f"{net(rg)}/virtualNetworks/v", {"properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}})
    assert r.status_code == 400 and r.json()["error"]["code"] == "LocationRequired"


def test_subnets_nested_and_inline(emu, rg):
    vnet = make_vnet(emu, rg, subnets=[{"name": "a", "properties": {"addressPrefix": "10.0.0.0/24"}}])
    assert [s["name"] for s in vnet["properties"]["subnets"]] == ["a"]
    make_subnet(emu, vnet["id"], "b", "10.0.1.0/24")
    v = emu.get(vnet["id"]).json()
    assert [s["name"] for s in v["properties"]["subnets"]] == ["a", "b"]
    sub_b = emu.get(vnet["id"] + "/subnets/b").json()
    assert sub_b == [s for s in v["properties"]["subnets"] if s["name"] == "b"][0]
    assert sub_b["type"] == "Microsoft.Network/virtualNetworks/subnets" and sub_b["etag"].startswith('W/"')
    lst = emu.get(vnet["id"] + "/subnets").json()["value"]
    assert [s["name"] for s in lst] == ["a", "b"]
    # a VNet PUT without subnets removes them (full replacement)
    body = {"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/22"]},
                                                     "subnets": [{"name": "b", "properties": {
                                                         "addressPrefix": "10.0.1.0/24"}}]}}
    emu.put_and_wait(vnet["id"], body)
    assert [s["name"] for s in emu.get(vnet["id"] + "/subnets").json()["value"]] == ["b"]
    assert emu.get(vnet["id"] + "/subnets/a").status_code == 404


def test_subnet_address_rules(emu, rg):
    vnet = make_vnet(emu, rg, prefix="10.1.0.0/24")
    r = emu.put(vnet["id"] + "/subnets/out", {"properties": {"addressPrefix": "10.2.0.0/26"}})
    assert r.json()["error"]["code"] == "NetcfgSubnetRangeOutsideVnet"
    make_subnet(emu, vnet["id"], "a", "10.1.0.0/26")
    r = emu.put(vnet["id"] + "/subnets/b", {"properties": {"addressPrefix": "10.1.0.32/27"}})
    assert r.json()["error"]["code"] == "NetcfgSubnetRangesOverlap"
    r = emu.put(vnet["id"] + "/subnets/c", {"properties": {"addressPrefix": "10.1.0.65/26"}})
    assert r.json()["error"]["code"] == "InvalidCIDRNotation"


def test_lists_and_paging(emu, rg):
    emu.control("POST", "config", {"page_size": 2})
    for i in range(5):
        emu.put(f"{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id{i}", {"location": "westeurope"})
    r = emu.get(f"{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities").json()
    names = [x["name"] for x in r["value"]]
    while r.get("nextLink"):
        r = emu.get(r["nextLink"]).json()
        names += [x["name"] for x in r["value"]]
    assert names == [f"id{i}" for i in range(5)]
    r = emu.get(f"{rg}/resources").json()
    assert len(r["value"]) == 2 and r["nextLink"]


def test_read_only_values_network(emu, rg):
    vnet = make_vnet(emu, rg, subnets=[
        {"name": "AzureFirewallSubnet", "properties": {"addressPrefix": "10.0.0.0/26"}},
        {"name": "snet-pe", "properties": {"addressPrefix": "10.0.1.0/24"}},
        {"name": "snet-dns-in", "properties": {"addressPrefix": "10.0.2.0/28", "delegations": [
            {"name": "d", "properties": {"serviceName": "Microsoft.Network/dnsResolvers"}}]}}])
    pip = emu.put_and_wait(f"{net(rg)}/publicIPAddresses/pip", BODIES["Microsoft.Network/publicIPAddresses"])
    ipaddress.ip_address(pip["properties"]["ipAddress"])
    assert pip["properties"]["provisioningState"] == "Succeeded" and pip["etag"].startswith('W/"')
    fw = emu.put_and_wait(f"{net(rg)}/azureFirewalls/fw", {
        "location": "westeurope", "properties": {"sku": {"name": "AZFW_VNet", "tier": "Standard"}, "ipConfigurations": [
            {"name": "c", "properties": {"subnet": {"id": vnet["id"] + "/subnets/AzureFirewallSubnet"},
                                         "publicIPAddress": {"id": pip["id"]}}}]}})
    assert fw["properties"]["ipConfigurations"][0]["properties"]["privateIPAddress"] == "10.0.0.4"
    assert emu.get(pip["id"]).json()["properties"]["ipConfiguration"]["id"] == fw["id"]
    res = emu.put_and_wait(f"{net(rg)}/dnsResolvers/res", {"location": "westeurope", "properties": {
        "virtualNetwork": {"id": vnet["id"]}}})
    inb = emu.put_and_wait(res["id"] + "/inboundEndpoints/in", {"location": "westeurope", "properties": {
        "ipConfigurations": [{"subnet": {"id": vnet["id"] + "/subnets/snet-dns-in"},
                              "privateIpAllocationMethod": "Dynamic"}]}})
    assert inb["properties"]["ipConfigurations"][0]["privateIpAddress"] == "10.0.2.4"
    kv = emu.put_and_wait(f"{rg}/providers/Microsoft.KeyVault/vaults/kv-ro-{rg[-8:]}", BODIES["Microsoft.KeyVault/vaults"])
    pe = emu.put_and_wait(f"{net(rg)}/privateEndpoints/pe-kv", {"location": "westeurope", "properties": {
        "subnet": {"id": vnet["id"] + "/subnets/snet-pe"}, "privateLinkServiceConnections": [
            {"name": "kv", "properties": {"privateLinkServiceId": kv["id"], "groupIds": ["vault"]}}]}})
    assert pe["properties"]["customDnsConfigs"] == [{"fqdn": f"{kv['name']}.vault.azure.net",
                                                     "ipAddresses": ["10.0.1.4"]}]
    nic = emu.get(pe["properties"]["networkInterfaces"][0]["id"]).json()
    assert nic["properties"]["ipConfigurations"][0]["properties"]["privateIPAddress"] == "10.0.1.4"
    pe_sub = emu.get(vnet["id"] + "/subnets/snet-pe").json()
    assert pe_sub["properties"]["privateEndpoints"] == [{"id": pe["id"]}]
    # the zone group writes the A record
    zone = emu.put_and_wait(f"{net(rg)}/privateDnsZones/privatelink.vaultcore.azure.net", {"location": "global"})
    zg = emu.put_and_wait(pe["id"] + "/privateDnsZoneGroups/default", {"properties": {"privateDnsZoneConfigs": [
        {"name": "kv", "properties": {"privateDnsZoneId": zone["id"]}}]}})
    assert zone["properties"]["numberOfRecordSets"] == 1
    assert zg["properties"]["privateDnsZoneConfigs"][0]["properties"]["recordSets"] == []  # zone suffix differs
    zone2 = emu.put_and_wait(f"{net(rg)}/privateDnsZones/privatelink.vault.azure.net", {"location": "global"})
    emu.put_and_wait(pe["id"] + "/privateDnsZoneGroups/default", {"properties": {"privateDnsZoneConfigs": [
        {"name": "kv", "properties": {"privateDnsZoneId": zone2["id"]}}]}})
    rec = emu.get(zone2["id"] + f"/A/{kv['name']}").json()
    assert rec["properties"]["aRecords"] == [{"ipv4Address": "10.0.1.4"}]


def test_read_only_values_identity_storage_vault_databricks(emu, rg):
    uami = emu.put(f"{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-dbx",
                   {"location": "westeurope"})
    assert uami.status_code == 201
    p = uami.json()["properties"]
    assert p["tenantId"] == emu.tenant and len(p["principalId"]) == 36 and len(p["clientId"]) == 36
    sa_body = {"location": "westeurope", "kind": "StorageV2", "sku": {"name": "Standard_ZRS"},
               "identity": {"type": "UserAssigned", "userAssignedIdentities": {uami.json()["id"]: {}}},
               "properties": {"isHnsEnabled": True, "publicNetworkAccess": "Disabled", "minimumTlsVersion": "TLS1_2"}}
    name = "st" + rg[-8:]
    r = emu.put(f"{rg}/providers/Microsoft.Storage/storageAccounts/{name}", sa_body)
    assert r.status_code == 202 and r.content == b"" and "Location" in r.headers
    assert emu.wait(r).status_code == 200
    sa = emu.get(f"{rg}/providers/Microsoft.Storage/storageAccounts/{name}").json()
    assert sa["properties"]["primaryEndpoints"]["dfs"] == f"https://{name}.dfs.core.windows.net/"
    assert sa["identity"]["userAssignedIdentities"][uami.json()["id"]]["principalId"] == p["principalId"]
    c = emu.put(sa["id"] + "/blobServices/default/containers/raw", {"properties": {"publicAccess": "None"}})
    assert c.status_code == 201
    kvname = "kv" + rg[-8:]
    kv = emu.put_and_wait(f"{rg}/providers/Microsoft.KeyVault/vaults/{kvname}", BODIES["Microsoft.KeyVault/vaults"])
    assert kv["properties"]["vaultUri"] == f"https://{kvname}.vault.azure.net/"
    k = emu.put(kv["id"] + "/keys/cmk", BODIES["Microsoft.KeyVault/vaults/keys"])
    assert k.status_code == 201
    kp = k.json()["properties"]
    assert kp["keyUri"] == f"https://{kvname}.vault.azure.net/keys/cmk"
    assert kp["keyUriWithVersion"].startswith(kp["keyUri"] + "/") and len(kp["keyUriWithVersion"].split("/")[-1]) == 32
    again = emu.put(kv["id"] + "/keys/cmk", {"properties": {"kty": "RSA", "keySize": 2048}})
    assert again.status_code == 200 and again.json()["properties"]["keyUriWithVersion"] == kp["keyUriWithVersion"]
    ac = emu.put_and_wait(f"{rg}/providers/Microsoft.Databricks/accessConnectors/ac-dbx",
                          BODIES["Microsoft.Databricks/accessConnectors"])
    assert len(ac["identity"]["principalId"]) == 36 and ac["identity"]["tenantId"] == emu.tenant


def test_databricks_workspace(emu, rg):
    nsg = emu.put_and_wait(f"{net(rg)}/networkSecurityGroups/nsg", {"location": "westeurope"})
    assert len(nsg["properties"]["defaultSecurityRules"]) == 6
    deleg = [{"name": "dbx", "properties": {"serviceName": "Microsoft.Databricks/workspaces"}}]
    vnet = make_vnet(emu, rg, "vnet-dbx", "10.20.0.0/16", subnets=[
        {"name": "host", "properties": {"addressPrefix": "10.20.0.0/26", "delegations": deleg,
                                        "networkSecurityGroup": {"id": nsg["id"]}}},
        {"name": "container", "properties": {"addressPrefix": "10.20.0.64/26", "delegations": deleg,
                                             "networkSecurityGroup": {"id": nsg["id"]}}},
        {"name": "plain", "properties": {"addressPrefix": "10.20.1.0/26"}}])
    mrg = f"/subscriptions/{emu.subscription}/resourceGroups/{rg.rsplit('/', 1)[1]}-managed"
    body = {"location": "westeurope", "sku": {"name": "premium"}, "properties": {
        "computeMode": "Hybrid", "managedResourceGroupId": mrg, "publicNetworkAccess": "Disabled",
        "requiredNsgRules": "NoAzureDatabricksRules", "parameters": {
            "customVirtualNetworkId": {"value": vnet["id"]}, "customPublicSubnetName": {"value": "host"},
            "customPrivateSubnetName": {"value": "plain"}, "enableNoPublicIp": {"value": True}}}}
    ws_id = f"{rg}/providers/Microsoft.Databricks/workspaces/dbw"
    r = emu.put(ws_id, body)
    assert r.status_code == 400 and r.json()["error"]["code"] == "SubnetMissingRequiredDelegation"
    body["properties"]["parameters"]["customPrivateSubnetName"] = {"value": "container"}
    r = emu.put(ws_id, body)
    assert r.status_code == 201 and r.json()["properties"]["provisioningState"] == "Accepted"
    emu.wait(r)
    ws = emu.get(ws_id).json()
    assert ws["properties"]["provisioningState"] == "Succeeded"
    assert ws["properties"]["workspaceUrl"] == f"adb-{ws['properties']['workspaceId']}." \
                                               f"{ws['properties']['workspaceUrl'].split('.')[1]}.azuredatabricks.net"
    assert ws["properties"]["parameters"]["enableNoPublicIp"] == {"value": True, "type": "Bool"}
    assert emu.get(mrg).json()["managedBy"] == ws["id"]
    host = emu.get(vnet["id"] + "/subnets/host").json()
    assert host["properties"]["serviceAssociationLinks"][0]["properties"]["link"] == ws["id"]
    assert host["properties"]["delegations"][0]["properties"]["actions"]
    r = emu.delete(vnet["id"] + "/subnets/host")
    assert r.status_code == 400 and r.json()["error"]["code"] == "InUseSubnetCannotBeDeleted"
    body["properties"]["parameters"]["customPublicSubnetName"] = {"value": "plain"}
    r = emu.put(ws_id, body)
    assert r.status_code == 400 and "cannot be changed" in r.json()["error"]["message"]
    emu.delete_and_wait(ws_id)
    assert emu.get(ws_id).status_code == 404 and emu.get(mrg).status_code == 404
    assert emu.delete(vnet["id"] + "/subnets/host").status_code == 202


def test_if_match_and_if_none_match(emu, rg):
    zid = f"{net(rg)}/privateDnsZones/privatelink.blob.core.windows.net"
    r = emu.put(zid, {"location": "global"}, headers={"If-None-Match": "*"})
    assert r.status_code == 202 and emu.get(zid).json()["properties"]["provisioningState"] == "Creating"
    emu.wait(r)
    assert emu.put(zid, {"location": "global"}, headers={"If-None-Match": "*"}).status_code == 412
    etag = emu.get(zid).json()["etag"]
    r = emu.put(zid, {"location": "global", "tags": {"a": "1"}}, headers={"If-Match": '"bogus"'})
    assert r.status_code == 412 and r.json()["error"]["code"] == "PreconditionFailed"
    r = emu.put(zid, {"location": "global", "tags": {"a": "1"}}, headers={"If-Match": etag})
    assert r.status_code == 202 and emu.get(zid).json()["etag"] != etag


def test_patch_tags_only_for_network(emu, rg):
    vnet = make_vnet(emu, rg)
    r = emu.patch(vnet["id"], {"tags": {"x": "y"}})
    assert r.status_code == 200 and r.json()["tags"] == {"x": "y"}
    r = emu.patch(vnet["id"], {"properties": {}})
    assert r.status_code == 400


def test_auth_required(emu, rg):
    r = emu.request("GET", rg, token="")
    assert r.status_code == 401 and r.json()["error"]["code"] == "AuthenticationFailed"
    assert "WWW-Authenticate" in r.headers
    r = emu.request("GET", rg, token="garbage")
    assert r.status_code == 401 and r.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_provider_registration(emu, rg):
    emu.control("POST", "config", {"require_provider_registration": True})
    v = f"{net(rg)}/virtualNetworks/v"
    body = {"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}}
    r = emu.put(v, body)
    assert r.status_code == 409 and r.json()["error"]["code"] == "MissingSubscriptionRegistration"
    r = emu.post(f"/subscriptions/{emu.subscription}/providers/Microsoft.Network/register", api_version="2021-04-01")
    assert r.status_code == 200 and r.json()["registrationState"] == "Registered"
    assert emu.put(v, body).status_code == 201
