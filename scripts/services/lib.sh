# Shared helpers for the local-services scripts. Sourced, not run.
# Everything lives under .local/ (git-ignored): jars, data, logs, pid files.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LOCAL="$ROOT/.local"
RUN="$LOCAL/run"
LOGS="$LOCAL/logs"
mkdir -p "$RUN" "$LOGS"

KAFKA_PORT="${LOCAL_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${LOCAL_KAFKA_CONTROLLER_PORT:-9093}"
REDIS_PORT="${LOCAL_REDIS_PORT:-6379}"
REDIS_CACHE_PORT="${LOCAL_REDIS_CACHE_PORT:-6380}"
# A 3-master Redis Cluster on three consecutive ports from this one.
REDIS_CLUSTER_PORT="${LOCAL_REDIS_CLUSTER_PORT:-7000}"
redis_cluster_ports() { echo "$REDIS_CLUSTER_PORT" $((REDIS_CLUSTER_PORT + 1)) $((REDIS_CLUSTER_PORT + 2)); }
MONGO_PORT="${LOCAL_MONGO_PORT:-27017}"
MARIADB_PORT="${LOCAL_MARIADB_PORT:-3306}"
# A unix socket path may not exceed ~107 bytes; a deep checkout falls back to a short one.
MARIADB_SOCK="$LOCAL/mariadb/mysqld.sock"
[ ${#MARIADB_SOCK} -le 100 ] || MARIADB_SOCK="${TMPDIR:-/tmp}/interactive-mariadb-$(id -u)-$MARIADB_PORT.sock"

log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] error: %s\n' "$*" >&2; exit 1; }

# as_root CMD...: run a command as root (directly, or via sudo when available).
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else die "need root for: $*"; fi
}

# Debian starts a package's service when it is installed: redis-server on 6379, mariadb-server on
# 3306, prometheus on 9090 (all interfaces), ports the local services and the tests use. For the
# duration of the install, /usr/sbin/policy-rc.d answers 101 ("forbidden"), which invoke-rc.d and
# deb-systemd-invoke obey, so nothing is started. One that was already there (Docker images ship
# one) is left alone; ours is marked, so one left by an interrupted install is removed next time.
# (On a systemd machine the services are still enabled, so they would start at the next boot.)
POLICY_RC_D=/usr/sbin/policy-rc.d
POLICY_RC_D_MARK="# written by scripts/services/lib.sh apt_install, removed after the install"

apt_install() { # apt_install PACKAGE... : installs the Debian packages that are missing.
  local missing=()
  for p in "$@"; do
    [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  local ours=0 rc=0
  if [ ! -e "$POLICY_RC_D" ] || grep -qxF "$POLICY_RC_D_MARK" "$POLICY_RC_D"; then
    printf '#!/bin/sh\n%s\nexit 101\n' "$POLICY_RC_D_MARK" | as_root tee "$POLICY_RC_D" >/dev/null
    as_root chmod 755 "$POLICY_RC_D"
    ours=1
  fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    rc=$?
  if [ "$ours" = 1 ]; then as_root rm -f "$POLICY_RC_D"; fi
  return "$rc"
}

pid_alive() { # pid_alive NAME : the service we started is still running
  local f="$RUN/$1.pid"
  [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null
}

# spawn NAME CMD... : start CMD detached, logging to .local/logs/NAME.log, pid in .local/run/NAME.pid
spawn() {
  local name="$1"; shift
  setsid nohup "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN/$name.pid"
}

# stop NAME : SIGTERM, wait up to 30 s, then SIGKILL. Safe when not running.
stop() {
  local name="$1" f="$RUN/$1.pid"
  if ! pid_alive "$name"; then rm -f "$f"; return 0; fi
  local pid; pid="$(cat "$f")"
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then log "$name did not stop in 30 s, killing"; kill -KILL "$pid" 2>/dev/null || true; fi
  rm -f "$f"
}

# ensure_node_deps : npm ci when node_modules is missing or older than the lock file.
ensure_node_deps() {
  if [ ! -f "$ROOT/node_modules/.package-lock.json" ] || [ "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]; then
    log "installing npm dependencies (npm ci)"
    (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

# maven_runtime DIR POM : copy the runtime jars a pom names into DIR, once per pom content.
maven_runtime() {
  local dir="$1" pom="$2" stamp
  stamp="$(sha256sum "$pom" | cut -c1-16)"
  if [ -f "$dir/.stamp" ] && [ "$(cat "$dir/.stamp")" = "$stamp" ]; then return 0; fi
  command -v mvn >/dev/null || apt_install maven
  log "resolving $(basename "$(dirname "$pom")") jars from Maven Central"
  rm -rf "$dir"; mkdir -p "$dir"
  mvn -q -B --no-transfer-progress -Dstyle.color=never -f "$pom" dependency:copy-dependencies -DoutputDirectory="$dir" -DincludeScope=runtime
  echo "$stamp" >"$dir/.stamp"
}

# probe KIND TARGET TIMEOUT_S : waits until the service answers its own protocol.
probe() {
  (cd "$ROOT" && node --import tsx scripts/services/probe.ts "$@")
}
