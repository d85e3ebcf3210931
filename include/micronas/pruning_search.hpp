// TE-NAS's pruning search over the NB201 supernet, with MicroNAS's hybrid objective (FLOPs and
// microcontroller-latency ranks) and hard limits on the deployed network's cost.
//
// Start from every op on every edge and remove `none`. Each round scores every active (edge, op)
// of the edges that still hold several ops by the relative change of the NTK condition number
// and of the number of linear regions when that op is removed (means over the repeats of values
// rounded to `precision` decimals), ranks them (see ranking.hpp) and removes one op per edge.
// The search ends when one op is left on every edge.
//
// Limits: a removal is taken only if the state after it still contains a cell that satisfies
// every limit; otherwise the edge's next candidate in the pruning order is taken (one always
// exists: the satisfying cell keeps a single op of the edge). The returned cell therefore
// satisfies every limit. An initial state without any satisfying cell throws Error(kInfeasible)
// before any proxy is computed.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "micronas/mcu.hpp"
#include "micronas/mcu_limits.hpp"
#include "micronas/ranking.hpp"
#include "micronas/score.hpp"

namespace micronas {

enum class BatchPolicy {
  // Every candidate of a round is compared with the supernet on the same `repeats` batches (and,
  // with kaiming init, the same weights per repeat): the supernet's proxies are computed once
  // per repeat and round, halving the work, and candidates are ranked on equal terms.
  kSharedPerRound,
  // TE-NAS's data stream: a fresh batch per candidate and repeat, the supernet's proxies
  // recomputed on each.
  kPerCandidate,
};
const char* batch_policy_name(BatchPolicy policy);
BatchPolicy batch_policy_from_name(const std::string& name);  // shared | per-candidate

struct SearchOptions {
  ScoreOptions proxies;  // dataset, batch, repeats, init, data, seed, LR batch sizes
  BatchPolicy batches = BatchPolicy::kSharedPerRound;
  int precision = 3;  // decimals of the per-repeat relative changes (MicroNAS used 5)
  RankTies ties = RankTies::kTenas;
  double flops_weight = 0;    // φ
  double latency_weight = 0;  // λ
  std::string target = "stm32f746";
  mcu::EstimateOptions mcu;  // runtime and latency model (analytic or MicroNAS's constant table)
  McuLimits limits;
  Arch start = Arch::parse("supernet");  // `none` is removed before the first round
  // Rounds already completed by an interrupted run with the same options (from its checkpoint):
  // the search continues after them and its result equals the uninterrupted run's. Throws
  // Error(kInvalidArgument) when they do not chain from `start`.
  std::vector<struct SearchRound> resume_from;
  // Called after every candidate: (candidates done, candidates in the whole search, round).
  std::function<void(int, int, int)> progress;
  // Called after every round with its results (per-round logs).
  std::function<void(const struct SearchRound&)> on_round;
};

struct CandidateResult {
  int edge = 0;
  Op op = Op::kNone;
  RankInputs deltas;                               // means of the rounded relative changes
  std::vector<double> ntk_deltas, regions_deltas;  // per repeat, rounded
  std::vector<double> ntk_conditions;              // candidate's TE-NAS κ per repeat
  std::vector<std::int64_t> linear_regions;        // candidate's count per repeat
  bool ntk_valid = true;                           // every repeat's κ valid
  RankedCandidate rank;
  bool pruned = false;
  bool blocked_by_limits = false;  // ranked first on its edge, kept to stay within the limits
};

struct SearchRound {
  int round = 0;                       // 1-based
  Arch state;                          // before the round
  std::vector<double> ntk_conditions;  // supernet's TE-NAS κ per evaluation (shared: per repeat)
  std::vector<double> linear_regions;  // supernet's count per evaluation
  std::vector<CandidateResult> candidates;  // TE-NAS enumeration order
  Arch pruned_state;
  std::int64_t feasible_cells = -1;  // satisfying cells left after the round (-1: no limits)
  double seconds = 0;
};

struct SearchResult {
  Arch arch;  // the cell found
  std::vector<SearchRound> rounds;
  mcu::Nb201CostTable::Estimate cost;  // deployed network on the target
  ModelSize size;                      // NB201 evaluation network
  int ntk_evaluations = 0, lr_evaluations = 0;
  double seconds = 0;
};

// Runs the search. Deterministic for a seed and thread count. Throws Error(kInvalidArgument) for
// bad options, Error(kInfeasible) when the limits cannot be met.
SearchResult prune_search(const SearchOptions& options);

// Candidates the search will score in total from `start` (54 for NB201 without `none`).
int count_search_candidates(const Arch& start);

}  // namespace micronas
