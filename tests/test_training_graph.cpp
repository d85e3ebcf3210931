// Training graphs (runtime/) and the time-series networks built from them (search/timeseries/):
// finite-difference gradients of a whole supernet in double (parameters and mixing inputs),
// the one-hot supernet against the exact network on sliced weights, and thread invariance.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "kernels/cpu/cpu_kernels.hpp"
#include "micronas/random.hpp"
#include "micronas/threads.hpp"
#include "micronas/timeseries_relaxation.hpp"
#include "micronas/timeseries_training.hpp"
#include "micronas/training_graph.hpp"
#include "tests/kernel_test_util.hpp"
#include "tests/timeseries_spaces.hpp"

namespace micronas {
namespace {

using timeseries::ArchDistribution;
using timeseries::Space;
using training::TrainingExecutor;
using training::TrainingGraph;

// A distribution away from one-hot and uniform: every mixing weight matters.
ArchDistribution skewed(const Space& space, std::uint64_t seed) {
  ArchDistribution d = ArchDistribution::uniform(space);
  Rng rng(seed);
  auto categorical = [&](std::vector<double>& p) {
    double s = 0.0;
    for (double& v : p) s += (v = 0.2 + rng.uniform());
    for (double& v : p) v /= s;
  };
  for (auto& t : d.time_reduce) categorical(t.kernel), categorical(t.width);
  for (std::size_t i = 0; i < d.sensor_fusion.size(); ++i) {
    auto& s = d.sensor_fusion[i];
    categorical(s.bottleneck);
    categorical(s.width);
    for (double& b : s.branch) b = 0.2 + 0.6 * rng.uniform();
    s.residual = 0.2 + 0.6 * rng.uniform();
    if (!space.reduces(static_cast<int>(i))) s.skip = 0.2 + 0.6 * rng.uniform();
  }
  return d;
}

std::vector<float> random_window(int batch, const Space& space, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<float> x(static_cast<std::size_t>(batch) * space.length() * space.sensors());
  for (float& v : x) v = static_cast<float>(rng.normal());
  return x;
}

template <class R>
std::vector<std::vector<R>> cast_mixing(const training::MixingValues& m) {
  std::vector<std::vector<R>> r;
  for (const auto& v : m) r.emplace_back(v.begin(), v.end());
  return r;
}

TEST(TrainingGraph, SupernetGradientsMatchFiniteDifferencesInDouble) {
  const Space space = timeseries::test::small();
  const TrainingGraph g = timeseries::supernet(space);
  const int batch = 3;
  const std::vector<float> pf = g.initial_parameters(7), sf = g.initial_state(),
                           xf = random_window(batch, space, 8);
  std::vector<double> params(pf.begin(), pf.end()), state(sf.begin(), sf.end()),
      x(xf.begin(), xf.end());
  // Non-trivial batch-norm affine parameters: gamma 1 and beta 0 would hide their gradients'
  // coupling.
  Rng rng(9);
  for (double& p : params) p += 0.1 * rng.uniform(-1.0, 1.0);
  auto mixing = cast_mixing<double>(timeseries::supernet_mixing(space, g, skewed(space, 10)));
  const std::vector<int> labels = {0, 2, 1};
  training::ExecutionOptions options;
  options.dropout_seed = 11;  // dropout on: the masks are fixed by the seed
  TrainingExecutor<double> ex(g);
  auto loss = [&]() {
    const std::vector<double>& out =
        ex.forward(params.data(), state.data(), mixing, x.data(), batch, options);
    return training::nll_loss<double>(batch, space.classes(), out.data(), labels.data(), nullptr);
  };
  loss();
  std::vector<double> dout(static_cast<std::size_t>(batch) * space.classes());
  training::nll_loss<double>(batch, space.classes(), ex.value(g.output()).data(), labels.data(),
                             dout.data());
  std::vector<double> dparams(params.size());
  training::MixingGradients dmixing;
  ex.backward(params.data(), mixing, dout.data(), dparams.data(), &dmixing);

  test::check_gradient(params, dparams, loss, "parameters");
  for (std::size_t m = 0; m < mixing.size(); ++m)
    test::check_gradient(mixing[m], dmixing[m], loss, "mixing input " + g.mixings()[m].name);
}

// The chain rule from the mixing inputs' gradients to the distribution, composed with the
// relaxation's: dL/dα against central differences of relax → supernet_mixing → forward → NLL, with
// the same Gumbel noise at every evaluation. The mixing values are floats, so the step is 1e-3
// and the tolerance 2e-3 of the largest gradient (a wrong mask transpose is off by O(1)).
TEST(TrainingGraph, MixingBackwardChainsToTheLogits) {
  const Space space = timeseries::test::small();
  const TrainingGraph g = timeseries::supernet(space);
  const timeseries::ArchRelaxation relaxation(space);
  const int batch = 4;
  const std::vector<float> pf = g.initial_parameters(3), xf = random_window(batch, space, 4);
  const std::vector<double> params(pf.begin(), pf.end()), x(xf.begin(), xf.end());
  const std::vector<float> sf = g.initial_state();
  const std::vector<int> labels = {0, 1, 2, 1};
  Rng init(5);
  std::vector<double> logits = relaxation.initial_logits(init);
  for (double& a : logits) a += init.normal();  // away from uniform: every entry matters
  const double tau = 0.7;
  training::ExecutionOptions options;
  options.dropout_seed = 6;
  TrainingExecutor<double> ex(g);
  std::vector<double> probs;
  auto loss = [&](std::vector<double>* dlogits) {
    Rng noise(7);
    const ArchDistribution d = relaxation.relax(logits, tau, &noise, &probs);
    const auto mixing = cast_mixing<double>(timeseries::supernet_mixing(space, g, d));
    std::vector<double> state(sf.begin(), sf.end());
    const std::vector<double>& out =
        ex.forward(params.data(), state.data(), mixing, x.data(), batch, options);
    std::vector<double> dout(out.size());
    const double l =
        training::nll_loss<double>(batch, space.classes(), out.data(), labels.data(), dout.data());
    if (dlogits) {
      std::vector<double> dparams(params.size());
      training::MixingGradients dmixing;
      ex.backward(params.data(), mixing, dout.data(), dparams.data(), &dmixing);
      *dlogits =
          relaxation.backward(probs, tau, timeseries::supernet_mixing_backward(space, g, dmixing));
    }
    return l;
  };
  std::vector<double> analytic;
  loss(&analytic);
  ASSERT_EQ(analytic.size(), logits.size());
  double scale = 0.0, worst = 0.0;
  for (double a : analytic) scale = std::max(scale, std::abs(a));
  ASSERT_GT(scale, 1e-4);
  for (std::size_t i = 0; i < logits.size(); ++i) {
    const double saved = logits[i];
    logits[i] = saved + 1e-3;
    const double up = loss(nullptr);
    logits[i] = saved - 1e-3;
    const double down = loss(nullptr);
    logits[i] = saved;
    worst = std::max(worst, std::abs((up - down) / 2e-3 - analytic[i]) / scale);
  }
  EXPECT_LE(worst, 2e-3);
}

// The supernet at a one-hot distribution is the exact network: same outputs (dropout on, train
// and eval mode) and the same gradients of the shared weights.
TEST(TrainingGraph, OneHotSupernetEqualsExactNetwork) {
  const Space space = timeseries::test::small();
  const TrainingGraph net = timeseries::supernet(space);
  const int batch = 4;
  const std::vector<float> x = random_window(batch, space, 12);
  const std::vector<int> labels = {2, 0, 1, 1};
  const std::vector<std::string> archs = {"tr:k5w2|tr:k3w4|sf:b2[3,7]w4r|sf:b4[5]w6",
                                          "tr:k7w4|tr:k7w2|sf:b4[3]w2|sf:skip",
                                          "tr:k3w4|tr:k5w4|sf:b4[3,5,7]w6r|sf:b2[7]w2r"};
  for (const std::string& text : archs) {
    const timeseries::Arch arch = space.parse(text);
    const TrainingGraph exact = timeseries::exact_network(space, arch);
    const std::vector<float> params = net.initial_parameters(13);
    std::vector<float> state = net.initial_state();
    Rng rng(14);
    for (float& s : state) s += static_cast<float>(0.5 * rng.uniform());  // running statistics
    std::vector<float> ep, es;
    timeseries::slice_supernet(net, params, state, exact, &ep, &es);
    const auto mixing =
        timeseries::supernet_mixing(space, net, ArchDistribution::one_hot(space, arch));
    for (bool train : {true, false}) {
      training::ExecutionOptions o;
      o.training = train;
      o.dropout_seed = 15;
      std::vector<float> s1 = state, s2 = es;
      TrainingExecutor<float> a(net), b(exact);
      const std::vector<float> ya = a.forward(params.data(), s1.data(), mixing, x.data(), batch, o);
      const std::vector<float> yb = b.forward(ep.data(), s2.data(), {}, x.data(), batch, o);
      ASSERT_EQ(ya.size(), yb.size());
      // Masked channels contribute exact zeros and weights of 1 and 0 are exact: the sums differ
      // only by added zeros, which leave them unchanged; 1e-6 allows for a different order.
      for (std::size_t i = 0; i < ya.size(); ++i)
        EXPECT_NEAR(ya[i], yb[i], 1e-6 * (1 + std::abs(yb[i]))) << text << " train " << train;
      if (!train) continue;
      std::vector<float> da(static_cast<std::size_t>(batch) * space.classes()), db(da.size());
      training::nll_loss<float>(batch, space.classes(), ya.data(), labels.data(), da.data());
      training::nll_loss<float>(batch, space.classes(), yb.data(), labels.data(), db.data());
      std::vector<float> ga(params.size()), gb(ep.size()), gs, unused;
      a.backward(params.data(), mixing, da.data(), ga.data(), nullptr);
      b.backward(ep.data(), {}, db.data(), gb.data(), nullptr);
      timeseries::slice_supernet(net, ga, state, exact, &gs, &unused);
      double scale = 0.0, worst = 0.0;
      for (float v : gb) scale = std::max(scale, double(std::abs(v)));
      for (std::size_t i = 0; i < gb.size(); ++i)
        worst = std::max(worst, std::abs(double(gs[i]) - gb[i]) / scale);
      EXPECT_GT(scale, 1e-4) << text;
      EXPECT_LE(worst, 1e-5) << text << ": gradients of the shared weights";
    }
  }
}

// One forward and backward of the supernet: bitwise the same on 1 and 2 threads.
TEST(TrainingGraph, ForwardAndBackwardAreThreadInvariant) {
  const Space space = timeseries::test::small();
  const TrainingGraph g = timeseries::supernet(space);
  const int batch = 5;
  const std::vector<float> x = random_window(batch, space, 16), params = g.initial_parameters(17);
  const auto mixing = timeseries::supernet_mixing(space, g, skewed(space, 18));
  const std::vector<int> labels = {0, 1, 2, 0, 1};
  std::vector<float> out[2], grad[2];
  training::MixingGradients dm[2];
  const int saved = num_threads();
  for (int t : {1, 2}) {
    set_num_threads(t);
    std::vector<float> state = g.initial_state();
    TrainingExecutor<float> ex(g);
    training::ExecutionOptions o;
    o.dropout_seed = 19;
    out[t - 1] = ex.forward(params.data(), state.data(), mixing, x.data(), batch, o);
    std::vector<float> dout(out[t - 1].size());
    training::nll_loss<float>(batch, space.classes(), out[t - 1].data(), labels.data(),
                              dout.data());
    grad[t - 1].resize(params.size());
    ex.backward(params.data(), mixing, dout.data(), grad[t - 1].data(), &dm[t - 1]);
  }
  set_num_threads(saved);
  EXPECT_EQ(out[0], out[1]);
  EXPECT_EQ(grad[0], grad[1]);
  EXPECT_EQ(dm[0], dm[1]);
}

// A supernet whose convs take the fast paths (Winograd branches, lowered bottlenecks, folded
// Scales; batch 16) against the same steps on the direct kernels, node by node: in double to
// 1e-10 of the largest value, in float to the float kernels' 2e-5 and not bitwise (the fast
// paths ran); and thread-invariant.
template <class R>
struct Step {
  std::vector<R> out, grad;
  training::MixingGradients dm;
};

template <class R>
Step<R> train_step(const TrainingGraph& g, const Space& space, int batch, bool fast) {
  const std::vector<float> xf = random_window(batch, space, 21);
  const std::vector<R> x(xf.begin(), xf.end());
  const std::vector<float> pf = g.initial_parameters(22);
  const std::vector<R> params(pf.begin(), pf.end());
  const auto mixing = cast_mixing<R>(timeseries::supernet_mixing(space, g, skewed(space, 23)));
  std::vector<int> labels(batch);
  for (int i = 0; i < batch; ++i) labels[i] = i % space.classes();
  const std::vector<float> sf = g.initial_state();
  std::vector<R> state(sf.begin(), sf.end());
  TrainingExecutor<R> ex(g);
  training::ExecutionOptions o;
  o.dropout_seed = 24;
  o.fast_paths = fast;
  Step<R> s;
  s.out = ex.forward(params.data(), state.data(), mixing, x.data(), batch, o);
  std::vector<R> dout(s.out.size());
  training::nll_loss<R>(batch, space.classes(), s.out.data(), labels.data(), dout.data());
  s.grad.resize(params.size());
  ex.backward(params.data(), mixing, dout.data(), s.grad.data(), &s.dm);
  return s;
}

template <class R>
double worst_relative(const std::vector<R>& want, const std::vector<R>& got) {
  double scale = 1e-30, worst = 0.0;
  for (R v : want) scale = std::max(scale, std::abs(double(v)));
  for (std::size_t i = 0; i < got.size(); ++i)
    worst = std::max(worst, std::abs(double(got[i]) - double(want[i])) / scale);
  return worst;
}

TEST(TrainingGraph, FastPathsAgreeWithTheDirectKernels) {
  const Space space = timeseries::test::grouped_paths();
  const TrainingGraph g = timeseries::supernet(space);
  const int batch = 16;
  // Both grouped algorithms have convs to run in this supernet.
  int winograd = 0, lowered = 0;
  for (const auto& n : g.nodes()) {
    if (n.kind != training::NodeKind::kConv) continue;
    const auto& in = g.nodes()[n.inputs[0]].shape;
    const ConvGeometry geo{in.c, in.h, in.w,      n.shape.c,  n.kh,      n.kw,
                           n.sh, n.sw, n.pad_top, n.pad_left, n.shape.h, n.shape.w};
    winograd += cpu::winograd_pays(geo, batch);
    lowered += !cpu::winograd_pays(geo, batch) && cpu::lowered_conv_pays(geo, batch);
  }
  EXPECT_GT(winograd, 0);
  EXPECT_GT(lowered, 0);
  const Step<double> wd = train_step<double>(g, space, batch, true);
  const Step<double> dd = train_step<double>(g, space, batch, false);
  EXPECT_LE(worst_relative(dd.out, wd.out), 1e-10);
  EXPECT_LE(worst_relative(dd.grad, wd.grad), 1e-10);
  for (std::size_t i = 0; i < dd.dm.size(); ++i)
    EXPECT_LE(worst_relative(dd.dm[i], wd.dm[i]), 1e-10) << i;
  const Step<float> wf = train_step<float>(g, space, batch, true);
  const Step<float> df = train_step<float>(g, space, batch, false);
  EXPECT_LE(worst_relative(df.out, wf.out), 2e-5);
  EXPECT_LE(worst_relative(df.grad, wf.grad), 2e-5);
  EXPECT_NE(df.grad, wf.grad) << "the fast paths did not run";
  const int saved = num_threads();
  set_num_threads(1);
  const Step<float> one = train_step<float>(g, space, batch, true);
  set_num_threads(2);
  const Step<float> two = train_step<float>(g, space, batch, true);
  set_num_threads(saved);
  EXPECT_EQ(one.out, two.out);
  EXPECT_EQ(one.grad, two.grad);
  EXPECT_EQ(one.dm, two.dm);
}

}  // namespace
}  // namespace micronas
