/* `sparse train --prune none|spvd|bc ...` (see prune_opts.h). */
#include <math.h>
#include <string.h>

#include "prune_opts.h"

const cli_choice cli_prune_methods[] = {
    {"none", SPARSE_PRUNE_NONE}, {"spvd", SPARSE_PRUNE_SPVD}, {"bc", SPARSE_PRUNE_BC}, {NULL, 0}};

void cli_pruning_free(cli_pruning *p)
{
    sparse_prune_result_free(p->res);
    sparse_net_free(p->varnet);
    p->res = NULL;
    p->varnet = NULL;
}

int cli_prune_train(cli_pruning *p, const cli_prune_args *a, sparse_net **net, const sparse_dataset *train,
                    const sparse_train_options *o, sparse_train_result *res)
{
    sparse_prune_options po = SPARSE_PRUNE_OPTIONS_INIT;
    po.method = a->method;
    if (!isnan(a->threshold))
        po.spvd_threshold = po.bc_threshold = a->threshold;
    po.kl_weight = a->kl_weight;
    po.zero_epochs = (int)a->zero_epochs;
    po.anneal_epochs = (int)a->anneal_epochs;
    po.finetune_epochs = (int)a->finetune_epochs;
    po.seed = o->seed;
    p->o = po;
    int rc = sparse_prune_options_check(&p->o);
    if (rc)
        return cli_lib_error(rc, "--prune");
    if ((rc = sparse_prune_run(&p->res, *net, train, o, &p->o)))
        return cli_lib_error(rc, "pruning");
    sparse_net *c = NULL;
    sparse_train_result r0 = SPARSE_TRAIN_RESULT_INIT;
    sparse_prune_result_training(p->res, 0, &r0);
    *res = r0;
    if ((rc = sparse_prune_result_take_net(&c, p->res)))
        return cli_lib_error(rc, "pruning");
    p->varnet = *net;
    p->cnet = c;
    *net = c;
    return CLI_OK;
}

int cli_prune_save(const cli_pruning *p, const cli_prune_args *a)
{
    int rc;
    if (a->save_posterior && p->varnet && (rc = sparse_net_save(p->varnet, a->save_posterior)))
        return cli_lib_error(rc, "--save-posterior");
    if (!a->save_arch || !p->cnet)
        return CLI_OK;
    char *y = NULL;
    if ((rc = sparse_arch_to_yaml(&y, sparse_net_arch(p->cnet))))
        return cli_lib_error(rc, "--save-arch");
    int status = cli_write_text(a->save_arch, y, "--save-arch");
    sparse_free(y);
    return status;
}

static const char *method_name(int m)
{
    for (const cli_choice *c = cli_prune_methods; c->name; c++)
        if (c->value == m)
            return c->name;
    return "none";
}

void cli_prune_print(const cli_pruning *p, FILE *f)
{
    if (!p->res || !p->cnet)
        return;
    fprintf(f, "pruning           %s: %zu of %zu weights non-zero\n", method_name(p->o.method),
            sparse_net_nonzero_count(p->cnet), sparse_prune_result_weight_count(p->res));
    for (size_t i = 0; i < sparse_prune_result_layer_count(p->res); i++) {
        sparse_prune_layer L = SPARSE_PRUNE_LAYER_INIT;
        if (sparse_prune_result_layer(p->res, i, &L))
            continue;
        fprintf(f, "  %-16s %-10s channels %zu/%zu  weights %zu/%zu\n", L.name,
                sparse_layer_kind_name(L.kind), L.channels_kept, L.channels_total, L.weights_kept,
                L.weights_total);
    }
    char *y = NULL;
    if (p->o.method == SPARSE_PRUNE_BC && !sparse_arch_to_yaml(&y, sparse_net_arch(p->cnet)))
        fprintf(f, "compacted architecture:\n%s", y);
    sparse_free(y);
}

void cli_prune_json(const cli_pruning *p, const cli_prune_args *a, sparse_json *j)
{
    sparse_json_key(j, "prune");
    if (a->method < 0) {
        sparse_json_null(j);
        return;
    }
    sparse_json_begin(j, 0);
    sparse_json_key(j, "method");
    sparse_json_string(j, method_name(a->method));
    if (p->res && p->cnet) {
        const char *keys[] = {"threshold", "kl_weight", "zero_epochs", "anneal_epochs", "finetune_epochs",
                              "nonzero_weights", "total_weights"};
        const double v[] = {p->o.method == SPARSE_PRUNE_BC ? p->o.bc_threshold : p->o.spvd_threshold,
                            p->o.kl_weight, p->o.zero_epochs, p->o.anneal_epochs, p->o.finetune_epochs,
                            (double)sparse_net_nonzero_count(p->cnet),
                            (double)sparse_prune_result_weight_count(p->res)};
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            sparse_json_key(j, keys[k]);
            sparse_json_number(j, v[k]);
        }
        sparse_json_key(j, "layers");
        sparse_json_begin(j, 1);
        for (size_t i = 0; i < sparse_prune_result_layer_count(p->res); i++) {
            sparse_prune_layer L = SPARSE_PRUNE_LAYER_INIT;
            if (sparse_prune_result_layer(p->res, i, &L))
                continue;
            const char *lk[] = {"channels_kept", "channels_total", "kept", "total"};
            const size_t lv[] = {L.channels_kept, L.channels_total, L.weights_kept, L.weights_total};
            sparse_json_begin(j, 0);
            sparse_json_key(j, "name");
            sparse_json_string(j, L.name);
            for (size_t k = 0; k < 4; k++) {
                sparse_json_key(j, lk[k]);
                sparse_json_integer(j, (long long)lv[k]);
            }
            sparse_json_end(j);
        }
        sparse_json_end(j);
        char *arch = NULL;
        sparse_json_key(j, "compacted_arch");
        if (p->o.method == SPARSE_PRUNE_BC && !sparse_arch_to_json(&arch, sparse_net_arch(p->cnet)))
            sparse_json_raw(j, arch);
        else
            sparse_json_null(j);
        sparse_free(arch);
    }
    sparse_json_end(j);
}
