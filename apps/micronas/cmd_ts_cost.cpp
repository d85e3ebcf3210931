// `micronas ts-cost ARCH`: latency, peak SRAM and flash of a time-series network deployed as int8
// TFLite Micro + CMSIS-NN on a microcontroller target, op by op.
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli_util.hpp"
#include "commands.hpp"
#include "micronas/error.hpp"
#include "micronas/mcu.hpp"
#include "micronas/timeseries_cost.hpp"
#include "ts_common.hpp"

namespace micronas::cli {
namespace {

struct TsCostOptions {
  std::string arch;
  std::string window = "128x9";
  int classes = 6;
  std::string target = "stm32f746";
  double clock_mhz = 0;
  std::string runtime = "tflm";
  bool json = false;
};

std::string shape_text(const Shape& s) {
  return std::to_string(s.h) + "x" + std::to_string(s.w) + "x" + std::to_string(s.c);
}

void run(const TsCostOptions& opt) {
  const auto [length, sensors] = parse_window(opt.window);
  const timeseries::Space space(length, sensors, opt.classes);
  const timeseries::Arch arch =
      !opt.arch.empty() && opt.arch[0] == '{' ? space.parse_json(opt.arch) : space.parse(opt.arch);
  const mcu::TargetProfile target = mcu::load_target(opt.target);
  mcu::EstimateOptions eo;
  eo.runtime = mcu::runtime_from_name(opt.runtime);
  eo.clock_mhz = opt.clock_mhz;
  const timeseries::LayerGraph graph = timeseries::lower(space, arch);
  const timeseries::CostEstimate cost = timeseries::estimate_cost(target, graph, eo);
  const mcu::NetworkEstimate& est = cost.network;

  nlohmann::ordered_json out;
  out["arch"] = arch.to_string();
  out["window"] = std::to_string(length) + "x" + std::to_string(sensors);
  out["classes"] = opt.classes;
  out["target"] = target.name;
  out["clock_mhz"] = est.clock_mhz;
  out["runtime"] = mcu::runtime_name(est.runtime);
  out["latency_ms"] = est.latency_ms;
  // The batch-norm ops (DEPTHWISE_CONV_2D after each cell conv's ReLU), whose cost is derived
  // from CMSIS-NN's source rather than fitted to measurements: their share of latency_ms.
  double batch_norm_ms = 0;
  for (const mcu::LayerEstimate& l : est.layers)
    if (l.op.kind == mcu::DeployedOpKind::kDepthwiseConv2d) batch_norm_ms += l.ms;
  out["batch_norm_ms"] = batch_norm_ms;
  out["peak_sram_kb"] = est.peak_sram_kb();
  out["flash_kb"] = est.flash_kb();
  out["model_flash_kb"] = est.model_flash_bytes / 1024.0;
  out["peak_sram_bytes"] = est.peak_sram_bytes;
  out["model_flash_bytes"] = est.model_flash_bytes;
  // The arena's parts: TFLite Micro's plan of the tensors and CMSIS-NN's scratch (its head), the
  // same plan without scratch (what TFLite Micro's reference kernels ask), per-op persistent data.
  out["arena_plan_bytes"] = est.arena_plan_bytes;
  out["activation_plan_bytes"] = est.activation_plan_bytes;
  out["reference_peak_memory_bytes"] = timeseries::reference_peak_memory_bytes(graph);
  out["macs"] = est.macs;
  out["cycles"] = est.cycles;
  out["fits_sram"] = est.fits_sram;
  out["fits_flash"] = est.fits_flash;
  auto& layers = out["layers"] = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < est.layers.size(); ++i) {
    const mcu::LayerEstimate& l = est.layers[i];
    layers.push_back(
        {{"op", mcu::deployed_op_name(l.op.kind)},
         {"family", mcu::cost_family_name(l.cost.family)},
         {"layer", graph.layers[cost.graph_layer[i]].name},
         {"input", shape_text(l.op.input)},
         {"output", shape_text(l.op.output)},
         {"kernel", std::to_string(l.op.kernel_h) + "x" + std::to_string(l.op.kernel_w)},
         {"stride", std::to_string(l.op.stride_h) + "x" + std::to_string(l.op.stride_w)},
         {"macs", l.cost.macs},
         {"cycles", l.cost.cycles},
         {"ms", l.ms},
         {"live_sram_bytes", l.live_sram_bytes},
         {"scratch_bytes", l.cost.scratch_bytes},
         {"persistent_bytes", l.cost.persistent_bytes},
         {"flash_bytes", l.cost.flash_bytes}});
  }
  if (opt.json) {
    std::cout << out.dump(2) << "\n";
    return;
  }
  std::cout << std::left << std::setw(19) << "op" << std::setw(16) << "layer" << std::setw(12)
            << "input" << std::setw(12) << "output" << std::setw(7) << "kernel" << std::right
            << std::setw(10) << "MACs" << std::setw(11) << "cycles" << std::setw(9) << "ms"
            << std::setw(10) << "live_B"
            << "\n";
  for (const auto& l : layers)
    std::cout << std::left << std::setw(19) << l["op"].get<std::string>() << std::setw(16)
              << l["layer"].get<std::string>() << std::setw(12) << l["input"].get<std::string>()
              << std::setw(12) << l["output"].get<std::string>() << std::setw(7)
              << l["kernel"].get<std::string>() << std::right << std::setw(10)
              << l["macs"].get<std::int64_t>() << std::setw(11) << l["cycles"].get<std::int64_t>()
              << std::setw(9) << std::fixed << std::setprecision(3) << l["ms"].get<double>()
              << std::setw(10) << l["live_sram_bytes"].get<std::int64_t>() << "\n";
  std::cout << "\n";
  for (const char* key :
       {"arch", "window", "classes", "target", "clock_mhz", "runtime", "latency_ms",
        "batch_norm_ms", "peak_sram_kb", "flash_kb", "model_flash_kb",
        "reference_peak_memory_bytes", "macs", "fits_sram", "fits_flash"}) {
    std::cout << std::left << std::setw(28) << key << " ";
    if (out[key].is_string())
      std::cout << out[key].get<std::string>() << "\n";
    else
      std::cout << out[key].dump() << "\n";
  }
}

}  // namespace

void add_ts_cost_command(CLI::App& app) {
  auto opt = std::make_shared<TsCostOptions>();
  CLI::App* cmd = app.add_subcommand(
      "ts-cost",
      "Time-series network on a microcontroller: latency, peak SRAM and flash of the int8 "
      "TFLite Micro + CMSIS-NN deployment, op by op");
  cmd->add_option("ARCH", opt->arch,
                  "Architecture text (e.g. tr:k5w8|tr:k3w12|tr:k7w16|sf:b16[3,7]w32r|sf:skip|"
                  "sf:b8[5]w24) or its JSON")
      ->required();
  cmd->add_option("--window", opt->window, "Window as TIMExSENSORS")->capture_default_str();
  cmd->add_option("--classes", opt->classes, "Number of classes")
      ->check(integer_in(2, 100000))
      ->capture_default_str();
  cmd->add_option("--target", opt->target,
                  "Target profile: stm32f746 | stm32f446re | stm32l552 | PROFILE.json")
      ->capture_default_str();
  cmd->add_option("--clock-mhz", opt->clock_mhz, "Override the target's clock (MHz)")
      ->check(positive_finite());
  cmd->add_option("--runtime", opt->runtime, "tflm (interpreter overhead per op) | codegen")
      ->capture_default_str();
  cmd->add_flag("--json", opt->json, "Machine-readable JSON output");
  cmd->callback([opt]() { run(*opt); });
}

}  // namespace micronas::cli
