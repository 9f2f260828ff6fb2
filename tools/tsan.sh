#!/bin/sh
# The tests that run threads, under ThreadSanitizer: training with two
# threads (layers: test_threads_same_bits) and a search with two workers of
# two threads each (search: test_workers_keep_records_identical). Built with
# clang and LLVM's OpenMP runtime with its TSan tool Archer; Debian's BLIS,
# linked against GCC's libgomp, is routed to the same runtime (why, and why
# no suppressions: tests/tsan.supp). Fails on any report.
#   sh tools/tsan.sh
set -eu
cd "$(dirname "$0")/.."
omp=/usr/lib/llvm-14/lib
command -v clang >/dev/null && [ -f "$omp/libarcher.so" ] ||
    { echo "tsan.sh: needs clang and LLVM's OpenMP runtime (Debian packages clang, libomp-dev)" >&2; exit 1; }
if [ ! -f build-tsan/build.ninja ]; then
    CC=clang meson setup build-tsan --buildtype=debugoptimized -Db_sanitize=thread -Db_lundef=false \
        -Dexamples=disabled -Dfuzz=disabled >/dev/null
fi
ninja -C build-tsan tests/layers/test_layers tests/search/test_search >/dev/null
mkdir -p build-tsan/omp
ln -sf "$omp/libomp.so.5" build-tsan/omp/libgomp.so.1
export LD_LIBRARY_PATH="$PWD/build-tsan/omp" OMP_TOOL_LIBRARIES="$omp/libarcher.so"
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ignore_noninstrumented_modules=1 suppressions=$PWD/tests/tsan.supp"
status=0
for t in layers/test_layers:test_threads_same_bits search/test_search:test_workers_keep_records_identical; do
    exe=build-tsan/tests/${t%%:*} name=${t#*:}
    if SPARSE_TEST_ONLY=$name "$exe" >build-tsan/tsan-"$name".log 2>&1 &&
        grep -q "OK \] $name" build-tsan/tsan-"$name".log && ! grep -q "ThreadSanitizer" build-tsan/tsan-"$name".log; then
        echo "tsan $name: clean"
    else
        echo "tsan $name: FAILED (build-tsan/tsan-$name.log)" >&2
        grep -m 5 -E "WARNING: ThreadSanitizer|SUMMARY|FAILED" build-tsan/tsan-"$name".log >&2 || true
        status=1
    fi
done
exit $status
