#!/usr/bin/env bash
# The whole test suite: installs what is missing, starts the local services (unless external
# ones are configured), then runs every test/**/*.test.ts with node's test runner.
# Extra arguments are passed to node --test (e.g. --test-name-pattern=parser).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/services/up.sh
mkdir -p test-artifacts
mapfile -t files < <(find test -name '*.test.ts' | sort)
reporter=tap
[ -t 1 ] && reporter=spec
exec node --import tsx --test --test-reporter="$reporter" --test-concurrency=1 "$@" "${files[@]}"
