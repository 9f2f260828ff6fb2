#!/bin/sh
# Builds bench_kernels_m4.c with the example firmware's start-up code and
# linker script and runs it under qemu's Cortex-M4 with -icount shift=0:
# instructions per MAC of the exported models' direct convolution against
# an im2col kernel. Skips (exit 77) without gcc-arm-none-eabi or qemu.
set -eu
SRC=$1
for t in arm-none-eabi-gcc qemu-system-arm; do
    command -v "$t" >/dev/null 2>&1 || { echo "SKIP: $t not found"; exit 77; }
done
T=$(mktemp -d "${TMPDIR:-/tmp}/sparse-bench.XXXXXX")
trap 'rm -rf "$T"' EXIT
arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -Os --specs=rdimon.specs -I"$SRC/lib" \
    -T "$SRC/examples/deploy/board.ld" "$SRC/tests/bench/export/bench_kernels_m4.c" \
    "$SRC/examples/deploy/startup.c" -o "$T/bench.elf"
qemu-system-arm -M mps2-an386 -nographic -semihosting-config enable=on,target=native \
    -icount shift=0 -kernel "$T/bench.elf" </dev/null
