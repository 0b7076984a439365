"""What VNet injection does to the network: a workspace puts a network intent policy on its host and container
subnets, which adds the rules Databricks needs to their NSGs and keeps those subnets' delegation and NSG in place
while the workspace exists.

Rule names and contents as Databricks writes them (Microsoft.Databricks-workspaces_UseOnly_...); the network
intent policy lives in the VNet's resource group. When the workspace goes, the policy and its rules go with it.
"""
from __future__ import annotations

import uuid

from ..protocol import ArmError
from ..resource_types import get_path
from ..store import Resource
from .core import INLINE, PREDEL, REMOVED, SUBNETS, VALIDATE, WORKSPACES, WRITE, hook

NSG_RULES = "Microsoft.Network/networkSecurityGroups/securityRules"
RULE_PREFIX = "Microsoft.Databricks-workspaces_UseOnly_"

# name, priority, direction, protocol, source, destination, destination ports
_WORKER_RULES = (
    ("databricks-worker-to-worker-inbound", 100, "Inbound", "*", "VirtualNetwork", "VirtualNetwork", ["*"]),
    ("databricks-worker-to-worker-outbound", 100, "Outbound", "*", "VirtualNetwork", "VirtualNetwork", ["*"]),
)
# requiredNsgRules AllRules: the control plane is reached over the public network.
_CONTROL_PLANE_RULES = (
    ("databricks-worker-to-databricks-webapp", 101, "Outbound", "Tcp", "VirtualNetwork", "AzureDatabricks",
     ["443", "3306", "8443-8451"]),
    ("databricks-worker-to-sql", 102, "Outbound", "Tcp", "VirtualNetwork", "Sql", ["3306"]),
    ("databricks-worker-to-storage", 103, "Outbound", "Tcp", "VirtualNetwork", "Storage", ["443"]),
    ("databricks-worker-to-eventhub", 104, "Outbound", "Tcp", "VirtualNetwork", "EventHub", ["9093"]),
)
# enableNoPublicIp false (no secure cluster connectivity): the control plane reaches the nodes.
_PUBLIC_IP_RULES = (
    ("databricks-control-plane-to-worker-ssh", 101, "Inbound", "Tcp", "AzureDatabricks", "VirtualNetwork", ["22"]),
    ("databricks-control-plane-to-worker-proxy", 102, "Inbound", "Tcp", "AzureDatabricks", "VirtualNetwork",
     ["5557"]),
)


def _param(body, name):
    return get_path(body, f"properties.parameters.{name}.value")


def injected_subnet_params(ws_body) -> list:
    """(parameter name, subnet ID) of the host and container subnets a workspace body names (none without VNet
    injection)."""
    vnet = _param(ws_body, "customVirtualNetworkId")
    if not isinstance(vnet, str) or not vnet:
        return []
    out = []
    for pname in ("customPublicSubnetName", "customPrivateSubnetName"):
        n = _param(ws_body, pname)
        if isinstance(n, str) and n:
            out.append((pname, f"{vnet}/subnets/{n}"))
    return out


def injected_subnets(ws_body) -> list:
    return [sid for _, sid in injected_subnet_params(ws_body)]


def policy_rules(ws_body) -> list:
    """The security rules the workspace's network intent policy requires, as NSG rule bodies by name."""
    rules = list(_WORKER_RULES)
    if (get_path(ws_body, "properties.requiredNsgRules") or "AllRules").lower() == "allrules":
        rules += _CONTROL_PLANE_RULES
    if _param(ws_body, "enableNoPublicIp") is False:
        rules += _PUBLIC_IP_RULES
    out = []
    for name, prio, direction, proto, src, dst, ports in rules:
        p = {"protocol": proto, "sourcePortRange": "*", "sourceAddressPrefix": src, "destinationAddressPrefix": dst,
             "access": "Allow", "priority": prio, "direction": direction,
             "description": f"Required for Databricks ({name}). Do not delete."}
        if len(ports) == 1:
            p["destinationPortRange"] = ports[0]
        else:
            p["destinationPortRanges"] = ports
        out.append((RULE_PREFIX + name, {"properties": p}))
    return out


def _workspace_on(store, subnet_id: str) -> Resource | None:
    low = subnet_id.lower()
    for ws in store.of_type(WORKSPACES):
        if low in (s.lower() for s in injected_subnets(ws.body)):
            return ws
    return None


def _policy_id(ws: Resource) -> str:
    vnet = _param(ws.body, "customVirtualNetworkId")
    return f"{vnet.split('/providers/')[0]}/providers/Microsoft.Network/networkIntentPolicies/" \
           f"adb-{ws.location}-{ws.extra.setdefault('nip', uuid.uuid5(uuid.NAMESPACE_URL, ws.key).hex[:12])}"


# -- what "supporting" a policy rule means -----------------------------------------------------------------------
def _ports(p: dict) -> list:
    return sorted(str(x) for x in (p.get("destinationPortRanges") or [p.get("destinationPortRange")]) if x)


def _supports(have: dict, need: dict) -> bool:
    """An NSG rule supports a policy rule when it allows the same traffic (priority aside)."""
    h, n = have.get("properties") or {}, need["properties"]
    same = all((str(h.get(k) or "")).lower() == (str(n.get(k) or "")).lower()
               for k in ("access", "direction", "protocol", "sourceAddressPrefix", "destinationAddressPrefix"))
    return same and _ports(h) == _ports(n)


def _missing_rule(ws: Resource, rules: list):
    """The first policy rule none of the given NSG rule bodies supports, or None."""
    for name, need in policy_rules(ws.body):
        if not any(_supports(r, need) for r in rules):
            return name, need
    return None


def _conflict(ws: Resource, nsg_id: str, name: str, need: dict) -> ArmError:
    p = need["properties"]
    nip = _policy_id(ws)
    short = name.removeprefix(RULE_PREFIX)
    ports = ",".join(_ports(p))
    return ArmError(400, "ConflictWithNetworkIntentPolicy",
                    f"Found conflicts with NetworkIntentPolicy. Details: Network Security Group cannot have resources "
                    f"which conflict with its subnets' network intent policies.\r\nNetwork Security Group: {nsg_id} "
                    f"conflicts with Network Intent Policy: {nip.rsplit('/', 1)[-1]}\r\n Network Security Group "
                    f"doesn't have supporting Security Rule for Network Intent Policy Security Rule: Name: {short}, "
                    f"Id: {nip}/securityRules/{short}, Access: {p['access']}, Direction: {p['direction']}, "
                    f"Protocol: {p['protocol'].lower()}, SourceAddressPrefix: {p['sourceAddressPrefix']}, "
                    f"SourcePortRange: *, DestinationAddressPrefix: {p['destinationAddressPrefix']}, "
                    f"DestinationPortRange: {ports}")


def _workspaces_behind_nsg(store, nsg_id: str) -> list:
    """Workspaces whose injected subnets use this NSG."""
    low = nsg_id.lower()
    out = []
    for ws in store.of_type(WORKSPACES):
        for sid in injected_subnets(ws.body):
            sub = store.get(sid)
            if sub is not None and (get_path(sub.body, "properties.networkSecurityGroup.id") or "").lower() == low:
                out.append(ws)
                break
    return out


def _require_support(store, nsg_id: str, rules: list):
    for ws in _workspaces_behind_nsg(store, nsg_id):
        miss = _missing_rule(ws, rules)
        if miss:
            raise _conflict(ws, nsg_id, *miss)


# -- the policy's effect on writes --------------------------------------------------------------------------------
@hook(INLINE, "Microsoft.Network/networkSecurityGroups")
def _nsg_put_keeps_policy_rules(ctx, plan):
    """An NSG PUT replaces its rules: what it lists must still hold what the subnets' intent policies require."""
    if ctx.existing is not None:
        _require_support(ctx.store, ctx.rid, [b for _, b, t, _ in plan["upsert"] if t.lower() == NSG_RULES.lower()])


def _rules_without(store, nsg_id: str, rule_id: str, replacement: dict | None) -> list:
    rules = [k.body for k in store.children(nsg_id, NSG_RULES) if k.key != rule_id.lower()]
    return rules + ([replacement] if replacement is not None else [])


@hook(VALIDATE, NSG_RULES)
def _rule_put_keeps_policy_rules(ctx, body):
    if ctx.existing is not None:
        _require_support(ctx.store, ctx.parent.id, _rules_without(ctx.store, ctx.parent.id, ctx.rid, body))


@hook(PREDEL, NSG_RULES)
def _rule_delete_keeps_policy_rules(svc, req, res):
    _require_support(svc.store, res.parent_id, _rules_without(svc.store, res.parent_id, res.id, None))


def _delegations(body) -> list:
    return sorted((get_path(d, "properties.serviceName") or "") for d in get_path(body, "properties.delegations", [])
                  or [])


def _subnet_keeps_injection(store, subnet_id: str, old_body: dict, new_body: dict):
    """A subnet a workspace uses keeps its delegation and an NSG that holds the policy's rules."""
    ws = _workspace_on(store, subnet_id)
    if ws is None:
        return
    before, after = _delegations(old_body), _delegations(new_body)
    if [d.lower() for d in before] != [d.lower() for d in after]:
        raise ArmError(400, "SubnetDelegationsCannotChangeWhenSubnetUsedByResource",
                       f"Delegations of subnet {subnet_id} cannot be changed from [{', '.join(before)}] to "
                       f"[{', '.join(after)}] because it is being used by the resource "
                       f"{subnet_id}/serviceAssociationLinks/{ws.name}-sal.")
    old_nsg = get_path(old_body, "properties.networkSecurityGroup.id")
    new_nsg = get_path(new_body, "properties.networkSecurityGroup.id")
    if old_nsg and not new_nsg:
        raise ArmError(400, "NetworkSecurityGroupCannotBeRemovedDueToNipOnSubnet",
                       f"Network security group cannot be removed from subnet {subnet_id} because it has network "
                       f"intent policy {_policy_id(ws)} applied.")
    if new_nsg and (old_nsg or "").lower() != new_nsg.lower():
        miss = _missing_rule(ws, [k.body for k in store.children(new_nsg, NSG_RULES)])
        if miss:
            raise _conflict(ws, new_nsg, *miss)


@hook(VALIDATE, "Microsoft.Network/virtualNetworks/subnets")
def _subnet_put_keeps_injection(ctx, body):
    if ctx.existing is not None:
        _subnet_keeps_injection(ctx.store, ctx.rid, ctx.existing.body, body)


@hook(INLINE, "Microsoft.Network/virtualNetworks")
def _vnet_put_keeps_injection(ctx, plan):
    for _, kid_body, kid_type, kid_id in plan["upsert"]:
        ex = ctx.store.get(kid_id)
        if kid_type.lower() == SUBNETS and ex is not None:
            _subnet_keeps_injection(ctx.store, ex.id, ex.body, kid_body)


# -- the policy follows the workspace -----------------------------------------------------------------------------
@hook(WRITE, "Microsoft.Databricks/workspaces")
def _ws_applies_policy(ctx, res, created):
    """At create, the workspace's policy adds its rules to the NSGs of both subnets (once per NSG)."""
    if not created:
        return
    added = res.extra.setdefault("nip_rules", [])
    for sid in injected_subnets(res.body):
        nsg_id = get_path(getattr(ctx.store.get(sid), "body", {}), "properties.networkSecurityGroup.id")
        nsg = ctx.store.get(nsg_id) if nsg_id else None
        if nsg is None:
            continue
        for name, body in policy_rules(res.body):
            rid = f"{nsg.id}/securityRules/{name}"
            if ctx.store.get(rid) is None:
                rule = Resource(id=rid, type_name=NSG_RULES, name=name, api_version=nsg.api_version, body=body,
                                parent_id=nsg.id, scope_id=nsg.scope_id, system=True)
                rule.new_etag(True)
                ctx.store.put(rule)
                added.append(rid)
        nsg.new_etag(True)


@hook(REMOVED, "Microsoft.Databricks/workspaces")
def _ws_policy_removed(svc, res):
    for rid in res.extra.get("nip_rules", []):
        svc.store.remove(rid)
