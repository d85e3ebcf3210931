// Enforcing hard limits on a derived time-series network: the cheapest network bounds every
// other, a network that fits is left alone, a repaired one fits and got there by changes that
// each removed excess cost, the weights decide what is given up, and an impossible limit is one
// clear error naming the closest achievable value.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "micronas/error.hpp"
#include "micronas/random.hpp"
#include "micronas/timeseries_repair.hpp"
#include "tests/timeseries_spaces.hpp"

namespace micronas::timeseries {
namespace {

const mcu::TargetProfile& l552() {
  static const mcu::TargetProfile t = mcu::load_target("stm32l552");
  return t;
}

// The architecture's choices at probability 1 - eps, the rest spread evenly.
ArchDistribution confident(const Space& space, const Arch& arch, double eps = 0.05) {
  ArchDistribution d = ArchDistribution::one_hot(space, arch);
  auto soften = [&](std::vector<double>& p) {
    for (double& x : p) x = x == 1.0 ? 1.0 - eps : eps / static_cast<double>(p.size() - 1);
  };
  auto soften_binary = [&](double& p) { p = p == 1.0 ? 1.0 - eps : eps; };
  for (auto& c : d.time_reduce) {
    soften(c.kernel);
    soften(c.width);
  }
  for (std::size_t i = 0; i < d.sensor_fusion.size(); ++i) {
    auto& c = d.sensor_fusion[i];
    if (!space.reduces(static_cast<int>(i))) soften_binary(c.skip);
    if (arch.sensor_fusion[i].skip) continue;
    soften(c.bottleneck);
    soften(c.width);
    for (double& b : c.branch) soften_binary(b);
    soften_binary(c.residual);
  }
  return d;
}

TEST(TimeseriesRepair, TheCheapestNetworkBoundsEveryOther) {
  const Space space = test::uci_har();
  const DeployedCost floor = deployed_cost(space, cheapest_arch(space), l552());
  Rng rng(4);
  for (int i = 0; i < 100; ++i) {
    const Arch arch = space.sample(rng);
    const DeployedCost c = deployed_cost(space, arch, l552());
    EXPECT_LE(floor.latency_ms, c.latency_ms) << arch.to_string();
    EXPECT_LE(floor.peak_sram_kb, c.peak_sram_kb) << arch.to_string();
    EXPECT_LE(floor.flash_kb, c.flash_kb) << arch.to_string();
  }
}

// A reducing cell (never skipped) with one 7-branch must still reach the cheapest network's
// single 3-branch: only the cheapest network fits a limit at its own latency.
TEST(TimeseriesRepair, ALoneWideBranchShrinksToTheSmallestKernel) {
  const Space space = test::uci_har();
  const Arch cheapest = cheapest_arch(space);
  const Arch arch = space.parse("tr:k3w4|tr:k3w4|tr:k3w4|sf:b8[7]w8|sf:skip|sf:skip");
  McuLimits limits;
  limits.max_latency_ms = deployed_cost(space, cheapest, l552()).latency_ms;
  const RepairResult r = repair_to_limits(space, arch, confident(space, arch), limits, l552());
  EXPECT_EQ(r.arch.to_string(), cheapest.to_string());
  ASSERT_EQ(r.steps.size(), 2u);
  EXPECT_EQ(r.steps[0].change, "sf0 branch 7 -> 5");
  EXPECT_EQ(r.steps[1].change, "sf0 branch 5 -> 3");
}

TEST(TimeseriesRepair, ANetworkThatFitsIsLeftAlone) {
  const Space space = test::uci_har();
  const Arch arch = space.parse("tr:k5w8|tr:k3w12|tr:k7w16|sf:b16[3,7]w32r|sf:skip|sf:b8[5]w24");
  McuLimits limits;
  limits.max_latency_ms = deployed_cost(space, arch, l552()).latency_ms * 1.01;
  const RepairResult r = repair_to_limits(space, arch, confident(space, arch), limits, l552());
  EXPECT_EQ(r.arch, arch);
  EXPECT_TRUE(r.steps.empty());
}

TEST(TimeseriesRepair, TheLargestNetworkIsShrunkUntilItFits) {
  const Space space = test::uci_har();
  const Arch largest = space.largest();
  McuLimits limits;
  limits.max_latency_ms = 100;
  limits.max_sram_kb = 40;
  const RepairResult r =
      repair_to_limits(space, largest, confident(space, largest), limits, l552());
  ASSERT_FALSE(r.steps.empty());
  EXPECT_LE(r.cost.latency_ms, 100);
  EXPECT_LE(r.cost.peak_sram_kb, 40);
  EXPECT_EQ(r.steps.back().arch, r.arch);
  // Every step lowered the cost that was over its limit, and the result is the cost model's.
  double before = deployed_cost(space, largest, l552()).latency_ms;
  for (const RepairStep& s : r.steps) {
    EXPECT_LE(s.cost.latency_ms, before) << s.change;
    before = s.cost.latency_ms;
  }
  const DeployedCost check = deployed_cost(space, r.arch, l552());
  EXPECT_EQ(check.latency_ms, r.cost.latency_ms);
  // Deterministic.
  const RepairResult again =
      repair_to_limits(space, largest, confident(space, largest), limits, l552());
  EXPECT_EQ(again.arch, r.arch);
  EXPECT_EQ(again.steps.size(), r.steps.size());
}

TEST(TimeseriesRepair, TheWeightsDecideWhatIsGivenUp) {
  const Space space = test::uci_har();
  const Arch arch = space.parse("tr:k3w8|tr:k3w8|tr:k3w8|sf:b64[3]w64r|sf:skip|sf:skip");
  McuLimits limits;
  // Just below the network's latency: one or two changes are enough.
  limits.max_latency_ms = deployed_cost(space, arch, l552()).latency_ms * 0.97;
  // Confident about everything except the residual: dropping it costs almost no weight.
  ArchDistribution w = confident(space, arch, 1e-3);
  w.sensor_fusion[0].residual = 0.5;
  RepairResult r = repair_to_limits(space, arch, w, limits, l552());
  ASSERT_FALSE(r.steps.empty());
  EXPECT_EQ(r.steps.front().change, "sf0 drop residual");
  // Unsure about sf0's block width instead: it narrows before anything else goes.
  w = confident(space, arch, 1e-3);
  for (double& p : w.sensor_fusion[0].width) p = 1.0 / 8;
  r = repair_to_limits(space, arch, w, limits, l552());
  ASSERT_FALSE(r.steps.empty());
  EXPECT_EQ(r.steps.front().change, "sf0 width 64 -> 56");
}

TEST(TimeseriesRepair, AnImpossibleLimitNamesTheClosestAchievableValue) {
  const Space space = test::uci_har();
  const Arch largest = space.largest();
  const DeployedCost floor = deployed_cost(space, cheapest_arch(space), l552());
  McuLimits limits;
  limits.max_latency_ms = floor.latency_ms * 0.5;
  try {
    repair_to_limits(space, largest, confident(space, largest), limits, l552());
    ADD_FAILURE() << "an impossible limit was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::kInfeasible);
    const std::string what = e.what();
    EXPECT_NE(what.find("--max-latency-ms"), std::string::npos) << what;
    EXPECT_NE(
        what.find("closest achievable value is " + std::to_string(floor.latency_ms).substr(0, 5)),
        std::string::npos)
        << what;
  }
  limits.max_latency_ms = -1;
  EXPECT_THROW(repair_to_limits(space, largest, confident(space, largest), limits, l552()), Error);
}

}  // namespace
}  // namespace micronas::timeseries
