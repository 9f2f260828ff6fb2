#!/bin/sh
# The main job on a fresh Debian 12 machine (as root): installs what is
# missing, builds libsparse, fetches real MNIST and shows what the library
# sees in it. Grows into the bundled example search as the search lands.
set -eu
cd "$(dirname "$0")/.."
sh tools/install-deps.sh
[ -d build ] || meson setup build --buildtype=release >/dev/null
ninja -C build >/dev/null
./build/cli/sparse data fetch mnist
./build/cli/sparse data info mnist
