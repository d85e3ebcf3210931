// Symmetric eigenvalues with cuSOLVER's divide and conquer (syevd), values only.
#include "kernels/cuda/cuda_check.hpp"
#include "kernels/cuda/dense.hpp"

namespace micronas::cuda {

std::int64_t eigenvalue_workspace_bytes(cusolverDnHandle_t handle, int n) {
  int lwork = 0;
  // The size query reads only the dimensions; the matrix and eigenvalue pointers are not used.
  MICRONAS_CUSOLVER_CHECK(cusolverDnDsyevd_bufferSize(
      handle, CUSOLVER_EIG_MODE_NOVECTOR, CUBLAS_FILL_MODE_LOWER, n, nullptr, n, nullptr, &lwork));
  return static_cast<std::int64_t>(lwork) * static_cast<std::int64_t>(sizeof(double));
}

void symmetric_eigenvalues(cusolverDnHandle_t handle, int n, double* a, double* w, void* work,
                           std::int64_t work_bytes, int* info) {
  // K is symmetric and both triangles hold it, so the row-major/column-major question is moot.
  MICRONAS_CUSOLVER_CHECK(cusolverDnDsyevd(
      handle, CUSOLVER_EIG_MODE_NOVECTOR, CUBLAS_FILL_MODE_LOWER, n, a, n, w,
      static_cast<double*>(work),
      static_cast<int>(work_bytes / static_cast<std::int64_t>(sizeof(double))), info));
}

}  // namespace micronas::cuda
