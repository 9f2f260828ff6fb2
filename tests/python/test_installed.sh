#!/bin/sh
# sparsenas as a user gets it: libsparse installed (meson install into a
# scratch prefix), then `pip install --no-build-isolation ./python` into a
# virtual environment made with --system-site-packages (offline: Debian's
# setuptools builds it), then the package's tests run by the venv's Python
# from outside the source tree, finding libsparse.so.0 through the loader's
# path alone. Arguments: PYTHON SRC BUILD VENV.
set -u
PY=$1
SRC=$2
BUILD=$3
VENV=$4
. "$(dirname "$0")/../lib.sh"

install_scratch "$BUILD"
rm -rf "$VENV"
"$PY" -m venv --system-site-packages "$VENV" >"$T/venv.log" 2>&1 || { cat "$T/venv.log"; echo "FAIL: python3 -m venv (python3-venv)"; exit 1; }
# A copy, so that the build leaves nothing in the source tree.
cp -R "$SRC/python" "$T/pkg"
rm -rf "$T/pkg/build" "$T/pkg"/*.egg-info
"$VENV/bin/pip" install --no-build-isolation --no-index --quiet "$T/pkg" >"$T/pip.log" 2>&1 ||
    { cat "$T/pip.log"; echo "FAIL: pip install ./python"; exit 1; }
cp -R "$SRC/python/tests" "$T/tests"
cd "$T/tests" || exit 1
where=$(env -u SPARSE_LIB PYTHONDONTWRITEBYTECODE=1 "$VENV/bin/python" -c 'import sparsenas; print(sparsenas.__file__)') ||
    fail "import sparsenas from the venv"
case $where in
    "$VENV"/*) ;;
    *) fail "sparsenas imported from $where, not from the venv" ;;
esac
env -u SPARSE_LIB PYTHONDONTWRITEBYTECODE=1 LD_LIBRARY_PATH="$libdir" SPARSENAS_TEST_EXPECT_LIB="$so" \
    "$VENV/bin/python" -m unittest discover -s "$T/tests" >"$T/out" 2>&1 || { cat "$T/out"; fail "the package's tests on the installed copy"; }
tail -3 "$T/out"
[ $fails -eq 0 ] && echo "ok: sparsenas installed with pip in a venv, on the installed libsparse"
exit $fails
