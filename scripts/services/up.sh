#!/usr/bin/env bash
# Starts the local Kafka (KRaft), Redis and MongoDB-compatible server on loopback, installing
# what is missing first. Returns once each answers its own protocol. Idempotent: a service that
# already answers is left alone; one configured externally (KAFKA_BROKERS, REDIS_URL, MONGO_URL,
# MYSQL_URL) is not started at all. Usage: up.sh [redis|mongo|kafka|mariadb|redis-cache|redis-cluster]...
# (default: redis, mongo and kafka; MariaDB, which only the MySQL importer's tests need,
# redis-cache, a second Redis that evicts like a webook cache Redis, and redis-cluster, a local
# 3-master Redis Cluster, only when named)
source "$(dirname "$0")/lib.sh"

# start_redis_server NAME PORT ARGS... : a redis-server on loopback, its files in .local/NAME,
# unless something already answers on PORT.
start_redis_server() {
  local name="$1" port="$2"; shift 2
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null || apt_install redis-server redis-tools
  if redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; then
    log "$name: already up on $port"
    return 0
  fi
  mkdir -p "$LOCAL/$name"
  spawn "$name" redis-server --bind 127.0.0.1 --port "$port" --dir "$LOCAL/$name" --daemonize no "$@"
}

start_redis() {
  if [ -n "${REDIS_URL:-}" ]; then log "redis: external ($REDIS_URL), not starting"; return 0; fi
  # AOF with fsync every second: a crash loses at most ~1 s of queue state, and the pipeline's
  # design survives even that. noeviction: BullMQ silently loses jobs under any eviction policy.
  start_redis_server redis "$REDIS_PORT" --appendonly yes --appendfsync everysec --maxmemory-policy noeviction --save ""
}

# A cache Redis as webook may run it: small, evicting least recently used keys, no persistence.
# Only the tests of a cache on its own Redis (CACHE_REDIS_URL) need it.
start_redis_cache() {
  if [ -n "${CACHE_REDIS_URL:-}" ]; then log "redis-cache: external ($CACHE_REDIS_URL), not starting"; return 0; fi
  start_redis_server redis-cache "$REDIS_CACHE_PORT" --appendonly no --save "" --maxmemory 16mb --maxmemory-policy allkeys-lru
}

# A Redis Cluster of three masters (no replicas) on loopback, for the tests that run the queue and
# the cache on a cluster. Each node persists like the queue's Redis (AOF everysec, noeviction).
start_redis_cluster() {
  local port nodes=()
  for port in $(redis_cluster_ports); do
    nodes+=("127.0.0.1:$port")
    start_redis_server "redis-cluster-$port" "$port" --cluster-enabled yes --cluster-config-file nodes.conf \
      --cluster-node-timeout 5000 --appendonly yes --appendfsync everysec --maxmemory-policy noeviction --save ""
  done
  for port in $(redis_cluster_ports); do
    for _ in $(seq 1 100); do redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
  done
  if ! redis-cli -p "$REDIS_CLUSTER_PORT" cluster info 2>/dev/null | grep -q "cluster_state:ok"; then
    if [ "$(redis-cli -p "$REDIS_CLUSTER_PORT" cluster info 2>/dev/null | sed -n 's/^cluster_known_nodes:\([0-9]*\).*/\1/p')" = 1 ]; then
      log "redis-cluster: creating the cluster of ${nodes[*]}"
      redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >>"$LOGS/redis-cluster.log" 2>&1
    fi
  fi
}

start_kafka() {
  if [ -n "${KAFKA_BROKERS:-}" ]; then log "kafka: external ($KAFKA_BROKERS), not starting"; return 0; fi
  if pid_alive kafka; then log "kafka: already running"; return 0; fi
  command -v java >/dev/null || apt_install openjdk-17-jre-headless
  maven_runtime "$LOCAL/lib/kafka" "$ROOT/scripts/services/kafka/pom.xml"
  local dir="$LOCAL/kafka" conf="$LOCAL/kafka/server.properties"
  mkdir -p "$dir/data"
  sed -e "s|@PORT@|$KAFKA_PORT|g" -e "s|@CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" -e "s|@DATA@|$dir/data|g" \
    "$ROOT/scripts/services/kafka/server.properties.template" >"$conf"
  local java_opts=(-Xms256m -Xmx512m -XX:+UseG1GC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true
    "-Dlog4j2.configurationFile=$ROOT/scripts/services/kafka/log4j2.properties")
  if [ ! -f "$dir/data/meta.properties" ]; then
    log "kafka: formatting storage"
    java "${java_opts[@]}" -cp "$LOCAL/lib/kafka/*" kafka.tools.StorageTool format \
      -t "$(java -cp "$LOCAL/lib/kafka/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n1)" \
      -c "$conf" --ignore-formatted >>"$LOGS/kafka.log" 2>&1
  fi
  spawn kafka java "${java_opts[@]}" -cp "$LOCAL/lib/kafka/*" kafka.Kafka "$conf"
}

start_mongo() {
  if [ -n "${MONGO_URL:-}" ]; then log "mongo: external ($MONGO_URL), not starting"; return 0; fi
  if pid_alive mongo; then log "mongo: already running"; return 0; fi
  command -v javac >/dev/null || apt_install openjdk-17-jdk-headless
  maven_runtime "$LOCAL/lib/mongo" "$ROOT/scripts/services/mongo/pom.xml"
  local src="$ROOT/scripts/services/mongo" classes="$LOCAL/lib/mongo-classes"
  if [ ! -f "$classes/MongoServerMain.class" ] || [ -n "$(find "$src" -name '*.java' -newer "$classes/MongoServerMain.class")" ]; then
    mkdir -p "$classes"
    javac -d "$classes" -cp "$LOCAL/lib/mongo/*" "$src"/*.java
  fi
  mkdir -p "$LOCAL/mongo"
  spawn mongo java -Xms128m -Xmx2g -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
    -cp "$LOCAL/lib/mongo/*:$classes" MongoServerMain 127.0.0.1 "$MONGO_PORT" "$LOCAL/mongo/typed.mv"
}

# MariaDB stands in for the Go service's MySQL in the importer's tests: Debian's server with its
# own data directory and socket under .local/, on loopback, with a user test/test over TCP.
mariadbd_bin() { command -v mariadbd || echo /usr/sbin/mariadbd; } # /usr/sbin is not on every PATH

start_mariadb() {
  if [ -n "${MYSQL_URL:-}" ]; then log "mariadb: external (MYSQL_URL), not starting"; return 0; fi
  if pid_alive mariadb; then log "mariadb: already running"; return 0; fi
  [ -x "$(mariadbd_bin)" ] && command -v mariadb-install-db >/dev/null && command -v mariadb >/dev/null ||
    apt_install mariadb-server mariadb-client
  # Debian's own mariadb service (its install starts it on systemd machines) listens on 3306 too.
  if (exec 3<>"/dev/tcp/127.0.0.1/$MARIADB_PORT") 2>/dev/null; then
    die "mariadb: 127.0.0.1:$MARIADB_PORT is taken by a server this script did not start (Debian's mariadb service? 'systemctl disable --now mariadb'); set LOCAL_MARIADB_PORT to a free port, or MYSQL_URL to use that server"
  fi
  local dir="$LOCAL/mariadb" as_user=()
  # mariadbd refuses to run as root unless told to.
  [ "$(id -u)" = 0 ] && as_user=(--user=root)
  mkdir -p "$dir" "$(dirname "$MARIADB_SOCK")"
  if [ ! -d "$dir/data/mysql" ]; then
    log "mariadb: initialising $dir/data"
    rm -rf "$dir/data"
    # normal: root@localhost logs in over the socket without a password, whatever the OS user.
    # --force: do not stop when this host's name does not resolve (common in containers).
    mariadb-install-db --no-defaults --datadir="$dir/data" --auth-root-authentication-method=normal \
      --skip-name-resolve --force "${as_user[@]}" >>"$LOGS/mariadb.log" 2>&1 ||
      { rm -rf "$dir/data"; die "mariadb-install-db failed; see $LOGS/mariadb.log"; }
  fi
  spawn mariadb "$(mariadbd_bin)" --no-defaults --datadir="$dir/data" --socket="$MARIADB_SOCK" \
    --port="$MARIADB_PORT" --bind-address=127.0.0.1 --skip-name-resolve --pid-file="$dir/mariadbd.pid" \
    "${as_user[@]}"
}

# Waits for the socket, creates the test user (once; repeating it changes nothing), then checks
# that the user logs in over TCP, as the tests will.
ready_mariadb() {
  local i
  for i in $(seq 1 600); do
    mariadb-admin --no-defaults --socket="$MARIADB_SOCK" -uroot ping >/dev/null 2>&1 && break
    pid_alive mariadb || { log "mariadb exited; see $LOGS/mariadb.log"; return 1; }
    sleep 0.1
  done
  mariadb --no-defaults --socket="$MARIADB_SOCK" -uroot -e \
    "CREATE USER IF NOT EXISTS 'test'@'127.0.0.1' IDENTIFIED BY 'test';
     GRANT ALL PRIVILEGES ON *.* TO 'test'@'127.0.0.1';" >>"$LOGS/mariadb.log" 2>&1 ||
    { log "mariadb: could not create the test user; see $LOGS/mariadb.log"; return 1; }
  probe mysql "mysql://test:test@127.0.0.1:$MARIADB_PORT/" 30
}

wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=(redis mongo kafka)
want() { local w; for w in "${wanted[@]}"; do [ "$w" = "$1" ] && return 0; done; return 1; }

started=$(date +%s.%N)
ensure_node_deps
want redis && start_redis
want mongo && start_mongo
want kafka && start_kafka
want mariadb && start_mariadb
want redis-cache && start_redis_cache
want redis-cluster && start_redis_cluster

fail=0
if want redis && [ -z "${REDIS_URL:-}" ]; then
  for _ in $(seq 1 100); do redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
  redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG || { log "redis did not answer; see $LOGS/redis.log"; fail=1; }
  # Whoever started it, the queue needs noeviction.
  redis-cli -p "$REDIS_PORT" config set maxmemory-policy noeviction >/dev/null 2>&1 || true
fi
if want redis-cache && [ -z "${CACHE_REDIS_URL:-}" ]; then
  for _ in $(seq 1 100); do redis-cli -p "$REDIS_CACHE_PORT" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
  redis-cli -p "$REDIS_CACHE_PORT" ping 2>/dev/null | grep -q PONG || { log "redis-cache did not answer; see $LOGS/redis-cache.log"; fail=1; }
fi
if want redis-cluster; then
  for _ in $(seq 1 100); do
    redis-cli -p "$REDIS_CLUSTER_PORT" cluster info 2>/dev/null | grep -q "cluster_state:ok" && break
    sleep 0.1
  done
  redis-cli -p "$REDIS_CLUSTER_PORT" cluster info 2>/dev/null | grep -q "cluster_state:ok" ||
    { log "redis-cluster is not ok; see $LOGS/redis-cluster*.log"; fail=1; }
fi
if want mongo && [ -z "${MONGO_URL:-}" ]; then
  probe mongo "mongodb://127.0.0.1:$MONGO_PORT/?directConnection=true" 60 || { log "see $LOGS/mongo.log"; fail=1; }
fi
if want kafka && [ -z "${KAFKA_BROKERS:-}" ]; then
  probe kafka "127.0.0.1:$KAFKA_PORT" 90 || { log "see $LOGS/kafka.log"; fail=1; }
fi
if want mariadb && [ -z "${MYSQL_URL:-}" ]; then
  ready_mariadb || { log "see $LOGS/mariadb.log"; fail=1; }
fi
[ "$fail" = 0 ] || die "some services did not start"
log "all services answer ($(awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $started}") s)"
