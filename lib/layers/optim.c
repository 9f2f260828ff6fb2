/* Optimisers (SGD with momentum, Adam; L2 weight decay on conv/FC weights)
 * and learning-rate schedules. State lives in the parameters (m, v). */
#include <math.h>

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
        lnode *nd = &net->nodes[i];
        for (size_t k = 0; k < nd->n_params; k++) {
            lparam *p = &nd->params[k];
            if (!p->trainable)
                continue;
            float *w = p->w, *m = p->m, *v = p->v;
            const float *g = p->g;
            const float d = p->decay ? wd : 0.0f;
            const size_t n = p->n;
            if (o->optimizer == SPARSE_OPTIM_SGD) {
                for (size_t j = 0; j < n; j++) {
                    float gj = g[j] + d * w[j];
                    m[j] = mom * m[j] + gj;
                    w[j] -= flr * m[j];
                }
            } else {
                for (size_t j = 0; j < n; j++) {
                    float gj = g[j] + d * w[j];
                    m[j] = b1 * m[j] + (1.0f - b1) * gj;
                    v[j] = b2 * v[j] + (1.0f - b2) * gj * gj;
                    w[j] -= flr * (m[j] * c1) / (sqrtf(v[j] * c2) + eps);
                }
            }
            if (p->mask)
                for (size_t j = 0; j < n; j++)
                    w[j] *= p->mask[j];
        }
    }
}
