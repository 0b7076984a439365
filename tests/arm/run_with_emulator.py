#!/usr/bin/env python3
"""Start the ARM emulator, run one program against it, stop the emulator.

    run_with_emulator.py PROGRAM [ARGS...]

The emulator (tests/emulator) listens on free loopback ports with its own
test CA. PROGRAM finds everything it needs (URL, CA path, tenant, client
credentials, GitHub OIDC request URL, identity endpoints) in the JSON file
named by ZT_EMULATOR_JSON, and its own exit status becomes ours. The
emulator's stderr is kept in the state directory and shown on failure.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60


def start(state: Path):
    log = open(state / "emulator.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.emulator", "--port", "0", "--state-dir", str(state)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
    info = state / "emulator.json"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the emulator exited with status {proc.returncode}")
        if info.exists():
            try:
                json.loads(info.read_text())
                return proc, info
            except ValueError:
                pass   # being written
        time.sleep(0.05)
    raise RuntimeError(f"the emulator did not start within {START_TIMEOUT} s")


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _terminate(signum, frame):
    raise KeyboardInterrupt   # unwinds through main()'s finally: the emulator is stopped


def main(argv):
    signal.signal(signal.SIGTERM, _terminate)
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    state = Path(tempfile.mkdtemp(prefix="zt-arm-emulator-"))
    proc = None
    rc = 1
    try:
        proc, info = start(state)
        env = dict(os.environ, ZT_EMULATOR_JSON=str(info))
        rc = subprocess.call(argv[1:], env=env)
    except RuntimeError as e:
        print(f"run_with_emulator: {e}", file=sys.stderr)
    except KeyboardInterrupt:
        print("run_with_emulator: interrupted", file=sys.stderr)
        rc = 130
    finally:
        if proc is not None:
            stop(proc)
        if rc != 0 and (state / "emulator.log").exists():
            tail = (state / "emulator.log").read_text(errors="replace")[-4000:]
            if tail.strip():
                print("---- emulator stderr (tail) ----\n" + tail, file=sys.stderr)
        shutil.rmtree(state, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
