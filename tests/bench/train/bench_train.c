/* Training benchmark: libsparse against PyTorch on the same architecture,
 * batch and thread count, in the same run, on MNIST-shaped random data.
 * Prints key=value lines:
 *   threads=T sgemm_peak_gflops=... blis_arch=...        (bli_sgemm, 1024^3; BLIS's kernel set)
 *   arch=... threads=T sparse_images_per_s=... torch_images_per_s=... ratio=...
 *     effective_gflops=... (an image's useful training flops in conv/FC nodes, see
 *     train_flops, times images/s)
 *     [spvd_images_per_s=... spvd_epoch_ratio=...          (with --spvd: the local
 *      spvd_weight_images_per_s=... spvd_weight_epoch_ratio=...]  reparameterisation, then
 *                                                          the weight-noise kind)
 *   layer arch=... node=... kind=... forward_us=... backward_us=...  (with --layers;
 *   spvd_layer the same for the SpVD network)
 *   eval arch=... images_per_s=...                         (sparse_net_evaluate)
 * The engines take turns and the best of --reps runs of each counts (the
 * machine may be shared).
 * Usage: bench_train ARCH.yaml... [--threads 1,2] [--steps N] [--reps R]
 *        [--torch SCRIPT] [--spvd] [--layers] */
#include <blis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sparse/experimental.h>
#include <sparse/sparse.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Best of a few runs of a square GEMM large enough to reach peak. */
static double sgemm_peak(int threads)
{
    const dim_t n = 1024;
    float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n), *c = malloc(sizeof(float) * n * n);
    for (dim_t i = 0; i < n * n; i++) {
        a[i] = (float)(i % 7) * 0.1f;
        b[i] = (float)(i % 5) * 0.1f;
    }
    float one = 1.0f, zero = 0.0f;
    bli_thread_set_num_threads(threads);
    double best = 0;
    for (int r = 0; r < 5; r++) {
        double t0 = now();
        bli_sgemm(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, n, n, n, &one, a, n, 1, b, n, 1, &zero, c, n, 1);
        double g = 2.0 * n * n * n / (now() - t0) / 1e9;
        if (g > best)
            best = g;
    }
    free(a);
    free(b);
    free(c);
    return best;
}

static double run_torch(const char *script, const sparse_arch *arch, int batch, int threads, int steps)
{
    char *json = NULL;
    if (sparse_arch_to_json(&json, arch))
        return -1;
    size_t len = strlen(json) + strlen(script) + 128;
    char *cmd = malloc(len);
    snprintf(cmd, len, "/usr/bin/python3 '%s' '%s' %d %d %d", script, json, batch, threads, steps);
    free(json);
    FILE *p = popen(cmd, "r");
    free(cmd);
    if (!p)
        return -1;
    char line[512];
    double v = -1;
    while (fgets(line, sizeof line, p))
        if (!strncmp(line, "torch_images_per_s=", 19))
            v = atof(line + 19);
        else
            fputs(line, stderr);
    pclose(p);
    return v;
}

/* Taps of a k-tap window at stride s, padding pad, over an input of size
 * `in`, summed over the `out` output positions: the ones inside the input
 * (the direct kernels skip the rest). */
static double taps_inside(size_t out, size_t k, size_t s, size_t pad, size_t in)
{
    double t = 0;
    for (size_t o = 0; o < out; o++)
        for (size_t j = 0; j < k; j++) {
            const size_t at = o * s + j; /* in padded coordinates */
            t += at >= pad && at - pad < in;
        }
    return t;
}

/* The useful flops (2 per multiply-add) of one image's training step
 * through the conv and FC nodes: taps inside the input only, the forward
 * product and the weight gradient of every node, the input gradient of
 * the nodes that have a trainable node upstream (backward skips the
 * others'; the benchmark's networks are chains). */
static double train_flops(const sparse_net *net)
{
    double f = 0;
    int upstream = 0;
    for (size_t i = 0; i < sparse_net_node_count(net); i++) {
        sparse_node_info in = SPARSE_NODE_INFO_INIT;
        sparse_net_node_info(net, i, &in);
        double macs = 0;
        if (in.kind == SPARSE_LAYER_CONV2D || in.kind == SPARSE_LAYER_DEPTHWISE_CONV2D)
            macs = (double)in.out_c * (double)(in.in_c / in.groups) *
                   taps_inside(in.out_h, in.kernel, in.stride, in.pad_top, in.in_h) *
                   taps_inside(in.out_w, in.kernel, in.stride, in.pad_left, in.in_w);
        else if (in.kind == SPARSE_LAYER_FC)
            macs = (double)(in.out_c * in.in_c * in.in_h * in.in_w);
        f += 2.0 * macs * (upstream ? 3.0 : 2.0);
        upstream |= sparse_net_param_count(net, i) > 0;
    }
    return f;
}

/* The KL term of a SpVD training step at full weight (beta = 1). */
static int kl_hook(void *user, sparse_net *net, double *extra)
{
    const double n_train = *(const double *)user;
    double kl = 0;
    int rc = sparse_prune_kl(net, 1.0 / n_train, &kl);
    *extra = kl / n_train;
    return rc;
}

static int train_once(sparse_net *net, const sparse_dataset *ds, const sparse_train_options *o, double *ips)
{
    sparse_train_result res = SPARSE_TRAIN_RESULT_INIT;
    int rc = sparse_net_train(net, ds, o, &res);
    if (rc)
        fprintf(stderr, "bench: %s\n", sparse_last_error());
    *ips = res.train_images_per_s;
    return rc;
}

typedef struct bench_opts {
    int steps, batch, reps, spvd, layers;
    const char *script;
} bench_opts;

static void print_layers(const char *what, const char *name, sparse_net *net, const double *node_s, double steps,
                         double step_us)
{
    double sum = 0;
    for (size_t i = 1; i < sparse_net_node_count(net); i++) {
        double f = node_s[2 * i] / steps * 1e6, b = node_s[2 * i + 1] / steps * 1e6;
        sum += f + b;
        printf("%s arch=%s node=%s kind=%s forward_us=%.1f backward_us=%.1f\n", what, name,
               sparse_net_node_name(net, i), sparse_layer_kind_name(sparse_net_node_kind(net, i)), f, b);
    }
    printf("%s arch=%s node=(loss,optimiser,batch) kind=other forward_us=%.1f backward_us=0.0 step_us=%.1f\n", what,
           name, step_us - sum, step_us);
}

/* Per-node seconds of the last profiled run of net. */
static void node_times(sparse_net *net, double *node_s)
{
    for (size_t i = 0; i < sparse_net_node_count(net); i++)
        sparse_exp_net_profile_node(net, i, &node_s[2 * i], &node_s[2 * i + 1]);
}

/* A SpVD copy of arch drawing its noise as `noise` says, its KL term
 * scaled per image (*n_train images). */
static sparse_net *spvd_net(const sparse_arch *arch, int batch, int noise, double *n_train)
{
    sparse_net *var = NULL;
    sparse_prune_options po = SPARSE_PRUNE_OPTIONS_INIT;
    po.noise = noise;
    if (sparse_net_create(&var, arch, (size_t)batch, 0) || sparse_prune_attach(var, &po)) {
        fprintf(stderr, "bench: %s\n", sparse_last_error());
        sparse_net_free(var);
        return NULL;
    }
    sparse_exp_net_set_extra_loss(var, kl_hook, n_train);
    return var;
}

static int bench_arch(const char *path, const sparse_dataset *ds, int threads, double peak, const bench_opts *b)
{
    sparse_arch *arch;
    sparse_net *net, *var = NULL, *wvar = NULL;
    if (sparse_arch_load_yaml(&arch, path) || sparse_net_create(&net, arch, (size_t)b->batch, 0)) {
        fprintf(stderr, "bench: %s\n", sparse_last_error());
        return 1;
    }
    double n_train = (double)sparse_dataset_image_count(ds);
    if (b->spvd && (!(var = spvd_net(arch, b->batch, SPARSE_PRUNE_NOISE_ACTIVATION, &n_train)) ||
                    !(wvar = spvd_net(arch, b->batch, SPARSE_PRUNE_NOISE_WEIGHT, &n_train))))
        return 1;
    const size_t nodes = sparse_net_node_count(net);
    double *node_s = calloc(2 * nodes, sizeof *node_s), *var_s = calloc(2 * nodes, sizeof *var_s);
    sparse_set_thread_count(threads);
    sparse_train_options o = SPARSE_TRAIN_OPTIONS_INIT;
    o.batch_size = (size_t)b->batch;
    o.epochs = 1;
    double best = 0, torch = -1, vbest = 0, wbest = 0, ips = 0, ebest = 0;
    int rc = train_once(net, ds, &o, &ips); /* warm-up */
    if (!rc && var)
        rc = train_once(var, ds, &o, &ips);
    if (!rc && wvar)
        rc = train_once(wvar, ds, &o, &ips);
    const size_t per_epoch = (sparse_dataset_image_count(ds) + (size_t)b->batch - 1) / (size_t)b->batch;
    o.epochs = ((size_t)b->steps + per_epoch - 1) / per_epoch;
    sparse_exp_profile pr = {SPARSE_EXP_PROFILE_VERSION, 0, 0, 0, 0, 0, 0, 0}, vpr = pr;
    for (int r = 0; r < b->reps && !rc; r++) {
        sparse_exp_net_profile(net, 1);
        rc = train_once(net, ds, &o, &ips);
        if (!rc && ips > best) {
            best = ips;
            sparse_exp_net_profile_get(net, &pr);
            node_times(net, node_s);
        }
        sparse_exp_net_profile(net, 0);
        if (var)
            sparse_exp_net_profile(var, 1);
        if (!rc && var && !(rc = train_once(var, ds, &o, &ips)) && ips > vbest) {
            vbest = ips;
            sparse_exp_net_profile_get(var, &vpr);
            node_times(var, var_s);
        }
        if (!rc && wvar && !(rc = train_once(wvar, ds, &o, &ips)) && ips > wbest)
            wbest = ips;
        double acc, t0 = now();
        if (!rc && !(rc = sparse_net_evaluate(net, ds, &acc))) {
            double e = (double)sparse_dataset_image_count(ds) / (now() - t0);
            ebest = e > ebest ? e : ebest;
        }
        double tv = b->script ? run_torch(b->script, arch, b->batch, threads, b->steps) : -1;
        torch = tv > torch ? tv : torch;
    }
    if (!rc) {
        const char *name = sparse_arch_name(arch);
        printf("arch=%s threads=%d batch=%d sparse_images_per_s=%.1f torch_images_per_s=%.1f ratio=%.2f "
               "effective_gflops=%.1f sgemm_peak_gflops=%.1f conv_gemm_gflops=%.1f fc_gemm_gflops=%.1f "
               "forward_share=%.2f",
               name, threads, b->batch, best, torch, torch > 0 ? best / torch : 0.0,
               train_flops(net) * best / 1e9, peak,
               pr.conv_gemm_seconds > 0 ? pr.conv_gemm_flops / pr.conv_gemm_seconds / 1e9 : 0.0,
               pr.fc_gemm_seconds > 0 ? pr.fc_gemm_flops / pr.fc_gemm_seconds / 1e9 : 0.0,
               pr.forward_seconds / (pr.forward_seconds + pr.backward_seconds));
        if (var)
            printf(" spvd_images_per_s=%.1f spvd_epoch_ratio=%.2f spvd_weight_images_per_s=%.1f "
                   "spvd_weight_epoch_ratio=%.2f",
                   vbest, vbest > 0 ? best / vbest : 0.0, wbest, wbest > 0 ? best / wbest : 0.0);
        printf("\neval arch=%s threads=%d images_per_s=%.1f\n", name, threads, ebest);
        if (b->layers && pr.steps)
            print_layers("layer", name, net, node_s, (double)pr.steps, 1e6 * (double)b->batch / best);
        if (b->layers && vpr.steps)
            print_layers("spvd_layer", name, var, var_s, (double)vpr.steps, 1e6 * (double)b->batch / vbest);
        fflush(stdout);
    }
    free(node_s);
    free(var_s);
    sparse_net_free(var);
    sparse_net_free(wvar);
    sparse_net_free(net);
    sparse_arch_free(arch);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    const char *archs[16];
    int n_arch = 0;
    bench_opts b = {200, 64, 3, 0, 0, NULL};
    int threads[8] = {1, 2}, n_threads = 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--steps") && i + 1 < argc)
            b.steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            b.reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--torch") && i + 1 < argc)
            b.script = argv[++i];
        else if (!strcmp(argv[i], "--spvd"))
            b.spvd = 1;
        else if (!strcmp(argv[i], "--layers"))
            b.layers = 1;
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            n_threads = 0;
            for (char *t = strtok(argv[++i], ","); t && n_threads < 8; t = strtok(NULL, ","))
                threads[n_threads++] = atoi(t);
        } else if (n_arch < 16)
            archs[n_arch++] = argv[i];
    }
    const size_t n_img = (size_t)b.batch * 32;
    float *img = malloc(sizeof(float) * n_img * 784);
    int32_t *lab = malloc(sizeof(int32_t) * n_img);
    sparse_rng *rng;
    sparse_rng_create(&rng, 1);
    for (size_t i = 0; i < n_img * 784; i++)
        img[i] = (float)sparse_rng_normal(rng);
    for (size_t i = 0; i < n_img; i++)
        lab[i] = (int32_t)(i % 10);
    sparse_rng_free(rng);
    sparse_dataset *ds;
    if (sparse_dataset_from_memory(&ds, n_img, 1, 28, 28, img, lab, 10)) {
        fprintf(stderr, "bench: %s\n", sparse_last_error());
        return 1;
    }
    int rc = 0;
    for (int ti = 0; ti < n_threads && !rc; ti++) {
        double peak = sgemm_peak(threads[ti]);
        printf("threads=%d sgemm_peak_gflops=%.1f blis_arch=%s\n", threads[ti], peak,
               bli_arch_string(bli_arch_query_id()));
        for (int ai = 0; ai < n_arch && !rc; ai++)
            rc = bench_arch(archs[ai], ds, threads[ti], peak, &b);
    }
    sparse_dataset_free(ds);
    free(img);
    free(lab);
    return rc;
}
