#!/bin/sh
# `sparse train`: JSON output, weights file, exit statuses and messages.
set -eu
sparse="$1"
. "$(dirname "$0")/../lib.sh"
dir=$T
fail() { echo "FAIL: $*"; exit 1; }

two_class_fixture "$dir"
"$sparse" train "$dir/a.yaml" --data "$dir/d.csv" --epochs 3 --batch 16 --lr 0.01 --val 30 --json \
    --save "$dir/w.safetensors" > "$dir/out" 2> "$dir/err" || { cat "$dir/err"; fail "train failed"; }
last=$(tail -n 1 "$dir/out")
for key in train_images_per_s val_accuracy test_accuracy params; do
    echo "$last" | grep -q "\"$key\": " || fail "no $key in: $last"
done
[ -s "$dir/w.safetensors" ] || fail "no weights file"
[ ! -s "$dir/err" ] || fail "stderr is not a terminal, yet got: $(cat "$dir/err")"

# --init: zero epochs from the saved weights evaluate exactly as the trained network
acc() { sed -n 's/.*"val_accuracy": \([0-9.]*\).*/\1/p' "$1" | tail -n 1; }
"$sparse" train "$dir/a.yaml" --data "$dir/d.csv" --epochs 0 --batch 16 --val 30 --json \
    --init "$dir/w.safetensors" > "$dir/out0" 2> "$dir/err" || { cat "$dir/err"; fail "train --init failed"; }
[ "$(acc "$dir/out")" = "$(acc "$dir/out0")" ] || fail "--init: val accuracy $(acc "$dir/out0") != trained $(acc "$dir/out")"
set +e
"$sparse" train "$dir/a.yaml" --data "$dir/d.csv" --val 30 --init "$dir/missing.safetensors" 2> "$dir/err"; rc=$?
set -e
[ $rc -eq 1 ] || fail "missing --init file: exit $rc, expected 1"
grep -q "^sparse: error: .*missing.safetensors" "$dir/err" || fail "--init message: $(cat "$dir/err")"

# a bad architecture: exit 1, file:line and layer in the message
printf 'input: [1, 4, 4]\nclasses: 2\nlayers:\n  - {type: conv2d, name: big, filters: 2, kernel: 5, padding: valid}\n  - {type: fc, units: 2}\n' > "$dir/bad.yaml"
set +e
"$sparse" train "$dir/bad.yaml" --data "$dir/d.csv" 2> "$dir/err"; rc=$?
set -e
[ $rc -eq 1 ] || fail "bad architecture: exit $rc, expected 1"
grep -q "^sparse: error: .*bad.yaml:4:5: layer 'big'" "$dir/err" || fail "message: $(cat "$dir/err")"

# usage errors: exit 2
set +e
"$sparse" train "$dir/a.yaml" --data "$dir/d.csv" --optimizer rmsprop 2> "$dir/err"; rc=$?
set -e
[ $rc -eq 2 ] || fail "unknown optimizer: exit $rc, expected 2"
echo "ok"
