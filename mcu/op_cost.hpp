// Per-op cost formulas (internal): the shape features of each family's instruction-count form,
// in the order of mcu/scripts/fit_profiles.py and the profile's `features` lists.
#pragma once

#include <string>
#include <vector>

#include "micronas/mcu.hpp"

namespace micronas::mcu {

const std::vector<std::string>& family_feature_names(CostFamily family);

// The family whose kernel runs `op` (CMSIS-NN's choice between the conv paths).
CostFamily family_of(const DeployedOp& op);

// Feature values of `op` for its family (same order as family_feature_names).
std::vector<double> op_features(const DeployedOp& op);

// Bytes of an int8 tensor in the arena (rounded up to the target's alignment).
std::int64_t aligned_bytes(const TargetProfile& target, std::int64_t bytes);

}  // namespace micronas::mcu
