#!/usr/bin/env bash
# Stops the local services that scripts/services/up.sh started. Safe to repeat; data is kept
# in .local/ (delete that folder for a clean slate). Usage: down.sh [redis|mongo|kafka|mariadb|redis-cache|redis-cluster]...
# (default: all; stopping one that is not running is a no-op)
source "$(dirname "$0")/lib.sh"
wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=(kafka mongo redis mariadb redis-cache redis-cluster)
for name in "${wanted[@]}"; do
  case "$name" in
    redis)
      pid_alive redis && { redis-cli -p "$REDIS_PORT" shutdown >/dev/null 2>&1 || true; }
      stop redis ;;
    redis-cache)
      pid_alive redis-cache && { redis-cli -p "$REDIS_CACHE_PORT" shutdown nosave >/dev/null 2>&1 || true; }
      stop redis-cache ;;
    redis-cluster)
      for port in $(redis_cluster_ports); do
        pid_alive "redis-cluster-$port" && { redis-cli -p "$port" shutdown >/dev/null 2>&1 || true; }
        stop "redis-cluster-$port"
      done ;;
    kafka | mongo | mariadb) stop "$name" ;;
    *) die "unknown service: $name (redis, mongo, kafka, mariadb, redis-cache or redis-cluster)" ;;
  esac
done
log "stopped: ${wanted[*]}"
