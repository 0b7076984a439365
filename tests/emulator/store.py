"""The resource store: resources keyed by ARM ID, case-insensitively.

A ``Resource`` keeps what the client sent (``body``, read-only properties
removed) apart from what the service computed (``computed``, deep-merged into
the body when rendered), so that a PUT can replace the former without losing
allocated IPs, principal IDs, workspace URLs and the like.
"""
from __future__ import annotations

import copy
import ipaddress
import itertools
import threading
import time
from dataclasses import dataclass, field

from .config import utc_iso
from .protocol import new_guid


@dataclass
class Resource:
    id: str                 # canonical ID, names in the casing used at creation
    type_name: str          # canonical type, e.g. Microsoft.Network/virtualNetworks/subnets
    name: str
    api_version: str
    body: dict              # client's desired state (sanitized)
    location: str | None = None
    computed: dict = field(default_factory=dict)
    state: str = "Succeeded"            # provisioningState
    etag: str = ""
    created: float = field(default_factory=time.time)
    changed: float = field(default_factory=time.time)
    created_by: str = ""
    changed_by: str = ""
    writeonly: list = field(default_factory=list)
    parent_id: str | None = None        # nested resources
    scope_id: str = ""                  # subscription / RG / resource it hangs off
    seq: int = 0                        # creation order (inline child ordering)
    op_id: str | None = None            # operation in flight
    system: bool = False                # created by the service (blobServices/default, managed RG)
    extra: dict = field(default_factory=dict)   # per-type private state

    @property
    def key(self) -> str:
        return self.id.lower()

    def new_etag(self, weak: bool):
        g = new_guid()
        self.etag = f'W/"{g}"' if weak else f'"{g}"'
        self.changed = time.time()

    def snapshot(self) -> "Resource":
        return copy.deepcopy(self)


@dataclass
class Subscription:
    subscription_id: str
    tenant_id: str
    display_name: str
    registered: set = field(default_factory=set)   # lower(namespace) registered (when registration is required)
    # lower(object ID)s of the principals with a role in it; None: every principal of its tenant. Another
    # principal is refused with 403 AuthorizationFailed, as ARM refuses one with no role assignment there.
    principals: set | None = None

    def allows(self, object_id: str | None) -> bool:
        return self.principals is None or (object_id or "").lower() in self.principals

    def render(self):
        return {"id": f"/subscriptions/{self.subscription_id}", "authorizationSource": "RoleBased",
                "subscriptionId": self.subscription_id, "tenantId": self.tenant_id,
                "displayName": self.display_name, "state": "Enabled",
                "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01",
                                         "spendingLimit": "Off"}}


@dataclass
class Principal:
    object_id: str
    client_id: str
    tenant_id: str
    kind: str                 # 'ManagedIdentity' | 'ServicePrincipal'
    created: float            # wall clock (time.time)
    resource_id: str | None = None


class Store:
    def __init__(self):
        self.lock = threading.RLock()
        self.clear()

    def clear(self):
        self.resources: dict[str, Resource] = {}
        # lower(parent ID) -> {child key: None}, in insertion order: children() without a scan of
        # the whole store (a VNet's render asks for its subnets and peerings, a peering's for the
        # remote VNet's peerings)
        self._kids: dict[str, dict[str, None]] = {}
        self.subscriptions: dict[str, Subscription] = {}
        self.principals: dict[str, Principal] = {}
        self.deleted_vaults: dict[str, dict] = {}       # lower(name) -> record
        self.ip_owners: dict[str, dict[str, str]] = {}   # lower(subnet id) -> {ip: owner}
        self._seq = itertools.count(1)
        self._public_ip = itertools.count(10)

    # -- resources ---------------------------------------------------------------------------
    def get(self, rid: str) -> Resource | None:
        return self.resources.get(rid.lower())

    def put(self, res: Resource):
        if not res.seq:
            res.seq = next(self._seq)
        self.resources[res.key] = res
        if res.parent_id:
            self._kids.setdefault(res.parent_id.lower(), {})[res.key] = None

    def remove(self, rid: str) -> Resource | None:
        res = self.resources.pop(rid.lower(), None)
        if res is not None and res.parent_id:
            self._kids.get(res.parent_id.lower(), {}).pop(res.key, None)
        return res

    def children(self, parent_id: str, type_name: str | None = None) -> list[Resource]:
        p = parent_id.lower()
        t = type_name.lower() if type_name is not None else None
        out = []
        for k in list(self._kids.get(p, ())):
            r = self.resources.get(k)
            if r is not None and r.parent_id and r.parent_id.lower() == p \
                    and (t is None or r.type_name.lower() == t):
                out.append(r)
        return sorted(out, key=lambda r: r.seq)

    def descendants(self, rid: str) -> list[Resource]:
        """Every resource whose ID starts with rid + '/' (children, extensions, RG content)."""
        prefix = rid.lower() + "/"
        return sorted((r for k, r in self.resources.items() if k.startswith(prefix)), key=lambda r: -len(r.id))

    def of_type(self, type_name: str) -> list[Resource]:
        t = type_name.lower()
        return sorted((r for r in self.resources.values() if r.type_name.lower() == t), key=lambda r: r.seq)

    def in_scope(self, scope_prefix: str) -> list[Resource]:
        p = scope_prefix.lower()
        return sorted((r for k, r in self.resources.items() if k.startswith(p)), key=lambda r: r.seq)

    # -- IP allocation -----------------------------------------------------------------------
    def allocate_private_ip(self, subnet: Resource, owner: str, wanted: str | None = None) -> str | None:
        """Lowest free address of the subnet from .4 on (Azure keeps .0-.3 and the broadcast)."""
        prefix = subnet.body.get("properties", {}).get("addressPrefix") or \
            (subnet.body.get("properties", {}).get("addressPrefixes") or [None])[0]
        if not prefix:
            return None
        try:
            net = ipaddress.ip_network(prefix, strict=False)
        except ValueError:
            return None
        used = self.ip_owners.setdefault(subnet.key, {})
        for ip, o in used.items():
            if o == owner:
                return ip
        if wanted:
            used[wanted] = owner
            return wanted
        first = int(net.network_address) + 4
        last = int(net.broadcast_address) - 1
        for n in range(first, last + 1):
            ip = str(ipaddress.ip_address(n))
            if ip not in used:
                used[ip] = owner
                return ip
        return None

    def release_ips(self, owner_prefix: str):
        p = owner_prefix.lower()
        for used in self.ip_owners.values():
            for ip in [ip for ip, o in used.items() if o.lower().startswith(p)]:
                del used[ip]

    def next_public_ip(self) -> str:
        n = next(self._public_ip)
        return f"20.{50 + n // 62500}.{(n // 250) % 250}.{n % 250 + 4}"

    # -- principals --------------------------------------------------------------------------
    def add_principal(self, p: Principal):
        self.principals[p.object_id.lower()] = p

    def principal(self, object_id: str) -> Principal | None:
        return self.principals.get((object_id or "").lower())

    def principal_by_client(self, client_id: str) -> Principal | None:
        c = (client_id or "").lower()
        for p in self.principals.values():
            if p.client_id.lower() == c:
                return p
        return None


def deep_merge(dst: dict, src: dict) -> dict:
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            deep_merge(dst[k], v)
        else:
            dst[k] = copy.deepcopy(v)
    return dst


def system_data(res: Resource) -> dict:
    return {"createdBy": res.created_by or "emulator", "createdByType": "Application",
            "createdAt": utc_iso(res.created), "lastModifiedBy": res.changed_by or "emulator",
            "lastModifiedByType": "Application", "lastModifiedAt": utc_iso(res.changed)}
