"""Service rules of FIDELITY.md: diagnostic settings, role assignments, storage containers and customer-managed key
prerequisites, Key Vault's RBAC setting, firewall policy limits."""
from __future__ import annotations

import copy
import uuid

from .conftest import net
from .doc_bodies import BODIES
from .test_rules_existing import _err, _vault

DIAG = "providers/Microsoft.Insights/diagnosticSettings"


def _law(emu, rg, name="law"):
    return emu.put_and_wait(f"{rg}/providers/Microsoft.OperationalInsights/workspaces/{name}",
                            BODIES["Microsoft.OperationalInsights/workspaces"])


def _diag(law_id, logs=(("categoryGroup", "allLogs"),), metrics=("AllMetrics",)):
    return {"properties": {"workspaceId": law_id, "logs": [{k: v, "enabled": True} for k, v in logs],
                           "metrics": [{"category": m, "enabled": True} for m in metrics]}}


def test_diagnostic_settings_rules(emu, rg):
    kv = _vault(emu, rg)
    laws = [_law(emu, rg, f"law{i}") for i in range(6)]
    assert emu.put(f"{kv['id']}/{DIAG}/d0", _diag(laws[0]["id"])).status_code in (200, 201)
    # the same sink for the same category through a second setting: 409, Azure's unwrapped body
    r = emu.put(f"{kv['id']}/{DIAG}/dup", _diag(laws[0]["id"], logs=(("category", "AuditEvent"),), metrics=()))
    assert r.status_code == 409, r.text
    assert r.json() == {"code": "Conflict", "message": f"Data sink '{laws[0]['id']}' is already used in diagnostic "
                        f"setting 'd0' for category 'AuditEvent'. Data sinks can't be reused in different settings "
                        f"on the same category for the same resource."}
    for i in range(1, 5):
        assert emu.put(f"{kv['id']}/{DIAG}/d{i}", _diag(laws[i]["id"])).status_code == 201
    r = emu.put(f"{kv['id']}/{DIAG}/d5", _diag(laws[5]["id"]))
    assert "5 diagnostic settings" in _err(r, 400, "BadRequest")["message"]
    assert emu.put(f"{kv['id']}/{DIAG}/d4", _diag(laws[4]["id"], metrics=())).status_code == 200   # update is fine
    # categories must exist for the type: a storage account has no logs of its own, its blob service has
    sa = f"{rg}/providers/Microsoft.Storage/storageAccounts/st{rg[-8:]}"
    emu.wait(emu.put(sa, {"location": "westeurope", "kind": "StorageV2", "sku": {"name": "Standard_LRS"},
                          "properties": {}}))
    _err(emu.put(f"{sa}/{DIAG}/d", _diag(laws[0]["id"], logs=(("category", "StorageWrite"),))), 400, "BadRequest")
    _err(emu.put(f"{sa}/{DIAG}/d", _diag(laws[0]["id"])), 400, "BadRequest")
    assert emu.put(f"{sa}/{DIAG}/d", _diag(laws[0]["id"], logs=(), metrics=("Transaction",))).status_code == 201
    err = _err(emu.put(f"{sa}/blobServices/default/{DIAG}/d", _diag(laws[0]["id"], logs=(("category", "Nope"),))),
               400, "BadRequest")
    assert err["message"] == "Category 'Nope' is not supported."
    assert emu.put(f"{sa}/blobServices/default/{DIAG}/d",
                   _diag(laws[0]["id"], logs=(("category", "StorageWrite"),))).status_code == 201


def _ra(emu, scope, role, principal, principal_type="ServicePrincipal"):
    props = {"roleDefinitionId": f"/subscriptions/{emu.subscription}/providers/Microsoft.Authorization/"
                                 f"roleDefinitions/{role}", "principalId": principal}
    if principal_type:
        props["principalType"] = principal_type
    return emu.put(f"{scope}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}", {"properties": props})


def test_role_definitions_and_principals_must_exist(emu, rg):
    reader = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
    uami = emu.put(f"{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-r",
                   {"location": "westeurope"}).json()["properties"]["principalId"]
    err = _err(_ra(emu, rg, "11111111-2222-3333-4444-555555555555", uami), 400, "RoleDefinitionDoesNotExist")
    assert err["message"] == "The specified role definition with ID '11111111-2222-3333-4444-555555555555' does " \
                             "not exist."
    ghost = str(uuid.uuid4())
    _err(_ra(emu, rg, reader, ghost, principal_type=None), 400, "PrincipalNotFound")
    assert _ra(emu, rg, reader, ghost).status_code == 201          # with principalType ARM does not look it up
    assert _ra(emu, rg, reader, uami, principal_type=None).status_code == 201
    custom = f"/subscriptions/{emu.subscription}/providers/Microsoft.Authorization/roleDefinitions/{uuid.uuid4()}"
    emu.control("POST", "resources", {"id": custom, "body": {"properties": {"roleName": "custom"}}}).raise_for_status()
    assert _ra(emu, rg, custom.rsplit("/", 1)[1], uami).status_code == 201


def test_container_names(emu, rg):
    sa = f"{rg}/providers/Microsoft.Storage/storageAccounts/st{rg[-8:]}"
    emu.wait(emu.put(sa, {"location": "westeurope", "kind": "StorageV2", "sku": {"name": "Standard_LRS"},
                          "properties": {}}))
    for bad in ("Linux_Disk", "a--b", "ab", "abc-", "x" * 64):
        err = _err(emu.put(f"{sa}/blobServices/default/containers/{bad}", {"properties": {}}), 400,
                   "InvalidResourceName")
        assert bad in err["message"]
    for good in ("raw", "a-b-c", "$web", "x" * 63):
        assert emu.put(f"{sa}/blobServices/default/containers/{good}", {"properties": {}}).status_code == 201


def _cmk_account(uami_id, vault_uri, attached=True):
    body = copy.deepcopy(BODIES["Microsoft.Storage/storageAccounts"])
    body["identity"]["userAssignedIdentities"] = {uami_id: {}} if attached else {}
    if not attached:
        body["identity"] = {"type": "SystemAssigned"}
    body["properties"]["encryption"]["identity"]["userAssignedIdentity"] = uami_id
    body["properties"]["encryption"]["keyvaultproperties"]["keyvaulturi"] = vault_uri
    return body


def test_storage_cmk_prerequisites(emu, rg):
    emu.control("POST", "config", {"rbac_propagation_seconds": 0}).raise_for_status()
    uami = emu.put(f"{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-st",
                   {"location": "westeurope"}).json()
    sa = f"{rg}/providers/Microsoft.Storage/storageAccounts/st{rg[-8:]}"
    soft_only = copy.deepcopy(BODIES["Microsoft.KeyVault/vaults"])
    soft_only["properties"].pop("enablePurgeProtection")
    kv = emu.put_and_wait(f"{rg}/providers/Microsoft.KeyVault/vaults/kvs{rg[-8:]}", soft_only)
    emu.put_and_wait(kv["id"] + "/keys/cmk", BODIES["Microsoft.KeyVault/vaults/keys"])
    _err(emu.put(sa, _cmk_account(uami["id"], kv["properties"]["vaultUri"], attached=False)), 400,
         "InvalidValuesForRequestParameters")
    err = _err(emu.put(sa, _cmk_account(uami["id"], kv["properties"]["vaultUri"])), 400, "KeyVaultPolicyError")
    assert err["message"] == "Keyvault policy recoverable is not set"


def test_key_vault_keeps_its_rbac_setting(emu, rg):
    body = copy.deepcopy(BODIES["Microsoft.KeyVault/vaults"])
    body["properties"]["enableRbacAuthorization"] = False
    body["properties"]["accessPolicies"] = []
    kv = emu.put_and_wait(f"{rg}/providers/Microsoft.KeyVault/vaults/kvr{rg[-8:]}", body)
    assert kv["properties"]["enableRbacAuthorization"] is False
    body["properties"].pop("enableRbacAuthorization")
    emu.wait(emu.put(kv["id"], body))
    assert emu.get(kv["id"]).json()["properties"]["enableRbacAuthorization"] is False
    fresh = copy.deepcopy(body)
    assert emu.put_and_wait(f"{rg}/providers/Microsoft.KeyVault/vaults/kvn{rg[-8:]}",
                            fresh)["properties"]["enableRbacAuthorization"] is True


def test_firewall_policy_limits(emu, rg):
    emu.control("POST", "time-scale", {"scale": 0.00001}).raise_for_status()
    pol = emu.put_and_wait(f"{net(rg)}/firewallPolicies/fwp", BODIES["Microsoft.Network/firewallPolicies"])
    rcg = BODIES["Microsoft.Network/firewallPolicies/ruleCollectionGroups"]
    for i in range(90):
        b = copy.deepcopy(rcg)
        b["properties"]["priority"] = 200 + i
        assert emu.put(f"{pol['id']}/ruleCollectionGroups/g{i}", b).status_code == 201
        emu.control("POST", "operations/complete")
    err = _err(emu.put(f"{pol['id']}/ruleCollectionGroups/g90", rcg), 400,
               "FirewallPolicyRuleCollectionGroupLimitReached")
    assert "90" in err["message"]
    assert emu.put(f"{pol['id']}/ruleCollectionGroups/g0", rcg).status_code == 200      # updates are fine
    emu.control("POST", "operations/complete")
    big = copy.deepcopy(rcg)
    rules = big["properties"]["ruleCollections"][0]["rules"]
    rules[0]["targetFqdns"] = [f"host{i:06d}.example.com" for i in range(110000)]
    _err(emu.put(f"{pol['id']}/ruleCollectionGroups/g1", big), 400, "FirewallPolicyRuleCollectionGroupSizeLimitReached")


def test_firewall_policy_rule_limits(emu, rg):
    """20,000 source-destination combinations of network rules per policy (over all its groups);
    collection names unique in a group; a filter collection's rules of one type."""
    emu.control("POST", "time-scale", {"scale": 0.00001}).raise_for_status()
    pol = emu.put_and_wait(f"{net(rg)}/firewallPolicies/fwp", BODIES["Microsoft.Network/firewallPolicies"])

    def group(prio, combos, name="net"):
        # 1 protocol x 100 sources x `combos / 100` destinations x 1 port
        rule = {"ruleType": "NetworkRule", "name": "r", "ipProtocols": ["TCP"],
                "sourceAddresses": [f"10.0.{i}.0/24" for i in range(100)],
                "destinationAddresses": [f"10.1.{i // 250}.{i % 250}" for i in range(combos // 100)],
                "destinationPorts": ["443"]}
        return {"properties": {"priority": prio, "ruleCollections": [
            {"ruleCollectionType": "FirewallPolicyFilterRuleCollection", "name": name, "priority": 100,
             "action": {"type": "Allow"}, "rules": [rule]}]}}

    assert emu.put(f"{pol['id']}/ruleCollectionGroups/a", group(200, 12000)).status_code == 201
    emu.control("POST", "operations/complete")
    err = _err(emu.put(f"{pol['id']}/ruleCollectionGroups/b", group(300, 9000)), 400,
               "FirewallPolicyRuleLimitReached")
    assert "21000" in err["message"], err
    assert emu.put(f"{pol['id']}/ruleCollectionGroups/b", group(300, 8000)).status_code == 201
    emu.control("POST", "operations/complete")
    # an update counts the group once (its new rules replace its old ones)
    assert emu.put(f"{pol['id']}/ruleCollectionGroups/a", group(200, 12000)).status_code == 200
    emu.control("POST", "operations/complete")

    pol = emu.put_and_wait(f"{net(rg)}/firewallPolicies/fwp2", BODIES["Microsoft.Network/firewallPolicies"])
    mixed = copy.deepcopy(BODIES["Microsoft.Network/firewallPolicies/ruleCollectionGroups"])
    coll = mixed["properties"]["ruleCollections"][0]
    coll["rules"].append({"ruleType": "NetworkRule", "name": "n", "ipProtocols": ["TCP"],
                          "sourceAddresses": ["10.20.0.0/16"], "destinationAddresses": ["AzureDatabricks"],
                          "destinationPorts": ["443"]})
    _err(emu.put(f"{pol['id']}/ruleCollectionGroups/c", mixed), 400, "FirewallPolicyRuleCollectionRulesOfMixedTypes")
    twice = copy.deepcopy(BODIES["Microsoft.Network/firewallPolicies/ruleCollectionGroups"])
    twice["properties"]["ruleCollections"].append(copy.deepcopy(twice["properties"]["ruleCollections"][0]))
    _err(emu.put(f"{pol['id']}/ruleCollectionGroups/c", twice), 400, "FirewallPolicyRuleCollectionNameNotUnique")
