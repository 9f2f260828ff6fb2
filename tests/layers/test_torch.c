/* Forward and backward of a fixed small network (conv, batch norm, ReLU,
 * max pool, separable and downsampled convolutions, residual, average pool,
 * FC branch, concatenation, label-smoothed cross-entropy) agree with
 * PyTorch to 1e-4 relative. Skipped (exit 77) when Debian's python3 has no
 * torch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sparse/sparse.h>

#ifndef TORCH_SCRIPT
#define TORCH_SCRIPT "tests/layers/torch_agree.py"
#endif
#define PYTHON "/usr/bin/python3"

static const char *arch_yaml =
    "input: [2, 10, 10]\nclasses: 5\nlayers:\n"
    "  - {type: conv2d, name: conv1, filters: 4, kernel: 3, padding: same, bias: false}\n"
    "  - {type: batchnorm, name: bn1}\n"
    "  - {type: relu, name: relu1}\n"
    "  - {type: maxpool, name: pool1, size: 2}\n"
    "  - {type: separable_conv2d, name: sep, filters: 6, kernel: 3, padding: same}\n"
    "  - {type: relu, name: relu2}\n"
    "  - {type: downsampled_conv2d, name: ds, filters: 6, kernel: 2, padding: same, rate: 0.5}\n"
    "  - {type: residual, name: res, input: relu2}\n"
    "  - {type: avgpool, name: avg, size: 2}\n"
    "  - {type: fc, name: fc1, units: 8}\n"
    "  - {type: relu, name: fc1relu}\n"
    "  - {type: fc, name: left, input: pool1, units: 8}\n"
    "  - {type: merge, name: cat, input: [fc1relu, left], mode: concat}\n"
    "  - {type: fc, name: out, units: 5}\n";

static int fail(const char *what)
{
    fprintf(stderr, "test_torch: %s: %s\n", what, sparse_last_error());
    return 1;
}

static void put(FILE *bin, FILE *txt, const char *name, const float *d, size_t n, int nd, const size_t *shape)
{
    fwrite(d, sizeof(float), n, bin);
    fprintf(txt, "%s %zu", name, n);
    for (int i = 0; i < nd; i++)
        fprintf(txt, " %zu", shape[i]);
    fputc('\n', txt);
}

int main(void)
{
    if (access(PYTHON, X_OK) != 0 || system(PYTHON " -c 'import torch, numpy' >/dev/null 2>&1") != 0) {
        printf("SKIP: PyTorch is not installed for " PYTHON " (Debian package python3-torch)\n");
        return 77;
    }
    sparse_arch *arch = NULL;
    sparse_net *net = NULL;
    if (sparse_arch_parse_yaml(&arch, arch_yaml, strlen(arch_yaml), "torch-agree") ||
        sparse_net_create(&net, arch, 4, 123))
        return fail("network");
    /* Non-trivial biases and batch-norm parameters. */
    sparse_rng *rng;
    sparse_rng_create(&rng, 9);
    for (size_t id = 0; id < sparse_net_node_count(net); id++)
        for (size_t k = 0; k < sparse_net_param_count(net, id); k++) {
            const char *nm = sparse_net_param_name(net, id, k);
            if (!strcmp(nm, "weight"))
                continue;
            sparse_tensor *t;
            sparse_net_param(&t, net, id, nm);
            float *d = sparse_tensor_data(t);
            for (size_t j = 0; j < sparse_tensor_element_count(t); j++)
                d[j] = !strcmp(nm, "gamma") || !strcmp(nm, "running_var") ? (float)(0.5 + sparse_rng_uniform(rng))
                                                                          : (float)(0.2 * sparse_rng_normal(rng));
            sparse_tensor_free(t);
        }
    char dir[] = "/tmp/sparse-torch-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char path[512], bpath[512], tpath[512];
    snprintf(path, sizeof path, "%s/w.safetensors", dir);
    if (sparse_net_save(net, path))
        return fail("save");
    sparse_tensor *x, *logits;
    size_t xs[4] = {4, 2, 10, 10}, ls[2] = {4, 5};
    sparse_tensor_create(&x, 4, xs);
    sparse_tensor_create(&logits, 2, ls);
    float *xd = sparse_tensor_data(x);
    for (size_t j = 0; j < sparse_tensor_element_count(x); j++)
        xd[j] = (float)sparse_rng_normal(rng);
    int32_t labels[4] = {0, 3, 1, 4};
    sparse_rng_free(rng);
    double loss;
    if (sparse_net_forward(net, x, 1, logits) || sparse_net_backward(net, labels, 0.1f, &loss))
        return fail("forward/backward");
    snprintf(bpath, sizeof bpath, "%s/ref.bin", dir);
    snprintf(tpath, sizeof tpath, "%s/ref.txt", dir);
    FILE *bin = fopen(bpath, "wb"), *txt = fopen(tpath, "w");
    if (!bin || !txt)
        return 1;
    put(bin, txt, "x", xd, 800, 4, xs);
    float lf[4] = {0, 3, 1, 4}, lossf = (float)loss;
    size_t four = 4, one = 1;
    put(bin, txt, "labels", lf, 4, 1, &four);
    put(bin, txt, "logits", sparse_tensor_data(logits), 20, 2, ls);
    put(bin, txt, "loss", &lossf, 1, 1, &one);
    sparse_tensor *gx;
    sparse_net_input_grad(&gx, net);
    put(bin, txt, "grad:x", sparse_tensor_data(gx), 800, 4, xs);
    sparse_tensor_free(gx);
    for (size_t id = 0; id < sparse_net_node_count(net); id++)
        for (size_t k = 0; k < sparse_net_param_count(net, id); k++) {
            if (!sparse_net_param_trainable(net, id, k))
                continue;
            const char *nm = sparse_net_param_name(net, id, k);
            sparse_tensor *g;
            sparse_net_param_grad(&g, net, id, nm);
            char name[256];
            snprintf(name, sizeof name, "grad:%s.%s", sparse_net_node_name(net, id), nm);
            size_t shape[4];
            int nd = sparse_tensor_shape(g, shape);
            put(bin, txt, name, sparse_tensor_data(g), sparse_tensor_element_count(g), nd, shape);
            sparse_tensor_free(g);
        }
    fclose(bin);
    fclose(txt);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, PYTHON " '%s' '%s'", TORCH_SCRIPT, dir);
    int st = system(cmd);
    int rc = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
    unlink(path);
    unlink(bpath);
    unlink(tpath);
    rmdir(dir);
    sparse_tensor_free(x);
    sparse_tensor_free(logits);
    sparse_net_free(net);
    sparse_arch_free(arch);
    return rc;
}
