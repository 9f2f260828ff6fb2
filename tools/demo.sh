#!/bin/sh
# The main job on a fresh Debian 12 machine (as root): installs what is
# missing, builds libsparse, fetches real MNIST and runs the bundled quick
# search (examples/search/mnist-quick.yaml, about 15 minutes on 2 cores),
# then prints its Pareto front. The run directory is runs/mnist-quick; run
# this again to resume an interrupted search.
set -eu
cd "$(dirname "$0")/.."
sh tools/install-deps.sh
[ -d build ] || meson setup build --buildtype=release >/dev/null
ninja -C build >/dev/null
./build/cli/sparsenas data fetch mnist
mkdir -p runs
if [ -f runs/mnist-quick/trials.jsonl ]; then
    ./build/cli/sparsenas search --resume runs/mnist-quick
else
    ./build/cli/sparsenas search examples/search/mnist-quick.yaml --out runs/mnist-quick
fi
./build/cli/sparsenas inspect runs/mnist-quick
