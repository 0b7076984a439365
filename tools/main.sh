#!/usr/bin/env bash
# The main job: install what is needed, build the provider, bring up the
# local ARM emulator and apply the example platform with real Terraform,
# signing in without a secret; prints the outputs.
#   tools/main.sh [EXAMPLE_DIR]     (default: examples/platform)
# One line per step; each step's own output goes to build-logs/main-STEP.log
# and is shown (its last lines) only when the step fails.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
LOGS="$ROOT/build-logs"
mkdir -p "$LOGS"

step() {  # $1 = short name, $2 = what the user reads, rest = the command
  local name="$1" what="$2" t0=$SECONDS; shift 2
  printf 'main.sh: %s ... ' "$what"
  if "$@" >"$LOGS/main-$name.log" 2>&1; then
    printf 'done (%ds)\n' $((SECONDS - t0))
  else
    local rc=$?
    printf 'FAILED (exit %d)\n' "$rc"
    tail -n 40 "$LOGS/main-$name.log" | sed 's/^/    /' >&2
    echo "main.sh: the whole output is in $LOGS/main-$name.log" >&2
    exit "$rc"
  fi
}

build() {
  [ -f build/build.ninja ] || meson setup build
  ninja -C build terraform-provider-zerotrust
}

step apt "system packages (apt; the first run installs compilers and libraries, a few minutes)" \
  tools/setup.sh --apt
step pip "Python packages (pip: Terraform as a library, the emulator's packages)" \
  tools/setup.sh --pip
step build "building the provider (meson + ninja; the first build takes a few minutes)" build
echo "main.sh: starting the ARM emulator and applying ${1:-examples/platform} with Terraform"
exec python3 tools/run_example.py --example "${1:-examples/platform}"
