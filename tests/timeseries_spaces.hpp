// Time-series spaces the tests share.
#pragma once

#include "micronas/timeseries_space.hpp"

namespace micronas::timeseries::test {

// UCI-HAR's window: 128 x 9, 6 classes, the reference's options.
inline Space uci_har() { return Space(128, 9, 6); }

// A space small enough to enumerate: 1 Time-Reduce choice, a reducing Sensor-Fusion cell of
// 1 bottleneck x 7 branch sets x 2 widths x 2 residuals = 28 choices, and one non-reducing cell
// of 28 + 1 (skip) choices: 812 architectures.
inline Space tiny() {
  SpaceOptions o;
  o.kernels = {3};
  o.time_width_max = 4;
  o.bottleneck_max = 8;
  o.block_width_max = 16;
  o.scale = 1;
  return Space(16, 2, 2, o);
}

// Window 16 x 4, 3 classes: two Time-Reduce cells, a reducing and a non-reducing Sensor-Fusion
// cell, narrow widths (every choice kind present, networks small enough for gradient checks).
inline Space small() {
  SpaceOptions o;
  o.time_width_step = 2;
  o.time_width_max = 4;
  o.bottleneck_step = 2;
  o.bottleneck_max = 4;
  o.block_width_step = 2;
  o.block_width_max = 6;
  o.scale = 1;
  o.min_time = 4;
  return Space(16, 4, 3, o);
}

// Window 32 x 4, 3 classes, whose supernet takes both grouped paths at batch 16: branch convs of
// 24 -> 16 channels (Winograd) and bottlenecks of 24 outputs (lowered).
inline Space grouped_paths() {
  SpaceOptions o;
  o.time_width_max = 8;
  o.bottleneck_max = 24;
  o.block_width_max = 16;
  o.scale = 1;
  o.min_time = 8;
  return Space(32, 4, 3, o);
}

}  // namespace micronas::timeseries::test
