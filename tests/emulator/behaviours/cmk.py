"""Customer-managed keys: who may use a key, once the role assignment granting it has propagated."""
from __future__ import annotations

import time

from ..protocol import ArmError
from ..resource_types import get_path

# Roles whose data actions include keys/wrapKey + unwrapKey: Key Vault Crypto Service Encryption User, Crypto User,
# Crypto Officer, Administrator.
KEY_USER_ROLES = {"e147488a-f6f5-4113-8e2d-b22465e65bf6", "12338af0-0e69-4776-bea7-57ae8d297424",
                  "14b46e9e-c2b7-41b4-b07b-48a6ebf60603", "00482a5a-887f-4fb3-b363-3b7fe8e74483"}


def vault_of_uri(store, vault_uri: str):
    """The vault a URI (https://NAME.vault.azure.net/) names, or None."""
    host = (vault_uri or "").split("//", 1)[-1].split(".", 1)[0].lower()
    for v in store.of_type("Microsoft.KeyVault/vaults"):
        if v.name.lower() == host:
            return v
    return None


def _key_arm_id(ctx, vault_uri: str, key_name: str) -> str | None:
    """The ARM ID of a key named by its vault URI and name."""
    v = vault_of_uri(ctx.store, vault_uri)
    return f"{v.id}/keys/{key_name}" if v is not None else None


def vault_is_recoverable(store, vault_uri: str) -> bool:
    """Customer-managed keys need a vault with soft delete and purge protection (an unknown vault is not judged)."""
    v = vault_of_uri(store, vault_uri)
    if v is None:
        return True
    p = v.body.get("properties", {})
    return p.get("enableSoftDelete", True) is not False and bool(p.get("enablePurgeProtection"))


def _key_grant_age(ctx, principal_id: str, key_id: str) -> float | None:
    """Seconds since the oldest assignment letting the principal wrap/unwrap with the key was made (at the key,
    its vault, or any scope above); None if there is none."""
    key = key_id.lower()
    ages = []
    for ra in ctx.store.of_type("Microsoft.Authorization/roleAssignments"):
        p = ra.body.get("properties", {})
        scope = ra.scope_id.lower()
        if (p.get("principalId") or "").lower() == principal_id.lower() and \
                (p.get("roleDefinitionId") or "").rsplit("/", 1)[-1].lower() in KEY_USER_ROLES and \
                (key == scope or key.startswith(scope + "/")):
            ages.append(time.time() - ra.created)
    return max(ages) if ages else None


def require_key_access(ctx, principal_id: str | None, who: str, vault_uri: str, key_name: str, status, code):
    """A service about to wrap its data key with a customer key: the identity needs a key role on it, and the
    assignment must have propagated (rbac_propagation_seconds, scaled)."""
    key_id = _key_arm_id(ctx, vault_uri, key_name)
    if not principal_id or key_id is None:
        return
    cfg = ctx.svc.app.config
    age = _key_grant_age(ctx, principal_id, key_id)
    if age is None or age < cfg.wall(cfg.rbac_propagation_seconds):
        raise ArmError(status, code,
                       f"{who} (object ID {principal_id}) is not authorized to perform 'wrapKey' and 'unwrapKey' "
                       f"on key '{key_name}' in {vault_uri}. Grant it Key Vault Crypto Service Encryption User "
                       f"on the key; a new role assignment can take several minutes to take effect.")


def cmk_changed(ctx, body, path) -> bool:
    old = get_path(ctx.existing.body, path) if ctx.existing is not None else None
    return get_path(body, path) != old
