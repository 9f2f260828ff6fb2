/* Host side of the int8 arithmetic: real scales to the kernels' integer
 * multipliers and shifts (TFLite's rules, see quant_internal.h). The
 * integer arithmetic itself is int8_kernels.c's. */
#include <math.h>

#include "quant_internal.h"

void sparse__q_multiplier(double real, int32_t *m, int *shift)
{
    if (!(real > 0.0)) {
        *m = 0;
        *shift = 0;
        return;
    }
    int e = 0;
    double q = frexp(real, &e);
    int64_t qf = (int64_t)llround(q * (double)(1LL << 31));
    /* q in [0.5, 1) can round up to exactly 2^31. */
    if (qf == (1LL << 31)) {
        qf /= 2;
        e++;
    }
    if (e < -31) {
        qf = 0;
        e = 0;
    }
    *m = (int32_t)qf;
    *shift = e;
}

int8_t sparse__q_quantize(double real, double scale, int32_t zero_point)
{
    double v = round(real / scale) + (double)zero_point;
    if (!(v >= -128.0)) /* also NaN */
        v = -128.0;
    if (v > 127.0)
        v = 127.0;
    return (int8_t)v;
}

/* The kernels hold shifts as int8: every multiplier here is below 2^31
 * (scales of int8 tensors), so the shift is in [-31, 31]. */
static void multiplier8(double real, int32_t *m, int8_t *shift)
{
    int s = 0;
    sparse__q_multiplier(real, m, &s);
    *shift = (int8_t)(s > 31 ? 31 : s);
}

void sparse__q_add_prepare(sparse__q8_add_params *p, sparse__q8_add_input *in, const double *in_scale,
                           double out_scale)
{
    double mx = 0.0;
    for (size_t i = 0; i < p->n_in; i++)
        if (in_scale[i] > mx)
            mx = in_scale[i];
    const double twice = 2.0 * mx;
    for (size_t i = 0; i < p->n_in; i++)
        multiplier8(in_scale[i] / twice, &in[i].mult, &in[i].shift);
    multiplier8(twice / ((double)(1 << SPARSE_Q8_ADD_LEFT_SHIFT) * out_scale), &p->out_mult, &p->out_shift);
    p->in = in;
}

void sparse__q_concat_prepare(sparse__q8_concat_params *p, sparse__q8_concat_input *in,
                              const double *in_scale, double out_scale)
{
    for (size_t i = 0; i < p->n_in; i++) {
        in[i].same = in_scale[i] == out_scale && in[i].zp == p->out_zp;
        multiplier8(in_scale[i] / out_scale, &in[i].mult, &in[i].shift);
    }
    p->in = in;
}
