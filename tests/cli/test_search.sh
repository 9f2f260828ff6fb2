#!/bin/sh
# `sparsenas search` and `sparsenas inspect` end to end on a tiny generated CSV data
# set: exit statuses, the run directory, the front, config errors with
# file:line, and every bundled example config resolving.
set -u
SPARSE=$1
EXAMPLES=$2
. "$(dirname "$0")/../lib.sh"

for cfg in "$EXAMPLES"/search/*.yaml; do
    run 0 search "$cfg" --print-config
    out_has "stages:"
done

# 3 classes of 6x6 images: a bright row, column or diagonal.
tiny_csv "$T/tiny.csv" 5
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
for f in config.yaml trials.jsonl state.json pareto.csv pareto.svg weights/0.safetensors; do
    [ -f "$T/run/$f" ] || fail "run directory lacks $f"
done
grep -q '<circle' "$T/run/pareto.svg" || fail "pareto.svg has no points"
if command -v rsvg-convert >/dev/null 2>&1; then
    rsvg-convert "$T/run/pareto.svg" -o "$T/pareto.png" || fail "pareto.svg does not render"
    [ -s "$T/pareto.png" ] || fail "pareto.svg rendered to an empty PNG"
else
    echo "note: rsvg-convert (librsvg2-bin) missing, pareto.svg not rendered"
fi
run 0 inspect "$T/run"
out_has "val%"
run 0 inspect "$T/run" --all --json
for k in '"id":0' '"val_accuracy":' '"test_accuracy":' '"ms_bytes":' '"wm5_bytes":' '"wm6_bytes":' '"stage":'; do
    out_has "$k"
done
run 0 export-arch "$T/run" --trial 0 -o "$T/t0.yaml" --save "$T/t0.safetensors"
grep -q "layers:" "$T/t0.yaml" || fail "export-arch wrote no layers"
run 0 memory "$T/t0.yaml"
run 0 eval "$T/t0.yaml" --weights "$T/t0.safetensors" --data "$T/tiny.csv" --val 40 --int8 --json
out_has '"int8_test_accuracy"'
run 1 export-arch "$T/run" --trial 99
err_has "has no trial 99"
run 0 inspect "$T/run" --trial 0 --dot -o "$T/t0.dot"
grep -q "digraph trial_0" "$T/t0.dot" || fail "--dot wrote no graph"
grep -q "before -> after pruning" "$T/t0.dot" || fail "--dot lacks the MS/WM annotation"
if command -v dot >/dev/null 2>&1; then
    dot -Tsvg "$T/t0.dot" -o "$T/t0.svg" || fail "the --dot diagram does not render"
fi
run 2 inspect "$T/run" --dot

# Input downsampling as data acquisition: the run's records and inspect say so.
sed 's/input_downsample: \[false\]/input_downsample: [true], input_rate: [2, 2]/' "$T/tiny.yaml" >"$T/acq.yaml"
echo "input_downsampling: acquisition" >>"$T/acq.yaml"
run 0 search "$T/acq.yaml" --out "$T/acq" --trials 2
grep -q "^input_downsampling: acquisition$" "$T/acq/config.yaml" || fail "config.yaml lacks input_downsampling"
run 0 inspect "$T/acq" --all
out_has "MS and WM count input downsampling as data acquisition"
run 0 inspect "$T/acq" --all --json
out_has '"input_downsampling":"acquisition"'
run 0 inspect "$T/run" --all --json
out_has '"input_downsampling":"network"'
# One run's plot with another's front beside it (docs/paper.md, Fig. 3a).
run 0 inspect "$T/run" --svg "$T/cmp.svg" --compare "$T/acq" --compare-label "the other run"
grep -q "the other run" "$T/cmp.svg" || fail "--svg --compare: no legend for the compared front"
grep -q '<circle' "$T/cmp.svg" || fail "--svg: no points"
run 0 inspect "$T/run" --svg "$T/own.svg"
grep -q "the other run" "$T/own.svg" && fail "--svg without --compare drew a compared front"
run 2 inspect "$T/run" --compare "$T/acq"
err_has "--compare and --compare-label need --svg FILE"
# The diagram's WM is the run's model, and its figures are the memory
# report's: trial 0 of a wm_model 6 run, its conv layer after pruning, as
# `sparsenas memory` counts the exported network.
grep -q "MS [0-9]* B, WM5 [0-9]* B; per layer \[MS, WM5\]" "$T/t0.dot" || fail "--dot title: $(grep label= "$T/t0.dot")"
sed 's/^seed: 3$/seed: 3\nwm_model: 6/' "$T/tiny.yaml" >"$T/tiny6.yaml"
run 0 search "$T/tiny6.yaml" --out "$T/run6" --trials 1
run 0 inspect "$T/run6" --trial 0 --dot -o "$T/w6.dot"
ms=$(sed -n 's/.*"ms_bytes":\([0-9]*\).*/\1/p' "$T/run6/trials.jsonl")
wm6=$(sed -n 's/.*"wm6_bytes":\([0-9]*\).*/\1/p' "$T/run6/trials.jsonl")
grep -q "MS $ms B, WM6 $wm6 B; per layer \[MS, WM6\]" "$T/w6.dot" || fail "--dot title for wm_model 6: $(grep label= "$T/w6.dot")"
run 0 export-arch "$T/run6" --trial 0 -o "$T/w6.yaml" --save "$T/w6.safetensors"
run 0 memory "$T/w6.yaml" --weights "$T/w6.safetensors" --json
conv=$(sed -n 's/.*{"id":1,"name":"\([^"]*\)".*/\1/p' "$T/out")
nz=$(sed -n 's/.*{"id":1,[^}]*"nonzeros":\([0-9]*\).*/\1/p' "$T/out")
lw6=$(sed -n 's/.*{"id":1,[^}]*"wm6":\([0-9]*\).*/\1/p' "$T/out")
[ -n "$conv" ] && [ -n "$nz" ] && [ -n "$lw6" ] || fail "memory --json: no layer 1 in $(cat "$T/out")"
grep -q "label=\"$conv\\\\n.*-> \[$nz, $lw6\]" "$T/w6.dot" ||
    fail "--dot: layer $conv is not [$nz, $lw6] after pruning: $(grep "$conv" "$T/w6.dot")"
run 0 search --resume "$T/run"
[ "$(wc -l <"$T/run/trials.jsonl")" -eq 5 ] || fail "resuming a finished run added trials"
run 1 search "$T/tiny.yaml" --out "$T/run"
err_has "already holds a run"

# --seed replaces the config's: the run's config.yaml records it (and
# --print-config shows it), a resume takes the run's own seed only.
run 0 search "$T/tiny.yaml" --print-config --seed 11
out_has "seed: 11"
run 0 search "$T/tiny.yaml" --out "$T/seeded" --trials 1 --seed 11
grep -q '^seed: 11$' "$T/seeded/config.yaml" || fail "--seed 11: config.yaml has $(grep '^seed' "$T/seeded/config.yaml")"
run 1 search --resume "$T/seeded" --seed 12
err_has "seed 12, but the run was started with seed 11"
run 0 search --resume "$T/seeded" --seed 11 --trials 2
[ "$(wc -l <"$T/seeded/trials.jsonl")" -eq 2 ] || fail "resume with the run's seed did not continue"
run 2 search "$T/tiny.yaml" --out "$T/z" --seed -1

printf 'data: mnist\nspace:\n  filterz: [1, 2]\n' >"$T/bad.yaml"
run 1 search "$T/bad.yaml" --out "$T/x"
err_has "bad.yaml:3:3: space: unknown key 'filterz'"
run 2 search "$T/tiny.yaml"
err_has "missing --out"
run 2 search --trials zero "$T/tiny.yaml" --out "$T/y"
run 2 inspect
run 1 inspect "$T/nonexistent"
err_has "no such run directory"

[ $fails -eq 0 ] && echo "ok: sparsenas search/inspect"
exit $fails
