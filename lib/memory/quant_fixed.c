/* TFLite's fixed-point requantisation (see quant_internal.h). */
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

int32_t sparse__q_srdhm(int32_t a, int32_t b)
{
    if (a == b && a == INT32_MIN)
        return INT32_MAX;
    int64_t ab = (int64_t)a * (int64_t)b;
    int64_t nudge = ab >= 0 ? (1LL << 30) : (1 - (1LL << 30));
    /* C division truncates toward zero, as gemmlowp relies on. */
    return (int32_t)((ab + nudge) / (1LL << 31));
}

int32_t sparse__q_rdivpot(int32_t x, int exponent)
{
    const int32_t mask = (int32_t)((1LL << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    /* Arithmetic shift of a negative value: implementation-defined in C, an
     * arithmetic shift on every compiler libsparse supports (as in TFLite). */
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

int32_t sparse__q_mul(int32_t x, int32_t m, int shift)
{
    int left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
    int64_t xs = (int64_t)x * ((int64_t)1 << left);
    if (xs > INT32_MAX)
        xs = INT32_MAX;
    else if (xs < INT32_MIN)
        xs = INT32_MIN;
    if (right > 31)
        return 0;
    return sparse__q_rdivpot(sparse__q_srdhm((int32_t)xs, m), right);
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
