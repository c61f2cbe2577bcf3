#!/usr/bin/env bash
# Validates the Helm chart (deploy/helm/interactive-read-counter) and docker-compose.yml without a
# cluster or a Docker engine. Run by test/deploy/helm-chart.int.test.ts.
#
#   bash deploy/helm/validate/check.sh         builds the tools if needed, then checks
#   bash deploy/helm/validate/check.sh tools   builds the tools only (scripts/test.sh does, before
#                                              the tests: a cold build takes minutes on 2 cores)
#
# For each values set (values.yaml; values-production.yaml; a token-auth variant that also renders
# the test Secret): helm lint --strict, helm template, the strict decoder (`validate manifests`,
# main.go), then promtool check rules and the unit tests of deploy/prometheus/alerts.test.yml on
# the groups the rendered PrometheusRule carries. Then docker-compose.yml through compose-go
# (`validate compose`). helm and validate are built from this directory's go.mod into .local/bin
# (git-ignored), again whenever go.mod, go.sum, main.go or the Go version change; promtool is
# Debian's (scripts/test.sh installs it).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
BIN="$ROOT/.local/bin"
CHART="$ROOT/deploy/helm/interactive-read-counter"

log() { printf '[helm-check] %s\n' "$*" >&2; }
die() { printf '[helm-check] error: %s\n' "$*" >&2; exit 1; }

build_tools() {
  command -v go >/dev/null || die "go is not installed (Go >= 1.26 is needed: see go.mod)"
  local stamp
  stamp="$(cat "$HERE/go.mod" "$HERE/go.sum" "$HERE/main.go" | sha256sum | cut -c1-16)-$(go env GOVERSION)"
  if [ -x "$BIN/helm" ] && [ -x "$BIN/validate" ] && [ "$(cat "$BIN/.validate-stamp" 2>/dev/null)" = "$stamp" ]; then
    return 0
  fi
  mkdir -p "$BIN"
  local started=$SECONDS
  log "building helm and validate into .local/bin (cold: about 4 minutes on 2 cores)"
  (
    cd "$HERE"
    # helm reports the version go.mod pins (its source says only the minor one).
    local version
    version="$(go list -m -f '{{.Version}}' helm.sh/helm/v4)"
    go build -trimpath -buildvcs=false -ldflags "-X helm.sh/helm/v4/internal/version.version=$version" -o "$BIN/helm" helm.sh/helm/v4/cmd/helm
    go build -trimpath -buildvcs=false -o "$BIN/validate" .
  )
  echo "$stamp" >"$BIN/.validate-stamp"
  log "built in $((SECONDS - started)) s"
}

# helm logs each symlink it follows (files/alerts.yml -> deploy/prometheus/alerts.yml): expected.
helm_() { "$BIN/helm" "$@" 2> >(grep -v 'found symbolic link in path' >&2); }

# check_values NAME HELM_ARGS... : lint, render, decode strictly and check the rules of one values set.
check_values() {
  local name="$1"
  shift
  log "$name: helm lint, helm template, validate manifests"
  helm_ lint --strict --quiet "$CHART" "$@" >/dev/null
  helm_ template reads "$CHART" --namespace webook "$@" >"$TMP/$name.yaml"
  mkdir -p "$TMP/$name-rules"
  "$BIN/validate" manifests -rules-out "$TMP/$name-rules" <"$TMP/$name.yaml"
  local rules
  for rules in "$TMP/$name-rules"/*.yml; do
    [ -e "$rules" ] || continue
    log "$name: promtool check rules, and alerts.test.yml on the PrometheusRule's groups"
    promtool check rules "$rules" >/dev/null
    # alerts.test.yml loads "alerts.yml" next to itself: the rendered groups take that place.
    mkdir -p "$TMP/$name-unit"
    cp "$rules" "$TMP/$name-unit/alerts.yml"
    cp "$ROOT/deploy/prometheus/alerts.test.yml" "$TMP/$name-unit/"
    promtool test rules "$TMP/$name-unit/alerts.test.yml" >/dev/null
  done
}

build_tools
[ "${1:-}" = tools ] && exit 0
command -v promtool >/dev/null || die "promtool is not installed (apt-get install prometheus, or run scripts/test.sh)"

started=$SECONDS
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

check_values default
check_values production -f "$CHART/values-production.yaml"
check_values token-auth --set dashboard.auth=token --set monitoring.serviceMonitor.enabled=true \
  --set testSecret.create=true --set testSecret.stringData.REDIS_URL=redis://redis:6379 \
  --set testSecret.stringData.MONGO_URL=mongodb://mongo:27017 \
  --set testSecret.stringData.DASHBOARD_TOKEN=0123456789abcdef-test-only
# A production values set must produce a PrometheusRule: that is where the alerts come from.
[ -n "$(ls "$TMP/production-rules")" ] || die "values-production.yaml rendered no PrometheusRule"

log "docker-compose.yml: validate compose (compose-go, as docker compose config -q)"
# The file requires DASHBOARD_PASSWORD (${DASHBOARD_PASSWORD:?...}); any value loads it.
(cd "$ROOT" && DASHBOARD_PASSWORD=placeholder-for-config-check "$BIN/validate" compose docker-compose.yml)

log "ok in $((SECONDS - started)) s"
