# Shared by the shell tests (sourced): a scratch directory removed on exit,
# failure counting, and helpers that run the `sparse` command ($SPARSE) and
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
# tiny_csv FILE SEED: 240 images of 6x6 in 3 classes (a bright row, column or
# diagonal, plus noise), label first.
tiny_csv() {
    awk -v seed="$2" 'BEGIN { srand(seed); for (i = 0; i < 240; i++) { l = i % 3; printf "%d", l;
         for (y = 0; y < 6; y++) for (x = 0; x < 6; x++) {
           on = (l == 0 && y == 2) || (l == 1 && x == 3) || (l == 2 && x == y);
           printf ",%.3f", (on ? 0.8 : 0.1) + 0.2 * rand() } printf "\n" } }' >"$1"
}
