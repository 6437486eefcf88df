// restore's C kernels: a thin wrapper over oneDNN's C API (Debian libdnnl-dev 2.6) for
// the vocoder's convolutions and matmuls, and elementwise kernels compiled for AVX2 and
// AVX-512 and chosen at run time from cpuid (RESTORE_ISA=avx2 forces the AVX2 paths,
// in oneDNN too).
#ifndef RESTORE_CKERNELS_H
#define RESTORE_CKERNELS_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// ---- run time ----------------------------------------------------------------------
/// Reads RESTORE_ISA once (avx2 | avx512 | unset) and caps oneDNN's ISA to match.
/// Returns the ISA in use: 1 = AVX2 (or lower), 2 = AVX-512, 3 = AVX-512 with BF16.
int rk_isa(void);
/// Name of the ISA in use ("avx2", "avx512", "avx512_bf16").
const char *rk_isa_name(void);
/// OpenMP threads oneDNN may use for calls made from the current thread.
void rk_set_omp_threads(int n);

// ---- oneDNN convolutions over channels-last (time, channels) activations ------------
typedef struct rk_conv rk_conv;

typedef struct {
    int transposed;                  // 0 convolution, 1 transposed convolution
    int cin, cout, kernel, stride, dilation;
    int pad_left, pad_right;
    int length;                      // input time steps
    int src_bf16, dst_bf16, wei_bf16;
    int post_sum;                    // dst = conv + bias + dst (before the eltwise)
    int post_lrelu;                  // then leaky ReLU with lrelu_slope
    float lrelu_slope;
    int block;                       // activations in blocks of 8 or 16 channels (oneDNN nCw8c/nCw16c), 0 = channels-last
} rk_conv_desc;

/// weight in PyTorch layout: (out, in, k) for convolutions, (in, out, k) transposed.
/// NULL on failure, with a message in err.
rk_conv *rk_conv_create(const rk_conv_desc *d, const float *weight, const float *bias, char *err, int errlen);
void rk_conv_destroy(rk_conv *c);
int rk_conv_out_length(const rk_conv *c);
size_t rk_conv_scratchpad_bytes(const rk_conv *c);
const char *rk_conv_impl(const rk_conv *c);
/// src (length, cin), dst (out_length, cout), both dense channels-last; 0 on success.
int rk_conv_run(const rk_conv *c, const void *src, void *dst, void *scratchpad);

// ---- matmul: C(m×n) = A(m×k)·B(k×n)ᵀ-or-not + bias, row-major, oneDNN sgemm -----------
/// Row-major sgemm through oneDNN (AVX-512 JIT kernels); 0 on success.
int rk_sgemm(int transA, int transB, long m, long n, long k, float alpha, const float *a, long lda,
             const float *b, long ldb, float beta, float *c, long ldc);

// ---- elementwise kernels (AVX2 / AVX-512 by cpuid) ---------------------------------
/// t = lrelu(x); if copy != NULL, copy = x.
void rk_lrelu(float *t, float *copy, const float *x, size_t n, float slope);
/// bf16 t = lrelu(x) (round to nearest even).
void rk_lrelu_bf16(uint16_t *t, const float *x, size_t n, float slope);
/// acc += x
void rk_add(float *acc, const float *x, size_t n);
/// x = lrelu((a + b) · scale) written to dst (dst may alias a)
void rk_add_scale_lrelu(float *dst, const float *a, const float *b, size_t n, float scale, float slope);
/// bf16 dst = lrelu((a + b) · scale)
void rk_add_scale_lrelu_bf16(uint16_t *dst, const float *a, const float *b, size_t n, float scale, float slope);
/// GELU (erf form) in place.
void rk_gelu_erf(float *p, size_t n);
/// Softmax over each contiguous row of `cols`, in place.
void rk_softmax_rows(float *p, int rows, int cols);
/// [channels/block][rows][block] → (rows, channels) and back (f32).
void rk_blocked_to_nwc(float *dst, const float *src, int rows, int channels, int block);
void rk_nwc_to_blocked(float *dst, const float *src, int rows, int channels, int block);
/// f32 → bf16 (round to nearest even)
void rk_to_bf16(uint16_t *dst, const float *x, size_t n);
/// The one-output-channel convolution: out[t] = bias + Σ_cb Σ_j Σ_l w[(cb·kernel + j)·block + l]
/// · lrelu(x[cb][t + j − pad][l]) for 0 ≤ t < length, x zero outside [0, length). x is laid
/// out in channel blocks [channels/block][rows][block] (block = channels: channels-last).
void rk_conv_out1(float *out, const float *x, int length, int rows, int channels, int block, const float *w,
                  int kernel, int pad, float bias, float in_slope);

#ifdef __cplusplus
}
#endif
#endif
