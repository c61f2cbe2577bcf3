#!/usr/bin/env bash
# Stops the local services that scripts/services/up.sh started. Safe to repeat; data is kept
# in .local/ (delete that folder for a clean slate).
source "$(dirname "$0")/lib.sh"
stop kafka
stop mongo
if pid_alive redis; then
  redis-cli -p "$REDIS_PORT" shutdown >/dev/null 2>&1 || true
fi
stop redis
log "stopped"
