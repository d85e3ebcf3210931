// `micronas search` and `micronas random-search` end to end: JSON contents, exit statuses and
// messages for impossible limits and bad options.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "tests/test_util.hpp"

namespace micronas {
namespace {

using test::data_path;
using test::expect_error_line;
using test::run_cli;

int exit_code(const test::CliResult& r) { return WIFEXITED(r.status) ? WEXITSTATUS(r.status) : -1; }

// A fresh folder per test.
std::string temp_dir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "micronas_" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(SearchCli, JsonHasTheCellEveryRoundTheMcuCostAndAccuracies) {
  MICRONAS_REQUIRE_DATA("nb201/nb201.csv");

  auto r = run_cli(
      "search --batch 4 --repeat 1 --threads 2 --json --no-progress --quiet "
      "--benchmark " +
      data_path("nb201/nb201.csv"));
  ASSERT_EQ(exit_code(r), 0) << r.output;
  nlohmann::json j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["rounds"].size(), 3u);
  EXPECT_EQ(j["rounds"][0]["candidates"].size(), 24u);
  EXPECT_EQ(j["rounds"][2]["candidates"].size(), 12u);
  EXPECT_EQ(j["rounds"][2]["pruned_state"], j["arch"]);
  EXPECT_GT(j["mcu"]["latency_ms"].get<double>(), 0);
  EXPECT_GT(j["mcu"]["flash_kb"].get<double>(), 0);
  ASSERT_FALSE(j["benchmark"].is_null());
  EXPECT_GT(j["benchmark"]["cifar10_test"].get<double>(), 10);
  EXPECT_EQ(j["options"]["batch"], 4);
  EXPECT_EQ(j["options"]["ties"], "tenas");
}

TEST(SearchCli, ImpossibleLimitExitsWithFourNamingTheLimit) {
  auto r = run_cli("search --max-sram-kb 1 --no-progress");
  EXPECT_EQ(exit_code(r), 4) << r.output;
  EXPECT_NE(r.output.find("--max-sram-kb 1 cannot be met"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("closest achievable value"), std::string::npos) << r.output;
}

TEST(SearchCli, BadOptionsAreRejectedWithAClearMessage) {
  auto r = run_cli("search --latency-table fast");
  EXPECT_EQ(exit_code(r), 2) << r.output;
  EXPECT_NE(r.output.find("--latency-table 'fast'"), std::string::npos) << r.output;
  r = run_cli("search --flops-weight 0.8 --latency-weight 0.4");
  EXPECT_EQ(exit_code(r), 2) << r.output;
  EXPECT_NE(r.output.find("sum <= 1"), std::string::npos) << r.output;
  r = run_cli("search --max-latency-ms -3");
  EXPECT_EQ(exit_code(r), 2) << r.output;
  r = run_cli("search --ties first");
  EXPECT_EQ(exit_code(r), 2) << r.output;
  EXPECT_NE(r.output.find("--ties: 'first'"), std::string::npos) << r.output;
  r = run_cli("search --start '|nor_conv_3x3~0|+|bogus~0|'");
  EXPECT_EQ(exit_code(r), 2) << r.output;
  EXPECT_NE(r.output.find("bogus"), std::string::npos) << r.output;
  r = run_cli("search --help");
  EXPECT_EQ(exit_code(r), 0);
  EXPECT_NE(r.output.find("--max-flash-kb"), std::string::npos);
}

// Drops the fields that legitimately differ between runs (timings).
nlohmann::json without_seconds(nlohmann::json j) {
  j.erase("seconds");
  for (auto& round : j["rounds"]) round.erase("seconds");
  return j;
}

TEST(SearchCli, CheckpointResumesAnInterruptedSearchToTheSameResult) {
  const std::string dir = ::testing::TempDir() + "micronas_checkpoint";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string ckpt = dir + "/search.json";
  const std::string args =
      "search --batch 4 --repeat 2 --threads 2 --json --no-progress --quiet "
      "--seed 5 --latency-weight 0.3 --checkpoint " +
      ckpt;
  auto full = run_cli(args);
  ASSERT_EQ(exit_code(full), 0) << full.output;
  nlohmann::json reference = nlohmann::json::parse(full.output);

  // An interruption after round 1: the checkpoint then holds that round only.
  nlohmann::json ck;
  {
    std::ifstream f(ckpt);
    ck = nlohmann::json::parse(f);
  }
  ASSERT_EQ(ck["rounds"].size(), 3u);
  ck["rounds"].erase(1);
  ck["rounds"].erase(1);
  {
    std::ofstream f(ckpt);
    f << ck.dump();
  }
  auto resumed = run_cli(args);
  ASSERT_EQ(exit_code(resumed), 0) << resumed.output;
  EXPECT_EQ(without_seconds(nlohmann::json::parse(resumed.output)), without_seconds(reference));

  // Other options than the checkpoint's are refused, naming the option.
  auto other =
      run_cli("search --batch 4 --repeat 2 --seed 6 --latency-weight 0.3 --checkpoint " + ckpt);
  EXPECT_EQ(exit_code(other), 2) << other.output;
  EXPECT_NE(other.output.find("another seed"), std::string::npos) << other.output;
}

TEST(SearchCli, ASecondSearchOnTheSameCheckpointIsRefused) {
  const std::string dir = ::testing::TempDir() + "micronas_checkpoint_lock";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string ckpt = dir + "/search.json";
  // This test process plays the first search: it holds the checkpoint's lock.
  const int fd = ::open((ckpt + ".lock").c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  auto r = run_cli("search --batch 4 --repeat 1 --no-progress --checkpoint " + ckpt);
  ::close(fd);
  EXPECT_EQ(exit_code(r), 5) << r.output;
  EXPECT_EQ(r.output.rfind("micronas: error: --checkpoint: ", 0), 0u) << r.output;
  EXPECT_NE(r.output.find("another micronas run"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(ckpt));
  // Released: the search runs.
  r = run_cli("search --batch 4 --repeat 1 --no-progress --quiet --checkpoint " + ckpt);
  EXPECT_EQ(exit_code(r), 0) << r.output;
  EXPECT_TRUE(std::filesystem::exists(ckpt));
}

TEST(RandomSearchCli, ReturnsAScoredCellWithinTheLimit) {
  auto r = run_cli(
      "random-search --samples 3 --batch 4 --repeat 1 --threads 2 --json "
      "--max-latency-ms 2000 --no-progress");
  ASSERT_EQ(exit_code(r), 0) << r.output;
  nlohmann::json j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["cells"].size(), 3u);
  EXPECT_LE(j["mcu"]["latency_ms"].get<double>(), 2000);
  bool found = false;
  for (const auto& c : j["cells"]) found = found || (c["arch"] == j["arch"] && c["order"] == 0);
  EXPECT_TRUE(found);
}

TEST(SearchCli, OutIsNeverOverwrittenAndCheckedBeforeTheSearch) {
  const std::string dir = temp_dir("search_out");
  const std::string small =
      "search --batch 4 --repeat 1 --no-progress --quiet --start '|nor_conv_3x3/skip_connect~0|+|"
      "nor_conv_1x1~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|' ";
  const std::string existing = dir + "/r.json";
  std::ofstream(existing) << "{}\n";
  expect_error_line(run_cli(small + "--out " + existing), 5, "--out: '" + existing + "' exists");
  EXPECT_EQ(read_file(existing), "{}\n");
  expect_error_line(run_cli(small + "--max-sram-kb 1 --out " + dir + "/none/r.json"), 5,
                    "--out: cannot create");
  auto r = run_cli(small + "--json --out " + dir + "/new.json");
  ASSERT_EQ(exit_code(r), 0) << r.output;
  EXPECT_EQ(nlohmann::json::parse(read_file(dir + "/new.json")), nlohmann::json::parse(r.output));
}

TEST(RandomSearchCli, OutIsNeverOverwrittenAndCheckedBeforeTheSearch) {
  const std::string dir = temp_dir("random_search_out");
  const std::string small = "random-search --samples 2 --batch 4 --repeat 1 --no-progress ";
  // An existing file is refused, the command's own benchmark table included, and left as it was.
  const std::string table = dir + "/t.csv";
  const std::string text =
      "index,arch,cifar10_test\n0,|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|"
      "nor_conv_1x1~0|skip_connect~1|skip_connect~2|,85.86\n";
  std::ofstream(table) << text;
  expect_error_line(run_cli(small + "--benchmark " + table + " --out " + table), 5,
                    "--out: '" + table + "' exists");
  EXPECT_EQ(read_file(table), text);
  expect_error_line(run_cli(small + "--out " + dir), 5, "--out: '" + dir + "' exists");
  expect_error_line(run_cli(small + "--out /dev/full"), 5, "--out: '/dev/full' exists");
  // A folder that is missing fails before the search: here the limits no cell meets would
  // otherwise end the run first, with status 4.
  expect_error_line(run_cli(small + "--max-sram-kb 1 --out " + dir + "/none/r.json"), 5,
                    "--out: cannot create '" + dir + "/none/r.json'");
  EXPECT_FALSE(std::filesystem::exists(dir + "/none"));
  // A new file receives the result.
  auto r = run_cli(small + "--json --out " + dir + "/r.json");
  ASSERT_EQ(exit_code(r), 0) << r.output;
  EXPECT_EQ(nlohmann::json::parse(read_file(dir + "/r.json")), nlohmann::json::parse(r.output));
}

TEST(RandomSearchCli, AFailedWriteLeavesNoFile) {
  const std::string dir = temp_dir("random_search_full");
  // Files may not grow past 512 bytes (the signal that would end the program is ignored, so the
  // write fails as on a full disk); the result is larger.
  auto r = test::run_shell("trap '' XFSZ; ulimit -f 1; " + std::string(MICRONAS_CLI) +
                           " random-search --samples 2 --batch 4 --repeat 1 --no-progress --out " +
                           dir + "/r.json");
  expect_error_line(r, 5, "--out: " + dir + "/r.json: write failed");
  EXPECT_TRUE(std::filesystem::is_empty(dir));
}

TEST(RandomSearchCli, ShowsTheAccuracyOfTheDatasetScoredOn) {
  MICRONAS_REQUIRE_DATA("nb201/nb201.csv");

  // The table with the CIFAR-100 accuracies only.
  const std::string dir = temp_dir("random_search_dataset"), table = dir + "/c100.csv";
  {
    std::ifstream in(data_path("nb201/nb201.csv"));
    std::ofstream out(table);
    for (std::string line; std::getline(in, line);) {
      std::vector<std::string> fields;
      std::stringstream s(line);
      for (std::string f; std::getline(s, f, ',');) fields.push_back(f);
      ASSERT_GE(fields.size(), 4u) << line;
      out << fields[0] << "," << fields[1] << "," << fields[3] << "\n";
    }
  }
  const std::string small =
      "random-search --samples 2 --batch 4 --repeat 1 --no-progress --dataset cifar100 ";
  for (const std::string& benchmark : {data_path("nb201/nb201.csv"), table}) {
    auto r = run_cli(small + "--benchmark " + benchmark);
    ASSERT_EQ(exit_code(r), 0) << r.output;
    const std::size_t line = r.output.find("\ncifar100_test ");
    ASSERT_NE(line, std::string::npos) << r.output;
    std::string name, percent;
    double accuracy = 0;
    std::istringstream(r.output.substr(line + 1)) >> name >> accuracy >> percent;
    EXPECT_GT(accuracy, 1.0) << r.output;
    EXPECT_EQ(percent, "%") << r.output;
    EXPECT_EQ(r.output.find("cifar10_test"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("null"), std::string::npos) << r.output;
  }
}

TEST(SearchCli, ProgressGoesToALogAsPlainLinesWhenStderrIsNotATerminal) {
  auto r = run_cli(
      "search --batch 4 --repeat 1 --quiet --start "
      "'|nor_conv_3x3/skip_connect~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|skip_connect~0|"
      "avg_pool_3x3~1|nor_conv_1x1~2|'");
  ASSERT_EQ(exit_code(r), 0) << r.output;
  EXPECT_NE(r.output.find("search: 2/2  "), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find('\r'), std::string::npos) << "a redrawn bar in a log";
}

}  // namespace
}  // namespace micronas
