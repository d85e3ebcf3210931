// Direct convolution for NB201's small channel counts: one thread per output element of the
// forward and the data gradient (gathers, no atomics), one block per (cotangent, output channel,
// input channel) for the weight gradient.
#include <algorithm>
#include <cstdint>

#include "kernels/cuda/cuda_check.hpp"
#include "kernels/cuda/kernels.hpp"
#include "kernels/cuda/launch.hpp"
#include "kernels/cuda/layer_math.hpp"
#include "kernels/cuda/reduce.cuh"
#include "micronas/error.hpp"

namespace micronas::cuda {
namespace {

__global__ void conv_forward_kernel(ConvGeometry g, std::int64_t total, const float* __restrict__ x,
                                    const float* __restrict__ w, float* __restrict__ y) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < total;
       i += std::int64_t{gridDim.x} * blockDim.x)
    y[i] = conv_forward_at(g, i, x, w);
}

// Cotangent t = blockIdx.y. With relu_input, the ReLU feeding the conv is fused: its mask
// [relu_input > 0] applies to the gradient, and the ReLU's output never gets one.
__global__ void conv_backward_data_kernel(ConvGeometry g, std::int64_t per_cotangent,
                                          std::int64_t dy_stride, const float* __restrict__ dy,
                                          const float* __restrict__ w,
                                          const float* __restrict__ relu_input,
                                          float* __restrict__ dx, bool accumulate) {
  const int t = blockIdx.y;
  const float* dyt = dy + t * dy_stride;
  float* dxt = dx + t * per_cotangent;
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < per_cotangent;
       i += std::int64_t{gridDim.x} * blockDim.x) {
    const float v =
        !relu_input || relu_input[i] > 0.0f ? conv_backward_data_at(g, i, dyt, w) : 0.0f;
    dxt[i] = accumulate ? dxt[i] + v : v;
  }
}

// Block (co, ci) of cotangent t: each thread sums KH·KW products over its share of the N·Ho·Wo
// output positions, then the block adds the threads' sums.
template <int KH, int KW>
__global__ void __launch_bounds__(256)
    conv_backward_weight_kernel(ConvGeometry g, int batch, std::int64_t dy_stride,
                                const float* __restrict__ dy, const float* __restrict__ x,
                                float* __restrict__ dw, std::int64_t dw_stride) {
  __shared__ float shared[32];
  const int t = blockIdx.y;
  const int co = blockIdx.x / g.cin, ci = blockIdx.x % g.cin;
  const std::int64_t positions = batch * std::int64_t{g.ho} * g.wo;
  float acc[KH * KW];
#pragma unroll
  for (int j = 0; j < KH * KW; ++j) acc[j] = 0.0f;
  const float* dyt = dy + t * dy_stride;
  for (std::int64_t p = threadIdx.x; p < positions; p += blockDim.x)
    conv_weight_contribution<KH, KW>(g, p, co, ci, dyt, x, acc);
  float* out = dw + t * dw_stride + (std::int64_t{co} * g.cin + ci) * KH * KW;
#pragma unroll
  for (int j = 0; j < KH * KW; ++j) {
    const float s = block_sum(acc[j], shared);
    if (threadIdx.x == 0) out[j] = s;
  }
}

}  // namespace

void conv2d_forward(const ConvGeometry& g, int batch, const float* x, const float* w, float* y,
                    cudaStream_t stream) {
  const std::int64_t total = std::int64_t{batch} * g.cout * g.ho * g.wo;
  if (total == 0) return;
  const Launch l = elementwise_launch(total);
  conv_forward_kernel<<<l.grid_x, l.block, 0, stream>>>(g, total, x, w, y);
  check_launch("conv_forward_kernel");
}

void conv2d_backward_data(const ConvGeometry& g, int cotangents, int batch, const float* dy,
                          const float* w, const float* relu_input, float* dx, bool accumulate,
                          cudaStream_t stream) {
  const std::int64_t per = std::int64_t{batch} * g.cin * g.h * g.w;
  const std::int64_t dy_stride = std::int64_t{batch} * g.cout * g.ho * g.wo;
  if (per == 0) return;
  const Launch l = elementwise_launch(per, cotangents);
  conv_backward_data_kernel<<<dim3(l.grid_x, l.grid_y), l.block, 0, stream>>>(
      g, per, dy_stride, dy, w, relu_input, dx, accumulate);
  check_launch("conv_backward_data_kernel");
}

void conv2d_backward_weight(const ConvGeometry& g, int cotangents, int batch, const float* dy,
                            const float* x, float* dw, std::int64_t dw_stride,
                            cudaStream_t stream) {
  const std::int64_t dy_stride = std::int64_t{batch} * g.cout * g.ho * g.wo;
  const Launch l =
      reduction_launch(std::int64_t{g.cout} * g.cin, cotangents,
                       std::min(256, reduction_block(std::int64_t{batch} * g.ho * g.wo)));
  const dim3 grid(l.grid_x, l.grid_y);
  // The kernel unrolls its taps: square kernels only (the graphs this backend runs have no
  // others).
  if (g.kh != g.kw) {
    throw Error(Status::kUnsupported, "the CUDA backend has no " + std::to_string(g.kh) + "x" +
                                          std::to_string(g.kw) + " convolution weight gradient");
  }
  switch (g.kh) {
    case 1:
      conv_backward_weight_kernel<1, 1>
          <<<grid, l.block, 0, stream>>>(g, batch, dy_stride, dy, x, dw, dw_stride);
      break;
    case 3:
      conv_backward_weight_kernel<3, 3>
          <<<grid, l.block, 0, stream>>>(g, batch, dy_stride, dy, x, dw, dw_stride);
      break;
    case 5:
      conv_backward_weight_kernel<5, 5>
          <<<grid, l.block, 0, stream>>>(g, batch, dy_stride, dy, x, dw, dw_stride);
      break;
    case 7:
      conv_backward_weight_kernel<7, 7>
          <<<grid, l.block, 0, stream>>>(g, batch, dy_stride, dy, x, dw, dw_stride);
      break;
    default:
      throw Error(Status::kUnsupported, "the CUDA backend has no " + std::to_string(g.kh) + "x" +
                                            std::to_string(g.kh) + " convolution weight gradient");
  }
  check_launch("conv_backward_weight_kernel");
}

}  // namespace micronas::cuda
