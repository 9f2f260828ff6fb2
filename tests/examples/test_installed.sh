#!/bin/sh
# Installs libsparse into a scratch prefix (meson install --destdir), builds
# the C examples there through pkg-config alone, and runs them and the Python
# examples (hello_ctypes.py, and search_and_plot.py through test_python.sh) on it: the
# installed headers, sparse.pc, soname and the command are enough. The Rust
# example does the same in test_rust.sh.
set -u
BUILD=$1
SRC=$2
. "$(dirname "$0")/../lib.sh"

install_scratch "$BUILD"
for h in sparse.h core.h tensor.h data.h layers.h prune.h memory.h gp.h search.h; do
    [ -n "$(find "$T/dest" -path "*/include/sparse/$h")" ] || fail "header sparse/$h not installed"
done
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
sparse_cli=$(find "$T/dest" -path '*/bin/sparsenas' | head -1)
"$sparse_cli" export-arch "$T/run" --trial 0 -o "$T/t0.yaml" --save "$T/t0.safetensors" || fail "installed sparsenas export-arch"
"$T/classify" "$T/t0.yaml" "$T/t0.safetensors" "$T/tiny.csv" 40 >"$T/cls" 2>&1 || { cat "$T/cls"; fail "classify"; }
grep -q "test accuracy" "$T/cls" || fail "classify printed no accuracy"
# classify predicts image by image (sparse_net_predict): the accuracy of sparsenas eval's batches.
"$sparse_cli" eval "$T/t0.yaml" --weights "$T/t0.safetensors" --data "$T/tiny.csv" --val 40 --json -q >"$T/eval" ||
    fail "installed sparsenas eval"
want=$(sed -n 's/.*"test_accuracy":\([0-9.e-]*\).*/\1/p' "$T/eval")
got=$(sed -n 's/^test accuracy: .* (\([0-9]*\) of \([0-9]*\))$/\1 \2/p' "$T/cls" | awk '{ printf "%.9f", $1 / $2 }')
[ -n "$want" ] && awk -v a="$got" -v b="$want" 'BEGIN { exit !(a - b < 1e-9 && b - a < 1e-9) }' ||
    fail "classify's accuracy $got is not sparsenas eval's $want"
if [ -x /usr/bin/python3 ]; then
    /usr/bin/python3 "$SRC/examples/python/hello_ctypes.py" "$so" >"$T/py" 2>&1 || { cat "$T/py"; fail "python ctypes example on the install"; }
    sh "$(dirname "$0")/test_python.sh" /usr/bin/python3 "$SRC" "$so" >"$T/py" 2>&1
    case $? in
        0) ;;
        77) echo "note: $(tail -1 "$T/py") (Python wrapper not run against the install)" ;;
        *) cat "$T/py"; fail "python wrapper example on the install" ;;
    esac
else
    echo "note: /usr/bin/python3 missing, Python examples not run against the install"
fi
[ $fails -eq 0 ] && echo "ok: examples build and run against the installed library"
exit $fails
