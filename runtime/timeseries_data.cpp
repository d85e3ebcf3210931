// Dataset helpers, the synthetic generator, normalisation and the validation split.
#include "micronas/timeseries_data.hpp"

#include <algorithm>
#include <cmath>

#include "micronas/error.hpp"
#include "micronas/random.hpp"

namespace micronas::timeseries {

std::vector<int> Dataset::class_counts() const {
  std::vector<int> counts(class_names.size(), 0);
  for (int label : labels) ++counts.at(label);
  return counts;
}

Dataset Dataset::subset(const std::vector<int>& indices) const {
  Dataset out;
  out.cases = static_cast<int>(indices.size());
  out.length = length;
  out.dims = dims;
  out.class_names = class_names;
  const std::size_t per_case = static_cast<std::size_t>(length) * dims;
  out.values.reserve(indices.size() * per_case);
  for (int i : indices) {
    if (i < 0 || i >= cases)
      throw Error(Status::kInvalidArgument,
                  "case index " + std::to_string(i) + " outside 0.." + std::to_string(cases - 1));
    out.values.insert(out.values.end(), values.begin() + i * per_case,
                      values.begin() + (i + 1) * per_case);
    out.labels.push_back(labels[i]);
  }
  return out;
}

Dataset make_synthetic(const SyntheticSpec& spec) {
  if (spec.cases < 1 || spec.length < 1 || spec.dims < 1 || spec.classes < 1)
    throw Error(Status::kInvalidArgument,
                "synthetic data needs cases, length, dims and classes >= 1");
  if (!(spec.noise >= 0.0)) throw Error(Status::kInvalidArgument, "synthetic noise must be >= 0");
  const int classes = spec.classes;
  // One sine pattern per (class, sensor). Frequencies are spread over [1, max(2, T/4)] cycles per
  // window (below Nyquist) and shifted per sensor, so classes differ in every channel even with
  // one sensor; phase, amplitude and offset add further differences.
  struct Pattern {
    double freq, phase, amp, offset;
  };
  std::vector<Pattern> patterns(static_cast<std::size_t>(classes) * spec.dims);
  Rng prng(derive_seed(spec.pattern_seed, "timeseries-patterns"));
  const double fmax = std::max(2.0, spec.length / 4.0);
  for (int c = 0; c < classes; ++c) {
    for (int s = 0; s < spec.dims; ++s) {
      const int slot = (c + 2 * s) % classes;
      Pattern& p = patterns[static_cast<std::size_t>(c) * spec.dims + s];
      p.freq = classes == 1 ? 1.0 : 1.0 + (fmax - 1.0) * slot / (classes - 1);
      p.phase = prng.uniform(0.0, 2.0 * M_PI);
      p.amp = prng.uniform(0.5, 1.5);
      p.offset = prng.uniform(-0.5, 0.5);
    }
  }
  Dataset out;
  out.cases = spec.cases;
  out.length = spec.length;
  out.dims = spec.dims;
  for (int c = 0; c < classes; ++c) out.class_names.push_back("class" + std::to_string(c));
  out.values.resize(static_cast<std::size_t>(spec.cases) * spec.length * spec.dims);
  out.labels.resize(spec.cases);
  Rng rng(derive_seed(spec.seed, "timeseries-cases"));
  for (int n = 0; n < spec.cases; ++n) {
    const int c = n % classes;
    out.labels[n] = c;
    const double jitter = rng.uniform(-0.3, 0.3);
    const double gain = rng.uniform(0.9, 1.1);
    for (int t = 0; t < spec.length; ++t) {
      for (int s = 0; s < spec.dims; ++s) {
        const Pattern& p = patterns[static_cast<std::size_t>(c) * spec.dims + s];
        const double x =
            p.offset +
            gain * p.amp * std::sin(2.0 * M_PI * p.freq * t / spec.length + p.phase + jitter) +
            spec.noise * rng.normal();
        out.values[(static_cast<std::size_t>(n) * spec.length + t) * spec.dims + s] =
            static_cast<float>(x);
      }
    }
  }
  return out;
}

ChannelStats channel_stats(const Dataset& train) {
  if (train.cases < 1 || train.length < 1)
    throw Error(Status::kInvalidArgument, "channel statistics need at least one case");
  ChannelStats stats;
  stats.mean.assign(train.dims, 0.0);
  stats.stddev.assign(train.dims, 0.0);
  const std::size_t rows = static_cast<std::size_t>(train.cases) * train.length;
  // Two passes in double: the mean first, then the squared deviations (no cancellation).
  for (std::size_t r = 0; r < rows; ++r)
    for (int s = 0; s < train.dims; ++s) stats.mean[s] += train.values[r * train.dims + s];
  for (double& m : stats.mean) m /= static_cast<double>(rows);
  for (std::size_t r = 0; r < rows; ++r) {
    for (int s = 0; s < train.dims; ++s) {
      const double d = train.values[r * train.dims + s] - stats.mean[s];
      stats.stddev[s] += d * d;
    }
  }
  for (double& v : stats.stddev) {
    v = std::sqrt(v / static_cast<double>(rows));
    if (!(v > 0.0)) v = 1.0;  // a constant channel: centre it, do not divide by zero
  }
  return stats;
}

void normalize(Dataset& data, const ChannelStats& stats) {
  if (static_cast<int>(stats.mean.size()) != data.dims ||
      static_cast<int>(stats.stddev.size()) != data.dims)
    throw Error(Status::kInvalidArgument, "statistics of " + std::to_string(stats.mean.size()) +
                                              " channels applied to data with " +
                                              std::to_string(data.dims));
  const std::size_t rows = static_cast<std::size_t>(data.cases) * data.length;
  for (std::size_t r = 0; r < rows; ++r) {
    for (int s = 0; s < data.dims; ++s) {
      float& x = data.values[r * data.dims + s];
      x = static_cast<float>((x - stats.mean[s]) / stats.stddev[s]);
    }
  }
}

std::pair<Dataset, Dataset> split_validation(const Dataset& train, double fraction,
                                             std::uint64_t seed) {
  if (!(fraction >= 0.0 && fraction < 1.0))
    throw Error(Status::kInvalidArgument,
                "validation fraction " + std::to_string(fraction) + " must be in [0, 1)");
  std::vector<bool> to_val(train.cases, false);
  Rng rng(derive_seed(seed, "timeseries-validation-split"));
  for (int c = 0; c < train.classes(); ++c) {
    std::vector<int> members;
    for (int n = 0; n < train.cases; ++n)
      if (train.labels[n] == c) members.push_back(n);
    const int count = static_cast<int>(members.size());
    int take = static_cast<int>(std::lround(fraction * count));
    if (fraction > 0.0 && count >= 2) take = std::max(take, 1);
    take = std::min(take, std::max(0, count - 1));  // a class never leaves training entirely
    // Fisher-Yates over the class's cases; the first `take` go to validation.
    for (int i = count - 1; i > 0; --i)
      std::swap(members[i], members[rng.below(static_cast<std::uint64_t>(i) + 1)]);
    for (int i = 0; i < take; ++i) to_val[members[i]] = true;
  }
  std::vector<int> rest, val;
  for (int n = 0; n < train.cases; ++n) (to_val[n] ? val : rest).push_back(n);
  return {train.subset(rest), train.subset(val)};
}

}  // namespace micronas::timeseries
