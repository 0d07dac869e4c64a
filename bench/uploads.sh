#!/usr/bin/env bash
# Upload benchmark of appeal-gateway (a benchmark, not a test): the gateway's peak
# memory under CONCURRENT citizen forms of five ~10 MB photos each (~50 MB a form).
#
# Starts a private redis-server and the gateway on free loopback ports, writes five
# photos of random noise (PNG, 1800 x 1800, ~9.7 MB each: they do not compress, and they
# must be decoded and encoded afresh), takes one form session (cookie and CSRF token),
# posts CONCURRENT forms at once with curl, and prints how each was answered, the
# gateway's resident memory before and its peak (VmHWM, from /proc) after. The forms
# leave out the appeal's fields: each is read, spooled, its photos rebuilt, and then
# refused as incomplete (422) — the upload path is what is measured.
#
# Environment (all optional):
#   CONCURRENT=50      forms posted at once
#   SKIP_BUILD=1       use the existing target/release/appeal-gateway
#   BENCH_BIN=PATH     run this binary instead (no build)
#   GATEWAY_UPLOAD_BYTES_IN_FLIGHT=…  passed to the gateway (default its own)
#   KEEP_TMP=1         keep the temp dir (logs, data)
set -euo pipefail

CONCURRENT=${CONCURRENT:-50}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BIN=${BENCH_BIN:-$ROOT/target/release/appeal-gateway}

log() { printf '[uploads] %s\n' "$*" >&2; }
die() { printf '[uploads] error: %s\n' "$*" >&2; exit 1; }
for tool in redis-server redis-cli curl python3; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found"
done

if [[ -z ${BENCH_BIN:-} && -z ${SKIP_BUILD:-} ]]; then
  log "building the release binary"
  cargo build --release --locked --bin appeal-gateway >&2
fi
[[ -x $BIN ]] || die "no binary at $BIN"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/appeal-uploads.XXXXXX")
REDIS_PID=""
GATEWAY_PID=""
cleanup() {
  for pid in $GATEWAY_PID $REDIS_PID; do
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [[ -n ${KEEP_TMP:-} ]]; then log "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
REDIS_PORT=$(free_port)
PORT=$(free_port)

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$TMP" >"$TMP/redis.log" 2>&1 &
REDIS_PID=$!

log "writing five noise photos"
python3 - "$TMP" <<'PY'
import os, struct, sys, zlib
out = sys.argv[1]
w = h = 1800
def chunk(kind, data):
    c = struct.pack(">I", len(data)) + kind + data
    return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
for i in range(5):
    raw = b"".join(b"\x00" + os.urandom(w * 3) for _ in range(h))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b""))
    with open(os.path.join(out, f"photo{i}.png"), "wb") as f:
        f.write(png)
PY
FORM_BYTES=$(cat "$TMP"/photo*.png | wc -c)

REDIS_URL="redis://127.0.0.1:$REDIS_PORT" \
GATEWAY_BIND="127.0.0.1:$PORT" \
GATEWAY_DATA_DIR="$TMP/data" \
GATEWAY_SUBJECT_KEY_SECRET=bench-subject-key-secret-0123456789 \
GATEWAY_FORM_RATE_PER_MINUTE=100000 \
GATEWAY_UPLOAD_MAX_PER_CLIENT=100 \
GATEWAY_METRICS_BIND=127.0.0.1:0 \
GATEWAY_LOG=warn \
  "$BIN" serve >"$TMP/gateway.log" 2>&1 &
GATEWAY_PID=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null || die "the gateway did not start (see $TMP/gateway.log)"

PAGE=$(curl -s -c "$TMP/cookies" "http://127.0.0.1:$PORT/en/")
CSRF=$(printf '%s' "$PAGE" | sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' | head -1)
[[ -n $CSRF ]] || die "no CSRF token on the form"
kib() { awk -v k="$1" '/^'"$1"':/ {print $2}' "/proc/$GATEWAY_PID/status"; }
BEFORE=$(kib VmRSS)

log "posting $CONCURRENT forms of $((FORM_BYTES / 1000000)) MB at once"
START=$(date +%s.%N)
seq 1 "$CONCURRENT" | xargs -P "$CONCURRENT" -I{} \
  curl -s -o /dev/null -w '%{http_code}\n' -b "$TMP/cookies" \
    -F "csrf=$CSRF" -F "idem=BENCH{}" \
    -F "photos=@$TMP/photo0.png;type=image/png" -F "photos=@$TMP/photo1.png;type=image/png" \
    -F "photos=@$TMP/photo2.png;type=image/png" -F "photos=@$TMP/photo3.png;type=image/png" \
    -F "photos=@$TMP/photo4.png;type=image/png" \
    "http://127.0.0.1:$PORT/en/" >"$TMP/codes" || true
END=$(date +%s.%N)
PEAK=$(kib VmHWM)
AFTER=$(kib VmRSS)

echo "forms: $CONCURRENT concurrent, $FORM_BYTES bytes each (five photos)"
echo "answers: $(sort "$TMP/codes" | uniq -c | awk '{printf "%s×%s ", $1, $2}')"
echo "  (422: read, photos rebuilt, refused as incomplete; 503: over the bytes in flight, Retry-After)"
awk -v s="$START" -v e="$END" 'BEGIN {printf "elapsed: %.1f s\n", e - s}'
echo "gateway RSS before: $((BEFORE / 1024)) MiB"
echo "gateway peak RSS (VmHWM): $((PEAK / 1024)) MiB"
echo "gateway RSS after: $((AFTER / 1024)) MiB"
