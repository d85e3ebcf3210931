// What the time-series verbs (ts-train, ts-search) share: loading and normalising --data,
// training a network for a number of epochs with per-epoch checkpoints, atomic checkpoint
// files, and the test scores as JSON.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "micronas/timeseries_data.hpp"
#include "micronas/trainer.hpp"

namespace micronas::cli {

struct Splits {
  timeseries::Dataset train, validation, test;
};

// --data: synthetic (UCI-HAR-shaped windows, fixed seeds, so the data does not change with
// --seed), ts:TRAIN.ts,TEST.ts or uci-har:DIR; `length` > 0 cuts or zero-pads every .ts series
// to that many steps (--length; 0: the files' series must all have one length); a stratified
// validation split of `val_fraction` of the training set (none when 0) drawn with `seed`; every
// split z-scored with the training split's statistics.
Splits load_splits(const std::string& spec, int length, double val_fraction, std::uint64_t seed);

// The --length option of the verbs that read --data.
void add_length_option(CLI::App* cmd, int* length);

// Staged (write_output_file): an interruption leaves the old checkpoint or the new one, never a
// torn file.
void write_checkpoint(const std::string& path, const std::string& bytes);

// Trains until `epochs` are done or `stop_after` (> 0) epochs of this call have run, with a
// progress bar labelled `label`; with a `checkpoint` path, resumes from it when it exists and
// rewrites it after every epoch (held under a lock file). Returns whether every epoch is done.
bool train_epochs(training::Trainer& trainer, const timeseries::Dataset& train, int epochs,
                  const std::string& checkpoint, const std::string& fingerprint, int stop_after,
                  const std::string& label, bool progress);

// Accuracy and macro-F1 of the trainer's predictions on `set`.
training::Scores evaluate(const training::Trainer& trainer, const timeseries::Dataset& set);
nlohmann::ordered_json scores_json(const training::Scores& s);

// --window: "TxS" -> {T, S}; Error(kInvalidArgument) naming the text otherwise.
std::pair<int, int> parse_window(const std::string& text);

}  // namespace micronas::cli
