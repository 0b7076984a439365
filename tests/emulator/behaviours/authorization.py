"""Role assignments: IDs, uniqueness, immutability, Entra replication delay."""
from __future__ import annotations

import re

from ..config import utc_iso
from ..protocol import ArmError
from ..resource_types import get_path
from .core import GUID_RE, VALIDATE, WRITE, hook


RA = "Microsoft.Authorization/roleAssignments"

# Built-in role definitions the emulator knows (GUID -> name, from "Azure built-in roles"): the ones this platform
# and its tests grant, and the common ones around them. Custom roles: seed them (POST /__emulator/resources).
BUILTIN_ROLES = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "acdd72a7-3385-48ef-bd42-f606fba81ae7": "Reader",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168": "Role Based Access Control Administrator",
    "4d97b98b-1d4f-4787-a291-c67834d212e7": "Network Contributor",
    "b12aa53e-6015-4669-85d0-8515ebb3ae7f": "Private DNS Zone Contributor",
    "00482a5a-887f-4fb3-b363-3b7fe8e74483": "Key Vault Administrator",
    "14b46e9e-c2b7-41b4-b07b-48a6ebf60603": "Key Vault Crypto Officer",
    "12338af0-0e69-4776-bea7-57ae8d297424": "Key Vault Crypto User",
    "e147488a-f6f5-4113-8e2d-b22465e65bf6": "Key Vault Crypto Service Encryption User",
    "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
    "b86a8fe4-44ce-4948-aee5-eccb2c155cd7": "Key Vault Secrets Officer",
    "21090545-7ca7-4776-b22c-e363652d74d2": "Key Vault Reader",
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
    "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1": "Storage Blob Data Reader",
    "17d1049b-9a84-46fb-8f53-869881c3d3ab": "Storage Account Contributor",
    "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39": "Azure Service Bus Data Sender",
    "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0": "Azure Service Bus Data Receiver",
    "090c5cfd-751d-490a-894a-3ce6f1109419": "Azure Service Bus Data Owner",
    "7f951dda-4ed3-4680-a7ca-43fe172d538d": "AcrPull",
    "8311e382-0749-4cb8-b61a-304f252e45ec": "AcrPush",
    "f1a07417-d97a-45cb-824c-7a7467783830": "Managed Identity Operator",
    "e40ec5ca-96e0-45a2-b4ff-59039f2c2b59": "Managed Identity Contributor",
    "749f88d5-cbae-40b8-bcfc-e573ddc772fa": "Monitoring Contributor",
    "43d0d8ad-25c7-4714-9337-8ba259a9fe05": "Monitoring Reader",
    "92aaf0da-9dab-42b6-94a3-d43ce8d16293": "Log Analytics Contributor",
    "73c42c96-874c-492b-b04d-ab87d138a893": "Log Analytics Reader",
    "36243c78-bf99-498c-9df9-86d9f8d28608": "Resource Policy Contributor",
}
ROLE_DEF_RE = re.compile(r"^(/subscriptions/[^/]+)?(/resourceGroups/[^/]+)?/providers/Microsoft\.Authorization/"
                         r"roleDefinitions/[0-9a-fA-F-]{36}$", re.I)


def _role_guid(role_definition_id: str) -> str:
    return (role_definition_id or "").rsplit("/", 1)[-1].lower()


def _scope(rid: str) -> str:
    return rid.split("/providers/Microsoft.Authorization/")[0]


@hook(VALIDATE, RA)
def _ra_name_is_guid(ctx, body):
    if not GUID_RE.match(ctx.name):
        raise ArmError(400, "InvalidRoleAssignmentId",
                       f"The role assignment ID '{ctx.name}' is not valid. The role assignment ID must be a GUID.")


@hook(VALIDATE, RA)
def _ra_role_definition(ctx, body):
    """The role definition ID is well formed and names a role that exists (built-in, or seeded as custom)."""
    rd = get_path(body, "properties.roleDefinitionId") or ""
    if not ROLE_DEF_RE.match(rd):
        raise ArmError(400, "InvalidRoleDefinitionId", f"The role definition ID '{rd}' is not valid.")
    guid = _role_guid(rd)
    if guid not in BUILTIN_ROLES and not any(r.name.lower() == guid for r in
                                             ctx.store.of_type("Microsoft.Authorization/roleDefinitions")):
        raise ArmError(400, "RoleDefinitionDoesNotExist",
                       f"The specified role definition with ID '{guid}' does not exist.")


@hook(VALIDATE, RA)
def _ra_immutable(ctx, body):
    if ctx.existing is None:
        return
    old, new = ctx.existing.body.get("properties", {}), body.get("properties", {})
    if (old.get("principalId") or "").lower() != (new.get("principalId") or "").lower() or \
            _role_guid(old.get("roleDefinitionId")) != _role_guid(new.get("roleDefinitionId")):
        raise ArmError(400, "RoleAssignmentUpdateNotPermitted",
                       "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.")


@hook(VALIDATE, RA)
def _ra_unique(ctx, body):
    p = body.get("properties", {})
    pid, role, scope = (p.get("principalId") or "").lower(), _role_guid(p.get("roleDefinitionId")), \
        _scope(ctx.rid).lower()
    for ra in ctx.store.of_type(ctx.type_name):
        rp = ra.body.get("properties", {})
        if ra.key != ctx.rid.lower() and ra.scope_id.lower() == scope and \
                (rp.get("principalId") or "").lower() == pid and _role_guid(rp.get("roleDefinitionId")) == role:
            raise ArmError(409, "RoleAssignmentExists",
                           f"The role assignment already exists. The ID of the existing role assignment is "
                           f"{ra.name}.", details=[{"code": "RoleAssignmentExists", "target": ra.id,
                                                    "message": "The role assignment already exists."}])


def _principal_not_found(ctx, pid: str) -> ArmError:
    return ArmError(400, "PrincipalNotFound",
                    f"Principal {pid.replace('-', '')} does not exist in the directory {ctx.tenant}. Check "
                    f"that you have the correct principal ID. If you are creating this principal and then "
                    f"immediately assigning a role, this error might be related to a replication delay. In "
                    f"this case, set the role assignment principalType property to a value, such as "
                    f"ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype")


@hook(VALIDATE, RA)
def _ra_principal_exists(ctx, body):
    """ARM looks the principal up in the directory unless principalType says what it is; a lookup that finds
    nothing (an unknown ID, or one Entra has not replicated yet: fault 'propagation') is PrincipalNotFound."""
    if ctx.existing is not None:
        return
    p = body.get("properties", {})
    pid = p.get("principalId") or ""
    principal = ctx.store.principal(pid)
    if principal is None and not p.get("principalType"):
        raise _principal_not_found(ctx, pid)
    if principal is not None and ctx.svc.app.faults.propagation(ctx.req, principal, p.get("principalType")):
        raise _principal_not_found(ctx, pid)


SUB_ROLE_DEF_RE = re.compile(r"^/subscriptions/([^/]+)(/providers/Microsoft\.Authorization/roleDefinitions/[^/]+)$",
                             re.I)


def _role_in_scope_subscription(scope: str, rd: str) -> str:
    """ARM resolves a subscription-form role definition ID in the assignment's own subscription: one naming
    another subscription is accepted and answered (PUT, GET, lists) with the scope's subscription instead."""
    m, s = SUB_ROLE_DEF_RE.match(rd or ""), re.match(r"^/subscriptions/([^/]+)", scope, re.I)
    if not m or not s or m.group(1).lower() == s.group(1).lower():
        return rd
    return f"/subscriptions/{s.group(1)}{m.group(2)}"


@hook(WRITE, "Microsoft.Authorization/roleAssignments")
def _ra_write(ctx, res, created):
    scope = res.id.split("/providers/Microsoft.Authorization/")[0]
    res.scope_id = scope
    p = res.body.setdefault("properties", {})
    if p.get("roleDefinitionId"):
        p["roleDefinitionId"] = _role_in_scope_subscription(scope, p["roleDefinitionId"])
    if not p.get("principalType"):
        pr = ctx.store.principal(p.get("principalId"))
        p["principalType"] = "ServicePrincipal" if pr else "User"
    c = res.computed.setdefault("properties", {})
    c["scope"] = scope
    c.setdefault("createdOn", utc_iso())
    c["updatedOn"] = utc_iso()
    c.setdefault("createdBy", ctx.claims.get("oid"))
    c["updatedBy"] = ctx.claims.get("oid")
