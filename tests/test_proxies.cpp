// The proxies' own invariants: batched Jacobian ≡ one backward pass per row, hash count ≡ exact
// count, TE-NAS's conventions for invalid condition numbers, and score determinism.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstring>
#include <utility>

#include "micronas/error.hpp"
#include "micronas/proxies.hpp"
#include "micronas/random.hpp"
#include "micronas/score.hpp"
#include "micronas/threads.hpp"
#include "tests/test_util.hpp"

namespace micronas {
namespace {

const char* kMixed =
    "|nor_conv_3x3/skip_connect~0|+|nor_conv_1x1/avg_pool_3x3~0|none~1|+|"
    "skip_connect/nor_conv_1x1/nor_conv_3x3~0|avg_pool_3x3~1|nor_conv_3x3~2|";

TEST(Jacobian, BatchedEqualsOneBackwardPassPerRowBitwise) {
  NetworkConfig config = NetworkConfig::ntk(Dataset::kCifar10);
  config.input_size = 8;
  Network<float> net(build_graph(config, Arch::parse(kMixed)));
  net.initialize(InitMode::kPyTorchDefault, 3);
  const int B = 6, classes = 10;
  auto x = test::gaussian(B * 3 * 8 * 8, 4);
  Jacobian j = compute_jacobian(net, x.data(), B);
  ASSERT_EQ(j.rows, B);
  const std::int64_t P = net.num_params();
  for (int i = 0; i < B; ++i) {
    net.forward(x.data(), B);
    std::vector<float> cot(B * classes, 0.0f), grad(P);
    for (int c = 0; c < classes; ++c) cot[i * classes + c] = 1.0f;
    net.backward(cot.data(), 1, grad.data(), nullptr);
    const float* row = j.values.data() + i * j.cols;
    std::int64_t col = 0;
    for (int p : j.params) {
      const Parameter& param = net.graph().params[p];
      ASSERT_EQ(0, std::memcmp(row + col, grad.data() + param.offset, param.size * sizeof(float)))
          << "row " << i << " parameter " << param.name;
      col += param.size;
    }
    ASSERT_EQ(col, j.cols);
  }
  // Only "weight" parameters: no BN β, no classifier bias.
  for (int p : j.params) EXPECT_NE(net.graph().params[p].name.find("weight"), std::string::npos);
}

TEST(Jacobian, GramIsSymmetricAndMatchesDirectProducts) {
  Jacobian j;
  j.rows = 3;
  j.cols = 4;
  j.values = {1, 2, 3, 4, 0, 1, 0, 1, -2, 0.5f, 1, 0};
  std::vector<double> k = ntk_gram(j);
  EXPECT_EQ(k[0], 30.0);
  EXPECT_EQ(k[1], 6.0);
  EXPECT_EQ(k[3], 6.0);
  EXPECT_EQ(k[2 * 3 + 0], 2.0);  // -2 + 1 + 3 + 0
  EXPECT_EQ(k[8], 5.25);
}

// Rows and columns that leave partial column tiles and uneven thread shares: every entry is the
// fp64 sum over its columns (checked against a plain dot product to 1e-14 relative; the
// kernel's own order is one sum in column order, so the thread count cannot change a bit).
TEST(Jacobian, GramOfPartialTilesMatchesDotProductsOnAnyThreadCount) {
  for (const auto& [rows, cols] : {std::pair{7, 300}, std::pair{1, 5}, std::pair{72, 129}}) {
    Jacobian j;
    j.rows = rows;
    j.cols = cols;
    j.values = test::gaussian(static_cast<std::size_t>(rows) * cols, 11);
    std::vector<double> reference(static_cast<std::size_t>(rows) * rows);
    for (int a = 0; a < rows; ++a)
      for (int b = 0; b < rows; ++b) {
        double s = 0.0;
        for (int c = 0; c < cols; ++c)
          s += static_cast<double>(j.values[a * cols + c]) * j.values[b * cols + c];
        reference[a * rows + b] = s;
      }
    const int threads_before = num_threads();
    set_num_threads(1);
    const std::vector<double> one = ntk_gram(j);
    for (int a = 0; a < rows; ++a)
      for (int b = 0; b < rows; ++b) {
        const double r = reference[a * rows + b];
        EXPECT_NEAR(one[a * rows + b], r, 1e-14 * cols * (std::abs(r) + 1))
            << rows << " x " << cols << " entry " << a << ", " << b;
        EXPECT_EQ(one[a * rows + b], one[b * rows + a]) << "symmetric";
      }
    for (int threads : {2, 3}) {
      set_num_threads(threads);
      EXPECT_EQ(ntk_gram(j), one) << rows << " x " << cols << ", " << threads << " threads";
    }
    set_num_threads(threads_before);
  }
}

TEST(NtkCondition, ReportsInvalidValuesExplicitlyAndTheTeNasValue) {
  // diag(1, 4): well conditioned.
  NtkCondition ok = ntk_condition({4, 0, 0, 1}, 2);
  EXPECT_TRUE(ok.valid);
  EXPECT_DOUBLE_EQ(ok.condition, 4.0);
  EXPECT_DOUBLE_EQ(ok.tenas_condition, 4.0);
  // Singular: λ = {0, 2}. TE-NAS divides anyway: 2/0 = +Inf -> DBL_MAX after nan_to_num.
  NtkCondition singular = ntk_condition({1, 1, 1, 1}, 2);
  EXPECT_FALSE(singular.valid);
  EXPECT_TRUE(std::isnan(singular.condition));
  EXPECT_FALSE(singular.invalid_reason.empty());
  // Indefinite: λ = {-1, 3}: TE-NAS reports the negative ratio as is.
  NtkCondition indefinite = ntk_condition({1, 2, 2, 1}, 2);
  EXPECT_FALSE(indefinite.valid);
  EXPECT_NEAR(indefinite.tenas_condition, -3.0, 1e-12);
  // NaN in K: TE-NAS's nan_to_num gives 1e5.
  NtkCondition nan = ntk_condition({NAN, 0, 0, 1}, 2);
  EXPECT_FALSE(nan.valid);
  EXPECT_EQ(nan.tenas_condition, 1e5);
  EXPECT_THROW(ntk_condition({1, 2, 3}, 2), Error);
}

TEST(LinearRegions, CountDistinctRowsIsExact) {
  EXPECT_EQ(count_distinct_rows({{1}, {2}, {1}, {3, 1}, {3, 1}, {3, 2}}), 4);
  EXPECT_EQ(count_distinct_rows({}), 0);
}

// Hash count ≡ exact count, over archs, seeds, and inputs with planted duplicates.
TEST(LinearRegions, HashCountEqualsExactCountIncludingDuplicates) {
  Rng pick(17);
  for (int trial = 0; trial < 12; ++trial) {
    Arch arch = trial == 0 ? Arch::parse("supernet-none")
                           : Arch::from_cell_id(static_cast<int>(pick.below(kNumCells)));
    Network<float> net(build_graph(NetworkConfig::linear_regions(Dataset::kCifar10), arch));
    net.initialize(InitMode::kPyTorchDefault, 100 + trial);
    LinearRegionCounter counter(/*verify=*/true);
    for (int b = 0; b < 3; ++b) {
      const int n = 400;
      auto x = test::gaussian(n * 9, 1000 * trial + b);
      // Plant duplicates: the second quarter copies the first.
      std::copy(x.begin(), x.begin() + 100 * 9, x.begin() + 100 * 9);
      counter.add_batch(net, x.data(), n);  // throws if hash and exact counts differ
    }
    EXPECT_EQ(counter.count(), counter.exact_count()) << arch.to_string();
    EXPECT_LE(counter.count(), 1200 - 300);  // duplicated samples share a pattern
    EXPECT_GE(counter.count(), 1) << arch.to_string();
  }
}

TEST(Score, DeterministicForSeedAndDifferentAcrossSeeds) {
  ScoreOptions o;
  o.batch = 8;
  o.repeats = 2;
  o.lr_samples = 200;
  Arch arch = Arch::parse(kMixed);
  ScoreResult a = score_architecture(arch, o), b = score_architecture(arch, o);
  ASSERT_EQ(a.repeats.size(), 2u);
  for (std::size_t r = 0; r < a.repeats.size(); ++r) {
    EXPECT_EQ(a.repeats[r].ntk.tenas_condition, b.repeats[r].ntk.tenas_condition);
    EXPECT_EQ(a.repeats[r].linear_regions, b.repeats[r].linear_regions);
    EXPECT_TRUE(a.repeats[r].ntk.valid);
    EXPECT_GT(a.repeats[r].ntk.condition, 1.0);
    EXPECT_GT(a.repeats[r].linear_regions, 1);
  }
  // Repeats see different data.
  EXPECT_NE(a.repeats[0].ntk.tenas_condition, a.repeats[1].ntk.tenas_condition);
  o.seed = 1;
  ScoreResult c = score_architecture(arch, o);
  EXPECT_NE(a.repeats[0].ntk.tenas_condition, c.repeats[0].ntk.tenas_condition);
  // NB201 FLOPs/params of the evaluation network come along.
  EXPECT_GT(a.size.macs, 0);
}

TEST(Score, RejectsBadOptions) {
  ScoreOptions o;
  o.batch = 1;
  EXPECT_THROW(score_architecture(Arch(), o), Error);
  o = ScoreOptions();
  o.repeats = 0;
  EXPECT_THROW(score_architecture(Arch(), o), Error);
}

}  // namespace
}  // namespace micronas
