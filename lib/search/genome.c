/* The search space of paper Table 5 as a sparse_space (mixed, conditional
 * variables, so the GP sees inactive layers as such), and the mapping from a
 * point of it to an architecture. Node names depend only on a layer's
 * position ("b1l0" is block 1, layer 0), so a morph and its reference share
 * the names of the nodes they have in common: weight inheritance matches by
 * name. A point's key says what it trains, so that morphs that change
 * nothing are known as such. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "search_internal.h"

#define NONE SIZE_MAX

static int fixed(sparse__range r) { return r.lo == r.hi; }
static int popcount(sparse__choices c)
{
    int n = 0;
    for (; c; c &= c - 1)
        n++;
    return n;
}
static int first_choice(sparse__choices c)
{
    for (int i = 0; i < 32; i++)
        if (c & (1u << i))
            return i;
    return 0;
}

typedef struct builder {
    sparse_space *s;
    int rc;
} builder;

static size_t add_int(builder *b, const char *name, sparse__range r, int log_scale)
{
    size_t idx = NONE;
    if (b->rc || fixed(r))
        return NONE;
    b->rc = sparse_space_add_int(b->s, name, (long)r.lo, (long)r.hi, log_scale && r.lo >= 1, &idx);
    return idx;
}

static size_t add_real(builder *b, const char *name, sparse__range r, int log_scale)
{
    size_t idx = NONE;
    if (b->rc || fixed(r))
        return NONE;
    b->rc = sparse_space_add_real(b->s, name, r.lo, r.hi, log_scale && r.lo > 0, &idx);
    return idx;
}

/* Categorical over the allowed choices only (index into the allowed list). */
static size_t add_choice(builder *b, const char *name, sparse__choices set)
{
    size_t idx = NONE;
    if (b->rc || popcount(set) < 2)
        return NONE;
    b->rc = sparse_space_add_categorical(b->s, name, (size_t)popcount(set), &idx);
    return idx;
}

/* var active only when parent takes a value in [lo, hi] (integers). */
static void when_between(builder *b, size_t var, size_t parent, int lo, int hi)
{
    if (b->rc || var == NONE || parent == NONE)
        return;
    double vals[16];
    size_t n = 0;
    for (int v = lo; v <= hi && n < 16; v++)
        vals[n++] = v;
    b->rc = sparse_space_set_condition(b->s, var, parent, vals, n);
}

static void when_choice(builder *b, size_t var, size_t parent, double value)
{
    if (b->rc || var == NONE || parent == NONE)
        return;
    b->rc = sparse_space_set_condition(b->s, var, parent, &value, 1);
}

/* Index, within the allowed list of set, of choice c (for conditions). */
static int choice_pos(sparse__choices set, int c)
{
    int pos = 0;
    for (int i = 0; i < c; i++)
        pos += (set >> i) & 1u;
    return pos;
}

int sparse__layout_create(sparse__layout *lay, const sparse_search_config *cfg)
{
    memset(lay, 0xff, sizeof *lay); /* every index NONE */
    lay->space = NULL;
    builder b = {NULL, sparse_space_create(&b.s)};
    if (b.rc)
        return b.rc;
    lay->bmax = (int)cfg->blocks.hi;
    lay->lmax = (int)cfg->layers.hi;
    char name[64];
    lay->in_ds = add_choice(&b, "input_downsample", cfg->input_downsample);
    lay->in_rate = add_int(&b, "input_rate", cfg->input_rate, 0);
    lay->in_avg = add_choice(&b, "input_pool_avg", cfg->input_pool_avg);
    if (lay->in_ds != NONE) {
        double on = choice_pos(cfg->input_downsample, 1);
        when_choice(&b, lay->in_rate, lay->in_ds, on);
        when_choice(&b, lay->in_avg, lay->in_ds, on);
    }
    lay->blocks = add_int(&b, "blocks", cfg->blocks, 0);
    for (int k = 0; k < lay->bmax; k++) {
        snprintf(name, sizeof name, "b%d.layers", k);
        lay->block_layers[k] = add_int(&b, name, cfg->layers, 0);
        snprintf(name, sizeof name, "b%d_pool", k);
        lay->block_pool[k] = add_int(&b, name, cfg->pool, 0);
        if (k > 0) {
            when_between(&b, lay->block_layers[k], lay->blocks, k + 1, lay->bmax);
            when_between(&b, lay->block_pool[k], lay->blocks, k + 1, lay->bmax);
        }
        for (int l = 0; l < lay->lmax; l++) {
            sparse__layer_vars *v = &lay->layer[k][l];
            snprintf(name, sizeof name, "b%d.l%d.type", k, l);
            v->type = add_choice(&b, name, cfg->layer_types);
            snprintf(name, sizeof name, "b%d.l%d.kernel", k, l);
            v->kernel = add_int(&b, name, cfg->kernel, 0);
            snprintf(name, sizeof name, "b%d.l%d.filters", k, l);
            v->filters = add_int(&b, name, cfg->filters, 1);
            snprintf(name, sizeof name, "b%d.l%d.rate", k, l);
            v->rate =
                (cfg->layer_types & (1u << SPARSE__DOWNSAMPLED)) ? add_real(&b, name, cfg->rate, 0) : NONE;
            snprintf(name, sizeof name, "b%d.l%d.threshold", k, l);
            v->threshold = (cfg->prune & ~1u) ? add_real(&b, name, cfg->threshold, 0) : NONE;
            /* A layer exists when its block has more than l layers (and, for
             * k > 0, when the block exists: the block's layer count is then
             * inactive too, which the conditional chain carries). */
            size_t parent = lay->block_layers[k];
            size_t vars[] = {v->type, v->kernel, v->filters, v->threshold};
            for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
                if (parent != NONE)
                    when_between(&b, vars[i], parent, l + 1, lay->lmax);
                else if (k > 0)
                    when_between(&b, vars[i], lay->blocks, k + 1, lay->bmax);
            }
            if (v->rate != NONE) {
                if (v->type != NONE)
                    when_choice(&b, v->rate, v->type, choice_pos(cfg->layer_types, SPARSE__DOWNSAMPLED));
                else if (parent != NONE)
                    when_between(&b, v->rate, parent, l + 1, lay->lmax);
            }
        }
    }
    lay->batch_norm = add_choice(&b, "batch_norm", cfg->batch_norm);
    lay->residual = add_choice(&b, "residual", cfg->residual);
    lay->fc_layers = add_int(&b, "fc_layers", cfg->fc_layers, 0);
    lay->fc_weights = add_int(&b, "fc_weights", cfg->fc_weights, 1);
    lay->fc_frac = add_real(&b, "fc_fraction", cfg->fc_frac, 0);
    /* The main branch's share of the FC weights matters only with its FC layer. */
    if (lay->fc_layers != NONE)
        when_between(&b, lay->fc_frac, lay->fc_layers, 1, 1);
    lay->left = add_choice(&b, "left_branch", cfg->branches);
    lay->right = add_choice(&b, "right_branch", cfg->branches);
    lay->merge = add_choice(&b, "merge_concat", cfg->merge_concat);
    lay->prune = add_choice(&b, "pruning", cfg->prune);
    int pruning_possible = (cfg->prune & ~1u) != 0;
    lay->threshold_fc = pruning_possible ? add_real(&b, "fc.threshold", cfg->threshold, 0) : NONE;
    lay->kl_weight = pruning_possible ? add_real(&b, "kl_weight", cfg->kl_weight, 1) : NONE;
    lay->zero_epochs = pruning_possible ? add_int(&b, "zero_epochs", cfg->zero_epochs, 0) : NONE;
    lay->anneal_epochs = pruning_possible ? add_int(&b, "anneal_epochs", cfg->anneal_epochs, 0) : NONE;
    if (lay->prune != NONE && (cfg->prune & 1u)) {
        /* With "none" allowed, the pruning parameters matter only otherwise. */
        double vals[2];
        size_t n = 0;
        for (int m = 1; m < SPARSE__PRUNE_METHODS; m++)
            if (cfg->prune & (1u << m))
                vals[n++] = choice_pos(cfg->prune, m);
        size_t vars[] = {lay->kl_weight, lay->zero_epochs, lay->anneal_epochs, lay->threshold_fc};
        for (size_t i = 0; !b.rc && i < 4; i++)
            if (vars[i] != NONE)
                b.rc = sparse_space_set_condition(b.s, vars[i], lay->prune, vals, n);
    }
    lay->lr = add_real(&b, "lr", cfg->lr, 1);
    lay->epochs = add_int(&b, "epochs", cfg->epochs, 0);
    lay->label_smoothing = add_real(&b, "label_smoothing", cfg->label_smoothing, 0);
    lay->weight_decay = add_real(&b, "weight_decay", cfg->weight_decay, 0);
    lay->shift = add_int(&b, "shift", cfg->shift, 0);
    if (b.rc) {
        sparse_space_free(b.s);
        return sparse__error_prefix(b.rc, "building the search space");
    }
    lay->space = b.s;
    lay->nvars = sparse_space_var_count(b.s);
    return SPARSE_OK;
}

void sparse__layout_destroy(sparse__layout *lay)
{
    if (lay) {
        sparse_space_free(lay->space);
        lay->space = NULL;
    }
}

static double value(const double *point, size_t idx, double fallback)
{
    return idx == NONE || isnan(point[idx]) ? fallback : point[idx];
}

/* Choice variable -> the choice's own index (not its position in the list). */
static int choice_value(const double *point, size_t idx, sparse__choices set)
{
    if (idx == NONE || isnan(point[idx]))
        return first_choice(set);
    int pos = (int)point[idx];
    for (int i = 0; i < 32; i++)
        if ((set & (1u << i)) && pos-- == 0)
            return i;
    return first_choice(set);
}

void sparse__genome_decode(const sparse__layout *lay, const sparse_search_config *cfg, const double *p,
                           sparse__genome *g)
{
    memset(g, 0, sizeof *g);
    g->in_ds = choice_value(p, lay->in_ds, cfg->input_downsample);
    g->in_rate = (int)value(p, lay->in_rate, cfg->input_rate.lo);
    g->in_avg = choice_value(p, lay->in_avg, cfg->input_pool_avg);
    g->blocks = (int)value(p, lay->blocks, cfg->blocks.lo);
    for (int k = 0; k < g->blocks; k++) {
        g->block_layers[k] = (int)value(p, lay->block_layers[k], cfg->layers.lo);
        g->block_pool[k] = (int)value(p, lay->block_pool[k], cfg->pool.lo);
        for (int l = 0; l < g->block_layers[k]; l++) {
            const sparse__layer_vars *v = &lay->layer[k][l];
            g->type[k][l] = choice_value(p, v->type, cfg->layer_types);
            g->kernel[k][l] = (int)value(p, v->kernel, cfg->kernel.lo);
            g->filters[k][l] = (int)value(p, v->filters, cfg->filters.lo);
            g->rate[k][l] = value(p, v->rate, cfg->rate.lo);
            g->threshold[k][l] = value(p, v->threshold, cfg->threshold.lo);
        }
    }
    g->batch_norm = choice_value(p, lay->batch_norm, cfg->batch_norm);
    g->residual = choice_value(p, lay->residual, cfg->residual);
    g->fc_layers = (int)value(p, lay->fc_layers, cfg->fc_layers.lo);
    g->fc_weights = value(p, lay->fc_weights, cfg->fc_weights.lo);
    g->fc_frac = value(p, lay->fc_frac, cfg->fc_frac.lo);
    g->left = choice_value(p, lay->left, cfg->branches);
    g->right = choice_value(p, lay->right, cfg->branches);
    g->merge_concat = choice_value(p, lay->merge, cfg->merge_concat);
    g->prune = choice_value(p, lay->prune, cfg->prune);
    g->threshold_fc = value(p, lay->threshold_fc, cfg->threshold.lo);
    g->kl_weight = value(p, lay->kl_weight, cfg->kl_weight.lo);
    g->zero_epochs = (int)value(p, lay->zero_epochs, cfg->zero_epochs.lo);
    g->anneal_epochs = (int)value(p, lay->anneal_epochs, cfg->anneal_epochs.lo);
    g->lr = value(p, lay->lr, cfg->lr.lo);
    g->epochs = (int)value(p, lay->epochs, cfg->epochs.lo);
    g->label_smoothing = value(p, lay->label_smoothing, cfg->label_smoothing.lo);
    g->weight_decay = value(p, lay->weight_decay, cfg->weight_decay.lo);
    g->shift = (int)value(p, lay->shift, cfg->shift.lo);
}

typedef struct arch_builder {
    sparse_arch *arch;
    int rc;
    char last[64];                    /* name of the most recent layer */
    size_t ch, h, w;                  /* running shape, for FC sizing only */
    char stem[64], block0[64];        /* the input as the blocks see it; block 0's output */
    size_t stem_size, block0_size;    /* their sizes, for the branches' FC layers */
} arch_builder;

static void add(arch_builder *a, sparse_layer_spec *s, const char *name)
{
    if (a->rc)
        return;
    s->name = name;
    a->rc = sparse_arch_add_layer(a->arch, s);
    if (!a->rc)
        snprintf(a->last, sizeof a->last, "%s", name);
}

static sparse_layer_spec spec_of(int kind)
{
    sparse_layer_spec s = SPARSE_LAYER_SPEC_INIT;
    s.kind = kind;
    return s;
}

/* Hidden units of an FC layer given its share of the FC weight budget; never
 * fewer than the classes, so a hidden layer is no bottleneck before the
 * logits. */
static size_t fc_units(double weights, double frac, size_t in, size_t classes)
{
    double u = floor(weights * frac / (double)(in ? in : 1) + 0.5);
    u = u < (double)classes ? (double)classes : u;
    return u > 1024 ? 1024 : (size_t)u;
}

/* Convolution l of block k ("bKlL"), its batch norm and ReLU, and the
 * residual connection from skip that closes every pair. */
static void add_conv(arch_builder *a, const sparse__genome *g, int k, int l, const char *skip)
{
    static const int kinds[SPARSE__LAYER_TYPES] = {SPARSE_LAYER_CONV2D, SPARSE_LAYER_SEPARABLE_CONV2D,
                                                   SPARSE_LAYER_DOWNSAMPLED_CONV2D};
    char conv[32], name[64];
    sparse_layer_spec s = spec_of(kinds[g->type[k][l]]);
    s.filters = (size_t)g->filters[k][l];
    s.kernel = (size_t)g->kernel[k][l];
    s.padding = SPARSE_PAD_SAME;
    s.rate = g->rate[k][l];
    s.bias = !g->batch_norm;
    snprintf(conv, sizeof conv, "b%dl%d", k, l);
    add(a, &s, conv);
    a->ch = s.filters;
    if (g->batch_norm) {
        sparse_layer_spec bn = spec_of(SPARSE_LAYER_BATCHNORM);
        snprintf(name, sizeof name, "%s_bn", conv);
        add(a, &bn, name);
    }
    sparse_layer_spec relu = spec_of(SPARSE_LAYER_RELU);
    snprintf(name, sizeof name, "%s_relu", conv);
    add(a, &relu, name);
    if (g->residual && l % 2 == 1) {
        sparse_layer_spec res = spec_of(SPARSE_LAYER_RESIDUAL);
        res.input_count = 1;
        res.inputs[0] = skip;
        snprintf(name, sizeof name, "b%dl%d_res", k, l);
        add(a, &res, name);
    }
}

/* Block k: its convolutions, then its max pooling if the image is still
 * large enough. */
static void add_block(arch_builder *a, const sparse__genome *g, int k)
{
    char skip[64] = "", name[64];
    for (int l = 0; l < g->block_layers[k]; l++) {
        if (l % 2 == 0)
            snprintf(skip, sizeof skip, "%s", a->last);
        add_conv(a, g, k, l, skip);
    }
    if (g->block_pool[k] > 1 && a->h >= (size_t)g->block_pool[k] && a->w >= (size_t)g->block_pool[k]) {
        sparse_layer_spec s = spec_of(SPARSE_LAYER_MAXPOOL);
        s.size = (size_t)g->block_pool[k];
        snprintf(name, sizeof name, "b%d_pool", k);
        add(a, &s, name);
        a->h /= s.size;
        a->w /= s.size;
    }
    if (k == 0) {
        snprintf(a->block0, sizeof a->block0, "%s", a->last);
        a->block0_size = a->ch * a->h * a->w;
    }
}

/* Units of the main FC layer and of the left and right branches' (0: none). */
static void fc_widths(const arch_builder *a, const sparse__genome *g, size_t classes, int branches,
                      size_t widths[3])
{
    widths[0] = widths[1] = widths[2] = 0;
    /* With branches the main path always ends in an FC layer, so every
     * merge input is a vector. */
    if (g->fc_layers > 0 || branches) {
        double frac = g->fc_layers > 0 ? g->fc_frac : 0.05;
        widths[0] = fc_units(g->fc_weights, frac, a->ch * a->h * a->w, classes);
    }
    if (g->left && g->blocks > 0)
        widths[1] = fc_units(g->fc_weights, 0.05 + 0.5 * g->fc_frac, a->block0_size, classes);
    if (g->right)
        widths[2] = fc_units(g->fc_weights, 0.05 + 0.5 * g->fc_frac, a->stem_size, classes);
    if (branches && !g->merge_concat) {
        /* A sum needs one width: the widest branch sets it. */
        size_t m = widths[0] > widths[1] ? widths[0] : widths[1];
        m = m > widths[2] ? m : widths[2];
        for (int i = 0; i < 3; i++)
            if (widths[i])
                widths[i] = m;
    }
}

/* The FC layers after the blocks: the main one, the branches and their
 * merge, the logits. */
static void add_head(arch_builder *a, const sparse__genome *g, size_t classes)
{
    int branches = (g->left && g->blocks > 0) || g->right;
    char main_out[64];
    snprintf(main_out, sizeof main_out, "%s", a->last);
    size_t widths[3];
    fc_widths(a, g, classes, branches, widths);
    if (widths[0]) {
        sparse_layer_spec s = spec_of(SPARSE_LAYER_FC);
        s.units = widths[0];
        add(a, &s, "fc_main");
        sparse_layer_spec relu = spec_of(SPARSE_LAYER_RELU);
        add(a, &relu, "fc_main_relu");
        snprintf(main_out, sizeof main_out, "%s", a->last);
    }
    if (branches) {
        const char *names[3] = {main_out, "fc_left", "fc_right"};
        const char *srcs[3] = {NULL, a->block0, a->stem};
        sparse_layer_spec merge = spec_of(SPARSE_LAYER_MERGE);
        merge.merge = g->merge_concat ? SPARSE_MERGE_CONCAT : SPARSE_MERGE_SUM;
        merge.inputs[merge.input_count++] = main_out;
        char relu_names[3][64];
        for (int i = 1; i < 3; i++) {
            if (!widths[i])
                continue;
            sparse_layer_spec s = spec_of(SPARSE_LAYER_FC);
            s.units = widths[i];
            s.input_count = 1;
            s.inputs[0] = srcs[i];
            add(a, &s, names[i]);
            sparse_layer_spec relu = spec_of(SPARSE_LAYER_RELU);
            snprintf(relu_names[i], sizeof relu_names[i], "%s_relu", names[i]);
            add(a, &relu, relu_names[i]);
            merge.inputs[merge.input_count++] = relu_names[i];
        }
        add(a, &merge, "merge");
    }
    sparse_layer_spec logits = spec_of(SPARSE_LAYER_FC);
    logits.units = classes;
    add(a, &logits, "logits");
}

int sparse__genome_arch(const sparse__genome *g, size_t c, size_t h, size_t w, size_t classes,
                        sparse_arch **out)
{
    *out = NULL;
    arch_builder a;
    memset(&a, 0, sizeof a);
    snprintf(a.last, sizeof a.last, "input");
    a.ch = c;
    a.h = h;
    a.w = w;
    if ((a.rc = sparse_arch_create(&a.arch, c, h, w, classes)))
        return a.rc;
    if (g->in_ds) {
        sparse_layer_spec s = spec_of(g->in_avg ? SPARSE_LAYER_AVGPOOL : SPARSE_LAYER_INPUT_DOWNSAMPLE);
        s.size = (size_t)g->in_rate;
        add(&a, &s, "input_pool");
        a.h /= (size_t)g->in_rate;
        a.w /= (size_t)g->in_rate;
    }
    snprintf(a.stem, sizeof a.stem, "%s", a.last);
    a.stem_size = c * a.h * a.w;
    for (int k = 0; k < g->blocks && !a.rc; k++)
        add_block(&a, g, k);
    add_head(&a, g, classes);
    if (!a.rc)
        a.rc = sparse_arch_validate(a.arch);
    if (a.rc) {
        sparse_arch_free(a.arch);
        return a.rc;
    }
    *out = a.arch;
    return SPARSE_OK;
}

int sparse__point_arch(const sparse__problem *p, const double *point, sparse__genome *g, sparse_arch **out)
{
    sparse__genome_decode(p->lay, p->cfg, point, g);
    return sparse__genome_arch(g, p->channels, p->height, p->width, p->classes, out);
}

int sparse__point_keys(const sparse__problem *p, const double *point, char **key, char **arch_key)
{
    sparse__genome g;
    sparse_arch *arch = NULL;
    char *json = NULL;
    if (key)
        *key = NULL;
    if (arch_key)
        *arch_key = NULL;
    int rc = sparse__point_arch(p, point, &g, &arch);
    if (!rc)
        rc = sparse_arch_to_json(&json, arch);
    sparse_arch_free(arch);
    if (rc == SPARSE_ENOMEM)
        return rc;
    if (rc) {
        sparse_clear_error(); /* not buildable: no keys */
        return SPARSE_OK;
    }
    if (key) {
        sparse__buf b = SPARSE__BUF_INIT;
        sparse__buf_printf(&b, "%s|%d|%.17g|%.17g|%.17g|%d|%d", json, g.epochs, g.lr, g.label_smoothing,
                           g.weight_decay, g.shift, g.prune);
        if (g.prune != SPARSE_PRUNE_NONE) {
            sparse__buf_printf(&b, "|%.17g|%d|%d|%.17g", g.kl_weight, g.zero_epochs, g.anneal_epochs,
                               g.threshold_fc);
            for (int k = 0; k < g.blocks; k++)
                for (int l = 0; l < g.block_layers[k]; l++)
                    sparse__buf_printf(&b, "|%.17g", g.threshold[k][l]);
        }
        *key = sparse__buf_detach(&b);
        sparse__buf_free(&b);
        if (!*key) {
            free(json);
            return SPARSE_ENOMEM;
        }
    }
    if (arch_key)
        *arch_key = json;
    else
        free(json);
    return SPARSE_OK;
}
