/* `sparsenas train --prune none|spvd|bc ...` (see prune_opts.h). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "prune_opts.h"
#include "sparse/experimental.h"

const cli_choice cli_prune_methods[] = {
    {"none", SPARSE_PRUNE_NONE}, {"spvd", SPARSE_PRUNE_SPVD}, {"bc", SPARSE_PRUNE_BC}, {NULL, 0}};
const cli_choice cli_prune_noises[] = {
    {"activation", SPARSE_PRUNE_NOISE_ACTIVATION}, {"weight", SPARSE_PRUNE_NOISE_WEIGHT}, {NULL, 0}};

void cli_pruning_free(cli_pruning *p)
{
    sparse_prune_result_free(p->res);
    sparse_net_free(p->varnet);
    p->res = NULL;
    p->varnet = NULL;
}

/* --thresholds: the list, at most CLI_SWEEP_MAX finite numbers. */
static int parse_thresholds(const char *text, cli_pruning *p)
{
    const char *s = text;
    p->n_sweep = 0;
    while (*s) {
        char *end = NULL;
        double t = strtod(s, &end);
        if (end == s || !isfinite(t) || (*end && *end != ',') || p->n_sweep == CLI_SWEEP_MAX)
            return cli_usage("train", "--thresholds must be up to %d numbers separated by commas, not '%s'",
                             CLI_SWEEP_MAX, text);
        p->sweep[p->n_sweep++].threshold = t;
        s = *end ? end + 1 : end;
    }
    return p->n_sweep ? CLI_OK : cli_usage("train", "--thresholds is empty");
}

/* Every variational node of net prunes at log alpha >= t from now on. */
static void set_threshold(sparse_net *net, double t)
{
    for (size_t i = 0; i < sparse_net_node_count(net); i++) {
        int mode = sparse_exp_net_variational_mode(net, i);
        if (mode != SPARSE_PRUNE_NONE)
            sparse_exp_net_set_variational(net, i, mode, t, 0);
    }
}

/* Applies each candidate threshold to the trained variational network,
 * compacts and measures it on the validation images; keeps the result of
 * the most accurate one within the bound. */
static int sweep_thresholds(cli_pruning *p, const cli_prune_args *a, const sparse_dataset *val)
{
    size_t best = SIZE_MAX, fewest = 0;
    for (size_t k = 0; k < p->n_sweep; k++) {
        cli_sweep_row *row = &p->sweep[k];
        set_threshold(p->varnet, row->threshold);
        sparse_prune_result *r = NULL;
        int rc = sparse_prune_compact(&r, p->varnet, 0);
        if (!rc)
            rc = sparse_net_evaluate(sparse_prune_result_net(r), val, &row->val_accuracy);
        row->nonzeros = rc ? 0 : sparse_net_nonzero_count(sparse_prune_result_net(r));
        sparse_prune_result_free(r);
        if (rc)
            return cli_lib_error(rc, "--thresholds");
        cli_note("threshold %g: %.2f%% validation accuracy, %zu non-zero weights", row->threshold,
                 100.0 * row->val_accuracy, row->nonzeros);
        const int fits = a->max_nonzeros == 0 || row->nonzeros <= (size_t)a->max_nonzeros;
        if (fits && (best == SIZE_MAX || row->val_accuracy > p->sweep[best].val_accuracy ||
                     (row->val_accuracy == p->sweep[best].val_accuracy && row->nonzeros < p->sweep[best].nonzeros)))
            best = k;
        if (row->nonzeros < p->sweep[fewest].nonzeros)
            fewest = k;
    }
    if (best == SIZE_MAX) {
        cli_note("no threshold keeps at most %ld non-zero weights: taking the sparsest", a->max_nonzeros);
        best = fewest;
    }
    const double t = p->sweep[best].threshold;
    cli_note("threshold %g chosen on the validation images", t);
    set_threshold(p->varnet, t);
    p->o.spvd_threshold = p->o.bc_threshold = t;
    sparse_prune_result_free(p->res);
    p->res = NULL;
    int rc = sparse_prune_compact(&p->res, p->varnet, 0);
    return rc ? cli_lib_error(rc, "pruning") : CLI_OK;
}

int cli_prune_train(cli_pruning *p, const cli_prune_args *a, sparse_net **net, const sparse_dataset *train,
                    const sparse_dataset *val, const sparse_train_options *o, sparse_train_result *res)
{
    sparse_prune_options po = SPARSE_PRUNE_OPTIONS_INIT;
    po.method = a->method;
    if (!isnan(a->threshold))
        po.spvd_threshold = po.bc_threshold = a->threshold;
    po.kl_weight = a->kl_weight;
    po.zero_epochs = (int)a->zero_epochs;
    po.anneal_epochs = (int)a->anneal_epochs;
    po.finetune_epochs = (int)a->finetune_epochs;
    po.finetune_lr_scale = a->finetune_lr_scale;
    po.noise = a->noise;
    po.seed = o->seed;
    p->o = po;
    int rc = sparse_prune_options_check(&p->o);
    if (rc)
        return cli_lib_error(rc, "--prune");
    int status = a->thresholds ? parse_thresholds(a->thresholds, p) : CLI_OK;
    if (!status && a->thresholds && !isnan(a->threshold))
        status = cli_usage("train", "--threshold and --thresholds exclude each other");
    if (!status && a->thresholds && (!val || !sparse_dataset_image_count(val)))
        status = cli_usage("train", "--thresholds needs validation images (--val)");
    if (status)
        return status;
    /* With a sweep, fine-tuning waits for the threshold. */
    sparse_prune_options run = p->o;
    if (a->thresholds)
        run.finetune_epochs = 0;
    if ((rc = sparse_prune_run(&p->res, *net, train, o, &run)))
        return cli_lib_error(rc, "pruning");
    p->varnet = *net;
    *net = NULL;
    sparse_train_result r0 = SPARSE_TRAIN_RESULT_INIT;
    sparse_prune_result_training(p->res, 0, &r0);
    *res = r0;
    if (a->thresholds && (status = sweep_thresholds(p, a, val)))
        return status;
    sparse_net *c = NULL;
    if ((rc = sparse_prune_result_take_net(&c, p->res)))
        return cli_lib_error(rc, "pruning");
    p->cnet = c;
    *net = c;
    if (a->thresholds && a->finetune_epochs > 0) {
        sparse_train_options f = *o;
        f.epochs = (size_t)a->finetune_epochs;
        f.lr *= a->finetune_lr_scale;
        p->finetune.version = SPARSE_TRAIN_RESULT_VERSION;
        if ((rc = sparse_net_train(c, train, &f, &p->finetune)))
            return cli_lib_error(rc, "fine-tuning");
    }
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

/* The name a choice table gives value v (the table's first when none does). */
static const char *choice_name(const cli_choice *table, int v)
{
    for (const cli_choice *c = table; c->name; c++)
        if (c->value == v)
            return c->name;
    return table[0].name;
}

void cli_prune_print(const cli_pruning *p, FILE *f)
{
    if (!p->res || !p->cnet)
        return;
    fprintf(f, "pruning           %s: %zu of %zu weights non-zero\n", choice_name(cli_prune_methods, p->o.method),
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
    sparse_json_string(j, choice_name(cli_prune_methods, a->method));
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
        sparse_json_key(j, "finetune_lr_scale");
        sparse_json_number(j, p->o.finetune_lr_scale);
        sparse_json_key(j, "noise");
        sparse_json_string(j, choice_name(cli_prune_noises, p->o.noise));
        if (p->n_sweep) {
            sparse_json_key(j, "threshold_sweep");
            sparse_json_begin(j, 1);
            for (size_t k = 0; k < p->n_sweep; k++) {
                sparse_json_begin(j, 0);
                sparse_json_key(j, "threshold");
                sparse_json_number(j, p->sweep[k].threshold);
                sparse_json_key(j, "val_accuracy");
                sparse_json_number(j, p->sweep[k].val_accuracy);
                sparse_json_key(j, "nonzero_weights");
                sparse_json_integer(j, (long long)p->sweep[k].nonzeros);
                sparse_json_end(j);
            }
            sparse_json_end(j);
            sparse_json_key(j, "max_nonzeros");
            sparse_json_integer(j, (long long)a->max_nonzeros);
        }
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
