"""Private endpoints, their DNS zone groups, private DNS zones and virtual network links."""
from __future__ import annotations

import uuid

from ..protocol import ArmError, new_guid
from ..resource_types import get_path
from ..store import Resource
from .core import PROV, REMOVED, RENDER, VALIDATE, WRITE, hook
from .network import alloc_private_ip, subnet_of

# Private-link group IDs per target type and the FQDN each resolves (for customDnsConfigs and zone records).
PRIVATE_LINK_GROUPS = {
    "microsoft.databricks/workspaces": {"databricks_ui_api": "{url}",
                                         "browser_authentication": "{region}.pl-auth.azuredatabricks.net"},
    "microsoft.storage/storageaccounts": {g: "{name}." + g + ".core.windows.net"
                                          for g in ("blob", "dfs", "file", "queue", "table", "web")},


    "microsoft.keyvault/vaults": {"vault": "{name}.vault.azure.net"},
    "microsoft.containerregistry/registries": {"registry": "{name}.azurecr.io"},
    "microsoft.web/sites": {"sites": "{name}.azurewebsites.net"},
    "microsoft.servicebus/namespaces": {"namespace": "{name}.servicebus.windows.net"},
}


# -- private endpoints ---------------------------------------------------------------------------------------
def _pe_connections(body):
    out = []
    for key in ("privateLinkServiceConnections", "manualPrivateLinkServiceConnections"):
        for c in get_path(body, f"properties.{key}", []) or []:
            out.append((key, c))
    return out


def _target_fqdns(svc, target: Resource, group: str) -> list:
    tmpl = PRIVATE_LINK_GROUPS.get(target.type_name.lower(), {}).get(group)
    if not tmpl:
        return []
    url = get_path(target.computed, "properties.workspaceUrl") or ""
    return [tmpl.format(name=target.name, url=url, region=target.location or "")]


PE = "Microsoft.Network/privateEndpoints"
ZONE_GROUPS = PE + "/privateDnsZoneGroups"
MAX_ZONE_CONFIGS = 5


def _targets(ctx, body):
    """(connection key, index, connection, target resource or None) for every connection of the endpoint."""
    out = []
    for key in ("privateLinkServiceConnections", "manualPrivateLinkServiceConnections"):
        for i, c in enumerate(get_path(body, f"properties.{key}", []) or []):
            tid = get_path(c, "properties.privateLinkServiceId")
            out.append((key, i, c, ctx.store.get(tid) if tid else None))
    return out


@hook(VALIDATE, PE)
def _pe_group_id_required(ctx, body):
    for key, i, c, target in _targets(ctx, body):
        if target is not None and target.type_name.lower() in PRIVATE_LINK_GROUPS and \
                not get_path(c, "properties.groupIds"):
            raise ArmError(400, "MissingParameterOnPrivateLinkServiceConnection",
                           f"Private link service connection {ctx.rid}/{key}/{c.get('name')} is missing required "
                           f"parameter 'group Id'.", target=f"properties.{key}[{i}].properties.groupIds")


@hook(VALIDATE, PE)
def _pe_one_group_id_for_first_party(ctx, body):
    """A connection to an Azure service (not a customer's private link service) names exactly one group."""
    for key, i, c, target in _targets(ctx, body):
        groups = get_path(c, "properties.groupIds", []) or []
        if target is not None and len(groups) > 1 and \
                target.type_name.lower() != "microsoft.network/privatelinkservices":
            raise ArmError(400, "OnlyOneGroupIdPermitted",
                           f"Private link service connection {ctx.rid}/{key}/{c.get('name')} has the following "
                           f"group Ids: {', '.join(groups)}. Only one group Id is permitted when connecting to a "
                           f"first-party resource ({target.id}).")


@hook(VALIDATE, PE)
def _pe_group_id_known(ctx, body):
    for key, i, c, target in _targets(ctx, body):
        allowed = PRIVATE_LINK_GROUPS.get(target.type_name.lower()) if target is not None else None
        for g in get_path(c, "properties.groupIds", []) or []:
            if allowed is not None and g not in allowed:
                raise ArmError(400, "PrivateEndpointBadRequest",
                               f"Call to {target.type_name} failed. Error message: The group id '{g}' is not valid "
                               f"for resource type '{target.type_name}'. Valid group ids: "
                               f"{', '.join(sorted(allowed))}.", target=f"properties.{key}")


@hook(VALIDATE, PE)
def _pe_subnet_not_delegated(ctx, body):
    sid = get_path(body, "properties.subnet.id")
    sub = subnet_of(ctx.svc, sid)
    if sub is not None and (get_path(sub.body, "properties.delegations") or []):
        raise ArmError(400, "PrivateEndpointCannotBeCreatedInSubnetThatHasDelegations",
                       f"Private endpoint {ctx.rid} cannot be created in a subnet {sid} since it has delegations.")


@hook(VALIDATE, ZONE_GROUPS)
def _zone_group_one_per_endpoint(ctx, body):
    others = [k for k in ctx.store.children(ctx.parent.id, ZONE_GROUPS) if k.key != ctx.rid.lower()]
    if others:
        raise ArmError(400, "InvalidRequestFormat",
                       f"Cannot create more than one private dns zone groups in the private endpoint "
                       f"{ctx.parent.name}. Existing group: {others[0].name}.")


@hook(VALIDATE, ZONE_GROUPS)
def _zone_group_configs(ctx, body):
    """At most five zones per group, each config named once."""
    cfgs = get_path(body, "properties.privateDnsZoneConfigs", []) or []
    if len(cfgs) > MAX_ZONE_CONFIGS:
        raise ArmError(400, "InvalidRequestFormat",
                       f"Private DNS zone group {ctx.rid} has {len(cfgs)} private DNS zone configs; a private DNS zone "
                       f"group supports up to {MAX_ZONE_CONFIGS} DNS zones.",
                       target="properties.privateDnsZoneConfigs")
    seen = set()
    for c in cfgs:
        name = (c.get("name") or "").lower()
        if name in seen:
            raise ArmError(400, "InvalidRequestFormat", "Cannot parse the request.",
                           details=[{"code": "DuplicateResourceName",
                                     "message": f"Resource {ctx.rid} has two child resources with the same name "
                                                f"({c.get('name')})."}])
        seen.add(name)


@hook(WRITE, "Microsoft.Network/privateEndpoints")
def _pe_write(ctx, res, created):
    sid = get_path(res.body, "properties.subnet.id")
    statics = [get_path(c, "properties.privateIPAddress") for c in get_path(res.body, "properties.ipConfigurations",
                                                                             []) or []]
    res.extra["ip"] = alloc_private_ip(ctx, res, sid, "nic", statics[0] if statics and statics[0] else None)
    if "nic" not in res.extra:
        rg_prefix = res.id.split("/providers/")[0]
        nic_name = f"{res.name}.nic.{new_guid()}"
        nic_id = f"{rg_prefix}/providers/Microsoft.Network/networkInterfaces/{nic_name}"
        res.extra["nic"] = nic_id
        nic = Resource(id=nic_id, type_name="Microsoft.Network/networkInterfaces", name=nic_name,
                       api_version=res.api_version, location=res.location, scope_id=res.scope_id, system=True,
                       body={"properties": {"ipConfigurations": [{"name": "privateEndpointIpConfig", "properties": {
                           "privateIPAddress": res.extra["ip"], "privateIPAllocationMethod": "Dynamic",
                           "subnet": {"id": sid}, "primary": True}}]}})
        nic.new_etag(True)
        nic.extra["owner"] = res.id
        ctx.store.put(nic)


@hook(RENDER, "Microsoft.Network/privateEndpoints")
def _pe_render(svc, res, out):
    p = out.setdefault("properties", {})
    if res.extra.get("nic"):
        p["networkInterfaces"] = [{"id": res.extra["nic"]}]
    dns = []
    for key, c in _pe_connections(out):
        c["id"] = f"{res.id}/{key}/{c.get('name')}"
        cp = c.setdefault("properties", {})
        cp["provisioningState"] = res.state
        cp.setdefault("privateLinkServiceConnectionState",
                      {"status": "Approved" if key == "privateLinkServiceConnections" else "Pending",
                       "description": "Auto-Approved" if key == "privateLinkServiceConnections" else "",
                       "actionsRequired": "None"})
        target = svc.store.get(cp.get("privateLinkServiceId") or "")
        if target is not None and res.extra.get("ip"):
            for g in cp.get("groupIds") or []:
                for f in _target_fqdns(svc, target, g):
                    dns.append({"fqdn": f, "ipAddresses": [res.extra["ip"]]})
    p["customDnsConfigs"] = dns
    p.setdefault("ipConfigurations", [])
    p.setdefault("customNetworkInterfaceName", "")


@hook(REMOVED, "Microsoft.Network/privateEndpoints")
def _pe_removed(svc, res):
    if res.extra.get("nic"):
        svc.store.remove(res.extra["nic"])


@hook(PROV, "Microsoft.Network/privateEndpoints/privateDnsZoneGroups")
def _zg_provisioned(svc, res):
    pe = svc.store.get(res.parent_id)
    if pe is None:
        return
    rendered = svc.render(pe)
    records = []
    for cfg in get_path(res.body, "properties.privateDnsZoneConfigs", []) or []:
        zone = svc.store.get(get_path(cfg, "properties.privateDnsZoneId") or "")
        if zone is None:
            continue
        suffix = zone.name.lower().removeprefix("privatelink.")
        for d in rendered["properties"].get("customDnsConfigs", []):
            fqdn = d["fqdn"].lower()
            if fqdn.endswith("." + suffix):
                rec_name = d["fqdn"][: -len(suffix) - 1]
                rid = f"{zone.id}/A/{rec_name}"
                rec = svc.store.get(rid) or Resource(id=rid, type_name="Microsoft.Network/privateDnsZones/A",
                                                     name=rec_name, api_version=zone.api_version, body={},
                                                     parent_id=zone.id, scope_id=zone.scope_id, system=True)
                rec.body = {"properties": {"ttl": 10, "aRecords": [{"ipv4Address": ip} for ip in d["ipAddresses"]]}}
                rec.computed = {"properties": {"fqdn": f"{rec_name}.{zone.name}.", "isAutoRegistered": False}}
                rec.new_etag(False)
                svc.store.put(rec)
                records.append((cfg.get("name"), {"recordType": "A", "recordSetName": rec_name,
                                                  "fqdn": f"{d['fqdn']}.", "provisioningState": "Succeeded",
                                                  "ttl": 10, "ipAddresses": d["ipAddresses"]}, rid))
    res.extra["records"] = records


@hook(RENDER, "Microsoft.Network/privateEndpoints/privateDnsZoneGroups")
def _zg_render(svc, res, out):
    recs = res.extra.get("records", [])
    for cfg in get_path(out, "properties.privateDnsZoneConfigs", []) or []:
        cfg.setdefault("properties", {})["recordSets"] = [r for n, r, _ in recs if n == cfg.get("name")]
        cfg["id"] = f"{res.id}/privateDnsZoneConfigs/{cfg.get('name')}"


@hook(REMOVED, "Microsoft.Network/privateEndpoints/privateDnsZoneGroups")
def _zg_removed(svc, res):
    for _, _, rid in res.extra.get("records", []):
        svc.store.remove(rid)


# -- private DNS --------------------------------------------------------------------------------------------
@hook(RENDER, "Microsoft.Network/privateDnsZones")
def _zone_render(svc, res, out):
    p = out.setdefault("properties", {})
    links = svc.store.children(res.id, res.type_name + "/virtualNetworkLinks")
    recs = [r for r in svc.store.descendants(res.id) if r.type_name.lower().startswith(
        "microsoft.network/privatednszones/") and "virtualnetworklinks" not in r.type_name.lower()]
    p.update({"maxNumberOfRecordSets": 25000, "numberOfRecordSets": len(recs) + 1,
              "maxNumberOfVirtualNetworkLinks": 1000, "numberOfVirtualNetworkLinks": len(links),
              "maxNumberOfVirtualNetworkLinksWithRegistration": 100,
              "numberOfVirtualNetworkLinksWithRegistration": sum(
                  1 for lk in links if get_path(lk.body, "properties.registrationEnabled")),
              "internalId": res.extra.setdefault("internalId", "ZW11bGF0b3I7" + uuid.uuid4().hex[:16])})


@hook(VALIDATE, "Microsoft.Network/privateDnsZones/virtualNetworkLinks")
def _link_validate(ctx, body):
    vnet = (get_path(body, "properties.virtualNetwork.id") or "").lower()
    zone_name = ctx.parent.name.lower()
    for lk in ctx.store.of_type(ctx.type_name):
        if lk.key == ctx.rid.lower():
            continue
        zone = ctx.store.get(lk.parent_id)
        if zone and zone.name.lower() == zone_name and \
                (get_path(lk.body, "properties.virtualNetwork.id") or "").lower() == vnet:
            raise ArmError(409, "Conflict",
                           f"A virtual network cannot be linked to multiple zones with overlapping namespaces. You "
                           f"tried to link virtual network with '{zone.name}' and '{ctx.parent.name}' zones. "
                           f"(existing link {lk.id})")


@hook(RENDER, "Microsoft.Network/privateDnsZones/virtualNetworkLinks")
def _link_render(svc, res, out):
    p = out.setdefault("properties", {})
    p["virtualNetworkLinkState"] = "Completed" if res.state == "Succeeded" else "InProgress"
    p.setdefault("registrationEnabled", False)
    p.setdefault("resolutionPolicy", "Default")
