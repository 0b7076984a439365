"""Policy-aware plans, with real Terraform against the ARM emulator (which
enforces Deny assignments on PUT as ARM does).

  a built-in "Allowed locations" assigned at the resource group: a
  zerotrust_governance in another region fails at `terraform plan`, naming the
  assignment, the definition, the underlying resource and the attribute ->
  with policy_plan_checks_enabled = false the plan passes and the apply fails
  with ARM's 403 RequestDisallowedByPolicy, leaving nothing behind -> the
  assignment with enforcementMode DoNotEnforce, then with effect Audit (from
  its parameters): warnings, no error -> policy reads refused: one warning, the
  plan goes on -> the governance in the allowed region applies; its own
  initiative (assigned at the group) then checks a hub planned there: clean in
  the allowed region, a plan error naming the initiative elsewhere; the
  governance itself re-planned under its initiative has no error.
"""
from __future__ import annotations

import json

import pytest

from e2e_support import PROVIDER_SOURCE, get_runner, make_workspace
from hub_env import start_emulator, use_emulator

RG = "rg-polplans"
GOV = "zerotrust_governance.this"
ALLOWED_LOCATIONS = "/providers/Microsoft.Authorization/policyDefinitions/e56962a6-4747-49cd-b67b-bf8b01975c4c"
ASSIGNMENT_NAME = "test-allowed-locations"

MAIN_TF = """
terraform {
  required_providers {
    zerotrust = { source = "%(source)s" }
  }
}
variable "checks" {
  type    = bool
  default = null
}
variable "location" {
  type    = string
  default = "westeurope"
}
variable "hub_location" {
  type    = string
  default = "westeurope"
}
variable "with_hub" {
  type    = bool
  default = false
}
provider "zerotrust" {
  policy_plan_checks_enabled = var.checks
}
locals {
  tags = { environment = "test", project = "data-platform", owner = "e2e", "cost-centre" = "CC-0" }
  rg   = "%(rg)s"
}
resource "zerotrust_governance" "this" {
  name                  = "polplans"
  location              = var.location
  resource_group_name   = local.rg
  alert_email_addresses = ["ops@example.com"]
  policy_scope_ids      = ["/subscriptions/%(sub)s/resourceGroups/%(rg)s"]
  allowed_locations     = ["westeurope"]
  tags                  = local.tags
}
resource "zerotrust_hub" "this" {
  count                      = var.with_hub ? 1 : 0
  name                       = "polplans"
  location                   = var.hub_location
  resource_group_name        = local.rg
  address_space              = "10.100.0.0/22"
  log_analytics_workspace_id = zerotrust_governance.this.log_analytics_workspace_id
  tags                       = local.tags
}
"""


@pytest.fixture(scope="module")
def emu(session_root):
    e = start_emulator(session_root / "polplans-emulator")
    e.create_groups((RG,))
    yield e
    e.stop()


def _assignment_id(c) -> str:
    return f"{c.rg_id(RG)}/providers/Microsoft.Authorization/policyAssignments/{ASSIGNMENT_NAME}"


def _assign(c, *, effect: str | None = None, enforcement: str = "Default") -> str:
    params = {"listOfAllowedLocations": {"value": ["westeurope"]}}
    if effect:
        params["effect"] = {"value": effect}
    body = {"properties": {"displayName": "Test: allowed locations", "policyDefinitionId": ALLOWED_LOCATIONS,
                           "enforcementMode": enforcement, "parameters": params}}
    r = c.put(_assignment_id(c), body)
    assert r.status_code in (200, 201), r.text
    return _assignment_id(c)


@pytest.fixture(scope="module")
def ws(session_root, mirror, provider_speaks, emu):
    runner = get_runner("terraform")
    c = emu.client
    _assign(c)  # before the audit starts: the test's own fixture
    w = make_workspace(session_root / "polplans", runner, mirror,
                       files={"main.tf": MAIN_TF % {"rg": RG, "sub": c.subscription, "source": PROVIDER_SOURCE}})
    return use_emulator(w, c, [RG, f"/subscriptions/{c.subscription}/providers/Microsoft.Authorization",
                               f"/subscriptions/{c.subscription}/providers/Microsoft.Consumption"])


def _plan(ws, *args):
    r = ws.run("plan", "-json", "-input=false", "-detailed-exitcode", *args)
    diags = [m["diagnostic"] for m in r.json_lines() if m.get("type") == "diagnostic"]
    return r, diags


def _describe(r, diags) -> str:
    return r.describe() + "\n" + json.dumps(diags, indent=1)[:6000]


def _errors(diags):
    return [d for d in diags if d["severity"] == "error"]


def _policy_warnings(diags):
    return [d for d in diags if d["severity"] == "warning" and "Azure Policy" in d["summary"]]


@pytest.mark.incremental
class TestPolicyPlans:
    def test_init(self, ws):
        ws.run("init", "-input=false", "-no-color", check=True)

    def test_deny_fails_the_plan(self, ws, emu):
        r, diags = _plan(ws, "-var", "location=northeurope")
        assert r.rc == 1, _describe(r, diags)
        errs = _errors(diags)
        assert errs, _describe(r, diags)
        e = next((d for d in errs if 'Azure Policy denies log_analytics: "Allowed locations"' in d["summary"]),
                 None)
        assert e is not None, _describe(r, diags)
        assert 'zerotrust_governance "polplans"' in e["detail"], e["detail"]
        assert 'assignment "Test: allowed locations"' in e["detail"], e["detail"]
        assert _assignment_id(emu.client) in e["detail"], e["detail"]
        assert "RequestDisallowedByPolicy" in e["detail"] and "effect Deny" in e["detail"], e["detail"]
        assert 'deciding property: location = "northeurope"' in e["detail"], e["detail"]
        # the attribute path: Terraform shows the configuration line of `location`
        assert e["address"] == GOV, e
        assert "location" in e["snippet"]["code"] and "var.location" in e["snippet"]["code"], e["snippet"]
        # every resource of the composite that carries a location is named, none twice
        named = [d["summary"] for d in errs]
        assert len(named) == len(set(named)), named

    def test_without_the_check_apply_meets_arm(self, ws, emu):
        r, diags = _plan(ws, "-var", "location=northeurope", "-var", "checks=false")
        assert r.rc == 2, _describe(r, diags)
        assert not _errors(diags) and not _policy_warnings(diags), _describe(r, diags)
        seq = emu.last_seq()
        r = ws.run("apply", "-input=false", "-auto-approve", "-no-color",
                   "-var", "location=northeurope", "-var", "checks=false")
        assert r.rc != 0, r.describe()
        assert "RequestDisallowedByPolicy" in r.stdout + r.stderr, r.describe()
        # the check is off: no policy reads were sent
        reads = [q for q in emu.requests(since=seq, kind="arm")
                 if q["method"] == "GET" and "/policyassignments" in q["path"].lower()]
        assert not reads, reads
        # nothing was created, and the state says so (the orphan audit checks Azure's side)
        st = ws.run("state", "list", "-no-color")
        assert GOV not in st.stdout, st.stdout

    def test_not_enforced_is_a_warning(self, ws, emu):
        _assign(emu.client, enforcement="DoNotEnforce")
        r, diags = _plan(ws, "-var", "location=northeurope")
        assert r.rc == 2, _describe(r, diags)
        assert not _errors(diags), _describe(r, diags)
        w = _policy_warnings(diags)
        assert len(w) == 1, _describe(r, diags)
        assert "would be denied by \"Allowed locations\"" in w[0]["detail"], w[0]["detail"]
        assert "not enforced" in w[0]["detail"], w[0]["detail"]

    def test_audit_effect_is_a_warning(self, ws, emu):
        _assign(emu.client, effect="Audit")
        r, diags = _plan(ws, "-var", "location=northeurope")
        assert r.rc == 2, _describe(r, diags)
        assert not _errors(diags), _describe(r, diags)
        w = _policy_warnings(diags)
        assert len(w) == 1 and "audited" in w[0]["summary"], _describe(r, diags)
        assert '- log_analytics (Microsoft.OperationalInsights/workspaces): Audit by "Allowed locations"' \
            in w[0]["detail"], w[0]["detail"]

    def test_unreadable_policies_skip_the_check(self, ws, emu):
        _assign(emu.client)  # Deny again
        emu.client.fault(kind="error", method="GET", path_regex=r"/policyAssignments$", count=-1,
                         status=403, code="AuthorizationFailed", message="injected")
        try:
            r, diags = _plan(ws, "-var", "location=northeurope")
        finally:
            emu.clear_faults()
        assert r.rc == 2, _describe(r, diags)
        w = [d for d in diags if "Azure Policy not checked at plan" in d["summary"]]
        assert len(w) == 1, _describe(r, diags)
        assert "AuthorizationFailed" in w[0]["detail"], w[0]["detail"]

    def test_governance_applies_and_its_initiative_checks_the_hub(self, ws, emu):
        ws.run("apply", "-input=false", "-auto-approve", "-no-color", check=True)
        r, diags = _plan(ws)
        assert r.rc == 0, _describe(r, diags)
        # the initiative the governance assigned to the group now applies to a hub planned there
        seq = emu.last_seq()
        r, diags = _plan(ws, "-var", "with_hub=true")
        assert r.rc == 2, _describe(r, diags)
        assert not _errors(diags), _describe(r, diags)
        reads = [q for q in emu.requests(since=seq, kind="arm")
                 if q["method"] == "GET" and "/microsoft.authorization/policy" in q["path"].lower()]
        # each built-in definition of the initiative read once for the plan (the governance's
        # own plan checks read its set definition too)
        paths = [q["path"].split("?")[0].lower() for q in reads]
        builtins = [p for p in paths if p.startswith("/providers/")]
        assert len(builtins) >= 20 and len(builtins) == len(set(builtins)), \
            [p for p in set(builtins) if builtins.count(p) > 1]
        r, diags = _plan(ws, "-var", "with_hub=true", "-var", "hub_location=northeurope")
        assert r.rc == 1, _describe(r, diags)
        e = [d for d in _errors(diags) if "Azure Policy denies" in d["summary"]]
        assert e and all(d["address"] == "zerotrust_hub.this[0]" for d in e), _describe(r, diags)
        assert any('initiative "' in d["detail"] and '"Allowed locations"' in d["summary"] for d in e), e

    def test_its_own_initiative_allows_the_governance_again(self, ws, emu):
        """Re-planning every node under the initiative the governance assigned: its policy
        assignment takes a location but no tags, so Indexed-mode definitions (required tags)
        do not cover it (as after an apply interrupted past the assignment's PUT)."""
        r, diags = _plan(ws, "-replace", GOV)
        assert r.rc == 2, _describe(r, diags)
        assert not _errors(diags), _describe(r, diags)

    def test_destroy(self, ws, emu):
        ws.run("destroy", "-input=false", "-auto-approve", "-no-color", check=True)
