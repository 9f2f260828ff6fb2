#!/bin/sh
# Builds the Rust example offline against an installed copy of libsparse
# (meson install --destdir; build.rs asks pkg-config, pointed at the staged
# sparse.pc) and runs it on that copy; skips (77) where cargo is missing.
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
for s in "libsparse " "test accuracy:" "MS " "a bad architecture is refused:"; do
    grep -qF "$s" "$T/out" || fail "output lacks '$s'"
done
LD_LIBRARY_PATH="$libdir" ldd "$exe" | grep -qF "$libdir/libsparse.so.0" ||
    fail "the example did not load the installed libsparse: $(LD_LIBRARY_PATH="$libdir" ldd "$exe" | grep libsparse)"
[ $fails -eq 0 ] && echo "ok: rust example against the installed library"
exit $fails
