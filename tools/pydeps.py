#!/usr/bin/env python3
"""Check that the Python packages of tests/requirements.txt are installed, and say in one
line what is missing instead of an ImportError traceback.

    python3 tools/pydeps.py          exit 0, or 1 with the message on stderr

Imported by tools/run_example.py, the emulator's entry point and tests/conftest.py, which
call check() before importing anything from those packages. Only installed distributions
are looked at (importlib.metadata): nothing is imported, so the check costs milliseconds.
"""
from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

REQUIREMENTS = Path(__file__).resolve().parents[1] / "tests" / "requirements.txt"
REQ = re.compile(r"^([A-Za-z0-9_.-]+)\s*(?:(==|>=)\s*([0-9][0-9A-Za-z.]*))?\s*$")


def _version_key(v: str) -> tuple:
    return tuple(int(x) for x in re.findall(r"\d+", v)[:4])


def problems(requirements: Path = REQUIREMENTS) -> list[str]:
    """'NAME (not installed)' or 'NAME VERSION (needs >=X)' for each unmet requirement."""
    out = []
    for line in requirements.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = REQ.match(line)
        if not m:
            raise ValueError(f"{requirements}: cannot read requirement {line!r}")
        name, op, want = m.groups()
        try:
            have = metadata.version(name)
        except metadata.PackageNotFoundError:
            out.append(f"{name} (not installed)")
            continue
        if op == "==" and _version_key(have) != _version_key(want) or \
                op == ">=" and _version_key(have) < _version_key(want):
            out.append(f"{name} {have} (needs {op}{want})")
    return out


def message(found: list[str]) -> str:
    return (f"missing Python packages: {', '.join(found)}. Install them with tools/setup.sh "
            f"(or: python3 -m pip install -r {REQUIREMENTS.relative_to(REQUIREMENTS.parents[1])})")


def check() -> None:
    """Exit with the one-line message when something is missing."""
    found = problems()
    if found:
        sys.exit(message(found))


if __name__ == "__main__":
    check()
