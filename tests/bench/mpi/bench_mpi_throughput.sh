#!/bin/sh
# Trials per hour of a search config (default examples/search/mnist-quick.yaml)
# with 1 and 2 workers as threads (`sparsenas search`) and over MPI
# (`sparsenas-mpi`, np 2 and 3: 1 and 2 workers), same seed and threads, each
# run stopped by --time-budget (default 300 s). Trials per hour = records x
# 3600 / the run's wall time (data loading and the trials in flight at the
# budget included). Needs the MNIST cache for the default config.
#   bench_mpi_throughput.sh SPARSE SPARSE_MPI CONFIG [BUDGET_S]
set -u
SPARSE=$1 SPARSE_MPI=$2 CONFIG=$3 BUDGET=${4:-300}
[ -n "$SPARSE_MPI" ] || { echo "SKIP: sparsenas-mpi not built"; exit 77; }
T=$(mktemp -d "${TMPDIR:-/tmp}/sparse-bench.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
sed 's/^workers: .*/workers: 1/' "$CONFIG" >"$T/w1.yaml"
sed 's/^workers: .*/workers: 2/' "$CONFIG" >"$T/w2.yaml"
now() { date +%s.%N; }
# one LABEL DIR COMMAND...: runs it, prints records, wall time and trials per hour.
one() {
    label=$1 dir=$2; shift 2
    t0=$(now)
    "$@" >/dev/null 2>"$T/err" || { echo "$label: failed"; tail -3 "$T/err"; return; }
    t1=$(now)
    n=$(wc -l <"$dir/trials.jsonl")
    awk -v l="$label" -v n="$n" -v a="$t0" -v b="$t1" \
        'BEGIN { w = b - a; printf "%-22s %4d trials in %6.1f s: %6.0f trials/h\n", l, n, w, n * 3600 / w }'
}
# --bind-to none: at np 2 mpirun would bind each rank to one core, and the
# training rank's two threads would share it (docs/mpi.md).
mpi() { np=$1; shift; mpirun --allow-run-as-root --oversubscribe --bind-to none -np "$np" "$SPARSE_MPI" "$@"; }
one "threads, workers 1" "$T/t1" "$SPARSE" search "$T/w1.yaml" --out "$T/t1" --time-budget "$BUDGET" -q
one "threads, workers 2" "$T/t2" "$SPARSE" search "$T/w2.yaml" --out "$T/t2" --time-budget "$BUDGET" -q
one "MPI np 2 (1 worker)" "$T/m2" mpi 2 "$T/w1.yaml" --out "$T/m2" --time-budget "$BUDGET" -q
one "MPI np 3 (2 workers)" "$T/m3" mpi 3 "$T/w2.yaml" --out "$T/m3" --time-budget "$BUDGET" -q
