#!/usr/bin/env bash
# Instructions per appeal (issue 19): the release gateway under `valgrind --tool=callgrind`
# with a private Redis, COUNT appeals of bench/appeal.json posted by wrk (COUNT mode of
# bench/appeal.lua), counted from the first POST until the outbox has drained (the
# forwarder's work included), startup excluded. Instruction counts do not depend on what
# else runs on the machine, so two builds compare exactly (A/B) where wall-clock and CPU
# time on a shared machine do not.
#
#   COUNT=2000     appeals posted (split over THREADS wrk threads)
#   CONNECTIONS=8  wrk connections (under valgrind the gateway is ~50x slower)
#   BENCH_BIN=PATH the binary (default target/release/appeal-gateway; not built here)
#   OUT=FILE       keep the callgrind profile there (callgrind_annotate FILE)
#
# Prints the instructions (Ir) per accepted appeal and the top functions by self cost.
set -euo pipefail
COUNT=${COUNT:-2000}
CONNECTIONS=${CONNECTIONS:-8}
THREADS=${THREADS:-2}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${BENCH_BIN:-$ROOT/target/release/appeal-gateway}
BODY=$ROOT/bench/appeal.json
TOKEN=bench-token-0123456789abcdef
TMP=$(mktemp -d "${TMPDIR:-/tmp}/appeal-callgrind.XXXXXX")
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
(( COUNT % THREADS == 0 )) || { echo "COUNT must be a multiple of THREADS" >&2; exit 1; }
redis-server --bind 127.0.0.1 --port "$RPORT" --save "" --appendonly no --dir "$TMP" --logfile "$TMP/redis.log" &
RS=$!
env GATEWAY_BIND="127.0.0.1:$GPORT" GATEWAY_METRICS_BIND=127.0.0.1:0 REDIS_URL="redis://127.0.0.1:$RPORT" GATEWAY_DATA_DIR="$TMP/data" \
  GATEWAY_SUBJECT_KEY_SECRET=bench-secret-0123456789abcdef GATEWAY_API_TOKENS="bench:$TOKEN" \
  GATEWAY_LOG=error valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$TMP/cg.out" \
  "$BIN" serve >"$TMP/gateway.log" 2>&1 &
GW=$!
ready() { [[ $(curl -s "http://127.0.0.1:$GPORT/readyz" | jq -r '.outbox_depth' 2>/dev/null) == 0 ]]; }
for _ in $(seq 1 600); do ready && break; sleep 0.2; done
ready || { echo "gateway not ready: $(tail -5 "$TMP/gateway.log")" >&2; exit 1; }
# One appeal first (its lazy statics), then count.
curl -s -o /dev/null -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  --data-binary "@$BODY" "http://127.0.0.1:$GPORT/api/v1/appeals"
for _ in $(seq 1 100); do ready && break; sleep 0.1; done
callgrind_control -i on "$GW" >/dev/null
: >"$TMP/done"
wrk -t "$THREADS" -c "$CONNECTIONS" -d 3600s --timeout 60s -s "$ROOT/bench/appeal.lua" \
  "http://127.0.0.1:$GPORT/api/v1/appeals" -- "$BODY" "$TOKEN" "" "$(( COUNT / THREADS ))" "$TMP/done" >"$TMP/wrk.txt" 2>&1 &
WRK=$!
while (( $(wc -l <"$TMP/done") < THREADS )) && kill -0 "$WRK" 2>/dev/null; do sleep 0.1; done
kill -INT "$WRK" 2>/dev/null || true; wait "$WRK" || true; WRK=""
accepted=$(sed -n 's/^@result accepted=\([0-9]*\).*/\1/p' "$TMP/wrk.txt")
for _ in $(seq 1 600); do ready && break; sleep 0.1; done
callgrind_control -i off "$GW" >/dev/null
callgrind_control -d "$GW" >/dev/null
kill -TERM "$GW"; wait "$GW" 2>/dev/null || true; GW=""
profile=$(ls -S "$TMP"/cg.out* | head -1)
for f in "$TMP"/cg.out*; do grep -h "^totals:" "$f" | head -1; done >"$TMP/totals"
ir=$(awk '{s += $2} END {print s}' "$TMP/totals")
echo "accepted $accepted  Ir $ir  Ir/appeal $(( ir / accepted ))"
if [[ -n ${OUT:-} ]]; then cp "$profile" "$OUT"; fi
callgrind_annotate --inclusive=no "$profile" 2>/dev/null | sed -n '1,/^$/d; 1,45p' | head -45
