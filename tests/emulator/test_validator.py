"""The body validator, on the real bodies of docs/azure-arm.md section 1 and on mutations of them."""
from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from . import validator
from .doc_bodies import BODIES
from .specs import default_library
from .validate import main as validate_main

LIB = default_library()
REPO = Path(__file__).resolve().parents[2]
# The fenced request bodies of the ARM reference's section 1, copied as they are.
DOC_BLOCKS = [(b["type"], b["body"]) for b in
              json.loads((Path(__file__).with_name("doc_blocks.json")).read_text())["blocks"]]


def rtv(type_name, version=None):
    kt = LIB.lookup(type_name)
    assert kt is not None, type_name
    if version is None:
        version = sorted(v for v, r in kt.versions.items() if r.in_manifest)[-1]
    return kt.versions[version]


def errors(type_name, body, version=None, **kw):
    return validator.validate(rtv(type_name, version), body, **kw).errors


@pytest.mark.parametrize("type_name,body", DOC_BLOCKS, ids=[t for t, _ in DOC_BLOCKS])
def test_doc_json_blocks_are_valid(type_name, body):
    assert errors(type_name, body) == []


def test_doc_has_the_expected_blocks():
    types = {t for t, _ in DOC_BLOCKS}
    assert {"Microsoft.Network/virtualNetworks", "Microsoft.Network/virtualNetworks/subnets",
            "Microsoft.Databricks/workspaces", "Microsoft.Network/privateDnsZones"} <= types


@pytest.mark.parametrize("type_name", sorted(BODIES))
def test_doc_table_bodies_are_valid(type_name):
    version = "2021-05-01-preview" if type_name == "Microsoft.Insights/diagnosticSettings" else None
    assert errors(type_name, BODIES[type_name], version) == []


def test_diagnostic_settings_body_does_not_fit_2016_version():
    errs = errors("Microsoft.Insights/diagnosticSettings", BODIES["Microsoft.Insights/diagnosticSettings"],
                  "2016-09-01")
    assert {e.path for e in errs} >= {"properties.logs[0].categoryGroup", "properties.metrics[0].timeGrain"}


def ws_body():
    return dict(next(b for t, b in DOC_BLOCKS if t == "Microsoft.Databricks/workspaces")) if DOC_BLOCKS else {
        "location": "westeurope", "sku": {"name": "premium"},
        "properties": {"computeMode": "Hybrid", "managedResourceGroupId": "/subscriptions/x/resourceGroups/m",
                       "publicNetworkAccess": "Disabled", "requiredNsgRules": "NoAzureDatabricksRules",
                       "parameters": {"enableNoPublicIp": {"value": True}}}}


def mutate(body, path, value=None, delete=False, rename=None):
    b = copy.deepcopy(body)
    parts = re.findall(r"[^.\[\]]+|\[\d+\]", path)
    cur = b
    for p in parts[:-1]:
        cur = cur[int(p[1:-1])] if p.startswith("[") else cur[p]
    last = parts[-1]
    key = int(last[1:-1]) if last.startswith("[") else last
    if delete:
        del cur[key]
    elif rename:
        cur[rename] = cur.pop(key)
    else:
        cur[key] = value
    return b


MUTATIONS = [
    # (type, body, mutation kwargs, expected error path, expected code)
    ("Microsoft.Databricks/workspaces", None, dict(path="properties.publicNetworkAccess",
                                                   rename="publicNetworkAcess"),
     "properties.publicNetworkAcess", "UnknownProperty"),
    ("Microsoft.Databricks/workspaces", None, dict(path="properties.computeMode", delete=True),
     "properties.computeMode", "MissingRequiredProperty"),
    ("Microsoft.Databricks/workspaces", None, dict(path="properties.publicNetworkAccess", value="Disable"),
     "properties.publicNetworkAccess", "InvalidPropertyValue"),
    ("Microsoft.Databricks/workspaces", None, dict(path="properties.parameters.enableNoPublicIp.value",
                                                   value="true"),
     "properties.parameters.enableNoPublicIp.value", "InvalidPropertyType"),
    ("Microsoft.Network/networkSecurityGroups", "nsg",
     dict(path="properties.securityRules[0].properties.priority", value="high"),
     "properties.securityRules[0].properties.priority", "InvalidPropertyType"),
    ("Microsoft.Network/networkSecurityGroups", "nsg",
     dict(path="properties.securityRules[0].properties.access", value="Permit"),
     "properties.securityRules[0].properties.access", "InvalidPropertyValue"),
    ("Microsoft.Network/networkSecurityGroups", "nsg",
     dict(path="properties.securityRules[0].properties.direction", delete=True),
     "properties.securityRules[0].properties.direction", "MissingRequiredProperty"),
    ("Microsoft.Network/virtualNetworks", "vnet", dict(path="properties.addressSpace.addressPrefixes",
                                                        value="10.10.0.0/16"),
     "properties.addressSpace.addressPrefixes", "InvalidPropertyType"),
    ("Microsoft.Network/firewallPolicies/ruleCollectionGroups", "rcg",
     dict(path="properties.ruleCollections[0].rules[0].ruleType", value="AppRule"),
     "properties.ruleCollections[0].rules[0].ruleType", "InvalidPropertyValue"),
    ("Microsoft.Network/firewallPolicies/ruleCollectionGroups", "rcg",
     dict(path="properties.ruleCollections[0].rules[0].targetFqdn", value=["x"]),
     "properties.ruleCollections[0].rules[0].targetFqdn", "UnknownProperty"),
    ("Microsoft.KeyVault/vaults", "kv", dict(path="properties.sku.family", delete=True),
     "properties.sku.family", "MissingRequiredProperty"),
    ("Microsoft.KeyVault/vaults", "kv", dict(path="properties.softDeleteRetentionInDays", value=True),
     "properties.softDeleteRetentionInDays", "InvalidPropertyType"),
    ("Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials", "fic",
     dict(path="properties.audiences", delete=True), "properties.audiences", "MissingRequiredProperty"),
    ("Microsoft.Storage/storageAccounts", "sa", dict(path="properties.minimumTlsVersion", value="TLS1_3x"),
     "properties.minimumTlsVersion", "InvalidPropertyValue"),
]


def body_for(kind, type_name):
    if kind is None:
        return ws_body()
    if kind == "nsg":
        return next(b for t, b in DOC_BLOCKS if t == "Microsoft.Network/networkSecurityGroups") if DOC_BLOCKS else \
            {"location": "westeurope", "properties": {"securityRules": [{"name": "r", "properties": {
                "priority": 4000, "direction": "Outbound", "access": "Deny", "protocol": "*"}}]}}
    if kind == "vnet":
        return {"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.10.0.0/16"]}}}
    return BODIES[type_name]


@pytest.mark.parametrize("type_name,kind,mut,path,code", MUTATIONS, ids=[m[3] for m in MUTATIONS])
def test_mutated_bodies_fail_with_the_right_path(type_name, kind, mut, path, code):
    body = mutate(body_for(kind, type_name), **mut)
    errs = errors(type_name, body)
    assert any(e.path == path and e.code == code for e in errs), [e.as_dict() for e in errs]


def test_read_only_properties_are_ignored_with_a_warning():
    body = copy.deepcopy(BODIES["Microsoft.Network/publicIPAddresses"])
    body["properties"]["provisioningState"] = "Succeeded"
    body["properties"]["resourceGuid"] = "00000000-0000-0000-0000-000000000000"
    body["id"] = "/subscriptions/x"
    res = validator.validate(rtv("Microsoft.Network/publicIPAddresses"), body)
    assert res.errors == []
    assert {w.path for w in res.warnings} == {"properties.provisioningState", "properties.resourceGuid"}
    assert "provisioningState" not in res.body["properties"] and "resourceGuid" not in res.body["properties"]


def test_case_mismatch_is_a_warning_and_canonicalised():
    body = {"location": "westeurope", "properties": {"AddressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}}
    res = validator.validate(rtv("Microsoft.Network/virtualNetworks"), body)
    assert res.errors == []
    assert res.warnings[0].code == "CaseMismatch"
    assert "addressSpace" in res.body["properties"]


def test_extensible_enum_modes():
    body = mutate(ws_body(), "properties.publicNetworkAccess", "Sometimes")
    t = rtv("Microsoft.Databricks/workspaces")
    assert validator.validate(t, body, enum_mode="strict").errors
    r = validator.validate(t, body, enum_mode="warn")
    assert not r.errors and r.warnings
    assert not validator.validate(t, body, enum_mode="spec").errors
    # a value differing only in case is accepted with a warning
    r = validator.validate(t, mutate(ws_body(), "properties.publicNetworkAccess", "disabled"))
    assert not r.errors and r.warnings[0].code == "CaseMismatch"


def test_additional_properties_allowed_where_declared():
    body = copy.deepcopy(BODIES["Microsoft.Resources/resourceGroups"])
    body["tags"] = {"any-key": "v", "cost-centre": "42"}
    assert errors("Microsoft.Resources/resourceGroups", body) == []
    body["tags"]["n"] = 5
    assert [e.path for e in errors("Microsoft.Resources/resourceGroups", body)] == ["tags.n"]


def test_string_pattern_and_integer_range():
    t = rtv("Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials")
    assert validator.validate_name(t, "ok-name")  == []
    assert validator.validate_name(t, "-bad") != []
    nsg = body_for("nsg", None)
    errs = errors("Microsoft.Network/networkSecurityGroups",
                  mutate(nsg, "properties.securityRules[0].properties.priority", 5000))
    # NSG rule priority is an int32 in the definitions (100-4096 is enforced by the service, not the spec)
    assert errs == []


def test_partial_validation_for_patch():
    t = rtv("Microsoft.KeyVault/vaults")
    assert validator.validate(t, {"properties": {"enablePurgeProtection": True}}, partial=True).errors == []
    assert validator.validate(t, {"properties": {"enablePurgeProtection": True}}).errors


# -- the CLI -----------------------------------------------------------------------------------------------------
def _log(tmp_path, entries):
    p = tmp_path / "log.jsonl"
    p.write_text("".join(json.dumps(e) + "\n" for e in entries))
    return str(p)


def _entry(path, body, api, method="PUT"):
    return {"seq": 1, "kind": "arm", "method": method, "path": path, "api_version": api, "body": body}


VNET_PATH = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v"


def test_cli_clean_log_exits_zero(tmp_path, capsys):
    log = _log(tmp_path, [_entry(VNET_PATH, body_for("vnet", None), "2025-09-01"),
                          {"seq": 2, "kind": "arm", "method": "GET", "path": VNET_PATH, "api_version": "2025-09-01"},
                          _entry(VNET_PATH, {"tags": {"a": "b"}}, "2025-09-01", "PATCH")])
    assert validate_main([log]) == 0
    assert "2 request bodies: 0 violation" in capsys.readouterr().err


def test_cli_flags_violations(tmp_path, capsys):
    bad = mutate(body_for("vnet", None), "properties.addressSpace", rename="adressSpace")
    log = _log(tmp_path, [_entry(VNET_PATH, bad, "2025-09-01"),
                          _entry(VNET_PATH, body_for("vnet", None), "2019-01-01"),
                          _entry(VNET_PATH, {"location": "x"}, "2025-09-01", "PATCH")])
    assert validate_main([log]) == 1
    out = capsys.readouterr().out
    assert "properties.adressSpace" in out and "2019-01-01" in out and "takes only 'tags'" in out


def test_cli_runs_as_module(tmp_path):
    log = _log(tmp_path, [_entry(VNET_PATH, {"location": 1}, "2025-09-01")])
    r = subprocess.run([sys.executable, "-m", "tests.emulator.validate", log], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 1, r.stderr
    assert "location" in r.stdout
    r = subprocess.run([sys.executable, "-m", "tests.emulator.validate", str(tmp_path / "missing.jsonl")], cwd=REPO,
                       capture_output=True, text=True)
    assert r.returncode == 2
