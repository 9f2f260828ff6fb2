#!/bin/sh
# `sparse train`: JSON output, weights file, exit statuses and messages.
set -eu
sparse="$1"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# 300 images of 4x4: class 1 is brighter on the left half.
awk 'BEGIN { srand(7); for (i = 0; i < 300; i++) { c = i % 2; printf "%d", c;
     for (p = 0; p < 16; p++) printf ",%d", int(rand() * 100) + ((p % 4) < 2 && c ? 120 : 0); printf "\n" } }' \
    > "$dir/d.csv"
cat > "$dir/a.yaml" <<'YAML'
input: [1, 4, 4]
classes: 2
layers:
  - {type: conv2d, name: c1, filters: 4, kernel: 3}
  - {type: relu}
  - {type: fc, name: out, units: 2}
YAML
"$sparse" train "$dir/a.yaml" --data "$dir/d.csv" --epochs 3 --batch 16 --lr 0.01 --val 30 --json \
    --save "$dir/w.safetensors" > "$dir/out" 2> "$dir/err" || { cat "$dir/err"; fail "train failed"; }
last=$(tail -n 1 "$dir/out")
for key in train_images_per_s val_accuracy test_accuracy params; do
    echo "$last" | grep -q "\"$key\": " || fail "no $key in: $last"
done
[ -s "$dir/w.safetensors" ] || fail "no weights file"
[ ! -s "$dir/err" ] || fail "stderr is not a terminal, yet got: $(cat "$dir/err")"

# a bad architecture: exit 1, file:line and layer in the message
printf 'input: [1, 4, 4]\nclasses: 2\nlayers:\n  - {type: conv2d, name: big, filters: 2, kernel: 5, padding: valid}\n  - {type: fc, units: 2}\n' > "$dir/bad.yaml"
set +e
"$sparse" train "$dir/bad.yaml" --data "$dir/d.csv" 2> "$dir/err"; rc=$?
set -e
[ $rc -eq 1 ] || fail "bad architecture: exit $rc, expected 1"
grep -q "^sparse: error: .*bad.yaml:4: layer 'big'" "$dir/err" || fail "message: $(cat "$dir/err")"

# usage errors: exit 2
set +e
"$sparse" train "$dir/a.yaml" --data "$dir/d.csv" --optimizer rmsprop 2> "$dir/err"; rc=$?
set -e
[ $rc -eq 2 ] || fail "unknown optimizer: exit $rc, expected 2"
echo "ok"
