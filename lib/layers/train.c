/* Training loop and evaluation. Every buffer a step needs belongs to the
 * network or is allocated once per call, before the first step. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "layers_internal.h"
#include "optim.h"

SPARSE__STRUCT_VERSIONS(train_options_versions, sparse_train_options, SPARSE_TRAIN_OPTIONS_INIT,
                        SPARSE_TRAIN_OPTIONS_VERSION, offsetof(sparse_train_options, max_shift),
                        sizeof(sparse_train_options));
SPARSE__STRUCT_VERSIONS(train_result_versions, sparse_train_result, SPARSE_TRAIN_RESULT_INIT,
                        SPARSE_TRAIN_RESULT_VERSION, sizeof(sparse_train_result));

SPARSE_API int sparse_train_options_init(sparse_train_options *opts, unsigned version)
{
    return sparse__struct_init(&train_options_versions, opts, version);
}

SPARSE_API int sparse_exp_train_options_copy(sparse_train_options *dst, const sparse_train_options *src)
{
    SPARSE__CHECK_NULL(dst);
    return sparse__struct_read(&train_options_versions, dst, src, "sparse_exp_train_options_copy");
}

SPARSE_API int sparse_exp_train_result_copy(sparse_train_result *dst, const sparse_train_result *src)
{
    SPARSE__CHECK_NULL(src);
    return sparse__struct_write(&train_result_versions, dst, src, "sparse_exp_train_result_copy");
}

static int check_dataset(const sparse_net *net, const sparse_dataset *ds, const char *fn)
{
    const sparse__node *in = &net->nodes[0];
    if (sparse_dataset_channels(ds) != in->c || sparse_dataset_height(ds) != in->h ||
        sparse_dataset_width(ds) != in->w)
        return sparse__error(SPARSE_ESHAPE, "%s: images are %zux%zux%zu, the architecture expects %zux%zux%zu", fn,
                             sparse_dataset_channels(ds), sparse_dataset_height(ds), sparse_dataset_width(ds),
                             in->c, in->h, in->w);
    if (sparse_dataset_class_count(ds) > net->classes)
        return sparse__error(SPARSE_ERANGE, "%s: the data set has %zu classes, the architecture %zu", fn,
                             sparse_dataset_class_count(ds), net->classes);
    if (sparse_dataset_image_count(ds) == 0)
        return sparse__error(SPARSE_EEMPTY, "%s: the data set is empty", fn);
    return SPARSE_OK;
}

/* Copies one h x w plane img into dst moved by (dx, dy) pixels, zeros where
 * nothing moves in (|dx| < w: sparse_net_train checks the shift). */
static void shifted_copy(float *dst, const float *img, size_t h, size_t w, long dx, long dy)
{
    const long H = (long)h, W = (long)w;
    const long x0 = dx > 0 ? dx : 0, x1 = dx < 0 ? W + dx : W; /* columns that receive pixels */
    for (long y = 0; y < H; y++) {
        float *row = dst + y * W;
        const long sy = y - dy;
        if (sy < 0 || sy >= H) {
            memset(row, 0, (size_t)W * sizeof *row);
            continue;
        }
        memset(row, 0, (size_t)x0 * sizeof *row);
        memcpy(row + x0, img + sy * W + (x0 - dx), (size_t)(x1 - x0) * sizeof *row);
        memset(row + x1, 0, (size_t)(W - x1) * sizeof *row);
    }
}

/* Copies images idx[0..n) into the input node; with shift > 0, each image
 * moved by its own random offset drawn from rng (the moved copies go
 * through xin_grad, which training does not otherwise use). */
static void load_batch(sparse_net *net, const sparse_dataset *ds, const size_t *idx, size_t n, int32_t *labels,
                       size_t shift, sparse_rng *rng)
{
    sparse__node *in = &net->nodes[0];
    const size_t hw = in->h * in->w;
    for (size_t i = 0; i < n; i++) {
        const float *img = sparse_dataset_image(ds, idx[i]);
        labels[i] = (int32_t)sparse_dataset_label(ds, idx[i]);
        net->img[i] = img;
        if (!shift)
            continue;
        const long dx = (long)sparse_rng_uint(rng, 2 * shift + 1) - (long)shift;
        const long dy = (long)sparse_rng_uint(rng, 2 * shift + 1) - (long)shift;
        float *moved = net->xin_grad + i * in->sz;
        for (size_t c = 0; c < in->c; c++)
            shifted_copy(moved + c * hw, img + c * hw, in->h, in->w, dx, dy);
        net->img[i] = moved;
    }
    sparse__images_in(in->out, net->img, n, in->sz);
}

SPARSE_API int sparse_net_train(sparse_net *net, const sparse_dataset *train, const sparse_train_options *opts,
                                sparse_train_result *result)
{
    SPARSE__CHECK_NULL(net);
    SPARSE__CHECK_NULL(train);
    sparse_train_options o;
    int rc = sparse__struct_read(&train_options_versions, &o, opts, "sparse_net_train");
    if (rc)
        return rc;
    if (result && (rc = sparse__struct_check(&train_result_versions, result, "sparse_net_train")))
        return rc;
    sparse_train_result res = SPARSE_TRAIN_RESULT_INIT;
    if (o.batch_size < 1 || o.batch_size > net->max_batch)
        return sparse__error(SPARSE_ERANGE, "sparse_net_train: batch size %zu, the network allows 1..%zu",
                             o.batch_size, net->max_batch);
    if (!(o.lr > 0.0) || !isfinite(o.lr) || o.weight_decay < 0.0 || !(o.label_smoothing >= 0.0f) ||
        !(o.label_smoothing < 1.0f) || o.optimizer < SPARSE_OPTIM_ADAM || o.optimizer > SPARSE_OPTIM_SGD ||
        o.schedule < SPARSE_LR_CONSTANT || o.schedule > SPARSE_LR_ONE_CYCLE)
        return sparse__error(SPARSE_ERANGE,
                             "sparse_net_train: invalid options (lr > 0, weight_decay >= 0, label_smoothing "
                             "in [0,1), known optimizer and schedule)");
    if (o.max_shift >= net->nodes[0].h || o.max_shift >= net->nodes[0].w)
        return sparse__error(SPARSE_ERANGE, "sparse_net_train: max_shift %zu must be below the image size %zux%zu",
                             o.max_shift, net->nodes[0].h, net->nodes[0].w);
    rc = check_dataset(net, train, "sparse_net_train");
    if (rc)
        return rc;
    const size_t count = sparse_dataset_image_count(train);
    const size_t bs = o.batch_size;
    const size_t batches = (count + bs - 1) / bs;
    const size_t total = batches * o.epochs;
    size_t *order = sparse__malloc(count * sizeof *order);
    int32_t *labels = sparse__malloc(bs * sizeof *labels);
    if (!order || !labels) {
        free(order);
        free(labels);
        return SPARSE_ENOMEM;
    }
    net->want_input_grad = 0;
    double t_train = 0.0, t0 = sparse__now(), last_loss = 0.0;
    size_t step = 0, images = 0, epoch, done = 0;
    for (epoch = 0; epoch < o.epochs && !rc; epoch++) {
        sparse_rng *rng = NULL;
        rc = sparse_rng_create_stream(&rng, o.seed, epoch + 1);
        if (rc)
            break;
        for (size_t i = 0; i < count; i++)
            order[i] = i;
        sparse_rng_shuffle(rng, order, count);
        double sum = 0.0;
        for (size_t b = 0; b < batches; b++, step++) {
            const size_t n0 = b * bs, n = count - n0 < bs ? count - n0 : bs;
            double ts = sparse__now();
            load_batch(net, train, order + n0, n, labels, o.max_shift, rng);
            rc = sparse__net_forward_raw(net, n, 1, 1);
            if (rc)
                break;
            double loss = 0.0;
            rc = sparse__loss(net, labels, o.label_smoothing, &loss);
            if (rc) {
                if (rc == SPARSE_ENUMERIC)
                    sparse__error(rc,
                                  "training diverged: loss is %s at epoch %zu, batch %zu (step %zu); the "
                                  "weights are those before this step (try a lower learning rate)",
                                  isnan(loss) ? "NaN" : "infinite", epoch + 1, b + 1, step + 1);
                break;
            }
            rc = sparse__net_backward_raw(net);
            if (!rc && net->extra_loss) {
                double extra = 0.0;
                rc = net->extra_loss(net->extra_user, net, &extra);
                if (!rc && !isfinite(extra))
                    rc = sparse__error(SPARSE_ENUMERIC, "training diverged: the extra loss term is %g at epoch %zu, batch %zu",
                                       extra, epoch + 1, b + 1);
                loss += extra;
            }
            if (rc)
                break;
            sparse__optim_step(net, &o, sparse__lr_at(&o, step, total, epoch));
            t_train += sparse__now() - ts;
            images += n;
            sum += loss;
            if (o.progress && o.progress(o.user, epoch, b, batches, loss, t_train > 0 ? images / t_train : 0.0)) {
                rc = sparse__error(SPARSE_ECANCELLED, "sparse_net_train: stopped by the progress callback at "
                                                      "epoch %zu, batch %zu",
                                   epoch + 1, b + 1);
                break;
            }
        }
        sparse_rng_free(rng);
        if (!rc) {
            last_loss = sum / (double)batches;
            done++;
        }
    }
    net->want_input_grad = 1;
    free(order);
    free(labels);
    if (result) {
        res.epochs_done = done;
        res.steps = step;
        res.final_loss = last_loss;
        res.train_images_per_s = t_train > 0 ? (double)images / t_train : 0.0;
        res.seconds = sparse__now() - t0;
        sparse__struct_write(&train_result_versions, result, &res, "sparse_net_train");
    }
    return rc;
}

SPARSE_API int sparse_net_evaluate(sparse_net *net, const sparse_dataset *ds, double *accuracy)
{
    SPARSE__CHECK_NULL(net);
    SPARSE__CHECK_NULL(ds);
    SPARSE__CHECK_NULL(accuracy);
    *accuracy = 0.0;
    int rc = check_dataset(net, ds, "sparse_net_evaluate");
    if (rc)
        return rc;
    const size_t count = sparse_dataset_image_count(ds), bs = net->max_batch, K = net->classes;
    size_t *idx = sparse__malloc(bs * sizeof *idx);
    int32_t *labels = sparse__malloc(bs * sizeof *labels);
    if (!idx || !labels) {
        free(idx);
        free(labels);
        return SPARSE_ENOMEM;
    }
    size_t correct = 0;
    for (size_t n0 = 0; n0 < count; n0 += bs) {
        const size_t n = count - n0 < bs ? count - n0 : bs;
        for (size_t i = 0; i < n; i++)
            idx[i] = n0 + i;
        load_batch(net, ds, idx, n, labels, 0, NULL);
        rc = sparse__net_forward_raw(net, n, 0, 1);
        if (rc)
            break;
        const float *z = net->nodes[net->n_nodes - 1].out;
        for (size_t i = 0; i < n; i++) {
            size_t best = 0;
            for (size_t k = 1; k < K; k++)
                if (z[k * n + i] > z[best * n + i])
                    best = k;
            correct += (int32_t)best == labels[i];
        }
    }
    free(idx);
    free(labels);
    if (rc)
        return rc;
    *accuracy = (double)correct / (double)count;
    return SPARSE_OK;
}
