// Elementwise kernels around the convolutions. Each is compiled three times (baseline,
// AVX2+FMA, AVX-512) from one body and the variant is picked once from cpuid, capped by
// RESTORE_ISA (see rk_isa in onednn.c).
#include "ckernels.h"
#include <string.h>

int rk_cpu_isa_detect(void) {
    __builtin_cpu_init();
    int isa = 0;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) isa = 1;
    if (isa == 1 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")) isa = 2;
    if (isa == 2 && __builtin_cpu_supports("avx512bf16")) isa = 3;
    return isa;
}

#define T_AVX2 __attribute__((target("avx2,fma")))
// The AVX-512 variants use 512-bit (zmm) vectors: SwiftPM's default (generic) tuning
// prefers the widest the target attribute enables, and min_vector_width(512) keeps them
// legal when a build adds -mtune for a CPU that prefers 256-bit ones. It replaces the
// -mprefer-vector-width=512 flag, which a package used as a dependency may not pass; with
// the default tuning the object code is identical to the flag's.
#define T_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma"), min_vector_width(512)))

/// Defines name_generic/_avx2/_avx512 from one body and a dispatcher `name`.
#define MULTI(ret, name, params, args, ...)                                    \
    static ret name##_generic params __VA_ARGS__                                   \
    T_AVX2 static ret name##_avx2 params __VA_ARGS__                               \
    T_AVX512 static ret name##_avx512 params __VA_ARGS__                           \
    ret name params {                                                          \
        int isa = rk_isa();                                                    \
        if (isa >= 2) return name##_avx512 args;                               \
        if (isa == 1) return name##_avx2 args;                                 \
        return name##_generic args;                                            \
    }

static inline __attribute__((always_inline)) uint16_t bf16_rne(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static inline __attribute__((always_inline)) float lrelu1(float v, float s) { return v < 0 ? v * s : v; }

MULTI(void, rk_lrelu, (float *restrict t, float *restrict copy, const float *restrict x, size_t n, float slope),
      (t, copy, x, n, slope), {
    if (copy) {
        for (size_t i = 0; i < n; i++) { float v = x[i]; copy[i] = v; t[i] = lrelu1(v, slope); }
    } else {
        for (size_t i = 0; i < n; i++) t[i] = lrelu1(x[i], slope);
    }
})

MULTI(void, rk_lrelu_bf16, (uint16_t *restrict t, const float *restrict x, size_t n, float slope), (t, x, n, slope), {
    for (size_t i = 0; i < n; i++) t[i] = bf16_rne(lrelu1(x[i], slope));
})

MULTI(void, rk_to_bf16, (uint16_t *restrict t, const float *restrict x, size_t n), (t, x, n), {
    for (size_t i = 0; i < n; i++) t[i] = bf16_rne(x[i]);
})

MULTI(void, rk_add, (float *restrict acc, const float *restrict x, size_t n), (acc, x, n), {
    for (size_t i = 0; i < n; i++) acc[i] += x[i];
})

MULTI(void, rk_add_scale_lrelu, (float *dst, const float *a, const float *restrict b, size_t n, float scale, float slope),
      (dst, a, b, n, scale, slope), {
    for (size_t i = 0; i < n; i++) dst[i] = lrelu1((a[i] + b[i]) * scale, slope);
})

MULTI(void, rk_add_scale_lrelu_bf16, (uint16_t *restrict dst, const float *restrict a, const float *restrict b, size_t n,
                                      float scale, float slope),
      (dst, a, b, n, scale, slope), {
    for (size_t i = 0; i < n; i++) dst[i] = bf16_rne(lrelu1((a[i] + b[i]) * scale, slope));
})

/// The single-output convolution (conv_post): within a channel block the taps of output t
/// are one contiguous run x[cb][(t−pad)·B ..< (t−pad+k)·B], so each output is a sum of dot
/// products of the permuted weights with a sliding window; 8 lanes accumulate apart.
MULTI(void, rk_conv_out1, (float *restrict out, const float *restrict x, int length, int rows, int channels, int block,
                           const float *restrict w, int kernel, int pad, float bias, float in_slope),
      (out, x, length, rows, channels, block, w, kernel, pad, bias, in_slope), {
    const int kb = kernel * block, nb = channels / block;
    for (int t = 0; t < length; t++) {
        int lo = t - pad;
        float s = bias;
        if (lo >= 0 && lo + kernel <= length && (kb % 8) == 0) {
            float acc[8] = {0};
            for (int cb = 0; cb < nb; cb++) {
                const float *xs = x + ((size_t)cb * rows + lo) * block, *ws = w + (size_t)cb * kb;
                for (int m = 0; m < kb; m += 8)
                    for (int l = 0; l < 8; l++) acc[l] += ws[m + l] * lrelu1(xs[m + l], in_slope);
            }
            for (int l = 0; l < 8; l++) s += acc[l];
        } else {
            for (int cb = 0; cb < nb; cb++)
                for (int j = 0; j < kernel; j++) {
                    int p = lo + j;
                    if (p < 0 || p >= length) continue;
                    for (int l = 0; l < block; l++)
                        s += w[((size_t)cb * kernel + j) * block + l] * lrelu1(x[((size_t)cb * rows + p) * block + l], in_slope);
                }
        }
        out[t] = s;
    }
})

MULTI(void, rk_blocked_to_nwc, (float *restrict dst, const float *restrict src, int rows, int channels, int block),
      (dst, src, rows, channels, block), {
    const int nb = channels / block;
    for (int cb = 0; cb < nb; cb++)
        for (int t = 0; t < rows; t++)
            for (int l = 0; l < block; l++) dst[(size_t)t * channels + cb * block + l] = src[((size_t)cb * rows + t) * block + l];
})

MULTI(void, rk_nwc_to_blocked, (float *restrict dst, const float *restrict src, int rows, int channels, int block),
      (dst, src, rows, channels, block), {
    const int nb = channels / block;
    for (int cb = 0; cb < nb; cb++)
        for (int t = 0; t < rows; t++)
            for (int l = 0; l < block; l++) dst[((size_t)cb * rows + t) * block + l] = src[(size_t)t * channels + cb * block + l];
})

/// e^x, Cephes-style (the same reduction and polynomial as VectorMath.exp in Swift):
/// written branch-free so the loops around it vectorise. 0 below −87.3.
static inline __attribute__((always_inline)) float exp_ce(float x0) {
    float x = x0 < -87.3f ? -87.3f : (x0 > 88.3f ? 88.3f : x0);
    const float magic = 12582912.0f;
    float shifted = x * 1.44269504088896341f + magic;
    float n = shifted - magic;
    float r = x - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    int32_t si;
    memcpy(&si, &shifted, 4);
    int32_t bits = (si - 0x4B400000 + 127) << 23;
    float scale;
    memcpy(&scale, &bits, 4);
    float y = p * scale;
    return x0 < -87.3f ? 0.0f : y;
}

/// GELU, exact form x·Φ(x) with erf from Abramowitz & Stegun 7.1.26 (as Activation.geluErf).
MULTI(void, rk_gelu_erf, (float *restrict p, size_t n), (p, n), {
    for (size_t i = 0; i < n; i++) {
        float x = p[i], z = x * 0.70710678118654752f;
        float a = z < 0 ? -z : z;
        float t = 1.0f / (1.0f + 0.3275911f * a);
        float q = 1.061405429f;
        q = q * t - 1.453152027f;
        q = q * t + 1.421413741f;
        q = q * t - 0.284496736f;
        q = q * t + 0.254829592f;
        float e = 1.0f - q * t * exp_ce(-a * a);
        e = z < 0 ? -e : e;
        p[i] = 0.5f * x * (1.0f + e);
    }
})

/// Softmax over each contiguous row (max-subtracted; an all −∞ row becomes all zero).
/// Reductions run in 16 independent lanes so they vectorise without reassociation flags.
MULTI(void, rk_softmax_rows, (float *restrict p, int rows, int cols), (p, rows, cols), {
    const int full = cols & ~15;
    for (int r = 0; r < rows; r++) {
        float *row = p + (size_t)r * cols;
        float mv[16];
        for (int l = 0; l < 16; l++) mv[l] = -__builtin_inff();
        for (int j = 0; j < full; j += 16)
            for (int l = 0; l < 16; l++) mv[l] = row[j + l] > mv[l] ? row[j + l] : mv[l];
        float m = -__builtin_inff();
        for (int l = 0; l < 16; l++) m = mv[l] > m ? mv[l] : m;
        for (int j = full; j < cols; j++) m = row[j] > m ? row[j] : m;
        if (m == -__builtin_inff()) m = 0;
        for (int j = 0; j < cols; j++) row[j] = exp_ce(row[j] - m);
        float sv[16] = {0};
        for (int j = 0; j < full; j += 16)
            for (int l = 0; l < 16; l++) sv[l] += row[j + l];
        float s = 0;
        for (int l = 0; l < 16; l++) s += sv[l];
        for (int j = full; j < cols; j++) s += row[j];
        float inv = s > 0 ? 1.0f / s : 0.0f;
        for (int j = 0; j < cols; j++) row[j] *= inv;
    }
})
