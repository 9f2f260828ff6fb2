/*
 * Export: what the generated files promise (sparse/export.h) and the errors
 * of the API. Two models in one program with their float-to-int8 helpers;
 * builds for the Cortex-M0+, M4 and M7 without soft-float calls; bad
 * prefixes, unsupported layers and missing tools refused with a message.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "core/internal.h"
#include "export/export_internal.h"
#include "sparse/experimental.h"
#include "sparse/sparse.h"
#include "test_export.h"
#include "../expect.h"

static const char tiny_yaml[] = "input: [1, 8, 8]\nclasses: 3\nlayers:\n"
                                "  - {type: conv2d, name: c, filters: 4, kernel: 3}\n"
                                "  - {type: relu, name: r}\n"
                                "  - {type: maxpool, name: p, size: 2}\n"
                                "  - {type: fc, name: f, units: 3}\n";

static sparse_qnet *tiny_qnet(uint64_t seed, const sparse_dataset *ds)
{
    sparse_net *net = export_test_net(tiny_yaml, seed);
    sparse_qnet *q = NULL;
    assert_int_equal(sparse_qnet_create(&q, net, ds, NULL), SPARSE_OK);
    sparse_net_free(net);
    return q;
}

static void put_bytes(FILE *f, const char *name, const int8_t *v, size_t n)
{
    fprintf(f, "static const int8_t %s[%zu] = {", name, n);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%d,", v[i]);
    fprintf(f, "};\n");
}

/* A host program with two models (alpha, beta) and both helpers: each
 * model's logits on one image, through a copy and through its input buffer,
 * and alpha_quantize_input on awkward values, against the library. */
static void write_two_model_main(const char *path, sparse_qnet *qa, sparse_qnet *qb, const float *img)
{
    int8_t in_a[64], in_b[64], la[3], lb[3];
    assert_int_equal(sparse_qnet_quantize_input(qa, img, in_a), SPARSE_OK);
    assert_int_equal(sparse_qnet_quantize_input(qb, img, in_b), SPARSE_OK);
    assert_int_equal(sparse_qnet_predict(qa, img, la, NULL), SPARSE_OK);
    assert_int_equal(sparse_qnet_predict(qb, img, lb, NULL), SPARSE_OK);
    double scale;
    int32_t zp;
    assert_int_equal(sparse_qnet_node_qparams(qa, 0, &scale, &zp), SPARSE_OK);
    /* The data make the input scale 2^-7 (range [0, 255/128]): every
     * (k + 1/2) / 128 is an exact tie, which must round away from zero. */
    assert_true(scale == 1.0 / 128.0);
    float odd[64];
    for (int i = 0; i < 64; i++)
        odd[i] = (float)((i - 40) + 0.5) / 128.0f;
    odd[0] = nextafterf(0.5f / 128.0f, 0.0f);
    odd[1] = 1e30f;
    odd[2] = -1e30f;
    odd[3] = NAN;
    odd[4] = INFINITY;
    odd[5] = -INFINITY;
    int8_t q_odd[64];
    assert_int_equal(sparse_qnet_quantize_input(qa, odd, q_odd), SPARSE_OK);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "#include <math.h>\n#include <string.h>\n#include \"alpha.h\"\n#include \"beta.h\"\n");
    put_bytes(f, "in_a", in_a, 64);
    put_bytes(f, "in_b", in_b, 64);
    put_bytes(f, "want_a", la, 3);
    put_bytes(f, "want_b", lb, 3);
    put_bytes(f, "want_odd", q_odd, 64);
    fprintf(f, "int main(void)\n{\n    float odd[64];\n    int8_t got[64], la[3], lb[3];\n");
    for (int i = 0; i < 64; i++)
        fprintf(f, "    odd[%d] = %s;\n", i,
                isnan(odd[i])   ? "NAN"
                : isinf(odd[i]) ? (odd[i] > 0 ? "INFINITY" : "-INFINITY")
                                : "0");
    for (int i = 0; i < 64; i++)
        if (isfinite(odd[i]))
            fprintf(f, "    odd[%d] = %af;\n", i, (double)odd[i]);
    fprintf(f, "    alpha_quantize_input(odd, got);\n"
               "    if (memcmp(got, want_odd, 64)) return 1;\n"
               "    if (alpha_run(in_a, la) || memcmp(la, want_a, 3)) return 2;\n"
               "    if (beta_run(in_b, lb) || memcmp(lb, want_b, 3)) return 3;\n"
               "    memcpy(alpha_input_buffer(), in_a, ALPHA_INPUT_SIZE);\n"
               "    memset(la, 0, 3);\n"
               "    if (alpha_run(alpha_input_buffer(), la) || memcmp(la, want_a, 3)) return 4;\n"
               "    if (alpha_run(NULL, la) != -1 || beta_run(in_b, NULL) != -1) return 5;\n"
               "    return ALPHA_INPUT_SIZE == 64 && BETA_NUM_CLASSES == 3 ? 0 : 6;\n}\n");
    fclose(f);
}

/* 60 images of 1x8x8 in [0, 255/128], both ends present: the input scale
 * is (255/128) / 255 = 2^-7 exactly. */
static sparse_dataset *power_of_two_data(void)
{
    float img[60 * 64];
    int32_t labels[60];
    sparse_dataset *base = export_test_data(60, 1, 8);
    for (size_t i = 0; i < 60; i++) {
        labels[i] = sparse_dataset_label(base, i);
        for (size_t j = 0; j < 64; j++) {
            float v = sparse_dataset_image(base, i)[j] * 1.5f;
            img[i * 64 + j] = v < 0.0f ? 0.0f : v > 255.0f / 128.0f ? 255.0f / 128.0f : v;
        }
    }
    img[0] = 0.0f;
    img[1] = 255.0f / 128.0f;
    sparse_dataset_free(base);
    sparse_dataset *ds = NULL;
    assert_int_equal(sparse_dataset_from_memory(&ds, 60, 1, 8, 8, img, labels, 3), SPARSE_OK);
    return ds;
}

static void test_two_models(void **state)
{
    (void)state;
    sparse_dataset *ds = power_of_two_data();
    sparse_qnet *qa = tiny_qnet(11, ds), *qb = tiny_qnet(12, ds);
    char *dir = export_test_dir("two");
    sparse_export_options eo = SPARSE_EXPORT_OPTIONS_INIT;
    eo.prefix = "alpha";
    assert_int_equal(sparse_export_qnet(qa, dir, &eo, NULL), SPARSE_OK);
    eo.prefix = "beta";
    assert_int_equal(sparse_export_qnet(qb, dir, &eo, NULL), SPARSE_OK);
    char *main_c = sparse__path_join(dir, "main.c"), *exe = sparse__path_join(dir, "two");
    char *a_c = sparse__path_join(dir, "alpha.c"), *b_c = sparse__path_join(dir, "beta.c");
    char *a_o = sparse__path_join(dir, "alpha.o"), *b_o = sparse__path_join(dir, "beta.o");
    char inc[1100];
    snprintf(inc, sizeof inc, "-I%s", dir);
    write_two_model_main(main_c, qa, qb, sparse_dataset_image(ds, 0));
    /* The models as the header promises: C99, pedantic, freestanding, no warning. */
    char *cc_a[] = {
        "cc",
        "-std=c99",
        "-pedantic",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-ffreestanding",
        "-O2",
        "-c",
        a_c,
        "-o",
        a_o,
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
        "-mgeneral-regs-only", /* any floating point would not compile */
#endif
        NULL
    };
    assert_int_equal(sparse__run_ok(cc_a, 60, NULL, "alpha", NULL), SPARSE_OK);
    char *cc_b[] = {"cc",  "-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror", "-ffreestanding",
                    "-O2", "-c",       b_c,         "-o",    b_o,       NULL};
    assert_int_equal(sparse__run_ok(cc_b, 60, NULL, "beta", NULL), SPARSE_OK);
    char *link[] = {"cc",   "-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror", inc,
                    main_c, a_o,        b_o,         "-lm",   "-o",      exe,       NULL};
    int rc = sparse__run_ok(link, 60, NULL, "two models", NULL);
    if (rc)
        fail_msg("%s", sparse_last_error());
    char *run[] = {exe, NULL};
    rc = sparse__run_ok(run, 60, NULL, "two models", NULL);
    if (rc)
        fail_msg("%s", sparse_last_error());
    free(main_c);
    free(exe);
    free(a_c);
    free(b_c);
    free(a_o);
    free(b_o);
    free(dir);
    sparse_qnet_free(qa);
    sparse_qnet_free(qb);
    sparse_dataset_free(ds);
}

/* Cortex-M0+ (no divide, no DSP), M4 and M7 builds: sections read, the
 * arena is the .bss, no soft-float helper; a file with float arithmetic is
 * caught by the same check. */
static void test_targets(void **state)
{
    (void)state;
    if (!export_test_have_arm())
        skip();
    sparse_dataset *ds = export_test_data(60, 1, 8);
    sparse_qnet *q = tiny_qnet(13, ds);
    char *dir = export_test_dir("targets");
    sparse_export_figures fig = SPARSE_EXPORT_FIGURES_INIT;
    assert_int_equal(sparse_export_qnet(q, dir, NULL, &fig), SPARSE_OK);
    const int targets[] = {SPARSE_EXP_TARGET_CORTEX_M0PLUS, SPARSE_EXP_TARGET_CORTEX_M4,
                           SPARSE_EXP_TARGET_CORTEX_M7};
    for (int t = 0; t < 3; t++) {
        sparse_exp_toolchain tc = SPARSE_EXP_TOOLCHAIN_INIT;
        tc.target = targets[t];
        sparse_exp_build_result b = SPARSE_EXP_BUILD_RESULT_INIT;
        int rc = sparse_exp_export_build(dir, "model", &tc, &b);
        if (rc)
            fail_msg("target %d: %s", targets[t], sparse_last_error());
        assert_true(b.text_bytes > 200);
        assert_true(b.rodata_weights_bytes > 0 && b.rodata_weights_bytes < b.rodata_bytes);
        /* The same tables on every 32-bit Cortex-M. */
        assert_int_equal(b.rodata_bytes, fig.flash_bytes);
        assert_int_equal(b.bss_bytes, fig.arena_bytes);
        assert_int_equal(b.data_bytes, 0);
    }
    /* Float arithmetic in a file shows as soft-float calls. */
    char *flt = sparse__path_join(dir, "flt.c");
    static const char code[] = "float flt_scale(float a, int b) { return a * (float)b; }\n";
    assert_int_equal(sparse__write_file_atomic(flt, code, strlen(code)), SPARSE_OK);
    sparse_exp_toolchain tc = SPARSE_EXP_TOOLCHAIN_INIT;
    tc.target = SPARSE_EXP_TARGET_CORTEX_M0PLUS;
    sparse_exp_build_result b = SPARSE_EXP_BUILD_RESULT_INIT;
    assert_int_equal(sparse_exp_export_build(dir, "flt", &tc, &b), SPARSE_EUNSUPPORTED);
    assert_non_null(strstr(sparse_last_error(), "__aeabi_fmul"));
    free(flt);
    free(dir);
    sparse_qnet_free(q);
    sparse_dataset_free(ds);
}

static void test_errors(void **state)
{
    (void)state;
    sparse_dataset *ds = export_test_data(30, 1, 8);
    sparse_qnet *q = tiny_qnet(14, ds);
    char *dir = export_test_dir("errors");
    sparse_export_options eo = SPARSE_EXPORT_OPTIONS_INIT;
    const char *bad[] = {"",   "9lives", "a-b",
                         "_x", "x y",    "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghij"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        eo.prefix = bad[i];
        assert_int_equal(sparse_export_qnet(q, dir, &eo, NULL), SPARSE_EINVAL);
        assert_non_null(strstr(sparse_last_error(), "prefix"));
    }
    eo.prefix = "ok";
    eo.version = 99;
    assert_int_equal(sparse_export_qnet(q, dir, &eo, NULL), SPARSE_EVERSION);
    assert_int_equal(sparse_export_options_init(&eo, SPARSE_EXPORT_OPTIONS_VERSION), SPARSE_OK);
    assert_string_equal(eo.prefix, "model");
    sparse_export_figures fig = SPARSE_EXPORT_FIGURES_INIT;
    fig.version = 0;
    assert_int_equal(sparse_export_qnet(q, dir, NULL, &fig), SPARSE_EVERSION);
    assert_int_equal(sparse_export_qnet(NULL, dir, NULL, NULL), SPARSE_EINVAL);
    assert_int_equal(sparse_export_qnet(q, "/nonexistent/parent/dir", NULL, NULL), SPARSE_EIO);

    /* A batch norm after a pool cannot be folded: refused, naming it. */
    static const char bn_yaml[] = "input: [1, 8, 8]\nclasses: 3\nlayers:\n"
                                  "  - {type: conv2d, name: c, filters: 2, kernel: 3}\n"
                                  "  - {type: maxpool, name: p, size: 2}\n"
                                  "  - {type: batchnorm, name: late_bn}\n"
                                  "  - {type: fc, name: f, units: 3}\n";
    sparse_net *net = export_test_net(bn_yaml, 1);
    assert_int_equal(sparse_export_net(net, ds, NULL, dir, NULL, NULL), SPARSE_EUNSUPPORTED);
    assert_non_null(strstr(sparse_last_error(), "late_bn"));
    sparse_net_free(net);

    /* Tools: a missing cross compiler names its package; verification runs
     * on the host and the M4 only; images must fit the network. */
    assert_int_equal(sparse_export_qnet(q, dir, NULL, NULL), SPARSE_OK);
    sparse_exp_toolchain tc = SPARSE_EXP_TOOLCHAIN_INIT;
    tc.cross_prefix = "no-such-cross-";
    sparse_exp_build_result b = SPARSE_EXP_BUILD_RESULT_INIT;
    assert_int_equal(sparse_exp_export_build(dir, "model", &tc, &b), SPARSE_ENOTFOUND);
    assert_non_null(strstr(sparse_last_error(), "gcc-arm-none-eabi"));
    /* A compiler that exits 127 without a word is one that could not run
     * (what a C library whose posix_spawn forks reports); one that fails
     * with a message has it quoted. */
    const size_t dl = strlen(dir);
    char *fake = malloc(dl + 32);
    assert_non_null(fake);
    snprintf(fake, dl + 32, "%s/fake-gcc", dir);
    static const char *const scripts[] = {"#!/bin/sh\nexit 127\n", "#!/bin/sh\necho 'fake: no such flag' >&2\nexit 3\n"};
    for (int i = 0; i < 2; i++) {
        FILE *f = fopen(fake, "w");
        assert_non_null(f);
        fputs(scripts[i], f);
        fclose(f);
        assert_int_equal(chmod(fake, 0755), 0);
        snprintf(fake + dl, 32, "/fake-");
        tc.cross_prefix = fake;
        if (i == 0) {
            EXPECT_ERROR(sparse_exp_export_build(dir, "model", &tc, &b), SPARSE_ENOTFOUND,
                         "fake-gcc: it exited with status 127 and no output", "gcc-arm-none-eabi");
        } else {
            EXPECT_ERROR(sparse_exp_export_build(dir, "model", &tc, &b), SPARSE_EIO, "export: compiling the model",
                         "fake-gcc exited with status 3", "fake: no such flag");
        }
        snprintf(fake + dl, 32, "/fake-gcc");
    }
    free(fake);
    sparse_exp_verify_result v = SPARSE_EXP_VERIFY_RESULT_INIT;
    tc.cross_prefix = NULL;
    tc.target = SPARSE_EXP_TARGET_CORTEX_M0PLUS;
    assert_int_equal(sparse_exp_export_verify(q, dir, "model", &tc, ds, 5, &v), SPARSE_EUNSUPPORTED);
    tc.target = 42;
    assert_int_equal(sparse_exp_export_verify(q, dir, "model", &tc, ds, 5, &v), SPARSE_EINVAL);
    tc.target = SPARSE_EXP_TARGET_HOST;
    sparse_dataset *wrong = export_test_data(5, 1, 10);
    assert_int_equal(sparse_exp_export_verify(q, dir, "model", &tc, wrong, 5, &v), SPARSE_ESHAPE);
    /* A model that was not exported there. */
    assert_int_equal(sparse_exp_export_verify(q, dir, "absent", &tc, ds, 5, &v), SPARSE_EIO);
    assert_non_null(strstr(sparse_last_error(), "absent.c"));
    sparse_dataset_free(wrong);
    free(dir);
    sparse_qnet_free(q);
    sparse_dataset_free(ds);
}

int export_test_api_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_models),
        cmocka_unit_test(test_targets),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests_name("export_api", tests, NULL, NULL);
}
