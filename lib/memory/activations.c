/*
 * Activation sparsity, reported beside the paper's figures (never an
 * objective): for every layer of a report, the non-zeros of its input x_l
 * (the paper's ||x_l||_0 read literally, where the module otherwise counts
 * activations dense) over a set of images, their mean and their maximum.
 */
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "memory_internal.h"

/* Non-zeros of each node's output, image by image, for one batch. */
static int count_batch(sparse_net *net, const sparse_tensor *x, size_t n, const unsigned char *needed,
                       uint64_t *nz_by_node)
{
    int rc = sparse_net_forward(net, x, 0, NULL);
    for (size_t id = 0; id < sparse_net_node_count(net) && !rc; id++) {
        if (!needed[id])
            continue;
        sparse_tensor *out = NULL;
        if ((rc = sparse_net_node_output(&out, net, id)))
            break;
        const float *v = sparse_tensor_data_const(out);
        const size_t per = sparse_tensor_element_count(out) / n;
        for (size_t i = 0; i < n; i++) {
            uint64_t nz = 0;
            for (size_t k = 0; k < per; k++)
                nz += v[i * per + k] != 0.0f;
            nz_by_node[id * n + i] = nz;
        }
        sparse_tensor_free(out);
    }
    return rc;
}

/* Which nodes' outputs some layer reads. */
static int mark_needed(const sparse_memreport *r, const sparse_net *net, unsigned char *needed)
{
    for (size_t id = 0; id < r->n; id++) {
        if (!r->rows[id].is_layer)
            continue;
        for (size_t k = 0; k < sparse_net_node_input_count(net, id); k++) {
            size_t in = 0;
            int rc = sparse_net_node_input(net, id, k, &in);
            if (rc)
                return rc;
            needed[in] = 1;
        }
    }
    return SPARSE_OK;
}

static int check_args(const sparse_memreport *r, const sparse_net *net, const sparse_dataset *images)
{
    if (sparse_net_node_count(net) != r->n)
        return sparse__error(SPARSE_EINVAL,
                             "sparse_memreport_activation_nonzeros: the report has %zu nodes, the network %zu: "
                             "make the report from this network",
                             r->n, sparse_net_node_count(net));
    size_t c = 0, h = 0, w = 0;
    int rc = sparse_net_node_shape(net, 0, &c, &h, &w);
    if (rc)
        return rc;
    if (sparse_dataset_channels(images) != c || sparse_dataset_height(images) != h ||
        sparse_dataset_width(images) != w)
        return sparse__error(SPARSE_ESHAPE,
                             "sparse_memreport_activation_nonzeros: images are %zux%zux%zu, the network takes "
                             "%zux%zux%zu",
                             sparse_dataset_channels(images), sparse_dataset_height(images),
                             sparse_dataset_width(images), c, h, w);
    if (sparse_dataset_image_count(images) == 0)
        return sparse__error(SPARSE_EEMPTY, "sparse_memreport_activation_nonzeros: no images");
    return SPARSE_OK;
}

SPARSE_API int sparse_memreport_activation_nonzeros(const sparse_memreport *r, sparse_net *net,
                                                    const sparse_dataset *images, size_t max_images,
                                                    double *mean, uint64_t *max)
{
    SPARSE__CHECK_NULL(r);
    SPARSE__CHECK_NULL(net);
    SPARSE__CHECK_NULL(images);
    SPARSE__CHECK_NULL(mean);
    SPARSE__CHECK_NULL(max);
    int rc = check_args(r, net, images);
    if (rc)
        return rc;
    size_t total = sparse_dataset_image_count(images);
    if (max_images && max_images < total)
        total = max_images;
    const size_t nodes = r->n, batch = sparse_net_max_batch(net) ? sparse_net_max_batch(net) : 1;
    size_t c = 0, h = 0, w = 0;
    sparse_net_node_shape(net, 0, &c, &h, &w);
    unsigned char *needed = sparse__calloc(nodes, 1);
    uint64_t *nz = sparse__calloc(nodes * batch, sizeof *nz);
    double *sum = sparse__calloc(nodes, sizeof *sum);
    sparse_tensor *x = NULL;
    rc = !needed || !nz || !sum ? SPARSE_ENOMEM : mark_needed(r, net, needed);
    for (size_t id = 0; id < nodes; id++)
        max[id] = 0;
    for (size_t first = 0; first < total && !rc; first += batch) {
        const size_t n = total - first < batch ? total - first : batch;
        sparse_tensor_free(x);
        x = NULL;
        if ((rc = sparse_tensor_create_nchw(&x, n, c, h, w)))
            break;
        for (size_t i = 0; i < n; i++)
            memcpy(sparse_tensor_data(x) + i * c * h * w, sparse_dataset_image(images, first + i),
                   c * h * w * sizeof(float));
        if ((rc = count_batch(net, x, n, needed, nz)))
            break;
        /* A layer's x_l is all its inputs together (a merge: their concatenation). */
        for (size_t id = 0; id < nodes; id++) {
            if (!r->rows[id].is_layer)
                continue;
            for (size_t i = 0; i < n; i++) {
                uint64_t v = 0;
                for (size_t k = 0; k < sparse_net_node_input_count(net, id); k++) {
                    size_t in = 0;
                    sparse_net_node_input(net, id, k, &in);
                    v += nz[in * n + i];
                }
                sum[id] += (double)v;
                if (v > max[id])
                    max[id] = v;
            }
        }
    }
    for (size_t id = 0; id < nodes && !rc; id++)
        mean[id] = sum[id] / (double)total;
    sparse_tensor_free(x);
    free(needed);
    free(nz);
    free(sum);
    return rc;
}
