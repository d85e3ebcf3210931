// Whole-network estimate: the costs of a lowered network's deployed int8 ops and TFLite Micro's
// arena plan of their tensors for peak SRAM; NB201 graphs are lowered by mcu/lowering.cpp, other
// spaces by their own lowering to the same Lowered form.
#include <cmath>

#include "mcu/lowering.hpp"
#include "mcu/op_cost.hpp"
#include "mcu/schedule.hpp"
#include "micronas/error.hpp"
#include "micronas/mcu.hpp"

namespace micronas::mcu {

NetworkEstimate estimate_lowered(const TargetProfile& target, Lowered low,
                                 const EstimateOptions& options) {
  if (options.clock_mhz < 0) throw Error(Status::kInvalidArgument, "clock must be > 0 MHz");
  NetworkEstimate est;
  est.target = target.name;
  est.clock_mhz = options.clock_mhz > 0 ? options.clock_mhz : target.clock_mhz;
  est.runtime = options.runtime;
  const double cycles_per_ms = est.clock_mhz * 1e3;

  const int n_ops = static_cast<int>(low.ops.size());
  const int n_tensors = static_cast<int>(low.tensor_numel.size());
  std::int64_t persistent = 0;
  std::int64_t constants = 0;
  for (bool c : low.tensor_constant) constants += c;
  est.model_flash_bytes =
      std::llround(target.flash_model_overhead_bytes) + low.constant_flash_bytes +
      std::llround(target.flash_per_constant_tensor_bytes * static_cast<double>(constants));
  est.layers.resize(n_ops);
  for (int i = 0; i < n_ops; ++i) {
    LayerEstimate& layer = est.layers[i];
    layer.op = low.ops[i];
    layer.cost = op_cost(target, layer.op, options.runtime);
    layer.ms = layer.cost.cycles / cycles_per_ms;
    low.schedule[i].scratch = aligned_bytes(target, layer.cost.scratch_bytes);
    est.cycles += layer.cost.cycles;
    est.macs += layer.cost.macs;
    persistent += layer.cost.persistent_bytes;
    est.model_flash_bytes += layer.cost.flash_bytes;
  }
  std::vector<std::int64_t> arena(n_tensors);
  for (int t = 0; t < n_tensors; ++t)
    arena[t] = low.tensor_constant[t] ? 0 : aligned_bytes(target, low.tensor_numel[t]);
  std::vector<ArenaBuffer> buffers;
  std::vector<std::int64_t> live;
  schedule_buffers(low.schedule, arena, low.tensor_def, {low.output_tensor}, buffers);
  live_bytes(buffers, n_ops, live);
  for (int i = 0; i < n_ops; ++i) est.layers[i].live_sram_bytes = live[i];
  est.arena_plan_bytes = greedy_arena_plan(buffers);
  // Without the scratch buffers (listed last): the plan of TFLite Micro's reference kernels,
  // which ask for no scratch.
  std::size_t scratch_buffers = 0;
  for (const ScheduleOp& op : low.schedule) scratch_buffers += op.scratch > 0;
  buffers.resize(buffers.size() - scratch_buffers);
  est.activation_plan_bytes = greedy_arena_plan(buffers);
  est.peak_sram_bytes = est.arena_plan_bytes + persistent + target.arena_fixed_bytes;
  est.flash_bytes = est.model_flash_bytes + std::llround(target.runtime_code_kb * 1024.0);
  est.analytic_latency_ms = est.cycles / cycles_per_ms;
  if (!(est.analytic_latency_ms > 0) || !std::isfinite(est.analytic_latency_ms))
    throw Error(Status::kNumericalError,
                "target '" + target.name + "' gives a latency of " +
                    std::to_string(est.analytic_latency_ms) +
                    " ms for a whole network; its constants cannot describe a real target");
  est.latency_ms = est.analytic_latency_ms;
  est.fits_sram = est.peak_sram_bytes <= target.sram_kb * 1024.0;
  est.fits_flash = est.flash_bytes <= target.flash_kb * 1024.0;
  return est;
}

NetworkEstimate estimate_graph(const TargetProfile& target, const Graph& graph,
                               const EstimateOptions& options) {
  NetworkEstimate est = estimate_lowered(target, lower_graph(graph), options);
  est.micronas_table_ms = micronas_constant_table_ms(graph.arch);
  if (options.latency_model == LatencyModel::kMicronasConstantTable)
    est.latency_ms = est.micronas_table_ms;
  return est;
}

NetworkEstimate estimate_network(const TargetProfile& target, const NetworkConfig& config,
                                 const Arch& arch, const EstimateOptions& options) {
  return estimate_graph(target, build_graph(config, arch), options);
}

double micronas_constant_table_ms(const Arch& arch) {
  // Zero-shot MicroNAS's per-op latency table (ms), indexed by Op.
  static constexpr double kTableMs[kNumOps] = {0.0, 1.43, 23.49, 80.26, 24.02};
  double total = 0;
  for (int e = 0; e < kNumEdges; ++e)
    for (int op = 0; op < kNumOps; ++op)
      if (arch.has(e, static_cast<Op>(op))) total += kTableMs[op];
  return total;
}

}  // namespace micronas::mcu
