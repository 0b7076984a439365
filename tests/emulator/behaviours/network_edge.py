"""The hub's edge: Azure Firewall, firewall policies and their rule collection groups, Bastion, VPN gateways."""
from __future__ import annotations

import ipaddress
import json
import uuid

from ..protocol import ArmError
from ..resource_types import get_path
from .core import RENDER, VALIDATE, WRITE, hook
from .network import alloc_private_ip, subnet_of, subnet_prefixes


@hook(WRITE, "Microsoft.Network/azureFirewalls")
def _fw_write(ctx, res, created):
    ips = res.extra.setdefault("ips", {})
    for i, cfg in enumerate(get_path(res.body, "properties.ipConfigurations", []) or []):
        sid = get_path(cfg, "properties.subnet.id")
        if sid:
            ips[f"ip{i}"] = alloc_private_ip(ctx, res, sid, f"ip{i}")
    sid = get_path(res.body, "properties.managementIpConfiguration.properties.subnet.id")
    if sid:
        ips["mgmt"] = alloc_private_ip(ctx, res, sid, "mgmt")


@hook(RENDER, "Microsoft.Network/azureFirewalls")
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


@hook(RENDER, "Microsoft.Network/firewallPolicies")
def _fwp_render(svc, res, out):
    p = out.setdefault("properties", {})
    p["ruleCollectionGroups"] = [{"id": k.id} for k in
                                 svc.store.children(res.id, res.type_name + "/ruleCollectionGroups")]
    p.setdefault("firewalls", [])
    p.setdefault("childPolicies", [])


RCG = "Microsoft.Network/firewallPolicies/ruleCollectionGroups"
MAX_RCGS_PER_POLICY = 90
MAX_RCG_BYTES = 2 * 1024 * 1024


def _rcg_bytes(body) -> int:
    return len(json.dumps(body.get("properties") or {}, separators=(",", ":")))


@hook(VALIDATE, RCG)
def _rcg_count_limit(ctx, body):
    """A firewall policy holds at most 90 rule collection groups."""
    if ctx.existing is None and len(ctx.store.children(ctx.parent.id, RCG)) >= MAX_RCGS_PER_POLICY:
        raise ArmError(400, "FirewallPolicyRuleCollectionGroupLimitReached",
                       f"Firewall policy {ctx.parent.id} already has {MAX_RCGS_PER_POLICY} rule collection groups, "
                       f"the maximum for a firewall policy. Rule collection group {ctx.name} cannot be added.")


@hook(VALIDATE, RCG)
def _rcg_size_limit(ctx, body):
    """The rules of one rule collection group total at most 2 MB."""
    size = _rcg_bytes(body)
    if size > MAX_RCG_BYTES:
        raise ArmError(400, "FirewallPolicyRuleCollectionGroupSizeLimitReached",
                       f"Rule collection group {ctx.rid} is {size / 1048576:.2f} MB; the total size of the rules in a "
                       f"rule collection group is limited to 2 MB.", target="properties.ruleCollections")


@hook(RENDER, RCG)
def _rcg_render(svc, res, out):
    out.setdefault("properties", {})["size"] = f"{_rcg_bytes(res.body) / 1048576:.3f}MB"


@hook(RENDER, "Microsoft.Network/bastionHosts")
def _bastion_render(svc, res, out):
    out.setdefault("properties", {})["dnsName"] = f"bst-{res.extra.setdefault('dns', uuid.uuid4().hex[:24])}" \
                                                  f".bastion.azure.com"
    for cfg in out["properties"].get("ipConfigurations") or []:
        cfg["id"] = f"{res.id}/bastionHostIpConfigurations/{cfg.get('name')}"


@hook(RENDER, "Microsoft.Network/virtualNetworkGateways")
def _gw_render(svc, res, out):
    p = out.setdefault("properties", {})
    bgp = p.setdefault("bgpSettings", {"asn": 65515, "peerWeight": 0})
    for cfg in p.get("ipConfigurations") or []:
        cfg["id"] = f"{res.id}/ipConfigurations/{cfg.get('name')}"
        sub = subnet_of(svc, get_path(cfg, "properties.subnet.id"))
        if sub and subnet_prefixes(sub.body):
            last = ipaddress.ip_network(subnet_prefixes(sub.body)[0], strict=False).broadcast_address - 1
            bgp.setdefault("bgpPeeringAddress", str(last))
            bgp["bgpPeeringAddresses"] = [{"ipconfigurationId": cfg["id"], "defaultBgpIpAddresses": [str(last)],
                                           "customBgpIpAddresses": [], "tunnelIpAddresses": []}]


# Rule limits (Azure Firewall limits): "20,000 unique source-destination combinations in network
# rules" per policy, counted as (IP protocols) x (source addresses) x (destination addresses) x
# ceil(destination ports / 14).
MAX_NETWORK_RULE_COMBINATIONS = 20000


def _rule_combinations(body) -> int:
    n = 0
    for coll in get_path(body, "properties.ruleCollections", []) or []:
        for rule in coll.get("rules") or []:
            if rule.get("ruleType") != "NetworkRule":
                continue
            src = len(rule.get("sourceAddresses") or []) + len(rule.get("sourceIpGroups") or [])
            dst = (len(rule.get("destinationAddresses") or []) + len(rule.get("destinationIpGroups") or [])
                   + len(rule.get("destinationFqdns") or []))
            ports = len(rule.get("destinationPorts") or [])
            n += len(rule.get("ipProtocols") or []) * src * dst * -(-ports // 14)
    return n


@hook(VALIDATE, RCG)
def _rcg_network_rule_limit(ctx, body):
    """A policy's network rules make at most 20,000 unique source-destination combinations."""
    total = _rule_combinations(body) + sum(
        _rule_combinations(g.body) for g in ctx.store.children(ctx.parent.id, RCG)
        if g.id.lower() != ctx.rid.lower())
    if total > MAX_NETWORK_RULE_COMBINATIONS:
        raise ArmError(400, "FirewallPolicyRuleLimitReached",
                       f"Firewall policy {ctx.parent.id} would have {total} unique source-destination "
                       f"combinations in network rules; the limit is {MAX_NETWORK_RULE_COMBINATIONS}.",
                       target="properties.ruleCollections")


@hook(VALIDATE, RCG)
def _rcg_collections_well_formed(ctx, body):
    """Rule collection names are unique in a group, and a filter collection's rules are of one type."""
    seen = set()
    for coll in get_path(body, "properties.ruleCollections", []) or []:
        name = str(coll.get("name", "")).lower()
        if name in seen:
            raise ArmError(400, "FirewallPolicyRuleCollectionNameNotUnique",
                           f"Rule collection group {ctx.rid} has two rule collections named {coll.get('name')}.",
                           target="properties.ruleCollections")
        seen.add(name)
        kinds = {r.get("ruleType") for r in coll.get("rules") or []}
        if coll.get("ruleCollectionType") == "FirewallPolicyFilterRuleCollection" and len(kinds) > 1:
            raise ArmError(400, "FirewallPolicyRuleCollectionRulesOfMixedTypes",
                           f"Rule collection {coll.get('name')} mixes {', '.join(sorted(map(str, kinds)))}: "
                           f"the rules of a filter collection must all be of one type.",
                           target="properties.ruleCollections")

