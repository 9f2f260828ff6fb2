#!/bin/sh
# The built libsparse.so against the ABI baseline in the tree
# (tests/abi/libsparse.abi, written by abidw): no stable function removed or
# changed, no public type changed except a versioned struct grown at its end.
# Additions pass. A break must bump soversion in meson.build and rewrite the
# baseline in the same commit (docs/design.md, "The ABI promise"):
#   sh tests/abi/check_abi.sh LIB INCLUDE_DIR --update
# Skips (77) when abidiff is missing or LIB has no debug information (a
# build without -g); tools/test.sh builds with it.
set -u
lib=$1 inc=$2
dir=$(dirname "$0")
base=$dir/libsparse.abi
command -v abidiff >/dev/null || { echo "abidiff not found (Debian package abigail-tools): skipped"; exit 77; }
if ! readelf -S "$lib" | grep -q '\.debug_info'; then
    echo "$lib has no debug information (configure with -Ddebug=true): skipped"
    exit 77
fi
if [ "${3:-}" = --update ]; then
    abidw --headers-dir "$inc/sparse" --drop-private-types --no-corpus-path --drop-undefined-syms --short-locs --no-comp-dir-path \
        --type-id-style hash --out-file "$base" "$lib" || exit 1
    echo "wrote $base"
    exit 0
fi
soname=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
base_soname=$(sed -n "s/.*soname='\([^']*\)'.*/\1/p" "$base" | head -n 1)
if [ "$soname" != "$base_soname" ]; then
    echo "the library's soname is $soname, the baseline's $base_soname: rewrite the baseline" \
         "(sh tests/abi/check_abi.sh LIB INCLUDE_DIR --update) in the commit that bumps soversion"
    exit 1
fi
report=$(abidiff --suppressions "$dir/abi.suppr" --headers-dir2 "$inc/sparse" "$base" "$lib")
status=$?
echo "$report" | head -n 4
# abidiff's status: bit 1 error, 2 usage, 4 some change, 8 an incompatible change.
if [ $((status & 3)) -ne 0 ]; then
    echo "abidiff failed (status $status)"
    exit 1
fi
summary=$(echo "$report" | sed -n 's/^Functions changes summary: \([0-9]*\) Removed, \([0-9]*\) Changed.*/\1 \2/p')
removed=${summary% *} changed=${summary#* }
# A change passes only when it is a versioned struct grown at its end (or an
# enum grown by new values): every line of the report must be one of these.
# A member that moves ("offset changed"), a deletion, a changed type or
# return type is a break.
unexpected=$(echo "$report" | sed -n '/^Functions changes summary/,$p' | grep -v -E \
    -e '^(Functions|Variables) changes summary' -e '^ *$' \
    -e 'functions? with some indirect sub-type change' -e "^ *\[C\] 'function " \
    -e "parameter [0-9]+ of type '.*' has sub-type changes:" -e "in pointed to type '" \
    -e "in unqualified underlying type '" -e "underlying type '.*'( at [^ ]*)? changed:" \
    -e 'type size changed from [0-9]+ to [0-9]+ \(in bits\)' -e 'type size hasn.t changed' \
    -e '^ *[0-9]+ data member insertions?:' -e "^ *'.*', at offset [0-9]+ \(in bits\)" \
    -e '^ *[0-9]+ enumerator insertions?:' -e "^ *'.*' value '-?[0-9]+'" \
    -e '^ *[0-9]+ Added functions?:' -e "^ *\[A\] 'function ")
if [ $((status & 8)) -ne 0 ] || [ "${removed:-0}" -ne 0 ] || [ -n "$unexpected" ]; then
    echo "$report"
    [ -n "$unexpected" ] && printf 'not a compatible change:\n%s\n' "$unexpected"
    echo "ABI break against tests/abi/libsparse.abi ($soname): keep the old function and add a new one," \
         "grow versioned structs only at their end, or bump soversion in meson.build and rewrite the" \
         "baseline in the same commit"
    exit 1
fi
echo "ABI of $soname compatible with the baseline ($changed functions with compatible changes)"
