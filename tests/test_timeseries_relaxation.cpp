// The Gumbel-softmax relaxation of the time-series space: the logit layout, the reference's
// initialisation and temperature schedule, that the noise is Gumbel (the Gumbel-max trick
// samples the softmax), the chain rule against finite differences, and derivation by argmax.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "micronas/error.hpp"
#include "micronas/random.hpp"
#include "micronas/timeseries_relaxation.hpp"
#include "tests/timeseries_spaces.hpp"

namespace micronas::timeseries {
namespace {

// Σ c · p over every probability of a distribution, the binary choices' second outcome included.
double weighted_sum(const ArchDistribution& d, const ArchDistribution& c) {
  double s = 0.0;
  for (std::size_t i = 0; i < d.time_reduce.size(); ++i) {
    for (std::size_t k = 0; k < d.time_reduce[i].kernel.size(); ++k)
      s += d.time_reduce[i].kernel[k] * c.time_reduce[i].kernel[k];
    for (std::size_t k = 0; k < d.time_reduce[i].width.size(); ++k)
      s += d.time_reduce[i].width[k] * c.time_reduce[i].width[k];
  }
  for (std::size_t i = 0; i < d.sensor_fusion.size(); ++i) {
    const SensorFusionDistribution &p = d.sensor_fusion[i], &q = c.sensor_fusion[i];
    s += p.skip * q.skip + p.residual * q.residual;
    for (std::size_t b = 0; b < 3; ++b) s += p.branch[b] * q.branch[b];
    for (std::size_t k = 0; k < p.bottleneck.size(); ++k) s += p.bottleneck[k] * q.bottleneck[k];
    for (std::size_t k = 0; k < p.width.size(); ++k) s += p.width[k] * q.width[k];
  }
  return s;
}

// A distribution-shaped vector of random coefficients (a made-up dL/d(distribution)).
ArchDistribution random_coefficients(const Space& space, Rng& rng) {
  ArchDistribution c = ArchDistribution::uniform(space);
  auto fill = [&](std::vector<double>& v) {
    for (double& x : v) x = rng.normal();
  };
  for (auto& t : c.time_reduce) {
    fill(t.kernel);
    fill(t.width);
  }
  for (std::size_t i = 0; i < c.sensor_fusion.size(); ++i) {
    auto& s = c.sensor_fusion[i];
    s.skip = space.reduces(static_cast<int>(i)) ? 0.0 : rng.normal();
    s.residual = rng.normal();
    for (double& b : s.branch) b = rng.normal();
    fill(s.bottleneck);
    fill(s.width);
  }
  return c;
}

TEST(TimeseriesRelaxation, LayoutNamesEveryLogit) {
  const ArchRelaxation r(test::uci_har());
  // Time-Reduce 3 x (3 kernels + 4 widths); Sensor-Fusion 8 bottlenecks + 3 x 2 branch logits
  // + 8 widths + 2 residual logits, plus 2 skip logits in the two non-reducing cells.
  EXPECT_EQ(r.size(), 3u * 7 + 24 + 2 * 26);
  EXPECT_EQ(r.names().front(), "tr0.kernel3");
  EXPECT_EQ(r.names()[3], "tr0.width4");
  EXPECT_EQ(r.names()[21], "sf0.bottleneck8");
  EXPECT_EQ(r.names()[29], "sf0.branch3.off");
  EXPECT_EQ(r.names()[45], "sf1.skip.keep");
  EXPECT_EQ(r.names().back(), "sf2.residual.conv");
}

TEST(TimeseriesRelaxation, InitialLogitsAreSmallForOpsAndZeroForWidths) {
  const ArchRelaxation r(test::uci_har());
  Rng a(3), b(3);
  const std::vector<double> logits = r.initial_logits(a);
  EXPECT_EQ(logits, r.initial_logits(b));
  int ops = 0;
  for (std::size_t i = 0; i < logits.size(); ++i) {
    const std::string& n = r.names()[i];
    if (n.find("width") != std::string::npos || n.find("bottleneck") != std::string::npos) {
      EXPECT_EQ(logits[i], 0.0) << n;
    } else {
      EXPECT_NE(logits[i], 0.0) << n;
      EXPECT_LT(std::fabs(logits[i]), 6e-3) << n;
      ++ops;
    }
  }
  EXPECT_EQ(ops, 3 * 3 + 3 * (6 + 2) + 2 * 2);
}

TEST(TimeseriesRelaxation, TemperatureFollowsTheReferenceSchedule) {
  EXPECT_EQ(gumbel_temperature(0), 1.0);
  EXPECT_NEAR(gumbel_temperature(1000), std::pow(0.995, 1000), 1e-15);
  EXPECT_EQ(gumbel_temperature(10000000), 1e-5);
}

TEST(TimeseriesRelaxation, WithoutNoiseItIsTheSoftmaxOfTheLogitsOverTau) {
  const Space space = test::uci_har();
  const ArchRelaxation r(space);
  std::vector<double> logits(r.size(), 0.0);
  logits[0] = 1.0;             // tr0.kernel3
  logits[1] = 2.0;             // tr0.kernel5
  logits[46] = std::log(3.0);  // sf1.skip.skip: P(skip) = 3 / (1 + 3) at tau 1
  const ArchDistribution d = r.relax(logits, 1.0, nullptr);
  EXPECT_NO_THROW(d.check(space));
  const double z = std::exp(1.0) + std::exp(2.0) + 1.0;
  EXPECT_NEAR(d.time_reduce[0].kernel[1], std::exp(2.0) / z, 1e-15);
  EXPECT_NEAR(d.sensor_fusion[1].skip, 0.75, 1e-15);
  EXPECT_EQ(d.sensor_fusion[0].skip, 0.0);
  // At tau 0.5 the same logits count double.
  EXPECT_NEAR(r.relax(logits, 0.5, nullptr).sensor_fusion[1].skip, 0.9, 1e-15);
}

TEST(TimeseriesRelaxation, GumbelMaxOfTheNoisyLogitsSamplesTheSoftmax) {
  const ArchRelaxation r(test::uci_har());
  std::vector<double> logits(r.size(), 0.0);
  logits[0] = 0.0;
  logits[1] = 1.0;
  logits[2] = -0.5;
  const double z = 1.0 + std::exp(1.0) + std::exp(-0.5);
  Rng rng(11);
  const int n = 40000;
  std::vector<int> count(3, 0);
  for (int i = 0; i < n; ++i) {
    const ArchDistribution d = r.relax(logits, 1.0, &rng);
    const auto& k = d.time_reduce[0].kernel;
    ++count[static_cast<std::size_t>(std::max_element(k.begin(), k.end()) - k.begin())];
  }
  // Binomial standard deviation <= 0.0025 at n = 40000: 4 sigma.
  EXPECT_NEAR(count[0] / double(n), 1.0 / z, 0.01);
  EXPECT_NEAR(count[1] / double(n), std::exp(1.0) / z, 0.01);
  EXPECT_NEAR(count[2] / double(n), std::exp(-0.5) / z, 0.01);
}

TEST(TimeseriesRelaxation, BackwardMatchesFiniteDifferences) {
  const Space space = test::uci_har();
  const ArchRelaxation r(space);
  Rng init(5);
  std::vector<double> logits = r.initial_logits(init);
  for (double& a : logits) a += 0.5 * init.normal();  // away from the symmetric start
  const ArchDistribution c = random_coefficients(space, init);
  for (double tau : {1.0, 0.3}) {
    std::vector<double> probabilities;
    Rng noise(9);
    r.relax(logits, tau, &noise, &probabilities);
    const std::vector<double> grad = r.backward(probabilities, tau, c);
    // The same noise for every evaluation: re-seed.
    auto loss = [&](const std::vector<double>& a) {
      Rng same(9);
      return weighted_sum(r.relax(a, tau, &same), c);
    };
    const double h = 1e-6;
    for (std::size_t i = 0; i < logits.size(); ++i) {
      std::vector<double> up = logits, down = logits;
      up[i] += h;
      down[i] -= h;
      const double numeric = (loss(up) - loss(down)) / (2 * h);
      // Central differences: truncation O(h^2) and rounding ~1e-16 / h.
      EXPECT_NEAR(grad[i], numeric, 1e-8 + 1e-6 * std::fabs(numeric)) << r.names()[i];
    }
  }
}

TEST(TimeseriesRelaxation, DeriveTakesTheArgmaxOfEveryChoice) {
  const Space space = test::uci_har();
  const ArchRelaxation r(space);
  Rng rng(2);
  for (int trial = 0; trial < 50; ++trial) {
    const Arch arch = space.sample(rng);
    // Logits that favour the architecture's choices by 1 over the others.
    const ArchDistribution one_hot = ArchDistribution::one_hot(space, arch);
    std::vector<double> probabilities;
    r.relax(std::vector<double>(r.size(), 0.0), 1.0, nullptr, &probabilities);
    std::vector<double> logits(r.size(), 0.0);
    const ArchDistribution unit = one_hot;
    // Reuse backward's layout walk: the gradient of Σ one_hot · p at uniform logits is positive
    // exactly where the architecture chooses.
    const std::vector<double> g = r.backward(probabilities, 1.0, unit);
    for (std::size_t i = 0; i < logits.size(); ++i) logits[i] = g[i] > 0 ? 1.0 : 0.0;
    // Binary choices the architecture leaves off: the "off" logit must win.
    for (std::size_t i = 0; i < logits.size(); ++i) {
      const std::string& n = r.names()[i];
      const bool first_of_pair = n.find(".off") != std::string::npos ||
                                 n.find(".keep") != std::string::npos ||
                                 n.find(".none") != std::string::npos;
      if (first_of_pair && logits[i + 1] == 0.0) logits[i] = 1.0;
    }
    EXPECT_EQ(r.derive(logits), arch) << arch.to_string();
  }
}

TEST(TimeseriesRelaxation, DeriveKeepsTheBranchClosestToOn) {
  const Space space = test::uci_har();
  const ArchRelaxation r(space);
  std::vector<double> logits(r.size(), 0.0);
  // sf0's branches: off logits 1, on logits 0.2, 0.9, 0.5: all off; kernel 5 is closest to on.
  for (int b = 0; b < 3; ++b) logits[29 + 2 * b] = 1.0;
  logits[30] = 0.2;
  logits[32] = 0.9;
  logits[34] = 0.5;
  EXPECT_EQ(r.derive(logits).sensor_fusion[0].branches, 2);
}

TEST(TimeseriesRelaxation, RefusesBadLogitsAndTemperatures) {
  const ArchRelaxation r(test::uci_har());
  std::vector<double> logits(r.size(), 0.0);
  EXPECT_THROW(r.relax(logits, 0.0, nullptr), Error);
  EXPECT_THROW(r.relax(std::vector<double>(3), 1.0, nullptr), Error);
  logits[7] = NAN;
  try {
    r.relax(logits, 1.0, nullptr);
    ADD_FAILURE() << "a NaN logit was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(r.names()[7]), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace micronas::timeseries
