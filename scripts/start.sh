#!/usr/bin/env bash
# `npm start`: the whole system on this machine. Installs what is missing, starts the local
# services unless external ones are configured, then runs the processes in the foreground.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/services/up.sh
exec node --import tsx src/main/start.ts "$@"
