"""Fault matrix for zerotrust_hub's apply, with real Terraform against the ARM
emulator.

Rows: every distinct ARM request of a clean apply (method + resource path;
`test_request_classes_cover_a_clean_apply` derives them from the request log
of a clean apply and fails when the hub starts sending one the matrix does not
know): a PUT and a GET (read-back / DNS resource poll) per underlying resource
(one instance stands for the eight zones and the eight zone links; the
synchronous diagnostic settings have no read-back), and the
Azure-AsyncOperation status polls and the Location polls of private DNS zones and links.

Columns: the emulator's fault kinds that make sense for the request:
  PUT         429 500 503 reset hang conflict async_failed
  GET / poll  429 500 503 reset hang
`hang` holds the request 2 s and then closes the connection without an answer
(what the client sees when an attempt times out; the provider's own per-attempt
timeout is 120 s and cannot be configured from the provider block or the
environment). One more cell, `hang_deadline`, holds the VNet PUT for longer
than the hub's `timeouts.create` (20 s, set with an override file), so the
apply must stop at its deadline with a diagnostic.

Each cell: `terraform apply -auto-approve` with the fault armed (the plan of a
create makes no ARM request, so the fault hits the apply) -> either success
through retries (429/500/503/reset/hang/conflict: all retryable) or a failure
whose diagnostic names the node or ARM resource and ARM's error code
(async_failed: the injected code `ZtInjectedFailure`; hang_deadline: a
timeout) -> faults cleared -> `terraform apply` again (after a failed create
Terraform has tainted zerotrust_hub.this, so this apply is a replace; we do
NOT untaint) -> `plan -detailed-exitcode` is clean -> `terraform destroy` ->
the emulator's store holds nothing under the resource group (except the
Log Analytics workspace the test created).

CI runs a deterministic subset: request row i gets kind
kinds(row)[(i + ZT_FAULT_MATRIX_SHIFT) % len(kinds(row))] (a rotating Latin
square: every request once, every kind at least once, each run of the same
shift the same cells) plus hang_deadline. ZT_FULL_FAULT_MATRIX=1 runs every
cell. The summary (cells passed / total, failing cells with their symptom) is
printed by the last test and written to $ZT_FAULT_MATRIX_SUMMARY (default
<session tmp>/fault-matrix-summary.txt).
"""
from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from hub_env import HUB, hub_fixtures, path_template

RG = "rg-hub-faults"
P = f"/resourceGroups/{RG}/providers"
NET = f"{P}/Microsoft.Network"
DIAG = "/providers/Microsoft.Insights/diagnosticSettings/zerotrust-law"
ZONE = "privatelink.blob.core.windows.net"

# node key, resource path (regex-escaped when used), ARM name shown to the user
RESOURCES = [
    ("route_table_gateway", f"{NET}/routeTables/rt-{HUB}-gateway"),
    ("vnet", f"{NET}/virtualNetworks/vnet-{HUB}"),
    ("pip_firewall", f"{NET}/publicIPAddresses/pip-{HUB}-afw"),
    ("pip_firewall_mgmt", f"{NET}/publicIPAddresses/pip-{HUB}-afw-mgmt"),
    ("pip_bastion", f"{NET}/publicIPAddresses/pip-{HUB}-bas"),
    ("pip_gateway", f"{NET}/publicIPAddresses/pip-{HUB}-vgw"),
    ("firewall_policy", f"{NET}/firewallPolicies/afwp-{HUB}"),
    ("firewall_rules", f"{NET}/firewallPolicies/afwp-{HUB}/ruleCollectionGroups/hub-platform"),
    ("firewall", f"{NET}/azureFirewalls/afw-{HUB}"),
    ("bastion", f"{NET}/bastionHosts/bas-{HUB}"),
    ("vpn_gateway", f"{NET}/virtualNetworkGateways/vgw-{HUB}"),
    ("dns_resolver", f"{NET}/dnsResolvers/dnspr-{HUB}"),
    ("dns_resolver_inbound", f"{NET}/dnsResolvers/dnspr-{HUB}/inboundEndpoints/inbound"),
    (f"zone[{ZONE}]", f"{NET}/privateDnsZones/{ZONE}"),
    (f"zone_link[{ZONE}]", f"{NET}/privateDnsZones/{ZONE}/virtualNetworkLinks/link-vnet-{HUB}"),
    ("diag_firewall", f"{NET}/azureFirewalls/afw-{HUB}{DIAG}"),
    ("diag_bastion", f"{NET}/bastionHosts/bas-{HUB}{DIAG}"),
    ("diag_vpn_gateway", f"{NET}/virtualNetworkGateways/vgw-{HUB}{DIAG}"),
    ("diag_pip_firewall", f"{NET}/publicIPAddresses/pip-{HUB}-afw{DIAG}"),
    ("diag_pip_firewall_mgmt", f"{NET}/publicIPAddresses/pip-{HUB}-afw-mgmt{DIAG}"),
    ("diag_pip_bastion", f"{NET}/publicIPAddresses/pip-{HUB}-bas{DIAG}"),
    ("diag_pip_gateway", f"{NET}/publicIPAddresses/pip-{HUB}-vgw{DIAG}"),
]
POLL_REGEX = r"/providers/Microsoft\.Network/locations/[^/]+/operations/[^/]+$"
# Private DNS zones and links answer 202 with their own status monitor in the resource group.
DNS_POLL_REGEX = r"/providers/Microsoft\.Network/privateDnsOperationStatuses/[^/]+$"

PUT_KINDS = ["429", "500", "503", "reset", "hang", "conflict", "async_failed"]
READ_KINDS = ["429", "500", "503", "reset", "hang"]
RETRYABLE = {"429", "500", "503", "reset", "hang", "conflict"}
INJECTED_CODE = "ZtInjectedFailure"


class Row:
    def __init__(self, label, node, method, regex, kinds):
        self.label, self.node, self.method, self.regex, self.kinds = label, node, method, regex, kinds


ROWS: list[Row] = []
for node, path in RESOURCES:
    ROWS.append(Row(f"PUT {node}", node, "PUT", re.escape(path) + "$", PUT_KINDS))
for node, path in RESOURCES:
    if not node.startswith("diag_"):  # diagnostic settings are synchronous: no read-back
        ROWS.append(Row(f"GET {node}", node, "GET", re.escape(path) + "$", READ_KINDS))
ROWS.append(Row("GET poll (Azure-AsyncOperation)", None, "GET", POLL_REGEX, READ_KINDS))
ROWS.append(Row("GET poll (private DNS)", None, "GET", DNS_POLL_REGEX, READ_KINDS))

FULL = os.environ.get("ZT_FULL_FAULT_MATRIX") == "1"
SHIFT = int(os.environ.get("ZT_FAULT_MATRIX_SHIFT", "0"))


def _cells() -> list[tuple[Row, str]]:
    if FULL:
        cells = [(r, k) for r in ROWS for k in r.kinds]
    else:
        cells = [(r, r.kinds[(i + SHIFT) % len(r.kinds)]) for i, r in enumerate(ROWS)]
    cells.append((ROWS[1], "hang_deadline"))  # PUT vnet held past timeouts.create
    return cells


CELLS = _cells()
RESULTS: dict[str, str] = {}   # cell id -> "pass" | symptom

def _cell_id(row: Row, kind: str) -> str:
    return f"{row.label} x {kind}"


def _fault_spec(row: Row, kind: str) -> dict:
    spec = {"method": row.method, "path_regex": row.regex, "after": 0, "count": 1}
    if kind == "hang_deadline":
        return spec | {"kind": "hang", "seconds": 30, "count": 1}
    spec["kind"] = kind
    if kind in ("reset", "hang"):
        # libcurl silently re-sends once on a reused connection that died
        # before any answer byte: two firings make sure the provider sees one.
        spec["count"] = 2
    if kind == "hang":
        spec["seconds"] = 2
    if kind == "async_failed":
        spec |= {"code": INJECTED_CODE, "message": "Injected by test_hub_faults (async_failed)."}
    return spec


# ------------------------------------------------------------------------------
# Fixtures
# ------------------------------------------------------------------------------

emu, world, ws = hub_fixtures("faults", RG)


def _apply(ws, timeout=240):
    return ws.run("apply", "-auto-approve", "-input=false", "-no-color", timeout=timeout)


def _state_resources(ws) -> list[str]:
    r = ws.run("state", "list", log=False)
    return [x for x in r.stdout.split() if x] if r.rc == 0 else []


def _force_clean(ws, emu, world) -> str:
    """Bring the workspace and the emulator back to empty, whatever happened.
    Returns what had to be done beyond a normal destroy ('' if nothing)."""
    notes = []
    emu.clear_faults()
    (ws.dir / "zz_fault_override.tf").unlink(missing_ok=True)
    if _state_resources(ws):
        r = ws.run("destroy", "-auto-approve", "-input=false", "-no-color", timeout=240)
        if r.rc != 0:
            notes.append("destroy failed during clean-up")
            for addr in _state_resources(ws):
                ws.run("state", "rm", addr, log=False)
    left = emu.store_ids_under(world["rg_id"])
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
    if i < 0:
        return " ".join(text[-n:].split())
    block = text[i:]
    j = block.find("\n\n", block.find(" resource \"zerotrust_hub\""))
    j = block.find("\n\n", j + 2) if j >= 0 else -1
    block = block[: j if j > 0 else n * 2]
    block = re.sub(r"\n\s*with zerotrust_hub.this,.*?\{", "", block, flags=re.S)
    return " ".join(block.split())[:n]


def _names_resource(text: str, row: Row) -> bool:
    """The diagnostic names the node key or the ARM resource (ID or name)."""
    low = text.lower()
    if row.node and row.node.lower() in low:
        return True
    path = next((p for n, p in RESOURCES if n == row.node), None)
    return bool(path) and path.rsplit("/", 1)[-1].lower() in low


# ------------------------------------------------------------------------------
# The tests
# ------------------------------------------------------------------------------

def test_request_classes_cover_a_clean_apply(ws, emu, world):
    """A clean apply; every ARM request it sends belongs to a matrix row, and
    every row's request is sent (else a fault on it would never fire)."""
    assert not emu.store_ids_under(world["rg_id"])
    seq = emu.last_seq()
    r = _apply(ws)
    assert r.rc == 0, r.describe()
    reqs = [q for q in emu.requests(since=seq, kind="arm")]
    templates = sorted({(q["method"], path_template(q["path"])) for q in reqs})
    generic = [(row, re.compile(row.regex.replace(re.escape(ZONE), r"[^/]+"), re.I)) for row in ROWS]
    unknown = [t for t in templates
               if not any(row.method == t[0] and rx.search(t[1]) for row, rx in generic)]
    assert not unknown, f"requests of a clean apply that no matrix row covers: {unknown}"
    unused = [row.label for row in ROWS
              if not any(q["method"] == row.method and re.search(row.regex, q["path"], re.I) for q in reqs)]
    assert not unused, f"matrix rows a clean apply never sends: {unused}"
    print(f"\n[faults] clean apply: {len(reqs)} ARM requests, {len(templates)} distinct method+path; "
          f"matrix: {len(ROWS)} rows, {sum(len(r.kinds) for r in ROWS) + 1} cells in full, "
          f"{len(CELLS)} in this run")
    ws.run("destroy", "-auto-approve", "-input=false", "-no-color", check=True)
    assert not emu.store_ids_under(world["rg_id"])


def _row_slug(r: Row) -> str:
    if r.node:
        return r.node
    return "dns-poll" if r.regex == DNS_POLL_REGEX else "poll"


@pytest.mark.parametrize("row,kind", CELLS, ids=[f"{r.method}-{_row_slug(r)}-{k}" for r, k in CELLS])
def test_fault_cell(ws, emu, world, row, kind):
    cid = _cell_id(row, kind)
    RESULTS[cid] = "did not finish"
    symptom = _run_cell(ws, emu, world, row, kind)
    cleanup = _force_clean(ws, emu, world)
    if symptom is None and cleanup:
        symptom = f"clean-up needed: {cleanup}"
    RESULTS[cid] = "pass" if symptom is None else symptom
    assert symptom is None, f"{cid}: {symptom}"


def _run_cell(ws, emu, world, row, kind) -> str | None:
    left = emu.store_ids_under(world["rg_id"])
    if left or _state_resources(ws):
        _force_clean(ws, emu, world)
    emu.clear_faults()
    if kind == "hang_deadline":
        (ws.dir / "zz_fault_override.tf").write_text(
            'resource "zerotrust_hub" "this" {\n  timeouts {\n    create = "20s"\n  }\n}\n')
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
    expect_ok = kind in RETRYABLE
    if expect_ok and r1.rc != 0:
        return f"apply failed although {kind} is retryable (fired {fired}x): {_first_diag(text)}"
    if not expect_ok:
        if r1.rc == 0:
            return f"apply succeeded although the {kind} fault fired {fired}x"
        if not _names_resource(text, row):
            return f"the diagnostic names neither node {row.node} nor its ARM resource: {_first_diag(text)}"
        if kind == "async_failed" and INJECTED_CODE not in text:
            return f"the diagnostic lacks ARM's error code {INJECTED_CODE}: {_first_diag(text)}"
        if kind == "hang_deadline" and not re.search(r"deadline.*timeouts\.create", text, re.I | re.S):
            return f"the diagnostic does not say timeouts.create passed: {_first_diag(text)}"
        if r1.seconds > 120:
            return f"the failing apply took {r1.seconds:.0f}s"
    # Converge (a replace when the first apply failed: the hub is tainted).
    r2 = _apply(ws)
    if r2.rc != 0:
        return f"second apply failed: {re.findall(r'Error: .*', _diag_text(r2))[:3]}"
    rc = ws.run("plan", "-input=false", "-no-color", "-detailed-exitcode").rc
    if rc != 0:
        return f"plan after the second apply is not clean (exit {rc})"
    r3 = ws.run("destroy", "-auto-approve", "-input=false", "-no-color", timeout=240)
    if r3.rc != 0:
        return f"destroy failed: {re.findall(r'Error: .*', _diag_text(r3))[:3]}"
    left = emu.store_ids_under(world["rg_id"])
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
    lines = [f"zerotrust_hub fault matrix ({'full' if FULL else f'CI subset, shift {SHIFT}'}): "
             f"{passed}/{len(ran)} cells passed ({len(rows)} requests x {len(kinds)} fault kinds: "
             f"{' '.join(kinds)})"]
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
