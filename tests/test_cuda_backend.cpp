// The CUDA executor against the CPU reference (Network<float>, compute_jacobian, ntk_gram,
// ntk_condition, LinearRegionCounter) on NB201 networks: logits, gradients of several
// cotangents, the Jacobian, the NTK spectrum and its condition number, and linear-region counts
// (exactly equal). Without a CUDA device every test skips, saying so; with
// MICRONAS_REQUIRE_CUDA=1 in the environment it fails instead.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "micronas/context.hpp"
#include "micronas/data.hpp"
#include "micronas/error.hpp"
#include "micronas/network.hpp"
#include "micronas/proxies.hpp"
#include "runtime/backend.hpp"
#include "tests/test_util.hpp"

namespace micronas {
namespace {

const char* kMixed =
    "|nor_conv_3x3/skip_connect~0|+|nor_conv_1x1/avg_pool_3x3~0|none~1|+|"
    "skip_connect/nor_conv_1x1/nor_conv_3x3~0|avg_pool_3x3~1|nor_conv_3x3~2|";

bool cuda_required() {
  const char* v = std::getenv("MICRONAS_REQUIRE_CUDA");
  return v && std::string(v) == "1";
}

class CudaBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (cuda_devices().empty()) {
      if (cuda_required()) FAIL() << "MICRONAS_REQUIRE_CUDA=1 but no CUDA device is visible";
      GTEST_SKIP() << "no CUDA device";
    }
    backend_ = make_cuda_backend(ComputeContext::cuda(0));
  }
  std::unique_ptr<Backend> backend_;
};

// The architectures every comparison runs on: a supernet, a mixed supernet state and single
// cells with each op (skip, 1x1, 3x3, pool, none).
std::vector<Arch> sample_archs() {
  return {Arch::parse("supernet"), Arch::parse(kMixed),
          Arch::parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|"
                      "nor_conv_3x3~1|nor_conv_3x3~2|"),
          Arch::parse("|avg_pool_3x3~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|none~1|"
                      "avg_pool_3x3~2|"),
          Arch::from_cell_id(4321)};
}

// max |a − b| over max(max |b|, floor): a scale-free error of a whole tensor.
double relative_error(const float* a, const float* b, std::size_t n, double floor = 1e-30) {
  double diff = 0, scale = floor;
  for (std::size_t i = 0; i < n; ++i) {
    diff = std::max(diff, std::abs(static_cast<double>(a[i]) - b[i]));
    scale = std::max(scale, std::abs(static_cast<double>(b[i])));
  }
  return diff / scale;
}

TEST_F(CudaBackendTest, ContextIsResolvedCuda) {
  EXPECT_EQ(backend_->context().backend, BackendKind::kCuda);
  EXPECT_EQ(backend_->context().device, 0);
}

TEST_F(CudaBackendTest, AbsentDeviceIsAnInvalidArgument) {
  try {
    make_cuda_backend(ComputeContext::cuda(static_cast<int>(cuda_devices().size()) + 3));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::kInvalidArgument);
  }
}

TEST_F(CudaBackendTest, ForwardLogitsMatchCpu) {
  const NetworkConfig config = NetworkConfig::ntk(Dataset::kCifar10);
  const int B = 8;
  for (const Arch& arch : sample_archs()) {
    Network<float> net(build_graph(config, arch));
    net.initialize(InitMode::kPyTorchDefault, 7);
    const auto x = test::gaussian(static_cast<std::size_t>(B) * 3 * 32 * 32, 11);
    const std::vector<float> cpu = net.forward(x.data(), B);
    auto exec = backend_->compile(net.graph());
    exec->set_parameters(net.params());
    exec->forward(x.data(), B, false);
    const std::vector<float> gpu = exec->logits();
    ASSERT_EQ(gpu.size(), cpu.size());
    // The forward follows the CPU's arithmetic; only BN's fp64 statistics are summed in another
    // order, which almost never reaches the fp32 values.
    EXPECT_LE(relative_error(gpu.data(), cpu.data(), cpu.size()), 1e-5) << arch.to_string();
  }
}

TEST_F(CudaBackendTest, BackwardOfSeveralCotangentsMatchesCpu) {
  NetworkConfig config = NetworkConfig::ntk(Dataset::kCifar10);
  config.input_size = 16;
  const int B = 4, T = 3, classes = 10;
  for (const Arch& arch : sample_archs()) {
    Network<float> net(build_graph(config, arch));
    net.initialize(InitMode::kKaimingFanIn, 5);
    const auto x = test::gaussian(static_cast<std::size_t>(B) * 3 * 16 * 16, 21);
    const auto dlogits = test::gaussian(static_cast<std::size_t>(T) * B * classes, 22);
    const std::int64_t P = net.num_params(), in = static_cast<std::int64_t>(x.size());
    std::vector<float> cpu_dp(T * P), cpu_dx(T * in), gpu_dp(T * P), gpu_dx(T * in);
    net.forward(x.data(), B);
    net.backward(dlogits.data(), T, cpu_dp.data(), cpu_dx.data());
    auto exec = backend_->compile(net.graph());
    exec->set_parameters(net.params());
    exec->forward(x.data(), B, false);
    exec->backward(dlogits.data(), T, gpu_dp.data(), gpu_dx.data());
    for (int t = 0; t < T; ++t) {
      // Some gradients vanish mathematically (β of a BN whose output reaches another BN through
      // sums only) and hold rounding noise on both backends: errors are measured against the
      // cotangent's largest gradient too.
      double row = 0;
      for (std::int64_t i = 0; i < P; ++i)
        row = std::max(row, std::abs(static_cast<double>(cpu_dp[t * P + i])));
      for (const Parameter& p : net.graph().params) {
        const float* a = gpu_dp.data() + t * P + p.offset;
        const float* b = cpu_dp.data() + t * P + p.offset;
        EXPECT_LE(relative_error(a, b, p.size, 1e-3 * row), 1e-4)
            << arch.to_string() << " cotangent " << t << " " << p.name;
      }
      EXPECT_LE(relative_error(gpu_dx.data() + t * in, cpu_dx.data() + t * in, in), 1e-4)
          << arch.to_string() << " input gradient, cotangent " << t;
    }
    // Parameter gradients alone (no input gradient) are the same.
    std::vector<float> again(T * P);
    exec->backward(dlogits.data(), T, again.data(), nullptr);
    EXPECT_EQ(again, gpu_dp) << arch.to_string();
  }
}

// κ's sensitivity to J: with ‖δJ‖_F ≤ ε‖J‖_F, ‖δK‖₂ ≤ (2ε + ε²)‖J‖₂‖J‖_F ≤ (2ε + ε²)√B·λ_max, and
// each eigenvalue moves by at most ‖δK‖₂ (Weyl), so |δκ|/κ ≲ 2(2ε + ε²)√B·κ to first order. The
// CUDA J differs from the CPU's by fp32 rounding of differently ordered sums (ε ~ 1e-6), so κ
// agrees to 1e-5 for κ < 1e3 in practice and within this bound above.
TEST_F(CudaBackendTest, JacobianAndNtkSpectrumMatchCpu) {
  const NetworkConfig config = NetworkConfig::ntk(Dataset::kCifar10);
  const int B = 16;
  for (const Arch& arch : sample_archs()) {
    Network<float> net(build_graph(config, arch));
    net.initialize(InitMode::kKaimingFanIn, 3);
    const auto x = test::gaussian(static_cast<std::size_t>(B) * 3 * 32 * 32, 31);
    const Jacobian cpu_j = compute_jacobian(net, x.data(), B);
    const NtkCondition cpu = ntk_condition(ntk_gram(cpu_j), B);

    auto exec = backend_->compile(net.graph());
    exec->set_parameters(net.params());
    exec->compute_jacobian(x.data(), B);
    const Jacobian gpu_j = exec->jacobian();
    ASSERT_EQ(gpu_j.rows, cpu_j.rows);
    ASSERT_EQ(gpu_j.cols, cpu_j.cols);
    ASSERT_EQ(gpu_j.params, cpu_j.params);
    double num = 0, den = 0;
    for (std::size_t i = 0; i < cpu_j.values.size(); ++i) {
      const double d = static_cast<double>(gpu_j.values[i]) - cpu_j.values[i];
      num += d * d;
      den += static_cast<double>(cpu_j.values[i]) * cpu_j.values[i];
    }
    const double eps = std::sqrt(num / den);
    EXPECT_LE(eps, 1e-4) << arch.to_string();

    const NtkSpectrum s = exec->ntk_spectrum(/*keep_gram=*/true);
    ASSERT_TRUE(s.finite) << arch.to_string();
    ASSERT_EQ(s.eigenvalues.size(), static_cast<std::size_t>(B));
    EXPECT_TRUE(std::is_sorted(s.eigenvalues.begin(), s.eigenvalues.end()));
    // K is the fp64 Gram of the executor's own J, both triangles.
    const std::vector<double> k = ntk_gram(gpu_j);
    ASSERT_EQ(s.gram.size(), k.size());
    // Entries summed in another order: compared on the scale of their row and column.
    for (int r = 0; r < B; ++r)
      for (int c = 0; c < B; ++c)
        EXPECT_NEAR(s.gram[r * B + c], k[r * B + c], 1e-10 * std::sqrt(k[r * B + r] * k[c * B + c]))
            << r << "," << c;

    const double lmax = s.eigenvalues.back(), lmin = s.eigenvalues.front();
    EXPECT_NEAR(lmax, cpu.lambda_max, 1e-4 * cpu.lambda_max) << arch.to_string();
    if (!cpu.valid) continue;
    const double kappa = lmax / lmin;
    const double rel = std::abs(kappa - cpu.condition) / cpu.condition;
    const double bound = 2 * (2 * eps + eps * eps) * std::sqrt(B) * cpu.condition + 1e-12;
    EXPECT_LE(rel, bound) << arch.to_string() << " κ = " << cpu.condition;
    if (cpu.condition < 1e3) {
      EXPECT_LE(rel, 1e-5) << arch.to_string() << " κ = " << cpu.condition;
    }
  }
}

TEST_F(CudaBackendTest, SpectrumOfALargerBatchAfterASmallerOne) {
  const NetworkConfig config = NetworkConfig::ntk(Dataset::kCifar10);
  Network<float> net(build_graph(config, Arch::parse(kMixed)));
  net.initialize(InitMode::kKaimingFanIn, 9);
  auto exec = backend_->compile(net.graph());
  exec->set_parameters(net.params());
  const auto x = test::gaussian(static_cast<std::size_t>(24) * 3 * 32 * 32, 41);
  exec->forward(x.data(), 4, false);
  const std::vector<float> first = exec->logits();
  for (int B : {8, 24, 12}) {  // grows the workspace, then reuses it for a smaller batch
    exec->compute_jacobian(x.data(), B);
    const NtkSpectrum s = exec->ntk_spectrum(false);
    EXPECT_TRUE(s.gram.empty());
    EXPECT_EQ(s.eigenvalues.size(), static_cast<std::size_t>(B));
    const NtkCondition cpu = ntk_condition(ntk_gram(compute_jacobian(net, x.data(), B)), B);
    EXPECT_NEAR(s.eigenvalues.back(), cpu.lambda_max, 1e-4 * cpu.lambda_max) << B;
  }
  exec->forward(x.data(), 4, false);
  EXPECT_EQ(exec->logits(), first);
}

TEST_F(CudaBackendTest, LinearRegionCountsEqualCpuExactly) {
  Rng pick(23);
  for (int trial = 0; trial < 8; ++trial) {
    const Arch arch = trial == 0 ? Arch::parse("supernet-none")
                                 : Arch::from_cell_id(static_cast<int>(pick.below(kNumCells)));
    Network<float> net(build_graph(NetworkConfig::linear_regions(Dataset::kCifar10), arch));
    net.initialize(InitMode::kPyTorchDefault, 200 + trial);
    auto exec = backend_->compile(net.graph());
    exec->set_parameters(net.params());
    LinearRegionCounter counter(/*verify=*/true);
    for (int b = 0; b < 3; ++b) {
      const int n = 500;
      auto x = test::gaussian(static_cast<std::size_t>(n) * 9, 3000 * trial + b);
      std::copy(x.begin(), x.begin() + 100 * 9, x.begin() + 100 * 9);  // planted duplicates
      counter.add_batch(net, x.data(), n);
      exec->forward(x.data(), n, /*record_patterns=*/true);
    }
    EXPECT_EQ(exec->recorded_patterns(), 1500);
    EXPECT_EQ(exec->count_patterns(), counter.count()) << arch.to_string();
    EXPECT_EQ(counter.count(), counter.exact_count());
    exec->clear_patterns();
    EXPECT_EQ(exec->recorded_patterns(), 0);
    EXPECT_EQ(exec->count_patterns(), 0);
  }
}

// Layers wider than one hashing round (2048 elements) and not a multiple of 64: patterns of a
// 36 x 36 NTK network (3888, 1944 and 972 elements per sample), duplicates planted, counted on both
// backends.
TEST_F(CudaBackendTest, PatternHashOfWideLayersEqualsCpu) {
  NetworkConfig config = NetworkConfig::ntk(Dataset::kCifar10);
  config.input_size = 36;
  Network<float> net(build_graph(config, Arch::parse(kMixed)));
  net.initialize(InitMode::kPyTorchDefault, 1);
  auto exec = backend_->compile(net.graph());
  exec->set_parameters(net.params());
  const int n = 64;
  auto x = test::gaussian(static_cast<std::size_t>(n) * 3 * 36 * 36, 77);
  std::copy(x.begin(), x.begin() + 8 * 3 * 36 * 36, x.begin() + 8 * 3 * 36 * 36);
  LinearRegionCounter counter(/*verify=*/true);
  counter.add_batch(net, x.data(), n);
  exec->forward(x.data(), n, true);
  EXPECT_EQ(exec->count_patterns(), counter.count());
  EXPECT_LT(counter.count(), n);  // BN couples the samples, yet duplicates share patterns
}

TEST_F(CudaBackendTest, NonFiniteInputNamesTheSample) {
  const Graph g = build_graph(NetworkConfig::ntk(Dataset::kCifar10), Arch::parse(kMixed));
  auto exec = backend_->compile(g);
  std::vector<float> params(static_cast<std::size_t>(g.num_params), 0.1f);
  exec->set_parameters(params.data());
  auto x = test::gaussian(static_cast<std::size_t>(4) * 3 * 32 * 32, 1);
  x[2 * 3 * 32 * 32 + 17] = NAN;
  for (int call = 0; call < 2; ++call) {
    try {
      if (call == 0)
        exec->forward(x.data(), 4, false);
      else
        exec->compute_jacobian(x.data(), 4);
      FAIL() << "expected an error";
    } catch (const Error& e) {
      EXPECT_EQ(e.status(), Status::kNumericalError);
      EXPECT_NE(std::string(e.what()).find("input sample 2"), std::string::npos) << e.what();
    }
  }
}

TEST_F(CudaBackendTest, CallsOutOfOrderAreInvalidArguments) {
  const Graph g = build_graph(NetworkConfig::ntk(Dataset::kCifar10), Arch::parse(kMixed));
  auto exec = backend_->compile(g);
  std::vector<float> dl(10, 1.0f);
  EXPECT_THROW(exec->backward(dl.data(), 1, nullptr, nullptr), Error);
  EXPECT_THROW(exec->ntk_spectrum(false), Error);
  EXPECT_THROW(exec->jacobian(), Error);
  EXPECT_THROW(exec->logits(), Error);
  EXPECT_EQ(exec->count_patterns(), 0);
}

// Timings for scripts/gpu_check.sh (run with --gtest_also_run_disabled_tests): one NTK
// evaluation (forward, Jacobian, Gram, eigenvalues) of the round-1 supernet and a single cell at
// B = 72 and 128, and one linear-region evaluation (3 x 1000 samples), CPU and CUDA, with the
// proxies each backend computed.
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

template <class F>
double best_of(int repeats, F&& f) {
  double best = 1e30;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, seconds_since(t0));
  }
  return best;
}

TEST_F(CudaBackendTest, DISABLED_TimingNtkAndLinearRegions) {
  const char* archs[] = {"supernet-none",
                         "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|"
                         "nor_conv_3x3~1|nor_conv_3x3~2|"};
  for (const char* name : archs) {
    for (int B : {72, 128}) {
      Network<float> net(build_graph(NetworkConfig::ntk(Dataset::kCifar10), Arch::parse(name)));
      net.initialize(InitMode::kPyTorchDefault, 1);
      InputSampler sampler(DataSpec{}, 2);
      const ImageBatch x = sampler.ntk_batch(B, 32);
      NtkCondition cpu;
      const double cpu_s = best_of(
          2, [&] { cpu = ntk_condition(ntk_gram(compute_jacobian(net, x.data.data(), B)), B); });
      auto exec = backend_->compile(net.graph());
      exec->set_parameters(net.params());
      NtkSpectrum gpu;
      exec->compute_jacobian(x.data.data(), B);  // warm-up: workspace, cuBLAS/cuSOLVER setup
      gpu = exec->ntk_spectrum(false);
      const double gpu_s = best_of(5, [&] {
        exec->compute_jacobian(x.data.data(), B);
        gpu = exec->ntk_spectrum(false);
      });
      const double kappa = gpu.eigenvalues.back() / gpu.eigenvalues.front();
      std::printf(
          "TIMING ntk arch=%s B=%d cpu_ms=%.2f cuda_ms=%.2f speedup=%.1f "
          "kappa_cpu=%.10g kappa_cuda=%.10g rel=%.3g\n",
          name, B, 1e3 * cpu_s, 1e3 * gpu_s, cpu_s / gpu_s, cpu.condition, kappa,
          std::abs(kappa - cpu.condition) / cpu.condition);
    }
    Network<float> net(
        build_graph(NetworkConfig::linear_regions(Dataset::kCifar10), Arch::parse(name)));
    net.initialize(InitMode::kPyTorchDefault, 1);
    InputSampler sampler(DataSpec{}, 2);
    std::vector<ImageBatch> batches;
    for (int b = 0; b < 3; ++b) batches.push_back(sampler.lr_batch(1000));
    std::int64_t cpu_count = 0, gpu_count = 0;
    const double cpu_s = best_of(3, [&] {
      LinearRegionCounter counter;
      for (const ImageBatch& b : batches) counter.add_batch(net, b.data.data(), b.n);
      cpu_count = counter.count();
    });
    auto exec = backend_->compile(net.graph());
    exec->set_parameters(net.params());
    auto lr = [&] {
      exec->clear_patterns();
      for (const ImageBatch& b : batches) exec->forward(b.data.data(), b.n, true);
      gpu_count = exec->count_patterns();
    };
    lr();  // warm-up
    const double gpu_s = best_of(5, lr);
    std::printf(
        "TIMING linear_regions arch=%s samples=3x1000 cpu_ms=%.2f cuda_ms=%.2f "
        "speedup=%.1f count_cpu=%lld count_cuda=%lld\n",
        name, 1e3 * cpu_s, 1e3 * gpu_s, cpu_s / gpu_s, static_cast<long long>(cpu_count),
        static_cast<long long>(gpu_count));
    EXPECT_EQ(gpu_count, cpu_count);
  }
}

}  // namespace
}  // namespace micronas
