// The `micronas mcu` verbs as a user runs them: outputs and one-line errors with a non-zero exit.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "tests/test_util.hpp"

namespace {

using Result = micronas::test::CliResult;
Result run(const std::string& args, const std::string& redirects = "2>&1") {
  return micronas::test::run_cli(args, redirects);
}

std::string temp_path(const std::string& name) { return ::testing::TempDir() + "/" + name; }

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

const char* kArch =
    "'|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|'";

TEST(McuCli, EstimateTableAndJson) {
  Result r = run(std::string("mcu ") + kArch);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("CONV_2D"), std::string::npos);
  EXPECT_NE(r.output.find("peak_sram_kb"), std::string::npos);
  r = run(std::string("mcu ") + kArch +
          " --target stm32l552 --clock-mhz 110 --runtime codegen --json");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("\"clock_mhz\": 110"), std::string::npos);
  EXPECT_NE(r.output.find("\"ms_removed_if_pruned\""), std::string::npos);
}

TEST(McuCli, PredictCalibrateAndUseTheProfile) {
  MICRONAS_REQUIRE_DATA("mcu/measured_ops_cmsis_tflm.csv");

  std::string pred = temp_path("pred.csv"), prof = temp_path("profile.json");
  std::string lut = micronas::test::data_path("mcu/measured_ops_cmsis_tflm.csv");
  Result r = run("mcu predict --target stm32f446re --lut " + lut + " --out " + pred);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("conv2d"), std::string::npos);
  std::ifstream in(pred);
  std::string header;
  std::getline(in, header);
  EXPECT_NE(header.find("predicted_cycles"), std::string::npos);
  r = run("mcu calibrate --lut " + lut + " --base stm32l552 --out " + prof);
  ASSERT_EQ(r.status, 0) << r.output;
  r = run(std::string("mcu ") + kArch + " --target " + prof);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("stm32l552-calibrated"), std::string::npos);
}

TEST(McuCli, Lut) {
  Result r = run("mcu lut --space nb201 --target stm32f446re");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("nor_conv_3x3"), std::string::npos);
  r = run(std::string("mcu lut ") + kArch);
  ASSERT_EQ(r.status, 0) << r.output;
}

TEST(McuCli, HelpOnEachVerb) {
  for (const char* verb : {"mcu", "mcu predict", "mcu calibrate", "mcu lut"}) {
    Result r = run(std::string(verb) + " --help");
    EXPECT_EQ(r.status, 0) << verb;
    EXPECT_NE(r.output.find("--target"), std::string::npos + (std::string(verb) == "mcu calibrate"))
        << verb;
  }
}

void expect_one_line_error(const Result& r, const std::string& needle) {
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_EQ(r.output.rfind("micronas: error: ", 0), 0u) << r.output;
  EXPECT_EQ(r.output.find('\n'), r.output.size() - 1) << r.output;
  EXPECT_NE(r.output.find(needle), std::string::npos) << r.output;
}

TEST(McuCli, BadInputIsOneClearError) {
  expect_one_line_error(run(std::string("mcu ") + kArch + " --target stm32nope"), "stm32nope");
  expect_one_line_error(run(std::string("mcu ") + kArch + " --runtime jit"), "jit");
  std::string missing = temp_path("missing_col.csv");
  write(missing,
        "op,input_shape,output_shape,kernel,stride,padding,activation\n"
        "add,1x1x8|1x1x8,1x1x8,,,,\n");
  expect_one_line_error(
      run("mcu predict --target stm32f446re --lut " + missing + " --out " + temp_path("p.csv")),
      "kernel_cycles");
  std::string truncated = temp_path("truncated.csv");
  write(truncated,
        "op,input_shape,output_shape,kernel,stride,padding,activation,kernel_cycles\n"
        "conv2d,16x5x8,16x5x8,3x1,1x1,same,relu,1000\nconv2d,16x5x8\n");
  expect_one_line_error(
      run("mcu predict --target stm32f446re --lut " + truncated + " --out " + temp_path("p.csv")),
      "truncated.csv:3");
  std::string malformed = temp_path("malformed.csv");
  write(malformed,
        "op,input_shape,output_shape,kernel,stride,padding,activation,kernel_cycles\n"
        "conv2d,16x5xQ,16x5x8,3x1,1x1,same,relu,1000\n");
  expect_one_line_error(
      run("mcu predict --target stm32f446re --lut " + malformed + " --out " + temp_path("p.csv")),
      "input_shape");
  std::string bad_json = temp_path("bad.json");
  write(bad_json, "{\"name\": \"x\", ");
  expect_one_line_error(run(std::string("mcu ") + kArch + " --target " + bad_json), "bad.json");
  expect_one_line_error(
      run("mcu calibrate --lut /nonexistent.csv --base stm32f746 --out " + temp_path("o.json")),
      "nonexistent.csv");
}

int status_of(const Result& r) { return micronas::test::exit_status(r); }

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

const char* kLutHeader =
    "op,device,input_shape,output_shape,kernel,stride,padding,activation,kernel_cycles,"
    "invoke_cycles,arena_bytes\n";

TEST(McuCli, CalibrateRefusesANegativeOverheadAndWritesNothing) {
  // invoke_cycles below kernel_cycles: the fitted per-op overhead would be negative.
  const std::string lut = temp_path("negative_overhead.csv"), out = temp_path("neg.json");
  write(lut, std::string(kLutHeader) +
                 "conv2d,b,16x16x8,16x16x8,3x3,1x1,same,relu,200000,150000,\n"
                 "conv2d,b,8x8x16,8x8x16,3x3,1x1,same,relu,100000,60000,\n");
  std::filesystem::remove(out);
  Result r = run("mcu calibrate --lut " + lut + " --base stm32f746 --out " + out);
  expect_one_line_error(r, "overhead");
  EXPECT_EQ(status_of(r), 2);
  EXPECT_FALSE(std::filesystem::exists(out));
}

TEST(McuCli, ProfilesWithNegativeOrZeroConstantsAreRefused) {
  auto doc = nlohmann::ordered_json::parse(
      read(std::string(MICRONAS_TEST_DIR) + "/../mcu/targets/targets.json"));
  const nlohmann::ordered_json target = doc["targets"][0];
  const std::string path = temp_path("bad_profile.json");
  auto refused = [&](const char* key, double value, const std::string& needle) {
    nlohmann::ordered_json t = target;
    t[key] = value;
    write(path, t.dump());
    Result r = run(std::string("mcu ") + kArch + " --target " + path);
    expect_one_line_error(r, needle);
    // The error names the profile's path, which may itself contain "-1" (a temporary folder).
    std::string message = r.output;
    for (std::size_t at; (at = message.find(path)) != std::string::npos;)
      message.erase(at, path.size());
    EXPECT_EQ(message.find("-1"), std::string::npos) << "no latency reported: " << r.output;
  };
  refused("tflm_op_overhead_cycles", -2e6, "tflm_op_overhead_cycles");
  refused("clock_mhz", -216, "clock_mhz");
  refused("sram_kb", 0, "sram_kb");
  nlohmann::ordered_json t = target;
  t["cpi"]["conv_im2col"] = -0.5;
  write(path, t.dump());
  expect_one_line_error(run(std::string("mcu ") + kArch + " --target " + path), "cpi");
  // Instruction forms that give no instructions at all and no overhead: a latency of 0 ms, which
  // would satisfy any limit, is refused rather than reported.
  t = target;
  for (auto& model : t["instruction_models"])
    for (auto& c : model["coefficients"]) c = 0.0;
  t["tflm_op_overhead_cycles"] = 0.0;
  write(path, t.dump());
  Result r = run(std::string("mcu ") + kArch + " --target " + path + " --json");
  expect_one_line_error(r, "latency");
  r = run("search --batch 4 --repeat 1 --max-latency-ms 100 --target " + path);
  EXPECT_NE(status_of(r), 0) << r.output;
  EXPECT_EQ(r.output.rfind("micronas: error: ", 0), 0u) << r.output;
}

TEST(McuCli, AMalformedProfileFileIsAFileError) {
  // Exit 5, as for any input file of the wrong format; an unknown target name is a usage error.
  const std::string path = temp_path("malformed_profile.json");
  write(path, "{");
  Result r = run(std::string("mcu ") + kArch + " --target " + path);
  expect_one_line_error(r, "malformed JSON");
  EXPECT_EQ(status_of(r), 5) << r.output;
  write(path, R"({"name": "x", "clock_mhz": "fast"})");
  r = run(std::string("mcu ") + kArch + " --target " + path);
  EXPECT_EQ(status_of(r), 5) << r.output;
  EXPECT_EQ(status_of(run(std::string("mcu ") + kArch + " --target stm32nope")), 2);
}

TEST(McuCli, PredictQuotesFieldsAndRefusesATableWithNothingToPredict) {
  const std::string lut = temp_path("quoted.csv"), out = temp_path("quoted_pred.csv");
  write(lut, std::string(kLutHeader) +
                 "conv2d,\"board, rev B\",16x16x8,16x16x8,3x3,1x1,same,relu,200000,210000,\n"
                 "relu,\"board, rev B\",16x16x8,16x16x8,,,,,5000,6000,\n");
  Result r = run("mcu predict --target stm32f746 --lut " + lut + " --out " + out);
  ASSERT_EQ(status_of(r), 0) << r.output;
  std::stringstream pred(read(out));
  std::string header, row;
  std::getline(pred, header);
  std::getline(pred, row);
  EXPECT_NE(row.find(",\"board, rev B\",conv2d,"), std::string::npos) << row;

  write(lut, std::string(kLutHeader) + "relu,b,16x16x8,16x16x8,,,,,5000,6000,\n");
  r = run("mcu predict --target stm32f746 --lut " + lut + " --out " + out);
  expect_one_line_error(r, "none of its 1 rows");
}

TEST(McuCli, LutRefusesAnArchItWouldIgnore) {
  Result r = run(std::string("mcu lut ") + kArch + " --space nb201");
  expect_one_line_error(r, "not both");
  EXPECT_EQ(status_of(r), 2);
}

TEST(McuCli, FailedWritesExitNonZeroNamingTheFile) {
  Result r = run("mcu lut --space nb201 --out /dev/full");
  expect_one_line_error(r, "/dev/full");
  EXPECT_EQ(status_of(r), 5);
  const std::string lut = temp_path("full.csv");
  write(lut,
        std::string(kLutHeader) + "conv2d,b,16x16x8,16x16x8,3x3,1x1,same,relu,200000,210000,\n");
  r = run("mcu predict --target stm32f746 --lut " + lut + " --out /dev/full");
  expect_one_line_error(r, "/dev/full");
  r = run("mcu calibrate --lut " + lut + " --base stm32f746 --out /dev/full");
  expect_one_line_error(r, "/dev/full");
  r = run("mcu lut --space nb201", "2>&1 >/dev/full");
  expect_one_line_error(r, "standard output");
}

}  // namespace
