// The zero-cost proxies on time-series networks (timeseries_proxies.hpp): the Jacobian against
// central finite differences in double, the NTK of an exact network against the one-hot supernet
// on sliced weights, and the hashed linear-region count against the exact count.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "micronas/error.hpp"
#include "micronas/random.hpp"
#include "micronas/timeseries_proxies.hpp"
#include "micronas/timeseries_training.hpp"
#include "tests/timeseries_spaces.hpp"

namespace micronas {
namespace {

using timeseries::ArchDistribution;
using timeseries::NetworkOptions;
using timeseries::Space;
using training::TrainingGraph;

const NetworkOptions kProxyNet{0.0, false};

std::vector<double> gaussian(std::size_t n, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<double> v(n);
  for (double& x : v) x = rng.normal();
  return v;
}

template <class R>
std::vector<std::vector<R>> cast_mixing(const training::MixingValues& m) {
  std::vector<std::vector<R>> r;
  for (const auto& v : m) r.emplace_back(v.begin(), v.end());
  return r;
}

// Σ_c logits[i, c] for every sample i, one training-mode forward.
std::vector<double> row_sums(const TrainingGraph& net, const std::vector<double>& params,
                             const std::vector<std::vector<double>>& mixing,
                             const std::vector<double>& x, int batch) {
  std::vector<double> state(static_cast<std::size_t>(net.state_count()), 0.0);
  training::TrainingExecutor<double> ex(net);
  const std::vector<double>& y =
      ex.forward(params.data(), state.data(), mixing, x.data(), batch, {});
  const int classes = net.nodes()[net.output()].shape.c;
  std::vector<double> s(static_cast<std::size_t>(batch), 0.0);
  for (int i = 0; i < batch; ++i)
    for (int c = 0; c < classes; ++c) s[i] += y[i * classes + c];
  return s;
}

// Checks every `stride`-th Jacobian column against (f(θ + h e_j) - f(θ - h e_j)) / 2h.
void check_against_finite_differences(const TrainingGraph& net,
                                      const std::vector<std::vector<double>>& mixing, int stride) {
  const int batch = 4;
  const std::vector<float> init = net.initial_parameters(7);
  const std::vector<double> params(init.begin(), init.end());
  const std::vector<double> x =
      gaussian(static_cast<std::size_t>(batch) * net.nodes()[0].shape.size(), 11);
  const std::vector<double> j =
      timeseries::network_jacobian<double>(net, params, mixing, x.data(), batch);
  std::vector<std::int64_t> column_param;  // parameter offset of each column
  for (int p : timeseries::ntk_parameters(net)) {
    const training::Parameter& q = net.parameters()[p];
    EXPECT_TRUE(q.name.find("weight") != std::string::npos ||
                q.name.find("gamma") != std::string::npos)
        << q.name;
    for (std::int64_t k = 0; k < q.size; ++k) column_param.push_back(q.offset + k);
  }
  const std::int64_t cols = static_cast<std::int64_t>(column_param.size());
  ASSERT_EQ(static_cast<std::int64_t>(j.size()), batch * cols);
  const double h = 1e-6;
  int checked = 0;
  for (std::int64_t c = 0; c < cols; c += stride) {
    std::vector<double> plus = params, minus = params;
    plus[column_param[c]] += h;
    minus[column_param[c]] -= h;
    const std::vector<double> fp = row_sums(net, plus, mixing, x, batch);
    const std::vector<double> fm = row_sums(net, minus, mixing, x, batch);
    for (int i = 0; i < batch; ++i) {
      const double fd = (fp[i] - fm[i]) / (2 * h);
      EXPECT_NEAR(j[i * cols + c], fd, 1e-6 * std::max(1.0, std::abs(fd)))
          << "row " << i << " column " << c;
    }
    ++checked;
  }
  EXPECT_GT(checked, 20);
}

TEST(TimeseriesProxies, ExactJacobianMatchesFiniteDifferencesInDouble) {
  const Space space = timeseries::test::small();
  const timeseries::Arch arch = space.parse("tr:k5w4|tr:k3w2|sf:b4[3,7]w6r|sf:b2[5]w4r");
  const TrainingGraph net = timeseries::exact_network(space, arch, kProxyNet);
  check_against_finite_differences(net, {}, 7);
}

TEST(TimeseriesProxies, SupernetJacobianMatchesFiniteDifferencesInDouble) {
  const Space space = timeseries::test::small();
  const TrainingGraph net = timeseries::supernet(space, kProxyNet);
  ArchDistribution d = ArchDistribution::uniform(space);
  d.sensor_fusion[1].skip = 0.3;
  d.sensor_fusion[0].branch = {0.2, 0.7, 0.5};
  const auto mixing = cast_mixing<double>(timeseries::supernet_mixing(space, net, d));
  check_against_finite_differences(net, mixing, 23);
}

TEST(TimeseriesProxies, OutputIsTheLogitsWithoutLogSoftmax) {
  const Space space = timeseries::test::small();
  const TrainingGraph with = timeseries::supernet(space);
  const TrainingGraph without = timeseries::supernet(space, kProxyNet);
  EXPECT_EQ(with.nodes().back().kind, training::NodeKind::kLogSoftmax);
  EXPECT_EQ(without.nodes().back().kind, training::NodeKind::kGlobalAvgPool);
  EXPECT_EQ(with.parameter_count(), without.parameter_count());
}

// K = J Jᵀ in double.
std::vector<double> gram(const std::vector<double>& j, int rows) {
  const std::size_t cols = j.size() / rows;
  std::vector<double> k(static_cast<std::size_t>(rows) * rows, 0.0);
  for (int a = 0; a < rows; ++a)
    for (int b = 0; b < rows; ++b)
      for (std::size_t c = 0; c < cols; ++c) k[a * rows + b] += j[a * cols + c] * j[b * cols + c];
  return k;
}

TEST(TimeseriesProxies, ExactNtkEqualsTheOneHotSupernetOnSlicedWeights) {
  const Space space = timeseries::test::small();
  const TrainingGraph super = timeseries::supernet(space, kProxyNet);
  const std::vector<float> params = super.initial_parameters(5);
  const std::vector<float> state = super.initial_state();
  const int batch = 6;
  const std::vector<double> xd = gaussian(static_cast<std::size_t>(batch) * 16 * 4, 3);
  const std::vector<float> xf(xd.begin(), xd.end());
  for (const char* text :
       {"tr:k5w4|tr:k3w2|sf:b4[3,7]w6r|sf:b2[5]w4r", "tr:k3w2|tr:k7w4|sf:b2[5]w2|sf:skip"}) {
    const timeseries::Arch arch = space.parse(text);
    const TrainingGraph exact = timeseries::exact_network(space, arch, kProxyNet);
    std::vector<float> exact_params, exact_state;
    timeseries::slice_supernet(super, params, state, exact, &exact_params, &exact_state);
    const auto mixing =
        timeseries::supernet_mixing(space, super, ArchDistribution::one_hot(space, arch));
    // In double the Gram matrices agree to rounding: the supernet's extra columns are zero.
    const std::vector<double> pd(params.begin(), params.end());
    const std::vector<double> ed(exact_params.begin(), exact_params.end());
    const std::vector<double> ks =
        gram(timeseries::network_jacobian<double>(super, pd, cast_mixing<double>(mixing), xd.data(),
                                                  batch),
             batch);
    const std::vector<double> ke =
        gram(timeseries::network_jacobian<double>(exact, ed, {}, xd.data(), batch), batch);
    for (std::size_t i = 0; i < ks.size(); ++i)
      EXPECT_NEAR(ks[i], ke[i], 1e-9 * std::max(1.0, std::abs(ke[i]))) << text << " " << i;
    // And the condition numbers in the search's precision (fp32 Jacobian, fp64 Gram).
    const NtkCondition a = timeseries::network_ntk(super, params, mixing, xf.data(), batch);
    const NtkCondition b = timeseries::network_ntk(exact, exact_params, {}, xf.data(), batch);
    ASSERT_TRUE(a.valid && b.valid) << text;
    EXPECT_NEAR(a.condition, b.condition, 1e-3 * b.condition) << text;
  }
}

TEST(TimeseriesProxies, HashedRegionCountEqualsTheExactCount) {
  const Space space = timeseries::test::small();
  const TrainingGraph super = timeseries::supernet(space, kProxyNet);
  const std::vector<float> params = super.initial_parameters(2);
  const auto mixing = timeseries::supernet_mixing(space, super, ArchDistribution::uniform(space));
  const int window = 16 * 4;
  // Points on a segment between two windows, some of them twice: fewer regions than samples.
  const std::vector<double> a = gaussian(window, 1), b = gaussian(window, 2);
  const int n = 200;
  std::vector<float> x(static_cast<std::size_t>(n) * window);
  for (int k = 0; k < n; ++k) {
    const double t = static_cast<double>(std::min(k, 150)) / 150.0;
    for (int i = 0; i < window; ++i)
      x[k * window + i] = static_cast<float>(a[i] + t * (b[i] - a[i]));
  }
  timeseries::ReluPatternCounter counter(true);
  counter.add_batch(super, params, mixing, x.data(), n);
  counter.add_batch(super, params, mixing, x.data(), n / 2);
  EXPECT_EQ(counter.samples(), n + n / 2);
  EXPECT_EQ(counter.count(), counter.exact_count());
  EXPECT_GT(counter.count(), 1);
  EXPECT_LT(counter.count(), counter.samples());
  // The exact network and the one-hot supernet see the same patterns on live units only, so
  // only the counts of each are compared with their own exact counts.
  const timeseries::Arch arch = space.parse("tr:k5w4|tr:k3w2|sf:b4[3,7]w6r|sf:skip");
  const TrainingGraph exact = timeseries::exact_network(space, arch, kProxyNet);
  timeseries::ReluPatternCounter exact_counter(true);
  exact_counter.add_batch(exact, exact.initial_parameters(4), {}, x.data(), n);
  EXPECT_EQ(exact_counter.count(), exact_counter.exact_count());
  timeseries::ReluPatternCounter plain;
  EXPECT_THROW(plain.exact_count(), Error);
}

}  // namespace
}  // namespace micronas
