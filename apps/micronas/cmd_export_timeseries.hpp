// `micronas export ARCH --space timeseries`: a time-series network as a full-integer int8 TFLite
// model (include/micronas/timeseries_export.hpp).
#pragma once

#include <cstdint>
#include <string>

namespace micronas::cli {

struct TimeseriesExportOptions {
  std::string arch, out, weights, calibration = "synthetic", c_array, reference, window;
  int classes = 0, length = 0;  // length: --length of ts: calibration data
  std::uint64_t seed = 0;
  int calibration_samples = 100;
  int reference_samples = 100;
};

void run_timeseries_export(const TimeseriesExportOptions& opt);

}  // namespace micronas::cli
