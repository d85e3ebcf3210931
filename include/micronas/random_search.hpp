// Random search under the same proxies and limits as the pruning search: the baseline users
// compare it against. Draws distinct cells uniformly from those (without `none`) that satisfy
// the limits, scores each with the proxies on the same inputs and weights, and returns the best
// by the same rank combination.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "micronas/mcu.hpp"
#include "micronas/mcu_limits.hpp"
#include "micronas/ranking.hpp"
#include "micronas/score.hpp"

namespace micronas {

struct RandomSearchOptions {
  ScoreOptions proxies;  // every cell is scored with the same seed: same inputs and weights
  int samples = 50;
  double flops_weight = 0;    // φ
  double latency_weight = 0;  // λ
  std::string target = "stm32f746";
  mcu::EstimateOptions mcu;
  McuLimits limits;
  std::function<void(int, int)> progress;  // (cells scored, cells to score)
};

struct RandomSearchCell {
  ScoreResult score;
  mcu::Nb201CostTable::Estimate cost;
  double proxy_flops = 0;  // MACs of the NTK proxy network (what the hybrid objective ranks)
  RankedCandidate rank;    // order 0 = the cell returned
};

struct RandomSearchResult {
  Arch arch;
  std::vector<RandomSearchCell> cells;  // in sampling order
  std::int64_t feasible_cells = 0;      // size of the space sampled from
  double seconds = 0;
};

// Ranks: κ ascending, linear regions descending, proxy FLOPs and latency ascending (ties as in
// rank_candidates), combined with the weights of the pruning search. Throws Error(kInfeasible)
// when no cell satisfies the limits; samples larger than the feasible space are clamped.
RandomSearchResult random_search(const RandomSearchOptions& options);

}  // namespace micronas
