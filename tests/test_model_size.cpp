// FLOPs and params of NB201's evaluation network must equal the benchmark's own numbers for
// every one of the 15,625 cells and all three datasets (tables read in place).
#include <gtest/gtest.h>

#include <cmath>

#include "micronas/benchmark_table.hpp"
#include "micronas/graph.hpp"
#include "tests/test_util.hpp"

namespace micronas {
namespace {

// The tables print FLOPs and params in M with 5 or 6 decimals: a match within half a unit of the
// last printed digit is an exact match of the integer counts.
void expect_all_cells_match(const std::string& file, Dataset dataset, const std::string& flops,
                            const std::string& params) {
  BenchmarkTable table = BenchmarkTable::load(test::data_path(file));
  ASSERT_EQ(table.size(), 15625u);
  NetworkConfig config = NetworkConfig::nb201(dataset);
  int mismatches = 0;
  for (std::size_t row = 0; row < table.size(); ++row) {
    ModelSize size = model_size(build_graph(config, table.arch(row)));
    double want_flops = table.value(row, flops), want_params = table.value(row, params);
    ASSERT_FALSE(std::isnan(want_flops));
    if (std::abs(size.flops_m() - want_flops) > 6e-6 ||
        std::abs(size.params_m() - want_params) > 6e-7) {
      if (++mismatches <= 5)
        ADD_FAILURE() << table.arch(row).to_string() << ": flops " << size.flops_m() << " vs "
                      << want_flops << ", params " << size.params_m() << " vs " << want_params;
    }
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(ModelSize, Cifar10AllCells) {
  MICRONAS_REQUIRE_DATA("nb201/nb201.csv");

  expect_all_cells_match("nb201/nb201.csv", Dataset::kCifar10, "flops_m", "params_m");
}
TEST(ModelSize, Cifar100AllCells) {
  MICRONAS_REQUIRE_DATA("nb201/nb201_extended.csv");

  expect_all_cells_match("nb201/nb201_extended.csv", Dataset::kCifar100, "flops_m_cifar100",
                         "params_m_cifar100");
}
TEST(ModelSize, ImageNet16AllCells) {
  MICRONAS_REQUIRE_DATA("nb201/nb201_extended.csv");

  expect_all_cells_match("nb201/nb201_extended.csv", Dataset::kImageNet16, "flops_m_imagenet16",
                         "params_m_imagenet16");
}

TEST(ModelSize, Arch0Anchor) {
  Arch a = Arch::parse(
      "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|"
      "skip_connect~2|");
  ModelSize s = model_size(build_graph(NetworkConfig::nb201(Dataset::kCifar10), a));
  EXPECT_EQ(s.macs, 15647370);
  EXPECT_EQ(s.params, 129306);
}

TEST(ModelSize, NtkNetParameterCount) {
  // TE-NAS's NTK net with all four non-none ops: P(weight) = 14,244 + 12 * classes.
  Graph g = build_graph(NetworkConfig::ntk(Dataset::kCifar10), Arch::parse("supernet-none"));
  std::int64_t weights = 0;
  for (const Parameter& p : g.params)
    if (p.is_weight()) weights += p.size;
  EXPECT_EQ(weights, 14244 + 12 * 10);
}

}  // namespace
}  // namespace micronas
