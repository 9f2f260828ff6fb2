#!/bin/sh
# The run directory through `sparsenas search`, `inspect` and `export-arch`
# (issue 21): one writer at a time, SIGTERM/SIGINT and a file size limit
# that stop a search cleanly, damaged logs refused by a resume and read by
# trial id, a changed config refused, a torn last line cut and reported, a
# symbolic link refused. Every interrupted run, once resumed, must hold the
# records of an uninterrupted one (seconds aside).
set -u
SPARSE=$1
. "$(dirname "$0")/../lib.sh"

tiny_csv "$T/tiny.csv" 5
tiny_search_config "$T/tiny.csv" "$T/tiny.yaml"
# 10 trials, every pruning method (weights files of all three kinds)
sed -i 's/^stages: .*/stages: [{trials: 6, rho: 0.8}, {trials: 2, rho: 0.8}, {trials: 2, rho: 0.8}]/
        s/fc_layers: \[0, 0\], epochs: \[3, 3\]}/fc_layers: [0, 0], epochs: [1, 2], pruning: [none, spvd, bc]}/' "$T/tiny.yaml"
grep -q 'pruning: \[none, spvd, bc\]' "$T/tiny.yaml" || fail "tiny_search_config changed: $(cat "$T/tiny.yaml")"
records() { sed 's/,"seconds":[0-9.e+-]*//' "$1/trials.jsonl"; }
lines() { if [ -f "$1/trials.jsonl" ]; then wc -l <"$1/trials.jsonl"; else echo 0; fi; }
# wait_lines DIR N: until DIR/trials.jsonl has N lines (30 s at most).
wait_lines() {
    i=0
    while [ "$(lines "$1")" -lt "$2" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
}
# same_records DIR REFERENCE WHAT: DIR's records are those in REFERENCE.
same_records() {
    records "$1" >"$T/got"
    cmp -s "$T/got" "$2" || fail "$3: records differ from an uninterrupted run"
}
# whole_lines DIR: trials.jsonl ends with a newline (or is empty).
whole_lines() {
    [ ! -s "$1/trials.jsonl" ] || [ "$(tail -c 1 "$1/trials.jsonl" | od -An -c | tr -d ' ')" = '\n' ] ||
        fail "$1/trials.jsonl ends inside a record"
}

run 0 search "$T/tiny.yaml" --out "$T/ref" -q
records "$T/ref" >"$T/ref.records"
[ "$(wc -l <"$T/ref.records")" -eq 10 ] || fail "the reference run has $(wc -l <"$T/ref.records") records, expected 10"

# A search slow enough (about a second a trial) to be caught in the middle:
# the tiny images 40 times over, 12 epochs, 4 trials.
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40; do
    cat "$T/tiny.csv"
done >"$T/big.csv"
tiny_search_config "$T/big.csv" "$T/slow.yaml"
sed -i 's/epochs: \[3, 3\]}/epochs: [12, 12]}/' "$T/slow.yaml"
run 0 search "$T/slow.yaml" --out "$T/slowref" -q
records "$T/slowref" >"$T/slowref.records"
# start_slow DIR [env args]: starts the slow search into DIR in the
# background ($pid) and waits for its first record.
start_slow() {
    dir=$1; shift
    env "$@" "$SPARSE" search "$T/slow.yaml" --out "$dir" -q 2>"$T/bg.err" &
    pid=$!
    wait_lines "$dir" 1
    kill -0 $pid 2>/dev/null && [ "$(lines "$dir")" -lt 4 ] ||
        fail "the slow search ended before it could be caught in the middle"
}

# One writer: a second resume on a run in use is refused, naming it and the
# pid; readers read; once the first is killed (kill -9), a resume finishes.
start_slow "$T/busy"
kill -STOP $pid
run 1 search --resume "$T/busy"
err_has "run directory $T/busy is in use by process $pid"
run 1 search "$T/slow.yaml" --out "$T/busy"
err_has "is in use by process $pid"
run 0 inspect "$T/busy" --all
out_has "val%"
kill -KILL $pid
wait $pid 2>/dev/null
run 0 search --resume "$T/busy" -q
same_records "$T/busy" "$T/slowref.records" "killed with SIGKILL while a second writer was refused, then resumed"

# SIGTERM and SIGINT: the record being written is finished, the run is
# resumable, the exit status says which signal, and stderr says how to go on.
for sig in TERM INT; do
    start_slow "$T/sig$sig" --default-signal=INT
    kill -$sig $pid
    wait $pid
    status=$?
    want=143
    [ $sig = INT ] && want=130
    [ $status -eq $want ] || { fail "SIG$sig: exit status $status, expected $want"; cat "$T/bg.err"; }
    grep -qF "stopped by SIG$sig; every trial recorded is kept. Continue with: sparsenas search --resume $T/sig$sig" \
        "$T/bg.err" || { fail "SIG$sig: stderr does not say how to resume"; cat "$T/bg.err"; }
    whole_lines "$T/sig$sig"
    run 0 search --resume "$T/sig$sig" -q
    same_records "$T/sig$sig" "$T/slowref.records" "stopped by SIG$sig and resumed"
done

# A file size limit (ulimit -f, 512-byte blocks): an error naming the file,
# not a kill by SIGXFSZ; no partial record; a resume without it finishes.
(ulimit -f 16 && exec "$SPARSE" search "$T/tiny.yaml" --out "$T/fsize" -q) >"$T/out" 2>"$T/err"
status=$?
[ $status -eq 1 ] || { fail "under ulimit -f: exit status $status, expected 1"; cat "$T/err"; }
err_has "File too large"
err_has "$T/fsize/"
whole_lines "$T/fsize"
[ "$(lines "$T/fsize")" -lt 10 ] || fail "ulimit -f 16 did not stop the search"
run 0 search --resume "$T/fsize" -q
same_records "$T/fsize" "$T/ref.records" "stopped by a file size limit and resumed"

# A line gone from the middle: the resume refuses; inspect warns and shows
# every other trial under its own id; export-arch --trial takes ids.
cp -r "$T/ref" "$T/gone"
sed -i '4d' "$T/gone/trials.jsonl"
cp "$T/gone/trials.jsonl" "$T/gone.jsonl"
run 1 search --resume "$T/gone"
err_has "state.json says 10 trials are done, but $T/gone/trials.jsonl holds 9 records"
cmp -s "$T/gone/trials.jsonl" "$T/gone.jsonl" || fail "a refused resume changed trials.jsonl"
# The measured columns: the posterior (post% and its se, fields 4 and 5) is
# fitted to every record, so it moves when one is missing, and with it the
# order of the rows (the most accurate first): compared by id.
measured() { awk '{ $4 = ""; $5 = ""; print }' "$1" | sort -n; }
run 0 inspect "$T/ref" --all
grep -v '^ *3 ' "$T/out" >"$T/ref.rows"
measured "$T/ref.rows" >"$T/ref.table"
run 0 inspect "$T/gone" --all
err_has "warning: $T/gone/state.json says 10 trials are done"
measured "$T/out" >"$T/gone.table"
cmp -s "$T/gone.table" "$T/ref.table" || { fail "inspect --all of a run without line 4 is not the reference's rows without trial 3"; cat "$T/out"; }
run 0 inspect "$T/gone" --all --json
out_has '{"id":4,'
run 0 export-arch "$T/ref" --trial 7 -o "$T/ref7.yaml"
run 0 export-arch "$T/gone" --trial 7 -o "$T/gone7.yaml"
cmp -s "$T/ref7.yaml" "$T/gone7.yaml" || fail "export-arch --trial 7 of a run without line 4 is not trial 7's network"
run 1 export-arch "$T/gone" --trial 3
err_has "has no trial 3"

# Garbage in the middle: refused with its line, the file unchanged.
cp -r "$T/ref" "$T/garbage"
sed -i '4s/.*/garbage/' "$T/garbage/trials.jsonl"
cp "$T/garbage/trials.jsonl" "$T/garbage.jsonl"
run 1 search --resume "$T/garbage"
err_has "$T/garbage/trials.jsonl:4: not a trial record"
cmp -s "$T/garbage/trials.jsonl" "$T/garbage.jsonl" || fail "a refused resume changed trials.jsonl"
run 0 inspect "$T/garbage" --all
err_has "warning: $T/garbage/trials.jsonl:4: not a trial record (not a JSON object); skipped"

# An emptied trials.jsonl is not a reason to start again from trial 0.
cp -r "$T/ref" "$T/empty"
: >"$T/empty/trials.jsonl"
run 1 search --resume "$T/empty"
err_has "holds 0 records"
[ ! -s "$T/empty/trials.jsonl" ] || fail "a refused resume wrote trials.jsonl"

# A changed seed: refused, naming it; threads may change.
cp -r "$T/ref" "$T/edited"
sed -i 's/^seed: 1$/seed: 4/' "$T/edited/config.yaml"
run 1 search --resume "$T/edited"
err_has "'seed' changed (now 'seed: 4')"
sed -i 's/^seed: 4$/seed: 1/; s/^threads: 1$/threads: 2/' "$T/edited/config.yaml"
run 0 search --resume "$T/edited" -q

# A torn last line (a crash while the 10th record was written): the resume
# says so, cuts it (a copy kept), and ends as the uninterrupted run did.
cp -r "$T/ref" "$T/torn"
head -n 9 "$T/ref/trials.jsonl" >"$T/torn/trials.jsonl"
tail -n 1 "$T/ref/trials.jsonl" | head -c 300 >>"$T/torn/trials.jsonl"
sed -i 's/"trials_done":10/"trials_done":9/' "$T/torn/state.json"
run 0 search --resume "$T/torn"
err_has "$T/torn/trials.jsonl:10: last line is not a whole record (300 bytes"
same_records "$T/torn" "$T/ref.records" "a torn last line cut and resumed"
[ "$(head -c 300 "$T/torn/trials.jsonl.torn")" = "$(tail -n 1 "$T/ref/trials.jsonl" | head -c 300)" ] ||
    fail "trials.jsonl.torn does not hold the torn line"
run 0 inspect "$T/torn"
err_has "trials.jsonl.torn: 301 bytes of torn last lines"

# trials.jsonl a symbolic link out of the run directory: refused, the
# target untouched.
cp -r "$T/ref" "$T/linked"
head -n 5 "$T/ref/trials.jsonl" >"$T/outside.jsonl"
cp "$T/outside.jsonl" "$T/outside.orig"
rm "$T/linked/trials.jsonl"
ln -s "$T/outside.jsonl" "$T/linked/trials.jsonl"
sed -i 's/"trials_done":10/"trials_done":5/' "$T/linked/state.json"
run 1 search --resume "$T/linked"
err_has "trials.jsonl: cannot open for appending: is a symbolic link (not followed)"
cmp -s "$T/outside.jsonl" "$T/outside.orig" || fail "a resume wrote through a symbolic link"

[ $fails -eq 0 ] && echo "ok: sparse run directory (lock, signals, limits, damage, ids)"
exit $fails
