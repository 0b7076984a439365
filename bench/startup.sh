#!/usr/bin/env bash
# Provider start-up benchmark: ours vs the Go floor, same run; prints a table.
#   bench/startup.sh [-n RUNS] [--ours BIN] [--peer BIN] [--json FILE]
# Needs: the built provider (build/), tools/install-peers.sh's Go floor,
# pip install -r tests/requirements.txt (grpcio, grpcio-tools, cryptography).
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 bench/startup.py "$@"
