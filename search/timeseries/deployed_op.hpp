// The deployed int8 ops of one time-series layer (internal): shared by the cost of one network
// (cost.cpp) and the expected cost's per-op tables (expected_cost.cpp), so that both price the
// same ops. See include/micronas/timeseries_cost.hpp for the rules.
#pragma once

#include <vector>

#include "mcu/lowering.hpp"
#include "micronas/mcu.hpp"
#include "micronas/timeseries_lowering.hpp"

namespace micronas::timeseries {

// The ops computing `l`, in execution order: a conv gives its CONV_2D (ReLU fused), then, with
// batch norm, the DEPTHWISE_CONV_2D applying it; an add, global average pooling or softmax one
// op; a dropout none (identity at inference). Error(kInternal) for a conv whose padding is not
// TFLite's SAME.
std::vector<mcu::DeployedOp> deployed_ops(const Layer& l);

// The whole network as deployed ops in execution order with the tensors each reads and writes:
// what estimate_cost prices and the TFLite export writes. graph_layer[i] is the layer op i
// computes (a conv with batch norm: two consecutive ops).
mcu::Lowered lower_deployed(const LayerGraph& g, std::vector<int>& graph_layer);

}  // namespace micronas::timeseries
