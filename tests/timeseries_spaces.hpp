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

}  // namespace micronas::timeseries::test
