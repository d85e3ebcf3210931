// What one CUDA device needs for the backend: the stream every kernel, copy, cuBLAS and
// cuSOLVER call of the backend's executors runs on, the library handles bound to it, and the
// device memory blocks its executors have given back. Owned by the backend and shared with the
// executors it compiles (they may outlive it).
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusolverDn.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace micronas::cuda {

class DeviceContext {
 public:
  explicit DeviceContext(int device);
  ~DeviceContext();
  DeviceContext(const DeviceContext&) = delete;
  DeviceContext& operator=(const DeviceContext&) = delete;

  // Makes the device current on the calling thread (the CUDA runtime's device is per thread).
  void activate() const;
  void synchronize() const;
  int device() const { return device_; }
  cudaStream_t stream() const { return stream_; }
  cublasHandle_t cublas() const { return cublas_; }
  cusolverDnHandle_t cusolver() const { return cusolver_; }

  // Device memory for executors' workspaces, kept for reuse: a block given back is handed out
  // again for any request it can hold, so the executors a search compiles one after another
  // allocate nothing once the largest workspace has been seen. *granted is the block's size.
  // Out of memory, the cached blocks are freed and the allocation tried once more before
  // Error(kOutOfMemory) names `what`.
  void* acquire(std::size_t bytes, const std::string& what, std::size_t* granted);
  void release(void* block, std::size_t bytes);
  std::size_t cached_bytes() const;

  // cuSOLVER's workspace for an n x n symmetric eigenproblem (dense.hpp), queried once per n.
  std::int64_t eigen_workspace_bytes(int n);

 private:
  void free_cache();

  int device_;
  mutable std::mutex mutex_;
  std::vector<std::pair<void*, std::size_t>> cache_;
  std::map<int, std::int64_t> eigen_bytes_;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  cusolverDnHandle_t cusolver_ = nullptr;
};

// One block of a context's device memory, given back to the context with its owner.
class DeviceMemory {
 public:
  explicit DeviceMemory(std::shared_ptr<DeviceContext> context) : context_(std::move(context)) {}
  ~DeviceMemory() { reset(); }
  DeviceMemory(const DeviceMemory&) = delete;
  DeviceMemory& operator=(const DeviceMemory&) = delete;

  // Gives the old block back, then takes one of at least `bytes` (Error(kOutOfMemory) naming
  // `what`).
  void allocate(std::size_t bytes, const std::string& what);
  void reset();
  void swap(DeviceMemory& other) {
    std::swap(context_, other.context_);
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
  }
  char* data() const { return data_; }
  std::size_t size() const { return size_; }
  const std::shared_ptr<DeviceContext>& context() const { return context_; }

 private:
  std::shared_ptr<DeviceContext> context_;
  char* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace micronas::cuda
