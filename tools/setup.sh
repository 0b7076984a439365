#!/usr/bin/env bash
# Install everything the build and the tests need on a fresh Debian machine.
# Idempotent; run as root (or with sudo available).
#   tools/setup.sh [--apt] [--pip]     (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."

do_apt=0 do_pip=0
for arg in "${@:---apt --pip}"; do
  for a in $arg; do
    case "$a" in
      --apt) do_apt=1 ;;
      --pip) do_pip=1 ;;
      *) echo "usage: tools/setup.sh [--apt] [--pip]" >&2; exit 2 ;;
    esac
  done
done

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
  # portable releases (tools/portable.py): Debian chroots, arm64 cross toolchain, qemu-user
  debootstrap dpkg-dev g++-aarch64-linux-gnu binutils-aarch64-linux-gnu qemu-user-static
  jq                                      # examples/ci/destructive.jq (tests/e2e/test_plans.py)
  postgresql                              # Terraform's pg backend (tests/e2e/test_many_states.py)
)

if [ $do_apt = 1 ]; then
  missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${#missing[@]} Debian packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
  else
    echo "setup: the ${#APT_PACKAGES[@]} Debian packages are installed"
  fi
fi

if [ $do_pip = 1 ]; then
  echo "setup: Python packages from tests/requirements.txt"
  python3 -m pip install -q --disable-pip-version-check -r tests/requirements.txt
  python3 tools/pydeps.py
fi
