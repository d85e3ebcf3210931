#include "micronas/sweep_shard.hpp"

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <queue>

#include "micronas/error.hpp"

namespace micronas {
namespace {

// A non-negative decimal integer below 2^31, or nothing.
std::optional<int> parse_count(const std::string& text) {
  if (text.empty() || text.size() > 9) return std::nullopt;
  for (char c : text)
    if (c < '0' || c > '9') return std::nullopt;
  return std::stoi(text);
}

int env_int(const std::function<const char*(const char*)>& getenv, const char* name) {
  const char* value = getenv(name);
  const std::optional<int> n = parse_count(value ? value : "");
  if (!n)
    throw Error(Status::kInvalidArgument, std::string("environment variable ") + name + "='" +
                                              (value ? value : "") + "' is not a count");
  return *n;
}

bool has(const std::function<const char*(const char*)>& getenv, const char* name) {
  const char* value = getenv(name);
  return value && *value;
}

Shard checked(Shard s) {
  if (s.count < 1 || s.index < 0 || s.index >= s.count)
    throw Error(Status::kInvalidArgument, s.source + " gives shard " + std::to_string(s.index) +
                                              " of " + std::to_string(s.count) +
                                              ": the index must be in [0, count)");
  return s;
}

}  // namespace

Shard Shard::parse(const std::string& text) {
  const auto slash = text.find('/');
  const std::optional<int> i = parse_count(text.substr(0, slash));
  const std::optional<int> n =
      slash == std::string::npos ? std::nullopt : parse_count(text.substr(slash + 1));
  if (!i || !n)
    throw Error(Status::kInvalidArgument,
                "--shard '" + text + "' is not I/N (shard I of N, counting from 0)");
  return checked({*i, *n, "--shard", -1});
}

std::string Shard::to_string() const { return std::to_string(index) + "/" + std::to_string(count); }

std::string Shard::file_for(const std::string& path) const {
  if (count == 1) return path;
  char tag[64];
  std::snprintf(tag, sizeof tag, ".shard-%03d-of-%03d", index, count);
  const auto slash = path.find_last_of('/');
  const auto dot = path.find_last_of('.');
  const bool has_ext = dot != std::string::npos && (slash == std::string::npos || dot > slash);
  return has_ext ? path.substr(0, dot) + tag + path.substr(dot) : path + tag;
}

std::optional<Shard> shard_from_environment(const std::function<const char*(const char*)>& getenv) {
  Shard s;
  if (has(getenv, "SLURM_ARRAY_TASK_ID")) {
    const int id = env_int(getenv, "SLURM_ARRAY_TASK_ID");
    if (has(getenv, "SLURM_ARRAY_TASK_COUNT") && has(getenv, "SLURM_ARRAY_TASK_MIN")) {
      const int min = env_int(getenv, "SLURM_ARRAY_TASK_MIN");
      s = {id - min, env_int(getenv, "SLURM_ARRAY_TASK_COUNT"), "SLURM_ARRAY_TASK_ID", -1};
    } else if (has(getenv, "SLURM_ARRAY_TASK_MIN") && has(getenv, "SLURM_ARRAY_TASK_MAX")) {
      const int min = env_int(getenv, "SLURM_ARRAY_TASK_MIN");
      const int max = env_int(getenv, "SLURM_ARRAY_TASK_MAX");
      s = {id - min, max - min + 1, "SLURM_ARRAY_TASK_ID", -1};
    } else if (has(getenv, "SLURM_ARRAY_TASK_COUNT")) {
      s = {id, env_int(getenv, "SLURM_ARRAY_TASK_COUNT"), "SLURM_ARRAY_TASK_ID", -1};
    } else {
      throw Error(Status::kInvalidArgument,
                  "SLURM_ARRAY_TASK_ID is set without SLURM_ARRAY_TASK_COUNT or "
                  "SLURM_ARRAY_TASK_MIN/MAX: the array's size is unknown (give --shard I/N)");
    }
  } else if (has(getenv, "OMPI_COMM_WORLD_RANK")) {
    s = {env_int(getenv, "OMPI_COMM_WORLD_RANK"), env_int(getenv, "OMPI_COMM_WORLD_SIZE"),
         "OMPI_COMM_WORLD_RANK", -1};
  } else if (has(getenv, "PMI_RANK")) {
    s = {env_int(getenv, "PMI_RANK"), env_int(getenv, "PMI_SIZE"), "PMI_RANK", -1};
  } else if (has(getenv, "SLURM_PROCID") && has(getenv, "SLURM_NTASKS")) {
    s = {env_int(getenv, "SLURM_PROCID"), env_int(getenv, "SLURM_NTASKS"), "SLURM_PROCID", -1};
  } else {
    return std::nullopt;
  }
  for (const char* name : {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID"})
    if (has(getenv, name)) {
      s.local_rank = env_int(getenv, name);
      break;
    }
  checked(s);
  if (s.count == 1) return std::nullopt;
  return s;
}

double sweep_cell_cost(const Arch& cell) {
  // Milliseconds of one NTK (B = 32) and linear-region evaluation on one thread for the cells
  // with the same op on every edge: none 35, skip 126, avg_pool 116, conv 1x1 143, conv 3x3 286.
  // The NTK network's MACs would not do: its 3-channel convs are cheap next to the batch norms,
  // sums and copies that every non-`none` edge brings.
  constexpr double kFixed = 35;
  auto edge_cost = [](Op op) {
    switch (op) {
      case Op::kNone: return 0.0;
      case Op::kSkipConnect: return 15.0;
      case Op::kAvgPool3x3: return 13.5;
      case Op::kConv1x1: return 18.0;
      case Op::kConv3x3: return 42.0;
    }
    return 0.0;
  };
  double cost = kFixed;
  for (int e = 0; e < kNumEdges; ++e)
    for (Op op : cell.ops(e)) cost += edge_cost(op);
  return cost;
}

std::vector<int> shard_assignment(const std::vector<Arch>& cells, int count,
                                  const std::function<double(const Arch&)>& cost) {
  if (count < 1) throw Error(Status::kInvalidArgument, "shard count must be >= 1");
  std::vector<double> costs(cells.size());
  for (std::size_t i = 0; i < cells.size(); ++i) costs[i] = cost(cells[i]);
  std::vector<std::size_t> order(cells.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return costs[a] > costs[b]; });
  // Least-loaded shard first; equal loads by the lower index: a min-heap of (load, shard).
  using Load = std::pair<double, int>;
  std::priority_queue<Load, std::vector<Load>, std::greater<Load>> loads;
  for (int s = 0; s < count; ++s) loads.push({0.0, s});
  std::vector<int> shard_of(cells.size());
  for (std::size_t i : order) {
    Load least = loads.top();
    loads.pop();
    shard_of[i] = least.second;
    least.first += costs[i];
    loads.push(least);
  }
  return shard_of;
}

std::vector<Arch> shard_cells(const std::vector<Arch>& cells, const Shard& shard,
                              const std::function<double(const Arch&)>& cost) {
  checked(shard);
  const std::vector<int> shard_of = shard_assignment(cells, shard.count, cost);
  std::vector<Arch> mine;
  for (std::size_t i = 0; i < cells.size(); ++i)
    if (shard_of[i] == shard.index) mine.push_back(cells[i]);
  return mine;
}

}  // namespace micronas

namespace micronas {

std::vector<SweepRow> merge_sweep_shards(const std::vector<Arch>& cells, int count,
                                         const std::vector<SweepShardFile>& shards) {
  const std::vector<int> shard_of = shard_assignment(cells, count, sweep_cell_cost);
  std::vector<int> position(kNumCells, -1);
  for (std::size_t i = 0; i < cells.size(); ++i) position[cells[i].cell_id()] = static_cast<int>(i);

  std::vector<const SweepShardFile*> by_index(count, nullptr);
  for (const SweepShardFile& f : shards) {
    if (f.shard.count != count)
      throw Error(Status::kInvalidArgument, f.path + " is shard " + f.shard.to_string() +
                                                ", not one of " + std::to_string(count));
    if (by_index[f.shard.index])
      throw Error(Status::kInvalidArgument, "shard " + f.shard.to_string() + " is given twice: " +
                                                by_index[f.shard.index]->path + " and " + f.path);
    by_index[f.shard.index] = &f;
  }
  std::string absent;
  for (int s = 0; s < count; ++s)
    if (!by_index[s]) absent += (absent.empty() ? "" : ", ") + std::to_string(s);
  if (!absent.empty())
    throw Error(Status::kInvalidArgument, "shards " + absent + " of " + std::to_string(count) +
                                              " are missing: give every shard's results file");

  std::vector<const SweepRow*> row_at(cells.size(), nullptr);
  for (const SweepShardFile& f : shards) {
    for (const SweepRow& row : f.rows) {
      const int pos = position[row.cell_id];
      if (pos < 0)
        throw Error(Status::kInvalidArgument, f.path + ": cell " + std::to_string(row.cell_id) +
                                                  " (" + row.arch.to_string() +
                                                  ") is not in the sweep's cell list");
      if (shard_of[pos] != f.shard.index)
        throw Error(Status::kInvalidArgument,
                    f.path + ": cell " + std::to_string(row.cell_id) + " belongs to shard " +
                        std::to_string(shard_of[pos]) + ", not " + f.shard.to_string());
      row_at[pos] = &row;  // a file holds a cell once (read_sweep_csv refuses repeats)
    }
  }
  std::string missing;
  int missing_count = 0;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    if (row_at[i]) continue;
    if (++missing_count <= 10)
      missing += (missing.empty() ? "" : ", ") + std::string("cell ") +
                 std::to_string(cells[i].cell_id()) + " (shard " + std::to_string(shard_of[i]) +
                 ")";
  }
  if (missing_count > 0)
    throw Error(Status::kInvalidArgument,
                std::to_string(missing_count) + " of " + std::to_string(cells.size()) +
                    " cells have no row: " + missing + (missing_count > 10 ? ", ..." : "") +
                    "; finish those shards (sweep --resume) and merge again");
  std::vector<SweepRow> merged;
  merged.reserve(cells.size());
  for (const SweepRow* row : row_at) merged.push_back(*row);
  return merged;
}

}  // namespace micronas
