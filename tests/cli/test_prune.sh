#!/bin/sh
# `sparse train --prune`: JSON fields, compacted architecture, bad values.
set -eu
sparse="$1"
. "$(dirname "$0")/../lib.sh"
dir=$T
fail() { echo "FAIL: $*"; exit 1; }

two_class_fixture "$dir"
for m in spvd bc none; do
    "$sparse" train "$dir/a.yaml" --data "$dir/d.csv" --val 30 --epochs 2 --batch 16 --lr 0.01 --json --prune $m \
        --anneal-epochs 1 --finetune-epochs 1 --save-arch "$dir/c.yaml" --save-posterior "$dir/p.safetensors" \
        > "$dir/out" 2> "$dir/err" || { cat "$dir/err"; fail "$m failed"; }
    last=$(tail -n 1 "$dir/out")
    for key in nonzero_weights total_weights layers channels_kept kept test_accuracy; do
        echo "$last" | grep -q "\"$key\": " || fail "$m: no $key in: $last"
    done
    echo "$last" | grep -q "\"prune\": \"$m\"" || fail "$m: no prune field"
    [ -s "$dir/c.yaml" ] || fail "$m: no compacted architecture"
    "$sparse" train "$dir/c.yaml" --data "$dir/d.csv" --val 30 --epochs 0 --json > /dev/null || fail "$m: compacted arch unusable"
done
echo "$last" | grep -q "compacted_arch" && fail "none: compacted_arch is for bc only"
"$sparse" train "$dir/a.yaml" --data "$dir/d.csv" --val 30 --epochs 1 --json --prune bc > "$dir/out"
grep -q "compacted_arch" "$dir/out" || fail "bc: no compacted_arch"

# everything pruned: exit 1 with a clear message
set +e
"$sparse" train "$dir/a.yaml" --data "$dir/d.csv" --val 30 --epochs 1 --prune bc --threshold -20 2> "$dir/err"; rc=$?
set -e
[ $rc -eq 1 ] || fail "prune everything: exit $rc, expected 1"
grep -q "every channel" "$dir/err" || fail "message: $(cat "$dir/err")"
# bad values: usage errors
for bad in "--prune magic" "--threshold nan" "--threshold inf" "--zero-epochs -1" "--anneal-epochs -2" \
           "--finetune-epochs -1" "--kl-weight -1"; do
    set +e
    # shellcheck disable=SC2086
    "$sparse" train "$dir/a.yaml" --data "$dir/d.csv" --val 30 $bad 2> "$dir/err"; rc=$?
    set -e
    [ $rc -eq 2 ] || fail "$bad: exit $rc, expected 2"
done
echo "ok"
