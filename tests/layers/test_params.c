/* Layers: a network's parameters saved to and loaded from safetensors (and
 * damaged files refused), masked through training, inherited from another
 * network, and batch norm folded into the convolution before it. */
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

#include <sparse/sparse.h>

#include "fixture.h"

extern const struct CMUnitTest params_tests[];
extern const size_t params_test_count;

/* ---- safetensors ---- */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc(*len + 1);
    assert_int_equal(fread(b, 1, *len, f), *len);
    fclose(f);
    return b;
}

static void spit(const char *path, const char *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, len, f), len);
    fclose(f);
}

static void test_safetensors(void **state)
{
    (void)state;
    char *y = read_example("all-layers.yaml");
    sparse_net *a = make_net(y, 4, 1), *b = make_net(y, 4, 2);
    randomise_params(a, 77);
    char dir[] = "/tmp/sparse-st-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256], bad[256];
    snprintf(path, sizeof path, "%s/w.safetensors", dir);
    snprintf(bad, sizeof bad, "%s/bad.safetensors", dir);
    assert_int_equal(sparse_net_save(a, path), SPARSE_OK);
    assert_int_equal(sparse_net_load(b, path, 0), SPARSE_OK);
    for (size_t id = 0; id < sparse_net_node_count(a); id++)
        for (size_t k = 0; k < sparse_net_param_count(a, id); k++) {
            const char *nm = sparse_net_param_name(a, id, k);
            sparse_tensor *ta, *tb;
            sparse_net_param(&ta, a, id, nm);
            sparse_net_param(&tb, b, id, nm);
            assert_memory_equal(sparse_tensor_data_const(ta), sparse_tensor_data_const(tb),
                                sparse_tensor_element_count(ta) * sizeof(float));
            sparse_tensor_free(ta);
            sparse_tensor_free(tb);
        }
    sparse_arch *arch = NULL;
    assert_int_equal(sparse_net_load_arch(&arch, path), SPARSE_OK);
    assert_int_equal(sparse_arch_layer_count(arch), sparse_arch_layer_count(sparse_net_arch(a)));
    sparse_arch_free(arch);

    size_t len;
    char *orig = slurp(path, &len);
    uint64_t hl = 0;
    for (int i = 0; i < 8; i++)
        hl |= (uint64_t)(unsigned char)orig[i] << (8 * i);
    char *buf = malloc(len + 16);
    /* truncated at several points */
    size_t cuts[] = {0, 4, 8, 20, (size_t)hl + 8, len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        spit(bad, orig, cuts[i]);
        int rc = sparse_net_load(b, bad, 0);
        assert_int_equal(rc, SPARSE_EFORMAT);
        assert_non_null(strstr(sparse_last_error(), bad));
    }
    /* absurd header length */
    memcpy(buf, orig, len);
    buf[7] = 0x7f;
    spit(bad, buf, len);
    assert_int_equal(sparse_net_load(b, bad, 0), SPARSE_EFORMAT);
    assert_non_null(strstr(sparse_last_error(), "header length"));
    /* broken JSON */
    memcpy(buf, orig, len);
    buf[8] = '[';
    spit(bad, buf, len);
    assert_int_equal(sparse_net_load(b, bad, 0), SPARSE_EFORMAT);
    assert_non_null(strstr(sparse_last_error(), bad));
    assert_non_null(strstr(sparse_last_error(), "syntax error"));
    /* wrong dtype */
    memcpy(buf, orig, len);
    char *dt = strstr(buf + 8, "\"F32\"");
    assert_non_null(dt);
    memcpy(dt, "\"F16\"", 5);
    spit(bad, buf, len);
    assert_int_equal(sparse_net_load(b, bad, 0), SPARSE_EFORMAT);
    assert_non_null(strstr(sparse_last_error(), "F16"));
    /* a network with a different shape */
    sparse_net *other = make_net(HEAD "  - {type: fc, name: logits, units: 4}\n", 2, 0);
    assert_int_equal(sparse_net_load(other, path, 0), SPARSE_EFORMAT);
    assert_int_equal(sparse_net_load(other, path, 1), SPARSE_ESHAPE);
    assert_non_null(strstr(sparse_last_error(), "logits.weight"));
    sparse_net_free(other);
    free(buf);
    free(orig);
    unlink(path);
    unlink(bad);
    rmdir(dir);
    sparse_net_free(a);
    sparse_net_free(b);
    free(y);
}

static void test_masks(void **state)
{
    (void)state;
    sparse_net *net = make_net(HEAD "  - {type: conv2d, filters: 2, kernel: 3}\n  - {type: fc, units: 4}\n", 8, 1);
    sparse_tensor *w, *m;
    assert_int_equal(sparse_net_param(&w, net, 1, "weight"), SPARSE_OK);
    assert_int_equal(sparse_tensor_clone(&m, w), SPARSE_OK);
    float *md = sparse_tensor_data(m);
    for (size_t j = 0; j < sparse_tensor_element_count(m); j++)
        md[j] = (float)(j % 2);
    assert_int_equal(sparse_net_set_mask(net, 1, "weight", m), SPARSE_OK);
    sparse_dataset *ds = blobs(32, 3, 7, 4, 1, 0);
    sparse_train_options o = SPARSE_TRAIN_OPTIONS_INIT;
    o.epochs = 1;
    o.batch_size = 8;
    assert_int_equal(sparse_net_train(net, ds, &o, NULL), SPARSE_OK);
    for (size_t j = 0; j < sparse_tensor_element_count(w); j += 2)
        assert_true(sparse_tensor_data_const(w)[j] == 0.0f);
    assert_true(sparse_net_nonzero_count(net) < sparse_net_weight_count(net));
    sparse_tensor_free(w);
    sparse_tensor_free(m);
    sparse_dataset_free(ds);
    sparse_net_free(net);
}

static void copy_param(sparse_net *dst, size_t did, const char *dn, sparse_tensor *src)
{
    sparse_tensor *t;
    assert_int_equal(sparse_net_param(&t, dst, did, dn), SPARSE_OK);
    assert_int_equal(sparse_tensor_copy(t, src), SPARSE_OK);
    sparse_tensor_free(t);
}

static void test_inherit_and_fold(void **state)
{
    (void)state;
    sparse_net *a = make_net(HEAD "  - {type: conv2d, name: c, filters: 3, kernel: 3}\n  - {type: fc, name: f, units: 4}\n",
                             2, 1);
    sparse_net *b = make_net(HEAD "  - {type: conv2d, name: c, filters: 5, kernel: 3}\n  - {type: fc, name: f, units: 4}\n",
                             2, 2);
    sparse_tensor *wa, *wb, *wb0;
    sparse_net_param(&wa, a, 1, "weight");
    sparse_net_param(&wb, b, 1, "weight");
    sparse_tensor_clone(&wb0, wb);
    size_t copied = 0;
    assert_int_equal(sparse_net_inherit(b, a, &copied), SPARSE_OK);
    /* conv: 3 of 5 filters (81 + 3 bias), fc: 4 x min(147, 245) + 4 */
    assert_int_equal(copied, 3 * 27 + 3 + 4 * 147 + 4);
    const float *pa = sparse_tensor_data_const(wa), *pb = sparse_tensor_data_const(wb), *p0 = sparse_tensor_data_const(wb0);
    for (size_t j = 0; j < 5 * 27; j++)
        assert_true(pb[j] == (j < 3 * 27 ? pa[j] : p0[j]));
    sparse_tensor_free(wa);
    sparse_tensor_free(wb);
    sparse_tensor_free(wb0);
    sparse_net_free(a);
    sparse_net_free(b);

    /* Folding: conv + BN in inference equals the folded conv. */
    sparse_net *bn = make_net(HEAD "  - {type: conv2d, name: c, filters: 3, kernel: 3}\n  - {type: batchnorm, name: n}\n"
                                   "  - {type: fc, name: f, units: 4}\n", 8, 3);
    sparse_net *plain = make_net(HEAD "  - {type: conv2d, name: c, filters: 3, kernel: 3}\n  - {type: fc, name: f, units: 4}\n",
                                 8, 4);
    randomise_params(bn, 8);
    sparse_dataset *ds = blobs(32, 3, 7, 4, 1, 0);
    sparse_train_options o = SPARSE_TRAIN_OPTIONS_INIT;
    o.epochs = 2;
    o.batch_size = 8;
    assert_int_equal(sparse_net_train(bn, ds, &o, NULL), SPARSE_OK);
    sparse_tensor *fw, *fb, *t;
    assert_int_equal(sparse_net_fold_batchnorm(&fw, &fb, bn, 1), SPARSE_EINVAL);
    assert_null(fw);
    assert_int_equal(sparse_net_fold_batchnorm(&fw, &fb, bn, 2), SPARSE_OK);
    copy_param(plain, 1, "weight", fw);
    copy_param(plain, 1, "bias", fb);
    sparse_net_param(&t, bn, 3, "weight");
    copy_param(plain, 2, "weight", t);
    sparse_tensor_free(t);
    sparse_net_param(&t, bn, 3, "bias");
    copy_param(plain, 2, "bias", t);
    sparse_tensor_free(t);
    double acc1, acc2;
    assert_int_equal(sparse_net_evaluate(bn, ds, &acc1), SPARSE_OK);
    assert_int_equal(sparse_net_evaluate(plain, ds, &acc2), SPARSE_OK);
    sparse_tensor *x, *l1, *l2;
    size_t ls[2] = {8, 4};
    sparse_tensor_create_nchw(&x, 8, 3, 7, 7);
    for (size_t j = 0; j < 8 * 147; j++)
        sparse_tensor_data(x)[j] = sparse_dataset_image(ds, j / 147)[j % 147];
    sparse_tensor_create(&l1, 2, ls);
    sparse_tensor_create(&l2, 2, ls);
    assert_int_equal(sparse_net_forward(bn, x, 0, l1), SPARSE_OK);
    assert_int_equal(sparse_net_forward(plain, x, 0, l2), SPARSE_OK);
    for (size_t j = 0; j < 32; j++)
        assert_true(fabsf(sparse_tensor_data(l1)[j] - sparse_tensor_data(l2)[j]) <= 1e-4f * (1 + fabsf(sparse_tensor_data(l1)[j])));
    assert_true(acc1 == acc2);
    sparse_tensor_free(x);
    sparse_tensor_free(l1);
    sparse_tensor_free(l2);
    sparse_tensor_free(fw);
    sparse_tensor_free(fb);
    sparse_dataset_free(ds);
    sparse_net_free(bn);
    sparse_net_free(plain);
}

const struct CMUnitTest params_tests[] = {
    cmocka_unit_test(test_safetensors),
    cmocka_unit_test(test_masks),
    cmocka_unit_test(test_inherit_and_fold),
};
const size_t params_test_count = sizeof params_tests / sizeof params_tests[0];
