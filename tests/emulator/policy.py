"""Azure Policy in the emulator.

* Microsoft's built-in definitions (``third_party/azure-policy``, by GUID) are served read-only at
  ``/providers/Microsoft.Authorization/policyDefinitions/{guid}`` and listed there and under every
  subscription; custom definitions, set definitions and assignments are stored like other resources.
* ARM's rules on them: a set definition's members must exist and get every parameter they need and
  none they do not define; an assignment's definition must exist, its parameter values must be
  allowed, and an assignment whose policies DeployIfNotExists or Modify needs a managed identity
  (and with it a location).
* Assignments listed at a scope include those at its ancestors (``$filter=atScope()`` keeps only
  those), as ARM lists them.
* Enforcement: a PUT that a Deny policy of an assignment (enforcementMode Default) covering the
  resource's scope forbids is refused with ARM's 403 ``RequestDisallowedByPolicy`` and a
  ``PolicyViolation`` in ``additionalInfo``. Rules are evaluated by ``policy_eval``.
"""
from __future__ import annotations

import json
from pathlib import Path

from . import policy_eval
from .protocol import ArmError, json_response

BUILTIN_DIR = Path(__file__).resolve().parents[2] / "third_party" / "azure-policy" / "policyDefinitions"
DEFS = "microsoft.authorization/policydefinitions"
SETS = "microsoft.authorization/policysetdefinitions"
ASSIGNMENTS = "microsoft.authorization/policyassignments"
TENANT_DEFS = "/providers/microsoft.authorization/policydefinitions/"
RG_TYPE = "Microsoft.Resources/resourceGroups"
# Policy names resource groups by the type they have under subscriptions.
POLICY_RG_TYPE = "Microsoft.Resources/subscriptions/resourceGroups"

_BUILTINS: dict | None = None


def builtins() -> dict:
    """guid (lower) -> the built-in definition as ARM returns it."""
    global _BUILTINS
    if _BUILTINS is None:
        found = {}
        for f in sorted(BUILTIN_DIR.rglob("*.json")):
            d = json.loads(f.read_text())
            d["id"] = f"/providers/Microsoft.Authorization/policyDefinitions/{d['name']}"
            d["type"] = "Microsoft.Authorization/policyDefinitions"
            d["properties"].setdefault("policyType", "BuiltIn")
            found[d["name"].lower()] = d
        _BUILTINS = found
    return _BUILTINS


def tenant_request(svc, req, ap):
    """GET /providers/Microsoft.Authorization/policyDefinitions[/{guid}] (built-ins only)."""
    if ap.full_type.lower() != DEFS:
        raise ArmError(404, "InvalidResourceType", "Tenant-level resources are not emulated.")
    if req.method != "GET":
        raise ArmError(405, "MethodNotAllowed",
                       f"The requested method '{req.method}' is not allowed: built-in policy definitions "
                       f"are read-only.")
    if ap.is_collection:
        return svc._list(list(builtins().values()), req)
    d = builtins().get((ap.name or "").lower())
    if d is None:
        raise ArmError(404, "PolicyDefinitionNotFound", f"The policy definition '{ap.name}' could not be found.")
    return json_response(200, d)


def list_builtins_under_subscription(items: list) -> list:
    """A subscription's definition list holds the built-ins too."""
    return list(builtins().values()) + items


def definition(svc, def_id: str) -> dict | None:
    """A policy or policy set definition by ID, rendered (built-in or stored)."""
    if not def_id:
        return None
    low = def_id.lower()
    if low.startswith(TENANT_DEFS):
        return builtins().get(low[len(TENANT_DEFS):])
    res = svc.store.get(def_id)
    return svc.render(res) if res is not None else None


def _is_set(def_id: str) -> bool:
    return "/policysetdefinitions/" in (def_id or "").lower()


def _given(params: dict | None) -> dict:
    return {k: v.get("value") for k, v in (params or {}).items() if isinstance(v, dict) and "value" in v}


# -- members of an assignment ------------------------------------------------------------------
class Member:
    """One policy definition an assignment applies, with its parameter values."""

    def __init__(self, definition, params, set_def=None, reference_id=None):
        self.definition = definition
        self.params = params
        self.set_def = set_def
        self.reference_id = reference_id


def members(svc, def_id: str, given: dict) -> list[Member]:
    d = definition(svc, def_id)
    if d is None:
        return []
    if not _is_set(def_id):
        return [Member(d, policy_eval.parameter_values(d, given))]
    set_params = policy_eval.parameter_values(d, given)
    out = []
    for ref in d["properties"].get("policyDefinitions") or []:
        member = definition(svc, ref.get("policyDefinitionId"))
        if member is None:
            continue
        ctx = policy_eval.Context({}, set_params)
        vals = {k: policy_eval.resolve(ctx, v) for k, v in _given(ref.get("parameters")).items()}
        out.append(Member(member, policy_eval.parameter_values(member, vals), d,
                          ref.get("policyDefinitionReferenceId")))
    return out


def _effect(member: Member) -> str:
    try:
        return policy_eval.effect_of(member.definition, policy_eval.Context({}, member.params)).lower()
    except policy_eval.Unevaluable:
        return ""


# -- validation of the policy resources themselves -----------------------------------------------------
def _check_params(def_id: str, definition_: dict, given: dict, what: str):
    defined = definition_.get("properties", {}).get("parameters") or {}
    for name, value in given.items():
        spec = defined.get(name)
        if spec is None:
            raise ArmError(400, "UndefinedPolicyParameter",
                           f"The {what} has a parameter '{name}' which is not defined in the policy definition "
                           f"'{def_id}'.")
        allowed = spec.get("allowedValues")
        if allowed is not None and not policy_eval.is_expression(value) and value not in allowed:
            shown = value if isinstance(value, str) else json.dumps(value)
            raise ArmError(400, "PolicyParameterValueNotAllowed",
                           f"The value '{shown}' is not allowed for policy parameter '{name}' in policy "
                           f"definition '{def_id.rsplit('/', 1)[-1]}'. The allowed values are "
                           f"'{', '.join(str(a) for a in allowed)}'.")
    missing = [n for n, spec in defined.items() if "defaultValue" not in spec and n not in given]
    if missing:
        raise ArmError(400, "MissingPolicyParameter",
                       f"The {what} is missing the parameter(s) '{', '.join(missing)}' as defined in the "
                       f"policy definition '{def_id.rsplit('/', 1)[-1]}'.")


def validate_set(ctx, body: dict):
    refs = (body.get("properties") or {}).get("policyDefinitions") or []
    seen = set()
    for ref in refs:
        def_id = ref.get("policyDefinitionId")
        d = definition(ctx.svc, def_id)
        if d is None:
            raise ArmError(404, "PolicyDefinitionNotFound", f"The policy definition '{def_id}' could not be found.")
        rid = (ref.get("policyDefinitionReferenceId") or "").lower()
        if rid in seen:
            raise ArmError(400, "InvalidPolicySetDefinitionRequest",
                           f"The policy set definition '{ctx.name}' has duplicate policy definition "
                           f"reference ID '{ref.get('policyDefinitionReferenceId')}'.")
        seen.add(rid)
        _check_params(def_id, d, _given(ref.get("parameters")),
                      f"policy set definition '{ctx.name}' reference '{ref.get('policyDefinitionReferenceId')}'")


def validate_assignment(ctx, body: dict):
    props = body.get("properties") or {}
    def_id = props.get("policyDefinitionId")
    d = definition(ctx.svc, def_id)
    if d is None:
        code, kind = ("PolicySetDefinitionNotFound", "policy set definition") if _is_set(def_id) else \
            ("PolicyDefinitionNotFound", "policy definition")
        raise ArmError(404, code, f"The {kind} '{(def_id or '').rsplit('/', 1)[-1]}' could not be found.")
    given = _given(props.get("parameters"))
    _check_params(def_id, d, given, f"policy assignment '{ctx.name}'")
    effects = {_effect(m) for m in members(ctx.svc, def_id, given)}
    for needs in ("deployifnotexists", "modify"):
        if needs not in effects:
            continue
        ident = (body.get("identity") or {}).get("type") or "None"
        if ident.lower() == "none":
            label = "DeployIfNotExists" if needs == "deployifnotexists" else "Modify"
            raise ArmError(400, "ResourceIdentityRequired",
                           f"The policy assignment '{ctx.name}' request is invalid. Policy assignments must "
                           f"include a resource identity when assigning '{label}' policy definitions.")
    if body.get("identity") and not getattr(ctx, "location", None) and ctx.existing is None:
        raise ArmError(400, "LocationRequired", "The location property is required for this definition.")


def render_assignment(svc, res, out: dict):
    out.setdefault("properties", {})["scope"] = res.scope_id


def render_definition(svc, res, out: dict):
    out.setdefault("properties", {}).setdefault("policyType", "Custom")


# -- assignments that apply where ------------------------------------------------------------------
def _covers(scope: str, rid: str) -> bool:
    s, r = scope.lower().rstrip("/"), rid.lower()
    return r == s or r.startswith(s + "/")


def assignments_at(svc, scope: str, at_scope_only: bool) -> list:
    """What ARM lists at a scope: assignments there and at its ancestors, and (without
    $filter=atScope()) those below it."""
    out = []
    for a in svc.store.of_type("Microsoft.Authorization/policyAssignments"):
        if _covers(a.scope_id, scope) or (not at_scope_only and _covers(scope, a.scope_id)):
            out.append(a)
    return out


def _excluded(assignment, rid: str) -> bool:
    return any(_covers(ns, rid) for ns in (assignment.body.get("properties") or {}).get("notScopes") or [])


def _resource_group_of(svc, rid: str) -> dict:
    low = rid.lower()
    i = low.find("/resourcegroups/")
    if i < 0:
        return {}
    end = low.find("/", i + len("/resourcegroups/"))
    rg = svc.store.get(rid[:end] if end > 0 else rid)
    return svc.render(rg) if rg is not None else {}


def enforce(ctx, body: dict, location: str | None, indexed: bool):
    """Refuse the PUT when a Deny policy forbids it (403 RequestDisallowedByPolicy)."""
    svc = ctx.svc
    candidates = [a for a in svc.store.of_type("Microsoft.Authorization/policyAssignments")
                  if _covers(a.scope_id, ctx.rid) and not _excluded(a, ctx.rid)]
    if not candidates:
        return
    type_name = POLICY_RG_TYPE if ctx.type_name == RG_TYPE else ctx.type_name
    resource = {"id": ctx.rid, "name": ctx.name, "type": type_name, **body}
    if location:
        resource["location"] = location
    sub = svc.store.subscriptions.get((ctx.ap.subscription or "").lower())
    for a in candidates:
        props = a.body.get("properties") or {}
        if (props.get("enforcementMode") or "Default").lower() != "default":
            continue
        for m in members(svc, props.get("policyDefinitionId"), _given(props.get("parameters"))):
            ev = policy_eval.Context(resource, m.params, api_version=ctx.rtv.api_version if ctx.rtv else "",
                                     resource_group=_resource_group_of(svc, ctx.rid),
                                     subscription=sub.render() if sub else {})
            ev.indexed = indexed
            try:
                if _effect(m) != "deny" or not policy_eval.matches(m.definition, ev):
                    continue
            except policy_eval.Unevaluable:
                continue    # ARM evaluates everything; what the emulator cannot, it lets through
            raise _violation(ctx, a, m, ev)


def _violation(ctx, a, m: Member, ev) -> ArmError:
    props = a.body.get("properties") or {}
    d = m.definition
    dname = d["properties"].get("displayName") or d["name"]
    ident = {"policyAssignment": {"name": props.get("displayName") or a.name, "id": a.id},
             "policyDefinition": {"name": dname, "id": d["id"],
                                  "version": (d["properties"].get("version") or "1.0.0")}}
    if m.set_def:
        ident["policySetDefinition"] = {"name": m.set_def["properties"].get("displayName") or m.set_def["name"],
                                        "id": m.set_def["id"]}
    reasons = [x.get("message") for x in props.get("nonComplianceMessages") or []
               if not x.get("policyDefinitionReferenceId") or
               (x.get("policyDefinitionReferenceId") or "").lower() == (m.reference_id or "").lower()]
    if reasons:
        msg = (f"Resource '{ctx.name}' was disallowed by policy. Reasons: '{reasons[-1]}'. See error details "
               f"for policy resource IDs.")
    else:
        msg = (f"Resource '{ctx.name}' was disallowed by policy. Policy identifiers: "
               f"'{json.dumps([ident], separators=(',', ':'))}'.")
    info = {"evaluationDetails": {"evaluatedExpressions": ev.trace},
            "policyDefinitionId": d["id"], "policyDefinitionName": d["name"],
            "policyDefinitionDisplayName": dname,
            "policyDefinitionVersion": d["properties"].get("version") or "1.0.0",
            "policyDefinitionEffect": "Deny",
            "policyAssignmentId": a.id, "policyAssignmentName": a.name,
            "policyAssignmentDisplayName": props.get("displayName") or a.name,
            "policyAssignmentScope": a.scope_id,
            "policyAssignmentParameters": props.get("parameters") or {},
            "policyExemptionIds": [], "policyEnrollmentIds": []}
    if m.set_def:
        info.update({"policySetDefinitionId": m.set_def["id"], "policySetDefinitionName": m.set_def["name"],
                     "policySetDefinitionDisplayName": m.set_def["properties"].get("displayName"),
                     "policySetDefinitionVersion": m.set_def["properties"].get("version") or "1.0.0",
                     "policyDefinitionReferenceId": m.reference_id})
    body = {"error": {"code": "RequestDisallowedByPolicy", "target": ctx.name, "message": msg,
                      "additionalInfo": [{"type": "PolicyViolation", "info": info}]}}
    return ArmError(403, "RequestDisallowedByPolicy", msg, target=ctx.name, body=body)
