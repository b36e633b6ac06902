#!/usr/bin/env bash
# Build the local control plane and CLI tools from Go sources (Go module proxy only),
# caching every binary by version under $MODELROLLOUT_CACHE/bin so a second run is a no-op.
# Why from source: no container registry or release download is reachable here; the module proxy is.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.34.4}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"
HELM_VERSION="${HELM_VERSION:-v3.19.0}"
PROMETHEUS_OPERATOR_VERSION="${PROMETHEUS_OPERATOR_VERSION:-v0.86.1}"
GATEWAY_API_VERSION="${GATEWAY_API_VERSION:-v1.6.3}"
ISTIO_API_VERSION="${ISTIO_API_VERSION:-v1.32.0}"
CACHE="${MODELROLLOUT_CACHE:-$HOME/.cache/modelrollout}"
BIN="$CACHE/bin"
WORK="$CACHE/build"
mkdir -p "$BIN" "$WORK"
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-buildvcs=false

log() { printf '[build-tools %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
have() { [ -x "$BIN/$1" ]; }
timed() { local t0=$SECONDS; "$@"; log "took $((SECONDS - t0))s: ${*: -1}"; }

build_kubernetes() {
  local names=(kube-apiserver kube-controller-manager kube-scheduler kubectl) missing=()
  for n in "${names[@]}"; do have "$n-$K8S_VERSION" || missing+=("$n"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  local mod="$WORK/kubernetes-$K8S_VERSION" minor="${K8S_VERSION#v1.}"
  minor="${minor%%.*}"
  mkdir -p "$mod"
  if [ ! -f "$mod/go.sum" ]; then
    log "preparing module for k8s.io/kubernetes $K8S_VERSION"
    local gomod
    gomod=$(cd "$mod" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
    {
      echo "module modelrollout.local/kubernetes-build"
      echo
      grep -E '^go [0-9]' "$gomod"
      grep -E '^godebug ' "$gomod" || true
      echo
      echo "require k8s.io/kubernetes $K8S_VERSION"
      echo
      echo "replace ("
      # Every staging module upstream replaces with ./staging/... becomes the published v0.X.Y.
      sed -n '/^replace (/,/^)/p' "$gomod" | grep -E '=> \./staging/' | awk -v v="v0.${K8S_VERSION#v1.}" '{print "\t" $1 " => " $1 " " v}'
      echo ")"
    } > "$mod/go.mod"
    cat > "$mod/tools.go" <<GO
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
    (cd "$mod" && go mod tidy)
  fi
  local ld="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  for n in "${missing[@]}"; do
    log "building $n $K8S_VERSION"
    (cd "$mod" && timed go build -p 2 -trimpath -ldflags "$ld" -o "$BIN/$n-$K8S_VERSION.tmp" "k8s.io/kubernetes/cmd/$n")
    mv "$BIN/$n-$K8S_VERSION.tmp" "$BIN/$n-$K8S_VERSION"
  done
}

build_etcd() {
  have "etcd-$ETCD_VERSION" && return 0
  local mod="$WORK/etcd-$ETCD_VERSION"
  mkdir -p "$mod"
  if [ ! -f "$mod/go.sum" ]; then
    log "preparing module for etcd $ETCD_VERSION"
    cat > "$mod/go.mod" <<MOD
module modelrollout.local/etcd-build

go 1.26.0

require go.etcd.io/etcd/server/v3 $ETCD_VERSION

replace (
	go.etcd.io/etcd/api/v3 => go.etcd.io/etcd/api/v3 $ETCD_VERSION
	go.etcd.io/etcd/client/pkg/v3 => go.etcd.io/etcd/client/pkg/v3 $ETCD_VERSION
	go.etcd.io/etcd/client/v3 => go.etcd.io/etcd/client/v3 $ETCD_VERSION
	go.etcd.io/etcd/pkg/v3 => go.etcd.io/etcd/pkg/v3 $ETCD_VERSION
)
MOD
    printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' > "$mod/tools.go"
    (cd "$mod" && go mod tidy)
  fi
  log "building etcd $ETCD_VERSION"
  (cd "$mod" && timed go build -p 2 -trimpath -ldflags "-s -w" -o "$BIN/etcd-$ETCD_VERSION.tmp" go.etcd.io/etcd/server/v3)
  mv "$BIN/etcd-$ETCD_VERSION.tmp" "$BIN/etcd-$ETCD_VERSION"
}

go_install() { # name version package ldflags
  local name=$1 version=$2 pkg=$3 ld=${4:-}
  have "$name-$version" && return 0
  log "building $name $version"
  local gobin="$WORK/gobin-$name-$version"
  GOBIN="$gobin" timed go install -trimpath -ldflags "-s -w $ld" "$pkg@$version"
  mv "$gobin/$name" "$BIN/$name-$version"
}

# Files published inside a Go module, copied into the cache; a no-op once the first one is there.
files_from_module() { # dest module@version path-in-module...
  local dest=$1 module=$2 dir
  shift 2
  [ -f "$dest/$(basename "$1")" ] && return 0
  dir=$(cd "$WORK" && go mod download -json "$module" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
  mkdir -p "$dest.tmp"
  for f in "$@"; do cp "$dir/$f" "$dest.tmp/$(basename "$f")"; done
  chmod -R u+w "$dest.tmp"
  rm -rf "$dest" && mv "$dest.tmp" "$dest"
}

kwok_stages() {
  local stage=kustomize/stage
  files_from_module "$CACHE/kwok-stages-$KWOK_VERSION" "sigs.k8s.io/kwok@$KWOK_VERSION" \
    "$stage/pod/fast/pod-ready.yaml" "$stage/node/fast/node-initialize.yaml" \
    "$stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml" \
    "$stage/pod/fast/pod-complete.yaml" "$stage/pod/fast/pod-delete.yaml"
}

# The ServiceMonitor and PrometheusRule CRDs, so the chart's monitoring objects are applied to the
# local apiserver for real: the files prometheus-operator publishes in its Go module.
prometheus_operator_crds() {
  local crds=example/prometheus-operator-crd
  files_from_module "$CACHE/prometheus-operator-crds-$PROMETHEUS_OPERATOR_VERSION" \
    "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION" \
    "$crds/monitoring.coreos.com_prometheusrules.yaml" "$crds/monitoring.coreos.com_servicemonitors.yaml"
}

# The HTTPRoute, VirtualService and DestinationRule CRDs, so the traffic providers' route objects are
# real objects of the local apiserver: the files Gateway API and Istio publish in their Go modules.
traffic_crds() {
  files_from_module "$CACHE/gateway-api-crds-$GATEWAY_API_VERSION" "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION" \
    config/crd/standard/gateway.networking.k8s.io_httproutes.yaml
  files_from_module "$CACHE/istio-crds-$ISTIO_API_VERSION" "istio.io/api@$ISTIO_API_VERSION" \
    kubernetes/customresourcedefinitions.gen.yaml
}

t_all=$SECONDS
build_kubernetes
build_etcd
go_install kwok "$KWOK_VERSION" sigs.k8s.io/kwok/cmd/kwok
kwok_stages
prometheus_operator_crds
traffic_crds
go_install helm "$HELM_VERSION" helm.sh/helm/v3/cmd/helm "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
# Stable names for people and scripts: links to the versioned binaries.
for n in kube-apiserver kube-controller-manager kube-scheduler kubectl; do ln -sfn "$n-$K8S_VERSION" "$BIN/$n"; done
ln -sfn "etcd-$ETCD_VERSION" "$BIN/etcd"; ln -sfn "kwok-$KWOK_VERSION" "$BIN/kwok"; ln -sfn "helm-$HELM_VERSION" "$BIN/helm"
ln -sfn "kwok-stages-$KWOK_VERSION" "$CACHE/kwok-stages"
log "all tools ready in $BIN ($((SECONDS - t_all))s)"
