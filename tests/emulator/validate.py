"""Re-validate every recorded request body against Microsoft's definitions (CI gate).

    python3 -m tests.emulator.validate STATE_DIR/requests.jsonl [more.jsonl ...]
        [--enum-mode strict|warn|spec] [--specs-dir DIR] [--warnings] [--json]

Checks each ARM PUT/PATCH in the log (also the ones the emulator rejected): the
resource type must be known, the api-version one the manifest lists, and the body
must validate (unknown property, missing required property, wrong type, value not
in the enum, pattern/length/range). Exit status: 0 clean, 1 violations, 2 usage or
unreadable log.
"""
from __future__ import annotations

import argparse
import json
import sys

from . import arm_ids
from .specs import SpecLibrary, default_library
from .validator import ENUM_MODES, validate

RG_TYPE = "Microsoft.Resources/resourceGroups"
TAGS_ONLY_PATCH_NAMESPACES = ("microsoft.network/", "microsoft.databricks/")


def check_entry(lib: SpecLibrary, e: dict, enum_mode: str):
    """(violations, warnings) for one log entry; each a dict with path and message."""
    if e.get("kind") != "arm" or e.get("method") not in ("PUT", "PATCH"):
        return [], []
    path = e.get("path") or ""
    try:
        ap = arm_ids.parse(path)
    except arm_ids.PathError as ex:
        return [{"path": "", "message": f"unparseable ARM path: {ex}"}], []
    if ap.special == "resourceGroup":
        type_name = RG_TYPE
    elif ap.chain and not ap.is_collection:
        kt = lib.lookup(ap.full_type)
        if kt is None:
            return [{"path": "", "message": f"unknown resource type '{ap.full_type}'"}], []
        type_name = kt.type_name
    else:
        return [], []
    av = e.get("api_version")
    if not av:
        return [{"path": "", "message": "missing api-version"}], []
    rtv = lib.version(type_name, av)
    if rtv is None:
        return [{"path": "", "message": f"api-version '{av}' is not one of {lib.supported_versions(type_name)} "
                                        f"for {type_name}"}], []
    body = e.get("body")
    if not isinstance(body, dict):
        return [{"path": "", "message": "the body is not a JSON object"}], []
    if e["method"] == "PATCH" and (type_name.lower().startswith(TAGS_ONLY_PATCH_NAMESPACES) or type_name == RG_TYPE):
        extra = [k for k in body if k not in ("tags",)]
        return [{"path": k, "message": f"PATCH of {type_name} takes only 'tags'"} for k in extra], []
    res = validate(rtv, body, enum_mode=enum_mode, partial=(e["method"] == "PATCH"))
    return [i.as_dict() for i in res.errors], [i.as_dict() for i in res.warnings]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python3 -m tests.emulator.validate", description=__doc__.split("\n\n")[0])
    p.add_argument("logs", nargs="+", help="request logs (JSON lines) written by the emulator")
    p.add_argument("--enum-mode", choices=ENUM_MODES, default="strict")
    p.add_argument("--specs-dir")
    p.add_argument("--warnings", action="store_true", help="print warnings too (read-only properties sent, casing)")
    p.add_argument("--json", action="store_true", help="one JSON object per finding")
    a = p.parse_args(argv)
    lib = SpecLibrary(a.specs_dir) if a.specs_dir else default_library()
    checked = violations = warnings = 0
    for log in a.logs:
        try:
            fh = open(log)
        except OSError as ex:
            print(f"error: cannot read {log}: {ex}", file=sys.stderr)
            return 2
        with fh:
            for n, line in enumerate(fh, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    e = json.loads(line)
                except ValueError:
                    print(f"error: {log}:{n}: not JSON", file=sys.stderr)
                    return 2
                errs, warns = check_entry(lib, e, a.enum_mode)
                if e.get("kind") == "arm" and e.get("method") in ("PUT", "PATCH"):
                    checked += 1
                for kind, items in (("violation", errs), ("warning", warns if a.warnings else [])):
                    for i in items:
                        if a.json:
                            print(json.dumps({"kind": kind, "log": log, "seq": e.get("seq"), "method": e["method"],
                                              "request_path": e["path"], "api_version": e.get("api_version"), **i}))
                        else:
                            print(f"{kind}: {log}:{n} seq={e.get('seq')} {e['method']} {e['path']} "
                                  f"api-version={e.get('api_version')}: {i.get('path') or '(body)'}: {i['message']}")
                violations += len(errs)
                warnings += len(warns)
    print(f"validated {checked} request bodies: {violations} violation(s), {warnings} warning(s)",
          file=sys.stderr)
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
