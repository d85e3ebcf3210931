// Sensor-window data for the time-series search space: the UEA/UCR `.ts` format, UCI-HAR's
// directory layout, a seeded synthetic generator (the default that needs no files), per-channel
// z-score normalisation and a stratified validation split.
//
// Every reader throws Error(kIoError) for a file that cannot be read (missing, a directory, too
// large, binary) and Error(kParseError) for malformed content, with a message that starts with
// "FILE:LINE:" and names the case, dimension or value at fault.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace micronas::timeseries {

// N windows of T time steps x S sensor channels. values is [N, T, S]: each case is time-major, so
// one case is the (T, S) one-channel image the networks of the space read.
struct Dataset {
  int cases = 0;   // N
  int length = 0;  // T
  int dims = 0;    // S
  std::vector<float> values;
  std::vector<int> labels;               // [N], each in 0..classes()-1
  std::vector<std::string> class_names;  // index = label

  int classes() const { return static_cast<int>(class_names.size()); }
  float at(int n, int t, int s) const {
    return values[(static_cast<std::size_t>(n) * length + t) * dims + s];
  }
  // Number of cases of each class.
  std::vector<int> class_counts() const;
  // The cases `indices` in that order (class names kept).
  Dataset subset(const std::vector<int>& indices) const;
};

struct TsReadOptions {
  // 0: every case must have the same length (the file's @seriesLength when given); a file with
  // unequal lengths is refused, naming the first case whose length differs. > 0: every series is
  // cut to its first `length` values or padded with zeros at the end up to `length`.
  int length = 0;
  // '?' and NaN mark missing values in the format. They are refused (naming the value) unless
  // this is set, in which case they become 0 (the mean after normalisation would be a better
  // fill, but it is not known while reading).
  bool missing_as_zero = false;
  // Files larger than this are refused before being parsed (a guard against /dev/zero and
  // similar streams).
  std::uint64_t max_bytes = std::uint64_t{1} << 30;
};

// Reads a `.ts` file: `#` comments; headers @problemName, @timeStamps (only false is supported:
// kUnsupported otherwise), @missing, @univariate, @dimensions / @dimension, @equalLength,
// @seriesLength, @classLabel true <labels...> (labels are mapped to 0.. in declared order), then
// @data and one case per line: dimensions separated by ':', values by ',', the class label last.
// Header keys are case-insensitive; blank lines are ignored; CRLF line ends are accepted.
Dataset read_ts(const std::string& path, const TsReadOptions& options = {});

// UCI-HAR's split `split` ("train" or "test") under `root`: the nine files
// `<root>/<split>/Inertial Signals/{body_acc,body_gyro,total_acc}_{x,y,z}_<split>.txt` (one
// window of 128 values per line) become the 9 channels in that order (body_acc x/y/z, body_gyro
// x/y/z, total_acc x/y/z); `<root>/<split>/y_<split>.txt` holds labels 1..6 (WALKING,
// WALKING_UPSTAIRS, WALKING_DOWNSTAIRS, SITTING, STANDING, LAYING), stored as 0..5.
Dataset read_uci_har(const std::string& root, const std::string& split);
// The channel file stems in channel order (body_acc_x, ...).
const std::vector<std::string>& uci_har_channels();

// Seeded class-dependent signals. Each (class, sensor) pair has its own sine pattern (frequency,
// phase, amplitude, offset), drawn from `pattern_seed` only, so draws with different `seed`s
// (train and test) share the classes. Each case adds its own phase jitter, amplitude jitter and
// Gaussian noise of standard deviation `noise` from `seed`. Case i has class i % classes, so
// every class has cases / classes cases (+1 for the first cases % classes classes).
struct SyntheticSpec {
  int cases = 256;
  int length = 128;  // T
  int dims = 9;      // S
  int classes = 6;
  double noise = 0.3;
  std::uint64_t seed = 0;
  std::uint64_t pattern_seed = 0x5EED;
};
Dataset make_synthetic(const SyntheticSpec& spec);

// Per-channel mean and standard deviation (population, over all cases and time steps).
struct ChannelStats {
  std::vector<double> mean, stddev;
};
// Statistics of `train`: compute them on the training split only and apply them to every split,
// so nothing of validation or test leaks into training. A constant channel gets stddev 1.
ChannelStats channel_stats(const Dataset& train);
// x -> (x - mean) / stddev per channel. Throws kInvalidArgument when the channel counts differ.
void normalize(Dataset& data, const ChannelStats& stats);

// Carves a stratified validation split from `train`: from each class, round(fraction * count)
// cases chosen by a seeded shuffle (at least one when fraction > 0 and the class has two or more
// cases, and never all of a class). Both parts keep the original case order.
// Returns {train_rest, validation}. Throws kInvalidArgument for fraction outside [0, 1).
std::pair<Dataset, Dataset> split_validation(const Dataset& train, double fraction,
                                             std::uint64_t seed);

}  // namespace micronas::timeseries
