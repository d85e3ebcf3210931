#include "kernels/cuda/cuda_check.hpp"

#include <cstdint>

#include "kernels/cuda/error_text.hpp"
#include "micronas/error.hpp"

namespace micronas::cuda {

void throw_cuda_error(cudaError_t status, const char* call) {
  cudaGetLastError();  // a non-sticky error must not resurface at the next unrelated check
  const Status kind = status == cudaErrorMemoryAllocation ? Status::kOutOfMemory
                      : status == cudaErrorNoDevice || status == cudaErrorInsufficientDriver
                          ? Status::kUnsupported
                          : Status::kInternal;
  throw Error(kind, call_failure_message(call, "CUDA", static_cast<int>(status),
                                         cudaGetErrorName(status), cudaGetErrorString(status)));
}

const char* cublas_status_name(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
  }
  return "unknown cuBLAS status";
}

const char* cusolver_status_name(cusolverStatus_t status) {
  switch (status) {
    case CUSOLVER_STATUS_SUCCESS: return "CUSOLVER_STATUS_SUCCESS";
    case CUSOLVER_STATUS_NOT_INITIALIZED: return "CUSOLVER_STATUS_NOT_INITIALIZED";
    case CUSOLVER_STATUS_ALLOC_FAILED: return "CUSOLVER_STATUS_ALLOC_FAILED";
    case CUSOLVER_STATUS_INVALID_VALUE: return "CUSOLVER_STATUS_INVALID_VALUE";
    case CUSOLVER_STATUS_ARCH_MISMATCH: return "CUSOLVER_STATUS_ARCH_MISMATCH";
    case CUSOLVER_STATUS_EXECUTION_FAILED: return "CUSOLVER_STATUS_EXECUTION_FAILED";
    case CUSOLVER_STATUS_INTERNAL_ERROR: return "CUSOLVER_STATUS_INTERNAL_ERROR";
    case CUSOLVER_STATUS_MATRIX_TYPE_NOT_SUPPORTED:
      return "CUSOLVER_STATUS_MATRIX_TYPE_NOT_SUPPORTED";
    case CUSOLVER_STATUS_NOT_SUPPORTED: return "CUSOLVER_STATUS_NOT_SUPPORTED";
    default: break;
  }
  return "unknown cuSOLVER status";
}

void throw_cublas_error(cublasStatus_t status, const char* call) {
  const Status kind =
      status == CUBLAS_STATUS_ALLOC_FAILED ? Status::kOutOfMemory : Status::kInternal;
  throw Error(kind, call_failure_message(call, "cuBLAS", static_cast<int>(status),
                                         cublas_status_name(status), ""));
}

void throw_cusolver_error(cusolverStatus_t status, const char* call) {
  const Status kind =
      status == CUSOLVER_STATUS_ALLOC_FAILED ? Status::kOutOfMemory : Status::kInternal;
  throw Error(kind, call_failure_message(call, "cuSOLVER", static_cast<int>(status),
                                         cusolver_status_name(status), ""));
}

void* device_malloc(std::size_t bytes, const std::string& what) {
  void* p = nullptr;
  const cudaError_t status = cudaMalloc(&p, bytes);
  if (status == cudaSuccess) return p;
  cudaGetLastError();
  if (status != cudaErrorMemoryAllocation) throw_cuda_error(status, "cudaMalloc");
  std::size_t free_bytes = 0, total_bytes = 0;
  cudaMemGetInfo(&free_bytes, &total_bytes);
  cudaGetLastError();
  int device = 0;
  cudaGetDevice(&device);
  throw Error(Status::kOutOfMemory,
              out_of_memory_message(what, device, static_cast<std::int64_t>(bytes),
                                    static_cast<std::int64_t>(free_bytes),
                                    static_cast<std::int64_t>(total_bytes)));
}

void check_launch(const char* kernel) {
  const cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess) throw_cuda_error(status, kernel);
}

}  // namespace micronas::cuda
