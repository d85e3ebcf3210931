// Every op of the engine through the backend seam, one test body per op, run on every backend:
// a one-layer graph is compiled by the backend, run forward and backward with two cotangents,
// and compared with the scalar double-precision oracles of kernels/reference. CUDA cases skip,
// saying so, without a device, and fail instead when MICRONAS_REQUIRE_CUDA=1.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "kernels/reference/reference_kernels.hpp"
#include "micronas/error.hpp"
#include "micronas/random.hpp"
#include "runtime/backend.hpp"
#include "tests/backend_test_util.hpp"

namespace micronas {
namespace {

using reference::Vec;

Vec uniform(std::size_t n, std::uint64_t seed) {
  Rng rng(seed);
  Vec v(n);
  for (double& x : v) x = rng.uniform(-1.0, 1.0);
  return v;
}

std::vector<float> to_float(const Vec& v) { return std::vector<float>(v.begin(), v.end()); }
// The oracle sees exactly the values the backend computes with.
Vec rounded(const Vec& v) {
  const std::vector<float> f = to_float(v);
  return Vec(f.begin(), f.end());
}

// Largest difference relative to the largest reference magnitude. Inputs are fp32; each output
// sums at most a few hundred fp32 products (accumulated in whatever order the backend uses), so
// the error stays within ~sqrt(n)·2^-24·(max term) ≪ 2e-5 of the largest value.
constexpr double kTolerance = 2e-5;

void expect_close(const Vec& want, const std::vector<float>& got, const std::string& what) {
  ASSERT_EQ(want.size(), got.size()) << what;
  double scale = 0;
  for (double v : want) scale = std::max(scale, std::abs(v));
  ASSERT_GT(scale, 1e-6) << what << " is all zeros: the check would be vacuous";
  double worst = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    ASSERT_TRUE(std::isfinite(got[i])) << what << " element " << i;
    worst = std::max(worst, std::abs(got[i] - want[i]) / scale);
  }
  EXPECT_LE(worst, kTolerance) << what;
}

// A graph under construction: value 0 is the input, parameters are laid out in order.
struct GraphBuilder {
  Graph g;
  explicit GraphBuilder(Shape input) { g.values.push_back(input); }
  int value(Shape s) {
    g.values.push_back(s);
    return static_cast<int>(g.values.size()) - 1;
  }
  int param(const std::string& name, std::vector<int> shape, Parameter::Role role) {
    Parameter p;
    p.name = name;
    p.shape = shape;
    p.size = 1;
    for (int d : shape) p.size *= d;
    p.offset = g.num_params;
    p.role = role;
    g.num_params += p.size;
    g.params.push_back(p);
    return static_cast<int>(g.params.size()) - 1;
  }
  void layer(Layer l) { g.layers.push_back(std::move(l)); }
  Graph done(int logits) {
    g.logits = logits;
    return g;
  }
};

Layer make_layer(LayerKind kind, std::vector<int> inputs, int output) {
  Layer l{};
  l.kind = kind;
  l.inputs = std::move(inputs);
  l.output = output;
  return l;
}

// One op's case: the graph, and the oracle's forward and backward for one cotangent.
struct OpCase {
  std::string name;
  Graph graph;
  std::function<Vec(const Vec& x, const Vec& params)> forward;
  // Returns dx; adds the parameter gradients into dparams (size num_params).
  std::function<Vec(const Vec& x, const Vec& params, const Vec& dy, Vec* dparams)> backward;
};

constexpr int kBatch = 3;
constexpr double kEps = 1e-5;

Vec slice(const Vec& v, std::int64_t offset, std::int64_t size) {
  return Vec(v.begin() + offset, v.begin() + offset + size);
}
void add_into(Vec* dst, std::int64_t offset, const Vec& src) {
  for (std::size_t i = 0; i < src.size(); ++i) (*dst)[offset + i] += src[i];
}

OpCase conv_case(int cin, int hw, int cout, int k, int stride, bool relu_before) {
  const int pad = k / 2;
  reference::ConvShape s{kBatch, cin, hw, hw, cout, k, stride, pad};
  GraphBuilder b({cin, hw, hw});
  const int w = b.param("conv.weight", {cout, cin, k, k}, Parameter::Role::kConvWeight);
  int in = 0;
  if (relu_before) {
    in = b.value({cin, hw, hw});
    b.layer(make_layer(LayerKind::kReLU, {0}, in));
  }
  const int out = b.value({cout, s.ho(), s.wo()});
  Layer conv = make_layer(LayerKind::kConv2d, {in}, out);
  conv.kernel = k;
  conv.stride = stride;
  conv.pad = pad;
  conv.weight = w;
  b.layer(conv);
  OpCase c;
  c.name = std::string(relu_before ? "relu_conv" : "conv") + std::to_string(k) + "x" +
           std::to_string(k) + "_s" + std::to_string(stride) + "_c" + std::to_string(cin) + "to" +
           std::to_string(cout);
  c.graph = b.done(out);
  c.forward = [s, relu_before](const Vec& x, const Vec& p) {
    return reference::conv2d_forward(s, relu_before ? reference::relu_forward(x) : x, p);
  };
  c.backward = [s, relu_before](const Vec& x, const Vec& p, const Vec& dy, Vec* dp) {
    const Vec xin = relu_before ? reference::relu_forward(x) : x;
    Vec dx, dw;
    reference::conv2d_backward(s, xin, p, dy, &dx, &dw);
    add_into(dp, 0, dw);
    return relu_before ? reference::relu_backward(x, dx) : dx;
  };
  return c;
}

OpCase batch_norm_case() {
  const int C = 4, hw = 5, plane = hw * hw;
  GraphBuilder b({C, hw, hw});
  Layer l = make_layer(LayerKind::kBatchNorm, {0}, b.value({C, hw, hw}));
  l.weight = b.param("bn.weight", {C}, Parameter::Role::kBatchNormWeight);
  l.bias = b.param("bn.bias", {C}, Parameter::Role::kBatchNormBias);
  b.layer(l);
  OpCase c;
  c.name = "batch_norm";
  c.graph = b.done(l.output);
  c.forward = [=](const Vec& x, const Vec& p) {
    return reference::batch_norm_forward(kBatch, C, plane, x, slice(p, 0, C), slice(p, C, C), kEps);
  };
  c.backward = [=](const Vec& x, const Vec& p, const Vec& dy, Vec* dp) {
    Vec dx, dg, db;
    reference::batch_norm_backward(kBatch, C, plane, x, slice(p, 0, C), kEps, dy, &dx, &dg, &db);
    add_into(dp, 0, dg);
    add_into(dp, C, db);
    return dx;
  };
  return c;
}

OpCase relu_case() {
  const Shape s{3, 4, 4};
  GraphBuilder b(s);
  Layer l = make_layer(LayerKind::kReLU, {0}, b.value(s));
  b.layer(l);
  OpCase c;
  c.name = "relu";
  c.graph = b.done(l.output);
  c.forward = [](const Vec& x, const Vec&) { return reference::relu_forward(x); };
  c.backward = [](const Vec& x, const Vec&, const Vec& dy, Vec*) {
    return reference::relu_backward(x, dy);
  };
  return c;
}

OpCase avg_pool_case(int k, int stride, int pad) {
  const int C = 3, hw = 7;
  reference::PoolShape s{kBatch, C, hw, hw, k, stride, pad};
  GraphBuilder b({C, hw, hw});
  Layer l = make_layer(LayerKind::kAvgPool, {0}, b.value({C, s.ho(), s.wo()}));
  l.kernel = k;
  l.stride = stride;
  l.pad = pad;
  b.layer(l);
  OpCase c;
  c.name = "avg_pool" + std::to_string(k) + "x" + std::to_string(k) + "_s" +
           std::to_string(stride) + "_p" + std::to_string(pad);
  c.graph = b.done(l.output);
  c.forward = [s](const Vec& x, const Vec&) { return reference::avg_pool_forward(s, x); };
  c.backward = [s](const Vec&, const Vec&, const Vec& dy, Vec*) {
    return reference::avg_pool_backward(s, dy);
  };
  return c;
}

OpCase global_avg_pool_case() {
  const int C = 5, hw = 4;
  GraphBuilder b({C, hw, hw});
  Layer l = make_layer(LayerKind::kGlobalAvgPool, {0}, b.value({C, 1, 1}));
  b.layer(l);
  OpCase c;
  c.name = "global_avg_pool";
  c.graph = b.done(l.output);
  c.forward = [=](const Vec& x, const Vec&) {
    return reference::global_avg_pool_forward(kBatch, C, hw * hw, x);
  };
  c.backward = [=](const Vec&, const Vec&, const Vec& dy, Vec*) {
    return reference::global_avg_pool_backward(kBatch, C, hw * hw, dy);
  };
  return c;
}

OpCase linear_case() {
  const int in = 6, out = 4;
  GraphBuilder b({in, 1, 1});
  Layer l = make_layer(LayerKind::kLinear, {0}, b.value({out, 1, 1}));
  l.weight = b.param("classifier.weight", {out, in}, Parameter::Role::kLinearWeight);
  l.bias = b.param("classifier.bias", {out}, Parameter::Role::kLinearBias);
  b.layer(l);
  OpCase c;
  c.name = "linear";
  c.graph = b.done(l.output);
  c.forward = [=](const Vec& x, const Vec& p) {
    return reference::linear_forward(kBatch, in, out, x, slice(p, 0, in * out),
                                     slice(p, in * out, out));
  };
  c.backward = [=](const Vec& x, const Vec& p, const Vec& dy, Vec* dp) {
    Vec dx, dw, db;
    reference::linear_backward(kBatch, in, out, x, slice(p, 0, in * out), dy, &dx, &dw, &db);
    add_into(dp, 0, dw);
    add_into(dp, in * out, db);
    return dx;
  };
  return c;
}

// A node sum: x/2 + ReLU(x)/3 (a mixed edge with a skip and a ReLU branch).
OpCase weighted_sum_case() {
  const Shape s{3, 5, 5};
  GraphBuilder b(s);
  const int r = b.value(s);
  b.layer(make_layer(LayerKind::kReLU, {0}, r));
  Layer sum = make_layer(LayerKind::kWeightedSum, {0, r}, b.value(s));
  sum.divisors = {2, 3};
  b.layer(sum);
  OpCase c;
  c.name = "weighted_sum";
  c.graph = b.done(sum.output);
  c.forward = [](const Vec& x, const Vec&) {
    Vec y = reference::relu_forward(x);
    for (std::size_t i = 0; i < y.size(); ++i) y[i] = x[i] / 2.0 + y[i] / 3.0;
    return y;
  };
  c.backward = [](const Vec& x, const Vec&, const Vec& dy, Vec*) {
    Vec dx = reference::relu_backward(x, dy);
    for (std::size_t i = 0; i < dx.size(); ++i) dx[i] = dy[i] / 2.0 + dx[i] / 3.0;
    return dx;
  };
  return c;
}

std::vector<OpCase> all_ops() {
  return {conv_case(3, 8, 4, 3, 1, false),
          conv_case(4, 7, 3, 1, 1, false),
          conv_case(4, 8, 6, 3, 2, false),
          conv_case(3, 9, 5, 3, 2, false),
          conv_case(3, 8, 3, 3, 1, true),
          conv_case(4, 6, 4, 1, 1, true),
          batch_norm_case(),
          relu_case(),
          avg_pool_case(3, 1, 1),
          avg_pool_case(2, 2, 0),
          global_avg_pool_case(),
          linear_case(),
          weighted_sum_case()};
}

class BackendOps : public ::testing::TestWithParam<BackendKind> {};

TEST_P(BackendOps, ForwardAndTwoCotangentBackwardMatchTheOracles) {
  std::unique_ptr<Backend> backend = test::backend_or_skip(GetParam());
  if (!backend) return;
  std::uint64_t seed = 100;
  for (const OpCase& op : all_ops()) {
    SCOPED_TRACE(op.name);
    const Graph& g = op.graph;
    const std::int64_t in_numel = kBatch * g.values[0].numel();
    const std::int64_t out_numel = kBatch * g.values[g.logits].numel();
    const Vec x = rounded(uniform(in_numel, ++seed));
    Vec params = rounded(uniform(g.num_params, ++seed));
    // BN's γ near 1 keeps its outputs of unit scale, as initialised networks have.
    for (const Parameter& p : g.params)
      if (p.role == Parameter::Role::kBatchNormWeight)
        for (std::int64_t i = 0; i < p.size; ++i) params[p.offset + i] += 1.0;
    params = rounded(params);

    std::unique_ptr<GraphExecutor> exec = backend->compile(g);
    exec->set_parameters(to_float(params).data());
    exec->forward(to_float(x).data(), kBatch, false);
    expect_close(op.forward(x, params), exec->logits(), op.name + " forward");

    const int T = 2;
    const Vec dy = rounded(uniform(T * out_numel, ++seed));
    std::vector<float> dparams(T * g.num_params), dinput(T * in_numel);
    exec->backward(to_float(dy).data(), T, dparams.data(), dinput.data());
    for (int t = 0; t < T; ++t) {
      Vec want_dp(g.num_params, 0.0);
      const Vec want_dx = op.backward(x, params, slice(dy, t * out_numel, out_numel), &want_dp);
      expect_close(
          want_dx,
          std::vector<float>(dinput.begin() + t * in_numel, dinput.begin() + (t + 1) * in_numel),
          op.name + " input gradient, cotangent " + std::to_string(t));
      if (g.num_params > 0)
        expect_close(want_dp,
                     std::vector<float>(dparams.begin() + t * g.num_params,
                                        dparams.begin() + (t + 1) * g.num_params),
                     op.name + " parameter gradient, cotangent " + std::to_string(t));
    }
  }
}

TEST_P(BackendOps, RejectsNonFiniteInputNamingTheSample) {
  std::unique_ptr<Backend> backend = test::backend_or_skip(GetParam());
  if (!backend) return;
  const OpCase op = relu_case();
  std::unique_ptr<GraphExecutor> exec = backend->compile(op.graph);
  std::vector<float> x(kBatch * op.graph.values[0].numel(), 0.5f);
  x[op.graph.values[0].numel() + 7] = NAN;
  try {
    exec->forward(x.data(), kBatch, false);
    FAIL() << "NaN input accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::kNumericalError);
    EXPECT_NE(std::string(e.what()).find("sample 1"), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(AllBackends, BackendOps,
                         ::testing::Values(BackendKind::kCpu, BackendKind::kCuda),
                         test::backend_test_name);

}  // namespace
}  // namespace micronas
