#!/usr/bin/env bash
# Install the peer programs the end-to-end tests and the benchmark drive:
#   * OpenTofu (newest release that builds here, plus the newest 1.6.x for the
#     "no provider functions" path),
#   * Terraform 1.5.7 (the oldest Terraform the provider supports; no
#     provider functions),
#   * a Go "floor" provider for bench/startup.sh (the real
#     terraform-provider-null is not served by the Go module proxy reachable
#     here, so we build a null_resource provider of the same shape with
#     terraform-plugin-framework: it is the cost of the Go plugin stack).
#
# Everything is built with `go install` from the Go module proxy into
# ${ZT_PEERS_DIR:-$HOME/.cache/zerotrust}/bin.  Idempotent: a binary that is
# already there is not rebuilt.  A peer that does not build is reported and
# skipped; this script only fails if Go itself is missing... and even then
# it exits 0 with ZT_PEERS_STRICT unset, so the test run goes on (the tests
# skip what is not installed).
#
# Environment:
#   ZT_PEERS_DIR       cache dir (default $HOME/.cache/zerotrust)
#   ZT_PEERS           space-separated subset of: tofu tofu16 terraform157 gofloor
#   ZT_PEERS_TIMEOUT   per-build timeout in seconds (default 900)
#   ZT_GO_P            go build -p (default 2)
set -uo pipefail

DIR="${ZT_PEERS_DIR:-$HOME/.cache/zerotrust}"
BIN="$DIR/bin"
LOGS="$DIR/logs"
PEERS="${ZT_PEERS:-terraform157 tofu16 tofu gofloor}"
TIMEOUT="${ZT_PEERS_TIMEOUT:-900}"
GOP="${ZT_GO_P:-2}"
mkdir -p "$BIN" "$LOGS"

# Candidate versions, newest first.  These are the versions the module proxy
# lists; the first that installs wins.
TOFU_VERSIONS=(v1.12.6 v1.10.10 v1.9.4 v1.8.11)   # >= 1.7: provider functions
TOFU16_VERSIONS=(v1.6.3)                          # last 1.6.x
TF_LEGACY_VERSION=v1.5.7
FLOOR_FRAMEWORK_VERSION=v1.19.0                    # terraform-plugin-framework

if ! command -v go >/dev/null 2>&1; then
  echo "install-peers: go not found; no peers installed" >&2
  exit 0
fi
export GOFLAGS="${GOFLAGS:--buildvcs=false}"
export CGO_ENABLED=0

declare -A STATUS

# go_install NAME MODULE@VERSION BINNAME -> $BIN/NAME
go_install() {
  local name="$1" pkg="$2" binname="$3"
  local tmp log start rc
  tmp="$(mktemp -d)"
  log="$LOGS/$name.log"
  start=$(date +%s)
  echo "install-peers: building $name from $pkg (log: $log)"
  ( cd "$tmp" && GOBIN="$tmp/bin" timeout "$TIMEOUT" \
      go install -p "$GOP" -trimpath -ldflags='-s -w' "$pkg" ) >"$log" 2>&1
  rc=$?
  if [ $rc -eq 0 ] && [ -x "$tmp/bin/$binname" ]; then
    mv -f "$tmp/bin/$binname" "$BIN/$name"
    echo "install-peers: $name built in $(( $(date +%s) - start ))s"
    echo "$pkg built in $(( $(date +%s) - start ))s" >>"$log"
  else
    echo "install-peers: $name FAILED (rc=$rc, $(( $(date +%s) - start ))s); last lines:" >&2
    tail -n 5 "$log" | sed 's/^/    /' >&2
  fi
  rm -rf "$tmp"
  [ $rc -eq 0 ]
}

# go_build_module NAME MODULE VERSION PKG -> $BIN/NAME
# `go install MODULE/PKG@VERSION` refuses modules whose go.mod has replace
# directives (OpenTofu >= 1.7 replaces hcl/v2 with its fork), so fetch the
# module through the proxy (`go mod download`, checksums verified) and build
# it as the main module, with its own go.mod, go.sum and replaces.
go_build_module() {
  local name="$1" mod="$2" ver="$3" pkg="$4"
  local tmp log start rc dir
  tmp="$(mktemp -d)"
  log="$LOGS/$name.log"
  start=$(date +%s)
  echo "install-peers: building $name from $mod@$ver $pkg (log: $log)"
  (
    set -e
    cd "$tmp"
    dir="$(go mod download -json "$mod@$ver" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
    [ -n "$dir" ] && [ -d "$dir" ]
    cp -r "$dir" src && chmod -R u+w src
    cd src
    timeout "$TIMEOUT" go build -p "$GOP" -trimpath -ldflags='-s -w' -o "$tmp/out" "$pkg"
  ) >"$log" 2>&1
  rc=$?
  if [ $rc -eq 0 ] && [ -x "$tmp/out" ]; then
    mv -f "$tmp/out" "$BIN/$name"
    echo "install-peers: $name built in $(( $(date +%s) - start ))s"
    echo "$mod@$ver built in $(( $(date +%s) - start ))s" >>"$log"
  else
    echo "install-peers: $name FAILED (rc=$rc, $(( $(date +%s) - start ))s); last lines:" >&2
    tail -n 5 "$log" | sed 's/^/    /' >&2
  fi
  rm -rf "$tmp"
  [ $rc -eq 0 ]
}

install_tofu() {           # $1 = link name, rest = candidate versions
  local link="$1"; shift
  local v
  if [ -L "$BIN/$link" ] && [ -x "$BIN/$link" ]; then
    STATUS[$link]="$(readlink "$BIN/$link") (cached)"; return 0
  fi
  for v in "$@"; do
    local name="tofu-${v#v}"
    if [ -x "$BIN/$name" ] || go_build_module "$name" github.com/opentofu/opentofu "$v" ./cmd/tofu; then
      ln -sfn "$name" "$BIN/$link"
      STATUS[$link]="$name"; return 0
    fi
  done
  STATUS[$link]="NOT AVAILABLE"; return 1
}

install_terraform157() {
  local name="terraform-${TF_LEGACY_VERSION#v}"
  if [ -x "$BIN/$name" ]; then STATUS[terraform157]="$name (cached)"; return 0; fi
  if go_install "$name" "github.com/hashicorp/terraform@$TF_LEGACY_VERSION" terraform; then
    STATUS[terraform157]="$name"
  else
    STATUS[terraform157]="NOT AVAILABLE"
  fi
}

install_gofloor() {
  local name="terraform-provider-gofloor"
  if [ -x "$BIN/$name" ]; then STATUS[gofloor]="$name (cached)"; return 0; fi
  local src log start
  src="$(mktemp -d)"; log="$LOGS/gofloor.log"; start=$(date +%s)
  echo "install-peers: building $name (terraform-plugin-framework $FLOOR_FRAMEWORK_VERSION) (log: $log)"
  cat >"$src/main.go" <<'GO'
// A provider of the same shape as hashicorp/terraform-provider-null
// (one null_resource with triggers/id), built on terraform-plugin-framework:
// the floor cost of a Go provider's start-up.
package main

import (
	"context"
	"fmt"
	"log"
	"math/rand"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/function"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/mapplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"

	pschema "github.com/hashicorp/terraform-plugin-framework/provider/schema"
)

type nullProvider struct{}

func (p *nullProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "null"
	resp.Version = "3.2.4"
}
func (p *nullProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = pschema.Schema{}
}
func (p *nullProvider) Configure(context.Context, provider.ConfigureRequest, *provider.ConfigureResponse) {}
func (p *nullProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{func() resource.Resource { return &nullResource{} }}
}
func (p *nullProvider) DataSources(context.Context) []func() datasource.DataSource { return nil }
func (p *nullProvider) Functions(context.Context) []func() function.Function      { return nil }

type nullResource struct{}
type nullModel struct {
	ID       types.String `tfsdk:"id"`
	Triggers types.Map    `tfsdk:"triggers"`
}

func (r *nullResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_resource"
}
func (r *nullResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{Attributes: map[string]schema.Attribute{
		"triggers": schema.MapAttribute{ElementType: types.StringType, Optional: true,
			PlanModifiers: []planmodifier.Map{mapplanmodifier.RequiresReplace()}},
		"id": schema.StringAttribute{Computed: true,
			PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
	}}
}
func (r *nullResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m nullModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	m.ID = types.StringValue(fmt.Sprintf("%d", rand.Int()))
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
func (r *nullResource) Read(context.Context, resource.ReadRequest, *resource.ReadResponse) {}
func (r *nullResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var m nullModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
func (r *nullResource) Delete(context.Context, resource.DeleteRequest, *resource.DeleteResponse) {}

func main() {
	err := providerserver.Serve(context.Background(), func() provider.Provider { return &nullProvider{} },
		providerserver.ServeOpts{Address: "registry.terraform.io/hashicorp/null"})
	if err != nil {
		log.Fatal(err)
	}
}
GO
  (
    cd "$src" &&
    go mod init example.com/gofloor &&
    go get "github.com/hashicorp/terraform-plugin-framework@$FLOOR_FRAMEWORK_VERSION" &&
    go mod tidy &&
    timeout "$TIMEOUT" go build -p "$GOP" -trimpath -ldflags='-s -w' -o "$BIN/$name" .
  ) >"$log" 2>&1
  if [ -x "$BIN/$name" ]; then
    STATUS[gofloor]="$name ($(( $(date +%s) - start ))s)"
    echo "install-peers: $name built in $(( $(date +%s) - start ))s"
  else
    STATUS[gofloor]="NOT AVAILABLE"
    echo "install-peers: $name FAILED; last lines:" >&2; tail -n 5 "$log" | sed 's/^/    /' >&2
  fi
  rm -rf "$src"
}

for p in $PEERS; do
  case "$p" in
    tofu)         install_tofu tofu "${TOFU_VERSIONS[@]}" ;;
    tofu16)       install_tofu tofu-legacy "${TOFU16_VERSIONS[@]}" ;;
    terraform157) install_terraform157 ;;
    gofloor)      install_gofloor ;;
    *) echo "install-peers: unknown peer '$p'" >&2 ;;
  esac
done

echo "install-peers: summary ($BIN)"
for k in "${!STATUS[@]}"; do printf '  %-14s %s\n' "$k" "${STATUS[$k]}"; done | sort
exit 0
