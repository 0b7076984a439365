#!/usr/bin/env bash
# Every test, from a fresh Debian machine:
#   1. tools/setup.sh          apt + pip packages
#   2. tools/install-peers.sh  OpenTofu, Terraform 1.5.7, the Go floor provider
#                              (cached; a peer that does not build is skipped)
#   3. build/                  meson + ninja; unit suites (meson test)
#   4. build-asan/             the same with ASan + UBSan; unit suites
#   5. build-fuzz/             the libFuzzer targets (tests/fuzz, clang, ASan +
#                              UBSan): each seed corpus replayed, then each
#                              target fuzzed for 10 s (meson test --suite fuzz)
#   6. pytest                  tests/e2e (real Terraform / OpenTofu), then
#                              tests/emulator (if present)
# Every stage runs even when an earlier test stage failed; the exit code is
# non-zero if anything failed. Each runner ends with a closing line
# "NAME: N passed, N failed[, N skipped]".
#
# Environment: ZT_SKIP_SETUP=1 skips stages 1-2; ZT_SKIP_ASAN=1 skips 4;
# ZT_SKIP_FUZZ=1 skips 5;
# PYTEST_ARGS adds pytest arguments, split like a shell command line
# (e.g. PYTEST_ARGS="-k 'host or hub' -x").
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

failed=()
stage() { printf '\n==== %s ====\n' "$*"; }

if [ -z "${ZT_SKIP_SETUP:-}" ]; then
  stage "setup"
  if ! bash tools/setup.sh; then
    echo "test.sh: tools/setup.sh failed" >&2
    failed+=(setup)
  fi
  stage "peers (OpenTofu, Terraform 1.5.7, Go floor)"
  bash tools/install-peers.sh || true   # never fatal: tests skip what is missing
fi

# Summarise a meson test log as a closing line.
meson_summary() {  # $1 = build dir, $2 = label
  python3 - "$1/meson-logs/testlog.json" "$2" <<'PY'
import json, sys
path, label = sys.argv[1], sys.argv[2]
p = f = s = 0
try:
    for line in open(path):
        line = line.strip()
        if not line:
            continue
        r = json.loads(line).get("result", "")
        if r in ("OK", "EXPECTEDFAIL"):
            p += 1
        elif r == "SKIP":
            s += 1
        else:
            f += 1
except OSError:
    f = 1
print(f"{label}: {p} passed, {f} failed, {s} skipped")
PY
}

build_and_unit() {  # $1 = build dir, $2 = label, rest = meson setup options
  local dir="$1" label="$2"; shift 2
  stage "$label: build ($dir)"
  if [ ! -f "$dir/build.ninja" ]; then
    if ! meson setup "$dir" "$@"; then
      echo "$label: 0 passed, 1 failed"; failed+=("$label-setup"); return 1
    fi
  fi
  if ! ninja -C "$dir"; then
    echo "$label: 0 passed, 1 failed"; failed+=("$label-build"); return 1
  fi
  stage "$label: unit tests"
  local rc=0
  meson test -C "$dir" --print-errorlogs || rc=$?
  meson_summary "$dir" "$label"
  [ $rc -eq 0 ] || failed+=("$label")
  return $rc
}

build_ok=0
build_and_unit build unit || build_ok=$?

if [ -z "${ZT_SKIP_ASAN:-}" ]; then
  export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}"
  export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
  build_and_unit build-asan unit-asan -Db_sanitize=address,undefined -Db_lundef=false \
    -Dbuildtype=debug || true
  # e2e suites run on this build too (ZT_PROVIDER_BIN=build-asan/terraform-provider-zerotrust):
  # a crash there must show ASan's report, not only the provider's panic line.
  if [ -x build-asan/terraform-provider-zerotrust ]; then
    stage "unit-asan: crash report (tests/e2e/test_host.py)"
    ZT_PROVIDER_BIN=build-asan/terraform-provider-zerotrust python3 -m pytest tests/e2e/test_host.py \
      -q -rfEs -p no:cacheprovider -k crash_report_of_asan_build || failed+=(asan-crash-report)
  fi
  unset ASAN_OPTIONS UBSAN_OPTIONS
fi

# The fuzz targets are not part of the other builds: without this stage a
# target that no longer links, or a crash its seeds reach, goes unnoticed.
# Only the targets and what they link are built (ninja alias "fuzz").
fuzz_stage() {
  local dir=build-fuzz
  stage "fuzz: build ($dir)"
  if [ ! -f "$dir/build.ninja" ]; then
    if ! CC=clang meson setup "$dir" -Dfuzz=true; then
      echo "fuzz: 0 passed, 1 failed"; failed+=(fuzz-setup); return 1
    fi
  fi
  if ! ninja -C "$dir" fuzz; then
    echo "fuzz: 0 passed, 1 failed"; failed+=(fuzz-build); return 1
  fi
  stage "fuzz: seed replay and bounded runs"
  local rc=0
  meson test -C "$dir" --no-rebuild --suite fuzz --print-errorlogs || rc=$?
  meson_summary "$dir" fuzz
  [ $rc -eq 0 ] || failed+=(fuzz)
  return $rc
}
if [ -z "${ZT_SKIP_FUZZ:-}" ]; then
  fuzz_stage || true
fi

# PYTEST_ARGS as words, quotes honoured (shlex: nothing in it is executed).
pytest_args=()
if [ -n "${PYTEST_ARGS:-}" ]; then
  if ! mapfile -d '' -t pytest_args < <(python3 -c \
      'import os, shlex, sys; sys.stdout.write("".join(w + "\0" for w in shlex.split(os.environ["PYTEST_ARGS"])))'); then
    echo "test.sh: cannot split PYTEST_ARGS: $PYTEST_ARGS" >&2; exit 2
  fi
fi

# One pytest run per suite: a closing line each, and test modules of the
# same name in both folders (rootdir-relative imports) cannot collide.
run_pytest() {  # $1 = label, $2 = dir, $3 = 1 if "no tests collected" is fine
  local rc=0
  stage "pytest: $1 ($2)"
  python3 -m pytest "$2" -q -rfEs -p no:cacheprovider "${pytest_args[@]}" || rc=$?
  if [ $rc -eq 5 ]; then
    echo "$1: no tests collected"
    [ "$3" = 1 ] || failed+=("$1-none")
  elif [ $rc -ne 0 ]; then
    failed+=("$1")
  fi
}

if [ $build_ok -ne 0 ]; then
  echo "(the provider did not build: the end-to-end tests will fail)"
fi
if ! python3 tools/pydeps.py; then
  failed+=(python-packages)
fi
run_pytest e2e tests/e2e 0
[ -d tests/emulator ] && run_pytest emulator tests/emulator 1

stage "summary"
if [ ${#failed[@]} -eq 0 ]; then
  echo "test.sh: all stages passed"
  exit 0
fi
echo "test.sh: FAILED: ${failed[*]}"
exit 1
