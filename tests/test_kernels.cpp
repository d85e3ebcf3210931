// Every CPU kernel against its scalar double reference on seeded random inputs, in double and
// float, with T > 1 cotangents checked one by one against T separate reference calls.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/cpu_kernels.hpp"
#include "kernels/reference/reference_kernels.hpp"
#include "micronas/random.hpp"
#include "micronas/threads.hpp"
#include "tests/kernel_test_util.hpp"

namespace micronas {
namespace {

using reference::Vec;
using test::cast;
using test::random_vec;
using test::tolerance;

template <class R>
void expect_close(const Vec& want, const R* got, std::size_t n, const char* what) {
  ASSERT_EQ(want.size(), n) << what;
  double scale = 1e-30;
  for (double v : want) scale = std::max(scale, std::abs(v));
  double worst = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    ASSERT_TRUE(std::isfinite(static_cast<double>(got[i]))) << what << " element " << i;
    worst = std::max(worst, std::abs(static_cast<double>(got[i]) - want[i]) / scale);
  }
  EXPECT_LE(worst, tolerance<R>()) << what;
  EXPECT_GT(scale, 1e-6) << what << " is all zeros: the check would be vacuous";
}

template <class R>
class KernelTest : public ::testing::Test {};
using Precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(KernelTest, Precisions);

struct ConvCase {
  int cin, h, w, cout, k, stride, pad;
};
// NB201's shapes: 3x3 and 1x1 cell convs, the stride-2 reduction conv, odd sizes for edges; a
// 1x1 conv on 64 positions, whole vectors, whose weight gradient reads dy in place.
const ConvCase kConvCases[] = {
    {3, 8, 8, 3, 3, 1, 1}, {4, 7, 5, 6, 3, 1, 1}, {3, 9, 9, 5, 1, 1, 0},   {4, 8, 8, 8, 3, 2, 1},
    {3, 7, 7, 4, 3, 2, 1}, {2, 6, 6, 3, 1, 1, 0}, {16, 4, 4, 16, 3, 1, 1}, {5, 8, 8, 6, 1, 1, 0}};

TYPED_TEST(KernelTest, Conv2dForwardAndBackward) {
  using R = TypeParam;
  const int N = 3, T = 2;
  for (const ConvCase& c : kConvCases) {
    reference::ConvShape s{N, c.cin, c.h, c.w, c.cout, c.k, c.stride, c.pad};
    cpu::ConvGeometry g = s.geometry();
    Vec x = random_vec(std::size_t(N) * c.cin * c.h * c.w, 1);
    Vec w = random_vec(std::size_t(c.cout) * c.cin * c.k * c.k, 2);
    const std::size_t ny = std::size_t(N) * c.cout * s.ho() * s.wo();
    Vec dy = random_vec(ny * T, 3);

    std::vector<R> xr = cast<R>(x), wr = cast<R>(w), dyr = cast<R>(dy);
    std::vector<R> y(ny), dx(x.size() * T), dw(w.size() * T);
    cpu::conv2d_forward(g, N, xr.data(), wr.data(), y.data());
    expect_close(reference::conv2d_forward(s, x, w), y.data(), ny, "conv forward");

    cpu::conv2d_backward_data<R>(g, T, N, dyr.data(), wr.data(), nullptr, dx.data(), false);
    cpu::conv2d_backward_weight<R>(g, T, N, dyr.data(), xr.data(), nullptr, dw.data(),
                                   static_cast<std::int64_t>(w.size()));
    for (int t = 0; t < T; ++t) {
      Vec dyt(dy.begin() + t * ny, dy.begin() + (t + 1) * ny), rdx, rdw;
      reference::conv2d_backward(s, x, w, dyt, &rdx, &rdw);
      expect_close(rdx, dx.data() + t * x.size(), x.size(), "conv dx");
      expect_close(rdw, dw.data() + t * w.size(), w.size(), "conv dw");
    }
    // accumulate = true adds to what is there. Integer-valued inputs make every sum exact, so
    // "overwrite, then add 1" and "start from 1, accumulate" must agree bitwise.
    std::vector<R> wi(wr.size()), dyi(dyr.size());
    for (std::size_t i = 0; i < wi.size(); ++i) wi[i] = std::round(3 * w[i]);
    for (std::size_t i = 0; i < dyi.size(); ++i) dyi[i] = std::round(3 * dy[i]);
    std::vector<R> dx1(dx.size()), dx2(dx.size(), R(1));
    cpu::conv2d_backward_data<R>(g, T, N, dyi.data(), wi.data(), nullptr, dx1.data(), false);
    cpu::conv2d_backward_data<R>(g, T, N, dyi.data(), wi.data(), nullptr, dx2.data(), true);
    for (std::size_t i = 0; i < dx.size(); ++i) ASSERT_EQ(dx2[i], dx1[i] + R(1));
  }
}

// The fused conv backward (one packed dy per image for both gradients, the ReLU mask read from
// the packed input) and the weight gradient from a pre-packed input must equal the separate
// kernels bitwise: a Jacobian takes either path depending on the cotangent and thread counts.
// Both of the fused kernel's schedules are run: one task per cotangent (T >= threads) and the
// split one (T < threads).
TYPED_TEST(KernelTest, Conv2dFusedBackwardEqualsSeparateKernelsBitwise) {
  using R = TypeParam;
  const int N = 5;  // 32x32 planes flush the weight gradient's lanes every 3 images
  std::vector<ConvCase> cases(std::begin(kConvCases), std::end(kConvCases));
  cases.push_back({3, 32, 32, 3, 3, 1, 1});
  const int threads_before = num_threads();
  int fused_cases = 0;
  for (const ConvCase& c : cases) {
    reference::ConvShape s{N, c.cin, c.h, c.w, c.cout, c.k, c.stride, c.pad};
    cpu::ConvGeometry g = s.geometry();
    const std::size_t nx = std::size_t(N) * c.cin * c.h * c.w;
    std::vector<R> pre = cast<R>(random_vec(nx, 31)), x(nx);
    for (std::size_t i = 0; i < nx; ++i) x[i] = std::max(pre[i], R(0));
    std::vector<R> packed(static_cast<std::size_t>(N * cpu::conv2d_packed_input_size<R>(g)));
    cpu::conv2d_pack_input(g, N, x.data(), packed.data());
    const std::vector<R> w = cast<R>(random_vec(std::size_t(c.cout) * c.cin * c.k * c.k, 32));
    const std::int64_t nw = static_cast<std::int64_t>(w.size());
    for (int T : {1, 4}) {
      const std::vector<R> dy =
          cast<R>(random_vec(std::size_t(T) * N * c.cout * s.ho() * s.wo(), 33));
      std::vector<R> dw_separate(T * nw), dw_packed(T * nw);
      cpu::conv2d_backward_weight<R>(g, T, N, dy.data(), x.data(), nullptr, dw_separate.data(), nw);
      cpu::conv2d_backward_weight<R>(g, T, N, dy.data(), nullptr, packed.data(), dw_packed.data(),
                                     nw);
      ASSERT_EQ(dw_packed, dw_separate) << "weight gradient from the packed input";
      if (!cpu::conv2d_backward_fusable(g)) continue;
      ++fused_cases;
      const std::vector<R> base = cast<R>(random_vec(T * nx, 34));
      for (bool relu : {false, true}) {
        for (bool accumulate : {false, true}) {
          std::vector<R> dx_separate = base;
          cpu::conv2d_backward_data<R>(g, T, N, dy.data(), w.data(), relu ? pre.data() : nullptr,
                                       dx_separate.data(), accumulate);
          for (int threads : {1, 2}) {
            set_num_threads(threads);
            std::vector<R> dx = base, dw(T * nw);
            cpu::conv2d_backward<R>(g, T, N, dy.data(), packed.data(), w.data(), relu, dx.data(),
                                    accumulate, dw.data(), nw);
            ASSERT_EQ(dw, dw_separate) << "fused dw, T " << T << ", " << threads << " threads";
            ASSERT_EQ(dx, dx_separate) << "fused dx, T " << T << ", " << threads << " threads";
            std::vector<R> dw_only(T * nw);
            cpu::conv2d_backward<R>(g, T, N, dy.data(), packed.data(), w.data(), relu, nullptr,
                                    false, dw_only.data(), nw);
            ASSERT_EQ(dw_only, dw_separate) << "fused dw without dx";
          }
          set_num_threads(threads_before);
        }
      }
    }
  }
  EXPECT_GE(fused_cases, 8) << "the fused kernel was hardly exercised";
}

// A batch norm after a conv leaves its dx as coefficients that the conv's backward applies while
// packing dy (ConvOutputGradient): both gradients must equal the batch norm's backward followed
// by the conv's, bitwise, in both of the conv's schedules and with the dy scale of a node sum.
TYPED_TEST(KernelTest, Conv2dBackwardAppliesADeferredBatchNormBitwise) {
  using R = TypeParam;
  const int N = 4;
  const int threads_before = num_threads();
  for (const ConvCase& c : {ConvCase{3, 8, 8, 5, 3, 1, 1}, ConvCase{4, 6, 7, 3, 1, 1, 0}}) {
    reference::ConvShape s{N, c.cin, c.h, c.w, c.cout, c.k, c.stride, c.pad};
    const cpu::ConvGeometry g = s.geometry();
    ASSERT_TRUE(cpu::conv2d_backward_fusable(g));
    const int plane = s.ho() * s.wo();
    const std::size_t nx = std::size_t(N) * c.cin * c.h * c.w, ny = std::size_t(N) * c.cout * plane;
    std::vector<R> x = cast<R>(random_vec(nx, 41)),
                   packed(static_cast<std::size_t>(N * cpu::conv2d_packed_input_size<R>(g)));
    for (R& v : x) v = std::max(v, R(0));
    cpu::conv2d_pack_input(g, N, x.data(), packed.data());
    const std::vector<R> w = cast<R>(random_vec(std::size_t(c.cout) * c.cin * c.k * c.k, 42));
    const std::vector<R> gamma = cast<R>(random_vec(c.cout, 43)), beta(c.cout, R(0.5));
    // The batch norm's input, the conv's output, with a non-zero mean.
    std::vector<R> y(ny), bn_out(ny);
    cpu::conv2d_forward(g, N, x.data(), w.data(), y.data());
    for (R& v : y) v += R(2);
    std::vector<double> mean(c.cout), invstd(c.cout);
    cpu::batch_norm_forward(N, c.cout, plane, y.data(), gamma.data(), beta.data(), 1e-5,
                            bn_out.data(), mean.data(), invstd.data());
    const std::int64_t nw = static_cast<std::int64_t>(w.size());
    for (int T : {1, 3}) {
      const std::vector<R> g_out = cast<R>(random_vec(T * ny, 44));
      const double scale = 1.0 / 3.0;
      for (int threads : {1, 2, T + 2}) {
        set_num_threads(threads);
        std::vector<R> dy(T * ny), dparams(2 * T * c.cout), dx(T * nx), dw(T * nw);
        cpu::batch_norm_backward(T, N, c.cout, plane, g_out.data(), scale, y.data(), mean.data(),
                                 invstd.data(), gamma.data(), dy.data(), false, dparams.data(),
                                 dparams.data() + c.cout, 2 * c.cout);
        cpu::conv2d_backward<R>(g, T, N, dy.data(), packed.data(), w.data(), true, dx.data(), false,
                                dw.data(), nw);
        std::vector<cpu::BatchNormDx<R>> coef(T * c.cout);
        std::vector<R> dparams2(dparams.size()), dx2(T * nx), dw2(T * nw);
        cpu::batch_norm_input_gradient(T, N, c.cout, plane, g_out.data(), scale, y.data(),
                                       mean.data(), invstd.data(), gamma.data(), dparams2.data(),
                                       dparams2.data() + c.cout, 2 * c.cout, coef.data());
        cpu::conv2d_backward<R>(g, T, N,
                                cpu::ConvOutputGradient<R>{g_out.data(), y.data(), coef.data()},
                                packed.data(), w.data(), true, dx2.data(), false, dw2.data(), nw);
        EXPECT_EQ(dparams2, dparams) << "T " << T << ", " << threads << " threads";
        EXPECT_EQ(dx2, dx) << "T " << T << ", " << threads << " threads";
        EXPECT_EQ(dw2, dw) << "T " << T << ", " << threads << " threads";
      }
      set_num_threads(threads_before);
    }
  }
}

// The ReLU-fused data gradient: dx (+)= [relu_input > 0] ⊙ conv_transpose(dy) against the
// reference conv backward followed by the reference ReLU backward, same tolerances; the mask is
// [N, ...] and shared by all T cotangents.
TYPED_TEST(KernelTest, Conv2dBackwardDataFusedRelu) {
  using R = TypeParam;
  const int N = 3, T = 2;
  for (const ConvCase& c : kConvCases) {
    reference::ConvShape s{N, c.cin, c.h, c.w, c.cout, c.k, c.stride, c.pad};
    cpu::ConvGeometry g = s.geometry();
    Vec x = random_vec(std::size_t(N) * c.cin * c.h * c.w, 21);
    Vec pre = random_vec(x.size(), 22);  // the ReLU's input: about half the mask is open
    Vec w = random_vec(std::size_t(c.cout) * c.cin * c.k * c.k, 23);
    const std::size_t ny = std::size_t(N) * c.cout * s.ho() * s.wo();
    Vec dy = random_vec(ny * T, 24), base = random_vec(x.size() * T, 25);
    std::vector<R> wr = cast<R>(w), dyr = cast<R>(dy), prer = cast<R>(pre);
    std::vector<R> dx(x.size() * T), dxa = cast<R>(base);
    cpu::conv2d_backward_data<R>(g, T, N, dyr.data(), wr.data(), prer.data(), dx.data(), false);
    cpu::conv2d_backward_data<R>(g, T, N, dyr.data(), wr.data(), prer.data(), dxa.data(), true);
    for (int t = 0; t < T; ++t) {
      Vec dyt(dy.begin() + t * ny, dy.begin() + (t + 1) * ny), rdx, rdw;
      reference::conv2d_backward(s, x, w, dyt, &rdx, &rdw);
      Vec want = reference::relu_backward(pre, rdx);
      expect_close(want, dx.data() + t * x.size(), x.size(), "fused relu conv dx");
      for (std::size_t i = 0; i < want.size(); ++i) want[i] += base[t * x.size() + i];
      expect_close(want, dxa.data() + t * x.size(), x.size(), "fused relu conv dx, accumulate");
    }
  }
}

TYPED_TEST(KernelTest, BatchNormTrainingForwardAndBackward) {
  using R = TypeParam;
  const int N = 4, C = 3, plane = 10, T = 3;
  Vec x = random_vec(N * C * plane, 4);
  for (double& v : x) v = 3.0 + 2.0 * v;  // a non-zero mean exercises the centring
  Vec gamma = random_vec(C, 5), beta = random_vec(C, 6), dy = random_vec(T * N * C * plane, 7);
  std::vector<R> xr = cast<R>(x), gr = cast<R>(gamma), br = cast<R>(beta), dyr = cast<R>(dy);
  std::vector<R> y(x.size()), dx(x.size() * T);
  std::vector<double> mean(C), invstd(C);
  cpu::batch_norm_forward(N, C, plane, xr.data(), gr.data(), br.data(), 1e-5, y.data(), mean.data(),
                          invstd.data());
  expect_close(reference::batch_norm_forward(N, C, plane, x, gamma, beta, 1e-5), y.data(), y.size(),
               "bn forward");
  const std::int64_t stride = 2 * C;  // dgamma at [t*stride], dbeta at [t*stride + C]
  std::vector<R> dparams(T * stride);
  // dy_scale = 1/3: the gradient of a node that averages three edges.
  for (double scale : {1.0, 1.0 / 3.0}) {
    cpu::batch_norm_backward(T, N, C, plane, dyr.data(), scale, xr.data(), mean.data(),
                             invstd.data(), gr.data(), dx.data(), false, dparams.data(),
                             dparams.data() + C, stride);
    for (int t = 0; t < T; ++t) {
      Vec dyt(dy.begin() + t * x.size(), dy.begin() + (t + 1) * x.size()), rdx, rdg, rdb;
      for (double& v : dyt) v *= scale;
      reference::batch_norm_backward(N, C, plane, x, gamma, 1e-5, dyt, &rdx, &rdg, &rdb);
      expect_close(rdx, dx.data() + t * x.size(), x.size(), "bn dx");
      expect_close(rdg, dparams.data() + t * stride, C, "bn dgamma");
      expect_close(rdb, dparams.data() + t * stride + C, C, "bn dbeta");
    }
    // One task per cotangent (T >= threads) and one per (cotangent, channel) (T < threads)
    // must agree bitwise.
    const int threads_before = num_threads();
    for (int threads : {1, T + 1}) {
      set_num_threads(threads);
      std::vector<R> dx2(dx.size()), dparams2(dparams.size());
      cpu::batch_norm_backward(T, N, C, plane, dyr.data(), scale, xr.data(), mean.data(),
                               invstd.data(), gr.data(), dx2.data(), false, dparams2.data(),
                               dparams2.data() + C, stride);
      EXPECT_EQ(dx2, dx) << threads << " threads";
      EXPECT_EQ(dparams2, dparams) << threads << " threads";
    }
    set_num_threads(threads_before);
  }
}

// The backward of a batch norm that reads a ReLU's output (the time-series cells' conv -> ReLU
// -> BN) with the ReLU's backward applied inside must equal batch_norm_backward into
// relu_backward, bitwise, with and without accumulation, on 1 and 2 threads.
TYPED_TEST(KernelTest, BatchNormBackwardThroughReluEqualsTheTwoKernelsBitwise) {
  using R = TypeParam;
  const int N = 5, C = 6, plane = 12;
  const std::size_t n = std::size_t(N) * C * plane;
  std::vector<R> z = cast<R>(random_vec(n, 51)), gamma = cast<R>(random_vec(C, 52)),
                 beta = cast<R>(random_vec(C, 53)), dy = cast<R>(random_vec(n, 54)),
                 base = cast<R>(random_vec(n, 55));
  for (R& v : z) v += R(0.3);  // a mean away from zero
  z[3] = R(0);
  z[4] = -R(0);
  const int threads_before = num_threads();
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    std::vector<R> x(n), y(n);
    std::vector<double> mean(C), invstd(C);
    cpu::relu_forward<R>(static_cast<std::int64_t>(n), z.data(), x.data());
    cpu::batch_norm_forward<R>(N, C, plane, x.data(), gamma.data(), beta.data(), 1e-5, y.data(),
                               mean.data(), invstd.data());
    for (bool accumulate : {false, true}) {
      std::vector<R> dx(n), dz = base, dparams(2 * C), dz_fused = base, dparams_fused(2 * C);
      cpu::batch_norm_backward<R>(1, N, C, plane, dy.data(), 1.0, x.data(), mean.data(),
                                  invstd.data(), gamma.data(), dx.data(), false, dparams.data(),
                                  dparams.data() + C, 0);
      cpu::relu_backward<R>(1, static_cast<std::int64_t>(n), dx.data(), z.data(), dz.data(),
                            accumulate);
      cpu::batch_norm_relu_backward<R>(N, C, plane, dy.data(), x.data(), mean.data(), invstd.data(),
                                       gamma.data(), dz_fused.data(), accumulate,
                                       dparams_fused.data(), dparams_fused.data() + C);
      EXPECT_EQ(dz_fused, dz) << threads << " threads, accumulate " << accumulate;
      EXPECT_EQ(dparams_fused, dparams) << threads << " threads";
    }
  }
  set_num_threads(threads_before);
}

TYPED_TEST(KernelTest, AvgPoolForwardAndBackward) {
  using R = TypeParam;
  const int N = 2, C = 3;
  struct Case {
    int h, w, k, stride, pad;
  };
  // Stride 1 (separable box sums), tiling windows of 2 (compiled width) and 3 (run-time width),
  // and a general strided window.
  for (Case c : {Case{8, 8, 3, 1, 1}, Case{5, 7, 3, 1, 1}, Case{8, 8, 2, 2, 0}, Case{6, 4, 2, 2, 0},
                 Case{3, 3, 3, 1, 1}, Case{6, 9, 3, 3, 0}, Case{7, 7, 3, 2, 1}}) {
    reference::PoolShape s{N, C, c.h, c.w, c.k, c.stride, c.pad};
    cpu::PoolGeometry g{C, c.h, c.w, c.k, c.stride, c.pad, s.ho(), s.wo()};
    Vec x = random_vec(N * C * c.h * c.w, 8);
    Vec dy = random_vec(std::size_t(N) * C * s.ho() * s.wo(), 9);
    std::vector<R> xr = cast<R>(x), dyr = cast<R>(dy), y(dy.size()), dx(x.size());
    cpu::avg_pool_forward(g, N, xr.data(), y.data());
    expect_close(reference::avg_pool_forward(s, x), y.data(), y.size(), "pool forward");
    for (double scale : {1.0, 0.5}) {
      cpu::avg_pool_backward(g, N, dyr.data(), static_cast<R>(scale), dx.data(), false);
      Vec scaled = dy;
      for (double& v : scaled) v *= scale;
      expect_close(reference::avg_pool_backward(s, scaled), dx.data(), dx.size(), "pool backward");
      // accumulate = true adds the same gradient to what is there.
      const Vec base = random_vec(dx.size(), 12);
      std::vector<R> dxa = cast<R>(base);
      cpu::avg_pool_backward(g, N, dyr.data(), static_cast<R>(scale), dxa.data(), true);
      Vec want = reference::avg_pool_backward(s, scaled);
      for (std::size_t i = 0; i < want.size(); ++i) want[i] += base[i];
      expect_close(want, dxa.data(), dxa.size(), "pool backward, accumulate");
    }
  }
}

TYPED_TEST(KernelTest, ReluGlobalPoolLinear) {
  using R = TypeParam;
  const int N = 3, C = 4, plane = 9, out = 5, T = 2;
  Vec x = random_vec(N * C * plane, 10), dy = random_vec(T * N * C * plane, 11);
  std::vector<R> xr = cast<R>(x), dyr = cast<R>(dy), y(x.size()), dx(dy.size());
  cpu::relu_forward<R>(static_cast<std::int64_t>(x.size()), xr.data(), y.data());
  expect_close(reference::relu_forward(x), y.data(), y.size(), "relu forward");
  cpu::relu_backward<R>(T, static_cast<std::int64_t>(x.size()), dyr.data(), xr.data(), dx.data(),
                        false);
  for (int t = 0; t < T; ++t) {
    Vec dyt(dy.begin() + t * x.size(), dy.begin() + (t + 1) * x.size());
    expect_close(reference::relu_backward(x, dyt), dx.data() + t * x.size(), x.size(),
                 "relu backward");
  }

  std::vector<R> gap(N * C), dgap(x.size());
  cpu::global_avg_pool_forward(N, C, plane, xr.data(), gap.data());
  expect_close(reference::global_avg_pool_forward(N, C, plane, x), gap.data(), gap.size(), "gap");
  Vec dg = random_vec(N * C, 12);
  std::vector<R> dgr = cast<R>(dg);
  cpu::global_avg_pool_backward(N, C, plane, dgr.data(), dgap.data(), false);
  expect_close(reference::global_avg_pool_backward(N, C, plane, dg), dgap.data(), dgap.size(),
               "gap backward");

  Vec w = random_vec(out * C, 13), b = random_vec(out, 14), dl = random_vec(T * N * out, 15);
  Vec feat(gap.begin(), gap.end());
  std::vector<R> wr = cast<R>(w), brr = cast<R>(b), dlr = cast<R>(dl), fr = cast<R>(feat);
  std::vector<R> logits(N * out), dfeat(T * N * C);
  const std::int64_t stride = out * C + out;
  std::vector<R> dparams(T * stride);
  cpu::linear_forward(N, C, out, fr.data(), wr.data(), brr.data(), logits.data());
  expect_close(reference::linear_forward(N, C, out, feat, w, b), logits.data(), logits.size(),
               "linear forward");
  cpu::linear_backward_data(T * N, C, out, dlr.data(), wr.data(), dfeat.data(), false);
  cpu::linear_backward_params(T, N, C, out, dlr.data(), fr.data(), dparams.data(),
                              dparams.data() + out * C, stride);
  for (int t = 0; t < T; ++t) {
    Vec dlt(dl.begin() + t * N * out, dl.begin() + (t + 1) * N * out), rdx, rdw, rdb;
    reference::linear_backward(N, C, out, feat, w, dlt, &rdx, &rdw, &rdb);
    expect_close(rdx, dfeat.data() + t * N * C, rdx.size(), "linear dx");
    expect_close(rdw, dparams.data() + t * stride, rdw.size(), "linear dw");
    expect_close(rdb, dparams.data() + t * stride + out * C, rdb.size(), "linear db");
  }
}

}  // namespace
}  // namespace micronas
