// Sharded sweeps: I/N parsing and file names, the shard taken from each launcher's environment,
// and the cost-balanced partition (every cell in exactly one shard, the same on every process).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "micronas/error.hpp"
#include "micronas/sweep_shard.hpp"

namespace micronas {
namespace {

using Env = std::map<std::string, std::string>;

std::optional<Shard> from(const Env& env) {
  return shard_from_environment([&env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

std::vector<Arch> all_cells() {
  std::vector<Arch> cells;
  for (int id = 0; id < kNumCells; ++id) cells.push_back(Arch::from_cell_id(id));
  return cells;
}

TEST(Shard, ParsesIOfNAndNamesItsFile) {
  const Shard s = Shard::parse("3/16");
  EXPECT_EQ(s.index, 3);
  EXPECT_EQ(s.count, 16);
  EXPECT_EQ(s.to_string(), "3/16");
  EXPECT_EQ(s.file_for("out/results.csv"), "out/results.shard-003-of-016.csv");
  EXPECT_EQ(s.file_for("out.d/results"), "out.d/results.shard-003-of-016");
  EXPECT_EQ(Shard::parse("0/1").file_for("r.csv"), "r.csv");
  for (const char* bad : {"16/16", "3", "a/4", "-1/4", "1/0", "1/4x", "", "/"})
    EXPECT_THROW(Shard::parse(bad), Error) << bad;
}

TEST(Shard, TakesIAndNFromEachLauncher) {
  EXPECT_FALSE(from({}).has_value());
  auto s = from({{"SLURM_ARRAY_TASK_ID", "7"}, {"SLURM_ARRAY_TASK_COUNT", "8"}});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->to_string(), "7/8");
  EXPECT_EQ(s->source, "SLURM_ARRAY_TASK_ID");
  // An array numbered 1..4.
  s = from(
      {{"SLURM_ARRAY_TASK_ID", "1"}, {"SLURM_ARRAY_TASK_MIN", "1"}, {"SLURM_ARRAY_TASK_MAX", "4"}});
  EXPECT_EQ(s->to_string(), "0/4");
  s = from({{"OMPI_COMM_WORLD_RANK", "1"},
            {"OMPI_COMM_WORLD_SIZE", "2"},
            {"OMPI_COMM_WORLD_LOCAL_RANK", "1"}});
  EXPECT_EQ(s->to_string(), "1/2");
  EXPECT_EQ(s->local_rank, 1);
  EXPECT_EQ(from({{"PMI_RANK", "2"}, {"PMI_SIZE", "3"}})->source, "PMI_RANK");
  s = from({{"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "6"}, {"SLURM_LOCALID", "1"}});
  EXPECT_EQ(s->to_string(), "5/6");
  EXPECT_EQ(s->local_rank, 1);
  // An array takes precedence over the tasks of each array element.
  s = from({{"SLURM_ARRAY_TASK_ID", "2"},
            {"SLURM_ARRAY_TASK_COUNT", "4"},
            {"SLURM_PROCID", "0"},
            {"SLURM_NTASKS", "1"}});
  EXPECT_EQ(s->to_string(), "2/4");
  // A job of one process is no shard.
  EXPECT_FALSE(from({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "1"}}).has_value());
  for (const Env& bad :
       {Env{{"OMPI_COMM_WORLD_RANK", "x"}, {"OMPI_COMM_WORLD_SIZE", "2"}},
        Env{{"PMI_RANK", "3"}, {"PMI_SIZE", "3"}}, Env{{"SLURM_ARRAY_TASK_ID", "3"}}}) {
    try {
      from(bad);
      FAIL() << "accepted " << bad.begin()->first;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(bad.begin()->first.substr(0, 4)), std::string::npos)
          << e.what();
    }
  }
}

TEST(Shard, PartitionCoversEveryCellOnceAndBalancesTheCost) {
  const std::vector<Arch> cells = all_cells();
  std::map<int, double> cost_of;
  for (const Arch& c : cells) cost_of[c.cell_id()] = sweep_cell_cost(c);
  auto cost = [&](const Arch& a) { return cost_of.at(a.cell_id()); };
  const double max_cell = std::max_element(cost_of.begin(), cost_of.end(), [](auto& a, auto& b) {
                            return a.second < b.second;
                          })->second;
  const double min_cell = std::min_element(cost_of.begin(), cost_of.end(), [](auto& a, auto& b) {
                            return a.second < b.second;
                          })->second;
  EXPECT_GT(max_cell / min_cell, 5.0)
      << "cells differ in cost, so counting cells would not balance";

  const int count = 7;
  std::set<int> seen;
  std::vector<double> loads;
  for (int i = 0; i < count; ++i) {
    const std::vector<Arch> mine = shard_cells(cells, Shard{i, count, "test", -1}, cost);
    double load = 0;
    int previous = -1;
    for (const Arch& a : mine) {
      EXPECT_TRUE(seen.insert(a.cell_id()).second) << "cell " << a.cell_id() << " twice";
      EXPECT_GT(a.cell_id(), previous) << "a shard keeps the list's order";
      previous = a.cell_id();
      load += cost(a);
    }
    loads.push_back(load);
  }
  EXPECT_EQ(seen.size(), cells.size());
  const auto [lo, hi] = std::minmax_element(loads.begin(), loads.end());
  EXPECT_LE(*hi - *lo, max_cell) << "LPT keeps shards within one cell's cost";
  EXPECT_LT((*hi - *lo) / *hi, 0.01);
  // Deterministic: the same list gives the same shard on every process.
  EXPECT_EQ(shard_assignment(cells, count, cost), shard_assignment(cells, count, cost));
}

std::vector<SweepShardFile> shard_files(const std::vector<Arch>& cells, int count) {
  std::vector<SweepShardFile> files;
  for (int s = 0; s < count; ++s) {
    SweepShardFile f{"r.shard-" + std::to_string(s) + ".csv", Shard{s, count, "test", -1}, {}};
    for (const Arch& a : shard_cells(cells, f.shard, sweep_cell_cost)) {
      SweepRow row;
      row.cell_id = a.cell_id();
      row.arch = a;
      row.ntk_condition = a.cell_id() * 0.5;
      f.rows.push_back(row);
    }
    files.push_back(f);
  }
  return files;
}

TEST(ShardMerge, GivesTheOneProcessRowsInListOrder) {
  std::vector<Arch> cells;
  for (int id : {900, 17, 15624, 3, 4242, 77, 1000, 8}) cells.push_back(Arch::from_cell_id(id));
  std::vector<SweepShardFile> files = shard_files(cells, 3);
  std::swap(files[0], files[2]);  // any order of the files
  const std::vector<SweepRow> merged = merge_sweep_shards(cells, 3, files);
  ASSERT_EQ(merged.size(), cells.size());
  for (std::size_t i = 0; i < cells.size(); ++i) {
    EXPECT_EQ(merged[i].cell_id, cells[i].cell_id());
    EXPECT_EQ(merged[i].ntk_condition, cells[i].cell_id() * 0.5);
  }
}

TEST(ShardMerge, RefusesMissingShardsCellsAndForeignRows) {
  std::vector<Arch> cells;
  for (int id = 100; id < 130; ++id) cells.push_back(Arch::from_cell_id(id));
  auto expect_error = [&](const std::vector<SweepShardFile>& files, const std::string& what) {
    try {
      merge_sweep_shards(cells, 3, files);
      FAIL() << "merged; expected an error about " << what;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  std::vector<SweepShardFile> files = shard_files(cells, 3);
  expect_error({files[0], files[2]}, "shards 1 of 3 are missing");
  expect_error({files[0], files[1], files[1]}, "given twice");
  auto cut = files;
  const int lost = cut[2].rows.back().cell_id;
  cut[2].rows.pop_back();
  expect_error(cut, "1 of 30 cells have no row: cell " + std::to_string(lost) + " (shard 2)");
  auto foreign = files;
  foreign[0].rows.push_back(files[1].rows.front());
  expect_error(foreign, "belongs to shard 1");
  auto stranger = files;
  SweepRow row;
  row.cell_id = 5;
  row.arch = Arch::from_cell_id(5);
  stranger[0].rows.push_back(row);
  expect_error(stranger, "not in the sweep's cell list");
  auto other_count = files;
  other_count[1].shard.count = 4;
  expect_error(other_count, "not one of 3");
}

}  // namespace
}  // namespace micronas
