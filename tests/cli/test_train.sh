#!/bin/sh
# `sparsenas train`: JSON output, weights file, exit statuses and messages.
set -u
SPARSE=$1
. "$(dirname "$0")/../lib.sh"

two_class_fixture "$T"
run 0 train "$T/a.yaml" --data "$T/d.csv" --epochs 3 --batch 16 --lr 0.01 --val 30 --json \
    --save "$T/w.safetensors"
last=$(tail -n 1 "$T/out")
for key in train_images_per_s val_accuracy test_accuracy params; do
    echo "$last" | grep -q "\"$key\":" || fail "no $key in: $last"
done
[ -s "$T/w.safetensors" ] || fail "no weights file"
err_empty # stderr is not a terminal: no progress line
cp "$T/out" "$T/trained"

# --init: zero epochs from the saved weights evaluate exactly as the trained network
acc() { sed -n 's/.*"val_accuracy":\([0-9.e-]*\).*/\1/p' "$1" | tail -n 1; }
run 0 train "$T/a.yaml" --data "$T/d.csv" --epochs 0 --batch 16 --val 30 --json --init "$T/w.safetensors"
[ "$(acc "$T/trained")" = "$(acc "$T/out")" ] ||
    fail "--init: val accuracy $(acc "$T/out") != trained $(acc "$T/trained")"
run 1 train "$T/a.yaml" --data "$T/d.csv" --val 30 --init "$T/missing.safetensors"
grep -q "^sparsenas: error: .*missing.safetensors" "$T/err" || fail "--init message: $(cat "$T/err")"

# a bad architecture: exit 1, file:line and layer in the message
printf 'input: [1, 4, 4]\nclasses: 2\nlayers:\n  - {type: conv2d, name: big, filters: 2, kernel: 5, padding: valid}\n  - {type: fc, units: 2}\n' >"$T/bad.yaml"
run 1 train "$T/bad.yaml" --data "$T/d.csv"
grep -q "^sparsenas: error: .*bad.yaml:4:5: layer 'big'" "$T/err" || fail "message: $(cat "$T/err")"

# on a terminal (script(1) gives one), the progress line says the epoch of
# how many and the time left; redirected, there is none
if command -v script >/dev/null 2>&1; then
    script -qec "'$SPARSE' train '$T/a.yaml' --data '$T/d.csv' --epochs 2 --batch 16 --val 30" /dev/null \
        >"$T/tty" 2>&1 </dev/null || fail "train on a terminal: $(cat "$T/tty")"
    grep -q "epoch 2 of 2  batch" "$T/tty" || fail "the progress line lacks 'epoch 2 of 2': $(cat "$T/tty")"
    grep -q "s left" "$T/tty" || fail "the progress line lacks the time left"
else
    echo "note: script(1) missing, the terminal progress line is not checked"
fi
run 0 train "$T/a.yaml" --data "$T/d.csv" --epochs 1 --batch 16 --val 30
grep -q "epoch" "$T/err" && fail "a progress line on a redirected stderr"

# usage errors: exit 2
run 2 train "$T/a.yaml" --data "$T/d.csv" --optimizer rmsprop
run 2 train "$T/a.yaml"
err_has "missing --data"

[ $fails -eq 0 ] && echo "ok: sparsenas train"
exit $fails
