#!/usr/bin/env bash
# Intake rate with one gateway, then with three behind HAProxy, on the same machine
# (figures, no aim): bench/intake.sh run twice, INSTANCES=1 and INSTANCES=3, with the
# same load, each checking that every accepted appeal reached Redis exactly once.
#
# On one machine the three instances, HAProxy, Redis and wrk share the cores: the
# second figure shows what the balancer and the extra processes cost or give there,
# not what three machines would carry.
#
# Environment: everything bench/intake.sh takes (DURATION, CONNECTIONS, THREADS,
# SKIP_BUILD, BENCH_BIN, …), and
#   COUNTS="1 3"   the instance counts to run, in order
#
# Exit status: 0 when every run's count matches, 1 otherwise.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COUNTS=${COUNTS:-1 3}
OUT=$(mktemp -d "${TMPDIR:-/tmp}/appeal-instances.XXXXXX")
trap 'rm -rf "$OUT"' EXIT

if [[ -z ${SKIP_BUILD:-} && -z ${BENCH_BIN:-} ]]; then
  printf '[bench] cargo build --release\n' >&2
  (cd "$ROOT" && cargo build --release >&2)
fi

status=0
for n in $COUNTS; do
  printf '[bench] ---- %s instance(s) ----\n' "$n" >&2
  if INSTANCES=$n SKIP_BUILD=1 "$ROOT/bench/intake.sh" >"$OUT/run-$n.txt"; then
    :
  else
    status=1
  fi
  cat "$OUT/run-$n.txt"
done

field() { # file label
  sed -n "s/^$2  *//p" "$1" | tail -1
}
echo
echo "================ intake rate by instance count ================"
printf '%-10s %-28s %-22s %s\n' instances "accepted/s" "p50 / p99" "exactly once"
for n in $COUNTS; do
  f=$OUT/run-$n.txt
  printf '%-10s %-28s %-22s %s\n' "$n" "$(field "$f" 'accepted\/s')" \
    "$(field "$f" 'latency p50 \/ p99')" "$(sed -n 's/^XLEN .*: \(OK\|MISMATCH\)$/\1/p' "$f" | tail -1)"
done
echo "machine: $(nproc) cores shared by wrk, HAProxy, every gateway and Redis"
echo "==============================================================="
exit "$status"
