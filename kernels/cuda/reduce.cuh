// Block-wide sums for the reduction kernels (BN statistics, weight gradients). A block is a
// multiple of 32 threads, at most 1024.
#pragma once

#include <cuda_runtime.h>

namespace micronas::cuda {

template <class T>
__device__ inline T warp_sum(T v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xFFFFFFFFu, v, offset);
  return v;
}

// Sum of v over the block, valid in every thread. `shared` holds 32 values; the call ends with
// a barrier so the caller may reuse `shared` right after it.
template <class T>
__device__ inline T block_sum(T v, T* shared) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int warps = (blockDim.x + 31) >> 5;
  v = warp_sum(v);
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  T total = T(0);
  if (warp == 0) {
    total = lane < warps ? shared[lane] : T(0);
    total = warp_sum(total);
    if (lane == 0) shared[0] = total;
  }
  __syncthreads();
  total = shared[0];
  __syncthreads();
  return total;
}

}  // namespace micronas::cuda
