/* Kernels of the variational nodes (kern.h), one copy per instruction set:
 * their N(0, 1) noise, the local reparameterisation's elementwise steps
 * and the SpVD KL term with its gradient.
 *
 * Noise: value j of a stream keyed k is a function of (k, j) alone, so all
 * of them are computed at once, a vector of lanes at a time, whatever the
 * vector width or the split between threads. Values come in Box-Muller
 * pairs: pair q (of the counter q, a 32-bit integer hash keyed by both
 * halves of k, then two differently mixed 32-bit words) gives
 * u1 = (a + 1/2) / 2^24 and u2 = (b + 1/2) / 2^24 from 24 bits of each,
 * and the values r cos(2 pi u2), r sin(2 pi u2) with r = sqrt(-2 log u1)
 * (so |values| < 5.9). In each run of 32 values starting at a multiple of
 * 32, value r < 16 is the cosine of pair (run, r), value r >= 16 the sine
 * of pair (run, r - 16), whatever the vector width.
 *
 * Everything is inline vector code without tables or branches: the
 * logarithm is Cephes' logf polynomial, the sine and cosine Taylor
 * polynomials on a quarter turn (the quadrant from u2's top two bits), all
 * to about 1e-7; 32-bit multiplies are what every vector unit has (a
 * 64-bit hash would need AVX-512DQ). A value costs a few dozen vector
 * operations shared by all lanes, an inverse-CDF one twice that.
 *
 * The KL term uses the same inline logarithm and Cephes' expf polynomial;
 * exp of the weights' log variances (any value) goes through glibc's
 * vector maths library (libmvec) where the build found it. */
#include <math.h>

#include "kern_isa.h"

#if defined(SPARSE_HAVE_MVEC)
#pragma omp declare simd notinbranch
float expf(float);
#endif

typedef uint32_t vu __attribute__((vector_size(VL * sizeof(uint32_t))));

/* U vectors at a time, each step over all of them: the steps of one
 * vector are a long dependent chain (polynomials), which U chains side by
 * side hide. */
#define U 4
#define EACH for (int v = 0; v < U; v++)

/* Horner steps of a polynomial in x[v], into p[v]. */
#define HORNER(p, x, c) EACH p[v] = (c) + p[v] * x[v]

/* One round of a 32-bit mixer (xorshift-multiply, two multipliers). */
#define MIX32(x, s1, m1, s2, m2, s3)                                                                         \
    do {                                                                                                     \
        x ^= x >> (s1);                                                                                      \
        x *= (m1);                                                                                           \
        x ^= x >> (s2);                                                                                      \
        x *= (m2);                                                                                           \
        x ^= x >> (s3);                                                                                      \
    } while (0)

/* log(a) for normal, positive a of each lane (Cephes logf: the mantissa
 * brought into [sqrt(1/2), sqrt(2)), a degree-9 polynomial in it minus 1,
 * the exponent times log 2 in two parts), in place. */
INLINE void logv(vf a[U])
{
    vf x[U], fe[U], y[U];
    EACH {
        vi u;
        memcpy(&u, &a[v], sizeof u);
        vi e = ((u >> 23) & 0xff) - 127;
        u = (u & 0x7fffff) | 0x3f800000;
        vf m;
        memcpy(&m, &u, sizeof m);
        const vi big = m > 1.41421356f;
        m = sel(big, 0.5f * m, m);
        e -= big; /* a true compare is -1 */
        fe[v] = __builtin_convertvector(e, vf);
        x[v] = m - 1.0f;
        y[v] = 7.0376836292e-2f + 0.0f * x[v];
    }
    HORNER(y, x, -1.1514610310e-1f);
    HORNER(y, x, 1.1676998740e-1f);
    HORNER(y, x, -1.2420140846e-1f);
    HORNER(y, x, 1.4249322787e-1f);
    HORNER(y, x, -1.6668057665e-1f);
    HORNER(y, x, 2.0000714765e-1f);
    HORNER(y, x, -2.4999993993e-1f);
    HORNER(y, x, 3.3333331174e-1f);
    EACH {
        const vf z = x[v] * x[v];
        a[v] = x[v] + (y[v] * x[v] * z - 2.12194440e-4f * fe[v] - 0.5f * z) + 0.693359375f * fe[v];
    }
}

/* sqrt of each lane (one vector instruction once vectorised). */
INLINE vf sqrtv(vf x)
{
    float a[VL];
    memcpy(a, &x, sizeof a);
    for (int l = 0; l < VL; l++)
        a[l] = sqrtf(a[l]);
    memcpy(&x, a, sizeof x);
    return x;
}

/* (u + 1/2) / 2^24 of the low 24 bits of u. */
INLINE vf unit24(vu u) { return (__builtin_convertvector((vi)(u & 0xffffffu), vf) + 0.5f) * (1.0f / 16777216.0f); }

/* The pairs q[v] of the stream keyed (k0, k1): cosines into c[v] + 0..VL,
 * sines into s[v] + 0..VL. */
INLINE void pairs(vu q[U], uint32_t k0, uint32_t k1, float *const c[U], float *const s[U])
{
    vu a[U], b[U];
    vf r[U], f[U], f2[U], ps[U], pc[U];
    EACH {
        vu h = q[v] ^ k0;
        MIX32(h, 16, 0x21f0aaadu, 15, 0x735a2d97u, 15);
        h ^= k1;
        a[v] = h;
        b[v] = h;
        MIX32(a[v], 16, 0x7feb352du, 15, 0x846ca68bu, 16);
        MIX32(b[v], 17, 0xed5ad4bbu, 11, 0xac4c1b51u, 15);
        r[v] = unit24(a[v]);
        /* 2 pi u2 = (quadrant + f) pi/2, f from the low 22 of u2's 24 bits */
        f[v] = (__builtin_convertvector((vi)(b[v] & 0x3fffffu), vf) + 0.5f) * (1.5707963268f / 4194304.0f);
        f2[v] = f[v] * f[v];
        ps[v] = -2.5052108385e-8f + 0.0f * f2[v];
        pc[v] = 2.0876756988e-9f + 0.0f * f2[v];
    }
    logv(r);
    HORNER(ps, f2, 2.7557319224e-6f);
    HORNER(ps, f2, -1.9841269841e-4f);
    HORNER(ps, f2, 8.3333333333e-3f);
    HORNER(ps, f2, -1.6666666667e-1f);
    HORNER(ps, f2, 1.0f);
    HORNER(pc, f2, -2.7557319224e-7f);
    HORNER(pc, f2, 2.4801587302e-5f);
    HORNER(pc, f2, -1.3888888889e-3f);
    HORNER(pc, f2, 4.1666666667e-2f);
    HORNER(pc, f2, -0.5f);
    HORNER(pc, f2, 1.0f);
    EACH {
        const vf rad = sqrtv(-2.0f * r[v]);
        const vf sn = ps[v] * f[v], cs = pc[v];
        /* quadrant k = u2's top two bits: cos(k pi/2 + f), sin(k pi/2 + f) */
        const vu k = (b[v] >> 22) & 3u;
        const vi odd = (vi)((k & 1u) != 0);
        vf co = sel(odd, sn, cs), si = sel(odd, cs, sn);
        vu cb, sb;
        memcpy(&cb, &co, sizeof cb);
        memcpy(&sb, &si, sizeof sb);
        cb ^= ((k + 1u) & 2u) << 30; /* negative in quadrants 1, 2 */
        sb ^= (k & 2u) << 30;        /* negative in quadrants 2, 3 */
        memcpy(&co, &cb, sizeof co);
        memcpy(&si, &sb, sizeof si);
        st(c[v], rad * co);
        st(s[v], rad * si);
    }
}

/* e[0..m) = values j0.. of the stream keyed key; j0 is a multiple of
 * SPARSE__NORMAL_BLOCK, m at most one block. */
static void normals(uint64_t key, uint64_t j0, size_t m, float *restrict e)
{
    enum { RUN = 32, CHUNK = 2 * U * VL }; /* values per run, per U vectors of pairs */
    const uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32) ^ (uint32_t)(j0 >> 32) * 0x9e3779b9u;
    const uint32_t q0 = (uint32_t)(j0 / 2);
    vu iota;
    for (int l = 0; l < VL; l++)
        iota[l] = (uint32_t)l;
    for (size_t r0 = 0; r0 < m; r0 += CHUNK) {
        float buf[CHUNK];
        const int whole = r0 + CHUNK <= m;
        float *dst = whole ? e + r0 : buf;
        vu q[U];
        float *c[U], *s[U];
        EACH {
            /* pairs p .. p + VL, the vector's share of its run */
            const size_t p = r0 / 2 + (size_t)v * VL, at = p / (RUN / 2) * RUN + p % (RUN / 2) - r0;
            q[v] = iota + (q0 + (uint32_t)p);
            c[v] = dst + at;
            s[v] = dst + at + RUN / 2;
        }
        pairs(q, k0, k1, c, s);
        if (!whole)
            for (size_t r = 0; r0 + r < m; r++)
                e[r0 + r] = buf[r];
    }
}

/* out += sd e with sd = sqrt(var + eps) and e the stream's values j0..;
 * h = e / (2 sd), d out / d var, kept for the backward pass (its division
 * done here, where sd and e are in registers). */
static void spvd_noise(uint64_t key, uint64_t j0, size_t m, float eps, const float *restrict var, float *restrict h,
                       float *restrict out)
{
    normals(key, j0, m, h);
    for (size_t j = 0; j < m; j++) {
        const float sd = sqrtf(var[j] + eps), e = h[j];
        out[j] += sd * e;
        h[j] = e * 0.5f / sd;
    }
}

/* The gradient at the variance: dy h. */
static void spvd_dvar(const float *restrict dy, const float *restrict h, size_t m, float *restrict dvar)
{
    for (size_t j = 0; j < m; j++)
        dvar[j] = dy[j] * h[j];
}

/* The per-batch weight-noise estimator's draw: w = t + sd e with
 * sd = exp(lv / 2) and e the stream's values j0..; h = sd e / 2, the
 * derivative of w in lv, kept for the backward pass. */
static void weight_noise(uint64_t key, uint64_t j0, size_t m, const float *restrict t, const float *restrict lv,
                         float *restrict h, float *restrict w)
{
    normals(key, j0, m, h);
    for (size_t j = 0; j < m; j++) {
        const float sde = expf(0.5f * lv[j]) * h[j];
        w[j] = t[j] + sde;
        h[j] = 0.5f * sde;
    }
}

static void expv(const float *restrict x, size_t m, float *restrict y)
{
    for (size_t j = 0; j < m; j++)
        y[j] = expf(x[j]);
}

/* exp(x) for |x| < 80 in each lane (Cephes expf: x = n log 2 + r with
 * |r| <= log(2)/2, a degree-7 polynomial in r, n added to the exponent), in
 * place. */
INLINE void expu(vf x[U])
{
    vf r[U], p[U];
    vi n[U];
    EACH {
        /* round to nearest by the float magic number (|x log2 e| < 2^22) */
        const vf fn = (x[v] * 1.44269504f + 12582912.0f) - 12582912.0f;
        n[v] = __builtin_convertvector(fn, vi);
        r[v] = x[v] - fn * 0.693359375f - fn * -2.12194440e-4f;
        p[v] = 1.9875691500e-4f + 0.0f * r[v];
    }
    HORNER(p, r, 1.3981999507e-3f);
    HORNER(p, r, 8.3334519073e-3f);
    HORNER(p, r, 4.1665795894e-2f);
    HORNER(p, r, 1.6666665459e-1f);
    HORNER(p, r, 5.0000001201e-1f);
    EACH {
        const vf y = p[v] * r[v] * r[v] + r[v] + 1.0f;
        vi b;
        memcpy(&b, &y, sizeof b);
        b += n[v] << 23;
        memcpy(&x[v], &b, sizeof b);
    }
}

/* U vectors of weights t, log variances lv: -(-KL) into kl, its
 * derivatives (times sc, 0 where the clip holds log alpha) in the weight
 * into gw and in log_sigma2 into glv. */
INLINE void kl_vecs(const float *t, const float *lv, const sparse__klk *c, float sc, float *kl, float *gw, float *glv)
{
    vf w[U], q[U], la[U], inside[U], e[U], x[U], lg[U];
    EACH {
        w[v] = ld(t + v * VL);
        q[v] = w[v] * w[v] + c->eps;
        la[v] = q[v];
    }
    logv(la);
    EACH {
        const vf raw = ld(lv + v * VL) - la[v];
        inside[v] = sel((raw >= -c->clip) & (raw <= c->clip), (vf){0} + 1.0f, (vf){0});
        la[v] = sel(raw < -c->clip, (vf){0} - c->clip, sel(raw > c->clip, (vf){0} + c->clip, raw));
        e[v] = -la[v];
        x[v] = -(c->k2 + c->k3 * la[v]);
    }
    expu(e); /* exp(-la) */
    expu(x); /* 1 / s - 1 */
    EACH lg[v] = 1.0f + e[v];
    logv(lg);
    EACH {
        const vf s = 1.0f / (1.0f + x[v]), b = 1.0f + e[v], y = 1.0f / (b * q[v]), ib = y * q[v];
        /* log1p(e): log(b) corrected for the rounding of b = 1 + e */
        const vf lp = lg[v] - ((b - 1.0f) - e[v]) * ib;
        st(kl + v * VL, -(c->k1 * s - 0.5f * lp - c->k1));
        const vf g = -sc * (c->k1 * c->k3 * s * (1.0f - s) + 0.5f * e[v] * ib) * inside[v];
        st(glv + v * VL, g);
        st(gw + v * VL, g * (-2.0f * w[v] * (y * b)));
    }
}

/* SpVD's KL over m weights t with log variances lv: returns the sum of
 * -(-KL) at the clipped log alpha (floats summed 8 lanes at a time over 64
 * weights, then in double), and with sc != 0 adds sc * d KL / d parameter
 * into gw, glv (nothing where the clip holds log alpha). Logarithms and
 * exponentials are the inline polynomials above. */
static double spvd_kl(const float *restrict t, const float *restrict lv, size_t m, const sparse__klk *c, float sc,
                      float *restrict gw, float *restrict glv)
{
    enum { B = 64 };
    _Static_assert(B % (U * VL) == 0, "a block is whole groups of vectors");
    double kl = 0.0;
    for (size_t j0 = 0; j0 < m; j0 += B) {
        const size_t len = m - j0 < B ? m - j0 : B;
        float tb[B] = {0}, lb[B] = {0}, v[B], g[B], dw[B], part[8] = {0};
        memcpy(tb, t + j0, len * sizeof(float));
        memcpy(lb, lv + j0, len * sizeof(float));
        for (size_t j = 0; j < B; j += U * VL)
            kl_vecs(tb + j, lb + j, c, sc, v + j, dw + j, g + j);
        for (size_t j = len; j < B; j++)
            v[j] = 0.0f;
        for (size_t j = 0; j < B; j += 8)
            for (int l = 0; l < 8; l++)
                part[l] += v[j + (size_t)l];
        float sum = 0.0f;
        for (int l = 0; l < 8; l++)
            sum += part[l];
        kl += sum;
        if (sc == 0.0f)
            continue;
        for (size_t j = 0; j < len; j++) {
            glv[j0 + j] += g[j];
            gw[j0 + j] += dw[j];
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
    k->weight_noise = weight_noise;
    k->spvd_kl = spvd_kl;
}
