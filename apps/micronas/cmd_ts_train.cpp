// `micronas ts-train ARCH`: trains one architecture of the time-series space from scratch on
// sensor windows (synthetic, a UEA/UCR .ts pair or UCI-HAR) and reports test accuracy and
// macro-F1 with the network's size and its deployed cost on microcontroller targets; resumable
// from a per-epoch checkpoint.
#include <iomanip>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "backend_options.hpp"
#include "cli_util.hpp"
#include "commands.hpp"
#include "micronas/error.hpp"
#include "micronas/mcu.hpp"
#include "micronas/threads.hpp"
#include "micronas/timeseries_cost.hpp"
#include "micronas/timeseries_data.hpp"
#include "micronas/timeseries_export.hpp"
#include "micronas/timeseries_lowering.hpp"
#include "micronas/timeseries_training.hpp"
#include "micronas/trainer.hpp"
#include "ts_common.hpp"

namespace micronas::cli {
namespace {

struct TsTrainCliOptions {
  std::string arch, data = "synthetic", optimizer = "adam", checkpoint, save_weights;
  int epochs = 30, batch = 64, stop_after = 0, length = 0;
  std::uint64_t seed = 0;
  double lr = 1e-3, momentum = 0.9, weight_decay = 0.0, clip = 5.0, val_fraction = 0.0,
         dropout = 0.3;
  std::vector<std::string> targets = {"stm32l552", "stm32f446re"};
  BackendCliOptions backend;
  bool json = false, no_progress = false;
};

// Everything the result depends on; a checkpoint written under another fingerprint is refused.
std::string fingerprint(const TsTrainCliOptions& cli, const timeseries::Arch& arch,
                        const Splits& d) {
  nlohmann::ordered_json j;
  j["arch"] = arch.to_string();
  j["data"] = cli.data;
  j["length"] = cli.length;
  j["train_cases"] = d.train.cases;
  j["epochs"] = cli.epochs;
  j["batch"] = cli.batch;
  j["seed"] = cli.seed;
  j["optimizer"] = cli.optimizer;
  j["lr"] = cli.lr;
  j["momentum"] = cli.momentum;
  j["weight_decay"] = cli.weight_decay;
  j["clip"] = cli.clip;
  j["val_fraction"] = cli.val_fraction;
  j["dropout"] = cli.dropout;
  return j.dump();
}

void run_ts_train(const TsTrainCliOptions& cli) {
  const ComputeContext context = cli.backend.to_context();
  if (context.backend != BackendKind::kCpu)
    throw Error(Status::kUnsupported, "ts-train runs on the CPU backend only");
  if (cli.backend.threads > 0) set_num_threads(cli.backend.threads);
  training::TrainerOptions o;
  if (cli.optimizer == "adam")
    o.optimizer = training::TrainerOptions::Kind::kAdam;
  else if (cli.optimizer == "sgd")
    o.optimizer = training::TrainerOptions::Kind::kSgd;
  else
    throw Error(Status::kInvalidArgument, "--optimizer: expected adam or sgd");
  o.epochs = cli.epochs;
  o.batch = cli.batch;
  o.seed = cli.seed;
  o.lr = cli.lr;
  o.momentum = cli.momentum;
  o.weight_decay = cli.weight_decay;
  o.clip = cli.clip;

  const Splits d = load_splits(cli.data, cli.length, cli.val_fraction, cli.seed);

  const timeseries::Space space(d.train.length, d.train.dims, d.train.classes());
  const std::string& text = cli.arch;
  const timeseries::Arch arch =
      !text.empty() && text[0] == '{' ? space.parse_json(text) : space.parse(text);
  const training::TrainingGraph graph =
      timeseries::exact_network(space, arch, timeseries::NetworkOptions{cli.dropout});
  const timeseries::LayerGraph layers = timeseries::lower(space, arch);
  // Targets are loaded before training, so that a bad --target fails at once.
  std::vector<mcu::TargetProfile> targets;
  for (const std::string& t : cli.targets) targets.push_back(mcu::load_target(t));

  if (!cli.save_weights.empty()) timeseries::check_weights_directory(cli.save_weights);

  training::Trainer trainer(graph, {}, o, derive_seed(cli.seed, "init"));
  const std::string print = fingerprint(cli, arch, d);
  const bool complete = train_epochs(trainer, d.train, cli.epochs, cli.checkpoint, print,
                                     cli.stop_after, "ts-train", !cli.no_progress);

  // The trained network for `micronas export --space timeseries --weights DIR`.
  if (!cli.save_weights.empty() && complete)
    timeseries::save_network_weights(graph, {trainer.parameters(), trainer.state()},
                                     cli.save_weights);

  nlohmann::ordered_json out;
  out["arch"] = arch.to_string();
  out["data"] = cli.data;
  out["window"] = {
      {"length", space.length()}, {"sensors", space.sensors()}, {"classes", space.classes()}};
  out["cases"] = {
      {"train", d.train.cases}, {"validation", d.validation.cases}, {"test", d.test.cases}};
  out["epochs"] = trainer.epochs_done();
  out["complete"] = complete;
  out["train_loss"] = trainer.losses();
  // The deployed network's size: the convs', and each batch norm's per-channel scale and shift
  // (deployed as its own op after the ReLU).
  out["model"] = {{"macs", layers.macs()}, {"params", layers.params() + layers.bn_params()}};
  // Its latency, peak SRAM and flash as int8 TFLite Micro + CMSIS-NN (timeseries_cost.hpp).
  out["mcu"] = nlohmann::ordered_json::array();
  for (const mcu::TargetProfile& target : targets) {
    const mcu::NetworkEstimate est = timeseries::estimate_cost(target, layers).network;
    out["mcu"].push_back({{"target", target.name},
                          {"latency_ms", est.latency_ms},
                          {"peak_sram_kb", est.peak_sram_kb()},
                          {"flash_kb", est.flash_kb()},
                          {"fits_sram", est.fits_sram},
                          {"fits_flash", est.fits_flash}});
  }
  if (complete) {
    if (d.validation.cases > 0) out["validation"] = scores_json(evaluate(trainer, d.validation));
    out["test"] = scores_json(evaluate(trainer, d.test));
  }
  if (cli.json) {
    std::cout << out.dump(2) << "\n";
    return;
  }
  std::cout << "arch            " << out["arch"].get<std::string>() << "\n"
            << "data            " << cli.data << " (" << space.length() << " x " << space.sensors()
            << ", " << space.classes() << " classes; " << d.train.cases << " train, "
            << d.validation.cases << " validation, " << d.test.cases << " test)\n"
            << "epochs          " << trainer.epochs_done() << " of " << cli.epochs << "\n"
            << std::setprecision(6);
  if (!trainer.losses().empty()) std::cout << "train_loss      " << trainer.losses().back() << "\n";
  if (!complete) {
    std::cout << "stopped         rerun with the same options and --checkpoint to resume\n";
  } else {
    if (out.contains("validation"))
      std::cout << "val_accuracy    " << out["validation"]["accuracy"].get<double>() << "\n";
    std::cout << "test_accuracy   " << out["test"]["accuracy"].get<double>() << "\n"
              << "test_macro_f1   " << out["test"]["macro_f1"].get<double>() << "\n";
  }
  std::cout << "macs            " << layers.macs() << "\nparams          "
            << layers.params() + layers.bn_params() << "\n";
  for (const auto& m : out["mcu"]) {
    std::cout << std::left << std::setw(16) << m["target"].get<std::string>() << std::right
              << std::fixed << std::setprecision(2) << m["latency_ms"].get<double>() << " ms, "
              << std::setprecision(1) << m["peak_sram_kb"].get<double>() << " KiB SRAM, "
              << m["flash_kb"].get<double>() << " KiB flash\n";
  }
}

}  // namespace

void add_ts_train_command(CLI::App& app) {
  auto opt = std::make_shared<TsTrainCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "ts-train",
      "Train one architecture of the time-series space (sensor windows) from scratch and report "
      "test accuracy, macro-F1, MACs and parameters");
  cmd->add_option("ARCH", opt->arch,
                  "Architecture text (e.g. tr:k5w8|tr:k3w12|tr:k7w16|sf:b16[3,7]w32r|sf:skip|"
                  "sf:b8[5]w24) or JSON; the space follows the data's window and classes")
      ->required();
  cmd->add_option("--data", opt->data,
                  "synthetic (128 x 9 windows, 6 classes) | ts:TRAIN.ts,TEST.ts | uci-har:DIR")
      ->capture_default_str();
  add_length_option(cmd, &opt->length);
  cmd->add_option("--epochs", opt->epochs, "Training epochs")
      ->capture_default_str()
      ->check(integer_in(1, 100000));
  cmd->add_option("--batch", opt->batch, "Mini-batch size")
      ->capture_default_str()
      ->check(integer_in(2, 1 << 20));
  cmd->add_option("--seed", opt->seed, "Seed of the weights, shuffles, dropout and split")
      ->capture_default_str()
      ->check(seed_value());
  cmd->add_option("--optimizer", opt->optimizer,
                  "adam (constant rate) | sgd (momentum, cosine annealing to 0)")
      ->capture_default_str();
  cmd->add_option("--lr", opt->lr, "Learning rate")
      ->capture_default_str()
      ->check(positive_finite());
  cmd->add_option("--momentum", opt->momentum, "SGD momentum")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.999999));
  cmd->add_option("--weight-decay", opt->weight_decay, "L2 weight decay (added to the gradient)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--clip", opt->clip, "Gradient L2-norm limit (0: none)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e30));
  cmd->add_option("--val-fraction", opt->val_fraction,
                  "Fraction of each training class held out for validation")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.9));
  cmd->add_option("--dropout", opt->dropout, "Dropout2d after every cell")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.95));
  cmd->add_option("--checkpoint", opt->checkpoint,
                  "Resume from FILE if it exists; rewritten atomically after every epoch; a "
                  "checkpoint of other options is refused");
  cmd->add_option("--save-weights", opt->save_weights,
                  "After the last epoch, write every parameter as DIR/<name>.npy (float32) and "
                  "each batch norm's DIR/<bn>.running_mean.npy and .running_var.npy, for "
                  "`micronas export --space timeseries --weights DIR` (DIR must not exist or be "
                  "empty)");
  cmd->add_option("--stop-after", opt->stop_after,
                  "Stop after this many epochs of this invocation (resume with --checkpoint)")
      ->check(integer_in(1, 100000));
  cmd->add_option("--target", opt->targets,
                  "Microcontroller targets for the deployed cost: built-in names or profile JSON "
                  "files, comma-separated")
      ->delimiter(',')
      ->capture_default_str();
  opt->backend.add_to(cmd);
  cmd->add_flag("--no-progress", opt->no_progress, "No progress bar on stderr");
  cmd->add_flag("--json", opt->json, "Machine-readable JSON output");
  cmd->callback([opt]() { run_ts_train(*opt); });
}

}  // namespace micronas::cli
