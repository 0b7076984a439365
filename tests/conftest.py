"""Loaded first for every suite under tests/: a missing Python package stops the run with
a message saying what to install, before any other conftest or test module imports it."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import pydeps  # noqa: E402

_missing = pydeps.problems()
if _missing:
    pytest.exit(pydeps.message(_missing), returncode=pytest.ExitCode.USAGE_ERROR)
