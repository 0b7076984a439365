"""Checks of an address plan's outputs against the design (Azure's rules),
independent of how the example names its outputs."""
from __future__ import annotations

import ipaddress
import re
from typing import Any, Iterator

# Azure's fixed subnet names and the largest prefix length each may have.
AZURE_MIN_SIZE = {
    "AzureFirewallSubnet": 26,
    "AzureFirewallManagementSubnet": 26,
    "AzureBastionSubnet": 26,
    "GatewaySubnet": 29,   # /27 recommended; /29 is the hard floor
}

# The hub layout of the design (platform-design.md, zerotrust_hub), in
# request order.
HUB_LAYOUT = [
    ("AzureFirewallSubnet", 26),
    ("AzureFirewallManagementSubnet", 26),
    ("AzureBastionSubnet", 26),
    ("GatewaySubnet", 27),
    ("dns-resolver-inbound", 28),
    ("dns-resolver-outbound", 28),
]

SPOKE_NAMES = ["databricks-host", "databricks-container", "private-endpoints", "functions"]


def layout_order(names: list[str]) -> list[str] | None:
    """The request order of a layout's subnets, then the others, when names
    hold a whole hub or spoke layout; None otherwise."""
    for base in ([n for n, _ in HUB_LAYOUT], SPOKE_NAMES):
        if set(base) <= set(names):
            return base + [n for n in names if n not in base]
    return None


CIDR_RE = re.compile(r"^\d{1,3}(\.\d{1,3}){3}/\d{1,2}$")


def is_cidr(v: Any) -> bool:
    return isinstance(v, str) and bool(CIDR_RE.match(v))


def net(v: str) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(v, strict=True)  # host bits set -> ValueError


def all_cidrs(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if is_cidr(value):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from all_cidrs(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from all_cidrs(v, f"{path}[{i}]")


def named_subnets(value: Any, path: str = "") -> Iterator[tuple[str, str, dict | None, str]]:
    """(name, cidr, the object it came from or None, path) for every
    subnet-looking thing: {name=..., cidr=...} objects, maps of name -> CIDR
    and maps of name -> {cidr=...}."""
    if isinstance(value, dict):
        if isinstance(value.get("name"), str) and is_cidr(value.get("cidr")):
            yield value["name"], value["cidr"], value, path
            return
        for k, v in value.items():
            p = f"{path}.{k}" if path else str(k)
            if is_cidr(v) and not k.lower() in ("cidr", "address_space", "space", "network"):
                yield k, v, None, p
            elif isinstance(v, dict) and is_cidr(v.get("cidr")) and "name" not in v:
                yield k, v["cidr"], v, p
            else:
                yield from named_subnets(v, p)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from named_subnets(v, f"{path}[{i}]")


def check_subnet_object(name: str, cidr: str, obj: dict | None) -> list[str]:
    errs = []
    try:
        n = net(cidr)
    except ValueError as exc:
        return [f"{name}: {cidr!r} is not a network address: {exc}"]
    if name in AZURE_MIN_SIZE and n.prefixlen > AZURE_MIN_SIZE[name]:
        errs.append(f"{name} is {cidr}, Azure needs at least /{AZURE_MIN_SIZE[name]}")
    if obj:
        first = obj.get("first_usable")
        last = obj.get("last_usable")
        if first is not None and first != str(n.network_address + 4):
            errs.append(f"{name}: first_usable {first} != {n.network_address + 4} (Azure reserves 4 at the start)")
        if last is not None and last != str(n.broadcast_address - 1):
            errs.append(f"{name}: last_usable {last} != {n.broadcast_address - 1}")
        if obj.get("address_count") is not None and int(obj["address_count"]) != n.num_addresses:
            errs.append(f"{name}: address_count {obj['address_count']} != {n.num_addresses}")
        if obj.get("usable_hosts") is not None and int(obj["usable_hosts"]) != n.num_addresses - 5:
            errs.append(f"{name}: usable_hosts {obj['usable_hosts']} != {n.num_addresses - 5}")
    return errs


def check_group(subnets: list[tuple[str, str]], space: str | None) -> list[str]:
    """Subnets of one plan: inside the space, no overlaps."""
    errs = []
    nets = []
    for name, cidr in subnets:
        try:
            nets.append((name, net(cidr)))
        except ValueError:
            continue
    if space:
        sp = net(space)
        for name, n in nets:
            if not n.subnet_of(sp):
                errs.append(f"{name} {n} is outside the address space {sp}")
    for i, (a, na) in enumerate(nets):
        for b, nb in nets[i + 1:]:
            if na.overlaps(nb):
                errs.append(f"{a} {na} overlaps {b} {nb}")
    return errs


def greedy_layout(space: str, sizes: list[tuple[str, int]]) -> dict[str, str]:
    """The documented allocation: largest first (ties in request order), each
    at the lowest free address aligned to its size."""
    sp = net(space)
    order = sorted(range(len(sizes)), key=lambda i: (sizes[i][1], i))
    taken: list[ipaddress.IPv4Network] = []
    out = {}
    for i in order:
        name, plen = sizes[i]
        for cand in sp.subnets(new_prefix=plen):
            if not any(cand.overlaps(t) for t in taken):
                taken.append(cand)
                out[name] = str(cand)
                break
        else:
            raise ValueError(f"{name} /{plen} does not fit")
    return out


def smallest_space(candidates: list[str], cidrs: list[str]) -> str | None:
    """The smallest candidate network that contains all cidrs."""
    fits = [c for c in candidates
            if all(net(x).subnet_of(net(c)) for x in cidrs)]
    return max(fits, key=lambda c: net(c).prefixlen) if fits else None
