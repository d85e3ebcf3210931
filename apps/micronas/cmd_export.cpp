// `micronas export ARCH --out model.tflite`: NB201's evaluation network for the cell as a
// full-integer int8 TFLite model, lowered exactly as `micronas mcu` models it; with --space
// timeseries a time-series network (cmd_export_timeseries.cpp).
#include <algorithm>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "cli_util.hpp"
#include "cmd_export_timeseries.hpp"
#include "commands.hpp"
#include "export_files.hpp"
#include "micronas/data.hpp"
#include "micronas/error.hpp"
#include "micronas/npy.hpp"
#include "micronas/tflite_export.hpp"
#include "ts_common.hpp"

namespace micronas::cli {
namespace {

struct ExportOptions {
  std::string arch, out, weights, calibration = "synthetic", dataset = "cifar10", c_array,
                                  reference, benchmark, space = "nb201", window;
  int classes = 0, length = 0;
  std::uint64_t seed = 0;
  int calibration_samples = 100;
  int reference_samples = 100;
  bool dataset_given = false;
};

void run_export(const ExportOptions& opt) {
  if (opt.space == "timeseries") {
    // The window and classes define a time-series network; these options would be ignored.
    if (opt.dataset_given || !opt.benchmark.empty())
      throw Error(Status::kInvalidArgument, "--dataset and --benchmark are for --space nb201");
    TimeseriesExportOptions ts;
    ts.arch = opt.arch, ts.out = opt.out, ts.weights = opt.weights;
    ts.calibration = opt.calibration, ts.c_array = opt.c_array, ts.reference = opt.reference;
    ts.window = opt.window, ts.classes = opt.classes, ts.seed = opt.seed;
    ts.length = opt.length;
    ts.calibration_samples = opt.calibration_samples;
    ts.reference_samples = opt.reference_samples;
    run_timeseries_export(ts);
    return;
  }
  if (opt.space != "nb201")
    throw Error(Status::kInvalidArgument, "--space: expected nb201 or timeseries");
  if (!opt.window.empty() || opt.classes != 0 || opt.length != 0)
    throw Error(Status::kInvalidArgument,
                "--window, --classes and --length are for --space timeseries");
  auto table = load_table(opt.benchmark);
  const Arch arch = resolve_arch(opt.arch, table.get());
  const Dataset dataset = dataset_from_name(opt.dataset);
  const DataSpec spec = DataSpec::parse(opt.calibration);
  // Every output is checked before any work, so that nothing is computed to be thrown away.
  refuse_existing("--out", opt.out);
  if (!opt.c_array.empty()) refuse_existing("--c-array", opt.c_array);
  if (!opt.reference.empty()) {
    if (exists(opt.reference)) refuse_existing("--reference", opt.reference);
  }

  const NetworkConfig config = NetworkConfig::nb201(dataset);
  const Graph graph = build_graph(config, arch);
  int stats_loaded = 0;
  tflite::Weights weights = opt.weights.empty()
                                ? tflite::random_weights(graph, opt.seed)
                                : tflite::load_weights(graph, opt.weights, &stats_loaded);
  InputSampler sampler(spec, opt.seed);
  // The sampler's own message is about a batch of images; the option that asked for it is named.
  auto draw = [&](const char* option, int samples) {
    try {
      return sampler.ntk_batch(samples, config.input_size);
    } catch (const Error& e) {
      throw Error(e.status(),
                  std::string(option) + " " + std::to_string(samples) + ": " + e.what());
    }
  };
  const ImageBatch calibration = draw("--calibration-samples", opt.calibration_samples);
  if (opt.weights.empty()) {
    // Random weights: BN running statistics from the first (up to 16) calibration images.
    if (calibration.n < 2)
      throw Error(Status::kInvalidArgument,
                  "--calibration-samples: random weights need at least 2 images (their batch "
                  "norm statistics are estimated on them)");
    ImageBatch first = calibration;
    first.n = std::min(calibration.n, 16);
    first.data.resize(static_cast<std::size_t>(first.n) * first.c * first.h * first.w);
    tflite::estimate_running_stats(graph, weights, first);
  }

  std::ostringstream description;
  description << "MicroNAS NB201 " << arch.to_string() << " " << dataset_name(dataset)
              << " C=" << config.channels << " N=" << config.cells_per_stage << "; weights "
              << (opt.weights.empty() ? "random (seed " + std::to_string(opt.seed) +
                                            "), batch norm statistics of calibration images"
                                      : "from .npy files")
              << "; calibrated on " << calibration.n << " " << spec.to_string() << " inputs";
  const tflite::ExportedModel model =
      tflite::export_model(graph, weights, calibration, description.str());

  ImageBatch inputs;
  std::vector<double> logits;
  if (!opt.reference.empty()) {
    inputs = draw("--reference-samples", opt.reference_samples);
    logits = tflite::inference_forward(graph, weights, inputs.data.data(), inputs.n);
  }
  write_model_files(model, opt.out, opt.c_array, description.str(),
                    {opt.reference, [&](const std::string& dir) {
                       write_npy(dir + "/inputs.npy", {inputs.n, inputs.c, inputs.h, inputs.w},
                                 inputs.data.data());
                       write_npy(dir + "/logits.npy",
                                 {inputs.n, static_cast<std::int64_t>(logits.size() / inputs.n)},
                                 logits.data());
                     }});
  std::cout << std::setprecision(9) << "input int8 [1, " << config.input_size << ", "
            << config.input_size << ", " << config.input_channels
            << "] (normalised image, NHWC): scale " << model.input.scale << ", zero point "
            << model.input.zero_point << "\noutput int8 [1, " << config.num_classes
            << "] (logits): scale " << model.output.scale << ", zero point "
            << model.output.zero_point << "\n";
  if (!opt.weights.empty())
    std::cout << "batch norm running statistics read for " << stats_loaded << " of " << [&] {
      int n = 0;
      for (const Layer& l : graph.layers) n += l.kind == LayerKind::kBatchNorm;
      return n;
    }() << " batch norms (the others: mean 0, variance 1)\n";
}

}  // namespace

void add_export_command(CLI::App& app) {
  auto opt = std::make_shared<ExportOptions>();
  CLI::App* cmd = app.add_subcommand(
      "export",
      "Write NB201's evaluation network (C=16, N=5) for a cell, or a time-series network "
      "(--space timeseries), as a full-integer int8 TFLite model, with the op lowering the cost "
      "model prices (`micronas mcu`, `micronas ts-cost`)");
  cmd->add_option("ARCH", opt->arch,
                  "NB201 cell string (or an index with --benchmark); with --space timeseries a "
                  "time-series architecture text or its JSON")
      ->required();
  cmd->add_option("--space", opt->space, "nb201 | timeseries")->capture_default_str();
  cmd->add_option("--window", opt->window,
                  "Time-series window TIMExSENSORS, e.g. 100x6 (--space timeseries)");
  cmd->add_option("--classes", opt->classes, "Time-series classes (--space timeseries)");
  cmd->add_option("--out", opt->out, ".tflite file to create (never overwritten)")->required();
  cmd->add_option("--weights", opt->weights,
                  "Directory of <state_dict key>.npy files (and <bn>.running_mean.npy / "
                  "<bn>.running_var.npy; absent: mean 0, variance 1; time-series: what "
                  "`ts-train --save-weights` writes, all required); default: seeded random "
                  "weights");
  cmd->add_option("--calibration", opt->calibration,
                  "Activation calibration inputs: synthetic | cifar10:PATH | cifar100:PATH | "
                  "npy:PATH; time-series: synthetic | ts:TRAIN.ts,TEST.ts | uci-har:DIR "
                  "(training windows; --reference takes test windows)")
      ->capture_default_str();
  add_length_option(cmd, &opt->length);
  cmd->add_option("--calibration-samples", opt->calibration_samples, "Images used for calibration")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  const CLI::Option* dataset =
      cmd->add_option("--dataset", opt->dataset, "cifar10 | cifar100 | imagenet16 (--space nb201)")
          ->capture_default_str();
  cmd->add_option("--seed", opt->seed, "Seed for random weights and the choice of inputs")
      ->capture_default_str()
      ->check(seed_value());
  cmd->add_option("--c-array", opt->c_array,
                  "Also write the model as a C array (alignas(16) g_model, g_model_len) to this "
                  "file (never overwritten)");
  cmd->add_option("--reference", opt->reference,
                  "Create this directory with inputs.npy (further images from the calibration "
                  "source, NCHW float32) and logits.npy (the float network in inference mode); "
                  "time-series: inputs.npy [n, T, S] and probabilities.npy [n, classes]");
  cmd->add_option("--reference-samples", opt->reference_samples, "Images in --reference")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--benchmark", opt->benchmark, "NB201 table, to accept an index as ARCH");
  cmd->callback([opt, dataset] {
    opt->dataset_given = dataset->count() > 0;
    run_export(*opt);
  });
}

}  // namespace micronas::cli
