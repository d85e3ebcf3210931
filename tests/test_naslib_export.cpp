// NAS-Bench-Suite-Zero export: NASLib's op-index keys (checked against NASLib's own keys in the
// shared reference data) and the JSON shape its get_zc_benchmark_api reads.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "micronas/error.hpp"
#include "micronas/naslib_export.hpp"
#include "tests/test_util.hpp"

namespace micronas {
namespace {

TEST(NaslibExport, KeysEqualNaslibsOwnForEveryPublishedArch) {
  MICRONAS_REQUIRE_DATA("nb201/nb201_zc_naslib_subset.csv");
  std::ifstream in(test::data_path("nb201/nb201_zc_naslib_subset.csv"));
  std::string header, line;
  std::getline(in, header);
  int checked = 0;
  while (std::getline(in, line)) {
    // dataset,index,arch,"(i0, ..., i5)",...
    const auto q1 = line.find('"'), q2 = line.find('"', q1 + 1);
    ASSERT_NE(q2, std::string::npos) << line;
    const std::string key = line.substr(q1 + 1, q2 - q1 - 1);
    const auto a1 = line.find('|');
    const std::string arch = line.substr(a1, line.rfind('|', q1) - a1 + 1);
    EXPECT_EQ(naslib_arch_key(Arch::parse(arch)), key) << arch;
    ++checked;
  }
  EXPECT_GT(checked, 2000);
}

TEST(NaslibExport, JsonHasNaslibsShape) {
  MICRONAS_REQUIRE_DATA("nb201/nb201.csv");
  const BenchmarkTable table = BenchmarkTable::load(test::data_path("nb201/nb201.csv"));
  SweepRow row;
  row.arch = Arch::parse(
      "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
      "nor_conv_3x3~2|");
  row.cell_id = row.arch.cell_id();
  row.ntk_condition = 123.5;
  row.linear_regions = 900;
  row.latency_ms = 20;
  row.ntk_seconds = 0.25;
  const auto j = nlohmann::json::parse(
      naslib_zero_cost_json({row}, Dataset::kCifar10, &table, "cifar10_test"));
  const auto& entry = j.at("cifar10").at("(2, 2, 0, 2, 2, 2)");
  EXPECT_EQ(entry.at("id"), 9930);
  EXPECT_NEAR(entry.at("val_accuracy").get<double>(), 94.363333, 1e-9);
  EXPECT_EQ(entry.at("tenas_ntk").at("score"), -123.5);
  EXPECT_EQ(entry.at("tenas_ntk").at("time"), 0.25);
  EXPECT_EQ(entry.at("tenas_linear_regions").at("score"), 900);
  EXPECT_EQ(entry.at("mcu_latency").at("score"), -20);
  EXPECT_THROW(naslib_zero_cost_json({row}, Dataset::kCifar10, &table, "bogus"), Error);
  EXPECT_THROW(naslib_arch_key(Arch::parse("supernet")), Error);
}

}  // namespace
}  // namespace micronas
