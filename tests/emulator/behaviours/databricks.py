"""Azure Databricks workspaces: VNet injection, create-only settings, customer-managed keys, the managed resource
group and its DBFS root storage account."""
from __future__ import annotations

import ipaddress
import random
import time
import uuid

from ..arm_ids import parse_id
from ..config import AZURE_DATABRICKS_APP_ID, first_party_object_id, utc_iso
from ..protocol import ArmError, new_guid
from ..resource_types import RefRule, get_path
from ..store import Principal, Resource
from .cmk import cmk_changed, require_key_access, vault_is_recoverable
from .core import REFS, REMOVED, RENDER, VALIDATE, VNETS, WORKSPACES, WRITE, hook
from .databricks_nip import injected_subnet_params, injected_subnets
from .network import subnet_prefixes, vnet_prefixes


def ws_param(body, name):
    return get_path(body, f"properties.parameters.{name}.value")


def _workspace_subnet_refs(svc, ws: Resource):
    return [(RefRule(f"properties.parameters.{pname}.value", must_exist=False), sid)
            for pname, sid in injected_subnet_params(ws.body)]


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


WS = "Microsoft.Databricks/workspaces"


def _props(body) -> dict:
    return body.get("properties", {})


@hook(VALIDATE, WS)
def _ws_compute_mode(ctx, body):
    """Hybrid (classic) workspaces need a managed resource group; Serverless ones take no classic settings."""
    p = _props(body)
    mode = (p.get("computeMode") or "").lower()
    if mode == "hybrid" and not p.get("managedResourceGroupId"):
        raise ArmError(400, "InvalidParameter", "The 'managedResourceGroupId' property is required for a workspace "
                                                "with computeMode 'Hybrid'.", target="properties.managedResourceGroupId")
    if mode == "serverless":
        bad = [k for k in ("managedResourceGroupId", "parameters", "requiredNsgRules", "accessConnector",
                           "defaultCatalog") if p.get(k) is not None]
        if bad:
            raise ArmError(400, "InvalidParameter", f"The property '{bad[0]}' is not allowed for a workspace with "
                                                    f"computeMode 'Serverless'.", target=f"properties.{bad[0]}")


@hook(VALIDATE, WS)
def _ws_storage_firewall_needs_connector(ctx, body):
    p = _props(body)
    if (p.get("defaultStorageFirewall") or "").lower() == "enabled" and not get_path(p, "accessConnector.id"):
        raise ArmError(400, "InvalidParameter", "An access connector is required when defaultStorageFirewall is "
                                                "'Enabled': the workspace reaches its root storage through it.",
                       target="properties.accessConnector")


@hook(VALIDATE, WS)
def _ws_private_link_needs_no_databricks_rules(ctx, body):
    p = _props(body)
    if (p.get("publicNetworkAccess") or "").lower() == "disabled" and \
            (p.get("computeMode") or "").lower() == "hybrid" and \
            (p.get("requiredNsgRules") or "AllRules").lower() == "allrules":
        raise ArmError(400, "InvalidParameter",
                       "When publicNetworkAccess is 'Disabled', requiredNsgRules must be 'NoAzureDatabricksRules'.",
                       target="properties.requiredNsgRules")


@hook(VALIDATE, WS)
def _ws_managed_resource_group(ctx, body):
    mrg = _props(body).get("managedResourceGroupId")
    if not mrg:
        return
    mp = parse_id(mrg)
    if mp is None or mp.special != "resourceGroup":
        raise ArmError(400, "InvalidParameter", f"'{mrg}' is not a valid resource group ID.",
                       target="properties.managedResourceGroupId")
    existing_rg = ctx.store.get(mrg)
    if existing_rg is not None and (existing_rg.body.get("managedBy") or "").lower() != ctx.rid.lower():
        raise ArmError(409, "InvalidParameter",
                       f"The managed resource group '{mrg}' already exists and is not managed by this workspace. "
                       f"Provide a resource group that does not exist.", target="properties.managedResourceGroupId")


@hook(VALIDATE, WS)
def _ws_premium_features(ctx, body):
    """Customer-managed keys and the workspace storage firewall are Premium-plan features."""
    p = _props(body)
    wants = [name for name, on in (
        ("customer-managed keys for managed services", get_path(p, "encryption.entities.managedServices")),
        ("customer-managed keys for managed disks", get_path(p, "encryption.entities.managedDisk")),
        ("customer-managed keys for the DBFS root", ws_param(body, "prepareEncryption") or
         (ws_param(body, "encryption") or {}).get("keySource", "").lower() == "microsoft.keyvault"),
        ("the workspace storage firewall", (p.get("defaultStorageFirewall") or "").lower() == "enabled")) if on]
    sku = (get_path(body, "sku.name") or "").lower()
    if wants and sku != "premium":
        raise ArmError(400, "InvalidParameter", f"The workspace uses {wants[0]}, which requires the Premium pricing "
                                                f"tier (sku '{sku or 'none'}').", target="sku.name")


@hook(VALIDATE, WS)
def _ws_access_connector(ctx, body):
    """The access connector exists and holds the identity the workspace names."""
    ac = get_path(body, "properties.accessConnector")
    if not isinstance(ac, dict) or not ac.get("id"):
        return
    conn = ctx.store.get(ac["id"])
    if conn is None or conn.type_name.lower() != "microsoft.databricks/accessconnectors":
        raise ArmError(400, "InvalidResourceReference",
                       f"Resource {ac['id']} referenced by resource {ctx.rid} was not found. Please make sure that the "
                       f"referenced resource exists, and that both resources are in the same region.",
                       target="properties.accessConnector.id")
    kind = (ac.get("identityType") or "").lower()
    itype = (get_path(conn.body, "identity.type") or "").lower()
    uais = {u.lower() for u in (get_path(conn.body, "identity.userAssignedIdentities") or {})}
    if (kind == "systemassigned" and "systemassigned" not in itype) or \
            (kind == "userassigned" and (ac.get("userAssignedIdentityId") or "").lower() not in uais):
        raise ArmError(400, "InvalidParameter",
                       f"The access connector {ac['id']} does not have the {ac.get('identityType')} identity "
                       f"{ac.get('userAssignedIdentityId') or ''} the workspace names.".replace("  ", " "),
                       target="properties.accessConnector")


@hook(VALIDATE, WS)
def _ws_cmk_vault_recoverable(ctx, body):
    """Every key the workspace uses lives in a vault with soft delete and purge protection. The DBFS root is a
    storage account, so it answers as storage does."""
    p = _props(body)
    for entity in ("managedServices", "managedDisk"):
        uri = get_path(p, f"encryption.entities.{entity}.keyVaultProperties.keyVaultUri")
        if uri and cmk_changed(ctx, body, f"properties.encryption.entities.{entity}") and \
                not vault_is_recoverable(ctx.store, uri):
            raise ArmError(400, "InvalidParameter",
                           f"The key vault {uri} used for {entity} encryption must have soft delete and purge "
                           f"protection enabled.", target=f"properties.encryption.entities.{entity}")
    dbfs = ws_param(body, "encryption")
    if isinstance(dbfs, dict) and (dbfs.get("keySource") or "").lower() == "microsoft.keyvault" and \
            cmk_changed(ctx, body, "properties.parameters.encryption") and \
            not vault_is_recoverable(ctx.store, dbfs.get("keyvaulturi")):
        raise ArmError(400, "KeyVaultPolicyError", "Keyvault policy recoverable is not set")


@hook(VALIDATE, WS)
def _ws_create_only(ctx, body):
    if ctx.existing is None:
        return
    for path in _CREATE_ONLY_WS:
        old, new = get_path(ctx.existing.body, path), get_path(body, path)
        if old != new and not (old is None and path.endswith("requireInfrastructureEncryption.value")
                               and new is False):
            raise ArmError(400, "BadRequest",
                           f"The property '{path}' cannot be changed after the workspace is created "
                           f"(was '{old}', requested '{new}').", target=path)


def _injection(ctx, body):
    """(parameter name, subnet ID, subnet) for both injected subnets; refuses a missing name or subnet."""
    vnet = ws_param(body, "customVirtualNetworkId")
    out = []
    for pname in ("customPublicSubnetName", "customPrivateSubnetName"):
        sn = ws_param(body, pname)
        if not sn:
            raise ArmError(400, "InvalidParameter", f"'{pname}' is required with customVirtualNetworkId.",
                           target=f"properties.parameters.{pname}")
        sid = f"{vnet}/subnets/{sn}"
        sub = ctx.store.get(sid)
        if sub is None:
            raise ArmError(400, "InvalidResourceReference",
                           f"Resource {sid} referenced by resource {ctx.rid} was not found.",
                           target=f"properties.parameters.{pname}")
        out.append((pname, sid, sub))
    return out


@hook(VALIDATE, WS)
def _ws_subnets_delegated_with_nsg(ctx, body):
    if not ws_param(body, "customVirtualNetworkId"):
        return
    for pname, sid, sub in _injection(ctx, body):
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


@hook(VALIDATE, WS)
def _ws_injection_sizes(ctx, body):
    """The VNet's address space between /16 and /24, each workspace subnet /26 or larger."""
    vnet_id = ws_param(body, "customVirtualNetworkId")
    if not vnet_id or ctx.existing is not None:
        return
    vnet = ctx.store.get(vnet_id)
    for prefix in vnet_prefixes(vnet.body if vnet else {}):
        if not 16 <= ipaddress.ip_network(prefix, strict=False).prefixlen <= 24:
            raise ArmError(400, "InvalidParameter",
                           f"The address space {prefix} of virtual network {vnet_id} is not supported: Azure "
                           f"Databricks needs a CIDR block between /16 and /24.",
                           target="properties.parameters.customVirtualNetworkId")
    for pname, sid, sub in _injection(ctx, body):
        for prefix in subnet_prefixes(sub.body):
            if ipaddress.ip_network(prefix, strict=False).prefixlen > 26:
                raise ArmError(400, "InvalidParameter",
                               f"Subnet {sid} ({prefix}) is too small: Azure Databricks needs host and container "
                               f"subnets of /26 or larger.", target=f"properties.parameters.{pname}")


@hook(VALIDATE, WS)
def _ws_subnets_not_shared(ctx, body):
    """Two distinct subnets, neither used by another workspace."""
    if not ws_param(body, "customVirtualNetworkId") or ctx.existing is not None:
        return
    subnets = [sid.lower() for _, sid, _ in _injection(ctx, body)]
    if subnets[0] == subnets[1]:
        raise ArmError(400, "InvalidParameter", "The host (public) and container (private) subnets must be "
                                                "different subnets.", target="properties.parameters")
    for other in ctx.store.of_type(WORKSPACES):
        shared = [s for s in injected_subnets(other.body) if s.lower() in subnets]
        if other.key != ctx.rid.lower() and shared:
            raise ArmError(400, "InvalidParameter",
                           f"Subnet {shared[0]} is already used by workspace {other.id}: subnets cannot be shared "
                           f"between workspaces.", target="properties.parameters")


@hook(VALIDATE, WS)
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
