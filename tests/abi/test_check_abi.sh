#!/bin/sh
# The ABI check (check_abi.sh) itself: it passes on the baseline in the
# tree and fails, naming the function, when the library lacks a stable
# function the baseline has. The second case is check_abi.sh run from a
# scratch copy whose baseline has one more SPARSE_0 function
# (sparse_arch_free duplicated as sparse_arch_free_gone: its symbol and
# its declaration), so the built library appears to have removed it.
# Skips (77) where check_abi.sh does: no abidiff, no debug information.
#   sh tests/abi/test_check_abi.sh LIB INCLUDE_DIR
set -u
lib=$1 inc=$2
dir=$(dirname "$0")
out=$(sh "$dir/check_abi.sh" "$lib" "$inc")
status=$?
[ $status -eq 77 ] && { echo "$out"; exit 77; }
[ $status -eq 0 ] || { echo "$out"; echo "FAIL: check_abi.sh fails on the baseline in the tree (status $status)"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$dir/check_abi.sh" "$dir/abi.suppr" "$tmp/"
awk '
    /<elf-symbol name=.sparse_arch_free. / { print; gsub(/sparse_arch_free/, "sparse_arch_free_gone"); print; next }
    /<function-decl name=.sparse_arch_free. / { copy = 1; block = "" }
    { print }
    copy { block = block $0 "\n" }
    copy && /<\/function-decl>/ { copy = 0; gsub(/sparse_arch_free/, "sparse_arch_free_gone", block); printf "%s", block }
' "$dir/libsparse.abi" >"$tmp/libsparse.abi"
[ "$(grep -c sparse_arch_free_gone "$tmp/libsparse.abi")" -eq 2 ] ||
    { echo "FAIL: could not add sparse_arch_free_gone to a copy of the baseline"; exit 1; }
out=$(sh "$tmp/check_abi.sh" "$lib" "$inc")
status=$?
echo "$out" | head -n 6
if [ $status -ne 1 ]; then
    echo "FAIL: check_abi.sh passed (status $status) against a baseline with a function the library lacks"
    exit 1
fi
echo "$out" | grep -q "\[D\] 'function void sparse_arch_free_gone(" ||
    { echo "FAIL: the failing check does not name the removed function"; exit 1; }
echo "$out" | grep -q "^ABI break against" || { echo "FAIL: no 'ABI break' verdict"; exit 1; }
echo "check_abi.sh: passes on the baseline, fails on a removed stable function"
