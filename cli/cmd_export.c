/* `sparsenas export-arch`: the network of a trial, as the search evaluated it
 * (compacted after structured pruning), as an architecture YAML and
 * optionally its weights, ready for `sparsenas eval`, `sparsenas memory` or
 * `sparsenas train`. */
#include "cli.h"

typedef struct export_args {
    const char *dir, *out, *save;
    long trial;
} export_args;

#define F(m) offsetof(export_args, m)
static const cli_opt export_opts[] = {
    {.type = CLI_LONG, .name = "trial", .arg = "ID", .field = F(trial), .min = 0, .max = 100000000,
     .expect = "be a trial id", .help = "the trial, by its id (the id column of 'sparsenas inspect DIR')"},
    {.type = CLI_STRING, .name = "output", .short_name = 'o', .arg = "FILE", .field = F(out),
     .help = "write the YAML to FILE instead of stdout"},
    CLI_OPT_STRING("save", "W.safetensors", F(save), "also write its weights (pruned weights are zero)"),
    {0},
};
static const cli_spec export_spec = {
    .name = "export-arch", .opts = export_opts, .args = {F(dir)}, .n_args = 1,
    .usage =
        "Usage: sparsenas export-arch DIR --trial ID [-o OUT.yaml] [--save W.safetensors]\n\n"
        "Writes the architecture of trial ID of the run in DIR as YAML (stdout by default):\n"
        "the network as the search evaluated it, i.e. after structured pruning for\n"
        "Bayesian Compression trials.\n",
};

int cli_cmd_export_arch(int argc, char **argv)
{
    export_args a = {.trial = -1};
    int rc = cli_parse(&export_spec, argc, argv, &a, NULL);
    if (rc != CLI_CONTINUE)
        return rc;
    if (!a.dir || a.trial < 0)
        return cli_usage("export-arch", "needs DIR and --trial ID");
    sparse_run *run;
    int status = cli_open_run(&run, a.dir, a.trial, "export-arch");
    if (status)
        return status;
    sparse_net *net = NULL;
    char *yaml = NULL;
    rc = sparse_run_trial_net(&net, NULL, run, (size_t)a.trial);
    sparse_run_free(run);
    if (!rc)
        rc = sparse_arch_to_yaml(&yaml, sparse_net_arch(net));
    if (!rc && a.save)
        rc = sparse_net_save(net, a.save);
    sparse_net_free(net);
    status = rc ? cli_lib_error(rc, "export-arch") : cli_write_text(a.out, yaml, "export-arch");
    sparse_free(yaml);
    return status;
}
