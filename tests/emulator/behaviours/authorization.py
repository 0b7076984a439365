"""Role assignments: IDs, uniqueness, immutability, Entra replication delay."""
from __future__ import annotations

import re

from ..config import utc_iso
from ..protocol import ArmError
from .core import GUID_RE, VALIDATE, WRITE, hook


@hook(VALIDATE, "Microsoft.Authorization/roleAssignments")
def _ra_validate(ctx, body):
    if not GUID_RE.match(ctx.name):
        raise ArmError(400, "InvalidRoleAssignmentId",
                       f"The role assignment ID '{ctx.name}' is not valid. The role assignment ID must be a GUID.")
    p = body.get("properties", {})
    rd = p.get("roleDefinitionId") or ""
    if not re.match(r"^(/subscriptions/[^/]+)?(/resourceGroups/[^/]+)?/providers/Microsoft\.Authorization/"
                    r"roleDefinitions/[0-9a-fA-F-]{36}$", rd, re.I):
        raise ArmError(400, "InvalidRoleDefinitionId", f"The role definition ID '{rd}' is not valid.")
    pid = p.get("principalId") or ""
    scope = ctx.rid.split("/providers/Microsoft.Authorization/")[0]
    if ctx.existing is not None:
        old = ctx.existing.body.get("properties", {})
        if (old.get("principalId") or "").lower() != pid.lower() or \
                (old.get("roleDefinitionId") or "").rsplit("/", 1)[-1].lower() != rd.rsplit("/", 1)[-1].lower():
            raise ArmError(400, "RoleAssignmentUpdateNotPermitted",
                           "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.")
    for ra in ctx.store.of_type(ctx.type_name):
        if ra.key == ctx.rid.lower():
            continue
        rp = ra.body.get("properties", {})
        if ra.scope_id.lower() == scope.lower() and (rp.get("principalId") or "").lower() == pid.lower() and \
                (rp.get("roleDefinitionId") or "").rsplit("/", 1)[-1].lower() == rd.rsplit("/", 1)[-1].lower():
            raise ArmError(409, "RoleAssignmentExists",
                           f"The role assignment already exists. The ID of the existing role assignment is "
                           f"{ra.name}.", details=[{"code": "RoleAssignmentExists", "target": ra.id,
                                                    "message": "The role assignment already exists."}])
    principal = ctx.store.principal(pid)
    if principal is not None and ctx.existing is None:
        fault = ctx.svc.app.faults.propagation(ctx.req, principal, p.get("principalType"))
        if fault:
            raise ArmError(400, "PrincipalNotFound",
                           f"Principal {pid.replace('-', '')} does not exist in the directory {ctx.tenant}. Check "
                           f"that you have the correct principal ID. If you are creating this principal and then "
                           f"immediately assigning a role, this error might be related to a replication delay. In "
                           f"this case, set the role assignment principalType property to a value, such as "
                           f"ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype")


@hook(WRITE, "Microsoft.Authorization/roleAssignments")
def _ra_write(ctx, res, created):
    scope = res.id.split("/providers/Microsoft.Authorization/")[0]
    res.scope_id = scope
    p = res.body.setdefault("properties", {})
    if not p.get("principalType"):
        pr = ctx.store.principal(p.get("principalId"))
        p["principalType"] = "ServicePrincipal" if pr else "User"
    c = res.computed.setdefault("properties", {})
    c["scope"] = scope
    c.setdefault("createdOn", utc_iso())
    c["updatedOn"] = utc_iso()
    c.setdefault("createdBy", ctx.claims.get("oid"))
    c["updatedBy"] = ctx.claims.get("oid")
