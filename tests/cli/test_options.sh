#!/bin/sh
# The option parser every command shares (cli/opts.c): GNU syntax
# (--opt=value, --opt value, unique prefixes, -- ends the options, short
# options clustered), usage errors that name the option (exit 2), and
# --help printed from the option table with the defaults.
set -u
SPARSE=$1
SRC=$2
. "$(dirname "$0")/../lib.sh"

TINY=$SRC/examples/arch/tiny-cnn.yaml

# --opt=value and --opt value give the same result; so does a unique prefix.
run 0 memory "$TINY" --json --scratch none
cp "$T/out" "$T/spaced"
for form in "--scratch=none" "--scr=none" "--scr none"; do
    # shellcheck disable=SC2086
    run 0 memory "$TINY" --json $form
    cmp -s "$T/out" "$T/spaced" || fail "memory $form differs from --scratch none"
done
out_has '"arena_bytes":7840'
# Options after and before the positional argument; -- ends the options, so
# a file name may start with a dash.
run 0 memory --json "$TINY"
cp "$TINY" "$T/-arch.yaml"
(cd "$T" && "$SPARSE" memory --json -- -arch.yaml >"$T/out" 2>"$T/err") || fail "memory -- -arch.yaml failed"
out_has '"ms_bytes":9098'
run 2 memory --json -arch.yaml
err_has "unknown option '-a'"
# Values that start with a dash are values.
two_class_fixture "$T"
run 0 train "$T/a.yaml" --data="$T/d.csv" --val=30 --epochs=1 --batch 16 --threshold -1 --prune=bc --json
out_has '"threshold":-1,'

# Usage errors name the option and exit 2, stdout empty.
usage() { msg=$1; shift; run 2 "$@"; err_has "$msg"; err_has "Try 'sparsenas "; [ ! -s "$T/out" ] || fail "stdout on a usage error"; }
usage "option --json takes no value" memory "$TINY" --json=yes
usage "option --weights needs a value" memory "$TINY" --weights
usage "option -o needs a value" inspect "$T" -o
usage "option '--t' is ambiguous: --trials, --time-budget, --threads" search --t 3 x.yaml
usage "unknown option '--bogus'" memory "$TINY" --bogus=3
usage "unknown option '-x'" memory -qx "$TINY"
usage "unexpected argument 'extra'" memory "$TINY" extra
usage "--epochs must be an integer in 0..100000, not 'ten'" train a.yaml --data d.csv --epochs ten
usage "--seed must be a non-negative integer, not '-1'" eval --seed=-1
usage "--lr must be a positive number, not '0'" train a.yaml --lr 0
usage "--label-smoothing must be in [0, 1), not '1'" train a.yaml --label-smoothing 1
usage "--optimizer must be adam or sgd, not 'rmsprop'" train a.yaml --optimizer=rmsprop
usage "--schedule must be constant, step, cosine or one-cycle, not 'linear'" train a.yaml --schedule linear
usage "--time-budget must look like 900, 15m or 2h, not '5x'" search --time-budget 5x x.yaml
usage "--trial must be a trial id, not '-2'" export-arch "$T" --trial -2
usage "unknown option '--bogus'" data --bogus info x

# Short options cluster: -qh is --quiet --help.
run 0 memory -qh
out_has "Usage: sparsenas memory"
err_empty

# --help comes from the option table: every option, its value's name and
# default, the options every command takes, and extra sections.
run 0 train --help
out_has "  --epochs N               epochs (default 10)"
out_has "  --optimizer NAME         adam or sgd (momentum 0.9) (default adam)"
out_has "  -q, --quiet              nothing on stderr but errors"
out_has "  -h, --help               show this help"
out_has "Pruning (SpVD: unstructured, BC: structured with compaction):"
out_has "  --anneal-epochs E        epochs of the linear KL ramp (default 15)"
run 0 inspect --help
out_has "  -o, --output FILE"
run 0 data info --help
out_has "  --labels FILE"

[ $fails -eq 0 ] && echo "ok: the option parser"
exit $fails
