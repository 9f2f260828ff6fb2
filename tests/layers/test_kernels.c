/* The vector kernels (lib/layers/kern.h), every variant this CPU runs,
 * against plain double-precision loops, on shapes that reach every tile,
 * the single-vector tiles and the leftover images. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <sparse/sparse.h>

#include "layers/layers_internal.h"

static uint64_t lcg = 88172645463325252ULL;
static float rnd(void)
{
    lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((double)(lcg >> 40) / (double)(1ULL << 24)) * 2.0f - 1.0f;
}

static float *rnd_buf(size_t n)
{
    float *b = malloc((n ? n : 1) * sizeof *b);
    for (size_t i = 0; i < n; i++)
        b[i] = rnd();
    return b;
}

/* x (cin, h, w, n) at (c, y, x, i), 0 outside. */
static double at(const float *x, const sparse__conv_geo *g, size_t n, size_t c, ptrdiff_t y, ptrdiff_t xx, size_t i)
{
    if (y < 0 || xx < 0 || y >= (ptrdiff_t)g->h || xx >= (ptrdiff_t)g->w)
        return 0.0;
    return x[((c * g->h + (size_t)y) * g->w + (size_t)xx) * n + i];
}

/* Float sums of m terms whose magnitudes add up to mag agree with the
 * exact sum to a few m * 2^-24 * mag. */
static int close(double got, double exact, double mag, double m) { return fabs(got - exact) <= 1e-7 * m * mag + 1e-12; }

static double ref_out(const sparse__conv_geo *g, const float *x, const float *w, const float *bias, size_t n,
                      size_t co, size_t oy, size_t ox, size_t i, double *mag)
{
    double acc = bias ? bias[co] : 0.0;
    *mag = fabs(acc);
    for (size_t ci = 0; ci < g->cin; ci++)
        for (size_t ky = 0; ky < g->k; ky++)
            for (size_t kx = 0; kx < g->k; kx++) {
                const double t = (double)w[((co * g->cin + ci) * g->k + ky) * g->k + kx] *
                                 at(x, g, n, ci, (ptrdiff_t)(oy * g->s + ky) - (ptrdiff_t)g->pt,
                                    (ptrdiff_t)(ox * g->s + kx) - (ptrdiff_t)g->pl, i);
                acc += t;
                *mag += fabs(t);
            }
    return acc;
}

/* One geometry through one variant: forward (with and without bias, = and
 * +=), the weight gradient and (stride 1) the input gradient. */
static void check(const sparse__kern *kn, sparse__conv_geo g, size_t n)
{
    const size_t nx = g.cin * g.h * g.w * n, ny = g.cout * g.ho * g.wo * n, nw = g.cout * g.cin * g.k * g.k;
    float *x = rnd_buf(nx), *w = rnd_buf(nw), *b = rnd_buf(g.cout), *y = rnd_buf(ny), *y0 = malloc(ny * sizeof *y0);
    float *wpk = malloc(nw * sizeof *wpk);
    memcpy(y0, y, ny * sizeof *y0);
    sparse__conv_pack(w, g.cout, g.cin, g.k, kn->cblock, 0, wpk);
    kn->conv_direct(&g, x, wpk, b, y, n, 1, 1);
    for (size_t co = 0; co < g.cout; co++)
        for (size_t p = 0; p < g.ho * g.wo; p++)
            for (size_t i = 0; i < n; i++) {
                const size_t j = (co * g.ho * g.wo + p) * n + i;
                double mag;
                const double r = y0[j] + ref_out(&g, x, w, b, n, co, p / g.wo, p % g.wo, i, &mag);
                if (!close(y[j], r, mag + fabs(y0[j]), (double)(g.cin * g.k * g.k + 2)))
                    fail_msg("%s forward: cout %zu k %zu n %zu: y[%zu] %g, expected %g", kn->name, g.cout, g.k, n, j,
                             (double)y[j], r);
            }
    /* the same image in a vector lane and in a leftover lane: the same bits */
    if (n > 1) {
        kn->conv_direct(&g, x, wpk, NULL, y, n, 0, 2);
        for (size_t j = 0; j < g.cin * g.h * g.w; j++)
            x[j * n + n - 1] = x[j * n];
        kn->conv_direct(&g, x, wpk, NULL, y, n, 0, 2);
        for (size_t j = 0; j < g.cout * g.ho * g.wo; j++)
            assert_memory_equal(&y[j * n], &y[j * n + n - 1], sizeof(float));
    }
    /* weight gradient of dy = y: the padded input as conv_wgrad reads it */
    const size_t hp = (g.ho - 1) * g.s + g.k, wp = (g.wo - 1) * g.s + g.k;
    float *xp = malloc(g.cin * hp * wp * n * sizeof *xp), *gw = malloc(nw * sizeof *gw);
    for (size_t c = 0; c < g.cin; c++)
        for (size_t r = 0; r < hp; r++)
            for (size_t q = 0; q < wp; q++)
                for (size_t i = 0; i < n; i++)
                    xp[((c * hp + r) * wp + q) * n + i] =
                        (float)at(x, &g, n, c, (ptrdiff_t)r - (ptrdiff_t)g.pt, (ptrdiff_t)q - (ptrdiff_t)g.pl, i);
    kn->conv_wgrad(&g, xp, y, gw, n, 2);
    for (size_t co = 0; co < g.cout; co++)
        for (size_t ci = 0; ci < g.cin; ci++)
            for (size_t t = 0; t < g.k * g.k; t++) {
                double r = 0.0, mag = 0.0;
                for (size_t p = 0; p < g.ho * g.wo; p++)
                    for (size_t i = 0; i < n; i++) {
                        const double term =
                            (double)y[(co * g.ho * g.wo + p) * n + i] *
                            at(x, &g, n, ci, (ptrdiff_t)((p / g.wo) * g.s + t / g.k) - (ptrdiff_t)g.pt,
                               (ptrdiff_t)((p % g.wo) * g.s + t % g.k) - (ptrdiff_t)g.pl, i);
                        r += term;
                        mag += fabs(term);
                    }
                const double got = gw[((co * g.cin) + ci) * g.k * g.k + t];
                if (!close(got, r, mag, (double)(g.ho * g.wo * n)))
                    fail_msg("%s wgrad: k %zu n %zu: gw %g, expected %g", kn->name, g.k, n, got, r);
            }
    if (g.s == 1) {
        /* input gradient: the forward kernel with the flipped weights */
        const sparse__conv_geo t = {g.cout, g.cin, g.k, 1, g.ho, g.wo, g.h, g.w, g.k - 1 - g.pt, g.k - 1 - g.pl};
        float *dx = calloc(nx, sizeof *dx);
        sparse__conv_pack(w, g.cout, g.cin, g.k, kn->cblock, 1, wpk);
        kn->conv_direct(&t, y, wpk, NULL, dx, n, 0, 1);
        for (size_t ci = 0; ci < g.cin; ci++)
            for (size_t iy = 0; iy < g.h; iy++)
                for (size_t ix = 0; ix < g.w; ix++)
                    for (size_t i = 0; i < n; i++) {
                        double r = 0.0, mag = 0.0;
                        for (size_t co = 0; co < g.cout; co++)
                            for (size_t ky = 0; ky < g.k; ky++)
                                for (size_t kx = 0; kx < g.k; kx++) {
                                    const ptrdiff_t oy = (ptrdiff_t)(iy + g.pt) - (ptrdiff_t)ky,
                                                    ox = (ptrdiff_t)(ix + g.pl) - (ptrdiff_t)kx;
                                    if (oy < 0 || ox < 0 || oy >= (ptrdiff_t)g.ho || ox >= (ptrdiff_t)g.wo)
                                        continue;
                                    const double term =
                                        (double)w[((co * g.cin + ci) * g.k + ky) * g.k + kx] *
                                        y[((co * g.ho + (size_t)oy) * g.wo + (size_t)ox) * n + i];
                                    r += term;
                                    mag += fabs(term);
                                }
                        const double got = dx[((ci * g.h + iy) * g.w + ix) * n + i];
                        if (!close(got, r, mag, (double)(g.cout * g.k * g.k)))
                            fail_msg("%s input gradient: k %zu n %zu: %g, expected %g", kn->name, g.k, n, got, r);
                    }
        free(dx);
    }
    free(x);
    free(w);
    free(b);
    free(y);
    free(y0);
    free(wpk);
    free(xp);
    free(gw);
}

static sparse__conv_geo geo(size_t cin, size_t cout, size_t k, size_t s, size_t h, size_t w, size_t pt, size_t pl,
                            size_t pb, size_t pr)
{
    sparse__conv_geo g = {cin, cout, k, s, h, w, (h + pt + pb - k) / s + 1, (w + pl + pr - k) / s + 1, pt, pl};
    return g;
}

static void test_conv_kernels(void **state)
{
    (void)state;
    sparse__kern all[4], best;
    const size_t count = sparse__kern_variants(all, 4);
    assert_true(count >= 1 && !strcmp(all[count - 1].name, "base"));
    sparse__kern_select(&best);
    assert_string_equal(best.name, all[0].name);
    static const size_t batches[] = {1, 5, 16, 37, 70};
    for (size_t v = 0; v < count; v++)
        for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++) {
            const size_t n = batches[b];
            check(&all[v], geo(1, 8, 3, 1, 7, 7, 1, 1, 1, 1), n);  /* same, one input channel */
            check(&all[v], geo(3, 13, 3, 1, 6, 5, 1, 1, 1, 1), n); /* blocks of uneven size */
            check(&all[v], geo(2, 5, 5, 1, 9, 8, 0, 0, 0, 0), n);  /* valid, 5x5 */
            check(&all[v], geo(4, 3, 2, 1, 5, 5, 0, 0, 1, 1), n);  /* same, even kernel */
            check(&all[v], geo(2, 7, 7, 1, 8, 8, 3, 3, 3, 3), n);  /* taps past one wgrad tile */
            check(&all[v], geo(3, 4, 3, 2, 7, 7, 1, 1, 1, 1), n);  /* stride 2 */
            check(&all[v], geo(2, 2, 3, 1, 2, 2, 2, 2, 2, 2), n);  /* windows wholly in padding */
        }
}

/* Every tile shape a geometry can reach: conv_wgrad picks one of its
 * table's (channels, taps) tiles by the kernel side (up to WG_KT = 5 taps
 * a tile, the rest in a last narrower one for k > 5) and the output
 * channels (1 to 8 a block, fewer where the registers or the sums run
 * out), and conv_direct one of its blocks of 1 to cblock channels. One
 * output channel block of each size, for every kernel side an architecture
 * allows (1..11), in every variant (sides 8 and up overflowed the sums on
 * AVX-512), at strides 1 and 2; 17 images leave a vector tail in every
 * width. */
static void test_conv_tiles(void **state)
{
    (void)state;
    sparse__kern all[4];
    const size_t count = sparse__kern_variants(all, 4);
    for (size_t v = 0; v < count; v++)
        for (size_t k = 1; k <= 11; k++)
            for (size_t cout = 1; cout <= 8; cout++) {
                check(&all[v], geo(1, cout, k, 1, k + 1, k, 0, 0, 0, 0), 17);
                check(&all[v], geo(1, cout, k, 2, k + 2, k + 2, 0, 0, 0, 0), 17); /* the strided rows */
            }
}

/* Max pooling of (2 * dr, 5, 7, n) with 2x2 windows at stride 2 (tiles,
 * leaving a row and a column) and 3x3 at stride 2 (overlapping), against
 * the scalar rule: first element seeds, strictly greater replaces. Ties
 * and a NaN seed are in the data. */
static void check_pool(const sparse__kern *kn, size_t n, size_t k, size_t s, size_t dr)
{
    const size_t h = 5, w = 7, ho = (h - k) / s + 1, wo = (w - k) / s + 1, per_in = dr * h * w * n;
    const sparse__pool_geo g = {dr, h, w, k, s, ho, wo, n};
    float *x = rnd_buf(2 * per_in), *y = malloc(2 * ho * wo * n * sizeof *y);
    int32_t *idx = malloc(2 * ho * wo * n * sizeof *idx);
    for (size_t j = 0; j < 2 * per_in; j += 3)
        x[j] = x[j + 1 < 2 * per_in ? j + 1 : j]; /* ties */
    x[0] = NAN;
    for (size_t c = 0; c < 2; c++)
        kn->maxpool(&g, x + c * per_in, c * per_in, y + c * ho * wo * n, idx + c * ho * wo * n);
    for (size_t c = 0; c < 2; c++)
        for (size_t p = 0; p < ho * wo; p++)
            for (size_t i = 0; i < n; i++) {
                size_t best = c * per_in + (((p / wo) * s) * w + (p % wo) * s) * n + i;
                for (size_t d = 0; d < dr; d++)
                    for (size_t ky = 0; ky < k; ky++)
                        for (size_t kx = 0; kx < k; kx++) {
                            const size_t e = c * per_in + ((d * h + (p / wo) * s + ky) * w + (p % wo) * s + kx) * n + i;
                            if (x[e] > x[best])
                                best = e;
                        }
                const size_t o = (c * ho * wo + p) * n + i;
                assert_int_equal(idx[o], (int32_t)best);
                assert_memory_equal(&y[o], &x[best], sizeof(float));
            }
    if (s == k && dr == 1) {
        float *dy = rnd_buf(2 * ho * wo * n), *dx = rnd_buf(2 * per_in), *dx0 = malloc(2 * per_in * sizeof *dx0);
        memcpy(dx0, dx, 2 * per_in * sizeof *dx0);
        for (int acc = 1; acc >= 0; acc--) {
            for (size_t c = 0; c < 2; c++)
                kn->maxpool_grad(&g, dy + c * ho * wo * n, idx + c * ho * wo * n, c * per_in, dx + c * per_in, acc);
            for (size_t j = 0; j < 2 * per_in; j++) {
                const size_t c = j / per_in, q = (j % per_in) / n, iy = q / w, ix = q % w;
                if (iy >= ho * k || ix >= wo * k) {
                    assert_true(dx[j] == dx0[j]); /* outside every window: untouched */
                    continue;
                }
                const size_t o = (c * ho * wo + (iy / k) * wo + ix / k) * n + j % n;
                const float v = idx[o] == (int32_t)j ? dy[o] : 0.0f;
                assert_true(dx[j] == (acc ? dx0[j] + v : v));
            }
            memcpy(dx0, dx, 2 * per_in * sizeof *dx0);
        }
        free(dy);
        free(dx);
        free(dx0);
    }
    free(x);
    free(y);
    free(idx);
}

static void check_bn_relu(const sparse__kern *kn, size_t m)
{
    float *x = rnd_buf(m), *dy = rnd_buf(m), *y = malloc(m * sizeof *y);
    float *dx = rnd_buf(m), *dx0 = malloc(m * sizeof *dx0);
    for (size_t j = 0; j < m; j++)
        x[j] = 1000.0f + 0.5f * x[j]; /* a large mean */
    double mean, var, rm = 0.0, rv = 0.0;
    kn->bn_moments(x, m, &mean, &var);
    for (size_t j = 0; j < m; j++)
        rm += x[j];
    rm /= (double)m;
    for (size_t j = 0; j < m; j++)
        rv += (x[j] - rm) * (x[j] - rm);
    rv /= (double)m;
    assert_true(fabs(mean - rm) <= 1e-9 * fabs(rm) && fabs(var - rv) <= 1e-9 * rv);
    const float mu = (float)mean, inv = 1.7f, g = 0.8f, b = -0.1f;
    kn->bn_norm(x, m, mu, inv, g, b, y);
    for (size_t j = 0; j < m; j++) {
        const double v = g * ((double)(x[j] - mu) * inv) + b;
        assert_true(fabs(y[j] - v) <= 1e-5 * (1 + fabs(v)));
    }
    double sdy, sdyx, r1 = 0.0, r2 = 0.0;
    kn->bn_grad_sums(dy, x, m, mu, inv, &sdy, &sdyx);
    for (size_t j = 0; j < m; j++) {
        r1 += dy[j];
        r2 += (double)dy[j] * ((x[j] - mu) * inv);
    }
    assert_true(fabs(sdy - r1) <= 1e-9 * (double)m && fabs(sdyx - r2) <= 1e-9 * (double)m);
    memcpy(dx0, dx, m * sizeof *dx0);
    kn->bn_dx(dy, x, m, mu, inv, 0.5f, 0.25f, -0.5f, dx, 1);
    for (size_t j = 0; j < m; j++) {
        const double xh = (double)(x[j] - mu) * inv;
        assert_true(fabs(dx[j] - (dx0[j] + 0.5 * (dy[j] - 0.25 + 0.5 * xh))) <= 1e-4 * (1 + fabs(xh)));
    }
    kn->relu(dy, y, m);
    kn->relu_grad(dy, x, dx, m, 0);
    for (size_t j = 0; j < m; j++) {
        assert_true(y[j] == (dy[j] > 0 ? dy[j] : 0.0f));
        assert_true(dx[j] == (dy[j] > 0 ? x[j] : 0.0f));
    }
    free(x);
    free(dy);
    free(y);
    free(dx);
    free(dx0);
}

/* A fused group gives the bits of its steps run one by one: the forward
 * pass batch norm, ReLU, pooling; the backward pass pooling, ReLU. */
static void check_fused(const sparse__kern *kn, size_t n, int bn, int relu, size_t pool)
{
    const size_t h = 5, w = 7, m = h * w * n, ho = pool ? h / pool : h, wo = pool ? w / pool : w, mo = ho * wo * n;
    const sparse__epi e = {bn, relu, pool, 0.1f, 1.3f, 0.9f, -0.2f, h, w, ho, wo, n};
    const sparse__pool_geo g = {1, h, w, pool, pool, ho, wo, n};
    float *x = rnd_buf(m), *t = malloc(m * sizeof *t), *u = malloc(m * sizeof *u), *out = malloc(mo * sizeof *out);
    float *ref = malloc(mo * sizeof *ref), *dl = rnd_buf(mo), *dz = rnd_buf(m), *dr = malloc(m * sizeof *dr);
    int32_t *idx = malloc(mo * sizeof *idx), *ridx = malloc(mo * sizeof *ridx);
    const size_t base = 3 * m;
    if (bn)
        kn->bn_norm(x, m, e.mu, e.inv, e.g, e.b, t);
    else
        memcpy(t, x, m * sizeof *t);
    if (relu)
        kn->relu(t, u, m);
    else
        memcpy(u, t, m * sizeof *u);
    if (pool)
        kn->maxpool(&g, u, base, ref, ridx);
    else
        memcpy(ref, u, m * sizeof *ref);
    kn->epi_forward(&e, x, base, out, idx);
    assert_memory_equal(out, ref, mo * sizeof *out);
    if (pool)
        assert_memory_equal(idx, ridx, mo * sizeof *idx);
    for (int acc = 0; acc < 2; acc++) {
        memcpy(dr, dz, m * sizeof *dr);
        float *d1 = malloc(m * sizeof *d1);
        if (pool) {
            memset(d1, 0, m * sizeof *d1);
            kn->maxpool_grad(&g, dl, ridx, base, d1, 0);
        } else
            memcpy(d1, dl, m * sizeof *d1);
        if (relu)
            kn->relu_grad(u, d1, dr, m, acc);
        else
            for (size_t j = 0; j < m; j++)
                dr[j] = acc ? dr[j] + d1[j] : d1[j];
        kn->epi_backward(&e, x, dl, idx, base, dz, acc);
        assert_memory_equal(dz, dr, m * sizeof *dz);
        free(d1);
    }
    free(x);
    free(t);
    free(u);
    free(out);
    free(ref);
    free(dl);
    free(dz);
    free(dr);
    free(idx);
    free(ridx);
}

static void test_elem_kernels(void **state)
{
    (void)state;
    sparse__kern all[4];
    const size_t count = sparse__kern_variants(all, 4);
    static const size_t batches[] = {1, 5, 16, 37, 70};
    for (size_t v = 0; v < count; v++) {
        for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++) {
            check_pool(&all[v], batches[b], 2, 2, 1);
            check_pool(&all[v], batches[b], 3, 2, 1);
            check_pool(&all[v], batches[b], 2, 2, 3);
        }
        for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++)
            for (int f = 1; f < 8; f++)
                check_fused(&all[v], batches[b], f & 1, (f >> 1) & 1, (f & 4) ? 2 : 0);
        check_bn_relu(&all[v], 1);
        check_bn_relu(&all[v], 13);
        check_bn_relu(&all[v], 4099);
    }
}

/* One training step's logits and every gradient, with the fused groups
 * and node by node: the same bits. */
static void fused_step(sparse_net *net, size_t n, int fuse, float *out)
{
    sparse__node *in = &net->nodes[0];
    for (size_t j = 0; j < in->sz * n; j++)
        in->out[j] = (float)((j * 7919) % 113) / 50.0f - 1.0f;
    assert_int_equal(sparse__net_forward_raw(net, n, 1, fuse), SPARSE_OK);
    int32_t labels[70];
    for (size_t i = 0; i < n; i++)
        labels[i] = (int32_t)(i % net->classes);
    double loss;
    assert_int_equal(sparse__loss(net, labels, 0.0f, &loss), SPARSE_OK);
    const sparse__node *last = &net->nodes[net->n_nodes - 1];
    memcpy(out, last->out, net->classes * n * sizeof *out);
    out += net->classes * n;
    assert_int_equal(sparse__net_backward_raw(net), SPARSE_OK);
    for (size_t i = 0; i < net->n_nodes; i++)
        for (size_t k = 0; k < net->nodes[i].n_params; k++) {
            memcpy(out, net->nodes[i].params[k].g, net->nodes[i].params[k].n * sizeof *out);
            out += net->nodes[i].params[k].n;
        }
}

static void test_fused_net(void **state)
{
    (void)state;
    static const char *yaml =
        "input: [2, 9, 9]\nclasses: 5\nlayers:\n"
        "  - {type: conv2d, name: c1, filters: 6, kernel: 3, bias: false}\n  - {type: batchnorm, name: bn1}\n"
        "  - {type: relu, name: r1}\n  - {type: maxpool, name: p1, size: 2}\n"
        "  - {type: conv2d, name: c2, filters: 5, kernel: 3}\n  - {type: relu, name: r2}\n"
        "  - {type: maxpool, name: p2, size: 2}\n  - {type: batchnorm, name: bn3}\n  - {type: relu, name: r3}\n"
        "  - {type: fc, name: f, units: 5}\n";
    sparse_arch *a = NULL;
    sparse_net *net = NULL;
    assert_int_equal(sparse_arch_parse_yaml(&a, yaml, strlen(yaml), "fused"), SPARSE_OK);
    assert_int_equal(sparse_net_create(&net, a, 70, 4), SPARSE_OK);
    size_t total = net->classes * 70;
    for (size_t i = 0; i < net->n_nodes; i++)
        for (size_t k = 0; k < net->nodes[i].n_params; k++)
            total += net->nodes[i].params[k].n;
    float *g[2] = {malloc(total * sizeof(float)), malloc(total * sizeof(float))};
    static const size_t batches[] = {70, 37, 3};
    for (size_t b = 0; b < 3; b++) {
        for (int fuse = 0; fuse < 2; fuse++) {
            memset(g[fuse], 0, total * sizeof(float));
            fused_step(net, batches[b], fuse, g[fuse]);
        }
        assert_memory_equal(g[0], g[1], total * sizeof(float));
    }
    /* the groups were fused: bn1-r1-p1, r2-p2, bn3-r3 */
    size_t id;
    assert_int_equal(sparse_net_find_node(net, "bn1", &id), SPARSE_OK);
    assert_int_equal(net->nodes[id].fused, 3);
    assert_int_equal(sparse_net_find_node(net, "r2", &id), SPARSE_OK);
    assert_int_equal(net->nodes[id].fused, 2);
    assert_int_equal(sparse_net_find_node(net, "bn3", &id), SPARSE_OK);
    assert_int_equal(net->nodes[id].fused, 2);
    /* a fused node's output cannot be read */
    sparse_tensor *t = NULL;
    assert_int_equal(sparse_net_node_output(&t, net, id), SPARSE_EINVAL);
    free(g[0]);
    free(g[1]);
    sparse_net_free(net);
    sparse_arch_free(a);
}

/* The noise: a value depends on (key, index) only, so a shorter block is a
 * prefix of a whole one; the variants agree; 2^20 values have N(0, 1)'s
 * moments and tail masses. */
static void test_normals(void **state)
{
    (void)state;
    sparse__kern all[4];
    const size_t count = sparse__kern_variants(all, 4), B = SPARSE__NORMAL_BLOCK, N = (size_t)1 << 20;
    float *e = malloc(N * sizeof *e), *f = malloc(B * sizeof *f), *first = malloc(B * sizeof *first);
    for (size_t v = 0; v < count; v++) {
        for (size_t j0 = 0; j0 < N; j0 += B)
            all[v].normals(0x5eed, j0, B, e + j0);
        for (size_t len = 1; len < B; len = len * 3 + 1) {
            all[v].normals(0x5eed, 2 * B, len, f);
            assert_memory_equal(f, e + 2 * B, len * sizeof *f);
        }
        if (v == 0)
            memcpy(first, e, B * sizeof *first);
        else /* another variant: the same values up to vector maths rounding */
            for (size_t j = 0; j < B; j++)
                assert_true(fabsf(first[j] - e[j]) <= 1e-6f * (1.0f + fabsf(first[j])));
        double s1 = 0, s2 = 0, s4 = 0;
        size_t over1 = 0, over2 = 0, over3 = 0;
        for (size_t j = 0; j < N; j++) {
            const double z = e[j];
            assert_true(isfinite(z) && fabs(z) < 5.9);
            s1 += z;
            s2 += z * z;
            s4 += z * z * z * z;
            over1 += z > 1.0;
            over2 += fabs(z) > 2.0;
            over3 += fabs(z) > 3.0;
        }
        const double n = (double)N;
        assert_true(fabs(s1 / n) < 0.005 && fabs(s2 / n - 1.0) < 0.006 && fabs(s4 / n - 3.0) < 0.05);
        assert_true(fabs(over1 / n - 0.158655) < 0.002);
        assert_true(fabs(over2 / n - 0.0455003) < 0.001);
        assert_true(fabs(over3 / n - 0.0026998) < 0.0003);
        /* spvd_noise: out += sd e with the same values e, e / (2 sd) kept */
        float var[64], h[64], out[64];
        for (int j = 0; j < 64; j++) {
            var[j] = (float)j * 0.01f;
            out[j] = 1.0f;
        }
        all[v].spvd_noise(0x5eed, 0, 64, 1e-8f, var, h, out);
        for (int j = 0; j < 64; j++) {
            const float sd = sqrtf(var[j] + 1e-8f);
            assert_true(fabsf(out[j] - (1.0f + sd * e[j])) <= 1e-6f);
            assert_true(fabsf(h[j] - e[j] / (2.0f * sd)) <= 1e-6f * (1.0f + fabsf(h[j])));
        }
    }
    free(e);
    free(f);
    free(first);
}

/* -KL of Molchanov et al. 2017 and its derivative in la, in double. */
static double neg_kl(double la, double *grad)
{
    const double k1 = SPARSE_EXP_NEG_KL_K1, k2 = SPARSE_EXP_NEG_KL_K2, k3 = SPARSE_EXP_NEG_KL_K3;
    const double s = 1.0 / (1.0 + exp(-(k2 + k3 * la))), e = exp(-la);
    *grad = k1 * k3 * s * (1.0 - s) + 0.5 * e / (1.0 + e);
    return k1 * s - 0.5 * log1p(e) - k1;
}

/* SpVD's KL kernel against the formulas in double precision. */
static void test_spvd_kl(void **state)
{
    (void)state;
    sparse__kern all[4];
    const size_t count = sparse__kern_variants(all, 4), m = 1000;
    const sparse__klk c = {(float)SPARSE_EXP_NEG_KL_K1, (float)SPARSE_EXP_NEG_KL_K2, (float)SPARSE_EXP_NEG_KL_K3,
                           1e-8f, 10.0f};
    float *t = malloc(m * sizeof *t), *lv = malloc(m * sizeof *lv), *gw = calloc(m, sizeof *gw),
          *gl = calloc(m, sizeof *gl);
    for (size_t j = 0; j < m; j++) {
        t[j] = 0.5f * rnd();
        lv[j] = -14.0f + 16.0f * (rnd() + 1.0f); /* log alpha from below -10 to above 10 */
    }
    for (size_t v = 0; v < count; v++) {
        memset(gw, 0, m * sizeof *gw);
        memset(gl, 0, m * sizeof *gl);
        const double kl = all[v].spvd_kl(t, lv, m, &c, 0.5f, gw, gl);
        double ref = 0.0;
        for (size_t j = 0; j < m; j++) {
            const double raw = lv[j] - log((double)t[j] * t[j] + 1e-8), la = raw < -10 ? -10 : raw > 10 ? 10 : raw;
            double d;
            ref -= neg_kl(la, &d);
            const double g = raw < -10 || raw > 10 ? 0.0 : -0.5 * d;
            assert_true(fabs(gl[j] - g) <= 1e-5 * (1 + fabs(g)));
            const double dw = g * (-2.0 * t[j] / ((double)t[j] * t[j] + 1e-8));
            assert_true(fabs(gw[j] - dw) <= 1e-4 * (1 + fabs(dw)));
        }
        assert_true(fabs(kl - ref) <= 1e-5 * fabs(ref));
    }
    free(t);
    free(lv);
    free(gw);
    free(gl);
}

static void test_pack_blocks(void **state)
{
    (void)state;
    /* blocks cover the channels in order, sizes differ by at most one */
    for (size_t cout = 1; cout < 40; cout++)
        for (size_t cb = 1; cb < 9; cb++) {
            size_t next = 0, lo = SIZE_MAX, hi = 0;
            for (size_t b = 0; b < sparse__conv_blocks(cout, cb); b++) {
                size_t first, size;
                sparse__conv_block(cout, cb, b, &first, &size);
                assert_int_equal(first, next);
                assert_true(size >= 1 && size <= cb);
                lo = size < lo ? size : lo;
                hi = size > hi ? size : hi;
                next = first + size;
            }
            assert_int_equal(next, cout);
            assert_true(hi - lo <= 1);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pack_blocks),
        cmocka_unit_test(test_conv_kernels),
        cmocka_unit_test(test_conv_tiles),
        cmocka_unit_test(test_elem_kernels),
        cmocka_unit_test(test_fused_net),
        cmocka_unit_test(test_normals),
        cmocka_unit_test(test_spvd_kl),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
