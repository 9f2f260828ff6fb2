#!/bin/sh
# `sparse search` and `sparse inspect` end to end on a tiny generated CSV data
# set: exit statuses, the run directory, the front, config errors with
# file:line, and every bundled example config resolving.
set -u
SPARSE=$1
EXAMPLES=$2
T=$(mktemp -d "${TMPDIR:-/tmp}/sparse-cli-search.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
run() {
    want=$1; shift
    "$SPARSE" "$@" >"$T/out" 2>"$T/err"
    got=$?
    [ "$got" -eq "$want" ] || { fail "sparse $* exited $got, expected $want"; cat "$T/err"; }
    if grep -q Sanitizer "$T/err"; then fail "sanitizer report from sparse $*"; cat "$T/err"; fi
}
out_has() { grep -qF -- "$1" "$T/out" || { fail "stdout lacks '$1'"; cat "$T/out"; }; }
err_has() { grep -qF -- "$1" "$T/err" || { fail "stderr lacks '$1'"; cat "$T/err"; }; }

for cfg in "$EXAMPLES"/search/*.yaml; do
    run 0 search "$cfg" --print-config
    out_has "stages:"
done

# 3 classes of 6x6 images: a bright row, column or diagonal.
awk 'BEGIN { srand(5); for (i = 0; i < 240; i++) { l = i % 3; printf "%d", l;
     for (y = 0; y < 6; y++) for (x = 0; x < 6; x++) {
       on = (l == 0 && y == 2) || (l == 1 && x == 3) || (l == 2 && x == y);
       printf ",%.3f", (on ? 0.8 : 0.1) + 0.2 * rand() } printf "\n" } }' >"$T/tiny.csv"
cat >"$T/tiny.yaml" <<EOC
data: {source: "$T/tiny.csv", val_count: 40}
seed: 3
threads: 1
initial_trials: 2
candidates: 8
stages: [{trials: 3, rho: 0.8}, {trials: 1, rho: 0.8}, {trials: 1, rho: 0.8}]
training: {batch: 16}
space: {blocks: [1, 1], layers_per_block: [1, 1], filters: [1, 4], kernel: [2, 3], pool: [1, 2],
        input_downsample: [false], branches: [false], fc_weights: [20, 200], epochs: [1, 2]}
EOC
run 0 search "$T/tiny.yaml" --out "$T/run" --json
[ "$(grep -c '"id":' "$T/out")" -eq 5 ] || fail "--json printed $(grep -c '"id":' "$T/out") trial records, expected 5"
err_has "trial 5/5 stage 3"
for f in config.yaml trials.jsonl state.json pareto.csv weights/0.safetensors; do
    [ -f "$T/run/$f" ] || fail "run directory lacks $f"
done
run 0 inspect "$T/run"
out_has "val%"
run 0 inspect "$T/run" --all --json
for k in '"id":0' '"val_accuracy":' '"test_accuracy":' '"ms_bytes":' '"wm5_bytes":' '"wm6_bytes":' '"stage":'; do
    out_has "$k"
done
run 0 search --resume "$T/run"
[ "$(wc -l <"$T/run/trials.jsonl")" -eq 5 ] || fail "resuming a finished run added trials"
run 1 search "$T/tiny.yaml" --out "$T/run"
err_has "already holds a run"

printf 'data: mnist\nspace:\n  filterz: [1, 2]\n' >"$T/bad.yaml"
run 1 search "$T/bad.yaml" --out "$T/x"
err_has "bad.yaml:3:3: space: unknown key 'filterz'"
run 2 search "$T/tiny.yaml"
err_has "missing --out"
run 2 search --trials zero "$T/tiny.yaml" --out "$T/y"
run 2 inspect
run 1 inspect "$T/nonexistent"
err_has "no such run directory"

[ $fails -eq 0 ] && echo "ok: sparse search/inspect"
exit $fails
