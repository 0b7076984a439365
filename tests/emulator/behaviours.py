"""Type-specific behaviour that does not fit the data tables: computed read-only
properties (IPs, principal IDs, URLs), Azure's validation rules, Key Vault soft
delete, role assignment rules, Databricks VNet injection.

Hooks (all called with the store lock held):
  validate(ctx, body)           before anything is written; raise ArmError to refuse
  validate_inline(ctx, plan)    inline children of a parent PUT (subnets in a VNet PUT)
  on_write(ctx, res, created)   after the resource is stored: fill ``res.computed``
  on_provisioned(svc, res)      when the PUT's operation succeeded
  render(svc, res, out)         add read-only views computed from other resources
  extra_refs(svc, res)          references that are not plain ID properties
  pre_delete(svc, req, res)     before a DELETE starts; raise to refuse
  on_removed(svc, res)          after the resource left the store
"""
from __future__ import annotations

import copy
import ipaddress
import random
import re
import time
import uuid
from dataclasses import dataclass

from .arm_ids import parse_id
from .config import AZURE_DATABRICKS_APP_ID, first_party_object_id, utc_iso
from .protocol import ArmError, Response, json_response, new_guid
from .resource_types import RefRule, get_path, path_values
from .store import Principal, Resource

SUBNETS = "microsoft.network/virtualnetworks/subnets"
VNETS = "microsoft.network/virtualnetworks"
WORKSPACES = "microsoft.databricks/workspaces"
VAULTS = "microsoft.keyvault/vaults"
KEYS = "microsoft.keyvault/vaults/keys"
UAMI = "microsoft.managedidentity/userassignedidentities"
ROLE_ASSIGNMENTS = "microsoft.authorization/roleassignments"

GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")

DELEGATION_ACTIONS = {
    "microsoft.databricks/workspaces": [
        "Microsoft.Network/virtualNetworks/subnets/join/action",
        "Microsoft.Network/virtualNetworks/subnets/prepareNetworkPolicies/action",
        "Microsoft.Network/virtualNetworks/subnets/unprepareNetworkPolicies/action"],
    "microsoft.network/dnsresolvers": ["Microsoft.Network/virtualNetworks/subnets/join/action"],
    "microsoft.web/serverfarms": ["Microsoft.Network/virtualNetworks/subnets/action"],
}

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


@dataclass
class Ctx:
    svc: object
    req: object
    ap: object
    spec: object
    rtv: object
    claims: dict
    existing: Resource | None
    parent: Resource | None
    rid: str
    name: str
    type_name: str

    @property
    def store(self):
        return self.svc.store

    @property
    def tenant(self):
        sub = self.store.subscriptions.get((self.ap.subscription or "").lower())
        return sub.tenant_id if sub else self.svc.config.tenant_id


_VALIDATE, _INLINE, _WRITE, _PROV, _RENDER, _REFS, _PREDEL, _REMOVED = ({} for _ in range(8))


def hook(table, *types):
    def deco(fn):
        for t in types:
            table.setdefault(t.lower(), []).append(fn)
        return fn
    return deco


def _run(table, type_name, *args):
    for fn in table.get(type_name.lower(), []):
        fn(*args)


# -- dispatch used by arm.py -----------------------------------------------------------------------
def validate(ctx: Ctx, body: dict):
    _run(_VALIDATE, ctx.type_name, ctx, body)


def validate_inline(ctx: Ctx, plan: dict):
    _run(_INLINE, ctx.type_name, ctx, plan)


def on_write(ctx: Ctx, res: Resource, created: bool):
    _generic_computed(ctx, res, created)
    _run(_WRITE, res.type_name, ctx, res, created)


def on_provisioned(svc, res: Resource):
    _run(_PROV, res.type_name, svc, res)


def render(svc, res: Resource, out: dict):
    _render_uai(svc, res, out)
    _run(_RENDER, res.type_name, svc, res, out)


def extra_refs(svc, res: Resource) -> list:
    out = []
    for fn in _REFS.get(res.type_name.lower(), []):
        out.extend(fn(svc, res))
    return out


def pre_delete(svc, req, res: Resource):
    _run(_PREDEL, res.type_name, svc, req, res)


def on_removed(svc, res: Resource):
    if res.extra.get("principal"):
        svc.store.principals.pop(res.extra["principal"].lower(), None)
    _run(_REMOVED, res.type_name, svc, res)


# -- generic computed values -------------------------------------------------------------------------
def _has(rtv, *path):
    from .arm import _has_prop
    return _has_prop(rtv, *path)


def _generic_computed(ctx: Ctx, res: Resource, created: bool):
    c = res.computed
    if _has(ctx.rtv, "properties", "resourceGuid") and "resourceGuid" not in c.get("properties", {}):
        c.setdefault("properties", {})["resourceGuid"] = new_guid()
    ident = res.body.get("identity")
    if isinstance(ident, dict):
        itype = (ident.get("type") or "").lower()
        ci = c.setdefault("identity", {})
        if "systemassigned" in itype:
            if "principalId" not in ci:
                ci["principalId"] = new_guid()
                ci["tenantId"] = ctx.tenant
                res.extra["principal"] = ci["principalId"]
                ctx.store.add_principal(Principal(ci["principalId"], new_guid(), ctx.tenant, "ManagedIdentity",
                                                  time.time(), res.id))
        else:
            if ci.get("principalId"):
                ctx.store.principals.pop(ci["principalId"].lower(), None)
            ci.pop("principalId", None)
            ci.pop("tenantId", None)
        uais = ident.get("userAssignedIdentities")
        if isinstance(uais, dict):
            for uid in uais:
                u = ctx.store.get(uid)
                if u is None:
                    raise ArmError(400, "FailedIdentityOperation",
                                   f"Identity operation for resource '{res.id}' failed with error 'Failed to "
                                   f"perform resource identity operation. Status: 'NotFound'. Response: "
                                   f"{{\"error\":{{\"code\":\"ResourceNotFound\",\"message\":\"The Resource "
                                   f"'{uid}' was not found.\"}}}}'.")
        if not ci:
            c.pop("identity", None)
    else:
        c.pop("identity", None)


def _render_uai(svc, res, out):
    ident = out.get("identity")
    if isinstance(ident, dict) and isinstance(ident.get("userAssignedIdentities"), dict):
        for uid in list(ident["userAssignedIdentities"]):
            u = svc.store.get(uid)
            if u is not None:
                p = u.computed.get("properties", {})
                ident["userAssignedIdentities"][uid] = {"principalId": p.get("principalId"),
                                                        "clientId": p.get("clientId")}


# -- resource groups ----------------------------------------------------------------------------------
# (nothing special beyond arm.py)


# -- virtual networks and subnets ---------------------------------------------------------------------
def _prefixes_of_vnet(body) -> list:
    return list(get_path(body, "properties.addressSpace.addressPrefixes", []) or [])


def _subnet_prefixes(body) -> list:
    p = body.get("properties", {}) if isinstance(body, dict) else {}
    out = []
    if p.get("addressPrefix"):
        out.append(p["addressPrefix"])
    out.extend(p.get("addressPrefixes") or [])
    return out


def _net(prefix: str, target: str):
    try:
        net = ipaddress.ip_network(prefix, strict=True)
    except ValueError:
        try:
            ipaddress.ip_network(prefix, strict=False)
        except ValueError:
            raise ArmError(400, "InvalidCIDRNotation",
                           f"The address prefix {prefix} in resource {target} has an invalid CIDR notation. For "
                           f"the given prefix length, the address prefix should be "
                           f"{prefix}.", target=target)
        good = ipaddress.ip_network(prefix, strict=False)
        raise ArmError(400, "InvalidCIDRNotation",
                       f"The address prefix {prefix} in resource {target} has an invalid CIDR notation. For the given "
                       f"prefix length, the address prefix should be {good}.", target=target)
    return net


def _check_subnets(vnet_id: str, vnet_prefixes: list, subnets: list):
    """subnets: [(name, id, body)]. Azure's NetcfgSubnetRangeOutsideVnet / NetcfgSubnetRangesOverlap."""
    vnets = [_net(p, vnet_id) for p in vnet_prefixes]
    seen = []
    for name, sid, body in subnets:
        for pfx in _subnet_prefixes(body):
            n = _net(pfx, sid)
            if vnets and not any(n.version == v.version and n.subnet_of(v) for v in vnets):
                raise ArmError(400, "NetcfgSubnetRangeOutsideVnet",
                               f"Subnet '{name}' is not valid because its IP address range is outside the IP address "
                               f"range of virtual network '{vnet_id.rsplit('/', 1)[-1]}'.", target=sid)
            for oname, on in seen:
                if on.version == n.version and on.overlaps(n):
                    raise ArmError(400, "NetcfgSubnetRangesOverlap",
                                   f"Subnet '{name}' is not valid because its IP address range overlaps with that of "
                                   f"an existing subnet '{oname}' in virtual network "
                                   f"'{vnet_id.rsplit('/', 1)[-1]}'.", target=sid)
            seen.append((name, n))


@hook(_VALIDATE, "Microsoft.Network/virtualNetworks")
def _vnet_validate(ctx, body):
    for p in _prefixes_of_vnet(body):
        _net(p, ctx.rid)


@hook(_INLINE, "Microsoft.Network/virtualNetworks")
def _vnet_inline(ctx, plan):
    subnets = [(nm, kid_id, b) for nm, b, t, kid_id in plan["upsert"] if t.lower() == SUBNETS]
    if ctx.existing is not None and not any(t.lower() == SUBNETS for _, _, t, _ in plan["upsert"]) \
            and not plan["delete"]:
        subnets = [(k.name, k.id, k.body) for k in ctx.store.children(ctx.rid, ctx.type_name + "/subnets")]
    vbody = {"properties": {"addressSpace": {"addressPrefixes": _prefixes_of_vnet(ctx.req.json or {})}}}
    _check_subnets(ctx.rid, _prefixes_of_vnet(vbody), subnets)


@hook(_VALIDATE, "Microsoft.Network/virtualNetworks/subnets")
def _subnet_validate(ctx, body):
    vnet = ctx.parent
    siblings = [(k.name, k.id, k.body) for k in ctx.store.children(vnet.id, ctx.type_name)
                if k.key != ctx.rid.lower()]
    if not _subnet_prefixes(body):
        raise ArmError(400, "InvalidRequestFormat", "Cannot parse the request: the subnet needs "
                                                    "'properties.addressPrefix' or 'properties.addressPrefixes'.",
                       target="properties.addressPrefix")
    _check_subnets(vnet.id, _prefixes_of_vnet(vnet.body), siblings + [(ctx.name, ctx.rid, body)])


@hook(_RENDER, "Microsoft.Network/virtualNetworks")
def _vnet_render(svc, res, out):
    p = out.setdefault("properties", {})
    p.setdefault("enableDdosProtection", False)
    p.setdefault("subnets", [])
    p.setdefault("virtualNetworkPeerings", [])


@hook(_RENDER, "Microsoft.Network/virtualNetworks/subnets")
def _subnet_render(svc, res, out):
    p = out.setdefault("properties", {})
    p.setdefault("privateEndpointNetworkPolicies", "Disabled")
    p.setdefault("privateLinkServiceNetworkPolicies", "Enabled")
    for i, d in enumerate(p.get("delegations") or []):
        if not isinstance(d, dict):
            continue
        d["id"] = f"{res.id}/delegations/{d.get('name')}"
        d["type"] = "Microsoft.Network/virtualNetworks/subnets/delegations"
        dp = d.setdefault("properties", {})
        dp["actions"] = DELEGATION_ACTIONS.get((dp.get("serviceName") or "").lower(), [])
        dp["provisioningState"] = "Succeeded"
    sals = []
    for ws in svc.store.of_type(WORKSPACES):
        for rule, target in _workspace_subnet_refs(svc, ws):
            if target.lower() == res.key:
                sals.append({"name": f"{ws.name}-sal", "id": f"{res.id}/serviceAssociationLinks/{ws.name}-sal",
                             "type": "Microsoft.Network/virtualNetworks/subnets/serviceAssociationLinks",
                             "properties": {"linkedResourceType": "Microsoft.Databricks/workspaces",
                                            "link": ws.id, "provisioningState": "Succeeded"}})
    if sals:
        p["serviceAssociationLinks"] = sals


def _subnet_of(svc, subnet_id: str) -> Resource | None:
    s = svc.store.get(subnet_id) if subnet_id else None
    return s if s is not None and s.type_name.lower() == SUBNETS else None


# -- peerings ---------------------------------------------------------------------------------------
@hook(_VALIDATE, "Microsoft.Network/virtualNetworks/virtualNetworkPeerings")
def _peering_validate(ctx, body):
    p = body.get("properties", {})
    if p.get("useRemoteGateways"):
        remote = get_path(body, "properties.remoteVirtualNetwork.id")
        if remote and not _vnet_has_gateway(ctx.svc, remote):
            raise ArmError(400, "RemoteVnetHasNoGateways",
                           f"Peering {ctx.rid} cannot have UseRemoteGateways flag set to true because remote "
                           f"virtual network {remote} referenced by the peering does not have any gateways.")


def _vnet_has_gateway(svc, vnet_id: str) -> bool:
    prefix = vnet_id.lower() + "/subnets/"
    for gw in svc.store.of_type("Microsoft.Network/virtualNetworkGateways"):
        if gw.state != "Succeeded":
            continue
        for sid in path_values(gw.body, "properties.ipConfigurations[*].properties.subnet.id"):
            if isinstance(sid, str) and sid.lower().startswith(prefix):
                return True
    return False


@hook(_RENDER, "Microsoft.Network/virtualNetworks/virtualNetworkPeerings")
def _peering_render(svc, res, out):
    p = out.setdefault("properties", {})
    remote_id = get_path(res.body, "properties.remoteVirtualNetwork.id") or ""
    remote = svc.store.get(remote_id)
    local_vnet = res.parent_id or ""
    if remote is None:
        state = "Disconnected"
    else:
        back = any((get_path(pe.body, "properties.remoteVirtualNetwork.id") or "").lower() == local_vnet.lower()
                   for pe in svc.store.children(remote.id, remote.type_name + "/virtualNetworkPeerings"))
        state = "Connected" if back else "Initiated"
        space = {"addressPrefixes": _prefixes_of_vnet(remote.body)}
        p["remoteAddressSpace"] = space
        p["remoteVirtualNetworkAddressSpace"] = copy.deepcopy(space)
    p["peeringState"] = state
    p["peeringSyncLevel"] = "FullyInSync" if state == "Connected" else "RemoteNotInSync"
    for k, d in (("allowVirtualNetworkAccess", True), ("allowForwardedTraffic", False),
                 ("allowGatewayTransit", False), ("useRemoteGateways", False)):
        p.setdefault(k, d)


# -- NSGs -----------------------------------------------------------------------------------------------
_DEFAULT_RULES = [
    ("AllowVnetInBound", 65000, "Inbound", "Allow", "VirtualNetwork", "VirtualNetwork"),
    ("AllowAzureLoadBalancerInBound", 65001, "Inbound", "Allow", "AzureLoadBalancer", "*"),
    ("DenyAllInBound", 65500, "Inbound", "Deny", "*", "*"),
    ("AllowVnetOutBound", 65000, "Outbound", "Allow", "VirtualNetwork", "VirtualNetwork"),
    ("AllowInternetOutBound", 65001, "Outbound", "Allow", "*", "Internet"),
    ("DenyAllOutBound", 65500, "Outbound", "Deny", "*", "*"),
]


@hook(_RENDER, "Microsoft.Network/networkSecurityGroups")
def _nsg_render(svc, res, out):
    p = out.setdefault("properties", {})
    p["defaultSecurityRules"] = [
        {"name": n, "id": f"{res.id}/defaultSecurityRules/{n}",
         "type": "Microsoft.Network/networkSecurityGroups/defaultSecurityRules",
         "properties": {"provisioningState": "Succeeded", "description": n, "protocol": "*", "sourcePortRange": "*",
                        "destinationPortRange": "*", "sourceAddressPrefix": src, "destinationAddressPrefix": dst,
                        "access": acc, "priority": pri, "direction": d}}
        for n, pri, d, acc, src, dst in _DEFAULT_RULES]


# -- public IPs ------------------------------------------------------------------------------------------
@hook(_WRITE, "Microsoft.Network/publicIPAddresses")
def _pip_write(ctx, res, created):
    p = res.computed.setdefault("properties", {})
    if "ipAddress" not in p:
        p["ipAddress"] = ctx.store.next_public_ip()
    res.body.setdefault("properties", {}).setdefault("idleTimeoutInMinutes", 4)


# -- private IP allocation (firewall, PEs, resolver inbound endpoints) ---------------------------------------
def _alloc(ctx, res, subnet_id, label, wanted=None):
    subnet = _subnet_of(ctx.svc, subnet_id)
    if subnet is None:
        return None
    ip = ctx.store.allocate_private_ip(subnet, f"{res.id}#{label}", wanted)
    if ip is None:
        raise ArmError(400, "SubnetIsFull", f"Subnet {subnet.name} with address prefix "
                                            f"{_subnet_prefixes(subnet.body)[0]} does not have enough capacity for 1 "
                                            f"IP addresses.")
    return ip


@hook(_WRITE, "Microsoft.Network/azureFirewalls")
def _fw_write(ctx, res, created):
    ips = res.extra.setdefault("ips", {})
    for i, cfg in enumerate(get_path(res.body, "properties.ipConfigurations", []) or []):
        sid = get_path(cfg, "properties.subnet.id")
        if sid:
            ips[f"ip{i}"] = _alloc(ctx, res, sid, f"ip{i}")
    sid = get_path(res.body, "properties.managementIpConfiguration.properties.subnet.id")
    if sid:
        ips["mgmt"] = _alloc(ctx, res, sid, "mgmt")


@hook(_RENDER, "Microsoft.Network/azureFirewalls")
def _fw_render(svc, res, out):
    ips = res.extra.get("ips", {})
    p = out.setdefault("properties", {})
    for i, cfg in enumerate(p.get("ipConfigurations") or []):
        cfg["id"] = f"{res.id}/azureFirewallIpConfigurations/{cfg.get('name')}"
        cp = cfg.setdefault("properties", {})
        cp["provisioningState"] = res.state
        if ips.get(f"ip{i}"):
            cp["privateIPAddress"] = ips[f"ip{i}"]
    m = p.get("managementIpConfiguration")
    if isinstance(m, dict):
        m["id"] = f"{res.id}/azureFirewallIpConfigurations/{m.get('name')}"
        m.setdefault("properties", {})["provisioningState"] = res.state
        if ips.get("mgmt"):
            m["properties"]["privateIPAddress"] = ips["mgmt"]
    p.setdefault("threatIntelMode", "Alert")
    p.setdefault("ipGroups", [])


@hook(_RENDER, "Microsoft.Network/firewallPolicies")
def _fwp_render(svc, res, out):
    p = out.setdefault("properties", {})
    p["ruleCollectionGroups"] = [{"id": k.id} for k in
                                 svc.store.children(res.id, res.type_name + "/ruleCollectionGroups")]
    p.setdefault("firewalls", [])
    p.setdefault("childPolicies", [])


@hook(_RENDER, "Microsoft.Network/firewallPolicies/ruleCollectionGroups")
def _rcg_render(svc, res, out):
    out.setdefault("properties", {})["size"] = f"{max(1, len(str(res.body)) // 1024)} KB"


@hook(_RENDER, "Microsoft.Network/bastionHosts")
def _bastion_render(svc, res, out):
    out.setdefault("properties", {})["dnsName"] = f"bst-{res.extra.setdefault('dns', uuid.uuid4().hex[:24])}" \
                                                  f".bastion.azure.com"
    for cfg in out["properties"].get("ipConfigurations") or []:
        cfg["id"] = f"{res.id}/bastionHostIpConfigurations/{cfg.get('name')}"


@hook(_RENDER, "Microsoft.Network/virtualNetworkGateways")
def _gw_render(svc, res, out):
    p = out.setdefault("properties", {})
    bgp = p.setdefault("bgpSettings", {"asn": 65515, "peerWeight": 0})
    for cfg in p.get("ipConfigurations") or []:
        cfg["id"] = f"{res.id}/ipConfigurations/{cfg.get('name')}"
        sub = _subnet_of(svc, get_path(cfg, "properties.subnet.id"))
        if sub and _subnet_prefixes(sub.body):
            last = ipaddress.ip_network(_subnet_prefixes(sub.body)[0], strict=False).broadcast_address - 1
            bgp.setdefault("bgpPeeringAddress", str(last))
            bgp["bgpPeeringAddresses"] = [{"ipconfigurationId": cfg["id"], "defaultBgpIpAddresses": [str(last)],
                                           "customBgpIpAddresses": [], "tunnelIpAddresses": []}]


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


@hook(_VALIDATE, "Microsoft.Network/privateEndpoints")
def _pe_validate(ctx, body):
    for key, c in _pe_connections(body):
        tid = get_path(c, "properties.privateLinkServiceId")
        target = ctx.store.get(tid) if tid else None
        if target is None:
            continue
        allowed = PRIVATE_LINK_GROUPS.get(target.type_name.lower())
        for g in get_path(c, "properties.groupIds", []) or []:
            if allowed is not None and g not in allowed:
                raise ArmError(400, "PrivateEndpointBadRequest",
                               f"Call to {target.type_name} failed. Error message: The group id '{g}' is not valid "
                               f"for resource type '{target.type_name}'. Valid group ids: "
                               f"{', '.join(sorted(allowed))}.", target=f"properties.{key}")
    sid = get_path(body, "properties.subnet.id")
    sub = _subnet_of(ctx.svc, sid)
    if sub is not None and (get_path(sub.body, "properties.delegations") or []):
        raise ArmError(400, "PrivateEndpointCannotBeCreatedInSubnetThatHasDelegations",
                       f"Private endpoint {ctx.rid} cannot be created in a subnet {sid} since it has delegations.")


@hook(_WRITE, "Microsoft.Network/privateEndpoints")
def _pe_write(ctx, res, created):
    sid = get_path(res.body, "properties.subnet.id")
    statics = [get_path(c, "properties.privateIPAddress") for c in get_path(res.body, "properties.ipConfigurations",
                                                                             []) or []]
    res.extra["ip"] = _alloc(ctx, res, sid, "nic", statics[0] if statics and statics[0] else None)
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


@hook(_RENDER, "Microsoft.Network/privateEndpoints")
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


@hook(_REMOVED, "Microsoft.Network/privateEndpoints")
def _pe_removed(svc, res):
    if res.extra.get("nic"):
        svc.store.remove(res.extra["nic"])


@hook(_PROV, "Microsoft.Network/privateEndpoints/privateDnsZoneGroups")
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


@hook(_RENDER, "Microsoft.Network/privateEndpoints/privateDnsZoneGroups")
def _zg_render(svc, res, out):
    recs = res.extra.get("records", [])
    for cfg in get_path(out, "properties.privateDnsZoneConfigs", []) or []:
        cfg.setdefault("properties", {})["recordSets"] = [r for n, r, _ in recs if n == cfg.get("name")]
        cfg["id"] = f"{res.id}/privateDnsZoneConfigs/{cfg.get('name')}"


@hook(_REMOVED, "Microsoft.Network/privateEndpoints/privateDnsZoneGroups")
def _zg_removed(svc, res):
    for _, _, rid in res.extra.get("records", []):
        svc.store.remove(rid)


# -- private DNS --------------------------------------------------------------------------------------------
@hook(_RENDER, "Microsoft.Network/privateDnsZones")
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


@hook(_VALIDATE, "Microsoft.Network/privateDnsZones/virtualNetworkLinks")
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


@hook(_RENDER, "Microsoft.Network/privateDnsZones/virtualNetworkLinks")
def _link_render(svc, res, out):
    p = out.setdefault("properties", {})
    p["virtualNetworkLinkState"] = "Completed" if res.state == "Succeeded" else "InProgress"
    p.setdefault("registrationEnabled", False)
    p.setdefault("resolutionPolicy", "Default")


# -- DNS resolver -----------------------------------------------------------------------------------------------
@hook(_WRITE, "Microsoft.Network/dnsResolvers/inboundEndpoints")
def _inbound_write(ctx, res, created):
    ips = res.extra.setdefault("ips", {})
    for i, cfg in enumerate(get_path(res.body, "properties.ipConfigurations", []) or []):
        method = (cfg.get("privateIpAllocationMethod") or "Dynamic").lower()
        wanted = cfg.get("privateIpAddress") if method == "static" else None
        ips[str(i)] = _alloc(ctx, res, get_path(cfg, "subnet.id"), f"ip{i}", wanted)


@hook(_RENDER, "Microsoft.Network/dnsResolvers/inboundEndpoints")
def _inbound_render(svc, res, out):
    ips = res.extra.get("ips", {})
    for i, cfg in enumerate(get_path(out, "properties.ipConfigurations", []) or []):
        cfg.setdefault("privateIpAllocationMethod", "Dynamic")
        if ips.get(str(i)):
            cfg["privateIpAddress"] = ips[str(i)]


@hook(_RENDER, "Microsoft.Network/dnsResolvers")
def _resolver_render(svc, res, out):
    out.setdefault("properties", {})["dnsResolverState"] = "Connected" if res.state == "Succeeded" else "Disconnected"


# -- Databricks ------------------------------------------------------------------------------------------------------
def _param(body, name):
    return get_path(body, f"properties.parameters.{name}.value")


def _workspace_subnet_refs(svc, ws: Resource):
    vnet = _param(ws.body, "customVirtualNetworkId")
    out = []
    if isinstance(vnet, str) and vnet:
        for pname in ("customPublicSubnetName", "customPrivateSubnetName"):
            sn = _param(ws.body, pname)
            if isinstance(sn, str) and sn:
                out.append((RefRule(f"properties.parameters.{pname}.value", must_exist=False), f"{vnet}/subnets/{sn}"))
    return out


@hook(_REFS, "Microsoft.Databricks/workspaces")
def _ws_refs(svc, res):
    out = [(RefRule("properties.parameters.customVirtualNetworkId.value", blocks_delete=False,
                    target_types=(VNETS,)), v) for v in [_param(res.body, "customVirtualNetworkId")]
           if isinstance(v, str) and v]
    return out + _workspace_subnet_refs(svc, res)


_CREATE_ONLY_WS = ("properties.managedResourceGroupId", "properties.computeMode",
                   "properties.parameters.customVirtualNetworkId.value",
                   "properties.parameters.customPublicSubnetName.value",
                   "properties.parameters.customPrivateSubnetName.value",
                   "properties.parameters.requireInfrastructureEncryption.value")


@hook(_VALIDATE, "Microsoft.Databricks/workspaces")
def _ws_validate(ctx, body):
    p = body.get("properties", {})
    mode = (p.get("computeMode") or "").lower()
    mrg = p.get("managedResourceGroupId")
    if mode == "hybrid" and not mrg:
        raise ArmError(400, "InvalidParameter", "The 'managedResourceGroupId' property is required for a workspace "
                                                "with computeMode 'Hybrid'.", target="properties.managedResourceGroupId")
    if mode == "serverless":
        bad = [k for k in ("managedResourceGroupId", "parameters", "requiredNsgRules", "accessConnector",
                           "defaultCatalog") if p.get(k) is not None]
        if bad:
            raise ArmError(400, "InvalidParameter", f"The property '{bad[0]}' is not allowed for a workspace with "
                                                    f"computeMode 'Serverless'.", target=f"properties.{bad[0]}")
    if (p.get("defaultStorageFirewall") or "").lower() == "enabled" and not get_path(p, "accessConnector.id"):
        raise ArmError(400, "InvalidParameter", "An access connector is required when defaultStorageFirewall is "
                                                "'Enabled': the workspace reaches its root storage through it.",
                       target="properties.accessConnector")
    if (p.get("publicNetworkAccess") or "").lower() == "disabled" and mode == "hybrid" and \
            (p.get("requiredNsgRules") or "AllRules").lower() == "allrules":
        raise ArmError(400, "InvalidParameter",
                       "When publicNetworkAccess is 'Disabled', requiredNsgRules must be 'NoAzureDatabricksRules'.",
                       target="properties.requiredNsgRules")
    if mrg:
        mp = parse_id(mrg)
        if mp is None or mp.special != "resourceGroup":
            raise ArmError(400, "InvalidParameter", f"'{mrg}' is not a valid resource group ID.",
                           target="properties.managedResourceGroupId")
        existing_rg = ctx.store.get(mrg)
        if existing_rg is not None and (existing_rg.body.get("managedBy") or "").lower() != ctx.rid.lower():
            raise ArmError(409, "InvalidParameter",
                           f"The managed resource group '{mrg}' already exists and is not managed by this workspace. "
                           f"Provide a resource group that does not exist.", target="properties.managedResourceGroupId")
    _ws_require_key_access(ctx, body)
    if ctx.existing is not None:
        for path in _CREATE_ONLY_WS:
            old, new = get_path(ctx.existing.body, path), get_path(body, path)
            if old != new and not (old is None and path.endswith("requireInfrastructureEncryption.value")
                                   and new is False):
                raise ArmError(400, "BadRequest",
                               f"The property '{path}' cannot be changed after the workspace is created "
                               f"(was '{old}', requested '{new}').", target=path)
    vnet = _param(body, "customVirtualNetworkId")
    if vnet:
        for pname in ("customPublicSubnetName", "customPrivateSubnetName"):
            sn = _param(body, pname)
            if not sn:
                raise ArmError(400, "InvalidParameter",
                               f"'{pname}' is required with customVirtualNetworkId.", target=f"properties.parameters."
                                                                                          f"{pname}")
            sid = f"{vnet}/subnets/{sn}"
            sub = ctx.store.get(sid)
            if sub is None:
                raise ArmError(400, "InvalidResourceReference",
                               f"Resource {sid} referenced by resource {ctx.rid} was not found.",
                               target=f"properties.parameters.{pname}")
            services = [(get_path(d, "properties.serviceName") or "").lower()
                        for d in get_path(sub.body, "properties.delegations", []) or []]
            if "microsoft.databricks/workspaces" not in services:
                raise ArmError(400, "SubnetMissingRequiredDelegation",
                               f"Subnet {sid} requires any of the following delegation(s) "
                               f"[Microsoft.Databricks/workspaces] to reference service association link "
                               f"{sid}/serviceAssociationLinks/{ctx.name}-sal.")
            if not get_path(sub.body, "properties.networkSecurityGroup.id"):
                raise ArmError(400, "InvalidParameter",
                               f"Subnet {sid} must have a network security group associated for VNet injection.")


def _ws_require_key_access(ctx, body):
    """Phase two of customer-managed keys: managed services are wrapped by the AzureDatabricks first-party app,
    the DBFS root by the workspace's storage identity (from prepareEncryption). Managed disks get their own
    identity with the encryption, so nothing to check for them yet."""
    ms = get_path(body, "properties.encryption.entities.managedServices.keyVaultProperties")
    if isinstance(ms, dict) and _cmk_changed(ctx, body, "properties.encryption.entities.managedServices"):
        _require_key_access(ctx, first_party_object_id(ctx.tenant, AZURE_DATABRICKS_APP_ID),
                            "The AzureDatabricks application", ms.get("keyVaultUri"), ms.get("keyName"), 403,
                            "KeyVaultAccessForbidden")
    dbfs = _param(body, "encryption")
    if isinstance(dbfs, dict) and (dbfs.get("keySource") or "").lower() == "microsoft.keyvault" and \
            _cmk_changed(ctx, body, "properties.parameters.encryption"):
        sid = get_path(ctx.existing.computed, "properties.storageAccountIdentity.principalId") \
            if ctx.existing is not None else None
        if not sid:
            raise ArmError(400, "InvalidParameter", "Customer-managed keys for the DBFS root need the workspace "
                                                    "created with prepareEncryption first.",
                           target="properties.parameters.encryption")
        _require_key_access(ctx, sid, "The workspace's storage identity", dbfs.get("keyvaulturi"),
                            dbfs.get("KeyName"), 403, "KeyVaultAccessForbidden")


@hook(_WRITE, "Microsoft.Databricks/workspaces")
def _ws_write(ctx, res, created):
    c = res.computed.setdefault("properties", {})
    if "workspaceId" not in c:
        wsid = str(random.randint(10 ** 15, 10 ** 16 - 1))
        c["workspaceId"] = wsid
        c["workspaceUrl"] = f"adb-{wsid}.{random.randint(1, 19)}.azuredatabricks.net"
        c["createdDateTime"] = utc_iso()
        c["createdBy"] = {"oid": ctx.claims.get("oid"), "applicationId": ctx.claims.get("appid"),
                          "puid": "1003200000000000"}
    c["updatedBy"] = {"oid": ctx.claims.get("oid"), "applicationId": ctx.claims.get("appid"),
                      "puid": "1003200000000000"}
    c.setdefault("isUcEnabled", False)
    if _param(res.body, "prepareEncryption") and "storageAccountIdentity" not in c:
        pid = new_guid()
        c["storageAccountIdentity"] = {"principalId": pid, "tenantId": ctx.tenant, "type": "SystemAssigned"}
        ctx.store.add_principal(Principal(pid, new_guid(), ctx.tenant, "ManagedIdentity", time.time(), res.id))
    if get_path(res.body, "properties.encryption.entities.managedDisk") and "managedDiskIdentity" not in c:
        pid = new_guid()
        c["managedDiskIdentity"] = {"principalId": pid, "tenantId": ctx.tenant, "type": "SystemAssigned"}
    mrg = get_path(res.body, "properties.managedResourceGroupId")
    if created and mrg and ctx.store.get(mrg) is None:
        mp = parse_id(mrg)
        rg = Resource(id=f"/subscriptions/{mp.subscription.lower()}/resourceGroups/{mp.resource_group}",
                      type_name="Microsoft.Resources/resourceGroups", name=mp.resource_group,
                      api_version="2025-04-01", body={"managedBy": res.id, "tags": {}}, location=res.location,
                      scope_id=f"/subscriptions/{mp.subscription.lower()}", system=True)
        rg.new_etag(False)
        ctx.store.put(rg)
        res.extra["managed_rg"] = rg.id
    if res.extra.get("managed_rg"):
        _ws_root_storage(ctx, res)


def _ws_root_storage(ctx, ws: Resource):
    """The DBFS root storage account Databricks keeps in the managed resource group (name in the workspace's
    parameters.storageAccountName); firewalled (reachable only through private endpoints and the access connector)
    when defaultStorageFirewall is Enabled."""
    name = "dbstorage" + ws.extra.setdefault("sa", uuid.uuid4().hex[:13])
    sid = f"{ws.extra['managed_rg']}/providers/Microsoft.Storage/storageAccounts/{name}"
    firewall = (get_path(ws.body, "properties.defaultStorageFirewall") or "").lower() == "enabled"
    acls = {"defaultAction": "Deny" if firewall else "Allow", "bypass": "AzureServices", "ipRules": [],
            "virtualNetworkRules": [], "resourceAccessRules": []}
    connector = get_path(ws.body, "properties.accessConnector.id")
    if firewall and connector:
        acls["resourceAccessRules"] = [{"tenantId": ctx.tenant, "resourceId": connector}]
    sa = ctx.store.get(sid)
    if sa is None:
        versions = ctx.svc.lib.supported_versions("Microsoft.Storage/storageAccounts")
        sa = Resource(id=sid, type_name="Microsoft.Storage/storageAccounts", name=name,
                      api_version=versions[-1] if versions else "", location=ws.location,
                      scope_id=ws.extra["managed_rg"], system=True,
                      body={"kind": "StorageV2", "sku": {"name": "Standard_GRS"},
                            "tags": {"application": "databricks", "databricks-environment": "true"},
                            "properties": {"isHnsEnabled": False, "minimumTlsVersion": "TLS1_2",
                                           "supportsHttpsTrafficOnly": True, "allowBlobPublicAccess": False}})
        sa.new_etag(False)
        ctx.store.put(sa)
        n = name
        sa.computed["properties"] = {"primaryEndpoints": {g: f"https://{n}.{g}.core.windows.net/"
                                                          for g in ("blob", "dfs", "queue", "table", "file")},
                                     "primaryLocation": ws.location, "statusOfPrimary": "available",
                                     "creationTime": utc_iso()}
    sa.body["properties"]["networkAcls"] = acls
    sa.body["properties"]["publicNetworkAccess"] = "Enabled"
    dbfs = _param(ws.body, "encryption")
    if isinstance(dbfs, dict) and (dbfs.get("keySource") or "").lower() == "microsoft.keyvault":
        sa.computed["properties"]["encryption"] = {
            "keySource": "Microsoft.Keyvault", "identity": {},
            "keyvaultproperties": {"keyname": dbfs.get("KeyName"), "keyvaulturi": dbfs.get("keyvaulturi"),
                                   "keyversion": dbfs.get("keyversion")}}


@hook(_RENDER, "Microsoft.Databricks/workspaces")
def _ws_render(svc, res, out):
    params = get_path(out, "properties.parameters")
    if isinstance(params, dict):
        for k, v in params.items():
            if isinstance(v, dict) and "value" in v:
                val = v["value"]
                v.setdefault("type", "Bool" if isinstance(val, bool) else "Object" if isinstance(val, dict)
                             else "String")
        params["resourceTags"] = {"type": "Object", "value": {"application": "databricks",
                                                               "databricks-environment": "true"}}
        params.setdefault("storageAccountName", {"type": "String",
                                                 "value": "dbstorage" + res.extra.setdefault(
                                                     "sa", uuid.uuid4().hex[:13])})
    if get_path(res.body, "properties.defaultStorageFirewall") is None:
        out.setdefault("properties", {})["defaultStorageFirewall"] = "Disabled"


@hook(_REMOVED, "Microsoft.Databricks/workspaces")
def _ws_removed(svc, res):
    rg = svc.store.get(res.extra.get("managed_rg") or "")
    if rg is not None:
        svc.remove_resource(rg)


# -- customer-managed keys: who may use a key, once RBAC has propagated -------------------------------------------------
# Roles whose data actions include keys/wrapKey + unwrapKey: Key Vault Crypto Service Encryption User, Crypto User,
# Crypto Officer, Administrator.
KEY_USER_ROLES = {"e147488a-f6f5-4113-8e2d-b22465e65bf6", "12338af0-0e69-4776-bea7-57ae8d297424",
                  "14b46e9e-c2b7-41b4-b07b-48a6ebf60603", "00482a5a-887f-4fb3-b363-3b7fe8e74483"}


def _key_arm_id(ctx, vault_uri: str, key_name: str) -> str | None:
    """The ARM ID of a key named by its vault URI (https://NAME.vault.azure.net/) and name."""
    host = (vault_uri or "").split("//", 1)[-1].split(".", 1)[0].lower()
    for v in ctx.store.of_type("Microsoft.KeyVault/vaults"):
        if v.name.lower() == host:
            return f"{v.id}/keys/{key_name}"
    return None


def _key_grant_age(ctx, principal_id: str, key_id: str) -> float | None:
    """Seconds since the oldest assignment letting the principal wrap/unwrap with the key was made (at the key,
    its vault, or any scope above); None if there is none."""
    key = key_id.lower()
    ages = []
    for ra in ctx.store.of_type("Microsoft.Authorization/roleAssignments"):
        p = ra.body.get("properties", {})
        scope = ra.scope_id.lower()
        if (p.get("principalId") or "").lower() == principal_id.lower() and \
                (p.get("roleDefinitionId") or "").rsplit("/", 1)[-1].lower() in KEY_USER_ROLES and \
                (key == scope or key.startswith(scope + "/")):
            ages.append(time.time() - ra.created)
    return max(ages) if ages else None


def _require_key_access(ctx, principal_id: str | None, who: str, vault_uri: str, key_name: str, status, code):
    """A service about to wrap its data key with a customer key: the identity needs a key role on it, and the
    assignment must have propagated (rbac_propagation_seconds, scaled)."""
    key_id = _key_arm_id(ctx, vault_uri, key_name)
    if not principal_id or key_id is None:
        return
    cfg = ctx.svc.app.config
    age = _key_grant_age(ctx, principal_id, key_id)
    if age is None or age < cfg.wall(cfg.rbac_propagation_seconds):
        raise ArmError(status, code,
                       f"{who} (object ID {principal_id}) is not authorized to perform 'wrapKey' and 'unwrapKey' "
                       f"on key '{key_name}' in {vault_uri}. Grant it Key Vault Crypto Service Encryption User "
                       f"on the key; a new role assignment can take several minutes to take effect.")


def _cmk_changed(ctx, body, path) -> bool:
    old = get_path(ctx.existing.body, path) if ctx.existing is not None else None
    return get_path(body, path) != old


# -- storage ---------------------------------------------------------------------------------------------------------
def _global_name_taken(ctx, type_name, name):
    for r in ctx.store.of_type(type_name):
        if r.name.lower() == name.lower() and r.key != ctx.rid.lower():
            return r
    return None


@hook(_VALIDATE, "Microsoft.Storage/storageAccounts")
def _sa_validate(ctx, body):
    if ctx.existing is None and _global_name_taken(ctx, ctx.type_name, ctx.name):
        raise ArmError(409, "StorageAccountAlreadyTaken", f"The storage account named {ctx.name} is already taken.")
    if ctx.existing is not None:
        for path in ("properties.isHnsEnabled", "properties.encryption.requireInfrastructureEncryption"):
            old, new = get_path(ctx.existing.body, path), get_path(body, path)
            if bool(old) != bool(new):
                raise ArmError(400, "InvalidRequestPropertyValue" if "Hns" not in path else "HnsCannotBeChanged",
                               f"The property '{path}' cannot be changed after the account is created.", target=path)
    kv = get_path(body, "properties.encryption.keyvaultproperties")
    uami = ctx.store.get(get_path(body, "properties.encryption.identity.userAssignedIdentity") or "")
    if isinstance(kv, dict) and uami is not None and _cmk_changed(ctx, body, "properties.encryption"):
        _require_key_access(ctx, get_path(uami.computed, "properties.principalId"), f"Identity {uami.name}",
                            kv.get("keyvaulturi"), kv.get("keyname"), 403, "KeyVaultAuthenticationFailure")


@hook(_WRITE, "Microsoft.Storage/storageAccounts")
def _sa_write(ctx, res, created):
    c = res.computed.setdefault("properties", {})
    n = res.name
    c["primaryEndpoints"] = {"blob": f"https://{n}.blob.core.windows.net/", "queue": f"https://{n}.queue.core.windows.net/",
                             "table": f"https://{n}.table.core.windows.net/", "file": f"https://{n}.file.core.windows.net/",
                             "web": f"https://{n}.z6.web.core.windows.net/", "dfs": f"https://{n}.dfs.core.windows.net/"}
    c["primaryLocation"] = res.location
    c["statusOfPrimary"] = "available"
    c.setdefault("creationTime", utc_iso())
    kv = get_path(res.body, "properties.encryption.keyvaultproperties")
    if isinstance(kv, dict) and kv.get("keyvaulturi") and kv.get("keyname"):
        ver = kv.get("keyversion") or res.extra.setdefault("keyver", uuid.uuid4().hex)
        c.setdefault("encryption", {})["keyvaultproperties"] = {
            "currentVersionedKeyIdentifier": f"{kv['keyvaulturi'].rstrip('/')}/keys/{kv['keyname']}/{ver}",
            "lastKeyRotationTimestamp": utc_iso()}
    bs_id = f"{res.id}/blobServices/default"
    if ctx.store.get(bs_id) is None:
        bs = Resource(id=bs_id, type_name="Microsoft.Storage/storageAccounts/blobServices", name="default",
                      api_version=res.api_version, body={"properties": {}}, parent_id=res.id, scope_id=res.scope_id,
                      system=True)
        bs.new_etag(False)
        ctx.store.put(bs)


# -- Key Vault ---------------------------------------------------------------------------------------------------------
def _purge_expired(store, cfg):
    now = time.monotonic()
    for k in [k for k, v in store.deleted_vaults.items() if v["purge_at"] <= now]:
        del store.deleted_vaults[k]


@hook(_VALIDATE, "Microsoft.KeyVault/vaults")
def _kv_validate(ctx, body):
    _purge_expired(ctx.store, ctx.svc.config)
    p = body.get("properties", {})
    mode = (p.get("createMode") or "default").lower()
    deleted = ctx.store.deleted_vaults.get(ctx.name.lower())
    if ctx.existing is None:
        if mode == "recover":
            if deleted is None:
                raise ArmError(404, "NotFound",
                               f"Vault '{ctx.name}' not found in deleted state; nothing to recover.")
        elif deleted is not None:
            raise ArmError(409, "ConflictError",
                           f"A vault with the same name already exists in deleted state. You need to either recover "
                           f"or purge existing key vault. Follow this link "
                           f"https://go.microsoft.com/fwlink/?linkid=2149745 for more information on soft delete. "
                           f"(Exist soft deleted vault with the same name: '{ctx.name}', scheduled purge date "
                           f"{deleted['record']['properties']['scheduledPurgeDate']}.)")
        if _global_name_taken(ctx, ctx.type_name, ctx.name):
            raise ArmError(409, "VaultAlreadyExists",
                           f"The vault name '{ctx.name}' is already in use. Vault names are globally unique so it is "
                           f"possible that the name is already taken. If you are sure that the vault name was not "
                           f"taken then it is possible that a vault with the same name was recently deleted but not "
                           f"purged after being placed in a recoverable state.")
    else:
        if get_path(ctx.existing.body, "properties.enablePurgeProtection") and \
                p.get("enablePurgeProtection") is False:
            raise ArmError(400, "BadRequest", "The property \"enablePurgeProtection\" cannot be set to false. "
                                              "Enabling the purge protection for a vault is an irreversible action.")
        if get_path(ctx.existing.body, "properties.enablePurgeProtection") and \
                "enablePurgeProtection" not in p:
            p["enablePurgeProtection"] = True
    if p.get("enableSoftDelete") is False:
        raise ArmError(400, "BadRequest", "The property \"enableSoftDelete\" cannot be set to false. Soft delete is "
                                          "always enabled for new vaults.")


@hook(_WRITE, "Microsoft.KeyVault/vaults")
def _kv_write(ctx, res, created):
    p = res.body.setdefault("properties", {})
    mode = (p.pop("createMode", None) or "default").lower()
    if created and mode == "recover":
        rec = ctx.store.deleted_vaults.pop(res.name.lower())
        res.body = copy.deepcopy(rec["body"])
        for snap in rec["children"]:
            ctx.store.put(snap)
    p = res.body.setdefault("properties", {})
    p.setdefault("enableSoftDelete", True)
    p.setdefault("softDeleteRetentionInDays", 90)
    p.setdefault("enableRbacAuthorization", True)
    res.computed.setdefault("properties", {})["vaultUri"] = f"https://{res.name}.vault.azure.net/"
    res.computed["properties"]["hsmPoolResourceId"] = None


@hook(_REMOVED, "Microsoft.KeyVault/vaults/keys")
def _key_removed(svc, res):
    svc.store.__dict__.setdefault("_kv_orphans", {}).setdefault(res.parent_id.lower(), []).append(res)


@hook(_REMOVED, "Microsoft.KeyVault/vaults")
def _kv_removed(svc, res):
    kids = svc.store.__dict__.setdefault("_kv_orphans", {}).pop(res.key, [])
    p = res.body.get("properties", {})
    days = p.get("softDeleteRetentionInDays") or 90
    sub = res.id.split("/")[2]
    now_wall = time.time()
    record = {"id": f"/subscriptions/{sub}/providers/Microsoft.KeyVault/locations/{res.location}/deletedVaults/"
                    f"{res.name}",
              "name": res.name, "type": "Microsoft.KeyVault/deletedVaults",
              "properties": {"vaultId": res.id, "location": res.location, "deletionDate": utc_iso(now_wall),
                             "scheduledPurgeDate": utc_iso(now_wall + days * 86400), "tags": res.body.get("tags") or {},
                             "purgeProtectionEnabled": bool(p.get("enablePurgeProtection"))}}
    svc.store.deleted_vaults[res.name.lower()] = {
        "record": record, "body": copy.deepcopy(res.body), "children": kids, "subscription": sub.lower(),
        "purge_protection": bool(p.get("enablePurgeProtection")),
        "purge_at": time.monotonic() + svc.config.wall(days * 86400)}


def keyvault_deleted(svc, req, ap) -> Response:
    """GET /subscriptions/{s}/providers/Microsoft.KeyVault/deletedVaults and .../locations/{l}/deletedVaults/{n}."""
    _purge_expired(svc.store, svc.config)
    if req.method != "GET":
        raise ArmError(405, "MethodNotAllowed", "Only GET is supported on deleted vaults.")
    sub = ap.subscription.lower()
    recs = [v for v in svc.store.deleted_vaults.values() if v["subscription"] == sub]
    if ap.is_collection:
        return svc._list([copy.deepcopy(v["record"]) for v in recs], req)
    v = svc.store.deleted_vaults.get(ap.name.lower())
    if v is None or v["subscription"] != sub:
        raise ArmError(404, "ResourceNotFound", f"The Resource 'Microsoft.KeyVault/deletedVaults/{ap.name}' was not "
                                               f"found.")
    return json_response(200, copy.deepcopy(v["record"]))


@hook(_VALIDATE, "Microsoft.KeyVault/vaults/keys")
def _key_validate(ctx, body):
    pass


@hook(_WRITE, "Microsoft.KeyVault/vaults/keys")
def _key_write(ctx, res, created):
    if not created and res.extra.get("frozen"):
        # ARM PUT only creates the first version; on an existing key it returns it unchanged.
        res.body = res.extra["frozen"]
        return
    vault = ctx.parent
    ver = uuid.uuid4().hex
    base = f"https://{vault.name}.vault.azure.net/keys/{res.name}"
    now = int(time.time())
    purge = bool(get_path(vault.body, "properties.enablePurgeProtection"))
    res.computed = {"properties": {
        "keyUri": base, "keyUriWithVersion": f"{base}/{ver}",
        "attributes": {"enabled": True, "created": now, "updated": now, "exportable": False,
                       "recoveryLevel": "Recoverable" if purge else "Recoverable+Purgeable"}}}
    res.body.setdefault("properties", {}).setdefault("attributes", {})
    res.body["properties"]["attributes"].setdefault("enabled", True)
    res.extra["frozen"] = copy.deepcopy(res.body)


# -- managed identities ----------------------------------------------------------------------------------------------
@hook(_WRITE, "Microsoft.ManagedIdentity/userAssignedIdentities")
def _uami_write(ctx, res, created):
    c = res.computed.setdefault("properties", {})
    if "principalId" not in c:
        c.update({"tenantId": ctx.tenant, "principalId": new_guid(), "clientId": new_guid()})
        res.extra["principal"] = c["principalId"]
        ctx.store.add_principal(Principal(c["principalId"], c["clientId"], ctx.tenant, "ManagedIdentity", time.time(),
                                          res.id))


@hook(_RENDER, "Microsoft.ManagedIdentity/userAssignedIdentities")
def _uami_render(svc, res, out):
    out.setdefault("properties", {}).setdefault("isolationScope", "None")


@hook(_VALIDATE, "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials")
def _fic_validate(ctx, body):
    p = body.get("properties", {})
    iss = p.get("issuer") or ""
    if not iss.startswith("https://"):
        raise ArmError(400, "BadRequest", f"Issuer '{iss}' must be a valid https URL.", target="properties.issuer")
    aud = p.get("audiences") or []
    if len(aud) != 1:
        raise ArmError(400, "BadRequest", "Exactly one audience must be specified.", target="properties.audiences")
    siblings = [k for k in ctx.store.children(ctx.parent.id, ctx.type_name) if k.key != ctx.rid.lower()]
    if len(siblings) >= 20 and ctx.existing is None:
        raise ArmError(400, "BadRequest", "A managed identity can have at most 20 federated identity credentials.")
    for k in siblings:
        kp = k.body.get("properties", {})
        if kp.get("issuer") == iss and kp.get("subject") == p.get("subject"):
            raise ArmError(409, "Conflict", f"A federated identity credential with the same issuer and subject already "
                                            f"exists: '{k.name}'.")


@hook(_RENDER, "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials")
def _fic_render(svc, res, out):
    pass


# -- role assignments ------------------------------------------------------------------------------------------------
@hook(_VALIDATE, "Microsoft.Authorization/roleAssignments")
def _ra_validate(ctx, body):
    if not GUID_RE.match(ctx.name):
        raise ArmError(400, "InvalidRoleAssignmentId",
                       f"The role assignment ID '{ctx.name}' is not valid. The role assignment ID must be a GUID.")
    p = body.get("properties", {})
    rd = p.get("roleDefinitionId") or ""
    if not re.match(r"^(/subscriptions/[^/]+)?(/resourceGroups/[^/]+)?/providers/Microsoft\.Authorization/"
                    r"roleDefinitions/[0-9a-fA-F-]{36}$", rd, re.I):
        raise ArmError(400, "InvalidRoleDefinitionId", f"The role definition ID '{rd}' is not valid.")
    pid = p.get("principalId") or ""
    scope = ctx.rid.split("/providers/Microsoft.Authorization/")[0]
    if ctx.existing is not None:
        old = ctx.existing.body.get("properties", {})
        if (old.get("principalId") or "").lower() != pid.lower() or \
                (old.get("roleDefinitionId") or "").rsplit("/", 1)[-1].lower() != rd.rsplit("/", 1)[-1].lower():
            raise ArmError(400, "RoleAssignmentUpdateNotPermitted",
                           "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.")
    for ra in ctx.store.of_type(ctx.type_name):
        if ra.key == ctx.rid.lower():
            continue
        rp = ra.body.get("properties", {})
        if ra.scope_id.lower() == scope.lower() and (rp.get("principalId") or "").lower() == pid.lower() and \
                (rp.get("roleDefinitionId") or "").rsplit("/", 1)[-1].lower() == rd.rsplit("/", 1)[-1].lower():
            raise ArmError(409, "RoleAssignmentExists",
                           f"The role assignment already exists. The ID of the existing role assignment is "
                           f"{ra.name}.", details=[{"code": "RoleAssignmentExists", "target": ra.id,
                                                    "message": "The role assignment already exists."}])
    principal = ctx.store.principal(pid)
    if principal is not None and ctx.existing is None:
        fault = ctx.svc.app.faults.propagation(ctx.req, principal, p.get("principalType"))
        if fault:
            raise ArmError(400, "PrincipalNotFound",
                           f"Principal {pid.replace('-', '')} does not exist in the directory {ctx.tenant}. Check "
                           f"that you have the correct principal ID. If you are creating this principal and then "
                           f"immediately assigning a role, this error might be related to a replication delay. In "
                           f"this case, set the role assignment principalType property to a value, such as "
                           f"ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype")


@hook(_WRITE, "Microsoft.Authorization/roleAssignments")
def _ra_write(ctx, res, created):
    scope = res.id.split("/providers/Microsoft.Authorization/")[0]
    res.scope_id = scope
    p = res.body.setdefault("properties", {})
    if not p.get("principalType"):
        pr = ctx.store.principal(p.get("principalId"))
        p["principalType"] = "ServicePrincipal" if pr else "User"
    c = res.computed.setdefault("properties", {})
    c["scope"] = scope
    c.setdefault("createdOn", utc_iso())
    c["updatedOn"] = utc_iso()
    c.setdefault("createdBy", ctx.claims.get("oid"))
    c["updatedBy"] = ctx.claims.get("oid")


# -- monitoring, registry ------------------------------------------------------------------------------------------------
@hook(_WRITE, "Microsoft.OperationalInsights/workspaces")
def _law_write(ctx, res, created):
    c = res.computed.setdefault("properties", {})
    c.setdefault("customerId", new_guid())
    c.setdefault("createdDate", utc_iso())
    c["modifiedDate"] = utc_iso()


@hook(_WRITE, "Microsoft.Insights/components")
def _ai_write(ctx, res, created):
    c = res.computed.setdefault("properties", {})
    if "InstrumentationKey" not in c:
        ik = new_guid()
        c.update({"InstrumentationKey": ik, "AppId": new_guid(), "ApplicationId": res.name,
                  "ConnectionString": f"InstrumentationKey={ik};IngestionEndpoint=https://{res.location}-0.in."
                                      f"applicationinsights.azure.com/",
                  "CreationDate": utc_iso(), "TenantId": ctx.ap.subscription})


@hook(_WRITE, "Microsoft.ContainerRegistry/registries")
def _acr_write(ctx, res, created):
    c = res.computed.setdefault("properties", {})
    c["loginServer"] = f"{res.name.lower()}.azurecr.io"
    c.setdefault("creationDate", utc_iso())
    if get_path(res.body, "properties.dataEndpointEnabled"):
        c["dataEndpointHostNames"] = [f"{res.name.lower()}.{res.location}.data.azurecr.io"]


@hook(_VALIDATE, "Microsoft.ContainerRegistry/registries")
def _acr_validate(ctx, body):
    if ctx.existing is None and _global_name_taken(ctx, ctx.type_name, ctx.name):
        raise ArmError(409, "AlreadyInUse", f"The registry {ctx.name} is already in use.")


# -- POST actions -------------------------------------------------------------------------------------------------------
def action(svc, req, ap, action_name: str, claims) -> Response:
    t = ap.full_type.lower()
    if t == "microsoft.keyvault/locations/deletedvaults" and action_name.lower() == "purge":
        svc._subscription(ap.subscription)
        _purge_expired(svc.store, svc.config)
        rec = svc.store.deleted_vaults.get(ap.name.lower())
        if rec is None or rec["subscription"] != ap.subscription.lower():
            raise ArmError(404, "ResourceNotFound", f"The Resource 'Microsoft.KeyVault/deletedVaults/{ap.name}' was "
                                                   f"not found.")
        if rec["purge_protection"]:
            raise ArmError(409, "ConflictError",
                           f"Operation \"purge\" is not allowed because purge protection is enabled for this vault. "
                           f"Key Vault service will automatically purge it after the retention period has passed "
                           f"({rec['record']['properties']['scheduledPurgeDate']}).")

        def done(op, name=ap.name.lower()):
            if not op.error:
                svc.store.deleted_vaults.pop(name, None)

        op = svc.ops.start(kind="purge", resource_id=rec["record"]["id"], namespace="Microsoft.KeyVault",
                           location=rec["record"]["properties"]["location"], subscription=ap.subscription,
                           api_version=req.q("api-version"), duration_wall=svc.config.wall(30), on_done=done)
        from .arm import _hdrs
        return Response(202, None, _hdrs(svc.lro_headers(op, async_header=False)))
    raise ArmError(404, "NotFound", f"The action '{action_name}' on '{ap.full_type}' is not emulated.")
