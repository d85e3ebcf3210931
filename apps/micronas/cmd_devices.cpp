// micronas devices: the backends this build has and the devices this machine shows.
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "micronas/context.hpp"
#include "micronas/threads.hpp"
#include "search/search_json.hpp"

namespace micronas::cli {

void add_devices_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("devices", "List the compute backends and devices available");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "Machine-readable output");
  cmd->callback([json] {
    const std::vector<CudaDevice> devices = cuda_devices();
    if (*json) {
      std::cout << devices_json().dump(2) << "\n";
      return;
    }
    std::cout << "cpu: " << default_num_threads() << " threads\n";
    if (!cuda_compiled()) {
      std::cout << "cuda: not in this build (configured without a CUDA compiler)\n";
    } else if (devices.empty()) {
      std::cout << "cuda: built in; no device present\n";
    } else {
      for (const CudaDevice& d : devices)
        std::cout << "cuda:" << d.index << ": " << d.name << ", sm_" << d.compute_major
                  << d.compute_minor << ", " << d.memory_gib << " GiB\n";
    }
    std::cout << "--backend auto uses: "
              << backend_name(ComputeContext::of(BackendKind::kAuto).resolved().backend) << "\n";
  });
}

}  // namespace micronas::cli
