// Sweeps: TE-NAS's proxies and the microcontroller cost of many NB201 cells, one CSV row per
// cell. The row format lives here so that the program writing sweeps, the one evaluating them and
// other tools agree on it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "micronas/arch.hpp"
#include "micronas/mcu.hpp"
#include "micronas/score.hpp"

namespace micronas {

class ProxyEvaluator;

struct SweepRow {
  int cell_id = 0;
  int index = -1;  // official NB201 index, -1 when unknown (written as an empty field)
  Arch arch;
  double ntk_condition = 0;  // TE-NAS's value: mean over repeats, NaN -> 1e5 per repeat
  bool ntk_valid = true;     // every repeat's condition number was valid
  double linear_regions = 0;
  double flops_m = 0, params_m = 0;  // NB201's evaluation network (C=16, N=5)
  double latency_ms = 0, peak_sram_kb = 0, flash_kb = 0;
  double ntk_seconds = 0, lr_seconds = 0;  // wall time; the only non-reproducible fields
};

// cell_id,index,arch,ntk_condition,ntk_valid,linear_regions,flops_m,params_m,latency_ms,
// peak_sram_kb,flash_kb,ntk_seconds,lr_seconds
const std::vector<std::string>& sweep_columns();
std::string sweep_header_line();  // the columns joined with ',', no newline

// One row, no newline. Numbers are written with as many significant digits (15 to 17) as they
// need to read back to the same double; the seconds with microsecond resolution.
std::string format_sweep_row(const SweepRow& row);

// Parses a row written by format_sweep_row; `where` (e.g. "file:line") prefixes error messages.
// Throws Error(kParseError) naming the column for a wrong field count, a non-numeric field, an
// arch that is not a single cell, a cell_id that does not match the arch, or a value no sweep
// produces: a NaN ntk_condition, one below 1 or infinite with ntk_valid = 1, a non-finite or
// negative number, a latency, SRAM or flash <= 0.
SweepRow parse_sweep_row(const std::string& line, const std::string& where);

// The largest sweep file read (all 15,625 cells take about 3 MB).
inline constexpr std::uint64_t kMaxSweepFileBytes = 64u << 20;

// Reads a whole sweep file. Throws Error(kIoError) for an unreadable file or one larger than
// kMaxSweepFileBytes, Error(kParseError)
// naming the file and line for a header other than sweep_header_line(), a malformed row, a row
// without its final newline (an interrupted write) or a cell that appears twice.
std::vector<SweepRow> read_sweep_csv(const std::string& path);

// The seed a cell is scored with: a function of the run's seed and the cell only, so a cell's row
// does not depend on its position in the list, on the other cells or on resuming.
std::uint64_t sweep_cell_seed(std::uint64_t seed, int cell_id);

// A row's microcontroller columns (latency_ms, peak_sram_kb, flash_kb) as `costs` gives them.
void set_sweep_row_costs(SweepRow& row, const mcu::Nb201CostTable& costs);
// Whether a row's microcontroller columns are exactly what `costs` gives its cell: tells whether a
// row was costed on the target `costs` models.
bool sweep_row_costs_match(const SweepRow& row, const mcu::Nb201CostTable& costs);

// Scores the cells of a sweep on one backend (options.context, created once).
class SweepScorer {
 public:
  SweepScorer(const ScoreOptions& options, const mcu::Nb201CostTable& costs);
  ~SweepScorer();
  // score_architecture() with options.seed replaced by sweep_cell_seed(options.seed, cell id),
  // and the cost of its deployed network from `costs`. Throws Error(kInvalidArgument) when
  // `cell` is not a single cell.
  SweepRow score(const Arch& cell);

 private:
  ScoreOptions options_;
  const mcu::Nb201CostTable& costs_;
  std::unique_ptr<ProxyEvaluator> evaluator_;
};

// Throws Error(kInvalidArgument) unless `workers` (>= 1) cells at once can each have a thread of
// their own among the context's threads (when it sets a count).
void check_cell_workers(int workers, const ComputeContext& context);

// Scores `cells` with `workers` cells at once, each worker on its own backend with an equal share
// of the context's CPU threads (workers = 1: one cell at a time on all of them), and calls
// on_row(i, row) for cell i in the list's order, on the calling thread, as soon as that row and
// every row before it are done. Rows are the same for any worker count (the CPU kernels are
// bitwise invariant to the thread count). An exception from a worker or from on_row stops the
// others and is rethrown.
void score_sweep_cells(const std::vector<Arch>& cells, const ScoreOptions& options,
                       const mcu::Nb201CostTable& costs, int workers,
                       const std::function<void(std::size_t, SweepRow)>& on_row);

}  // namespace micronas
