"""Storage accounts (global names, create-only settings, customer-managed keys) and their blob service."""
from __future__ import annotations

import re
import uuid

from ..config import utc_iso
from ..protocol import ArmError
from ..resource_types import get_path
from ..store import Resource
from .cmk import cmk_changed, require_key_access, vault_is_recoverable
from .core import VALIDATE, WRITE, global_name_taken, hook


SA = "Microsoft.Storage/storageAccounts"


@hook(VALIDATE, SA)
def _sa_global_name(ctx, body):
    if ctx.existing is None and global_name_taken(ctx, ctx.type_name, ctx.name):
        raise ArmError(409, "StorageAccountAlreadyTaken", f"The storage account named {ctx.name} is already taken.")


@hook(VALIDATE, SA)
def _sa_create_only(ctx, body):
    if ctx.existing is None:
        return
    for path in ("properties.isHnsEnabled", "properties.encryption.requireInfrastructureEncryption"):
        old, new = get_path(ctx.existing.body, path), get_path(body, path)
        if bool(old) != bool(new):
            raise ArmError(400, "InvalidRequestPropertyValue" if "Hns" not in path else "HnsCannotBeChanged",
                           f"The property '{path}' cannot be changed after the account is created.", target=path)


def _cmk(body) -> dict | None:
    kv = get_path(body, "properties.encryption.keyvaultproperties")
    source = (get_path(body, "properties.encryption.keySource") or "").lower()
    return kv if isinstance(kv, dict) and source == "microsoft.keyvault" else None


@hook(VALIDATE, SA)
def _sa_cmk_identity_attached(ctx, body):
    """The identity named for the key must be one of the account's user-assigned identities."""
    uid = get_path(body, "properties.encryption.identity.userAssignedIdentity")
    attached = {u.lower() for u in (get_path(body, "identity.userAssignedIdentities") or {})}
    if _cmk(body) is not None and uid and uid.lower() not in attached:
        raise ArmError(400, "InvalidValuesForRequestParameters",
                       "Values for request parameters are invalid: properties.encryption.identity.")


@hook(VALIDATE, SA)
def _sa_cmk_vault_recoverable(ctx, body):
    kv = _cmk(body)
    if kv is not None and cmk_changed(ctx, body, "properties.encryption") and \
            not vault_is_recoverable(ctx.store, kv.get("keyvaulturi")):
        raise ArmError(400, "KeyVaultPolicyError", "Keyvault policy recoverable is not set")


@hook(VALIDATE, SA)
def _sa_cmk_key_access(ctx, body):
    kv = _cmk(body)
    uami = ctx.store.get(get_path(body, "properties.encryption.identity.userAssignedIdentity") or "")
    if kv is not None and uami is not None and cmk_changed(ctx, body, "properties.encryption"):
        require_key_access(ctx, get_path(uami.computed, "properties.principalId"), f"Identity {uami.name}",
                           kv.get("keyvaulturi"), kv.get("keyname"), 403, "KeyVaultAuthenticationFailure")


CONTAINER_NAME = re.compile(r"^(\$root|\$web|\$logs|[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62})$")


@hook(VALIDATE, SA + "/blobServices/containers")
def _container_name(ctx, body):
    """Lowercase letters, digits and single dashes, 3 to 63 characters, starting and ending alphanumeric."""
    if not CONTAINER_NAME.match(ctx.name):
        why = "length is not within the permissible limits" if not 3 <= len(ctx.name) <= 63 else \
            "contains invalid characters"
        raise ArmError(400, "InvalidResourceName", f"The specifed resource name {why}. Container name "
                                                   f"'{ctx.name}': 3-63 lowercase letters, digits and single "
                                                   f"dashes, starting and ending with a letter or digit.",
                       target="name")


@hook(WRITE, SA)
def _sa_write(ctx, res, created):
    c = res.computed.setdefault("properties", {})
    n = res.name
    c["primaryEndpoints"] = {"blob": f"https://{n}.blob.core.windows.net/", "queue": f"https://{n}.queue.core.windows.net/",
                             "table": f"https://{n}.table.core.windows.net/", "file": f"https://{n}.file.core.windows.net/",
                             "web": f"https://{n}.z6.web.core.windows.net/", "dfs": f"https://{n}.dfs.core.windows.net/"}
    c["primaryLocation"] = res.location
    c["statusOfPrimary"] = "available"
    c.setdefault("creationTime", utc_iso())
    kv = get_path(res.body, "properties.encryption.keyvaultproperties")
    if isinstance(kv, dict) and kv.get("keyvaulturi") and kv.get("keyname"):
        ver = kv.get("keyversion") or res.extra.setdefault("keyver", uuid.uuid4().hex)
        c.setdefault("encryption", {})["keyvaultproperties"] = {
            "currentVersionedKeyIdentifier": f"{kv['keyvaulturi'].rstrip('/')}/keys/{kv['keyname']}/{ver}",
            "lastKeyRotationTimestamp": utc_iso()}
    bs_id = f"{res.id}/blobServices/default"
    if ctx.store.get(bs_id) is None:
        bs = Resource(id=bs_id, type_name="Microsoft.Storage/storageAccounts/blobServices", name="default",
                      api_version=res.api_version, body={"properties": {}}, parent_id=res.id, scope_id=res.scope_id,
                      system=True)
        bs.new_etag(False)
        ctx.store.put(bs)
