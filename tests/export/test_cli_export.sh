#!/bin/sh
# `sparsenas export` end to end on a tiny generated CSV data set: from trained
# weights and from a search's run directory (calibrated as the search did:
# the exported model's accuracy on the test split is the trial's recorded
# int8 test accuracy), the host and, with the Arm toolchain and qemu, the
# Cortex-M4 verification, builds for the other targets, errors; then the
# example firmware built and run by hand with the commands of docs/deploy.md.
set -u
SPARSE=$1
SRC=$2
. "$(dirname "$0")/../lib.sh"

arm=1
for t in arm-none-eabi-gcc arm-none-eabi-size arm-none-eabi-nm qemu-system-arm; do
    command -v "$t" >/dev/null 2>&1 || arm=0
done
[ $arm -eq 1 ] || echo "note: Arm toolchain or qemu missing: Cortex-M checks skipped"

# From trained weights.
two_class_fixture "$T"
run 0 train "$T/a.yaml" --data "$T/d.csv" --val 50 --epochs 2 --save "$T/w.safetensors"
run 0 export "$T/a.yaml" --weights "$T/w.safetensors" --data "$T/d.csv" --val 50 --out "$T/m" \
    --prefix tiny --verify 0 --json
for k in '"schema":1,"command":"export"' '"prefix":"tiny"' '"target":"host"' '"logit_mismatches":0' '"label_mismatches":0' \
         '"arena_bytes":' '"predicted":' '"exported":'; do
    out_has "$k"
done
[ -f "$T/m/tiny.h" ] && [ -f "$T/m/tiny.c" ] || fail "tiny.h or tiny.c not written"
grep -q "^#define TINY_ARENA_SIZE " "$T/m/tiny.h" || fail "tiny.h lacks TINY_ARENA_SIZE"
# The architecture stored in the weights file serves as well.
run 0 export --weights "$T/w.safetensors" --data "$T/d.csv" --val 50 --out "$T/m2"
out_has "exported        $T/m2/model.h"

if [ $arm -eq 1 ]; then
    run 0 export "$T/a.yaml" --weights "$T/w.safetensors" --data "$T/d.csv" --val 50 --out "$T/m" \
        --prefix tiny --target cortex-m4 --verify 40
    out_has "verified        40 test images on qemu mps2-an386 (Cortex-M4): 0 logit mismatches"
    out_has "instructions    "
    out_has "model RAM       "
    for t in cortex-m0plus cortex-m7; do
        run 0 export "$T/a.yaml" --weights "$T/w.safetensors" --data "$T/d.csv" --val 50 --out "$T/m" \
            --prefix tiny --target $t --json
        out_has '"object":{"text":'
    done
    run 1 export "$T/a.yaml" --weights "$T/w.safetensors" --data "$T/d.csv" --val 50 --out "$T/m" \
        --target cortex-m7 --verify 5
    err_has "runs on the host or on cortex-m4"
fi

# Input downsampling as data acquisition: the model takes the 2x2 image after
# the input's average pooling (node 1) and leaves that step out; verified on
# the library's pooled int8 images, host and (with qemu) Cortex-M4.
cat >"$T/ds.yaml" <<'YAML'
input: [1, 4, 4]
classes: 2
layers:
  - {type: avgpool, name: input_pool, size: 2}
  - {type: conv2d, name: c1, filters: 4, kernel: 2, padding: same}
  - {type: relu}
  - {type: fc, name: out, units: 2}
YAML
run 0 train "$T/ds.yaml" --data "$T/d.csv" --val 50 --epochs 2 --save "$T/ds.safetensors"
run 0 export "$T/ds.yaml" --weights "$T/ds.safetensors" --data "$T/d.csv" --val 50 --out "$T/acq" \
    --input-downsampling acquisition --verify 0 --json
for k in '"input":[1,2,2]' '"input_node":1' '"logit_mismatches":0' '"label_mismatches":0'; do
    out_has "$k"
done
grep -q "^#define MODEL_INPUT_SIZE 4$" "$T/acq/model.h" || fail "model.h: the input is not the pooled 2x2 image"
grep -q "^#define MODEL_INPUT_NODE 1$" "$T/acq/model.h" || fail "model.h lacks MODEL_INPUT_NODE"
grep -q "SPARSE_Q8_WITH_AVGPOOL 0" "$T/acq/model.c" || fail "model.c still compiles the input's pooling"
run 0 export "$T/ds.yaml" --weights "$T/ds.safetensors" --data "$T/d.csv" --val 50 --out "$T/net" --json
out_has '"input":[1,4,4]'
out_has '"input_node":0'
grep -q "SPARSE_Q8_WITH_AVGPOOL 1" "$T/net/model.c" || fail "model.c lacks the input's pooling"
if [ $arm -eq 1 ]; then
    run 0 export "$T/ds.yaml" --weights "$T/ds.safetensors" --data "$T/d.csv" --val 50 --out "$T/acq" \
        --input-downsampling acquisition --target cortex-m4 --verify 40
    out_has "verified        40 test images on qemu mps2-an386 (Cortex-M4): 0 logit mismatches"
fi
# A network whose raw image is also read elsewhere cannot take the pooled one alone.
cat >"$T/both.yaml" <<'YAML'
input: [1, 4, 4]
classes: 2
layers:
  - {type: avgpool, name: input_pool, size: 2}
  - {type: fc, name: a, units: 2}
  - {type: fc, name: b, units: 2, input: input}
  - {type: merge, name: m, mode: sum, input: [a, b]}
YAML
run 0 train "$T/both.yaml" --data "$T/d.csv" --val 50 --epochs 1 --save "$T/both.safetensors"
run 1 export "$T/both.yaml" --weights "$T/both.safetensors" --data "$T/d.csv" --val 50 --out "$T/o" \
    --input-downsampling acquisition
err_has "needs one downsampled image read by the network"
run 2 export "$T/ds.yaml" --weights "$T/ds.safetensors" --data "$T/d.csv" --out "$T/o" --input-downsampling dma

# Errors.
run 2 export "$T/a.yaml" --weights "$T/w.safetensors" --data "$T/d.csv"
err_has "missing --out DIR"
run 2 export "$T/a.yaml" --out "$T/o"
err_has "needs RUN_DIR --trial ID, or --weights W and --data SPEC"
run 2 export "$T/a.yaml" --weights "$T/w.safetensors" --data "$T/d.csv" --out "$T/o" --target avr
err_has "--target must be host, cortex-m0plus, cortex-m4 or cortex-m7, not 'avr'"
run 1 export "$T/a.yaml" --weights "$T/w.safetensors" --data "$T/d.csv" --val 50 --out "$T/o" --prefix 2fast
err_has "C prefix '2fast'"

# From a run directory: the trial's int8 test accuracy as the search recorded it
# (not in $want or $got: run() uses those).
tiny_csv "$T/tiny.csv" 5
tiny_search_config "$T/tiny.csv" "$T/search.yaml"
run 0 search "$T/search.yaml" --out "$T/run" -q
run 0 inspect "$T/run" --all --json
rec=$(tr '}' '\n' <"$T/out" | grep '"id":3,')
expected=$(echo "$rec" | sed -n 's/.*"int8_test_accuracy":\([0-9.]*\).*/\1/p')
[ -n "$expected" ] || fail "trial 3 has no int8_test_accuracy: $rec"
run 0 export "$T/run" --trial 3 --out "$T/run-out" --verify 0 --json
out_has '"split":"test"'
out_has '"logit_mismatches":0'
measured=$(sed -n 's/.*"verify":{[^}]*"accuracy":\([0-9.e-]*\),.*/\1/p' "$T/out")
[ -n "$measured" ] && awk -v a="$measured" -v b="$expected" 'BEGIN { exit !(a - b < 1e-6 && b - a < 1e-6) }' ||
    fail "exported accuracy $measured differs from the trial's int8 test accuracy $expected"
run 1 export "$T/run" --trial 99 --out "$T/o"
err_has "has no trial 99"

# The example firmware by hand, as docs/deploy.md shows it.
if [ $arm -eq 1 ]; then
    cd "$T" || exit 1
    arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -Os --specs=rdimon.specs -T "$SRC/examples/deploy/board.ld" \
        -DSPARSE_MODEL=tiny -DSPARSE_MODEL_UPPER=TINY -DSPARSE_MODEL_HEADER='"tiny.h"' -Im \
        "$SRC/examples/deploy/main.c" "$SRC/examples/deploy/startup.c" m/tiny.c -o fw.elf ||
        fail "the example firmware does not build"
    head -c 48 /dev/zero >images.bin # three all-zero 1x4x4 images
    qemu-system-arm -M mps2-an386 -nographic -semihosting-config enable=on,target=native,arg=fw,arg=images.bin \
        -icount shift=0 -kernel fw.elf </dev/null >fw.out 2>&1 || { fail "the example firmware failed"; cat fw.out; }
    grep -q "^# images 3" fw.out || { fail "the example firmware did not run 3 images"; cat fw.out; }
    [ "$(wc -c <results.bin)" -eq 9 ] || fail "results.bin should hold 3 x (1 + 2) bytes"
fi
exit $((fails > 0))
