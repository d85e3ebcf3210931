// Lowering of a network graph to deployed int8 ops (internal): the one description of "the
// deployed network" that both the cost model (network_estimate.cpp) and the TFLite export
// (mcu/tflite/) read, so that the model's predictions are about the exported file. Other spaces
// lower their networks to the same `Lowered` form (the time-series space:
// search/timeseries/cost.cpp) and share estimate_lowered().
#pragma once

#include <cstdint>
#include <vector>

#include "mcu/schedule.hpp"
#include "micronas/graph.hpp"
#include "micronas/mcu.hpp"

namespace micronas::mcu {

// Which graph layers a deployed op computes.
struct LoweredSource {
  int layer = -1;       // the op's own layer (conv, BN for MUL/ADD of a stand-alone BN, ReLU,
                        // pooling, linear, the weighted sum of a node's ADD or QUANTIZE)
  int bn_layer = -1;    // a BN folded into the conv
  int relu_layer = -1;  // a ReLU fused into the op
  int term = -1;        // ADD of a node sum: the input index added; QUANTIZE: 0
  bool bn_add = false;  // the ADD (shift) half of a stand-alone BN; false for its MUL
};

struct Lowered {
  std::vector<DeployedOp> ops;
  std::vector<ScheduleOp> schedule;  // tensor ids read and written by each op
  std::vector<LoweredSource> source;
  std::vector<std::int64_t> tensor_numel;
  std::vector<bool> tensor_constant;
  std::vector<int> tensor_def;
  std::int64_t constant_flash_bytes = 0;  // constant zero tensors of all-`none` nodes
  int output_tensor = -1;                 // tensor 0 is the network input
};

// See estimate_graph() in micronas/mcu.hpp for the rules.
Lowered lower_graph(const Graph& graph);

// Latency (per op and total), peak SRAM (schedule_peak over the tensors' lifetimes, plus
// persistent data and the fixed arena) and flash of any lowered network: the one model behind
// estimate_graph() and every other space's estimate. Sets latency_ms to the analytic latency
// (micronas_table_ms stays 0). Throws Error(kNumericalError) when the target's constants give a
// latency that is not positive and finite.
NetworkEstimate estimate_lowered(const TargetProfile& target, Lowered low,
                                 const EstimateOptions& options);

}  // namespace micronas::mcu
