#include "micronas/mcu_limits.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <vector>

#include "micronas/error.hpp"

namespace micronas {
namespace {

double kib(std::int64_t bytes) { return static_cast<double>(bytes) / 1024.0; }

struct LimitView {
  const char* option;
  const char* unit;
  double limit;
  double (*value)(const mcu::Nb201CostTable::Estimate&);
};

std::vector<LimitView> given_limits(const McuLimits& l) {
  std::vector<LimitView> out;
  if (l.max_latency_ms < McuLimits::kNone)
    out.push_back({"--max-latency-ms", "ms", l.max_latency_ms,
                   [](const mcu::Nb201CostTable::Estimate& e) { return e.latency_ms; }});
  if (l.max_sram_kb < McuLimits::kNone)
    out.push_back({"--max-sram-kb", "KiB", l.max_sram_kb,
                   [](const mcu::Nb201CostTable::Estimate& e) { return kib(e.peak_sram_bytes); }});
  if (l.max_flash_kb < McuLimits::kNone)
    out.push_back({"--max-flash-kb", "KiB", l.max_flash_kb,
                   [](const mcu::Nb201CostTable::Estimate& e) { return kib(e.flash_bytes); }});
  return out;
}

}  // namespace

void for_each_cell(const Arch& state, const std::function<void(const Arch&)>& visit) {
  std::array<std::vector<Op>, kNumEdges> choices;
  for (int e = 0; e < kNumEdges; ++e) {
    choices[e] = state.ops(e);
    if (choices[e].empty()) return;  // an edge without ops holds no cell
  }
  std::array<std::size_t, kNumEdges> pick{};
  while (true) {
    std::array<Op, kNumEdges> ops;
    for (int e = 0; e < kNumEdges; ++e) ops[e] = choices[e][pick[e]];
    visit(Arch::from_ops(ops));
    int e = kNumEdges - 1;  // odometer, last edge fastest: cell-id order
    while (e >= 0 && ++pick[e] == choices[e].size()) pick[e--] = 0;
    if (e < 0) return;
  }
}

FeasibilityChecker::FeasibilityChecker(const mcu::Nb201CostTable& costs, const McuLimits& limits)
    : costs_(costs), limits_(limits) {
  limits_.validate();
}

bool FeasibilityChecker::satisfies(const mcu::Nb201CostTable::Estimate& e) const {
  return e.latency_ms <= limits_.max_latency_ms && kib(e.peak_sram_bytes) <= limits_.max_sram_kb &&
         kib(e.flash_bytes) <= limits_.max_flash_kb;
}

std::int64_t FeasibilityChecker::count_feasible(const Arch& state) const {
  std::int64_t n = 0;
  for_each_cell(state, [&](const Arch& cell) { n += feasible(cell) ? 1 : 0; });
  return n;
}

bool FeasibilityChecker::any_feasible(const Arch& state) const {
  if (!limits_.any()) return true;
  return count_feasible(state) > 0;
}

void FeasibilityChecker::require_feasible(const Arch& state) const {
  if (any_feasible(state)) return;
  const std::vector<LimitView> limits = given_limits(limits_);
  std::vector<double> best(limits.size(), McuLimits::kNone);
  std::vector<Arch> best_cell(limits.size());
  double closest_ratio = McuLimits::kNone;  // max over limits of value / limit
  Arch closest;
  for_each_cell(state, [&](const Arch& cell) {
    const mcu::Nb201CostTable::Estimate e = costs_.estimate(cell);
    double ratio = 0;
    for (std::size_t i = 0; i < limits.size(); ++i) {
      const double v = limits[i].value(e);
      if (v < best[i]) best[i] = v, best_cell[i] = cell;
      ratio = std::max(ratio, v / limits[i].limit);
    }
    if (ratio < closest_ratio) closest_ratio = ratio, closest = cell;
  });
  std::ostringstream msg;
  msg.precision(6);
  msg << "no architecture in " << state.to_string() << " satisfies the limits: ";
  bool single = false;
  for (std::size_t i = 0; i < limits.size(); ++i) {
    if (best[i] <= limits[i].limit) continue;
    msg << (single ? "; " : "") << limits[i].option << " " << limits[i].limit
        << " cannot be met, the closest achievable value is " << best[i] << " " << limits[i].unit
        << " (" << best_cell[i].to_string() << ")";
    single = true;
  }
  if (!single) {
    msg << "each limit can be met alone but not all together; the closest cell is "
        << closest.to_string() << " with";
    const mcu::Nb201CostTable::Estimate e = costs_.estimate(closest);
    for (const LimitView& l : limits)
      msg << " " << l.option << " " << l.limit << " vs " << l.value(e) << " " << l.unit;
  }
  throw Error(Status::kInfeasible, msg.str());
}

}  // namespace micronas
