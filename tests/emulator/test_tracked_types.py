"""The provider's api-version table (provider/arm/zt_arm_cloud.c) marks each
type tracked or not; its policy check at plan evaluates Indexed-mode
definitions only on tracked types, as Azure and this emulator do. The column
must say what the vendored type definition says (tags and a writable location
of its own), or a plan refuses what Azure allows (e.g. a required-tag Deny on
a policy assignment, which has a location but no tags)."""
import re
from pathlib import Path

from .arm import _indexed
from .specs import default_library

TABLE = Path(__file__).resolve().parents[2] / "provider" / "arm" / "zt_arm_cloud.c"
ROW = re.compile(r'\{"(Microsoft\.[^"]+)",\s*"([^"]+)",\s*(true|false)\}')


def rows():
    return [(t, v, flag == "true") for t, v, flag in ROW.findall(TABLE.read_text())]


def test_table_is_parsed():
    names = {t for t, _, _ in rows()}
    assert "Microsoft.Network/virtualNetworks" in names
    assert "Microsoft.Authorization/policyAssignments" in names
    assert len(names) > 40


def test_tracked_column_matches_the_definitions():
    lib = default_library()
    wrong = []
    for type_name, version, tracked in rows():
        rtv = lib.version(type_name, version)
        if rtv is None:       # not a vendored type (provider registration)
            assert not tracked, type_name
            continue
        if _indexed(rtv, type_name) != tracked:
            wrong.append(f"{type_name} {version}: table says {tracked}")
    assert not wrong, wrong


def test_policy_assignment_is_not_tracked():
    """It takes a location (for its managed identity) but no tags."""
    lib = default_library()
    flags = {t: f for t, _, f in rows()}
    assert flags["Microsoft.Authorization/policyAssignments"] is False
    rtv = lib.version("Microsoft.Authorization/policyAssignments", "2026-07-01")
    assert "location" in rtv.body.get("properties", {})
