"""Log Analytics workspaces and Application Insights components."""
from __future__ import annotations

from ..config import utc_iso
from ..protocol import new_guid
from .core import WRITE, hook


@hook(WRITE, "Microsoft.OperationalInsights/workspaces")
def _law_write(ctx, res, created):
    c = res.computed.setdefault("properties", {})
    c.setdefault("customerId", new_guid())
    c.setdefault("createdDate", utc_iso())
    c["modifiedDate"] = utc_iso()


@hook(WRITE, "Microsoft.Insights/components")
def _ai_write(ctx, res, created):
    c = res.computed.setdefault("properties", {})
    if "InstrumentationKey" not in c:
        ik = new_guid()
        c.update({"InstrumentationKey": ik, "AppId": new_guid(), "ApplicationId": res.name,
                  "ConnectionString": f"InstrumentationKey={ik};IngestionEndpoint=https://{res.location}-0.in."
                                      f"applicationinsights.azure.com/",
                  "CreationDate": utc_iso(), "TenantId": ctx.ap.subscription})
