#!/bin/sh
# examples/python/mnist_search.py on the real MNIST (skips without the cache
# of `sparsenas data fetch mnist`): loads it as NumPy arrays, searches (for
# SECONDS, default 30 here; the example's own default is 2 minutes), exports
# the best network within 1 KB and prints its int8 accuracy.
# Arguments: PYTHON SRC LIBSPARSE [SECONDS].
set -u
PY=$1
SRC=$2
. "$(dirname "$0")/../lib.sh"
real="${XDG_CACHE_HOME:-$HOME/.cache}/sparse/mnist"
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    [ -f "$real/$f" ] || [ -f "$real/$f.gz" ] || { echo "SKIP: no MNIST cache in $real (sparsenas data fetch mnist)"; exit 77; }
done
PYTHONPATH="$SRC/python" PYTHONDONTWRITEBYTECODE=1 SPARSE_LIB=$3 \
    "$PY" "$SRC/examples/python/mnist_search.py" "$T/out" "${4:-30}" >"$T/log" 2>&1 || { cat "$T/log"; fail "mnist_search.py"; exit 1; }
cat "$T/log"
line=$(grep "int8 test accuracy" "$T/log") || fail "no int8 accuracy printed"
ms=$(echo "$line" | sed -n 's/.*MS \([0-9]*\) B.*/\1/p')
acc=$(echo "$line" | sed -n 's/.*int8 test accuracy \([0-9.]*\)%.*/\1/p')
[ -n "$ms" ] && [ "$ms" -le 1024 ] || fail "exported MS '$ms' is not within 1 KB"
# Any network of the first trials beats chance by far: the figure is real.
awk -v a="$acc" 'BEGIN { exit !(a > 50) }' || fail "int8 test accuracy '$acc'% of the exported network"
[ -s "$T/out/model/mnist.c" ] && [ -s "$T/out/model/mnist.h" ] || fail "mnist.c / mnist.h not written"
[ $fails -eq 0 ] && echo "ok: examples/python/mnist_search.py"
exit $fails
