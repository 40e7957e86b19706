#!/usr/bin/env bash
# A real single-node Apache Kafka 3.9.x broker (KRaft, combined broker+controller) for tests and
# local runs, from Maven Central jars and the machine's Java 17: no Docker, no Kafka package.
#
#   scripts/kafka-broker.sh start|stop|status|wait|restart
#
# Needs: java 17+ and mvn on PATH; Maven Central reachable on the first start (jars are then
# cached in <repo>/.cache/kafka/libs, the Maven repo in <repo>/.cache/m2).
#
# Environment:
#   KAFKA_PORT             client (PLAINTEXT) port, default 9092; everything binds to 127.0.0.1
#   KAFKA_CONTROLLER_PORT  KRaft controller port, default KAFKA_PORT+1
#   KAFKA_RUN_DIR          data + logs + pid, default <repo>/.cache/kafka/run-<port>
#   KAFKA_HEAP             JVM heap (-Xms = -Xmx), default 512m
#   KAFKA_FRESH=1          start: stop this run dir's broker if running, wipe its data, start empty
#   KAFKA_START_TIMEOUT    seconds start/wait allow the broker to come up, default 90
#   KAFKA_JVM_PROFILE      fast (default: C1 only + SerialGC, quickest start, for tests)
#                          | server (kafka-run-class.sh's G1/C2 flags: for benchmarks)
#   KAFKA_CDS              1 (default): AppCDS archive in .cache/kafka, dumped on the first clean
#                          stop, mapped by later starts (~1 s faster); 0: off
#   KAFKA_JVM_OPTS         extra JVM options, appended last
#   KAFKA_MAVEN_REPO       Maven local repo for the one-time fetch, default <repo>/.cache/m2
#
# Data persists across stop/start (it is a broker, not a throwaway) unless KAFKA_FRESH=1.
# Logs: <run dir>/logs/server.log (INFO), <run dir>/logs/broker.out (stdout/stderr, WARN+).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$SCRIPT_DIR/.." && pwd)"
KAFKA_CONF_DIR="$SCRIPT_DIR/kafka"           # pom.xml, log4j.properties, tools-log4j.properties
CACHE_DIR="$REPO_DIR/.cache/kafka"
LIBS_DIR="$CACHE_DIR/libs"
MAVEN_REPO="${KAFKA_MAVEN_REPO:-$REPO_DIR/.cache/m2}"

HOST=127.0.0.1
PORT="${KAFKA_PORT:-9092}"
[[ "$PORT" =~ ^[0-9]+$ ]] || { echo "kafka-broker: KAFKA_PORT must be a number, got '$PORT'" >&2; exit 2; }
CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((PORT + 1))}"
[[ "$CONTROLLER_PORT" =~ ^[0-9]+$ ]] || { echo "kafka-broker: KAFKA_CONTROLLER_PORT must be a number" >&2; exit 2; }
[[ "$CONTROLLER_PORT" != "$PORT" ]] || { echo "kafka-broker: KAFKA_CONTROLLER_PORT must differ from KAFKA_PORT" >&2; exit 2; }
RUN_DIR="${KAFKA_RUN_DIR:-$CACHE_DIR/run-$PORT}"
HEAP="${KAFKA_HEAP:-512m}"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
JVM_PROFILE="${KAFKA_JVM_PROFILE:-fast}"
# any 22-char base64url UUID; fixed so a run dir is always formatted with the same id
CLUSTER_ID="${KAFKA_CLUSTER_ID:-c2NhbGVsaXRlLWVzLWtmaw}"   # base64url("scalelite-es-kfk")

DATA_DIR="$RUN_DIR/data"
LOG_DIR="$RUN_DIR/logs"
OUT_FILE="$LOG_DIR/broker.out"
PID_FILE="$RUN_DIR/broker.pid"
PROPS_FILE="$RUN_DIR/server.properties"
CDS_ARCHIVE=""                                # AppCDS archive, set by jvm_opts

say() { echo "kafka-broker: $*"; }
err() { echo "kafka-broker: $*" >&2; }

# ---------------------------------------------------------------------------------------------
# jars

# Fetch the broker classpath once. The stamp holds the pom's hash, so editing the pom (e.g. a
# version bump) refetches; a half-finished fetch never leaves a stamp.
fetch_libs() {
  local stamp="$LIBS_DIR/.complete" want
  want="$(sha256sum "$KAFKA_CONF_DIR/pom.xml" | cut -d' ' -f1)"
  [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] && return 0

  command -v mvn >/dev/null || { err "mvn not found on PATH (needed once, to fetch the Kafka jars)"; exit 1; }
  mkdir -p "$CACHE_DIR"
  exec 9>"$CACHE_DIR/.fetch.lock"
  flock 9                                   # two starts (different ports) may race on the fetch
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then exec 9>&-; return 0; fi

  say "fetching Kafka jars from Maven Central into ${LIBS_DIR#"$REPO_DIR"/} (one time) ..."
  rm -rf "$LIBS_DIR"
  if ! mvn -B -ntp -f "$KAFKA_CONF_DIR/pom.xml" -Dmaven.repo.local="$MAVEN_REPO" \
         -Dkafka.libs.dir="$LIBS_DIR" package >"$CACHE_DIR/mvn.log" 2>&1; then
    err "Maven failed to fetch the Kafka jars; last lines of $CACHE_DIR/mvn.log:"
    tail -n 40 "$CACHE_DIR/mvn.log" >&2
    exit 1
  fi
  compgen -G "$LIBS_DIR/kafka_2.13-*.jar" >/dev/null || { err "no kafka_2.13 jar in $LIBS_DIR after Maven ran"; exit 1; }
  rm -f "$CACHE_DIR"/cds-*.jsa*              # an AppCDS archive is only valid for the jars it was made from
  echo "$want" >"$stamp"
  exec 9>&-
}

# Explicit, sorted classpath (not 'libs/*'): the order must be stable for the AppCDS archive.
classpath() {
  local IFS=: LC_ALL=C jars
  jars=("$LIBS_DIR"/*.jar)
  echo "${jars[*]}"
}

# ---------------------------------------------------------------------------------------------
# probes

# TCP connect only.
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null; }

# A Kafka-level readiness probe: send ApiVersions v0 (correlation id 1, empty client id) and expect
# a response with correlation id 1 and error code 0. During startup the port may already accept
# TCP connections (listen backlog) while requests are not yet processed; this only passes once the
# broker serves requests.
kafka_answers() {
  timeout 3 bash -c '
    exec 3<>"/dev/tcp/$0/$1" || exit 1
    printf "\x00\x00\x00\x0a\x00\x12\x00\x00\x00\x00\x00\x01\x00\x00" >&3
    r="$(head -c 10 <&3 | od -An -tx1 | tr -d " \n")"
    [[ "${r:8:12}" == 000000010000 ]]
  ' "$HOST" "$PORT" 2>/dev/null
}

# Is $1 a live (not zombie) process?
alive() {
  local pid="$1" stat
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
  stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  [[ "${stat:0:1}" != Z ]]
}

# Is $1 the broker of this run dir?
is_our_broker() {
  alive "$1" || return 1
  local cmd
  cmd="$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null)" || return 1
  [[ "$cmd" == *" kafka.Kafka $PROPS_FILE"* ]]
}

# The pid of this run dir's broker, or nothing. Falls back to scanning /proc if the pid file is gone.
our_pid() {
  local pid=""
  [[ -f "$PID_FILE" ]] && pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  if [[ -n "$pid" ]] && is_our_broker "$pid"; then echo "$pid"; return 0; fi
  local d
  for d in /proc/[0-9]*; do
    pid="${d#/proc/}"
    grep -qsF "$PROPS_FILE" "$d/cmdline" 2>/dev/null && is_our_broker "$pid" && { echo "$pid"; return 0; }
  done
  return 0
}

show_logs() {
  if [[ -s "$OUT_FILE" ]]; then
    err "---- last lines of $OUT_FILE ----"
    tail -n 30 "$OUT_FILE" >&2
  fi
  if [[ -s "$LOG_DIR/server.log" ]]; then
    err "---- last lines of $LOG_DIR/server.log ----"
    tail -n 40 "$LOG_DIR/server.log" >&2
  fi
}

# Wait until the broker answers on the port. With a pid ($1), also require its "Kafka Server
# started" line in this start's broker.out, and fail fast if the process dies.
wait_up() {
  local pid="${1:-}" deadline=$((SECONDS + START_TIMEOUT))
  while :; do
    if [[ -n "$pid" ]]; then
      if ! alive "$pid"; then
        err "broker (pid $pid) exited during startup"
        show_logs; return 1
      fi
      if grep -qs 'Kafka Server started' "$OUT_FILE" && kafka_answers; then return 0; fi
    elif kafka_answers; then
      return 0
    fi
    if ((SECONDS >= deadline)); then
      err "kafka not up on $HOST:$PORT within ${START_TIMEOUT}s"
      [[ -n "$pid" ]] && show_logs
      return 1
    fi
    sleep 0.2
  done
}

# ---------------------------------------------------------------------------------------------
# config

write_server_properties() {
  cat >"$PROPS_FILE.tmp" <<EOF
# generated by scripts/kafka-broker.sh; rewritten on every start
# ---- KRaft: one process = broker + controller, static quorum ----
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT

# data and the KRaft metadata log
log.dirs=$DATA_DIR

# ---- single node ----
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1

# ---- fast, deterministic tests ----
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
delete.topic.enable=true

# ---- event-store semantics: never expire by time or size unless a topic overrides ----
log.retention.ms=-1
log.retention.bytes=-1

# ---- small box ----
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
background.threads=4
log.cleaner.threads=1
log.cleaner.dedupe.buffer.size=33554432
log.cleaner.backoff.ms=1000
EOF
  mv "$PROPS_FILE.tmp" "$PROPS_FILE"
}

format_storage() {
  [[ -f "$DATA_DIR/meta.properties" ]] && return 0
  local out
  if ! out="$(java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto \
        -Dlog4j.configuration="file:$KAFKA_CONF_DIR/tools-log4j.properties" \
        -cp "$(classpath)" kafka.tools.StorageTool format --ignore-formatted \
        -t "$CLUSTER_ID" -c "$PROPS_FILE" 2>&1)"; then
    err "formatting $DATA_DIR failed:"
    echo "$out" >&2
    exit 1
  fi
}

jvm_opts() {
  JVM_OPTS=(-Xms"$HEAP" -Xmx"$HEAP" -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true
            -Dlog4j.configuration="file:$KAFKA_CONF_DIR/log4j.properties"
            -Dkafka.logs.dir="$LOG_DIR")
  case "$JVM_PROFILE" in
    fast)
      # Quick start for tests: C1 only and the serial collector cut startup CPU on a small box.
      JVM_OPTS+=(-XX:TieredStopAtLevel=1 -XX:+UseSerialGC)
      ;;
    server)
      # kafka-run-class.sh's defaults (for benchmarks)
      JVM_OPTS+=(-server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
                 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15)
      ;;
    *) err "KAFKA_JVM_PROFILE must be 'fast' or 'server', got '$JVM_PROFILE'"; exit 2 ;;
  esac
  # Application class-data sharing, as the official image's docker/jvm/jsa_launch does: the first
  # broker that stops cleanly dumps an archive of the classes it loaded (cmd_stop publishes it);
  # later starts map it instead of loading and verifying ~3000 classes from the jars. It only
  # changes class loading, not the running broker; a stale/mismatched archive is ignored by the
  # JVM (-Xshare:auto). KAFKA_CDS=0 disables it.
  if [[ "${KAFKA_CDS:-1}" == 1 ]]; then
    # one archive per JVM build (a JDK update invalidates it) and profile; all run dirs share it
    local java_bin jvm_id
    java_bin="$(readlink -f "$(command -v java)")"
    jvm_id="$(stat -c '%n %s %Y' "$java_bin" "$(dirname "$java_bin")"/../lib/server/libjvm.so 2>/dev/null | sha256sum | cut -c1-10)"
    CDS_ARCHIVE="$CACHE_DIR/cds-$JVM_PROFILE-$jvm_id.jsa"
    if [[ -s "$CDS_ARCHIVE" ]]; then
      JVM_OPTS+=(-XX:SharedArchiveFile="$CDS_ARCHIVE" -Xshare:auto)
    else
      JVM_OPTS+=(-XX:ArchiveClassesAtExit="$CDS_ARCHIVE.tmp-$PORT")
    fi
    JVM_OPTS+=(-Xlog:cds=off -Xlog:cds+dynamic=off)
  fi
  if [[ -n "${KAFKA_JVM_OPTS:-}" ]]; then
    local extra
    read -r -a extra <<<"$KAFKA_JVM_OPTS"
    JVM_OPTS+=("${extra[@]}")
  fi
}

# ---------------------------------------------------------------------------------------------
# commands

cmd_start() {
  local pid
  # one start at a time per run dir: a second concurrent start waits, then finds the broker up
  mkdir -p "$RUN_DIR"
  exec 8>"$RUN_DIR/.start.lock"
  flock 8
  pid="$(our_pid)"
  if [[ "${KAFKA_FRESH:-0}" == 1 && -n "$pid" ]]; then
    say "KAFKA_FRESH=1: stopping the running broker (pid $pid) first"
    cmd_stop
    pid=""
  fi
  if [[ -n "$pid" ]]; then
    if ! kafka_answers; then
      say "broker of $RUN_DIR (pid $pid) is starting; waiting ..."
      wait_up "$pid" || exit 1
    fi
    say "kafka already up on $HOST:$PORT (pid $pid)"
    return 0
  fi
  if port_open "$PORT"; then
    if [[ "${KAFKA_FRESH:-0}" == 1 ]]; then
      err "KAFKA_FRESH=1 but $HOST:$PORT is held by a process that is not this run dir's broker; not wiping anything"
      exit 1
    fi
    if kafka_answers; then
      say "a Kafka broker is already listening on $HOST:$PORT; not starting another"
      return 0
    fi
    say "$HOST:$PORT is already in use; waiting for it to answer as a Kafka broker ..."
    wait_up || { err "$HOST:$PORT is in use by something that is not a ready Kafka broker"; exit 1; }
    say "a Kafka broker is already listening on $HOST:$PORT; not starting another"
    return 0
  fi
  if port_open "$CONTROLLER_PORT"; then
    err "controller port $HOST:$CONTROLLER_PORT is already in use (set KAFKA_CONTROLLER_PORT)"
    exit 1
  fi

  command -v java >/dev/null || { err "java not found on PATH (Java 17+ needed)"; exit 1; }
  fetch_libs

  if [[ "${KAFKA_FRESH:-0}" == 1 ]]; then
    say "KAFKA_FRESH=1: wiping $RUN_DIR"
    rm -rf "$DATA_DIR" "$LOG_DIR" "$PROPS_FILE" "$PID_FILE"
  fi
  mkdir -p "$DATA_DIR" "$LOG_DIR"
  write_server_properties
  format_storage

  [[ -f "$OUT_FILE" ]] && mv -f "$OUT_FILE" "$OUT_FILE.prev"
  local JVM_OPTS
  jvm_opts
  # setsid: the broker gets its own session, so a Ctrl-C / process-group kill aimed at the caller
  # does not take it down; 'stop' does that. (The background child is not a group leader, so
  # setsid execs in place and $! is the JVM's pid.) fd 8 (the start lock) must not leak into it.
  (exec 8>&- && cd "$RUN_DIR" && exec setsid java "${JVM_OPTS[@]}" -cp "$(classpath)" kafka.Kafka "$PROPS_FILE") \
    >"$OUT_FILE" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$PID_FILE"

  if ! wait_up "$pid"; then
    err "giving up; stopping it"
    cmd_stop >/dev/null 2>&1 || true
    exit 1
  fi
  echo "kafka up on $HOST:$PORT"
}

cmd_stop() {
  local pid i killed=0 cmd dump=""
  pid="$(our_pid)"
  if [[ -z "$pid" ]]; then
    rm -f "$PID_FILE"
    say "not running (run dir $RUN_DIR)"
    return 0
  fi
  # the AppCDS archive this JVM dumps at exit, if any (see jvm_opts)
  cmd="$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null || true)"
  dump="$(sed -n 's/^-XX:ArchiveClassesAtExit=//p' <<<"$cmd" | head -n 1)"

  kill -TERM "$pid" 2>/dev/null || true      # controlled shutdown via Kafka's shutdown hook
  for ((i = 0; i < 150; i++)); do alive "$pid" || break; sleep 0.2; done
  if alive "$pid"; then
    err "broker (pid $pid) still running 30s after SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    killed=1
    for ((i = 0; i < 50; i++)); do alive "$pid" || break; sleep 0.1; done
  fi
  rm -f "$PID_FILE"
  # publish the archive of a clean exit, once; never one a SIGKILL may have cut short
  if [[ -n "$dump" && -e "$dump" ]]; then
    local final="${dump%.tmp-*}"
    if [[ $killed == 0 && -s "$dump" && ! -s "$final" ]]; then mv -f "$dump" "$final"; else rm -f "$dump"; fi
  fi
  say "stopped (pid $pid)"
}

cmd_status() {
  local pid
  pid="$(our_pid)"
  if kafka_answers; then
    echo "kafka up on $HOST:$PORT${pid:+ (pid $pid, run dir $RUN_DIR)}"
    return 0
  fi
  if [[ -n "$pid" ]]; then
    echo "kafka not up on $HOST:$PORT (pid $pid running: starting or stuck; see $LOG_DIR)"
  else
    echo "kafka not up on $HOST:$PORT"
  fi
  return 1
}

cmd_wait() {
  local pid
  pid="$(our_pid)"
  wait_up "$pid" || exit 1
  echo "kafka up on $HOST:$PORT"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  wait) cmd_wait ;;
  restart) cmd_stop; cmd_start ;;
  *) echo "usage: $0 start|stop|status|wait|restart   (env: KAFKA_PORT, KAFKA_CONTROLLER_PORT, KAFKA_RUN_DIR, KAFKA_HEAP, KAFKA_FRESH=1)" >&2
     exit 2 ;;
esac
