// `micronas export ARCH --space timeseries` (see cmd_export_timeseries.hpp).
#include "cmd_export_timeseries.hpp"

#include <algorithm>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <vector>

#include "export_files.hpp"
#include "micronas/error.hpp"
#include "micronas/npy.hpp"
#include "micronas/random.hpp"
#include "micronas/timeseries_export.hpp"
#include "micronas/timeseries_training.hpp"
#include "ts_common.hpp"

namespace micronas::cli {
namespace {

// Windows [n, T, S] for calibration and for --reference: `synthetic` draws seeded standard
// normal windows (z-scored data's scale); a data source (ts:TRAIN.ts,TEST.ts, uci-har:DIR) gives
// its training windows for calibration and its test windows for the reference, z-scored with the
// training statistics as ts-train trains on them.
struct Windows {
  std::vector<float> calibration, reference;
  int n_calibration = 0, n_reference = 0;
};

std::vector<float> take(const timeseries::Dataset& d, int count, int& taken) {
  taken = std::min(count, d.cases);
  const std::size_t per = static_cast<std::size_t>(d.length) * d.dims;
  return std::vector<float>(d.values.begin(), d.values.begin() + taken * per);
}

Windows windows(const TimeseriesExportOptions& opt, int length, int sensors) {
  Windows w;
  if (opt.calibration == "synthetic") {
    Rng rng(derive_seed(opt.seed, "calibration"));
    const std::size_t per = static_cast<std::size_t>(length) * sensors;
    w.n_calibration = opt.calibration_samples;
    w.n_reference = opt.reference_samples;
    for (std::size_t i = 0; i < w.n_calibration * per; ++i)
      w.calibration.push_back(static_cast<float>(rng.normal()));
    for (std::size_t i = 0; i < w.n_reference * per; ++i)
      w.reference.push_back(static_cast<float>(rng.normal()));
    return w;
  }
  const Splits d = load_splits(opt.calibration, opt.length, 0.0, opt.seed);
  if (d.train.length != length || d.train.dims != sensors)
    throw Error(Status::kInvalidArgument, "--calibration: '" + opt.calibration +
                                              "' has windows of " + std::to_string(d.train.length) +
                                              "x" + std::to_string(d.train.dims) +
                                              ", the network " + opt.window);
  w.calibration = take(d.train, opt.calibration_samples, w.n_calibration);
  w.reference = take(d.test, opt.reference_samples, w.n_reference);
  return w;
}

}  // namespace

void run_timeseries_export(const TimeseriesExportOptions& opt) {
  if (opt.window.empty() || opt.classes < 2)
    throw Error(Status::kInvalidArgument,
                "--space timeseries needs --window TxS and --classes K (K >= 2)");
  const auto [length, sensors] = parse_window(opt.window);
  const timeseries::Space space(length, sensors, opt.classes);
  const timeseries::Arch arch =
      !opt.arch.empty() && opt.arch[0] == '{' ? space.parse_json(opt.arch) : space.parse(opt.arch);
  refuse_existing("--out", opt.out);
  if (!opt.c_array.empty()) refuse_existing("--c-array", opt.c_array);
  if (!opt.reference.empty()) refuse_existing("--reference", opt.reference);

  const training::TrainingGraph net = timeseries::exact_network(space, arch);
  const timeseries::LayerGraph graph = timeseries::lower(space, arch);
  const timeseries::NetworkWeights weights =
      opt.weights.empty() ? timeseries::random_network_weights(net, opt.seed)
                          : timeseries::load_network_weights(net, opt.weights);
  const Windows w = windows(opt, length, sensors);

  std::ostringstream description;
  description << "MicroNAS time-series " << arch.to_string() << " window " << length << "x"
              << sensors << " classes " << opt.classes << "; weights "
              << (opt.weights.empty() ? "random (seed " + std::to_string(opt.seed) + ")"
                                      : "from .npy files")
              << "; calibrated on " << w.n_calibration << " " << opt.calibration << " windows";
  const tflite::ExportedModel model = timeseries::export_tflite(
      graph, net, weights, w.calibration.data(), w.n_calibration, description.str());

  std::vector<double> probs;
  if (!opt.reference.empty()) {
    if (w.n_reference < 1)
      throw Error(Status::kInvalidArgument, "--reference: the data has no test windows");
    probs = timeseries::reference_probabilities(net, weights, w.reference.data(), w.n_reference);
  }
  write_model_files(
      model, opt.out, opt.c_array, description.str(),
      {opt.reference, [&](const std::string& dir) {
         write_npy(dir + "/inputs.npy", {w.n_reference, length, sensors}, w.reference.data());
         write_npy(dir + "/probabilities.npy", {w.n_reference, opt.classes}, probs.data());
       }});
  std::cout << std::setprecision(9) << "input int8 [1, " << length << ", " << sensors
            << ", 1] (normalised window, NHWC): scale " << model.input.scale << ", zero point "
            << model.input.zero_point << "\noutput int8 [1, " << opt.classes
            << "] (class probabilities): scale " << model.output.scale << ", zero point "
            << model.output.zero_point << "\n";
}

}  // namespace micronas::cli
