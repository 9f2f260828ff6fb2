#!/bin/sh
# The shared library exports its public API and nothing else:
#  - every defined dynamic symbol is a function named sparse_* (never an
#    internal sparse__*, never data, nothing else), apart from the two
#    version-node symbols;
#  - sparse_exp_* functions (sparse/experimental.h, no ABI promise) are in
#    version node SPARSE_EXP_0, every other function in SPARSE_0 (the ABI
#    promise of libsparse.so.0), and the library defines no other node;
#  - experimental.h declares only sparse_exp_* functions and the other
#    public headers none (so the name puts a function in the right node);
#  - the soname is libsparse.so.0.
# Usage: check_symbols.sh LIBSPARSE.so INCLUDE_DIR
set -eu
so="$1"
inc="$2"
fail=0

# "version name kind" per defined dynamic symbol; kind F (function) or O.
syms=$(mktemp)
trap 'rm -f "$syms"' EXIT
objdump -T "$so" | awk '/^[0-9a-f]+ / && !/\*UND\*/ { print $(NF-1), $NF, (/ DF / ? "F" : "O") }' >"$syms"
bad=$(awk '
    $1 == $2 && ($2 == "SPARSE_0" || $2 == "SPARSE_EXP_0") { next }  # the version nodes
    $2 !~ /^sparse_/    { print "  " $2 ": not sparse_*"; next }
    $2 ~ /^sparse__/    { print "  " $2 ": internal (sparse__*)"; next }
    $3 != "F"           { print "  " $2 ": exported data, not a function"; next }
    $2 ~ /^sparse_exp_/ { if ($1 != "SPARSE_EXP_0") print "  " $2 ": in " $1 ", expected SPARSE_EXP_0"; next }
    $1 != "SPARSE_0"    { print "  " $2 ": in " $1 ", expected SPARSE_0" }
' "$syms")
if [ -n "$bad" ]; then
    echo "exported symbols that break the rules:"; echo "$bad"; fail=1
fi

stable=$(awk '$1 == "SPARSE_0" && $2 != "SPARSE_0"' "$syms" | wc -l)
exp=$(awk '$1 == "SPARSE_EXP_0" && $2 != "SPARSE_EXP_0"' "$syms" | wc -l)
[ "$stable" -gt 10 ] || { echo "only $stable functions in SPARSE_0: version script or visibility broken"; fail=1; }
[ "$exp" -gt 0 ] || { echo "no function in SPARSE_EXP_0: version script broken"; fail=1; }

# Version definitions: the soname's base entry, then exactly the two nodes.
nodes=$(objdump -p "$so" | awk '/^Version definitions:/ { on = 1; next } on && NF == 0 { on = 0 }
                                 on && $2 != "0x01" { print $4 }' | sort | tr '\n' ' ')
[ "$nodes" = "SPARSE_0 SPARSE_EXP_0 " ] || { echo "version nodes are '$nodes', expected SPARSE_0 SPARSE_EXP_0"; fail=1; }

# Declarations: SPARSE_API functions by header.
decls() { sed -n 's/^SPARSE_API[^(]*[ *]\(sparse_[a-z0-9_]*\)(.*/\1/p' "$@"; }
wrong=$(decls "$inc/sparse/experimental.h" | grep -v '^sparse_exp_' || true)
[ -z "$wrong" ] || { echo "experimental.h declares functions outside sparse_exp_*:"; echo "$wrong"; fail=1; }
for h in "$inc"/sparse/*.h; do
    [ "$(basename "$h")" = experimental.h ] && continue
    wrong=$(decls "$h" | grep '^sparse_exp_' || true)
    [ -z "$wrong" ] || { echo "$(basename "$h") declares experimental functions:"; echo "$wrong"; fail=1; }
done

soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libsparse.so.0" ] || { echo "soname is '$soname', expected libsparse.so.0"; fail=1; }
[ $fail -eq 0 ] && echo "ok: $stable functions in SPARSE_0, $exp in SPARSE_EXP_0, soname $soname"
exit $fail
