"""Monitoring, cost and policy types: Azure's rules for action groups, activity log and scheduled query
alerts, budgets, and policy (set) definitions and assignments (the latter via ``policy``).

Registers its hooks on import; every rule is a row of FIDELITY.md.
"""
from __future__ import annotations

import re
import time

from .. import policy
from ..protocol import ArmError, new_guid
from .core import RENDER, VALIDATE, WRITE, hook

# Regions a type is offered in, where that is not every region (ARM: LocationNotAvailableForResourceType).
REGIONS = {
    "microsoft.insights/actiongroups": ("global",),
    "microsoft.insights/activitylogalerts": ("global", "westeurope", "northeurope"),
}


def _check_region(ctx):
    allowed = REGIONS[ctx.type_name.lower()]
    loc = ctx.location
    if loc and loc.lower() not in allowed:
        raise ArmError(400, "LocationNotAvailableForResourceType",
                       f"The provided location '{loc}' is not available for resource type "
                       f"'{ctx.type_name.lower()}'. List of available regions for the resource type is "
                       f"'{','.join(allowed)}'.")


@hook(VALIDATE, "Microsoft.Insights/actionGroups", "Microsoft.Insights/activityLogAlerts")
def _region_validate(ctx, body):
    _check_region(ctx)


@hook(RENDER, "Microsoft.Insights/actionGroups")
def _ag_render(svc, res, out):
    for kind in ("emailReceivers", "smsReceivers"):
        for r in (out.get("properties") or {}).get(kind) or []:
            r["status"] = "Enabled"


@hook(WRITE, "Microsoft.Insights/scheduledQueryRules")
def _sqr_write(ctx, res, created):
    c = res.computed.setdefault("properties", {})
    if created:
        c["createdWithApiVersion"] = ctx.rtv.api_version
    c["isLegacyLogAnalyticsRule"] = False
    c["isWorkspaceAlertsStorageConfigured"] = False


# -- budgets -------------------------------------------------------------------------------------------
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(?:Z|[+-]00:?00)?)?$")
_GRAIN_MONTHS = {"monthly": 1, "billingmonth": 1, "quarterly": 3, "billingquarter": 3, "annually": 12,
                 "billingannual": 12}


def _period_start(now: time.struct_time, months: int) -> tuple[int, int]:
    """(year, month) of the first month of the time grain period holding now."""
    m0 = (now.tm_mon - 1) // months * months
    return now.tm_year, m0 + 1


@hook(VALIDATE, "Microsoft.Consumption/budgets")
def _budget_validate(ctx, body):
    p = body.get("properties") or {}
    start = (p.get("timePeriod") or {}).get("startDate") or ""
    if ctx.existing is not None:
        old = ((ctx.existing.body.get("properties") or {}).get("timePeriod") or {}).get("startDate")
        if old and _DATE.match(old) and _DATE.match(start) and \
                _DATE.match(old).groups()[:3] != _DATE.match(start).groups()[:3]:
            raise ArmError(400, "BadRequest",
                           "Start date of budgets cannot be updated. Please delete and create a new budget.")
    m = _DATE.match(start)
    if not m:
        raise ArmError(400, "BadRequest", f"The start date '{start}' is not a valid date.")
    y, mo, d = (int(x) for x in m.groups()[:3])
    if d != 1:
        raise ArmError(400, "BadRequest", "The start date must be first of the month.")
    if (y, mo) < (2017, 6):
        raise ArmError(400, "BadRequest", "Budget start date must be on or after June 1, 2017.")
    if ctx.existing is None:
        now = time.gmtime()
        months = _GRAIN_MONTHS.get((p.get("timeGrain") or "").lower(), 1)
        py, pm = _period_start(now, months)
        if (y, mo) < (py, pm):
            raise ArmError(400, "BadRequest",
                           f"Past start date should be selected within the timegrain period: the start date "
                           f"must be on or after {py:04d}-{pm:02d}-01.")
        ahead = (y - now.tm_year) * 12 + (mo - now.tm_mon)
        if ahead > 12:
            raise ArmError(400, "BadRequest", "Future start date should not be more than twelve months.")
    notes = p.get("notifications") or {}
    if len(notes) > 5:
        raise ArmError(400, "BadRequest",
                       f"Budget can have up to five notifications; the request has {len(notes)}.")
    for key, n in notes.items():
        t = n.get("threshold")
        if not isinstance(t, (int, float)) or isinstance(t, bool) or not 0 <= t <= 1000:
            raise ArmError(400, "BadRequest",
                           f"The threshold of notification '{key}' must be between 0 and 1000 (a percentage).")


@hook(WRITE, "Microsoft.Consumption/budgets")
def _budget_write(ctx, res, created):
    c = res.computed.setdefault("properties", {})
    c.setdefault("currentSpend", {"amount": 0, "unit": "USD"})
    res.computed["eTag"] = new_guid()


# -- policy ----------------------------------------------------------------------------------------------
@hook(VALIDATE, "Microsoft.Authorization/policySetDefinitions")
def _set_validate(ctx, body):
    policy.validate_set(ctx, body)


@hook(VALIDATE, "Microsoft.Authorization/policyAssignments")
def _assignment_validate(ctx, body):
    policy.validate_assignment(ctx, body)


@hook(RENDER, "Microsoft.Authorization/policyAssignments")
def _assignment_render(svc, res, out):
    policy.render_assignment(svc, res, out)


@hook(RENDER, "Microsoft.Authorization/policyDefinitions", "Microsoft.Authorization/policySetDefinitions")
def _definition_render(svc, res, out):
    policy.render_definition(svc, res, out)


@hook(WRITE, "Microsoft.Authorization/policyAssignments")
def _assignment_write(ctx, res, created):
    if created:
        res.computed.setdefault("properties", {})["instanceId"] = new_guid()

