// Which cells of an NB201 supernet state satisfy hard limits on the deployed network's cost
// (limits.hpp). The searches keep at least one satisfying cell inside their state at every
// step, so the architecture they return always satisfies every limit given.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <string>

#include "micronas/arch.hpp"
#include "micronas/limits.hpp"
#include "micronas/mcu.hpp"

namespace micronas {

// Calls `visit` for every cell (one op per edge) inside a supernet state, in cell-id order.
void for_each_cell(const Arch& state, const std::function<void(const Arch&)>& visit);

class FeasibilityChecker {
 public:
  // `costs` must outlive the checker.
  FeasibilityChecker(const mcu::Nb201CostTable& costs, const McuLimits& limits);

  const McuLimits& limits() const { return limits_; }
  bool satisfies(const mcu::Nb201CostTable::Estimate& estimate) const;
  bool feasible(const Arch& cell) const { return satisfies(costs_.estimate(cell)); }
  // Cells inside `state` that satisfy every limit.
  std::int64_t count_feasible(const Arch& state) const;
  bool any_feasible(const Arch& state) const;
  // Throws Error(kInfeasible) when no cell inside `state` satisfies the limits. The message
  // names each limit that no cell can meet with the closest achievable value, or, when each
  // limit alone can be met, the cell that comes closest to meeting them all.
  void require_feasible(const Arch& state) const;

 private:
  const mcu::Nb201CostTable& costs_;
  McuLimits limits_;
};

}  // namespace micronas
