// A probability distribution over the choices of a time-series space (timeseries_space.hpp): what
// the differentiable search relaxes an architecture to, what its supernet mixes by, and what the
// cost expectations (latency, peak memory) are taken over.
//
// Every choice is independent, as in the reference's Gumbel-softmax relaxation: per Time-Reduce
// cell a kernel and a width distribution; per Sensor-Fusion cell a bottleneck-width and a
// block-width distribution, the probability that each temporal branch is on, that the residual
// conv projection is present and (non-reducing cells only) that the cell is skipped. A one-hot
// distribution is one architecture (one_hot); argmax derives one back.
#pragma once

#include <array>
#include <vector>

#include "micronas/timeseries_space.hpp"

namespace micronas::timeseries {

struct TimeReduceDistribution {
  std::vector<double> kernel;  // over SpaceOptions::kernels, in that order
  std::vector<double> width;   // over Space::time_widths()
};

struct SensorFusionDistribution {
  double skip = 0.0;               // P(cell skipped); 0 in reducing cells
  std::vector<double> bottleneck;  // over Space::bottleneck_widths()
  std::array<double, 3> branch{};  // P(branch kBranchKernels[i] on), each independent
  std::vector<double> width;       // over Space::block_widths()
  double residual = 0.0;           // P(residual conv projection)
};

struct ArchDistribution {
  std::vector<TimeReduceDistribution> time_reduce;
  std::vector<SensorFusionDistribution> sensor_fusion;

  // Every choice uniform (each branch on with probability 1/2, skip and residual 1/2).
  static ArchDistribution uniform(const Space& space);
  // The distribution that puts all mass on `arch` (a skipped cell: skip 1, the other
  // distributions uniform, since they do not matter). Throws like Space::check.
  static ArchDistribution one_hot(const Space& space, const Arch& arch);

  // The most probable architecture: per choice the first of the largest probabilities; a branch
  // is on when P(on) > 1/2, a cell skipped when P(skip) > 1/2, the residual present when
  // P > 1/2; a cell with no branch above 1/2 keeps its most probable branch (the space needs one).
  Arch argmax(const Space& space) const;

  // Throws Error(kInvalidArgument) naming the cell and field when a vector has the wrong length,
  // a probability is not finite or outside [0, 1], a categorical one does not sum to 1 within
  // 1e-6, or a reducing cell has P(skip) != 0.
  void check(const Space& space) const;
};

}  // namespace micronas::timeseries
