/* What several commands open the same way: output files, data sets by
 * spec, networks from an architecture and weights, run directories. */
#include <errno.h>
#include <string.h>

#include "cli.h"

int cli_output_open(FILE **f, const char *path, const char *what)
{
    *f = path ? fopen(path, "w") : stdout;
    if (!*f)
        return cli_error("%s: cannot write %s: %s", what, path, strerror(errno));
    return CLI_OK;
}

int cli_output_close(FILE *f, const char *path, const char *what)
{
    int bad = ferror(f) != 0;
    if (path ? fclose(f) != 0 : fflush(f) != 0)
        bad = 1;
    if (bad)
        return cli_error("%s: error writing %s", what, path ? path : "the output");
    return CLI_OK;
}

int cli_write_text(const char *path, const char *text, const char *what)
{
    FILE *f;
    int rc = cli_output_open(&f, path, what);
    if (rc)
        return rc;
    fputs(text, f);
    return cli_output_close(f, path, what);
}

const cli_choice cli_layouts[] = {{"chw", SPARSE_LAYOUT_CHW}, {"hwc", SPARSE_LAYOUT_HWC}, {NULL, 0}};
const cli_choice cli_val_splits[] = {
    {"tail", SPARSE_VAL_SPLIT_TAIL}, {"random", SPARSE_VAL_SPLIT_RANDOM}, {NULL, 0}};

sparse_csv_options cli_csv_options(const cli_data *d)
{
    sparse_csv_options o = SPARSE_CSV_OPTIONS_INIT;
    o.height = d->shape[0];
    o.width = d->shape[1];
    o.channels = d->shape[2];
    o.layout = d->layout;
    o.label_column = (int)d->label_column;
    return o;
}

int cli_open_data(const cli_data *d, const sparse_net *net, cli_splits *s)
{
    sparse_data_options o = SPARSE_DATA_OPTIONS_INIT;
    const sparse_csv_options c = cli_csv_options(d);
    o.val_count = (size_t)d->val;
    o.val_split = d->val_split;
    o.seed = (uint64_t)d->seed;
    o.max_train = (size_t)d->max_train;
    o.height = c.height;
    o.width = c.width;
    o.channels = c.channels;
    o.layout = c.layout;
    o.label_column = c.label_column;
    if (net && sparse_net_input_normalization(net, &o.norm_mean, &o.norm_std))
        sparse_clear_error(); /* weights saved before it was recorded: the training split's */
    int rc = sparse_data_open(&s->train, &s->val, &s->test, d->spec, &o);
    return rc ? cli_lib_error(rc, "data") : CLI_OK;
}

void cli_splits_free(cli_splits *s)
{
    sparse_dataset_free(s->train);
    sparse_dataset_free(s->val);
    sparse_dataset_free(s->test);
    s->train = s->val = s->test = NULL;
}

int cli_load_net(sparse_net **out, const char *arch, const char *weights, const char *weights_opt,
                 int allow_extra, size_t max_batch, uint64_t seed)
{
    *out = NULL;
    sparse_arch *a = NULL;
    int rc = arch ? sparse_arch_load_yaml(&a, arch) : sparse_net_load_arch(&a, weights);
    if (!rc)
        rc = sparse_arch_validate(a);
    if (rc) {
        sparse_arch_free(a);
        return cli_lib_error(rc, "architecture");
    }
    rc = sparse_net_create(out, a, max_batch, seed); /* copies the architecture */
    sparse_arch_free(a);
    if (rc)
        return cli_lib_error(rc, "network");
    if (weights && (rc = sparse_net_load(*out, weights, allow_extra))) {
        sparse_net_free(*out);
        *out = NULL;
        return cli_lib_error(rc, weights_opt);
    }
    if (weights && *sparse_net_load_note(*out))
        cli_note("note: %s", sparse_net_load_note(*out));
    return CLI_OK;
}

void cli_run_warnings(const sparse_run *run)
{
    for (size_t i = 0; i < sparse_run_warning_count(run); i++)
        cli_note("warning: %s", sparse_run_warning(run, i, NULL));
}

int cli_open_run(sparse_run **out, const char *dir, long trial, const char *what)
{
    int rc = sparse_run_open(out, dir);
    if (rc)
        return cli_lib_error(rc, what);
    cli_run_warnings(*out);
    double ok;
    if (trial >= 0 && (rc = sparse_run_trial_value(*out, (size_t)trial, SPARSE_TRIAL_OK, &ok))) {
        sparse_run_free(*out);
        *out = NULL;
        return rc == SPARSE_ERANGE ? cli_error("%s: %s has no trial %ld", what, dir, trial)
                                   : cli_lib_error(rc, what);
    }
    return CLI_OK;
}
