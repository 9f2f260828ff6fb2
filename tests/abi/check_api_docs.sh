#!/bin/sh
# Fails if a function libsparse.so exports is not mentioned in the API
# reference (docs/api.md): every public function gets at least a line there.
set -eu
so="$1"
doc="$2"
# Defined functions (type T), without their symbol version (@@SPARSE_0).
syms=$(nm -D --defined-only "$so" | awk '$2 == "T" { sub(/@.*/, "", $3); print $3 }' | grep '^sparse_' | sort -u)
[ -n "$syms" ] || { echo "no sparse_* functions exported by $so"; exit 1; }
missing=""
n=0
for s in $syms; do
    n=$((n + 1))
    grep -qw -- "$s" "$doc" || missing="$missing $s"
done
if [ -n "$missing" ]; then
    echo "exported but not in $(basename "$doc"):"
    for s in $missing; do echo "  $s"; done
    exit 1
fi
echo "ok: all $n exported functions are in $(basename "$doc")"
