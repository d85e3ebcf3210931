// Membership of single cells in a space, shared by Space::check and the text/JSON parsers (which
// report the problem at the cell's position instead of its index).
#pragma once

#include <string>

#include "micronas/timeseries_space.hpp"

namespace micronas::timeseries::detail {

// Empty when `c` is a choice of a Time-Reduce cell of `space`, else the reason.
std::string time_problem(const Space& space, const TimeReduceChoice& c);
// Empty when `c` is a choice of Sensor-Fusion cell `sensor_cell` of `space`, else the reason.
std::string sensor_problem(const Space& space, int sensor_cell, const SensorFusionChoice& c);
// Empty when the cell counts of `arch` are those of `space`, else the reason.
std::string count_problem(const Space& space, const Arch& arch);

}  // namespace micronas::timeseries::detail
