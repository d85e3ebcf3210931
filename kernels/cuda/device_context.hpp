// What one CUDA device needs for the backend: the stream every kernel, copy, cuBLAS and
// cuSOLVER call of the backend's executors runs on, and the library handles bound to it. Owned
// by the backend and shared with the executors it compiles (they may outlive it).
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusolverDn.h>

#include <cstddef>
#include <string>

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

 private:
  int device_;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  cusolverDnHandle_t cusolver_ = nullptr;
};

// One device allocation, freed with its owner.
class DeviceMemory {
 public:
  DeviceMemory() = default;
  ~DeviceMemory() { reset(); }
  DeviceMemory(const DeviceMemory&) = delete;
  DeviceMemory& operator=(const DeviceMemory&) = delete;

  // Frees the old block, then allocates `bytes` (Error(kOutOfMemory) naming `what`).
  void allocate(std::size_t bytes, const std::string& what);
  void reset();
  char* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  char* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace micronas::cuda
