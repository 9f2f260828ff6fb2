/* Reference int8 kernels: plain loops, int32 accumulators, the rounding
 * rules of TFLite's reference kernels. Written for clarity and exactness,
 * not speed. */
#include <string.h>

#include "quant_internal.h"

static int8_t clamp8(int32_t v, int32_t lo, int32_t hi)
{
    return (int8_t)(v < lo ? lo : v > hi ? hi : v);
}

void sparse__q_conv(const sparse__qconv *p, const int8_t *x, int8_t *y)
{
    const size_t k = p->k, cin_g = p->in_c / p->groups, cout_g = p->out_c / p->groups;
    const ptrdiff_t H = (ptrdiff_t)p->in_h, W = (ptrdiff_t)p->in_w;
    for (size_t o = 0; o < p->out_c; o++) {
        const size_t g = o / cout_g;
        const int8_t *wo = p->w + o * cin_g * k * k;
        for (size_t oy = 0; oy < p->out_h; oy++)
            for (size_t ox = 0; ox < p->out_w; ox++) {
                int32_t acc = 0;
                const ptrdiff_t y0 = (ptrdiff_t)(oy * p->stride) - (ptrdiff_t)p->pad_top;
                const ptrdiff_t x0 = (ptrdiff_t)(ox * p->stride) - (ptrdiff_t)p->pad_left;
                for (size_t ci = 0; ci < cin_g; ci++) {
                    const int8_t *xc = x + (g * cin_g + ci) * p->in_h * p->in_w;
                    const int8_t *wc = wo + ci * k * k;
                    for (size_t ky = 0; ky < k; ky++) {
                        const ptrdiff_t iy = y0 + (ptrdiff_t)ky;
                        if (iy < 0 || iy >= H)
                            continue;
                        for (size_t kx = 0; kx < k; kx++) {
                            const ptrdiff_t ix = x0 + (ptrdiff_t)kx;
                            if (ix < 0 || ix >= W)
                                continue;
                            acc += (int32_t)wc[ky * k + kx] * ((int32_t)xc[iy * W + ix] - p->in_zp);
                        }
                    }
                }
                if (p->bias)
                    acc += p->bias[o];
                acc = sparse__q_mul(acc, p->mult[o], p->shift[o]) + p->out_zp;
                y[(o * p->out_h + oy) * p->out_w + ox] = clamp8(acc, p->act_min, p->act_max);
            }
    }
}

void sparse__q_maxpool(const sparse__qpool *p, const int8_t *x, int8_t *y)
{
    const size_t dr = p->depth_rate ? p->depth_rate : 1, plane = p->in_h * p->in_w;
    for (size_t c = 0; c < p->out_c; c++)
        for (size_t oy = 0; oy < p->out_h; oy++)
            for (size_t ox = 0; ox < p->out_w; ox++) {
                int32_t best = INT8_MIN;
                for (size_t d = 0; d < dr; d++) {
                    const int8_t *xc = x + (c * dr + d) * plane;
                    for (size_t ky = 0; ky < p->k; ky++)
                        for (size_t kx = 0; kx < p->k; kx++) {
                            int32_t v = xc[(oy * p->stride + ky) * p->in_w + ox * p->stride + kx];
                            if (v > best)
                                best = v;
                        }
                }
                y[(c * p->out_h + oy) * p->out_w + ox] = clamp8(best, p->act_min, p->act_max);
            }
}

void sparse__q_avgpool(const sparse__qpool *p, const int8_t *x, int8_t *y)
{
    const int32_t n = (int32_t)(p->k * p->k);
    for (size_t c = 0; c < p->out_c; c++) {
        const int8_t *xc = x + c * p->in_h * p->in_w;
        for (size_t oy = 0; oy < p->out_h; oy++)
            for (size_t ox = 0; ox < p->out_w; ox++) {
                int32_t acc = 0;
                for (size_t ky = 0; ky < p->k; ky++)
                    for (size_t kx = 0; kx < p->k; kx++)
                        acc += xc[(oy * p->stride + ky) * p->in_w + ox * p->stride + kx];
                /* TFLite: round half away from zero. */
                acc = acc > 0 ? (acc + n / 2) / n : (acc - n / 2) / n;
                y[(c * p->out_h + oy) * p->out_w + ox] = clamp8(acc, p->act_min, p->act_max);
            }
    }
}

void sparse__q_add_prepare(sparse__qadd *p, const double *in_scale, double out_scale)
{
    double mx = 0.0;
    for (size_t i = 0; i < p->n_in; i++)
        if (in_scale[i] > mx)
            mx = in_scale[i];
    const double twice = 2.0 * mx;
    /* TFLite's int8 ADD keeps 20 bits of headroom: 255 << 20 still fits. */
    p->left_shift = 20;
    for (size_t i = 0; i < p->n_in; i++)
        sparse__q_multiplier(in_scale[i] / twice, &p->in_mult[i], &p->in_shift[i]);
    sparse__q_multiplier(twice / ((double)(1 << p->left_shift) * out_scale), &p->out_mult, &p->out_shift);
}

void sparse__q_add(const sparse__qadd *p, const int8_t *const *x, int8_t *y)
{
    for (size_t j = 0; j < p->count; j++) {
        /* Each term is at most 255 * 2^20 / 2; int64 keeps up to eight exact. */
        int64_t sum = 0;
        for (size_t i = 0; i < p->n_in; i++) {
            int32_t v = ((int32_t)x[i][j] - p->in_zp[i]) * (1 << p->left_shift);
            sum += sparse__q_mul(v, p->in_mult[i], p->in_shift[i]);
        }
        if (sum > INT32_MAX)
            sum = INT32_MAX;
        else if (sum < INT32_MIN)
            sum = INT32_MIN;
        int32_t out = sparse__q_mul((int32_t)sum, p->out_mult, p->out_shift) + p->out_zp;
        y[j] = clamp8(out, p->act_min, p->act_max);
    }
}

void sparse__q_concat_prepare(sparse__qconcat *p, const double *in_scale, double out_scale)
{
    for (size_t i = 0; i < p->n_in; i++) {
        p->same[i] = in_scale[i] == out_scale && p->in_zp[i] == p->out_zp;
        sparse__q_multiplier(in_scale[i] / out_scale, &p->mult[i], &p->shift[i]);
    }
}

void sparse__q_concat(const sparse__qconcat *p, const int8_t *const *x, int8_t *y)
{
    for (size_t i = 0; i < p->n_in; i++) {
        for (size_t j = 0; j < p->count[i]; j++) {
            int32_t v = p->same[i] ? x[i][j]
                                   : sparse__q_mul((int32_t)x[i][j] - p->in_zp[i], p->mult[i], p->shift[i]) +
                                         p->out_zp;
            y[j] = clamp8(v, p->act_min, p->act_max);
        }
        y += p->count[i];
    }
}

void sparse__q_relu(size_t count, int32_t zero_point, const int8_t *x, int8_t *y)
{
    for (size_t j = 0; j < count; j++)
        y[j] = clamp8(x[j], zero_point, INT8_MAX);
}
