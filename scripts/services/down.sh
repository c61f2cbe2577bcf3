#!/usr/bin/env bash
# Stops the local services that scripts/services/up.sh started. Safe to repeat; data is kept
# in .local/ (delete that folder for a clean slate). Usage: down.sh [redis|mongo|kafka|mariadb|redis-cache]...
# (default: all; stopping one that is not running is a no-op)
source "$(dirname "$0")/lib.sh"
wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=(kafka mongo redis mariadb redis-cache)
for name in "${wanted[@]}"; do
  case "$name" in
    redis)
      pid_alive redis && { redis-cli -p "$REDIS_PORT" shutdown >/dev/null 2>&1 || true; }
      stop redis ;;
    redis-cache)
      pid_alive redis-cache && { redis-cli -p "$REDIS_CACHE_PORT" shutdown nosave >/dev/null 2>&1 || true; }
      stop redis-cache ;;
    kafka | mongo | mariadb) stop "$name" ;;
    *) die "unknown service: $name (redis, mongo, kafka, mariadb or redis-cache)" ;;
  esac
done
log "stopped: ${wanted[*]}"
