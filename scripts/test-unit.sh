#!/usr/bin/env bash
# The pure tests: every test/**/*.test.ts that is not an *.int.test.ts. No service, no Go, no
# browser: seconds. Extra arguments go to node --test.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(find test -name '*.test.ts' ! -name '*.int.test.ts' | sort)
reporter=tap
[ -t 1 ] && reporter=spec
exec node --import tsx --test --test-reporter="$reporter" "$@" "${files[@]}"
