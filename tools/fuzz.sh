#!/bin/sh
# Builds the libFuzzer targets of tests/fuzz with clang, the whole library
# instrumented for coverage and under ASan+UBSan, and runs each for SECONDS
# (default 30) on top of its checked-in corpus. A crash leaves its input in
# build-fuzz/crashes/TARGET/; copy it to tests/fuzz/regress/TARGET/ so the
# ordinary suite replays it forever (tests/fuzz/README.md).
#   sh tools/fuzz.sh [SECONDS] [TARGET...]
set -eu
cd "$(dirname "$0")/.."
secs=${1:-30}
[ $# -gt 0 ] && shift
targets=${*:-"idx csv arch config safetensors run"}
command -v clang >/dev/null || { echo "fuzz.sh: needs clang (Debian package clang)" >&2; exit 1; }
if [ ! -f build-fuzz/build.ninja ]; then
    CC=clang meson setup build-fuzz --buildtype=debugoptimized -Dfuzz=enabled -Dexamples=disabled \
        -Db_sanitize=address,undefined -Db_lundef=false -Dc_args=-fsanitize=fuzzer-no-link >/dev/null
fi
ninja -C build-fuzz $(for t in $targets; do printf 'tests/fuzz/fuzz_%s ' "$t"; done) >/dev/null
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
status=0
for t in $targets; do
    work=build-fuzz/corpus/$t crashes=build-fuzz/crashes/$t
    mkdir -p "$work" "$crashes"
    dict=tests/fuzz/dict/$t.dict
    set -- -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -artifact_prefix="$crashes/" -print_final_stats=1
    [ -f "$dict" ] && set -- "$@" -dict="$dict"
    if ./build-fuzz/tests/fuzz/fuzz_"$t" "$@" "$work" tests/fuzz/corpus/"$t" >build-fuzz/fuzz-"$t".log 2>&1; then
        echo "fuzz $t: $(grep -o 'stat::number_of_executed_units: *[0-9]*' build-fuzz/fuzz-"$t".log | grep -o '[0-9]*$') runs, no failure"
    else
        echo "fuzz $t: FAILED (build-fuzz/fuzz-$t.log; inputs in $crashes/)" >&2
        grep -m 5 -E 'ERROR|SUMMARY|runtime error|Test unit written' build-fuzz/fuzz-"$t".log >&2 || true
        status=1
    fi
done
exit $status
