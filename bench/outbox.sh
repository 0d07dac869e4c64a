#!/usr/bin/env bash
# Outbox cost against its size (issue 19, point 3). Two modes:
#
# By time (default): with Redis stopped, post appeals in SLICES slices of SLICE_SECS
# seconds each (wrk, bench/appeal.lua) and print each slice's accept rate, the outbox
# depth and the gateway's RSS; then start Redis and print the drain rate every
# DRAIN_EVERY seconds until the outbox is empty.
#
# By count (TOTAL=N, e.g. TOTAL=1000000): with Redis stopped, post exactly N appeals
# in slices of SLICE_COUNT (default N/10) appeals, each slice's accept rate, depth and
# RSS; then kill the gateway (RESTART_SIGNAL, default KILL) with the N appeals spooled
# and time, from the new exec, the
# first 200 of /healthz and the first 202 of a POST (one more appeal spooled); then
# start Redis and time the drain in slices of SLICE_COUNT records (depth read from
# /readyz every 0.2 s); then the same number of XADDs of a stored appeal's size with
# `redis-benchmark -P 16` on the same Redis (the ceiling of a batched forwarder); and
# prints one table of it all.
#
# Needs what bench/intake.sh needs. BENCH_BIN=PATH picks the binary (default
# target/release/appeal-gateway, built by bench/intake.sh or cargo build --release).
# Disk and memory: N appeals take about 4.5 KiB each in the outbox and about as much in
# Redis once drained (a million: ~8 GiB on disk, ~5 GiB in Redis, flushed before the
# XADD baseline, which takes ~3 GiB and is deleted after).
set -euo pipefail
SLICES=${SLICES:-6}
SLICE_SECS=${SLICE_SECS:-10}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
DRAIN_EVERY=${DRAIN_EVERY:-2}
TOTAL=${TOTAL:-}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${BENCH_BIN:-$ROOT/target/release/appeal-gateway}
BODY=$ROOT/bench/appeal.json
TOKEN=bench-token-0123456789abcdef
TMP=$(mktemp -d "${TMPDIR:-/tmp}/appeal-outbox.XXXXXX")
RPORT=$(( 20000 + RANDOM % 20000 )); GPORT=$(( RPORT + 1 ))
GW=""; RS=""; WRK=""
cleanup() {
  [[ -n $WRK ]] && kill "$WRK" 2>/dev/null
  [[ -n $GW ]] && kill "$GW" 2>/dev/null
  [[ -n $RS ]] && kill "$RS" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT
rss() { awk '$1 == "VmRSS:" {printf "%.1f", $2 / 1024}' "/proc/$GW/status"; }
depth() { curl -s "http://127.0.0.1:$GPORT/readyz" | jq -r .outbox_depth; }
now() { date +%s.%N; }
start_gateway() {
  env GATEWAY_BIND="127.0.0.1:$GPORT" GATEWAY_METRICS_BIND=127.0.0.1:0 REDIS_URL="redis://127.0.0.1:$RPORT" GATEWAY_DATA_DIR="$TMP/data" \
    GATEWAY_SUBJECT_KEY_SECRET=bench-secret-0123456789abcdef GATEWAY_API_TOKENS="bench:$TOKEN" \
    GATEWAY_LOG=error "$BIN" serve >>"$TMP/gateway.log" 2>&1 &
  GW=$!
}
wait_healthy() {
  for _ in $(seq 1 300); do curl -fs -o /dev/null "http://127.0.0.1:$GPORT/healthz" && return 0; sleep 0.1; done
  echo "gateway did not start: $(tail -5 "$TMP/gateway.log")" >&2
  exit 1
}
post_once() { # prints the status of one appeal POST
  curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' --data-binary "@$BODY" "http://127.0.0.1:$GPORT/api/v1/appeals" || true
}
# One wrk run of exactly $1 appeals (split over the threads); its @result line.
post_count() {
  local per=$(( $1 / THREADS ))
  : >"$TMP/done"
  wrk -t "$THREADS" -c "$CONNECTIONS" -d 3600s --timeout 30s -s "$ROOT/bench/appeal.lua" \
    "http://127.0.0.1:$GPORT/api/v1/appeals" -- "$BODY" "$TOKEN" "" "$per" "$TMP/done" >"$TMP/wrk.txt" 2>&1 &
  WRK=$!
  while (( $(wc -l <"$TMP/done") < THREADS )) && kill -0 "$WRK" 2>/dev/null; do sleep 0.05; done
  kill -INT "$WRK" 2>/dev/null || true
  wait "$WRK" || true
  WRK=""
  grep '^@result' "$TMP/wrk.txt" || { cat "$TMP/wrk.txt" >&2; exit 1; }
}
field() { sed -n "s/.* $1=\\([^ ]*\\).*/\\1/p"; }
start_redis() {
  redis-server --bind 127.0.0.1 --port "$RPORT" --save "" --appendonly no --dir "$TMP" --logfile "$TMP/redis.log" &
  RS=$!
}

start_gateway
wait_healthy

if [[ -z $TOTAL ]]; then
  echo "slice  accepted/s  outbox depth  RSS MiB   (Redis stopped)"
  for i in $(seq 1 "$SLICES"); do
    wrk -t "$THREADS" -c "$CONNECTIONS" -d "$(( SLICE_SECS + 2 ))s" --timeout 30s -s "$ROOT/bench/appeal.lua" \
      "http://127.0.0.1:$GPORT/api/v1/appeals" -- "$BODY" "$TOKEN" "$SLICE_SECS" >"$TMP/wrk.txt" 2>&1
    rate=$(field rate <"$TMP/wrk.txt")
    printf '%5d  %10s  %12s  %7s\n' "$i" "$rate" "$(depth)" "$(rss)"
  done
  start_redis
  echo "drain: seconds  records/s  outbox depth  RSS MiB"
  t=0; prev=$(depth)
  while :; do
    sleep "$DRAIN_EVERY"; t=$(( t + DRAIN_EVERY ))
    d=$(depth)
    printf '%14d  %9d  %12s  %7s\n' "$t" "$(( (prev - d) / DRAIN_EVERY ))" "$d" "$(rss)"
    prev=$d
    [[ $d == 0 ]] && break
  done
  echo "XLEN appeals.v1 = $(redis-cli -p "$RPORT" XLEN appeals.v1)"
  exit 0
fi

# --- by count -------------------------------------------------------------------
SLICE_COUNT=${SLICE_COUNT:-$(( TOTAL / 10 ))}
(( SLICE_COUNT % THREADS == 0 && TOTAL % SLICE_COUNT == 0 )) ||
  { echo "TOTAL must be a multiple of SLICE_COUNT, SLICE_COUNT of THREADS" >&2; exit 1; }
OUT=$TMP/table.txt
row() { printf '%-8s %5s %9s %9s %10s %9s %8s  %s\n' "$@" | tee -a "$OUT"; }
echo "$(nproc) cores; wrk -t$THREADS -c$CONNECTIONS, gateway and Redis on this machine; body $(wc -c <"$BODY") B" | tee "$OUT"
row phase slice records seconds records/s "vs 1st" "RSS MiB" "outbox depth / note"
first=""
for i in $(seq 1 $(( TOTAL / SLICE_COUNT ))); do
  r=$(post_count "$SLICE_COUNT")
  rate=$(field rate <<<"$r"); secs=$(field seconds <<<"$r"); acc=$(field accepted <<<"$r")
  first=${first:-$rate}
  row fill "$i" "$acc" "$secs" "$rate" "$(awk -v a="$rate" -v b="$first" 'BEGIN{printf "%+.0f%%", (a/b-1)*100}')" \
    "$(rss)" "$(depth)$( [[ $(field non202 <<<"$r") != 0 ]] && echo " non-202: $(field non202 <<<"$r")")"
done
SPOOLED=$(depth)
RSS_FULL=$(rss)
du_data=$(du -sm "$TMP/data" | cut -f1)

# Restart with the outbox full: killed (RESTART_SIGNAL, default KILL: as a crash or a
# power cut leaves it), then exec and time the first answers.
kill "-${RESTART_SIGNAL:-KILL}" "$GW"; wait "$GW" || true
t0=$(now)
start_gateway
until curl -fs -o /dev/null "http://127.0.0.1:$GPORT/healthz"; do
  kill -0 "$GW" 2>/dev/null || { tail -5 "$TMP/gateway.log" >&2; exit 1; }
  sleep 0.01
done
t_health=$(now)
until [[ $(post_once) == 202 ]]; do sleep 0.01; done
t_post=$(now)
SPOOLED=$(depth)
row restart "" "$SPOOLED" "$(awk -v a="$t_health" -v b="$t0" 'BEGIN{printf "%.3f", a-b}')" "" "" "$(rss)" \
  "exec to first /healthz 200"
row restart "" "$SPOOLED" "$(awk -v a="$t_post" -v b="$t0" 'BEGIN{printf "%.3f", a-b}')" "" "" "$(rss)" \
  "exec to first 202 (outbox ${du_data} MiB on disk; RSS before the SIG${RESTART_SIGNAL:-KILL} $RSS_FULL MiB)"

# Drain, timed by count.
start_redis
t_prev=$(now); d_prev=$SPOOLED; next=$(( SPOOLED - SLICE_COUNT )); i=0; first=""; peak=0
t_start=$t_prev
while :; do
  sleep 0.2
  d=$(depth)
  m=$(rss); peak=$(awk -v a="$m" -v b="$peak" 'BEGIN{print (a > b) ? a : b}')
  if (( d <= next )) || (( d == 0 )); then
    t=$(now); i=$(( i + 1 ))
    rate=$(awk -v n=$(( d_prev - d )) -v a="$t" -v b="$t_prev" 'BEGIN{printf "%.1f", n/(a-b)}')
    first=${first:-$rate}
    row drain "$i" "$(( d_prev - d ))" "$(awk -v a="$t" -v b="$t_prev" 'BEGIN{printf "%.2f", a-b}')" "$rate" \
      "$(awk -v a="$rate" -v b="$first" 'BEGIN{printf "%+.0f%%", (a/b-1)*100}')" "$m" "$d"
    t_prev=$t; d_prev=$d; next=$(( d - SLICE_COUNT ))
    (( d == 0 )) && break
  fi
done
DRAIN_RATE=$(awk -v n="$SPOOLED" -v a="$t_prev" -v b="$t_start" 'BEGIN{printf "%.1f", n/(a-b)}')
XLEN=$(redis-cli -p "$RPORT" XLEN appeals.v1)
# Counted: free what the drain wrote before the baseline writes as much again.
redis-cli -p "$RPORT" --raw XRANGE appeals.v1 - + COUNT 1 >"$TMP/xrange.txt"
redis-cli -p "$RPORT" FLUSHALL >/dev/null

# The ceiling: the same number of XADDs of a stored appeal's size, pipelined 16 deep.
LC_ALL=C awk -v dir="$TMP" 'NR > 1 && NR % 2 == 0 { key = $0; next }
  NR > 1 { printf "%s", $0 > (dir "/field." key) }' "$TMP/xrange.txt"
redis-benchmark -h 127.0.0.1 -p "$RPORT" -c "$CONNECTIONS" -n "$SPOOLED" -P 16 -q \
  XADD benchstream '*' id "$(cat "$TMP/field.id")" type "$(cat "$TMP/field.type")" data "$(cat "$TMP/field.data")" \
  >"$TMP/redis-benchmark.txt" 2>&1
XADD_RATE=$(grep -ao '[0-9.]* requests per second' "$TMP/redis-benchmark.txt" | tail -1 | awk '{print $1}')
redis-cli -p "$RPORT" DEL benchstream >/dev/null
{
  echo "drain overall        $DRAIN_RATE records/s, RSS peak while draining $peak MiB, XLEN appeals.v1 = $XLEN (spooled $SPOOLED)"
  echo "XADD -P 16           $XADD_RATE /s (redis-benchmark -c $CONNECTIONS -n $SPOOLED, data $(wc -c <"$TMP/field.data") B)"
  echo "drain / XADD -P 16   $(awk -v a="$DRAIN_RATE" -v b="$XADD_RATE" 'BEGIN{printf "%.3f", a/b}')"
} | tee -a "$OUT"
[[ $XLEN == "$SPOOLED" ]] || { echo "MISMATCH: XLEN $XLEN, spooled $SPOOLED" >&2; exit 1; }
