// The `sweep` and `evaluate` verbs as a user runs them: resumable sweeps that give the same rows
// as an uninterrupted run, refusals that protect a results file, and evaluation statistics checked
// against independent computations.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "micronas/benchmark_table.hpp"
#include "micronas/npy.hpp"
#include "micronas/random.hpp"
#include "micronas/sweep.hpp"
#include "tests/rank_reference.hpp"
#include "tests/test_util.hpp"

namespace micronas {
namespace {

namespace fs = std::filesystem;
using test::run_cli;

using test::read_file;
using test::temp_dir;
using test::write_file;

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
  MICRONAS_REQUIRE_DATA("nb201/nb201.csv");

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

  // The results evaluate, and the plot's target comes from the sidecar.
  r = run_cli("evaluate --json --results " + out + " --benchmark " +
              test::data_path("nb201/nb201.csv"));
  ASSERT_EQ(r.status, 0) << r.output;
  auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["n"], 3);
  EXPECT_EQ(j["pareto"]["target"], "stm32f746");
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

TEST(SweepCli, ResumeRefusesDataThatChangedUnderTheSamePath) {
  const std::string dir = temp_dir("sweep_data_changed"), out = dir + "/r.csv";
  const std::string data = dir + "/x.npy";
  std::vector<float> images(8 * 3 * 32 * 32);
  for (std::size_t i = 0; i < images.size(); ++i) images[i] = static_cast<float>(i % 251) / 251;
  write_npy(data, {8, 3, 32, 32}, images.data());
  const std::string sweep = kTiny + " --data npy:" + data + " --out " + out;
  ASSERT_EQ(run_cli(sweep).status, 0);
  std::vector<std::string> lines = lines_of(read_file(out));
  std::string cut;
  for (std::size_t i = 0; i + 1 < lines.size(); ++i) cut += lines[i] + "\n";
  write_file(out, cut);
  images[5] += 1.0f;  // the same shape and path, other values
  write_npy(data, {8, 3, 32, 32}, images.data());
  auto r = run_cli(sweep + " --resume");
  expect_one_line_error(r, "--data: the contents of npy:" + data + " differ");
  EXPECT_EQ(read_file(out), cut);
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
  auto r = run_cli(kTiny + " --resume --out " + dir + "/other.csv");
  expect_one_line_error(r, "not a sweep file");
  EXPECT_EQ(test::exit_status(r), 5) << "a file of the wrong format";
  EXPECT_EQ(read_file(dir + "/other.csv"), other);

  // A sidecar that is not JSON is a file of the wrong format too.
  const std::string sidecar = read_file(out + ".json");
  write_file(out + ".json", "{");
  r = run_cli(kTiny + " --resume --out " + out);
  expect_one_line_error(r, "not valid JSON");
  EXPECT_EQ(test::exit_status(r), 5);
  // Recorded values of another JSON type are named as they are, not the JSON library's error.
  write_file(out + ".json", R"({"micronas_version": 5, "build_type": [], "shard": 1})");
  r = run_cli(kTiny + " --resume --out " + out);
  expect_one_line_error(r, "written by micronas 5 ([])");
  EXPECT_EQ(test::exit_status(r), 2);
  write_file(out + ".json", sidecar);

  fs::remove(out + ".json");
  expect_one_line_error(run_cli(kTiny + " --resume --out " + out), "missing");
}

TEST(SweepCli, RowsDoNotDependOnTheListOrArchsForm) {
  MICRONAS_REQUIRE_DATA("nb201/nb201.csv");

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

// Holds an exclusive flock(2) on a file, as a running sweep does, for the life of the object.
struct HeldLock {
  int fd;
  explicit HeldLock(const std::string& path) : fd(::open(path.c_str(), O_RDWR | O_CREAT, 0644)) {
    EXPECT_GE(fd, 0) << path;
    EXPECT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0) << path;
  }
  ~HeldLock() { ::close(fd); }
};

TEST(SweepCli, ASecondRunOnTheSameFileIsRefusedAndChangesNothing) {
  const std::string dir = temp_dir("sweep_lock"), out = dir + "/r.csv";
  ASSERT_EQ(run_cli(kTiny + " --out " + out).status, 0);
  const std::string text = read_file(out), sidecar = read_file(out + ".json");
  write_file(out, text.substr(0, text.size() - 10));  // an interrupted run, to be resumed
  const std::string cut = read_file(out);
  {
    // This test process plays the first run: it holds the lock while the program tries.
    HeldLock first(out);
    auto r = run_cli(kTiny + " --resume --out " + out);
    expect_one_line_error(r, "another micronas run");
    EXPECT_EQ(test::exit_status(r), 5);
    EXPECT_NE(r.output.find(out), std::string::npos) << r.output;
    if (std::ifstream("/proc/locks").good()) {
      EXPECT_NE(r.output.find("PID " + std::to_string(::getpid())), std::string::npos) << r.output;
    }
    EXPECT_EQ(read_file(out), cut);
    EXPECT_EQ(read_file(out + ".json"), sidecar);
    // A fresh file is protected the same way.
    HeldLock other(dir + "/fresh.csv");
    expect_one_line_error(run_cli(kTiny + " --out " + dir + "/fresh.csv"), "another micronas run");
    EXPECT_EQ(read_file(dir + "/fresh.csv"), "");
  }
  // Two real runs at once: one sweeps, the other is refused; the file ends with each cell once.
  const std::string both = dir + "/both.csv";
  const std::string cmd = std::string(MICRONAS_CLI) + " " + kTinyOptions + " --archs 40 --out " +
                          both + " >/dev/null 2>&1";
  FILE* first = popen(cmd.c_str(), "r");
  ASSERT_NE(first, nullptr);
  for (int i = 0; i < 500 && read_file(both).find('\n') == std::string::npos; ++i)
    ::usleep(10000);  // until the first run has written its header
  auto second = run_cli(kTinyOptions + " --archs 40 --resume --out " + both);
  const int first_status = pclose(first);
  EXPECT_EQ(first_status, 0);
  if (second.status != 0) expect_one_line_error(second, "another micronas run");
  std::vector<std::string> lines = lines_of(read_file(both));
  EXPECT_EQ(lines.size(), 41u) << read_file(both);
  std::sort(lines.begin(), lines.end());
  EXPECT_EQ(std::unique(lines.begin(), lines.end()), lines.end());
}

TEST(SweepCli, ResumeChecksKeptRowsAsStrictlyAsNewOnes) {
  MICRONAS_REQUIRE_DATA("nb201/nb201.csv");
  const std::string table = test::data_path("nb201/nb201.csv");
  const std::string dir = temp_dir("sweep_kept"), out = dir + "/r.csv";
  const std::string run = kTiny + " --benchmark " + table + " --out " + out;
  ASSERT_EQ(run_cli(run).status, 0);
  const std::string good = read_file(out);
  std::vector<std::string> lines = lines_of(good);
  ASSERT_EQ(lines.size(), 4u);
  const std::string sidecar = read_file(out + ".json");
  auto header_and = [&](const std::vector<std::string>& rows) {
    std::string text = lines[0] + "\n";
    for (const std::string& row : rows) text += row + "\n";
    return text;
  };
  auto field_replaced = [&](const std::string& line, int field, const std::string& value) {
    std::vector<std::string> f;
    std::stringstream in(line);
    for (std::string x; std::getline(in, x, ',');) f.push_back(x);
    f[field] = value;
    std::string joined;
    for (std::size_t i = 0; i < f.size(); ++i) joined += (i ? "," : "") + f[i];
    return joined;
  };
  // A row of another cell, with the same options: 5 random cells hold the 3 and two more.
  const std::string foreign_out = dir + "/foreign.csv";
  ASSERT_EQ(
      run_cli(kTinyOptions + " --archs 5 --benchmark " + table + " --out " + foreign_out).status,
      0);
  std::string foreign;
  for (const std::string& line : lines_of(read_file(foreign_out)))
    if (line != lines[0] && good.find(line.substr(0, line.find(','))) == std::string::npos)
      foreign = line;
  ASSERT_FALSE(foreign.empty());

  const std::vector<std::pair<std::string, std::string>> cases = {
      {header_and({lines[1], foreign}), "not in this sweep's list"},
      {header_and({lines[1], field_replaced(lines[2], 1, "77")}), "index 77"},
      {header_and({lines[1], field_replaced(lines[2], 1, "")}), "index (empty)"},
      {header_and({lines[1], field_replaced(lines[2], 3, "nan")}), "ntk_condition"},
      {header_and({lines[1], field_replaced(lines[2], 3, "inf")}), "ntk_condition"},
      {header_and({lines[1], field_replaced(lines[2], 8, "-3")}), "latency_ms"},
      {header_and({lines[1], field_replaced(lines[2], 8, "123.5")}), "latency_ms"},
  };
  for (const auto& [text, needle] : cases) {
    write_file(out, text);
    expect_one_line_error(run_cli(run + " --resume"), needle);
    EXPECT_EQ(read_file(out), text);  // refused runs leave the file alone
  }

  // Rows of another version or build type are not mixed in.
  write_file(out, header_and({lines[1]}));
  auto j = nlohmann::json::parse(sidecar);
  EXPECT_TRUE(j.contains("micronas_version"));
  EXPECT_TRUE(j.contains("build_type"));
  j["micronas_version"] = "0.0.1";
  write_file(out + ".json", j.dump(2));
  expect_one_line_error(run_cli(run + " --resume"), "0.0.1");
  j.erase("micronas_version");
  write_file(out + ".json", j.dump(2));
  expect_one_line_error(run_cli(run + " --resume"), "unrecorded version");
  write_file(out + ".json", sidecar);
  auto r = run_cli(run + " --resume");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(without_seconds(read_file(out)), without_seconds(good));
}

// --- evaluate ---

// Results for every 37th benchmark cell with made-up proxy values (ties included); FLOPs and
// params are the table's.
struct MadeUpResults {
  std::vector<SweepRow> rows;
  std::vector<double> cifar10, cifar100;
};

MadeUpResults made_up_results(const BenchmarkTable& table, const std::string& path) {
  MadeUpResults m;
  Rng rng(42);
  std::string text = kHeader + "\n";
  for (std::size_t t = 0; t < table.size(); t += 37) {
    SweepRow row;
    row.arch = table.arch(t);
    row.cell_id = row.arch.cell_id();
    row.index = table.index(t);
    row.ntk_condition = 10 + static_cast<double>(rng.below(60));
    row.ntk_valid = rng.below(10) != 0;
    row.linear_regions = 100 + static_cast<double>(rng.below(40));
    row.flops_m = table.value(t, "flops_m");
    row.params_m = table.value(t, "params_m");
    row.latency_ms = 7.5 * row.flops_m + static_cast<double>(rng.below(300));
    row.peak_sram_kb = 50 + static_cast<double>(rng.below(100));
    row.flash_kb = 200 + static_cast<double>(rng.below(800));
    m.rows.push_back(row);
    m.cifar10.push_back(table.value(t, "cifar10_test"));
    m.cifar100.push_back(table.value(t, "cifar100_test"));
    text += format_sweep_row(row) + "\n";
  }
  write_file(path, text);
  return m;
}

double mean_of_top(const std::vector<double>& score, const std::vector<double>& acc,
                   const std::vector<SweepRow>& rows, std::size_t k) {
  std::vector<std::size_t> order(score.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return score[a] != score[b] ? score[a] > score[b] : rows[a].cell_id < rows[b].cell_id;
  });
  double sum = 0;
  for (std::size_t i = 0; i < k; ++i) sum += acc[order[i]];
  return sum / static_cast<double>(k);
}

TEST(EvaluateCli, StatisticsMatchIndependentComputations) {
  MICRONAS_REQUIRE_DATA("nb201/nb201.csv");

  const std::string dir = temp_dir("evaluate"), results = dir + "/r.csv", svg = dir + "/p.svg";
  const std::string table_path = test::data_path("nb201/nb201.csv");
  const BenchmarkTable table = BenchmarkTable::load(table_path);
  const MadeUpResults m = made_up_results(table, results);
  const std::size_t n = m.rows.size();

  auto r = run_cli("evaluate --json --top-k 10,50 --results " + results + " --benchmark " +
                   table_path + " --svg " + svg);
  ASSERT_EQ(r.status, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["n"], n);
  int invalid = 0;
  for (const SweepRow& row : m.rows) invalid += row.ntk_valid ? 0 : 1;
  EXPECT_EQ(j["ntk_invalid"], invalid);

  std::vector<double> flops, negated_ntk, tenas, negated_latency;
  std::vector<double> ntk, negated_regions;
  for (const SweepRow& row : m.rows) {
    flops.push_back(row.flops_m);
    ntk.push_back(row.ntk_condition);
    negated_ntk.push_back(-row.ntk_condition);
    negated_regions.push_back(-row.linear_regions);
    negated_latency.push_back(-row.latency_ms);
  }
  std::vector<double> rank_ntk = test::brute_force_ranks(ntk);
  std::vector<double> rank_regions = test::brute_force_ranks(negated_regions);
  for (std::size_t i = 0; i < n; ++i) tenas.push_back(-(rank_ntk[i] + rank_regions[i]));
  // MicroNAS's weighted average with phi = lambda = 0.25: lower FLOPs and latency rank first.
  std::vector<double> latency, hybrid;
  for (const SweepRow& row : m.rows) latency.push_back(row.latency_ms);
  const std::vector<double> rank_flops = test::brute_force_ranks(flops);
  const std::vector<double> rank_latency = test::brute_force_ranks(latency);
  for (std::size_t i = 0; i < n; ++i)
    hybrid.push_back(
        -(0.25 * (rank_ntk[i] + rank_regions[i]) + 0.25 * rank_flops[i] + 0.25 * rank_latency[i]));

  const auto& c10 = j["correlations"]["cifar10_test"];
  const auto& c100 = j["correlations"]["cifar100_test"];
  EXPECT_TRUE(j["correlations"].contains("imagenet16_test"));
  EXPECT_NEAR(c10["flops_m"]["kendall_tau"].get<double>(),
              test::brute_force_kendall_tau(flops, m.cifar10), 1e-12);
  EXPECT_NEAR(c10["flops_m"]["spearman_rho"].get<double>(),
              test::brute_force_spearman_rho(flops, m.cifar10), 1e-12);
  EXPECT_NEAR(c100["ntk"]["kendall_tau"].get<double>(),
              test::brute_force_kendall_tau(negated_ntk, m.cifar100), 1e-12);
  EXPECT_NEAR(c10["latency"]["spearman_rho"].get<double>(),
              test::brute_force_spearman_rho(negated_latency, m.cifar10), 1e-12);
  EXPECT_NEAR(c10["tenas"]["kendall_tau"].get<double>(),
              test::brute_force_kendall_tau(tenas, m.cifar10), 1e-12);
  EXPECT_NEAR(c10["hybrid(0.25,0.25)"]["kendall_tau"].get<double>(),
              test::brute_force_kendall_tau(hybrid, m.cifar10), 1e-12);
  EXPECT_NEAR(c100["hybrid(0.25,0.25)"]["spearman_rho"].get<double>(),
              test::brute_force_spearman_rho(hybrid, m.cifar100), 1e-12);
  EXPECT_TRUE(c10.contains("hybrid(0,0.5)") && c10.contains("hybrid(0.5,0)"));
  // Sanity of the data itself: FLOPs rank NB201 cells well (rho 0.75 over all cells).
  EXPECT_GT(c10["flops_m"]["spearman_rho"].get<double>(), 0.6);

  const auto& top = j["top_k"];
  EXPECT_EQ(top["accuracy"], "cifar10_test");
  EXPECT_DOUBLE_EQ(top["best"].get<double>(),
                   *std::max_element(m.cifar10.begin(), m.cifar10.end()));
  ASSERT_EQ(top["k"].size(), 2u);
  EXPECT_EQ(top["k"][1]["k"], 50);
  EXPECT_NEAR(top["k"][0]["flops_m"]["mean"].get<double>(),
              mean_of_top(flops, m.cifar10, m.rows, 10), 1e-9);
  EXPECT_NEAR(top["k"][1]["tenas"]["mean"].get<double>(), mean_of_top(tenas, m.cifar10, m.rows, 50),
              1e-9);

  // The front: each point beats every faster-or-equal cell; every other cell is dominated.
  const auto& front = j["pareto"]["front"];
  ASSERT_GE(front.size(), 2u);
  std::size_t on_front = 0;
  for (std::size_t i = 0; i < n; ++i) {
    bool dominated = false;
    for (std::size_t k = 0; k < n && !dominated; ++k)
      dominated = m.cifar10[k] >= m.cifar10[i] && m.rows[k].latency_ms <= m.rows[i].latency_ms &&
                  (m.cifar10[k] > m.cifar10[i] || m.rows[k].latency_ms < m.rows[i].latency_ms);
    on_front += dominated ? 0 : 1;
  }
  EXPECT_EQ(front.size(), on_front);  // no exact duplicates in these data
  for (std::size_t k = 1; k < front.size(); ++k) {
    EXPECT_LT(front[k - 1]["latency_ms"].get<double>(), front[k]["latency_ms"].get<double>());
    EXPECT_LT(front[k - 1]["accuracy"].get<double>(), front[k]["accuracy"].get<double>());
  }

  const std::string plot = read_file(svg);
  EXPECT_EQ(plot.rfind("<svg", 0), 0u);
  std::size_t markers = 0;
  for (std::size_t at = plot.find("front-marker"); at != std::string::npos;
       at = plot.find("front-marker", at + 1))
    ++markers;
  EXPECT_EQ(markers, front.size());
  EXPECT_NE(plot.find("cifar10_test accuracy (%)"), std::string::npos);

  r = run_cli("evaluate --results " + results + " --benchmark " + table_path +
              " --accuracy cifar100_test");
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* text :
       {"Kendall tau-b", "top-k", "Pareto front", "-ntk_condition", "cifar100_test"})
    EXPECT_NE(r.output.find(text), std::string::npos) << text;
}

TEST(EvaluateCli, BadInputIsOneClearError) {
  MICRONAS_REQUIRE_DATA("nb201/nb201.csv");

  const std::string dir = temp_dir("evaluate_bad"), results = dir + "/r.csv";
  const std::string table_path = test::data_path("nb201/nb201.csv");
  const BenchmarkTable table = BenchmarkTable::load(table_path);
  made_up_results(table, results);
  const std::string args = "evaluate --results " + results + " --benchmark ";

  // A table without the third result row's cell.
  std::vector<std::string> result_lines = lines_of(read_file(results));
  std::vector<std::string> table_lines = lines_of(read_file(table_path));
  const Arch missing = parse_sweep_row(result_lines[3], "row").arch;
  std::string small = table_lines[0] + "\n";
  for (std::size_t i = 1; i < table_lines.size() && i < 2000; ++i)
    if (table_lines[i].find(missing.to_string()) == std::string::npos)
      small += table_lines[i] + "\n";
  write_file(dir + "/small.csv", small);
  expect_one_line_error(run_cli(args + dir + "/small.csv"), "row 3");

  expect_one_line_error(run_cli(args + table_path + " --accuracy bogus_test"), "bogus_test");
  expect_one_line_error(run_cli(args + table_path + " --top-k 10,x"), "--top-k");
  expect_one_line_error(run_cli(args + table_path + " --top-k 0"), "--top-k");
  for (const char* bad : {"0.5", "0.5:x", "0.7:0.4", "-0.1:0.2", "0.1:0.2:0.3", "1:0,1.0:0.0"})
    expect_one_line_error(run_cli(args + table_path + " --hybrid " + bad), "--hybrid");
  // Values no sweep writes: an infinite or negative latency, a NaN condition number.
  std::vector<std::string> rows = lines_of(read_file(results));
  for (const auto& [field, value] : std::vector<std::pair<int, std::string>>{
           {8, "inf"}, {8, "-2.5"}, {8, "0"}, {3, "nan"}, {5, "-1"}}) {
    std::vector<std::string> f;
    std::stringstream in(rows[2]);
    for (std::string x; std::getline(in, x, ',');) f.push_back(x);
    f[field] = value;
    std::string text = rows[0] + "\n" + rows[1] + "\n";
    for (std::size_t i = 0; i < f.size(); ++i) text += (i ? "," : "") + f[i];
    write_file(dir + "/bad_value.csv", text + "\n");
    expect_one_line_error(
        run_cli("evaluate --results " + dir + "/bad_value.csv --benchmark " + table_path),
        "bad_value.csv:3");
  }
  expect_one_line_error(run_cli("evaluate --results " + dir + " --benchmark " + table_path),
                        "is a directory");
  write_file(dir + "/cut.csv", read_file(results).substr(0, 300));
  expect_one_line_error(run_cli("evaluate --results " + dir + "/cut.csv --benchmark " + table_path),
                        "no final newline");
}

TEST(EvaluateCli, SvgIsNeverOverwrittenAndWrittenWholeOrNotAtAll) {
  MICRONAS_REQUIRE_DATA("nb201/nb201.csv");

  const std::string dir = temp_dir("evaluate_svg"), results = dir + "/r.csv", svg = dir + "/p.svg";
  const std::string table_path = test::data_path("nb201/nb201.csv");
  made_up_results(BenchmarkTable::load(table_path), results);
  write_file(results + ".json", "{\"target\": \"stm32f746\"}\n");
  const std::string args = "evaluate --results " + results + " --benchmark " + table_path;
  // Any existing file is refused and left as it was: the command's own inputs, a folder.
  for (const std::string& existing : {results, results + ".json", dir}) {
    const std::string before = fs::is_directory(existing) ? "" : read_file(existing);
    auto r = run_cli(args + " --svg " + existing);
    expect_one_line_error(r, "--svg: '" + existing + "' exists");
    EXPECT_EQ(test::exit_status(r), 5) << r.output;
    if (!before.empty()) {
      EXPECT_EQ(read_file(existing), before) << existing;
    }
  }
  expect_one_line_error(run_cli(args + " --svg " + dir + "/none/p.svg"),
                        "--svg: cannot create '" + dir + "/none/p.svg'");
  // Files may not grow past 512 bytes (the signal that would end the program is ignored, so the
  // write fails as on a full disk): no truncated plot is left.
  auto r = test::run_shell("trap '' XFSZ; ulimit -f 1; " + std::string(MICRONAS_CLI) + " " + args +
                           " --svg " + svg);
  expect_one_line_error(r, "--svg: " + svg + ": write failed");
  EXPECT_EQ(test::exit_status(r), 5) << r.output;
  EXPECT_FALSE(fs::exists(svg));
  r = run_cli(args + " --svg " + svg);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(read_file(svg).find("</svg>"), std::string::npos);
}

TEST(SweepCli, ExportsNaslibJsonAndNeverOverwrites) {
  MICRONAS_REQUIRE_DATA("nb201/nb201.csv");
  const std::string dir = temp_dir("sweep_naslib"), out = dir + "/r.csv", zc = dir + "/zc.json";
  ASSERT_EQ(run_cli(kTiny + " --out " + out).status, 0);
  const std::string table = test::data_path("nb201/nb201.csv");
  auto r = run_cli("export-naslib --results " + out + " --benchmark " + table + " --out " + zc);
  ASSERT_EQ(r.status, 0) << r.output;
  const auto j = nlohmann::json::parse(read_file(zc));
  ASSERT_EQ(j.at("cifar10").size(), 3u);
  for (const auto& [key, entry] : j.at("cifar10").items()) {
    EXPECT_EQ(key.front(), '(');
    EXPECT_TRUE(entry.contains("val_accuracy")) << key;
    EXPECT_LT(entry.at("tenas_ntk").at("score").get<double>(), 0.0) << key;
  }
  const std::string before = read_file(zc);
  expect_one_line_error(
      run_cli("export-naslib --results " + out + " --benchmark " + table + " --out " + zc),
      "never overwritten");
  EXPECT_EQ(read_file(zc), before);
  expect_one_line_error(
      run_cli("export-naslib --results " + dir + "/none.csv --out " + dir + "/x.json"), "none.csv");
}

TEST(EvaluateCli, AnInterruptedSweepIsEvaluatedAsIncomplete) {
  MICRONAS_REQUIRE_DATA("nb201/nb201.csv");
  const std::string dir = temp_dir("evaluate_incomplete"), out = dir + "/r.csv";
  const std::string evaluate =
      "evaluate --results " + out + " --benchmark " + test::data_path("nb201/nb201.csv");
  ASSERT_EQ(run_cli(kTinyOptions + " --archs 4 --out " + out).status, 0);
  auto r = run_cli(evaluate + " --json");
  ASSERT_EQ(r.status, 0) << r.output;
  auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["cells_planned"], 4);
  EXPECT_EQ(j["complete"], true);
  // The last row lost, as an interruption leaves it.
  std::vector<std::string> lines = lines_of(read_file(out));
  std::string cut;
  for (std::size_t i = 0; i + 1 < lines.size(); ++i) cut += lines[i] + "\n";
  write_file(out, cut);
  r = run_cli(evaluate + " --json");
  ASSERT_EQ(r.status, 0) << r.output;
  j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["n"], 3);
  EXPECT_EQ(j["complete"], false);
  r = run_cli(evaluate);
  EXPECT_NE(r.output.find("incomplete: " + out + " holds 3 of the 4 cells"), std::string::npos)
      << r.output;
  // A sidecar that is there but malformed is refused, not ignored.
  write_file(out + ".json", "{");
  r = run_cli(evaluate);
  expect_one_line_error(r, "not valid JSON");
  EXPECT_EQ(test::exit_status(r), 5);
}

// The front is labelled with the sidecar's target only when the rows' costs are that target's:
// a results file replaced by another sweep's, its sidecar left behind, is refused.
TEST(EvaluateCli, ASidecarOfAnotherTargetIsRefusedNotUsedAsTheLabel) {
  MICRONAS_REQUIRE_DATA("nb201/nb201.csv");
  const std::string dir = temp_dir("evaluate_target"), f746 = dir + "/f746.csv",
                    l552 = dir + "/l552.csv";
  ASSERT_EQ(run_cli(kTiny + " --out " + f746).status, 0);
  ASSERT_EQ(run_cli(kTiny + " --target stm32l552 --out " + l552).status, 0);
  const std::string evaluate = "evaluate --json --benchmark " + test::data_path("nb201/nb201.csv");
  auto r = run_cli(evaluate + " --results " + l552);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(nlohmann::json::parse(r.output)["pareto"]["target"], "stm32l552");
  // The L552 rows under the F746 sweep's name, next to the F746 sidecar.
  write_file(f746, read_file(l552));
  r = run_cli(evaluate + " --results " + f746);
  expect_one_line_error(r, f746 + ": row 1");
  EXPECT_NE(r.output.find("stm32f746"), std::string::npos) << r.output;
  EXPECT_EQ(test::exit_status(r), 5);
  // Without the sidecar the rows are evaluated, unlabelled.
  fs::remove(f746 + ".json");
  r = run_cli(evaluate + " --results " + f746);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(nlohmann::json::parse(r.output)["pareto"]["target"].is_null());
}

TEST(EvaluateCli, CellsWithoutAnAccuracyAreCountedNotHidden) {
  MICRONAS_REQUIRE_DATA("nb201/nb201.csv");

  const std::string dir = temp_dir("evaluate_missing"), results = dir + "/r.csv";
  const std::string table_path = test::data_path("nb201/nb201.csv");
  const BenchmarkTable table = BenchmarkTable::load(table_path);
  const MadeUpResults m = made_up_results(table, results);
  // The same table with the cifar10_test field of two result cells emptied.
  std::vector<std::string> lines = lines_of(read_file(table_path));
  std::vector<std::string> header;
  {
    std::stringstream in(lines[0]);
    for (std::string x; std::getline(in, x, ',');) header.push_back(x);
  }
  const int column =
      static_cast<int>(std::find(header.begin(), header.end(), "cifar10_test") - header.begin());
  ASSERT_LT(column, static_cast<int>(header.size()));
  std::string text = lines[0] + "\n";
  for (std::size_t i = 1; i < lines.size(); ++i) {
    std::string line = lines[i];
    for (std::size_t k : {std::size_t{0}, std::size_t{4}}) {
      if (line.find(m.rows[k].arch.to_string()) == std::string::npos) continue;
      std::vector<std::string> f;
      std::stringstream in(line);
      for (std::string x; std::getline(in, x, ',');) f.push_back(x);
      f[column] = "";
      line.clear();
      for (std::size_t c = 0; c < f.size(); ++c) line += (c ? "," : "") + f[c];
    }
    text += line + "\n";
  }
  write_file(dir + "/gaps.csv", text);
  auto r = run_cli("evaluate --json --results " + results + " --benchmark " + dir + "/gaps.csv");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["n"], m.rows.size());
  EXPECT_EQ(j["top_k"]["evaluated"], m.rows.size() - 2);
  EXPECT_EQ(j["top_k"]["without_accuracy"], 2);
  r = run_cli("evaluate --results " + results + " --benchmark " + dir + "/gaps.csv");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("2 of the " + std::to_string(m.rows.size()) +
                          " cells have no cifar10_test value"),
            std::string::npos)
      << r.output;
}

// The sweep's rows without the seconds (wall times), for comparing runs.
std::vector<std::string> rows_without_seconds(const std::string& path) {
  return without_seconds(read_file(path));
}

TEST(SweepShards, MergedShardsEqualTheOneProcessSweepRowForRow) {
  const std::string dir = temp_dir("sweep_shards"), whole = dir + "/whole.csv";
  const std::string sweep = "sweep --batch 4 --repeat 1 --seed 5 --no-progress --archs 7";
  ASSERT_EQ(run_cli(sweep + " --out " + whole).status, 0);
  std::string shards;
  for (int i = 0; i < 3; ++i) {
    auto r = run_cli(sweep + " --shard " + std::to_string(i) + "/3 --out " + dir + "/r.csv");
    ASSERT_EQ(r.status, 0) << r.output;
    shards += " " + dir + "/r.shard-00" + std::to_string(i) + "-of-003.csv";
  }
  // A shard killed mid-way (its last row cut) and resumed gives the same file.
  const std::string shard1 = dir + "/r.shard-001-of-003.csv";
  const std::string complete = read_file(shard1);
  write_file(shard1, complete.substr(0, complete.size() - 20));
  auto resumed = run_cli(sweep + " --shard 1/3 --resume --out " + dir + "/r.csv");
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  EXPECT_EQ(rows_without_seconds(shard1), without_seconds(complete));

  // The files must all be there, and merge never overwrites.
  expect_one_line_error(
      run_cli("merge --out " + dir + "/m.csv " + dir + "/r.shard-000-of-003.csv " + shard1),
      "shards 2 of 3 are missing");
  auto r = run_cli("merge --out " + dir + "/merged.csv" + shards);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(rows_without_seconds(dir + "/merged.csv"), rows_without_seconds(whole));
  expect_one_line_error(run_cli("merge --out " + dir + "/merged.csv" + shards), "never");
  // The merged file is an ordinary sweep: it resumes as complete.
  ASSERT_EQ(run_cli(sweep + " --resume --out " + dir + "/merged.csv").status, 0);

  // A shard run with other options does not merge.
  ASSERT_EQ(run_cli("sweep --batch 4 --repeat 1 --seed 6 --no-progress --archs 7 --shard 2/3 "
                    "--out " +
                    dir + "/other.csv")
                .status,
            0);
  expect_one_line_error(
      run_cli("merge --out " + dir + "/m2.csv " + dir + "/r.shard-000-of-003.csv " + shard1 + " " +
              dir + "/other.shard-002-of-003.csv"),
      "other options");

  // A shard's sidecar with fields of another type is refused in words (status 5).
  const std::string sidecar = read_file(shard1 + ".json");
  for (const std::string& bad : {std::string(R"({"shard": 1, "cells": [1]})"),
                                 std::string(R"({"shard": "1/3", "cells": ["a"]})"),
                                 std::string(R"({"shard": "1/3", "cells": [99999999999]})")}) {
    write_file(shard1 + ".json", bad);
    r = run_cli("merge --out " + dir + "/m3.csv" + shards);
    expect_one_line_error(r, shard1 + ".json: not the sidecar of a sweep shard");
    EXPECT_EQ(test::exit_status(r), 5) << bad;
  }
  write_file(shard1 + ".json", sidecar);
}

TEST(SweepShards, SlurmArrayAndMpiRanksComeFromTheEnvironment) {
  const std::string dir = temp_dir("sweep_env");
  const std::string sweep =
      "sweep --batch 4 --repeat 1 --seed 5 --no-progress --archs 4 --out " + dir + "/r.csv";
  auto r = test::run_shell("SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=2 " +
                           std::string(MICRONAS_CLI) + " " + sweep);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("shard 1/2 from SLURM_ARRAY_TASK_ID"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::exists(dir + "/r.shard-001-of-002.csv"));
  r = test::run_shell("OMPI_COMM_WORLD_RANK=0 OMPI_COMM_WORLD_SIZE=2 " + std::string(MICRONAS_CLI) +
                      " " + sweep);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("from OMPI_COMM_WORLD_RANK"), std::string::npos) << r.output;
  r = run_cli("merge --out " + dir + "/merged.csv " + dir + "/r.shard-000-of-002.csv " + dir +
              "/r.shard-001-of-002.csv");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(lines_of(read_file(dir + "/merged.csv")).size(), 5u);
  expect_one_line_error(
      test::run_shell("SLURM_ARRAY_TASK_ID=3 " + std::string(MICRONAS_CLI) + " " + sweep),
      "SLURM_ARRAY_TASK_COUNT");
}

// A real launcher: Open MPI's mpirun starts two ranks on this machine (the flags a container
// needs: root, more ranks than cores), each scores its shard, and the merge equals one process.
TEST(SweepShards, MpirunTwoRanksMergeToTheOneProcessSweep) {
  if (test::run_shell("command -v mpirun").status != 0)
    GTEST_SKIP() << "mpirun not found (scripts/setup.sh installs Debian's openmpi-bin)";
  const std::string dir = temp_dir("sweep_mpi");
  const std::string sweep =
      std::string(MICRONAS_CLI) +
      " sweep --batch 4 --repeat 1 --seed 5 --no-progress --archs 6 --threads 1";
  ASSERT_EQ(test::run_shell(sweep + " --out " + dir + "/whole.csv").status, 0);
  auto r = test::run_shell("mpirun --allow-run-as-root --oversubscribe -np 2 " + sweep + " --out " +
                           dir + "/r.csv");
  ASSERT_EQ(r.status, 0) << r.output;
  r = run_cli("merge --out " + dir + "/merged.csv " + dir + "/r.shard-000-of-002.csv " + dir +
              "/r.shard-001-of-002.csv");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(rows_without_seconds(dir + "/merged.csv"), rows_without_seconds(dir + "/whole.csv"));
}

TEST(SweepCli, CellsAtOnceGiveTheSameRowsInTheSameOrder) {
  const std::string dir = temp_dir("sweep_workers");
  const std::string sweep =
      "sweep --batch 4 --repeat 1 --seed 9 --no-progress --archs 9 --threads 2";
  ASSERT_EQ(run_cli(sweep + " --cell-workers 1 --out " + dir + "/one.csv").status, 0);
  auto r = run_cli(sweep + " --cell-workers 2 --out " + dir + "/two.csv");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(rows_without_seconds(dir + "/two.csv"), rows_without_seconds(dir + "/one.csv"));
  expect_one_line_error(run_cli(sweep + " --cell-workers 0 --out " + dir + "/x.csv"),
                        "--cell-workers");
  // More workers than the threads asked for would run more threads than asked for.
  expect_one_line_error(run_cli(sweep + " --cell-workers 3 --out " + dir + "/x.csv"),
                        "3 cell workers need at least as many threads, got 2");
  EXPECT_FALSE(fs::exists(dir + "/x.csv"));
}

#if !defined(__SANITIZE_ADDRESS__)  // the address sanitizer reserves more than the limit below
TEST(SweepCli, WorkersThatCannotStartAreOneErrorLine) {
  // 1000 workers' stacks (8 MB each) do not fit in 2 GB of address space: thread creation fails
  // part way, and the workers already running must be stopped and joined, not abandoned.
  const std::string dir = temp_dir("sweep_no_threads");
  const auto r = test::run_shell(
      "ulimit -v 2000000; " + std::string(MICRONAS_CLI) +
      " sweep --batch 4 --repeat 1 --no-progress --archs 1000 --threads 1000 --cell-workers 1000"
      " --out " +
      dir + "/x.csv");
  EXPECT_EQ(test::exit_status(r), 3) << r.output;
  expect_one_line_error(r, "cannot start cell worker");
}
#endif

}  // namespace
}  // namespace micronas
