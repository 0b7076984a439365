"""User-assigned managed identities and their federated identity credentials."""
from __future__ import annotations

import time

from ..protocol import ArmError, new_guid
from ..store import Principal
from .core import RENDER, VALIDATE, WRITE, hook


@hook(WRITE, "Microsoft.ManagedIdentity/userAssignedIdentities")
def _uami_write(ctx, res, created):
    c = res.computed.setdefault("properties", {})
    if "principalId" not in c:
        c.update({"tenantId": ctx.tenant, "principalId": new_guid(), "clientId": new_guid()})
        res.extra["principal"] = c["principalId"]
        ctx.store.add_principal(Principal(c["principalId"], c["clientId"], ctx.tenant, "ManagedIdentity", time.time(),
                                          res.id))


@hook(RENDER, "Microsoft.ManagedIdentity/userAssignedIdentities")
def _uami_render(svc, res, out):
    out.setdefault("properties", {}).setdefault("isolationScope", "None")


@hook(VALIDATE, "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials")
def _fic_validate(ctx, body):
    p = body.get("properties", {})
    iss = p.get("issuer") or ""
    if not iss.startswith("https://"):
        raise ArmError(400, "BadRequest", f"Issuer '{iss}' must be a valid https URL.", target="properties.issuer")
    aud = p.get("audiences") or []
    if len(aud) != 1:
        raise ArmError(400, "BadRequest", "Exactly one audience must be specified.", target="properties.audiences")
    siblings = [k for k in ctx.store.children(ctx.parent.id, ctx.type_name) if k.key != ctx.rid.lower()]
    if len(siblings) >= 20 and ctx.existing is None:
        raise ArmError(400, "BadRequest", "A managed identity can have at most 20 federated identity credentials.")
    for k in siblings:
        kp = k.body.get("properties", {})
        if kp.get("issuer") == iss and kp.get("subject") == p.get("subject"):
            raise ArmError(409, "Conflict", f"A federated identity credential with the same issuer and subject already "
                                            f"exists: '{k.name}'.")


@hook(RENDER, "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials")
def _fic_render(svc, res, out):
    pass
