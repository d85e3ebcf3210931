// The NTK's dense linear algebra on the device: K = J Jᵀ in fp64 with cuBLAS (pedantic math: no
// TF32 or reduced-precision paths), its eigenvalues with cuSOLVER.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusolverDn.h>

#include <cstdint>

namespace micronas::cuda {

// K [rows, rows] (row-major, both triangles) = J64 J64ᵀ for J64 [rows, cols] row-major, and
// *non_finite = 1 if K holds NaN or Inf, else 0. Runs on the handle's stream.
void gram_fp64(cublasHandle_t handle, cudaStream_t stream, int rows, std::int64_t cols,
               const double* jacobian64, double* gram, int* non_finite);

// Bytes of the workspace symmetric_eigenvalues needs for an n x n matrix.
std::int64_t eigenvalue_workspace_bytes(cusolverDnHandle_t handle, int n);
// Eigenvalues (ascending) of the symmetric n x n matrix `a` (overwritten) into `w`; *info is
// cuSOLVER's status for the caller to check after synchronising (0: converged).
void symmetric_eigenvalues(cusolverDnHandle_t handle, int n, double* a, double* w, void* work,
                           std::int64_t work_bytes, int* info);

}  // namespace micronas::cuda
