// Zero-shot search on the time-series space: TE-NAS's pruning procedure (tenas-semantics.md §5)
// transferred to this space's choices, under hard microcontroller limits. No network is trained.
//
// The decisions: per Time-Reduce cell its kernel and its width; per Sensor-Fusion cell its
// bottleneck width, each temporal branch on/off, its block width, the residual on/off and, in a
// non-reducing cell, skipped or not. The search starts from the supernet with every option of
// every decision present (uniform over the remaining options; a binary choice with both options
// left is on with probability 1/2) and prunes in rounds until one option per decision remains:
//   - Candidates of a round: per decision with more than one option left, each option's removal;
//     for an ordered width decision with more than three options left, the removal of its lower
//     or its upper half instead (coarse steps: 8 widths take three rounds, not seven).
//   - Each candidate scored as TE-NAS scores an op's removal: Δκ and ΔR, the means over
//     `repeats` of the rounded relative changes of the NTK condition number and of the
//     linear-region count from the current supernet (same weights and inputs), ranked with
//     rank_candidates (ranking.hpp); the first-ranked candidate of every decision is applied.
//   - Limits: the cheapest network of the remaining set (per decision its cheapest option; the
//     cost model is monotone in every choice, see timeseries_repair.hpp) must always fit. A
//     candidate whose application would break that is passed over for the decision's next one;
//     removing a decision's costlier options never breaks it, so every decision keeps going.
//   - A cell whose "not skipped" option is removed is skipped: its other decisions are dropped.
// The proxies are computed on a narrower copy of the space (ZeroShotOptions::width_divisor);
// the limits always on the space itself.
// Weights: the supernet's PyTorch-default initialisation from the seed, drawn anew each round.
// Inputs, per round and repeat: the NTK batch is `ntk_batch` training windows drawn by the seed;
// the linear regions are counted on `lr_samples` points along a short segment from one training
// window towards another, both drawn by the seed (the regions a short path from a data point
// crosses: a full window has so many ReLUs that independent windows, or points far apart, all
// have distinct patterns).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "micronas/limits.hpp"
#include "micronas/mcu.hpp"
#include "micronas/ranking.hpp"
#include "micronas/timeseries_data.hpp"
#include "micronas/timeseries_repair.hpp"
#include "micronas/timeseries_space.hpp"

namespace micronas::timeseries {

struct ZeroShotOptions {
  int ntk_batch = 16;    // windows in the NTK batch (rows of the Jacobian)
  int lr_samples = 128;  // points on the segment whose activation patterns are counted
  // The segment runs from one training window a towards another b, over this fraction of the
  // way: a + t (b - a), t in [0, lr_segment]. Longer segments cross more regions than the points
  // can tell apart (on BasicMotions 123 of 128 points had their own pattern at 0.01, all at
  // 0.05; about 50 at 0.001), and a count equal to the points scores every candidate alike.
  double lr_segment = 0.001;
  int repeats = 2;    // per candidate, with different inputs (TE-NAS: 3)
  int precision = 3;  // decimals of the relative changes (TE-NAS 3, MicroNAS 5)
  // The proxies run on the space with every width divided by this (the largest divisor up to it
  // that divides every width option; 1: the space's own widths): option i of a width decision is
  // option i there, at about 1/divisor² of the compute, as TE-NAS scores NB201 cells on a
  // 3-channel network rather than the 16-channel one it evaluates.
  int width_divisor = 4;
  RankTies ties = RankTies::kTenas;
  std::uint64_t seed = 0;
  // Throws Error(kInvalidArgument) naming the option out of its domain.
  void validate() const;
};

// One option removal applied in a round.
struct ZeroShotPrune {
  std::string decision;  // e.g. "tr1.kernel", "sf2.width", "sf1.branch5", "sf3.skip"
  std::string removed;   // the options removed, e.g. "7", "40,48,56,64", "on"
  std::string left;      // the options left, e.g. "3,5"
  double delta_ntk = 0, delta_regions = 0;
  int rank = 0;              // position in the round's pruning order (0 = first)
  bool passed_over = false;  // a better-ranked candidate of this decision would break the limits
};

struct ZeroShotRound {
  double ntk = 0;      // the current supernet's κ (mean over repeats)
  double regions = 0;  // and its linear-region count
  int candidates = 0;
  std::vector<ZeroShotPrune> pruned;
};

struct ZeroShotResult {
  Arch arch;
  DeployedCost cost;  // fits the limits
  std::vector<ZeroShotRound> rounds;
  int evaluations = 0;  // proxy evaluations (networks scored, repeats counted once)
};

// `train` must match the space's window (length, sensors) and hold at least two cases. Throws
// Error(kInfeasible) naming the closest achievable value when no network fits the limits.
// `progress(round, done, total)` is called after every scored candidate (round from 0, total =
// that round's candidates).
ZeroShotResult zero_shot_search(const Space& space, const Dataset& train, const McuLimits& limits,
                                const mcu::TargetProfile& target, const ZeroShotOptions& options,
                                const std::function<void(int, int, int)>& progress = {});

}  // namespace micronas::timeseries
