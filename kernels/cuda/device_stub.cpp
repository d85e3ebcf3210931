// CPU-only build: the CUDA backend is absent.
#include "micronas/context.hpp"

namespace micronas {

bool cuda_compiled() { return false; }
std::vector<CudaDevice> cuda_devices() { return {}; }

}  // namespace micronas
