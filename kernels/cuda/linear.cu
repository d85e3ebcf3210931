// The classifier (in <= 64, out <= 120 in NB201): one thread per output, dot products in fp64
// in index order, as on the CPU.
#include <cstdint>

#include "kernels/cuda/cuda_check.hpp"
#include "kernels/cuda/kernels.hpp"
#include "kernels/cuda/launch.hpp"
#include "kernels/cuda/layer_math.hpp"

namespace micronas::cuda {
namespace {

__global__ void linear_forward_kernel(int batch, int in, int out, const float* __restrict__ x,
                                      const float* __restrict__ w, const float* __restrict__ b,
                                      float* __restrict__ y) {
  const std::int64_t total = std::int64_t{batch} * out;
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < total;
       i += std::int64_t{gridDim.x} * blockDim.x)
    y[i] = linear_forward_at(in, out, i, x, w, b);
}

// dx[t, n, j] (+)= Σ_o dy[t, n, o] w[o, j]; rows = cotangents · batch.
__global__ void linear_backward_data_kernel(std::int64_t rows, int in, int out,
                                            const float* __restrict__ dy,
                                            const float* __restrict__ w, float* __restrict__ dx,
                                            bool accumulate) {
  const std::int64_t total = rows * in;
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < total;
       i += std::int64_t{gridDim.x} * blockDim.x) {
    const float v = linear_backward_data_at(in, out, i, dy, w);
    dx[i] = accumulate ? dx[i] + v : v;
  }
}

// Cotangent t = blockIdx.y; element e < out·in is dW[o, j], e >= out·in is db[e − out·in].
__global__ void linear_backward_params_kernel(int batch, int in, int out,
                                              const float* __restrict__ dy,
                                              const float* __restrict__ x, float* __restrict__ dw,
                                              float* __restrict__ db, std::int64_t dparam_stride) {
  const int t = blockIdx.y;
  const float* dyt = dy + std::int64_t{t} * batch * out;
  const std::int64_t weights = std::int64_t{out} * in;
  const std::int64_t total = weights + (db ? out : 0);
  for (std::int64_t e = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; e < total;
       e += std::int64_t{gridDim.x} * blockDim.x) {
    const float v = linear_backward_param_at(batch, in, out, e, dyt, x);
    if (e < weights)
      dw[t * dparam_stride + e] = v;
    else
      db[t * dparam_stride + (e - weights)] = v;
  }
}

}  // namespace

void linear_forward(int batch, int in, int out, const float* x, const float* w, const float* b,
                    float* y, cudaStream_t stream) {
  const Launch l = elementwise_launch(std::int64_t{batch} * out);
  linear_forward_kernel<<<l.grid_x, l.block, 0, stream>>>(batch, in, out, x, w, b, y);
  check_launch("linear_forward_kernel");
}

void linear_backward_data(int cotangents, int batch, int in, int out, const float* dy,
                          const float* w, float* dx, bool accumulate, cudaStream_t stream) {
  const std::int64_t rows = std::int64_t{cotangents} * batch;
  const Launch l = elementwise_launch(rows * in);
  linear_backward_data_kernel<<<l.grid_x, l.block, 0, stream>>>(rows, in, out, dy, w, dx,
                                                                accumulate);
  check_launch("linear_backward_data_kernel");
}

void linear_backward_params(int cotangents, int batch, int in, int out, const float* dy,
                            const float* x, float* dw, float* db, std::int64_t dparam_stride,
                            cudaStream_t stream) {
  const Launch l = elementwise_launch(std::int64_t{out} * in + out, cotangents);
  linear_backward_params_kernel<<<dim3(l.grid_x, l.grid_y), l.block, 0, stream>>>(
      batch, in, out, dy, x, dw, db, dparam_stride);
  check_launch("linear_backward_params_kernel");
}

}  // namespace micronas::cuda
