/*
 * Export: small networks of every layer kind written as C, built for the
 * host (1,000 images) and for a Cortex-M4 under qemu (200 images), their
 * logits compared with sparse_qnet_predict's, bit for bit; the arena the
 * generated code declares against the planner's figure; the generated
 * files against the promises of sparse/export.h (C99 -pedantic, freestanding,
 * no floating point on a Cortex-M0+ or M4, two models in one program).
 * The Cortex-M parts need gcc-arm-none-eabi, libnewlib-arm-none-eabi and
 * qemu-system-arm (tools/install-deps.sh); without them they skip, saying so.
 */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/internal.h"
#include "export/export_internal.h"
#include "sparse/experimental.h"
#include "sparse/sparse.h"
#include "test_export.h"

/* ---- helpers ---- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static double rndu(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static char tmp_root[256];

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* 1 if every program is found in PATH. */
static int have_tools(const char *const *names)
{
    const char *path = getenv("PATH");
    for (; *names; names++) {
        int found = 0;
        for (const char *p = path; p && *p && !found;) {
            const char *end = strchr(p, ':');
            size_t len = end ? (size_t)(end - p) : strlen(p);
            char full[1024];
            snprintf(full, sizeof full, "%.*s/%s", (int)len, p, *names);
            found = access(full, X_OK) == 0;
            p = end ? end + 1 : NULL;
        }
        if (!found)
            return 0;
    }
    return 1;
}

int export_test_have_arm(void)
{
    static const char *const tools[] = {"arm-none-eabi-gcc", "arm-none-eabi-size", "arm-none-eabi-nm",
                                        "qemu-system-arm", NULL};
    return have_tools(tools);
}

sparse_net *export_test_net(const char *yaml, uint64_t seed)
{
    sparse_arch *a = NULL;
    int rc = sparse_arch_parse_yaml(&a, yaml, strlen(yaml), "test");
    if (rc)
        fail_msg("architecture: %s", sparse_last_error());
    sparse_net *net = NULL;
    if (sparse_net_create(&net, a, 32, seed))
        fail_msg("network: %s", sparse_last_error());
    sparse_arch_free(a);
    return net;
}

/* Batch norms with statistics far from the identity, so folding matters. */
static void randomise_batchnorms(sparse_net *net)
{
    static const char *const names[] = {"gamma", "beta", "running_mean", "running_var"};
    for (size_t id = 0; id < sparse_net_node_count(net); id++) {
        if (sparse_net_node_kind(net, id) != SPARSE_LAYER_BATCHNORM)
            continue;
        for (int k = 0; k < 4; k++) {
            sparse_tensor *t = NULL;
            assert_int_equal(sparse_net_param(&t, net, id, names[k]), SPARSE_OK);
            float *v = sparse_tensor_data(t);
            for (size_t i = 0; i < sparse_tensor_element_count(t); i++)
                v[i] = (float)(k == 3 ? 0.3 + rndu() : k == 0 ? 0.5 + rndu() : rndu() - 0.5);
            sparse_tensor_free(t);
        }
    }
}

/* n images of c x s x s in three classes (a bright row, column or diagonal)
 * with noise. */
sparse_dataset *export_test_data(size_t n, size_t c, size_t s)
{
    float *img = malloc(n * c * s * s * sizeof *img);
    int32_t *labels = malloc(n * sizeof *labels);
    assert_non_null(img);
    assert_non_null(labels);
    for (size_t i = 0; i < n; i++) {
        const int l = (int)(i % 3);
        labels[i] = l;
        for (size_t ch = 0; ch < c; ch++)
            for (size_t y = 0; y < s; y++)
                for (size_t x = 0; x < s; x++) {
                    int on = (l == 0 && y == s / 2) || (l == 1 && x == s / 3) || (l == 2 && x == y);
                    img[((i * c + ch) * s + y) * s + x] =
                        (float)((on ? 0.8 : 0.1) + 0.3 * rndu() - 0.1 * (double)ch);
                }
    }
    sparse_dataset *ds = NULL;
    assert_int_equal(sparse_dataset_from_memory(&ds, n, c, s, s, img, labels, 3), SPARSE_OK);
    free(img);
    free(labels);
    return ds;
}

char *export_test_dir(const char *name)
{
    char *d = malloc(strlen(tmp_root) + strlen(name) + 2);
    assert_non_null(d);
    sprintf(d, "%s/%s", tmp_root, name);
    return d;
}

/* The arena the generated header declares. */
static unsigned long long header_arena(const char *dir, const char *prefix)
{
    char path[1024], key[128], upper[64], line[512];
    size_t i = 0;
    for (; prefix[i]; i++)
        upper[i] = (char)(prefix[i] >= 'a' && prefix[i] <= 'z' ? prefix[i] - 32 : prefix[i]);
    upper[i] = 0;
    snprintf(key, sizeof key, "#define %s_ARENA_SIZE ", upper);
    snprintf(path, sizeof path, "%s/%s.h", dir, prefix);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    unsigned long long n = 0;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, strlen(key)))
            n = strtoull(line + strlen(key), NULL, 10);
    fclose(f);
    return n;
}

typedef struct outcome {
    int formats[4]; /* sparse_flash_format counts over the exported graph's weighted layers */
    int pools_in_place, others_in_place; /* steps writing over their input */
    sparse_export_figures fig;
    uint64_t search_flash; /* the deploy flash of the float network, as the search records it */
} outcome;

/* The search predicts the flash from the float network: the same steps and
 * tables as the int8 graph (node ids are the network's in both), so a node's
 * figure differs only where weights round to 0 in int8, by at most 5 B for
 * each (a CSR value and a 4-byte column index; int8 never adds a non-zero). */
static uint64_t check_search_flash(const sparse_net *net, const sparse_memreport *q8)
{
    sparse_memreport *r = NULL;
    uint64_t total = 0;
    assert_int_equal(sparse_memreport_from_net(&r, net, NULL), SPARSE_OK);
    const size_t n = sparse_memreport_node_count(r);
    assert_int_equal(n, sparse_memreport_node_count(q8));
    for (size_t i = 0; i < n; i++) {
        uint64_t f = 0, f8 = 0, nz = 0, nz8 = 0;
        assert_int_equal(sparse_memreport_node_value(r, i, SPARSE_MEMFIELD_DEPLOY_FLASH, &f), SPARSE_OK);
        assert_int_equal(sparse_memreport_node_value(q8, i, SPARSE_MEMFIELD_DEPLOY_FLASH, &f8), SPARSE_OK);
        assert_int_equal(sparse_memreport_node_value(r, i, SPARSE_MEMFIELD_NONZEROS, &nz), SPARSE_OK);
        assert_int_equal(sparse_memreport_node_value(q8, i, SPARSE_MEMFIELD_NONZEROS, &nz8), SPARSE_OK);
        assert_true(nz >= nz8);
        if (f != f8 && (f > f8 ? f - f8 : f8 - f) > 5 * (nz - nz8))
            fail_msg("node %zu: deploy flash %llu B from the float network, %llu B in int8 (%llu and %llu "
                     "non-zeros)",
                     i, (unsigned long long)f, (unsigned long long)f8, (unsigned long long)nz,
                     (unsigned long long)nz8);
        total += f;
    }
    uint64_t flash = 0;
    assert_int_equal(sparse_memreport_deploy_flash_bytes(r, &flash), SPARSE_OK);
    assert_int_equal(flash, total);
    sparse_memreport_free(r);
    return flash;
}

/* Exports net, checks the arena, verifies 1,000 images on the host and,
 * when qemu_images > 0 and the toolchain is there, on a Cortex-M4. */
static outcome export_and_verify(sparse_net *net, const sparse_dataset *ds, const char *prefix,
                                 size_t qemu_images)
{
    outcome res;
    memset(&res, 0, sizeof res);
    sparse_qnet *q = NULL;
    sparse_quant_options qo = SPARSE_QUANT_OPTIONS_INIT;
    qo.calib_images = 300;
    if (sparse_qnet_create(&q, net, ds, &qo))
        fail_msg("%s: quantisation: %s", prefix, sparse_last_error());
    char *dir = export_test_dir(prefix);
    sparse_export_options eo = SPARSE_EXPORT_OPTIONS_INIT;
    eo.prefix = prefix;
    sparse_export_figures fig = SPARSE_EXPORT_FIGURES_INIT;
    if (sparse_export_qnet(q, dir, &eo, &fig))
        fail_msg("%s: export: %s", prefix, sparse_last_error());
    res.fig = fig;

    /* The arena is the planner's figure for the graph of the kernels' buffers. */
    sparse_memgraph *g = NULL;
    sparse_memreport *r = NULL;
    sparse_memory_options mo = SPARSE_MEMORY_OPTIONS_INIT;
    mo.scratch = SPARSE_SCRATCH_NONE;
    assert_int_equal(sparse_exp_qnet_memgraph(&g, q), SPARSE_OK);
    assert_int_equal(sparse_memreport_create(&r, g, &mo), SPARSE_OK);
    uint64_t arena = 0, flash = 0;
    assert_int_equal(sparse_memreport_deploy_arena_bytes(r, &arena, NULL), SPARSE_OK);
    assert_int_equal(sparse_memreport_deploy_flash_bytes(r, &flash), SPARSE_OK);
    assert_true(arena > 0);
    assert_int_equal(header_arena(dir, prefix), arena);
    assert_int_equal(fig.arena_bytes, arena);
    assert_int_equal(fig.flash_bytes, flash);
    const size_t n = sparse_memreport_node_count(r);
    for (size_t i = 0; i < n; i++) {
        uint64_t f = 0;
        assert_int_equal(sparse_memreport_node_value(r, i, SPARSE_MEMFIELD_DEPLOY_FLASH_FORMAT, &f),
                         SPARSE_OK);
        res.formats[f]++;
        int kind = 0;
        const char *name = NULL;
        uint64_t off = 0, in_off = 0;
        assert_int_equal(sparse_memreport_node_kind(r, i, &kind), SPARSE_OK);
        assert_int_equal(sparse_memreport_node_name(r, i, &name), SPARSE_OK);
        size_t id = 0, src = 0;
        if (kind == SPARSE_MEMNODE_INPUT || kind == SPARSE_MEMNODE_VIEW ||
            sparse_net_find_node(net, name, &id) || sparse_net_node_input(net, id, 0, &src))
            continue;
        assert_int_equal(sparse_memreport_node_value(r, i, SPARSE_MEMFIELD_DEPLOY_OFFSET, &off), SPARSE_OK);
        assert_int_equal(sparse_memreport_node_value(r, src, SPARSE_MEMFIELD_DEPLOY_OFFSET, &in_off),
                         SPARSE_OK);
        if (off == in_off && kind == SPARSE_MEMNODE_POOL)
            res.pools_in_place++;
        else if (off == in_off)
            res.others_in_place++;
    }
    res.search_flash = check_search_flash(net, r);
    sparse_memreport_free(r);
    sparse_memgraph_free(g);

    sparse_exp_toolchain tc = SPARSE_EXP_TOOLCHAIN_INIT;
    tc.target = SPARSE_EXP_TARGET_HOST;
    sparse_exp_verify_result v = SPARSE_EXP_VERIFY_RESULT_INIT;
    if (sparse_exp_export_verify(q, dir, prefix, &tc, ds, 1000, &v))
        fail_msg("%s: host verification: %s", prefix, sparse_last_error());
    assert_int_equal(v.images, 1000);
    assert_int_equal(v.logit_mismatches, 0);
    assert_int_equal(v.label_mismatches, 0);
    assert_true(v.accuracy == v.host_accuracy);
    if (qemu_images && export_test_have_arm()) {
        tc.target = SPARSE_EXP_TARGET_CORTEX_M4;
        sparse_exp_verify_result m = SPARSE_EXP_VERIFY_RESULT_INIT;
        if (sparse_exp_export_verify(q, dir, prefix, &tc, ds, qemu_images, &m))
            fail_msg("%s: Cortex-M4 verification: %s", prefix, sparse_last_error());
        assert_int_equal(m.images, qemu_images);
        assert_int_equal(m.logit_mismatches, 0);
        assert_int_equal(m.label_mismatches, 0);
        /* The arena is the model's .bss; its stack and instructions were measured. */
        assert_int_equal(m.model.bss_bytes, arena);
        assert_int_equal(m.model.data_bytes, 0);
        /* The deploy-flash model is what the object stores: weights and
         * tables, byte for byte. */
        assert_int_equal(m.model.rodata_bytes, flash);
        assert_true(m.stack_bytes > 0 && m.stack_bytes < 1024);
        assert_true(m.instructions > 1000.0 && m.instructions_max >= m.instructions);
        assert_int_equal(m.model_ram_bytes, m.model.bss_bytes + m.stack_bytes);
        print_message("%s: in place: %d pools, %d others; arena %llu B, stack %llu B, %.0f instructions, "
                      ".text %llu B, .rodata %llu B (weights %llu B); deploy flash %llu B, "
                      "from the float network %llu B\n",
                      prefix, res.pools_in_place, res.others_in_place, (unsigned long long)arena,
                      (unsigned long long)m.stack_bytes, m.instructions,
                      (unsigned long long)m.model.text_bytes, (unsigned long long)m.model.rodata_bytes,
                      (unsigned long long)m.model.rodata_weights_bytes, (unsigned long long)flash,
                      (unsigned long long)res.search_flash);
    }
    free(dir);
    sparse_qnet_free(q);
    return res;
}

/* ---- networks of every kind ---- */

/* A chain: batch norm folded, ReLU fused, pools, a strided convolution,
 * input downsampling over space and depth, FC. */
static void test_chain(void **state)
{
    (void)state;
    static const char yaml[] =
        "input: [2, 12, 12]\nclasses: 3\nlayers:\n"
        "  - {type: input_downsample, name: down, size: 1, depth: 2}\n"
        "  - {type: conv2d, name: c1, filters: 6, kernel: 3, bias: false}\n"
        "  - {type: batchnorm, name: bn1}\n"
        "  - {type: relu, name: r1}\n"
        "  - {type: maxpool, name: p1, size: 2}\n"
        "  - {type: conv2d, name: c2, filters: 8, kernel: 3, stride: 2, padding: valid}\n"
        "  - {type: relu, name: r2}\n"
        "  - {type: avgpool, name: p2, size: 2}\n"
        "  - {type: fc, name: f, units: 3}\n";
    sparse_net *net = export_test_net(yaml, 1);
    randomise_batchnorms(net);
    sparse_dataset *ds = export_test_data(1000, 2, 12);
    outcome o = export_and_verify(net, ds, "chain", 200);
    assert_int_equal(o.formats[SPARSE_FLASH_DENSE], 3);
    assert_int_equal(o.pools_in_place, 1); /* where it lowers the arena */
    sparse_dataset_free(ds);
    sparse_net_free(net);
}

/* Residual connections with and without projection, a separable and a
 * downsampled convolution, spatial input downsampling. */
static void test_residual(void **state)
{
    (void)state;
    static const char yaml[] = "input: [1, 12, 12]\nclasses: 3\nlayers:\n"
                               "  - {type: input_downsample, name: down, size: 2, depth: 1}\n"
                               "  - {type: conv2d, name: c1, filters: 4, kernel: 3}\n"
                               "  - {type: relu, name: r1}\n"
                               "  - {type: separable_conv2d, name: s1, filters: 4, kernel: 3}\n"
                               "  - {type: batchnorm, name: bn1}\n"
                               "  - {type: residual, name: res1, input: r1}\n"
                               "  - {type: downsampled_conv2d, name: d1, filters: 6, kernel: 3, rate: 0.5}\n"
                               "  - {type: relu, name: r2}\n"
                               "  - {type: residual, name: res2, input: res1}\n"
                               "  - {type: maxpool, name: p, size: 2}\n"
                               "  - {type: fc, name: f, units: 3}\n";
    sparse_net *net = export_test_net(yaml, 2);
    randomise_batchnorms(net);
    size_t id;
    assert_int_equal(sparse_net_find_node(net, "res2/proj", &id), SPARSE_OK);
    sparse_dataset *ds = export_test_data(1000, 1, 12);
    outcome o = export_and_verify(net, ds, "residual", 200);
    assert_int_equal(o.others_in_place, 2); /* the sums */
    sparse_dataset_free(ds);
    sparse_net_free(net);
}

/* Branches merged by concatenation and by sum, and a ReLU that cannot be
 * fused (its producer is read by the sum too). */
static void test_branches(void **state)
{
    (void)state;
    static const char yaml[] = "input: [1, 10, 10]\nclasses: 3\nlayers:\n"
                               "  - {type: conv2d, name: a, filters: 3, kernel: 3}\n"
                               "  - {type: conv2d, name: b, input: input, filters: 2, kernel: 1}\n"
                               "  - {type: relu, name: br}\n"
                               "  - {type: merge, name: cat, input: [a, br, input], mode: concat}\n"
                               "  - {type: conv2d, name: c, filters: 4, kernel: 3}\n"
                               "  - {type: relu, name: cr}\n"
                               "  - {type: merge, name: sum, input: [c, cr], mode: sum}\n"
                               "  - {type: avgpool, name: p, size: 2}\n"
                               "  - {type: fc, name: f1, units: 5}\n"
                               "  - {type: fc, name: f2, input: p, units: 5}\n"
                               "  - {type: merge, name: fsum, input: [f1, f2], mode: sum}\n"
                               "  - {type: relu, name: fr}\n"
                               "  - {type: fc, name: out, units: 3}\n";
    sparse_net *net = export_test_net(yaml, 3);
    sparse_dataset *ds = export_test_data(1000, 1, 10);
    export_and_verify(net, ds, "branches", 200);
    sparse_dataset_free(ds);
    sparse_net_free(net);
}

static float *param(sparse_net *net, size_t id, const char *name, size_t *n, sparse_tensor **t)
{
    assert_int_equal(sparse_net_param(t, net, id, name), SPARSE_OK);
    *n = sparse_tensor_element_count(*t);
    return sparse_tensor_data(*t);
}

/* SpVD: weights pruned where log alpha reaches the threshold; a layer kept
 * at about half its weights goes bitmask, one at a few percent CSR. */
static void test_spvd(void **state)
{
    (void)state;
    static const char yaml[] = "input: [1, 12, 12]\nclasses: 3\nlayers:\n"
                               "  - {type: conv2d, name: c1, filters: 8, kernel: 3}\n"
                               "  - {type: relu, name: r1}\n"
                               "  - {type: maxpool, name: p1, size: 2}\n"
                               "  - {type: conv2d, name: c2, filters: 16, kernel: 3}\n"
                               "  - {type: relu, name: r2}\n"
                               "  - {type: fc, name: f, units: 3}\n";
    sparse_net *net = export_test_net(yaml, 4);
    sparse_prune_options po = SPARSE_PRUNE_OPTIONS_INIT;
    assert_int_equal(sparse_prune_attach(net, &po), SPARSE_OK);
    const char *names[] = {"c2", "f"};
    const double keep[] = {0.5, 0.04};
    for (int k = 0; k < 2; k++) {
        size_t id, n;
        sparse_tensor *t = NULL;
        assert_int_equal(sparse_net_find_node(net, names[k], &id), SPARSE_OK);
        float *ls = param(net, id, "log_sigma2", &n, &t);
        for (size_t i = 0; i < n; i++)
            ls[i] = rndu() < keep[k] ? -10.0f : 10.0f;
        sparse_tensor_free(t);
    }
    sparse_prune_result *pr = NULL;
    assert_int_equal(sparse_prune_compact(&pr, net, 0), SPARSE_OK);
    sparse_dataset *ds = export_test_data(1000, 1, 12);
    outcome o = export_and_verify(sparse_prune_result_net(pr), ds, "spvd", 200);
    assert_int_equal(o.formats[SPARSE_FLASH_DENSE], 1);
    assert_int_equal(o.formats[SPARSE_FLASH_BITMASK], 1);
    assert_int_equal(o.formats[SPARSE_FLASH_CSR], 1);
    if (export_test_have_arm()) {
        /* The sparse kernels build for Thumb-1 (Cortex-M0+) too, without floating point. */
        char *dir = export_test_dir("spvd");
        sparse_exp_toolchain tc = SPARSE_EXP_TOOLCHAIN_INIT;
        tc.target = SPARSE_EXP_TARGET_CORTEX_M0PLUS;
        sparse_exp_build_result b = SPARSE_EXP_BUILD_RESULT_INIT;
        if (sparse_exp_export_build(dir, "spvd", &tc, &b))
            fail_msg("spvd on a Cortex-M0+: %s", sparse_last_error());
        assert_int_equal(b.bss_bytes, o.fig.arena_bytes);
        free(dir);
    }
    sparse_prune_result_free(pr);
    sparse_dataset_free(ds);
    sparse_net_free(net);
}

/* BC: whole output channels pruned and the network compacted. */
static void test_bc(void **state)
{
    (void)state;
    static const char yaml[] = "input: [1, 12, 12]\nclasses: 3\nlayers:\n"
                               "  - {type: conv2d, name: c1, filters: 8, kernel: 3}\n"
                               "  - {type: batchnorm, name: bn1}\n"
                               "  - {type: relu, name: r1}\n"
                               "  - {type: maxpool, name: p1, size: 2}\n"
                               "  - {type: separable_conv2d, name: c2, filters: 8, kernel: 3}\n"
                               "  - {type: relu, name: r2}\n"
                               "  - {type: fc, name: f, units: 3}\n";
    sparse_net *net = export_test_net(yaml, 5);
    randomise_batchnorms(net);
    sparse_prune_options po = SPARSE_PRUNE_OPTIONS_INIT;
    po.method = SPARSE_PRUNE_BC;
    assert_int_equal(sparse_prune_attach(net, &po), SPARSE_OK);
    size_t id, n;
    sparse_tensor *t = NULL;
    assert_int_equal(sparse_net_find_node(net, "c2", &id), SPARSE_OK);
    float *zl = param(net, id, "z_logvar", &n, &t);
    for (size_t i = 0; i < n; i += 2)
        zl[i] = 5.0f; /* log alpha far above the threshold: channel pruned */
    sparse_tensor_free(t);
    sparse_prune_result *pr = NULL;
    assert_int_equal(sparse_prune_compact(&pr, net, 0), SPARSE_OK);
    sparse_net *small = sparse_prune_result_net(pr);
    size_t c, h, w;
    assert_int_equal(sparse_net_find_node(small, "c2", &id), SPARSE_OK);
    assert_int_equal(sparse_net_node_shape(small, id, &c, &h, &w), SPARSE_OK);
    assert_int_equal(c, 4);
    sparse_dataset *ds = export_test_data(1000, 1, 12);
    export_and_verify(small, ds, "bc", 200);
    sparse_prune_result_free(pr);
    sparse_dataset_free(ds);
    sparse_net_free(net);
}

/* A layer whose every weight was pruned (CSR, no value) and one with a
 * single non-zero: the export keeps one placeholder value for the first, and
 * the flash model counts it. Built for the Cortex-M4 only. */
static void test_all_pruned(void **state)
{
    (void)state;
    if (!export_test_have_arm())
        skip();
    static const char yaml[] = "input: [1, 8, 8]\nclasses: 3\nlayers:\n"
                               "  - {type: conv2d, name: c1, filters: 4, kernel: 3}\n"
                               "  - {type: relu, name: r1}\n"
                               "  - {type: conv2d, name: c2, filters: 4, kernel: 3}\n"
                               "  - {type: conv2d, name: c3, filters: 4, kernel: 3}\n"
                               "  - {type: fc, name: f, units: 3}\n";
    sparse_net *net = export_test_net(yaml, 6);
    const char *names[] = {"c2", "c3"};
    for (int k = 0; k < 2; k++) {
        size_t id, n;
        sparse_tensor *t = NULL;
        assert_int_equal(sparse_net_find_node(net, names[k], &id), SPARSE_OK);
        float *w = param(net, id, "weight", &n, &t);
        for (size_t i = k; i < n; i++)
            w[i] = 0.0f; /* c2: none left; c3: its first weight */
        sparse_tensor_free(t);
    }
    sparse_dataset *ds = export_test_data(60, 1, 8);
    char *dir = export_test_dir("pruned");
    sparse_export_options eo = SPARSE_EXPORT_OPTIONS_INIT;
    eo.prefix = "pruned";
    sparse_export_figures fig = SPARSE_EXPORT_FIGURES_INIT;
    assert_int_equal(sparse_export_net(net, ds, NULL, dir, &eo, &fig), SPARSE_OK);
    /* c2: CSR of 4 x 36 with no value: 5 two-byte row pointers, the
     * placeholder, biases, multipliers, shifts, descriptor, op, input;
     * c3: CSR with one value and its 1-byte column index. */
    sparse_memreport *r = NULL;
    assert_int_equal(sparse_memreport_from_net(&r, net, NULL), SPARSE_OK);
    const uint64_t want[] = {10 + 1 + 16 + 20 + 80, 10 + 2 + 16 + 20 + 80};
    for (int k = 0; k < 2; k++) {
        size_t id;
        uint64_t flash = 0, format = 0;
        assert_int_equal(sparse_net_find_node(net, names[k], &id), SPARSE_OK);
        assert_int_equal(sparse_memreport_node_value(r, id, SPARSE_MEMFIELD_DEPLOY_FLASH_FORMAT, &format),
                         SPARSE_OK);
        assert_int_equal(sparse_memreport_node_value(r, id, SPARSE_MEMFIELD_DEPLOY_FLASH, &flash), SPARSE_OK);
        assert_int_equal(format, SPARSE_FLASH_CSR);
        assert_int_equal(flash, want[k]);
    }
    sparse_memreport_free(r);
    sparse_exp_toolchain tc = SPARSE_EXP_TOOLCHAIN_INIT;
    tc.target = SPARSE_EXP_TARGET_CORTEX_M4;
    sparse_exp_build_result b = SPARSE_EXP_BUILD_RESULT_INIT;
    if (sparse_exp_export_build(dir, "pruned", &tc, &b))
        fail_msg("pruned: %s", sparse_last_error());
    assert_int_equal(b.rodata_bytes, fig.flash_bytes);
    free(dir);
    sparse_dataset_free(ds);
    sparse_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain), cmocka_unit_test(test_residual), cmocka_unit_test(test_branches),
        cmocka_unit_test(test_spvd),  cmocka_unit_test(test_bc),       cmocka_unit_test(test_all_pruned),
    };
    if (!export_test_have_arm())
        print_message("export: gcc-arm-none-eabi or qemu-system-arm missing: Cortex-M checks skipped\n");
    const char *t = getenv("TMPDIR");
    snprintf(tmp_root, sizeof tmp_root, "%s/sparse-export-test.XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmp_root))
        return 1;
    int fails = cmocka_run_group_tests_name("export", tests, NULL, NULL);
    fails += export_test_api_run();
    nftw(tmp_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return fails;
}
