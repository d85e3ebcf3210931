// What the time-series verbs share (see ts_common.hpp).
#include "ts_common.hpp"

#include <filesystem>
#include <memory>

#include "file_lock.hpp"
#include "micronas/error.hpp"
#include "progress.hpp"
#include "runtime/file_io.hpp"

namespace micronas::cli {
namespace {

Splits load_data(const std::string& spec) {
  Splits s;
  if (spec == "synthetic") {
    timeseries::SyntheticSpec train;
    train.cases = 600;
    train.seed = 1;
    timeseries::SyntheticSpec test = train;
    test.cases = 300;
    test.seed = 2;
    s.train = timeseries::make_synthetic(train);
    s.test = timeseries::make_synthetic(test);
  } else if (spec.rfind("ts:", 0) == 0) {
    const std::string paths = spec.substr(3);
    const std::size_t comma = paths.find(',');
    if (comma == std::string::npos || comma == 0 || comma + 1 == paths.size())
      throw Error(Status::kInvalidArgument, "--data ts: needs TRAIN.ts,TEST.ts");
    s.train = timeseries::read_ts(paths.substr(0, comma));
    s.test = timeseries::read_ts(paths.substr(comma + 1));
    if (s.train.class_names != s.test.class_names || s.train.dims != s.test.dims ||
        s.train.length != s.test.length)
      throw Error(Status::kInvalidArgument,
                  "--data: the train and test files differ in classes, dimensions or length");
  } else if (spec.rfind("uci-har:", 0) == 0) {
    s.train = timeseries::read_uci_har(spec.substr(8), "train");
    s.test = timeseries::read_uci_har(spec.substr(8), "test");
  } else {
    throw Error(Status::kInvalidArgument,
                "--data: expected synthetic, ts:TRAIN.ts,TEST.ts or "
                "uci-har:DIR, got '" +
                    spec + "'");
  }
  return s;
}

}  // namespace

Splits load_splits(const std::string& spec, double val_fraction, std::uint64_t seed) {
  Splits d = load_data(spec);
  if (val_fraction > 0.0)
    std::tie(d.train, d.validation) = timeseries::split_validation(d.train, val_fraction, seed);
  // z-score with the statistics of the training split only.
  const timeseries::ChannelStats stats = timeseries::channel_stats(d.train);
  timeseries::normalize(d.train, stats);
  timeseries::normalize(d.test, stats);
  if (d.validation.cases > 0) timeseries::normalize(d.validation, stats);
  return d;
}

void write_checkpoint(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp";
  write_output_file(tmp, bytes);
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec)
    throw Error(Status::kIoError,
                "--checkpoint: cannot rename " + tmp + " to " + path + ": " + ec.message());
}

bool train_epochs(training::Trainer& trainer, const timeseries::Dataset& train, int epochs,
                  const std::string& checkpoint, const std::string& fingerprint, int stop_after,
                  const std::string& label, bool progress) {
  std::unique_ptr<FileLock> lock;
  if (!checkpoint.empty()) {
    lock = std::make_unique<FileLock>(checkpoint + ".lock", "--checkpoint");
    if (std::filesystem::exists(checkpoint)) {
      trainer.restore(read_input_file(checkpoint, std::uint64_t{1} << 32, "a checkpoint", false),
                      fingerprint, checkpoint);
    }
  }
  const training::Samples samples{train.values.data(), train.labels.data(), train.cases};
  ProgressBar bar(label, epochs, progress);
  bar.update(trainer.epochs_done());
  int this_run = 0;
  while (trainer.epochs_done() < epochs && (stop_after == 0 || this_run < stop_after)) {
    trainer.train_epoch(samples);
    ++this_run;
    if (!checkpoint.empty()) write_checkpoint(checkpoint, trainer.checkpoint(fingerprint));
    bar.update(trainer.epochs_done());
  }
  bar.finish();
  return trainer.epochs_done() == epochs;
}

training::Scores evaluate(const training::Trainer& trainer, const timeseries::Dataset& set) {
  const std::vector<int> predicted = trainer.predict(set.values.data(), set.cases);
  return training::classification_scores(predicted, set.labels.data(), set.cases, set.classes());
}

nlohmann::ordered_json scores_json(const training::Scores& s) {
  nlohmann::ordered_json j;
  j["accuracy"] = s.accuracy;
  j["macro_f1"] = s.macro_f1;
  return j;
}

// "TxS" -> {T, S}.
std::pair<int, int> parse_window(const std::string& text) {
  const std::size_t x = text.find('x');
  auto number = [&](const std::string& part) {
    if (part.empty() || part.size() > 7 || part.find_first_not_of("0123456789") != part.npos)
      throw Error(Status::kInvalidArgument,
                  "--window: '" + text + "' is not TIMExSENSORS, e.g. 128x9");
    return std::stoi(part);
  };
  if (x == std::string::npos)
    throw Error(Status::kInvalidArgument,
                "--window: '" + text + "' is not TIMExSENSORS, e.g. 128x9");
  return {number(text.substr(0, x)), number(text.substr(x + 1))};
}

}  // namespace micronas::cli
