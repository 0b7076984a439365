"""FIDELITY.md names, for every rule, the code that enforces it and the test that shows it: both must exist."""
from __future__ import annotations

import ast
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
TABLE = HERE / "FIDELITY.md"
REF = re.compile(r"`([\w/]+\.py)::([\w.]+)`")


def _rows():
    for line in TABLE.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and line.startswith("|") and not set(cells[0]) <= {"-"} and cells[0] != "rule":
            yield cells


def _defined(path: Path) -> set:
    """Qualified names defined in a module: functions, classes, methods, module-level assignments."""
    tree = ast.parse(path.read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
            if isinstance(node, ast.ClassDef):
                names.update(f"{node.name}.{f.name}" for f in node.body if isinstance(f, ast.FunctionDef))
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def _resolve(ref_path: str) -> Path:
    if ref_path.startswith("e2e/"):
        return HERE.parent / ref_path
    return HERE / ref_path


def test_every_row_names_existing_code_and_tests():
    rows = list(_rows())
    assert len(rows) > 30
    cache = {}
    for rule, source, code, test in rows:
        assert source, f"no Microsoft source for: {rule}"
        for column, kind in ((code, "code"), (test, "test")):
            refs = REF.findall(column)
            assert refs, f"no {kind} named for: {rule}"
            for path, name in refs:
                f = _resolve(path)
                assert f.is_file(), f"{path} does not exist ({rule})"
                if f not in cache:
                    cache[f] = _defined(f)
                assert name in cache[f], f"{path}::{name} does not exist ({rule})"
                if kind == "test":
                    assert name.rsplit(".", 1)[-1].startswith("test_"), f"{path}::{name} is not a test ({rule})"
