#!/usr/bin/env bash
# Checks the Helm chart in deploy/helm/tributary: `helm lint` and `helm template` with the default
# values and with every ci/*-values.yaml (TLS and auth, the StatefulSet with a data volume, …),
# then validates every rendered manifest against the Kubernetes schemas with kubernetes-validate
# and checks that the binaries read every environment variable the chart sets (clap `env`).
# scripts/test.sh runs it as its `helm` step.
#
#   scripts/helm-check.sh
#
# Tools, built or installed once into TRIBUTARY_CACHE_DIR (default ~/.cache/tributary) and reused:
# - helm, built with the machine's Go from its Go module (no release binary is downloaded), into
#   tools/helm-$HELM_VERSION/; the Go module and build caches it needed are deleted afterwards.
# - kubernetes-validate from PyPI, in a virtualenv in tools/kubernetes-validate-$VERSION/.
# A cold run builds helm (a few minutes on 2 cores); a warm one takes a few seconds.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/packages.sh
source "$ROOT/scripts/lib/packages.sh"

HELM_VERSION=v3.21.4
# The Kubernetes release helm assumes without a cluster (`helm template`, `helm lint`): 1.<minor
# of k8s.io/client-go in helm's go.mod>, set at link time as helm's Makefile does.
HELM_KUBERNETES_MINOR=36
KUBERNETES_VALIDATE_VERSION=1.37.0
# The Kubernetes releases the manifests must be valid for: the oldest the chart supports
# (Chart.yaml's kubeVersion) and the newest kubernetes-validate knows.
KUBERNETES_VERSIONS=(1.27 1.37)
CHART=$ROOT/deploy/helm/tributary
TOOLS=${TRIBUTARY_CACHE_DIR:-$HOME/.cache/tributary}/tools
HELM=$TOOLS/helm-$HELM_VERSION/helm
VALIDATE_VENV=$TOOLS/kubernetes-validate-$KUBERNETES_VALIDATE_VERSION

# ensure_helm: builds helm from helm.sh/helm/v3 at HELM_VERSION when the cached binary is missing.
ensure_helm() {
  [ -x "$HELM" ] && return 0
  command -v go >/dev/null \
    || die "helm is missing and so is Go to build it; install Go 1.24 or newer (https://go.dev/doc/install), then run this again"
  local work
  work=$(mktemp -d "$TOOLS/.helm-build.XXXXXX")
  say "building helm $HELM_VERSION from its Go module into $(dirname "$HELM") (once; a few minutes)"
  # Private module and build caches: the build is the same on any machine, and they are removed
  # afterwards (together several hundred MB) since only the binary is kept.
  if ! env GOBIN="$work/bin" GOMODCACHE="$work/mod" GOCACHE="$work/cache" GOFLAGS=-modcacherw \
      CGO_ENABLED=0 go install -trimpath \
      -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION
        -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$HELM_KUBERNETES_MINOR
        -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$HELM_KUBERNETES_MINOR" \
      "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >"$work/build.log" 2>&1; then
    tail -n 30 "$work/build.log" >&2
    rm -rf "$work"
    die "go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION failed; check that the Go module proxy is reachable (go env GOPROXY) and run this again"
  fi
  mkdir -p "$(dirname "$HELM")"
  mv "$work/bin/helm" "$HELM"
  rm -rf "$work"
}

# ensure_kubernetes_validate: a virtualenv with kubernetes-validate from PyPI.
ensure_kubernetes_validate() {
  "$VALIDATE_VENV/bin/kubernetes-validate" --version >/dev/null 2>&1 && return 0
  command -v python3 >/dev/null || apt_install python3
  python3 -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv
  rm -rf "$VALIDATE_VENV"
  python3 -m venv "$VALIDATE_VENV" || die "python3 -m venv $VALIDATE_VENV failed; install python3-venv"
  say "installing kubernetes-validate $KUBERNETES_VALIDATE_VERSION into $VALIDATE_VENV"
  "$VALIDATE_VENV/bin/pip" install -q --disable-pip-version-check \
    "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" >&2 \
    || { rm -rf "$VALIDATE_VENV"; die "pip could not install kubernetes-validate from PyPI; check the network and run this again"; }
}

mkdir -p "$TOOLS"
ensure_helm
ensure_kubernetes_validate

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# The default values, then every example in ci/ (each file on top of the defaults).
cases=(default)
for file in "$CHART"/ci/*-values.yaml; do
  [ -e "$file" ] && cases+=("$file")
done

failed=0
rendered=()
for case in "${cases[@]}"; do
  name=$(basename "$case" -values.yaml)
  args=()
  [ "$case" = default ] || args=(--values "$case")
  say "helm lint --strict ($name values)"
  "$HELM" lint --strict --quiet "$CHART" "${args[@]}" || { failed=1; continue; }
  # --api-versions: render the optional parts that need a CRD (ServiceMonitor) as a cluster with
  # the Prometheus operator would.
  say "helm template ($name values)"
  "$HELM" template tributary "$CHART" --namespace tributary \
    --kube-version "${KUBERNETES_VERSIONS[-1]}.0" --api-versions monitoring.coreos.com/v1 \
    "${args[@]}" >"$out/$name.yaml" || { failed=1; continue; }
  rendered+=("$out/$name.yaml")
done
if [ ${#rendered[@]} -gt 0 ]; then
  say "validating ${rendered[*]##*/} against the schemas of Kubernetes ${KUBERNETES_VERSIONS[*]} (strict)"
  versions=()
  for version in "${KUBERNETES_VERSIONS[@]}"; do versions+=(-k "$version"); done
  "$VALIDATE_VENV/bin/python" "$ROOT/scripts/lib/validate_manifests.py" "${versions[@]}" "${rendered[@]}" \
    || failed=1
  say "checking that each binary reads every environment variable the chart gives it"
  "$VALIDATE_VENV/bin/python" "$ROOT/scripts/lib/check_chart_env.py" \
    --container "control-plane=$ROOT/control-plane/src,$ROOT/service-kit/src" \
    --container "worker=$ROOT/data-plane/src,$ROOT/service-kit/src,$ROOT/rule-engine/src" \
    "${rendered[@]}" || failed=1
fi
[ "$failed" = 0 ] || die "the Helm chart check failed (see above)"
say "Helm chart: lint, template and schema validation passed for: ${cases[*]##*/}"
