// Which compute backends this build has and which devices are present at run time. Having no
// GPU is a normal state: cuda_device_count() returns 0, it never throws or aborts.
#pragma once

#include <string>
#include <vector>

namespace micronas {

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

}  // namespace micronas
