// K = J Jᵀ in fp64: J converted to double (exact), one DSYRK, the lower triangle mirrored.
#include <limits>
#include <string>

#include "kernels/cuda/cuda_check.hpp"
#include "kernels/cuda/dense.hpp"
#include "kernels/cuda/kernels.hpp"
#include "kernels/cuda/launch.hpp"
#include "micronas/error.hpp"

namespace micronas::cuda {
namespace {

// DSYRK fills the lower triangle of the column-major result, which is the upper triangle of the
// row-major K: mirror it so that K is complete for the caller and the eigensolver alike.
__global__ void mirror_kernel(int n, double* __restrict__ k) {
  const std::int64_t total = std::int64_t{n} * n;
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < total;
       i += std::int64_t{gridDim.x} * blockDim.x) {
    const int r = static_cast<int>(i / n), c = static_cast<int>(i % n);
    if (r > c) k[i] = k[std::int64_t{c} * n + r];
  }
}

__global__ void flag_non_finite_kernel(std::int64_t n, const double* __restrict__ values,
                                       int* __restrict__ flag) {
  bool bad = false;
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n;
       i += std::int64_t{gridDim.x} * blockDim.x)
    bad = bad || !isfinite(values[i]);
  if (__syncthreads_or(bad) && threadIdx.x == 0) atomicOr(flag, 1);
}

}  // namespace

void flag_non_finite(std::int64_t n, const double* values, int* flag, cudaStream_t stream) {
  MICRONAS_CUDA_CHECK(cudaMemsetAsync(flag, 0, sizeof(int), stream));
  if (n == 0) return;
  const Launch l = elementwise_launch(n);
  flag_non_finite_kernel<<<l.grid_x, l.block, 0, stream>>>(n, values, flag);
  check_launch("flag_non_finite_kernel");
}

void gram_fp64(cublasHandle_t handle, cudaStream_t stream, int rows, std::int64_t cols,
               const double* jacobian64, double* gram, int* non_finite) {
  if (cols > std::numeric_limits<int>::max())
    throw Error(Status::kUnsupported, "a Jacobian of " + std::to_string(cols) +
                                          " columns exceeds cuBLAS's 32-bit dimensions");
  // Row-major J [rows, cols] is column-major Jᵀ [cols, rows]: K = (Jᵀ)ᵀ Jᵀ is DSYRK with
  // trans = T, k = cols.
  const double one = 1.0, zero = 0.0;
  MICRONAS_CUBLAS_CHECK(cublasSetStream(handle, stream));
  if (cols == 0) {
    MICRONAS_CUDA_CHECK(cudaMemsetAsync(gram, 0, sizeof(double) * rows * rows, stream));
  } else {
    MICRONAS_CUBLAS_CHECK(cublasDsyrk(handle, CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_T, rows,
                                      static_cast<int>(cols), &one, jacobian64,
                                      static_cast<int>(cols), &zero, gram, rows));
  }
  const Launch l = elementwise_launch(std::int64_t{rows} * rows);
  mirror_kernel<<<l.grid_x, l.block, 0, stream>>>(rows, gram);
  check_launch("mirror_kernel");
  flag_non_finite(std::int64_t{rows} * rows, gram, non_finite, stream);
}

}  // namespace micronas::cuda
