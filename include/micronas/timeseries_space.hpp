// The time-series search space of King et al.'s MicroNAS: networks that classify a window of
// T time steps x S sensor channels, read as a one-channel (T, S) image.
//
// Macro structure, derived from (T, S) and the class count:
//   - N_t Time-Reduce cells, N_t = max(1, number of halvings of T while ceil(T/2) >= min_time):
//     one conv, kernel (k, 1), stride (2, 1), "same" padding, ReLU; k and the width searched.
//   - N_s reducing Sensor-Fusion cells, N_s = max(1, halvings of S while ceil(S/2) >= min_sensors),
//     each followed by `scale` non-reducing ones. A Sensor-Fusion cell is a bottleneck conv of
//     kernel (1, S_cur) (stride (1, 2) when the cell reduces, else (1, 1)); then up to three
//     parallel temporal convs (3,1), (5,1), (7,1) whose outputs are summed (the block); optionally
//     a residual conv projection of the cell input, kernel (1, 2) stride (1, 2) in reducing cells,
//     1x1 otherwise, added to the block. A non-reducing cell may be skipped (identity).
//   - A fixed head: conv 1x1 (C -> classes), ReLU, global average pooling, softmax.
// Convs use TensorFlow's "same" padding: out = ceil(in / stride).
//
// At least one temporal branch must be on. With none on, a cell would output only its residual
// (or nothing at all without one), a degenerate network that the published encoding counts but
// that no search should return; so the space leaves it out (see Space::published_size()).
//
// Architecture text, one cell after the other, separated by '|':
//   arch     := cell ('|' cell)*
//   cell     := 'tr:k' K 'w' W                      Time-Reduce: kernel K along time, width W
//             | 'sf:skip'                           a skipped (identity) non-reducing cell
//             | 'sf:b' B '[' branches ']' 'w' W [r]  Sensor-Fusion: bottleneck width B, branches,
//                                                   block width W, 'r' = residual conv projection
//   branches := K (',' K)*                          kernel sizes from {3, 5, 7}, ascending
// e.g. `tr:k5w8|tr:k3w12|tr:k7w16|sf:b16[3,7]w32r|sf:skip|sf:b8[5]w24`. Time-Reduce cells come
// first, then the Sensor-Fusion cells in order; the counts and widths must fit the space.
// JSON: {"time_reduce": [{"kernel": 5, "width": 8}, ...], "sensor_fusion": [{"skip": true},
// {"bottleneck": 16, "branches": [3, 7], "width": 32, "residual": "conv" | "none"}, ...]}.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "micronas/random.hpp"

namespace micronas::timeseries {

// The reference's choices as defaults.
struct SpaceOptions {
  std::vector<int> kernels = {3, 5, 7};  // Time-Reduce kernel sizes along time
  int time_width_step = 4;               // Time-Reduce widths {step, 2*step, ..., max}
  int time_width_max = 16;
  int bottleneck_step = 8;  // Sensor-Fusion bottleneck widths
  int bottleneck_max = 64;
  int block_width_step = 8;  // Sensor-Fusion block (branch and residual) widths
  int block_width_max = 64;
  int scale = 2;        // non-reducing Sensor-Fusion cells after each reducing one
  int min_time = 16;    // halve T while ceil(T/2) >= min_time
  int min_sensors = 5;  // halve S while ceil(S/2) >= min_sensors
};

// The temporal branches of a Sensor-Fusion block: bit i of a branch mask = kernel
// kBranchKernels[i].
inline constexpr std::array<int, 3> kBranchKernels = {3, 5, 7};
inline constexpr int kBranchMasks = 7;  // non-empty subsets of the three branches

struct TimeReduceChoice {
  int kernel = 3;
  int width = 4;
  bool operator==(const TimeReduceChoice& o) const {
    return kernel == o.kernel && width == o.width;
  }
};

struct SensorFusionChoice {
  bool skip = false;  // identity; only in non-reducing cells; the fields below are then unused
  int bottleneck = 8;
  std::uint8_t branches = 1;  // mask over kBranchKernels, 1..7
  int width = 8;
  bool residual = false;  // conv projection of the cell input added to the block
  bool operator==(const SensorFusionChoice& o) const;
};

struct Arch {
  std::vector<TimeReduceChoice> time_reduce;
  std::vector<SensorFusionChoice> sensor_fusion;

  // The text form above (canonical: branches ascending, a skipped cell as `sf:skip`).
  std::string to_string() const;
  std::string to_json() const;
  bool operator==(const Arch& o) const {
    return time_reduce == o.time_reduce && sensor_fusion == o.sensor_fusion;
  }
  bool operator!=(const Arch& o) const { return !(*this == o); }
};

// Activation shape (time steps, sensor positions, channels).
struct Shape {
  int t = 0, s = 0, c = 0;
  bool operator==(const Shape& o) const { return t == o.t && s == o.s && c == o.c; }
};

struct CellShape {
  bool time_reduce = false;  // else Sensor-Fusion
  bool reduces = false;      // Time-Reduce cells always reduce T; Sensor-Fusion cells maybe S
  bool skipped = false;
  Shape in, out;
};

class Space {
 public:
  // Throws Error(kInvalidArgument) for a window, class count or option outside its domain.
  Space(int length, int sensors, int classes, SpaceOptions options = {});

  int length() const { return length_; }
  int sensors() const { return sensors_; }
  int classes() const { return classes_; }
  const SpaceOptions& options() const { return options_; }
  int time_reduce_cells() const { return n_time_; }
  int sensor_fusion_cells() const { return n_sensor_ * (options_.scale + 1); }
  // Whether Sensor-Fusion cell i (0-based) reduces S; reducing cells come first in each group.
  bool reduces(int sensor_cell) const { return sensor_cell % (options_.scale + 1) == 0; }
  std::vector<int> time_widths() const;
  std::vector<int> bottleneck_widths() const;
  std::vector<int> block_widths() const;

  // Number of distinct networks: Time-Reduce cells contribute kernels x widths each, a reducing
  // Sensor-Fusion cell bottlenecks x 7 branch sets x block widths x 2 residuals, a non-reducing
  // one that plus 1 (skipped; the other choices of a skipped cell do not change the network).
  double size() const;
  std::string size_exact() const;  // decimal, exact up to 2^128
  // The count of the published code's encoding, which its space-size figure reports: every
  // decision independent, 8 branch subsets (the empty one included) and the skip bit multiplying
  // the choices of a non-reducing cell instead of replacing them.
  double published_size() const;

  // Number of choices of cell i (Time-Reduce cells first, then Sensor-Fusion cells).
  std::uint64_t cell_choices(int cell) const;
  int cells() const { return time_reduce_cells() + sensor_fusion_cells(); }
  // Architecture number `index` in 0..size()-1 (mixed radix over the cells, first cell most
  // significant) and its inverse. Need size() < 2^64 (else kInvalidArgument).
  Arch at(std::uint64_t index) const;
  std::uint64_t index_of(const Arch& arch) const;
  // Every architecture in index order; kInvalidArgument when there are more than max_count.
  std::vector<Arch> enumerate(std::uint64_t max_count = 1000000) const;
  // Uniform over the distinct networks (each cell uniform over its choices, independent).
  Arch sample(Rng& rng) const;
  Arch smallest() const;  // narrowest widths, kernel 3, one branch, no residual, no skip
  Arch largest() const;   // widest widths, largest kernel, all branches, residual, no skip

  // Text and JSON forms, checked against this space. Throws Error(kParseError) naming the
  // character position (JSON: the byte or the field path) and the reason.
  Arch parse(const std::string& text) const;
  Arch parse_json(const std::string& text) const;
  // Throws Error(kInvalidArgument) naming the cell and the problem when `arch` is not in this
  // space (cell counts, kernel or width outside the options, skip of a reducing cell, no branch).
  void check(const Arch& arch) const;

  // Input and output shape of every cell; the last output is the head's input.
  std::vector<CellShape> shapes(const Arch& arch) const;

 private:
  int length_, sensors_, classes_;
  SpaceOptions options_;
  int n_time_ = 0, n_sensor_ = 0;
};

// ceil(in / stride): the output length of a TensorFlow "same" convolution.
inline int same_out(int in, int stride) { return (in + stride - 1) / stride; }

}  // namespace micronas::timeseries
