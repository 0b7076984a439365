"""Virtual networks, subnets, peerings, NSGs, public IPs, private IP allocation, DNS resolver endpoints."""
from __future__ import annotations

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
PEERINGS = "Microsoft.Network/virtualNetworks/virtualNetworkPeerings"
PEERING_INFO = "For more information please refer to https://aka.ms/VnetPeeringInfo"


@hook(VALIDATE, PEERINGS)
def _peering_remote_gateways(ctx, body):
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


def _overlaps(a: list, b: list) -> list:
    """Prefixes of ``a`` that overlap some prefix of ``b``."""
    nb = [ipaddress.ip_network(p, strict=False) for p in b]
    out = []
    for p in a:
        n = ipaddress.ip_network(p, strict=False)
        if any(n.version == m.version and n.overlaps(m) for m in nb):
            out.append(p)
    return out


def peered_vnets(store, vnet_id: str) -> list:
    """IDs of the VNets peered with a VNet, by a peering in either direction."""
    low = vnet_id.lower()
    out = {}
    for pe in store.of_type(PEERINGS):
        remote = (get_path(pe.body, "properties.remoteVirtualNetwork.id") or "")
        if pe.parent_id and pe.parent_id.lower() == low and remote:
            out[remote.lower()] = remote
        elif remote.lower() == low and pe.parent_id:
            out[pe.parent_id.lower()] = pe.parent_id
    return list(out.values())


def _check_peering_spaces(store, peering_id: str, local_id: str, remote_id: str):
    """Peered VNets may not overlap, nor overlap the VNets already peered with the other side."""
    local, remote = store.get(local_id), store.get(remote_id)
    if local is None or remote is None:
        return
    lp, rp = vnet_prefixes(local.body), vnet_prefixes(remote.body)
    both = _overlaps(lp, rp)
    if both:
        raise ArmError(400, "VnetAddressSpacesOverlap",
                       f"Cannot create or update peering {peering_id}. Virtual networks {local.id} and {remote.id} "
                       f"cannot be peered because their address spaces overlap. Overlapping address prefixes: "
                       f"{', '.join(both)}")
    for first, second, which in ((local, remote, ("first", "second")), (remote, local, ("second", "first"))):
        for other_id in peered_vnets(store, second.id):
            other = store.get(other_id)
            if other is None or other.key in (local.key, remote.key):
                continue
            clash = _overlaps(vnet_prefixes(first.body), vnet_prefixes(other.body))
            if clash:
                raise ArmError(400, "VnetAddressSpaceOverlapsWithAlreadyPeeredVnet",
                               f"Cannot create or update peering {peering_id}. Virtual networks {local.id} and "
                               f"{remote.id} cannot be peered because address space of the {which[0]} virtual network "
                               f"overlaps with address space of virtual network {other.id} already peered with the "
                               f"{which[1]} virtual network. Overlapping address prefixes: {', '.join(clash)}. "
                               f"{PEERING_INFO}")


@hook(VALIDATE, PEERINGS)
def _peering_address_spaces(ctx, body):
    remote = get_path(body, "properties.remoteVirtualNetwork.id")
    if remote:
        _check_peering_spaces(ctx.store, ctx.rid, ctx.parent.id, remote)


@hook(INLINE, "Microsoft.Network/virtualNetworks")
def _vnet_inline_peerings(ctx, plan):
    if ctx.existing is None:
        return
    for _, kid_body, kid_type, kid_id in plan["upsert"]:
        remote = get_path(kid_body, "properties.remoteVirtualNetwork.id")
        if kid_type.lower() == PEERINGS.lower() and remote and ctx.store.get(kid_id) is None:
            _check_peering_spaces(ctx.store, kid_id, ctx.rid, remote)


@hook(WRITE, PEERINGS)
def _peering_sync(ctx, res, created):
    """A peering keeps the remote address space it last synced: at create, or on a PUT with
    ?syncRemoteAddressSpace=true after the remote VNet's address space changed."""
    if created or (ctx.req.q("syncRemoteAddressSpace") or "").lower() == "true":
        remote = ctx.store.get(get_path(res.body, "properties.remoteVirtualNetwork.id") or "")
        res.extra["synced_remote"] = vnet_prefixes(remote.body) if remote else []


def _synced(pe: Resource, remote: Resource) -> list:
    return pe.extra.setdefault("synced_remote", vnet_prefixes(remote.body))


def _reverse_peering(store, pe: Resource, remote: Resource) -> Resource | None:
    for back in store.children(remote.id, PEERINGS):
        if (get_path(back.body, "properties.remoteVirtualNetwork.id") or "").lower() == (pe.parent_id or "").lower():
            return back
    return None


def _sync_level(store, pe: Resource, remote: Resource, back: Resource) -> str:
    local = store.get(pe.parent_id)
    local_stale = sorted(_synced(pe, remote)) != sorted(vnet_prefixes(remote.body))
    remote_stale = local is not None and sorted(_synced(back, local)) != sorted(vnet_prefixes(local.body))
    return {(False, False): "FullyInSync", (True, False): "LocalNotInSync", (False, True): "RemoteNotInSync",
            (True, True): "LocalAndRemoteNotInSync"}[(local_stale, remote_stale)]


@hook(RENDER, PEERINGS)
def _peering_render(svc, res, out):
    p = out.setdefault("properties", {})
    remote = svc.store.get(get_path(res.body, "properties.remoteVirtualNetwork.id") or "")
    if remote is None:
        state, level = "Disconnected", "RemoteNotInSync"
    else:
        back = _reverse_peering(svc.store, res, remote)
        state = "Connected" if back else "Initiated"
        level = _sync_level(svc.store, res, remote, back) if back else "RemoteNotInSync"
        p["remoteAddressSpace"] = {"addressPrefixes": list(_synced(res, remote))}
        p["remoteVirtualNetworkAddressSpace"] = {"addressPrefixes": vnet_prefixes(remote.body)}
    p["peeringState"] = state
    p["peeringSyncLevel"] = level
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
