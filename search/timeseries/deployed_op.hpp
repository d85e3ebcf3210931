// The deployed int8 op of one time-series layer (internal): shared by the cost of one network
// (cost.cpp) and the expected cost's per-op tables (expected_cost.cpp), so that both price the
// same ops. See include/micronas/timeseries_cost.hpp for the rules.
#pragma once

#include "micronas/mcu.hpp"
#include "micronas/timeseries_lowering.hpp"

namespace micronas::timeseries {

// The op computing `l` (a conv, add, global average pooling or softmax; Error(kInternal) for a
// dropout, which deploys to nothing, or a conv whose padding is not TFLite's SAME).
mcu::DeployedOp deployed_op(const Layer& l);

}  // namespace micronas::timeseries
