// `micronas ts-cost` as a user runs it: the per-op table, JSON equal to the library's estimate,
// and one-line errors with the usage status.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "micronas/mcu.hpp"
#include "micronas/timeseries_cost.hpp"
#include "tests/test_util.hpp"

namespace {

using micronas::test::CliResult;
CliResult run(const std::string& args) { return micronas::test::run_cli(args); }

const std::string kArchText = "tr:k5w8|tr:k3w12|tr:k7w16|sf:b16[3,7]w32r|sf:skip|sf:b8[5]w24";
const std::string kArch = "'" + kArchText + "'";

void expect_usage_error(const CliResult& r, const std::string& needle) {
  EXPECT_EQ(micronas::test::exit_status(r), 2) << r.output;
  EXPECT_EQ(r.output.rfind("micronas: error: ", 0), 0u) << r.output;
  EXPECT_EQ(r.output.find('\n'), r.output.size() - 1) << r.output;
  EXPECT_NE(r.output.find(needle), std::string::npos) << r.output;
}

TEST(TsCostCli, TableNamesEveryOpAndTheTotals) {
  CliResult r = run("ts-cost " + kArch);
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* s : {"CONV_2D", "ADD", "MEAN", "SOFTMAX", "sf1.sum7", "head.conv", "latency_ms",
                        "peak_sram_kb", "flash_kb", "reference_peak_memory_bytes"})
    EXPECT_NE(r.output.find(s), std::string::npos) << s << "\n" << r.output;
}

TEST(TsCostCli, JsonEqualsTheLibrary) {
  CliResult r = run("ts-cost " + kArch + " --target stm32l552 --json");
  ASSERT_EQ(r.status, 0) << r.output;
  const nlohmann::json j = nlohmann::json::parse(r.output);
  namespace ts = micronas::timeseries;
  const ts::Space har(128, 9, 6);
  const ts::LayerGraph g = ts::lower(har, har.parse(kArchText));
  const micronas::mcu::NetworkEstimate est =
      ts::estimate_cost(micronas::mcu::load_target("stm32l552"), g).network;
  EXPECT_EQ(j["target"], "stm32l552");
  EXPECT_EQ(j["window"], "128x9");
  EXPECT_EQ(j["classes"], 6);
  EXPECT_DOUBLE_EQ(j["latency_ms"].get<double>(), est.latency_ms);
  EXPECT_EQ(j["peak_sram_bytes"].get<std::int64_t>(), est.peak_sram_bytes);
  EXPECT_EQ(j["model_flash_bytes"].get<std::int64_t>(), est.model_flash_bytes);
  EXPECT_EQ(j["reference_peak_memory_bytes"].get<std::int64_t>(),
            ts::reference_peak_memory_bytes(g));
  ASSERT_EQ(j["layers"].size(), est.layers.size());
  double sum = 0;
  for (const auto& l : j["layers"]) sum += l["ms"].get<double>();
  EXPECT_NEAR(sum, est.latency_ms, 1e-9 * est.latency_ms);
  EXPECT_EQ(j["layers"][0]["input"], "128x9x1");
  EXPECT_EQ(j["layers"][0]["kernel"], "5x1");
  EXPECT_EQ(j["layers"][0]["stride"], "2x1");
}

TEST(TsCostCli, OtherWindowsArchJsonAndOptions) {
  CliResult r = run(
      "ts-cost '{\"time_reduce\": [{\"kernel\": 3, \"width\": 4}, {\"kernel\": 3, \"width\": 4}], "
      "\"sensor_fusion\": [{\"bottleneck\": 8, \"branches\": [3], \"width\": 8, \"residual\": "
      "\"none\"}, {\"skip\": true}, {\"skip\": true}, {\"bottleneck\": 8, \"branches\": [5], "
      "\"width\": 8, \"residual\": \"conv\"}, {\"skip\": true}, {\"skip\": true}]}' "
      "--window 64x30 --classes 10 --target stm32f446re --runtime codegen --clock-mhz 90 --json");
  ASSERT_EQ(r.status, 0) << r.output;
  const nlohmann::json j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["window"], "64x30");
  EXPECT_EQ(j["clock_mhz"], 90);
  EXPECT_EQ(j["runtime"], "codegen");
  EXPECT_EQ(j["arch"], "tr:k3w4|tr:k3w4|sf:b8[3]w8|sf:skip|sf:skip|sf:b8[5]w8r|sf:skip|sf:skip");
}

TEST(TsCostCli, ErrorsAreOneLineWithTheUsageStatus) {
  expect_usage_error(run("ts-cost " + kArch + " --window 128by9"), "--window");
  expect_usage_error(run("ts-cost " + kArch + " --window 99999999x9"), "too large");
  expect_usage_error(run("ts-cost 'tr:k4w8'"), "tr:k4w8");
  expect_usage_error(run("ts-cost " + kArch + " --target nosuchboard"), "nosuchboard");
  expect_usage_error(run("ts-cost " + kArch + " --classes 1"), "--classes");
  expect_usage_error(run("ts-cost " + kArch + " --window 64x30"), "cell");
  CliResult help = run("ts-cost --help");
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.output.find("--window"), std::string::npos);
}

}  // namespace
