"""Orphan audit for the end-to-end suites: after each Terraform step, every
ARM resource in a test's resource groups must be accounted for by the
Terraform states of the workspaces working against that emulator. A
resource Azure has and no state knows is an orphan: nothing will ever
update or delete it, and the next apply may trip over it.

Accounted for:
  - listed in some resource instance's `underlying_resources` (tainted
    instances included), or a child of one (subnets, keys, blob services,
    role assignments and diagnostic settings on it, zone records...);
  - a resource shared by parts (`<ID>#<item>,<item>`, spokes' rule
    collections in a shared rule collection group): each of its items must
    be some state's part, else `<ID>#<item>` is an orphan (a rule collection
    group no state lists whole is such a resource, parts or not);
  - the network interface Azure made for a listed private endpoint;
  - what existed when the first workspace was attached (the test's own
    fixtures: resource groups, Log Analytics, a seeded spoke network), and
    what Azure itself made under it (records in a seeded zone).

Use: `hub_env.use_emulator(ws, emu_client, groups)` attaches the audit to a
workspace; `Workspace.run` then calls it after every apply, destroy, import
and refresh and collects what it finds in `ws.orphans`, which conftest.py
fails the test on. A new composite needs nothing here: its state's
`underlying_resources` is all the audit reads.
"""
from __future__ import annotations

import json
from pathlib import Path

_AUDITS: dict[int, "OrphanAudit"] = {}

# Steps that can change what exists in Azure or what the state knows.
STEPS = ("apply", "destroy", "import", "refresh")


def audit_for(client) -> "OrphanAudit":
    """The audit of the emulator `client` talks to (one per emulator: every
    workspace on it counts, as one test's resources may be in another
    workspace's state)."""
    a = _AUDITS.get(id(client))
    if a is None:  # the audit keeps the client alive: its id stays its own
        a = _AUDITS[id(client)] = OrphanAudit(client)
    return a


def _lower(ids) -> set[str]:
    return {i.lower() for i in ids if i}


def _under(rid: str, parents: set[str]) -> bool:
    """rid is one of parents or lies below one (prefix + '/')."""
    p = rid
    while p:
        if p in parents:
            return True
        cut = p.rfind("/")
        p = p[:cut] if cut > 0 else ""
    return False


def state_ids(state_file: Path) -> set[str]:
    """Every underlying resource ID a Terraform state file lists (lower case; parts as
    `<ID>#<items>`)."""
    try:
        st = json.loads(state_file.read_text())
    except (OSError, ValueError):
        return set()
    out = set()
    for res in st.get("resources", []):
        for inst in res.get("instances", []):
            ur = (inst.get("attributes") or {}).get("underlying_resources") or {}
            if isinstance(ur, dict):
                out |= _lower(v for v in ur.values() if isinstance(v, str))
    return out


class OrphanAudit:
    def __init__(self, client):
        self.client = client
        self.groups: set[str] = set()
        self.baseline: set[str] | None = None
        self.workspaces: list = []

    def watch(self, ws, groups) -> "OrphanAudit":
        """Audit ws from now on, over the resource groups `groups` (IDs)."""
        self.groups |= _lower(groups)
        if ws not in self.workspaces:
            self.workspaces.append(ws)
        known = self._known()
        self.baseline = (self.baseline or set()) | {
            r["id"].lower() for r in self._resources() if not _under(r["id"].lower(), known)}
        return self

    def allow(self, *ids: str) -> None:
        """Resources a test makes outside Terraform after attaching."""
        self.baseline = (self.baseline or set()) | _lower(ids)

    def _resources(self) -> list[dict]:
        store = self.client.control("GET", "store").json()
        return [r for r in store["resources"] if _under(r["id"].lower(), self.groups)
                and r["id"].lower() not in self.groups]

    def _known(self) -> set[str]:
        out = set()
        for ws in self.workspaces:
            out |= state_ids(ws.dir / "terraform.tfstate")
        return out

    @staticmethod
    def _parts(known: set[str]) -> dict[str, set[str]]:
        """Shared resource ID -> the item names the states' parts own (lower case)."""
        out: dict[str, set[str]] = {}
        for k in known:
            base, sep, items = k.partition("#")
            if sep:
                out.setdefault(base, set()).update(i for i in items.split(",") if i)
        return out

    def orphans(self) -> list[str]:
        """IDs (as Azure spells them) no state accounts for."""
        resources = self._resources()
        known = self._known()
        parts = self._parts(known)
        base = self.baseline or set()
        nics = set()
        for r in resources:
            if r["type"].lower() == "microsoft.network/privateendpoints" and r["id"].lower() in known:
                for n in ((r.get("resource") or {}).get("properties") or {}).get("networkInterfaces") or []:
                    nics.add(str(n.get("id", "")).lower())
        out = []
        for r in resources:
            rid = r["id"].lower()
            shared = rid in parts or r["type"].lower() == "microsoft.network/firewallpolicies/rulecollectiongroups"
            if shared and rid not in known and rid not in base:
                items = ((r.get("resource") or {}).get("properties") or {}).get("ruleCollections") or []
                out += [f"{r['id']}#{i.get('name')}" for i in items
                        if str(i.get("name", "")).lower() not in parts.get(rid, set())
                        and f"{rid}#{str(i.get('name', '')).lower()}" not in base]
                continue
            if rid in base or _under(rid, known) or rid in nics:
                continue
            if r.get("system") and _under(rid, base):
                continue
            out.append(r["id"])
        return sorted(out)

    def __call__(self, ws, step: str) -> list[str]:
        """After `step` of ws: one line per orphan."""
        return [f"after `{step}`: {rid} exists in Azure but no Terraform state lists it "
                f"(underlying_resources)" for rid in self.orphans()]
