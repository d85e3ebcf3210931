#include "kernels/cuda/device_context.hpp"

#include "kernels/cuda/cuda_check.hpp"
#include "kernels/cuda/dense.hpp"
#include "micronas/error.hpp"

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
  for (auto& block : cache_) cudaFree(block.first);
  cusolverDnDestroy(cusolver_);
  cublasDestroy(cublas_);
  cudaStreamDestroy(stream_);
}

void DeviceContext::activate() const { MICRONAS_CUDA_CHECK(cudaSetDevice(device_)); }

void DeviceContext::synchronize() const { MICRONAS_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

void* DeviceContext::acquire(std::size_t bytes, const std::string& what, std::size_t* granted) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // The smallest cached block that holds the request.
    auto best = cache_.end();
    for (auto it = cache_.begin(); it != cache_.end(); ++it)
      if (it->second >= bytes && (best == cache_.end() || it->second < best->second)) best = it;
    if (best != cache_.end()) {
      void* block = best->first;
      *granted = best->second;
      cache_.erase(best);
      return block;
    }
  }
  activate();
  try {
    void* block = device_malloc(bytes, what);
    *granted = bytes;
    return block;
  } catch (const Error& e) {
    if (e.status() != Status::kOutOfMemory || cached_bytes() == 0) throw;
  }
  free_cache();
  void* block = device_malloc(bytes, what);
  *granted = bytes;
  return block;
}

void DeviceContext::release(void* block, std::size_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  cache_.emplace_back(block, bytes);
}

std::size_t DeviceContext::cached_bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::size_t total = 0;
  for (const auto& block : cache_) total += block.second;
  return total;
}

void DeviceContext::free_cache() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& block : cache_) MICRONAS_CUDA_CHECK(cudaFree(block.first));
  cache_.clear();
}

std::int64_t DeviceContext::eigen_workspace_bytes(int n) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = eigen_bytes_.find(n);
  if (it != eigen_bytes_.end()) return it->second;
  activate();
  const std::int64_t bytes = eigenvalue_workspace_bytes(cusolver_, n);
  eigen_bytes_.emplace(n, bytes);
  return bytes;
}

void DeviceMemory::allocate(std::size_t bytes, const std::string& what) {
  reset();
  data_ = static_cast<char*>(context_->acquire(bytes, what, &size_));
}

void DeviceMemory::reset() {
  if (data_) context_->release(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace micronas::cuda
