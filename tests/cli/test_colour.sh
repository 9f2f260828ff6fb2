#!/bin/sh
# Colour images end to end: a small 32x32x3 data set generated here, searched
# from a CSV file (values pixel by pixel, the label last) and from a directory
# of 4-D IDX files, the shape given in the config; a relative data path taken
# from the config file's directory, resumed from elsewhere; `eval RUN --trial`
# on the run's own split; train and eval with --shape/--layout/--label-column.
set -u
SPARSE=$1
. "$(dirname "$0")/../lib.sh"

# colour_rows N SEED: N rows "v0,...,v3071,label" of 32x32x3 images, values
# 1..255 pixel by pixel (R, G, B); class c has channel c brighter in a
# centred square.
colour_rows() {
    awk -v n="$1" -v seed="$2" 'BEGIN { srand(seed); for (i = 0; i < n; i++) { c = i % 3; s = "";
         for (y = 0; y < 32; y++) for (x = 0; x < 32; x++) for (k = 0; k < 3; k++) {
           on = k == c && x >= 8 && x < 24 && y >= 8 && y < 24;
           s = s int(1 + (on ? 120 : 30) + 100 * rand()) "," }
         print s c } }'
}
# idx4 ROWS IMAGES LABELS: the rows as a 4-D IDX images file (N x 32 x 32 x 3)
# and its labels file. The counts fit one byte (N < 256).
idx4() {
    n=$(wc -l <"$1")
    o=$(printf '%03o' "$n")
    { printf '\000\000\010\004\000\000\000'; printf "\\$o"; printf '\000\000\000\040\000\000\000\040\000\000\000\003'
      awk -F, '{ for (i = 1; i < NF; i++) printf "%c", $i + 0 }' "$1"; } >"$2"
    { printf '\000\000\010\001\000\000\000'; printf "\\$o"
      awk -F, '{ printf "%c", $NF + 1 }' "$1" | tr '\001\002\003' '\000\001\002'; } >"$3"
}
export LC_ALL=C
colour_rows 150 11 >"$T/colour.csv"
space='space: {blocks: [1, 1], layers_per_block: [1, 1], filters: [2, 3], kernel: [3, 3], pool: [2, 2],
        input_downsample: [false], branches: [false], fc_layers: [0, 0], epochs: [1, 1]}'
colour_config() { # SOURCE EXTRA-DATA-KEYS
    cat <<EOC
data: {source: "$1", val_count: 20, shape: [32, 32, 3]$2}
threads: 1
initial_trials: 2
candidates: 4
stages: [{trials: 2, rho: 0.8}, {trials: 0, rho: 0.8}, {trials: 0, rho: 0.8}]
training: {batch: 16}
$space
EOC
}

# What the reader sees, as a user checks it first.
run 0 data info "$T/colour.csv" --shape 32x32x3 --layout hwc --label-column 3072 --json
out_has '"images":150,"channels":3,"height":32,"width":32,"classes":3'
run 1 data info "$T/colour.csv"
err_has "do not make a square image; give the image shape"

# CSV: HWC values, label in the last column (3072).
colour_config "$T/colour.csv" ", layout: hwc, label_column: 3072" >"$T/csv.yaml"
run 0 search "$T/csv.yaml" --out "$T/run-csv"
grep -q '"status":"ok"' "$T/run-csv/trials.jsonl" || fail "no trial of the CSV search succeeded"
run 0 export-arch "$T/run-csv" --trial 0 -o "$T/t0.yaml"
grep -q 'input: \[3, 32, 32\]' "$T/t0.yaml" || { fail "the CSV search's networks do not take 3x32x32"; cat "$T/t0.yaml"; }
# Without the shape the row is no square grey image: told so.
sed 's/, shape: \[32, 32, 3\]//' "$T/csv.yaml" >"$T/noshape.yaml"
run 1 search "$T/noshape.yaml" --out "$T/run-noshape"
err_has "give the image shape"
# A shape that does not fit the row: the file and both counts.
sed 's/shape: \[32, 32, 3\]/shape: [32, 32, 1]/' "$T/csv.yaml" >"$T/badshape.yaml"
run 1 search "$T/badshape.yaml" --out "$T/run-badshape"
err_has "3072 pixel columns, but a 32x32x1 image (height x width x channels) needs 1024"
# A bad key is named at its place in the config.
sed 's/layout: hwc/layout: rgb/' "$T/csv.yaml" >"$T/badlayout.yaml"
run 1 search "$T/badlayout.yaml" --print-config
err_has "badlayout.yaml:1:"
err_has "data.layout"

# `eval RUN --trial` tests on the run's own split: the accuracy the run recorded.
id=$(grep '"status":"ok"' "$T/run-csv/trials.jsonl" | head -1 | sed 's/^{"id":\([0-9]*\),.*/\1/')
rec=$(grep "\"id\":$id," "$T/run-csv/trials.jsonl" | sed 's/.*"test_accuracy":\([0-9.e-]*\).*/\1/')
run 0 eval "$T/run-csv" --trial "$id" --json
got=$(sed 's/.*"test_accuracy":\([0-9.e-]*\).*/\1/' "$T/out")
awk -v a="$got" -v b="$rec" 'BEGIN { exit !(a - b < 1e-6 && b - a < 1e-6) }' ||
    fail "eval RUN --trial $id: test accuracy $got, the run recorded $rec"
out_has '"schema":1,"command":"eval","run":"'
run 2 eval "$T/run-csv" --trial 0 --weights "$T/w.safetensors"
err_has "--trial takes a run directory and no --weights"

# 4-D IDX: 120 training and 30 test images.
mkdir "$T/idx"
head -n 120 "$T/colour.csv" >"$T/train.rows"
tail -n 30 "$T/colour.csv" >"$T/test.rows"
idx4 "$T/train.rows" "$T/idx/train-images-idx4-ubyte" "$T/idx/train-labels-idx1-ubyte"
idx4 "$T/test.rows" "$T/idx/t10k-images-idx4-ubyte" "$T/idx/t10k-labels-idx1-ubyte"
[ "$(wc -c <"$T/idx/train-images-idx4-ubyte")" -eq $((20 + 120 * 3072)) ] || fail "idx4 wrote a file of the wrong size"
run 0 data info "$T/idx" --json
out_has '"format":"mnist-dir","images":150,"channels":3,"height":32,"width":32,"classes":3'
colour_config "$T/idx" "" >"$T/idx.yaml"
run 0 search "$T/idx.yaml" --out "$T/run-idx"
grep -q '"status":"ok"' "$T/run-idx/trials.jsonl" || fail "no trial of the IDX search succeeded"
run 0 export-arch "$T/run-idx" --trial 0 -o "$T/i0.yaml"
grep -q 'input: \[3, 32, 32\]' "$T/i0.yaml" || fail "the IDX search's networks do not take 3x32x32"
sed 's/shape: \[32, 32, 3\]/shape: [28, 28, 1]/' "$T/idx.yaml" >"$T/idx-bad.yaml"
run 1 search "$T/idx-bad.yaml" --out "$T/run-idx-bad"
err_has "images are 32x32x3 (height x width x channels), not 28x28x1 as given"

# A relative data path is the config file's neighbour, whatever the current
# directory; the run records it whole, so a resume from elsewhere finds it.
mkdir "$T/cfg" "$T/elsewhere"
colour_config "../colour.csv" ", layout: hwc, label_column: 3072" >"$T/cfg/rel.yaml"
(cd "$T/elsewhere" && "$SPARSE" search ../cfg/rel.yaml --out "$T/run-rel" --trials 1 >"$T/out" 2>"$T/err") ||
    { fail "search with a relative data path from another directory"; cat "$T/err"; }
grep -q "source: \"$(cd "$T" && pwd -P)/colour.csv\"" "$T/run-rel/config.yaml" || { fail "the run does not record the data path whole"; cat "$T/run-rel/config.yaml"; }
(cd / && "$SPARSE" search --resume "$T/run-rel" --trials 2 >"$T/out" 2>"$T/err") || { fail "resume from / "; cat "$T/err"; }
[ "$(grep -c '"id":' "$T/run-rel/trials.jsonl")" -eq 2 ] || fail "the resumed run does not hold 2 trials"

# train and eval read the same file with the same options; eval applies the
# normalisation stored with the weights.
cat >"$T/a.yaml" <<'YAML'
input: [3, 32, 32]
classes: 3
layers:
  - {type: conv2d, name: c1, filters: 2, kernel: 3, stride: 2}
  - {type: relu}
  - {type: fc, name: out, units: 3}
YAML
opts="--data $T/colour.csv --shape 32x32x3 --layout hwc --label-column 3072 --val 20"
run 0 train "$T/a.yaml" $opts --epochs 1 --save "$T/w.safetensors" --json
test_acc=$(sed 's/.*"test_accuracy":\([0-9.e-]*\).*/\1/' "$T/out")
run 0 eval "$T/a.yaml" --weights "$T/w.safetensors" $opts --json
got=$(sed 's/.*"test_accuracy":\([0-9.e-]*\).*/\1/' "$T/out")
[ "$got" = "$test_acc" ] || fail "eval gives $got on the test split train measured at $test_acc"
grep -aq '"input_mean":"' "$T/w.safetensors" || fail "the weights do not store the input normalisation"
# Another validation count leaves the CSV's test split (drawn first) as it was
# but changes the training split; the stored normalisation keeps eval's
# inputs as train's.
run 0 eval "$T/a.yaml" --weights "$T/w.safetensors" --data "$T/colour.csv" --shape 32x32x3 --layout hwc \
    --label-column 3072 --val 50 --json
got=$(sed 's/.*"test_accuracy":\([0-9.e-]*\).*/\1/' "$T/out")
[ "$got" = "$test_acc" ] || fail "eval with --val 50 gives $got, train measured $test_acc"
# The stored mean is the one eval uses: made absurd (same length, the header
# unchanged otherwise), it changes the accuracy.
if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import re, sys
b = open(sys.argv[1], "rb").read()
m = re.search(rb"\"input_mean\":\"([^\"]*)\"", b)
open(sys.argv[2], "wb").write(b[:m.start(1)] + b"9" * len(m.group(1)) + b[m.end(1):])' \
        "$T/w.safetensors" "$T/w-mean.safetensors" || fail "could not edit the stored mean"
    run 0 eval "$T/a.yaml" --weights "$T/w-mean.safetensors" $opts --json
    got=$(sed 's/.*"test_accuracy":\([0-9.e-]*\).*/\1/' "$T/out")
    [ "$got" != "$test_acc" ] || fail "eval ignores the normalisation stored with the weights"
fi
run 2 train "$T/a.yaml" --data "$T/colour.csv" --shape 32x32
err_has "look like 32x32x3"
run 2 train "$T/a.yaml" --data "$T/colour.csv" --layout rgb
err_has "--layout"

[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "all colour data tests passed"
