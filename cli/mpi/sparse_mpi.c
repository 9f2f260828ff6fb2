/* sparsenas-mpi: `sparsenas search` over MPI ranks (docs/mpi.md). Rank 0 runs
 * the search loop and owns the run directory; ranks 1..N-1 train trials.
 * Nothing but MPI messages joins them: the config (as rank 0 resolved it)
 * is broadcast, each rank opens the data itself from it, a task travels
 * with its reference's weights, a result with the trained weights, which
 * rank 0 writes into the run directory. A worker keeps the two weights
 * files of the trial it trains in a private temp directory.
 *
 * Built on the library's executor interface (sparse/experimental.h): the
 * search proposes trial t from trials 0..t-1-2(N-2), as with N-1 threaded
 * workers, so the records are those of `sparsenas search` with
 * `workers: N-1` and the same threads per worker. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include <mpi.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sparse/experimental.h"
#include "sparse/search.h"

enum { TAG_TASK = 1, TAG_RESULT = 2, TAG_STOP = 3 };

typedef struct args {
    const char *config, *out, *resume, *data;
    long trials, threads, seed;
    double budget_s;
    int quiet;
} args;

static const char usage[] =
    "Usage: mpirun -np N sparsenas-mpi CONFIG.yaml --out DIR [options]\n"
    "       mpirun -np N sparsenas-mpi --resume DIR [options]\n\n"
    "sparsenas search with its trials trained on MPI ranks 1..N-1 (N >= 2); rank 0 runs\n"
    "the search and alone writes DIR. The records are those of `sparsenas search` with\n"
    "workers: N-1 and the same threads per worker. See docs/mpi.md.\n\n"
    "Options:\n"
    "  --out DIR          run directory to create (on rank 0's machine)\n"
    "  --resume DIR       continue the run in DIR (with any number of ranks)\n"
    "  --trials N         stop after N trials in all\n"
    "  --time-budget T    no new trial after T (900, 15m, 2h)\n"
    "  --threads T        threads of a threaded run: each rank computes with T/(N-1)\n"
    "                     (default: the config's threads)\n"
    "  --seed S           seed of the search and its data split (a new run)\n"
    "  --data SPEC        use this data set instead of the config's (every rank opens it)\n"
    "  -q, --quiet        no line per trial on stderr\n";

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_duration(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    double unit = !strcmp(end, "") || !strcmp(end, "s") ? 1 : !strcmp(end, "m") ? 60 : !strcmp(end, "h") ? 3600 : -1;
    if (end == s || unit < 0 || !(v > 0))
        return -1;
    *out = v * unit;
    return 0;
}

/* 0, or -1 after a message (rank 0 only says it). */
static int parse_args(int argc, char **argv, args *a, int say)
{
    memset(a, 0, sizeof *a);
    a->seed = -1;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0, takes = 1;
        if (!strcmp(o, "-q") || !strcmp(o, "--quiet"))
            a->quiet = 1, takes = 0;
        else if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
            if (say)
                fputs(usage, stdout);
            return 1;
        } else if (o[0] != '-') {
            bad = a->config != NULL;
            a->config = o;
            takes = 0;
        } else if (!v)
            bad = 1;
        else if (!strcmp(o, "--out"))
            a->out = v;
        else if (!strcmp(o, "--resume"))
            a->resume = v;
        else if (!strcmp(o, "--data"))
            a->data = v;
        else if (!strcmp(o, "--trials"))
            bad = parse_long(v, 1, 10000000, &a->trials);
        else if (!strcmp(o, "--threads"))
            bad = parse_long(v, 1, 1024, &a->threads);
        else if (!strcmp(o, "--seed"))
            bad = parse_long(v, 0, 2147483647L, &a->seed);
        else if (!strcmp(o, "--time-budget"))
            bad = parse_duration(v, &a->budget_s);
        else
            bad = 1;
        if (bad) {
            if (say)
                fprintf(stderr, "sparsenas-mpi: bad option or value: %s%s%s\n%s", o, v && takes ? " " : "",
                        v && takes ? v : "", usage);
            return -1;
        }
        i += takes;
    }
    if (!a->resume == !(a->config && a->out) || (a->resume && (a->config || a->out))) {
        if (say)
            fprintf(stderr, "sparsenas-mpi: give CONFIG.yaml --out DIR, or --resume DIR\n%s", usage);
        return -1;
    }
    return 0;
}

static void fail(const char *what, int rc)
{
    fprintf(stderr, "sparsenas-mpi: %s: %s: %s\n", what, sparse_strerror(rc), sparse_last_error());
}

/* ---- rank 0: the executor ---- */

typedef struct ranks {
    int size;
    long *trial;        /* trial[r]: the trial rank r trains, -1: none */
    unsigned char *msg; /* the last result message (what wait hands back points into it) */
} ranks;

/* Reads a whole file into a fresh buffer; -1 on failure. */
static int read_file(const char *path, unsigned char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    *out = NULL;
    *len = 0;
    if (!f)
        return -1;
    int rc = fseek(f, 0, SEEK_END);
    long n = rc ? -1 : ftell(f);
    if (n < 0 || fseek(f, 0, SEEK_SET) || !(*out = malloc(n ? (size_t)n : 1)) ||
        fread(*out, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(*out);
        *out = NULL;
        return -1;
    }
    fclose(f);
    *len = (size_t)n;
    return 0;
}

static int write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int bad = fwrite(p, 1, n, f) != n;
    return fclose(f) || bad ? -1 : 0;
}

/* One message: three counts, then two byte strings. */
static int send_parts(int to, int tag, uint64_t id, const void *a, size_t alen, const void *b, size_t blen)
{
    uint64_t head[3] = {id, alen, blen};
    size_t n = sizeof head + alen + blen;
    if (n > INT32_MAX)
        return SPARSE_ERANGE;
    unsigned char *m = malloc(n);
    if (!m)
        return SPARSE_ENOMEM;
    memcpy(m, head, sizeof head);
    if (alen)
        memcpy(m + sizeof head, a, alen);
    if (blen)
        memcpy(m + sizeof head + alen, b, blen);
    int rc = MPI_Send(m, (int)n, MPI_BYTE, to, tag, MPI_COMM_WORLD) == MPI_SUCCESS ? SPARSE_OK : SPARSE_EIO;
    free(m);
    return rc;
}

/* MPI_Probe without its busy wait: Open MPI's spins a core, and a rank
 * waiting for a trial (rank 0 most of the time) would take the cores the
 * workers train on. A millisecond's nap costs nothing next to a trial. */
static int probe(int from, int tag, MPI_Status *st)
{
    const struct timespec nap = {0, 1000000};
    for (;;) {
        int got = 0;
        if (MPI_Iprobe(from, tag, MPI_COMM_WORLD, &got, st) != MPI_SUCCESS)
            return -1;
        if (got)
            return 0;
        nanosleep(&nap, NULL);
    }
}

/* Receives a message of send_parts from `from` (or any rank) into a fresh
 * buffer; its sender in *src. */
static int recv_parts(int from, int tag, unsigned char **msg, uint64_t head[3], int *src)
{
    MPI_Status st;
    int n = 0;
    *msg = NULL;
    if (probe(from, tag, &st) || MPI_Get_count(&st, MPI_BYTE, &n) != MPI_SUCCESS)
        return SPARSE_EIO;
    if (!(*msg = malloc(n > 0 ? (size_t)n : 1)))
        return SPARSE_ENOMEM;
    if (MPI_Recv(*msg, n, MPI_BYTE, st.MPI_SOURCE, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE) != MPI_SUCCESS)
        return SPARSE_EIO;
    if ((size_t)n < 3 * sizeof(uint64_t))
        return SPARSE_EFORMAT;
    memcpy(head, *msg, 3 * sizeof(uint64_t));
    if (head[1] > (size_t)n - 3 * sizeof(uint64_t) || head[2] != (size_t)n - 3 * sizeof(uint64_t) - head[1])
        return SPARSE_EFORMAT;
    *src = st.MPI_SOURCE;
    return SPARSE_OK;
}

static int ex_start(void *user, const sparse_exp_trial_job *job)
{
    ranks *r = user;
    int to = 1;
    while (to < r->size && r->trial[to] >= 0)
        to++;
    if (to == r->size)
        return SPARSE_EINVAL; /* the library keeps at most size - 1 in flight */
    unsigned char *w = NULL;
    size_t wlen = 0;
    if (job->parent_weights && read_file(job->parent_weights, &w, &wlen)) {
        fprintf(stderr, "sparsenas-mpi: cannot read %s for trial %zu\n", job->parent_weights, job->trial);
        return SPARSE_EIO;
    }
    int rc = send_parts(to, TAG_TASK, job->trial, job->task, job->task_len, w, wlen);
    free(w);
    if (!rc)
        r->trial[to] = (long)job->trial;
    return rc;
}

static int ex_wait(void *user, size_t *trial, const void **result, size_t *result_len, const void **weights,
                   size_t *weights_len)
{
    ranks *r = user;
    uint64_t head[3];
    int src = 0;
    free(r->msg);
    int rc = recv_parts(MPI_ANY_SOURCE, TAG_RESULT, &r->msg, head, &src);
    if (rc)
        return rc;
    if (r->trial[src] != (long)head[0])
        return SPARSE_EFORMAT;
    r->trial[src] = -1;
    *trial = (size_t)head[0];
    *result = r->msg + sizeof head;
    *result_len = (size_t)head[1];
    *weights = r->msg + sizeof head + head[1];
    *weights_len = (size_t)head[2];
    return SPARSE_OK;
}

static int on_trial(void *user, const sparse_trial_event *ev)
{
    (void)user;
    if (ev->ok)
        fprintf(stderr, "trial %zu/%zu stage %d: val %.4f  MS %.0f B  WM %.0f B  (%.0f s)\n", ev->trial + 1,
                ev->total, ev->stage, ev->val_accuracy, ev->ms_bytes, ev->wm_bytes, ev->elapsed_s);
    else
        fprintf(stderr, "trial %zu/%zu stage %d: failed (see trials.jsonl)\n", ev->trial + 1, ev->total,
                ev->stage);
    return 0;
}

/* Rank 0: the search over ranks 1..size-1, then a stop to each of them. */
static int lead(const args *a, const sparse_search_config *cfg, int size)
{
    ranks r = {size, calloc((size_t)size, sizeof(long)), NULL};
    if (!r.trial)
        return SPARSE_ENOMEM;
    for (int i = 0; i < size; i++)
        r.trial[i] = -1;
    sparse_exp_executor ex = {SPARSE_EXP_EXECUTOR_VERSION, (size_t)size - 1, &r, ex_start, ex_wait};
    sparse_search_options o = SPARSE_SEARCH_OPTIONS_INIT;
    o.max_trials = (size_t)a->trials;
    o.time_budget_s = a->budget_s;
    o.threads = (int)a->threads;
    o.data_override = a->data;
    o.seed = a->seed;
    o.on_trial = a->quiet ? NULL : on_trial;
    int rc = a->resume ? sparse_exp_search_resume(a->resume, &o, &ex) : sparse_exp_search_run(cfg, a->out, &o, &ex);
    if (rc)
        fail(a->resume ? a->resume : a->out, rc);
    int busy = 0;
    for (int i = 1; i < size; i++)
        busy |= r.trial[i] >= 0;
    if (busy) /* a worker still trains: only an abort ends it */
        MPI_Abort(MPI_COMM_WORLD, 1);
    for (int i = 1; i < size; i++)
        MPI_Send(NULL, 0, MPI_BYTE, i, TAG_STOP, MPI_COMM_WORLD);
    free(r.trial);
    free(r.msg);
    return rc;
}

/* ---- ranks 1..N-1: the workers ---- */

/* Trains the tasks rank 0 sends until it says stop; the weights files of
 * each in dir. An error that leaves no result to send ends the job. */
static int work_loop(sparse_exp_trainer *tr, const char *dir, int rank)
{
    char parent[4200], out[4200];
    snprintf(parent, sizeof parent, "%s/parent.safetensors", dir);
    snprintf(out, sizeof out, "%s/trial.safetensors", dir);
    for (;;) {
        MPI_Status st;
        if (probe(0, MPI_ANY_TAG, &st))
            return SPARSE_EIO;
        if (st.MPI_TAG == TAG_STOP) {
            MPI_Recv(NULL, 0, MPI_BYTE, 0, TAG_STOP, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            break;
        }
        unsigned char *msg = NULL, *w = NULL;
        void *res = NULL;
        size_t rlen = 0, wlen = 0;
        uint64_t head[3];
        int src, rc = recv_parts(0, TAG_TASK, &msg, head, &src);
        if (!rc && head[2] && write_file(parent, msg + sizeof head + head[1], (size_t)head[2]))
            rc = SPARSE_EIO;
        if (!rc)
            rc = sparse_exp_trainer_run(tr, msg + sizeof head, (size_t)head[1], head[2] ? parent : NULL, out, &res,
                                        &rlen);
        if (!rc && access(out, F_OK) == 0 && read_file(out, &w, &wlen))
            rc = SPARSE_EIO;
        if (!rc)
            rc = send_parts(0, TAG_RESULT, head[0], res, rlen, w, wlen);
        if (rc) {
            fprintf(stderr, "sparsenas-mpi: rank %d, trial %llu: %s: %s\n", rank, (unsigned long long)head[0],
                    sparse_strerror(rc), sparse_last_error());
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        free(msg);
        free(w);
        sparse_free(res);
    }
    unlink(parent);
    unlink(out);
    return SPARSE_OK;
}

/* ---- every rank ---- */

/* The config every rank works from, as rank 0 resolved it (a resume: the
 * run's own config.yaml), broadcast as YAML; NULL on every rank if rank 0
 * could not load it. */
static sparse_search_config *shared_config(const args *a, int rank)
{
    sparse_search_config *cfg = NULL;
    char *yaml = NULL;
    long len = -1;
    if (rank == 0) {
        char path[4096];
        snprintf(path, sizeof path, "%s/config.yaml", a->resume ? a->resume : "");
        int rc = sparse_search_config_load(&cfg, a->resume ? path : a->config);
        if (!rc)
            rc = sparse_search_config_to_yaml(&yaml, cfg);
        if (rc)
            fail(a->resume ? path : a->config, rc);
        else
            len = (long)strlen(yaml);
    }
    MPI_Bcast(&len, 1, MPI_LONG, 0, MPI_COMM_WORLD);
    if (len >= 0 && rank != 0 && !(yaml = calloc((size_t)len + 1, 1)))
        MPI_Abort(MPI_COMM_WORLD, 1);
    if (len >= 0)
        MPI_Bcast(yaml, (int)len, MPI_CHAR, 0, MPI_COMM_WORLD);
    int rc = len >= 0 && rank != 0 ? sparse_search_config_parse(&cfg, yaml, (size_t)len, "rank 0's config") : 0;
    if (rc)
        fail("the config from rank 0", rc);
    if (rank == 0)
        sparse_free(yaml);
    else
        free(yaml);
    return cfg;
}

/* A worker's trainer (its data opened); every rank learns whether all of
 * them could open theirs. */
static int open_trainers(const args *a, const sparse_search_config *cfg, int rank, int size,
                         sparse_exp_trainer **tr)
{
    int bad = 0, any = 0;
    *tr = NULL;
    if (rank != 0) {
        sparse_search_options o = SPARSE_SEARCH_OPTIONS_INIT;
        o.threads = (int)a->threads;
        o.data_override = a->data;
        o.seed = a->resume ? -1 : a->seed;
        int rc = sparse_exp_trainer_create(tr, cfg, &o, (size_t)size - 1);
        if (rc) {
            char what[64];
            snprintf(what, sizeof what, "rank %d: opening the data", rank);
            fail(what, rc);
            bad = 1;
        }
    }
    MPI_Allreduce(&bad, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return any;
}

/* mpirun binds each rank to one core when the ranks fit the cores (np 2
 * on 2 cores): a worker's threads then share that core, and its trials
 * took twice as long (measured, mnist-quick at np 2). Said once per rank. */
static void warn_binding(int rank)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set))
        return;
    int cores = CPU_COUNT(&set), threads = sparse_thread_count();
    if (cores < threads)
        fprintf(stderr,
                "sparsenas-mpi: rank %d may run on %d core%s but computes with %d threads, so its trials take "
                "longer than they should: run mpirun with --bind-to none, or give each rank %d cores "
                "(Slurm: --cpus-per-task=%d)\n",
                rank, cores, cores == 1 ? "" : "s", threads, threads, threads);
}

static int work(sparse_exp_trainer *tr, int rank)
{
    warn_binding(rank);
    const char *tmp = getenv("TMPDIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/sparse-mpi.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        fprintf(stderr, "sparsenas-mpi: rank %d: cannot create a temp directory in %s\n", rank, tmp ? tmp : "/tmp");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    int rc = work_loop(tr, dir, rank);
    rmdir(dir);
    return rc;
}

int main(int argc, char **argv)
{
    int rank = 0, size = 1;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    args a;
    int rc = parse_args(argc, argv, &a, rank == 0);
    if (!rc && size < 2) {
        if (rank == 0)
            fprintf(stderr, "sparsenas-mpi: needs 2 ranks or more (rank 0 searches, the others train): "
                            "mpirun -np N with N >= 2\n");
        rc = -1;
    }
    if (rc) {
        MPI_Finalize();
        return rc < 0 ? 2 : 0;
    }
    sparse_search_config *cfg = shared_config(&a, rank);
    int bad = cfg ? 0 : 1, any = 0;
    MPI_Allreduce(&bad, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    sparse_exp_trainer *tr = NULL;
    if (!any)
        any = open_trainers(&a, cfg, rank, size, &tr);
    if (!any)
        rc = rank == 0 ? lead(&a, cfg, size) : work(tr, rank);
    sparse_exp_trainer_free(tr);
    sparse_search_config_free(cfg);
    MPI_Finalize();
    return any || rc ? 1 : 0;
}
