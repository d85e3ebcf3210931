// Training-mode batch norm: one block per channel for the statistics, one block per
// (cotangent, channel) for the backward through them. Sums are accumulated in double, as on the
// CPU; the order differs (a tree instead of a loop), which moves the fp64 mean and 1/σ in their
// last bits only, so the fp32 scale and shift the normalisation applies are the CPU's except
// when a double lies within a few ulp of a float rounding boundary (probability ~1e-8).
#include <cmath>
#include <cstdint>

#include "kernels/cuda/cuda_check.hpp"
#include "kernels/cuda/kernels.hpp"
#include "kernels/cuda/launch.hpp"
#include "kernels/cuda/layer_math.hpp"
#include "kernels/cuda/reduce.cuh"

namespace micronas::cuda {
namespace {

// Blocks of up to 1024 threads (launch.hpp, reduction_block): the bound keeps the kernels within
// the 64 registers per thread that such a block may use.
__global__ void __launch_bounds__(1024)
    bn_forward_kernel(int batch, int channels, int plane, const float* __restrict__ x,
                      const float* __restrict__ gamma, const float* __restrict__ beta, double eps,
                      float* __restrict__ y, double* __restrict__ mean,
                      double* __restrict__ invstd) {
  __shared__ double shared[32];
  const int c = blockIdx.x;
  const std::int64_t count = std::int64_t{batch} * plane;
  auto at = [&](std::int64_t j) { return channel_element(j, plane, channels, c); };
  double sum = 0.0;
  for (std::int64_t j = threadIdx.x; j < count; j += blockDim.x) sum += x[at(j)];
  const double mu = block_sum(sum, shared) / static_cast<double>(count);
  double sq = 0.0;  // two passes, as the CPU: no cancellation for large means
  for (std::int64_t j = threadIdx.x; j < count; j += blockDim.x) {
    const double d = x[at(j)] - mu;
    sq = fma(d, d, sq);
  }
  const double is = 1.0 / sqrt(block_sum(sq, shared) / static_cast<double>(count) + eps);
  if (threadIdx.x == 0) {
    mean[c] = mu;
    invstd[c] = is;
  }
  float scale, shift;
  batch_norm_affine(mu, is, gamma[c], beta[c], &scale, &shift);
  for (std::int64_t j = threadIdx.x; j < count; j += blockDim.x) {
    const std::int64_t o = at(j);
    y[o] = cpu_madd(x[o], scale, shift);
  }
}

// Cotangent t = blockIdx.y, channel c = blockIdx.x: dγ = Σ dy·x̂, dβ = Σ dy and
// dx = γσ⁻¹·(dy − mean(dy) − x̂·mean(dy·x̂)) = a·dy + b·(x − μ) + d.
__global__ void __launch_bounds__(1024)
    bn_backward_kernel(int batch, int channels, int plane, const float* __restrict__ dy,
                       double dy_scale, const float* __restrict__ x,
                       const double* __restrict__ mean, const double* __restrict__ invstd,
                       const float* __restrict__ gamma, float* __restrict__ dx, bool accumulate,
                       float* __restrict__ dgamma, float* __restrict__ dbeta,
                       std::int64_t dparam_stride) {
  __shared__ double shared[32];
  const int c = blockIdx.x, t = blockIdx.y;
  const std::int64_t count = std::int64_t{batch} * plane;
  const std::int64_t tensor = count * channels;
  const float* dyt = dy + t * tensor;
  auto at = [&](std::int64_t j) { return channel_element(j, plane, channels, c); };
  const float m = static_cast<float>(mean[c]);
  double s_dy = 0.0, s_dy_xc = 0.0;
  for (std::int64_t j = threadIdx.x; j < count; j += blockDim.x) {
    const std::int64_t o = at(j);
    s_dy += dyt[o];
    s_dy_xc += static_cast<double>(dyt[o]) * static_cast<double>(x[o] - m);
  }
  // The gradient is dy_scale · dy: the sums (and a, below) are scaled in double, exact for
  // dy_scale = 1, and the scaled copy is never made.
  const double sdy = block_sum(s_dy, shared) * dy_scale;
  const double is = invstd[c];
  const double sum_dy_xhat = block_sum(s_dy_xc, shared) * dy_scale * is;
  if (threadIdx.x == 0) {
    if (dgamma) dgamma[t * dparam_stride + c] = static_cast<float>(sum_dy_xhat);
    if (dbeta) dbeta[t * dparam_stride + c] = static_cast<float>(sdy);
  }
  if (!dx) return;
  const double k = gamma[c] * is;
  const float a = static_cast<float>(k * dy_scale);
  const float b = static_cast<float>(-k * is * sum_dy_xhat / static_cast<double>(count));
  const float d = static_cast<float>(-k * sdy / static_cast<double>(count));
  float* dxt = dx + t * tensor;
  for (std::int64_t j = threadIdx.x; j < count; j += blockDim.x) {
    const std::int64_t o = at(j);
    const float v = a * dyt[o] + b * (x[o] - m) + d;
    dxt[o] = accumulate ? dxt[o] + v : v;
  }
}

}  // namespace

void batch_norm_forward(int batch, int channels, int plane, const float* x, const float* gamma,
                        const float* beta, double eps, float* y, double* mean, double* invstd,
                        cudaStream_t stream) {
  const Launch l = reduction_launch(channels, 1, reduction_block(std::int64_t{batch} * plane));
  bn_forward_kernel<<<l.grid_x, l.block, 0, stream>>>(batch, channels, plane, x, gamma, beta, eps,
                                                      y, mean, invstd);
  check_launch("bn_forward_kernel");
}

void batch_norm_backward(int cotangents, int batch, int channels, int plane, const float* dy,
                         double dy_scale, const float* x, const double* mean, const double* invstd,
                         const float* gamma, float* dx, bool accumulate, float* dgamma,
                         float* dbeta, std::int64_t dparam_stride, cudaStream_t stream) {
  const Launch l =
      reduction_launch(channels, cotangents, reduction_block(std::int64_t{batch} * plane));
  bn_backward_kernel<<<dim3(l.grid_x, l.grid_y), l.block, 0, stream>>>(
      batch, channels, plane, dy, dy_scale, x, mean, invstd, gamma, dx, accumulate, dgamma, dbeta,
      dparam_stride);
  check_launch("bn_backward_kernel");
}

}  // namespace micronas::cuda
