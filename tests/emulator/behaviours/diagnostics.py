"""Diagnostic settings: at most five per resource, a sink takes each category from one setting only, and log
categories must exist for the resource type (a storage account itself has none: its services do)."""
from __future__ import annotations

import re

from ..arm_ids import parse_id
from ..protocol import ArmError
from ..resource_types import get_path
from .core import VALIDATE, hook

DIAG = "Microsoft.Insights/diagnosticSettings"
MAX_SETTINGS = 5
CATEGORY_GROUPS = ("allLogs", "audit")
_STORAGE_SERVICE_LOGS = ("StorageRead", "StorageWrite", "StorageDelete")

# Resource log categories per type ("Supported categories for Azure Monitor resource logs"). Types not listed are
# not checked: their lists are long and keep growing (Azure Firewall, VPN gateways, Databricks).
LOG_CATEGORIES = {
    "microsoft.storage/storageaccounts": (),
    "microsoft.storage/storageaccounts/blobservices": _STORAGE_SERVICE_LOGS,
    "microsoft.storage/storageaccounts/fileservices": _STORAGE_SERVICE_LOGS,
    "microsoft.storage/storageaccounts/queueservices": _STORAGE_SERVICE_LOGS,
    "microsoft.storage/storageaccounts/tableservices": _STORAGE_SERVICE_LOGS,
    "microsoft.keyvault/vaults": ("AuditEvent", "AzurePolicyEvaluationDetails"),
    "microsoft.containerregistry/registries": ("ContainerRegistryRepositoryEvents", "ContainerRegistryLoginEvents"),
    "microsoft.network/networksecuritygroups": ("NetworkSecurityGroupEvent", "NetworkSecurityGroupRuleCounter"),
    "microsoft.network/bastionhosts": ("BastionAuditLogs",),
    "microsoft.network/virtualnetworks": ("VMProtectionAlerts",),
    "microsoft.network/publicipaddresses": ("DDoSProtectionNotifications", "DDoSMitigationFlowLogs",
                                            "DDoSMitigationReports"),
}
_SINKS = ("workspaceId", "storageAccountId", "eventHubAuthorizationRuleId", "marketplacePartnerId")


def _scope(rid: str) -> str:
    return re.split(r"/providers/microsoft\.insights/diagnosticsettings/", rid, flags=re.I)[0]


def _scope_type(store, scope: str) -> str:
    res = store.get(scope)
    if res is not None:
        return res.type_name.lower()
    ap = parse_id(scope)
    return ap.full_type.lower() if ap is not None and ap.chain else ""


def _siblings(ctx) -> list:
    scope = _scope(ctx.rid).lower()
    return [d for d in ctx.store.of_type(DIAG) if d.key != ctx.rid.lower() and _scope(d.id).lower() == scope]


@hook(VALIDATE, DIAG)
def _diag_count_limit(ctx, body):
    if ctx.existing is None and len(_siblings(ctx)) >= MAX_SETTINGS:
        raise ArmError(400, "BadRequest", f"The resource {_scope(ctx.rid)} already has {MAX_SETTINGS} diagnostic "
                                          f"settings, the maximum for one resource.")


def _enabled(body, kind):
    return [e for e in get_path(body, f"properties.{kind}", []) or [] if isinstance(e, dict) and e.get("enabled")]


@hook(VALIDATE, DIAG)
def _diag_categories_exist(ctx, body):
    known = LOG_CATEGORIES.get(_scope_type(ctx.store, _scope(ctx.rid)))
    if known is None:
        return
    for i, e in enumerate(get_path(body, "properties.logs", []) or []):
        if not isinstance(e, dict):
            continue
        if e.get("category") and e["category"].lower() not in (c.lower() for c in known):
            raise ArmError(400, "BadRequest", f"Category '{e['category']}' is not supported.",
                           target=f"properties.logs[{i}].category")
        group = e.get("categoryGroup")
        if group and (not known or group.lower() not in (g.lower() for g in CATEGORY_GROUPS)):
            raise ArmError(400, "BadRequest", f"Category group '{group}' is not supported.",
                           target=f"properties.logs[{i}].categoryGroup")


def _categories(store, scope: str, body) -> set:
    """Enabled categories of a setting, category groups expanded where the type's categories are known."""
    known = LOG_CATEGORIES.get(_scope_type(store, scope))
    out = set()
    for e in _enabled(body, "logs"):
        if e.get("category"):
            out.add(e["category"])
        elif e.get("categoryGroup"):
            group = e["categoryGroup"]
            out.update(known if known and group.lower() == "alllogs" else (group,))
    out.update(e["category"] for e in _enabled(body, "metrics") if e.get("category"))
    return out


def _sinks(body) -> list:
    p = body.get("properties") or {}
    return [p[k] for k in _SINKS if p.get(k)]


@hook(VALIDATE, DIAG)
def _diag_sink_category_once(ctx, body):
    """One sink receives a category of a resource through one setting only: 409 with Azure's unwrapped body."""
    scope = _scope(ctx.rid)
    mine = _categories(ctx.store, scope, body)
    for sink in _sinks(body):
        for other in _siblings(ctx):
            shared = sorted(c for c in mine & _categories(ctx.store, scope, other.body))
            if shared and sink.lower() in (s.lower() for s in _sinks(other.body)):
                msg = (f"Data sink '{sink}' is already used in diagnostic setting '{other.name}' for category "
                       f"'{shared[0]}'. Data sinks can't be reused in different settings on the same category for "
                       f"the same resource.")
                raise ArmError(409, "Conflict", msg, body={"code": "Conflict", "message": msg})
