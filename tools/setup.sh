#!/usr/bin/env bash
# Install everything the build and the tests need on a fresh Debian machine.
# Idempotent; run as root (or with sudo available).
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

APT_PACKAGES=(
  build-essential pkg-config meson ninja-build
  libgrpc-dev libabsl-dev libre2-dev libc-ares-dev zlib1g-dev   # static archives for the start-up-time link
  protobuf-compiler protobuf-c-compiler libprotobuf-c-dev
  libcurl4-openssl-dev libssl-dev openssl check libmsgpack-dev libjansson-dev
  clang libclang-rt-14-dev
  python3 python3-pip
  nginx gnupg zip unzip ca-certificates curl
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

python3 -m pip install -q --disable-pip-version-check -r tests/requirements.txt
