// `micronas ts-search` as a user runs it, on a small .ts data set the test writes (32 x 2
// windows, 2 classes): the returned network never exceeds a limit, exit status 4 naming the
// limit when nothing fits (random search included, which must end), darts reporting its
// violation unrepaired, determinism across thread counts, and checkpoint resume.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "micronas/random.hpp"
#include "tests/test_util.hpp"

namespace micronas {
namespace {

using test::exit_status;
using test::run_cli;

// A fresh directory per test process, removed when it exits.
struct TempDir {
  std::string path;
  TempDir() {
    path = (std::filesystem::temp_directory_path() / "micronas_ts_search_XXXXXX").string();
    if (!::mkdtemp(path.data())) throw std::runtime_error("mkdtemp failed");
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

std::string temp_dir() {
  static const TempDir dir;
  return dir.path;
}

// Writes TRAIN and TEST .ts files once; returns the common options of every run.
std::string base_args() {
  static const std::string args = [] {
    const std::string dir = temp_dir();
    Rng rng(1);
    for (const auto& [name, count] : {std::pair<std::string, int>{"TRAIN", 40}, {"TEST", 20}}) {
      std::ofstream f(dir + "/t_" + name + ".ts");
      f << "@problemName T\n@timeStamps false\n@missing false\n@univariate false\n"
           "@dimensions 2\n@equalLength true\n@seriesLength 32\n@classLabel true a b\n@data\n";
      for (int i = 0; i < count; ++i) {
        const int c = i % 2;
        for (int k = 0; k < 2; ++k) {
          for (int t = 0; t < 32; ++t)
            f << (t ? "," : "") << rng.normal() + (c && k == 0 ? 1.0 : 0.0);
          f << ":";
        }
        f << (c ? "b" : "a") << "\n";
      }
    }
    return "--data ts:" + dir + "/t_TRAIN.ts," + dir + "/t_TEST.ts --batch 8 --no-progress";
  }();
  return args;
}

// Two training epochs for the methods that train during the search (zero-shot refuses --epochs).
std::string epochs(const std::string& args) {
  return args.find("zero-shot") == std::string::npos ? " --epochs 2" : "";
}

nlohmann::json run_json(const std::string& args) {
  auto r =
      run_cli("ts-search " + base_args() + epochs(args) + " " + args + " --json", "2>/dev/null");
  EXPECT_EQ(exit_status(r), 0) << args << "\n" << r.output;
  auto j = nlohmann::json::parse(r.output, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.output;
  return j;
}

TEST(TsSearchCli, HelpStatesThatDartsIsNotRepaired) {
  auto r = run_cli("ts-search --help");
  ASSERT_EQ(exit_status(r), 0) << r.output;
  for (const char* s : {"--method", "--max-latency-ms", "--max-sram-kb", "--max-flash-kb",
                        "--retrain-epochs", "--val-fraction", "--checkpoint", "without repair"})
    EXPECT_NE(r.output.find(s), std::string::npos) << s;
}

TEST(TsSearchCli, DnasReturnsANetworkWithinTheLimits) {
  // Without the penalty the derived network exceeds 1.4 ms: the repair must bring it under (the
  // smallest network takes 1.26 ms, its batch-norm ops included).
  const auto j = run_json(
      "--max-latency-ms 1.4 --max-flash-kb 120 --penalty-above 0 --penalty-below 0 "
      "--retrain-epochs 1");
  EXPECT_EQ(j["method"], "dnas");
  EXPECT_GT(j["derived"]["cost"]["latency_ms"].get<double>(), 1.4);
  ASSERT_FALSE(j["repair"].empty());
  EXPECT_EQ(j["repair"].back()["arch"], j["arch"]);
  EXPECT_LE(j["cost"]["latency_ms"].get<double>(), 1.4);
  EXPECT_LE(j["cost"]["flash_kb"].get<double>(), 120.0);
  EXPECT_TRUE(j["violations"].empty());
  EXPECT_EQ(j["search"]["trajectory"].size(), 2u);
  EXPECT_TRUE(j["search"]["trajectory"][0].contains("entropy"));
  // The default targets: the limits scaled by E[cost] / cost of the derived network.
  const double latency_target = j["search"]["trajectory"][0]["latency_target_ms"];
  EXPECT_TRUE(latency_target > 0 && latency_target != 1.4) << latency_target;
  const double flash_target = j["search"]["trajectory"][0]["flash_target_kb"];
  EXPECT_TRUE(flash_target > 0 && flash_target != 120) << flash_target;
  EXPECT_TRUE(j["search"]["trajectory"][0]["memory_target_kb"].is_null());
  const double acc = j["retrain"]["test"]["accuracy"];
  EXPECT_TRUE(acc >= 0.0 && acc <= 1.0);
  // The reported cost is the deployed cost ts-cost computes.
  auto cost = run_cli("ts-cost '" + j["arch"].get<std::string>() +
                      "' --window 32x2 --classes 2 --target stm32l552 --json");
  ASSERT_EQ(exit_status(cost), 0) << cost.output;
  EXPECT_EQ(nlohmann::json::parse(cost.output)["latency_ms"], j["cost"]["latency_ms"]);
}

TEST(TsSearchCli, DartsReportsItsViolationUnrepaired) {
  const auto j = run_json("--method darts --max-latency-ms 1");
  EXPECT_FALSE(j.contains("repair"));
  EXPECT_EQ(j["arch"], j["derived"]["arch"]);
  ASSERT_EQ(j["violations"].size(), 1u);
  EXPECT_EQ(j["violations"][0]["limit"], "--max-latency-ms");
  EXPECT_NEAR(j["violations"][0]["excess_percent"].get<double>(),
              100.0 * (j["cost"]["latency_ms"].get<double>() - 1.0), 1e-9);
}

// An option another method reads is refused with the methods that take it, not ignored.
TEST(TsSearchCli, OptionsOfAnotherMethodAreRefused) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--method dnas --ntk-batch 8", "--ntk-batch: only for --method zero-shot, not dnas"},
      {"--method zero-shot --penalty-above 1", "--penalty-above: only for --method dnas, not"},
      {"--method zero-shot --epochs 3", "--epochs: only for --method dnas, darts or random"},
      {"--method random --arch-lr 0.1", "--arch-lr: only for --method dnas or darts, not random"},
      {"--method darts --max-draws 5", "--max-draws: only for --method random, not darts"},
      {"--method darts --cost-targets limit", "--cost-targets: only for --method dnas, not"},
      {"--method random --checkpoint c.ckpt", "--checkpoint: only for --method dnas or darts"}};
  for (const auto& [args, message] : cases) {
    auto r = run_cli("ts-search " + base_args() + " " + args, "2>&1 >/dev/null");
    EXPECT_EQ(exit_status(r), 2) << args << ": " << r.output;
    EXPECT_NE(r.output.find("micronas: error: " + message), std::string::npos)
        << args << ": " << r.output;
  }
}

TEST(TsSearchCli, ExitFourNamingTheLimitWhenNothingFits) {
  for (const std::string method : {"dnas", "random"}) {
    auto r = run_cli("ts-search " + base_args() + " --epochs 2 --method " + method +
                     " --max-latency-ms 0.1");
    EXPECT_EQ(exit_status(r), 4) << method << ": " << r.output;
    EXPECT_NE(r.output.find("--max-latency-ms 0.1 cannot be met, the closest achievable value"),
              std::string::npos)
        << r.output;
  }
}

TEST(TsSearchCli, RandomSearchEndsAfterItsDrawCap) {
  // Feasible (the smallest network takes 1.26 ms) but rare: 30 draws find none, and it stops.
  auto r = run_cli("ts-search " + base_args() +
                   " --epochs 2 --method random --max-latency-ms 1.27 " + "--max-draws 30");
  EXPECT_EQ(exit_status(r), 4) << r.output;
  EXPECT_NE(r.output.find("none of 30 uniform draws"), std::string::npos) << r.output;
  const auto j = run_json("--method random --max-latency-ms 7 --random-networks 2");
  EXPECT_EQ(j["search"]["feasible"], 2);
  EXPECT_EQ(j["search"]["candidates"].size(), 2u);
  EXPECT_LE(j["cost"]["latency_ms"].get<double>(), 7.0);
}

TEST(TsSearchCli, DeterministicAcrossThreadsAndResumable) {
  const std::string limits = "--max-latency-ms 2 --seed 3";
  auto a = run_json(limits + " --threads 1");
  auto b = run_json(limits + " --threads 2");
  a["search"].erase("wall_s");
  b["search"].erase("wall_s");
  EXPECT_EQ(a, b);
  const std::string ckpt = temp_dir() + "/search.ckpt";
  auto stopped = run_json(limits + " --checkpoint " + ckpt + " --stop-after 1");
  EXPECT_EQ(stopped["search"]["complete"], false);
  EXPECT_EQ(stopped["search"]["epochs"], 1);
  auto resumed = run_json(limits + " --checkpoint " + ckpt);
  resumed["search"].erase("wall_s");
  EXPECT_EQ(resumed, a);
  // A checkpoint of another search is refused.
  auto other = run_cli("ts-search " + base_args() +
                       " --epochs 2 --max-latency-ms 2 --seed 4 --checkpoint " + ckpt);
  EXPECT_EQ(exit_status(other), 2) << other.output;
}

TEST(TsSearchCli, ZeroShotKeepsTheLimitsAndReportsItsRounds) {
  auto help = run_cli("ts-search --help");
  for (const char* s : {"zero-shot", "--ntk-batch", "--repeat", "--lr-samples", "--width-divisor"})
    EXPECT_NE(help.output.find(s), std::string::npos) << s;
  const std::string args = "--method zero-shot --max-latency-ms 1.5 --ntk-batch 8 --seed 2";
  const auto a = run_json(args + " --threads 1");
  EXPECT_EQ(a["method"], "zero-shot");
  EXPECT_LE(a["cost"]["latency_ms"].get<double>(), 1.5);
  EXPECT_TRUE(a["violations"].empty());
  ASSERT_GE(a["search"]["rounds"].size(), 2u);
  EXPECT_EQ(a["search"]["ntk_batch"], 8);
  for (const auto& round : a["search"]["rounds"]) {
    EXPECT_GT(round["candidates"].get<int>(), 0);
    ASSERT_FALSE(round["pruned"].empty());
    for (const char* k : {"decision", "removed", "left", "delta_ntk", "delta_regions"})
      EXPECT_TRUE(round["pruned"][0].contains(k)) << k;
  }
  // Deterministic across thread counts.
  auto b = run_json(args + " --threads 2");
  auto a2 = a;
  a2["search"].erase("wall_s");
  b["search"].erase("wall_s");
  EXPECT_EQ(a2, b);
  // Nothing fits: exit status 4 naming the limit and the closest achievable value.
  auto r = run_cli("ts-search " + base_args() + " --method zero-shot --max-latency-ms 0.1");
  EXPECT_EQ(exit_status(r), 4) << r.output;
  EXPECT_NE(r.output.find("--max-latency-ms 0.1 cannot be met, the closest achievable value"),
            std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace micronas
