// A time-series layer graph as deployed int8 ops, costed by the microcontroller model shared with
// the NB201 networks (mcu/network_estimate.cpp).
#include "micronas/error.hpp"
#include "micronas/timeseries_cost.hpp"
#include "search/timeseries/deployed_op.hpp"

namespace micronas::timeseries {
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
