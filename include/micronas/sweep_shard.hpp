// Sharded sweeps: the cells of one sweep split deterministically over the processes of a cluster
// job (a Slurm array, the tasks of an MPI or srun job), each process writing its own resumable
// results file, merged afterwards. Every process computes the same partition from the same cell
// list, so no process needs to talk to another.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "micronas/arch.hpp"
#include "micronas/sweep.hpp"

namespace micronas {

struct Shard {
  int index = 0;  // 0-based
  int count = 1;
  std::string source;   // where I and N came from: "--shard", "SLURM_ARRAY_TASK_ID", ...
  int local_rank = -1;  // rank among the processes on this node, -1 when unknown

  // "I/N" with 0 <= I < N; throws Error(kInvalidArgument) naming the problem.
  static Shard parse(const std::string& text);
  std::string to_string() const;  // "I/N"
  // "results.csv" -> "results.shard-003-of-016.csv" (a single shard keeps the path).
  std::string file_for(const std::string& path) const;
};

// The shard of this process from a launcher's environment, or nothing outside a launcher (or in
// a job of one process). Checked in order: a Slurm array (SLURM_ARRAY_TASK_ID with
// SLURM_ARRAY_TASK_COUNT, or with SLURM_ARRAY_TASK_MIN/MAX), Open MPI
// (OMPI_COMM_WORLD_RANK/SIZE), MPICH and other PMI launchers (PMI_RANK/PMI_SIZE), Slurm tasks
// (SLURM_PROCID/SLURM_NTASKS). The local rank comes from OMPI_COMM_WORLD_LOCAL_RANK,
// MPI_LOCALRANKID or SLURM_LOCALID. `getenv` is injectable for tests. Throws
// Error(kInvalidArgument) for values that are not integers or out of range, naming the variable.
std::optional<Shard> shard_from_environment(const std::function<const char*(const char*)>& getenv);

// The relative cost of scoring a cell, which varies about eightfold across NB201: what the
// partition balances. A per-cell constant plus a cost per op on each edge, fitted to the
// measured proxy time of the five uniform cells (see the definition).
double sweep_cell_cost(const Arch& cell);

// The cells of `shard`, in the order of `cells`. Cells are dealt to shards by
// longest-processing-time-first on `cost` (ties by position), so that the shards' total costs
// differ by at most one cell's cost; the result depends only on the list and the shard count.
std::vector<Arch> shard_cells(const std::vector<Arch>& cells, const Shard& shard,
                              const std::function<double(const Arch&)>& cost);
// For every cell of `cells`, the shard it belongs to.
std::vector<int> shard_assignment(const std::vector<Arch>& cells, int count,
                                  const std::function<double(const Arch&)>& cost);

// One shard's results file, read back for merging.
struct SweepShardFile {
  std::string path;
  Shard shard;
  std::vector<SweepRow> rows;
};

// Merges the shards of one sweep of `cells` (the whole list, in its order) over `count` shards
// into the rows a one-process sweep writes, in the list's order. Throws Error(kInvalidArgument)
// when a shard is given twice or is absent, a shard's count differs, a row belongs to another
// shard or to no cell of the list, and lists the missing cells (the first ones, with the shard
// each belongs to) when some have no row.
std::vector<SweepRow> merge_sweep_shards(const std::vector<Arch>& cells, int count,
                                         const std::vector<SweepShardFile>& shards);

}  // namespace micronas
