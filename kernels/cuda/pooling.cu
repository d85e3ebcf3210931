// Average pooling (count_include_pad = false) and global average pooling: one thread per output
// element forward, one per input element backward (a gather over the windows that cover it).
#include <cstdint>

#include "kernels/cuda/cuda_check.hpp"
#include "kernels/cuda/kernels.hpp"
#include "kernels/cuda/launch.hpp"
#include "kernels/cuda/layer_math.hpp"

namespace micronas::cuda {
namespace {

__global__ void avg_pool_forward_kernel(PoolGeometry g, std::int64_t total,
                                        const float* __restrict__ x, float* __restrict__ y) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < total;
       i += std::int64_t{gridDim.x} * blockDim.x)
    y[i] = avg_pool_forward_at(g, i, x);
}

__global__ void avg_pool_backward_kernel(PoolGeometry g, std::int64_t per_cotangent,
                                         std::int64_t dy_stride, const float* __restrict__ dy,
                                         float dy_scale, float* __restrict__ dx, bool accumulate) {
  const int t = blockIdx.y;
  const float* dyt = dy + t * dy_stride;
  float* dxt = dx + t * per_cotangent;
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < per_cotangent;
       i += std::int64_t{gridDim.x} * blockDim.x) {
    const float v = avg_pool_backward_at(g, i, dyt, dy_scale);
    dxt[i] = accumulate ? dxt[i] + v : v;
  }
}

// One thread per (sample, channel): the plane summed in order in fp64, as on the CPU.
__global__ void global_avg_pool_forward_kernel(std::int64_t planes, int plane,
                                               const float* __restrict__ x, float* __restrict__ y) {
  for (std::int64_t p = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; p < planes;
       p += std::int64_t{gridDim.x} * blockDim.x) {
    double sum = 0.0;
    for (int i = 0; i < plane; ++i) sum += x[p * plane + i];
    y[p] = static_cast<float>(sum / plane);
  }
}

__global__ void global_avg_pool_backward_kernel(std::int64_t per_cotangent, int plane,
                                                const float* __restrict__ dy,
                                                float* __restrict__ dx, bool accumulate) {
  const int t = blockIdx.y;
  const float* dyt = dy + t * (per_cotangent / plane);
  float* dxt = dx + t * per_cotangent;
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < per_cotangent;
       i += std::int64_t{gridDim.x} * blockDim.x) {
    const float share = dyt[i / plane] / static_cast<float>(plane);
    dxt[i] = accumulate ? dxt[i] + share : share;
  }
}

}  // namespace

void avg_pool_forward(const PoolGeometry& g, int batch, const float* x, float* y,
                      cudaStream_t stream) {
  const std::int64_t total = std::int64_t{batch} * g.channels * g.ho * g.wo;
  if (total == 0) return;
  const Launch l = elementwise_launch(total);
  avg_pool_forward_kernel<<<l.grid_x, l.block, 0, stream>>>(g, total, x, y);
  check_launch("avg_pool_forward_kernel");
}

void avg_pool_backward(const PoolGeometry& g, int cotangents, int batch, const float* dy,
                       float dy_scale, float* dx, bool accumulate, cudaStream_t stream) {
  const std::int64_t per = std::int64_t{batch} * g.channels * g.h * g.w;
  if (per == 0) return;
  const Launch l = elementwise_launch(per, cotangents);
  avg_pool_backward_kernel<<<dim3(l.grid_x, l.grid_y), l.block, 0, stream>>>(
      g, per, std::int64_t{batch} * g.channels * g.ho * g.wo, dy, dy_scale, dx, accumulate);
  check_launch("avg_pool_backward_kernel");
}

void global_avg_pool_forward(int batch, int channels, int plane, const float* x, float* y,
                             cudaStream_t stream) {
  const std::int64_t planes = std::int64_t{batch} * channels;
  if (planes == 0) return;
  const Launch l = elementwise_launch(planes);
  global_avg_pool_forward_kernel<<<l.grid_x, l.block, 0, stream>>>(planes, plane, x, y);
  check_launch("global_avg_pool_forward_kernel");
}

void global_avg_pool_backward(int cotangents, int batch, int channels, int plane, const float* dy,
                              float* dx, bool accumulate, cudaStream_t stream) {
  const std::int64_t per = std::int64_t{batch} * channels * plane;
  if (per == 0) return;
  const Launch l = elementwise_launch(per, cotangents);
  global_avg_pool_backward_kernel<<<dim3(l.grid_x, l.grid_y), l.block, 0, stream>>>(per, plane, dy,
                                                                                    dx, accumulate);
  check_launch("global_avg_pool_backward_kernel");
}

}  // namespace micronas::cuda
