"""Parsing ARM request paths and resource IDs.

Shapes handled:
  /subscriptions/{sub}
  /subscriptions/{sub}/resourceGroups/{rg}
  /subscriptions/{sub}[/resourceGroups/{rg}]/providers/{ns}/{type}/{name}[/{type}/{name}...][/{type}]
  {any of the above}/providers/{ns}/{type}/{name}...       (extension resources: role assignments, diagnostics)
  /subscriptions/{sub}/providers/{ns}[/register]             (provider registration)
  /subscriptions/{sub}/resourcegroups | /resourceGroups/{rg}/resources   (lists)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote


@dataclass
class Segment:
    namespace: str
    types: list           # [type, ...]
    names: list           # [name, ...]; len(names) == len(types) or len(types) - 1 (collection)


@dataclass
class ArmPath:
    raw: str
    subscription: str | None = None
    resource_group: str | None = None
    chain: list = field(default_factory=list)    # [Segment, ...]; the last is the target, earlier ones are scopes
    special: str | None = None                   # 'subscription', 'subscriptions', 'resourceGroups', 'resourceGroup',
                                                 # 'rgResources', 'provider', 'providers', 'providerRegister', 'tenant'
    provider_namespace: str | None = None
    trailing: list = field(default_factory=list)

    # -- derived -----------------------------------------------------------------------------
    @property
    def target(self) -> Segment | None:
        return self.chain[-1] if self.chain else None

    @property
    def is_collection(self) -> bool:
        t = self.target
        return bool(t) and len(t.names) < len(t.types)

    @property
    def full_type(self) -> str | None:
        t = self.target
        if not t:
            return None
        return t.namespace + "/" + "/".join(t.types)

    @property
    def name(self) -> str | None:
        t = self.target
        if not t or self.is_collection:
            return None
        return t.names[-1]

    def scope_id(self, upto: int | None = None) -> str:
        """ID of the scope the target hangs off (subscription, RG or a resource for extensions)."""
        s = ""
        if self.subscription is not None:
            s = f"/subscriptions/{self.subscription}"
        if self.resource_group is not None:
            s += f"/resourceGroups/{self.resource_group}"
        chain = self.chain[:-1] if upto is None else self.chain[:upto]
        for seg in chain:
            s += segment_path(seg)
        return s

    def resource_id(self) -> str:
        return self.scope_id() + segment_path(self.target)

    def parent_id(self) -> str | None:
        """ID of the parent resource for a nested type (None for a top-level type)."""
        t = self.target
        if len(t.types) < 2:
            return None
        n = len(t.types) - 1
        return self.scope_id() + segment_path(Segment(t.namespace, t.types[:n], t.names[:n]))

    def parent_type(self) -> str | None:
        t = self.target
        if len(t.types) < 2:
            return None
        return t.namespace + "/" + "/".join(t.types[:-1])


def segment_path(seg: Segment) -> str:
    s = f"/providers/{seg.namespace}"
    for i, ty in enumerate(seg.types):
        s += f"/{ty}"
        if i < len(seg.names):
            s += f"/{seg.names[i]}"
    return s


class PathError(ValueError):
    pass


def parse(path: str) -> ArmPath:
    raw = path
    segs = [unquote(s) for s in path.strip("/").split("/") if s != ""]
    ap = ArmPath(raw=raw)
    i = 0
    n = len(segs)
    if n == 0:
        raise PathError("empty path")
    if segs[0].lower() == "subscriptions":
        if n == 1:
            ap.special = "subscriptions"
            return ap
        ap.subscription = segs[1]
        i = 2
        if i == n:
            ap.special = "subscription"
            return ap
        if segs[i].lower() == "resourcegroups":
            if i + 1 == n:
                ap.special = "resourceGroups"
                return ap
            ap.resource_group = segs[i + 1]
            i += 2
            if i == n:
                ap.special = "resourceGroup"
                return ap
            if segs[i].lower() == "resources" and i + 1 == n:
                ap.special = "rgResources"
                return ap
    elif segs[0].lower() == "providers":
        ap.special = "tenant"
    else:
        raise PathError(f"unrecognised path {path}")
    if i < n and segs[i].lower() == "providers" and ap.resource_group is None and ap.subscription is not None:
        # /subscriptions/{sub}/providers[/{ns}[/register]] without any type
        if i + 1 == n:
            ap.special = "providers"
            return ap
        if i + 2 == n:
            ap.special = "provider"
            ap.provider_namespace = segs[i + 1]
            return ap
        if i + 3 == n and segs[i + 2].lower() == "register":
            ap.special = "providerRegister"
            ap.provider_namespace = segs[i + 1]
            return ap
    while i < n:
        if segs[i].lower() != "providers":
            raise PathError(f"expected 'providers' in {path}")
        if i + 1 >= n:
            raise PathError(f"missing namespace in {path}")
        ns = segs[i + 1]
        i += 2
        seg = Segment(ns, [], [])
        while i < n and segs[i].lower() != "providers":
            seg.types.append(segs[i])
            if i + 1 < n:
                seg.names.append(segs[i + 1])
            i += 2
        if not seg.types:
            raise PathError(f"missing type in {path}")
        ap.chain.append(seg)
        if i < n and len(seg.names) < len(seg.types):
            raise PathError(f"extension on a collection in {path}")
    return ap


def split_action(ap: ArmPath) -> tuple[ArmPath, str | None]:
    """For POST {resource}/{action}: the resource path and the action name."""
    if ap.is_collection and len(ap.target.types) >= 2:
        t = ap.target
        action = t.types[-1]
        res = ArmPath(raw=ap.raw, subscription=ap.subscription, resource_group=ap.resource_group,
                      chain=ap.chain[:-1] + [Segment(t.namespace, t.types[:-1], list(t.names))])
        return res, action
    return ap, None


def parse_id(resource_id: str) -> ArmPath | None:
    try:
        ap = parse(resource_id)
    except PathError:
        return None
    return ap
