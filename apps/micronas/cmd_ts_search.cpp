// `micronas ts-search`: architecture search on the time-series space under hard microcontroller
// limits. dnas: differentiable search with cost penalties (timeseries_dnas.hpp), then the derived
// network repaired until it fits (timeseries_repair.hpp); darts: the same search without cost
// terms and without repair, reporting how far its network exceeds the limits; random: uniform
// samples within the limits, each trained briefly, the best by validation accuracy kept;
// zero-shot: TE-NAS's pruning by the NTK condition number and the linear-region count, no
// training, the limits kept at every step (timeseries_zero_shot.hpp). The returned network can be
// retrained from scratch and scored on the test set.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "backend_options.hpp"
#include "cli_util.hpp"
#include "commands.hpp"
#include "file_lock.hpp"
#include "micronas/error.hpp"
#include "micronas/limits.hpp"
#include "micronas/mcu.hpp"
#include "micronas/random.hpp"
#include "micronas/threads.hpp"
#include "micronas/timeseries_dnas.hpp"
#include "micronas/timeseries_repair.hpp"
#include "micronas/timeseries_training.hpp"
#include "micronas/timeseries_zero_shot.hpp"
#include "progress.hpp"
#include "runtime/file_io.hpp"
#include "ts_common.hpp"

namespace micronas::cli {
namespace {

using nlohmann::ordered_json;
using timeseries::Arch;
using timeseries::DeployedCost;
using timeseries::Space;

struct TsSearchCliOptions {
  std::string method = "dnas", data = "synthetic", target = "stm32l552", checkpoint;
  McuLimits limits;
  int epochs = 60, retrain_epochs = 0, stop_after = 0, random_networks = 10, max_draws = 10000,
      length = 0;
  double val_fraction = 0.2;
  timeseries::DnasOptions dnas;
  timeseries::ZeroShotOptions zero_shot;
  std::string rank_ties = "tenas", cost_targets = "scaled";
  BackendCliOptions backend;
  bool json = false, no_progress = false;
  std::vector<std::string> given;  // the method-specific options on the command line
};

// Options that only some methods read, and those methods: any other method refuses them rather
// than ignoring them silently.
const std::vector<std::pair<std::string, std::vector<std::string>>>& method_options() {
  static const std::vector<std::pair<std::string, std::vector<std::string>>> table = {
      {"--epochs", {"dnas", "darts", "random"}},
      {"--arch-lr", {"dnas", "darts"}},
      {"--arch-lr-min", {"dnas", "darts"}},
      {"--tau0", {"dnas", "darts"}},
      {"--tau-decay", {"dnas", "darts"}},
      {"--tau-min", {"dnas", "darts"}},
      {"--checkpoint", {"dnas", "darts"}},
      {"--stop-after", {"dnas", "darts"}},
      {"--penalty-above", {"dnas"}},
      {"--penalty-below", {"dnas"}},
      {"--cost-targets", {"dnas"}},
      {"--random-networks", {"random"}},
      {"--max-draws", {"random"}},
      {"--ntk-batch", {"zero-shot"}},
      {"--lr-samples", {"zero-shot"}},
      {"--lr-segment", {"zero-shot"}},
      {"--width-divisor", {"zero-shot"}},
      {"--repeat", {"zero-shot"}},
      {"--precision", {"zero-shot"}},
      {"--ties", {"zero-shot"}},
  };
  return table;
}

void refuse_foreign_options(const TsSearchCliOptions& cli) {
  for (const auto& [name, methods] : method_options()) {
    if (std::find(cli.given.begin(), cli.given.end(), name) == cli.given.end() ||
        std::find(methods.begin(), methods.end(), cli.method) != methods.end())
      continue;
    std::string list;  // "a", "a or b", "a, b or c"
    for (std::size_t i = 0; i < methods.size(); ++i)
      list += (i == 0 ? "" : i + 1 == methods.size() ? " or " : ", ") + methods[i];
    throw Error(Status::kInvalidArgument,
                name + ": only for --method " + list + ", not " + cli.method);
  }
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

ordered_json cost_json(const DeployedCost& c) {
  return {{"latency_ms", c.latency_ms}, {"peak_sram_kb", c.peak_sram_kb}, {"flash_kb", c.flash_kb}};
}

// Each limit the cost exceeds: its name, the limit, the value and the excess in percent.
ordered_json violations_json(const McuLimits& limits, const DeployedCost& c) {
  ordered_json v = ordered_json::array();
  const auto check = [&](const char* name, double limit, double value) {
    if (value > limit)
      v.push_back({{"limit", name},
                   {"max", limit},
                   {"value", value},
                   {"excess_percent", 100.0 * (value / limit - 1.0)}});
  };
  check("--max-latency-ms", limits.max_latency_ms, c.latency_ms);
  check("--max-sram-kb", limits.max_sram_kb, c.peak_sram_kb);
  check("--max-flash-kb", limits.max_flash_kb, c.flash_kb);
  return v;
}

bool fits(const McuLimits& limits, const DeployedCost& c) {
  return violations_json(limits, c).empty();
}

// Exits with kInfeasible (status 4), naming each limit and the closest achievable value, when no
// network of the space fits: the cheapest one is the cheapest on every cost.
void require_feasible(const Space& space, const McuLimits& limits,
                      const mcu::TargetProfile& target) {
  const Arch cheapest = timeseries::cheapest_arch(space);
  timeseries::repair_to_limits(space, cheapest, timeseries::ArchDistribution::uniform(space),
                               limits, target);
}

ordered_json limits_json(const McuLimits& l) {
  ordered_json j = ordered_json::object();
  if (l.max_latency_ms < McuLimits::kNone) j["max_latency_ms"] = l.max_latency_ms;
  if (l.max_sram_kb < McuLimits::kNone) j["max_sram_kb"] = l.max_sram_kb;
  if (l.max_flash_kb < McuLimits::kNone) j["max_flash_kb"] = l.max_flash_kb;
  return j;
}

// Everything a DNAS search depends on; a checkpoint of another search is refused.
std::string fingerprint(const TsSearchCliOptions& cli, const Splits& d) {
  const timeseries::DnasOptions& o = cli.dnas;
  ordered_json j;
  j["method"] = cli.method;
  j["data"] = cli.data;
  j["length"] = cli.length;
  j["train_cases"] = d.train.cases;
  j["val_fraction"] = cli.val_fraction;
  j["target"] = cli.target;
  j["epochs"] = o.epochs;
  j["batch"] = o.batch;
  j["seed"] = o.seed;
  j["arch_lr"] = {o.arch_lr, o.arch_lr_min};
  j["weight_lr"] = o.weight_lr;
  j["clip"] = o.clip;
  j["tau"] = {o.tau0, o.tau_decay, o.tau_floor};
  j["penalty"] = {o.penalty_above, o.penalty_below};
  j["scale_targets"] = o.scale_targets;
  j["targets"] = ordered_json::array();
  for (double t : {o.target_latency_ms, o.target_memory_bytes, o.target_flash_bytes})
    j["targets"].push_back(std::isfinite(t) ? t : -1.0);
  j["dropout"] = o.dropout;
  return j.dump();
}

training::Samples samples(const timeseries::Dataset& d) {
  return {d.values.data(), d.labels.data(), d.cases};
}

// dnas and darts: the search epochs (resumable), then the derived architecture. Fills "search".
// Returns false when --stop-after ended the search early.
bool run_dnas(const TsSearchCliOptions& cli, const Space& space, const Splits& d,
              const mcu::TargetProfile& target, Arch* derived, timeseries::ArchDistribution* w,
              ordered_json* out) {
  timeseries::DnasSearch search(space, target, cli.dnas);
  const std::string print = fingerprint(cli, d);
  std::unique_ptr<FileLock> lock;
  if (!cli.checkpoint.empty()) {
    lock = std::make_unique<FileLock>(cli.checkpoint + ".lock", "--checkpoint");
    if (std::filesystem::exists(cli.checkpoint))
      search.restore(read_input_file(cli.checkpoint, std::uint64_t{1} << 32, "a checkpoint", false),
                     print, cli.checkpoint);
  }
  ProgressBar bar("ts-search", cli.dnas.epochs, !cli.no_progress && !cli.json);
  bar.update(search.epochs_done());
  int this_run = 0;
  while (search.epochs_done() < cli.dnas.epochs &&
         (cli.stop_after == 0 || this_run < cli.stop_after)) {
    const timeseries::DnasEpoch& e = search.run_epoch(samples(d.train), samples(d.validation));
    ++this_run;
    if (!cli.checkpoint.empty()) write_checkpoint(cli.checkpoint, search.checkpoint(print));
    bar.clear();
    std::cerr << "epoch " << search.epochs_done() << "/" << cli.dnas.epochs << std::fixed
              << std::setprecision(4) << "  arch_loss " << e.arch_loss << "  train_loss "
              << e.train_loss << std::setprecision(3) << "  E[lat] " << e.expected_latency_ms
              << " ms";
    if (std::isfinite(e.latency_target)) std::cerr << " (target " << e.latency_target << ")";
    std::cerr << "  E[mem] " << e.expected_memory_bytes / 1024.0 << " KiB";
    if (std::isfinite(e.memory_target)) std::cerr << " (target " << e.memory_target / 1024.0 << ")";
    if (std::isfinite(e.flash_target))
      std::cerr << "  E[flash] " << e.expected_flash_bytes / 1024.0 << " KiB (target "
                << e.flash_target / 1024.0 << ")";
    std::cerr << "  tau " << std::setprecision(5) << e.temperature << std::defaultfloat << "\n";
    bar.update(search.epochs_done());
  }
  bar.finish();
  // A target is null when its limit is unset.
  const auto or_null = [](double value, double scale) {
    return std::isfinite(value) ? ordered_json(value / scale) : ordered_json(nullptr);
  };
  ordered_json trajectory = ordered_json::array();
  for (const timeseries::DnasEpoch& e : search.history()) {
    ordered_json epoch;
    epoch["train_loss"] = e.train_loss;
    epoch["arch_loss"] = e.arch_loss;
    epoch["temperature"] = e.temperature;
    epoch["expected_latency_ms"] = e.expected_latency_ms;
    epoch["expected_memory_kb"] = e.expected_memory_bytes / 1024.0;
    epoch["expected_flash_kb"] = e.expected_flash_bytes / 1024.0;
    epoch["latency_target_ms"] = or_null(e.latency_target, 1.0);
    epoch["memory_target_kb"] = or_null(e.memory_target, 1024.0);
    epoch["flash_target_kb"] = or_null(e.flash_target, 1024.0);
    epoch["entropy"] = e.entropy;
    epoch["argmax"] = e.argmax;
    trajectory.push_back(epoch);
  }
  (*out)["search"]["epochs"] = search.epochs_done();
  (*out)["search"]["trajectory"] = trajectory;
  *derived = search.derive();
  *w = search.weights();
  return search.epochs_done() == cli.dnas.epochs;
}

training::TrainerOptions trainer_options(const TsSearchCliOptions& cli, int epochs) {
  training::TrainerOptions o;
  o.epochs = epochs;
  o.batch = cli.dnas.batch;
  o.seed = cli.dnas.seed;
  o.lr = cli.dnas.weight_lr;
  o.clip = cli.dnas.clip;
  return o;
}

// random: uniform draws until --random-networks fit the limits or --max-draws are drawn; each
// fitting one trained for --epochs; the best validation accuracy (the first on ties) wins.
Arch run_random(const TsSearchCliOptions& cli, const Space& space, const Splits& d,
                const mcu::TargetProfile& target, ordered_json* out) {
  Rng rng(derive_seed(cli.dnas.seed, "random-search"));
  std::vector<Arch> feasible;
  int draws = 0;
  while (draws < cli.max_draws && static_cast<int>(feasible.size()) < cli.random_networks) {
    const Arch a = space.sample(rng);
    ++draws;
    if (fits(cli.limits, timeseries::deployed_cost(space, a, target))) feasible.push_back(a);
  }
  (*out)["search"]["draws"] = draws;
  (*out)["search"]["feasible"] = feasible.size();
  if (feasible.empty())
    throw Error(Status::kInfeasible, "random search: none of " + std::to_string(draws) +
                                         " uniform draws fits the limits (the smallest network "
                                         "does); raise --max-draws or use --method dnas");
  ordered_json candidates = ordered_json::array();
  std::size_t best = 0;
  double best_accuracy = -1.0;
  ProgressBar bar("ts-search", static_cast<std::int64_t>(feasible.size()),
                  !cli.no_progress && !cli.json);
  for (std::size_t i = 0; i < feasible.size(); ++i) {
    const training::TrainingGraph net =
        timeseries::exact_network(space, feasible[i], timeseries::NetworkOptions{cli.dnas.dropout});
    training::Trainer trainer(net, {}, trainer_options(cli, cli.epochs),
                              derive_seed(cli.dnas.seed, "init"));
    train_epochs(trainer, d.train, cli.epochs, "", "", 0, "", false);
    const double accuracy = evaluate(trainer, d.validation).accuracy;
    candidates.push_back({{"arch", feasible[i].to_string()}, {"val_accuracy", accuracy}});
    bar.clear();
    std::cerr << "network " << i + 1 << "/" << feasible.size() << "  val_accuracy " << accuracy
              << "  " << feasible[i].to_string() << "\n";
    if (accuracy > best_accuracy) best_accuracy = accuracy, best = i;
    bar.update(static_cast<std::int64_t>(i) + 1);
  }
  bar.finish();
  (*out)["search"]["candidates"] = candidates;
  return feasible[best];
}

// zero-shot: the pruning rounds, each decision's removal with its score changes. Fills "search".
Arch run_zero_shot(const TsSearchCliOptions& cli, const Space& space, const Splits& d,
                   const mcu::TargetProfile& target, ordered_json* out) {
  timeseries::ZeroShotOptions o = cli.zero_shot;
  o.seed = cli.dnas.seed;
  o.ties = rank_ties_from_name(cli.rank_ties);
  std::unique_ptr<ProgressBar> bar;
  int bar_round = -1;
  const bool show = !cli.no_progress && !cli.json;
  const timeseries::ZeroShotResult r = timeseries::zero_shot_search(
      space, d.train, cli.limits, target, o, [&](int round, int done, int total) {
        if (round != bar_round) {
          if (bar) bar->finish();
          bar = std::make_unique<ProgressBar>("ts-search round " + std::to_string(round + 1), total,
                                              show);
          bar_round = round;
        }
        bar->update(done);
      });
  if (bar) bar->finish();
  ordered_json rounds = ordered_json::array();
  for (const timeseries::ZeroShotRound& round : r.rounds) {
    ordered_json pruned = ordered_json::array();
    for (const timeseries::ZeroShotPrune& p : round.pruned)
      pruned.push_back({{"decision", p.decision},
                        {"removed", p.removed},
                        {"left", p.left},
                        {"delta_ntk", p.delta_ntk},
                        {"delta_regions", p.delta_regions},
                        {"rank", p.rank},
                        {"passed_over_for_limits", p.passed_over}});
    rounds.push_back({{"ntk_condition", round.ntk},
                      {"linear_regions", round.regions},
                      {"candidates", round.candidates},
                      {"pruned", pruned}});
  }
  (*out)["search"]["ntk_batch"] = o.ntk_batch;
  (*out)["search"]["lr_samples"] = o.lr_samples;
  (*out)["search"]["lr_segment"] = o.lr_segment;
  (*out)["search"]["width_divisor"] = o.width_divisor;
  (*out)["search"]["repeats"] = o.repeats;
  (*out)["search"]["evaluations"] = r.evaluations;
  (*out)["search"]["rounds"] = rounds;
  return r.arch;
}

void run_ts_search(TsSearchCliOptions cli) {
  const auto start = std::chrono::steady_clock::now();
  if (cli.method != "dnas" && cli.method != "darts" && cli.method != "random" &&
      cli.method != "zero-shot")
    throw Error(Status::kInvalidArgument, "--method: expected dnas, random, darts or zero-shot");
  refuse_foreign_options(cli);
  cli.zero_shot.validate();
  rank_ties_from_name(cli.rank_ties);
  cli.dnas.scale_targets = cli.cost_targets == "scaled";
  const ComputeContext context = cli.backend.to_context();
  if (context.backend != BackendKind::kCpu)
    throw Error(Status::kUnsupported, "ts-search runs on the CPU backend only");
  if (cli.backend.threads > 0) set_num_threads(cli.backend.threads);
  cli.limits.validate();
  cli.dnas.epochs = cli.epochs;
  cli.dnas.hardware = cli.method == "dnas";
  cli.dnas.target_latency_ms = cli.limits.max_latency_ms;
  cli.dnas.target_memory_bytes = cli.limits.max_sram_kb * 1024.0;
  cli.dnas.target_flash_bytes = cli.limits.max_flash_kb * 1024.0;
  cli.dnas.validate();

  const Splits d = load_splits(cli.data, cli.length, cli.val_fraction, cli.dnas.seed);
  if (d.validation.cases < 2)
    throw Error(Status::kInvalidArgument, "--val-fraction leaves fewer than two validation cases");
  const Space space(d.train.length, d.train.dims, d.train.classes());
  const mcu::TargetProfile target = mcu::load_target(cli.target);
  // dnas, random and zero-shot return a network within the limits: fail before searching when
  // none fits.
  if (cli.method != "darts") require_feasible(space, cli.limits, target);

  ordered_json out;
  out["method"] = cli.method;
  out["data"] = cli.data;
  out["window"] = {
      {"length", space.length()}, {"sensors", space.sensors()}, {"classes", space.classes()}};
  out["cases"] = {
      {"train", d.train.cases}, {"validation", d.validation.cases}, {"test", d.test.cases}};
  out["target"] = target.name;
  out["limits"] = limits_json(cli.limits);
  out["seed"] = cli.dnas.seed;
  Arch arch;
  bool complete = true;
  if (cli.method == "random") {
    arch = run_random(cli, space, d, target, &out);
  } else if (cli.method == "zero-shot") {
    arch = run_zero_shot(cli, space, d, target, &out);
  } else {
    Arch derived;
    timeseries::ArchDistribution weights;
    complete = run_dnas(cli, space, d, target, &derived, &weights, &out);
    const DeployedCost cost = timeseries::deployed_cost(space, derived, target);
    out["derived"] = {{"arch", derived.to_string()},
                      {"cost", cost_json(cost)},
                      {"violations", violations_json(cli.limits, cost)}};
    arch = derived;
    if (complete && cli.method == "dnas") {
      const timeseries::RepairResult r =
          timeseries::repair_to_limits(space, derived, weights, cli.limits, target);
      ordered_json changes = ordered_json::array();
      for (const timeseries::RepairStep& s : r.steps)
        changes.push_back({{"change", s.change},
                           {"arch", s.arch.to_string()},
                           {"cost", cost_json(s.cost)},
                           {"weight_lost", s.weight_lost}});
      out["repair"] = changes;
      arch = r.arch;
    }
  }
  out["search"]["complete"] = complete;
  out["search"]["wall_s"] = seconds_since(start);
  if (!complete) {
    std::cout << (cli.json ? out.dump(2)
                           : "stopped: rerun with the same options and --checkpoint to resume")
              << "\n";
    return;
  }
  const DeployedCost cost = timeseries::deployed_cost(space, arch, target);
  out["arch"] = arch.to_string();
  out["cost"] = cost_json(cost);
  out["violations"] = violations_json(cli.limits, cost);
  if (cli.retrain_epochs > 0) {
    const training::TrainingGraph net =
        timeseries::exact_network(space, arch, timeseries::NetworkOptions{cli.dnas.dropout});
    training::Trainer trainer(net, {}, trainer_options(cli, cli.retrain_epochs),
                              derive_seed(cli.dnas.seed, "retrain"));
    train_epochs(trainer, d.train, cli.retrain_epochs, "", "", 0, "ts-search retrain",
                 !cli.no_progress && !cli.json);
    out["retrain"] = {{"epochs", cli.retrain_epochs},
                      {"test", scores_json(evaluate(trainer, d.test))}};
  }
  if (cli.json) {
    std::cout << out.dump(2) << "\n";
    return;
  }
  std::cout << "method          " << cli.method << "\n";
  if (out.contains("derived"))
    std::cout << "derived         " << out["derived"]["arch"].get<std::string>() << "\n";
  if (out.contains("repair"))
    for (const auto& s : out["repair"])
      std::cout << "repair          " << s["change"].get<std::string>() << "\n";
  if (out["search"].contains("rounds"))
    for (std::size_t i = 0; i < out["search"]["rounds"].size(); ++i)
      for (const auto& p : out["search"]["rounds"][i]["pruned"])
        std::cout << "round " << std::setw(2) << i + 1 << "        "
                  << p["decision"].get<std::string>() << " -" << p["removed"].get<std::string>()
                  << " (left " << p["left"].get<std::string>() << ")"
                  << (p["passed_over_for_limits"].get<bool>() ? " [limits]" : "") << "\n";
  if (out["search"].contains("draws"))
    std::cout << "draws           " << out["search"]["draws"] << " (" << out["search"]["feasible"]
              << " within the limits, trained)\n";
  std::cout << "arch            " << arch.to_string() << "\n"
            << std::fixed << std::setprecision(2) << target.name << "  " << cost.latency_ms
            << " ms, " << std::setprecision(1) << cost.peak_sram_kb << " KiB SRAM, "
            << cost.flash_kb << " KiB flash\n";
  for (const auto& v : out["violations"])
    std::cout << "violates        " << v["limit"].get<std::string>() << " "
              << v["max"].get<double>() << " by " << v["excess_percent"].get<double>() << "%\n";
  if (out.contains("retrain"))
    std::cout << std::setprecision(4) << "test_accuracy   "
              << out["retrain"]["test"]["accuracy"].get<double>() << "\ntest_macro_f1   "
              << out["retrain"]["test"]["macro_f1"].get<double>() << "\n";
  std::cout << std::setprecision(1) << "search_wall_s   " << out["search"]["wall_s"].get<double>()
            << "\n";
}

}  // namespace

void add_ts_search_command(CLI::App& app) {
  auto opt = std::make_shared<TsSearchCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "ts-search",
      "Search the time-series space under hard microcontroller limits. dnas: differentiable "
      "search with latency and memory penalties, the derived network repaired until it fits "
      "(each change reported). darts: the same search without cost terms and without repair: its "
      "network is returned as derived and any limit it exceeds is reported, not fixed. random: "
      "uniform samples within the limits, each trained for --epochs, the best on validation "
      "kept. zero-shot: no training; TE-NAS's pruning of the space's options by the NTK "
      "condition number and the number of linear regions, in rounds, never removing the last "
      "option that fits the limits (each round's removals reported). Exit status 4 when no "
      "network of the space fits (dnas, random, zero-shot)");
  cmd->add_option("--method", opt->method, "dnas | darts | random | zero-shot")
      ->capture_default_str();
  cmd->add_option("--data", opt->data,
                  "synthetic (128 x 9 windows, 6 classes) | ts:TRAIN.ts,TEST.ts | uci-har:DIR")
      ->capture_default_str();
  add_length_option(cmd, &opt->length);
  cmd->add_option("--target", opt->target, "Microcontroller target: built-in name or profile JSON")
      ->capture_default_str();
  cmd->add_option("--max-latency-ms", opt->limits.max_latency_ms,
                  "Hard limit on the deployed latency (ms); also dnas's latency target (see "
                  "--cost-targets)");
  cmd->add_option("--max-sram-kb", opt->limits.max_sram_kb,
                  "Hard limit on peak SRAM (KiB); also dnas's memory target (see --cost-targets)");
  cmd->add_option("--max-flash-kb", opt->limits.max_flash_kb,
                  "Hard limit on flash (KiB); also dnas's flash target (see --cost-targets)");
  cmd->add_option("--epochs", opt->epochs,
                  "Search epochs (dnas, darts); training epochs per sampled network (random)")
      ->capture_default_str()
      ->check(integer_in(1, 100000));
  cmd->add_option("--retrain-epochs", opt->retrain_epochs,
                  "Train the returned network from scratch for this many epochs on the training "
                  "split and report test accuracy and macro-F1 (0: no retraining)")
      ->capture_default_str()
      ->check(integer_in(0, 100000));
  cmd->add_option("--seed", opt->dnas.seed, "Seed of everything: weights, α, noise, split, draws")
      ->capture_default_str()
      ->check(seed_value());
  cmd->add_option("--val-fraction", opt->val_fraction,
                  "Fraction of each training class held out: the α steps' batches (dnas, darts), "
                  "the ranking of sampled networks (random)")
      ->capture_default_str()
      ->check(CLI::Range(0.05, 0.9));
  cmd->add_option("--batch", opt->dnas.batch, "Mini-batch size")
      ->capture_default_str()
      ->check(integer_in(2, 1 << 20));
  cmd->add_option("--arch-lr", opt->dnas.arch_lr, "SGD rate of α at the start")
      ->capture_default_str()
      ->check(positive_finite());
  cmd->add_option("--arch-lr-min", opt->dnas.arch_lr_min,
                  "SGD rate of α after the cosine annealing over all steps")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e30));
  cmd->add_option("--lr", opt->dnas.weight_lr, "Adam rate of the network weights")
      ->capture_default_str()
      ->check(positive_finite());
  cmd->add_option("--clip", opt->dnas.clip, "Weight gradient L2-norm limit (0: none)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e30));
  cmd->add_option("--tau0", opt->dnas.tau0, "Gumbel-softmax temperature at the start")
      ->capture_default_str()
      ->check(positive_finite());
  cmd->add_option("--tau-decay", opt->dnas.tau_decay, "Temperature factor per mini-batch")
      ->capture_default_str()
      ->check(CLI::Range(1e-9, 1.0));
  cmd->add_option("--tau-min", opt->dnas.tau_floor, "Temperature floor")
      ->capture_default_str()
      ->check(positive_finite());
  cmd->add_option("--penalty-above", opt->dnas.penalty_above,
                  "Weight m of m·log(E[cost]/target) while the expectation exceeds its target")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e6));
  cmd->add_option("--penalty-below", opt->dnas.penalty_below, "The same weight below the target")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e6));
  cmd->add_option("--cost-targets", opt->cost_targets,
                  "dnas: scaled (the latency and flash penalties' targets are their limits "
                  "times E[cost] / cost of the derived network, per epoch: each acts while the "
                  "derived network exceeds its limit) | limit (E[lat] and E[flash] against the "
                  "limits themselves, as the reference). E[mem]'s target is in both the SRAM "
                  "limit in its model's units")
      ->capture_default_str()
      ->check(CLI::IsMember({"scaled", "limit"}));
  cmd->add_option("--dropout", opt->dnas.dropout, "Dropout2d after every cell")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.95));
  cmd->add_option("--random-networks", opt->random_networks,
                  "random: networks within the limits to train")
      ->capture_default_str()
      ->check(integer_in(1, 1000000));
  cmd->add_option("--max-draws", opt->max_draws,
                  "random: stop drawing after this many samples, fitting or not")
      ->capture_default_str()
      ->check(integer_in(1, 100000000));
  cmd->add_option("--ntk-batch", opt->zero_shot.ntk_batch,
                  "zero-shot: training windows per NTK batch (the Jacobian's rows; capped at the "
                  "training cases)")
      ->capture_default_str()
      ->check(integer_in(2, 4096));
  cmd->add_option("--lr-samples", opt->zero_shot.lr_samples,
                  "zero-shot: points on the segment between two training windows whose "
                  "activation patterns are counted (linear regions)")
      ->capture_default_str()
      ->check(integer_in(2, 1000000));
  cmd->add_option("--lr-segment", opt->zero_shot.lr_segment,
                  "zero-shot: fraction of the way from one training window to another that the "
                  "linear-region points cover")
      ->capture_default_str()
      ->check(CLI::Range(1e-9, 1.0));
  cmd->add_option("--width-divisor", opt->zero_shot.width_divisor,
                  "zero-shot: the proxies run on the space with every width divided by this "
                  "(1: the space's own widths; the limits always use them)")
      ->capture_default_str()
      ->check(integer_in(1, 64));
  cmd->add_option("--repeat", opt->zero_shot.repeats,
                  "zero-shot: inputs per candidate score, averaged (TE-NAS: 3)")
      ->capture_default_str()
      ->check(integer_in(1, 1000));
  cmd->add_option("--precision", opt->zero_shot.precision,
                  "zero-shot: decimals of the relative score changes (TE-NAS 3, MicroNAS 5)")
      ->capture_default_str()
      ->check(integer_in(0, 15));
  cmd->add_option("--ties", opt->rank_ties,
                  "zero-shot: tenas (ranks shared only by equal values) | rounded")
      ->capture_default_str();
  cmd->add_option("--checkpoint", opt->checkpoint,
                  "dnas, darts: resume the search from FILE if it exists; rewritten atomically "
                  "after every epoch; a checkpoint of other options is refused");
  cmd->add_option("--stop-after", opt->stop_after,
                  "Stop after this many search epochs of this invocation (resume with "
                  "--checkpoint)")
      ->check(integer_in(1, 100000));
  opt->backend.add_to(cmd);
  cmd->add_flag("--no-progress", opt->no_progress, "No progress bar on stderr");
  cmd->add_flag("--json", opt->json, "Machine-readable JSON output");
  cmd->callback([opt, cmd]() {
    for (const auto& entry : method_options())
      if (cmd->count(entry.first) > 0) opt->given.push_back(entry.first);
    run_ts_search(*opt);
  });
}

}  // namespace micronas::cli
