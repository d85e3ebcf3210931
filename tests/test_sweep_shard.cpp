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

}  // namespace
}  // namespace micronas
