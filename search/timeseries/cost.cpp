// A time-series layer graph as deployed int8 ops, costed by the microcontroller model shared with
// the NB201 networks (mcu/network_estimate.cpp).
#include "mcu/lowering.hpp"
#include "micronas/error.hpp"
#include "micronas/timeseries_cost.hpp"
#include "search/timeseries/deployed_op.hpp"

namespace micronas::timeseries {
namespace {

mcu::Lowered lower_deployed(const LayerGraph& g, std::vector<int>& graph_layer) {
  mcu::Lowered low;
  auto new_tensor = [&](std::int64_t numel) {
    low.tensor_numel.push_back(numel);
    low.tensor_constant.push_back(false);
    low.tensor_def.push_back(static_cast<int>(low.ops.size()));  // the next op writes it
    return static_cast<int>(low.tensor_numel.size()) - 1;
  };
  new_tensor(std::int64_t{g.input.t} * g.input.s * g.input.c);
  low.tensor_def[0] = -1;  // the input exists before the first op
  std::vector<int> tensor_of(g.layers.size(), -1);
  auto tensor_in = [&](int layer) { return layer < 0 ? 0 : tensor_of[layer]; };
  for (std::size_t i = 0; i < g.layers.size(); ++i) {
    const Layer& l = g.layers[i];
    int in0 = tensor_in(l.inputs[0]);
    if (l.kind == LayerKind::kDropout) {
      tensor_of[i] = in0;  // identity at inference
      continue;
    }
    const int in1 = l.kind == LayerKind::kAdd ? tensor_in(l.inputs[1]) : -1;
    // Each op writes a new tensor; a conv's batch-norm op reads the conv's output.
    for (const mcu::DeployedOp& op : deployed_ops(l)) {
      mcu::ScheduleOp io;
      io.in0 = in0;
      io.in1 = op.kind == mcu::DeployedOpKind::kAdd ? in1 : -1;
      io.out = new_tensor(op.output.numel());
      mcu::LoweredSource src;
      src.layer = static_cast<int>(i);
      low.ops.push_back(op);
      low.schedule.push_back(io);
      low.source.push_back(src);
      graph_layer.push_back(static_cast<int>(i));
      in0 = io.out;
    }
    tensor_of[i] = in0;
  }
  low.output_tensor = tensor_of[g.output];
  return low;
}

}  // namespace

CostEstimate estimate_cost(const mcu::TargetProfile& target, const LayerGraph& graph,
                           const mcu::EstimateOptions& options) {
  if (options.latency_model == mcu::LatencyModel::kMicronasConstantTable)
    throw Error(Status::kInvalidArgument,
                "the MicroNAS constant latency table describes NB201 cells, not time-series "
                "networks");
  CostEstimate est;
  est.network = mcu::estimate_lowered(target, lower_deployed(graph, est.graph_layer), options);
  return est;
}

}  // namespace micronas::timeseries
