// `micronas search`: TE-NAS's pruning search with MicroNAS's hybrid objective and hard
// microcontroller limits; prints the architecture found, its MCU cost and benchmark accuracies.
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli_util.hpp"
#include "commands.hpp"
#include "export_files.hpp"
#include "file_lock.hpp"
#include "micronas/error.hpp"
#include "micronas/pruning_search.hpp"
#include "progress.hpp"
#include "runtime/file_io.hpp"
#include "search/search_json.hpp"
#include "search_options.hpp"

namespace micronas::cli {
namespace {

struct SearchCliOptions {
  ProxyCliOptions proxies;
  CostCliOptions cost;
  int precision = 3;
  std::string batches = "shared", ties = "tenas", start = "supernet", benchmark, out, checkpoint;
  bool json = false, no_progress = false, quiet = false;
};

nlohmann::ordered_json options_json(const SearchOptions& o, const SearchCliOptions& cli);

nlohmann::ordered_json result_json(const SearchResult& r, const SearchOptions& o,
                                   const SearchCliOptions& cli, const BenchmarkTable* table) {
  nlohmann::ordered_json out;
  out["arch"] = r.arch.to_string();
  out["cell_id"] = r.arch.cell_id();
  out["flops_m"] = r.size.flops_m();
  out["params_m"] = r.size.params_m();
  out["mcu"] = cost_json(r.cost, o.target, o.mcu);
  out["benchmark"] = benchmark_json(table, r.arch);
  out["options"] = options_json(o, cli);
  nlohmann::ordered_json rounds = nlohmann::ordered_json::array();
  for (const SearchRound& round : r.rounds) rounds.push_back(round_to_json(round));
  out["rounds"] = rounds;
  out["ntk_evaluations"] = r.ntk_evaluations;
  out["lr_evaluations"] = r.lr_evaluations;
  out["seconds"] = r.seconds;
  return out;
}

// Everything that determines the search's decisions (not the thread count: results are
// bitwise identical for any).
nlohmann::ordered_json options_json(const SearchOptions& o, const SearchCliOptions& cli) {
  nlohmann::ordered_json opts;
  opts["dataset"] = dataset_name(o.proxies.dataset);
  opts["data"] = o.proxies.data.to_string();
  opts["seed"] = o.proxies.seed;
  opts["batch"] = o.proxies.batch;
  opts["repeats"] = o.proxies.repeats;
  opts["init"] = init_scheme_name(o.proxies.init);
  opts["batches"] = batch_policy_name(o.batches);
  opts["precision"] = o.precision;
  opts["ties"] = rank_ties_name(o.ties);
  opts["flops_weight"] = o.flops_weight;
  opts["latency_weight"] = o.latency_weight;
  opts["limits"] = limits_json(o.limits);
  opts["start"] = o.start.to_string();
  opts["target"] = cli.cost.target;
  opts["runtime"] = cli.cost.runtime;
  opts["latency_table"] = cli.cost.latency_table;
  // Backends agree to rounding, not bitwise: a near-tie may be decided differently.
  opts["backend"] = backend_name(o.proxies.context.backend);
  return opts;
}

// Rounds of an interrupted search from its checkpoint; refuses a checkpoint of other options.
std::vector<SearchRound> load_checkpoint(const std::string& path,
                                         const nlohmann::ordered_json& options) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return {};  // no checkpoint yet: a fresh search
  // A checkpoint holds a few rounds of scores: tens of kilobytes.
  const std::string text = read_input_file(path, 64u << 20, "a search checkpoint");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(Status::kIoError, "checkpoint " + path + " is not valid JSON: " + e.what());
  }
  if (!j.contains("options") || !j.contains("rounds"))
    throw Error(Status::kIoError, "checkpoint " + path + " lacks options or rounds");
  for (auto it = options.begin(); it != options.end(); ++it)
    if (!j["options"].contains(it.key()) || nlohmann::json(it.value()) != j["options"][it.key()])
      throw Error(Status::kInvalidArgument,
                  "checkpoint " + path + " was written with another " + it.key() + " (" +
                      (j["options"].contains(it.key()) ? j["options"][it.key()].dump() : "none") +
                      ", now " + it.value().dump() + "); delete it or use the same options");
  std::vector<SearchRound> rounds;
  for (const auto& r : j["rounds"]) rounds.push_back(round_from_json(r));
  return rounds;
}

// Staged (write_output_file): an interruption leaves the old checkpoint or the new one, never a
// torn file.
void write_checkpoint(const std::string& path, const nlohmann::ordered_json& options,
                      const std::vector<SearchRound>& rounds) {
  nlohmann::ordered_json j;
  j["options"] = options;
  j["rounds"] = nlohmann::ordered_json::array();
  for (const SearchRound& r : rounds) j["rounds"].push_back(round_to_json(r));
  write_option_file("--checkpoint", path, j.dump(1) + "\n", Publish::kReplace);
}

std::string round_log(const SearchRound& r) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(1) << "round " << r.round << ": " << r.candidates.size()
    << " candidates in " << r.seconds << " s; pruned";
  for (const CandidateResult& c : r.candidates)
    if (c.pruned) s << " e" << c.edge << ":" << op_name(c.op);
  int blocked = 0;
  for (const CandidateResult& c : r.candidates) blocked += c.blocked_by_limits ? 1 : 0;
  if (blocked > 0) s << " (" << blocked << " kept for the limits)";
  if (r.feasible_cells >= 0) s << "; " << r.feasible_cells << " cells within the limits left";
  return s.str();
}

void print_result(const nlohmann::ordered_json& j, const SearchResult& r) {
  std::cout << std::setprecision(5);
  std::cout << "arch            " << j["arch"].get<std::string>() << "\n";
  const auto& b = j["benchmark"];
  if (!b.is_null()) {
    std::cout << "nb201 index     " << b["index"] << "\n";
    for (auto it = b.begin(); it != b.end(); ++it)
      if (it.key().size() > 5 && it.key().substr(it.key().size() - 5) == "_test")
        std::cout << std::left << std::setw(16) << it.key() << it.value() << " %\n";
  }
  const auto& m = j["mcu"];
  std::cout << "flops_m         " << r.size.flops_m() << "\nparams_m        " << r.size.params_m()
            << "\nmcu             " << m["target"].get<std::string>() << " ("
            << m["runtime"].get<std::string>() << "): latency " << r.cost.latency_ms
            << " ms, peak SRAM " << m["peak_sram_kb"].get<double>() << " KiB, flash "
            << m["flash_kb"].get<double>() << " KiB\n"
            << "search          " << r.rounds.size() << " rounds, " << r.ntk_evaluations
            << " NTK + " << r.lr_evaluations << " linear-region evaluations, " << r.seconds
            << " s\n";
}

void run_search(const SearchCliOptions& cli) {
  auto table = load_table(cli.benchmark);
  SearchOptions o;
  o.proxies = cli.proxies.to_score_options();
  o.batches = batch_policy_from_name(cli.batches);
  o.ties = rank_ties_from_name(cli.ties);
  o.precision = cli.precision;
  o.flops_weight = cli.cost.flops_weight;
  o.latency_weight = cli.cost.latency_weight;
  o.target = cli.cost.target;
  o.mcu = cli.cost.to_estimate_options();
  o.limits = cli.cost.limits;
  o.start = Arch::parse(cli.start);

  const nlohmann::ordered_json options = options_json(o, cli);
  // Checked before the search, which takes minutes: an output that could not be written then
  // would lose its result.
  if (!cli.out.empty()) check_new_output("--out", cli.out);
  std::vector<SearchRound> rounds;
  // The checkpoint is replaced by a rename each round, so the lock is held on a companion file
  // that stays: a second search on the same checkpoint stops here.
  std::unique_ptr<FileLock> lock;
  if (!cli.checkpoint.empty())
    lock = std::make_unique<FileLock>(cli.checkpoint + ".lock", "--checkpoint");
  if (!cli.checkpoint.empty()) {
    o.resume_from = load_checkpoint(cli.checkpoint, options);
    rounds = o.resume_from;
    if (!cli.quiet)
      for (const SearchRound& round : rounds)
        std::cerr << round_log(round) << " (from the checkpoint)" << std::endl;
  }
  ProgressBar bar("search", count_search_candidates(o.start), !cli.no_progress);
  o.progress = [&bar](int done, int, int) { bar.update(done); };
  o.on_round = [&](const SearchRound& round) {
    rounds.push_back(round);
    if (!cli.checkpoint.empty()) write_checkpoint(cli.checkpoint, options, rounds);
    if (cli.quiet) return;
    bar.clear();
    std::cerr << round_log(round) << std::endl;
  };
  SearchResult r = prune_search(o);
  bar.finish();
  nlohmann::ordered_json j = result_json(r, o, cli, table.get());
  if (!cli.out.empty()) {
    const std::string text = j.dump(2) + "\n";
    write_option_file("--out", cli.out, text, Publish::kCreateNew);
  }
  if (cli.json)
    std::cout << j.dump(2) << "\n";
  else
    print_result(j, r);
}

}  // namespace

void add_search_command(CLI::App& app) {
  auto opt = std::make_shared<SearchCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "search",
      "TE-NAS pruning search (NTK condition number + linear regions) with MicroNAS's FLOPs/"
      "latency ranks and hard microcontroller limits; prints the NB201 cell found");
  opt->proxies.add_to(cmd);
  opt->cost.add_to(cmd);
  cmd->add_option("--precision", opt->precision,
                  "Decimals of the per-repeat relative changes (TE-NAS 3, MicroNAS 5)")
      ->capture_default_str();
  cmd->add_option("--batches", opt->batches,
                  "shared (every candidate of a round on the same batches) | per-candidate "
                  "(TE-NAS's fresh batch per candidate and repeat)")
      ->capture_default_str();
  cmd->add_option("--ties", opt->ties,
                  "tenas (candidates equal to 3 figures take consecutive ranks in enumeration "
                  "order unless exactly equal, as TE-NAS) | rounded (they share a rank)")
      ->capture_default_str();
  cmd->add_option("--start", opt->start, "Supernet state to start from (none is removed first)")
      ->capture_default_str();
  cmd->add_option("--benchmark", opt->benchmark, "NB201 table: report the cell's accuracies");
  cmd->add_option("--out", opt->out,
                  "Also write the JSON result to this new file (never overwritten)")
      ->check(output_path());
  cmd->add_option("--checkpoint", opt->checkpoint,
                  "Write every completed round here; rerunning with the same options resumes "
                  "after the last one (same result as an uninterrupted run). CHECKPOINT.lock "
                  "beside it keeps a second run from using it at the same time");
  cmd->add_flag("--json", opt->json,
                "Machine-readable JSON: every round's scores and ranks, MCU cost, accuracies");
  cmd->add_flag("--no-progress", opt->no_progress,
                "No progress on stderr (a bar on a terminal, else a line every 10 s)");
  cmd->add_flag("--quiet", opt->quiet, "No per-round log on stderr");
  cmd->footer(
      "Limits: the search never removes an op if no cell left in the state would satisfy them, "
      "so the cell returned always does; if none can, it exits with status 4 naming the limit "
      "and the closest achievable value.");
  cmd->callback([opt]() { run_search(*opt); });
}

}  // namespace micronas::cli
