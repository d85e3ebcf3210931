// The `sweep` verb as a user runs them: resumable sweeps that give the same rows as an
// uninterrupted run, and refusals that protect a results file.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "micronas/benchmark_table.hpp"
#include "micronas/random.hpp"
#include "micronas/sweep.hpp"
#include "tests/test_util.hpp"

namespace micronas {
namespace {

namespace fs = std::filesystem;
using test::run_cli;

// A fresh folder per test.
std::string temp_dir(const std::string& name) {
  fs::path dir = fs::path(::testing::TempDir()) / ("micronas_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Each line without its last two fields (ntk_seconds, lr_seconds: wall times).
std::vector<std::string> without_seconds(const std::string& text) {
  std::vector<std::string> lines = lines_of(text);
  for (std::string& line : lines) {
    for (int k = 0; k < 2; ++k) line = line.substr(0, line.rfind(','));
  }
  return lines;
}

// cell_id -> the row's fields other than index and the seconds.
std::map<int, std::string> rows_by_cell(const std::string& text) {
  std::map<int, std::string> rows;
  std::vector<std::string> lines = without_seconds(text);
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    const std::size_t first = line.find(','), second = line.find(',', first + 1);
    rows[std::stoi(line.substr(0, first))] = line.substr(second + 1);
  }
  return rows;
}

void expect_one_line_error(const test::CliResult& r, const std::string& needle) {
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_EQ(r.output.rfind("micronas: error: ", 0), 0u) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  EXPECT_NE(r.output.find(needle), std::string::npos)
      << "expected '" << needle << "' in " << r.output;
}

// Three random cells, a tiny NTK batch and one repeat: a few hundred milliseconds per sweep.
const std::string kTinyOptions = "sweep --batch 4 --repeat 1 --seed 5 --no-progress";
const std::string kTiny = kTinyOptions + " --archs 3";
const std::string kHeader =
    "cell_id,index,arch,ntk_condition,ntk_valid,linear_regions,flops_m,params_m,latency_ms,"
    "peak_sram_kb,flash_kb,ntk_seconds,lr_seconds";

TEST(SweepCli, WritesHeaderAndOneRowPerCellAndRefusesToOverwrite) {
  const std::string dir = temp_dir("sweep_basic"), out = dir + "/r.csv";
  auto r = run_cli(kTiny + " --out " + out);
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string text = read_file(out);
  std::vector<std::string> lines = lines_of(text);
  ASSERT_EQ(lines.size(), 4u) << text;
  EXPECT_EQ(lines[0], kHeader);
  EXPECT_EQ(text.back(), '\n');
  for (std::size_t i = 1; i < lines.size(); ++i) {
    SweepRow row = parse_sweep_row(lines[i], "row");
    EXPECT_EQ(row.index, -1);  // no --benchmark
    EXPECT_GT(row.ntk_condition, 1.0);
    EXPECT_GT(row.linear_regions, 1.0);
    EXPECT_GT(row.latency_ms, 0.0);
    EXPECT_GT(row.peak_sram_kb, 0.0);
    EXPECT_GT(row.flash_kb, 0.0);
  }
  auto options = nlohmann::json::parse(read_file(out + ".json"));
  EXPECT_EQ(options["seed"], 5);
  EXPECT_EQ(options["batch"], 4);
  EXPECT_EQ(options["repeat"], 1);
  EXPECT_EQ(options["target"], "stm32f746");

  expect_one_line_error(run_cli(kTiny + " --out " + out), "--resume");
  EXPECT_EQ(read_file(out), text);

  // Nothing left to do: --resume leaves a complete file as it is.
  r = run_cli(kTiny + " --out " + out + " --resume");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(read_file(out), text);
}

TEST(SweepCli, ResumeAfterInterruptionGivesTheUninterruptedRows) {
  const std::string dir = temp_dir("sweep_resume"), full = dir + "/full.csv";
  auto r = run_cli(kTiny + " --out " + full);
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string complete = read_file(full);
  const std::vector<std::string> lines = lines_of(complete);
  ASSERT_EQ(lines.size(), 4u);

  // What an interruption can leave: a row cut mid-way, whole rows missing, only part of the
  // header, or only the header.
  const std::string cut_row = lines[0] + "\n" + lines[1] + "\n" + lines[2].substr(0, 40);
  const std::vector<std::string> interrupted = {cut_row, lines[0] + "\n" + lines[1] + "\n",
                                                lines[0].substr(0, 11), lines[0] + "\n"};
  for (std::size_t k = 0; k < interrupted.size(); ++k) {
    const std::string out = dir + "/part" + std::to_string(k) + ".csv";
    write_file(out, interrupted[k]);
    fs::copy_file(full + ".json", out + ".json");
    r = run_cli(kTiny + " --out " + out + " --resume");
    ASSERT_EQ(r.status, 0) << k << ": " << r.output;
    const std::string resumed = read_file(out);
    EXPECT_EQ(without_seconds(resumed), without_seconds(complete)) << k << ":\n" << resumed;
    EXPECT_EQ(resumed.back(), '\n');
  }
}

TEST(SweepCli, ResumeRefusesOtherOptionsOrAMissingSidecar) {
  const std::string dir = temp_dir("sweep_refuse"), out = dir + "/r.csv";
  ASSERT_EQ(run_cli(kTiny + " --out " + out).status, 0);
  const std::string before = read_file(out);
  const std::string cut = before.substr(0, before.size() - 10);
  write_file(out, cut);
  const std::string base = "sweep --archs 3 --no-progress --resume --out " + out;
  expect_one_line_error(run_cli(base + " --batch 4 --repeat 1 --seed 6"), "--seed");
  expect_one_line_error(run_cli(base + " --batch 8 --repeat 1 --seed 5"), "--batch");
  expect_one_line_error(run_cli(base + " --batch 4 --repeat 2 --seed 5"), "--repeat");
  expect_one_line_error(run_cli(base + " --batch 4 --repeat 1 --seed 5 --init kaiming"), "--init");
  expect_one_line_error(run_cli(base + " --batch 4 --repeat 1 --seed 5 --target stm32f446re"),
                        "--target");
  EXPECT_EQ(read_file(out), cut);  // refused runs leave the file alone

  // Another kind of file, cut short: refused, and not cut any further.
  const std::string other = "index,arch\n1,|nor_conv_3x3~0|+|nor";
  write_file(dir + "/other.csv", other);
  fs::copy_file(out + ".json", dir + "/other.csv.json");
  expect_one_line_error(run_cli(kTiny + " --resume --out " + dir + "/other.csv"),
                        "not a sweep file");
  EXPECT_EQ(read_file(dir + "/other.csv"), other);

  fs::remove(out + ".json");
  expect_one_line_error(run_cli(kTiny + " --resume --out " + out), "missing");
}

TEST(SweepCli, RowsDoNotDependOnTheListOrArchsForm) {
  const std::string dir = temp_dir("sweep_order"), random = dir + "/random.csv";
  ASSERT_EQ(run_cli(kTiny + " --out " + random).status, 0);
  const std::string random_text = read_file(random);
  std::vector<std::string> lines = lines_of(random_text);

  // The same cells listed in reverse order, by string and by official index, with comments.
  const std::string table_path = test::data_path("nb201/nb201.csv");
  const BenchmarkTable table = BenchmarkTable::load(table_path);
  std::string list = "# cells of the random sweep, reversed\n\n";
  for (std::size_t i = lines.size() - 1; i >= 1; --i) {
    Arch arch = parse_sweep_row(lines[i], "row").arch;
    if (i == 1)
      list += "  " + std::to_string(table.index(*table.find(arch))) + "   # by index\n";
    else
      list += arch.to_string() + "\n";
  }
  list += parse_sweep_row(lines[2], "row").arch.to_string() + "   # listed twice\n";
  write_file(dir + "/cells.txt", list);
  const std::string listed = dir + "/listed.csv";
  auto r = run_cli("sweep --batch 4 --repeat 1 --seed 5 --no-progress --archs " + dir +
                   "/cells.txt --out " + listed + " --benchmark " + table_path);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(rows_by_cell(read_file(listed)), rows_by_cell(random_text));
  std::vector<std::string> listed_lines = lines_of(read_file(listed));
  ASSERT_EQ(listed_lines.size(), 4u);  // the repeated cell is scored once
  for (std::size_t i = 1; i < listed_lines.size(); ++i) {
    SweepRow row = parse_sweep_row(listed_lines[i], "row");
    EXPECT_EQ(row.index, table.index(*table.find(row.arch)));
  }
}

TEST(SweepCli, RandomCellsFollowTheSeed) {
  const std::string dir = temp_dir("sweep_seed");
  auto cells = [&](const std::string& name, int seed) {
    const std::string out = dir + "/" + name + ".csv";
    auto r = run_cli("sweep --archs 4 --batch 2 --repeat 1 --no-progress --seed " +
                     std::to_string(seed) + " --out " + out);
    EXPECT_EQ(r.status, 0) << r.output;
    std::vector<std::string> ids;
    for (const std::string& line : lines_of(read_file(out)))
      ids.push_back(line.substr(0, line.find(',')));
    return ids;
  };
  std::vector<std::string> a = cells("a", 11), b = cells("b", 11), c = cells("c", 12);
  EXPECT_EQ(a.size(), 5u);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  std::sort(a.begin(), a.end());
  EXPECT_EQ(std::unique(a.begin(), a.end()), a.end());  // distinct cells
}

TEST(SweepCli, BadInputIsOneClearError) {
  const std::string dir = temp_dir("sweep_bad");
  write_file(dir + "/cells.txt",
             "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
             "nor_conv_3x3~2|\n# a comment\n|nor_conv_3x3~0|+|bogus~0|\n");
  expect_one_line_error(
      run_cli(kTinyOptions + " --archs " + dir + "/cells.txt --out " + dir + "/a.csv"),
      "cells.txt:3");
  write_file(dir + "/indices.txt", "9930\n");
  expect_one_line_error(
      run_cli(kTinyOptions + " --archs " + dir + "/indices.txt --out " + dir + "/b.csv"),
      "indices.txt:1");
  expect_one_line_error(run_cli(kTinyOptions + " --archs 0 --out " + dir + "/c.csv"), "--archs");
  expect_one_line_error(run_cli(kTinyOptions + " --archs 15626 --out " + dir + "/c.csv"),
                        "--archs");
  expect_one_line_error(
      run_cli(kTinyOptions + " --archs " + dir + "/nope.txt --out " + dir + "/c.csv"), "--archs");
  expect_one_line_error(run_cli(kTiny + " --out " + dir + "/missing/dir/r.csv"), "--out");
  expect_one_line_error(run_cli(kTiny + " --out " + dir), "directory");
  expect_one_line_error(run_cli(kTiny + " --data bogus --out " + dir + "/d.csv"), "bogus");
  EXPECT_FALSE(fs::exists(dir + "/d.csv"));  // options are checked before the file is made
}

}  // namespace
}  // namespace micronas
