// What the time-series verbs share (see ts_common.hpp).
#include "ts_common.hpp"

#include <filesystem>
#include <memory>

#include "export_files.hpp"
#include "file_lock.hpp"
#include "micronas/error.hpp"
#include "progress.hpp"
#include "runtime/file_io.hpp"

namespace micronas::cli {
namespace {

Splits load_data(const std::string& spec, int length) {
  Splits s;
  if (length > 0 && spec.rfind("ts:", 0) != 0)
    throw Error(Status::kInvalidArgument, "--length applies to ts: data only");
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
    timeseries::TsReadOptions options;
    options.length = length;
    try {
      s.train = timeseries::read_ts(paths.substr(0, comma), options);
      s.test = timeseries::read_ts(paths.substr(comma + 1), options);
    } catch (const Error& e) {
      // The reader's message names the file and the cases; say which option supplies the length.
      const std::string what = e.what();
      if (length == 0 && what.find("unequal lengths") != std::string::npos)
        throw Error(e.status(), what + " (--length N)");
      throw;
    }
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

Splits load_splits(const std::string& spec, int length, double val_fraction, std::uint64_t seed) {
  Splits d = load_data(spec, length);
  if (val_fraction > 0.0)
    std::tie(d.train, d.validation) = timeseries::split_validation(d.train, val_fraction, seed);
  // z-score with the statistics of the training split only.
  const timeseries::ChannelStats stats = timeseries::channel_stats(d.train);
  timeseries::normalize(d.train, stats);
  timeseries::normalize(d.test, stats);
  if (d.validation.cases > 0) timeseries::normalize(d.validation, stats);
  return d;
}

void add_length_option(CLI::App* cmd, int* length) {
  cmd->add_option("--length", *length,
                  "Cut or zero-pad (at the end) every series of ts: data to this many steps; "
                  "needed for files of unequal lengths (0: every series must have one length)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1 << 20));
}

void write_checkpoint(const std::string& path, const std::string& bytes) {
  write_option_file("--checkpoint", path, bytes, Publish::kReplace);
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
    if (part.empty() || part.find_first_not_of("0123456789") != part.npos)
      throw Error(Status::kInvalidArgument,
                  "--window: '" + text + "' is not TIMExSENSORS, e.g. 128x9");
    if (part.size() > 7)
      throw Error(Status::kInvalidArgument,
                  "--window: '" + text + "' is too large (at most 9999999 per dimension)");
    return std::stoi(part);
  };
  if (x == std::string::npos)
    throw Error(Status::kInvalidArgument,
                "--window: '" + text + "' is not TIMExSENSORS, e.g. 128x9");
  return {number(text.substr(0, x)), number(text.substr(x + 1))};
}

}  // namespace micronas::cli
