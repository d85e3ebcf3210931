// The one place that knows which backends this build has.
#include "micronas/error.hpp"
#include "runtime/backend.hpp"

namespace micronas {

std::unique_ptr<Backend> make_backend(const ComputeContext& context) {
  const ComputeContext resolved = context.resolved();
  switch (resolved.backend) {
    case BackendKind::kCpu: return make_cpu_backend(resolved);
    case BackendKind::kCuda:
#if MICRONAS_HAVE_CUDA
      return make_cuda_backend(resolved);
#else
      break;  // resolved() has already refused it
#endif
    case BackendKind::kAuto: break;
  }
  throw Error(Status::kInternal,
              std::string("no backend for context '") + backend_name(resolved.backend) + "'");
}

}  // namespace micronas
