/* `sparse export-arch`: the architecture of a trial of a run as YAML, ready
 * for `sparse train` or `sparse memory`. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void export_help(FILE *f)
{
    fprintf(f, "Usage: sparse export-arch DIR --trial ID [--compact] [-o OUT.yaml]\n\n"
               "Writes the architecture of trial ID of the run in DIR as YAML (stdout by default).\n\n"
               "Options:\n"
               "  --trial ID     the trial (see 'sparse inspect DIR')\n"
               "  --compact      the architecture left after structured pruning (Bayesian\n"
               "                 Compression trials), if the trial has one\n"
               "  -o FILE        write to FILE instead of stdout\n");
}

/* The JSON object of key in a trial record, as a string of its own. */
static char *extract_object(const char *json, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":{", key);
    const char *p = strstr(json, pat);
    if (!p)
        return NULL;
    p += strlen(pat) - 1;
    int depth = 0, in_str = 0;
    const char *q = p;
    for (; *q; q++) {
        if (in_str) {
            if (*q == '\\' && q[1])
                q++;
            else if (*q == '"')
                in_str = 0;
        } else if (*q == '"') {
            in_str = 1;
        } else if (*q == '{') {
            depth++;
        } else if (*q == '}' && --depth == 0) {
            break;
        }
    }
    if (!*q)
        return NULL;
    size_t n = (size_t)(q - p) + 1;
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

int cli_cmd_export_arch(int argc, char **argv)
{
    const char *dir = NULL, *out = NULL;
    long trial = -1;
    int compact = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h"))
            return export_help(stdout), CLI_OK;
        else if (!strcmp(a, "--compact"))
            compact = 1;
        else if (!strcmp(a, "--trial") || !strcmp(a, "-o")) {
            if (!v)
                return cli_usage("export-arch ", "option %s needs a value", a);
            i++;
            if (a[1] == 'o')
                out = v;
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
    const char *rec = sparse_run_trial_json(run, (size_t)trial);
    if (!rec) {
        sparse_run_free(run);
        return cli_error("export-arch: %s has no trial %ld", dir, trial);
    }
    char *json = extract_object(rec, compact ? "compact_arch" : "arch");
    sparse_run_free(run);
    if (!json)
        return cli_error("export-arch: trial %ld has no %s", trial,
                         compact ? "compacted architecture (not a Bayesian Compression trial)" : "architecture");
    sparse_arch *arch;
    rc = sparse_arch_parse_yaml(&arch, json, strlen(json), "trial record");
    free(json);
    char *yaml = NULL;
    if (!rc)
        rc = sparse_arch_to_yaml(arch, &yaml);
    sparse_arch_free(arch);
    if (rc)
        return cli_lib_error(rc, "export-arch");
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
