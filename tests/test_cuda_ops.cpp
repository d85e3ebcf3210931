// Every CUDA kernel against the double-precision oracles of kernels/reference (and the pattern
// hash against the CPU's, bitwise): forward and backward with several cotangents, on NB201's
// geometries and odd sizes. Without a CUDA device every test skips, saying so; with
// MICRONAS_REQUIRE_CUDA=1 in the environment it fails instead.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "kernels/cpu/cpu_kernels.hpp"
#include "kernels/cuda/cuda_check.hpp"
#include "kernels/cuda/dense.hpp"
#include "kernels/cuda/device_context.hpp"
#include "kernels/cuda/kernels.hpp"
#include "kernels/cuda/pattern_count.hpp"
#include "kernels/reference/reference_kernels.hpp"
#include "micronas/context.hpp"
#include "micronas/linalg.hpp"
#include "micronas/proxies.hpp"
#include "tests/test_util.hpp"

namespace micronas::cuda {
namespace {

using reference::Vec;

class CudaOpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (cuda_devices().empty()) {
      const char* v = std::getenv("MICRONAS_REQUIRE_CUDA");
      if (v && std::string(v) == "1") FAIL() << "MICRONAS_REQUIRE_CUDA=1 but no CUDA device";
      GTEST_SKIP() << "no CUDA device";
    }
    ctx_ = std::make_shared<DeviceContext>(0);
  }
  cudaStream_t stream() const { return ctx_->stream(); }
  void sync() const { ctx_->synchronize(); }
  std::shared_ptr<DeviceContext> ctx_;
};

// A device copy of a host vector (or n uninitialised values), freed with it.
template <class T>
class Dev {
 public:
  explicit Dev(std::size_t n) : n_(n) {
    p_ = static_cast<T*>(device_malloc(std::max<std::size_t>(n, 1) * sizeof(T), "a test tensor"));
  }
  explicit Dev(const std::vector<T>& h) : Dev(h.size()) { upload(h); }
  // The kernels run on a non-blocking stream, which does not wait for the legacy stream's
  // copies: the upload is complete when this returns.
  void upload(const std::vector<T>& h) {
    MICRONAS_CUDA_CHECK(cudaMemcpy(p_, h.data(), n_ * sizeof(T), cudaMemcpyHostToDevice));
    MICRONAS_CUDA_CHECK(cudaDeviceSynchronize());
  }
  ~Dev() { cudaFree(p_); }
  Dev(const Dev&) = delete;
  Dev& operator=(const Dev&) = delete;
  T* get() const { return p_; }
  std::vector<T> host() const {
    std::vector<T> h(n_);
    MICRONAS_CUDA_CHECK(cudaDeviceSynchronize());
    MICRONAS_CUDA_CHECK(cudaMemcpy(h.data(), p_, n_ * sizeof(T), cudaMemcpyDeviceToHost));
    return h;
  }

 private:
  T* p_ = nullptr;
  std::size_t n_ = 0;
};

std::vector<float> to_float(const Vec& v) { return std::vector<float>(v.begin(), v.end()); }
Vec to_double(const std::vector<float>& v) { return Vec(v.begin(), v.end()); }
Vec randn(std::size_t n, std::uint64_t seed) { return to_double(test::gaussian(n, seed)); }

// max |got − want| / max |want| over [offset, offset + n) of got, all of want.
double rel_error(const std::vector<float>& got, std::size_t offset, const Vec& want) {
  double diff = 0, scale = 1e-30;
  for (std::size_t i = 0; i < want.size(); ++i) {
    diff = std::max(diff, std::abs(got[offset + i] - want[i]));
    scale = std::max(scale, std::abs(want[i]));
  }
  return diff / scale;
}

Vec slice(const Vec& v, std::size_t offset, std::size_t n) {
  return Vec(v.begin() + offset, v.begin() + offset + n);
}

struct ConvCase {
  int batch, cin, h, w, cout, k, stride, pad;
};

TEST_F(CudaOpsTest, Conv2dForwardAndBackwardMatchOracle) {
  const ConvCase cases[] = {{3, 3, 8, 8, 4, 3, 1, 1}, {2, 5, 7, 7, 3, 1, 1, 0},
                            {2, 4, 8, 8, 6, 3, 2, 1}, {2, 3, 7, 9, 2, 3, 2, 1},
                            {3, 2, 6, 6, 4, 1, 2, 0}, {1, 2, 9, 9, 2, 5, 1, 2}};
  const int T = 3;
  for (const ConvCase& c : cases) {
    const reference::ConvShape s{c.batch, c.cin, c.h, c.w, c.cout, c.k, c.stride, c.pad};
    const ConvGeometry g = s.geometry();
    const std::size_t nx = static_cast<std::size_t>(c.batch) * c.cin * c.h * c.w;
    const std::size_t ny = static_cast<std::size_t>(c.batch) * c.cout * s.ho() * s.wo();
    const std::size_t nw = static_cast<std::size_t>(c.cout) * c.cin * c.k * c.k;
    const Vec x = randn(nx, 1), w = randn(nw, 2), dy = randn(T * ny, 3), mask = randn(nx, 4);
    const std::string name = "k" + std::to_string(c.k) + " s" + std::to_string(c.stride) + " " +
                             std::to_string(c.h) + "x" + std::to_string(c.w);
    Dev<float> dx_(to_float(x)), dw_(to_float(w)), ddy(to_float(dy)), dmask(to_float(mask));
    Dev<float> y(ny), gx(T * nx), gw(T * nw);
    conv2d_forward(g, c.batch, dx_.get(), dw_.get(), y.get(), stream());
    EXPECT_LE(rel_error(y.host(), 0, reference::conv2d_forward(s, x, w)), 1e-5) << name;
    // With the fused ReLU mask and accumulating onto ones.
    gx.upload(std::vector<float>(T * nx, 1.0f));
    conv2d_backward_data(g, T, c.batch, ddy.get(), dw_.get(), dmask.get(), gx.get(), true,
                         stream());
    conv2d_backward_weight(g, T, c.batch, ddy.get(), dx_.get(), gw.get(), nw, stream());
    const std::vector<float> got_x = gx.host(), got_w = gw.host();
    for (int t = 0; t < T; ++t) {
      Vec rx, rw;
      reference::conv2d_backward(s, x, w, slice(dy, t * ny, ny), &rx, &rw);
      for (std::size_t i = 0; i < nx; ++i) rx[i] = 1.0 + (mask[i] > 0 ? rx[i] : 0.0);
      EXPECT_LE(rel_error(got_x, t * nx, rx), 1e-5) << name << " dx, cotangent " << t;
      EXPECT_LE(rel_error(got_w, t * nw, rw), 1e-5) << name << " dw, cotangent " << t;
    }
    // Unmasked, overwriting.
    conv2d_backward_data(g, T, c.batch, ddy.get(), dw_.get(), nullptr, gx.get(), false, stream());
    const std::vector<float> plain = gx.host();
    for (int t = 0; t < T; ++t) {
      Vec rx, rw;
      reference::conv2d_backward(s, x, w, slice(dy, t * ny, ny), &rx, &rw);
      EXPECT_LE(rel_error(plain, t * nx, rx), 1e-5) << name << " dx, cotangent " << t;
    }
  }
}

// Number of positions where two float vectors differ in any bit.
std::size_t differing(const std::vector<float>& a, const std::vector<float>& b) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < a.size(); ++i) n += a[i] != b[i];
  return a.size() == b.size() ? n : a.size() + b.size();
}

// The forward kernels follow the CPU kernels' arithmetic (cpu_madd in layer_math.hpp): equal bit
// for bit, so the signs at every ReLU, and linear-region counts, are the same on both backends. BN
// sums its fp64 statistics in another order, which reaches its fp32 output with probability ~1e-8.
TEST_F(CudaOpsTest, ForwardKernelsEqualCpuKernelsBitwise) {
  const ConvCase convs[] = {
      {4, 3, 16, 16, 6, 3, 2, 1}, {3, 5, 9, 9, 4, 3, 1, 1}, {3, 6, 8, 8, 5, 1, 1, 0}};
  std::uint64_t seed = 40;
  for (const ConvCase& c : convs) {
    const reference::ConvShape s{c.batch, c.cin, c.h, c.w, c.cout, c.k, c.stride, c.pad};
    const std::vector<float> x =
        test::gaussian(static_cast<std::size_t>(c.batch) * c.cin * c.h * c.w, seed++);
    const std::vector<float> w =
        test::gaussian(static_cast<std::size_t>(c.cout) * c.cin * c.k * c.k, seed++);
    std::vector<float> cpu(static_cast<std::size_t>(c.batch) * c.cout * s.ho() * s.wo());
    cpu::conv2d_forward(s.geometry(), c.batch, x.data(), w.data(), cpu.data());
    Dev<float> dx(x), dw(w), y(cpu.size());
    conv2d_forward(s.geometry(), c.batch, dx.get(), dw.get(), y.get(), stream());
    EXPECT_EQ(differing(y.host(), cpu), 0u) << "conv k" << c.k << " s" << c.stride;
  }
  {
    const int N = 16, C = 4, plane = 64;
    std::vector<float> x = test::gaussian(static_cast<std::size_t>(N) * C * plane, seed++);
    for (float& v : x) v = 2.0f + 0.7f * v;
    const std::vector<float> gamma = {0.9f, 1.1f, -0.5f, 2.0f}, beta = {0.0f, 0.3f, -0.1f, 1.0f};
    std::vector<float> cpu(x.size());
    std::vector<double> mean(C), invstd(C);
    cpu::batch_norm_forward<float>(N, C, plane, x.data(), gamma.data(), beta.data(), 1e-5,
                                   cpu.data(), mean.data(), invstd.data());
    Dev<float> dx(x), dg(gamma), db(beta), y(x.size());
    Dev<double> dm(C), di(C);
    batch_norm_forward(N, C, plane, dx.get(), dg.get(), db.get(), 1e-5, y.get(), dm.get(), di.get(),
                       stream());
    EXPECT_EQ(differing(y.host(), cpu), 0u) << "batch norm";
    const std::vector<double> gm = dm.host(), gi = di.host();
    for (int c = 0; c < C; ++c) {
      EXPECT_NEAR(gm[c], mean[c], 1e-14 * (1 + std::abs(mean[c])));
      EXPECT_NEAR(gi[c], invstd[c], 1e-14 * invstd[c]);
    }
  }
  for (const reference::PoolShape& s :
       {reference::PoolShape{3, 4, 8, 8, 3, 1, 1}, reference::PoolShape{3, 4, 8, 8, 2, 2, 0}}) {
    const std::vector<float> x =
        test::gaussian(static_cast<std::size_t>(s.batch) * s.channels * s.h * s.w, seed++);
    std::vector<float> cpu(static_cast<std::size_t>(s.batch) * s.channels * s.ho() * s.wo());
    cpu::avg_pool_forward<float>(
        cpu::PoolGeometry{s.channels, s.h, s.w, s.k, s.stride, s.pad, s.ho(), s.wo()}, s.batch,
        x.data(), cpu.data());
    Dev<float> dx(x), y(cpu.size());
    avg_pool_forward(PoolGeometry{s.channels, s.h, s.w, s.k, s.stride, s.pad, s.ho(), s.wo()},
                     s.batch, dx.get(), y.get(), stream());
    EXPECT_EQ(differing(y.host(), cpu), 0u) << "avg pool k" << s.k;
  }
  {
    const int N = 6, C = 12, plane = 64, out = 10;
    const std::vector<float> x = test::gaussian(static_cast<std::size_t>(N) * C * plane, seed++);
    const std::vector<float> w = test::gaussian(static_cast<std::size_t>(out) * C, seed++);
    const std::vector<float> b = test::gaussian(out, seed++);
    std::vector<float> pooled(N * C), logits(N * out);
    cpu::global_avg_pool_forward<float>(N, C, plane, x.data(), pooled.data());
    cpu::linear_forward<float>(N, C, out, pooled.data(), w.data(), b.data(), logits.data());
    Dev<float> dx(x), dw(w), db(b), gp(pooled.size()), gl(logits.size());
    global_avg_pool_forward(N, C, plane, dx.get(), gp.get(), stream());
    linear_forward(N, C, out, gp.get(), dw.get(), db.get(), gl.get(), stream());
    EXPECT_EQ(differing(gp.host(), pooled), 0u) << "global average pool";
    EXPECT_EQ(differing(gl.host(), logits), 0u) << "linear";
  }
  {
    const std::size_t n = 1000;
    const std::vector<float> a = test::gaussian(n, seed++), b = test::gaussian(n, seed++);
    std::vector<float> cpu(n);
    cpu::scaled_add<float>(n, 1.0f / 3.0f, a.data(), cpu.data(), false);
    cpu::scaled_add<float>(n, 1.0f / 3.0f, b.data(), cpu.data(), true);
    Dev<float> da(a), db(b), y(n);
    scaled_add(n, 1.0f / 3.0f, da.get(), y.get(), false, stream());
    scaled_add(n, 1.0f / 3.0f, db.get(), y.get(), true, stream());
    EXPECT_EQ(differing(y.host(), cpu), 0u) << "scaled sum";
  }
}

TEST_F(CudaOpsTest, BatchNormForwardAndBackwardMatchOracle) {
  const int N = 4, C = 3, plane = 25, T = 2;
  const std::size_t n = static_cast<std::size_t>(N) * C * plane;
  Vec x = randn(n, 7);
  for (double& v : x) v = 3.0 + 0.5 * v;  // a mean far from zero
  const Vec gamma = {0.5, 1.5, -1.0}, beta = {0.1, -0.2, 0.3}, dy = randn(T * n, 8);
  Dev<float> dx_(to_float(x)), dg(to_float(gamma)), db(to_float(beta)), ddy(to_float(dy));
  Dev<float> y(n), gx(T * n), gparams(T * 8);
  Dev<double> mean(C), invstd(C);
  batch_norm_forward(N, C, plane, dx_.get(), dg.get(), db.get(), 1e-5, y.get(), mean.get(),
                     invstd.get(), stream());
  EXPECT_LE(
      rel_error(y.host(), 0, reference::batch_norm_forward(N, C, plane, x, gamma, beta, 1e-5)),
      1e-5);
  // dgamma at [t·8, t·8 + 3), dbeta at [t·8 + 4, t·8 + 7).
  // The output gradient 0.5 · dy, as for a scaled alias of a node sum with two inputs.
  batch_norm_backward(T, N, C, plane, ddy.get(), 0.5, dx_.get(), mean.get(), invstd.get(), dg.get(),
                      gx.get(), false, gparams.get(), gparams.get() + 4, 8, stream());
  const std::vector<float> got_x = gx.host(), got_p = gparams.host();
  for (int t = 0; t < T; ++t) {
    Vec rx, rg, rb;
    Vec half = slice(dy, t * n, n);
    for (double& v : half) v *= 0.5;
    reference::batch_norm_backward(N, C, plane, x, gamma, 1e-5, half, &rx, &rg, &rb);
    EXPECT_LE(rel_error(got_x, t * n, rx), 1e-4) << "cotangent " << t;
    EXPECT_LE(rel_error(got_p, t * 8, rg), 1e-5) << "cotangent " << t;
    EXPECT_LE(rel_error(got_p, t * 8 + 4, rb), 1e-5) << "cotangent " << t;
  }
}

TEST_F(CudaOpsTest, ReluScaledAddAndGlobalPoolMatchOracle) {
  const int N = 3, C = 4, plane = 10, T = 2;
  const std::size_t n = static_cast<std::size_t>(N) * C * plane;
  const Vec x = randn(n, 9), dy = randn(T * n, 10), dpool = randn(T * N * C, 11);
  Dev<float> dx_(to_float(x)), ddy(to_float(dy)), ddpool(to_float(dpool));
  Dev<float> y(n), gx(T * n), pooled(N * C), gpool(T * n), acc(n);
  relu_forward(n, dx_.get(), y.get(), stream());
  EXPECT_EQ(rel_error(y.host(), 0, reference::relu_forward(x)), 0.0);
  relu_backward(T, n, ddy.get(), dx_.get(), gx.get(), false, stream());
  const std::vector<float> got = gx.host();
  for (int t = 0; t < T; ++t)
    EXPECT_EQ(rel_error(got, t * n, reference::relu_backward(x, slice(dy, t * n, n))), 0.0);
  global_avg_pool_forward(N, C, plane, dx_.get(), pooled.get(), stream());
  EXPECT_LE(rel_error(pooled.host(), 0, reference::global_avg_pool_forward(N, C, plane, x)), 1e-6);
  global_avg_pool_backward(T, N, C, plane, ddpool.get(), gpool.get(), false, stream());
  const std::vector<float> gp = gpool.host();
  for (int t = 0; t < T; ++t)
    EXPECT_LE(
        rel_error(gp, t * n,
                  reference::global_avg_pool_backward(N, C, plane, slice(dpool, t * N * C, N * C))),
        1e-6);
  // acc = x / 3, then acc += dy[0] / 2.
  scaled_add(n, 1.0f / 3.0f, dx_.get(), acc.get(), false, stream());
  scaled_add(n, 0.5f, ddy.get(), acc.get(), true, stream());
  Vec want(n);
  for (std::size_t i = 0; i < n; ++i) want[i] = x[i] / 3.0 + dy[i] / 2.0;
  EXPECT_LE(rel_error(acc.host(), 0, want), 1e-6);
}

TEST_F(CudaOpsTest, AvgPoolMatchesOracle) {
  const reference::PoolShape shapes[] = {
      {2, 3, 8, 8, 3, 1, 1}, {2, 3, 8, 8, 2, 2, 0}, {2, 2, 7, 7, 3, 2, 1}, {1, 2, 5, 6, 3, 1, 1}};
  const int T = 2;
  for (const reference::PoolShape& s : shapes) {
    const PoolGeometry g{s.channels, s.h, s.w, s.k, s.stride, s.pad, s.ho(), s.wo()};
    const std::size_t nx = static_cast<std::size_t>(s.batch) * s.channels * s.h * s.w;
    const std::size_t ny = static_cast<std::size_t>(s.batch) * s.channels * s.ho() * s.wo();
    const Vec x = randn(nx, 12), dy = randn(T * ny, 13);
    Dev<float> dx_(to_float(x)), ddy(to_float(dy)), y(ny), gx(T * nx);
    avg_pool_forward(g, s.batch, dx_.get(), y.get(), stream());
    const std::string name = "k" + std::to_string(s.k) + " s" + std::to_string(s.stride);
    EXPECT_LE(rel_error(y.host(), 0, reference::avg_pool_forward(s, x)), 1e-6) << name;
    // The output gradient 0.25 · dy, as for a scaled alias.
    avg_pool_backward(g, T, s.batch, ddy.get(), 0.25f, gx.get(), false, stream());
    const std::vector<float> got = gx.host();
    for (int t = 0; t < T; ++t) {
      Vec quarter = slice(dy, t * ny, ny);
      for (double& v : quarter) v *= 0.25;
      EXPECT_LE(rel_error(got, t * nx, reference::avg_pool_backward(s, quarter)), 1e-6)
          << name << " cotangent " << t;
    }
  }
}

TEST_F(CudaOpsTest, LinearMatchesOracle) {
  const int N = 5, in = 12, out = 7, T = 3;
  const Vec x = randn(N * in, 14), w = randn(out * in, 15), b = randn(out, 16),
            dy = randn(T * N * out, 17);
  Dev<float> dx_(to_float(x)), dw_(to_float(w)), db_(to_float(b)), ddy(to_float(dy));
  Dev<float> y(N * out), gx(T * N * in), gp(T * 100);
  linear_forward(N, in, out, dx_.get(), dw_.get(), db_.get(), y.get(), stream());
  EXPECT_LE(rel_error(y.host(), 0, reference::linear_forward(N, in, out, x, w, b)), 1e-6);
  linear_backward_data(T, N, in, out, ddy.get(), dw_.get(), gx.get(), false, stream());
  // dW [out, in] at t·100, db at t·100 + 90.
  linear_backward_params(T, N, in, out, ddy.get(), dx_.get(), gp.get(), gp.get() + 90, 100,
                         stream());
  const std::vector<float> got_x = gx.host(), got_p = gp.host();
  for (int t = 0; t < T; ++t) {
    Vec rx, rw, rb;
    reference::linear_backward(N, in, out, x, w, slice(dy, t * N * out, N * out), &rx, &rw, &rb);
    EXPECT_LE(rel_error(got_x, t * N * in, rx), 1e-6);
    EXPECT_LE(rel_error(got_p, t * 100, Vec(rw.begin(), rw.begin() + out * in)), 1e-6);
    EXPECT_LE(rel_error(got_p, t * 100 + 90, rb), 1e-6);
  }
}

// The fused ReLU + hash equals the CPU's hash bitwise, over several layers (segments), widths
// below, at and above one hashing round and not multiples of 64.
TEST_F(CudaOpsTest, PatternHashEqualsCpuBitwise) {
  const int N = 37;
  std::vector<std::uint64_t> cpu_hash(2 * N);
  cpu::pattern_hash_init(N, cpu_hash.data());
  Dev<std::uint64_t> hash(2 * N);
  pattern_hash_init(N, hash.get(), stream());
  std::uint64_t seed = 20;
  for (std::int64_t per_sample : {9, 64, 100, 2048, 2187, 5000, 1}) {
    const std::vector<float> x = test::gaussian(N * per_sample, seed++);
    std::vector<float> cpu_y(x.size());
    cpu::relu_forward_pattern_hash<float>(N, per_sample, x.data(), cpu_y.data(), cpu_hash.data());
    Dev<float> dx(x), y(x.size());
    relu_forward_pattern_hash(N, per_sample, dx.get(), y.get(), hash.get(), stream());
    EXPECT_EQ(y.host(), cpu_y) << per_sample;
    EXPECT_EQ(hash.host(), cpu_hash) << "after a layer of " << per_sample;
  }
}

TEST_F(CudaOpsTest, PatternSetCountsDistinctHashesAcrossAppends) {
  PatternSet set(ctx_);
  std::set<std::pair<std::uint64_t, std::uint64_t>> want;
  Rng rng(3);
  for (int round = 0; round < 5; ++round) {
    const int n = 3000;  // crosses the first capacity (4096) on the second round
    std::vector<std::uint64_t> h(2 * n);
    for (int i = 0; i < n; ++i) {
      // Few distinct values in each word, so equal first words with different second words
      // and the reverse both occur.
      h[2 * i] = rng.next_u64() % 50;
      h[2 * i + 1] = rng.next_u64() % 70;
      want.insert({h[2 * i], h[2 * i + 1]});
    }
    Dev<std::uint64_t> dh(h);
    set.append(dh.get(), n, stream());
    EXPECT_EQ(set.size(), std::int64_t{n} * (round + 1));
    EXPECT_EQ(set.count_distinct(stream()), static_cast<std::int64_t>(want.size()));
  }
  set.clear();
  EXPECT_EQ(set.count_distinct(stream()), 0);
}

TEST_F(CudaOpsTest, GramAndEigenvaluesMatchCpu) {
  Jacobian j;
  j.rows = 12;
  j.cols = 777;
  j.values = test::gaussian(static_cast<std::size_t>(j.rows) * j.cols, 30);
  const std::vector<double> k = ntk_gram(j);
  const std::vector<double> j64(j.values.begin(), j.values.end());
  Dev<double> dj(j64), gram(j.rows * j.rows), eig(j.rows);
  Dev<int> flags(2);
  gram_fp64(ctx_->cublas(), stream(), j.rows, j.cols, dj.get(), gram.get(), flags.get() + 1);
  const std::vector<double> got = gram.host();
  for (int r = 0; r < j.rows; ++r)
    for (int c = 0; c < j.rows; ++c)
      EXPECT_NEAR(got[r * j.rows + c], k[r * j.rows + c],
                  1e-12 * std::sqrt(k[r * j.rows + r] * k[c * j.rows + c]));
  EXPECT_EQ(flags.host()[1], 0);
  const std::int64_t bytes = eigenvalue_workspace_bytes(ctx_->cusolver(), j.rows);
  Dev<char> work(static_cast<std::size_t>(bytes));
  symmetric_eigenvalues(ctx_->cusolver(), j.rows, gram.get(), eig.get(), work.get(), bytes,
                        flags.get());
  EXPECT_EQ(flags.host()[0], 0);
  const std::vector<double> want = micronas::symmetric_eigenvalues(k.data(), j.rows);
  const std::vector<double> ev = eig.host();
  for (int i = 0; i < j.rows; ++i) EXPECT_NEAR(ev[i], want[i], 1e-9 * want.back()) << i;
  // A NaN in J is flagged.
  std::vector<double> bad = j64;
  bad[5] = NAN;
  Dev<double> dbad(bad);
  gram_fp64(ctx_->cublas(), stream(), j.rows, j.cols, dbad.get(), gram.get(), flags.get() + 1);
  EXPECT_EQ(flags.host()[1], 1);
}

TEST_F(CudaOpsTest, ContextReusesBlocksGivenBack) {
  auto ctx = std::make_shared<DeviceContext>(0);
  void* first = nullptr;
  {
    DeviceMemory a(ctx);
    a.allocate(1 << 20, "a test workspace");
    first = a.data();
    EXPECT_GE(a.size(), std::size_t{1} << 20);
  }
  EXPECT_EQ(ctx->cached_bytes(), std::size_t{1} << 20);
  DeviceMemory b(ctx), c(ctx);
  b.allocate(1 << 19, "a smaller workspace");  // fits in the given-back block
  EXPECT_EQ(static_cast<void*>(b.data()), first);
  EXPECT_EQ(ctx->cached_bytes(), 0u);
  c.allocate(1 << 21, "a larger workspace");  // needs a new one
  EXPECT_NE(static_cast<void*>(c.data()), first);
}

}  // namespace
}  // namespace micronas::cuda
