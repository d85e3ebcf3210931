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
