"""The registry docs: generated from the schemas and examples (tools/gendocs.py), and every
example they show is a configuration real Terraform accepts."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

from e2e_support import PROVIDER_SOURCE, REPO, get_runner, make_workspace

GENDOCS = REPO / "tools" / "gendocs.py"
EXAMPLE_FILES = {"resources": "resource.tf", "data-sources": "data-source.tf",
                 "functions": "function.tf"}


def test_docs_match_the_schemas(provider_bin):
    p = subprocess.run([sys.executable, GENDOCS, "--check", "--provider", provider_bin],
                       capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stderr


def test_every_schema_has_a_page_and_an_example():
    for kind, example in (("resources", "resource.tf"), ("data-sources", "data-source.tf")):
        for schema in (REPO / "schemas" / kind).glob("*.json"):
            name = schema.stem
            assert (REPO / "examples" / kind / name / example).is_file(), f"no example for {name}"
            assert (REPO / "docs" / kind / f"{name.removeprefix('zerotrust_')}.md").is_file()
            if kind == "resources":
                assert (REPO / "examples" / kind / name / "import.sh").is_file()


def example_dirs() -> list[str]:
    out = ["provider"]
    for kind in EXAMPLE_FILES:
        out += [f"{kind}/{d.name}" for d in sorted((REPO / "examples" / kind).iterdir()) if d.is_dir()]
    return out


@pytest.mark.parametrize("example", example_dirs())
def test_example_validates(example, tmp_path, mirror):
    """terraform init + validate of the example as the page shows it (the provider
    requirement added where the snippet leaves it out, as a user's root module has it)."""
    src = REPO / "examples" / example
    files = {}
    if "required_providers" not in "".join(f.read_text() for f in src.glob("*.tf")):
        files["versions.tf"] = ('terraform {\n  required_providers {\n'
                                f'    zerotrust = {{ source = "{PROVIDER_SOURCE}" }}\n  }}\n}}\n')
    ws = make_workspace(tmp_path, get_runner("terraform"), mirror, src, files)
    (ws.dir / "import.sh").unlink(missing_ok=True)
    ws.run("init", "-input=false", "-no-color", check=True)
    r = ws.run("validate", "-no-color", check=True)
    assert "Success" in r.stdout, r.describe()
    assert not ws.leftovers, ws.leftovers


@pytest.mark.parametrize("rtype", sorted(d.name for d in (REPO / "examples" / "resources").iterdir()))
def test_import_script_names_the_example_resource(rtype):
    """import.sh imports the resource its resource.tf declares, by an ARM resource ID."""
    d = REPO / "examples" / "resources" / rtype
    cmds = [ln for ln in (d / "import.sh").read_text().splitlines() if ln and not ln.startswith("#")]
    assert len(cmds) == 1, cmds
    m = re.fullmatch(r"terraform import (\S+) (/subscriptions/[0-9a-f-]{36}/resourceGroups/\S+)", cmds[0])
    assert m, cmds[0]
    rtype_, name = m.group(1).split(".", 1)
    assert rtype_ == rtype
    assert re.search(rf'resource "{rtype}" "{re.escape(name)}"', (d / "resource.tf").read_text())
