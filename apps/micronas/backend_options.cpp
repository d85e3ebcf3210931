#include "backend_options.hpp"

#include <iostream>

#include "cli_util.hpp"
#include "micronas/error.hpp"

namespace micronas::cli {

void BackendCliOptions::add_to(CLI::App* cmd) {
  cmd->add_option("--backend", backend,
                  "cpu | cuda | auto (CUDA when a device is present, else CPU; "
                  "`micronas devices` lists them)")
      ->capture_default_str();
  device_option_ = cmd->add_option("--device", device,
                                   "CUDA device index (default: 0, or the process's local rank "
                                   "in a multi-process job)")
                       ->capture_default_str()
                       ->check(integer_in(0, 1023));
  cmd->add_option("--threads", threads, "CPU threads (default: OpenMP's)")
      ->check(integer_in(1, kMaxThreads));
}

ComputeContext BackendCliOptions::to_context(int local_rank) const {
  ComputeContext c;
  c.backend = backend_from_name(backend);
  const bool device_given = device_option_ && device_option_->count() > 0;
  if (c.backend == BackendKind::kCpu && device_given)
    throw Error(Status::kInvalidArgument,
                "--device " + std::to_string(device) +
                    " names a CUDA device, but --backend is cpu (use cuda or auto)");
  c.device = device;
  const std::size_t devices = cuda_devices().size();
  if (local_rank >= 0 && devices > 0 && !device_given)
    c.device = local_rank % static_cast<int>(devices);
  c.threads = threads;
  const ComputeContext resolved = c.resolved();
  if (c.backend == BackendKind::kAuto)
    std::cerr << "micronas: --backend auto: computing on " << resolved.describe()
              << (resolved.backend == BackendKind::kCpu ? " (no CUDA device)" : "") << "\n";
  return resolved;
}

}  // namespace micronas::cli
