"""Monitoring, cost and policy: the built-in definitions served read-only, set definitions and assignments
checked as ARM checks them, assignments listed with their ancestors, Deny enforced on PUT with ARM's
403 RequestDisallowedByPolicy, action group and activity log alert regions, budget rules."""
from __future__ import annotations

import time

POLICY = "/providers/Microsoft.Authorization"
REQUIRE_TAG = f"{POLICY}/policyDefinitions/871b6d14-10aa-478d-b590-94f262ecfa99"
ALLOWED_LOCATIONS = f"{POLICY}/policyDefinitions/e56962a6-4747-49cd-b67b-bf8b01975c4c"
KV_DIAGNOSTICS = f"{POLICY}/policyDefinitions/6b359d8f-f88d-4052-aa7c-32015963ecc1"


def _identity(emu, rg, name="id-x", tags=None):
    body = {"location": "westeurope"}
    if tags is not None:
        body["tags"] = tags
    return emu.put(f"{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}", body)


def _assign(emu, scope, name, definition, params=None, **extra):
    body = {"properties": {"policyDefinitionId": definition, "displayName": f"assignment {name}",
                           "parameters": {k: {"value": v} for k, v in (params or {}).items()}}}
    body["properties"].update(extra.pop("properties", {}))
    body.update(extra)
    return emu.put(f"{scope}{POLICY}/policyAssignments/{name}", body)


def test_builtin_definitions_are_served_read_only(emu):
    r = emu.get(REQUIRE_TAG)
    assert r.status_code == 200, r.text
    assert r.json()["properties"]["displayName"] == "Require a tag on resources"
    assert r.json()["properties"]["policyType"] == "BuiltIn"
    assert emu.put(REQUIRE_TAG, {"properties": {}}).status_code == 405
    r = emu.get(f"{POLICY}/policyDefinitions/00000000-0000-0000-0000-000000000000")
    assert r.status_code == 404 and r.json()["error"]["code"] == "PolicyDefinitionNotFound"
    names = {d["name"] for d in emu.get(f"{emu.sub_id()}{POLICY}/policyDefinitions").json()["value"]}
    assert "871b6d14-10aa-478d-b590-94f262ecfa99" in names


def test_set_definitions_need_existing_members_and_their_parameters(emu):
    sets = f"{emu.sub_id()}{POLICY}/policySetDefinitions"

    def put(refs):
        return emu.put(f"{sets}/guardrails", {"properties": {"displayName": "g", "policyDefinitions": refs}})

    r = put([{"policyDefinitionId": f"{POLICY}/policyDefinitions/00000000-0000-0000-0000-00000000dead"}])
    assert r.status_code == 404 and r.json()["error"]["code"] == "PolicyDefinitionNotFound", r.text
    r = put([{"policyDefinitionId": REQUIRE_TAG, "policyDefinitionReferenceId": "t"}])
    assert r.status_code == 400 and r.json()["error"]["code"] == "MissingPolicyParameter", r.text
    r = put([{"policyDefinitionId": REQUIRE_TAG, "parameters": {"tagName": {"value": "a"},
                                                                 "nope": {"value": 1}}}])
    assert r.status_code == 400 and r.json()["error"]["code"] == "UndefinedPolicyParameter", r.text
    r = put([{"policyDefinitionId": REQUIRE_TAG, "policyDefinitionReferenceId": "owner",
              "parameters": {"tagName": {"value": "owner"}}}])
    assert r.status_code == 201, r.text
    assert r.json()["properties"]["policyType"] == "Custom"


def test_assignments_check_parameters_and_identity(emu, rg):
    r = _assign(emu, rg, "loc", ALLOWED_LOCATIONS, {"listOfAllowedLocations": ["westeurope"], "effect": "deny"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "PolicyParameterValueNotAllowed", r.text
    assert "The allowed values are 'Audit, Deny, Disabled'" in r.json()["error"]["message"]
    r = _assign(emu, rg, "nodef", f"{POLICY}/policyDefinitions/00000000-0000-0000-0000-00000000dead")
    assert r.status_code == 404 and r.json()["error"]["code"] == "PolicyDefinitionNotFound"
    law = "/subscriptions/x/resourceGroups/y/providers/Microsoft.OperationalInsights/workspaces/z"
    r = _assign(emu, rg, "diag", KV_DIAGNOSTICS, {"logAnalytics": law})
    assert r.status_code == 400 and r.json()["error"]["code"] == "ResourceIdentityRequired", r.text
    r = _assign(emu, rg, "diag", KV_DIAGNOSTICS, {"logAnalytics": law}, identity={"type": "SystemAssigned"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "LocationRequired", r.text
    r = _assign(emu, rg, "diag", KV_DIAGNOSTICS, {"logAnalytics": law}, identity={"type": "SystemAssigned"},
                location="westeurope")
    assert r.status_code == 201, r.text
    assert r.json()["identity"]["principalId"] and r.json()["properties"]["scope"].lower() == rg.lower()
    # with the effect Disabled it needs no identity
    r = _assign(emu, rg, "diag2", KV_DIAGNOSTICS, {"logAnalytics": law, "effect": "Disabled"})
    assert r.status_code == 201, r.text


def test_assignment_lists_include_ancestors(emu, rg):
    sub = emu.sub_id()
    assert _assign(emu, sub, "at-sub", REQUIRE_TAG, {"tagName": "a"}).status_code == 201
    assert _assign(emu, rg, "at-rg", REQUIRE_TAG, {"tagName": "b"}).status_code == 201
    at_rg = emu.get(f"{rg}{POLICY}/policyAssignments", params={"$filter": "atScope()"}).json()["value"]
    assert {a["name"] for a in at_rg} == {"at-sub", "at-rg"}
    at_sub = emu.get(f"{sub}{POLICY}/policyAssignments", params={"$filter": "atScope()"}).json()["value"]
    assert {a["name"] for a in at_sub} == {"at-sub"}
    everything = emu.get(f"{sub}{POLICY}/policyAssignments").json()["value"]
    assert {a["name"] for a in everything} == {"at-sub", "at-rg"}


def test_deny_is_enforced_on_put(emu, rg):
    assert _assign(emu, rg, "tag-owner", REQUIRE_TAG, {"tagName": "owner"},
                   properties={"displayName": "Owners on everything"}).status_code == 201
    r = _identity(emu, rg, tags={"env": "x"})
    assert r.status_code == 403, r.text
    err = r.json()["error"]
    assert err["code"] == "RequestDisallowedByPolicy" and err["target"] == "id-x"
    assert err["message"].startswith("Resource 'id-x' was disallowed by policy. Policy identifiers: ")
    info = err["additionalInfo"][0]
    assert info["type"] == "PolicyViolation"
    assert info["info"]["policyAssignmentId"].lower() == f"{rg}{POLICY}/policyAssignments/tag-owner".lower()
    assert info["info"]["policyDefinitionId"] == REQUIRE_TAG
    assert info["info"]["policyDefinitionEffect"] == "Deny"
    assert info["info"]["policyAssignmentDisplayName"] == "Owners on everything"
    assert info["info"]["evaluationDetails"]["evaluatedExpressions"][0]["operator"] == "Exists"
    assert _identity(emu, rg, tags={"Owner": "me"}).status_code == 201      # tag names: any case
    # not a tracked type: Indexed definitions leave it alone
    assert emu.put(f"{rg}{POLICY}/locks/l1", {"properties": {"level": "CanNotDelete"}}).status_code in (200, 201)
    # DoNotEnforce: evaluated, never refused
    assert _assign(emu, rg, "tag-owner", REQUIRE_TAG, {"tagName": "owner"},
                   properties={"enforcementMode": "DoNotEnforce"}).status_code == 200
    assert _identity(emu, rg, "id-y").status_code == 201


def test_deny_through_a_set_names_the_set_and_the_reason(emu, rg):
    sets = f"{emu.sub_id()}{POLICY}/policySetDefinitions/zt"
    r = emu.put(sets, {"properties": {
        "displayName": "Zero trust", "parameters": {"allowed": {"type": "Array"}},
        "policyDefinitions": [{"policyDefinitionId": ALLOWED_LOCATIONS, "policyDefinitionReferenceId": "loc",
                               "parameters": {"listOfAllowedLocations": {"value": "[parameters('allowed')]"}}}]}})
    assert r.status_code == 201, r.text
    r = _assign(emu, emu.sub_id(), "zt", sets, {"allowed": ["northeurope"]},
                properties={"nonComplianceMessages": [{"message": "Europe North only."}]})
    assert r.status_code == 201, r.text
    r = _identity(emu, rg)
    assert r.status_code == 403, r.text
    err = r.json()["error"]
    assert "Reasons: 'Europe North only.'" in err["message"]
    info = err["additionalInfo"][0]["info"]
    assert info["policySetDefinitionId"].lower() == sets.lower() and info["policyDefinitionReferenceId"] == "loc"
    # notScopes exempt a group
    r = _assign(emu, emu.sub_id(), "zt", sets, {"allowed": ["northeurope"]}, properties={"notScopes": [rg]})
    assert r.status_code == 200, r.text
    assert _identity(emu, rg).status_code == 201


def test_action_groups_and_activity_log_alerts_live_in_their_regions(emu, rg):
    ag = f"{rg}/providers/Microsoft.Insights/actionGroups/ag"
    body = {"location": "westeurope", "properties": {"groupShortName": "ag", "enabled": True,
                                                     "emailReceivers": [{"name": "e", "emailAddress": "a@b.c"}]}}
    r = emu.put(ag, body)
    assert r.status_code == 400 and r.json()["error"]["code"] == "LocationNotAvailableForResourceType", r.text
    body["location"] = "global"
    r = emu.put(ag, body)
    assert r.status_code == 201, r.text
    assert r.json()["properties"]["emailReceivers"][0]["status"] == "Enabled"
    alert = f"{rg}/providers/Microsoft.Insights/activityLogAlerts/a"
    abody = {"properties": {"scopes": [emu.sub_id()], "condition": {"allOf": [
        {"field": "category", "equals": "Administrative"}]}, "actions": {"actionGroups": [{"actionGroupId": ag}]}}}
    r = emu.put(alert, abody)
    assert r.status_code == 400 and r.json()["error"]["code"] == "LocationRequired", r.text
    r = emu.put(alert, {**abody, "location": "eastus"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "LocationNotAvailableForResourceType"
    assert emu.put(alert, {**abody, "location": "Global"}).status_code == 201


def _month(offset: int) -> str:
    t = time.gmtime()
    m = t.tm_year * 12 + t.tm_mon - 1 + offset
    return f"{m // 12:04d}-{m % 12 + 1:02d}-01T00:00:00Z"


def test_budget_rules(emu):
    b = f"{emu.sub_id()}/providers/Microsoft.Consumption/budgets/b1"

    def body(start, notes=None, amount=1000):
        return {"properties": {"category": "Cost", "amount": amount, "timeGrain": "Monthly",
                               "timePeriod": {"startDate": start}, "notifications": notes or {
                                   "a": {"enabled": True, "operator": "GreaterThan", "threshold": 80,
                                         "contactEmails": ["a@b.c"]}}}}

    for start in (_month(0).replace("-01T", "-02T"), _month(-1), _month(13)):
        r = emu.put(b, body(start))
        assert r.status_code == 400 and r.json()["error"]["code"] == "BadRequest", (start, r.text)
    six = {f"n{i}": {"enabled": True, "operator": "GreaterThan", "threshold": 10 * i,
                     "contactEmails": ["a@b.c"]} for i in range(6)}
    assert emu.put(b, body(_month(0), six)).status_code == 400
    too_high = {"n": {"enabled": True, "operator": "GreaterThan", "threshold": 1001, "contactEmails": ["a@b.c"]}}
    assert emu.put(b, body(_month(0), too_high)).status_code == 400
    assert emu.put(b, body(_month(0))).status_code == 201
    r = emu.put(b, body(_month(1)))
    assert r.status_code == 400 and "cannot be updated" in r.json()["error"]["message"], r.text
    r = emu.put(b, body(_month(0), amount=2000))
    assert r.status_code == 200 and r.json()["properties"]["amount"] == 2000
    assert r.json()["eTag"]
