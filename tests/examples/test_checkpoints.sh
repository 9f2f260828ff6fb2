#!/bin/sh
# tools/checkpoints.py (the long-run tables of docs/results.md) on a tiny
# search: one row per mark, the best trial in a box, and the hypervolume
# through the library, which must match a hand computation on a one-point run.
set -u
PY=$1
SRC=$2
LIB=$3
SPARSE=$4
. "$(dirname "$0")/../lib.sh"

tiny_csv "$T/tiny.csv" 5
tiny_search_config "$T/tiny.csv" "$T/tiny.yaml"
"$SPARSE" search "$T/tiny.yaml" --out "$T/run" >/dev/null 2>"$T/err" || { cat "$T/err"; fail "tiny search"; }
"$PY" "$SRC/tools/checkpoints.py" "$T/run" --box 100000,100000 --every 1 --lib "$LIB" >"$T/out" 2>&1 ||
    { cat "$T/out"; fail "checkpoints.py"; }
head -1 "$T/out" | grep -q "^elapsed_min trials box_wm100000_ms100000" || fail "header: $(head -1 "$T/out")"
tail -2 "$T/out" | head -1 | grep -q " 4 id[0-9]*:val" || fail "last mark does not hold 4 trials and a best one: $(cat "$T/out")"
grep -q "^hypervolume 0\.[0-9]* .*4 successful of 4 trials" "$T/out" || fail "hypervolume line: $(tail -1 "$T/out")"
# wall-clock marks from the search's progress lines: all 4 trials by the last
"$PY" "$SRC/tools/checkpoints.py" "$T/run" --box 100000,100000 --wall-log "$T/err" --lib "$LIB" >"$T/out" 2>&1 ||
    { cat "$T/out"; fail "checkpoints.py --wall-log"; }
tail -2 "$T/out" | head -1 | grep -q " 4 id[0-9]*:val" || fail "--wall-log: last mark lacks the 4 trials: $(cat "$T/out")"

# one trial at error 0.25, MS 1024, WM 2048 against (1, 4096, 4096):
# 0.75 * 0.75 * 0.5 = 0.28125
mkdir -p "$T/one"
echo '{"id":0,"status":"ok","val_accuracy":0.75,"ms_bytes":1024,"wm5_bytes":2048,"seconds":1}' >"$T/one/trials.jsonl"
"$PY" "$SRC/tools/checkpoints.py" "$T/one" --lib "$LIB" >"$T/out" 2>&1 || { cat "$T/out"; fail "checkpoints.py on one trial"; }
grep -q "^hypervolume 0.281250 " "$T/out" || fail "one-point hypervolume: $(tail -1 "$T/out")"
[ $fails -eq 0 ] && echo "ok: checkpoints.py"
exit $fails
