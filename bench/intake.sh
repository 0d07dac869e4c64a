#!/usr/bin/env bash
# Intake benchmark of appeal-gateway (a benchmark, not a test).
#
# Builds the release binary, starts a private redis-server and the gateway on
# free loopback ports (INSTANCES>1: that many gateways behind a private HAProxy,
# round robin, as deploy/haproxy.cfg balances them), posts realistic appeals with wrk (bench/appeal.lua,
# body bench/appeal.json) for DURATION seconds at CONNECTIONS connections,
# waits for the outbox to drain, checks that XLEN appeals.v1 equals the number
# of accepted appeals exactly, then measures raw XADD throughput of the same
# Redis with redis-benchmark for an entry of the stored appeal's size, and
# prints a summary. Only loopback addresses are used; everything it starts is
# stopped on exit.
#
# Environment (all optional):
#   INSTANCES=1        gateways; more than 1 puts them behind HAProxy
#   DURATION=20        seconds of posting
#   CONNECTIONS=64     wrk connections (also redis-benchmark clients)
#   THREADS=2          wrk threads
#   GRACE=3            seconds after DURATION for in-flight requests to answer
#   RAW_REQUESTS=100000  XADDs sent by redis-benchmark
#   DRAIN_TIMEOUT=300  seconds to wait for the outbox to drain
#   KEEP_TMP=1         keep the temp dir (logs, outbox, stored sample)
#   SKIP_BUILD=1       use the existing target/release/appeal-gateway
#   BENCH_BIN=PATH     run this binary instead (no build)
#
#   HEALTH_DURATION=5  seconds of GET /healthz before the appeals (same wrk settings),
#                      the ceiling of the HTTP stack on this machine in this run
#   PROFILE=FILE       record the first gateway with `perf record -g` while wrk posts
#                      (perf report -i FILE); costs CPU, so its run's figures are not kept
#   RAW_REQUESTS=0     skips the redis-benchmark baselines (bench/ab.sh does)
#
#   PEER=1             then the FastAPI peer (../shared/peers/fastapi, or PEER_DIR): uvicorn
#                      with 2 workers on the same Redis (database 1), posted the same body
#                      with the same wrk settings; prints both rates, the ratio and the
#                      peer's CPU per appeal. Its venv is target/peer-venv, made and filled
#                      from PyPI on first use (fastapi, uvicorn[standard], redis, orjson,
#                      pydantic); the peer's code is not copied into this repository.
#
# CPU per appeal: utime+stime of every gateway (and of redis-server) from
# /proc/<pid>/stat, taken when wrk starts posting and again when the outbox has
# drained, divided by the accepted count: what one durable appeal costs, forwarding
# included, whatever else shares the machine. RSS: the gateways' VmRSS sampled every
# 0.5 s while wrk posts (peak and at the end) and VmHWM at the end.
#
# Exit status: 0 when the count matches, 1 on MISMATCH or any failure.
set -euo pipefail

INSTANCES=${INSTANCES:-1}
DURATION=${DURATION:-20}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
GRACE=${GRACE:-3}
HEALTH_DURATION=${HEALTH_DURATION:-5}
RAW_REQUESTS=${RAW_REQUESTS:-100000}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-300}
# The gateway refuses integrator tokens shorter than 16 characters.
TOKEN=bench-token-0123456789abcdef
STREAM=appeals.v1

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BIN=${BENCH_BIN:-$ROOT/target/release/appeal-gateway}
BODY=$ROOT/bench/appeal.json
LUA=$ROOT/bench/appeal.lua

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] error: %s\n' "$*" >&2; exit 1; }

for tool in cargo redis-server redis-cli redis-benchmark wrk curl jq awk; do
  command -v "$tool" >/dev/null 2>&1 || {
    case $tool in
      wrk) die "wrk not found: apt-get install -y wrk" ;;
      redis-*) die "$tool not found: apt-get install -y redis-server redis-tools" ;;
      *) die "$tool not found" ;;
    esac
  }
done
if (( INSTANCES > 1 )); then
  command -v haproxy >/dev/null 2>&1 || die "haproxy not found: apt-get install -y haproxy"
fi
[[ $INSTANCES =~ ^[1-9][0-9]*$ ]] || die "INSTANCES must be 1 or more"
[[ $CONNECTIONS -ge $THREADS ]] || die "CONNECTIONS ($CONNECTIONS) must be >= THREADS ($THREADS)"

PEER=${PEER:-}
if [[ -n $PEER ]]; then
  if [[ -z ${PEER_DIR:-} ]]; then
    for dir in "$ROOT/../shared/peers/fastapi" "$ROOT/../../shared/peers/fastapi"; do
      [[ -f $dir/app.py ]] && { PEER_DIR=$(cd "$dir" && pwd); break; }
    done
  fi
  [[ -f ${PEER_DIR:-}/app.py ]] || die "the FastAPI peer is not found: set PEER_DIR to the folder of its app.py"
  command -v python3 >/dev/null 2>&1 || die "python3 not found: apt-get install -y python3 python3-venv"
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/appeal-bench.XXXXXX")
REDIS_PID=""
GATEWAY_PIDS=()
GATEWAY_BASES=()
HAPROXY_PID=""
WRK_PID=""
RB_PID=""
PERF_PID=""
SAMPLER_PID=""
PEER_PID=""

stop_pid() { # pid name
  local pid=$1
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && { log "$2 did not stop on TERM, killing"; kill -KILL "$pid" 2>/dev/null || true; }
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_pid "$RB_PID" redis-benchmark
  stop_pid "$SAMPLER_PID" rss-sampler
  [[ -n $PERF_PID ]] && { kill -INT "$PERF_PID" 2>/dev/null || true; wait "$PERF_PID" 2>/dev/null || true; }
  stop_pid "$WRK_PID" wrk
  stop_pid "$HAPROXY_PID" haproxy
  stop_pid "$PEER_PID" uvicorn
  for pid in "${GATEWAY_PIDS[@]}"; do stop_pid "$pid" appeal-gateway; done
  stop_pid "$REDIS_PID" redis-server
  if [[ $rc -ne 0 || -n ${KEEP_TMP:-} ]]; then
    log "kept $TMP (gateway-*.log, redis.log, wrk.txt, stored-appeal.json)"
  else
    rm -rf "$TMP"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A loopback port nobody listens on (picked at random, checked by connecting).
free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$(( 20000 + RANDOM % 40000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  die "no free loopback port found"
}

# ---------------------------------------------------------------------------
if [[ -z ${SKIP_BUILD:-} && -z ${BENCH_BIN:-} ]]; then
  log "cargo build --release"
  cargo build --release >&2 || die "cargo build --release failed"
fi
[[ -x $BIN ]] || die "$BIN not built"

# --- redis -------------------------------------------------------------------
RPORT=$(free_port)
redis-server --bind 127.0.0.1 --port "$RPORT" --dir "$TMP" \
  --save "" --appendonly no --daemonize no \
  --logfile "$TMP/redis.log" &
REDIS_PID=$!
rcli() { redis-cli -h 127.0.0.1 -p "$RPORT" "$@"; }
for _ in $(seq 1 100); do
  [[ $(rcli ping 2>/dev/null) == PONG ]] && break
  kill -0 "$REDIS_PID" 2>/dev/null || die "redis-server exited: $(tail -5 "$TMP/redis.log")"
  sleep 0.1
done
[[ $(rcli ping 2>/dev/null) == PONG ]] || die "redis-server on 127.0.0.1:$RPORT did not answer"
log "redis-server $(redis-server --version | awk '{print $3}') on 127.0.0.1:$RPORT (pid $REDIS_PID)"

# --- gateways ----------------------------------------------------------------
# Drop every GATEWAY_* of the caller's environment so the run is reproducible.
unset_args=()
while IFS= read -r name; do unset_args+=(-u "$name"); done < <(compgen -e | grep '^GATEWAY_' || true)
used_ports=" $RPORT "
for i in $(seq 1 "$INSTANCES"); do
  GPORT=$(free_port)
  while [[ $used_ports == *" $GPORT "* ]]; do GPORT=$(free_port); done
  used_ports+="$GPORT "
  base=http://127.0.0.1:$GPORT
  # Each instance its own outbox, one Redis, one secret.
  env "${unset_args[@]}" \
    GATEWAY_BIND="127.0.0.1:$GPORT" GATEWAY_METRICS_BIND=127.0.0.1:0 \
    REDIS_URL="redis://127.0.0.1:$RPORT" \
    GATEWAY_DATA_DIR="$TMP/data-$i" \
    GATEWAY_INSTANCE="gateway-$i" \
    GATEWAY_SUBJECT_KEY_SECRET=bench-secret-0123456789abcdef \
    GATEWAY_API_TOKENS="bench:$TOKEN" \
    GATEWAY_LOG=warn \
    "$BIN" serve >"$TMP/gateway-$i.log" 2>&1 &
  GATEWAY_PIDS+=($!)
  GATEWAY_BASES+=("$base")
  for _ in $(seq 1 300); do
    curl -fsS -o /dev/null "$base/healthz" 2>/dev/null && break
    kill -0 "${GATEWAY_PIDS[-1]}" 2>/dev/null || { cat "$TMP/gateway-$i.log" >&2; die "appeal-gateway $i exited before serving"; }
    sleep 0.1
  done
  curl -fsS -o /dev/null "$base/healthz" || { tail -20 "$TMP/gateway-$i.log" >&2; die "no 200 from $base/healthz"; }
  log "appeal-gateway $i on $base (pid ${GATEWAY_PIDS[-1]})"
done

if (( INSTANCES == 1 )); then
  BASE=${GATEWAY_BASES[0]}
else
  # --- haproxy: round robin, no stickiness, like deploy/haproxy.cfg ------------
  HPORT=$(free_port)
  while [[ $used_ports == *" $HPORT "* ]]; do HPORT=$(free_port); done
  {
    printf 'global\n    maxconn 4096\n\ndefaults\n    mode http\n    option forwardfor\n'
    printf '    timeout connect 3s\n    timeout client 60s\n    timeout server 60s\n\n'
    printf 'frontend gateway\n    bind 127.0.0.1:%s\n    default_backend gateways\n\n' "$HPORT"
    printf 'backend gateways\n    balance roundrobin\n'
    for i in $(seq 1 "$INSTANCES"); do
      printf '    server g%s %s\n' "$i" "${GATEWAY_BASES[$((i - 1))]#http://}"
    done
  } >"$TMP/haproxy.cfg"
  haproxy -db -f "$TMP/haproxy.cfg" >"$TMP/haproxy.log" 2>&1 &
  HAPROXY_PID=$!
  BASE=http://127.0.0.1:$HPORT
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "$BASE/healthz" 2>/dev/null && break
    kill -0 "$HAPROXY_PID" 2>/dev/null || { cat "$TMP/haproxy.log" >&2; die "haproxy exited"; }
    sleep 0.1
  done
  curl -fsS -o /dev/null "$BASE/healthz" || die "no 200 from haproxy on $BASE"
  log "haproxy $(haproxy -v | awk 'NR==1{print $3}') on $BASE over $INSTANCES gateways (pid $HAPROXY_PID)"
fi

post_appeal() { # prints "STATUS BODY"
  curl -sS -o "$TMP/smoke.json" -w '%{http_code}' -X POST "$BASE/api/v1/appeals" \
    -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -H 'Accept-Language: en' --data-binary "@$BODY"
}

# One appeal first: a payload the gateway refuses would make the run pointless.
status=$(post_appeal) || die "smoke POST failed"
if [[ $status != 202 ]]; then
  log "smoke POST answered $status:"
  cat "$TMP/smoke.json" >&2; echo >&2
  die "the benchmark appeal is not accepted"
fi
SMOKE_ACCEPTED=1
log "smoke POST: 202 $(cat "$TMP/smoke.json")"

# --- process accounting ------------------------------------------------------------
CLK_TCK=$(getconf CLK_TCK)
# utime+stime of a process in clock ticks (fields 14 and 15 after the command name).
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
gateways_ticks() {
  local sum=0 pid
  for pid in "${GATEWAY_PIDS[@]}"; do sum=$(( sum + $(cpu_ticks "$pid") )); done
  echo "$sum"
}
kib() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; } # pid VmRSS|VmHWM
gateways_kib() {
  local sum=0 pid
  for pid in "${GATEWAY_PIDS[@]}"; do sum=$(( sum + $(kib "$pid" "$1") )); done
  echo "$sum"
}

# --- /healthz: the HTTP stack's ceiling in this run ---------------------------------
HEALTH_RATE=0
if (( HEALTH_DURATION > 0 )); then
  log "wrk: GET /healthz, $CONNECTIONS connections, ${HEALTH_DURATION}s"
  wrk -t "$THREADS" -c "$CONNECTIONS" -d "${HEALTH_DURATION}s" --timeout 30s \
    "$BASE/healthz" >"$TMP/wrk-healthz.txt" 2>&1 || { cat "$TMP/wrk-healthz.txt" >&2; die "wrk /healthz failed"; }
  HEALTH_RATE=$(awk '/^Requests\/sec:/ {print $2}' "$TMP/wrk-healthz.txt")
  log "/healthz: $HEALTH_RATE req/s"
fi

# --- wrk -----------------------------------------------------------------------
GW_TICKS0=$(gateways_ticks)
REDIS_TICKS0=$(cpu_ticks "$REDIS_PID")
RSS_BEFORE=$(gateways_kib VmRSS)
# RSS, and the first instance's outbox depth: what only its disk holds under load.
( while :; do gateways_kib VmRSS; curl -s "${GATEWAY_BASES[0]}/readyz" | jq -r .outbox_depth >>"$TMP/depth.txt"; sleep 0.5; done ) >"$TMP/rss.txt" 2>/dev/null &
SAMPLER_PID=$!
if [[ -n ${PROFILE:-} ]]; then
  perf record -q -F 499 -g -o "$PROFILE" -p "${GATEWAY_PIDS[0]}" >"$TMP/perf.log" 2>&1 &
  PERF_PID=$!
fi
log "wrk: $CONNECTIONS connections, $THREADS threads, ${DURATION}s of POSTs + ${GRACE}s grace"
wrk -t "$THREADS" -c "$CONNECTIONS" -d "$(( DURATION + GRACE ))s" --timeout 30s --latency \
  -s "$LUA" "$BASE/api/v1/appeals" -- "$BODY" "$TOKEN" "$DURATION" \
  >"$TMP/wrk.txt" 2>&1 &
WRK_PID=$!
wait "$WRK_PID" || { cat "$TMP/wrk.txt" >&2; WRK_PID=""; die "wrk failed"; }
WRK_PID=""
if [[ -n $PERF_PID ]]; then
  kill -INT "$PERF_PID" 2>/dev/null || true
  wait "$PERF_PID" 2>/dev/null || true
  PERF_PID=""
  log "profile in $PROFILE (perf report -i $PROFILE --no-children)"
fi
stop_pid "$SAMPLER_PID" rss-sampler
SAMPLER_PID=""
RSS_LOAD_END=$(gateways_kib VmRSS)
RSS_PEAK=$(sort -n "$TMP/rss.txt" | tail -1)
echo
echo "=== wrk output (its Requests/sec counts the ${GRACE}s grace too; see accepted/s) ==="
grep -v '^@result' "$TMP/wrk.txt"

result=$(grep '^@result' "$TMP/wrk.txt") || die "no @result line from bench/appeal.lua"
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$result"; }
ACCEPTED=$(field accepted)
NON202=$(field non202)
UNANSWERED=$(field unanswered)
SOCKERR=$(field errors)
RATE=$(field rate)
POST_SECONDS=$(field seconds)
P50=$(field p50_ms)
P99=$(field p99_ms)
for i in $(seq 1 "$INSTANCES"); do
  kill -0 "${GATEWAY_PIDS[$((i - 1))]}" 2>/dev/null || { tail -20 "$TMP/gateway-$i.log" >&2; die "appeal-gateway $i died during the run"; }
done

# --- drain -------------------------------------------------------------------
log "waiting for every outbox to drain (/readyz 200 and outbox_depth 0 on each instance)"
drain_start=$(date +%s.%N)
drained=""
depth="?"
deadline=$(( $(date +%s) + DRAIN_TIMEOUT ))
while (( $(date +%s) < deadline )); do
  all=1
  for base in "${GATEWAY_BASES[@]}"; do
    code=$(curl -sS -o "$TMP/readyz.json" -w '%{http_code}' "$base/readyz" 2>/dev/null || echo 000)
    depth=$(jq -r '.outbox_depth // "?"' "$TMP/readyz.json" 2>/dev/null || echo "?")
    if [[ $code != 200 || $depth != 0 ]]; then all=""; break; fi
  done
  if [[ -n $all ]]; then drained=1; break; fi
  sleep 0.2
done
DRAIN_SECONDS=$(awk -v a="$drain_start" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
[[ -n $drained ]] || { cat "$TMP/readyz.json" >&2; echo >&2; die "outbox not drained after ${DRAIN_TIMEOUT}s (outbox_depth $depth)"; }
log "drained in ${DRAIN_SECONDS}s after wrk stopped"
GW_TICKS=$(( $(gateways_ticks) - GW_TICKS0 ))
REDIS_TICKS=$(( $(cpu_ticks "$REDIS_PID") - REDIS_TICKS0 ))
GW_HWM=$(gateways_kib VmHWM)
per_appeal_us() { awk -v t="$1" -v hz="$CLK_TCK" -v n="$2" 'BEGIN { if (n > 0) printf "%.1f", t / hz * 1e6 / n; else print "n/a" }'; }
GW_US=$(per_appeal_us "$GW_TICKS" "$(( ACCEPTED + 1 ))")
REDIS_US=$(per_appeal_us "$REDIS_TICKS" "$(( ACCEPTED + 1 ))")
HEALTH_RATIO=$(awk -v g="$RATE" -v h="$HEALTH_RATE" 'BEGIN { if (h > 0) printf "%.3f", g / h; else print "n/a" }')
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# --- exactly-once check ---------------------------------------------------------
XLEN=$(rcli XLEN "$STREAM")
EXPECTED=$(( ACCEPTED + SMOKE_ACCEPTED ))
if [[ $XLEN == "$EXPECTED" ]]; then
  VERDICT=OK
else
  VERDICT=MISMATCH
fi
echo
echo "XLEN $STREAM = $XLEN, accepted = $EXPECTED ($ACCEPTED by wrk + $SMOKE_ACCEPTED smoke): $VERDICT"
if [[ $VERDICT == MISMATCH && $UNANSWERED -gt 0 ]]; then
  echo "  $UNANSWERED POSTs were still unanswered when wrk stopped: a longer GRACE (now ${GRACE}s) lets them answer"
fi

# --- the stored appeal ------------------------------------------------------------
# --raw prints the entry id, then field and value on alternate lines; compact
# JSON has no raw newline, so each value is one line.
rcli --raw XRANGE "$STREAM" - + COUNT 1 >"$TMP/xrange.txt"
LC_ALL=C awk -v dir="$TMP" 'NR > 1 && NR % 2 == 0 { key = $0; next }
  NR > 1 { printf "%s", $0 > (dir "/field." key) }' "$TMP/xrange.txt"
[[ -s $TMP/field.data ]] || die "no data field in the first $STREAM entry"
cp "$TMP/field.data" "$TMP/stored-appeal.json"
DATA_BYTES=$(wc -c <"$TMP/field.data")
ENTRY_ID=$(cat "$TMP/field.id" 2>/dev/null || echo 01JDQ3V8W6Y4Q0Q3J5A1Y9K7M2)
ENTRY_TYPE=$(cat "$TMP/field.type" 2>/dev/null || echo appeal)
ENTRY_BYTES=$(( DATA_BYTES + ${#ENTRY_ID} + ${#ENTRY_TYPE} + 10 )) # + "id" "type" "data"
REQUEST_BYTES=$(wc -c <"$BODY")
APPLICANT_KEYS=$(jq -r '.applicant // {} | keys_unsorted | join(",")' "$TMP/field.data" 2>/dev/null || echo "?")
DROPPED=$(jq -r '.dropped_fields // [] | join(",")' "$TMP/field.data" 2>/dev/null || echo "?")
echo "stored appeal: data $DATA_BYTES B (request body $REQUEST_BYTES B)"
echo "  applicant: $APPLICANT_KEYS"
echo "  dropped_fields: $DROPPED"

# --- raw XADD baseline ------------------------------------------------------------
RAW_RATE=n/a RAW_P50="" RATIO=n/a RAW_P16_RATE=""
if (( RAW_REQUESTS > 0 )); then
log "redis-benchmark: XADD of a $DATA_BYTES-byte data field, $CONNECTIONS clients, $RAW_REQUESTS requests, no pipelining"
redis-benchmark -h 127.0.0.1 -p "$RPORT" -c "$CONNECTIONS" -n "$RAW_REQUESTS" -P 1 -q \
  XADD benchstream '*' id "$ENTRY_ID" type "$ENTRY_TYPE" data "$(cat "$TMP/field.data")" \
  >"$TMP/redis-benchmark.txt" 2>&1 &
RB_PID=$!
wait "$RB_PID" || { tail -c 2000 "$TMP/redis-benchmark.txt" >&2; RB_PID=""; die "redis-benchmark failed"; }
RB_PID=""
RAW_RATE=$(grep -ao '[0-9.]* requests per second' "$TMP/redis-benchmark.txt" | tail -1 | awk '{print $1}')
RAW_P50=$(grep -ao 'p50=[0-9.]* msec' "$TMP/redis-benchmark.txt" | tail -1 | sed 's/p50=//; s/ msec//')
[[ -n $RAW_RATE ]] || { tail -c 2000 "$TMP/redis-benchmark.txt" >&2; die "no rate in redis-benchmark output"; }
rcli DEL benchstream >/dev/null
RATIO=$(awk -v g="$RATE" -v r="$RAW_RATE" 'BEGIN { if (r > 0) printf "%.3f", g / r; else print "n/a" }')
log "redis-benchmark: the same XADD pipelined 16 deep (the ceiling of a batched forwarder)"
redis-benchmark -h 127.0.0.1 -p "$RPORT" -c "$CONNECTIONS" -n "$RAW_REQUESTS" -P 16 -q \
  XADD benchstream '*' id "$ENTRY_ID" type "$ENTRY_TYPE" data "$(cat "$TMP/field.data")" \
  >"$TMP/redis-benchmark-p16.txt" 2>&1 &
RB_PID=$!
wait "$RB_PID" || { tail -c 2000 "$TMP/redis-benchmark-p16.txt" >&2; RB_PID=""; die "redis-benchmark -P 16 failed"; }
RB_PID=""
RAW_P16_RATE=$(grep -ao '[0-9.]* requests per second' "$TMP/redis-benchmark-p16.txt" | tail -1 | awk '{print $1}')
rcli DEL benchstream >/dev/null
fi

# --- the FastAPI peer, same load ----------------------------------------------------
PEER_SUMMARY=""
if [[ -n $PEER ]]; then
  VENV=$ROOT/target/peer-venv
  if [[ ! -x $VENV/bin/uvicorn ]]; then
    log "peer: making $VENV from PyPI"
    python3 -m venv "$VENV" >&2 || die "python3 -m venv failed (apt-get install -y python3-venv)"
    "$VENV/bin/pip" install -q fastapi 'uvicorn[standard]' 'redis>=5' orjson pydantic >&2 \
      || die "pip install of the peer's packages failed"
  fi
  PPORT=$(free_port)
  ( cd "$PEER_DIR" && exec env REDIS_URL="redis://127.0.0.1:$RPORT/1" \
      "$VENV/bin/uvicorn" app:app --host 127.0.0.1 --port "$PPORT" --workers 2 --log-level warning ) \
    >"$TMP/peer.log" 2>&1 &
  PEER_PID=$!
  PEER_BASE=http://127.0.0.1:$PPORT
  for _ in $(seq 1 300); do
    curl -fsS -o /dev/null "$PEER_BASE/healthz" 2>/dev/null && break
    kill -0 "$PEER_PID" 2>/dev/null || { cat "$TMP/peer.log" >&2; die "the peer exited before serving"; }
    sleep 0.1
  done
  curl -fsS -o /dev/null "$PEER_BASE/healthz" || { tail -20 "$TMP/peer.log" >&2; die "no 200 from the peer"; }
  # uvicorn's workers are children of its master: their CPU is counted with it.
  peer_pids() { echo "$PEER_PID"; pgrep -P "$PEER_PID" || true; }
  peer_ticks() { local sum=0 pid; for pid in $(peer_pids); do sum=$(( sum + $(cpu_ticks "$pid" 2>/dev/null || echo 0) )); done; echo "$sum"; }
  log "peer (FastAPI, uvicorn --workers 2) on $PEER_BASE: the same POSTs, $CONNECTIONS connections, ${DURATION}s"
  PEER_TICKS0=$(peer_ticks)
  wrk -t "$THREADS" -c "$CONNECTIONS" -d "$(( DURATION + GRACE ))s" --timeout 30s --latency \
    -s "$LUA" "$PEER_BASE/api/v1/appeals" -- "$BODY" "$TOKEN" "$DURATION" \
    >"$TMP/wrk-peer.txt" 2>&1 || { cat "$TMP/wrk-peer.txt" >&2; die "wrk against the peer failed"; }
  PEER_TICKS=$(( $(peer_ticks) - PEER_TICKS0 ))
  presult=$(grep '^@result' "$TMP/wrk-peer.txt") || die "no @result line from the peer's run"
  pfield() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$presult"; }
  PEER_ACCEPTED=$(pfield accepted)
  PEER_RATE=$(pfield rate)
  PEER_XLEN=$(redis-cli -h 127.0.0.1 -p "$RPORT" -n 1 XLEN "$STREAM")
  PEER_SUMMARY=$(cat <<PEEREOF
peer accepted/s      $PEER_RATE  ($PEER_ACCEPTED accepted, $(pfield non202) non-202; XLEN $PEER_XLEN)
peer p50 / p99       $(pfield p50_ms) ms / $(pfield p99_ms) ms
peer CPU/appeal      $(per_appeal_us "$PEER_TICKS" "$PEER_ACCEPTED") µs (uvicorn and its workers)
gateway / peer       $(awk -v g="$RATE" -v p="$PEER_RATE" 'BEGIN { if (p > 0) printf "%.2f", g / p; else print "n/a" }') (accepted/s, same machine, same run)
PEEREOF
)
  stop_pid "$PEER_PID" uvicorn
  PEER_PID=""
fi

# --- summary ------------------------------------------------------------------------
cat <<EOF

================ appeal-gateway intake benchmark ================
machine              $(nproc) cores; wrk, every gateway, haproxy and redis share them
instances            $INSTANCES$( (( INSTANCES > 1 )) && echo " behind HAProxy (round robin)")
load                 $CONNECTIONS connections, $THREADS wrk threads, ${DURATION}s of POSTs (+${GRACE}s grace)
request body         $REQUEST_BYTES B (bench/appeal.json)
accepted (202)       $ACCEPTED
non-202              $NON202
unanswered / sockerr $UNANSWERED / $SOCKERR
accepted/s           $RATE  (over ${POST_SECONDS}s)
latency p50 / p99    $P50 ms / $P99 ms
outbox drained       ${DRAIN_SECONDS}s after wrk stopped
XLEN $STREAM      $XLEN (expected $EXPECTED incl. 1 smoke POST): $VERDICT
stored appeal        data $DATA_BYTES B, entry ~$ENTRY_BYTES B
raw XADD             $RAW_RATE req/s, p50 ${RAW_P50:-?} ms (redis-benchmark -c $CONNECTIONS -n $RAW_REQUESTS -P 1)
raw XADD, -P 16      ${RAW_P16_RATE:-?} req/s
gateway / raw        $RATIO
GET /healthz         $HEALTH_RATE req/s (${HEALTH_DURATION}s, same connections, before the appeals)
gateway / healthz    $HEALTH_RATIO
gateway CPU/appeal   $GW_US µs  ($(awk -v t="$GW_TICKS" -v hz="$CLK_TCK" 'BEGIN{printf "%.2f", t/hz}') s user+sys from wrk start to drained, all gateways)
redis CPU/appeal     $REDIS_US µs  ($(awk -v t="$REDIS_TICKS" -v hz="$CLK_TCK" 'BEGIN{printf "%.2f", t/hz}') s)
gateway RSS          $(mib "$RSS_BEFORE") MiB before, peak $(mib "$RSS_PEAK") MiB under load, $(mib "$RSS_LOAD_END") MiB at the end of load; VmHWM $(mib "$GW_HWM") MiB
outbox depth (gw 1)  median $(sort -n "$TMP/depth.txt" | awk '{a[NR]=$1} END {print (NR ? a[int((NR+1)/2)] : "?")}'), max $(sort -n "$TMP/depth.txt" | tail -1) records under load (sampled every 0.5 s: what only the instance's disk held)
${PEER_SUMMARY:+$PEER_SUMMARY
}=================================================================
EOF

[[ $VERDICT == OK ]] || exit 1
