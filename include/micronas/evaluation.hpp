// Evaluating proxies against a benchmark: rank correlations, the accuracy/latency Pareto front
// and an SVG plot of it. Host-only, deterministic, no I/O.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace micronas {

// Average ranks (1-based; tied values share the mean of the positions they occupy), the ranking
// Spearman's rho is defined on. NaN values get NaN ranks and do not occupy positions.
std::vector<double> average_ranks(const std::vector<double>& values);

// Kendall's tau-b (ties corrected in both variables, as scipy.stats.kendalltau's default),
// computed in O(n log n) with Knight's algorithm. Pairs (x[i], y[i]) where either value is NaN
// are left out before anything is computed. Returns NaN when fewer than two pairs remain or when
// either variable is constant (the statistic is undefined). Throws Error(kInvalidArgument) when
// the sizes differ.
double kendall_tau(const std::vector<double>& x, const std::vector<double>& y);

// Spearman's rho: Pearson's correlation of the average ranks (scipy.stats.spearmanr). NaN pairs
// are left out as for kendall_tau; NaN when undefined. Throws Error(kInvalidArgument) when the
// sizes differ.
double spearman_rho(const std::vector<double>& x, const std::vector<double>& y);

// A whole-cell version of the search's rank combination, as a score where higher = predicted
// better: minus the weighted average of the average ranks (rank 1 = best) of the condition number
// (ascending), the linear regions (descending), FLOPs (ascending) and latency (ascending), with
// MicroNAS's weights [(1-φ-λ)/2, (1-φ-λ)/2, φ, λ]; with φ = λ = 0 it orders cells as TE-NAS's
// rank sum does. Lower FLOPs and latency rank better, as the hardware-aware search prefers them.
// NaN inputs give NaN scores. Throws Error(kInvalidArgument) when the sizes differ or φ, λ or
// 1-φ-λ are outside [0, 1].
std::vector<double> hybrid_rank_scores(const std::vector<double>& ntk_condition,
                                       const std::vector<double>& linear_regions,
                                       const std::vector<double>& flops,
                                       const std::vector<double>& latency, double flops_weight,
                                       double latency_weight);

struct ParetoPoint {
  double accuracy = 0;  // maximised
  double latency = 0;   // minimised
};

// Indices of the non-dominated points (no other point has accuracy >= and latency <= with one of
// them strict), sorted by latency ascending, so accuracy increases strictly along the front.
// Exact duplicates of a front point are returned once, as the lowest index; points with a NaN
// coordinate are ignored.
std::vector<std::size_t> pareto_front(const std::vector<ParetoPoint>& points);

struct ParetoPlotOptions {
  std::string title;
  std::string x_label = "modeled latency (ms)";
  std::string y_label = "accuracy (%)";
  int width = 800, height = 560;  // pixels
};

// An SVG document (starting with "<svg") plotting every point as a light-grey dot and the front
// (indices into `points`, in the order given, normally pareto_front's result) as a coloured
// line with one <circle class="front-marker"> per front point; axes with ticks at round values.
// Non-finite points are not drawn. Text is XML-escaped.
std::string pareto_svg(const std::vector<ParetoPoint>& points,
                       const std::vector<std::size_t>& front, const ParetoPlotOptions& options);

}  // namespace micronas
