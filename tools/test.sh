#!/bin/sh
# The whole test suite on a fresh Debian 12 machine (as root): installs what
# is missing, builds with warnings as errors, runs every suite, then again in
# a build with AddressSanitizer and UndefinedBehaviorSanitizer. Prints the
# seconds each stage took. CI (.ci/run) runs this, then the analysis runs
# tools/tsan.sh (ThreadSanitizer) and tools/fuzz.sh (libFuzzer), which have
# builds of their own.
set -eu
cd "$(dirname "$0")/.."
t0=$(date +%s) times=""
stage() { t=$(date +%s); times="$times $1 $((t - t0)) s,"; t0=$t; }

sh tools/install-deps.sh
stage install

# Release build: every suite (tests/meson.build lists them).
rm -rf build-test
meson setup build-test --werror --buildtype=release -Ddebug=true >/dev/null
ninja -C build-test
stage "release build"
# Real MNIST for the 'network' suite (cached; the tests skip if this fails).
./build-test/cli/sparsenas data fetch mnist || echo "test.sh: MNIST fetch failed; network tests will skip" >&2
meson test -C build-test --print-errorlogs --num-processes 2
stage "release suites"

# Sanitizer build: every suite that runs libsparse code, under ASan + UBSan;
# not abi (the symbol table, the headers compiled alone and the API reference
# are the same in both builds). meson does not register the installed-copy
# examples and tools tests in a sanitized build.
rm -rf build-asan
# -g1: line tables only, enough for file:line in the sanitizers' reports, and
# a quarter faster to compile than full debug information.
meson setup build-asan --werror --buildtype=debugoptimized -Dc_args=-g1 \
    -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
ninja -C build-asan
stage "sanitizer build"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    meson test -C build-asan --print-errorlogs --num-processes 2 --no-suite abi
stage "sanitizer suites"
echo "test.sh: passed;${times%,}"
