"""Plans a reviewer can trust (issue 12), with real Terraform against the ARM
emulator: a hub and two spokes, then plans whose JSON (`terraform show -json`)
and diagnostics (`terraform plan -json`) are checked, not only exit codes.

  create plan shows every default -> apply -> the state holds the defaults and
  the changes the apply made -> writing the defaults out plans nothing -> a hub
  tag change: only the nodes it updates are listed, the hub's IPs stay known,
  no spoke plans a change, a warning says which property changes -> a
  timeouts-only change plans no stale action -> drift is explained per
  property -> a firewall tier change and Bastion switched off are loud
  (warning naming the nodes and costs; examples/ci/destructive.jq stops the
  pipeline) -> a spoke imported back plans nothing with its defaults written
  out -> overlapping spokes, one inside the hub and a taken priority fail the
  plan -> a credential refused on every read is one error per resource.
  Then: no credential (or a wrong one) fails at ConfigureProvider, once;
  required_tags = [] requires nothing, ["team"] only "team" at plan and
  nothing at validate.
"""
from __future__ import annotations

import json
import subprocess

import pytest

from e2e_support import PROVIDER_SOURCE, REPO, get_runner, make_workspace
from hub_env import arm_env, start_emulator, use_emulator

RG = "rg-plans"
HUB = "zerotrust_hub.this"
GATE = REPO / "examples" / "ci" / "destructive.jq"

MAIN_TF = """
terraform {
  required_providers {
    zerotrust = { source = "%(source)s" }
  }
}
variable "required_tags" {
  type    = list(string)
  default = null
}
provider "zerotrust" {
  required_tags = var.required_tags
}

variable "owner" {
  type    = string
  default = "e2e"
}
variable "explicit_defaults" {
  type    = bool
  default = false
}
variable "tier" {
  type    = string
  default = null
}
variable "bastion" {
  type    = bool
  default = null
}
variable "read_timeout" {
  type    = string
  default = null
}
variable "spokes" {
  type = map(object({
    address_space = string
    priority      = number
  }))
}

locals {
  d    = var.explicit_defaults
  tags     = { environment = "test", project = "data-platform", owner = "e2e", "cost-centre" = "CC-0" }
  hub_tags = merge(local.tags, { owner = var.owner })
}

resource "zerotrust_hub" "this" {
  name                 = "plans"
  location             = "westeurope"
  resource_group_name  = "%(rg)s"
  address_space        = "10.100.0.0/22"
  firewall_sku_tier    = var.tier != null ? var.tier : (local.d ? "Premium" : null)
  bastion_enabled      = var.bastion != null ? var.bastion : (local.d ? true : null)
  zones                = local.d ? ["1", "2", "3"] : null
  dns_resolver_enabled = local.d ? true : null
  bastion_sku          = local.d ? "Standard" : null
  tags                 = local.hub_tags
  timeouts {
    read = var.read_timeout
  }
}

resource "zerotrust_spoke" "this" {
  for_each                   = var.spokes
  name                       = each.key
  location                   = "westeurope"
  resource_group_name        = "%(rg)s"
  address_space              = each.value.address_space
  hub_virtual_network_id     = zerotrust_hub.this.virtual_network_id
  hub_firewall_private_ip    = zerotrust_hub.this.firewall_private_ip
  hub_firewall_policy_id     = zerotrust_hub.this.firewall_policy_id
  hub_gateway_route_table_id = zerotrust_hub.this.gateway_route_table_id
  hub_gateway_enabled        = zerotrust_hub.this.gateway_enabled
  hub_private_dns_zone_ids   = zerotrust_hub.this.private_dns_zone_ids
  hub_resolver_inbound_ip    = zerotrust_hub.this.resolver_inbound_ip
  firewall_rule_priority     = each.value.priority
  dns_mode                   = local.d ? "zone_links" : null
  allowed_fqdns              = local.d ? [] : null
  nat_gateway_subnets        = local.d ? [] : null
  tags                       = local.tags
}
""" % {"rg": RG, "source": PROVIDER_SOURCE}

SPOKES = {"alpha": {"address_space": "10.1.0.0/24", "priority": 200},
          "beta": {"address_space": "10.2.0.0/24", "priority": 210}}

HUB_DEFAULTS = {
    "zones": ["1", "2", "3"], "firewall_sku_tier": "Premium", "bastion_enabled": True,
    "bastion_sku": "Standard", "dns_resolver_enabled": True,
}
SPOKE_DEFAULTS = {
    "dns_mode": "zone_links", "allowed_fqdns": [], "nat_gateway_subnets": [],
    "firewall_egress_subnets": ["databricks-container", "databricks-host", "functions"],
    "hub_gateway_enabled": False,
}


@pytest.fixture(scope="module")
def emu(session_root):
    e = start_emulator(session_root / "plans-emulator")
    e.create_groups((RG,))
    yield e
    e.stop()


@pytest.fixture(scope="module")
def ws(session_root, mirror, provider_speaks, emu):
    runner = get_runner("terraform")
    w = make_workspace(session_root / "plans", runner, mirror,
                       files={"main.tf": MAIN_TF,
                              "terraform.tfvars.json": json.dumps({"spokes": SPOKES})})
    return use_emulator(w, emu.client, [RG])


class Plan:
    """One `terraform plan -json -out`: its exit code, the plan JSON and the diagnostics."""

    def __init__(self, ws, *args):
        self.run = ws.run("plan", "-json", "-input=false", "-detailed-exitcode", "-out=e2e.tfplan", *args)
        self.rc = self.run.rc
        self.diags = [m["diagnostic"] for m in self.run.json_lines() if m.get("type") == "diagnostic"]
        self.json = None
        if self.rc in (0, 2):
            self.json = json.loads(ws.run("show", "-json", "e2e.tfplan", check=True).stdout)

    def change(self, address: str) -> dict:
        rc = [c for c in self.json.get("resource_changes", []) if c["address"] == address]
        assert rc, [c["address"] for c in self.json.get("resource_changes", [])]
        return rc[0]["change"]

    def changed(self) -> dict:
        return {c["address"]: c["change"] for c in self.json.get("resource_changes", [])
                if c["change"]["actions"] != ["no-op"]}

    def warnings(self, summary_part: str) -> list[dict]:
        return [d for d in self.diags if d["severity"] == "warning" and summary_part in d["summary"]]

    def errors(self) -> list[dict]:
        return [d for d in self.diags if d["severity"] == "error"]

    def describe(self) -> str:
        return self.run.describe() + "\n" + json.dumps(self.diags, indent=1)[:4000]


def _state(ws, address: str) -> dict:
    st = json.loads(ws.run("show", "-json", check=True).stdout)
    res = [r for r in st["values"]["root_module"]["resources"] if r["address"] == address]
    assert res, address
    return res[0]["values"]


def _spoke(name: str) -> str:
    return f'zerotrust_spoke.this["{name}"]'


@pytest.mark.incremental
class TestPlans:
    def test_init(self, ws):
        ws.run("init", "-input=false", "-no-color", check=True)

    def test_create_plans_the_defaults(self, ws):
        p = Plan(ws)
        assert p.rc == 2, p.describe()
        hub = p.change(HUB)["after"]
        for k, v in HUB_DEFAULTS.items():
            assert hub[k] == v, (k, hub[k])
        assert len(hub["private_dns_zones"]) == 7
        assert set(hub["underlying_changes"].values()) == {"create"}, hub["underlying_changes"]
        spoke = p.change(_spoke("alpha"))["after"]
        # left out, no default: null, not "known after apply"
        assert spoke["hub_address_space"] is None
        assert not p.change(_spoke("alpha"))["after_unknown"].get("hub_address_space")
        for k, v in SPOKE_DEFAULTS.items():
            got = sorted(spoke[k]) if isinstance(v, list) else spoke[k]
            assert got == v, (k, spoke[k])
        assert not p.warnings("underlying resource"), p.diags  # a create explains nothing

    def test_apply_stores_defaults_and_changes(self, ws):
        ws.run("apply", "-input=false", "-no-color", "e2e.tfplan", check=True)
        hub = _state(ws, HUB)
        for k, v in HUB_DEFAULTS.items():
            assert hub[k] == v, (k, hub[k])
        assert set(hub["underlying_changes"].values()) == {"create"}  # what that apply did
        assert Plan(ws).rc == 0

    def test_writing_defaults_out_plans_nothing(self, ws):
        p = Plan(ws, "-var", "explicit_defaults=true")
        assert p.rc == 0, p.changed() if p.json else p.describe()

    def test_update_lists_only_what_changes(self, ws):
        before = _state(ws, HUB)
        p = Plan(ws, "-var", "owner=someone-else")
        assert p.rc == 2, p.describe()
        assert set(p.changed()) == {HUB}, p.changed().keys()  # no spoke plans a change
        ch = p.change(HUB)
        changes = ch["after"]["underlying_changes"]
        assert changes and set(changes.values()) == {"update"}, changes
        assert "firewall_rules" not in changes, changes  # carries no tags
        # what an update cannot change stays known
        for k in ("firewall_private_ip", "resolver_inbound_ip", "virtual_network_id", "private_dns_zone_ids"):
            assert ch["after"][k] == before[k], k
            assert not ch["after_unknown"].get(k), k
        w = p.warnings('zerotrust_hub "plans":')
        assert len(w) == 1, p.diags
        assert f'{len(changes)} underlying resources change' in w[0]["summary"], w[0]
        assert '- firewall (Microsoft.Network/azureFirewalls): updated in place' in w[0]["detail"]
        assert 'tags.owner "e2e" -> "someone-else" (configuration)' in w[0]["detail"], w[0]["detail"]
        assert not p.warnings("replaced or deleted")
        ws.run("apply", "-input=false", "-no-color", "e2e.tfplan", check=True)
        assert _state(ws, HUB)["underlying_changes"] == changes
        assert Plan(ws, "-var", "owner=someone-else").rc == 0

    def test_no_stale_actions(self, ws):
        """A change of the resource that changes nothing underneath plans {} as its
        underlying_changes, not what the last apply did."""
        p = Plan(ws, "-var", "owner=someone-else", "-var", "read_timeout=12m")
        assert p.rc == 2, p.describe()
        ch = p.change(HUB)
        assert ch["actions"] == ["update"]
        assert ch["after"]["underlying_changes"] == {}, ch["after"]["underlying_changes"]
        assert not p.warnings("underlying resource")
        ws.run("apply", "-input=false", "-no-color", "e2e.tfplan", check=True)
        assert Plan(ws, "-var", "owner=someone-else", "-var", "read_timeout=12m").rc == 0

    def test_drift_is_explained(self, ws, emu):
        policy = _state(ws, HUB)["firewall_policy_id"]
        emu.client.control("POST", "drift", {"id": policy, "set": {"properties.threatIntelMode": "Alert"}}
                           ).raise_for_status()
        p = Plan(ws, "-var", "owner=someone-else", "-var", "read_timeout=12m")
        assert p.rc == 2, p.describe()
        assert p.change(HUB)["after"]["underlying_changes"] == {"firewall_policy": "update"}
        w = p.warnings('zerotrust_hub "plans": 1 underlying resource changes')
        assert w, p.diags
        assert ('- firewall_policy (Microsoft.Network/firewallPolicies): updated in place\n'
                '    properties.threatIntelMode "Alert" -> "Deny" (drift, will be repaired)') in w[0]["detail"]
        # the same warning in the human plan
        text = ws.run("plan", "-input=false", "-no-color", "-var", "owner=someone-else",
                      "-var", "read_timeout=12m")
        assert "(drift, will be repaired)" in text.stdout + text.stderr, text.describe()
        ws.run("apply", "-input=false", "-no-color", "e2e.tfplan", check=True)

    def test_destructive_changes_are_loud(self, ws):
        p = Plan(ws, "-var", "owner=someone-else", "-var", "read_timeout=12m", "-var", "tier=Standard",
                 "-var", "bastion=false")
        assert p.rc == 2, p.describe()
        ch = p.change(HUB)
        assert ch["actions"] == ["update"]  # all Terraform itself shows
        changes = ch["after"]["underlying_changes"]
        assert changes["firewall"] == "replace" and changes["bastion"] == "delete", changes
        w = p.warnings('zerotrust_hub "plans": ')
        loud = [x for x in w if "replaced or deleted" in x["summary"]]
        assert len(loud) == 1, p.diags
        detail = loud[0]["detail"]
        assert ('- firewall (Microsoft.Network/azureFirewalls): replaced: properties.sku.tier "Premium" -> '
                '"Standard" cannot change in place; egress and spoke-to-spoke traffic') in detail, detail
        assert "- bastion (Microsoft.Network/bastionHosts): deleted; no Bastion access" in detail, detail
        assert "- pip_bastion (Microsoft.Network/publicIPAddresses): deleted" in detail, detail
        # the documented gate stops the pipeline and says why
        plan_json = ws.dir / "plan.json"
        plan_json.write_text(json.dumps(p.json))
        gate = subprocess.run(["jq", "-r", "-f", str(GATE), str(plan_json)], capture_output=True, text=True)
        assert gate.returncode == 0, gate.stderr
        lines = gate.stdout.split("\n")
        assert f"{HUB}: firewall replace" in lines and f"{HUB}: bastion delete" in lines, gate.stdout
        # ...and lets a plan without destruction through
        plan_json.write_text(json.dumps(Plan(ws, "-var", "owner=someone-else", "-var", "read_timeout=12m").json))
        gate = subprocess.run(["jq", "-r", "-f", str(GATE), str(plan_json)], capture_output=True, text=True)
        assert gate.returncode == 0 and gate.stdout.strip() == "", gate.stdout + gate.stderr

    def test_import_agrees_with_create(self, ws):
        """A spoke imported back holds the defaults its create stored (allowed_fqdns = [] and
        not null, ...): the configuration that writes them out plans nothing."""
        before = _state(ws, _spoke("alpha"))
        ws.run("state", "rm", _spoke("alpha"), check=True)
        ws.run("import", "-input=false", "-no-color", "-var", "owner=someone-else", "-var", "read_timeout=12m",
               _spoke("alpha"), before["id"], check=True)
        after = _state(ws, _spoke("alpha"))
        for k, v in SPOKE_DEFAULTS.items():
            assert (sorted(after[k]) if isinstance(v, list) else after[k]) == v, (k, after[k])
        p = Plan(ws, "-var", "owner=someone-else", "-var", "read_timeout=12m", "-var", "explicit_defaults=true")
        assert p.rc == 0, p.changed() if p.json else p.describe()

    def test_cross_resource_mistakes_fail_the_plan(self, ws, emu):
        """Spokes that overlap another spoke or the hub (hub_address_space not given), or take a
        rule collection priority already used in the group they share: read from Azure for what
        exists, from the run's other plans for what does not; refused at plan, before anything is
        applied. (alpha, beta and zeta hash to the group spokes-3, eps1 and eps5 to spokes-0.)"""
        bad = dict(SPOKES)
        bad.update({
            "zeta": {"address_space": "10.1.0.0/23", "priority": 210},      # holds alpha, beta's priority
            "delta": {"address_space": "10.100.2.0/24", "priority": 300},   # inside the hub
            "eps1": {"address_space": "10.5.0.0/24", "priority": 400},      # new, both of them
            "eps5": {"address_space": "10.5.0.0/23", "priority": 400},
        })
        (ws.dir / "bad.tfvars.json").write_text(json.dumps({"spokes": bad}))
        # Whether Terraform plans alpha and beta before zeta or after must not change what
        # zeta is told: -parallelism=1 plans them first, the default races them.
        for order in (["-parallelism=1"], []):
            seq = emu.last_seq()
            p = Plan(ws, *order, "-var", "owner=someone-else", "-var", "read_timeout=12m",
                     "-var-file=bad.tfvars.json")
            assert p.rc == 1, p.describe()
            errs = {}
            for e in p.errors():
                errs.setdefault(e.get("address"), []).append(e)
            gamma = errs.pop(_spoke("zeta"))
            text = json.dumps(gamma)
            assert {e["summary"] for e in gamma} == {"Address space overlaps a network peered with the hub",
                                                    "Rule collection priority already used"}, gamma
            assert '10.1.0.0/24, the address space of zerotrust_spoke \\"alpha\\" (in Azure)' in text, text
            assert 'Priority 210 is also the priority of zerotrust_spoke \\"beta\\" (in Azure)' in text, text
            for e in gamma:
                assert e["range"]["start"]["line"] > 0, e  # at the attribute
            delta = errs.pop(_spoke("delta"))
            assert len(delta) == 1 and 'zerotrust_hub \\"plans\\"' in json.dumps(delta), delta
            assert "10.100.0.0/22" in delta[0]["detail"], delta
            # the two new ones: whichever Terraform planned second sees the first's plan
            new = [e for k in (_spoke("eps1"), _spoke("eps5")) for e in errs.pop(k, [])]
            assert {e["summary"] for e in new} == {"Address space overlaps a network peered with the hub",
                                                  "Rule collection priority already used"}, new
            assert all("(planned in this run)" in e["detail"] for e in new), new
            assert not errs, errs
            writes = [q for q in emu.requests(since=seq, kind="arm") if q["method"] != "GET"]
            assert not writes, writes

    def test_credential_failure_once_per_resource(self, ws, emu):
        """Every read refused for the credential (401 after a fresh token): one error per
        resource, naming its nodes, not one per underlying resource."""
        emu.client.fault(kind="error", method="GET", path_regex=f"/resourceGroups/{RG}/", status=401,
                         code="InvalidAuthenticationToken", count=-1,
                         message="The access token is invalid.")
        try:
            p = Plan(ws, "-var", "owner=someone-else", "-var", "read_timeout=12m")
        finally:
            emu.clear_faults()
        assert p.rc == 1, p.describe()
        errors = p.errors()
        # (Terraform refreshes no spoke once the hub they depend on failed)
        addresses = [e.get("address") for e in errors]
        assert HUB in addresses and len(addresses) == len(set(addresses)), errors
        hub = [e for e in errors if e.get("address") == HUB][0]
        assert hub["summary"].startswith("Failed to read ") and "underlying resources" in hub["summary"], hub
        assert "firewall" in hub["detail"] and "InvalidAuthenticationToken" in hub["detail"], hub


@pytest.mark.parametrize("case", ["none", "wrong_secret"])
def test_no_credential_no_plan(case, session_root, mirror, provider_speaks, emu):
    """Without a credential that works, the plan fails at ConfigureProvider, once for the
    provider, saying which sources it tried; no resource is planned."""
    runner = get_runner("terraform")
    w = make_workspace(session_root / f"plans-cred-{case}", runner, mirror,
                       files={"main.tf": MAIN_TF, "terraform.tfvars.json": json.dumps({"spokes": SPOKES})})
    env = arm_env(emu.info)
    if case == "none":
        for k in ("ARM_TENANT_ID", "ARM_CLIENT_ID", "ARM_CLIENT_SECRET"):
            env.pop(k)
    else:
        env["ARM_CLIENT_SECRET"] = "not-the-secret"
    w.extra_env.update(env)
    w.run("init", "-input=false", "-no-color", check=True)
    p = Plan(w)
    assert p.rc == 1, p.describe()
    assert len(p.errors()) == 1, p.errors()
    e = p.errors()[0]
    assert e.get("address", "").startswith("provider["), e  # the provider's, not a resource's
    if case == "none":
        assert e["summary"] == "No Azure credentials configured", e
        for source in ("ARM_USE_OIDC", "ARM_USE_MSI", "ARM_CLIENT_CERTIFICATE_PATH", "ARM_CLIENT_SECRET",
                       "ARM_USE_CLI"):
            assert source in e["detail"], e["detail"]
    else:
        assert e["summary"] == "Cannot sign in to Azure", e
        assert "client secret" in e["detail"] and "AADSTS7000215" in e["detail"], e["detail"]


def test_required_tags(session_root, mirror, provider_speaks, emu):
    """required_tags = [] requires nothing; ["team"] requires "team" at plan and, at
    validate (before the provider is configured), nothing it cannot know yet."""
    runner = get_runner("terraform")
    tf = MAIN_TF.replace('{ environment = "test", project = "data-platform", owner = "e2e", "cost-centre" = "CC-0" }',
                         '{ owner = "e2e" }')
    w = make_workspace(session_root / "plans-tags", runner, mirror,
                       files={"main.tf": tf, "terraform.tfvars.json": json.dumps({"spokes": {}})})
    w.extra_env.update(arm_env(emu.info))
    w.run("init", "-input=false", "-no-color", check=True)
    p = Plan(w)
    assert p.rc == 1 and {"Missing required tag"} == {d["summary"] for d in p.errors()}, p.describe()
    missing = sorted(d["detail"].split('"')[1] for d in p.errors())
    assert missing == ["cost-centre", "environment", "project"], missing
    p = Plan(w, "-var", "required_tags=[]")
    assert p.rc == 2, p.describe()
    v = w.run("validate", "-json", "-no-color", env={"TF_VAR_required_tags": '["team"]'})
    assert v.rc == 0 and json.loads(v.stdout)["valid"], v.describe()
    p = Plan(w, "-var", 'required_tags=["team"]')
    assert p.rc == 1, p.describe()
    assert [d["detail"].split('"')[1] for d in p.errors()] == ["team"], p.errors()
