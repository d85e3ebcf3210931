// The proxies through the backend seam against the CPU network computed directly: bitwise on
// the CPU backend (the seam changes no number), within the fp32 bound below on CUDA, on cells,
// supernet states and seeds, with synthetic and real CIFAR-10 inputs. Linear-region counts are
// equal on every backend. The pruning search returns the same cell on every backend.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "micronas/data.hpp"
#include "micronas/error.hpp"
#include "micronas/pruning_search.hpp"
#include "runtime/proxy_evaluator.hpp"
#include "tests/backend_test_util.hpp"
#include "tests/test_util.hpp"

namespace micronas {
namespace {

const char* kArchs[] = {
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~"
    "2|",
    "|nor_conv_3x3/skip_connect~0|+|nor_conv_1x1/avg_pool_3x3~0|none~1|+|"
    "skip_connect/nor_conv_1x1/nor_conv_3x3~0|avg_pool_3x3~1|nor_conv_3x3~2|",
    "supernet-none",
};

// Tolerance on κ between two backends that both compute J in fp32. A perturbation δJ of J moves
// each eigenvalue of K = J Jᵀ by at most 2‖J‖‖δJ‖ + ‖δJ‖² (Weyl), and the backends' J differ by
// rounding: ‖δJ‖ ≤ c·u·‖J‖ with u = 2^-24 and c the (modest) growth of rounding through the
// layers. So δλ_min/λ_min ≤ 2·c·u·‖J‖²/λ_min = 2·c·u·κ: the relative error of κ grows linearly
// in κ. Below κ = 1e3 we require 1e-5 (the errors of independent roundings largely cancel);
// above, the bound grows with κ from there: 1e-5 · κ / 1e3, i.e. c·u ≈ 5e-9 per unit of κ.
double kappa_tolerance(double kappa) { return kappa < 1e3 ? 1e-5 : 1e-5 * kappa / 1e3; }

struct Direct {
  NtkCondition ntk;
  std::int64_t regions = 0;
};

// The CPU network, Jacobian, Gram and counter called directly, without the seam.
Direct direct_cpu(const ProxyNetwork& ntk_net, const ProxyNetwork& lr_net, const ImageBatch& ntk,
                  const std::vector<ImageBatch>& lr) {
  Direct d;
  Network<float> net(ntk_net.graph());
  std::copy(ntk_net.parameters().begin(), ntk_net.parameters().end(), net.params());
  Jacobian j = compute_jacobian(net, ntk.data.data(), ntk.n);
  d.ntk = ntk_condition(ntk_gram(j), j.rows);
  Network<float> lnet(lr_net.graph());
  std::copy(lr_net.parameters().begin(), lr_net.parameters().end(), lnet.params());
  LinearRegionCounter counter;
  for (const ImageBatch& b : lr) counter.add_batch(lnet, b.data.data(), b.n);
  d.regions = counter.count();
  return d;
}

void check_parity(BackendKind kind, const DataSpec& data) {
  std::unique_ptr<Backend> probe = test::backend_or_skip(kind);
  if (!probe) return;
  ProxyEvaluator evaluator(ComputeContext::of(kind));
  for (const char* arch_text : kArchs) {
    const Arch arch = Arch::parse(arch_text);
    for (std::uint64_t seed : {0u, 1u}) {
      SCOPED_TRACE(std::string(arch_text) + " seed " + std::to_string(seed) + " " +
                   data.to_string());
      InputSampler sampler(data, seed);
      const ImageBatch ntk = sampler.ntk_batch(24, 32);
      std::vector<ImageBatch> lr = {sampler.lr_batch(300), sampler.lr_batch(300)};
      ProxyNetwork ntk_net = evaluator.network(NetworkConfig::ntk(Dataset::kCifar10), arch);
      ProxyNetwork lr_net =
          evaluator.network(NetworkConfig::linear_regions(Dataset::kCifar10), arch);
      ntk_net.initialize(seed ? InitMode::kKaimingFanOut : InitMode::kPyTorchDefault, seed + 5);
      lr_net.initialize(seed ? InitMode::kKaimingFanIn : InitMode::kPyTorchDefault, seed + 6);

      const NtkCondition got = evaluator.ntk_condition(ntk_net, ntk);
      const std::int64_t regions = evaluator.linear_regions(lr_net, lr);
      const Direct want = direct_cpu(ntk_net, lr_net, ntk, lr);
      EXPECT_EQ(regions, want.regions);
      EXPECT_EQ(got.valid, want.ntk.valid);
      if (kind == BackendKind::kCpu) {
        EXPECT_EQ(got.eigenvalues, want.ntk.eigenvalues);
        EXPECT_EQ(got.tenas_condition, want.ntk.tenas_condition);
      } else if (want.ntk.valid && got.valid) {
        const double rel = std::abs(got.condition / want.ntk.condition - 1.0);
        EXPECT_LE(rel, kappa_tolerance(want.ntk.condition))
            << "kappa " << got.condition << " vs CPU " << want.ntk.condition;
      }
    }
  }
}

class BackendParity : public ::testing::TestWithParam<BackendKind> {};

TEST_P(BackendParity, ProxiesOnSyntheticInputs) { check_parity(GetParam(), DataSpec{}); }

TEST_P(BackendParity, ProxiesOnCifar10Images) {
  MICRONAS_REQUIRE_DATA("cifar/cifar10_test_first846.bin");
  check_parity(GetParam(),
               DataSpec::parse("cifar10:" + test::data_path("cifar/cifar10_test_first846.bin")));
}

TEST_P(BackendParity, LinearRegionVerificationAgreesWithExactBitRows) {
  std::unique_ptr<Backend> probe = test::backend_or_skip(GetParam());
  if (!probe) return;
  ProxyEvaluator evaluator(ComputeContext::of(GetParam()));
  ProxyNetwork net =
      evaluator.network(NetworkConfig::linear_regions(Dataset::kCifar10), Arch::parse(kArchs[1]));
  net.initialize(InitMode::kPyTorchDefault, 3);
  InputSampler sampler(DataSpec{}, 4);
  EXPECT_GT(evaluator.linear_regions(net, {sampler.lr_batch(500)}, /*verify=*/true), 1);
}

// The search on another backend returns the CPU's cell for seeds 0-4 (small settings so that
// the CPU side stays fast; only meaningful where a second backend exists).
TEST_P(BackendParity, PruningSearchReturnsTheCpuCell) {
  if (GetParam() == BackendKind::kCpu) GTEST_SKIP() << "compares another backend with the CPU";
  std::unique_ptr<Backend> probe = test::backend_or_skip(GetParam());
  if (!probe) return;
  for (std::uint64_t seed = 0; seed < 5; ++seed) {
    SearchOptions o;
    o.proxies.batch = 32;
    o.proxies.repeats = 1;
    o.proxies.lr_samples = 200;
    o.proxies.seed = seed;
    SearchResult cpu = prune_search(o);
    o.proxies.context = ComputeContext::of(GetParam());
    SearchResult other = prune_search(o);
    EXPECT_EQ(other.arch.to_string(), cpu.arch.to_string()) << "seed " << seed;
  }
}

INSTANTIATE_TEST_SUITE_P(AllBackends, BackendParity,
                         ::testing::Values(BackendKind::kCpu, BackendKind::kCuda),
                         test::backend_test_name);

TEST(ComputeContext, ResolvesAutoAndRefusesWhatIsAbsent) {
  EXPECT_EQ(ComputeContext::cpu(2).resolved().backend, BackendKind::kCpu);
  const ComputeContext automatic = ComputeContext::of(BackendKind::kAuto).resolved();
  EXPECT_EQ(automatic.backend, cuda_devices().empty() ? BackendKind::kCpu : BackendKind::kCuda);
  EXPECT_NE(automatic.describe().find(backend_name(automatic.backend)), std::string::npos);
  try {
    ComputeContext::cuda(cuda_devices().empty() ? 0 : 64).resolved();
    FAIL() << "an absent CUDA device was accepted";
  } catch (const Error& e) {
    const std::string what = e.what();
    if (!cuda_compiled()) {
      EXPECT_EQ(e.status(), Status::kUnsupported);
      EXPECT_NE(what.find("no CUDA backend"), std::string::npos) << what;
    } else if (cuda_devices().empty()) {
      EXPECT_EQ(e.status(), Status::kUnsupported);
      EXPECT_NE(what.find("no CUDA device"), std::string::npos) << what;
    } else {
      EXPECT_EQ(e.status(), Status::kInvalidArgument);
    }
  }
  EXPECT_THROW(ComputeContext::cpu(-1).resolved(), Error);
  EXPECT_THROW(backend_from_name("gpu"), Error);
  for (BackendKind k : {BackendKind::kCpu, BackendKind::kCuda, BackendKind::kAuto})
    EXPECT_EQ(backend_from_name(backend_name(k)), k);
}

TEST(ComputeContext, ScoreOptionsCarryTheBackend) {
  ScoreOptions o;
  o.batch = 8;
  o.repeats = 1;
  o.lr_samples = 50;
  o.lr_batches = 1;
  const Arch cell = Arch::parse(kArchs[0]);
  const ScoreResult a = score_architecture(cell, o);
  o.context = ComputeContext::cpu(1);
  const ScoreResult b = score_architecture(cell, o);
  EXPECT_EQ(a.ntk_condition, b.ntk_condition);  // bitwise for any thread count
  EXPECT_EQ(a.linear_regions, b.linear_regions);
  if (cuda_devices().empty()) {
    o.context = ComputeContext::cuda(0);
    EXPECT_THROW(score_architecture(cell, o), Error);
  }
}

}  // namespace
}  // namespace micronas
