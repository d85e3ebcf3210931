// TE-NAS's ranking of pruning candidates, bit for bit: Python-compatible rounding, the sort keyed
// on three significant figures, dense ranks, and the (weighted) rank sum that MicroNAS extends
// with FLOPs and latency ranks.
#pragma once

#include <string>
#include <vector>

namespace micronas {

// Python's round(x, digits): the exact binary value rounded to `digits` decimals, ties to even.
// Non-finite values are returned unchanged.
double round_decimals(double x, int digits);

// TE-NAS's round_to(x, figures): x rounded to `figures` significant figures after adding 1e-8 to
// |x| (the published code's guard against log(0)), with the same floating-point steps.
double round_significant(double x, int figures);

// Relative change (current - candidate) / current rounded to `digits` decimals, as TE-NAS
// accumulates it per repeat.
double rounded_relative_change(double current, double candidate, int digits);

// One pruning candidate's score changes (means over repeats of the rounded relative changes).
struct RankInputs {
  double ntk = 0;      // Δκ: larger prunes first
  double regions = 0;  // ΔR: smaller prunes first
  double flops = 0;    // relative FLOPs decrease: larger prunes first
  double latency = 0;  // relative latency decrease: larger prunes first
};

struct RankedCandidate {
  int rank_ntk = 0, rank_regions = 0, rank_flops = 0, rank_latency = 0;
  double score = 0;  // weighted average of the ranks (TE-NAS: their sum); lower prunes first
  int order = 0;     // position in the final pruning order (0 = pruned first)
};

// How candidates whose values agree to three significant figures are ranked.
enum class RankTies {
  // TE-NAS: they share a rank only when their raw values are equal; otherwise they take
  // consecutive ranks in enumeration order, so an op's position in the list can decide a round.
  kTenas,
  // They share a rank: what the 3-figure sort key says is a tie is treated as one.
  kRounded,
};
const char* rank_ties_name(RankTies ties);
RankTies rank_ties_from_name(const std::string& name);  // tenas | rounded

// Ranks candidates given in TE-NAS's enumeration order (edge 0..5, op 0..4).
//  - Each quantity is stable-sorted on round_significant(value, 3) (Δκ, FLOPs and latency
//    descending, ΔR ascending); along that order ranks are dense, shared as `ties` says.
//  - With flops_weight = latency_weight = 0 the score is rank_ntk + rank_regions (TE-NAS);
//    otherwise the weighted average with weights [(1-φ-λ)/2, (1-φ-λ)/2, φ, λ] (MicroNAS).
//  - The pruning order is a stable sort on the score of the candidates listed in Δκ order, so
//    ties keep the Δκ order.
std::vector<RankedCandidate> rank_candidates(const std::vector<RankInputs>& candidates,
                                             double flops_weight, double latency_weight,
                                             RankTies ties = RankTies::kTenas);

}  // namespace micronas
