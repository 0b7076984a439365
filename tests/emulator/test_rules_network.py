"""Network rules of FIDELITY.md: peering address spaces and sync, private endpoints and their DNS zone groups."""
from __future__ import annotations

from .conftest import make_vnet, net
from .test_rules_existing import _err, _vault


def _peer(emu, a, b, name=None, **kw):
    return emu.put(f"{a['id']}/virtualNetworkPeerings/{name or 'to-' + b['name']}",
                   {"properties": {"remoteVirtualNetwork": {"id": b["id"]}}}, **kw)


def test_overlapping_vnets_cannot_peer(emu, rg):
    hub = make_vnet(emu, rg, "hub", "10.0.0.0/22")
    twin = make_vnet(emu, rg, "twin", "10.0.2.0/23")
    err = _err(_peer(emu, twin, hub), 400, "VnetAddressSpacesOverlap")
    assert "Overlapping address prefixes: 10.0.2.0/23" in err["message"]
    spoke1, spoke2 = make_vnet(emu, rg, "spoke1", "10.1.0.0/22"), make_vnet(emu, rg, "spoke2", "10.1.2.0/24")
    emu.wait(_peer(emu, spoke1, hub))
    emu.wait(_peer(emu, hub, spoke1))
    err = _err(_peer(emu, spoke2, hub), 400, "VnetAddressSpaceOverlapsWithAlreadyPeeredVnet")
    assert spoke1["id"] in err["message"] and "10.1.2.0/24" in err["message"]
    _err(_peer(emu, hub, spoke2), 400, "VnetAddressSpaceOverlapsWithAlreadyPeeredVnet")


def test_address_space_change_leaves_peerings_out_of_sync(emu, rg):
    hub = make_vnet(emu, rg, "hub", "10.0.0.0/22")
    spoke = make_vnet(emu, rg, "spoke", "10.1.0.0/22")
    emu.wait(_peer(emu, spoke, hub))
    emu.wait(_peer(emu, hub, spoke))
    to_spoke = f"{hub['id']}/virtualNetworkPeerings/to-spoke"
    to_hub = f"{spoke['id']}/virtualNetworkPeerings/to-hub"
    assert emu.get(to_spoke).json()["properties"]["peeringSyncLevel"] == "FullyInSync"
    make_vnet(emu, rg, "spoke", "10.1.0.0/21")                        # the spoke grows
    p = emu.get(to_spoke).json()["properties"]
    assert p["peeringSyncLevel"] == "LocalNotInSync"
    assert p["remoteAddressSpace"]["addressPrefixes"] == ["10.1.0.0/22"]
    assert p["remoteVirtualNetworkAddressSpace"]["addressPrefixes"] == ["10.1.0.0/21"]
    assert emu.get(to_hub).json()["properties"]["peeringSyncLevel"] == "RemoteNotInSync"
    emu.wait(_peer(emu, hub, spoke, "to-spoke"))                      # a plain PUT does not sync
    assert emu.get(to_spoke).json()["properties"]["peeringSyncLevel"] == "LocalNotInSync"
    emu.wait(emu.put(to_spoke + "?syncRemoteAddressSpace=true",
                     {"properties": {"remoteVirtualNetwork": {"id": spoke["id"]}}}))
    assert emu.get(to_spoke).json()["properties"]["peeringSyncLevel"] == "FullyInSync"
    assert emu.get(to_hub).json()["properties"]["peeringSyncLevel"] == "FullyInSync"


def _pe_body(subnet_id, target_id, groups):
    return {"location": "westeurope", "properties": {"subnet": {"id": subnet_id}, "privateLinkServiceConnections": [
        {"name": "c", "properties": {"privateLinkServiceId": target_id, "groupIds": groups}}]}}


def test_private_endpoint_connects_one_group(emu, rg):
    sa = f"{rg}/providers/Microsoft.Storage/storageAccounts/st{rg[-8:]}"
    emu.wait(emu.put(sa, {"location": "westeurope", "kind": "StorageV2", "sku": {"name": "Standard_LRS"},
                          "properties": {}}))
    vnet = make_vnet(emu, rg, subnets=[{"name": "pe", "properties": {"addressPrefix": "10.0.1.0/24"}}])
    err = _err(emu.put(f"{net(rg)}/privateEndpoints/pe", _pe_body(vnet["id"] + "/subnets/pe", sa, ["blob", "file"])),
               400, "OnlyOneGroupIdPermitted")
    assert "has the following group Ids: blob, file" in err["message"] and sa in err["message"]
    _err(emu.put(f"{net(rg)}/privateEndpoints/pe", _pe_body(vnet["id"] + "/subnets/pe", sa, [])),
         400, "MissingParameterOnPrivateLinkServiceConnection")


def test_one_dns_zone_group_of_at_most_five_zones(emu, rg):
    kv = _vault(emu, rg)
    vnet = make_vnet(emu, rg, subnets=[{"name": "pe", "properties": {"addressPrefix": "10.0.1.0/24"}}])
    pe = emu.put_and_wait(f"{net(rg)}/privateEndpoints/pe", _pe_body(vnet["id"] + "/subnets/pe", kv["id"], ["vault"]))
    zones = []
    for i in range(6):
        z = f"{net(rg)}/privateDnsZones/privatelink{i}.vaultcore.azure.net"
        emu.wait(emu.put(z, {"location": "global"}))
        zones.append({"name": f"z{i}", "properties": {"privateDnsZoneId": z}})
    err = _err(emu.put(pe["id"] + "/privateDnsZoneGroups/default", {"properties": {"privateDnsZoneConfigs": zones}}),
               400, "InvalidRequestFormat")
    assert "up to 5" in err["message"]
    dup = [zones[0], dict(zones[1], name="z0")]
    err = _err(emu.put(pe["id"] + "/privateDnsZoneGroups/default", {"properties": {"privateDnsZoneConfigs": dup}}),
               400, "InvalidRequestFormat")
    assert err["details"][0]["code"] == "DuplicateResourceName"
    emu.put_and_wait(pe["id"] + "/privateDnsZoneGroups/default", {"properties": {"privateDnsZoneConfigs": zones[:5]}})
    err = _err(emu.put(pe["id"] + "/privateDnsZoneGroups/second", {"properties": {
        "privateDnsZoneConfigs": zones[5:]}}), 400, "InvalidRequestFormat")
    assert "more than one private dns zone groups" in err["message"]
