#!/bin/sh
# What a distribution packages: `meson install --destdir` puts the licence,
# the docs, a manual page per command and bash completion where Debian looks
# for them; each page is clean under `man --warnings`; sparse.pc names each
# flag once; the completion completes commands and options.
set -u
SPARSE=$1
BUILD=$2
. "$(dirname "$0")/../lib.sh"

install_scratch "$BUILD"
echo "installed (besides headers and libraries):"
(cd "$T/dest" && find . -type f \( -path '*/man/*' -o -path '*/doc/*' -o -path '*/bash-completion/*' \) | sort)
prog=$(basename "$SPARSE")
share=$(find "$T/dest" -type d -path '*/share' | head -n 1)
[ -n "$share" ] || { echo "FAIL: nothing installed under share/"; exit 1; }
for f in doc/libsparse/LICENSE doc/libsparse/README.md doc/libsparse/guide.md doc/libsparse/search-config.md \
         doc/libsparse/formats.md doc/libsparse/results.md bash-completion/completions/$prog; do
    [ -s "$share/$f" ] || fail "share/$f not installed"
done
grep -q '^MIT License' "$share/doc/libsparse/LICENSE" || fail "LICENSE is not the MIT licence meson.build names"
[ -z "$(find "$share/doc" -name meson.build -o -name Doxyfile.in)" ] || fail "build files installed as docs"

# A page for the command and for every command its --help lists.
cmds=$("$SPARSE" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p' | grep -v '^help$')
[ -n "$cmds" ] || fail "no commands in '$prog --help'"
pages="$prog"
for c in $cmds; do pages="$pages $prog-$c"; done
for p in $pages; do
    page="$share/man/man1/$p.1"
    [ -s "$page" ] || { fail "man page $p.1 not installed"; continue; }
    # Warnings go to stderr; the rendered page is checked for its sections.
    LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" >"$T/page" 2>"$T/warnings"
    [ -s "$T/warnings" ] && { fail "man --warnings -l $p.1:"; cat "$T/warnings"; }
    for s in NAME SYNOPSIS 'EXIT STATUS' 'SEE ALSO'; do
        grep -q "^$s" "$T/page" || fail "$p.1 has no $s section"
    done
done
# The options of a page are the command's: every --option of search --help.
for o in $("$SPARSE" search --help | grep -o -- '--[a-z][a-z0-9-]*' | sort -u); do
    LC_ALL=C.UTF-8 MANWIDTH=200 man -l "$share/man/man1/$prog-search.1" 2>/dev/null | grep -q -- "$o" ||
        fail "$prog-search.1 lacks $o"
done

# sparse.pc: no flag twice.
pc=$(find "$T/dest" -name sparse.pc | head -n 1)
dups=$(sed -n 's/^Libs[^:]*: //p' "$pc" | tr ' ' '\n' | grep . | sort | uniq -d)
[ -z "$dups" ] || fail "sparse.pc repeats: $dups"
pkg-config --libs --static sparse >/dev/null || fail "pkg-config --libs --static sparse"

# Completion, in bash without the bash-completion package.
if command -v bash >/dev/null 2>&1; then
    complete_words() {
        bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _sparse; printf "%s\n" "${COMPREPLY[@]}"' \
            _ "$share/bash-completion/completions/$prog" "$@"
    }
    complete_words "$SPARSE" se | grep -qx search || fail "completion: '$prog se' does not give search"
    complete_words "$SPARSE" report --o | grep -qx -- --output || fail "completion: '$prog report --o' lacks --output"
    complete_words "$SPARSE" search x.yaml --ti | grep -qx -- --time-budget ||
        fail "completion: '$prog search x.yaml --ti' lacks --time-budget"
    complete_words "$SPARSE" data f | grep -qx fetch || fail "completion: '$prog data f' does not give fetch"
fi
[ "$fails" -eq 0 ] || exit 1
