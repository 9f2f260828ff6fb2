/* `sparse train --prune none|spvd|bc ...` (see prune_opts.h). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "prune_opts.h"

void cli_prune_init(cli_prune *p)
{
    memset(p, 0, sizeof *p);
    sparse_prune_options d = SPARSE_PRUNE_OPTIONS_INIT;
    p->o = d;
    p->o.method = SPARSE_PRUNE_NONE;
}

void cli_prune_free(cli_prune *p)
{
    sparse_prune_result_free(p->res);
    sparse_net_free(p->varnet);
    p->res = NULL;
    p->varnet = NULL;
}

void cli_prune_help(FILE *f)
{
    fprintf(f,
            "\nPruning (SpVD: unstructured, BC: structured with compaction):\n"
            "  --prune none|spvd|bc  train in variational mode, prune, compact, fine-tune\n"
            "  --threshold T         log-alpha pruning threshold (default 3 for spvd, -1 for bc)\n"
            "  --kl-weight A         final KL coefficient (Table 5 alpha, default 1)\n"
            "  --zero-epochs Z       epochs before the KL term starts (default 0)\n"
            "  --anneal-epochs E     epochs of the linear KL ramp (default 15)\n"
            "  --finetune-epochs F   plain training of the compacted network (default 0)\n"
            "  --save-arch OUT.yaml  write the compacted architecture\n"
            "  --save-posterior W.safetensors  write the variational state (posterior parameters)\n");
}

int cli_prune_parse(cli_prune *p, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    static const char *const opts[] = {"--prune", "--threshold", "--kl-weight", "--zero-epochs", "--anneal-epochs",
                                       "--finetune-epochs", "--save-arch", "--save-posterior"};
    size_t k;
    for (k = 0; k < sizeof opts / sizeof opts[0]; k++)
        if (!strcmp(a, opts[k]))
            break;
    if (k == sizeof opts / sizeof opts[0])
        return 0;
    if (!v) {
        cli_usage("train ", "option %s needs a value", a);
        return -1;
    }
    (*i)++;
    long l = 0;
    double d = 0;
    switch (k) {
    case 0:
        p->enabled = 1;
        if (!strcmp(v, "none"))
            p->o.method = SPARSE_PRUNE_NONE;
        else if (!strcmp(v, "spvd"))
            p->o.method = SPARSE_PRUNE_SPVD;
        else if (!strcmp(v, "bc"))
            p->o.method = SPARSE_PRUNE_BC;
        else {
            cli_usage("train ", "--prune must be none, spvd or bc, not '%s'", v);
            return -1;
        }
        return 1;
    case 1:
        if (cli_parse_double(v, &d)) {
            cli_usage("train ", "--threshold must be a finite number, not '%s'", v);
            return -1;
        }
        p->o.spvd_threshold = p->o.bc_threshold = d;
        return 1;
    case 2:
        if (cli_parse_double(v, &d) || d < 0) {
            cli_usage("train ", "--kl-weight must be a finite number >= 0, not '%s'", v);
            return -1;
        }
        p->o.kl_weight = d;
        return 1;
    case 3:
    case 4:
    case 5:
        if (cli_parse_long(v, 0, 100000, &l)) {
            cli_usage("train ", "%s must be an integer in 0..100000, not '%s'", a, v);
            return -1;
        }
        if (k == 3)
            p->o.zero_epochs = (int)l;
        else if (k == 4)
            p->o.anneal_epochs = (int)l;
        else
            p->o.finetune_epochs = (int)l;
        return 1;
    case 6:
        p->save_arch = v;
        return 1;
    default:
        p->save_posterior = v;
        return 1;
    }
}

int cli_prune_train(cli_prune *p, sparse_net **net, const sparse_dataset *train, const sparse_train_options *o,
                    sparse_train_result *res)
{
    int rc = sparse_prune_options_check(&p->o);
    if (rc)
        return cli_lib_error(rc, "--prune");
    p->o.seed = o->seed;
    rc = sparse_prune_run(&p->res, *net, train, o, &p->o);
    if (rc)
        return cli_lib_error(rc, "pruning");
    sparse_net *c = NULL;
    sparse_train_result r0 = SPARSE_TRAIN_RESULT_INIT;
    sparse_prune_result_training(p->res, 0, &r0);
    *res = r0;
    rc = sparse_prune_result_take_net(p->res, &c);
    if (rc)
        return cli_lib_error(rc, "pruning");
    p->varnet = *net;
    p->cnet = c;
    *net = c;
    return CLI_OK;
}

int cli_prune_save(cli_prune *p)
{
    int rc;
    if (p->save_posterior && p->varnet && (rc = sparse_net_save(p->varnet, p->save_posterior)))
        return cli_lib_error(rc, "--save-posterior");
    if (p->save_arch && p->cnet) {
        char *y = NULL;
        if ((rc = sparse_arch_to_yaml(sparse_net_arch(p->cnet), &y)))
            return cli_lib_error(rc, "--save-arch");
        FILE *f = fopen(p->save_arch, "w");
        int bad = !f || fputs(y, f) < 0;
        if (f && fclose(f))
            bad = 1;
        free(y);
        if (bad)
            return cli_error("--save-arch: cannot write '%s'", p->save_arch);
    }
    return CLI_OK;
}

static const char *method_name(int m) { return m == SPARSE_PRUNE_SPVD ? "spvd" : m == SPARSE_PRUNE_BC ? "bc" : "none"; }

void cli_prune_print(const cli_prune *p, FILE *f)
{
    if (!p->res || !p->cnet)
        return;
    fprintf(f, "pruning           %s: %zu of %zu weights non-zero\n", method_name(p->o.method),
            sparse_net_param_nonzero(p->cnet), sparse_prune_result_total(p->res));
    for (size_t i = 0; i < sparse_prune_result_layer_count(p->res); i++) {
        sparse_prune_layer L = SPARSE_PRUNE_LAYER_INIT;
        if (sparse_prune_result_layer(p->res, i, &L))
            continue;
        fprintf(f, "  %-16s %-10s channels %zu/%zu  weights %zu/%zu\n", L.name, sparse_layer_kind_name(L.kind),
                L.channels_kept, L.channels_total, L.weights_kept, L.weights_total);
    }
    char *y = NULL;
    if (p->o.method == SPARSE_PRUNE_BC && !sparse_arch_to_yaml(sparse_net_arch(p->cnet), &y)) {
        fprintf(f, "compacted architecture:\n%s", y);
        free(y);
    }
}

void cli_prune_json(const cli_prune *p, FILE *f)
{
    if (!p->enabled)
        return;
    fprintf(f, ", \"prune\": \"%s\"", method_name(p->o.method));
    if (!p->res || !p->cnet)
        return;
    fprintf(f, ", \"threshold\": %g, \"kl_weight\": %g, \"zero_epochs\": %d, \"anneal_epochs\": %d, "
               "\"finetune_epochs\": %d, \"nonzero_weights\": %zu, \"total_weights\": %zu, \"layers\": [",
            p->o.method == SPARSE_PRUNE_BC ? p->o.bc_threshold : p->o.spvd_threshold, p->o.kl_weight,
            p->o.zero_epochs, p->o.anneal_epochs, p->o.finetune_epochs, sparse_net_param_nonzero(p->cnet),
            sparse_prune_result_total(p->res));
    for (size_t i = 0; i < sparse_prune_result_layer_count(p->res); i++) {
        sparse_prune_layer L = SPARSE_PRUNE_LAYER_INIT;
        if (sparse_prune_result_layer(p->res, i, &L))
            continue;
        fprintf(f, "%s{\"name\": ", i ? ", " : "");
        cli_json_string(f, L.name);
        fprintf(f, ", \"channels_kept\": %zu, \"channels_total\": %zu, \"kept\": %zu, \"total\": %zu}",
                L.channels_kept, L.channels_total, L.weights_kept, L.weights_total);
    }
    fputc(']', f);
    char *j = NULL;
    if (p->o.method == SPARSE_PRUNE_BC && !sparse_arch_to_json(sparse_net_arch(p->cnet), &j)) {
        fprintf(f, ", \"compacted_arch\": %s", j);
        free(j);
    }
}
