"""Storage accounts (global names, create-only settings, customer-managed keys) and their blob service."""
from __future__ import annotations

import uuid

from ..config import utc_iso
from ..protocol import ArmError
from ..resource_types import get_path
from ..store import Resource
from .cmk import cmk_changed, require_key_access
from .core import VALIDATE, WRITE, global_name_taken, hook


@hook(VALIDATE, "Microsoft.Storage/storageAccounts")
def _sa_validate(ctx, body):
    if ctx.existing is None and global_name_taken(ctx, ctx.type_name, ctx.name):
        raise ArmError(409, "StorageAccountAlreadyTaken", f"The storage account named {ctx.name} is already taken.")
    if ctx.existing is not None:
        for path in ("properties.isHnsEnabled", "properties.encryption.requireInfrastructureEncryption"):
            old, new = get_path(ctx.existing.body, path), get_path(body, path)
            if bool(old) != bool(new):
                raise ArmError(400, "InvalidRequestPropertyValue" if "Hns" not in path else "HnsCannotBeChanged",
                               f"The property '{path}' cannot be changed after the account is created.", target=path)
    kv = get_path(body, "properties.encryption.keyvaultproperties")
    uami = ctx.store.get(get_path(body, "properties.encryption.identity.userAssignedIdentity") or "")
    if isinstance(kv, dict) and uami is not None and cmk_changed(ctx, body, "properties.encryption"):
        require_key_access(ctx, get_path(uami.computed, "properties.principalId"), f"Identity {uami.name}",
                           kv.get("keyvaulturi"), kv.get("keyname"), 403, "KeyVaultAuthenticationFailure")


@hook(WRITE, "Microsoft.Storage/storageAccounts")
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
