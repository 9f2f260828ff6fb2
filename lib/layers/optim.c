/* Optimisers (SGD with momentum, Adam; L2 weight decay on conv/FC weights)
 * and learning-rate schedules. State lives in the parameters (m, v). */
#include <math.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "layers_internal.h"
#include "optim.h"

double sparse__lr_at(const sparse_train_options *o, size_t step, size_t total_steps, size_t epoch)
{
    const double pi = 3.14159265358979323846;
    double t = total_steps > 1 ? (double)step / (double)(total_steps - 1) : 1.0;
    if (t > 1.0)
        t = 1.0;
    switch (o->schedule) {
    case SPARSE_LR_STEP: {
        size_t k = o->step_epochs ? epoch / o->step_epochs : 0;
        return o->lr * pow(o->step_gamma, (double)k);
    }
    case SPARSE_LR_COSINE:
        return o->lr * 0.5 * (1.0 + cos(pi * t));
    case SPARSE_LR_ONE_CYCLE: {
        const double warm = 0.3, lo = o->lr / 25.0, end = o->lr / 1e4;
        if (t < warm)
            return lo + (o->lr - lo) * t / warm;
        double u = (t - warm) / (1.0 - warm);
        return end + (o->lr - end) * 0.5 * (1.0 + cos(pi * u));
    }
    default:
        return o->lr;
    }
}

typedef struct adam_k {
    float lr, b1, b2, eps, c1, c2, d;
} adam_k;

/* The compiler will not vectorise sqrtf without -fno-math-errno (which
 * cannot be set per file here), so x86 gets the same IEEE operations
 * written with SSE2: per element the same sequence of correctly rounded
 * float operations as the scalar loop, hence the same bits. */
static void adam_range(float *restrict w, float *restrict m, float *restrict v, const float *restrict g, size_t n,
                       adam_k k)
{
    size_t j = 0;
#if defined(__SSE2__)
    const __m128 d = _mm_set1_ps(k.d), b1 = _mm_set1_ps(k.b1), b2 = _mm_set1_ps(k.b2);
    const __m128 ob1 = _mm_set1_ps(1.0f - k.b1), ob2 = _mm_set1_ps(1.0f - k.b2);
    const __m128 c1 = _mm_set1_ps(k.c1), c2 = _mm_set1_ps(k.c2), eps = _mm_set1_ps(k.eps), lr = _mm_set1_ps(k.lr);
    for (; j + 4 <= n; j += 4) {
        const __m128 wj = _mm_loadu_ps(w + j);
        const __m128 gj = _mm_add_ps(_mm_loadu_ps(g + j), _mm_mul_ps(d, wj));
        const __m128 mj = _mm_add_ps(_mm_mul_ps(b1, _mm_loadu_ps(m + j)), _mm_mul_ps(ob1, gj));
        const __m128 vj = _mm_add_ps(_mm_mul_ps(b2, _mm_loadu_ps(v + j)), _mm_mul_ps(_mm_mul_ps(ob2, gj), gj));
        _mm_storeu_ps(m + j, mj);
        _mm_storeu_ps(v + j, vj);
        const __m128 num = _mm_mul_ps(lr, _mm_mul_ps(mj, c1));
        const __m128 den = _mm_add_ps(_mm_sqrt_ps(_mm_mul_ps(vj, c2)), eps);
        _mm_storeu_ps(w + j, _mm_sub_ps(wj, _mm_div_ps(num, den)));
    }
#endif
    for (; j < n; j++) {
        const float gj = g[j] + k.d * w[j];
        const float mj = k.b1 * m[j] + (1.0f - k.b1) * gj;
        const float vj = k.b2 * v[j] + (1.0f - k.b2) * gj * gj;
        m[j] = mj;
        v[j] = vj;
        w[j] -= k.lr * (mj * k.c1) / (sqrtf(vj * k.c2) + k.eps);
    }
}

#define OPTIM_CHUNK 4096

void sparse__optim_step(sparse_net *net, const sparse_train_options *o, double lr)
{
    net->step++;
    const float flr = (float)lr, wd = (float)o->weight_decay;
    const float b1 = (float)o->beta1, b2 = (float)o->beta2, eps = (float)o->eps;
    const float mom = (float)o->momentum;
    const double t = (double)net->step;
    const float c1 = (float)(1.0 / (1.0 - pow(o->beta1, t)));
    const float c2 = (float)(1.0 / (1.0 - pow(o->beta2, t)));
    for (size_t i = 1; i < net->n_nodes; i++) {
        sparse__node *nd = &net->nodes[i];
        for (size_t k = 0; k < nd->n_params; k++) {
            sparse__param *p = &nd->params[k];
            if (!p->trainable)
                continue;
            float *w = p->w, *m = p->m, *v = p->v;
            const float *g = p->g;
            const float plr = p->lr_scale > 0.0f ? flr * p->lr_scale : flr;
            const float d = p->decay ? wd : 0.0f;
            const size_t n = p->n;
            const int nt = SPARSE__NT(net, n);
            if (o->optimizer == SPARSE_OPTIM_SGD) {
#pragma omp parallel for schedule(static) num_threads(nt)
                for (size_t j = 0; j < n; j++) {
                    float gj = g[j] + d * w[j];
                    m[j] = mom * m[j] + gj;
                    w[j] -= plr * m[j];
                }
            } else {
                const adam_k ak = {plr, b1, b2, eps, c1, c2, d};
                const size_t chunks = (n + OPTIM_CHUNK - 1) / OPTIM_CHUNK;
#pragma omp parallel for schedule(static) num_threads(nt)
                for (size_t ch = 0; ch < chunks; ch++) {
                    const size_t j0 = ch * OPTIM_CHUNK, len = n - j0 < OPTIM_CHUNK ? n - j0 : OPTIM_CHUNK;
                    adam_range(w + j0, m + j0, v + j0, g + j0, len, ak);
                }
            }
            if (p->mask)
                for (size_t j = 0; j < n; j++)
                    w[j] *= p->mask[j];
        }
    }
}
