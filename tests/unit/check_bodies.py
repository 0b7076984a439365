"""Validate every PUT body of a composite resource against Microsoft's definitions.

    python3 tests/unit/check_bodies.py BUILD/tests/unit/test_hub   (or test_spoke, test_workspace)

Runs `TEST --dump-bodies` (each node's body for the default inputs and
with every option on, as an emulator request log), then the emulator's
validator (tests/emulator/validate.py, strict enums) over the log. Any
violation, and any warning (a read-only property sent, casing), fails.
"""
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main() -> int:
    exe = sys.argv[1]
    name = os.path.basename(exe).removeprefix("test_")
    with tempfile.TemporaryDirectory(prefix=f"{name}-bodies-") as d:
        log = os.path.join(d, "requests.jsonl")
        subprocess.run([exe, "--dump-bodies", log], check=True)
        with open(log) as fh:
            nodes = {json.loads(line)["node"].split("[")[0] for line in fh if line.strip()}
        r = subprocess.run([sys.executable, "-m", "tests.emulator.validate", log, "--warnings",
                            "--json", "--enum-mode", "strict"], cwd=ROOT, capture_output=True,
                           text=True)
        sys.stderr.write(r.stderr)
        findings = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
        for f in findings:
            print(f"{f['kind']}: {f['request_path']} api-version={f['api_version']}: "
                  f"{f.get('path') or '(body)'}: {f['message']}")
        print(f"node definitions covered: {len(nodes)} ({', '.join(sorted(nodes))})")
        if r.returncode not in (0, 1):
            return r.returncode
        return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
