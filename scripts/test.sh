#!/usr/bin/env bash
# The test command (`npm test`): builds, makes sure the services the integration tests need are
# running (Kafka from the cached jars, Redis and PostgreSQL from Debian's packages) and that
# promtool, prometheus and nginx are installed (Debian's packages; the tests run their own servers), then
# runs every jest project. Each run isolates its data: its own Kafka topics, Redis key prefix and
# PostgreSQL databases, named after TEST_RUN_ID.
#
# Environment: TEST_KAFKA_PORT (default 9092), TEST_REDIS_URL (default redis://127.0.0.1:6379),
# TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/test), KEEP_KAFKA=1 leaves a broker this
# script started running; TEST_S3_PORT (default 8333) for S3Proxy (scripts/s3proxy.sh, the bucket
# the recordings tests also run on; each run makes its own buckets), KEEP_S3PROXY=1 leaves it
# running. Arguments are passed to jest (e.g. `npm test -- test/unit`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { echo "test: $*" >&2; }

export TEST_RUN_ID="${TEST_RUN_ID:-$(date +%s)-$$}"
export TEST_KAFKA_PORT="${TEST_KAFKA_PORT:-9092}"
export TEST_KAFKA_BROKERS="127.0.0.1:${TEST_KAFKA_PORT}"
export TEST_REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:6379}"
export TEST_PG_URL="${TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/test}"
export TEST_S3_PORT="${TEST_S3_PORT:-8333}"
export TEST_S3_ENDPOINT="http://127.0.0.1:${TEST_S3_PORT}"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi; }

ensure_redis() {
  local hostport="${TEST_REDIS_URL#redis://}"; hostport="${hostport%%/*}"; hostport="${hostport##*@}"
  local host="${hostport%%:*}" port="${hostport##*:}"
  if redis-cli -h "$host" -p "$port" ping >/dev/null 2>&1; then return; fi
  command -v redis-server >/dev/null || { say "installing redis-server (Debian package)"; as_root apt-get install -y -q redis-server >/dev/null; }
  say "starting redis on $host:$port"
  mkdir -p .cache/redis
  redis-server --daemonize yes --bind "$host" --port "$port" --save "" --appendonly no --dir "$PWD/.cache/redis" --logfile "$PWD/.cache/redis/redis.log"
  for _ in $(seq 1 50); do redis-cli -h "$host" -p "$port" ping >/dev/null 2>&1 && return; sleep 0.1; done
  say "redis did not start"; exit 1
}

ensure_postgres() {
  if pg_isready -q -d "$TEST_PG_URL" 2>/dev/null; then return; fi
  if ! command -v pg_ctlcluster >/dev/null; then say "installing postgresql (Debian package)"; as_root apt-get install -y -q postgresql >/dev/null; fi
  local version; version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)"
  [ -n "$version" ] || { say "no PostgreSQL cluster found under /etc/postgresql"; exit 1; }
  say "starting postgresql $version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 1 50); do pg_isready -q -d "$TEST_PG_URL" && return; sleep 0.2; done
  say "postgresql did not start"; exit 1
}

# promtool and a prometheus binary for test/integration/prometheus.test.ts, which starts its own
# server (temp config, data dir and port): the package's service is not used (where its postinst
# starts it, it listens on :9090 and is left alone).
ensure_prometheus() {
  if command -v promtool >/dev/null && command -v prometheus >/dev/null; then return; fi
  say "installing prometheus (Debian package: promtool and the server the monitoring tests run)"
  local install=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus)
  as_root "${install[@]}" >/dev/null 2>&1 || { as_root apt-get update -q >/dev/null && as_root "${install[@]}" >/dev/null; }
  command -v promtool >/dev/null || { say "promtool is still missing after installing prometheus"; exit 1; }
}

ensure_systemd_analyze() {
  if command -v systemd-analyze >/dev/null; then return; fi
  say "installing systemd (Debian package: systemd-analyze verifies deploy/systemd)"
  local install=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends systemd)
  as_root "${install[@]}" >/dev/null 2>&1 || { as_root apt-get update -q >/dev/null && as_root "${install[@]}" >/dev/null; }
  command -v systemd-analyze >/dev/null || { say "systemd-analyze is still missing after installing systemd"; exit 1; }
}

# nginx for test/integration/nginx.test.ts, which runs deploy/nginx with its own prefix and
# ports. The package's service is not started: where no policy-rc.d says so already, one is put in
# place for the install (a started nginx would take port 80, and its postinst fails where 80 is taken).
ensure_nginx() {
  if [ -x /usr/sbin/nginx ] || command -v nginx >/dev/null; then return; fi
  say "installing nginx (Debian package: the tests run deploy/nginx in front of a balancer)"
  local policy=/usr/sbin/policy-rc.d placed=0 ok=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null && as_root chmod 755 "$policy" && placed=1; fi
  local install=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nginx)
  if as_root "${install[@]}" >/dev/null 2>&1 || { as_root apt-get update -q >/dev/null && as_root "${install[@]}" >/dev/null; }; then ok=1; fi
  [ "$placed" = 0 ] || as_root rm -f "$policy"
  [ "$ok" = 1 ] && { [ -x /usr/sbin/nginx ] || command -v nginx >/dev/null; } || { say "nginx is still missing after installing Debian's nginx package"; exit 1; }
}

started_kafka=0
ensure_kafka() {
  if KAFKA_PORT="$TEST_KAFKA_PORT" scripts/kafka-broker.sh status >/dev/null 2>&1; then return; fi
  KAFKA_PORT="$TEST_KAFKA_PORT" scripts/kafka-broker.sh start >&2
  started_kafka=1
}
stop_kafka() {
  if [ "$started_kafka" = 1 ] && [ "${KEEP_KAFKA:-0}" != 1 ]; then KAFKA_PORT="$TEST_KAFKA_PORT" scripts/kafka-broker.sh stop >&2 || true; fi
}
started_s3proxy=0
ensure_s3proxy() {
  if S3PROXY_PORT="$TEST_S3_PORT" scripts/s3proxy.sh status >/dev/null 2>&1; then return; fi
  S3PROXY_PORT="$TEST_S3_PORT" scripts/s3proxy.sh start >&2
  started_s3proxy=1
}
stop_s3proxy() {
  if [ "$started_s3proxy" = 1 ] && [ "${KEEP_S3PROXY:-0}" != 1 ]; then S3PROXY_PORT="$TEST_S3_PORT" scripts/s3proxy.sh stop >&2 || true; fi
}
trap 'stop_kafka; stop_s3proxy' EXIT

say "building"
npx tsc -p tsconfig.json && node scripts/cli-manifest.js
npx tsc -p tsconfig.test.json
# The whole run (no jest arguments) also holds the code to the linter and the formatter.
if [ $# -eq 0 ]; then
  say "lint and format check"
  npx eslint . && npx prettier --check . >/dev/null
fi

ensure_redis
ensure_postgres
ensure_kafka
ensure_s3proxy
ensure_prometheus
ensure_systemd_analyze
ensure_nginx

# PGlite loads Node built-ins with import(): jest's VM needs the flag for that.
export NODE_OPTIONS="${NODE_OPTIONS:-} --experimental-vm-modules --disable-warning=ExperimentalWarning"
say "run $TEST_RUN_ID: kafka $TEST_KAFKA_BROKERS, redis $TEST_REDIS_URL, postgres $TEST_PG_URL, s3 $TEST_S3_ENDPOINT"
npx jest --ci --maxWorkers=2 "$@"
