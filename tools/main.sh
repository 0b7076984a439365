#!/usr/bin/env bash
# The main job: install what is needed, build the provider, bring up the
# local ARM emulator and apply the example platform with real Terraform,
# signing in without a secret; prints the outputs.
#   tools/main.sh [EXAMPLE_DIR]     (default: examples/platform)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

tools/setup.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null

exec python3 tools/run_example.py --example "${1:-examples/platform}"
