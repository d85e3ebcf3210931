// Run-time discovery of CUDA devices. Every CUDA return is checked; "no driver" and "no device"
// are answered as zero devices.
#include <cuda_runtime.h>

#include "micronas/context.hpp"

namespace micronas {

bool cuda_compiled() { return true; }

std::vector<CudaDevice> cuda_devices() {
  std::vector<CudaDevice> out;
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver/device" error
    return out;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
    out.push_back({i, prop.name, prop.major, prop.minor,
                   static_cast<double>(prop.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0)});
  }
  return out;
}

}  // namespace micronas
