// The time-series space: its shape from the window, counting, indexing, sampling and shapes.
#include <algorithm>
#include <tuple>
#include <utility>

#include "micronas/error.hpp"
#include "micronas/timeseries_space.hpp"
#include "search/timeseries/space_check.hpp"

namespace micronas::timeseries {
namespace {

// Number of halvings of n while ceil(n/2) >= min, at least 1 (the reference's N_t and N_s).
int halvings(int n, int min) {
  int count = 0;
  while (same_out(n, 2) >= min && same_out(n, 2) < n) {
    n = same_out(n, 2);
    ++count;
  }
  return std::max(1, count);
}

std::vector<int> widths(int step, int max) {
  std::vector<int> out;
  for (int w = step; w <= max; w += step) out.push_back(w);
  return out;
}

int position(const std::vector<int>& values, int v) {
  auto it = std::find(values.begin(), values.end(), v);
  return it == values.end() ? -1 : static_cast<int>(it - values.begin());
}

std::string list(const std::vector<int>& values) {
  std::string out;
  for (int v : values) out += (out.empty() ? "" : ", ") + std::to_string(v);
  return "{" + out + "}";
}

__extension__ typedef unsigned __int128 Count;  // exact space sizes up to 2^128

}  // namespace

bool SensorFusionChoice::operator==(const SensorFusionChoice& o) const {
  if (skip || o.skip) return skip == o.skip;  // a skipped cell's other fields mean nothing
  return bottleneck == o.bottleneck && branches == o.branches && width == o.width &&
         residual == o.residual;
}

Space::Space(int length, int sensors, int classes, SpaceOptions options)
    : length_(length), sensors_(sensors), classes_(classes), options_(std::move(options)) {
  auto require = [](bool ok, const std::string& what) {
    if (!ok) throw Error(Status::kInvalidArgument, "time-series space: " + what);
  };
  require(length >= 1 && sensors >= 1, "the window needs T >= 1 and S >= 1, got " +
                                           std::to_string(length) + " x " +
                                           std::to_string(sensors));
  require(classes >= 2, "needs at least 2 classes, got " + std::to_string(classes));
  const SpaceOptions& o = options_;
  require(!o.kernels.empty(), "no Time-Reduce kernel sizes");
  for (int k : o.kernels) require(k >= 1, "kernel size " + std::to_string(k) + " < 1");
  std::vector<int> sorted = o.kernels;
  std::sort(sorted.begin(), sorted.end());
  require(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end(),
          "repeated Time-Reduce kernel size");
  options_.kernels = sorted;
  for (auto [step, max, name] :
       {std::tuple{o.time_width_step, o.time_width_max, "Time-Reduce width"},
        std::tuple{o.bottleneck_step, o.bottleneck_max, "bottleneck width"},
        std::tuple{o.block_width_step, o.block_width_max, "block width"}})
    require(step >= 1 && max >= step, std::string(name) + " step " + std::to_string(step) +
                                          " and maximum " + std::to_string(max) +
                                          " need 1 <= step <= maximum");
  require(o.scale >= 0, "scale must be >= 0");
  require(o.min_time >= 1 && o.min_sensors >= 1, "min_time and min_sensors must be >= 1");
  n_time_ = halvings(length, o.min_time);
  n_sensor_ = halvings(sensors, o.min_sensors);
}

std::vector<int> Space::time_widths() const {
  return widths(options_.time_width_step, options_.time_width_max);
}
std::vector<int> Space::bottleneck_widths() const {
  return widths(options_.bottleneck_step, options_.bottleneck_max);
}
std::vector<int> Space::block_widths() const {
  return widths(options_.block_width_step, options_.block_width_max);
}

std::uint64_t Space::cell_choices(int cell) const {
  if (cell < 0 || cell >= cells())
    throw Error(Status::kInvalidArgument,
                "cell " + std::to_string(cell) + " outside 0.." + std::to_string(cells() - 1));
  if (cell < n_time_) return options_.kernels.size() * time_widths().size();
  const std::uint64_t block = bottleneck_widths().size() * kBranchMasks * block_widths().size() * 2;
  return reduces(cell - n_time_) ? block : block + 1;
}

double Space::size() const {
  double n = 1.0;
  for (int c = 0; c < cells(); ++c) n *= static_cast<double>(cell_choices(c));
  return n;
}

std::string Space::size_exact() const {
  Count n = 1;
  for (int c = 0; c < cells(); ++c) {
    const Count next = n * cell_choices(c);
    if (next / cell_choices(c) != n)
      throw Error(Status::kInvalidArgument, "space size exceeds 2^128");
    n = next;
  }
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(n % 10)));
    n /= 10;
  } while (n != 0);
  return digits;
}

double Space::published_size() const {
  double n = 1.0;
  for (int c = 0; c < n_time_; ++c) n *= static_cast<double>(cell_choices(c));
  const double block = static_cast<double>(bottleneck_widths().size()) * (kBranchMasks + 1) *
                       static_cast<double>(block_widths().size()) * 2.0;
  for (int i = 0; i < sensor_fusion_cells(); ++i) n *= reduces(i) ? block : 2.0 * block;
  return n;
}

Arch Space::at(std::uint64_t index) const {
  if (size() >= 18446744073709551616.0)
    throw Error(Status::kInvalidArgument,
                "space of " + size_exact() + " architectures is too large to index");
  if (index >= static_cast<std::uint64_t>(std::stoull(size_exact())))
    throw Error(Status::kInvalidArgument, "architecture index " + std::to_string(index) +
                                              " outside 0.." + size_exact() + " - 1");
  // Digits from the last cell (least significant) to the first.
  std::vector<std::uint64_t> digit(cells());
  for (int c = cells() - 1; c >= 0; --c) {
    digit[c] = index % cell_choices(c);
    index /= cell_choices(c);
  }
  const std::vector<int> tw = time_widths(), bw = bottleneck_widths(), kw = block_widths();
  Arch arch;
  for (int c = 0; c < n_time_; ++c) {
    const std::uint64_t d = digit[c];
    arch.time_reduce.push_back({options_.kernels[d / tw.size()], tw[d % tw.size()]});
  }
  for (int i = 0; i < sensor_fusion_cells(); ++i) {
    std::uint64_t d = digit[n_time_ + i];
    SensorFusionChoice s;
    if (!reduces(i)) {
      if (d == 0) {
        s.skip = true;
        arch.sensor_fusion.push_back(s);
        continue;
      }
      --d;
    }
    // d = ((bottleneck * 7 + branches - 1) * widths + width) * 2 + residual
    s.residual = d % 2 == 1;
    d /= 2;
    s.width = kw[d % kw.size()];
    d /= kw.size();
    s.branches = static_cast<std::uint8_t>(d % kBranchMasks + 1);
    d /= kBranchMasks;
    s.bottleneck = bw[d];
    arch.sensor_fusion.push_back(s);
  }
  return arch;
}

std::uint64_t Space::index_of(const Arch& arch) const {
  check(arch);
  if (size() >= 18446744073709551616.0)
    throw Error(Status::kInvalidArgument,
                "space of " + size_exact() + " architectures is too large to index");
  const std::vector<int> tw = time_widths(), bw = bottleneck_widths(), kw = block_widths();
  std::uint64_t index = 0;
  for (int c = 0; c < n_time_; ++c) {
    const TimeReduceChoice& t = arch.time_reduce[c];
    index = index * cell_choices(c) +
            static_cast<std::uint64_t>(position(options_.kernels, t.kernel)) * tw.size() +
            position(tw, t.width);
  }
  for (int i = 0; i < sensor_fusion_cells(); ++i) {
    const SensorFusionChoice& s = arch.sensor_fusion[i];
    std::uint64_t d = 0;
    if (!s.skip) {
      d = ((static_cast<std::uint64_t>(position(bw, s.bottleneck)) * kBranchMasks + s.branches -
            1) *
               kw.size() +
           position(kw, s.width)) *
              2 +
          (s.residual ? 1 : 0);
      if (!reduces(i)) ++d;
    }
    index = index * cell_choices(n_time_ + i) + d;
  }
  return index;
}

std::vector<Arch> Space::enumerate(std::uint64_t max_count) const {
  if (size() > static_cast<double>(max_count))
    throw Error(Status::kInvalidArgument, "the space holds " + size_exact() +
                                              " architectures, more than the limit of " +
                                              std::to_string(max_count) + " to enumerate");
  const std::uint64_t n = std::stoull(size_exact());
  std::vector<Arch> out;
  out.reserve(n);
  for (std::uint64_t i = 0; i < n; ++i) out.push_back(at(i));
  return out;
}

Arch Space::sample(Rng& rng) const {
  const std::vector<int> tw = time_widths(), bw = bottleneck_widths(), kw = block_widths();
  Arch arch;
  for (int c = 0; c < n_time_; ++c) {
    const std::uint64_t d = rng.below(cell_choices(c));
    arch.time_reduce.push_back({options_.kernels[d / tw.size()], tw[d % tw.size()]});
  }
  // Uniform over a cell's distinct choices, so a non-reducing cell is skipped with probability
  // 1 / (choices + 1), not 1/2: every network of the space is equally likely.
  for (int i = 0; i < sensor_fusion_cells(); ++i) {
    SensorFusionChoice s;
    if (!reduces(i) && rng.below(cell_choices(n_time_ + i)) == 0) {
      s.skip = true;
    } else {
      s.bottleneck = bw[rng.below(bw.size())];
      s.branches = static_cast<std::uint8_t>(rng.below(kBranchMasks) + 1);
      s.width = kw[rng.below(kw.size())];
      s.residual = rng.below(2) == 1;
    }
    arch.sensor_fusion.push_back(s);
  }
  return arch;
}

Arch Space::smallest() const {
  Arch arch;
  arch.time_reduce.assign(n_time_, {options_.kernels.front(), time_widths().front()});
  SensorFusionChoice s;
  s.bottleneck = bottleneck_widths().front();
  s.branches = 1;
  s.width = block_widths().front();
  arch.sensor_fusion.assign(sensor_fusion_cells(), s);
  return arch;
}

Arch Space::largest() const {
  Arch arch;
  arch.time_reduce.assign(n_time_, {options_.kernels.back(), time_widths().back()});
  SensorFusionChoice s;
  s.bottleneck = bottleneck_widths().back();
  s.branches = kBranchMasks;
  s.width = block_widths().back();
  s.residual = true;
  arch.sensor_fusion.assign(sensor_fusion_cells(), s);
  return arch;
}

void Space::check(const Arch& arch) const {
  std::string problem = detail::count_problem(*this, arch);
  if (!problem.empty()) throw Error(Status::kInvalidArgument, problem);
  for (int c = 0; c < n_time_; ++c) {
    problem = detail::time_problem(*this, arch.time_reduce[c]);
    if (!problem.empty())
      throw Error(Status::kInvalidArgument,
                  "Time-Reduce cell " + std::to_string(c + 1) + ": " + problem);
  }
  for (int i = 0; i < sensor_fusion_cells(); ++i) {
    problem = detail::sensor_problem(*this, i, arch.sensor_fusion[i]);
    if (!problem.empty())
      throw Error(Status::kInvalidArgument,
                  "Sensor-Fusion cell " + std::to_string(i + 1) + ": " + problem);
  }
}

std::vector<CellShape> Space::shapes(const Arch& arch) const {
  check(arch);
  std::vector<CellShape> out;
  Shape cur{length_, sensors_, 1};
  for (const TimeReduceChoice& t : arch.time_reduce) {
    CellShape cell{true, true, false, cur, {same_out(cur.t, 2), cur.s, t.width}};
    out.push_back(cell);
    cur = cell.out;
  }
  for (int i = 0; i < sensor_fusion_cells(); ++i) {
    const SensorFusionChoice& s = arch.sensor_fusion[i];
    CellShape cell{false, reduces(i), s.skip, cur, cur};
    if (!s.skip) cell.out = {cur.t, reduces(i) ? same_out(cur.s, 2) : cur.s, s.width};
    out.push_back(cell);
    cur = cell.out;
  }
  return out;
}

namespace detail {

std::string count_problem(const Space& space, const Arch& arch) {
  if (static_cast<int>(arch.time_reduce.size()) != space.time_reduce_cells() ||
      static_cast<int>(arch.sensor_fusion.size()) != space.sensor_fusion_cells())
    return "the space of " + std::to_string(space.length()) + " x " +
           std::to_string(space.sensors()) + " windows has " +
           std::to_string(space.time_reduce_cells()) + " Time-Reduce and " +
           std::to_string(space.sensor_fusion_cells()) + " Sensor-Fusion cells, found " +
           std::to_string(arch.time_reduce.size()) + " and " +
           std::to_string(arch.sensor_fusion.size());
  return "";
}

std::string time_problem(const Space& space, const TimeReduceChoice& c) {
  if (position(space.options().kernels, c.kernel) < 0)
    return "kernel " + std::to_string(c.kernel) + " is not one of " + list(space.options().kernels);
  if (position(space.time_widths(), c.width) < 0)
    return "width " + std::to_string(c.width) + " is not one of " + list(space.time_widths());
  return "";
}

std::string sensor_problem(const Space& space, int sensor_cell, const SensorFusionChoice& c) {
  if (c.skip) return space.reduces(sensor_cell) ? "a reducing cell cannot be skipped" : "";
  if (position(space.bottleneck_widths(), c.bottleneck) < 0)
    return "bottleneck width " + std::to_string(c.bottleneck) + " is not one of " +
           list(space.bottleneck_widths());
  if (c.branches < 1 || c.branches > kBranchMasks) return "at least one temporal branch must be on";
  if (position(space.block_widths(), c.width) < 0)
    return "block width " + std::to_string(c.width) + " is not one of " +
           list(space.block_widths());
  return "";
}

}  // namespace detail
}  // namespace micronas::timeseries
