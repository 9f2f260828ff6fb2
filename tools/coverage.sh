#!/bin/sh
# Line and branch coverage of lib/ by the suites that run library code:
# unit (every module's cmocka executable, inputs, oom, the I/O-fault sweep)
# and cli (the `sparsenas` command end to end). Not bench, fuzz, examples,
# reference or network (that one needs the MNIST download; leaving it out
# keeps the figures the same on every machine). Built with -O0 in its own
# build directory (build-coverage) so that gcov's lines and branches are the
# source's; each run starts from zero counters. Prints gcovr's per-file
# table of branches (the files with most branches uncovered first) and the
# totals; build-coverage/coverage.html has the annotated sources.
#   sh tools/coverage.sh
# Branches are every outcome gcc instruments; none are excluded
# (--exclude-throw-branches is for C++ exceptions, and
# --exclude-unreachable-branches would hide only the few that gcc puts on
# lines without code, which we would rather see).
set -eu
cd "$(dirname "$0")/.."
command -v gcovr >/dev/null || { echo "coverage.sh: needs gcovr (Debian package gcovr)" >&2; exit 1; }
if [ ! -f build-coverage/build.ninja ]; then
    meson setup build-coverage --buildtype=debug -Db_coverage=true \
        -Dexamples=disabled -Dfuzz=disabled >/dev/null
fi
ninja -C build-coverage -j2 >/dev/null
find build-coverage -name '*.gcda' -delete
meson test -C build-coverage --num-processes 2 --print-errorlogs \
    --suite unit --suite cli --suite inputs --suite oom --suite search \
    --no-suite network --no-suite reference --no-suite bench --no-suite fuzz
gcovr -j 2 -r . --object-directory build-coverage --filter lib/ \
    --branches --sort-uncovered --html-details build-coverage/coverage.html \
    --txt - --print-summary build-coverage
