// Distributions over the choices of the time-series space: uniform, one-hot, argmax, checks.
#include <algorithm>
#include <cmath>
#include <string>

#include "micronas/error.hpp"
#include "micronas/timeseries_distribution.hpp"

namespace micronas::timeseries {
namespace {

std::vector<double> uniform_over(std::size_t n) {
  return std::vector<double>(n, 1.0 / static_cast<double>(n));
}

std::vector<double> one_hot_at(const std::vector<int>& values, int value) {
  std::vector<double> p(values.size(), 0.0);
  const auto it = std::find(values.begin(), values.end(), value);
  p[static_cast<std::size_t>(it - values.begin())] = 1.0;  // Space::check found it
  return p;
}

int argmax_of(const std::vector<double>& p, const std::vector<int>& values) {
  return values[static_cast<std::size_t>(std::max_element(p.begin(), p.end()) - p.begin())];
}

void check_categorical(const std::vector<double>& p, std::size_t n, const std::string& where) {
  if (p.size() != n) {
    throw Error(Status::kInvalidArgument, where + ": " + std::to_string(p.size()) +
                                              " probabilities for " + std::to_string(n) +
                                              " choices");
  }
  double sum = 0.0;
  for (double v : p) {
    if (!std::isfinite(v) || v < 0.0 || v > 1.0) {
      throw Error(Status::kInvalidArgument,
                  where + ": probability " + std::to_string(v) + " is not in [0, 1]");
    }
    sum += v;
  }
  if (std::fabs(sum - 1.0) > 1e-6) {
    throw Error(Status::kInvalidArgument,
                where + ": probabilities sum to " + std::to_string(sum) + ", not 1");
  }
}

void check_probability(double p, const std::string& where) {
  if (!std::isfinite(p) || p < 0.0 || p > 1.0) {
    throw Error(Status::kInvalidArgument,
                where + ": probability " + std::to_string(p) + " is not in [0, 1]");
  }
}

}  // namespace

ArchDistribution ArchDistribution::uniform(const Space& space) {
  ArchDistribution d;
  d.time_reduce.assign(
      static_cast<std::size_t>(space.time_reduce_cells()),
      {uniform_over(space.options().kernels.size()), uniform_over(space.time_widths().size())});
  for (int i = 0; i < space.sensor_fusion_cells(); ++i) {
    SensorFusionDistribution c;
    c.skip = space.reduces(i) ? 0.0 : 0.5;
    c.bottleneck = uniform_over(space.bottleneck_widths().size());
    c.branch = {0.5, 0.5, 0.5};
    c.width = uniform_over(space.block_widths().size());
    c.residual = 0.5;
    d.sensor_fusion.push_back(c);
  }
  return d;
}

ArchDistribution ArchDistribution::one_hot(const Space& space, const Arch& arch) {
  space.check(arch);
  ArchDistribution d = uniform(space);
  for (std::size_t i = 0; i < arch.time_reduce.size(); ++i) {
    d.time_reduce[i].kernel = one_hot_at(space.options().kernels, arch.time_reduce[i].kernel);
    d.time_reduce[i].width = one_hot_at(space.time_widths(), arch.time_reduce[i].width);
  }
  for (std::size_t i = 0; i < arch.sensor_fusion.size(); ++i) {
    const SensorFusionChoice& c = arch.sensor_fusion[i];
    SensorFusionDistribution& p = d.sensor_fusion[i];
    p.skip = c.skip ? 1.0 : 0.0;
    if (c.skip) continue;
    p.bottleneck = one_hot_at(space.bottleneck_widths(), c.bottleneck);
    for (std::size_t b = 0; b < kBranchKernels.size(); ++b) p.branch[b] = (c.branches >> b) & 1;
    p.width = one_hot_at(space.block_widths(), c.width);
    p.residual = c.residual ? 1.0 : 0.0;
  }
  return d;
}

Arch ArchDistribution::argmax(const Space& space) const {
  check(space);
  Arch arch;
  for (const TimeReduceDistribution& p : time_reduce) {
    arch.time_reduce.push_back(
        {argmax_of(p.kernel, space.options().kernels), argmax_of(p.width, space.time_widths())});
  }
  for (const SensorFusionDistribution& p : sensor_fusion) {
    SensorFusionChoice c;
    c.skip = p.skip > 0.5;
    c.bottleneck = argmax_of(p.bottleneck, space.bottleneck_widths());
    c.branches = 0;
    for (std::size_t b = 0; b < p.branch.size(); ++b) {
      if (p.branch[b] > 0.5) c.branches |= static_cast<std::uint8_t>(1u << b);
    }
    if (c.branches == 0) {
      const auto most = std::max_element(p.branch.begin(), p.branch.end()) - p.branch.begin();
      c.branches = static_cast<std::uint8_t>(1u << most);
    }
    c.width = argmax_of(p.width, space.block_widths());
    c.residual = p.residual > 0.5;
    arch.sensor_fusion.push_back(c);
  }
  return arch;
}

void ArchDistribution::check(const Space& space) const {
  if (time_reduce.size() != static_cast<std::size_t>(space.time_reduce_cells()) ||
      sensor_fusion.size() != static_cast<std::size_t>(space.sensor_fusion_cells())) {
    throw Error(Status::kInvalidArgument,
                "architecture distribution: " + std::to_string(time_reduce.size()) + " + " +
                    std::to_string(sensor_fusion.size()) + " cells, the space has " +
                    std::to_string(space.time_reduce_cells()) + " + " +
                    std::to_string(space.sensor_fusion_cells()));
  }
  for (std::size_t i = 0; i < time_reduce.size(); ++i) {
    const std::string where = "time-reduce cell " + std::to_string(i);
    check_categorical(time_reduce[i].kernel, space.options().kernels.size(), where + " kernel");
    check_categorical(time_reduce[i].width, space.time_widths().size(), where + " width");
  }
  for (std::size_t i = 0; i < sensor_fusion.size(); ++i) {
    const SensorFusionDistribution& p = sensor_fusion[i];
    const std::string where = "sensor-fusion cell " + std::to_string(i);
    check_probability(p.skip, where + " skip");
    if (space.reduces(static_cast<int>(i)) && p.skip != 0.0) {
      throw Error(Status::kInvalidArgument, where + " reduces and cannot be skipped");
    }
    check_categorical(p.bottleneck, space.bottleneck_widths().size(), where + " bottleneck");
    for (std::size_t b = 0; b < p.branch.size(); ++b) {
      check_probability(p.branch[b], where + " branch " + std::to_string(kBranchKernels[b]));
    }
    check_categorical(p.width, space.block_widths().size(), where + " width");
    check_probability(p.residual, where + " residual");
  }
}

}  // namespace micronas::timeseries
