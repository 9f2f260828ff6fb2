/* Compaction: turns a pruned network into a smaller plain one.
 *
 * Channels live in "spaces": every node whose output channel c must be the
 * same channel as its input's (ReLU, pools, depthwise convolutions) or as
 * the other summands' (sum merges) shares its input's space (union-find);
 * a batch norm too, as a producer that is never zero (it maps 0 to a
 * constant), so such channels only go when nobody reads them.
 * A space's channel c goes when every producer in the space makes it zero
 * (removing a zero input changes no output, zero padding included) or when
 * no reader outside the space uses it. A concatenation's space is derived:
 * its slices follow their sources. See prune.h for the rules in prose. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "prune_internal.h"
#include "sparse/experimental.h"

typedef struct cstate {
    sparse_net *net;
    size_t n;
    size_t *parent;
    int *kind, *concat;
    size_t *C;                 /* channels per node */
    sparse_tensor **W, **B;    /* effective weights of weight nodes */
    unsigned char **zero, **used, **removed; /* per root, C[root] entries */
    int *fixed, *derived;
    size_t **keep, *nkeep;     /* per root: kept channel indices */
} cstate;

static size_t find(cstate *s, size_t i)
{
    while (s->parent[i] != i) {
        s->parent[i] = s->parent[s->parent[i]];
        i = s->parent[i];
    }
    return i;
}

static void unite(cstate *s, size_t a, size_t b)
{
    a = find(s, a);
    b = find(s, b);
    if (a < b)
        s->parent[b] = a;
    else if (b < a)
        s->parent[a] = b;
}

static size_t in0(const cstate *s, size_t i)
{
    size_t id = 0;
    sparse_net_node_input(s->net, i, 0, &id);
    return id;
}

static void fix_space(cstate *s, size_t r)
{
    if (s->fixed[r])
        return;
    s->fixed[r] = 1;
    if (!s->derived[r])
        return;
    for (size_t x = 0; x < s->n; x++)
        if (s->concat[x] && find(s, x) == r)
            for (size_t k = 0; k < sparse_net_node_input_count(s->net, x); k++) {
                size_t y = 0;
                sparse_net_node_input(s->net, x, k, &y);
                fix_space(s, find(s, y));
            }
}

/* Channel c of weight node i (conv/FC: output row) is all zero, bias too. */
static int row_zero(const cstate *s, size_t i, size_t c)
{
    const sparse_tensor *w = s->W[i];
    size_t rows = sparse_tensor_dim(w, 0), cols = sparse_tensor_element_count(w) / rows;
    const float *d = sparse_tensor_data_const(w) + c * cols;
    for (size_t k = 0; k < cols; k++)
        if (d[k] != 0.0f)
            return 0;
    return !s->B[i] || sparse_tensor_data_const(s->B[i])[c] == 0.0f;
}

/* Weight node x reads channel c of its input (hw values per channel). */
static int reads(const cstate *s, size_t x, size_t c, size_t hw)
{
    const sparse_tensor *w = s->W[x];
    size_t rows = sparse_tensor_dim(w, 0), cols = sparse_tensor_element_count(w) / rows;
    const float *d = sparse_tensor_data_const(w);
    size_t per = s->kind[x] == SPARSE_LAYER_FC ? hw : cols / s->C[in0(s, x)];
    for (size_t r = 0; r < rows; r++)
        for (size_t k = 0; k < per; k++)
            if (d[r * cols + c * per + k] != 0.0f)
                return 1;
    return 0;
}

static size_t kept(const cstate *s, size_t r)
{
    size_t k = 0;
    for (size_t c = 0; c < s->C[r]; c++)
        k += !s->removed[r][c];
    return k;
}

static void derive(cstate *s)
{
    for (size_t x = 0; x < s->n; x++) {
        if (!s->concat[x])
            continue;
        size_t r = find(s, x), off = 0;
        for (size_t k = 0; k < sparse_net_node_input_count(s->net, x); k++) {
            size_t y = 0;
            sparse_net_node_input(s->net, x, k, &y);
            size_t ry = find(s, y);
            for (size_t c = 0; c < s->C[y]; c++)
                s->removed[r][off + c] = s->fixed[r] ? 0 : s->removed[ry][c];
            off += s->C[y];
        }
    }
}

static size_t unremove(cstate *s, size_t r, size_t need)
{
    if (!s->derived[r]) {
        for (size_t c = 0; c < s->C[r] && need; c++)
            if (s->removed[r][c]) {
                s->removed[r][c] = 0;
                need--;
            }
        return need;
    }
    for (size_t x = 0; x < s->n && need; x++)
        if (s->concat[x] && find(s, x) == r)
            for (size_t k = 0; k < sparse_net_node_input_count(s->net, x) && need; k++) {
                size_t y = 0;
                sparse_net_node_input(s->net, x, k, &y);
                need = unremove(s, find(s, y), need);
            }
    return need;
}

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

/* Puts each node in its input's channel space where channel c must stay
 * channel c (and every summand of a sum in one space); takes the effective
 * weights of weight nodes. */
static int join_spaces(cstate *s)
{
    sparse_net *net = s->net;
    for (size_t i = 0; i < s->n; i++) {
        s->parent[i] = i;
        s->kind[i] = sparse_net_node_kind(net, i);
        sparse_net_node_shape(net, i, &s->C[i], NULL, NULL);
    }
    for (size_t i = 1; i < s->n; i++) {
        int k = s->kind[i];
        if (k == SPARSE_LAYER_RELU || k == SPARSE_LAYER_MAXPOOL || k == SPARSE_LAYER_AVGPOOL ||
            k == SPARSE_LAYER_DEPTHWISE_CONV2D || k == SPARSE_LAYER_BATCHNORM)
            unite(s, i, in0(s, i));
        else if (k == SPARSE_LAYER_MERGE) {
            sparse_node_info info = SPARSE_NODE_INFO_INIT;
            int rc = sparse_net_node_info(net, i, &info);
            if (rc)
                return rc;
            if (info.merge == SPARSE_MERGE_CONCAT)
                s->concat[i] = 1;
            else
                for (size_t j = 0; j < sparse_net_node_input_count(net, i); j++) {
                    size_t y = 0;
                    sparse_net_node_input(net, i, j, &y);
                    unite(s, i, y);
                }
        }
        if (sparse_layer_kind_has_weights(k)) {
            int rc = sparse_exp_net_effective_params(&s->W[i], &s->B[i], net, i);
            if (rc)
                return rc;
        }
    }
    return SPARSE_OK;
}

/* Per-space flags, every channel zero until a producer says otherwise. */
static int alloc_spaces(cstate *s)
{
    for (size_t i = 0; i < s->n; i++) {
        size_t r = find(s, i);
        if (s->concat[i])
            s->derived[r] = 1;
        if (!s->zero[r]) {
            s->zero[r] = sparse__calloc(s->C[r] + 1, 1);
            s->used[r] = sparse__calloc(s->C[r] + 1, 1);
            s->removed[r] = sparse__calloc(s->C[r] + 1, 1);
            if (!s->zero[r] || !s->used[r] || !s->removed[r])
                return SPARSE_ENOMEM;
            memset(s->zero[r], 1, s->C[r]);
        }
    }
    return SPARSE_OK;
}

/* The input's and the logits' spaces keep every channel, and so does a
 * derived (concatenation) space mixed with other producers. */
static int fix_spaces(cstate *s)
{
    const size_t n = s->n;
    size_t *prod = sparse__calloc(n, sizeof *prod);
    if (!prod)
        return SPARSE_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        int k = s->kind[i];
        size_t r = find(s, i);
        int producer = k == SPARSE_LAYER_INPUT || k == SPARSE_LAYER_CONV2D || k == SPARSE_LAYER_FC ||
                       k == SPARSE_LAYER_BATCHNORM || k == SPARSE_LAYER_INPUT_DOWNSAMPLE || s->concat[i] ||
                       (k == SPARSE_LAYER_DEPTHWISE_CONV2D && s->B[i]);
        prod[r] += producer;
        if (k == SPARSE_LAYER_INPUT || k == SPARSE_LAYER_INPUT_DOWNSAMPLE || i == n - 1)
            s->fixed[r] = 1;
    }
    for (size_t r = 0; r < n; r++)
        if (find(s, r) == r && s->derived[r] && (prod[r] > 1 || s->fixed[r])) {
            s->fixed[r] = 0; /* so that fix_space walks the sources */
            fix_space(s, r);
        }
    free(prod);
    return SPARSE_OK;
}

/* A space's channel stays zero only if every producer in it makes it zero. */
static void mark_zero(cstate *s)
{
    for (size_t i = 0; i < s->n; i++) {
        size_t r = find(s, i);
        int k = s->kind[i];
        for (size_t c = 0; c < s->C[i]; c++) {
            int z;
            if (k == SPARSE_LAYER_CONV2D || k == SPARSE_LAYER_FC)
                z = row_zero(s, i, c);
            else if (k == SPARSE_LAYER_DEPTHWISE_CONV2D)
                z = !s->B[i] || sparse_tensor_data_const(s->B[i])[c] == 0.0f;
            else if (k == SPARSE_LAYER_INPUT || k == SPARSE_LAYER_BATCHNORM || k == SPARSE_LAYER_INPUT_DOWNSAMPLE ||
                     s->concat[i])
                z = 0;
            else
                z = 1; /* zero-preserving: relu, pools, sums */
            if (!z)
                s->zero[r][c] = 0;
        }
    }
}

/* A channel is used when a reader outside its space reads it: to a fixed
 * point, since `used` only grows. */
static void mark_used(cstate *s)
{
    sparse_net *net = s->net;
    for (size_t r = 0; r < s->n; r++)
        if (find(s, r) == r && s->fixed[r])
            memset(s->used[r], 1, s->C[r]);
    for (int changed = 1; changed;) {
        changed = 0;
        for (size_t x = 1; x < s->n; x++) {
            int k = s->kind[x];
            size_t rx = find(s, x), off = 0;
            for (size_t j = 0; j < sparse_net_node_input_count(net, x); j++) {
                size_t y = 0, hy = 0, wy = 0;
                sparse_net_node_input(net, x, j, &y);
                sparse_net_node_shape(net, y, NULL, &hy, &wy);
                size_t ry = find(s, y);
                for (size_t c = 0; c < s->C[y]; c++) {
                    int u;
                    if (s->fixed[ry] || s->used[ry][c])
                        continue;
                    if (rx == ry && !s->concat[x] && k != SPARSE_LAYER_CONV2D && k != SPARSE_LAYER_FC)
                        continue; /* inside the space */
                    if (k == SPARSE_LAYER_CONV2D || k == SPARSE_LAYER_FC)
                        u = reads(s, x, c, hy * wy);
                    else if (s->concat[x])
                        u = s->used[rx][off + c];
                    else
                        u = 1;
                    if (u) {
                        s->used[ry][c] = 1;
                        changed = 1;
                    }
                }
                off += s->C[y];
            }
        }
    }
}

/* Zero or unused channels go; a downsampled conv's 1x1 layer cannot keep
 * more channels than it reads (rate <= 1), so some removable input channels
 * are kept instead. */
static void mark_removed(cstate *s)
{
    for (size_t r = 0; r < s->n; r++)
        if (find(s, r) == r && !s->fixed[r] && !s->derived[r])
            for (size_t c = 0; c < s->C[r]; c++)
                s->removed[r][c] = s->zero[r][c] || !s->used[r][c];
    derive(s);
    for (int again = 1, guard = 0; again && guard < 64; guard++) {
        again = 0;
        for (size_t i = 1; i < s->n; i++) {
            if (!ends_with(sparse_net_node_name(s->net, i), "/reduce"))
                continue;
            size_t kr = kept(s, find(s, i)), rin = find(s, in0(s, i)), kin = kept(s, rin);
            if (kr > kin) {
                unremove(s, rin, kr - kin);
                derive(s);
                again = 1;
            }
        }
    }
}

/* SPARSE_EEMPTY naming a weight layer of a space that lost every channel;
 * else the kept channels of every space. */
static int list_kept(cstate *s)
{
    for (size_t r = 0; r < s->n; r++)
        if (find(s, r) == r && !s->fixed[r] && kept(s, r) == 0) {
            size_t who = r;
            for (size_t i = 0; i < s->n; i++)
                if (find(s, i) == r && sparse_layer_kind_has_weights(s->kind[i])) {
                    who = i;
                    break;
                }
            return sparse__error(SPARSE_EEMPTY,
                                 "pruning removed every channel of '%s' (and of the layers sharing its "
                                 "channels): the network would be empty; prune less (a higher threshold "
                                 "or a smaller KL weight)",
                                 sparse_net_node_name(s->net, who));
        }
    for (size_t r = 0; r < s->n; r++) {
        if (find(s, r) != r)
            continue;
        s->keep[r] = sparse__calloc(s->C[r] + 1, sizeof(size_t));
        if (!s->keep[r])
            return SPARSE_ENOMEM;
        for (size_t c = 0; c < s->C[r]; c++)
            if (!s->removed[r][c])
                s->keep[r][s->nkeep[r]++] = c;
    }
    return SPARSE_OK;
}

/* Marks channels to remove. */
static int analyse(cstate *s)
{
    int rc = join_spaces(s);
    if (!rc)
        rc = alloc_spaces(s);
    if (!rc)
        rc = fix_spaces(s);
    if (rc)
        return rc;
    mark_zero(s);
    mark_used(s);
    mark_removed(s);
    return list_kept(s);
}

static int build_arch(cstate *s, sparse_arch **out)
{
    const sparse_arch *a = sparse_net_arch(s->net);
    size_t c, h, w;
    sparse_arch_input_shape(a, &c, &h, &w);
    sparse_arch *na = NULL;
    int rc = sparse_arch_create(&na, c, h, w, sparse_arch_class_count(a));
    if (!rc && sparse_arch_name(a)[0])
        rc = sparse_arch_set_name(na, sparse_arch_name(a));
    for (size_t li = 0; !rc && li < sparse_arch_layer_count(a); li++) {
        sparse_layer_spec sp = SPARSE_LAYER_SPEC_INIT;
        rc = sparse_arch_layer(a, li, &sp);
        if (rc)
            break;
        size_t id = 0;
        int k = sp.kind;
        if ((k == SPARSE_LAYER_CONV2D || k == SPARSE_LAYER_SEPARABLE_CONV2D || k == SPARSE_LAYER_DOWNSAMPLED_CONV2D ||
             k == SPARSE_LAYER_FC) &&
            !sparse_net_find_node(s->net, sp.name, &id)) {
            size_t kc = s->nkeep[find(s, id)];
            if (k == SPARSE_LAYER_FC)
                sp.units = kc;
            else
                sp.filters = kc;
        }
        if (k == SPARSE_LAYER_DOWNSAMPLED_CONV2D) {
            char buf[512];
            snprintf(buf, sizeof buf, "%s/reduce", sp.name);
            if (!sparse_net_find_node(s->net, buf, &id)) {
                size_t in = in0(s, id), kr = s->nkeep[find(s, id)], kin = s->nkeep[find(s, in)];
                if (kr != s->C[id] || kin != s->C[in])
                    sp.rate = (double)kr / (double)kin;
            }
        }
        rc = sparse_arch_add_layer(na, &sp);
    }
    sparse_clear_error();
    if (rc) {
        sparse_arch_free(na);
        return rc;
    }
    *out = na;
    return SPARSE_OK;
}

static int copy_named(sparse_net *src, size_t o, sparse_net *dst, size_t j, const char *name, const size_t *keep,
                      size_t nk)
{
    sparse_tensor *a = NULL, *b = NULL;
    int rc = sparse_net_param(&a, src, o, name);
    if (!rc)
        rc = sparse_net_param(&b, dst, j, name);
    if (!rc) {
        const float *sa = sparse_tensor_data_const(a);
        float *db = sparse_tensor_data(b);
        for (size_t q = 0; q < nk; q++)
            db[q] = sa[keep[q]];
    }
    sparse_tensor_free(a);
    sparse_tensor_free(b);
    return rc;
}

static int fill_net(cstate *s, sparse_net *dst)
{
    int rc = SPARSE_OK;
    for (size_t j = 1; j < sparse_net_node_count(dst) && !rc; j++) {
        size_t o = 0;
        rc = sparse_net_find_node(s->net, sparse_net_node_name(dst, j), &o);
        if (rc)
            return sparse__error(SPARSE_EINTERNAL, "compaction: node '%s' lost", sparse_net_node_name(dst, j));
        int k = s->kind[o];
        size_t ro = find(s, o);
        const size_t *ko = s->keep[ro], nko = s->nkeep[ro];
        if (k == SPARSE_LAYER_BATCHNORM) {
            const char *names[] = {"gamma", "beta", "running_mean", "running_var"};
            for (int q = 0; q < 4 && !rc; q++)
                rc = copy_named(s->net, o, dst, j, names[q], ko, nko);
            continue;
        }
        if (!sparse_layer_kind_has_weights(k))
            continue;
        size_t in = in0(s, o), ri = find(s, in), hi = 0, wi = 0;
        sparse_net_node_shape(s->net, in, NULL, &hi, &wi);
        const size_t *ki = s->keep[ri], nki = s->nkeep[ri];
        sparse_tensor *tw = NULL, *tb = NULL, *mask = NULL;
        rc = sparse_net_param(&tw, dst, j, "weight");
        if (!rc && s->B[o])
            rc = sparse_net_param(&tb, dst, j, "bias");
        if (rc) {
            sparse_tensor_free(tw);
            return rc;
        }
        const float *ow = sparse_tensor_data_const(s->W[o]);
        float *nw = sparse_tensor_data(tw);
        const size_t ocols = sparse_tensor_element_count(s->W[o]) / sparse_tensor_dim(s->W[o], 0);
        const size_t ncols = sparse_tensor_element_count(tw) / sparse_tensor_dim(tw, 0);
        for (size_t a = 0; a < nko; a++) {
            const float *src = ow + ko[a] * ocols;
            float *d = nw + a * ncols;
            if (k == SPARSE_LAYER_DEPTHWISE_CONV2D) {
                memcpy(d, src, ncols * sizeof(float));
                continue;
            }
            size_t per = k == SPARSE_LAYER_FC ? hi * wi : ocols / s->C[in];
            for (size_t b = 0; b < nki; b++)
                memcpy(d + b * per, src + ki[b] * per, per * sizeof(float));
        }
        if (tb) {
            const float *ob = sparse_tensor_data_const(s->B[o]);
            float *nb = sparse_tensor_data(tb);
            for (size_t a = 0; a < nko; a++)
                nb[a] = ob[ko[a]];
        }
        size_t nz = 0, nn = sparse_tensor_element_count(tw);
        for (size_t q = 0; q < nn; q++)
            nz += nw[q] != 0.0f;
        if (nz < nn) {
            rc = sparse_tensor_clone(&mask, tw);
            if (!rc) {
                float *m = sparse_tensor_data(mask);
                for (size_t q = 0; q < nn; q++)
                    m[q] = nw[q] != 0.0f ? 1.0f : 0.0f;
                rc = sparse_net_set_mask(dst, j, "weight", mask);
            }
        }
        sparse_tensor_free(mask);
        sparse_tensor_free(tw);
        sparse_tensor_free(tb);
    }
    return rc;
}

static size_t count_nonzero(sparse_net *net, size_t id)
{
    size_t nz = 0;
    const char *names[] = {"weight", "bias"};
    for (int q = 0; q < 2; q++) {
        sparse_tensor *t = NULL;
        if (sparse_net_param(&t, net, id, names[q])) {
            sparse_clear_error();
            continue;
        }
        const float *d = sparse_tensor_data_const(t);
        for (size_t i = 0; i < sparse_tensor_element_count(t); i++)
            nz += d[i] != 0.0f;
        sparse_tensor_free(t);
    }
    return nz;
}

static int make_stats(cstate *s, sparse_prune_result *res)
{
    size_t nw = 0;
    for (size_t i = 0; i < s->n; i++)
        nw += s->W[i] != NULL;
    res->layers = sparse__calloc(nw + 1, sizeof *res->layers);
    if (!res->layers)
        return SPARSE_ENOMEM;
    for (size_t i = 0; i < s->n; i++) {
        if (!s->W[i])
            continue;
        sparse__prune_layer *L = &res->layers[res->n_layers++];
        const char *nm = sparse_net_node_name(s->net, i);
        L->name = sparse__strdup(nm);
        if (!L->name)
            return SPARSE_ENOMEM;
        L->kind = s->kind[i];
        L->ch_total = s->C[i];
        L->ch_kept = s->nkeep[find(s, i)];
        L->w_total =
            sparse_tensor_element_count(s->W[i]) + (s->B[i] ? sparse_tensor_element_count(s->B[i]) : 0);
        size_t j = 0;
        L->w_kept = sparse_net_find_node(res->net, nm, &j) ? 0 : count_nonzero(res->net, j);
    }
    return SPARSE_OK;
}

static void cstate_free(cstate *s)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->W)
            sparse_tensor_free(s->W[i]);
        if (s->B)
            sparse_tensor_free(s->B[i]);
        unsigned char **per_root[] = {s->zero, s->used, s->removed};
        for (int q = 0; q < 3; q++)
            if (per_root[q])
                free(per_root[q][i]);
        if (s->keep)
            free(s->keep[i]);
    }
    void *arrays[] = {s->parent, s->kind,    s->concat, s->C,       s->W,    s->B,    s->zero,
                      s->used,   s->removed, s->fixed,  s->derived, s->keep, s->nkeep};
    for (size_t q = 0; q < sizeof arrays / sizeof arrays[0]; q++)
        free(arrays[q]);
}

static int cstate_init(cstate *s, sparse_net *net)
{
    memset(s, 0, sizeof *s);
    s->net = net;
    s->n = sparse_net_node_count(net);
    const size_t n = s->n;
    s->parent = sparse__calloc(n, sizeof *s->parent);
    s->kind = sparse__calloc(n, sizeof *s->kind);
    s->concat = sparse__calloc(n, sizeof *s->concat);
    s->C = sparse__calloc(n, sizeof *s->C);
    s->W = sparse__calloc(n, sizeof *s->W);
    s->B = sparse__calloc(n, sizeof *s->B);
    s->zero = sparse__calloc(n, sizeof *s->zero);
    s->used = sparse__calloc(n, sizeof *s->used);
    s->removed = sparse__calloc(n, sizeof *s->removed);
    s->fixed = sparse__calloc(n, sizeof *s->fixed);
    s->derived = sparse__calloc(n, sizeof *s->derived);
    s->keep = sparse__calloc(n, sizeof *s->keep);
    s->nkeep = sparse__calloc(n, sizeof *s->nkeep);
    if (!s->parent || !s->kind || !s->concat || !s->C || !s->W || !s->B || !s->zero || !s->used ||
        !s->removed || !s->fixed || !s->derived || !s->keep || !s->nkeep)
        return SPARSE_ENOMEM;
    return SPARSE_OK;
}

SPARSE_API int sparse_prune_compact(sparse_prune_result **out, sparse_net *net, size_t max_batch)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    SPARSE__CHECK_NULL(net);
    cstate s;
    sparse_arch *na = NULL;
    sparse_prune_result *res = NULL;
    int rc = cstate_init(&s, net);
    if (!rc)
        rc = analyse(&s);
    if (!rc)
        rc = build_arch(&s, &na);
    if (!rc && !(res = sparse__calloc(1, sizeof *res)))
        rc = SPARSE_ENOMEM;
    if (!rc) {
        res->train[0].version = res->train[1].version = SPARSE_TRAIN_RESULT_VERSION;
        res->total = sparse_net_weight_count(net);
        rc = sparse_net_create(&res->net, na, max_batch ? max_batch : sparse_net_max_batch(net), 0);
    }
    if (!rc)
        rc = fill_net(&s, res->net);
    if (!rc)
        rc = make_stats(&s, res);
    cstate_free(&s);
    sparse_arch_free(na);
    if (rc) {
        sparse_prune_result_free(res);
        return rc;
    }
    *out = res;
    return SPARSE_OK;
}

/* ---- Results ---- */

SPARSE_API void sparse_prune_result_free(sparse_prune_result *res)
{
    if (!res)
        return;
    sparse_net_free(res->net);
    for (size_t i = 0; i < res->n_layers; i++)
        free(res->layers[i].name);
    free(res->layers);
    free(res);
}

SPARSE_API sparse_net *sparse_prune_result_net(const sparse_prune_result *res) { return res ? res->net : NULL; }

SPARSE_API const sparse_arch *sparse_prune_result_arch(const sparse_prune_result *res)
{
    return res && res->net ? sparse_net_arch(res->net) : NULL;
}

SPARSE_API size_t sparse_prune_result_nonzero_count(const sparse_prune_result *res)
{
    if (!res)
        return 0;
    return res->net ? sparse_net_nonzero_count(res->net) : res->nonzero;
}

SPARSE_API size_t sparse_prune_result_weight_count(const sparse_prune_result *res)
{
    return res ? res->total : 0;
}

SPARSE_API size_t sparse_prune_result_layer_count(const sparse_prune_result *res)
{
    return res ? res->n_layers : 0;
}

SPARSE__STRUCT_VERSIONS(prune_layer_versions, sparse_prune_layer, SPARSE_PRUNE_LAYER_INIT,
                        SPARSE_PRUNE_LAYER_VERSION, sizeof(sparse_prune_layer));

SPARSE_API int sparse_prune_result_layer(const sparse_prune_result *res, size_t i, sparse_prune_layer *out)
{
    SPARSE__CHECK_NULL(res);
    SPARSE__CHECK_NULL(out);
    if (i >= res->n_layers)
        return sparse__error(SPARSE_ERANGE, "sparse_prune_result_layer: %zu of %zu layers", i, res->n_layers);
    const sparse__prune_layer *L = &res->layers[i];
    const sparse_prune_layer cur = {
        SPARSE_PRUNE_LAYER_VERSION, L->name, L->kind, L->ch_kept, L->ch_total, L->w_kept, L->w_total};
    return sparse__struct_write(&prune_layer_versions, out, &cur, "sparse_prune_result_layer");
}

SPARSE_API int sparse_prune_result_training(const sparse_prune_result *res, int phase, sparse_train_result *out)
{
    SPARSE__CHECK_NULL(res);
    SPARSE__CHECK_NULL(out);
    if (phase < 0 || phase > 1)
        return sparse__error(SPARSE_ERANGE, "sparse_prune_result_training: phase %d, 0 or 1", phase);
    int rc = sparse_exp_train_result_copy(out, &res->train[phase]);
    return rc ? sparse__error_prefix(rc, "sparse_prune_result_training") : SPARSE_OK;
}

SPARSE_API int sparse_prune_result_take_net(sparse_net **out, sparse_prune_result *res)
{
    SPARSE__CHECK_NULL(out);
    *out = NULL;
    SPARSE__CHECK_NULL(res);
    if (!res->net)
        return sparse__error(SPARSE_EINVAL, "sparse_prune_result_take_net: the network was already taken");
    res->nonzero = sparse_net_nonzero_count(res->net);
    *out = res->net;
    res->net = NULL;
    return SPARSE_OK;
}
