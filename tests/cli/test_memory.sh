#!/bin/sh
# `sparsenas memory` (and `sparsenas eval`) on the example architectures: the
# figures of docs/memory.md, JSON keys, exit statuses (0 ok, 1 error,
# 2 usage). No network: weights come from `sparsenas train --epochs 0` on a
# tiny generated CSV.
set -u
SPARSE=$1
SRC=$2
. "$(dirname "$0")/../lib.sh"

TINY=$SRC/examples/arch/tiny-cnn.yaml

# docs/memory.md section 3 (dense: no weights given).
run 0 memory "$TINY" --json
out_has '"ms_bytes":9098,"wm5_bytes":8634,"wm6_bytes":7840,"wm5_argmax":"fc","wm6_argmax":"pool1"'
out_has '"flash_bytes":9690,"arena_bytes":18816'
out_has '"layers":[{"id":1,"name":"conv1","kind":"conv"'
out_has '"name":"fc","kind":"fc","inputs":["pool2"],"input_count":784'
out_has '"beyond_paper":['
[ "$(wc -l <"$T/out")" -eq 1 ] || fail "--json prints more than one line"
if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["command"] == "memory"; assert len(d["report"]["layers"]) == 5, d' \
        "$T/out" || fail "--json is not valid JSON with 5 layers"
fi

run 0 memory "$TINY" --json --scratch none
out_has '"arena_bytes":7840'

run 0 memory "$TINY"
out_has 'conv2          conv           1568     3136     1168     1168     2736     4704'
out_has 'MS   model size, eq. (4)             9098 B'
out_has 'WM5  working memory, eq. (5)         8634 B  (8.43 KB) at fc'
out_has 'WM6  working memory, eq. (6)         7840 B  (7.66 KB) at pool1'
out_has 'Beyond the paper'
out_has 'deploy arena (peak RAM)             18816 B'

run 0 memory "$SRC/examples/arch/lenet5.yaml" --json
out_has '"ms_bytes":431080,"wm5_bytes":401300,"wm6_bytes":14400,"wm5_argmax":"fc1"'

run 0 memory "$SRC/examples/arch/all-layers.yaml" --json
out_has '"ms_bytes":25470,"wm5_bytes":12968,"wm6_bytes":4704'
out_has '"flash_bytes":27838,'
out_has '"input_downsampling":"network","acquired":[]'

# Input downsampling as data acquisition (docs/memory.md): `down` (784 -> 196)
# is no layer; MS and WM do not move here (down was not the maximum), the
# flash loses down's 40 B step.
run 0 memory "$SRC/examples/arch/all-layers.yaml" --json --input-downsampling acquisition
out_has '"ms_bytes":25470,"wm5_bytes":12968,"wm6_bytes":4704'
out_has '"flash_bytes":27798,'
out_has '"input_downsampling":"acquisition","acquired":["down"]'
grep -qF '"name":"down"' "$T/out" && fail 'an acquired node is listed as a layer'
run 0 memory "$SRC/examples/arch/all-layers.yaml" --input-downsampling acquisition
out_has 'down: input downsampling 784 -> 196 values, counted as data acquisition'
run 2 memory "$SRC/examples/arch/all-layers.yaml" --input-downsampling sensor

# Weights from a file, on a small 1x4x4 network trained for 0 epochs: freshly
# initialised biases are zero and do not count. Dense: conv 2*9 + 2 = 20,
# fc 2*8 + 2 = 18, MS 38; from the file 38 - 4 = 34. The CSV (10000 images:
# 2000 test, 5000 validation, 3000 training) has two classes, bright left or right half.
cat >"$T/small.yaml" <<'YAML'
input: [1, 4, 4]
classes: 2
layers:
  - {type: conv2d, name: c1, filters: 2, kernel: 3, padding: same}
  - {type: relu, name: r1}
  - {type: maxpool, name: p1, size: 2}
  - {type: fc, name: f, units: 2}
YAML
awk 'BEGIN { srand(7); for (i = 0; i < 10000; i++) { l = i % 2; printf "%d", l;
       for (p = 0; p < 16; p++) { left = (p % 4) < 2; v = (left == l) ? 200 : 30;
         printf ",%d", v + int(rand() * 40) } printf "\n" } }' >"$T/small.csv"
run 0 memory "$T/small.yaml" --json
out_has '"ms_bytes":38,'
run 0 train "$T/small.yaml" --data "$T/small.csv" --epochs 0 --save "$T/w0.safetensors"
run 0 memory "$T/small.yaml" --weights "$T/w0.safetensors" --json
out_has '"ms_bytes":34,'
# The architecture stored in the weights file (a compacted network's).
run 0 memory --weights "$T/w0.safetensors" --json
out_has '"ms_bytes":34,'

# sparsenas eval: float and int8 accuracy of a briefly trained small network.
run 0 train "$T/small.yaml" --data "$T/small.csv" --epochs 2 --save "$T/w2.safetensors"

# Activation sparsity over the validation images (the numbers themselves are
# checked in tests/memory/test_activations.c on a network built to have them):
# c1 reads the image, whose 16 normalised pixels are never exactly zero.
run 0 memory "$T/small.yaml" --weights "$T/w2.safetensors" --data "$T/small.csv" --images 300 --json
out_has '"activation_nonzeros":{"split":"validation","images":300,"layers":[{"name":"c1","input_count":16,"mean":16,"max":16}'
if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["activation_nonzeros"]["layers"]
assert [l["name"] for l in d] == ["c1", "p1", "f"], d
assert all(0 <= l["mean"] <= l["max"] <= l["input_count"] for l in d), d' "$T/out" ||
        fail "memory --data: not valid JSON or a count out of range"
fi
run 0 memory "$T/small.yaml" --weights "$T/w2.safetensors" --data "$T/small.csv" --images 300
out_has 'nz(x) avg'
out_has 'over 300 validation images'
run 0 eval "$T/small.yaml" --weights "$T/w2.safetensors" --data "$T/small.csv" --int8 --json
out_has '"split":"test","images":2000,"test_accuracy":'
out_has '"int8_test_accuracy":'
if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
assert d["schema"] == 1 and d["command"] == "eval", d
assert d["test_accuracy"] > 0.9, d
assert abs(d["int8_test_accuracy"] - d["test_accuracy"]) <= 0.02, d' "$T/out" ||
        fail "eval --int8: accuracy too low or int8 too far from float"
fi
# Training with moved images (--shift): the library checks the shift against the image.
run 0 train "$T/small.yaml" --data "$T/small.csv" --epochs 1 --shift 1 --json
out_has '"test_accuracy":'
run 2 train "$T/small.yaml" --data "$T/small.csv" --shift -1
err_has "--shift must be an integer in [0, 64], not '-1'"
run 1 train "$T/small.yaml" --data "$T/small.csv" --shift 4
err_has "max_shift 4 must be below the image size 4x4"
run 0 eval --weights "$T/w2.safetensors" --data "$T/small.csv" --int8 --calib 10
out_has 'float accuracy'
out_has 'int8 accuracy'
out_has 'calibrated on 10 training images'
run 2 eval "$T/small.yaml" --data "$T/small.csv"
err_has 'missing --weights'
run 2 eval "$T/small.yaml" --weights "$T/w2.safetensors"
err_has 'missing --data'
run 2 eval "$T/small.yaml" --weights "$T/w2.safetensors" --data "$T/small.csv" --calib -1
run 1 eval "$T/small.yaml" --weights "$T/nope.safetensors" --data "$T/small.csv"
err_has 'sparsenas: error: --weights'

# Errors and usage.
run 2 memory
err_has 'missing ARCH.yaml'
run 2 memory "$TINY" --scratch huge
err_has '--scratch must be im2col, cmsis or none'
run 2 memory "$TINY" --bogus
run 2 memory "$TINY" --weights
run 1 memory "$T/nope.yaml"
err_has 'sparsenas: error: architecture'
run 1 memory "$SRC/examples/arch/lenet5.yaml" --weights "$T/w0.safetensors"
err_has 'sparsenas: error: --weights'
run 0 memory --help
out_has 'Usage: sparsenas memory'

[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "all cli-memory checks passed"
