#include "micronas/sweep.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <unordered_map>

#include "micronas/error.hpp"
#include "micronas/random.hpp"
#include "micronas/threads.hpp"
#include "runtime/csv.hpp"
#include "runtime/file_io.hpp"
#include "runtime/proxy_evaluator.hpp"

namespace micronas {
namespace {

// The shortest %g form that reads back to the same double (17 digits always do): 7.78305
// rather than 7.7830500000000002.
std::string number_text(double v) {
  char buf[40];
  for (int digits = 15; digits <= 17; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    if (std::strtod(buf, nullptr) == v || std::isnan(v)) break;
  }
  return buf;
}

std::string seconds_text(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.6f", v);
  return buf;
}

[[noreturn]] void fail_column(const std::string& where, const std::string& column,
                              const std::string& why) {
  throw Error(Status::kIoError, where + ": column '" + column + "': " + why);
}

double parse_number(const std::string& text, const std::string& where, const std::string& column) {
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size())
    fail_column(where, column, "'" + text + "' is not a number");
  return v;
}

// A value no sweep can produce is refused: rows are checked as strictly when read back (resume,
// evaluate) as when they are made.
enum class Range { kPositive, kNonNegative };
double parse_finite(const std::string& text, const std::string& where, const std::string& column,
                    Range range) {
  const double v = parse_number(text, where, column);
  const bool ok = std::isfinite(v) && (range == Range::kPositive ? v > 0 : v >= 0);
  if (!ok)
    fail_column(
        where, column,
        "'" + text + "' is not a finite number " + (range == Range::kPositive ? "> 0" : ">= 0"));
  return v;
}

long parse_integer(const std::string& text, const std::string& where, const std::string& column) {
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE)
    fail_column(where, column, "'" + text + "' is not an integer");
  return v;
}

}  // namespace

const std::vector<std::string>& sweep_columns() {
  static const std::vector<std::string> columns = {
      "cell_id",        "index",       "arch",      "ntk_condition", "ntk_valid",
      "linear_regions", "flops_m",     "params_m",  "latency_ms",    "peak_sram_kb",
      "flash_kb",       "ntk_seconds", "lr_seconds"};
  return columns;
}

std::string sweep_header_line() {
  std::string line;
  for (const std::string& c : sweep_columns()) line += (line.empty() ? "" : ",") + c;
  return line;
}

std::string format_sweep_row(const SweepRow& r) {
  std::string line = std::to_string(r.cell_id) + ",";
  if (r.index >= 0) line += std::to_string(r.index);
  line += "," + csv_field(r.arch.to_string());
  line += "," + number_text(r.ntk_condition);
  line += std::string(",") + (r.ntk_valid ? "1" : "0");
  for (double v :
       {r.linear_regions, r.flops_m, r.params_m, r.latency_ms, r.peak_sram_kb, r.flash_kb})
    line += "," + number_text(v);
  line += "," + seconds_text(r.ntk_seconds) + "," + seconds_text(r.lr_seconds);
  return line;
}

SweepRow parse_sweep_row(const std::string& line, const std::string& where) {
  const std::vector<std::string>& columns = sweep_columns();
  std::vector<std::string> f;
  try {
    f = split_csv_record(line);
  } catch (const Error& e) {
    throw Error(Status::kIoError, where + ": " + e.what());
  }
  if (f.size() != columns.size())
    throw Error(Status::kIoError, where + ": " + std::to_string(f.size()) +
                                      " fields, the header has " + std::to_string(columns.size()));
  SweepRow r;
  long cell_id = parse_integer(f[0], where, columns[0]);
  if (!f[1].empty()) {
    long index = parse_integer(f[1], where, columns[1]);
    if (index < 0) fail_column(where, columns[1], "negative index " + f[1]);
    r.index = static_cast<int>(index);
  }
  try {
    r.arch = Arch::parse(f[2]);
  } catch (const Error& e) {
    fail_column(where, columns[2], e.what());
  }
  if (!r.arch.is_cell()) fail_column(where, columns[2], "'" + f[2] + "' is not a single cell");
  r.cell_id = r.arch.cell_id();
  if (cell_id != r.cell_id)
    fail_column(
        where, columns[0],
        f[0] + " does not match the arch (its cell id is " + std::to_string(r.cell_id) + ")");
  r.ntk_condition = parse_number(f[3], where, columns[3]);
  if (f[4] != "0" && f[4] != "1") fail_column(where, columns[4], "'" + f[4] + "' is not 0 or 1");
  r.ntk_valid = f[4] == "1";
  // A valid condition number is lambda_max / lambda_min >= 1. An invalid one (ntk_valid = 0) is
  // TE-NAS's stand-in (NaN -> 1e5, +-Inf -> +-DBL_MAX, averaged over repeats): never NaN.
  if (std::isnan(r.ntk_condition) ||
      (r.ntk_valid && !(std::isfinite(r.ntk_condition) && r.ntk_condition >= 1)))
    fail_column(where, columns[3],
                "'" + f[3] + "' is not " +
                    (r.ntk_valid ? "a finite condition number >= 1"
                                 : "a condition number or TE-NAS's stand-in for an invalid one"));
  double* numbers[] = {&r.linear_regions, &r.flops_m,  &r.params_m,    &r.latency_ms,
                       &r.peak_sram_kb,   &r.flash_kb, &r.ntk_seconds, &r.lr_seconds};
  const Range ranges[] = {Range::kNonNegative, Range::kNonNegative, Range::kNonNegative,
                          Range::kPositive,    Range::kPositive,    Range::kPositive,
                          Range::kNonNegative, Range::kNonNegative};
  for (std::size_t k = 0; k < 8; ++k)
    *numbers[k] = parse_finite(f[5 + k], where, columns[5 + k], ranges[k]);
  return r;
}

std::vector<SweepRow> read_sweep_csv(const std::string& path) {
  const std::string text = read_input_file(path, kMaxSweepFileBytes, "a sweep results file");
  if (text.empty()) throw Error(Status::kIoError, path + ": empty file (no header)");

  std::vector<SweepRow> rows;
  std::unordered_map<int, int> line_of_cell;
  std::size_t start = 0;
  int line_number = 0;
  while (start < text.size()) {
    ++line_number;
    std::size_t end = text.find('\n', start);
    const std::string where = path + ":" + std::to_string(line_number);
    if (end == std::string::npos)
      throw Error(Status::kIoError,
                  where +
                      ": the last line has no final newline (an interrupted write; "
                      "`micronas sweep --resume` drops it and scores that cell again)");
    std::string line = text.substr(start, end - start);
    start = end + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line_number == 1) {
      if (line != sweep_header_line())
        throw Error(Status::kIoError, where + ": not a sweep file: the header is '" + line +
                                          "', expected '" + sweep_header_line() + "'");
      continue;
    }
    if (line.empty()) continue;
    SweepRow row = parse_sweep_row(line, where);
    auto [it, inserted] = line_of_cell.emplace(row.cell_id, line_number);
    if (!inserted)
      throw Error(Status::kIoError, where + ": cell " + std::to_string(row.cell_id) +
                                        " appears twice (also on line " +
                                        std::to_string(it->second) + ")");
    rows.push_back(row);
  }
  return rows;
}

std::uint64_t sweep_cell_seed(std::uint64_t seed, int cell_id) {
  return derive_seed(seed, static_cast<std::uint64_t>(cell_id));
}

void set_sweep_row_costs(SweepRow& row, const mcu::Nb201CostTable& costs) {
  const mcu::Nb201CostTable::Estimate cost = costs.estimate(row.arch);
  row.latency_ms = cost.latency_ms;
  row.peak_sram_kb = static_cast<double>(cost.peak_sram_bytes) / 1024.0;
  row.flash_kb = static_cast<double>(cost.flash_bytes) / 1024.0;
}

bool sweep_row_costs_match(const SweepRow& row, const mcu::Nb201CostTable& costs) {
  SweepRow expected = row;
  set_sweep_row_costs(expected, costs);
  return row.latency_ms == expected.latency_ms && row.peak_sram_kb == expected.peak_sram_kb &&
         row.flash_kb == expected.flash_kb;
}

SweepScorer::SweepScorer(const ScoreOptions& options, const mcu::Nb201CostTable& costs)
    : options_(options), costs_(costs), evaluator_(new ProxyEvaluator(options.context)) {
  options_.validate();
}

SweepScorer::~SweepScorer() = default;

SweepRow SweepScorer::score(const Arch& cell) {
  if (!cell.is_cell())
    throw Error(Status::kInvalidArgument, "a sweep scores single cells; '" + cell.to_string() +
                                              "' has several ops on an edge");
  ScoreOptions cell_options = options_;
  cell_options.seed = sweep_cell_seed(options_.seed, cell.cell_id());
  ScoreResult score = score_architecture(cell, cell_options, *evaluator_);
  SweepRow row;
  row.cell_id = cell.cell_id();
  row.arch = cell;
  row.ntk_condition = score.ntk_condition;
  row.ntk_valid = score.ntk_valid;
  row.linear_regions = score.linear_regions;
  row.flops_m = score.size.flops_m();
  row.params_m = score.size.params_m();
  set_sweep_row_costs(row, costs_);
  row.ntk_seconds = score.ntk_seconds;
  row.lr_seconds = score.lr_seconds;
  return row;
}

}  // namespace micronas

namespace micronas {

void check_cell_workers(int workers, const ComputeContext& context) {
  if (workers < 1) throw Error(Status::kInvalidArgument, "cell workers must be >= 1");
  if (context.threads > 0 && workers > context.threads)
    throw Error(Status::kInvalidArgument, std::to_string(workers) +
                                              " cell workers need at least as many threads, got " +
                                              std::to_string(context.threads) +
                                              " (every worker runs on a thread of its own)");
}

void score_sweep_cells(const std::vector<Arch>& cells, const ScoreOptions& options,
                       const mcu::Nb201CostTable& costs, int workers,
                       const std::function<void(std::size_t, SweepRow)>& on_row) {
  check_cell_workers(workers, options.context);
  workers = std::min<int>(workers, static_cast<int>(std::max<std::size_t>(cells.size(), 1)));
  if (workers == 1) {
    SweepScorer scorer(options, costs);
    for (std::size_t i = 0; i < cells.size(); ++i) on_row(i, scorer.score(cells[i]));
    return;
  }
  const int total_threads = options.context.cpu_threads();
  ScoreOptions worker_options = options;
  worker_options.context.threads = std::max(1, total_threads / workers);

  std::mutex mutex;
  std::condition_variable ready;
  std::vector<std::optional<SweepRow>> rows(cells.size());
  std::size_t next_cell = 0;
  bool stop = false;
  std::exception_ptr error;
  auto work = [&] {
    try {
      // Built on this thread: the CPU backend sets this thread's OpenMP thread count.
      SweepScorer scorer(worker_options, costs);
      for (;;) {
        std::size_t i;
        {
          std::lock_guard<std::mutex> lock(mutex);
          if (stop || next_cell == cells.size()) return;
          i = next_cell++;
        }
        SweepRow row = scorer.score(cells[i]);
        std::lock_guard<std::mutex> lock(mutex);
        rows[i] = std::move(row);
        ready.notify_all();
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex);
      if (!error) error = std::current_exception();
      stop = true;
      ready.notify_all();
    }
  };
  std::vector<std::thread> threads;
  auto stop_and_join = [&] {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stop = true;
    }
    for (std::thread& t : threads) t.join();
  };
  for (int w = 0; w < workers; ++w) {
    try {
      threads.emplace_back(work);
    } catch (const std::system_error& e) {
      // The workers already started must be joined before their std::thread objects go.
      stop_and_join();
      throw Error(Status::kOutOfMemory, "cannot start cell worker " + std::to_string(w + 1) +
                                            " of " + std::to_string(workers) + ": " + e.what());
    }
  }
  try {
    for (std::size_t i = 0; i < cells.size(); ++i) {
      SweepRow row;
      {
        std::unique_lock<std::mutex> lock(mutex);
        ready.wait(lock, [&] { return rows[i].has_value() || error; });
        if (!rows[i]) break;  // a worker failed
        row = std::move(*rows[i]);
        rows[i].reset();
      }
      on_row(i, std::move(row));
    }
  } catch (...) {
    stop_and_join();
    throw;
  }
  stop_and_join();
  if (error) std::rethrow_exception(error);
}

}  // namespace micronas
