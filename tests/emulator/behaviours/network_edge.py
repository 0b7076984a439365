"""The hub's edge: Azure Firewall, firewall policies and their rule collection groups, Bastion, VPN gateways."""
from __future__ import annotations

import ipaddress
import uuid

from ..resource_types import get_path
from .core import RENDER, WRITE, hook
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


@hook(RENDER, "Microsoft.Network/firewallPolicies/ruleCollectionGroups")
def _rcg_render(svc, res, out):
    out.setdefault("properties", {})["size"] = f"{max(1, len(str(res.body)) // 1024)} KB"


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
