#!/bin/sh
# `sparse train --prune`: JSON fields, compacted architecture, bad values.
set -u
SPARSE=$1
. "$(dirname "$0")/../lib.sh"

two_class_fixture "$T"
for m in spvd bc none; do
    run 0 train "$T/a.yaml" --data "$T/d.csv" --val 30 --epochs 2 --batch 16 --lr 0.01 --json --prune $m \
        --anneal-epochs 1 --finetune-epochs 1 --save-arch "$T/c.yaml" --save-posterior "$T/p.safetensors"
    last=$(tail -n 1 "$T/out")
    for key in nonzero_weights total_weights layers channels_kept kept test_accuracy; do
        echo "$last" | grep -q "\"$key\":" || fail "$m: no $key in: $last"
    done
    echo "$last" | grep -q "\"prune\":{\"method\":\"$m\"" || fail "$m: no prune field"
    [ -s "$T/c.yaml" ] || fail "$m: no compacted architecture"
    cp "$T/out" "$T/pruned"
    run 0 train "$T/c.yaml" --data "$T/d.csv" --val 30 --epochs 0 --json
done
grep -q '"compacted_arch":null' "$T/pruned" || fail "none: compacted_arch is for bc only (null)"
run 0 train "$T/a.yaml" --data "$T/d.csv" --val 30 --epochs 1 --json --prune bc
out_has '"compacted_arch":{'
run 0 train "$T/a.yaml" --data "$T/d.csv" --val 30 --epochs 1 --json
out_has '"prune":null' 

# everything pruned: exit 1 with a clear message
run 1 train "$T/a.yaml" --data "$T/d.csv" --val 30 --epochs 1 --prune bc --threshold -20
err_has "every channel"
# bad values: usage errors
for bad in "--prune magic" "--threshold nan" "--threshold inf" "--zero-epochs -1" "--anneal-epochs -2" \
           "--finetune-epochs -1" "--kl-weight -1"; do
    # shellcheck disable=SC2086
    run 2 train "$T/a.yaml" --data "$T/d.csv" --val 30 $bad
    err_has "${bad%% *} must be"
done

[ $fails -eq 0 ] && echo "ok: sparse train --prune"
exit $fails
