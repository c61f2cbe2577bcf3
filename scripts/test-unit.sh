#!/usr/bin/env bash
# The pure tests of the product: every test/**/*.test.ts that is not an *.int.test.ts, except
# the benchmarks' own (npm run test:bench). No service, no Go, no browser: seconds. Extra
# arguments go to node --test.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(find test -name '*.test.ts' ! -name '*.int.test.ts' ! -path 'test/bench/*' | sort)
reporter=tap
[ -t 1 ] && reporter=spec
exec node --import tsx --test --test-reporter="$reporter" "$@" "${files[@]}"
