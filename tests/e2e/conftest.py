"""pytest fixtures and hooks for tests/e2e (helpers: e2e_support.py)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from e2e_support import (PLATFORM, PROVIDER_SOURCE, RUNNERS, WORKSPACES, Mirror, dirhash_h1,
                         project_version, provider_bin_path, provider_handshake_problem)


@pytest.fixture(scope="session")
def provider_version() -> str:
    return project_version()


@pytest.fixture(scope="session")
def provider_bin() -> Path:
    b = provider_bin_path()
    if not b.is_file():
        pytest.fail(f"provider binary not found at {b}: build it (meson setup build && ninja -C build) "
                    "or set ZT_PROVIDER_BIN", pytrace=False)
    return b


@pytest.fixture(scope="session")
def provider_speaks(provider_bin) -> Path:
    """The provider binary, after checking it prints a go-plugin handshake.
    Terraform would fail on it anyway; this gives a clearer message."""
    problem = provider_handshake_problem(provider_bin)
    if problem:
        pytest.fail(f"{provider_bin}: {problem}. Terraform reports this as "
                    "'Failed to load plugin schemas' / 'plugin exited before we could connect'.",
                    pytrace=False)
    return provider_bin


@pytest.fixture(scope="session")
def session_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("zt-e2e")
    if os.environ.get("ZT_E2E_KEEP"):
        print(f"\n[e2e] work dirs under {root}")
    return root


@pytest.fixture(scope="session")
def mirror(session_root, provider_bin, provider_version) -> Mirror:
    base = session_root / "mirror"
    pkg = base / PROVIDER_SOURCE / provider_version / PLATFORM
    pkg.mkdir(parents=True)
    exe = pkg / f"terraform-provider-zerotrust_v{provider_version}"
    shutil.copy2(provider_bin, exe)
    exe.chmod(0o755)
    cfg = session_root / "terraform.rc"
    cfg.write_text(f"""\
# written by tests/e2e/conftest.py: only the local mirror, no network
disable_checkpoint = true
provider_installation {{
  filesystem_mirror {{
    path    = "{base}"
    include = ["{PROVIDER_SOURCE}"]
  }}
}}
""")
    return Mirror(base, pkg, exe, provider_version, dirhash_h1(pkg), cfg)


# --------------------------------------------------------------------------
# Orphan audit: a test fails when one of its Terraform steps left a resource
# in Azure that no state knows (orphans.py).
# --------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def _no_orphans():
    seen = {id(w): len(w.orphans) for r in WORKSPACES if (w := r())}
    yield
    found = [o for r in WORKSPACES if (w := r()) for o in w.orphans[seen.get(id(w), 0):]]
    if found:
        pytest.fail("orphan audit: Azure holds resources no Terraform state knows:\n  "
                    + "\n  ".join(found[:30]), pytrace=False)


# --------------------------------------------------------------------------
# "incremental" classes: once a step fails, the later steps are reported as
# xfail("previous step failed") instead of piling up follow-on errors.
# --------------------------------------------------------------------------

_failed_steps: dict[tuple, str] = {}


def _inc_key(item):
    cs = getattr(item, "callspec", None)
    return (item.cls, tuple(sorted(cs.params.items())) if cs else ())


def pytest_runtest_makereport(item, call):
    if "incremental" in item.keywords and call.excinfo is not None \
            and not call.excinfo.errisinstance(pytest.skip.Exception):
        _failed_steps.setdefault(_inc_key(item), item.name)


def pytest_runtest_setup(item):
    if "incremental" in item.keywords:
        prev = _failed_steps.get(_inc_key(item))
        if prev is not None:
            pytest.xfail(f"previous step failed ({prev})")


def pytest_configure(config):
    config.addinivalue_line("markers", "incremental: steps of one scenario, in order")


def pytest_report_header(config):
    lines = [f"zerotrust provider: {provider_bin_path()} (version {project_version()})"]
    for r in RUNNERS.values():
        if r.available:
            try:
                v = r.version_str
            except Exception as exc:  # noqa: BLE001
                v = f"? ({exc})"
            lines.append(f"runner {r.id}: {r.flavor} {v} ({' '.join(r.argv)})")
        else:
            lines.append(f"runner {r.id}: not available - {r.why_missing}")
    return lines
