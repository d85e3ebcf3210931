// Expected latency, peak memory and flash over an ArchDistribution: equal to the exact costs at
// one-hot distributions, analytic gradients against central finite differences, and size checks.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "micronas/error.hpp"
#include "micronas/mcu.hpp"
#include "micronas/random.hpp"
#include "micronas/timeseries_cost.hpp"
#include "micronas/timeseries_expected_cost.hpp"

namespace micronas::timeseries {
namespace {

// Every probability of `d` (the order of visit below), for reading and writing in place.
std::vector<double*> entries(ArchDistribution& d) {
  std::vector<double*> out;
  for (TimeReduceDistribution& t : d.time_reduce) {
    for (double& p : t.kernel) out.push_back(&p);
    for (double& p : t.width) out.push_back(&p);
  }
  for (SensorFusionDistribution& s : d.sensor_fusion) {
    out.push_back(&s.skip);
    for (double& p : s.bottleneck) out.push_back(&p);
    for (double& p : s.branch) out.push_back(&p);
    for (double& p : s.width) out.push_back(&p);
    out.push_back(&s.residual);
  }
  return out;
}

void normalise(std::vector<double>& p) {
  double sum = 0;
  for (double v : p) sum += v;
  for (double& v : p) v /= sum;
}

// A distribution with every entry strictly inside (0, 1), drawn from the seeded generator.
ArchDistribution random_distribution(const Space& space, Rng& rng) {
  ArchDistribution d = ArchDistribution::uniform(space);
  auto draw = [&] { return 0.05 + 0.9 * rng.uniform(); };
  for (TimeReduceDistribution& t : d.time_reduce) {
    for (double& p : t.kernel) p = draw();
    for (double& p : t.width) p = draw();
    normalise(t.kernel);
    normalise(t.width);
  }
  for (std::size_t j = 0; j < d.sensor_fusion.size(); ++j) {
    SensorFusionDistribution& s = d.sensor_fusion[j];
    s.skip = space.reduces(static_cast<int>(j)) ? 0.0 : draw();
    for (double& p : s.bottleneck) p = draw();
    for (double& p : s.branch) p = draw();
    for (double& p : s.width) p = draw();
    s.residual = draw();
    normalise(s.bottleneck);
    normalise(s.width);
  }
  d.check(space);
  return d;
}

struct Case {
  int t, s, classes;
  const char* target;
};
const Case kCases[] = {
    {128, 9, 6, "stm32l552"}, {64, 30, 10, "stm32f446re"}, {50, 7, 3, "stm32f746"}};

TEST(TimeseriesExpectedCost, OneHotEqualsTheExactCostOfTheArchitecture) {
  Rng rng(2024);
  for (const Case& c : kCases) {
    Space space(c.t, c.s, c.classes);
    const mcu::TargetProfile target = mcu::load_target(c.target);
    const ExpectedCost expected(space, target);
    std::vector<Arch> archs = {space.smallest(), space.largest()};
    for (int i = 0; i < 40; ++i) {
      // Uniform sampling rarely skips a cell (one choice of thousands): skip some by hand.
      Arch a = space.sample(rng);
      for (std::size_t j = 0; j < a.sensor_fusion.size(); ++j)
        if (!space.reduces(static_cast<int>(j)) && (i + j) % 3 == 0) a.sensor_fusion[j].skip = true;
      archs.push_back(a);
    }
    int skipped = 0;
    for (const Arch& a : archs) {
      for (const SensorFusionChoice& s : a.sensor_fusion) skipped += s.skip;
      const LayerGraph g = lower(space, a);
      const ArchDistribution d = ArchDistribution::one_hot(space, a);
      const mcu::NetworkEstimate exact = estimate_cost(target, g).network;
      EXPECT_NEAR(expected.latency_ms(d), exact.latency_ms, 1e-9 * exact.latency_ms)
          << a.to_string();
      EXPECT_NEAR(expected.flash_bytes(d), static_cast<double>(exact.flash_bytes), 1e-6)
          << a.to_string();
      EXPECT_NEAR(expected.peak_memory_bytes(d),
                  static_cast<double>(reference_peak_memory_bytes(g)), 1e-6)
          << a.to_string();
    }
    EXPECT_GT(skipped, 0) << "the sample should include skipped cells";
  }
}

TEST(TimeseriesExpectedCost, CodegenRuntimeAndClockFollowTheOptions) {
  Space har(128, 9, 6);
  const mcu::TargetProfile target = mcu::load_target("stm32f446re");
  mcu::EstimateOptions o;
  o.runtime = mcu::Runtime::kCodegen;
  o.clock_mhz = 90;
  const ExpectedCost expected(har, target, o);
  const Arch a = har.parse("tr:k5w8|tr:k3w12|tr:k7w16|sf:b16[3,7]w32r|sf:skip|sf:b8[5]w24");
  const double exact = estimate_cost(target, lower(har, a), o).network.latency_ms;
  EXPECT_NEAR(expected.latency_ms(ArchDistribution::one_hot(har, a)), exact, 1e-9 * exact);
}

// Central differences on every entry against the analytic gradient. Each cost is linear in every
// single entry between changes of the maximising op, so the difference is exact up to rounding.
void expect_gradient_matches(
    const std::function<double(const ArchDistribution&, ArchDistribution*)>& f, ArchDistribution d,
    const Space& space, const std::string& what, double min_nonzero_fraction) {
  ArchDistribution grad;
  const double value = f(d, &grad);
  ASSERT_GT(value, 0);
  std::vector<double*> x = entries(d);
  std::vector<double*> g = entries(grad);
  ASSERT_EQ(x.size(), g.size());
  const double h = 1e-6;
  int nonzero = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double saved = *x[i];
    *x[i] = saved + h;
    const double up = f(d, nullptr);
    *x[i] = saved - h;
    const double down = f(d, nullptr);
    *x[i] = saved;
    const double fd = (up - down) / (2 * h);
    EXPECT_NEAR(*g[i], fd, 1e-6 * value + 1e-4 * std::fabs(fd)) << what << " entry " << i;
    nonzero += *g[i] != 0;
  }
  EXPECT_GE(nonzero, std::max(1.0, min_nonzero_fraction * static_cast<double>(x.size()))) << what;
  // The skip entry of a reducing cell is no choice: its gradient is 0.
  for (std::size_t j = 0; j < grad.sensor_fusion.size(); ++j) {
    if (space.reduces(static_cast<int>(j))) {
      EXPECT_EQ(grad.sensor_fusion[j].skip, 0.0);
    }
  }
}

TEST(TimeseriesExpectedCost, GradientsMatchFiniteDifferences) {
  Rng rng(7);
  for (const Case& c : kCases) {
    Space space(c.t, c.s, c.classes);
    const ExpectedCost expected(space, mcu::load_target(c.target));
    for (int trial = 0; trial < 3; ++trial) {
      const ArchDistribution d = random_distribution(space, rng);
      expect_gradient_matches(
          [&](const ArchDistribution& x, ArchDistribution* g) { return expected.latency_ms(x, g); },
          d, space, "latency", 0.9);
      expect_gradient_matches([&](const ArchDistribution& x,
                                  ArchDistribution* g) { return expected.flash_bytes(x, g); },
                              d, space, "flash", 0.9);
      expect_gradient_matches([&](const ArchDistribution& x,
                                  ArchDistribution* g) { return expected.peak_memory_bytes(x, g); },
                              d, space, "memory", 0.0);  // the peak op's cell and those before it
    }
  }
}

// With every other choice fixed, the expected latency is linear in one width distribution, so
// mixing two widths of one choice gives the same mixture of the two architectures' exact
// latencies. Each width sets the channel count of a conv's batch-norm op (DEPTHWISE_CONV_2D),
// whose cost depends on Cout alone: this checks that term is linear in the output-width
// distribution on top of the convs' bilinear forms.
TEST(TimeseriesExpectedCost, MixingOneWidthIsTheMixtureOfTheExactLatencies) {
  Space har(128, 9, 6);
  const mcu::TargetProfile target = mcu::load_target("stm32l552");
  const ExpectedCost expected(har, target);
  const Arch base = har.parse("tr:k5w8|tr:k3w12|tr:k7w16|sf:b16[3,7]w32r|sf:skip|sf:b8[5]w24");
  auto exact = [&](const Arch& a) {
    return estimate_cost(target, lower(har, a)).network.latency_ms;
  };
  auto index = [](const std::vector<int>& v, int w) {
    return static_cast<std::size_t>(std::find(v.begin(), v.end(), w) - v.begin());
  };
  const double p = 0.3;
  int checked = 0;
  for (int which = 0; which < 3; ++which) {
    Arch other = base;
    ArchDistribution d = ArchDistribution::one_hot(har, base);
    std::vector<double>* probs = nullptr;
    std::size_t from = 0, to = 0;
    if (which == 0) {  // the second Time-Reduce cell's width: its conv, BN and the next input
      const std::vector<int> w = har.time_widths();
      from = index(w, base.time_reduce[1].width);
      to = (from + 2) % w.size();
      other.time_reduce[1].width = w[to];
      probs = &d.time_reduce[1].width;
    } else if (which == 1) {  // the first Sensor-Fusion cell's bottleneck
      const std::vector<int> w = har.bottleneck_widths();
      from = index(w, base.sensor_fusion[0].bottleneck);
      to = (from + 1) % w.size();
      other.sensor_fusion[0].bottleneck = w[to];
      probs = &d.sensor_fusion[0].bottleneck;
    } else {  // its block width: branches, residual, adds and the next cell's input
      const std::vector<int> w = har.block_widths();
      from = index(w, base.sensor_fusion[0].width);
      to = (from + 3) % w.size();
      other.sensor_fusion[0].width = w[to];
      probs = &d.sensor_fusion[0].width;
    }
    (*probs)[from] = 1 - p;
    (*probs)[to] = p;
    const double want = (1 - p) * exact(base) + p * exact(other);
    EXPECT_NEAR(expected.latency_ms(d), want, 1e-9 * want) << which;
    ++checked;
  }
  EXPECT_EQ(checked, 3);
}

TEST(TimeseriesExpectedCost, SkipMovesLaterCellsInputsAndTheGradientSeesIt) {
  // Raising P(skip) of a non-reducing cell removes its ops and hands its input (narrower here)
  // to the next cell: the expected latency falls, and the skip gradient says so.
  Space har(128, 9, 6);
  const ExpectedCost expected(har, mcu::load_target("stm32l552"));
  ArchDistribution d = ArchDistribution::one_hot(
      har, har.parse("tr:k3w4|tr:k3w4|tr:k3w4|sf:b8[3]w8|sf:b64[3,5,7]w64r|sf:b64[3,5,7]w64r"));
  d.sensor_fusion[1].skip = 0.3;
  ArchDistribution grad;
  const double base = expected.latency_ms(d, &grad);
  EXPECT_LT(grad.sensor_fusion[1].skip, 0);
  d.sensor_fusion[1].skip = 0.6;
  EXPECT_LT(expected.latency_ms(d), base);
}

TEST(TimeseriesExpectedCost, RefusesADistributionOfAnotherSpace) {
  Space har(128, 9, 6), skoda(64, 30, 10);
  const ExpectedCost expected(har, mcu::load_target("stm32l552"));
  EXPECT_THROW(expected.latency_ms(ArchDistribution::uniform(skoda)), Error);
  ArchDistribution d = ArchDistribution::uniform(har);
  d.sensor_fusion[0].width.pop_back();
  EXPECT_THROW(expected.peak_memory_bytes(d), Error);
}

}  // namespace
}  // namespace micronas::timeseries
