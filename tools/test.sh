#!/bin/sh
# The whole test suite on a fresh Debian 12 machine (as root): installs what
# is missing, builds with warnings as errors, runs every test, then again in a
# build with AddressSanitizer and UndefinedBehaviorSanitizer.
set -eu
cd "$(dirname "$0")/.."
sh tools/install-deps.sh

# Release build: every suite (tests/meson.build lists them).
rm -rf build-test
meson setup build-test --werror --buildtype=release -Ddebug=true >/dev/null
ninja -C build-test
# Real MNIST for the 'network' suite (cached; the tests skip if this fails).
./build-test/cli/sparse data fetch mnist || echo "test.sh: MNIST fetch failed; network tests will skip" >&2
meson test -C build-test --print-errorlogs --num-processes 2

# Sanitizer build: every suite that runs libsparse code, under ASan + UBSan;
# not abi (the symbol table, the headers compiled alone and the API reference
# are the same in both builds). meson does not register the installed-copy
# examples and tools tests in a sanitized build.
rm -rf build-asan
meson setup build-asan --werror --buildtype=debugoptimized \
    -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
ninja -C build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    meson test -C build-asan --print-errorlogs --num-processes 2 --no-suite abi
