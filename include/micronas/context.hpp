// Where the proxies are computed: the CPU backend with N threads or the CUDA backend on device i.
// A context is carried in the options of score, search, random search and sweep; the backend is
// created from it in one place (runtime/backend_registry.cpp). Having no GPU is a normal state:
// cuda_devices() is then empty, it never throws or aborts.
#pragma once

#include <atomic>
#include <string>
#include <vector>

namespace micronas {

enum class BackendKind {
  kCpu,
  kCuda,
  kAuto,  // CUDA when this build has it and a device is present, else CPU
};
const char* backend_name(BackendKind kind);
BackendKind backend_from_name(const std::string& name);  // cpu | cuda | auto

struct CudaDevice {
  int index = 0;
  std::string name;
  int compute_major = 0, compute_minor = 0;
  double memory_gib = 0.0;
};

// True when the library was built with the CUDA backend.
bool cuda_compiled();
// GPUs visible at run time (empty without a driver or device, or in a CPU-only build).
std::vector<CudaDevice> cuda_devices();

struct ComputeContext {
  BackendKind backend = BackendKind::kCpu;
  int threads = 0;  // CPU: OpenMP threads (<= kMaxThreads), 0 = OpenMP's default
  int device = 0;   // CUDA: device index
  // Set by another thread to stop a running computation: it throws Error(kCancelled) at its next
  // check, before each proxy evaluation and between linear-region batches. Not owned.
  const std::atomic<bool>* cancel = nullptr;

  static ComputeContext of(BackendKind kind) { return {kind, 0, 0, nullptr}; }
  static ComputeContext cpu(int threads = 0) { return {BackendKind::kCpu, threads, 0, nullptr}; }
  static ComputeContext cuda(int device = 0) { return {BackendKind::kCuda, 0, device, nullptr}; }
  // Throws Error(kCancelled) when `cancel` is set.
  void check_cancelled() const;

  // The concrete context this one stands for: kAuto becomes kCuda (device 0 unless another was
  // given) when a device is present, else kCpu. Throws Error(kUnsupported) for kCuda in a
  // CPU-only build or without a device, Error(kInvalidArgument) for a device index that is not
  // present or a thread count outside 0..kMaxThreads.
  ComputeContext resolved() const;
  // The CPU threads its computations run on: `threads`, or OpenMP's default when it is 0.
  int cpu_threads() const;
  // "cpu (2 threads)", "cuda:0 (NVIDIA H200, sm_90)".
  std::string describe() const;
};

}  // namespace micronas
