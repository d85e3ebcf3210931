// The kernels a training graph adds to the NB201 ones, each against its scalar double reference
// on seeded random inputs (float and double), with finite-difference checks of the references:
// convolutions with rectangular kernels, per-dimension strides and TensorFlow "same" padding
// (the time-series shapes), width masks, scalar mixing weights, Dropout2d, log-softmax + NLL,
// and batch norm's running statistics and eval mode.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "kernels/cpu/cpu_kernels.hpp"
#include "kernels/reference/reference_kernels.hpp"
#include "micronas/error.hpp"
#include "micronas/random.hpp"
#include "micronas/threads.hpp"
#include "tests/kernel_test_util.hpp"

namespace micronas {
namespace {

using reference::Vec;
using test::cast;
using test::check_gradient;
using test::random_vec;
using test::tolerance;

// R: the precision computed in (sets the tolerance); G: the stored type (a mask gradient is
// accumulated in double even from float inputs).
template <class R, class G>
void expect_close_in(const Vec& want, const G* got, std::size_t n, const std::string& what) {
  ASSERT_EQ(want.size(), n) << what;
  double scale = 1e-30, worst = 0.0;
  for (double v : want) scale = std::max(scale, std::abs(v));
  for (std::size_t i = 0; i < n; ++i) {
    ASSERT_TRUE(std::isfinite(static_cast<double>(got[i]))) << what << " element " << i;
    worst = std::max(worst, std::abs(static_cast<double>(got[i]) - want[i]) / scale);
  }
  EXPECT_LE(worst, tolerance<R>()) << what;
  EXPECT_GT(scale, 1e-6) << what << " is all zeros: the check would be vacuous";
}

template <class R>
void expect_close(const Vec& want, const R* got, std::size_t n, const std::string& what) {
  expect_close_in<R>(want, got, n, what);
}

double dot(const Vec& a, const Vec& b) {
  double s = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// The time-series shapes (H = time T, W = sensors S) under TensorFlow "same" padding:
// Time-Reduce (k, 1) stride (2, 1); branches (k, 1) stride 1; bottlenecks (1, S) stride (1, 2)
// or 1 (odd and even S: asymmetric padding); residuals (1, 2) stride (1, 2) and 1x1; and a
// mixed case with both strides.
struct Case {
  int cin, h, w, cout, kh, kw, sh, sw;
};
const Case kCases[] = {
    {1, 16, 4, 4, 5, 1, 2, 1}, {3, 15, 5, 4, 7, 1, 2, 1},   {4, 8, 5, 6, 3, 1, 1, 1},
    {5, 9, 4, 3, 7, 1, 1, 1},  {4, 8, 9, 6, 1, 9, 1, 2},    {3, 8, 4, 5, 1, 4, 1, 2},
    {3, 8, 5, 4, 1, 5, 1, 1},  {2, 6, 4, 3, 1, 4, 1, 1},    {4, 8, 9, 5, 1, 2, 1, 2},
    {3, 8, 4, 4, 1, 1, 1, 1},  {14, 16, 5, 13, 3, 1, 2, 1}, {3, 7, 6, 2, 3, 2, 2, 2}};

std::string name(const Case& c) {
  return "(" + std::to_string(c.kh) + "," + std::to_string(c.kw) + ") stride (" +
         std::to_string(c.sh) + "," + std::to_string(c.sw) + ") on " + std::to_string(c.cin) + "x" +
         std::to_string(c.h) + "x" + std::to_string(c.w);
}

TEST(ConvGeometryTest, SamePaddingFollowsTensorFlow) {
  // 128 steps, k = 5, stride 2: out 64, total max(63·2 + 5 - 128, 0) = 3, 1 before, 2 after.
  ConvGeometry g = same_conv_geometry(1, 128, 9, 8, 5, 1, 2, 1);
  EXPECT_EQ(g.ho, 64);
  EXPECT_EQ(g.pad_top, 1);
  EXPECT_EQ(g.wo, 9);
  EXPECT_EQ(g.pad_left, 0);
  // Sensors 9, kernel (1, 9), stride 2: out 5, total 4·2 + 9 - 9 = 8, 4 before.
  g = same_conv_geometry(8, 64, 9, 8, 1, 9, 1, 2);
  EXPECT_EQ(g.wo, 5);
  EXPECT_EQ(g.pad_left, 4);
  // Even kernel, stride 1: total 3, 1 before, 2 after.
  g = same_conv_geometry(8, 64, 4, 8, 1, 4, 1, 1);
  EXPECT_EQ(g.wo, 4);
  EXPECT_EQ(g.pad_left, 1);
  // The square NB201 helper keeps symmetric padding.
  g = square_conv_geometry(3, 32, 32, 16, 3, 2, 1);
  EXPECT_EQ(g.ho, 16);
  EXPECT_EQ(g.pad_top, 1);
  EXPECT_EQ(g.sw, 2);
}

template <class R>
class TrainingKernelTest : public ::testing::Test {};
using Precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(TrainingKernelTest, Precisions);

TYPED_TEST(TrainingKernelTest, ConvolutionsOfTheTimeSeriesShapes) {
  using R = TypeParam;
  const int N = 3, T = 2;
  for (const Case& c : kCases) {
    const ConvGeometry g = same_conv_geometry(c.cin, c.h, c.w, c.cout, c.kh, c.kw, c.sh, c.sw);
    const Vec x = random_vec(std::size_t(N) * c.cin * c.h * c.w, 1);
    const Vec w = random_vec(std::size_t(c.cout) * c.cin * c.kh * c.kw, 2);
    const std::size_t ny = std::size_t(N) * c.cout * g.ho * g.wo;
    const Vec dy = random_vec(ny * T, 3);
    const std::vector<R> xr = cast<R>(x), wr = cast<R>(w), dyr = cast<R>(dy);
    std::vector<R> y(ny), dx(x.size() * T), dw(w.size() * T);
    cpu::conv2d_forward(g, N, xr.data(), wr.data(), y.data());
    expect_close(reference::conv2d_forward(g, N, x, w), y.data(), ny, "forward " + name(c));
    cpu::conv2d_backward_data<R>(g, T, N, dyr.data(), wr.data(), nullptr, dx.data(), false);
    cpu::conv2d_backward_weight<R>(g, T, N, dyr.data(), xr.data(), nullptr, dw.data(),
                                   static_cast<std::int64_t>(w.size()));
    for (int t = 0; t < T; ++t) {
      Vec dyt(dy.begin() + t * ny, dy.begin() + (t + 1) * ny), rdx, rdw;
      reference::conv2d_backward(g, N, x, w, dyt, &rdx, &rdw);
      expect_close(rdx, dx.data() + t * x.size(), x.size(), "dx " + name(c));
      expect_close(rdw, dw.data() + t * w.size(), w.size(), "dw " + name(c));
    }
    if (!cpu::conv2d_backward_fusable(g)) continue;
    // Symmetric stride-1 shapes also take the fused backward: bitwise the separate kernels.
    std::vector<R> packed(cpu::conv2d_packed_input_size<R>(g) * N);
    cpu::conv2d_pack_input<R>(g, N, xr.data(), packed.data());
    std::vector<R> fdx(dx.size()), fdw(dw.size());
    cpu::conv2d_backward<R>(g, T, N, dyr.data(), packed.data(), wr.data(), false, fdx.data(), false,
                            fdw.data(), static_cast<std::int64_t>(w.size()));
    EXPECT_EQ(fdx, dx) << "fused dx " << name(c);
    EXPECT_EQ(fdw, dw) << "fused dw " << name(c);
  }
}

// A grouped conv algorithm (forward keeping `kept_size` values, backward reading them) against
// the direct reference on case c with batch N: forward, dx accumulated onto existing values, dw;
// and the same dw when dx is not wanted. Tolerance: the direct kernels'.
template <class R, class Applicable, class KeptSize, class Forward, class Backward>
void expect_grouped_conv_matches_reference(const Case& c, int N, Applicable applicable,
                                           KeptSize kept_size, Forward forward, Backward backward) {
  const ConvGeometry g = same_conv_geometry(c.cin, c.h, c.w, c.cout, c.kh, c.kw, c.sh, c.sw);
  ASSERT_TRUE(applicable(g)) << name(c);
  const Vec x = random_vec(std::size_t(N) * c.cin * c.h * c.w, 11);
  const Vec w = random_vec(std::size_t(c.cout) * c.cin * c.kh * c.kw, 12);
  const std::size_t ny = std::size_t(N) * c.cout * g.ho * g.wo;
  const Vec dy = random_vec(ny, 13), dx0 = random_vec(x.size(), 14);
  const std::vector<R> xr = cast<R>(x), wr = cast<R>(w), dyr = cast<R>(dy);
  // The kept buffer starts as garbage: every value the backward reads must be written.
  std::vector<R> y(ny), kept(static_cast<std::size_t>(kept_size(g, N)), R(7)),
      dx = cast<R>(dx0), dw(w.size()), dw_alone(w.size());
  forward(g, N, xr.data(), wr.data(), y.data(), kept.data());
  Vec rdx, rdw;
  reference::conv2d_backward(g, N, x, w, dy, &rdx, &rdw);
  for (std::size_t i = 0; i < rdx.size(); ++i) rdx[i] += dx0[i];
  backward(g, N, dyr.data(), kept.data(), wr.data(), dx.data(), true, dw.data());
  const std::string what = name(c) + " N=" + std::to_string(N);
  expect_close(reference::conv2d_forward(g, N, x, w), y.data(), y.size(), "forward " + what);
  expect_close(rdx, dx.data(), dx.size(), "dx " + what);
  expect_close(rdw, dw.data(), dw.size(), "dw " + what);
  backward(g, N, dyr.data(), kept.data(), wr.data(), nullptr, false, dw_alone.data());
  EXPECT_EQ(dw_alone, dw) << "dw without dx " << what;
}

// The Winograd path of the branch convs against the direct reference: k = 3, 5, 7 on the
// supernet's 16 x 5 plane, an odd length (a partial last tile), a batch that leaves the last
// transformed image part empty, and dx accumulated onto existing values. Tolerance: the direct
// kernels' (2e-5 in float, 1e-12 in double, of the largest value); the transforms' rounding
// measured here is at most 5e-6 (k = 7, α = 10) and 5e-15.
TYPED_TEST(TrainingKernelTest, WinogradConvolutionsMatchTheReference) {
  using R = TypeParam;
  const Case cases[] = {{16, 16, 5, 16, 3, 1, 1, 1},
                        {24, 16, 5, 16, 5, 1, 1, 1},
                        {16, 16, 5, 20, 7, 1, 1, 1},
                        {16, 13, 3, 16, 5, 1, 1, 1},
                        {17, 9, 1, 16, 7, 1, 1, 1}};
  for (const int N : {3, 10})
    for (const Case& c : cases)
      expect_grouped_conv_matches_reference<R>(c, N, cpu::winograd_applicable,
                                               cpu::winograd_input_size<R>,
                                               cpu::winograd_forward<R>, cpu::winograd_backward<R>);
  // Batches that leave a third of the last 16-image group empty stay on the direct kernels.
  const ConvGeometry branch = same_conv_geometry(32, 25, 3, 32, 5, 1, 1, 1);
  EXPECT_FALSE(cpu::winograd_pays(branch, 8));
  EXPECT_TRUE(cpu::winograd_pays(branch, 16));
  EXPECT_FALSE(cpu::winograd_pays(branch, 20));
  EXPECT_TRUE(cpu::winograd_pays(branch, 22));
  EXPECT_TRUE(cpu::winograd_pays(branch, 64));
  EXPECT_FALSE(cpu::winograd_pays(same_conv_geometry(8, 25, 3, 32, 5, 1, 1, 1), 64));
  // Narrow, strided or unpadded convs stay on the direct kernels.
  EXPECT_FALSE(cpu::winograd_applicable(same_conv_geometry(8, 16, 5, 16, 3, 1, 1, 1)));
  EXPECT_FALSE(cpu::winograd_applicable(same_conv_geometry(16, 16, 5, 16, 3, 1, 2, 1)));
  EXPECT_FALSE(cpu::winograd_applicable(same_conv_geometry(16, 16, 5, 16, 1, 5, 1, 1)));
  EXPECT_FALSE(cpu::winograd_applicable(square_conv_geometry(16, 8, 8, 16, 3, 1, 1)));
}

// One-dimensional convs lowered to one product, against the direct reference: the reducing
// bottleneck (1, 9) stride (1, 2), the non-reducing (1, 5), the residual projection (1, 2)
// stride (1, 2), an even kernel with asymmetric padding, Time-Reduce convs (5, 1) and (7, 1)
// at stride (2, 1) (even and odd lengths) and a stride-1 (3, 1); a batch below one group and one
// that leaves the second group part empty; dx accumulated. Tolerance: the direct kernels'.
TYPED_TEST(TrainingKernelTest, LoweredSensorConvolutionsMatchTheReference) {
  using R = TypeParam;
  const Case cases[] = {{4, 16, 9, 24, 1, 9, 1, 2},  {16, 8, 5, 24, 1, 5, 1, 1},
                        {16, 8, 9, 25, 1, 2, 1, 2},  {8, 6, 4, 24, 1, 4, 1, 1},
                        {16, 32, 9, 24, 5, 1, 2, 1}, {4, 15, 5, 24, 7, 1, 2, 1},
                        {8, 8, 5, 24, 3, 1, 1, 1}};
  for (const int N : {3, 20})
    for (const Case& c : cases)
      expect_grouped_conv_matches_reference<R>(
          c, N, cpu::lowered_conv_applicable, cpu::lowered_input_size<R>,
          cpu::lowered_conv_forward<R>, cpu::lowered_conv_backward<R>);
  EXPECT_FALSE(cpu::lowered_conv_pays(same_conv_geometry(16, 8, 5, 24, 1, 5, 1, 1), 8));
  EXPECT_TRUE(cpu::lowered_conv_pays(same_conv_geometry(16, 8, 5, 24, 1, 5, 1, 1), 64));
  // 1x1, two-dimensional, or too few taps or outputs: the direct kernels.
  EXPECT_FALSE(cpu::lowered_conv_applicable(same_conv_geometry(16, 8, 5, 16, 1, 1, 1, 1)));
  EXPECT_FALSE(cpu::lowered_conv_applicable(same_conv_geometry(16, 8, 5, 16, 3, 3, 1, 1)));
  EXPECT_FALSE(cpu::lowered_conv_applicable(same_conv_geometry(2, 8, 5, 16, 1, 5, 1, 1)));
  EXPECT_FALSE(cpu::lowered_conv_applicable(same_conv_geometry(1, 128, 9, 16, 7, 1, 2, 1)));
  EXPECT_FALSE(cpu::lowered_conv_applicable(same_conv_geometry(16, 32, 9, 16, 5, 1, 2, 1)));
}

// The grouped algorithms on 1 and 2 threads, bitwise: each (forward, dx, dw) of a conv that
// `forward` and `backward` compute with `kept` values kept in between.
template <class Forward, class Backward>
void expect_thread_invariant(const ConvGeometry& g, int N, std::int64_t kept, Forward forward,
                             Backward backward) {
  const std::vector<float> x = cast<float>(random_vec(std::size_t(N) * g.cin * g.h * g.w, 35));
  const std::vector<float> w =
      cast<float>(random_vec(std::size_t(g.cout) * g.cin * g.kh * g.kw, 36));
  const std::size_t ny = std::size_t(N) * g.cout * g.ho * g.wo;
  const std::vector<float> dy = cast<float>(random_vec(ny, 37));
  std::vector<float> out[2][3];
  const int saved = num_threads();
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    auto& o = out[threads - 1];
    std::vector<float> k(static_cast<std::size_t>(kept));
    o[0].resize(ny), o[1].resize(x.size()), o[2].resize(w.size());
    forward(g, N, x.data(), w.data(), o[0].data(), k.data());
    backward(g, N, dy.data(), k.data(), w.data(), o[1].data(), false, o[2].data());
  }
  set_num_threads(saved);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(out[0][i], out[1][i]) << i;
}

TEST(TrainingKernels, GroupedConvolutionsAreThreadInvariant) {
  const ConvGeometry branch = same_conv_geometry(16, 16, 5, 24, 7, 1, 1, 1);
  expect_thread_invariant(branch, 9, cpu::winograd_input_size<float>(branch, 9),
                          cpu::winograd_forward<float>, cpu::winograd_backward<float>);
  const ConvGeometry sensor = same_conv_geometry(16, 8, 9, 24, 1, 9, 1, 2);
  expect_thread_invariant(sensor, 20, cpu::lowered_input_size<float>(sensor, 20),
                          cpu::lowered_conv_forward<float>, cpu::lowered_conv_backward<float>);
}

// Every output element is computed by one thread in a fixed order: 1 thread ≡ 2 threads, bitwise.
TEST(TrainingKernels, ConvolutionsAreThreadInvariant) {
  const int N = 4;
  for (const Case& c : kCases) {
    const ConvGeometry g = same_conv_geometry(c.cin, c.h, c.w, c.cout, c.kh, c.kw, c.sh, c.sw);
    const std::vector<float> x = cast<float>(random_vec(std::size_t(N) * c.cin * c.h * c.w, 4));
    const std::vector<float> w =
        cast<float>(random_vec(std::size_t(c.cout) * c.cin * c.kh * c.kw, 5));
    const std::size_t ny = std::size_t(N) * c.cout * g.ho * g.wo;
    const std::vector<float> dy = cast<float>(random_vec(ny, 6));
    std::vector<float> out[2][3];
    const int saved = num_threads();
    for (int threads : {1, 2}) {
      set_num_threads(threads);
      auto& o = out[threads - 1];
      o[0].resize(ny), o[1].resize(x.size()), o[2].resize(w.size());
      cpu::conv2d_forward(g, N, x.data(), w.data(), o[0].data());
      cpu::conv2d_backward_data<float>(g, 1, N, dy.data(), w.data(), nullptr, o[1].data(), false);
      cpu::conv2d_backward_weight<float>(g, 1, N, dy.data(), x.data(), nullptr, o[2].data(), 0);
    }
    set_num_threads(saved);
    for (int k = 0; k < 3; ++k) EXPECT_EQ(out[0][k], out[1][k]) << k << " " << name(c);
  }
}

TEST(TrainingKernels, ConvolutionReferenceGradients) {
  for (const Case& c : {kCases[0], kCases[4], kCases[5], kCases[11]}) {
    const int N = 2;
    const ConvGeometry g = same_conv_geometry(c.cin, c.h, c.w, c.cout, c.kh, c.kw, c.sh, c.sw);
    Vec x = random_vec(std::size_t(N) * c.cin * c.h * c.w, 7);
    Vec w = random_vec(std::size_t(c.cout) * c.cin * c.kh * c.kw, 8);
    const Vec dy = random_vec(std::size_t(N) * c.cout * g.ho * g.wo, 9);
    Vec dx, dw;
    reference::conv2d_backward(g, N, x, w, dy, &dx, &dw);
    auto loss = [&] { return dot(dy, reference::conv2d_forward(g, N, x, w)); };
    check_gradient(x, dx, loss, "conv dx " + name(c));
    check_gradient(w, dw, loss, "conv dw " + name(c));
  }
}

TYPED_TEST(TrainingKernelTest, BiasAndChannelScale) {
  using R = TypeParam;
  const int N = 3, C = 5, P = 7;
  const Vec x = random_vec(N * C * P, 10), s = random_vec(C, 11), dy = random_vec(N * C * P, 12);
  const std::vector<R> xr = cast<R>(x), sr = cast<R>(s), dyr = cast<R>(dy);
  std::vector<R> y(x.size()), dx(x.size());
  cpu::channel_scale_forward<R>(N, C, P, xr.data(), sr.data(), y.data());
  expect_close(reference::channel_scale_forward(N, C, P, x, s), y.data(), y.size(), "scale y");
  std::vector<double> ds(C, 0.0);
  cpu::channel_scale_backward<R>(N, C, P, dyr.data(), xr.data(), sr.data(), dx.data(), false,
                                 ds.data());
  Vec rdx, rds;
  reference::channel_scale_backward(N, C, P, x, s, dy, &rdx, &rds);
  expect_close(rdx, dx.data(), dx.size(), "scale dx");
  expect_close_in<R>(rds, ds.data(), ds.size(), "scale dmask");
  // The gradient of a scalar weight a of a·x is Σ dy·x: the mask gradient summed.
  const double da = cpu::scale_backward<R>(N, C, P, dyr.data(), xr.data(), R(1), nullptr, false);
  double want = 0.0;
  for (double v : rds) want += v;
  EXPECT_NEAR(da, want, tolerance<R>() * 10 * std::abs(want));
  // The scalar weight's whole backward in one pass: dx (+)= a · dy as scaled_add computes it,
  // and the same gradient bitwise with or without dx, on 1 and 3 threads (19 channels: three
  // channel blocks, one partial).
  const int C2 = 19;
  const Vec x2d = random_vec(N * C2 * P, 13), dy2d = random_vec(N * C2 * P, 14);
  const std::vector<R> x2 = cast<R>(x2d), dy2 = cast<R>(dy2d);
  const R a = R(0.37);
  const int threads_before = num_threads();
  set_num_threads(1);
  const double da2 = cpu::scale_backward<R>(N, C2, P, dy2.data(), x2.data(), a, nullptr, false);
  EXPECT_NEAR(da2, dot(dy2d, x2d), tolerance<R>() * 10 * std::abs(dot(dy2d, x2d)));
  for (int threads : {1, 3}) {
    set_num_threads(threads);
    for (bool accumulate : {false, true}) {
      std::vector<R> dxa(x2.size(), R(0.5)), want_dx = dxa;
      cpu::scaled_add<R>(static_cast<std::int64_t>(x2.size()), a, dy2.data(), want_dx.data(),
                         accumulate);
      EXPECT_EQ(cpu::scale_backward<R>(N, C2, P, dy2.data(), x2.data(), a, dxa.data(), accumulate),
                da2)
          << threads << " threads";
      EXPECT_EQ(dxa, want_dx) << threads << " threads";
    }
    EXPECT_EQ(cpu::scale_backward<R>(N, C2, P, dy2.data(), x2.data(), a, nullptr, false), da2);
  }
  set_num_threads(threads_before);
  // Bias: y += b[c]; db = Σ dy per channel.
  std::vector<R> yb = xr, db(C);
  cpu::bias_forward<R>(N, C, P, sr.data(), yb.data());
  Vec want_y = x;
  Vec want_db(C, 0.0);
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < C; ++c)
      for (int i = 0; i < P; ++i) {
        want_y[(n * C + c) * P + i] += s[c];
        want_db[c] += dy[(n * C + c) * P + i];
      }
  expect_close(want_y, yb.data(), yb.size(), "bias y");
  cpu::bias_backward<R>(N, C, P, dyr.data(), db.data());
  expect_close(want_db, db.data(), db.size(), "bias db");
}

TEST(TrainingKernels, ChannelScaleReferenceGradients) {
  const int N = 2, C = 4, P = 6;
  Vec x = random_vec(N * C * P, 13), s = random_vec(C, 14);
  const Vec dy = random_vec(N * C * P, 15);
  Vec dx, ds;
  reference::channel_scale_backward(N, C, P, x, s, dy, &dx, &ds);
  auto loss = [&] { return dot(dy, reference::channel_scale_forward(N, C, P, x, s)); };
  check_gradient(x, dx, loss, "channel scale dx");
  check_gradient(s, ds, loss, "channel scale dmask");
}

TEST(TrainingKernels, Dropout2dDropsWholeChannelsReproducibly) {
  const int N = 64, C = 32;
  const double p = 0.3;
  std::vector<float> mask(N * C), again(N * C), narrow(N * 8), other(N * C);
  cpu::dropout2d_mask<float>(N, C, p, 42, 3, mask.data());
  cpu::dropout2d_mask<float>(N, C, p, 42, 3, again.data());
  cpu::dropout2d_mask<float>(N, 8, p, 42, 3, narrow.data());
  cpu::dropout2d_mask<float>(N, C, p, 42, 4, other.data());
  EXPECT_EQ(mask, again);
  EXPECT_NE(mask, other) << "another stream must draw other masks";
  int dropped = 0;
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < C; ++c) {
      const float m = mask[n * C + c];
      ASSERT_TRUE(m == 0.0f || m == static_cast<float>(1.0 / 0.7)) << m;
      dropped += m == 0.0f;
      if (c < 8) {
        EXPECT_EQ(narrow[n * 8 + c], m) << "a narrower layer draws the same channels";
      }
    }
  // 2048 Bernoulli(0.3) draws: mean 614, standard deviation 20.7; ±5σ.
  EXPECT_NEAR(dropped, 614, 104);
  // Forward and backward scale whole planes.
  const int P = 5;
  const Vec x = random_vec(std::size_t(N) * C * P, 16);
  const std::vector<float> xf = cast<float>(x);
  std::vector<float> y(x.size());
  cpu::plane_scale<float>(N * C, P, xf.data(), mask.data(), y.data(), false);
  for (std::size_t i = 0; i < y.size(); ++i) ASSERT_EQ(y[i], xf[i] * mask[i / P]);
}

TYPED_TEST(TrainingKernelTest, LogSoftmaxAndNll) {
  using R = TypeParam;
  const int N = 4, K = 6;
  const Vec x = random_vec(N * K, 17), dy = random_vec(N * K, 18);
  const std::vector<R> xr = cast<R>(x), dyr = cast<R>(dy);
  std::vector<R> y(x.size()), dx(x.size());
  cpu::log_softmax_forward<R>(N, K, xr.data(), y.data());
  const Vec want = reference::log_softmax_forward(N, K, x);
  expect_close(want, y.data(), y.size(), "log_softmax");
  cpu::log_softmax_backward<R>(N, K, dyr.data(), y.data(), dx.data(), false);
  expect_close(reference::log_softmax_backward(N, K, x, dy), dx.data(), dx.size(),
               "log_softmax dx");
  const std::vector<int> labels = {0, 5, 2, 2};
  const double loss = cpu::nll_loss_forward<R>(N, K, y.data(), labels.data());
  EXPECT_NEAR(loss, reference::nll_loss(N, K, want, labels), tolerance<R>() * 10);
  std::vector<R> dl(x.size());
  cpu::nll_loss_backward<R>(N, K, labels.data(), 1.0, dl.data());
  for (int n = 0; n < N; ++n)
    for (int k = 0; k < K; ++k) EXPECT_EQ(dl[n * K + k], k == labels[n] ? R(-0.25) : R(0));
  const int bad[] = {0, 6, 1, 1};
  EXPECT_THROW(cpu::nll_loss_forward<R>(N, K, y.data(), bad), Error);
}

TEST(TrainingKernels, LogSoftmaxNllReferenceGradient) {
  const int N = 3, K = 5;
  Vec x = random_vec(N * K, 19);
  const std::vector<int> labels = {1, 4, 0};
  // d(NLL)/d(log_probs) = -1/N at the labels, through the log-softmax's adjoint.
  Vec g(N * K, 0.0);
  for (int n = 0; n < N; ++n) g[n * K + labels[n]] = -1.0 / N;
  const Vec dx = reference::log_softmax_backward(N, K, x, g);
  auto loss = [&] {
    return reference::nll_loss(N, K, reference::log_softmax_forward(N, K, x), labels);
  };
  check_gradient(x, dx, loss, "log_softmax + nll");
}

TYPED_TEST(TrainingKernelTest, BatchNormRunningStatisticsAndEval) {
  using R = TypeParam;
  const int N = 4, C = 3, P = 10;
  const double eps = 1e-5, momentum = 0.1;
  Vec x = random_vec(N * C * P, 20);
  for (double& v : x) v = 2.0 * v + 0.5;
  const Vec gamma = random_vec(C, 21), beta = random_vec(C, 22);
  const std::vector<R> xr = cast<R>(x), gr = cast<R>(gamma), br = cast<R>(beta);
  std::vector<R> y(x.size());
  std::vector<double> mean(C), invstd(C);
  cpu::batch_norm_forward<R>(N, C, P, xr.data(), gr.data(), br.data(), eps, y.data(), mean.data(),
                             invstd.data());
  std::vector<R> rm(C, R(0.25)), rv(C, R(2));
  cpu::batch_norm_update_running<R>(C, double(N) * P, mean.data(), invstd.data(), eps, momentum,
                                    rm.data(), rv.data());
  Vec want_m(C, 0.25), want_v(C, 2.0);
  reference::batch_norm_update_running(N, C, P, x, momentum, &want_m, &want_v);
  expect_close(want_m, rm.data(), C, "running mean");
  expect_close(want_v, rv.data(), C, "running var");
  std::vector<R> ye(x.size());
  cpu::batch_norm_eval_forward<R>(N, C, P, xr.data(), gr.data(), br.data(), rm.data(), rv.data(),
                                  eps, ye.data());
  expect_close(reference::batch_norm_eval_forward(N, C, P, x, gamma, beta, want_m, want_v, eps),
               ye.data(), ye.size(), "eval forward");
}

}  // namespace
}  // namespace micronas
