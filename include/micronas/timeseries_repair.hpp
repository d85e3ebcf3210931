// Enforcing hard limits on a derived time-series network. Differentiable search only penalises
// expected cost, so the network it derives can exceed a limit; the published system returns it
// anyway. We repair it: shrink it one choice at a time until it fits, each time taking the change
// that gives up the least architecture weight per unit of excess cost removed.
//
// The changes (each makes the deployed network cheaper on every cost):
//   - a Time-Reduce cell: the next narrower width, or the next smaller kernel;
//   - a Sensor-Fusion cell: the next narrower bottleneck or block width, dropping one of two or
//     more branches, a lone branch replaced by the next smaller kernel's (7 -> 5, 5 -> 3),
//     dropping the residual, or skipping the cell (non-reducing cells);
// Weight lost by a change = log P(current choice) − log P(new choice) under the search's
// distribution (for a binary choice, its two outcomes), at least 0. Excess removed =
// Σ over the limits the network still exceeds of (cost before − cost after) / limit. The change
// with the smallest ratio is taken (ties: the first in the order above, cell by cell); changes
// that remove no excess are not considered.
//
// The smallest network of a space (every width the narrowest, kernel 3, one branch of kernel 3,
// no residual, every non-reducing cell skipped) is the cheapest on every cost, so the repair
// ends at a fitting network whenever one exists; otherwise it throws Error(kInfeasible) naming
// each limit the smallest network still exceeds and the value it reaches (the closest
// achievable), as the NB201 search does.
#pragma once

#include <string>
#include <vector>

#include "micronas/limits.hpp"
#include "micronas/mcu.hpp"
#include "micronas/timeseries_distribution.hpp"
#include "micronas/timeseries_space.hpp"

namespace micronas::timeseries {

struct DeployedCost {
  double latency_ms = 0, peak_sram_kb = 0, flash_kb = 0;
};

// The deployed network's cost on `target` (estimate_cost of its layer graph).
DeployedCost deployed_cost(const Space& space, const Arch& arch, const mcu::TargetProfile& target,
                           const mcu::EstimateOptions& options = {});

// Every non-reducing cell skipped, the narrowest widths, kernel 3 and only the 3-branch.
Arch cheapest_arch(const Space& space);

struct RepairStep {
  std::string change;  // e.g. "sf2 width 64 -> 56"
  Arch arch;           // the network after the change
  DeployedCost cost;   // its cost
  double weight_lost = 0;
};

struct RepairResult {
  Arch arch;                      // fits every limit
  DeployedCost cost;              // of `arch`
  std::vector<RepairStep> steps;  // empty when the derived network already fits
};

// Throws Error(kInfeasible) when no network of the space fits the limits, and
// Error(kInvalidArgument) when `arch` or `weights` do not belong to the space.
RepairResult repair_to_limits(const Space& space, const Arch& arch, const ArchDistribution& weights,
                              const McuLimits& limits, const mcu::TargetProfile& target,
                              const mcu::EstimateOptions& options = {});

}  // namespace micronas::timeseries
