/* `sparsenas inspect`'s table and JSON: a run's trials grouped by the budget
 * box they fit (the config's final.boxes, else its budgets), the most
 * accurate first, with the trial to take for each box, and failed trials
 * with the reason their record gives. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum { VAL, TEST, MS, WM5, WM6, FLASH, ARENA, PARAMS, STAGE, OK, PARENT, INT8, SE, POST, POST_SE, PARTIAL, EPOCHS,
       FEASIBLE, NF };
static const int fields[NF] = {
    SPARSE_TRIAL_VAL_ACCURACY, SPARSE_TRIAL_TEST_ACCURACY, SPARSE_TRIAL_MS_BYTES,  SPARSE_TRIAL_WM5_BYTES,
    SPARSE_TRIAL_WM6_BYTES,    SPARSE_TRIAL_FLASH_BYTES,   SPARSE_TRIAL_ARENA_BYTES, SPARSE_TRIAL_PARAMS,
    SPARSE_TRIAL_STAGE,        SPARSE_TRIAL_OK,            SPARSE_TRIAL_PARENT,    SPARSE_TRIAL_INT8_TEST_ACCURACY,
    SPARSE_TRIAL_VAL_SE,       SPARSE_TRIAL_POSTERIOR_ACCURACY, SPARSE_TRIAL_POSTERIOR_SE, SPARSE_TRIAL_PARTIAL,
    SPARSE_TRIAL_EPOCHS,       SPARSE_TRIAL_FEASIBLE};
/* The JSON keys: those of the trial records (docs/json.md). */
static const char *const names[NF] = {
    "val_accuracy", "test_accuracy", "ms_bytes", "wm5_bytes", "wm6_bytes", "flash_bytes", "arena_bytes", "params",
    "stage", "ok", "parent", "int8_test_accuracy", "val_se", "posterior_accuracy", "posterior_se", "partial",
    "epochs", "feasible"};

/* One trial's figures (-1: unknown), the box it is shown under and its rank. */
typedef struct row {
    size_t id;
    double v[NF];
    double rank; /* accuracy it is sorted by */
    size_t box;  /* first box containing it; SIZE_MAX: none */
    const char *reason;
} row;

static int by_box_then_accuracy(const void *a, const void *b)
{
    const row *x = a, *y = b;
    if (x->box != y->box)
        return x->box < y->box ? -1 : 1;
    if (x->rank != y->rank)
        return x->rank > y->rank ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int load_row(const sparse_run *run, size_t id, size_t nboxes, row *r)
{
    r->id = id;
    for (int f = 0; f < NF; f++)
        if (sparse_run_trial_value(run, id, fields[f], &r->v[f]))
            r->v[f] = -1; /* a posterior the GP could not give */
    sparse_clear_error();
    r->rank = r->v[POST] >= 0 ? r->v[POST] : r->v[VAL];
    r->box = SIZE_MAX;
    for (size_t b = 0; b < nboxes && r->box == SIZE_MAX; b++) {
        int inside = 0;
        if (!sparse_run_box_contains(run, b, id, &inside) && inside)
            r->box = b;
    }
    if (r->v[OK] != 1)
        r->box = SIZE_MAX - 1; /* failed trials last */
    return sparse_run_trial_reason(run, id, &r->reason);
}

/* "MS <= 1024 B, WM5 <= 1024 B" */
static void box_text(const sparse_run *run, size_t b, int wm_model, char *buf, size_t cap)
{
    double ms = 0, wm = 0, arena = 0;
    sparse_run_box(run, b, &ms, &wm, &arena);
    size_t n = 0;
    buf[0] = '\0';
    if (ms > 0)
        n += (size_t)snprintf(buf + n, cap - n, "MS <= %.0f B", ms);
    if (wm > 0 && n < cap)
        n += (size_t)snprintf(buf + n, cap - n, "%sWM%d <= %.0f B", n ? ", " : "", wm_model, wm);
    if (arena > 0 && n < cap)
        snprintf(buf + n, cap - n, "%sarena <= %.0f B", n ? ", " : "", arena);
}

static void print_header(void)
{
    printf("%6s %7s %5s %7s %5s %7s %7s %6s %6s %6s %7s %7s %4s %6s %5s %5s %6s\n", "id", "val%", "se", "post%", "se",
           "test%", "int8%", "MS(B)", "WM5(B)", "WM6(B)", "flash", "arena", "feas", "params", "ep", "stage", "parent");
}

static void print_row(const row *r)
{
    const double *v = r->v;
    if (v[OK] != 1) {
        printf("%6zu %7s %5.0f %6.0f  %s\n", r->id, "failed", v[STAGE], v[PARENT],
               r->reason ? r->reason : "(no reason recorded)");
        return;
    }
    char int8[16] = "-", post[16] = "-", post_se[16] = "-", ep[16], flash[16] = "-", arena[16] = "-";
    if (v[INT8] >= 0)
        snprintf(int8, sizeof int8, "%.2f", 100 * v[INT8]);
    if (v[POST] >= 0) {
        snprintf(post, sizeof post, "%.2f", 100 * v[POST]);
        snprintf(post_se, sizeof post_se, "%.2f", 100 * v[POST_SE]);
    }
    if (v[FLASH] >= 0)
        snprintf(flash, sizeof flash, "%.0f", v[FLASH]);
    if (v[ARENA] >= 0)
        snprintf(arena, sizeof arena, "%.0f", v[ARENA]);
    snprintf(ep, sizeof ep, "%.0f%s", v[EPOCHS], v[PARTIAL] == 1 ? "*" : "");
    printf("%6zu %7.2f %5.2f %7s %5s %7.2f %7s %6.0f %6.0f %6.0f %7s %7s %4s %6.0f %5s %5.0f %6.0f\n", r->id,
           100 * v[VAL], 100 * v[SE], post, post_se, 100 * v[TEST], int8, v[MS], v[WM5], v[WM6], flash, arena,
           v[FEASIBLE] == 1 ? "yes" : "no", v[PARAMS], ep, v[STAGE], v[PARENT]);
}

/* "box 1 of 2: MS <= 1024 B, WM5 <= 1024 B; take trial 184 (...)" */
static void print_box_line(const sparse_run *run, const char *dir, size_t b, size_t nboxes, int wm_model)
{
    char text[160];
    size_t pick;
    box_text(run, b, wm_model, text, sizeof text);
    printf("box %zu of %zu: %s; ", b + 1, nboxes, text);
    if (sparse_run_box_pick(run, b, &pick)) {
        sparse_clear_error();
        puts("no successful trial fits it");
        return;
    }
    double val = -1, test = -1;
    sparse_run_trial_value(run, pick, SPARSE_TRIAL_VAL_ACCURACY, &val);
    sparse_run_trial_value(run, pick, SPARSE_TRIAL_TEST_ACCURACY, &test);
    printf("take trial %zu (val %.2f%%, test %.2f%%): sparsenas export %s --trial %zu\n", pick, 100 * val,
           100 * test, dir, pick);
}

static void print_text(const sparse_run *run, const char *dir, const row *rows, size_t count, size_t nboxes, int wm_model)
{
    int any_partial = 0, mode = SPARSE_INPUT_DOWNSAMPLING_NETWORK;
    size_t failed = 0;
    (void)sparse_run_input_downsampling(run, &mode);
    if (mode == SPARSE_INPUT_DOWNSAMPLING_ACQUISITION)
        puts("MS and WM count input downsampling as data acquisition (input_downsampling: acquisition):\n"
             "the downsampled image is the networks' input x_0\n");
    for (size_t j = 0; j < count; j++) {
        const row *r = &rows[j];
        if (!j || r->box != rows[j - 1].box) {
            if (j)
                putchar('\n');
            if (r->box < nboxes)
                print_box_line(run, dir, r->box, nboxes, wm_model);
            else if (r->box == SIZE_MAX)
                puts(nboxes ? "outside every box:" : "trials:");
            else
                puts("failed:");
            if (r->box != SIZE_MAX - 1)
                print_header();
            else
                printf("%6s %7s %5s %6s  %s\n", "id", "", "stage", "parent", "reason");
        }
        failed += r->v[OK] != 1;
        any_partial |= r->v[PARTIAL] == 1;
        print_row(r);
    }
    /* A box without a row above still says what to take (or that nothing fits). */
    for (size_t b = 0; b < nboxes; b++) {
        size_t j = 0;
        while (j < count && rows[j].box != b)
            j++;
        if (j == count)
            print_box_line(run, dir, b, nboxes, wm_model);
    }
    if (count == failed && count)
        printf("no trial succeeded: all %zu failed (reasons above)\n", failed);
    if (any_partial)
        puts("* stopped early: its learning curve could not reach the front (its val% is at that epoch)");
}

static int print_json(const sparse_run *run, const char *dir, const row *rows, size_t count, size_t nboxes,
                      int wm_model)
{
    sparse_json *j = cli_json_open("inspect");
    if (!j)
        return CLI_ERROR;
    sparse_json_key(j, "run");
    sparse_json_string(j, dir);
    sparse_json_key(j, "wm_model");
    sparse_json_integer(j, wm_model);
    int mode = SPARSE_INPUT_DOWNSAMPLING_NETWORK;
    (void)sparse_run_input_downsampling(run, &mode);
    sparse_json_key(j, "input_downsampling");
    sparse_json_string(j, sparse_input_downsampling_name(mode));
    sparse_json_key(j, "boxes");
    sparse_json_begin(j, 1);
    for (size_t b = 0; b < nboxes; b++) {
        double bound[3] = {0, 0, 0};
        size_t pick;
        static const char *const keys[3] = {"ms_bytes", "wm_bytes", "arena_bytes"};
        sparse_run_box(run, b, &bound[0], &bound[1], &bound[2]);
        sparse_json_begin(j, 0);
        for (int k = 0; k < 3; k++) {
            sparse_json_key(j, keys[k]);
            cli_json_value(j, bound[k] > 0 ? bound[k] : -1);
        }
        sparse_json_key(j, "pick");
        if (sparse_run_box_pick(run, b, &pick)) {
            sparse_clear_error();
            sparse_json_null(j);
        } else {
            sparse_json_integer(j, (long long)pick);
        }
        sparse_json_end(j);
    }
    sparse_json_end(j);
    sparse_json_key(j, "trials");
    sparse_json_begin(j, 1);
    for (size_t i = 0; i < count; i++) {
        const row *r = &rows[i];
        sparse_json_begin(j, 0);
        sparse_json_key(j, "id");
        sparse_json_integer(j, (long long)r->id);
        for (int f = 0; f < NF; f++) {
            sparse_json_key(j, names[f]);
            if (f == OK || f == FEASIBLE || (f == PARTIAL && r->v[f] >= 0))
                sparse_json_bool(j, r->v[f] == 1);
            else
                cli_json_value(j, r->v[f]);
        }
        sparse_json_key(j, "box");
        cli_json_value(j, r->box < nboxes ? (double)r->box : -1);
        sparse_json_key(j, "reason");
        sparse_json_string(j, r->reason);
        sparse_json_end(j);
    }
    sparse_json_end(j);
    return cli_json_finish(j, "inspect");
}

int cli_inspect_print(const sparse_run *run, const char *dir, const size_t *ids, size_t count, int json)
{
    size_t nboxes = sparse_run_box_count(run);
    int wm_model = 5, rc = sparse_run_wm_model(run, &wm_model);
    row *rows = calloc(count ? count : 1, sizeof *rows);
    if (!rows)
        return cli_error("out of memory");
    for (size_t i = 0; !rc && i < count; i++)
        rc = load_row(run, ids[i], nboxes, &rows[i]);
    if (rc) {
        free(rows);
        return cli_lib_error(rc, "inspect");
    }
    qsort(rows, count, sizeof *rows, by_box_then_accuracy);
    int status = CLI_OK;
    if (json)
        status = print_json(run, dir, rows, count, nboxes, wm_model);
    else
        print_text(run, dir, rows, count, nboxes, wm_model);
    free(rows);
    return status;
}
