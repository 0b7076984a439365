"""The emulator's policy evaluator against every built-in definition of third_party/azure-policy: the
resource each allows and the one each refuses (tests/common/policy_cases.json, shared with the
provider's evaluator test, tests/unit/test_policy.c, so the two agree)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from . import policy_eval as pe
from .policy import BUILTIN_DIR

CASES = json.loads((Path(__file__).resolve().parents[1] / "common" / "policy_cases.json").read_text())["cases"]
DEFINITIONS = {json.loads(f.read_text())["name"]: json.loads(f.read_text()) for f in BUILTIN_DIR.rglob("*.json")}
RG_TYPE = "Microsoft.Resources/subscriptions/resourceGroups"


def compliant(definition: dict, case: dict, side: str) -> bool:
    s = case[side]
    r = s["resource"]
    params = pe.parameter_values(definition, case.get("params", {}))
    kw = {"api_version": case.get("api_version", ""), "resource_group": s.get("resource_group"),
          "subscription": case.get("subscription")}
    ctx = pe.Context(r, params, indexed="location" in r and r["type"] != RG_TYPE, **kw)
    if not pe.matches(definition, ctx):
        return True
    effect = pe.effect_of(definition, ctx).lower()
    if effect not in ("auditifnotexists", "deployifnotexists"):
        return False
    related = s.get("related")
    return related is not None and pe.existence_holds(definition, pe.Context(related, params, primary=r, **kw))


def test_every_definition_has_a_case():
    assert sorted(CASES) == sorted(DEFINITIONS)


@pytest.mark.parametrize("guid", sorted(DEFINITIONS))
def test_definition_allows_and_refuses(guid):
    d, case = DEFINITIONS[guid], CASES[guid]
    assert not compliant(d, case, "denied"), d["properties"]["displayName"]
    assert compliant(d, case, "allowed"), d["properties"]["displayName"]


def test_every_alias_is_in_the_table():
    missing = set()

    def scan(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k.lower() == "field" and isinstance(v, str) and not pe.is_expression(v):
                    if not pe._special(pe.Context({}, {}), v)[0] and v.lower() not in pe.aliases():
                        missing.add(v)
                scan(v)
        elif isinstance(node, list):
            for x in node:
                scan(x)
        elif isinstance(node, str):
            for name in __import__("re").findall(r"(?:field|current)\('([^']+)'\)", node):
                if not pe._special(pe.Context({}, {}), name)[0] and name.lower() not in pe.aliases():
                    missing.add(name)

    for d in DEFINITIONS.values():
        scan(d["properties"]["policyRule"])
    assert not missing, sorted(missing)
