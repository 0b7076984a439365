"""Virtual networks, subnets, peerings, NSGs, public IPs, private IP allocation, DNS resolver endpoints."""
from __future__ import annotations

import copy
import ipaddress

from ..protocol import ArmError
from ..resource_types import get_path, path_values
from ..store import Resource
from .core import INLINE, RENDER, SUBNETS, VALIDATE, WRITE, hook


DELEGATION_ACTIONS = {
    "microsoft.databricks/workspaces": [
        "Microsoft.Network/virtualNetworks/subnets/join/action",
        "Microsoft.Network/virtualNetworks/subnets/prepareNetworkPolicies/action",
        "Microsoft.Network/virtualNetworks/subnets/unprepareNetworkPolicies/action"],
    "microsoft.network/dnsresolvers": ["Microsoft.Network/virtualNetworks/subnets/join/action"],
    "microsoft.web/serverfarms": ["Microsoft.Network/virtualNetworks/subnets/action"],
}


# -- virtual networks and subnets ---------------------------------------------------------------------
def vnet_prefixes(body) -> list:
    return list(get_path(body, "properties.addressSpace.addressPrefixes", []) or [])


def subnet_prefixes(body) -> list:
    p = body.get("properties", {}) if isinstance(body, dict) else {}
    out = []
    if p.get("addressPrefix"):
        out.append(p["addressPrefix"])
    out.extend(p.get("addressPrefixes") or [])
    return out


def parse_prefix(prefix: str, target: str):
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
    vnets = [parse_prefix(p, vnet_id) for p in vnet_prefixes]
    seen = []
    for name, sid, body in subnets:
        for pfx in subnet_prefixes(body):
            n = parse_prefix(pfx, sid)
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


@hook(VALIDATE, "Microsoft.Network/virtualNetworks")
def _vnet_validate(ctx, body):
    for p in vnet_prefixes(body):
        parse_prefix(p, ctx.rid)


@hook(INLINE, "Microsoft.Network/virtualNetworks")
def _vnet_inline(ctx, plan):
    subnets = [(nm, kid_id, b) for nm, b, t, kid_id in plan["upsert"] if t.lower() == SUBNETS]
    if ctx.existing is not None and not any(t.lower() == SUBNETS for _, _, t, _ in plan["upsert"]) \
            and not plan["delete"]:
        subnets = [(k.name, k.id, k.body) for k in ctx.store.children(ctx.rid, ctx.type_name + "/subnets")]
    vbody = {"properties": {"addressSpace": {"addressPrefixes": vnet_prefixes(ctx.req.json or {})}}}
    _check_subnets(ctx.rid, vnet_prefixes(vbody), subnets)


@hook(VALIDATE, "Microsoft.Network/virtualNetworks/subnets")
def _subnet_validate(ctx, body):
    vnet = ctx.parent
    siblings = [(k.name, k.id, k.body) for k in ctx.store.children(vnet.id, ctx.type_name)
                if k.key != ctx.rid.lower()]
    if not subnet_prefixes(body):
        raise ArmError(400, "InvalidRequestFormat", "Cannot parse the request: the subnet needs "
                                                    "'properties.addressPrefix' or 'properties.addressPrefixes'.",
                       target="properties.addressPrefix")
    _check_subnets(vnet.id, vnet_prefixes(vnet.body), siblings + [(ctx.name, ctx.rid, body)])


@hook(RENDER, "Microsoft.Network/virtualNetworks")
def _vnet_render(svc, res, out):
    p = out.setdefault("properties", {})
    p.setdefault("enableDdosProtection", False)
    p.setdefault("subnets", [])
    p.setdefault("virtualNetworkPeerings", [])


@hook(RENDER, "Microsoft.Network/virtualNetworks/subnets")
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


def subnet_of(svc, subnet_id: str) -> Resource | None:
    s = svc.store.get(subnet_id) if subnet_id else None
    return s if s is not None and s.type_name.lower() == SUBNETS else None


# -- peerings ---------------------------------------------------------------------------------------
@hook(VALIDATE, "Microsoft.Network/virtualNetworks/virtualNetworkPeerings")
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


@hook(RENDER, "Microsoft.Network/virtualNetworks/virtualNetworkPeerings")
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
        space = {"addressPrefixes": vnet_prefixes(remote.body)}
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


@hook(RENDER, "Microsoft.Network/networkSecurityGroups")
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
@hook(WRITE, "Microsoft.Network/publicIPAddresses")
def _pip_write(ctx, res, created):
    p = res.computed.setdefault("properties", {})
    if "ipAddress" not in p:
        p["ipAddress"] = ctx.store.next_public_ip()
    res.body.setdefault("properties", {}).setdefault("idleTimeoutInMinutes", 4)


# -- private IP allocation (firewall, PEs, resolver inbound endpoints) ---------------------------------------
def alloc_private_ip(ctx, res, subnet_id, label, wanted=None):
    subnet = subnet_of(ctx.svc, subnet_id)
    if subnet is None:
        return None
    ip = ctx.store.allocate_private_ip(subnet, f"{res.id}#{label}", wanted)
    if ip is None:
        raise ArmError(400, "SubnetIsFull", f"Subnet {subnet.name} with address prefix "
                                            f"{subnet_prefixes(subnet.body)[0]} does not have enough capacity for 1 "
                                            f"IP addresses.")
    return ip


# -- DNS resolver -----------------------------------------------------------------------------------------------
@hook(WRITE, "Microsoft.Network/dnsResolvers/inboundEndpoints")
def _inbound_write(ctx, res, created):
    ips = res.extra.setdefault("ips", {})
    for i, cfg in enumerate(get_path(res.body, "properties.ipConfigurations", []) or []):
        method = (cfg.get("privateIpAllocationMethod") or "Dynamic").lower()
        wanted = cfg.get("privateIpAddress") if method == "static" else None
        ips[str(i)] = alloc_private_ip(ctx, res, get_path(cfg, "subnet.id"), f"ip{i}", wanted)


@hook(RENDER, "Microsoft.Network/dnsResolvers/inboundEndpoints")
def _inbound_render(svc, res, out):
    ips = res.extra.get("ips", {})
    for i, cfg in enumerate(get_path(out, "properties.ipConfigurations", []) or []):
        cfg.setdefault("privateIpAllocationMethod", "Dynamic")
        if ips.get(str(i)):
            cfg["privateIpAddress"] = ips[str(i)]


@hook(RENDER, "Microsoft.Network/dnsResolvers")
def _resolver_render(svc, res, out):
    out.setdefault("properties", {})["dnsResolverState"] = "Connected" if res.state == "Succeeded" else "Disconnected"
