#!/bin/sh
# Builds the libFuzzer targets of tests/fuzz with clang, the whole library
# instrumented for coverage and under ASan+UBSan, and runs each for SECONDS
# (default 30) on top of its checked-in corpus, FUZZ_JOBS targets at a time
# (default: one per core). A crash leaves its input in
# build-fuzz/crashes/TARGET/; copy it to tests/fuzz/regress/TARGET/ so the
# ordinary suite replays it forever (tests/fuzz/README.md).
#   sh tools/fuzz.sh [SECONDS] [TARGET...]
set -eu
cd "$(dirname "$0")/.."
secs=${1:-30}
[ $# -gt 0 ] && shift
targets=${*:-"idx csv arch config safetensors run cli"}
jobs=${FUZZ_JOBS:-$(nproc)}
command -v clang >/dev/null || { echo "fuzz.sh: needs clang (Debian package clang)" >&2; exit 1; }
if [ ! -f build-fuzz/build.ninja ]; then
    CC=clang meson setup build-fuzz --buildtype=debugoptimized -Dfuzz=enabled -Dexamples=disabled \
        -Db_sanitize=address,undefined -Db_lundef=false -Dc_args=-fsanitize=fuzzer-no-link >/dev/null
fi
ninja -C build-fuzz $(for t in $targets; do printf 'tests/fuzz/fuzz_%s ' "$t"; done) >/dev/null
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
# One target for secs; its verdict in build-fuzz/fuzz-TARGET.status.
fuzz_one() {
    t=$1 work=build-fuzz/corpus/$1 crashes=build-fuzz/crashes/$1 dict=tests/fuzz/dict/$1.dict
    mkdir -p "$work" "$crashes"
    set -- -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -artifact_prefix="$crashes/" -print_final_stats=1
    [ -f "$dict" ] && set -- "$@" -dict="$dict"
    if ./build-fuzz/tests/fuzz/fuzz_"$t" "$@" "$work" tests/fuzz/corpus/"$t" >build-fuzz/fuzz-"$t".log 2>&1; then
        runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' build-fuzz/fuzz-"$t".log | grep -o '[0-9]*$')
        echo "fuzz $t: $runs runs, corpus $(ls "$work" | wc -l) inputs, no failure" >build-fuzz/fuzz-"$t".status
    else
        { echo "fuzz $t: FAILED (build-fuzz/fuzz-$t.log; inputs in $crashes/)"
          grep -m 5 -E 'ERROR|SUMMARY|runtime error|Test unit written' build-fuzz/fuzz-"$t".log || true
        } >build-fuzz/fuzz-"$t".status
    fi
}
n=0
for t in $targets; do
    rm -f build-fuzz/fuzz-"$t".status
    fuzz_one "$t" &
    n=$((n + 1))
    [ $((n % jobs)) -eq 0 ] && wait
done
wait
status=0
for t in $targets; do
    cat build-fuzz/fuzz-"$t".status
    grep -q FAILED build-fuzz/fuzz-"$t".status && status=1
done
exit $status
