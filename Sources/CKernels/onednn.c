// oneDNN 2.6 C API wrapper: one engine, a stream per thread, convolution primitives
// over channels-last activations with their weights reordered once at creation.
#include "ckernels.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <oneapi/dnnl/dnnl.h>

int rk_cpu_isa_detect(void);   // kernels.c

static dnnl_engine_t g_engine;
static int g_isa;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void init_once(void) {
    int isa = rk_cpu_isa_detect();
    const char *env = getenv("RESTORE_ISA");
    if (env && (strcmp(env, "avx2") == 0 || strcmp(env, "AVX2") == 0)) {
        if (isa > 1) isa = 1;
        dnnl_set_max_cpu_isa(dnnl_cpu_isa_avx2);
    } else if (env && (strcmp(env, "avx512") == 0 || strcmp(env, "AVX512") == 0)) {
        if (isa > 2) isa = 2;
        dnnl_set_max_cpu_isa(dnnl_cpu_isa_avx512_core);
    }
    g_isa = isa;
    if (dnnl_engine_create(&g_engine, dnnl_cpu, 0) != dnnl_success) g_engine = NULL;
}

int rk_isa(void) { pthread_once(&g_once, init_once); return g_isa; }

const char *rk_isa_name(void) {
    switch (rk_isa()) {
    case 3: return "avx512_bf16";
    case 2: return "avx512";
    case 1: return "avx2";
    default: return "generic";
    }
}

typedef void (*omp_set_fn)(int);
static omp_set_fn g_omp_set;
static pthread_once_t g_omp_once = PTHREAD_ONCE_INIT;
static void find_omp_set(void) { g_omp_set = (omp_set_fn)dlsym(RTLD_DEFAULT, "omp_set_num_threads"); }

void rk_set_omp_threads(int n) {
    // libgomp comes with libdnnl; looked up (once, for every thread) rather than linked so
    // no -lgomp is needed. omp_set_num_threads sets the calling thread's own value.
    pthread_once(&g_omp_once, find_omp_set);
    if (g_omp_set) g_omp_set(n < 1 ? 1 : n);
}

static __thread dnnl_stream_t tls_stream;
static dnnl_stream_t thread_stream(void) {
    if (!tls_stream) dnnl_stream_create(&tls_stream, g_engine, dnnl_stream_default_flags);
    return tls_stream;
}

struct rk_conv {
    dnnl_primitive_t prim;
    dnnl_memory_desc_t src_md, dst_md;
    dnnl_memory_t wei, bias;
    int out_length;
    size_t scratch_bytes;
    dnnl_memory_desc_t scratch_md;
    char impl[96];
};

static dnnl_format_tag_t tag_for(int block, int channels) {
    if (block == 16 && channels % 16 == 0) return dnnl_nChw16c;
    if (block == 8 && channels % 8 == 0) return dnnl_nChw8c;
    return dnnl_nhwc;
}

#define CHECK(call, what) do { dnnl_status_t s_ = (call); if (s_ != dnnl_success) { \
    snprintf(err, errlen, "oneDNN %s failed (status %d)", what, (int)s_); goto fail; } } while (0)

rk_conv *rk_conv_create(const rk_conv_desc *d, const float *weight, const float *bias, char *err, int errlen) {
    if (rk_isa() < 0 || !g_engine) { snprintf(err, errlen, "no oneDNN CPU engine"); return NULL; }
    rk_conv *c = calloc(1, sizeof *c);
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t ops = NULL;
    dnnl_primitive_desc_t pd = NULL, rpd = NULL;
    dnnl_primitive_t reorder = NULL;
    dnnl_memory_t user_w = NULL, user_b = NULL;
    int lout;
    int dil = d->dilation - 1;
    if (d->transposed)
        lout = (d->length - 1) * d->stride - d->pad_left - d->pad_right + (d->kernel - 1) * d->dilation + 1;
    else
        lout = (d->length + d->pad_left + d->pad_right - d->dilation * (d->kernel - 1) - 1) / d->stride + 1;
    if (lout <= 0) { snprintf(err, errlen, "input of length %d is too short", d->length); free(c); return NULL; }
    c->out_length = lout;
    dnnl_dims_t src_dims = {1, d->cin, 1, d->length}, dst_dims = {1, d->cout, 1, lout};
    dnnl_dims_t w_dims = {d->cout, d->cin, 1, d->kernel}, b_dims = {d->cout};
    dnnl_data_type_t st = d->src_bf16 ? dnnl_bf16 : dnnl_f32, dt = d->dst_bf16 ? dnnl_bf16 : dnnl_f32;
    dnnl_data_type_t wt = d->wei_bf16 ? dnnl_bf16 : dnnl_f32;
    dnnl_memory_desc_t w_any, b_md, w_user, b_user;
    CHECK(dnnl_memory_desc_init_by_tag(&c->src_md, 4, src_dims, st, tag_for(d->block, d->cin)), "src md");
    CHECK(dnnl_memory_desc_init_by_tag(&c->dst_md, 4, dst_dims, dt, tag_for(d->block, d->cout)), "dst md");
    CHECK(dnnl_memory_desc_init_by_tag(&w_any, 4, w_dims, wt, dnnl_format_tag_any), "weights md");
    CHECK(dnnl_memory_desc_init_by_tag(&b_md, 1, b_dims, dnnl_f32, dnnl_a), "bias md");
    CHECK(dnnl_memory_desc_init_by_tag(&w_user, 4, w_dims, dnnl_f32, d->transposed ? dnnl_iohw : dnnl_oihw), "user weights md");
    b_user = b_md;
    dnnl_dims_t strides = {1, d->stride}, dilates = {0, dil}, pl = {0, d->pad_left}, pr = {0, d->pad_right};
    CHECK(dnnl_primitive_attr_create(&attr), "attr");
    CHECK(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "scratchpad mode");
    if (d->post_sum || d->post_lrelu) {
        CHECK(dnnl_post_ops_create(&ops), "post-ops");
        if (d->post_sum) CHECK(dnnl_post_ops_append_sum(ops, 1.0f), "sum post-op");
        if (d->post_lrelu) CHECK(dnnl_post_ops_append_eltwise(ops, 1.0f, dnnl_eltwise_relu, d->lrelu_slope, 0.0f), "eltwise post-op");
        CHECK(dnnl_primitive_attr_set_post_ops(attr, ops), "set post-ops");
    }
    if (d->transposed) {
        dnnl_deconvolution_desc_t dd;
        CHECK(dnnl_dilated_deconvolution_forward_desc_init(&dd, dnnl_forward_inference, dnnl_deconvolution_direct,
              &c->src_md, &w_any, bias ? &b_md : NULL, &c->dst_md, strides, dilates, pl, pr), "deconvolution desc");
        CHECK(dnnl_primitive_desc_create(&pd, &dd, attr, g_engine, NULL), "deconvolution primitive desc");
    } else {
        dnnl_convolution_desc_t cd;
        CHECK(dnnl_dilated_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_direct,
              &c->src_md, &w_any, bias ? &b_md : NULL, &c->dst_md, strides, dilates, pl, pr), "convolution desc");
        CHECK(dnnl_primitive_desc_create(&pd, &cd, attr, g_engine, NULL), "convolution primitive desc");
    }
    const char *impl = NULL;
    if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success && impl)
        snprintf(c->impl, sizeof c->impl, "%s", impl);
    const dnnl_memory_desc_t *wmd = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    const dnnl_memory_desc_t *smd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    if (smd) { c->scratch_md = *smd; c->scratch_bytes = dnnl_memory_desc_get_size(smd); }
    // Weights: user layout → the primitive's (blocked, maybe bf16) layout, once.
    CHECK(dnnl_memory_create(&c->wei, wmd, g_engine, DNNL_MEMORY_ALLOCATE), "weights memory");
    CHECK(dnnl_memory_create(&user_w, &w_user, g_engine, (void *)weight), "user weights memory");
    CHECK(dnnl_reorder_primitive_desc_create(&rpd, &w_user, g_engine, wmd, g_engine, NULL), "weights reorder desc");
    CHECK(dnnl_primitive_create(&reorder, rpd), "weights reorder");
    {
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, user_w}, {DNNL_ARG_TO, c->wei}};
        CHECK(dnnl_primitive_execute(reorder, thread_stream(), 2, args), "weights reorder run");
        dnnl_stream_wait(thread_stream());
    }
    if (bias) {
        CHECK(dnnl_memory_create(&c->bias, &b_md, g_engine, DNNL_MEMORY_ALLOCATE), "bias memory");
        void *h = NULL;
        dnnl_memory_get_data_handle(c->bias, &h);
        memcpy(h, bias, sizeof(float) * (size_t)d->cout);
    }
    CHECK(dnnl_primitive_create(&c->prim, pd), "primitive");
    dnnl_primitive_destroy(reorder);
    dnnl_primitive_desc_destroy(rpd);
    dnnl_primitive_desc_destroy(pd);
    dnnl_memory_destroy(user_w);
    if (ops) dnnl_post_ops_destroy(ops);
    dnnl_primitive_attr_destroy(attr);
    (void)b_user; (void)user_b;
    return c;
fail:
    if (reorder) dnnl_primitive_destroy(reorder);
    if (rpd) dnnl_primitive_desc_destroy(rpd);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (user_w) dnnl_memory_destroy(user_w);
    if (ops) dnnl_post_ops_destroy(ops);
    if (attr) dnnl_primitive_attr_destroy(attr);
    rk_conv_destroy(c);
    return NULL;
}

void rk_conv_destroy(rk_conv *c) {
    if (!c) return;
    if (c->prim) dnnl_primitive_destroy(c->prim);
    if (c->wei) dnnl_memory_destroy(c->wei);
    if (c->bias) dnnl_memory_destroy(c->bias);
    free(c);
}

int rk_conv_out_length(const rk_conv *c) { return c->out_length; }
size_t rk_conv_scratchpad_bytes(const rk_conv *c) { return c->scratch_bytes; }
const char *rk_conv_impl(const rk_conv *c) { return c->impl; }

int rk_conv_run(const rk_conv *c, const void *src, void *dst, void *scratchpad) {
    dnnl_memory_t s = NULL, o = NULL, sp = NULL;
    int rc = 1;
    if (dnnl_memory_create(&s, &c->src_md, g_engine, (void *)src) != dnnl_success) goto out;
    if (dnnl_memory_create(&o, &c->dst_md, g_engine, dst) != dnnl_success) goto out;
    dnnl_exec_arg_t args[5];
    int n = 0;
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SRC, s};
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, c->wei};
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_DST, o};
    if (c->bias) args[n++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, c->bias};
    if (c->scratch_bytes) {
        if (dnnl_memory_create(&sp, &c->scratch_md, g_engine, scratchpad) != dnnl_success) goto out;
        args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, sp};
    }
    dnnl_stream_t st = thread_stream();
    if (dnnl_primitive_execute(c->prim, st, n, args) != dnnl_success) goto out;
    dnnl_stream_wait(st);
    rc = 0;
out:
    if (s) dnnl_memory_destroy(s);
    if (o) dnnl_memory_destroy(o);
    if (sp) dnnl_memory_destroy(sp);
    return rc;
}

int rk_sgemm(int transA, int transB, long m, long n, long k, float alpha, const float *a, long lda,
             const float *b, long ldb, float beta, float *c, long ldc) {
    rk_isa();
    return dnnl_sgemm(transA ? 'T' : 'N', transB ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) == dnnl_success ? 0 : 1;
}
