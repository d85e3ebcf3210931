#include "kernels/cuda/device_context.hpp"

#include "kernels/cuda/cuda_check.hpp"

namespace micronas::cuda {

DeviceContext::DeviceContext(int device) : device_(device) {
  MICRONAS_CUDA_CHECK(cudaSetDevice(device));
  try {
    MICRONAS_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    MICRONAS_CUBLAS_CHECK(cublasCreate(&cublas_));
    MICRONAS_CUBLAS_CHECK(cublasSetStream(cublas_, stream_));
    // The Gram matrix feeds a condition number: no TF32 or other reduced-precision paths.
    MICRONAS_CUBLAS_CHECK(cublasSetMathMode(cublas_, CUBLAS_PEDANTIC_MATH));
    MICRONAS_CUSOLVER_CHECK(cusolverDnCreate(&cusolver_));
    MICRONAS_CUSOLVER_CHECK(cusolverDnSetStream(cusolver_, stream_));
  } catch (...) {
    if (cusolver_) cusolverDnDestroy(cusolver_);
    if (cublas_) cublasDestroy(cublas_);
    if (stream_) cudaStreamDestroy(stream_);
    throw;
  }
}

DeviceContext::~DeviceContext() {
  // Nothing can be reported from a destructor; the handles go in reverse order of creation.
  cudaSetDevice(device_);
  cusolverDnDestroy(cusolver_);
  cublasDestroy(cublas_);
  cudaStreamDestroy(stream_);
}

void DeviceContext::activate() const { MICRONAS_CUDA_CHECK(cudaSetDevice(device_)); }

void DeviceContext::synchronize() const { MICRONAS_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

void DeviceMemory::allocate(std::size_t bytes, const std::string& what) {
  reset();
  data_ = static_cast<char*>(device_malloc(bytes, what));
  size_ = bytes;
}

void DeviceMemory::reset() {
  if (data_) cudaFree(data_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace micronas::cuda
