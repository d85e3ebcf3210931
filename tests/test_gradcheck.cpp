// Finite-difference gradient checks in double: every reference op, and whole networks (stem,
// mixed edges, `none` edges, ResNet reductions, training-mode BN, head) for both parameter and
// input gradients, with several cotangents carried in one backward pass.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include "kernels/reference/reference_kernels.hpp"
#include "micronas/network.hpp"
#include "micronas/random.hpp"
#include "micronas/threads.hpp"

namespace micronas {
namespace {

using reference::Vec;

Vec random_vec(std::size_t n, std::uint64_t seed, double scale = 1.0) {
  Rng rng(seed);
  Vec v(n);
  for (double& x : v) x = scale * rng.uniform(-1.0, 1.0);
  return v;
}

double dot(const Vec& a, const Vec& b) {
  double s = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// Central differences, step h = 1e-6: truncation O(h²·|f'''|) ≈ 1e-12 and rounding
// O(ε·|f|/h) ≈ 1e-10 for |f| ~ 1, so 1e-6 relative to the gradient's scale is a tight check
// that still never trips on rounding.
constexpr double kStep = 1e-6;
constexpr double kTolerance = 1e-6;

// Checks analytic d(loss)/d(v) against finite differences of loss while perturbing v in place.
void check_gradient(Vec& v, const Vec& analytic, const std::function<double()>& loss,
                    const char* what) {
  ASSERT_EQ(v.size(), analytic.size());
  double scale = 1e-12, worst = 0.0;
  for (double g : analytic) scale = std::max(scale, std::abs(g));
  // At most ~300 entries, evenly strided, keep whole-network checks fast.
  const std::size_t step = std::max<std::size_t>(1, v.size() / 300);
  for (std::size_t i = 0; i < v.size(); i += step) {
    double saved = v[i];
    v[i] = saved + kStep;
    double up = loss();
    v[i] = saved - kStep;
    double down = loss();
    v[i] = saved;
    double numeric = (up - down) / (2 * kStep);
    worst = std::max(worst, std::abs(numeric - analytic[i]) / scale);
  }
  EXPECT_LE(worst, kTolerance) << what;
  EXPECT_GT(scale, 1e-8) << what << ": gradient is zero, the check would be vacuous";
}

TEST(GradCheck, Conv2dReference) {
  for (auto [k, stride, pad] : {std::tuple{3, 1, 1}, {1, 1, 0}, {3, 2, 1}}) {
    reference::ConvShape s{2, 3, 6, 5, 4, k, stride, pad};
    Vec x = random_vec(2 * 3 * 6 * 5, 1), w = random_vec(4 * 3 * k * k, 2);
    Vec dy = random_vec(std::size_t(2) * 4 * s.ho() * s.wo(), 3), dx, dw;
    reference::conv2d_backward(s, x, w, dy, &dx, &dw);
    auto loss = [&]() { return dot(dy, reference::conv2d_forward(s, x, w)); };
    check_gradient(x, dx, loss, "conv dx");
    check_gradient(w, dw, loss, "conv dw");
  }
}

TEST(GradCheck, BatchNormReference) {
  const int N = 3, C = 2, plane = 5;
  Vec x = random_vec(N * C * plane, 4, 2.0), gamma = random_vec(C, 5), beta = random_vec(C, 6);
  Vec dy = random_vec(x.size(), 7), dx, dg, db;
  reference::batch_norm_backward(N, C, plane, x, gamma, 1e-5, dy, &dx, &dg, &db);
  auto loss = [&]() {
    return dot(dy, reference::batch_norm_forward(N, C, plane, x, gamma, beta, 1e-5));
  };
  check_gradient(x, dx, loss, "bn dx");
  check_gradient(gamma, dg, loss, "bn dgamma");
  check_gradient(beta, db, loss, "bn dbeta");
}

TEST(GradCheck, PoolingReluLinearReference) {
  for (auto [k, stride, pad] : {std::tuple{3, 1, 1}, {2, 2, 0}}) {
    reference::PoolShape s{2, 3, 6, 4, k, stride, pad};
    Vec x = random_vec(2 * 3 * 6 * 4, 8);
    Vec dy = random_vec(std::size_t(2) * 3 * s.ho() * s.wo(), 9);
    Vec dx = reference::avg_pool_backward(s, dy);
    check_gradient(
        x, dx, [&]() { return dot(dy, reference::avg_pool_forward(s, x)); }, "avg pool dx");
  }
  Vec x = random_vec(40, 10), dy = random_vec(40, 11);
  Vec dx = reference::relu_backward(x, dy);
  check_gradient(
      x, dx, [&]() { return dot(dy, reference::relu_forward(x)); }, "relu dx");

  Vec g = random_vec(2 * 3 * 4, 12), dg = random_vec(6, 13);
  Vec dgx = reference::global_avg_pool_backward(2, 3, 4, dg);
  check_gradient(
      g, dgx, [&]() { return dot(dg, reference::global_avg_pool_forward(2, 3, 4, g)); }, "gap dx");

  Vec in = random_vec(2 * 4, 14), w = random_vec(3 * 4, 15), b = random_vec(3, 16);
  Vec dl = random_vec(2 * 3, 17), din, dw, db;
  reference::linear_backward(2, 4, 3, in, w, dl, &din, &dw, &db);
  auto loss = [&]() { return dot(dl, reference::linear_forward(2, 4, 3, in, w, b)); };
  check_gradient(in, din, loss, "linear dx");
  check_gradient(w, dw, loss, "linear dw");
  check_gradient(b, db, loss, "linear db");
}

struct NetCase {
  const char* name;
  NetworkConfig config;
  const char* arch;
  int batch;
};

NetworkConfig small_config(int channels, int cells, bool stem, int size, int in_channels) {
  NetworkConfig c;
  c.channels = channels;
  c.cells_per_stage = cells;
  c.use_stem = stem;
  c.input_size = size;
  c.input_channels = in_channels;
  c.num_classes = 3;
  return c;
}

class NetworkGradCheck : public ::testing::TestWithParam<NetCase> {};

TEST_P(NetworkGradCheck, ParametersAndInput) {
  const NetCase& c = GetParam();
  set_num_threads(1);  // thousands of tiny forwards: thread start-up would dominate
  Network<double> net(build_graph(c.config, Arch::parse(c.arch)));
  net.initialize(InitMode::kPyTorchDefault, 7);
  // Move BN's γ and β away from 1 and 0 so that their gradients are generic.
  Rng rng(99);
  for (const Parameter& p : net.graph().params)
    if (p.role == Parameter::Role::kBatchNormWeight || p.role == Parameter::Role::kBatchNormBias)
      for (std::int64_t i = 0; i < p.size; ++i)
        net.params()[p.offset + i] += rng.uniform(-0.5, 0.5);

  const int T = 2, N = c.batch, classes = c.config.num_classes;
  const std::int64_t in_numel = net.graph().values[0].numel(), P = net.num_params();
  Vec input = random_vec(N * in_numel, 21);
  Vec cot = random_vec(T * N * classes, 22);
  net.forward(input.data(), N);
  std::vector<double> dparams(T * P), dinput(T * N * in_numel);
  net.backward(cot.data(), T, dparams.data(), dinput.data());

  for (int t = 0; t < T; ++t) {
    Vec cot_t(cot.begin() + t * N * classes, cot.begin() + (t + 1) * N * classes);
    auto loss = [&]() {
      const std::vector<double>& logits = net.forward(input.data(), N);
      return dot(cot_t, logits);
    };
    Vec params(net.params(), net.params() + P);
    auto loss_params = [&]() {
      std::copy(params.begin(), params.end(), net.params());
      return loss();
    };
    Vec g(dparams.begin() + t * P, dparams.begin() + (t + 1) * P);
    check_gradient(params, g, loss_params, "parameters");
    std::copy(params.begin(), params.end(), net.params());
    Vec gi(dinput.begin() + t * N * in_numel, dinput.begin() + (t + 1) * N * in_numel);
    check_gradient(input, gi, loss, "input");
  }
}

INSTANTIATE_TEST_SUITE_P(
    Networks, NetworkGradCheck,
    ::testing::Values(
        NetCase{"mixed_supernet_with_reductions", small_config(2, 1, true, 8, 3),
                "|nor_conv_3x3/skip_connect~0|+|nor_conv_1x1/avg_pool_3x3~0|none~1|+|"
                "skip_connect/nor_conv_1x1/nor_conv_3x3~0|avg_pool_3x3~1|nor_conv_3x3~2|",
                3},
        NetCase{"single_cell", small_config(2, 1, true, 4, 3),
                "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|"
                "nor_conv_3x3~2|",
                4},
        NetCase{"linear_region_thin_net", NetworkConfig::linear_regions(Dataset::kCifar10),
                "|nor_conv_3x3/nor_conv_1x1~0|+|nor_conv_3x3~0|avg_pool_3x3/skip_connect~1|+|"
                "nor_conv_1x1~0|nor_conv_3x3~1|skip_connect~2|",
                6}),
    [](const ::testing::TestParamInfo<NetCase>& param_info) {
      return std::string(param_info.param.name);
    });

}  // namespace
}  // namespace micronas
