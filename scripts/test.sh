#!/usr/bin/env bash
# The whole test suite: installs what is missing (npm packages, Debian's chromium for the
# browser test, Debian's golang-go for the parser's differential test against Go, Debian's
# prometheus for promtool, which checks the alert rules, helm and the chart's validator built from
# Go modules), starts the local services (unless external ones are configured), then runs every
# test/**/*.test.ts with node's test runner.
# Extra arguments go to node --test (e.g. --test-name-pattern=parser).
set -euo pipefail
source "$(dirname "$0")/services/lib.sh"
cd "$ROOT"
[ -n "${CHROMIUM_PATH:-}" ] || [ -x /usr/bin/chromium ] || apt_install chromium
# test/events/parse-read-event-go.int.test.ts builds a Go program and fails without go on PATH.
command -v go >/dev/null || apt_install golang-go
# test/deploy/alert-rules.int.test.ts checks deploy/prometheus with promtool, from Debian's
# prometheus package (apt_install keeps the package's server from starting: see lib.sh).
command -v promtool >/dev/null || apt_install prometheus
# test/deploy/helm-chart.int.test.ts validates the Helm chart with helm and a strict decoder built
# from deploy/helm/validate/go.mod (Go 1.26) into .local/bin: built here, once, because a cold build
# (about 4 minutes on 2 cores) would take most of a test file's 5-minute limit; later runs reuse it.
bash deploy/helm/validate/check.sh tools
bash scripts/services/up.sh
# The MySQL importer's tests (test/import/) need a MySQL-compatible server: a local MariaDB,
# unless MYSQL_URL names one (up.sh then starts nothing).
bash scripts/services/up.sh mariadb
# A second Redis that evicts (allkeys-lru, 16 MB), for the tests of a cache on its own Redis
# (CACHE_REDIS_URL), unless CACHE_REDIS_URL names one.
bash scripts/services/up.sh redis-cache
# A local 3-master Redis Cluster (ports 7000-7002), for test/redis/cluster.int.test.ts and the
# end-to-end and exactly-once tests run again with the queue and the cache on it (test/cluster/).
bash scripts/services/up.sh redis-cluster
mkdir -p test-artifacts
mapfile -t files < <(find test -name '*.test.ts' | sort)
reporter=tap
[ -t 1 ] && reporter=spec
# --test-timeout: a test that hangs fails after 5 minutes instead of stalling the run.
exec node --import tsx --test --test-reporter="$reporter" --test-concurrency=1 --test-timeout=300000 "$@" "${files[@]}"
