"""Hook tables, the request context and the dispatch arm.py calls; values every type gets (resource GUIDs,
system-assigned identities, user-assigned identity views).

Hooks (all called with the store lock held):
  validate(ctx, body)           before anything is written; raise ArmError to refuse
  validate_inline(ctx, plan)    inline children of a parent PUT (subnets in a VNet PUT)
  on_write(ctx, res, created)   after the resource is stored: fill ``res.computed``
  on_provisioned(svc, res)      when the PUT's operation succeeded
  render(svc, res, out)         add read-only views computed from other resources
  extra_refs(svc, res)          references that are not plain ID properties
  pre_delete(svc, req, res)     before a DELETE starts; raise to refuse
  on_removed(svc, res)          after the resource left the store
  action(svc, req, ap, claims)  POST {resource}/{action}, registered per (type, action)
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass

from ..protocol import ArmError, Response, new_guid
from ..store import Principal, Resource


SUBNETS = "microsoft.network/virtualnetworks/subnets"
VNETS = "microsoft.network/virtualnetworks"
WORKSPACES = "microsoft.databricks/workspaces"
VAULTS = "microsoft.keyvault/vaults"
KEYS = "microsoft.keyvault/vaults/keys"
UAMI = "microsoft.managedidentity/userassignedidentities"
ROLE_ASSIGNMENTS = "microsoft.authorization/roleassignments"

GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


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
    location: str | None = None     # the PUT's location, normalised ("westeurope")

    @property
    def store(self):
        return self.svc.store

    @property
    def tenant(self):
        sub = self.store.subscriptions.get((self.ap.subscription or "").lower())
        return sub.tenant_id if sub else self.svc.config.tenant_id


VALIDATE, INLINE, WRITE, PROV, RENDER, REFS, PREDEL, REMOVED, ACTIONS = ({} for _ in range(9))


def hook(table, *types):
    def deco(fn):
        for t in types:
            table.setdefault(t.lower(), []).append(fn)
        return fn
    return deco


def on_action(type_name: str, name: str):
    """Register the handler of POST {resource of type_name}/{name}."""
    def deco(fn):
        ACTIONS[(type_name.lower(), name.lower())] = fn
        return fn
    return deco


def _run(table, type_name, *args):
    for fn in table.get(type_name.lower(), []):
        fn(*args)


# -- dispatch used by arm.py -----------------------------------------------------------------------
def validate(ctx: Ctx, body: dict):
    _run(VALIDATE, ctx.type_name, ctx, body)


def validate_inline(ctx: Ctx, plan: dict):
    _run(INLINE, ctx.type_name, ctx, plan)


def on_write(ctx: Ctx, res: Resource, created: bool):
    _generic_computed(ctx, res, created)
    _run(WRITE, res.type_name, ctx, res, created)


def on_provisioned(svc, res: Resource):
    _run(PROV, res.type_name, svc, res)


def render(svc, res: Resource, out: dict):
    _render_uai(svc, res, out)
    _run(RENDER, res.type_name, svc, res, out)


def extra_refs(svc, res: Resource) -> list:
    out = []
    for fn in REFS.get(res.type_name.lower(), []):
        out.extend(fn(svc, res))
    return out


def pre_delete(svc, req, res: Resource):
    _run(PREDEL, res.type_name, svc, req, res)


def on_removed(svc, res: Resource):
    if res.extra.get("principal"):
        svc.store.principals.pop(res.extra["principal"].lower(), None)
    _run(REMOVED, res.type_name, svc, res)


# -- generic computed values -------------------------------------------------------------------------
def has_prop(rtv, *path):
    from ..arm import _has_prop
    return _has_prop(rtv, *path)


def _generic_computed(ctx: Ctx, res: Resource, created: bool):
    c = res.computed
    if has_prop(ctx.rtv, "properties", "resourceGuid") and "resourceGuid" not in c.get("properties", {}):
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


def global_name_taken(ctx, type_name, name):
    for r in ctx.store.of_type(type_name):
        if r.name.lower() == name.lower() and r.key != ctx.rid.lower():
            return r
    return None


def action(svc, req, ap, action_name: str, claims) -> Response:
    fn = ACTIONS.get((ap.full_type.lower(), action_name.lower()))
    if fn is None:
        raise ArmError(404, "NotFound", f"The action '{action_name}' on '{ap.full_type}' is not emulated.")
    return fn(svc, req, ap, claims)
