// The `info` and `score` verbs as a user runs them: help, outputs, and one-line errors with a
// non-zero exit.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "micronas/context.hpp"
#include "tests/test_util.hpp"

namespace micronas {
namespace {

using test::run_cli;

const char* kBest =
    "'|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
    "nor_conv_3x3~2|'";

TEST(Cli, HelpListsVerbs) {
  auto r = run_cli("--help");
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* verb : {"info", "score", "mcu", "sweep", "evaluate"})
    EXPECT_NE(r.output.find(verb), std::string::npos) << verb;
  for (const char* verb : {"score", "sweep", "evaluate"})
    EXPECT_EQ(run_cli(std::string(verb) + " --help").status, 0) << verb;
  EXPECT_NE(run_cli("").status, 0);  // a verb is required
}

TEST(Cli, InfoWithBenchmarkByStringAndIndex) {
  MICRONAS_REQUIRE_DATA("nb201/nb201.csv");

  std::string table = test::data_path("nb201/nb201.csv");
  auto by_index = run_cli("info 9930 --json --benchmark " + table);
  ASSERT_EQ(by_index.status, 0) << by_index.output;
  auto j = nlohmann::json::parse(by_index.output);
  EXPECT_EQ(j["index"], 9930);
  EXPECT_NEAR(j["cifar10_test"].get<double>(), 94.363333, 1e-6);
  EXPECT_NEAR(j["flops_m"].get<double>(), 184.73025, 1e-9);
  auto by_string = run_cli(std::string("info ") + kBest + " --json --benchmark " + table);
  EXPECT_EQ(nlohmann::json::parse(by_string.output)["index"], 9930);
}

TEST(Cli, BadInputGivesOneErrorLineAndNonZeroExit) {
  for (const std::string& args :
       {std::string("info '|bogus~0|+|none~0|none~1|+|none~0|none~1|none~2|'"),
        std::string("info 12"), std::string("info 12 --benchmark /nonexistent.csv"),
        std::string("score supernet --batch 1"), std::string("score supernet --data bogus"),
        std::string("score supernet --init nope"), std::string("info supernet --dataset mnist")}) {
    auto r = run_cli(args);
    EXPECT_NE(r.status, 0) << args;
    EXPECT_EQ(r.output.rfind("micronas: error: ", 0), 0u) << args << " -> " << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  }
}

TEST(Cli, ScoreJsonOnSyntheticData) {
  auto r = run_cli(std::string("score ") + kBest + " --batch 8 --repeat 2 --json --seed 3");
  ASSERT_EQ(r.status, 0) << r.output;
  auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["per_repeat"].size(), 2u);
  EXPECT_TRUE(j["ntk_valid"].get<bool>());
  EXPECT_GT(j["ntk_condition"].get<double>(), 1.0);
  EXPECT_GT(j["linear_regions"].get<double>(), 1.0);
  EXPECT_NEAR(j["flops_m"].get<double>(), 184.73025, 1e-9);
  for (const auto& rep : j["per_repeat"]) {
    EXPECT_GT(rep["seconds"]["ntk"].get<double>(), 0.0);
    EXPECT_GT(rep["seconds"]["linear_regions"].get<double>(), 0.0);
  }
  // Same seed, same output (except the timings).
  auto again = run_cli(std::string("score ") + kBest + " --batch 8 --repeat 2 --json --seed 3");
  auto k = nlohmann::json::parse(again.output);
  for (auto* out : {&j, &k})
    for (auto& rep : (*out)["per_repeat"]) rep.erase("seconds");
  EXPECT_EQ(j["per_repeat"], k["per_repeat"]);
}

TEST(Cli, DevicesListsWhatThisBuildAndMachineHave) {
  auto r = run_cli("devices --json");
  ASSERT_EQ(r.status, 0) << r.output;
  auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["cuda_compiled"].get<bool>(), cuda_compiled());
  EXPECT_EQ(j["cuda_devices"].size(), cuda_devices().size());
  EXPECT_EQ(j["auto"], cuda_devices().empty() ? "cpu" : "cuda");
  auto text = run_cli("devices");
  ASSERT_EQ(text.status, 0) << text.output;
  EXPECT_NE(text.output.find(cuda_compiled() ? "cuda" : "not in this build"), std::string::npos)
      << text.output;
}

TEST(Cli, BackendOptionOnEveryProxyVerb) {
  const std::string small = " --batch 8 --repeat 1 --json --seed 1";
  auto cpu = run_cli(std::string("score ") + kBest + small + " --backend cpu");
  ASSERT_EQ(cpu.status, 0) << cpu.output;
  EXPECT_EQ(nlohmann::json::parse(cpu.output)["backend"].get<std::string>().rfind("cpu", 0), 0u);
  // auto says once, on stderr, what it chose; stdout stays the JSON.
  auto automatic = run_cli(std::string("score ") + kBest + small + " --backend auto");
  ASSERT_EQ(automatic.status, 0) << automatic.output;
  const std::string note = "micronas: --backend auto: computing on ";
  ASSERT_EQ(automatic.output.rfind(note, 0), 0u) << automatic.output;
  EXPECT_EQ(automatic.output.find(note, 1), std::string::npos) << automatic.output;
  const auto json_start = automatic.output.find('{');
  ASSERT_NE(json_start, std::string::npos);
  EXPECT_TRUE(nlohmann::json::accept(automatic.output.substr(json_start))) << automatic.output;
  for (const char* verb : {"score", "search", "random-search", "sweep"}) {
    auto help = run_cli(std::string(verb) + " --help");
    EXPECT_NE(help.output.find("--backend"), std::string::npos) << verb;
    EXPECT_NE(help.output.find("--device"), std::string::npos) << verb;
  }
  auto bogus = run_cli("score supernet --backend gpu");
  EXPECT_NE(bogus.status, 0);
  EXPECT_EQ(bogus.output.rfind("micronas: error: unknown backend 'gpu'", 0), 0u) << bogus.output;
  if (cuda_devices().empty()) {
    for (const char* verb : {"score supernet", "search", "random-search", "sweep --out x.csv"}) {
      auto r = run_cli(std::string(verb) + " --backend cuda");
      EXPECT_EQ(r.status >> 8, 2) << verb << ": " << r.output;
      EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
      EXPECT_NE(r.output.find(cuda_compiled() ? "no CUDA device" : "no CUDA backend"),
                std::string::npos)
          << r.output;
    }
  }
}

}  // namespace
}  // namespace micronas

namespace micronas {
namespace {

using test::exit_status;
using test::expect_error_line;
using test::run_cli;

TEST(ErrorContract, HelpDocumentsEveryExitStatus) {
  auto r = run_cli("--help");
  ASSERT_EQ(exit_status(r), 0) << r.output;
  for (const char* text : {"Exit status", "0 success", "1 internal", "2 invalid", "3 out of memory",
                           "4 no architecture", "5 a file"})
    EXPECT_NE(r.output.find(text), std::string::npos) << text;
}

TEST(ErrorContract, ParseErrorsAreOneLineWithStatusTwo) {
  expect_error_line(run_cli("info supernet --bogus"), 2, "--bogus");
  expect_error_line(run_cli("info"), 2, "ARCH");
  expect_error_line(run_cli(""), 2, "subcommand");
  expect_error_line(run_cli("bogusverb"), 2, "unknown verb 'bogusverb'");
  expect_error_line(run_cli("score supernet --batch abc"), 2, "--batch");
  // The bound of a positive number is said in words, not as DBL_MAX's 309 digits.
  auto r = run_cli("mcu supernet --clock-mhz 0");
  expect_error_line(r, 2, "--clock-mhz");
  EXPECT_LT(r.output.size(), 200u) << r.output;
}

TEST(ErrorContract, OutOfRangeOptionsAreRejectedNamingTheOption) {
  const std::string score = "score supernet --batch 2 --repeat 1 ";
  expect_error_line(run_cli("mcu supernet --clock-mhz nan"), 2, "--clock-mhz");
  expect_error_line(run_cli("mcu supernet --clock-mhz inf"), 2, "--clock-mhz");
  expect_error_line(run_cli("mcu supernet --clock-mhz -5"), 2, "--clock-mhz");
  expect_error_line(run_cli(score + "--seed -1"), 2, "--seed");
  expect_error_line(run_cli(score + "--seed 18446744073709551616"), 2, "--seed");
  expect_error_line(run_cli(score + "--seed 1844674407370955161600"), 2, "--seed");
  expect_error_line(run_cli(score + "--threads 0"), 2, "--threads");
  expect_error_line(run_cli(score + "--threads -3"), 2, "--threads");
  expect_error_line(run_cli("search --threads 0"), 2, "--threads");
  expect_error_line(run_cli(score + "--backend cpu --device 3"), 2, "--device 3");
  expect_error_line(run_cli("sweep --archs 1 --out x.csv --seed -1"), 2, "--seed");
  // export, of either space, writes nothing for a seed it refuses.
  const std::string model = ::testing::TempDir() + "seed_refused.tflite";
  const std::string ts =
      "export 'tr:k5w8|tr:k5w16|sf:b16[3,5,7]w32r|sf:skip|sf:skip' --space timeseries "
      "--window 100x6 --classes 4 --out " +
      model;
  const std::string nb201 = std::string("export ") + kBest + " --out " + model;
  std::filesystem::remove(model);
  expect_error_line(run_cli(nb201 + " --seed -1"), 2, "--seed");
  expect_error_line(run_cli(nb201 + " --seed 18446744073709551616"), 2, "--seed");
  expect_error_line(run_cli(ts + " --seed -1"), 2, "--seed");
  expect_error_line(run_cli(ts + " --seed 18446744073709551616"), 2, "--seed");
  EXPECT_FALSE(std::filesystem::exists(model));
  // Options of the other space are refused, not ignored.
  expect_error_line(run_cli(ts + " --dataset cifar100"), 2, "--dataset");
  expect_error_line(run_cli(ts + " --benchmark x.csv"), 2, "--benchmark");
  EXPECT_FALSE(std::filesystem::exists(model));
  expect_error_line(run_cli("random-search --samples 99999"), 2, "--samples");
  expect_error_line(run_cli("random-search --samples 0"), 2, "--samples");
  // The largest seed is a seed, and distinct from its neighbours' wrapped forms.
  auto max = run_cli(score + "--json --seed 18446744073709551615");
  ASSERT_EQ(exit_status(max), 0) << max.output;
  EXPECT_EQ(nlohmann::json::parse(max.output)["seed"].get<std::uint64_t>(),
            18446744073709551615ull);
}

TEST(ErrorContract, FailedStdoutIsAnError) {
  // stderr stays on the pipe, stdout goes to a full device.
  auto r = run_cli("info supernet", "2>&1 >/dev/full");
  expect_error_line(r, 5, "standard output");
  expect_error_line(run_cli("--help", "2>&1 >/dev/full"), 5, "standard output");
}

TEST(ErrorContract, AnEmptyOutputPathIsAnErrorNotNoOutput) {
  expect_error_line(run_cli("score supernet --batch 2 --repeat 1 --dump ''"), 2, "--dump");
  expect_error_line(run_cli("random-search --samples 1 --batch 2 --repeat 1 --out ''"), 2, "--out");
  expect_error_line(run_cli("evaluate --results r.csv --benchmark t.csv --svg ''"), 2, "--svg");
}

// Every file below `dir`, folders not counted.
std::size_t files_below(const std::string& dir) {
  std::size_t n = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir))
    n += entry.is_regular_file() ? 1 : 0;
  return n;
}

TEST(ScoreCli, DumpGoesToANewOrEmptyFolderOnly) {
  const std::string dir = ::testing::TempDir() + "micronas_dump";
  std::filesystem::remove_all(dir);
  const std::string score = "score " + std::string(kBest) + " --batch 4 --repeat 1 --dump ";
  auto r = run_cli(score + dir);
  ASSERT_EQ(exit_status(r), 0) << r.output;
  const std::size_t files = files_below(dir);
  EXPECT_GT(files, 10u);
  // A second dump would leave the first one's files beside its own (a supernet has more
  // parameters than a cell): refused, and the folder is left as it was.
  expect_error_line(run_cli("score supernet --batch 4 --repeat 1 --dump " + dir), 5,
                    "--dump: '" + dir + "' is not empty");
  EXPECT_EQ(files_below(dir), files);
  expect_error_line(run_cli(score + dir + "/result.json"), 5, "is not a folder");
  // An empty folder is as good as a new one.
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  r = run_cli(score + dir);
  ASSERT_EQ(exit_status(r), 0) << r.output;
  EXPECT_EQ(files_below(dir), files);
}

TEST(ErrorContract, ControlCharactersAndLongArgumentsAreEscapedAndShortened) {
  auto r = run_cli("info \"$(printf 'ab\\033[31mcd\\nef')\"");
  expect_error_line(r, 2, "ab\\x1b[31mcd\\nef");
  EXPECT_EQ(r.output.find('\033'), std::string::npos);
  // Text in UTF-8 is shown as it is; a byte that is not part of a UTF-8 character is escaped, so
  // the line is always valid UTF-8 (the parser reports the first byte of 'ñ' on its own).
  r = run_cli("info 'ñ'");
  expect_error_line(r, 2, "'ñ'");
  EXPECT_NE(r.output.find("found '\\xc3'"), std::string::npos) << r.output;
  r = run_cli("info \"$(head -c 100000 /dev/zero | tr '\\0' a)\"");
  expect_error_line(r, 2, "characters omitted");
  EXPECT_LT(r.output.size(), 1000u);
}

TEST(ErrorContract, InputErrorsNameThePathAndTheProblem) {
  const std::string dir = ::testing::TempDir();
  expect_error_line(run_cli("info supernet --benchmark " + dir), 5, "is a directory");
  expect_error_line(run_cli("info supernet --benchmark /dev/zero"), 5, "/dev/zero");
  expect_error_line(run_cli("score supernet --data cifar10:/dev/zero"), 5, "not a regular file");
  // Inputs are read more than once: a pipe is refused as such, not as "bad magic".
  FILE* pipe = popen(
      ("printf xx | " + std::string(MICRONAS_CLI) + " score supernet --data npy:/dev/stdin 2>&1")
          .c_str(),
      "r");
  ASSERT_NE(pipe, nullptr);
  test::CliResult piped{0, ""};
  for (int c; (c = std::fgetc(pipe)) != EOF;) piped.output += static_cast<char>(c);
  piped.status = pclose(pipe);
  expect_error_line(piped, 5, "regular (seekable) file");
  EXPECT_EQ(piped.output.find("bad magic"), std::string::npos) << piped.output;
}

}  // namespace
}  // namespace micronas
