"""Key Vault: vaults with soft delete and purge protection, deleted vaults, purge, keys."""
from __future__ import annotations

import copy
import time
import uuid

from ..config import utc_iso
from ..protocol import ArmError, Response, json_response
from ..resource_types import get_path
from .core import REMOVED, VALIDATE, WRITE, global_name_taken, hook, on_action


def _purge_expired(store, cfg):
    now = time.monotonic()
    for k in [k for k, v in store.deleted_vaults.items() if v["purge_at"] <= now]:
        del store.deleted_vaults[k]


@hook(VALIDATE, "Microsoft.KeyVault/vaults")
def _kv_validate(ctx, body):
    _purge_expired(ctx.store, ctx.svc.config)
    p = body.get("properties", {})
    mode = (p.get("createMode") or "default").lower()
    deleted = ctx.store.deleted_vaults.get(ctx.name.lower())
    if ctx.existing is None:
        if mode == "recover":
            if deleted is None:
                raise ArmError(404, "NotFound",
                               f"Vault '{ctx.name}' not found in deleted state; nothing to recover.")
        elif deleted is not None:
            raise ArmError(409, "ConflictError",
                           f"A vault with the same name already exists in deleted state. You need to either recover "
                           f"or purge existing key vault. Follow this link "
                           f"https://go.microsoft.com/fwlink/?linkid=2149745 for more information on soft delete. "
                           f"(Exist soft deleted vault with the same name: '{ctx.name}', scheduled purge date "
                           f"{deleted['record']['properties']['scheduledPurgeDate']}.)")
        if global_name_taken(ctx, ctx.type_name, ctx.name):
            raise ArmError(409, "VaultAlreadyExists",
                           f"The vault name '{ctx.name}' is already in use. Vault names are globally unique so it is "
                           f"possible that the name is already taken. If you are sure that the vault name was not "


                           f"taken then it is possible that a vault with the same name was recently deleted but not "
                           f"purged after being placed in a recoverable state.")
    else:
        if get_path(ctx.existing.body, "properties.enablePurgeProtection") and \
                p.get("enablePurgeProtection") is False:
            raise ArmError(400, "BadRequest", "The property \"enablePurgeProtection\" cannot be set to false. "
                                              "Enabling the purge protection for a vault is an irreversible action.")
        if get_path(ctx.existing.body, "properties.enablePurgeProtection") and \
                "enablePurgeProtection" not in p:
            p["enablePurgeProtection"] = True
    if p.get("enableSoftDelete") is False:
        raise ArmError(400, "BadRequest", "The property \"enableSoftDelete\" cannot be set to false. Soft delete is "
                                          "always enabled for new vaults.")


@hook(VALIDATE, "Microsoft.KeyVault/vaults")
def _kv_keeps_rbac_setting(ctx, body):
    """enableRbacAuthorization defaults to true at create only: a later PUT without it keeps the vault's value."""
    p = body.setdefault("properties", {})
    if ctx.existing is not None and "enableRbacAuthorization" not in p:
        p["enableRbacAuthorization"] = get_path(ctx.existing.body, "properties.enableRbacAuthorization", True)


@hook(WRITE, "Microsoft.KeyVault/vaults")
def _kv_write(ctx, res, created):
    p = res.body.setdefault("properties", {})
    mode = (p.pop("createMode", None) or "default").lower()
    if created and mode == "recover":
        rec = ctx.store.deleted_vaults.pop(res.name.lower())
        res.body = copy.deepcopy(rec["body"])
        for snap in rec["children"]:
            ctx.store.put(snap)
    p = res.body.setdefault("properties", {})
    p.setdefault("enableSoftDelete", True)
    p.setdefault("softDeleteRetentionInDays", 90)
    p.setdefault("enableRbacAuthorization", True)
    res.computed.setdefault("properties", {})["vaultUri"] = f"https://{res.name}.vault.azure.net/"
    res.computed["properties"]["hsmPoolResourceId"] = None


@hook(REMOVED, "Microsoft.KeyVault/vaults/keys")
def _key_removed(svc, res):
    svc.store.__dict__.setdefault("_kv_orphans", {}).setdefault(res.parent_id.lower(), []).append(res)


@hook(REMOVED, "Microsoft.KeyVault/vaults")
def _kv_removed(svc, res):
    kids = svc.store.__dict__.setdefault("_kv_orphans", {}).pop(res.key, [])
    p = res.body.get("properties", {})
    days = p.get("softDeleteRetentionInDays") or 90
    sub = res.id.split("/")[2]
    now_wall = time.time()
    record = {"id": f"/subscriptions/{sub}/providers/Microsoft.KeyVault/locations/{res.location}/deletedVaults/"
                    f"{res.name}",
              "name": res.name, "type": "Microsoft.KeyVault/deletedVaults",
              "properties": {"vaultId": res.id, "location": res.location, "deletionDate": utc_iso(now_wall),
                             "scheduledPurgeDate": utc_iso(now_wall + days * 86400), "tags": res.body.get("tags") or {},
                             "purgeProtectionEnabled": bool(p.get("enablePurgeProtection"))}}
    svc.store.deleted_vaults[res.name.lower()] = {
        "record": record, "body": copy.deepcopy(res.body), "children": kids, "subscription": sub.lower(),
        "purge_protection": bool(p.get("enablePurgeProtection")),
        "purge_at": time.monotonic() + svc.config.wall(days * 86400)}


def keyvault_deleted(svc, req, ap) -> Response:
    """GET /subscriptions/{s}/providers/Microsoft.KeyVault/deletedVaults and .../locations/{l}/deletedVaults/{n}."""
    _purge_expired(svc.store, svc.config)
    if req.method != "GET":
        raise ArmError(405, "MethodNotAllowed", "Only GET is supported on deleted vaults.")
    sub = ap.subscription.lower()
    recs = [v for v in svc.store.deleted_vaults.values() if v["subscription"] == sub]
    if ap.is_collection:
        return svc._list([copy.deepcopy(v["record"]) for v in recs], req)
    v = svc.store.deleted_vaults.get(ap.name.lower())
    if v is None or v["subscription"] != sub:
        raise ArmError(404, "ResourceNotFound", f"The Resource 'Microsoft.KeyVault/deletedVaults/{ap.name}' was not "
                                               f"found.")
    return json_response(200, copy.deepcopy(v["record"]))


@hook(VALIDATE, "Microsoft.KeyVault/vaults/keys")
def _key_validate(ctx, body):
    pass


@hook(WRITE, "Microsoft.KeyVault/vaults/keys")
def _key_write(ctx, res, created):
    if not created and res.extra.get("frozen"):
        # ARM PUT only creates the first version; on an existing key it returns it unchanged.
        res.body = res.extra["frozen"]
        return
    vault = ctx.parent
    ver = uuid.uuid4().hex
    base = f"https://{vault.name}.vault.azure.net/keys/{res.name}"
    now = int(time.time())
    purge = bool(get_path(vault.body, "properties.enablePurgeProtection"))
    res.computed = {"properties": {
        "keyUri": base, "keyUriWithVersion": f"{base}/{ver}",
        "attributes": {"enabled": True, "created": now, "updated": now, "exportable": False,
                       "recoveryLevel": "Recoverable" if purge else "Recoverable+Purgeable"}}}
    res.body.setdefault("properties", {}).setdefault("attributes", {})
    res.body["properties"]["attributes"].setdefault("enabled", True)
    res.extra["frozen"] = copy.deepcopy(res.body)


@on_action("Microsoft.KeyVault/locations/deletedVaults", "purge")
def _purge(svc, req, ap, claims) -> Response:
    svc._subscription(ap.subscription)
    _purge_expired(svc.store, svc.config)
    rec = svc.store.deleted_vaults.get(ap.name.lower())
    if rec is None or rec["subscription"] != ap.subscription.lower():
        raise ArmError(404, "ResourceNotFound", f"The Resource 'Microsoft.KeyVault/deletedVaults/{ap.name}' was "
                                               f"not found.")
    if rec["purge_protection"]:
        raise ArmError(409, "ConflictError",
                       f"Operation \"purge\" is not allowed because purge protection is enabled for this vault. "
                       f"Key Vault service will automatically purge it after the retention period has passed "
                       f"({rec['record']['properties']['scheduledPurgeDate']}).")

    def done(op, name=ap.name.lower()):
        if not op.error:
            svc.store.deleted_vaults.pop(name, None)

    op = svc.ops.start(kind="purge", resource_id=rec["record"]["id"], namespace="Microsoft.KeyVault",
                       location=rec["record"]["properties"]["location"], subscription=ap.subscription,
                       api_version=req.q("api-version"), duration_wall=svc.config.wall(30), on_done=done)
    from ..arm import _hdrs
    return Response(202, None, _hdrs(svc.lro_headers(op, async_header=False)))
