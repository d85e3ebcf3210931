#include "micronas/context.hpp"

#include <sstream>

#include "micronas/error.hpp"
#include "micronas/threads.hpp"

namespace micronas {

const char* backend_name(BackendKind kind) {
  switch (kind) {
    case BackendKind::kCpu: return "cpu";
    case BackendKind::kCuda: return "cuda";
    case BackendKind::kAuto: return "auto";
  }
  return "?";
}

BackendKind backend_from_name(const std::string& name) {
  if (name == "cpu") return BackendKind::kCpu;
  if (name == "cuda") return BackendKind::kCuda;
  if (name == "auto") return BackendKind::kAuto;
  throw Error(Status::kInvalidArgument,
              "unknown backend '" + name + "' (expected cpu, cuda or auto)");
}

ComputeContext ComputeContext::resolved() const {
  if (threads < 0 || threads > kMaxThreads)
    throw Error(Status::kInvalidArgument, "thread count must be in 0.." +
                                              std::to_string(kMaxThreads) + " (0: default), got " +
                                              std::to_string(threads));
  if (device < 0)
    throw Error(Status::kInvalidArgument,
                "CUDA device index must be >= 0, got " + std::to_string(device));
  ComputeContext out = *this;
  if (backend == BackendKind::kCpu) return out;
  const std::vector<CudaDevice> devices = cuda_devices();
  if (backend == BackendKind::kAuto) {
    out.backend = devices.empty() ? BackendKind::kCpu : BackendKind::kCuda;
    if (out.backend == BackendKind::kCpu) return out;
  }
  if (!cuda_compiled())
    throw Error(Status::kUnsupported,
                "this build has no CUDA backend (it was configured without a CUDA compiler)");
  if (devices.empty())
    throw Error(Status::kUnsupported, "no CUDA device is present (the CUDA backend needs one)");
  if (out.device >= static_cast<int>(devices.size()))
    throw Error(Status::kInvalidArgument, "CUDA device " + std::to_string(out.device) +
                                              " is not present (" + std::to_string(devices.size()) +
                                              " found)");
  return out;
}

void ComputeContext::check_cancelled() const {
  if (cancel && cancel->load(std::memory_order_relaxed))
    throw Error(Status::kCancelled, "cancelled");
}

int ComputeContext::cpu_threads() const { return threads > 0 ? threads : default_num_threads(); }

std::string ComputeContext::describe() const {
  std::ostringstream s;
  switch (backend) {
    case BackendKind::kCpu: s << "cpu (" << cpu_threads() << " threads)"; break;
    case BackendKind::kCuda: {
      s << "cuda:" << device;
      for (const CudaDevice& d : cuda_devices())
        if (d.index == device)
          s << " (" << d.name << ", sm_" << d.compute_major << d.compute_minor << ")";
      break;
    }
    case BackendKind::kAuto: s << "auto"; break;
  }
  return s.str();
}

}  // namespace micronas
