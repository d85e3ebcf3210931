// ReLU (plain and fused with the activation-pattern hash), scaled sums, and the small kernels
// around the Jacobian: its cotangent seed and the gather of its columns.
#include <cstdint>

#include "kernels/common/pattern_hash.hpp"
#include "kernels/cuda/cuda_check.hpp"
#include "kernels/cuda/kernels.hpp"
#include "kernels/cuda/launch.hpp"
#include "kernels/cuda/layer_math.hpp"

namespace micronas::cuda {
namespace {

#define MICRONAS_GRID_STRIDE(i, n)                                                    \
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < (n); \
       i += std::int64_t{gridDim.x} * blockDim.x)

__global__ void relu_forward_kernel(std::int64_t n, const float* __restrict__ x,
                                    float* __restrict__ y) {
  MICRONAS_GRID_STRIDE(i, n) { y[i] = x[i] > 0.0f ? x[i] : 0.0f; }
}

__global__ void relu_backward_kernel(std::int64_t n, const float* __restrict__ dy,
                                     const float* __restrict__ x, float* __restrict__ dx,
                                     bool accumulate) {
  const std::int64_t t = blockIdx.y;
  const float* d = dy + t * n;
  float* o = dx + t * n;
  MICRONAS_GRID_STRIDE(i, n) {
    const float v = x[i] > 0.0f ? d[i] : 0.0f;
    o[i] = accumulate ? o[i] + v : v;
  }
}

// The CPU's y = s·x and y += s·x (see cpu_madd in layer_math.hpp).
__global__ void scaled_add_kernel(std::int64_t n, float scale, const float* __restrict__ x,
                                  float* __restrict__ y, bool accumulate) {
  MICRONAS_GRID_STRIDE(i, n) {
    y[i] = accumulate ? cpu_madd(scale, x[i], y[i]) : __fmul_rn(scale, x[i]);
  }
}

__global__ void pattern_hash_init_kernel(int batch, std::uint64_t* hash) {
  MICRONAS_GRID_STRIDE(n, batch) {
    hash[2 * n] = pattern_hash::kSeed0;
    hash[2 * n + 1] = pattern_hash::kSeed1;
  }
}

// One block per sample. Each round the warps write y for a chunk of the sample and ballot its
// bits [x > 0] into 32-bit halves (element e of the chunk is bit e % 32 of half e / 32, so half
// 2w + h is the h-th half of word w: the CPU's packing); then thread 0 absorbs the chunk's
// words in order. Elements past the end ballot 0, so a final partial word is zero-padded.
__global__ void relu_hash_kernel(std::int64_t per_sample, const float* __restrict__ x,
                                 float* __restrict__ y, std::uint64_t* __restrict__ hash) {
  __shared__ unsigned halves[2 * kHashRoundWords];
  const std::int64_t n = blockIdx.x;
  const float* xs = x + n * per_sample;
  float* ys = y + n * per_sample;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  std::uint64_t h[2] = {0, 0};
  if (threadIdx.x == 0) {
    h[0] = hash[2 * n];
    h[1] = hash[2 * n + 1];
  }
  for (std::int64_t base = 0; base < per_sample; base += kHashRound) {
    for (int half = warp; half < 2 * kHashRoundWords; half += warps) {
      const std::int64_t e = base + half * 32 + lane;
      bool on = false;
      if (e < per_sample) {
        const float v = xs[e];
        on = v > 0.0f;
        ys[e] = on ? v : 0.0f;
      }
      const unsigned bits = __ballot_sync(0xFFFFFFFFu, on);
      if (lane == 0) halves[half] = bits;
    }
    __syncthreads();
    if (threadIdx.x == 0) absorb_round(halves, per_sample - base, h);
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    pattern_hash::absorb(pattern_hash::segment_end(per_sample), h);
    hash[2 * n] = h[0];
    hash[2 * n + 1] = h[1];
  }
}

__global__ void jacobian_seed_kernel(int batch, int classes, float* __restrict__ dlogits) {
  const std::int64_t total = std::int64_t{batch} * batch * classes;
  MICRONAS_GRID_STRIDE(i, total) {
    const std::int64_t t = i / (std::int64_t{batch} * classes);
    const std::int64_t n = i / classes % batch;
    dlogits[i] = t == n ? 1.0f : 0.0f;
  }
}

__global__ void gather_jacobian_kernel(std::int64_t cols, std::int64_t params,
                                       const float* __restrict__ dparams,
                                       const int* __restrict__ source, float* __restrict__ jacobian,
                                       double* __restrict__ jacobian64) {
  const std::int64_t t = blockIdx.y;
  MICRONAS_GRID_STRIDE(j, cols) {
    const float v = dparams[t * params + source[j]];
    jacobian[t * cols + j] = v;
    jacobian64[t * cols + j] = v;
  }
}

#undef MICRONAS_GRID_STRIDE

}  // namespace

void relu_forward(std::int64_t n, const float* x, float* y, cudaStream_t stream) {
  if (n == 0) return;
  const Launch l = elementwise_launch(n);
  relu_forward_kernel<<<l.grid_x, l.block, 0, stream>>>(n, x, y);
  check_launch("relu_forward_kernel");
}

void relu_backward(int cotangents, std::int64_t n, const float* dy, const float* x, float* dx,
                   bool accumulate, cudaStream_t stream) {
  if (n == 0) return;
  const Launch l = elementwise_launch(n, cotangents);
  relu_backward_kernel<<<dim3(l.grid_x, l.grid_y), l.block, 0, stream>>>(n, dy, x, dx, accumulate);
  check_launch("relu_backward_kernel");
}

void scaled_add(std::int64_t n, float scale, const float* x, float* y, bool accumulate,
                cudaStream_t stream) {
  if (n == 0) return;
  const Launch l = elementwise_launch(n);
  scaled_add_kernel<<<l.grid_x, l.block, 0, stream>>>(n, scale, x, y, accumulate);
  check_launch("scaled_add_kernel");
}

void pattern_hash_init(int batch, std::uint64_t* hash, cudaStream_t stream) {
  const Launch l = elementwise_launch(batch);
  pattern_hash_init_kernel<<<l.grid_x, l.block, 0, stream>>>(batch, hash);
  check_launch("pattern_hash_init_kernel");
}

void relu_forward_pattern_hash(int batch, std::int64_t per_sample, const float* x, float* y,
                               std::uint64_t* hash, cudaStream_t stream) {
  if (batch == 0) return;
  relu_hash_kernel<<<static_cast<unsigned>(batch), kBlockSize, 0, stream>>>(per_sample, x, y, hash);
  check_launch("relu_hash_kernel");
}

void jacobian_seed(int batch, int classes, float* dlogits, cudaStream_t stream) {
  const Launch l = elementwise_launch(std::int64_t{batch} * batch * classes);
  jacobian_seed_kernel<<<l.grid_x, l.block, 0, stream>>>(batch, classes, dlogits);
  check_launch("jacobian_seed_kernel");
}

void gather_jacobian(int rows, std::int64_t cols, std::int64_t params, const float* dparams,
                     const int* source, float* jacobian, double* jacobian64, cudaStream_t stream) {
  if (cols == 0) return;
  const Launch l = elementwise_launch(cols, rows);
  gather_jacobian_kernel<<<dim3(l.grid_x, l.grid_y), l.block, 0, stream>>>(
      cols, params, dparams, source, jacobian, jacobian64);
  check_launch("gather_jacobian_kernel");
}

}  // namespace micronas::cuda
