// Symmetric eigenvalues with cuSOLVER's divide and conquer (syevd), values only.
#include <cstddef>

#include "kernels/cuda/cuda_check.hpp"
#include "kernels/cuda/dense.hpp"

namespace micronas::cuda {

std::int64_t eigenvalue_workspace_bytes(cusolverDnHandle_t handle, int n) {
  // The size query is given real (if scratch) matrix and eigenvalue arrays: cuSOLVER does not
  // promise to accept null ones. It runs once per workspace growth, never per evaluation.
  const std::size_t bytes = sizeof(double) * (static_cast<std::size_t>(n) * n + n);
  void* scratch = device_malloc(bytes, "the eigensolver's workspace query");
  double* a = static_cast<double*>(scratch);
  int lwork = 0;
  const cusolverStatus_t status =
      cusolverDnDsyevd_bufferSize(handle, CUSOLVER_EIG_MODE_NOVECTOR, CUBLAS_FILL_MODE_LOWER, n, a,
                                  n, a + static_cast<std::size_t>(n) * n, &lwork);
  cudaFree(scratch);
  if (status != CUSOLVER_STATUS_SUCCESS)
    throw_cusolver_error(status, "cusolverDnDsyevd_bufferSize(handle, NOVECTOR, LOWER, n, ...)");
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
