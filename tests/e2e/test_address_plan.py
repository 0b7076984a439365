"""examples/address-plan with real Terraform and OpenTofu, end to end:
init (from a filesystem mirror) -> validate -> plan -> apply -> output ->
plan again (no changes) -> destroy, and after every command: no provider
process or plugin socket left behind.

Runners without provider functions (Terraform < 1.8, OpenTofu < 1.7) get
a copy of the example with every block that calls provider:: removed.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import addrcheck
from e2e_support import (EXAMPLE_DIR, PROVIDER_SOURCE, E2E, example_for, get_runner,
                      make_workspace, runner_param)

RUNNER_IDS = ["terraform", "tofu", "tofu-legacy", "terraform-1.5"]
EXPECTED = E2E / "expected" / "address-plan.json"


@pytest.fixture(scope="class", params=[runner_param(r) for r in RUNNER_IDS])
def ws(request, session_root, mirror, provider_speaks):
    runner = get_runner(request.param)
    root = session_root / f"ap-{request.param}"
    root.mkdir()
    src = example_for(runner, root)
    return make_workspace(root, runner, mirror, config_dir=src)


def _outputs(ws) -> dict:
    return getattr(ws, "_outputs", None)


@pytest.mark.incremental
class TestAddressPlanExample:
    def test_init(self, ws, mirror):
        r = ws.run("init", "-input=false", "-no-color", check=True)
        assert "zerotrust/zerotrust" in r.stdout, r.describe()
        lock = (ws.dir / ".terraform.lock.hcl").read_text()
        m = re.search(r'provider\s+"%s"\s*{(.*?)\n}' % re.escape(PROVIDER_SOURCE), lock, re.S)
        assert m, f"no block for {PROVIDER_SOURCE} in the lock file:\n{lock}"
        body = m.group(1)
        assert re.search(rf'version\s*=\s*"{re.escape(mirror.version)}"', body), lock
        hashes = re.findall(r'"(h1:[A-Za-z0-9+/=]+)"', body)
        assert hashes, f"no h1: hash recorded:\n{lock}"
        assert mirror.h1 in hashes, (f"lock file h1 hashes {hashes} do not include the package's "
                                     f"dirhash {mirror.h1}")

    def test_validate(self, ws):
        r = ws.run("validate", "-json", "-no-color")
        doc = json.loads(r.stdout)
        errors = [d for d in doc.get("diagnostics", []) if d.get("severity") == "error"]
        assert r.rc == 0 and doc.get("valid") is True and not errors, r.describe()

    def test_plan(self, ws):
        r = ws.run("plan", "-input=false", "-no-color", "-out=e2e.tfplan")
        assert r.rc == 0, r.describe()
        show = ws.run("show", "-json", "e2e.tfplan", check=True)
        plan = json.loads(show.stdout)
        # Data sources with known inputs are read during plan: the planned
        # outputs must not be unknown.
        unknown = [k for k, v in (plan.get("output_changes") or {}).items()
                   if v.get("after_unknown") is True]
        assert not unknown, (
            f"outputs unknown after plan: {unknown}. Every input of the example is known, so a "
            "data source or provider function returned unknown. (OpenTofu, unlike Terraform, "
            "returns unknown at plan and null after apply when a parameter of type dynamic "
            "receives a literal null.)")

    def test_apply(self, ws):
        ws.run("apply", "-auto-approve", "-input=false", "-no-color", check=True)

    def test_outputs(self, ws):
        r = ws.run("output", "-json", "-no-color", check=True)
        outputs = {k: v["value"] for k, v in json.loads(r.stdout).items()}
        ws._outputs = outputs
        assert outputs, "the example has no outputs"
        # 1. Exact values, when someone wrote them down by hand.
        if EXPECTED.exists():
            expected = json.loads(EXPECTED.read_text())["outputs"]
            for name, want in expected.items():
                if name in outputs or ws.runner.supports_functions:
                    assert outputs.get(name) == want, f"output {name}: {outputs.get(name)!r} != {want!r}"
        # 2. The design: every named subnet aligned, big enough for Azure,
        #    with consistent usable ranges; subnets of one output never overlap
        #    and sit inside the address space.
        errs, seen_names, layouts_checked = [], set(), []
        tf_text = "".join(p.read_text() for p in sorted(ws.dir.glob("*.tf")))
        candidates = sorted(set(re.findall(r'"(\d{1,3}(?:\.\d{1,3}){3}/\d{1,2})"', tf_text)))
        for oname, value in outputs.items():
            # The same subnet may appear twice in one output (allocations and
            # cidrs of one data source): count each (name, cidr) once.
            subs, seen_pairs = [], set()
            for s in addrcheck.named_subnets(value, oname):
                if (s[0], s[1]) not in seen_pairs:
                    seen_pairs.add((s[0], s[1]))
                    subs.append(s)
            for name, cidr, obj, path in subs:
                seen_names.add(name)
                errs += [f"{path}: {e}" for e in addrcheck.check_subnet_object(name, cidr, obj)]
            if not subs:
                continue
            got = {n: c for n, c, _, _ in subs}
            space = addrcheck.smallest_space(candidates, list(got.values()))
            errs += [f"output {oname}: {e}" for e in addrcheck.check_group(list(got.items()), space)]
            # A hub or spoke layout (plus extra subnets) must be placed as
            # documented: largest first, ties in request order, each at the
            # lowest free aligned address. Recomputed here from the sizes.
            order = addrcheck.layout_order(list(got))
            if space and order:
                sizes = [(n, addrcheck.net(got[n]).prefixlen) for n in order]
                want = addrcheck.greedy_layout(space, sizes)
                layouts_checked.append(oname)
                if got != want:
                    errs.append(f"output {oname}: placement {got} != largest-first {want}")
        assert not errs, "\n".join(errs)
        assert "AzureFirewallSubnet" in seen_names, (
            f"no AzureFirewallSubnet among the subnets in the outputs: {sorted(seen_names)}")
        fw = [c for oname, v in outputs.items()
              for n, c, _, _ in addrcheck.named_subnets(v, oname) if n == "AzureFirewallSubnet"]
        assert any(addrcheck.net(c).prefixlen == 26 for c in fw), f"AzureFirewallSubnet: {fw}"
        # The hub in the example is a /22 and the firewall subnet lies in it.
        hub22 = [s for s in candidates if s.endswith("/22")]
        assert any(addrcheck.net(c).subnet_of(addrcheck.net(h)) for c in fw for h in hub22), (
            f"AzureFirewallSubnet {fw} is not inside a /22 hub of the example ({candidates})")
        assert layouts_checked, ("no output holds a whole hub or spoke layout, so the placement "
                                 "was not compared with the design")

    def test_second_plan_has_no_changes(self, ws):
        r = ws.run("plan", "-detailed-exitcode", "-input=false", "-no-color")
        assert r.rc == 0, "a second plan after apply must show no changes (exit 0)\n" + r.describe()

    def test_provider_logs_reach_terraform(self, ws):
        """Our hclog JSON lines on stderr are parsed by Terraform's go-plugin
        client and re-logged under provider.terraform-provider-zerotrust_v*:
        a parsed line has key=value pairs (e.g. @module=...) instead of the raw
        JSON text."""
        text = "".join(r.log_text for r in ws.results)
        ours = re.findall(r"provider\.terraform-provider-zerotrust[^:\s]*: (.*)", text)
        assert ours, "no line of the provider's own log in Terraform's TF_LOG=trace output"
        raw_json = [l for l in ours if l.lstrip().startswith("{")]
        parsed = [l for l in ours if "@module=" in l]
        assert parsed, ("provider log lines were not parsed as hclog JSON "
                        f"(bad @timestamp layout?); first lines: {ours[:3]}")
        assert not raw_json, f"some provider log lines were not valid hclog JSON: {raw_json[:3]}"

    def test_destroy(self, ws):
        ws.run("destroy", "-auto-approve", "-input=false", "-no-color", check=True)
        state = ws.dir / "terraform.tfstate"
        if state.exists():
            doc = json.loads(state.read_text())
            assert not doc.get("resources"), f"resources left in state: {doc.get('resources')}"

    def test_no_leftover_processes_or_sockets(self, ws):
        assert ws.provider_pids_started(), (
            "Terraform's logs show no provider process started (is the go-plugin "
            "'plugin started' line missing?)")
        assert not ws.leftovers, "\n".join(ws.leftovers)


def test_example_uses_full_source_address():
    """OpenTofu resolves a short source (zerotrust/zerotrust) against
    registry.opentofu.org, where the mirror has nothing: the example must
    say registry.zerotrust.internal/zerotrust/zerotrust."""
    main_tf = EXAMPLE_DIR / "main.tf"
    if not main_tf.exists():
        pytest.skip("examples/address-plan/main.tf does not exist yet")
    text = "".join(p.read_text() for p in EXAMPLE_DIR.glob("*.tf"))
    sources = re.findall(r'source\s*=\s*"([^"]+)"', text)
    zt = [s for s in sources if s.endswith("zerotrust/zerotrust")]
    assert zt, f"no required_providers source for zerotrust in the example: {sources}"
    assert all(s == PROVIDER_SOURCE for s in zt), zt
