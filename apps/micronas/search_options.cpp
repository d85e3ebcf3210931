#include "search_options.hpp"

#include <cmath>

#include "cli_util.hpp"
#include "micronas/error.hpp"
#include "micronas/threads.hpp"

namespace micronas::cli {

void ProxyCliOptions::add_to(CLI::App* cmd) {
  cmd->add_option("--seed", seed, "Seed for weights and inputs")
      ->capture_default_str()
      ->check(seed_value());
  cmd->add_option("--batch", batch, "NTK batch size (TE-NAS 72, MicroNAS 128)")
      ->capture_default_str();
  cmd->add_option("--repeat", repeats, "Repeats (fresh data each)")->capture_default_str();
  cmd->add_option("--data", data, "synthetic | cifar10:PATH | cifar100:PATH | npy:PATH")
      ->capture_default_str();
  cmd->add_option("--init", init,
                  "released (PyTorch defaults, as TE-NAS ran) | kaiming (as the paper intends)")
      ->capture_default_str();
  cmd->add_option("--dataset", dataset, "cifar10 | cifar100 | imagenet16")->capture_default_str();
  backend.add_to(cmd);
}

ScoreOptions ProxyCliOptions::to_score_options() const {
  ScoreOptions o;
  o.context = backend.to_context();
  o.dataset = dataset_from_name(dataset);
  o.batch = batch;
  o.repeats = repeats;
  o.init = init_scheme_from_name(init);
  o.data = DataSpec::parse(data);
  o.seed = seed;
  return o;
}

void CostCliOptions::add_to(CLI::App* cmd) {
  cmd->add_option("--target", target, "Microcontroller: built-in name or profile JSON")
      ->capture_default_str();
  cmd->add_option("--runtime", runtime, "tflm (interpreter overhead per op) | codegen")
      ->capture_default_str();
  cmd->add_option("--latency-table", latency_table,
                  "model (our per-layer model of the deployed network) | micronas (the "
                  "zero-shot MicroNAS constant per-op table)")
      ->capture_default_str();
  cmd->add_option("--flops-weight", flops_weight, "phi: weight of the FLOPs rank (MicroNAS)")
      ->capture_default_str();
  cmd->add_option("--latency-weight", latency_weight,
                  "lambda: weight of the latency rank (MicroNAS)")
      ->capture_default_str();
  cmd->add_option("--max-latency-ms", limits.max_latency_ms,
                  "Hard limit on the deployed network's latency (in the chosen latency model)");
  cmd->add_option("--max-sram-kb", limits.max_sram_kb, "Hard limit on peak SRAM (KiB)");
  cmd->add_option("--max-flash-kb", limits.max_flash_kb,
                  "Hard limit on flash, model + runtime (KiB; the F746 has 1024)");
}

mcu::EstimateOptions CostCliOptions::to_estimate_options() const {
  mcu::EstimateOptions o;
  o.runtime = mcu::runtime_from_name(runtime);
  try {
    o.latency_model = mcu::latency_model_from_name(latency_table);
  } catch (const Error& e) {  // the option's name in the message
    throw Error(e.status(), "--latency-table '" + latency_table + "': " + e.what());
  }
  return o;
}

nlohmann::ordered_json benchmark_json(const BenchmarkTable* table, const Arch& cell) {
  if (!table) return nullptr;
  auto row = table->find(cell);
  if (!row) return nullptr;
  nlohmann::ordered_json out;
  out["index"] = table->index(*row);
  for (const std::string& column : table->columns())
    out[column] = json_number(table->value(*row, column));
  return out;
}

}  // namespace micronas::cli
