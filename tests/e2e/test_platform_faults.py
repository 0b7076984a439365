"""Fault matrix over the whole platform's apply (examples/platform with a
second spoke: governance, hub, two spokes, workspace), with real Terraform
against the ARM emulator.

Rows: every distinct kind of ARM request a clean apply sends - a PUT, and
the GET that reads it back, per resource type and composite, and the
long-running operations' polls of each resource provider, and the plans'
policy reads (assignments, initiative, built-in definitions: a fault
there must leave the apply successful). A row injects
into one instance of its kind (the second spoke's where there are two:
the first spoke's VNet is also read at plan, by the workspace's subnet
check, and a plan-time read would use up the fault).
`test_request_kinds_cover_a_clean_apply` derives the kinds from the request
log of a clean apply and fails when the platform sends one no row knows,
or a row's request is never sent. A new composite adds its rows to TARGETS
(one line per resource type) and its resource to the platform
configuration (hub_env.platform_workspace).

Columns: the emulator's fault kinds that make sense for the request:
  PUT         429 500 503 reset hang conflict async_failed raw lost_answer
  GET / poll  429 500 503 reset hang raw
`raw` answers a 400 whose body is a Latin-1 HTML page (a proxy's) and whose
x-ms-request-id holds a non-UTF-8 byte; `lost_answer` carries the request
out and resets the connection instead of answering; `hang` holds the
request 2 s and closes the connection. One more cell, `hang_deadline`,
holds the hub VNet's PUT past the hub's `timeouts.create` (20 s, set with
an override file).

Each cell: `terraform apply` with the fault armed -> either success through
retries (429 500 503 reset hang conflict lost_answer) or a failure whose
diagnostic names the node or its ARM resource, is valid text (no
replacement of the whole answer) and carries ARM's error (async_failed:
ZtInjectedFailure; raw: the page's text; hang_deadline: the deadline) ->
faults cleared -> `terraform apply` again (after a failed create Terraform
replaces the tainted resource: the workspace's Key Vault goes through soft
delete and recovery) -> `plan -detailed-exitcode` is clean -> `terraform
destroy` leaves nothing. The orphan audit runs after every step.

CI runs a rotating subset: with shift s (ZT_FAULT_MATRIX_SHIFT, default the
UTC day number, so it changes daily and a failing day can be replayed),
row i runs when i % STRIDE == s % STRIDE, with kind
kinds(row)[(i // STRIDE + s // STRIDE) % len(kinds(row))]: every row in
STRIDE (3) consecutive shifts, the kinds rotating as well; plus hang_deadline.
ZT_FULL_FAULT_MATRIX=1 runs every cell. The summary (cells passed / total,
failing cells with their symptom) is printed by the last test and written
to $ZT_FAULT_MATRIX_SUMMARY (default <session tmp>/fault-matrix-summary.txt).
"""
from __future__ import annotations

import base64
import os
import re
import time
from pathlib import Path

import pytest

from hub_env import platform_fixtures, platform_leftovers

SUB = r"^/subscriptions/[^/]+"
OPS = SUB + r"/resourceGroups/rg-ops-weu/providers"
HUB = SUB + r"/resourceGroups/rg-hub-weu/providers/Microsoft\.Network"
SPOKE = SUB + r"/resourceGroups/rg-spokes-weu/providers/Microsoft\.Network"
DBX = SUB + r"/resourceGroups/rg-dbx-weu/providers"
ZONE = r"privatelink\.blob\.core\.windows\.net"


class Target:
    """One kind of resource: `kind` matches every instance, `instance` the
    one faults go to; `get`: its PUT is read back with a GET; `read_first`:
    the apply reads it before writing (a shared resource's read-modify-write),
    so its first GET precedes its PUT within the apply."""

    def __init__(self, label, node, kind, instance=None, get=True, read_first=False):
        self.label, self.node, self.kind = label, node, kind + "$"
        self.instance = (instance or kind) + "$"
        self.get, self.read_first = get, read_first


DIAG = r"/providers/Microsoft\.Insights/diagnosticSettings/[^/]+"


def diag_kind(rg: str) -> str:
    """Every diagnostic setting on a resource of the group rg."""
    return SUB + rf"/resourceGroups/{rg}/.*" + DIAG


TARGETS = [
    # zerotrust_governance
    Target("Log Analytics workspace", "log_analytics", OPS + r"/Microsoft\.OperationalInsights/workspaces/[^/]+"),
    Target("governance diagnostic setting", "diag_log_analytics", diag_kind("rg-ops-weu"), get=False),
    Target("Application Insights", "application_insights", OPS + r"/Microsoft\.Insights/components/[^/]+",
           get=False),
    Target("action group", "action_group", OPS + r"/Microsoft\.Insights/actionGroups/[^/]+", get=False),
    Target("log query alert", "alert[", OPS + r"/Microsoft\.Insights/scheduledQueryRules/[^/]+",
           OPS + r"/Microsoft\.Insights/scheduledQueryRules/[^/]+firewall_denies", get=False),
    Target("activity log alert", "activity_alert[", OPS + r"/Microsoft\.Insights/activityLogAlerts/[^/]+",
           OPS + r"/Microsoft\.Insights/activityLogAlerts/[^/]+nsg_changed", get=False),
    Target("policy initiative", "policy_set", SUB + r"/providers/Microsoft\.Authorization/policySetDefinitions/[^/]+",
           get=False),
    Target("policy assignment", "policy_assignment",
           SUB + r"/providers/Microsoft\.Authorization/policyAssignments/[^/]+", get=False),
    Target("remediation role assignment", "policy_role",
           SUB + r"/providers/Microsoft\.Authorization/roleAssignments/[^/]+", get=False),
    Target("budget", "budget", SUB + r"/providers/Microsoft\.Consumption/budgets/[^/]+", get=False),
    # zerotrust_hub
    Target("hub route table", "route_table_gateway", HUB + r"/routeTables/rt-weu-gateway"),
    Target("hub VNet", "vnet", HUB + r"/virtualNetworks/vnet-weu"),
    Target("hub public IP", "pip_firewall", HUB + r"/publicIPAddresses/[^/]+",
           HUB + r"/publicIPAddresses/pip-weu-afw"),
    Target("hub firewall policy", "firewall_policy", HUB + r"/firewallPolicies/afwp-weu"),
    Target("hub rule collection group", "firewall_rules",
           HUB + r"/firewallPolicies/afwp-weu/ruleCollectionGroups/hub-platform"),
    Target("hub firewall", "firewall", HUB + r"/azureFirewalls/afw-weu"),
    Target("hub Bastion", "bastion", HUB + r"/bastionHosts/bas-weu"),
    Target("hub DNS resolver", "dns_resolver", HUB + r"/dnsResolvers/dnspr-weu"),
    Target("hub resolver endpoint", "dns_resolver_inbound",
           HUB + r"/dnsResolvers/dnspr-weu/inboundEndpoints/inbound"),
    Target("hub private DNS zone", "zone[", HUB + r"/privateDnsZones/[^/]+",
           HUB + rf"/privateDnsZones/{ZONE}"),
    Target("hub zone link", "zone_link[", HUB + r"/privateDnsZones/[^/]+/virtualNetworkLinks/link-vnet-weu",
           HUB + rf"/privateDnsZones/{ZONE}/virtualNetworkLinks/link-vnet-weu"),
    Target("hub diagnostic setting", "diag_firewall", diag_kind("rg-hub-weu"),
           HUB + r"/azureFirewalls/afw-weu" + DIAG, get=False),
    # zerotrust_spoke (two of them)
    Target("spoke NSG", "nsg_databricks_host", SPOKE + r"/networkSecurityGroups/[^/]+",
           SPOKE + r"/networkSecurityGroups/nsg-ingestion-dbw-host"),
    Target("spoke route table", "route_table", SPOKE + r"/routeTables/[^/]+", SPOKE + r"/routeTables/rt-ingestion"),
    Target("spoke VNet", "vnet", SPOKE + r"/virtualNetworks/[^/]+", SPOKE + r"/virtualNetworks/vnet-ingestion"),
    Target("spoke peering", "peering", SPOKE + r"/virtualNetworks/[^/]+/virtualNetworkPeerings/peer-to-hub",
           SPOKE + r"/virtualNetworks/vnet-ingestion/virtualNetworkPeerings/peer-to-hub"),
    Target("spoke hub-side peering", "hub_peering", HUB + r"/virtualNetworks/vnet-weu/virtualNetworkPeerings/[^/]+",
           HUB + r"/virtualNetworks/vnet-weu/virtualNetworkPeerings/peer-hub-to-ingestion"),
    Target("spoke zone link", "zone_link[",
           HUB + r"/privateDnsZones/[^/]+/virtualNetworkLinks/link-vnet-(?!weu$)[^/]+",
           HUB + rf"/privateDnsZones/{ZONE}/virtualNetworkLinks/link-vnet-ingestion"),
    Target("spoke rule collections (shared group)", "firewall_rules",
           HUB + r"/firewallPolicies/afwp-weu/ruleCollectionGroups/spokes-[0-9]+",
           HUB + r"/firewallPolicies/afwp-weu/ruleCollectionGroups/spokes-1", read_first=True),  # ingestion's
    Target("spoke route on the hub", "hub_route", HUB + r"/routeTables/rt-weu-gateway/routes/[^/]+",
           HUB + r"/routeTables/rt-weu-gateway/routes/spoke-ingestion"),
    Target("spoke diagnostic setting", "diag_nsg_databricks_host", diag_kind("rg-spokes-weu"),
           SPOKE + r"/networkSecurityGroups/nsg-ingestion-dbw-host" + DIAG, get=False),
    # zerotrust_databricks_private_workspace
    Target("identity", "id_uc", DBX + r"/Microsoft\.ManagedIdentity/userAssignedIdentities/[^/]+",
           DBX + r"/Microsoft\.ManagedIdentity/userAssignedIdentities/id-analytics-uc", get=False),
    Target("federated credential", "fic_github",
           DBX + r"/Microsoft\.ManagedIdentity/userAssignedIdentities/[^/]+/federatedIdentityCredentials/[^/]+",
           get=False),
    Target("Key Vault", "key_vault", DBX + r"/Microsoft\.KeyVault/vaults/[^/]+"),
    Target("Key Vault key", "key_databricks", DBX + r"/Microsoft\.KeyVault/vaults/[^/]+/keys/[^/]+",
           DBX + r"/Microsoft\.KeyVault/vaults/[^/]+/keys/cmk-databricks", get=False),
    Target("role assignment", "ra_uc_key_storage",
           SUB + r"/resourceGroups/rg-dbx-weu/(.*/)?providers/Microsoft\.Authorization/roleAssignments/[^/]+",
           DBX + r"/Microsoft\.KeyVault/vaults/[^/]+/keys/cmk-storage/providers/Microsoft\.Authorization/"
                 r"roleAssignments/[^/]+", get=False),
    Target("storage account", "storage", DBX + r"/Microsoft\.Storage/storageAccounts/[^/]+"),
    Target("blob container", "container[", DBX + r"/Microsoft\.Storage/storageAccounts/[^/]+/blobServices/default/"
                                                 r"containers/[^/]+",
           DBX + r"/Microsoft\.Storage/storageAccounts/[^/]+/blobServices/default/containers/raw", get=False),
    Target("container registry", "registry", DBX + r"/Microsoft\.ContainerRegistry/registries/[^/]+"),
    Target("access connector", "access_connector", DBX + r"/Microsoft\.Databricks/accessConnectors/[^/]+"),
    Target("Databricks workspace", "workspace", DBX + r"/Microsoft\.Databricks/workspaces/[^/]+"),
    Target("private endpoint", "pe_vault", DBX + r"/Microsoft\.Network/privateEndpoints/[^/]+",
           DBX + r"/Microsoft\.Network/privateEndpoints/pe-kv-[^/]+"),
    Target("private endpoint zone group", "pe_vault_dns",
           DBX + r"/Microsoft\.Network/privateEndpoints/[^/]+/privateDnsZoneGroups/default",
           DBX + r"/Microsoft\.Network/privateEndpoints/pe-kv-[^/]+/privateDnsZoneGroups/default"),
    Target("workspace diagnostic setting", "diag_key_vault", diag_kind("rg-dbx-weu"),
           DBX + r"/Microsoft\.KeyVault/vaults/[^/]+" + DIAG, get=False),
]
# Long-running operations' status: every resource provider's way of answering.
POLLS = [
    ("Network operation poll", SUB + r"/providers/Microsoft\.Network/locations/[^/]+/operations/[^/]+$"),
    ("Log Analytics operation poll",
     SUB + r"/providers/Microsoft\.OperationalInsights/locations/[^/]+/operations/[^/]+$"),
    ("private DNS operation poll", HUB + r"/privateDnsOperationStatuses/[^/]+$"),
    ("Databricks operation poll", SUB + r"/providers/Microsoft\.Databricks/locations/[^/]+/operations/[^/]+$"),
    ("Key Vault operation poll", SUB + r"/providers/Microsoft\.KeyVault/locations/[^/]+/operations/[^/]+$"),
    ("registry operation poll",
     SUB + r"/providers/Microsoft\.ContainerRegistry/locations/[^/]+/operations/[^/]+$"),
    ("storage operation result poll",
     SUB + r"/providers/Microsoft\.Storage/locations/[^/]+/operationResults/[^/]+$"),
]

# Reads of the plans' policy check (provider/composite/zt_comp_policy.c): the
# assignments listed at each scope, then, once the governance has assigned its
# initiative (the apply's re-plan of the hub), the initiative and its members.
# A plan never fails because such a read did: whatever the fault, the apply
# succeeds (the check is skipped with a warning, or the read retried).
POLICY_READS = [
    ("policy assignments of a scope", SUB + r"(/resourceGroups/[^/]+)?/providers/Microsoft\.Authorization/"
                                            r"policyAssignments$",
     SUB + r"/resourceGroups/rg-hub-weu/providers/Microsoft\.Authorization/policyAssignments$"),
    ("policy initiative read", SUB + r"/providers/Microsoft\.Authorization/policySetDefinitions/[^/]+$", None),
    ("built-in policy definition read", r"^/providers/Microsoft\.Authorization/policyDefinitions/[^/]+$",
     r"^/providers/Microsoft\.Authorization/policyDefinitions/5fcf46f9-194c-47ff-8889-380f57ae4617$"),
]

PUT_KINDS = ["429", "500", "503", "reset", "hang", "conflict", "async_failed", "raw", "lost_answer"]
READ_KINDS = ["429", "500", "503", "reset", "hang", "raw"]
RETRYABLE = {"429", "500", "503", "reset", "hang", "conflict", "lost_answer"}
INJECTED_CODE = "ZtInjectedFailure"
PAGE = ("<html><head><title>400 Requ\u00eate incorrecte</title></head><body><h1>Requ\u00eate refus\u00e9e "
        "par le mandataire</h1></body></html>")


class Row:
    def __init__(self, label, node, method, kind, instance, kinds, plan_read=False, read_first=False):
        self.label, self.node, self.method = label, node, method
        self.kind, self.instance, self.kinds = kind, instance, kinds
        self.plan_read, self.read_first = plan_read, read_first


ROWS: list[Row] = [Row(f"PUT {t.label}", t.node, "PUT", t.kind, t.instance, PUT_KINDS) for t in TARGETS]
ROWS += [Row(f"GET {t.label}", t.node, "GET", t.kind, t.instance, READ_KINDS, read_first=t.read_first)
         for t in TARGETS if t.get]
ROWS += [Row(f"GET {label}", None, "GET", rx, rx, READ_KINDS) for label, rx in POLLS]
ROWS += [Row(f"GET {label}", None, "GET", rx, inst or rx, READ_KINDS, plan_read=True)
         for label, rx, inst in POLICY_READS]

FULL = os.environ.get("ZT_FULL_FAULT_MATRIX") == "1"
SHIFT = int(os.environ.get("ZT_FAULT_MATRIX_SHIFT", str(int(time.time() // 86400))))
STRIDE = 3  # CI: a third of the rows per run


def _cells() -> list[tuple[Row, str]]:
    if FULL:
        cells = [(r, k) for r in ROWS for k in r.kinds]
    else:
        cells = [(r, r.kinds[(i // STRIDE + SHIFT // STRIDE) % len(r.kinds)])
                 for i, r in enumerate(ROWS) if i % STRIDE == SHIFT % STRIDE]
    cells.append((next(r for r in ROWS if r.label == "PUT hub VNet"), "hang_deadline"))
    return cells


CELLS = _cells()
RESULTS: dict[str, str] = {}   # cell id -> "pass" | symptom


def _cell_id(row: Row, kind: str) -> str:
    return f"{row.label} x {kind}"


def _fault_spec(row: Row, kind: str) -> dict:
    spec = {"method": row.method, "path_regex": row.instance, "after": 0, "count": 1}
    if kind == "hang_deadline":
        return spec | {"kind": "hang", "seconds": 30}
    spec["kind"] = kind
    if kind in ("reset", "hang"):
        # libcurl silently re-sends once on a reused connection that died
        # before any answer byte: two firings make sure the provider sees one.
        spec["count"] = 2
    if kind == "hang":
        spec["seconds"] = 2
    if kind == "async_failed":
        spec |= {"code": INJECTED_CODE, "message": "Injected by test_platform_faults (async_failed)."}
    if kind == "raw":
        spec |= {"status": 400, "body_b64": base64.b64encode(PAGE.encode("latin-1")).decode(),
                 "headers": {"Content-Type": "text/html; charset=iso-8859-1",
                             "x-ms-request-id": "proxy-caf\u00e9"}}
    return spec


# ------------------------------------------------------------------------------
# Fixtures
# ------------------------------------------------------------------------------

emu, ws = platform_fixtures("faults")


def _apply(ws, timeout=300):
    return ws.run("apply", "-auto-approve", "-input=false", "-no-color", timeout=timeout)


def _state_resources(ws) -> list[str]:
    r = ws.run("state", "list", log=False)
    return [x for x in r.stdout.split() if x] if r.rc == 0 else []


def _force_clean(ws, emu) -> str:
    """Bring the workspace and the emulator back to empty, whatever happened.
    Returns what had to be done beyond a normal destroy ('' if nothing)."""
    notes = []
    emu.clear_faults()
    (ws.dir / "zz_fault_override.tf").unlink(missing_ok=True)
    if _state_resources(ws):
        r = ws.run("destroy", "-auto-approve", "-input=false", "-no-color", timeout=300)
        if r.rc != 0:
            notes.append("destroy failed during clean-up")
            for addr in _state_resources(ws):
                ws.run("state", "rm", addr, log=False)
    left = platform_leftovers(emu)
    if left:
        notes.append(f"{len(left)} resources removed through the control API")
        # children first (longest IDs), no in-use checks on drift deletes
        for rid in sorted(left, key=len, reverse=True):
            emu.client.control("POST", "drift", {"id": rid, "action": "delete"})
    return "; ".join(notes)


def _diag_text(r) -> str:
    return r.stdout + "\n" + r.stderr


def _first_diag(text: str, n: int = 500) -> str:
    """The first 'Error:' diagnostic, summary and detail, on one line."""
    i = text.find("Error: ")
    block = text[i:i + n * 3] if i >= 0 else text[-n:]
    block = re.sub(r"\n\s*with zerotrust_\w+\.\w+,.*?\{", "", block, flags=re.S)
    return " ".join(block.split())[:n]


def _names_resource(text: str, row: Row) -> bool:
    """The diagnostic names the node that failed (a poll: some node)."""
    if row.node:
        return re.search(r"Failed to (apply|replace) " + re.escape(row.node), text) is not None
    return re.search(r"Failed to (apply|replace) \w", text) is not None


# ------------------------------------------------------------------------------
# The tests
# ------------------------------------------------------------------------------

def _request_kind(q: dict) -> Row | None:
    return next((row for row in ROWS if row.method == q["method"] and re.search(row.kind, q["path"], re.I)),
                None)


def test_request_kinds_cover_a_clean_apply(ws, emu):
    """A clean apply; every ARM request it sends belongs to a matrix row, and
    every row's instance is sent, first by the apply (not read at plan,
    which would use the fault up). A read-modify-write's GET comes before its
    PUT within the apply: that row's first GET must follow the apply's first
    write and precede its own PUT."""
    assert not platform_leftovers(emu)
    seq = emu.last_seq()
    r = _apply(ws)
    assert r.rc == 0, r.describe()
    reqs = emu.requests(since=seq, kind="arm")
    unknown = sorted({f"{q['method']} {q['path']}" for q in reqs if not _request_kind(q)})
    assert not unknown, f"requests of a clean apply that no matrix row covers: {unknown[:20]}"
    unused, early = [], []
    for row in ROWS:
        hits = [q for q in reqs if q["method"] == row.method and re.search(row.instance, q["path"], re.I)]
        if not hits:
            unused.append(row.label)
        elif row.method == "GET" and row.node:
            writes = [q["seq"] for q in reqs if q["method"] == "PUT" and re.search(row.instance, q["path"], re.I)]
            if row.read_first:  # after the apply's first write (plans come before it), then its PUT
                first_write = min(q["seq"] for q in reqs if q["method"] == "PUT")
                if not writes or not first_write < hits[0]["seq"] < writes[0]:
                    early.append(row.label)
            elif writes and hits[0]["seq"] < writes[0]:
                early.append(row.label)
    assert not unused, f"matrix rows a clean apply never sends: {unused}"
    assert not early, f"rows whose request is read at plan, before the apply writes it: {early}"
    print(f"\n[faults] clean platform apply: {len(reqs)} ARM requests; matrix: {len(ROWS)} rows, "
          f"{sum(len(r.kinds) for r in ROWS) + 1} cells in full, {len(CELLS)} in this run "
          f"({'full' if FULL else f'shift {SHIFT}'})")
    ws.run("destroy", "-auto-approve", "-input=false", "-no-color", check=True)
    assert not platform_leftovers(emu)


def _slug(r: Row) -> str:
    return re.sub(r"[^a-z0-9]+", "-", r.label.lower()).strip("-")


@pytest.mark.parametrize("row,kind", CELLS, ids=[f"{_slug(r)}-{k}" for r, k in CELLS])
def test_fault_cell(ws, emu, row, kind):
    cid = _cell_id(row, kind)
    RESULTS[cid] = "did not finish"
    symptom = _run_cell(ws, emu, row, kind)
    cleanup = _force_clean(ws, emu)
    if symptom is None and cleanup:
        symptom = f"clean-up needed: {cleanup}"
    if symptom is None and ws.orphans:
        symptom = f"orphans: {ws.orphans[-3:]}"
    RESULTS[cid] = "pass" if symptom is None else symptom
    assert symptom is None, f"{cid}: {symptom}"


def _run_cell(ws, emu, row, kind) -> str | None:
    if platform_leftovers(emu) or _state_resources(ws):
        _force_clean(ws, emu)
    emu.clear_faults()
    if kind == "hang_deadline":
        (ws.dir / "zz_fault_override.tf").write_text(
            'resource "zerotrust_hub" "hub" {\n  timeouts {\n    create = "20s"\n  }\n}\n')
    emu.client.control("POST", "faults", _fault_spec(row, kind)).raise_for_status()
    t0 = time.monotonic()
    r1 = _apply(ws)
    fired = sum(f.get("fired", 0) for f in emu.faults())
    emu.clear_faults()
    (ws.dir / "zz_fault_override.tf").unlink(missing_ok=True)
    if r1.rc == -999:
        return f"first apply did not finish in time ({r1.seconds:.0f}s)"
    if fired == 0:
        return f"the fault never fired (first apply exit {r1.rc})"
    text = _diag_text(r1)
    if "invalid UTF-8" in text or "Plugin error" in text:
        return f"Terraform refused the provider's answer: {_first_diag(text)}"
    if kind in RETRYABLE and r1.rc != 0:
        return f"apply failed although {kind} is retryable (fired {fired}x): {_first_diag(text)}"
    if row.plan_read and r1.rc != 0:
        return f"apply failed on a fault in a policy read at plan (fired {fired}x): {_first_diag(text)}"
    if kind not in RETRYABLE and not row.plan_read:
        if r1.rc == 0:
            return f"apply succeeded although the {kind} fault fired {fired}x"
        if not _names_resource(text, row):
            return f"the diagnostic names neither node {row.node} nor a resource: {_first_diag(text)}"
        if kind == "async_failed" and INJECTED_CODE not in text:
            return f"the diagnostic lacks ARM's error code {INJECTED_CODE}: {_first_diag(text)}"
        if kind == "raw" and "Requ\ufffdte refus\ufffde" not in text:
            return f"the diagnostic lacks the page's text: {_first_diag(text)}"
        if kind == "hang_deadline" and not re.search(r"deadline.*timeouts\.create", text, re.I | re.S):
            return f"the diagnostic does not say timeouts.create passed: {_first_diag(text)}"
    # Converge (a replace when the first apply failed: the resource is tainted).
    r2 = _apply(ws)
    if r2.rc != 0:
        return f"second apply failed: {re.findall(r'Error: .*', _diag_text(r2))[:3]}"
    rc = ws.run("plan", "-input=false", "-no-color", "-detailed-exitcode").rc
    if rc != 0:
        return f"plan after the second apply is not clean (exit {rc})"
    r3 = ws.run("destroy", "-auto-approve", "-input=false", "-no-color", timeout=300)
    if r3.rc != 0:
        return f"destroy failed: {re.findall(r'Error: .*', _diag_text(r3))[:3]}"
    left = platform_leftovers(emu)
    if left:
        return f"destroy left {len(left)} resources: {left[:5]}"
    print(f"\n[faults] {_cell_id(row, kind)}: first apply exit {r1.rc} "
          f"({r1.seconds:.1f}s, fired {fired}), converged; cell {time.monotonic() - t0:.1f}s"
          + (f"\n         diagnostic: {_first_diag(text)}" if r1.rc != 0 else ""))
    return None


def test_zz_matrix_summary(session_root, capsys):
    """Print and save the matrix result (runs last in this module)."""
    if not RESULTS:
        pytest.skip("no fault cell ran in this selection")
    ran = [(r, k) for r, k in CELLS if _cell_id(r, k) in RESULTS]
    passed = sum(1 for r, k in ran if RESULTS[_cell_id(r, k)] == "pass")
    kinds = sorted({k for _, k in ran})
    rows = sorted({r.label for r, _ in ran})
    lines = [f"platform fault matrix ({'full' if FULL else f'CI subset, shift {SHIFT}'}): "
             f"{passed}/{len(ran)} cells passed ({len(rows)} of {len(ROWS)} request kinds x "
             f"{len(kinds)} fault kinds: {' '.join(kinds)})"]
    if len(ran) < len(CELLS):
        lines.append(f"  ({len(CELLS) - len(ran)} cells of this selection not run: deselected)")
    for row, kind in ran:
        v = RESULTS[_cell_id(row, kind)]
        if v != "pass":
            lines.append(f"  FAIL {_cell_id(row, kind)}: {v}")
    text = "\n".join(lines) + "\n"
    out = Path(os.environ.get("ZT_FAULT_MATRIX_SUMMARY", session_root / "fault-matrix-summary.txt"))
    out.write_text(text)
    with capsys.disabled():
        print("\n" + text + f"(written to {out})")
