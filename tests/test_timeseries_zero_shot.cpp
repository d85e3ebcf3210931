// Zero-shot pruning search on the time-series space (timeseries_zero_shot.hpp), on synthetic
// windows: it ends at one architecture of the space, honours limits that bind, fails with
// kInfeasible naming the closest achievable value, and is deterministic for a seed.
#include <gtest/gtest.h>

#include <string>

#include "micronas/error.hpp"
#include "micronas/timeseries_repair.hpp"
#include "micronas/timeseries_zero_shot.hpp"

namespace micronas {
namespace {

using timeseries::Space;
using timeseries::ZeroShotOptions;
using timeseries::ZeroShotResult;

// Window 16 x 6, 3 classes: one Time-Reduce cell, a reducing and two non-reducing Sensor-Fusion
// cells, the reference's kernels and narrower widths.
Space space() {
  timeseries::SpaceOptions o;
  o.time_width_max = 8;
  o.bottleneck_max = 24;
  o.block_width_max = 32;
  o.min_time = 8;
  return Space(16, 6, 3, o);
}

const timeseries::Dataset& train() {
  static const timeseries::Dataset d = [] {
    timeseries::SyntheticSpec s;
    s.cases = 24;
    s.length = 16;
    s.dims = 6;
    s.classes = 3;
    return timeseries::make_synthetic(s);
  }();
  return d;
}

ZeroShotOptions options(std::uint64_t seed) {
  ZeroShotOptions o;
  o.ntk_batch = 6;
  o.lr_samples = 32;
  o.repeats = 1;
  o.seed = seed;
  return o;
}

const mcu::TargetProfile& target() {
  static const mcu::TargetProfile t = mcu::load_target("stm32l552");
  return t;
}

ZeroShotResult search(const McuLimits& limits, std::uint64_t seed = 0) {
  return timeseries::zero_shot_search(space(), train(), limits, target(), options(seed));
}

// The unconstrained search, shared by the tests.
const ZeroShotResult& unconstrained() {
  static const ZeroShotResult r = search({});
  return r;
}

TEST(TimeseriesZeroShot, EndsAtOneArchitectureOfTheSpace) {
  const ZeroShotResult& r = unconstrained();
  EXPECT_NO_THROW(space().check(r.arch));
  ASSERT_GE(r.rounds.size(), 2u);
  EXPECT_GT(r.evaluations, static_cast<int>(r.rounds.size()));
  // Every decision of round one is pruned once (a skipped cell's decisions may stop later).
  for (const auto& round : r.rounds) {
    EXPECT_FALSE(round.pruned.empty());
    EXPECT_GT(round.ntk, 0.0);
    EXPECT_GE(round.regions, 1.0);
  }
  const timeseries::DeployedCost c = timeseries::deployed_cost(space(), r.arch, target());
  EXPECT_EQ(c.latency_ms, r.cost.latency_ms);
}

TEST(TimeseriesZeroShot, DeterministicForASeed) {
  const ZeroShotResult again = search({});
  EXPECT_EQ(again.arch, unconstrained().arch);
  ASSERT_EQ(again.rounds.size(), unconstrained().rounds.size());
  for (std::size_t i = 0; i < again.rounds.size(); ++i) {
    EXPECT_EQ(again.rounds[i].ntk, unconstrained().rounds[i].ntk);
    ASSERT_EQ(again.rounds[i].pruned.size(), unconstrained().rounds[i].pruned.size());
    for (std::size_t k = 0; k < again.rounds[i].pruned.size(); ++k)
      EXPECT_EQ(again.rounds[i].pruned[k].removed, unconstrained().rounds[i].pruned[k].removed);
  }
}

TEST(TimeseriesZeroShot, HonoursLimitsThatBind) {
  const timeseries::DeployedCost floor =
      timeseries::deployed_cost(space(), timeseries::cheapest_arch(space()), target());
  const timeseries::DeployedCost free = unconstrained().cost;
  {
    McuLimits l;
    l.max_latency_ms = floor.latency_ms + 0.25 * (free.latency_ms - floor.latency_ms);
    ASSERT_GT(free.latency_ms, l.max_latency_ms) << "the latency limit must bind";
    const ZeroShotResult r = search(l);
    EXPECT_LE(r.cost.latency_ms, l.max_latency_ms);
    EXPECT_LE(timeseries::deployed_cost(space(), r.arch, target()).latency_ms, l.max_latency_ms);
  }
  {
    McuLimits l;
    l.max_sram_kb = floor.peak_sram_kb + 0.25 * (free.peak_sram_kb - floor.peak_sram_kb);
    ASSERT_GT(free.peak_sram_kb, l.max_sram_kb) << "the SRAM limit must bind";
    const ZeroShotResult r = search(l, 1);
    EXPECT_LE(r.cost.peak_sram_kb, l.max_sram_kb);
  }
}

TEST(TimeseriesZeroShot, InfeasibleNamesTheClosestAchievableValue) {
  McuLimits l;
  l.max_latency_ms = 1e-3;
  try {
    search(l);
    FAIL() << "expected kInfeasible";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::kInfeasible);
    EXPECT_NE(std::string(e.what()).find("--max-latency-ms 0.001 cannot be met, the closest "
                                         "achievable value"),
              std::string::npos)
        << e.what();
  }
}

TEST(TimeseriesZeroShot, RefusesBadOptionsAndWindows) {
  ZeroShotOptions o = options(0);
  o.ntk_batch = 1;
  EXPECT_THROW(timeseries::zero_shot_search(space(), train(), {}, target(), o), Error);
  const Space other(32, 6, 3);
  EXPECT_THROW(timeseries::zero_shot_search(other, train(), {}, target(), options(0)), Error);
}

}  // namespace
}  // namespace micronas
