#!/bin/sh
# The Python wrapper (examples/python/sparse.py) end to end: a search with a
# callback on a tiny generated data set, its front, a matplotlib plot, and
# errors raised as SparseError with the library's message. Arguments:
# PYTHON SRC LIBSPARSE (a build tree's or an installed libsparse.so.0).
set -u
PY=$1
SRC=$2
export SPARSE_LIB=$3
. "$(dirname "$0")/../lib.sh"
"$PY" -c "import matplotlib" 2>/dev/null || { echo "SKIP: matplotlib (python3-matplotlib) missing"; exit 77; }
tiny_csv "$T/tiny.csv" 4
tiny_search_config "$T/tiny.csv" "$T/tiny.yaml"
"$PY" "$SRC/examples/python/search_and_plot.py" "$T/tiny.yaml" "$T/run" >"$T/out" 2>&1 || { cat "$T/out"; echo "FAIL: search_and_plot.py"; exit 1; }
cat "$T/out"
grep -q "^front:" "$T/out" || { echo "FAIL: no front printed"; exit 1; }
[ -s "$T/run/front.png" ] || { echo "FAIL: no plot"; exit 1; }
printf 'data: mnist\nseeed: 1\n' >"$T/bad.yaml"
"$PY" - "$SRC/examples/python" "$T/bad.yaml" "$T/tiny.yaml" <<'EOP' || exit 1
import os, sys
sys.path.insert(0, sys.argv[1])
import sparse
# The wrapper loads the library it is given ($SPARSE_LIB), e.g. an installed
# copy, not whatever the loader's path offers first.
sparse.lib()
want = os.path.realpath(os.environ["SPARSE_LIB"])
loaded = {os.path.realpath(l.split()[-1]) for l in open("/proc/self/maps") if "libsparse" in l}
assert loaded == {want}, "loaded %s, expected %s" % (sorted(loaded), want)
try:
    sparse.SearchConfig(sys.argv[2])
except sparse.SparseError as e:
    assert e.code == -4 and "bad.yaml:2:1" in str(e) and "seeed" in str(e), str(e)
    print("error as expected:", e)
else:
    sys.exit("FAIL: a bad config was accepted")
# The resolved config comes back as a string the library allocated and the
# wrapper releases with sparse_free.
text = sparse.SearchConfig(sys.argv[3]).to_yaml()
assert "stages:" in text and "val_count: 40" in text, text
EOP
echo "ok: python wrapper"
