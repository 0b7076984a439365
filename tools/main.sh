#!/usr/bin/env bash
# The main job: install what is needed, build the provider, then apply the
# example platform with real Terraform, printing its outputs.
#   tools/main.sh [EXAMPLE_DIR]     (default: examples/address-plan)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

EXAMPLE="${1:-examples/address-plan}"

tools/setup.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null

VERSION="$(meson introspect build --projectinfo | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# A filesystem mirror holding just this build, so init needs no network.
PKG="$WORK/mirror/registry.terraform.io/zerotrust/zerotrust/$VERSION/linux_amd64"
mkdir -p "$PKG"
cp build/terraform-provider-zerotrust "$PKG/terraform-provider-zerotrust_v$VERSION"
cat > "$WORK/terraformrc" <<CFG
provider_installation {
  filesystem_mirror {
    path    = "$WORK/mirror"
    include = ["registry.terraform.io/zerotrust/*"]
  }
  direct {
    exclude = ["registry.terraform.io/zerotrust/*"]
  }
}
CFG
export TF_CLI_CONFIG_FILE="$WORK/terraformrc"
export TF_IN_AUTOMATION=1

cp -r "$EXAMPLE/." "$WORK/run"
TF="$ROOT/tools/terraform"
"$TF" -chdir="$WORK/run" init -input=false -no-color
"$TF" -chdir="$WORK/run" apply -input=false -auto-approve -no-color
"$TF" -chdir="$WORK/run" output -no-color
