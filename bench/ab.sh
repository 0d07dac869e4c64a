#!/usr/bin/env bash
# A/B of two gateway builds on the same machine in one run (issue 27, point 1): what one
# appeal costs each of them, measured in turns so that whatever else runs on the machine
# weighs on both alike.
#
#   bench/ab.sh OLD_BINARY NEW_BINARY
#   A=target/release/appeal-gateway.old B=target/release/appeal-gateway bench/ab.sh
#
# Each round runs bench/intake.sh once with each binary (BENCH_BIN=…, in the order
# A B, then B A, …), with short wrk runs and no redis-benchmark baseline, and reads
# its summary: gateway CPU µs per appeal (user+sys of the gateway from the first POST
# until its outbox has drained, divided by the accepted count), accepted/s and p99. At
# the end it prints each run, the medians, and B's CPU per appeal as a share of A's.
# CALLGRIND=1 also counts the instructions per appeal of each (bench/callgrind.sh: the
# figure that does not move with the machine's load).
#
# Environment: ROUNDS=3, DURATION=8, CONNECTIONS=64, HEALTH_DURATION=0 (all passed on
# to bench/intake.sh, with everything else it takes), CALLGRIND, COUNT (callgrind's).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
A=${A:-${1:-}}
B=${B:-${2:-}}
[[ -x $A && -x $B ]] || { echo "usage: bench/ab.sh OLD_BINARY NEW_BINARY (or A=… B=…)" >&2; exit 2; }
ROUNDS=${ROUNDS:-3}
export DURATION=${DURATION:-8} HEALTH_DURATION=${HEALTH_DURATION:-0} RAW_REQUESTS=0
OUT=$(mktemp -d "${TMPDIR:-/tmp}/appeal-ab.XXXXXX")
trap 'rm -rf "$OUT"' EXIT

summary() { # file key -> the value after the key in intake.sh's summary (the key, then spaces)
  awk -v k="$2 " 'index($0, k) == 1 { print substr($0, length(k) + 1); exit }' "$1" | sed 's/^ *//'
}

runs=()
for round in $(seq 1 "$ROUNDS"); do
  order=(A B)
  (( round % 2 == 0 )) && order=(B A)
  for side in "${order[@]}"; do
    bin=$A
    [[ $side == B ]] && bin=$B
    log=$OUT/$side-$round.txt
    echo "[ab] round $round, $side: $bin" >&2
    BENCH_BIN=$bin "$ROOT/bench/intake.sh" >"$log" 2>"$log.err" || {
      tail -20 "$log.err" >&2
      echo "[ab] bench/intake.sh failed for $side ($bin)" >&2
      exit 1
    }
    cpu=$(summary "$log" "gateway CPU/appeal" | awk '{print $1}')
    rate=$(summary "$log" "accepted/s" | awk '{print $1}')
    p99=$(summary "$log" "latency p50 / p99" | awk '{print $4}')
    runs+=("$side $round $cpu $rate $p99")
  done
done

median() { sort -g | awk '{v[NR] = $1} END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo
echo "================ A/B: gateway CPU per appeal ================"
echo "A = $A"
echo "B = $B"
printf '%-4s %-6s %16s %12s %10s\n' build round "CPU µs/appeal" accepted/s "p99 ms"
for run in "${runs[@]}"; do
  read -r side round cpu rate p99 <<<"$run"
  printf '%-4s %-6s %16s %12s %10s\n' "$side" "$round" "$cpu" "$rate" "$p99"
done
med_a=$(printf '%s\n' "${runs[@]}" | awk '$1 == "A" {print $3}' | median)
med_b=$(printf '%s\n' "${runs[@]}" | awk '$1 == "B" {print $3}' | median)
echo "median CPU µs/appeal: A $med_a, B $med_b; B/A = $(awk -v a="$med_a" -v b="$med_b" 'BEGIN { printf "%.2f", b / a }')"
if [[ -n ${CALLGRIND:-} ]]; then
  for side in A B; do
    bin=$A
    [[ $side == B ]] && bin=$B
    ir=$(BENCH_BIN=$bin "$ROOT/bench/callgrind.sh" 2>/dev/null | sed -n 's/.*Ir\/appeal \([0-9]*\).*/\1/p')
    echo "instructions/appeal: $side ${ir:-?}"
  done
fi
echo "============================================================="
