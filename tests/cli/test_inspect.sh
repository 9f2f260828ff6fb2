#!/bin/sh
# What a user acts on after a search: budgets no network can meet refused
# before the first trial; `sparsenas inspect` grouped by budget box with the
# trial to take, flash and arena columns, failed trials with their reason,
# and --json that stays valid JSON whatever the run directory is called.
set -u
SPARSE=$1
. "$(dirname "$0")/../lib.sh"

tiny_csv "$T/tiny.csv" 5
tiny_search_config "$T/tiny.csv" "$T/base.yaml"

# An MS budget below the smallest network of the space: refused up front,
# no run directory left behind.
{ cat "$T/base.yaml"; echo "budgets: {ms_bytes: 40}"; } >"$T/ms40.yaml"
run 1 search "$T/ms40.yaml" --out "$T/run-ms40"
err_has "budgets.ms_bytes 40 B: no network of the search space can meet it"
err_has "dense MS of"
[ ! -e "$T/run-ms40/trials.jsonl" ] || fail "a refused budget left trials behind"
# An arena budget below the int8 input image.
{ cat "$T/base.yaml"; echo "budgets: {arena_bytes: 20}"; } >"$T/arena20.yaml"
run 1 search "$T/arena20.yaml" --out "$T/run-arena20"
err_has "budgets.arena_bytes 20 B: no network can meet it"
err_has "1x6x6 int8 input image (36 B)"
{ cat "$T/base.yaml"; echo "budgets: {arena_bytes: 0}"; } >"$T/arena0.yaml"
run 1 search "$T/arena0.yaml" --print-config
err_has "budgets.arena_bytes: 0 is outside the allowed range"

# Budgets that fit: one box, the trial to take, flash and arena columns.
{ cat "$T/base.yaml"; echo "budgets: {ms_bytes: 4000, wm_bytes: 4000, arena_bytes: 100000}"; } >"$T/fit.yaml"
run 0 search "$T/fit.yaml" --out "$T/run"
grep -q "arena_bytes: 100000" "$T/run/config.yaml" || fail "config.yaml lacks the arena budget"
run 0 inspect "$T/run"
out_has "box 1 of 1: MS <= 4000 B, WM5 <= 4000 B, arena <= 100000 B; take trial "
out_has "sparsenas export $T/run --trial "
for col in flash arena feas; do out_has "$col"; done
pick=$(sed -n 's/.*take trial \([0-9]*\) .*/\1/p' "$T/out")
[ -n "$pick" ] || fail "inspect names no trial to take"
# The first row of the box is the one to take (most accurate first).
first=$(sed -n '3p' "$T/out" | awk '{ print $1 }')
[ "$first" = "$pick" ] || fail "the box's first row is trial $first, the trial to take is $pick"
run 0 inspect "$T/run" --json
for k in '"schema":1' '"command":"inspect"' '"boxes":[{"ms_bytes":4000,"wm_bytes":4000,"arena_bytes":100000,"pick":'"$pick" \
         '"flash_bytes":' '"arena_bytes":' '"feasible":true' '"reason":null' '"box":0'; do
    out_has "$k"
done

# A failed trial shows why; a run whose trials all failed says so.
sed '2s/"status":"ok"/"status":"failed","reason":"out of memory (made up by the test)"/' "$T/run/trials.jsonl" >"$T/t"
cp -r "$T/run" "$T/run-fail" && cp "$T/t" "$T/run-fail/trials.jsonl"
run 0 inspect "$T/run-fail" --all
out_has "failed:"
out_has "out of memory (made up by the test)"
run 0 inspect "$T/run-fail" --all --json
out_has '"reason":"out of memory (made up by the test)"'
sed 's/"status":"ok"/"status":"failed","reason":"r"/' "$T/run/trials.jsonl" >"$T/t"
cp -r "$T/run" "$T/run-none" && cp "$T/t" "$T/run-none/trials.jsonl"
run 0 inspect "$T/run-none"
err_has "no trial succeeded"
out_has "no trial succeeded: all 4 failed"
out_has "no successful trial fits it"

# A run directory whose name is not UTF-8: still valid JSON, the byte escaped.
bad=$(printf '%s/run-\377' "$T")
cp -r "$T/run" "$bad"
run 0 inspect "$bad" --json
out_has '"run":"'"$T"'/run-\u00ff"'
if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import json, sys; json.load(sys.stdin)' <"$T/out" || fail "inspect --json is not valid JSON"
fi

# A resume keeps the limits the run was started with; a finished run says
# it is finished, and how to search on.
records() { grep -c '"id":' "$1/trials.jsonl"; }
run 0 search "$T/base.yaml" --out "$T/lim" --trials 2
grep -q '"max_trials":2' "$T/lim/state.json" || fail "state.json does not record --trials 2"
run 0 search --resume "$T/lim"
err_has "$T/lim is finished: 2 of 2 planned trials recorded (it was started with --trials 2)"
err_has "To search on: sparsenas search --resume $T/lim --trials N (more than 2) or --time-budget T"
[ "$(records "$T/lim")" -eq 2 ] || fail "resuming a finished run added trials"
run 0 search --resume "$T/lim" --trials 3
[ "$(records "$T/lim")" -eq 3 ] || fail "--resume --trials 3 did not search on to 3 trials"
run 0 search --resume "$T/lim"
err_has "is finished: 3 of 3 planned trials recorded (it was started with --trials 3)"
# A time budget spent before the first trial: finished, until given more time.
run 0 search "$T/base.yaml" --out "$T/tb" --time-budget 0.000001
run 0 search --resume "$T/tb"
err_has "its time budget of 1e-06 s spent"
run 0 search --resume "$T/tb" --time-budget 10m --trials 1
[ "$(records "$T/tb")" -eq 1 ] || fail "--resume --time-budget 10m --trials 1 did not run one trial"

[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "all inspect tests passed"
