/* Training benchmark: libsparse against PyTorch on the same architecture,
 * batch and thread count, in the same run, on MNIST-shaped random data.
 * Prints key=value lines:
 *   arch=... threads=T sparse_images_per_s=... torch_images_per_s=... ratio=...
 *   conv_gemm_gflops=... (achieved inside training) sgemm_peak_gflops=...
 * Usage: bench_train ARCH.yaml... [--threads 1,2] [--steps N] [--torch SCRIPT] */
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

int main(int argc, char **argv)
{
    const char *archs[16];
    int n_arch = 0, steps = 200, batch = 64, reps = 3;
    const char *script = NULL;
    int threads[8] = {1, 2}, n_threads = 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--steps") && i + 1 < argc)
            steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--torch") && i + 1 < argc)
            script = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            n_threads = 0;
            for (char *t = strtok(argv[++i], ","); t && n_threads < 8; t = strtok(NULL, ","))
                threads[n_threads++] = atoi(t);
        } else if (n_arch < 16)
            archs[n_arch++] = argv[i];
    }
    const size_t n_img = (size_t)batch * 32;
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
    for (int ti = 0; ti < n_threads; ti++) {
        int t = threads[ti];
        double peak = sgemm_peak(t);
        printf("threads=%d sgemm_peak_gflops=%.1f\n", t, peak);
        for (int ai = 0; ai < n_arch; ai++) {
            sparse_arch *arch;
            sparse_net *net;
            if (sparse_arch_load_yaml(&arch, archs[ai]) || sparse_net_create(&net, arch, (size_t)batch, 0)) {
                fprintf(stderr, "bench: %s\n", sparse_last_error());
                return 1;
            }
            sparse_set_thread_count(t);
            sparse_train_options o = SPARSE_TRAIN_OPTIONS_INIT;
            o.batch_size = (size_t)batch;
            o.epochs = 1;
            sparse_net_train(net, ds, &o, NULL); /* warm-up */
            o.epochs = (size_t)(steps + 31) / 32;
            /* The machine may be shared: the two engines take turns and
             * the best of `reps` runs of each counts. */
            double best = 0, torch = -1;
            sparse_exp_profile pr = {SPARSE_EXP_PROFILE_VERSION, 0, 0, 0, 0, 0, 0, 0};
            for (int r = 0; r < reps; r++) {
                sparse_exp_net_profile(net, 1);
                sparse_train_result res = SPARSE_TRAIN_RESULT_INIT;
                if (sparse_net_train(net, ds, &o, &res)) {
                    fprintf(stderr, "bench: %s\n", sparse_last_error());
                    return 1;
                }
                if (res.train_images_per_s > best) {
                    best = res.train_images_per_s;
                    sparse_exp_net_profile_get(net, &pr);
                }
                double tv = script ? run_torch(script, arch, batch, t, steps) : -1;
                if (tv > torch)
                    torch = tv;
            }
            struct { double train_images_per_s; } res = {best};
            const char *name = sparse_arch_name(arch);
            printf("arch=%s threads=%d batch=%d sparse_images_per_s=%.1f torch_images_per_s=%.1f ratio=%.2f "
                   "conv_gemm_gflops=%.1f sgemm_peak_gflops=%.1f conv_gemm_share=%.2f fc_gemm_gflops=%.1f "
                   "forward_share=%.2f\n",
                   name, t, batch, res.train_images_per_s, torch, torch > 0 ? res.train_images_per_s / torch : 0.0,
                   pr.conv_gemm_seconds > 0 ? pr.conv_gemm_flops / pr.conv_gemm_seconds / 1e9 : 0.0, peak,
                   pr.conv_gemm_seconds / (pr.forward_seconds + pr.backward_seconds),
                   pr.fc_gemm_seconds > 0 ? pr.fc_gemm_flops / pr.fc_gemm_seconds / 1e9 : 0.0,
                   pr.forward_seconds / (pr.forward_seconds + pr.backward_seconds));
            fflush(stdout);
            sparse_net_free(net);
            sparse_arch_free(arch);
        }
    }
    sparse_dataset_free(ds);
    free(img);
    free(lab);
    return 0;
}
