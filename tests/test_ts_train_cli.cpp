// `micronas ts-train` as a user runs it: help, JSON output, one-line errors with their exit
// statuses, checkpoint resume to the bitwise-identical result, and BasicMotions.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>

#include "micronas/timeseries_data.hpp"
#include "tests/test_util.hpp"

namespace micronas {
namespace {

using test::run_cli;

// The smallest network of the synthetic data's space (128 x 9, 6 classes: 3 Time-Reduce and
// 1 + 2 Sensor-Fusion cells).
const std::string kSmall = "'tr:k3w4|tr:k3w4|tr:k3w4|sf:b8[3]w8|sf:skip|sf:skip'";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string temp_path(const std::string& name) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("micronas_ts_train_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

TEST(TsTrainCli, HelpAndJson) {
  auto help = run_cli("--help");
  EXPECT_NE(help.output.find("ts-train"), std::string::npos);
  auto verb = run_cli("ts-train --help");
  ASSERT_EQ(verb.status, 0) << verb.output;
  for (const char* option : {"--data", "--epochs", "--checkpoint", "--optimizer", "--clip"})
    EXPECT_NE(verb.output.find(option), std::string::npos) << option;
  auto r = run_cli("ts-train " + kSmall + " --epochs 2 --batch 32 --val-fraction 0.2 --json",
                   "2>/dev/null");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["window"]["length"], 128);
  EXPECT_EQ(j["window"]["classes"], 6);
  EXPECT_EQ(j["epochs"], 2);
  EXPECT_EQ(j["train_loss"].size(), 2u);
  EXPECT_GT(j["cases"]["validation"].get<int>(), 0);
  EXPECT_GT(j["model"]["macs"].get<long long>(), 0);
  // The deployed cost on the default targets, as `ts-cost` computes it.
  ASSERT_EQ(j["mcu"].size(), 2u);
  EXPECT_EQ(j["mcu"][0]["target"], "stm32l552");
  EXPECT_EQ(j["mcu"][1]["target"], "stm32f446re");
  auto cost = run_cli("ts-cost " + kSmall + " --target stm32l552 --json");
  ASSERT_EQ(cost.status, 0) << cost.output;
  const auto c = nlohmann::json::parse(cost.output);
  EXPECT_EQ(j["mcu"][0]["latency_ms"], c["latency_ms"]);
  EXPECT_EQ(j["mcu"][0]["peak_sram_kb"], c["peak_sram_kb"]);
  EXPECT_EQ(j["mcu"][0]["flash_kb"], c["flash_kb"]);
  const double acc = j["test"]["accuracy"];
  EXPECT_TRUE(acc >= 0.0 && acc <= 1.0);
  EXPECT_TRUE(j["validation"].contains("macro_f1"));
}

TEST(TsTrainCli, ErrorsAreOneLineWithTheirStatus) {
  struct Case {
    std::string args;
    int status;
  };
  const Case cases[] = {
      {"ts-train 'tr:k3w4'", 2},                           // cell counts of another space
      {"ts-train " + kSmall + " --data bogus", 2},         // unknown data source
      {"ts-train " + kSmall + " --optimizer rmsprop", 2},  // unknown optimiser
      {"ts-train " + kSmall + " --target stm32f746,nosuchboard", 2},  // unknown target
      {"ts-train " + kSmall + " --batch 1", 2},  // batch norm needs two samples
      {"ts-train " + kSmall + " --data ts:/nonexistent_a.ts,/nonexistent_b.ts", 5}};
  for (const Case& c : cases) {
    auto r = run_cli(c.args);
    EXPECT_EQ(test::exit_status(r), c.status) << c.args << " -> " << r.output;
    EXPECT_EQ(r.output.rfind("micronas: error: ", 0), 0u) << c.args << " -> " << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  }
}

// An interrupted run (--stop-after) resumed from its checkpoint ends bitwise where an
// uninterrupted run ends: the same checkpoint bytes, losses and scores. Other options are
// refused.
TEST(TsTrainCli, CheckpointResumesToTheUninterruptedResult) {
  for (const std::string optimizer : {"adam", "sgd"}) {
    const std::string a = temp_path("a_" + optimizer), b = temp_path("b_" + optimizer);
    std::filesystem::remove(a), std::filesystem::remove(b);
    const std::string args = "ts-train " + kSmall + " --epochs 3 --batch 64 --seed 5 --json " +
                             "--optimizer " + optimizer + " --lr 0.01 --checkpoint ";
    auto full = run_cli(args + a, "2>/dev/null");
    ASSERT_EQ(full.status, 0) << full.output;
    auto part = run_cli(args + b + " --stop-after 1", "2>/dev/null");
    ASSERT_EQ(part.status, 0) << part.output;
    EXPECT_FALSE(nlohmann::json::parse(part.output)["complete"].get<bool>());
    auto rest = run_cli(args + b, "2>/dev/null");
    ASSERT_EQ(rest.status, 0) << rest.output;
    const auto jf = nlohmann::json::parse(full.output), jr = nlohmann::json::parse(rest.output);
    EXPECT_EQ(jf["train_loss"], jr["train_loss"]) << optimizer;
    EXPECT_EQ(jf["test"], jr["test"]) << optimizer;
    EXPECT_EQ(read_file(a), read_file(b)) << optimizer << ": checkpoints differ";
    EXPECT_FALSE(read_file(a).empty());
    auto other = run_cli("ts-train " + kSmall + " --epochs 3 --batch 64 --seed 5 --optimizer " +
                         optimizer + " --lr 0.02 --checkpoint " + a);
    EXPECT_EQ(test::exit_status(other), 2) << other.output;
    EXPECT_NE(other.output.find("other options"), std::string::npos) << other.output;
  }
  std::filesystem::remove_all(std::filesystem::path(temp_path("x")).parent_path());
}

// UCI-HAR's directory layout, on a small copy written here (12 windows per split, 2 per class).
TEST(TsTrainCli, UciHarLayout) {
  const std::string root = temp_path("har");
  for (const std::string split : {"train", "test"}) {
    std::filesystem::create_directories(root + "/" + split + "/Inertial Signals");
    std::ofstream y(root + "/" + split + "/y_" + split + ".txt");
    for (int n = 0; n < 12; ++n) y << (n % 6) + 1 << "\n";
    for (int s = 0; s < 9; ++s) {
      std::ofstream f(root + "/" + split + "/Inertial Signals/" +
                      timeseries::uci_har_channels()[s] + "_" + split + ".txt");
      for (int n = 0; n < 12; ++n) {
        for (int t = 0; t < 128; ++t) f << " " << ((n % 6) * 0.1 + (t % 7) * 0.01 + s * 0.001);
        f << "\n";
      }
    }
  }
  auto r =
      run_cli("ts-train " + kSmall + " --data 'uci-har:" + root + "' --epochs 2 --batch 4 --json",
              "2>/dev/null");
  std::filesystem::remove_all(std::filesystem::path(root).parent_path());
  ASSERT_EQ(r.status, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["window"]["length"], 128);
  EXPECT_EQ(j["window"]["sensors"], 9);
  EXPECT_EQ(j["window"]["classes"], 6);
  EXPECT_EQ(j["cases"]["train"], 12);
  EXPECT_EQ(j["cases"]["test"], 12);
}

// A .ts file of unequal lengths (as PickupGestureWiimoteZ) is refused with the option that fixes
// it named, and read with --length: every series cut or zero-padded to that length.
TEST(TsTrainCli, UnequalLengthsNeedLength) {
  const std::string train = temp_path("unequal_train.ts"), test = temp_path("unequal_test.ts");
  for (const std::string& path : {train, test}) {
    std::ofstream f(path);
    f << "@problemName Unequal\n@timeStamps false\n@missing false\n@univariate true\n"
      << "@equalLength false\n@classLabel true a b\n@data\n";
    for (int n = 0; n < 8; ++n) {
      const int length = 30 + 7 * n;  // 30 .. 79 steps
      for (int t = 0; t < length; ++t) f << (t ? "," : "") << ((n % 2) ? t % 5 : -(t % 3));
      f << ":" << ((n % 2) ? "b" : "a") << "\n";
    }
  }
  const std::string cmd = "ts-train 'tr:k3w4|sf:b8[3]w8|sf:skip|sf:skip' --data ts:" + train + "," +
                          test + " --epochs 1 --batch 4 --json";
  auto refused = run_cli(cmd, "2>&1 >/dev/null");
  EXPECT_EQ(test::exit_status(refused), 2) << refused.output;
  EXPECT_NE(refused.output.find("unequal lengths"), std::string::npos) << refused.output;
  EXPECT_NE(refused.output.find("--length"), std::string::npos) << refused.output;
  auto r = run_cli(cmd + " --length 40", "2>/dev/null");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["window"]["length"], 40);
  EXPECT_EQ(j["window"]["sensors"], 1);
  // A file that is not a .ts file at all is a file error (exit 5), not a usage error.
  { std::ofstream(train) << "garbage\n"; }
  auto malformed = run_cli(cmd, "2>&1 >/dev/null");
  EXPECT_EQ(test::exit_status(malformed), 5) << malformed.output;
  EXPECT_NE(malformed.output.find(train + ":1:"), std::string::npos) << malformed.output;
  auto wrong = run_cli("ts-train 'tr:k3w4|tr:k3w4|tr:k3w4|sf:b8[3]w8|sf:skip|sf:skip' --length 40",
                       "2>&1 >/dev/null");
  EXPECT_EQ(test::exit_status(wrong), 2) << wrong.output;
  EXPECT_NE(wrong.output.find("--length applies to ts: data only"), std::string::npos);
}

// Real smartwatch data: a small hand-picked architecture reaches at least 95 % test accuracy
// (bench/README.md records 5 seeds).
TEST(TsTrainCli, BasicMotions) {
  MICRONAS_REQUIRE_DATA("timeseries/BasicMotions_TRAIN.ts");
  const std::string data = "ts:" + test::data_path("timeseries/BasicMotions_TRAIN.ts") + "," +
                           test::data_path("timeseries/BasicMotions_TEST.ts");
  auto r = run_cli("ts-train 'tr:k5w8|tr:k5w16|sf:b16[3,5,7]w32r|sf:skip|sf:skip' --data " + data +
                       " --epochs 40 --batch 8 --lr 0.003 --seed 0 --json",
                   "2>/dev/null");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["window"]["length"], 100);
  EXPECT_EQ(j["window"]["sensors"], 6);
  EXPECT_GE(j["test"]["accuracy"].get<double>(), 0.95);
}

}  // namespace
}  // namespace micronas
