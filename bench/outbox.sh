#!/usr/bin/env bash
# Outbox cost against its size (issue 19, point 3), a small version: with Redis
# stopped, post appeals in SLICES slices of SLICE_SECS seconds each (wrk, bench/appeal.lua)
# and print each slice's accept rate, the outbox depth and the gateway's RSS; then
# start Redis and print the drain rate every DRAIN_EVERY seconds until the outbox is
# empty. Needs what bench/intake.sh needs. BENCH_BIN=PATH picks the binary (default
# target/release/appeal-gateway, built by bench/intake.sh or cargo build --release).
set -euo pipefail
SLICES=${SLICES:-6}
SLICE_SECS=${SLICE_SECS:-10}
CONNECTIONS=${CONNECTIONS:-64}
DRAIN_EVERY=${DRAIN_EVERY:-2}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${BENCH_BIN:-$ROOT/target/release/appeal-gateway}
TOKEN=bench-token-0123456789abcdef
TMP=$(mktemp -d "${TMPDIR:-/tmp}/appeal-outbox.XXXXXX")
RPORT=$(( 20000 + RANDOM % 20000 )); GPORT=$(( RPORT + 1 ))
GW=""; RS=""
cleanup() { [[ -n $GW ]] && kill "$GW" 2>/dev/null; [[ -n $RS ]] && kill "$RS" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
rss() { awk '$1 == "VmRSS:" {printf "%.1f", $2 / 1024}' "/proc/$GW/status"; }
depth() { curl -s "http://127.0.0.1:$GPORT/readyz" | jq -r .outbox_depth; }
env GATEWAY_BIND="127.0.0.1:$GPORT" REDIS_URL="redis://127.0.0.1:$RPORT" GATEWAY_DATA_DIR="$TMP/data" \
  GATEWAY_SUBJECT_KEY_SECRET=bench-secret-0123456789abcdef GATEWAY_API_TOKENS="bench:$TOKEN" \
  GATEWAY_LOG=error "$BIN" serve >"$TMP/gateway.log" 2>&1 &
GW=$!
for _ in $(seq 1 100); do curl -fs -o /dev/null "http://127.0.0.1:$GPORT/healthz" && break; sleep 0.1; done
echo "slice  accepted/s  outbox depth  RSS MiB   (Redis stopped)"
for i in $(seq 1 "$SLICES"); do
  wrk -t2 -c "$CONNECTIONS" -d "$(( SLICE_SECS + 2 ))s" --timeout 30s -s "$ROOT/bench/appeal.lua" \
    "http://127.0.0.1:$GPORT/api/v1/appeals" -- "$ROOT/bench/appeal.json" "$TOKEN" "$SLICE_SECS" >"$TMP/wrk.txt" 2>&1
  rate=$(sed -n 's/^@result .* rate=\([^ ]*\).*/\1/p' "$TMP/wrk.txt")
  printf '%5d  %10s  %12s  %7s\n' "$i" "$rate" "$(depth)" "$(rss)"
done
redis-server --bind 127.0.0.1 --port "$RPORT" --save "" --appendonly no --logfile "$TMP/redis.log" &
RS=$!
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
