#!/bin/sh
# The docs do not name command options that do not exist: every --option in a
# `sparsenas COMMAND ...` usage line or inline example of README.md and docs/*.md
# must appear in that command's --help (which lists every option).
set -u
SPARSE=$1
SRC=$2
. "$(dirname "$0")/../lib.sh"

# Prints "COMMAND<TAB>--option" for each option the docs give a command. In
# prose only the `...` span holding the command counts; in code blocks the
# whole line, and indented lines starting with '[' continue the usage.
awk '
function scan(text, cmd,   rest) {
    rest = text
    while (match(rest, /--[a-z0-9][a-z0-9-]*/)) {
        printf "%s\t%s\n", cmd, substr(rest, RSTART, RLENGTH)
        rest = substr(rest, RSTART + RLENGTH)
    }
}
/^```/ { fence = !fence; cmd = ""; next }
{
    code = fence || /^    /
    if (code && cmd != "" && /^[ \t]+\[/) { scan($0, cmd); next }
    cmd = ""
    line = $0
    while (match(line, /sparsenas (search|inspect|report|export-arch|export|train|eval|memory|data( fetch| info)?)( |`|$)/)) {
        c = substr(line, RSTART + 10, RLENGTH - 10)
        sub(/[ `]$/, "", c)
        rest = substr(line, RSTART + RLENGTH)
        if (!code && index(rest, "`"))
            span = substr(rest, 1, index(rest, "`") - 1)
        else
            span = rest
        scan(span, c)
        if (code)
            cmd = c
        line = rest
    }
}' "$SRC/README.md" "$SRC"/docs/*.md | sort -u >"$T/pairs"

[ -s "$T/pairs" ] || fail "found no command options in the docs (is the pattern broken?)"
while IFS="$(printf '\t')" read -r cmd opt; do
    # shellcheck disable=SC2086
    "$SPARSE" $cmd --help >"$T/help" 2>&1 || { fail "sparse $cmd --help failed"; continue; }
    grep -qE -- "(^|[^a-z-])$opt([^a-z0-9-]|$)" "$T/help" ||
        fail "the docs give 'sparsenas $cmd' the option $opt, which its --help does not list"
done <"$T/pairs"

[ $fails -eq 0 ] && echo "ok: $(wc -l <"$T/pairs") documented command options exist"
exit $fails
