/* Evaluating one candidate: its network built and given its reference's
 * weights, trained (with variational pruning when its genome says so, then
 * pruned with each layer's own threshold, lowered for a final SpVD network
 * that would leave its box), measured (accuracy, int8
 * accuracy, MS, WM, deployment sizes) and its weights saved for the trials
 * that will inherit from it. A failure of the candidate itself is an
 * outcome, recorded with its reason; only I/O and memory errors stop the
 * search. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "loop.h"
#include "sparse/memory.h"
#include "sparse/prune.h"
#include "sparse/quant.h"

/* Failures of the candidate itself (divergence, impossible shapes, empty
 * after pruning) are recorded, not fatal; I/O and memory errors are. */
static int candidate_failure(int rc)
{
    return rc == SPARSE_ESHAPE || rc == SPARSE_ENUMERIC || rc == SPARSE_EEMPTY || rc == SPARSE_ERANGE ||
           rc == SPARSE_EBUDGET || rc == SPARSE_EINVAL;
}

/* The reference's weights file holds its posterior when it was pruned: it
 * loads in its variational mode, so the child inherits log sigma^2 and the
 * group scales too (a plain final child of a BC parent: the means,
 * sparse__inherit_means). */
static int load_parent(const sparse__search *s, const sparse__slot *sl, sparse_net **out)
{
    char *path = sl->parent_file ? NULL : sparse__runlog_weights_path(s->log, sl->parent);
    *out = NULL;
    if (!path && !sl->parent_file)
        return SPARSE_ENOMEM;
    int rc = sparse__load_trial(path ? path : sl->parent_file, &sl->parent_g, 1, out);
    free(path);
    return rc ? sparse__error_prefix(rc, "loading the weights of reference trial %zu", sl->parent) : SPARSE_OK;
}

/* The untrained network of sl's genome (variational when pruned) with its
 * reference's weights where they fit; its architecture in o->arch_json. */
static int build(const sparse__search *s, const sparse__slot *sl, const sparse_prune_options *po,
                 uint64_t seed, sparse_arch **arch, sparse_net **net, sparse__outcome *o)
{
    const sparse__problem *p = &s->prob;
    sparse_net *ref = NULL;
    int rc = sparse__genome_arch(&sl->g, p->channels, p->height, p->width, p->classes, arch);
    if (!rc)
        rc = sparse_arch_to_json(&o->arch_json, *arch);
    if (!rc)
        rc = sparse_net_create(net, *arch, s->cfg->batch, seed);
    /* Variational mode before inheritance, so the posterior is inherited. */
    if (!rc && po->method != SPARSE_PRUNE_NONE)
        rc = sparse_prune_attach(*net, po);
    if (!rc && sl->parent != SPARSE__NO_PARENT && !(rc = load_parent(s, sl, &ref)))
        rc = sparse__inherit(*net, ref, &o->inherited);
    /* A pruned final network trained plain (final.fill: dense) starts from
     * its parent's means. Only there: the search's own morphs from BC to
     * another method inherit theta as they always have, so that runs of
     * existing configs repeat. */
    if (!rc && ref && sl->stage == 4)
        rc = sparse__inherit_means(*net, ref);
    sparse_net_free(ref);
    return rc;
}

/* What training's progress callback watches: the scheduler's callback,
 * and after every epoch but the last the validation accuracy, against the
 * trial's stop plan. */
typedef struct watch {
    const sparse__search *s;
    sparse__slot *sl;
    sparse_net *net;
    sparse_progress_fn progress;
    sparse__outcome *o;
    int rc; /* an error of the measurement itself */
} watch;

static int watch_epoch(void *user, size_t epoch, size_t batch, size_t per_epoch, double loss, double images_per_s)
{
    watch *w = user;
    sparse__outcome *o = w->o;
    if (w->progress && w->progress(w->sl, epoch, batch, per_epoch, loss, images_per_s))
        return 1;
    const size_t done = epoch + 1;
    if (batch + 1 != per_epoch || done >= w->sl->stop.epochs || !o->curve)
        return 0;
    double acc;
    if ((w->rc = sparse_net_evaluate(w->net, w->s->val, &acc)))
        return 1;
    o->curve[o->ncurve++] = acc;
    if (sparse__stop_check(&w->sl->stop, done, acc, &o->pred_acc, &o->pred_log_sd)) {
        o->partial = 1;
        o->epochs_done = done;
        return 1;
    }
    return 0;
}

/* Training's status once the watch has had its say: a stop it asked for is
 * the trial's end, not an error. */
static int watched(const watch *w, int rc)
{
    if (w->rc)
        return w->rc;
    if (rc == SPARSE_ECANCELLED && w->o->partial) {
        sparse_clear_error();
        return SPARSE_OK;
    }
    return rc;
}

/* A final trial's SpVD network outside its box, pruned again with lower
 * thresholds (fitbox.c); the offset, or why none fits, into o. */
static int fit_box(const sparse__search *s, const sparse__slot *sl, sparse_net *net, uint64_t seed,
                   sparse_prune_result **pruned, sparse__outcome *o)
{
    int fits = 1;
    int rc =
        sparse__fit_box(&s->prob, net, sl->point, &sl->g, sl->box, seed, pruned, &o->threshold_offset, &fits);
    if (!rc && !fits) {
        char ms[48] = "", wm[48] = "";
        if (sl->box[0] > 0)
            snprintf(ms, sizeof ms, "MS <= %.0f B", sl->box[0]);
        if (sl->box[1] > 0)
            snprintf(wm, sizeof wm, "%sWM%d <= %.0f B", *ms ? ", " : "", s->cfg->wm_model,
                     sl->box[1]);
        snprintf(o->note, sizeof o->note,
                 "outside its final box (%s%s) even with its thresholds lowered to space.threshold's lower "
                 "end (%g): measured with its parent's thresholds",
                 ms, wm, s->cfg->threshold.lo);
    }
    return rc;
}

/* Trains net by sl's genome; *eval_net is the network to measure: net
 * itself, or the pruned one in *pruned (net, variational, posterior
 * included, is what the weights file keeps for later inheritance). */
static int train(const sparse__search *s, sparse__slot *sl, sparse_net *net, const sparse_prune_options *po,
                 uint64_t seed, sparse_progress_fn progress, sparse_prune_result **pruned,
                 sparse_net **eval_net, sparse__outcome *o)
{
    watch w = {s, sl, net, progress, o, SPARSE_OK};
    /* With early stopping on, every searched trial of two epochs or more
     * measures its curve: the model learns from them. */
    if (s->cfg->early_stop && sl->stop.epochs >= 2 &&
        !(o->curve = sparse__calloc(sl->stop.epochs, sizeof *o->curve)))
        return SPARSE_ENOMEM;
    const sparse__genome *g = &sl->g;
    sparse_train_options to = SPARSE_TRAIN_OPTIONS_INIT;
    to.epochs = (size_t)g->epochs;
    to.batch_size = s->cfg->batch;
    to.optimizer = s->cfg->optimizer;
    to.schedule = s->cfg->schedule;
    to.lr = g->lr;
    to.weight_decay = g->weight_decay;
    to.label_smoothing = (float)g->label_smoothing;
    to.max_shift = (size_t)g->shift;
    to.seed = s->cfg->seed * 7919ULL + sl->t;
    to.progress = watch_epoch;
    to.user = &w;
    if (po->method == SPARSE_PRUNE_NONE) {
        *eval_net = net;
        return watched(&w, sparse_net_train(net, s->train, &to, NULL));
    }
    int rc = watched(&w, sparse_prune_run(pruned, net, s->train, &to, po));
    if (!rc) {
        sparse_prune_result_free(*pruned);
        rc = sparse__prune_trial(net, g, seed, 0, pruned);
    }
    if (!rc && sl->stage == 4)
        rc = fit_box(s, sl, net, seed, pruned, o);
    if (!rc)
        *eval_net = sparse_prune_result_net(*pruned);
    if (!rc && po->method == SPARSE_PRUNE_BC)
        rc = sparse_arch_to_json(&o->compact_json, sparse_prune_result_arch(*pruned));
    return rc;
}

/* The trained network's accuracy (float and int8) and sizes into o. */
static int measure(const sparse__search *s, sparse_net *net, sparse__outcome *o)
{
    int rc = sparse_net_evaluate(net, s->val, &o->val_acc);
    o->val_se = sparse__binomial_se(o->val_acc, (double)sparse_dataset_image_count(s->val));
    if (!rc)
        rc = sparse_net_evaluate(net, s->test, &o->test_acc);
    o->int8_test_acc = -1;
    if (!rc) {
        /* The deployed network is int8: measure it too. A network the int8
         * path cannot take is reported without the figure, not failed. */
        sparse_qnet *q = NULL;
        sparse_quant_options qo = SPARSE_QUANT_OPTIONS_INIT;
        int qrc = sparse_qnet_create(&q, net, s->train, &qo);
        if (!qrc)
            qrc = sparse_qnet_evaluate(q, s->test, &o->int8_test_acc);
        sparse_qnet_free(q);
        if (qrc == SPARSE_ENOMEM)
            rc = qrc; /* memory, not the network: stops the search like any other */
        else if (qrc)
            o->int8_test_acc = -1;
        if (qrc != SPARSE_ENOMEM)
            sparse_clear_error();
    }
    sparse_memreport *mem = NULL;
    sparse_memory_options mo = SPARSE_MEMORY_OPTIONS_INIT;
    mo.input_downsampling = s->cfg->input_downsampling;
    if (!rc)
        rc = sparse_memreport_from_net(&mem, net, &mo);
    uint64_t v = 0, lb = 0;
    size_t layer;
    if (!rc && !(rc = sparse_memreport_ms_bytes(mem, &v)))
        o->ms = (double)v;
    if (!rc && !(rc = sparse_memreport_wm_bytes(mem, 5, &v, &layer)))
        o->wm5 = (double)v;
    if (!rc && !(rc = sparse_memreport_wm_bytes(mem, 6, &v, &layer)))
        o->wm6 = (double)v;
    if (!rc && !(rc = sparse_memreport_deploy_flash_bytes(mem, &v)))
        o->flash = (double)v;
    if (!rc && !(rc = sparse_memreport_deploy_arena_bytes(mem, &v, &lb)))
        o->arena = (double)v;
    if (!rc)
        o->params = (double)sparse_net_nonzero_count(net);
    sparse_memreport_free(mem);
    return rc;
}

int sparse__evaluate(const sparse__search *s, sparse__slot *sl, sparse_progress_fn progress)
{
    sparse__outcome *o = &sl->o;
    memset(o, 0, sizeof *o);
    sparse_arch *arch = NULL;
    sparse_net *net = NULL, *eval_net = NULL;
    sparse_prune_result *pruned = NULL;
    uint64_t seed = s->cfg->seed * 1000003ULL + sl->t;
    sparse_prune_options po;
    sparse__prune_options(&sl->g, seed, &po);
    po.noise = s->cfg->prune_noise;
    if (!sparse__within_cap(&s->prob, sl->point, o->reason, sizeof o->reason))
        return SPARSE_OK;
    int rc = build(s, sl, &po, seed, &arch, &net, o);
    if (!rc)
        rc = train(s, sl, net, &po, seed, progress, &pruned, &eval_net, o);
    if (!rc)
        rc = measure(s, eval_net, o);
    float in_mean, in_std; /* stored with the weights: eval and export prepare inputs alike */
    if (!rc && !(rc = sparse_dataset_normalization(s->train, &in_mean, &in_std)))
        rc = sparse_net_set_input_normalization(net, in_mean, in_std);
    if (!rc) {
        char *path = sl->weights_file ? NULL : sparse__runlog_weights_path(s->log, sl->t);
        rc = path || sl->weights_file ? sparse_net_save(net, path ? path : sl->weights_file) : SPARSE_ENOMEM;
        free(path);
    }
    sparse_prune_result_free(pruned);
    sparse_net_free(net);
    sparse_arch_free(arch);
    if (rc && candidate_failure(rc)) {
        snprintf(o->reason, sizeof o->reason, "%s: %s", sparse_strerror(rc), sparse_last_error());
        sparse_clear_error();
        return SPARSE_OK;
    }
    o->ok = rc == SPARSE_OK;
    return rc;
}
