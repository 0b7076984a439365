"""The repository as a user clones it: self-contained (nothing read from beside it or from a
machine's absolute paths), runnable scripts, examples that pin the provider's version."""
from __future__ import annotations

import re
import subprocess

import pytest

from e2e_support import REPO, project_version

# A path out of the clone (the lead's shared/ folder beside it) or into this machine's
# layout: neither exists where a user clones the repository.
OUTSIDE = re.compile(r"\.\./shared\b|/work/(?:shared|main|wt-)|/root/|/home/[a-z]")


def tracked(*patterns: str) -> list[str]:
    p = subprocess.run(["git", "-C", str(REPO), "ls-files", "-s", "--", *patterns],
                       capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip("not a git checkout")
    return p.stdout.splitlines()


def test_nothing_refers_outside_the_clone():
    hits = []
    for line in tracked():
        path = line.split("\t", 1)[1]
        if path.startswith("third_party/") or path == "tests/e2e/test_repository.py":
            continue
        try:
            text = (REPO / path).read_text(errors="replace")
        except (IsADirectoryError, FileNotFoundError):
            continue
        for n, ln in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(ln):
                hits.append(f"{path}:{n}: {ln.strip()[:120]}")
    assert not hits, "paths outside the repository:\n" + "\n".join(hits)


def test_commands_the_docs_run_are_executable():
    modes = {ln.split("\t", 1)[1]: ln.split()[0] for ln in tracked("tools")}
    for path in ("tools/main.sh", "tools/test.sh", "tools/setup.sh", "tools/install-peers.sh",
                 "tools/dist.py", "tools/terraform", "tools/run_example.py", "tools/pydeps.py"):
        assert modes.get(path) == "100755", f"{path}: git mode {modes.get(path)}, want 100755"


def _constraint_admits(constraint: str, version: str) -> bool:
    """Terraform's ~> X.Y / >= X.Y.Z, enough for the constraints the examples use."""
    v = tuple(int(x) for x in version.split("-")[0].split("."))
    for part in constraint.split(","):
        op, want = re.match(r"\s*(~>|>=|=|<)?\s*([0-9.]+)\s*$", part).groups()
        w = tuple(int(x) for x in want.split("."))
        if op == "~>":
            upper = w[:-2] + (w[-2] + 1,) if len(w) > 1 else (w[0] + 1,)
            if not (v >= w + (0,) * (3 - len(w)) and v[:len(upper)] < upper):
                return False
        elif op == ">=" and v < w or op == "<" and not v < w or op in (None, "=") and v != w:
            return False
    return True


def test_examples_pin_the_provider_version():
    version = project_version()
    files = [ln.split("\t", 1)[1] for ln in tracked("examples") if ln.endswith(".tf")]
    assert files
    for f in files:
        text = (REPO / f).read_text()
        m = re.search(r'zerotrust\s*=\s*\{([^}]*)\}', text)
        if not m:
            continue            # a file without the terraform block (e.g. resource examples)
        v = re.search(r'version\s*=\s*"([^"]+)"', m.group(1))
        assert v, f"{f}: required_providers.zerotrust has no version constraint"
        assert _constraint_admits(v.group(1), version), f"{f}: {v.group(1)!r} excludes {version}"


def test_links_in_the_docs_lead_somewhere():
    """Relative links and `path` mentions of repository files in README.md and docs/ exist."""
    broken = []
    pages = [REPO / "README.md", REPO / "CHANGELOG.md", *sorted((REPO / "docs").rglob("*.md"))]
    for page in pages:
        text = page.read_text()
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if re.match(r"[a-z]+:", target):
                continue
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(REPO)}: link {target}")
        for path in re.findall(r"`((?:docs|examples|tools|tests|schemas|templates|bench|third_party)/[^`*<>\s]+)`", text):
            if not (REPO / path.split(" ")[0]).exists():
                broken.append(f"{page.relative_to(REPO)}: names {path}")
    assert not broken, "\n".join(broken)
