#!/bin/sh
# The run directory through `sparse search`, `inspect` and `export-arch`
# (issue 21): one writer at a time, SIGTERM/SIGINT and a file size limit
# that stop a search cleanly, damaged logs refused by a resume and read by
# trial id, a changed config refused, a torn last line cut and reported, a
# symbolic link refused. Every interrupted run, once resumed, must hold the
# records of an uninterrupted one (seconds aside).
set -u
SPARSE=$1
. "$(dirname "$0")/../lib.sh"

tiny_csv "$T/tiny.csv" 5
cat >"$T/tiny.yaml" <<EOC
data: {source: "$T/tiny.csv", val_count: 40}
seed: 3
threads: 1
initial_trials: 2
candidates: 8
stages: [{trials: 6, rho: 0.8}, {trials: 2, rho: 0.8}, {trials: 2, rho: 0.8}]
training: {batch: 16}
space: {blocks: [1, 1], layers_per_block: [1, 1], filters: [1, 4], kernel: [2, 3], pool: [1, 2],
        input_downsample: [false], branches: [false], fc_weights: [20, 200], epochs: [1, 2],
        pruning: [none, spvd, bc]}
EOC
records() { sed 's/,"seconds":[0-9.e+-]*//' "$1/trials.jsonl"; }
lines() { if [ -f "$1/trials.jsonl" ]; then wc -l <"$1/trials.jsonl"; else echo 0; fi; }
# wait_lines DIR N: until DIR/trials.jsonl has N lines (30 s at most).
wait_lines() {
    i=0
    while [ "$(lines "$1")" -lt "$2" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
}
# same_records DIR WHAT: DIR's records are the reference's.
same_records() {
    records "$1" >"$T/got"
    cmp -s "$T/got" "$T/ref.records" || fail "$2: records differ from an uninterrupted run"
}
# whole_lines DIR: trials.jsonl ends with a newline (or is empty).
whole_lines() {
    [ ! -s "$1/trials.jsonl" ] || [ "$(tail -c 1 "$1/trials.jsonl" | od -An -c | tr -d ' ')" = '\n' ] ||
        fail "$1/trials.jsonl ends inside a record"
}

run 0 search "$T/tiny.yaml" --out "$T/ref" -q
records "$T/ref" >"$T/ref.records"
[ "$(wc -l <"$T/ref.records")" -eq 10 ] || fail "the reference run has $(wc -l <"$T/ref.records") records, expected 10"

# One writer: a second resume on a run in use is refused, naming it and the
# pid; readers read; once the first is killed (kill -9), a resume finishes.
"$SPARSE" search "$T/tiny.yaml" --out "$T/busy" -q 2>"$T/busy.err" &
pid=$!
wait_lines "$T/busy" 1
kill -STOP $pid
run 1 search --resume "$T/busy"
err_has "run directory $T/busy is in use by process $pid"
run 1 search "$T/tiny.yaml" --out "$T/busy"
err_has "is in use by process $pid"
run 0 inspect "$T/busy" --all
out_has "val%"
kill -KILL $pid
wait $pid 2>/dev/null
run 0 search --resume "$T/busy" -q
same_records "$T/busy" "killed with SIGKILL while a second writer was refused, then resumed"

# SIGTERM and SIGINT: the record being written is finished, the run is
# resumable, the exit status says which signal, and stderr says how to go on.
for sig in TERM INT; do
    env --default-signal=INT "$SPARSE" search "$T/tiny.yaml" --out "$T/sig$sig" -q 2>"$T/err" &
    pid=$!
    wait_lines "$T/sig$sig" 2
    kill -$sig $pid
    wait $pid
    status=$?
    want=143
    [ $sig = INT ] && want=130
    [ $status -eq $want ] || { fail "SIG$sig: exit status $status, expected $want"; cat "$T/err"; }
    err_has "stopped by SIG$sig; every trial recorded is kept. Continue with: sparse search --resume $T/sig$sig"
    whole_lines "$T/sig$sig"
    run 0 search --resume "$T/sig$sig" -q
    same_records "$T/sig$sig" "stopped by SIG$sig and resumed"
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
same_records "$T/fsize" "stopped by a file size limit and resumed"

# A line gone from the middle: the resume refuses; inspect warns and shows
# every other trial under its own id; export-arch --trial takes ids.
cp -r "$T/ref" "$T/gone"
sed -i '4d' "$T/gone/trials.jsonl"
cp "$T/gone/trials.jsonl" "$T/gone.jsonl"
run 1 search --resume "$T/gone"
err_has "state.json says 10 trials are done, but $T/gone/trials.jsonl holds 9 records"
cmp -s "$T/gone/trials.jsonl" "$T/gone.jsonl" || fail "a refused resume changed trials.jsonl"
run 0 inspect "$T/ref" --all
grep -v '^ *3 ' "$T/out" >"$T/ref.table"
run 0 inspect "$T/gone" --all
err_has "warning: $T/gone/state.json says 10 trials are done"
cmp -s "$T/out" "$T/ref.table" || { fail "inspect --all of a run without line 4 is not the reference's rows without trial 3"; cat "$T/out"; }
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
sed -i 's/^seed: 3$/seed: 4/' "$T/edited/config.yaml"
run 1 search --resume "$T/edited"
err_has "'seed' changed (now 'seed: 4')"
sed -i 's/^seed: 4$/seed: 3/; s/^threads: 1$/threads: 2/' "$T/edited/config.yaml"
run 0 search --resume "$T/edited" -q

# A torn last line (a crash while the 10th record was written): the resume
# says so, cuts it (a copy kept), and ends as the uninterrupted run did.
cp -r "$T/ref" "$T/torn"
head -n 9 "$T/ref/trials.jsonl" >"$T/torn/trials.jsonl"
tail -n 1 "$T/ref/trials.jsonl" | head -c 300 >>"$T/torn/trials.jsonl"
sed -i 's/"trials_done":10/"trials_done":9/' "$T/torn/state.json"
run 0 search --resume "$T/torn"
err_has "$T/torn/trials.jsonl:10: last line is not a whole record (300 bytes"
same_records "$T/torn" "a torn last line cut and resumed"
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
