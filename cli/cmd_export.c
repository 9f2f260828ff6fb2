/* `sparse export-arch`: the network of a trial, as the search evaluated it
 * (compacted after structured pruning), as an architecture YAML and
 * optionally its weights, ready for `sparse eval`, `sparse memory` or
 * `sparse train`. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void export_help(FILE *f)
{
    fprintf(f, "Usage: sparse export-arch DIR --trial ID [-o OUT.yaml] [--save W.safetensors]\n\n"
               "Writes the architecture of trial ID of the run in DIR as YAML (stdout by default):\n"
               "the network as the search evaluated it, i.e. after structured pruning for\n"
               "Bayesian Compression trials.\n\n"
               "Options:\n"
               "  --trial ID            the trial (see 'sparse inspect DIR')\n"
               "  -o FILE               write the YAML to FILE instead of stdout\n"
               "  --save W.safetensors  also write its weights (pruned weights are zero)\n");
    cli_common_help(f, 22);
}

int cli_cmd_export_arch(int argc, char **argv)
{
    const char *dir = NULL, *out = NULL, *save = NULL;
    long trial = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h"))
            return export_help(stdout), CLI_OK;
        else if (cli_common_option(a))
            continue;
        else if (!strcmp(a, "--trial") || !strcmp(a, "-o") || !strcmp(a, "--save")) {
            if (!v)
                return cli_usage("export-arch ", "option %s needs a value", a);
            i++;
            if (!strcmp(a, "-o"))
                out = v;
            else if (!strcmp(a, "--save"))
                save = v;
            else if (cli_parse_long(v, 0, 100000000, &trial))
                return cli_usage("export-arch ", "--trial must be a trial id, not '%s'", v);
        } else if (a[0] == '-')
            return cli_usage("export-arch ", "unknown option '%s'", a);
        else if (!dir)
            dir = a;
        else
            return cli_usage("export-arch ", "unexpected argument '%s'", a);
    }
    if (!dir || trial < 0)
        return cli_usage("export-arch ", "needs DIR and --trial ID");
    sparse_run *run;
    int rc = sparse_run_open(&run, dir);
    if (rc)
        return cli_lib_error(rc, "export-arch");
    if ((size_t)trial >= sparse_run_trial_count(run)) {
        sparse_run_free(run);
        return cli_error("export-arch: %s has no trial %ld", dir, trial);
    }
    sparse_net *net = NULL;
    rc = sparse_run_trial_net(run, (size_t)trial, &net, NULL);
    sparse_run_free(run);
    char *yaml = NULL;
    if (!rc)
        rc = sparse_arch_to_yaml(sparse_net_arch(net), &yaml);
    if (!rc && save)
        rc = sparse_net_save(net, save);
    sparse_net_free(net);
    if (rc) {
        free(yaml);
        return cli_lib_error(rc, "export-arch");
    }
    FILE *f = out ? fopen(out, "w") : stdout;
    if (!f) {
        free(yaml);
        return cli_error("export-arch: cannot write %s", out);
    }
    fputs(yaml, f);
    free(yaml);
    if (out && fclose(f))
        return cli_error("export-arch: error writing %s", out);
    return CLI_OK;
}
