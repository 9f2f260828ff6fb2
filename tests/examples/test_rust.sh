#!/bin/sh
# Builds and runs the Rust example offline against the build tree's
# libsparse; skips (77) where cargo is missing.
set -u
SRC=$1
LIBDIR=$2
command -v cargo >/dev/null 2>&1 || { echo "SKIP: cargo not installed"; exit 77; }
T=$(mktemp -d "${TMPDIR:-/tmp}/sparse-rust.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
SPARSE_LIB_DIR="$LIBDIR" cargo build --offline --quiet --manifest-path "$SRC/examples/rust/Cargo.toml" \
    --target-dir "$T/target" || { echo "FAIL: cargo build"; exit 1; }
LD_LIBRARY_PATH="$LIBDIR" "$T/target/debug/sparse-example" >"$T/out" 2>&1 || { cat "$T/out"; echo "FAIL: run"; exit 1; }
cat "$T/out"
for s in "libsparse " "test accuracy:" "MS " "a bad architecture is refused:"; do
    grep -qF "$s" "$T/out" || { echo "FAIL: output lacks '$s'"; exit 1; }
done
echo "ok: rust example"
