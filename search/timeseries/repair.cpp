// Greedy repair of a derived time-series network until it fits hard limits (timeseries_repair.hpp).
#include <algorithm>
#include <cmath>
#include <sstream>

#include "micronas/error.hpp"
#include "micronas/timeseries_cost.hpp"
#include "micronas/timeseries_lowering.hpp"
#include "micronas/timeseries_repair.hpp"

namespace micronas::timeseries {
namespace {

struct Candidate {
  std::string change;
  Arch arch;
  double weight_lost = 0;
};

double log_p(double p) { return std::log(std::max(p, 1e-300)); }

// Weight lost moving a categorical choice from `from` to `to` (positions in `values`).
double categorical_loss(const std::vector<double>& p, const std::vector<int>& values, int from,
                        int to) {
  auto at = [&](int v) {
    return p[static_cast<std::size_t>(std::find(values.begin(), values.end(), v) - values.begin())];
  };
  return std::max(0.0, log_p(at(from)) - log_p(at(to)));
}

// A binary choice turned off whose "on" probability is p.
double turn_off_loss(double p) { return std::max(0.0, log_p(p) - log_p(1.0 - p)); }

int next_below(const std::vector<int>& values, int v) {
  int best = -1;
  for (int x : values) {
    if (x < v && x > best) best = x;
  }
  return best;
}

std::vector<Candidate> changes(const Space& space, const Arch& arch, const ArchDistribution& w) {
  std::vector<Candidate> out;
  for (std::size_t i = 0; i < arch.time_reduce.size(); ++i) {
    const TimeReduceChoice& c = arch.time_reduce[i];
    const std::string cell = "tr" + std::to_string(i);
    const int width = next_below(space.time_widths(), c.width);
    if (width > 0) {
      Arch a = arch;
      a.time_reduce[i].width = width;
      out.push_back(
          {cell + " width " + std::to_string(c.width) + " -> " + std::to_string(width), a,
           categorical_loss(w.time_reduce[i].width, space.time_widths(), c.width, width)});
    }
    const int kernel = next_below(space.options().kernels, c.kernel);
    if (kernel > 0) {
      Arch a = arch;
      a.time_reduce[i].kernel = kernel;
      out.push_back(
          {cell + " kernel " + std::to_string(c.kernel) + " -> " + std::to_string(kernel), a,
           categorical_loss(w.time_reduce[i].kernel, space.options().kernels, c.kernel, kernel)});
    }
  }
  for (std::size_t i = 0; i < arch.sensor_fusion.size(); ++i) {
    const SensorFusionChoice& c = arch.sensor_fusion[i];
    const SensorFusionDistribution& p = w.sensor_fusion[i];
    if (c.skip) continue;
    const std::string cell = "sf" + std::to_string(i);
    const int bottleneck = next_below(space.bottleneck_widths(), c.bottleneck);
    if (bottleneck > 0) {
      Arch a = arch;
      a.sensor_fusion[i].bottleneck = bottleneck;
      out.push_back(
          {cell + " bottleneck " + std::to_string(c.bottleneck) + " -> " +
               std::to_string(bottleneck),
           a, categorical_loss(p.bottleneck, space.bottleneck_widths(), c.bottleneck, bottleneck)});
    }
    const int width = next_below(space.block_widths(), c.width);
    if (width > 0) {
      Arch a = arch;
      a.sensor_fusion[i].width = width;
      out.push_back({cell + " width " + std::to_string(c.width) + " -> " + std::to_string(width), a,
                     categorical_loss(p.width, space.block_widths(), c.width, width)});
    }
    const int branches = __builtin_popcount(c.branches);
    for (std::size_t b = 0; b < kBranchKernels.size() && branches > 1; ++b) {
      if (!((c.branches >> b) & 1)) continue;
      Arch a = arch;
      a.sensor_fusion[i].branches = static_cast<std::uint8_t>(c.branches & ~(1u << b));
      out.push_back({cell + " drop branch " + std::to_string(kBranchKernels[b]), a,
                     turn_off_loss(p.branch[b])});
    }
    // A lone branch gives way to the next smaller kernel's; without this a network whose cells
    // keep one 5- or 7-branch could not reach the cheapest network (one 3-branch).
    for (std::size_t b = 1; b < kBranchKernels.size() && branches == 1; ++b) {
      if (!((c.branches >> b) & 1)) continue;
      Arch a = arch;
      a.sensor_fusion[i].branches = static_cast<std::uint8_t>(1u << (b - 1));
      out.push_back({cell + " branch " + std::to_string(kBranchKernels[b]) + " -> " +
                         std::to_string(kBranchKernels[b - 1]),
                     a, turn_off_loss(p.branch[b]) + turn_off_loss(1.0 - p.branch[b - 1])});
    }
    if (c.residual) {
      Arch a = arch;
      a.sensor_fusion[i].residual = false;
      out.push_back({cell + " drop residual", a, turn_off_loss(p.residual)});
    }
    if (!space.reduces(static_cast<int>(i))) {
      Arch a = arch;
      a.sensor_fusion[i] = SensorFusionChoice{};
      a.sensor_fusion[i].skip = true;
      out.push_back({cell + " skip", a, turn_off_loss(1.0 - p.skip)});
    }
  }
  return out;
}

struct Limit {
  const char* option;
  const char* unit;
  double limit;
  double DeployedCost::*value;
};

std::vector<Limit> given(const McuLimits& l) {
  std::vector<Limit> out;
  if (l.max_latency_ms < McuLimits::kNone)
    out.push_back({"--max-latency-ms", "ms", l.max_latency_ms, &DeployedCost::latency_ms});
  if (l.max_sram_kb < McuLimits::kNone)
    out.push_back({"--max-sram-kb", "KiB", l.max_sram_kb, &DeployedCost::peak_sram_kb});
  if (l.max_flash_kb < McuLimits::kNone)
    out.push_back({"--max-flash-kb", "KiB", l.max_flash_kb, &DeployedCost::flash_kb});
  return out;
}

// Σ over the limits of the relative excess; 0 when the network fits.
double excess(const std::vector<Limit>& limits, const DeployedCost& cost) {
  double sum = 0.0;
  for (const Limit& l : limits) sum += std::max(0.0, cost.*l.value - l.limit) / l.limit;
  return sum;
}

}  // namespace

DeployedCost deployed_cost(const Space& space, const Arch& arch, const mcu::TargetProfile& target,
                           const mcu::EstimateOptions& options) {
  const mcu::NetworkEstimate e = estimate_cost(target, lower(space, arch), options).network;
  return {e.latency_ms, e.peak_sram_kb(), e.flash_kb()};
}

Arch cheapest_arch(const Space& space) {
  Arch arch = space.smallest();
  for (int i = 0; i < space.sensor_fusion_cells(); ++i) {
    if (!space.reduces(i)) {
      arch.sensor_fusion[static_cast<std::size_t>(i)] = SensorFusionChoice{};
      arch.sensor_fusion[static_cast<std::size_t>(i)].skip = true;
    }
  }
  return arch;
}

RepairResult repair_to_limits(const Space& space, const Arch& arch, const ArchDistribution& weights,
                              const McuLimits& limits, const mcu::TargetProfile& target,
                              const mcu::EstimateOptions& options) {
  space.check(arch);
  weights.check(space);
  limits.validate();
  const std::vector<Limit> given_limits = given(limits);
  RepairResult result{arch, deployed_cost(space, arch, target, options), {}};
  double over = excess(given_limits, result.cost);
  if (over > 0.0) {
    // Refuse up front when even the cheapest network exceeds a limit.
    const Arch cheapest = cheapest_arch(space);
    const DeployedCost floor = deployed_cost(space, cheapest, target, options);
    std::ostringstream msg;
    msg.precision(6);
    bool impossible = false;
    for (const Limit& l : given_limits) {
      if (floor.*l.value <= l.limit) continue;
      msg << (impossible ? "; " : "no network of the space satisfies the limits: ") << l.option
          << " " << l.limit << " cannot be met, the closest achievable value is " << floor.*l.value
          << " " << l.unit << " (" << cheapest.to_string() << ")";
      impossible = true;
    }
    if (impossible) throw Error(Status::kInfeasible, msg.str());
  }
  while (over > 0.0) {
    const Candidate* best = nullptr;
    DeployedCost best_cost;
    double best_ratio = 0.0, best_over = 0.0;
    const std::vector<Candidate> options_now = changes(space, result.arch, weights);
    for (const Candidate& c : options_now) {
      const DeployedCost cost = deployed_cost(space, c.arch, target, options);
      const double after = excess(given_limits, cost);
      if (!(after < over)) continue;
      const double ratio = c.weight_lost / (over - after);
      if (!best || ratio < best_ratio) {
        best = &c;
        best_cost = cost;
        best_ratio = ratio;
        best_over = after;
      }
    }
    // The cheapest network fits (checked above) and every state above it has a change that
    // lowers every cost, so some change always removes excess.
    if (!best) {
      throw Error(Status::kInternal,
                  "repair: no change lowers the cost of " + result.arch.to_string());
    }
    result.steps.push_back({best->change, best->arch, best_cost, best->weight_lost});
    result.arch = best->arch;
    result.cost = best_cost;
    over = best_over;
  }
  return result;
}

}  // namespace micronas::timeseries
