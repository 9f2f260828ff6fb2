#!/bin/sh
# Builds the Rust example (the calls of the C examples: training, classifying
# a saved network, a search with a callback and its front) offline against an
# installed copy of libsparse (meson install --destdir; build.rs asks
# pkg-config, pointed at the staged sparse.pc) and runs it on that copy;
# skips (77) where cargo is missing.
set -u
SRC=$1
BUILD=$2
# rustup puts cargo in ~/.cargo/bin, which a non-login shell's PATH may lack.
CARGO=${CARGO:-cargo}
if ! command -v "$CARGO" >/dev/null 2>&1 && [ -x "${HOME:-/nonexistent}/.cargo/bin/cargo" ]; then
    CARGO=$HOME/.cargo/bin/cargo
fi
command -v "$CARGO" >/dev/null 2>&1 || { echo "SKIP: cargo not installed (Rust example not built)"; exit 77; }
command -v pkg-config >/dev/null 2>&1 || { echo "SKIP: pkg-config not installed"; exit 77; }
. "$(dirname "$0")/../lib.sh"

install_scratch "$BUILD"
unset SPARSE_LIB_DIR
"$CARGO" build --offline --quiet --manifest-path "$SRC/examples/rust/Cargo.toml" --target-dir "$T/target" \
    >"$T/build.log" 2>&1 || { cat "$T/build.log"; echo "FAIL: cargo build"; exit 1; }
exe=$T/target/debug/sparse-example
readelf -d "$exe" | grep -q 'NEEDED.*libsparse.so.0' || fail "the example does not link libsparse.so.0"
# Only the installed copy is on the loader's path (meson test points
# LD_LIBRARY_PATH at the build tree).
LD_LIBRARY_PATH="$libdir" "$exe" >"$T/out" 2>&1 || { cat "$T/out"; echo "FAIL: run"; exit 1; }
cat "$T/out"
for s in "libsparse " "test accuracy:" "MS " "classified " "trial 4/4 " "Pareto front (" "a bad architecture is refused:"; do
    grep -qF "$s" "$T/out" || fail "output lacks '$s'"
done
# Image by image (sparse_net_predict, as classify.c) gives sparse_net_evaluate's accuracy.
line=$(grep "^classified " "$T/out")
[ "$(echo "$line" | sed -n 's/.*: \([0-9.]*\)% (sparse_net_evaluate: \([0-9.]*\)%).*/\1 \2/p' | awk '$1 == $2')" ] ||
    fail "one by one and sparse_net_evaluate disagree: $line"
LD_LIBRARY_PATH="$libdir" ldd "$exe" | grep -qF "$libdir/libsparse.so.0" ||
    fail "the example did not load the installed libsparse: $(LD_LIBRARY_PATH="$libdir" ldd "$exe" | grep libsparse)"
[ $fails -eq 0 ] && echo "ok: rust example against the installed library"
exit $fails
