// The CUDA kernels of the network's layers, launched on a stream from host code. Tensors are
// NCHW float in device memory; backward kernels carry T cotangents at once (gradients
// [T, N, C, H, W], saved activations [N, C, H, W]) with the cotangent as grid.y, as the CPU
// kernels do (kernels/cpu/cpu_kernels.hpp). Data-gradient kernels take `accumulate`: false
// overwrites dx, true adds to it.
//
// Forward values follow the CPU kernels' arithmetic operation by operation (the same
// accumulation order, and multiply-adds fused exactly where the CPU build fuses them:
// cpu_madd in layer_math.hpp), so that the signs of ReLU inputs, and with them linear-region
// counts, are the CPU's.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/common/geometry.hpp"

namespace micronas::cuda {

// --- conv2d.cu: no bias, weight [cout, cin, k, k] ---
void conv2d_forward(const ConvGeometry& g, int batch, const float* x, const float* w, float* y,
                    cudaStream_t stream);
// dx (+)= conv_transpose(dy, w), masked by [relu_input > 0] when relu_input is not null (the
// backward of a ReLU feeding this conv, fused).
void conv2d_backward_data(const ConvGeometry& g, int cotangents, int batch, const float* dy,
                          const float* w, const float* relu_input, float* dx, bool accumulate,
                          cudaStream_t stream);
// dw[t] = Σ_n correlate(dy[t, n], x[n]) at dw + t * dw_stride. Kernel sizes 1, 3, 5, 7.
void conv2d_backward_weight(const ConvGeometry& g, int cotangents, int batch, const float* dy,
                            const float* x, float* dw, std::int64_t dw_stride, cudaStream_t stream);

// --- batch_norm.cu: training mode, biased variance; statistics in double ---
void batch_norm_forward(int batch, int channels, int plane, const float* x, const float* gamma,
                        const float* beta, double eps, float* y, double* mean, double* invstd,
                        cudaStream_t stream);
// The output gradient is dy_scale · dy (a node sum's 1/k, for a scaled alias).
void batch_norm_backward(int cotangents, int batch, int channels, int plane, const float* dy,
                         double dy_scale, const float* x, const double* mean, const double* invstd,
                         const float* gamma, float* dx, bool accumulate, float* dgamma,
                         float* dbeta, std::int64_t dparam_stride, cudaStream_t stream);

// --- pooling.cu: count_include_pad = false ---
void avg_pool_forward(const PoolGeometry& g, int batch, const float* x, float* y,
                      cudaStream_t stream);
// The output gradient is dy_scale · dy.
void avg_pool_backward(const PoolGeometry& g, int cotangents, int batch, const float* dy,
                       float dy_scale, float* dx, bool accumulate, cudaStream_t stream);
void global_avg_pool_forward(int batch, int channels, int plane, const float* x, float* y,
                             cudaStream_t stream);
void global_avg_pool_backward(int cotangents, int batch, int channels, int plane, const float* dy,
                              float* dx, bool accumulate, cudaStream_t stream);

// --- linear.cu: weight [out, in], bias [out]; dot products in double ---
void linear_forward(int batch, int in, int out, const float* x, const float* w, const float* b,
                    float* y, cudaStream_t stream);
void linear_backward_data(int cotangents, int batch, int in, int out, const float* dy,
                          const float* w, float* dx, bool accumulate, cudaStream_t stream);
void linear_backward_params(int cotangents, int batch, int in, int out, const float* dy,
                            const float* x, float* dw, float* db, std::int64_t dparam_stride,
                            cudaStream_t stream);

// --- elementwise.cu ---
void relu_forward(std::int64_t n, const float* x, float* y, cudaStream_t stream);
// dx[t, i] (+)= [x[i] > 0] dy[t, i] for i < n (n: elements of one forward tensor).
void relu_backward(int cotangents, std::int64_t n, const float* dy, const float* x, float* dx,
                   bool accumulate, cudaStream_t stream);
// y (+)= scale · x over n elements.
void scaled_add(std::int64_t n, float scale, const float* x, float* y, bool accumulate,
                cudaStream_t stream);
// hash[2n], hash[2n + 1] = the pattern hash's seeds (kernels/common/pattern_hash.hpp).
void pattern_hash_init(int batch, std::uint64_t* hash, cudaStream_t stream);
// y = ReLU(x), and each sample's bits [x > 0] folded into its hash: one segment per call.
void relu_forward_pattern_hash(int batch, std::int64_t per_sample, const float* x, float* y,
                               std::uint64_t* hash, cudaStream_t stream);
// The Jacobian's cotangents: dlogits[t, n, c] = [n == t].
void jacobian_seed(int batch, int classes, float* dlogits, cudaStream_t stream);
// J[t, j] = dparams[t, source[j]] in fp32 and fp64.
void gather_jacobian(int rows, std::int64_t cols, std::int64_t params, const float* dparams,
                     const int* source, float* jacobian, double* jacobian64, cudaStream_t stream);

// --- gram.cu ---
// *flag = 1 if any of the n values is NaN or Inf, else 0.
void flag_non_finite(std::int64_t n, const double* values, int* flag, cudaStream_t stream);

}  // namespace micronas::cuda
