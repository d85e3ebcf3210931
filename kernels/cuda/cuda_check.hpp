// Every CUDA runtime, cuBLAS and cuSOLVER status is checked; a failure becomes a micronas::Error
// naming the call, so the library never aborts and never prints. Out-of-memory is its own status
// with the bytes needed and free (device_malloc).
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusolverDn.h>

#include <cstddef>
#include <string>

namespace micronas::cuda {

[[noreturn]] void throw_cuda_error(cudaError_t status, const char* call);
[[noreturn]] void throw_cublas_error(cublasStatus_t status, const char* call);
[[noreturn]] void throw_cusolver_error(cusolverStatus_t status, const char* call);

// The name of a cuBLAS/cuSOLVER status ("CUBLAS_STATUS_NOT_INITIALIZED").
const char* cublas_status_name(cublasStatus_t status);
const char* cusolver_status_name(cusolverStatus_t status);

// cudaMalloc of `bytes` on the current device; on failure Error(kOutOfMemory) naming `what`, the
// bytes needed and the bytes free (cudaMemGetInfo).
void* device_malloc(std::size_t bytes, const std::string& what);

// Throws if the last kernel launch failed (bad configuration, missing kernel image).
void check_launch(const char* kernel);

}  // namespace micronas::cuda

#define MICRONAS_CUDA_CHECK(call)                                  \
  do {                                                             \
    const cudaError_t micronas_status_ = (call);                   \
    if (micronas_status_ != cudaSuccess)                           \
      ::micronas::cuda::throw_cuda_error(micronas_status_, #call); \
  } while (0)

#define MICRONAS_CUBLAS_CHECK(call)                                  \
  do {                                                               \
    const cublasStatus_t micronas_status_ = (call);                  \
    if (micronas_status_ != CUBLAS_STATUS_SUCCESS)                   \
      ::micronas::cuda::throw_cublas_error(micronas_status_, #call); \
  } while (0)

#define MICRONAS_CUSOLVER_CHECK(call)                                  \
  do {                                                                 \
    const cusolverStatus_t micronas_status_ = (call);                  \
    if (micronas_status_ != CUSOLVER_STATUS_SUCCESS)                   \
      ::micronas::cuda::throw_cusolver_error(micronas_status_, #call); \
  } while (0)
