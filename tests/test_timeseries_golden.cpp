// The time-series supernet against an independent PyTorch implementation
// (tests/scripts/make_timeseries_golden.py, files in tests/golden/timeseries/): log-probabilities,
// loss, every parameter gradient, the gradients of the mixing inputs and the running statistics
// in double and float, one Adam and one SGD step (after gradient-norm clipping) in float, and
// TE-NAS's proxies on the logits: the NTK Gram matrix and condition number, and the number of
// distinct ReLU patterns on a segment of inputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "golden_loader.hpp"
#include "micronas/optimizer.hpp"
#include "micronas/timeseries_proxies.hpp"
#include "micronas/timeseries_training.hpp"
#include "micronas/training_graph.hpp"

namespace micronas {
namespace {

using test::json;
using training::TrainingGraph;

struct Golden {
  std::string dir = test::golden_dir("timeseries");
  json meta = test::read_json(dir + "/case.json");
  std::vector<double> load(const std::string& rel) const { return read_npy(dir + "/" + rel).data; }
};

timeseries::Space space_of(const json& c) {
  timeseries::SpaceOptions o;
  o.kernels = c.at("kernels").get<std::vector<int>>();
  o.time_width_step = c.at("time_width_step");
  o.time_width_max = c.at("time_width_max");
  o.bottleneck_step = c.at("bottleneck_step");
  o.bottleneck_max = c.at("bottleneck_max");
  o.block_width_step = c.at("block_width_step");
  o.block_width_max = c.at("block_width_max");
  o.scale = c.at("scale");
  o.min_time = c.at("min_time");
  o.min_sensors = c.at("min_sensors");
  return timeseries::Space(c.at("length"), c.at("sensors"), c.at("classes"), o);
}

// |got - want| <= tol · max(|want|) elementwise, with a non-vacuity check.
template <class R>
void expect_close(const std::vector<double>& want, const R* got, double tol,
                  const std::string& what) {
  const double scale = std::max(test::max_abs(want), 1e-300);
  double worst = 0.0;
  for (std::size_t i = 0; i < want.size(); ++i)
    worst = std::max(worst, std::abs(double(got[i]) - want[i]) / scale);
  EXPECT_LE(worst, tol) << what;
  EXPECT_GT(scale, 1e-12) << what << " is zero: the check would be vacuous";
}

class TimeseriesGolden : public ::testing::Test {
 protected:
  Golden golden;
  timeseries::Space space = space_of(golden.meta.at("config"));
  TrainingGraph graph = timeseries::supernet(space, timeseries::NetworkOptions{0.0});
  std::vector<double> params, x;
  std::vector<std::vector<double>> mixing;
  std::vector<int> labels = golden.meta.at("labels").get<std::vector<int>>();
  int batch = golden.meta.at("batch");

  void SetUp() override {
    const auto names = golden.meta.at("parameters").get<std::vector<std::string>>();
    ASSERT_EQ(names.size(), graph.parameters().size()) << "the same parameters on both sides";
    params.resize(static_cast<std::size_t>(graph.parameter_count()));
    for (const training::Parameter& p : graph.parameters()) {
      const NpyArray a = read_npy(golden.dir + "/params/" + p.name + ".npy");
      ASSERT_EQ(a.shape, test::to_shape(p.dims)) << p.name;
      std::copy(a.data.begin(), a.data.end(), params.begin() + p.offset);
    }
    ASSERT_EQ(golden.meta.at("mixing").size(), graph.mixings().size());
    for (const training::MixingInput& m : graph.mixings()) {
      mixing.push_back(golden.load("mixing/" + m.name + ".npy"));
      ASSERT_EQ(static_cast<int>(mixing.back().size()), m.size) << m.name;
    }
    x = golden.load("input.npy");
  }

  // Forward and backward in precision R; checks against the golden within `tol`.
  template <class R>
  void check(double tol) {
    const std::vector<R> p(params.begin(), params.end()), xr(x.begin(), x.end());
    std::vector<std::vector<R>> mix;
    for (const auto& m : mixing) mix.emplace_back(m.begin(), m.end());
    const std::vector<float> s0 = graph.initial_state();
    std::vector<R> state(s0.begin(), s0.end());
    training::TrainingExecutor<R> ex(graph);
    const std::vector<R> out = ex.forward(p.data(), state.data(), mix, xr.data(), batch, {});
    const std::string prec = sizeof(R) == 8 ? " (double)" : " (float)";
    expect_close(golden.load("log_probs.npy"), out.data(), tol, "log-probabilities" + prec);
    std::vector<R> dout(out.size());
    const double loss =
        training::nll_loss<R>(batch, space.classes(), out.data(), labels.data(), dout.data());
    EXPECT_NEAR(loss, golden.meta.at("loss").get<double>(), tol) << "loss" << prec;
    std::vector<R> grads(p.size());
    training::MixingGradients dmix;
    ex.backward(p.data(), mix, dout.data(), grads.data(), &dmix);
    for (const training::Parameter& q : graph.parameters())
      expect_close(golden.load("grads/" + q.name + ".npy"), grads.data() + q.offset, tol,
                   "gradient of " + q.name + prec);
    for (std::size_t m = 0; m < dmix.size(); ++m)
      expect_close(golden.load("dmixing/" + graph.mixings()[m].name + ".npy"), dmix[m].data(), tol,
                   "gradient of mixing input " + graph.mixings()[m].name + prec);
    for (const training::Node& n : graph.nodes()) {
      if (n.kind != training::NodeKind::kBatchNorm) continue;
      expect_close(golden.load("running/" + n.name + ".mean.npy"), state.data() + n.state, tol,
                   n.name + " running mean" + prec);
      expect_close(golden.load("running/" + n.name + ".var.npy"),
                   state.data() + n.state + n.shape.c, tol, n.name + " running var" + prec);
    }
  }
};

// Double: both sides compute in float64 in other orders; 1e-10 of each tensor's scale leaves
// room for the batch-norm backward's cancellations (a few hundred ulps) and stays far below
// any formula error.
TEST_F(TimeseriesGolden, DoubleMatchesPyTorch) { check<double>(1e-10); }

// Float: inputs rounded to fp32 and sums of up to ~500 products (2^-24 each); the batch-norm
// backward over 4·plane values subtracts nearly equal sums, so gradients keep ~4 digits: 2e-4.
TEST_F(TimeseriesGolden, FloatMatchesPyTorch) { check<float>(2e-4); }

// One step of each optimiser from the golden gradients in float, clipped to norm 1 first. The
// update is ~lr per parameter; float rounding of parameters ~1 is 6e-8: 1e-6 absolute detects
// any error in a step's formula (bias correction, momentum, weight decay, clipping).
TEST_F(TimeseriesGolden, OptimiserStepsMatchPyTorch) {
  std::vector<float> grads(params.size());
  for (const training::Parameter& q : graph.parameters()) {
    const std::vector<double> g = golden.load("grads/" + q.name + ".npy");
    std::copy(g.begin(), g.end(), grads.begin() + q.offset);
  }
  const double norm = training::clip_grad_norm(
      grads.data(), static_cast<std::int64_t>(grads.size()), golden.meta.at("clip").get<double>());
  EXPECT_NEAR(norm, golden.meta.at("grad_norm").get<double>(), 1e-6 * norm);
  for (const std::string kind : {"adam", "sgd"}) {
    std::vector<float> p(params.begin(), params.end()), g = grads;
    const json& o = golden.meta.at(kind);
    if (kind == "adam") {
      training::AdamOptions a;
      a.lr = o.at("lr");
      a.weight_decay = o.at("weight_decay");
      training::Adam(static_cast<std::int64_t>(p.size()), a).step(p.data(), g.data(), a.lr);
    } else {
      training::SgdOptions s;
      s.lr = o.at("lr");
      s.momentum = o.at("momentum");
      s.weight_decay = o.at("weight_decay");
      training::Sgd(static_cast<std::int64_t>(p.size()), s).step(p.data(), g.data(), s.lr);
    }
    double worst = 0.0, moved = 0.0;
    for (const training::Parameter& q : graph.parameters()) {
      const std::vector<double> want = golden.load(kind + "/" + q.name + ".npy");
      for (std::int64_t i = 0; i < q.size; ++i) {
        worst = std::max(worst, std::abs(p[q.offset + i] - want[i]));
        moved = std::max(moved, std::abs(want[i] - params[q.offset + i]));
      }
    }
    EXPECT_LE(worst, 1e-6) << kind;
    EXPECT_GT(moved, 1e-3) << kind << ": the step must move the parameters";
  }
}

// The NTK of the supernet's logits at the golden distribution: J J^T in double against PyTorch's
// (autograd per row, float64), within the batch-norm backward's rounding; κ from our fp64
// eigenvalues within 1e-8 relative.
TEST_F(TimeseriesGolden, NtkMatchesPyTorch) {
  const TrainingGraph logits = timeseries::supernet(space, timeseries::NetworkOptions{0.0, false});
  ASSERT_EQ(logits.parameter_count(), graph.parameter_count());
  const std::vector<double> j =
      timeseries::network_jacobian<double>(logits, params, mixing, x.data(), batch);
  const std::size_t cols = j.size() / batch;
  std::vector<double> gram(static_cast<std::size_t>(batch) * batch, 0.0);
  for (int a = 0; a < batch; ++a)
    for (int b = 0; b < batch; ++b)
      for (std::size_t c = 0; c < cols; ++c)
        gram[a * batch + b] += j[a * cols + c] * j[b * cols + c];
  expect_close(golden.load("ntk_gram.npy"), gram.data(), 1e-10, "NTK Gram matrix");
  const NtkCondition k = ntk_condition(gram, batch);
  ASSERT_TRUE(k.valid) << k.invalid_reason;
  const double want = golden.meta.at("ntk_condition");
  EXPECT_NEAR(k.condition, want, 1e-8 * want);
}

// The linear-region count of the same network on the golden segment (points stored as float
// values, one forward of all of them in training mode).
TEST_F(TimeseriesGolden, LinearRegionCountMatchesPyTorch) {
  const TrainingGraph logits = timeseries::supernet(space, timeseries::NetworkOptions{0.0, false});
  const std::vector<double> lr = golden.load("lr_input.npy");
  const int points = golden.meta.at("lr_points");
  ASSERT_EQ(lr.size(), static_cast<std::size_t>(points) * space.length() * space.sensors());
  const std::vector<float> xf(lr.begin(), lr.end()), pf(params.begin(), params.end());
  training::MixingValues mf;
  for (const auto& m : mixing) mf.emplace_back(m.begin(), m.end());
  timeseries::ReluPatternCounter counter(true);
  counter.add_batch(logits, pf, mf, xf.data(), points);
  EXPECT_EQ(counter.count(), counter.exact_count());
  EXPECT_EQ(counter.count(), golden.meta.at("linear_regions").get<std::int64_t>());
}

}  // namespace
}  // namespace micronas
