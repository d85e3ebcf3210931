// `micronas sweep`: TE-NAS's proxies and the microcontroller cost of many NB201 cells, one CSV row
// per cell, written as each cell finishes so that an interrupted sweep can be resumed.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <unordered_set>

#include "backend_options.hpp"
#include "cli_util.hpp"
#include "commands.hpp"
#include "file_lock.hpp"
#include "micronas/error.hpp"
#include "micronas/random.hpp"
#include "micronas/sweep.hpp"
#include "micronas/sweep_shard.hpp"
#include "micronas/threads.hpp"
#include "progress.hpp"
#include "runtime/file_io.hpp"

namespace micronas::cli {
namespace {

namespace fs = std::filesystem;

struct SweepCliOptions {
  std::string archs = "all", out, data = "synthetic", init = "released", dataset = "cifar10";
  std::string target = "stm32f746", benchmark, shard, cell_workers = "auto";
  std::uint64_t seed = 0;
  int batch = 72, repeats = 3;
  BackendCliOptions backend;
  bool resume = false, no_progress = false;
};

[[noreturn]] void fail(const std::string& message) {
  throw Error(Status::kInvalidArgument, message);
}

bool all_digits(const std::string& text) {
  if (text.empty()) return false;
  for (char c : text)
    if (c < '0' || c > '9') return false;
  return true;
}

std::string trim(const std::string& text) {
  const char* space = " \t\r\n";
  std::size_t first = text.find_first_not_of(space);
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(space) - first + 1);
}

// N distinct cells drawn without replacement (a partial Fisher-Yates shuffle of all cell ids).
std::vector<Arch> random_cells(int count, std::uint64_t seed) {
  std::vector<int> ids(kNumCells);
  for (int i = 0; i < kNumCells; ++i) ids[i] = i;
  Rng rng(derive_seed(seed, "sweep-archs"));
  std::vector<Arch> cells;
  for (int i = 0; i < count; ++i) {
    int j = i + static_cast<int>(rng.below(static_cast<std::uint64_t>(kNumCells - i)));
    std::swap(ids[i], ids[j]);
    cells.push_back(Arch::from_cell_id(ids[i]));
  }
  return cells;
}

// One cell per line: an NB201 string, or an official index with a benchmark table. '#' starts a
// comment; blank lines are skipped; a cell listed twice is scored once.
std::vector<Arch> cells_from_file(const std::string& path, const BenchmarkTable* table) {
  std::error_code ec;
  if (!fs::exists(path, ec))
    fail("--archs: '" + path + "' is neither 'all', a number of random cells nor a readable file");
  // One line per cell: even all 15,625 cells with comments fit in far less.
  std::istringstream in(read_input_file(path, 16u << 20, "a list of cells"));
  std::vector<Arch> cells;
  std::unordered_set<int> seen;
  std::string line;
  for (int line_number = 1; std::getline(in, line); ++line_number) {
    const std::string where = path + ":" + std::to_string(line_number);
    std::string text = trim(line.substr(0, line.find('#')));
    if (text.empty()) continue;
    Arch arch;
    if (all_digits(text)) {
      if (!table)
        fail(where + ": '" + text +
             "' is an NB201 index; give --benchmark FILE to look it up (the index order is a "
             "table, not a formula)");
      auto row = text.size() < 9 ? table->find_index(std::stoi(text)) : std::nullopt;
      if (!row) fail(where + ": index " + text + " is not in the benchmark table " + table->path());
      arch = table->arch(*row);
    } else {
      try {
        arch = Arch::parse(text);
      } catch (const Error& e) {
        fail(where + ": " + e.what());
      }
    }
    if (!arch.is_cell()) fail(where + ": '" + text + "' is not a single cell (one op per edge)");
    if (seen.insert(arch.cell_id()).second) cells.push_back(arch);
  }
  if (cells.empty()) fail("--archs: '" + path + "' lists no architectures");
  return cells;
}

std::vector<Arch> cells_from_spec(const std::string& spec, std::uint64_t seed,
                                  const BenchmarkTable* table) {
  if (spec == "all") return all_cells();
  if (all_digits(spec)) {
    const int count = spec.size() <= 5 ? std::stoi(spec) : kNumCells + 1;
    if (count < 1 || count > kNumCells)
      fail("--archs " + spec + ": the number of random cells must be 1.." +
           std::to_string(kNumCells));
    return random_cells(count, seed);
  }
  return cells_from_file(spec, table);
}

// The options that change a row's values. A resumed sweep must use the same ones, or the file
// would mix rows that cannot be compared. The thread count is not among them: results are
// bitwise identical for any thread count.
// The shard of this process: --shard, else the launcher's environment (said on stderr), else
// none (the whole list in one file).
std::optional<Shard> sweep_shard(const SweepCliOptions& cli) {
  if (!cli.shard.empty()) {
    const Shard s = Shard::parse(cli.shard);
    return s.count > 1 ? std::optional<Shard>(s) : std::nullopt;
  }
  std::optional<Shard> s =
      shard_from_environment([](const char* name) { return std::getenv(name); });
  if (s)
    std::cerr << "micronas: sweep: shard " << s->to_string() << " from " << s->source
              << " (results in " << s->file_for(cli.out) << ")" << std::endl;
  return s;
}

nlohmann::ordered_json run_options(const SweepCliOptions& cli, const ScoreOptions& score,
                                   const mcu::TargetProfile& target) {
  nlohmann::ordered_json j;
  j["format"] = "micronas-sweep-options";
  // Builds differ in the last digits of kappa (Debug vs Release, versions): not mixed.
  j["micronas_version"] = MICRONAS_VERSION;
  j["build_type"] = MICRONAS_BUILD_TYPE;
  j["seed"] = cli.seed;
  j["batch"] = score.batch;
  j["repeat"] = score.repeats;
  j["data"] = score.data.to_string();
  // The same path may hold other data by the time a sweep is resumed.
  if (score.data.kind != DataSpec::Kind::kSynthetic)
    j["data_digest"] = file_digest(score.data.path);
  j["init"] = init_scheme_name(score.init);
  j["dataset"] = dataset_name(score.dataset);
  j["target"] = target.name;
  // Backends agree to rounding, not bitwise: rows of two backends are not mixed.
  j["backend"] = backend_name(score.context.backend);
  // The whole profile: a target file edited between two runs changes the costs too.
  j["target_profile"] = nlohmann::ordered_json::parse(target.to_json());
  return j;
}

// Replaces the sidecar whole (staged: never half written) when `now` differs from `before`.
void replace_sidecar_if_changed(const std::string& sidecar, const nlohmann::ordered_json& before,
                                const nlohmann::ordered_json& now) {
  if (before == now) return;
  write_output_file(sidecar, now.dump(2) + "\n");
}

// The sidecar of the run that produced `out`, once its options are checked against `now`.
nlohmann::ordered_json check_same_options(const std::string& sidecar,
                                          const nlohmann::ordered_json& now,
                                          const std::string& out) {
  std::error_code ec;
  if (!fs::exists(sidecar, ec))
    fail("--resume: cannot verify the options that produced " + out + ": " + sidecar +
         " is missing (restore it, or delete " + out + " to start again)");
  nlohmann::ordered_json before = read_sweep_sidecar_object(sidecar);
  // What the sidecar says under `key`, whatever its JSON type.
  auto recorded = [&](const char* key, const char* absent) {
    if (!before.contains(key)) return std::string(absent);
    return before[key].is_string() ? before[key].get<std::string>() : before[key].dump();
  };
  for (const char* key : {"micronas_version", "build_type"})
    if (!before.contains(key) || before[key] != now[key])
      fail("--resume: " + out + " was written by micronas " +
           recorded("micronas_version", "(unrecorded version)") + " (" +
           recorded("build_type", "unrecorded build type") + "); this is " + MICRONAS_VERSION +
           " (" + MICRONAS_BUILD_TYPE + "), whose rows may differ in the last digits: delete " +
           out + " to start again, or resume with the same build");
  for (const char* key :
       {"seed", "batch", "repeat", "data", "init", "dataset", "target", "backend"}) {
    if (!before.contains(key) || before[key] != now[key])
      fail("--resume: option --" + std::string(key) + " differs from the run that produced " + out +
           " (" + (before.contains(key) ? before[key].dump() : std::string("absent")) + " there, " +
           now[key].dump() + " now); rows would not be comparable");
  }
  if (before.value("data_digest", nlohmann::ordered_json()) !=
      now.value("data_digest", nlohmann::ordered_json()))
    fail("--resume: option --data: the contents of " + now["data"].get<std::string>() +
         " differ from those that produced " + out + "; rows would not be comparable");
  if (before.value("shard", nlohmann::ordered_json()) !=
      now.value("shard", nlohmann::ordered_json()))
    fail("--resume: " + out + " is shard " + recorded("shard", "(none)") + ", this run is shard " +
         now.value("shard", std::string("(none)")));
  if (before.value("cells", nlohmann::ordered_json()) !=
      now.value("cells", nlohmann::ordered_json()))
    fail("--resume: option --archs: the sweep's list of cells differs from the run that produced " +
         out);
  if (before.value("target_profile", nlohmann::ordered_json()) != now["target_profile"])
    fail("--resume: option --target: the constants of target '" + now["target"].get<std::string>() +
         "' differ from those that produced " + out + "; rows would not be comparable");
  return before;
}

// Drops a last line that lacks its newline: the row that was being written when the previous
// run stopped. The header is checked first, so that a file of another kind is never cut. Returns
// the file's size afterwards.
std::uintmax_t drop_partial_last_line(const std::string& path) {
  const std::string text = read_input_file(path, kMaxSweepFileBytes, "a sweep results file");
  const std::string header = sweep_header_line();
  const std::size_t header_end = text.find('\n');
  std::string first_line = text.substr(0, header_end);
  if (!first_line.empty() && first_line.back() == '\r') first_line.pop_back();
  const bool header_ok = header_end == std::string::npos
                             ? header.compare(0, first_line.size(), first_line) == 0
                             : first_line == header;
  if (!header_ok)
    throw Error(Status::kIoError, path + ":1: not a sweep file: the header is '" + first_line +
                                      "', expected '" + header + "'");
  if (text.empty() || text.back() == '\n') return text.size();
  const std::size_t keep = header_end == std::string::npos ? 0 : text.rfind('\n') + 1;
  fs::resize_file(path, keep);
  return keep;
}

// A kept row must be one this run would write: a cell of the list, the index the benchmark
// table gives (empty without one), and the costs of this target. Numbers that no sweep produces
// (NaN, negative, ...) were already refused when the row was parsed.
void check_kept_row(const SweepRow& row, const std::string& where,
                    const std::unordered_set<int>& listed, const BenchmarkTable* table,
                    const mcu::Nb201CostTable& costs) {
  const std::string cell = "cell " + std::to_string(row.cell_id);
  if (!listed.count(row.cell_id))
    fail("--resume: " + where + ": " + cell +
         " is not in this sweep's list of cells (--archs): the file holds rows of another sweep");
  int expected_index = -1;
  if (table) {
    auto found = table->find(row.arch);
    if (found) expected_index = table->index(*found);
  }
  if (row.index != expected_index)
    fail("--resume: " + where + ": " + cell + " has index " +
         (row.index < 0 ? std::string("(empty)") : std::to_string(row.index)) + ", " +
         (table ? "the benchmark table gives " +
                      (expected_index < 0 ? std::string("none") : std::to_string(expected_index))
                : std::string("and without --benchmark it must be empty (give the --benchmark "
                              "the sweep was started with)")));
  if (!sweep_row_costs_match(row, costs))
    fail("--resume: " + where + ": " + cell +
         ": latency_ms, peak_sram_kb or flash_kb differ from the target's model; the row was not "
         "written by this sweep");
}

// Cells scored at once: on the CPU one per thread by default (faster than one cell on all threads,
// whose small layers leave threads waiting at every barrier: bench/README.md); one on a GPU.
int cell_workers(const SweepCliOptions& cli, const ComputeContext& context) {
  if (cli.cell_workers != "auto") return std::stoi(cli.cell_workers);
  if (context.backend != BackendKind::kCpu) return 1;
  return context.cpu_threads();
}

void run_sweep(const SweepCliOptions& cli) {
  if (cli.out.empty()) fail("--out is required");
  if (cli.batch < 2) fail("--batch must be >= 2 (an NTK needs at least two samples)");
  if (cli.repeats < 1) fail("--repeat must be >= 1");
  ScoreOptions score;
  score.dataset = dataset_from_name(cli.dataset);
  score.batch = cli.batch;
  score.repeats = cli.repeats;
  score.init = init_scheme_from_name(cli.init);
  score.data = DataSpec::parse(cli.data);
  score.seed = cli.seed;
  const std::optional<Shard> shard = sweep_shard(cli);
  score.context = cli.backend.to_context(shard ? shard->local_rank : -1);
  const int workers = cell_workers(cli, score.context);
  check_cell_workers(workers, score.context);  // before any file is touched
  // Draw one batch up front so that unreadable data, too few images or an input size the data
  // cannot give fail before any file is touched.
  InputSampler(score.data, 0).ntk_batch(score.batch, ntk_input_size(score.dataset));
  const mcu::TargetProfile target = mcu::load_target(cli.target);
  const mcu::Nb201CostTable costs(target, NetworkConfig::nb201(score.dataset));
  auto table = load_table(cli.benchmark);
  const std::vector<Arch> listed_cells = cells_from_spec(cli.archs, cli.seed, table.get());

  // A shard scores its part of the list into its own file; `micronas merge` joins the files.
  const std::string out = shard ? shard->file_for(cli.out) : cli.out;
  const std::vector<Arch> cells =
      shard ? shard_cells(listed_cells, *shard, sweep_cell_cost) : listed_cells;
  const std::string sidecar = out + ".json";
  nlohmann::ordered_json options = run_options(cli, score, target);
  if (shard) {
    options["shard"] = shard->to_string();
    nlohmann::ordered_json ids = nlohmann::ordered_json::array();
    for (const Arch& cell : listed_cells) ids.push_back(cell.cell_id());
    options["cells"] = ids;  // the whole list, in order: what merge checks and orders by
  }
  // How many rows the file holds when the sweep is complete: `evaluate` says when it is not.
  options["cells_planned"] = cells.size();
  // Held until the run ends: a second run on the same file stops here and changes nothing.
  const FileLock lock(out, "--out");
  std::error_code ec;
  std::uintmax_t size = fs::file_size(out, ec);
  if (ec) fail("--out: cannot read '" + out + "': " + ec.message());
  if (size > 0 && !cli.resume)
    fail("--out: '" + out +
         "' exists and is not empty; pass --resume to continue it, or delete it to start again");

  std::unordered_set<int> done;
  if (size > 0) {
    const nlohmann::ordered_json before = check_same_options(sidecar, options, out);
    // A resume may list other cells (the options that make rows comparable are checked above):
    // the sidecar then records the new plan, replaced whole so that it is never half written.
    replace_sidecar_if_changed(sidecar, before, options);
    size = drop_partial_last_line(out);
    if (size > 0) {
      std::unordered_set<int> listed;
      for (const Arch& cell : cells) listed.insert(cell.cell_id());
      const std::vector<SweepRow> kept = read_sweep_csv(out);
      for (std::size_t i = 0; i < kept.size(); ++i) {
        // Blank lines are skipped by the reader, so name the row by its cell.
        check_kept_row(kept[i], out + " (row " + std::to_string(i + 1) + ")", listed, table.get(),
                       costs);
        done.insert(kept[i].cell_id);
      }
    }
  }
  if (size == 0) {
    write_output_file(sidecar, options.dump(2) + "\n");
    // In place: `out` is the file the lock is held on, which a rename would replace.
    OutputFile header(out, OutputFile::Mode::kAppend);
    header.write(sweep_header_line() + "\n");
    header.close();
  }

  std::vector<Arch> todo;
  for (const Arch& cell : cells)
    if (!done.count(cell.cell_id())) todo.push_back(cell);

  OutputFile file(out, OutputFile::Mode::kAppend);
  const auto start = std::chrono::steady_clock::now();
  ProgressBar bar("sweep", static_cast<std::int64_t>(todo.size()), !cli.no_progress);
  score_sweep_cells(todo, score, costs, workers, [&](std::size_t i, SweepRow row) {
    if (table) {
      auto table_row = table->find(todo[i]);
      if (table_row) row.index = table->index(*table_row);
    }
    // One unbuffered write per row: an interruption loses at most the row
    // being written, which --resume recognises by its missing newline.
    file.write(format_sweep_row(row) + "\n");
    bar.update(static_cast<std::int64_t>(i + 1));
  });
  bar.finish();
  file.close();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "sweep: scored " << todo.size() << " cells in " << format_duration(seconds);
  if (!done.empty()) std::cout << " (" << cells.size() - todo.size() << " already in the file)";
  std::cout << "; " << out << " holds " << done.size() + todo.size() << " rows\n";
}

}  // namespace

void add_sweep_command(CLI::App& app) {
  auto opt = std::make_shared<SweepCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "sweep",
      "Score many NB201 cells (TE-NAS proxies + microcontroller cost) into a resumable CSV, one "
      "row per cell");
  cmd->add_option("--archs", opt->archs,
                  "all (15,625 cells) | N (N distinct random cells from --seed) | FILE (one arch "
                  "string, or with --benchmark an index, per line; '#' comments)")
      ->capture_default_str();
  cmd->add_option("--out", opt->out, "Results CSV (a sidecar OUT.json records the options)")
      ->required();
  cmd->add_option("--cell-workers", opt->cell_workers,
                  "Cells scored at once, each on threads/N threads: auto (one per CPU thread; "
                  "1 on a GPU) or N")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto"}) | integer_in(1, kMaxThreads));
  cmd->add_option("--shard", opt->shard,
                  "I/N: score shard I (from 0) of N of the list, balanced by cost, into "
                  "OUT.shard-I-of-N (default: from Slurm or MPI's environment; see "
                  "`micronas merge`)");
  cmd->add_flag("--resume", opt->resume,
                "Continue an interrupted sweep: keep the rows present, score the missing cells");
  cmd->add_option("--seed", opt->seed,
                  "Seed (each cell is scored with a seed derived from it and its cell id)")
      ->capture_default_str()
      ->check(seed_value());
  cmd->add_option("--batch", opt->batch, "NTK batch size (TE-NAS 72, MicroNAS 128)")
      ->capture_default_str();
  cmd->add_option("--repeat", opt->repeats, "Repeats per cell (fresh data each)")
      ->capture_default_str();
  cmd->add_option("--data", opt->data, "synthetic | cifar10:PATH | cifar100:PATH | npy:PATH")
      ->capture_default_str();
  cmd->add_option("--init", opt->init, "released | kaiming (see `micronas score --help`)")
      ->capture_default_str();
  cmd->add_option("--dataset", opt->dataset, "cifar10 | cifar100 | imagenet16")
      ->capture_default_str();
  cmd->add_option("--target", opt->target, "Microcontroller: a built-in name or a profile JSON")
      ->capture_default_str();
  cmd->add_option("--benchmark", opt->benchmark,
                  "NB201 table: fills the index column and accepts indices in --archs FILE");
  opt->backend.add_to(cmd);
  cmd->add_flag("--no-progress", opt->no_progress,
                "No progress on stderr (a bar on a terminal, else a line every 10 s)");
  cmd->callback([opt]() { run_sweep(*opt); });
}

}  // namespace micronas::cli
