#!/bin/sh
# `sparsenas train --prune`: JSON fields, compacted architecture, bad values.
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

# --thresholds: each candidate measured on the validation images, the most
# accurate kept (ties: fewer non-zeros); with --max-nonzeros below all but the
# sparsest, the sparsest. Then fine-tuning at --finetune-lr-scale times --lr.
check_sweep() { # FILE BOUND
    python3 -c 'import json,sys; d=json.loads(open(sys.argv[1]).read().splitlines()[-1]); b=int(sys.argv[2])
p=d["prune"]; s=p["threshold_sweep"]; assert [r["threshold"] for r in s] == [3, 0, -3], s
fit=[r for r in s if b == 0 or r["nonzero_weights"] <= b] or [min(s, key=lambda r: r["nonzero_weights"])]
best=max(fit, key=lambda r: (r["val_accuracy"], -r["nonzero_weights"]))
assert p["threshold"] == best["threshold"], (p["threshold"], best)
assert p["nonzero_weights"] <= best["nonzero_weights"] and p["finetune_lr_scale"] == 0.3, d
assert d["epochs"] == 2 and d["final_loss"] > 0, d' "$1" "$2" ||
        fail "--thresholds $2: not the documented choice: $(tail -n 1 "$1")"
}
if command -v python3 >/dev/null 2>&1; then
    run 0 train "$T/a.yaml" --data "$T/d.csv" --val 30 --epochs 2 --batch 16 --lr 0.01 --json --prune spvd \
        --anneal-epochs 1 --thresholds 3,0,-3 --finetune-epochs 1 --finetune-lr-scale 0.3
    err_has "chosen on the validation images"
    check_sweep "$T/out" 0
    fewest=$(python3 -c 'import json,sys; print(min(r["nonzero_weights"] for r in json.loads(open(sys.argv[1]).read().splitlines()[-1])["prune"]["threshold_sweep"]))' "$T/out")
    run 0 train "$T/a.yaml" --data "$T/d.csv" --val 30 --epochs 2 --batch 16 --lr 0.01 --json --prune spvd \
        --anneal-epochs 1 --thresholds 3,0,-3 --max-nonzeros "$fewest" --finetune-epochs 1 --finetune-lr-scale 0.3
    check_sweep "$T/out" "$fewest"
fi
run 2 train "$T/a.yaml" --data "$T/d.csv" --val 30 --epochs 1 --prune spvd --thresholds 1,x
err_has "--thresholds must be up to 32 numbers"
run 2 train "$T/a.yaml" --data "$T/d.csv" --val 30 --epochs 1 --prune spvd --thresholds 1 --threshold 2
err_has "exclude each other"
run 2 train "$T/a.yaml" --data "$T/d.csv" --val 0 --epochs 1 --prune spvd --thresholds 1
err_has "needs validation images"
run 2 train "$T/a.yaml" --data "$T/d.csv" --val 30 --epochs 1 --prune spvd --finetune-lr-scale 0
err_has "--finetune-lr-scale must be"

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

[ $fails -eq 0 ] && echo "ok: sparsenas train --prune"
exit $fails
