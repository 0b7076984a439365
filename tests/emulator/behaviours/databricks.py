"""Azure Databricks workspaces: VNet injection, create-only settings, customer-managed keys, the managed resource
group and its DBFS root storage account."""
from __future__ import annotations

import random
import time
import uuid

from ..arm_ids import parse_id
from ..config import AZURE_DATABRICKS_APP_ID, first_party_object_id, utc_iso
from ..protocol import ArmError, new_guid
from ..resource_types import RefRule, get_path
from ..store import Principal, Resource
from .cmk import cmk_changed, require_key_access
from .core import REFS, REMOVED, RENDER, VALIDATE, VNETS, WORKSPACES, WRITE, hook


def ws_param(body, name):
    return get_path(body, f"properties.parameters.{name}.value")


def _workspace_subnet_refs(svc, ws: Resource):
    vnet = ws_param(ws.body, "customVirtualNetworkId")
    out = []
    if isinstance(vnet, str) and vnet:
        for pname in ("customPublicSubnetName", "customPrivateSubnetName"):
            sn = ws_param(ws.body, pname)
            if isinstance(sn, str) and sn:
                out.append((RefRule(f"properties.parameters.{pname}.value", must_exist=False), f"{vnet}/subnets/{sn}"))
    return out


@hook(RENDER, "Microsoft.Network/virtualNetworks/subnets")
def _subnet_service_association_links(svc, res, out):
    """A subnet a workspace is injected into shows the workspace's service association link."""
    sals = []
    for ws in svc.store.of_type(WORKSPACES):
        for rule, target in _workspace_subnet_refs(svc, ws):
            if target.lower() == res.key:
                sals.append({"name": f"{ws.name}-sal", "id": f"{res.id}/serviceAssociationLinks/{ws.name}-sal",
                             "type": "Microsoft.Network/virtualNetworks/subnets/serviceAssociationLinks",


                             "properties": {"linkedResourceType": "Microsoft.Databricks/workspaces",
                                            "link": ws.id, "provisioningState": "Succeeded"}})
    if sals:
        out.setdefault("properties", {})["serviceAssociationLinks"] = sals


@hook(REFS, "Microsoft.Databricks/workspaces")
def _ws_refs(svc, res):
    out = [(RefRule("properties.parameters.customVirtualNetworkId.value", blocks_delete=False,
                    target_types=(VNETS,)), v) for v in [ws_param(res.body, "customVirtualNetworkId")]
           if isinstance(v, str) and v]
    return out + _workspace_subnet_refs(svc, res)


_CREATE_ONLY_WS = ("properties.managedResourceGroupId", "properties.computeMode",
                   "properties.parameters.customVirtualNetworkId.value",
                   "properties.parameters.customPublicSubnetName.value",
                   "properties.parameters.customPrivateSubnetName.value",
                   "properties.parameters.requireInfrastructureEncryption.value")


@hook(VALIDATE, "Microsoft.Databricks/workspaces")
def _ws_validate(ctx, body):
    p = body.get("properties", {})
    mode = (p.get("computeMode") or "").lower()
    mrg = p.get("managedResourceGroupId")
    if mode == "hybrid" and not mrg:
        raise ArmError(400, "InvalidParameter", "The 'managedResourceGroupId' property is required for a workspace "
                                                "with computeMode 'Hybrid'.", target="properties.managedResourceGroupId")
    if mode == "serverless":
        bad = [k for k in ("managedResourceGroupId", "parameters", "requiredNsgRules", "accessConnector",
                           "defaultCatalog") if p.get(k) is not None]
        if bad:
            raise ArmError(400, "InvalidParameter", f"The property '{bad[0]}' is not allowed for a workspace with "
                                                    f"computeMode 'Serverless'.", target=f"properties.{bad[0]}")
    if (p.get("defaultStorageFirewall") or "").lower() == "enabled" and not get_path(p, "accessConnector.id"):
        raise ArmError(400, "InvalidParameter", "An access connector is required when defaultStorageFirewall is "
                                                "'Enabled': the workspace reaches its root storage through it.",
                       target="properties.accessConnector")
    if (p.get("publicNetworkAccess") or "").lower() == "disabled" and mode == "hybrid" and \
            (p.get("requiredNsgRules") or "AllRules").lower() == "allrules":
        raise ArmError(400, "InvalidParameter",
                       "When publicNetworkAccess is 'Disabled', requiredNsgRules must be 'NoAzureDatabricksRules'.",
                       target="properties.requiredNsgRules")
    if mrg:
        mp = parse_id(mrg)
        if mp is None or mp.special != "resourceGroup":
            raise ArmError(400, "InvalidParameter", f"'{mrg}' is not a valid resource group ID.",
                           target="properties.managedResourceGroupId")
        existing_rg = ctx.store.get(mrg)
        if existing_rg is not None and (existing_rg.body.get("managedBy") or "").lower() != ctx.rid.lower():
            raise ArmError(409, "InvalidParameter",
                           f"The managed resource group '{mrg}' already exists and is not managed by this workspace. "
                           f"Provide a resource group that does not exist.", target="properties.managedResourceGroupId")
    _ws_require_key_access(ctx, body)
    if ctx.existing is not None:
        for path in _CREATE_ONLY_WS:
            old, new = get_path(ctx.existing.body, path), get_path(body, path)
            if old != new and not (old is None and path.endswith("requireInfrastructureEncryption.value")
                                   and new is False):
                raise ArmError(400, "BadRequest",
                               f"The property '{path}' cannot be changed after the workspace is created "
                               f"(was '{old}', requested '{new}').", target=path)
    vnet = ws_param(body, "customVirtualNetworkId")
    if vnet:
        for pname in ("customPublicSubnetName", "customPrivateSubnetName"):
            sn = ws_param(body, pname)
            if not sn:
                raise ArmError(400, "InvalidParameter",
                               f"'{pname}' is required with customVirtualNetworkId.", target=f"properties.parameters."
                                                                                          f"{pname}")
            sid = f"{vnet}/subnets/{sn}"
            sub = ctx.store.get(sid)
            if sub is None:
                raise ArmError(400, "InvalidResourceReference",
                               f"Resource {sid} referenced by resource {ctx.rid} was not found.",
                               target=f"properties.parameters.{pname}")
            services = [(get_path(d, "properties.serviceName") or "").lower()
                        for d in get_path(sub.body, "properties.delegations", []) or []]
            if "microsoft.databricks/workspaces" not in services:
                raise ArmError(400, "SubnetMissingRequiredDelegation",
                               f"Subnet {sid} requires any of the following delegation(s) "
                               f"[Microsoft.Databricks/workspaces] to reference service association link "
                               f"{sid}/serviceAssociationLinks/{ctx.name}-sal.")
            if not get_path(sub.body, "properties.networkSecurityGroup.id"):
                raise ArmError(400, "InvalidParameter",
                               f"Subnet {sid} must have a network security group associated for VNet injection.")


def _ws_require_key_access(ctx, body):
    """Phase two of customer-managed keys: managed services are wrapped by the AzureDatabricks first-party app,
    the DBFS root by the workspace's storage identity (from prepareEncryption). Managed disks get their own
    identity with the encryption, so nothing to check for them yet."""
    ms = get_path(body, "properties.encryption.entities.managedServices.keyVaultProperties")
    if isinstance(ms, dict) and cmk_changed(ctx, body, "properties.encryption.entities.managedServices"):
        require_key_access(ctx, first_party_object_id(ctx.tenant, AZURE_DATABRICKS_APP_ID),
                           "The AzureDatabricks application", ms.get("keyVaultUri"), ms.get("keyName"), 403,
                            "KeyVaultAccessForbidden")
    dbfs = ws_param(body, "encryption")
    if isinstance(dbfs, dict) and (dbfs.get("keySource") or "").lower() == "microsoft.keyvault" and \
            cmk_changed(ctx, body, "properties.parameters.encryption"):
        sid = get_path(ctx.existing.computed, "properties.storageAccountIdentity.principalId") \
            if ctx.existing is not None else None
        if not sid:
            raise ArmError(400, "InvalidParameter", "Customer-managed keys for the DBFS root need the workspace "
                                                    "created with prepareEncryption first.",
                           target="properties.parameters.encryption")
        require_key_access(ctx, sid, "The workspace's storage identity", dbfs.get("keyvaulturi"),
                           dbfs.get("KeyName"), 403, "KeyVaultAccessForbidden")


@hook(WRITE, "Microsoft.Databricks/workspaces")
def _ws_write(ctx, res, created):
    c = res.computed.setdefault("properties", {})
    if "workspaceId" not in c:
        wsid = str(random.randint(10 ** 15, 10 ** 16 - 1))
        c["workspaceId"] = wsid
        c["workspaceUrl"] = f"adb-{wsid}.{random.randint(1, 19)}.azuredatabricks.net"
        c["createdDateTime"] = utc_iso()
        c["createdBy"] = {"oid": ctx.claims.get("oid"), "applicationId": ctx.claims.get("appid"),
                          "puid": "1003200000000000"}
    c["updatedBy"] = {"oid": ctx.claims.get("oid"), "applicationId": ctx.claims.get("appid"),
                      "puid": "1003200000000000"}
    c.setdefault("isUcEnabled", False)
    if ws_param(res.body, "prepareEncryption") and "storageAccountIdentity" not in c:
        pid = new_guid()
        c["storageAccountIdentity"] = {"principalId": pid, "tenantId": ctx.tenant, "type": "SystemAssigned"}
        ctx.store.add_principal(Principal(pid, new_guid(), ctx.tenant, "ManagedIdentity", time.time(), res.id))
    if get_path(res.body, "properties.encryption.entities.managedDisk") and "managedDiskIdentity" not in c:
        pid = new_guid()
        c["managedDiskIdentity"] = {"principalId": pid, "tenantId": ctx.tenant, "type": "SystemAssigned"}
    mrg = get_path(res.body, "properties.managedResourceGroupId")
    if created and mrg and ctx.store.get(mrg) is None:
        mp = parse_id(mrg)
        rg = Resource(id=f"/subscriptions/{mp.subscription.lower()}/resourceGroups/{mp.resource_group}",
                      type_name="Microsoft.Resources/resourceGroups", name=mp.resource_group,
                      api_version="2025-04-01", body={"managedBy": res.id, "tags": {}}, location=res.location,
                      scope_id=f"/subscriptions/{mp.subscription.lower()}", system=True)
        rg.new_etag(False)
        ctx.store.put(rg)
        res.extra["managed_rg"] = rg.id
    if res.extra.get("managed_rg"):
        _ws_root_storage(ctx, res)


def _ws_root_storage(ctx, ws: Resource):
    """The DBFS root storage account Databricks keeps in the managed resource group (name in the workspace's
    parameters.storageAccountName); firewalled (reachable only through private endpoints and the access connector)
    when defaultStorageFirewall is Enabled."""
    name = "dbstorage" + ws.extra.setdefault("sa", uuid.uuid4().hex[:13])
    sid = f"{ws.extra['managed_rg']}/providers/Microsoft.Storage/storageAccounts/{name}"
    firewall = (get_path(ws.body, "properties.defaultStorageFirewall") or "").lower() == "enabled"
    acls = {"defaultAction": "Deny" if firewall else "Allow", "bypass": "AzureServices", "ipRules": [],
            "virtualNetworkRules": [], "resourceAccessRules": []}
    connector = get_path(ws.body, "properties.accessConnector.id")
    if firewall and connector:
        acls["resourceAccessRules"] = [{"tenantId": ctx.tenant, "resourceId": connector}]
    sa = ctx.store.get(sid)
    if sa is None:
        versions = ctx.svc.lib.supported_versions("Microsoft.Storage/storageAccounts")
        sa = Resource(id=sid, type_name="Microsoft.Storage/storageAccounts", name=name,
                      api_version=versions[-1] if versions else "", location=ws.location,
                      scope_id=ws.extra["managed_rg"], system=True,
                      body={"kind": "StorageV2", "sku": {"name": "Standard_GRS"},
                            "tags": {"application": "databricks", "databricks-environment": "true"},
                            "properties": {"isHnsEnabled": False, "minimumTlsVersion": "TLS1_2",
                                           "supportsHttpsTrafficOnly": True, "allowBlobPublicAccess": False}})
        sa.new_etag(False)
        ctx.store.put(sa)
        n = name
        sa.computed["properties"] = {"primaryEndpoints": {g: f"https://{n}.{g}.core.windows.net/"
                                                          for g in ("blob", "dfs", "queue", "table", "file")},
                                     "primaryLocation": ws.location, "statusOfPrimary": "available",
                                     "creationTime": utc_iso()}
    sa.body["properties"]["networkAcls"] = acls
    sa.body["properties"]["publicNetworkAccess"] = "Enabled"
    dbfs = ws_param(ws.body, "encryption")
    if isinstance(dbfs, dict) and (dbfs.get("keySource") or "").lower() == "microsoft.keyvault":
        sa.computed["properties"]["encryption"] = {
            "keySource": "Microsoft.Keyvault", "identity": {},
            "keyvaultproperties": {"keyname": dbfs.get("KeyName"), "keyvaulturi": dbfs.get("keyvaulturi"),
                                   "keyversion": dbfs.get("keyversion")}}


@hook(RENDER, "Microsoft.Databricks/workspaces")
def _ws_render(svc, res, out):
    params = get_path(out, "properties.parameters")
    if isinstance(params, dict):
        for k, v in params.items():
            if isinstance(v, dict) and "value" in v:
                val = v["value"]
                v.setdefault("type", "Bool" if isinstance(val, bool) else "Object" if isinstance(val, dict)
                             else "String")
        params["resourceTags"] = {"type": "Object", "value": {"application": "databricks",
                                                               "databricks-environment": "true"}}
        params.setdefault("storageAccountName", {"type": "String",
                                                 "value": "dbstorage" + res.extra.setdefault(
                                                     "sa", uuid.uuid4().hex[:13])})
    if get_path(res.body, "properties.defaultStorageFirewall") is None:
        out.setdefault("properties", {})["defaultStorageFirewall"] = "Disabled"


@hook(REMOVED, "Microsoft.Databricks/workspaces")
def _ws_removed(svc, res):
    rg = svc.store.get(res.extra.get("managed_rg") or "")
    if rg is not None:
        svc.remove_resource(rg)
