#!/bin/sh
# examples/python/search_and_plot.py end to end through the sparsenas package
# (python/, from the source tree): a search with a callback on a tiny
# generated data set, its front, a matplotlib plot, and a bad config raised
# as SparseError with the library's message. Arguments: PYTHON SRC LIBSPARSE
# (a build tree's or an installed libsparse.so.0). The package's own tests
# are in suite python (tests/python/).
set -u
PY=$1
SRC=$2
export SPARSE_LIB=$3 PYTHONPATH="$2/python" PYTHONDONTWRITEBYTECODE=1
. "$(dirname "$0")/../lib.sh"
"$PY" -c "import matplotlib" 2>/dev/null || { echo "SKIP: matplotlib (python3-matplotlib) missing"; exit 77; }
tiny_csv "$T/tiny.csv" 4
tiny_search_config "$T/tiny.csv" "$T/tiny.yaml"
"$PY" "$SRC/examples/python/search_and_plot.py" "$T/tiny.yaml" "$T/run" >"$T/out" 2>&1 || { cat "$T/out"; echo "FAIL: search_and_plot.py"; exit 1; }
cat "$T/out"
grep -q "^front:" "$T/out" || { echo "FAIL: no front printed"; exit 1; }
[ -s "$T/run/front.png" ] || { echo "FAIL: no plot"; exit 1; }
printf 'data: mnist\nseeed: 1\n' >"$T/bad.yaml"
"$PY" - "$T/bad.yaml" <<'EOP' || exit 1
import sys
import sparsenas as sn
try:
    sn.search(sys.argv[1], sys.argv[1] + ".run")
except sn.SparseError as e:
    assert e.status == -4 and "bad.yaml:2:1" in str(e) and "seeed" in str(e), str(e)
    print("error as expected:", e)
else:
    sys.exit("FAIL: a bad config was accepted")
EOP
echo "ok: search_and_plot.py"
