/* Kernels of the variational nodes (kern.h), one copy per instruction set:
 * their N(0, 1) noise, the local reparameterisation's elementwise steps
 * and the SpVD KL term with its gradient.
 *
 * Noise: value j of a stream keyed k is a function of (k, j) alone, so all
 * of them are computed at once (vectorised, without branches or table
 * lookups), whatever the vector width or the split between threads. Its
 * 32 random bits are splitmix64's output for counter j: one bit is the
 * sign, 23 give a tail probability t = (m + 1/2) / 2^24 in (0, 1/2), and
 * the value is the normal quantile of 1 - t, sqrt(2) erfinv(1 - 2t), by
 * Giles' single-precision erfinv ("Approximating the erfinv function",
 * GPU Computing Gems, 2011; relative error about 1e-7). 1 - 2t and
 * 4t(1 - t) are exact or rounded once; |values| reach 5.4.
 *
 * Transcendental functions go through glibc's vector maths library
 * (libmvec) where the build found it. */
#include <math.h>

#include "kern_isa.h"

#if defined(SPARSE_HAVE_MVEC)
#pragma omp declare simd notinbranch
float expf(float);
#pragma omp declare simd notinbranch
float logf(float);
#pragma omp declare simd notinbranch
float log1pf(float);
#endif

static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* The normal quantile of 1 - t for the 32 bits b (see the top), or with
 * central, a NaN for the 0.34% of draws (t < 0.0017) that need Giles'
 * tail branch: the vector loops leave those to normal_fix. */
static inline float normal_of(uint32_t b, int central)
{
    const float t = ((float)(b & 0x7fffffu) + 0.5f) * (1.0f / 16777216.0f);
    const float w = -logf((4.0f * t) * (1.0f - t));
    float p;
    if (central || w < 5.0f) {
        const float wc = w - 2.5f;
        p = 2.81022636e-08f;
        p = 3.43273939e-07f + p * wc;
        p = -3.5233877e-06f + p * wc;
        p = -4.39150654e-06f + p * wc;
        p = 0.00021858087f + p * wc;
        p = -0.00125372503f + p * wc;
        p = -0.00417768164f + p * wc;
        p = 0.246640727f + p * wc;
        p = 1.50140941f + p * wc;
        p = central && w >= 5.0f ? NAN : p;
    } else {
        const float wt = sqrtf(w) - 3.0f;
        p = -0.000200214257f;
        p = 0.000100950558f + p * wt;
        p = 0.00134934322f + p * wt;
        p = -0.00367342844f + p * wt;
        p = 0.00573950773f + p * wt;
        p = -0.0076224613f + p * wt;
        p = 0.00943887047f + p * wt;
        p = 1.00167406f + p * wt;
        p = 2.83297682f + p * wt;
    }
    const float z = p * (1.41421356f * (1.0f - 2.0f * t));
    uint32_t zb; /* the sign bit from the draw (no branch: it vectorises) */
    memcpy(&zb, &z, sizeof zb);
    zb ^= b & 0x80000000u;
    float r;
    memcpy(&r, &zb, sizeof r);
    return r;
}

/* e[0..m) = values j0.. of the stream keyed key; j0 is a multiple of
 * SPARSE__NORMAL_BLOCK, m at most one block. One splitmix64 output feeds
 * two values: within a block of B values, value r < B/2 takes the low 32
 * bits of counter (block, r), value r >= B/2 the high 32 bits of counter
 * (block, r - B/2). */
#define GROUP 64

/* The values of counters c0 + r0 .. c0 + r0 + GROUP: low halves into a,
 * high halves into b. */
static void normal_group(uint64_t c0, size_t r0, float *restrict a, float *restrict b)
{
    for (size_t k = 0; k < GROUP; k++) {
        const uint64_t h = mix64(c0 + (r0 + k) * 0x9e3779b97f4a7c15ULL);
        a[k] = normal_of((uint32_t)h, 1);
        b[k] = normal_of((uint32_t)(h >> 32), 1);
    }
}

static void normals(uint64_t key, uint64_t j0, size_t m, float *restrict e)
{
    enum { HALF = SPARSE__NORMAL_BLOCK / 2 };
    const uint64_t c0 = key + (j0 / 2 + 1) * 0x9e3779b97f4a7c15ULL;
    const size_t lo = m < HALF ? m : HALF, hi = m - lo;
    /* whole groups of counters, so that every value goes through the same
     * vector code whatever m is */
    for (size_t r0 = 0; r0 < lo; r0 += GROUP) {
        if (r0 + GROUP <= hi) {
            normal_group(c0, r0, e + r0, e + HALF + r0);
            continue;
        }
        float a[GROUP], b[GROUP];
        normal_group(c0, r0, a, b);
        for (size_t k = 0; k < GROUP && r0 + k < lo; k++)
            e[r0 + k] = a[k];
        for (size_t k = 0; k < GROUP && r0 + k < hi; k++)
            e[HALF + r0 + k] = b[k];
    }
    for (size_t r0 = 0; r0 < m; r0 += GROUP) {
        const size_t r1 = m - r0 < GROUP ? m : r0 + GROUP;
        int any = 0; /* a vectorised look for NaNs first: they are rare */
        for (size_t r = r0; r < r1; r++)
            any |= e[r] != e[r];
        for (size_t r = r0; any && r < r1; r++)
            if (e[r] != e[r]) {
                const uint64_t h = mix64(c0 + (r < HALF ? r : r - HALF) * 0x9e3779b97f4a7c15ULL);
                e[r] = normal_of(r < HALF ? (uint32_t)h : (uint32_t)(h >> 32), 0);
            }
    }
}

/* out += sqrt(var + eps) e, with e the stream's values j0.. and sd (in
 * place of var) kept for the backward pass. */
static void spvd_noise(uint64_t key, uint64_t j0, size_t m, float eps, float *restrict var, float *restrict e,
                       float *restrict out)
{
    normals(key, j0, m, e);
    for (size_t j = 0; j < m; j++) {
        const float sd = sqrtf(var[j] + eps);
        var[j] = sd;
        out[j] += sd * e[j];
    }
}

/* The gradient at the variance: dy e / (2 sd), into sd's place. */
static void spvd_dvar(const float *restrict dy, const float *restrict e, size_t m, float *restrict sd)
{
    for (size_t j = 0; j < m; j++)
        sd[j] = dy[j] * e[j] * 0.5f / sd[j];
}

static void expv(const float *restrict x, size_t m, float *restrict y)
{
    for (size_t j = 0; j < m; j++)
        y[j] = expf(x[j]);
}

/* SpVD's KL over m weights t with log variances lv: returns the sum of
 * -(-KL) at the clipped log alpha (floats summed 8 lanes at a time over 64
 * weights, then in double), and with sc != 0 adds sc * d KL / d parameter
 * into gw, glv (nothing where the clip holds log alpha). */
static double spvd_kl(const float *restrict t, const float *restrict lv, size_t m, const sparse__klk *c, float sc,
                      float *restrict gw, float *restrict glv)
{
    double kl = 0.0;
    for (size_t j0 = 0; j0 < m; j0 += 64) {
        const size_t len = m - j0 < 64 ? m - j0 : 64;
        float v[64], g[64], part[8] = {0};
        for (size_t j = 0; j < len; j++) {
            const float w = t[j0 + j], raw = lv[j0 + j] - logf(w * w + c->eps);
            const float la = raw < -c->clip ? -c->clip : (raw > c->clip ? c->clip : raw);
            const float s = 1.0f / (1.0f + expf(-(c->k2 + c->k3 * la))), e = expf(-la);
            v[j] = -(c->k1 * s - 0.5f * log1pf(e) - c->k1);
            const float inside = raw >= -c->clip && raw <= c->clip ? 1.0f : 0.0f;
            g[j] = -sc * (c->k1 * c->k3 * s * (1.0f - s) + 0.5f * e / (1.0f + e)) * inside;
        }
        for (size_t j = len; j < 64; j++)
            v[j] = 0.0f;
        for (size_t j = 0; j < 64; j += 8)
            for (int l = 0; l < 8; l++)
                part[l] += v[j + (size_t)l];
        float sum = 0.0f;
        for (int l = 0; l < 8; l++)
            sum += part[l];
        kl += sum;
        if (sc == 0.0f)
            continue;
        for (size_t j = 0; j < len; j++) {
            const float w = t[j0 + j];
            glv[j0 + j] += g[j];
            gw[j0 + j] += g[j] * (-2.0f * w / (w * w + c->eps));
        }
    }
    return kl;
}

void VARIANT(sparse__kern_var)(sparse__kern *k)
{
    k->normals = normals;
    k->spvd_noise = spvd_noise;
    k->spvd_dvar = spvd_dvar;
    k->expv = expv;
    k->spvd_kl = spvd_kl;
}
