#!/usr/bin/env bash
# Mutation testing of the regulation-bearing core (issue 21): normalization, the
# allowlist, consent and the ledger's chain hash, intake, subject keys and tracking
# numbers. cargo-mutants changes the code one small step at a time and reruns the
# library's unit tests (`cargo test --lib`: fast, no Redis); a mutant the tests do not
# notice is a behaviour nothing pins. Prints the score of each file.
#
#   scripts/mutants.sh                      # every file of the core (below)
#   scripts/mutants.sh src/policy.rs        # one or more files
#
# Heavy: one incremental build of the library per mutant (about 300 of them, some 20 s
# each on two busy cores), so it is not part of .ci/run. cargo-mutants tests each mutant
# in a scratch copy of the tree, built in its own target directory
# (MUTANTS_TARGET_DIR, default target/mutants-target): the first run builds the
# dependencies once. MUTANTS_TARGET_DIR=target reuses this checkout's build instead —
# then build nothing in this checkout while it runs: cargo would take one tree's fresh
# build for the other's. MUTANTS_IN_PLACE=1 mutates this tree itself (edit nothing
# meanwhile). Exclusions, with reasons: .cargo/mutants.toml. Results:
# target/mutants/mutants.out/{missed,caught,unviable}.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo-mutants >/dev/null 2>&1; then
    cargo install --locked cargo-mutants
fi

core=(src/normalize/mod.rs src/policy.rs src/consent.rs src/intake/mod.rs src/subject.rs src/tracking/mod.rs src/free_text_guard/mod.rs)
if [ "$#" -gt 0 ]; then
    files=("$@")
else
    files=("${core[@]}")
fi

out="${MUTANTS_OUT:-target/mutants}"
mkdir -p "$out"
export CARGO_TARGET_DIR="${MUTANTS_TARGET_DIR:-target/mutants-target}"
case "$CARGO_TARGET_DIR" in /*) ;; *) CARGO_TARGET_DIR="$PWD/$CARGO_TARGET_DIR" ;; esac
args=(--jobs 1 --output "$out")
for f in "${files[@]}"; do
    args+=(--file "$f")
done
if [ "${MUTANTS_IN_PLACE:-0}" = 1 ]; then
    args+=(--in-place)
fi

# Exit status 2 means some mutants survived, 3 that some timed out: still a result.
status=0
# `--lib` (the library's unit tests only) comes from .cargo/mutants.toml.
cargo mutants "${args[@]}" || status=$?
case "$status" in
    0 | 2 | 3) ;;
    *) echo "cargo-mutants failed (exit $status)" >&2; exit "$status" ;;
esac

# One line per file: caught (timeouts count as caught: the mutant did not pass), missed,
# unviable (did not compile, not counted), score = caught / (caught + missed).
python3 - "$out/mutants.out/outcomes.json" "${files[@]}" <<'PY'
import json, sys
path, files = sys.argv[1], sys.argv[2:]
outcomes = json.load(open(path))["outcomes"]
rows = {f: {"caught": 0, "missed": 0, "unviable": 0} for f in files}
kind = {"CaughtMutant": "caught", "Timeout": "caught", "MissedMutant": "missed", "Unviable": "unviable"}
for o in outcomes:
    scenario = o["scenario"]
    if not isinstance(scenario, dict) or "Mutant" not in scenario:
        continue
    f = scenario["Mutant"]["file"]
    if f in rows and o["summary"] in kind:
        rows[f][kind[o["summary"]]] += 1
print(f"{'file':<22}{'caught':>8}{'missed':>8}{'unviable':>10}{'score':>8}")
total = {"caught": 0, "missed": 0, "unviable": 0}
for f, r in rows.items():
    viable = r["caught"] + r["missed"]
    score = f"{100 * r['caught'] / viable:.0f}%" if viable else "-"
    print(f"{f:<22}{r['caught']:>8}{r['missed']:>8}{r['unviable']:>10}{score:>8}")
    for k in total:
        total[k] += r[k]
viable = total["caught"] + total["missed"]
if viable:
    print(f"{'all':<22}{total['caught']:>8}{total['missed']:>8}{total['unviable']:>10}{100 * total['caught'] / viable:>7.0f}%")
PY
echo "survivors: $out/mutants.out/missed.txt"
