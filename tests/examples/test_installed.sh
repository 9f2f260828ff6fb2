#!/bin/sh
# Installs libsparse into a scratch prefix (meson install --destdir), builds
# the C examples there through pkg-config alone, and runs them with the
# Python example: the installed headers, sparse.pc and soname are enough.
set -u
BUILD=$1
SRC=$2
. "$(dirname "$0")/../lib.sh"

meson install -C "$BUILD" --destdir "$T/dest" --no-rebuild --quiet >"$T/install.log" 2>&1 ||
    { cat "$T/install.log"; echo "FAIL: meson install"; exit 1; }
pcdir=$(dirname "$(find "$T/dest" -name sparse.pc | head -1)")
[ -f "$pcdir/sparse.pc" ] || { echo "FAIL: sparse.pc not installed"; exit 1; }
for h in sparse.h core.h tensor.h data.h layers.h prune.h memory.h gp.h search.h; do
    [ -n "$(find "$T/dest" -path "*/include/sparse/$h")" ] || fail "header sparse/$h not installed"
done
so=$(find "$T/dest" -name 'libsparse.so.0' | head -1)
[ -n "$so" ] || { echo "FAIL: libsparse.so.0 not installed"; exit 1; }
libdir=$(dirname "$so")
export PKG_CONFIG_PATH="$pcdir" PKG_CONFIG_SYSROOT_DIR="$T/dest"
flags=$(pkg-config --cflags --libs sparse) || { echo "FAIL: pkg-config sparse"; exit 1; }
for ex in search_front classify; do
    # shellcheck disable=SC2086
    cc -std=c99 -Wall -Wextra -Werror "$SRC/examples/c/$ex.c" $flags -o "$T/$ex" || fail "building $ex against the install"
done
export LD_LIBRARY_PATH="$libdir"
readelf -d "$T/search_front" | grep -q 'NEEDED.*libsparse.so.0' || fail "examples do not link libsparse.so.0"

tiny_csv "$T/tiny.csv" 9
tiny_search_config "$T/tiny.csv" "$T/tiny.yaml"
"$T/search_front" "$T/tiny.yaml" "$T/run" >"$T/out" 2>&1 || { cat "$T/out"; fail "search_front"; }
grep -q "Pareto front" "$T/out" || fail "search_front printed no front"
grep -q "trial 4/4" "$T/out" || fail "search_front's callback did not report every trial"
sparse_cli=$(find "$T/dest" -path '*/bin/sparse' | head -1)
"$sparse_cli" export-arch "$T/run" --trial 0 -o "$T/t0.yaml" --save "$T/t0.safetensors" || fail "installed sparse export-arch"
"$T/classify" "$T/t0.yaml" "$T/t0.safetensors" "$T/tiny.csv" 40 >"$T/cls" 2>&1 || { cat "$T/cls"; fail "classify"; }
grep -q "test accuracy" "$T/cls" || fail "classify printed no accuracy"
if [ -x /usr/bin/python3 ]; then
    /usr/bin/python3 "$SRC/examples/python/hello_ctypes.py" "$so" >"$T/py" 2>&1 || { cat "$T/py"; fail "python ctypes example on the install"; }
fi
[ $fails -eq 0 ] && echo "ok: examples build and run against the installed library"
exit $fails
