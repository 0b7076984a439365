"""Bad and unknown input to zerotrust_address_plan and
provider::zerotrust::cidr_layout, through real Terraform.

Every error case asserts: Terraform fails cleanly (exit 1, no plugin crash
or "did not respond"), the error carries our summary, and the diagnostic
points at the attribute (its source range lies on the attribute's line, or
the message names the attribute). Every unknown-value case asserts that plan
succeeds (the read is deferred or done with what is known) and apply then
produces the plan.

The attribute names and summaries follow schemas/data-sources/
zerotrust_address_plan.json and provider/funcs/zt_addrplan.c.
"""
from __future__ import annotations

import json
import os
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from e2e_support import PROVIDER_SOURCE, Workspace, get_runner, make_workspace

RUNNER_ID = os.environ.get("ZT_BAD_INPUT_RUNNER", "terraform")

HEADER = f'''terraform {{
  required_providers {{
    zerotrust = {{ source = "{PROVIDER_SOURCE}" }}
  }}
}}
provider "zerotrust" {{
  skip_credentials_validation = true  # address planning: no Azure
}}
'''

CRASH_MARKERS = re.compile(r"plugin crashed|Plugin did not respond|panic:|SIGSEGV|"
                           r"unexpected EOF|rpc error: code = (Unavailable|Unknown)|"
                           r"Provider produced invalid", re.I)


# --------------------------------------------------------------------------
# One initialised directory; every case gets its own dir sharing .terraform
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def base(session_root, mirror, provider_speaks) -> Workspace:
    runner = get_runner(RUNNER_ID)
    ws = make_workspace(session_root / "bad-base", runner, mirror, files={"main.tf": HEADER})
    ws.run("init", "-input=false", "-no-color", check=True)
    return ws


@pytest.fixture(scope="module")
def zt_schema(base) -> dict:
    r = base.run("providers", "schema", "-json", check=True, log=False)
    return json.loads(r.stdout)["provider_schemas"][PROVIDER_SOURCE]


@pytest.fixture(scope="module")
def has_data_source(zt_schema):
    if "zerotrust_address_plan" not in (zt_schema.get("data_source_schemas") or {}):
        pytest.fail("the provider's schema has no data source zerotrust_address_plan", pytrace=False)


@pytest.fixture(scope="module")
def cidr_layout(zt_schema, base):
    if not base.runner.supports_functions:
        pytest.skip(f"{base.runner.id} {base.runner.version_str} has no provider functions")
    fn = (zt_schema.get("functions") or {}).get("cidr_layout")
    if fn is None:
        pytest.fail("the provider's schema has no function cidr_layout", pytrace=False)
    return fn


_case_no = 0


def case_ws(base: Workspace, body: str) -> Workspace:
    global _case_no
    _case_no += 1
    ws = make_workspace(base.root.parent / f"bad-{_case_no:03d}", base.runner, base.mirror,
                        files={"main.tf": HEADER + textwrap.dedent(body)})
    (ws.dir / ".terraform").symlink_to(base.dir / ".terraform")
    (ws.dir / ".terraform.lock.hcl").write_text((base.dir / ".terraform.lock.hcl").read_text())
    return ws


def diagnostics(r) -> list[dict]:
    """Diagnostics from `validate -json` (one document) or `plan -json`
    (a stream of JSON lines)."""
    try:
        doc = json.loads(r.stdout)
        if isinstance(doc, dict) and "diagnostics" in doc:
            return doc["diagnostics"]
    except ValueError:
        pass
    return [m["diagnostic"] for m in r.json_lines() if m.get("type") == "diagnostic"]


def assert_no_crash(r, ws: Workspace):
    text = r.stdout + r.stderr
    m = CRASH_MARKERS.search(text)
    assert not m, f"provider crash / protocol failure ({m.group(0)!r}):\n{r.describe()}"
    assert r.rc in (0, 1, 2), r.describe()
    assert not ws.leftovers, "\n".join(ws.leftovers)


def line_of(ws: Workspace, needle: str) -> int:
    for i, line in enumerate((ws.dir / "main.tf").read_text().splitlines(), 1):
        if needle in re.sub(r"\s+", " ", line):
            return i
    raise AssertionError(f"{needle!r} not in main.tf")


def errors_for(ws: Workspace) -> tuple[list[dict], str]:
    """Run validate -json; if it passes, plan -json. Return the error
    diagnostics and which command produced them."""
    r = ws.run("validate", "-json", "-no-color")
    assert_no_crash(r, ws)
    errs = [d for d in diagnostics(r) if d.get("severity") == "error"]
    if errs:
        assert r.rc == 1, r.describe()
        return errs, "validate"
    r = ws.run("plan", "-json", "-input=false", "-no-color")
    assert_no_crash(r, ws)
    errs = [d for d in diagnostics(r) if d.get("severity") == "error"]
    assert r.rc == 1 and errs, f"plan accepted invalid input:\n{r.describe()}"
    return errs, "plan"


def assert_error(ws: Workspace, summary: str, attr: str, attr_lines: list[str]):
    """Some error has `summary` (regex) and points at `attr`: its range
    starts on one of the lines containing attr_lines, or its text names
    attr."""
    errs, where = errors_for(ws)
    matching = [d for d in errs if re.search(summary, d.get("summary", "") + "\n" + d.get("detail", ""))]
    assert matching, (f"no error matching {summary!r} from {where}; errors: "
                      + json.dumps([(d.get("summary"), d.get("detail")) for d in errs], indent=1))
    lines = {line_of(ws, n) for n in attr_lines}
    for d in matching:
        rng = d.get("range") or {}
        start = (rng.get("start") or {}).get("line")
        code = (d.get("snippet") or {}).get("code", "")
        if start in lines or attr in code or f'"{attr}"' in d.get("detail", ""):
            return d
    pytest.fail(f"error {summary!r} does not point at {attr} (lines {sorted(lines)}): "
                + json.dumps(matching, indent=1), pytrace=False)


# --------------------------------------------------------------------------
# Wrong types: Terraform's own type check, against our schema
# --------------------------------------------------------------------------

def test_string_for_the_subnets_list(base, has_data_source):
    ws = case_ws(base, '''
        data "zerotrust_address_plan" "p" {
          address_space = "10.0.0.0/22"
          subnets       = "AzureFirewallSubnet"
        }
    ''')
    d = assert_error(ws, r"Incorrect attribute value type|Inappropriate value", "subnets", ["subnets ="])
    assert "subnets" in d["detail"]


def test_list_for_the_address_space_string(base, has_data_source):
    ws = case_ws(base, '''
        data "zerotrust_address_plan" "p" {
          address_space = ["10.0.0.0/22"]
          layout        = "hub"
        }
    ''')
    d = assert_error(ws, r"Incorrect attribute value type|Inappropriate value", "address_space",
                     ["address_space ="])
    assert "address_space" in d["detail"]


def test_string_for_prefix_length(base, has_data_source):
    ws = case_ws(base, '''
        data "zerotrust_address_plan" "p" {
          address_space = "10.0.0.0/22"
          subnets = [
            { name = "app", prefix_length = "twenty-six" },
          ]
        }
    ''')
    assert_error(ws, r"Incorrect attribute value type|Inappropriate value|number required",
                 "prefix_length", ["subnets =", "prefix_length"])


def test_missing_required_address_space(base, has_data_source):
    ws = case_ws(base, '''
        data "zerotrust_address_plan" "p" {
          layout = "hub"
        }
    ''')
    assert_error(ws, r"Missing required argument|address_space", "address_space",
                 ['data "zerotrust_address_plan"'])


# --------------------------------------------------------------------------
# Our own checks (summaries from zt_addrplan.c)
# --------------------------------------------------------------------------

INVALID = [
    ("invalid-cidr", '''
        address_space = "10.0.0.300/22"
        layout        = "hub"
     ''', r"Invalid address space", "address_space", ["address_space ="]),
    ("not-a-cidr", '''
        address_space = "hub-network"
        layout        = "hub"
     ''', r"Invalid address space", "address_space", ["address_space ="]),
    ("host-bits", '''
        address_space = "10.0.0.1/22"
        layout        = "hub"
     ''', r"host bits", "address_space", ["address_space ="]),
    ("invalid-layout", '''
        address_space = "10.0.0.0/22"
        layout        = "hubb"
     ''', r"Invalid layout", "layout", ["layout ="]),
    ("hub-too-small", '''
        address_space = "10.0.0.0/25"
        layout        = "hub"
     ''', r"too small", "address_space", ["address_space ="]),
    ("invalid-subnet-cidr", '''
        address_space = "10.0.0.0/22"
        subnets = [
          { name = "app", cidr = "10.0.0.0/33" },
        ]
     ''', r"Invalid subnet CIDR", "cidr", ["subnets =", "cidr ="]),
    ("overlapping-subnets", '''
        address_space = "10.0.0.0/22"
        subnets = [
          { name = "app", cidr = "10.0.0.0/24" },
          { name = "db",  cidr = "10.0.0.128/25" },
        ]
     ''', r"Overlapping subnets", "cidr", ["subnets =", '"db"']),
    ("subnet-outside-space", '''
        address_space = "10.0.0.0/22"
        subnets = [
          { name = "app", cidr = "10.9.0.0/24" },
        ]
     ''', r"outside the address space", "cidr", ["subnets =", '"app"']),
    ("subnets-do-not-fit", '''
        address_space = "10.0.0.0/24"
        subnets = [
          { name = "a", prefix_length = 25 },
          { name = "b", prefix_length = 25 },
          { name = "c", prefix_length = 26 },
        ]
     ''', r"do not fit", "subnets", ["subnets =", '"c"', "address_space ="]),
    ("conflicting-size-settings", '''
        address_space = "10.0.0.0/22"
        subnets = [
          { name = "app", prefix_length = 26, newbits = 2 },
        ]
     ''', r"Conflicting subnet size", "newbits", ["subnets =", '"app"']),
    ("missing-size", '''
        address_space = "10.0.0.0/22"
        subnets = [
          { name = "app" },
        ]
     ''', r"Missing subnet size", "subnets", ["subnets =", '"app"']),
    ("prefix-length-out-of-range", '''
        address_space = "10.0.0.0/22"
        subnets = [
          { name = "app", prefix_length = 40 },
        ]
     ''', r"Invalid prefix length|prefix_length must be", "prefix_length", ["subnets =", '"app"']),
    ("firewall-subnet-too-small", '''
        address_space = "10.0.0.0/22"
        subnets = [
          { name = "AzureFirewallSubnet", prefix_length = 27 },
        ]
     ''', r"too small", "prefix_length", ["subnets =", "AzureFirewallSubnet"]),
    ("duplicate-names", '''
        address_space = "10.0.0.0/22"
        subnets = [
          { name = "app", prefix_length = 26 },
          { name = "app", prefix_length = 27 },
        ]
     ''', r"Duplicate subnet name", "name", ["subnets =", "prefix_length = 27"]),
    ("misspelled-reserved-name", '''
        address_space = "10.0.0.0/22"
        subnets = [
          { name = "azureFirewallSubnet", prefix_length = 26 },
        ]
     ''', r"Misspelled reserved subnet name", "name",
     ["subnets =", "azureFirewallSubnet"]),
    ("invalid-subnet-name", '''
        address_space = "10.0.0.0/22"
        subnets = [
          { name = "app subnet!", prefix_length = 26 },
        ]
     ''', r"Invalid subnet name", "name", ["subnets =", "app subnet!"]),
    ("hub-subnet-in-a-spoke", '''
        address_space = "10.1.0.0/22"
        layout        = "spoke"
        subnets = [
          { name = "AzureBastionSubnet", prefix_length = 26 },
        ]
     ''', r"Hub subnet in a spoke", "name", ["subnets =", "AzureBastionSubnet"]),
    ("no-subnets", '''
        address_space = "10.0.0.0/22"
     ''', r"No subnets", "layout", ['data "zerotrust_address_plan"', "address_space ="]),
]


@pytest.mark.parametrize("name,body,summary,attr,lines", INVALID, ids=[c[0] for c in INVALID])
def test_data_source_rejects(base, has_data_source, name, body, summary, attr, lines):
    ws = case_ws(base, 'data "zerotrust_address_plan" "p" {\n' + textwrap.dedent(body) + "}\n")
    assert_error(ws, summary, attr, lines)


# --------------------------------------------------------------------------
# Unknown values in every position: plan must succeed (the read is deferred
# to apply), apply must then compute the plan.
# --------------------------------------------------------------------------

UNKNOWN_SRC = '''
resource "terraform_data" "later" {
  input = {
    space  = "10.0.0.0/22"
    layout = "hub"
    name   = "app"
    len    = 26
    bits   = 4
    cidr   = "10.0.3.0/24"
    list   = [{ name = "app", prefix_length = 26, newbits = null, cidr = null }]
  }
}
'''

UNKNOWN = [
    ("address_space", '''
        address_space = terraform_data.later.output.space
        layout        = "hub"
     '''),
    ("layout", '''
        address_space = "10.0.0.0/22"
        layout        = terraform_data.later.output.layout
     '''),
    ("subnets-list", '''
        address_space = "10.0.0.0/22"
        layout        = "hub"
        subnets       = terraform_data.later.output.list
     '''),
    ("subnet-name", '''
        address_space = "10.0.0.0/22"
        layout        = "hub"
        subnets = [{ name = terraform_data.later.output.name, prefix_length = 26 }]
     '''),
    ("subnet-prefix-length", '''
        address_space = "10.0.0.0/22"
        layout        = "hub"
        subnets = [{ name = "app", prefix_length = terraform_data.later.output.len }]
     '''),
    ("subnet-newbits", '''
        address_space = "10.0.0.0/22"
        layout        = "hub"
        subnets = [{ name = "app", newbits = terraform_data.later.output.bits }]
     '''),
    ("subnet-cidr", '''
        address_space = "10.0.0.0/22"
        layout        = "hub"
        subnets = [{ name = "app", cidr = terraform_data.later.output.cidr }]
     '''),
    ("everything", '''
        address_space = terraform_data.later.output.space
        layout        = terraform_data.later.output.layout
        subnets       = terraform_data.later.output.list
     '''),
]


@pytest.mark.parametrize("name,body", UNKNOWN, ids=[c[0] for c in UNKNOWN])
def test_data_source_with_unknown_values(base, has_data_source, name, body):
    ws = case_ws(base, UNKNOWN_SRC + 'data "zerotrust_address_plan" "p" {\n' + textwrap.dedent(body)
                 + '}\noutput "cidrs" { value = data.zerotrust_address_plan.p.cidrs }\n')
    r = ws.run("plan", "-json", "-input=false", "-no-color", "-out=u.tfplan")
    assert_no_crash(r, ws)
    errs = [d for d in diagnostics(r) if d.get("severity") == "error"]
    assert r.rc == 0 and not errs, f"plan with an unknown {name} failed:\n{r.describe()}"
    r = ws.run("apply", "-auto-approve", "-input=false", "-no-color", "u.tfplan")
    assert_no_crash(r, ws)
    assert r.rc == 0, r.describe()
    cidrs = json.loads(ws.run("output", "-json", "cidrs", check=True).stdout)
    assert cidrs.get("AzureFirewallSubnet") == "10.0.0.0/26", cidrs


def test_known_errors_are_reported_next_to_unknowns(base, has_data_source):
    """With the address space unknown, a prefix length that can never be
    valid is still an error at plan time (what is known is checked)."""
    ws = case_ws(base, UNKNOWN_SRC + '''
data "zerotrust_address_plan" "p" {
  address_space = terraform_data.later.output.space
  subnets = [
    { name = "app", prefix_length = 40 },
  ]
}
''')
    assert_error(ws, r"Invalid prefix length|prefix_length must be", "prefix_length", ["subnets =", '"app"'])


# --------------------------------------------------------------------------
# The function: arguments built from its signature in the schema
# --------------------------------------------------------------------------

GOOD_ARG = {
    "address_space": '"10.0.0.0/22"',
    "layout": '"hub"',
    "subnets": '[]',
}


def _args(fn: dict, override: dict | None = None) -> list[str]:
    params = fn.get("parameters") or []
    out = []
    for p in params:
        name = p["name"]
        if override and name in override:
            out.append(override[name])
        elif name in GOOD_ARG:
            out.append(GOOD_ARG[name])
        else:
            pytest.fail(f"cidr_layout has a parameter this test does not know: {p}", pytrace=False)
    return out


def _call(fn: dict, override: dict | None = None) -> str:
    return f"provider::zerotrust::cidr_layout({', '.join(_args(fn, override))})"


def test_function_baseline(base, cidr_layout):
    ws = case_ws(base, f'output "r" {{ value = {_call(cidr_layout)} }}\n')
    r = ws.run("apply", "-auto-approve", "-input=false", "-no-color")
    assert_no_crash(r, ws)
    assert r.rc == 0, r.describe()
    out = json.loads(ws.run("output", "-json", "r", check=True).stdout)
    assert "10.0.0.0/26" in json.dumps(out), out


FUNC_INVALID = [
    ("address_space", '"10.0.0.300/22"', r"address space|CIDR"),
    ("address_space", '"10.0.0.1/22"', r"host bits"),
    ("layout", '"hubb"', r"layout"),
    ("address_space", '"10.0.0.0/25"', r"too small"),
]


@pytest.mark.parametrize("param,value,msg", FUNC_INVALID, ids=[f"{p}={v}" for p, v, _ in FUNC_INVALID])
def test_function_rejects(base, cidr_layout, param, value, msg):
    if param not in [p["name"] for p in cidr_layout.get("parameters") or []]:
        pytest.skip(f"cidr_layout has no parameter {param}")
    ws = case_ws(base, f'output "r" {{ value = {_call(cidr_layout, {param: value})} }}\n')
    r = ws.run("plan", "-json", "-input=false", "-no-color")
    assert_no_crash(r, ws)
    errs = [d for d in diagnostics(r) if d.get("severity") == "error"]
    assert r.rc == 1 and errs, f"the function accepted {param} = {value}:\n{r.describe()}"
    text = json.dumps(errs)
    # Terraform: 'Invalid value for "<param>" parameter: <our text>'
    assert re.search(rf'\\"{param}\\" parameter|{param}', text), f"the error does not name {param}: {text}"
    assert re.search(msg, text, re.I), f"our message ({msg}) is missing: {text}"


def test_function_with_unknown_arguments(base, cidr_layout):
    names = [p["name"] for p in cidr_layout.get("parameters") or []]
    src = {"address_space": "terraform_data.later.output.space",
           "layout": "terraform_data.later.output.layout",
           "subnets": "terraform_data.later.output.list"}
    for n in names:
        ws = case_ws(base, UNKNOWN_SRC + f'output "r" {{ value = {_call(cidr_layout, {n: src[n]})} }}\n')
        r = ws.run("plan", "-json", "-input=false", "-no-color", "-out=u.tfplan")
        assert_no_crash(r, ws)
        assert r.rc == 0, f"plan with unknown {n} failed:\n{r.describe()}"
        r = ws.run("apply", "-auto-approve", "-input=false", "-no-color", "u.tfplan")
        assert_no_crash(r, ws)
        assert r.rc == 0, r.describe()
