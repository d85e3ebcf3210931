#include "micronas/evaluation.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <numeric>
#include <sstream>
#include <utility>

#include "micronas/error.hpp"

namespace micronas {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void require_same_size(const std::vector<double>& x, const std::vector<double>& y,
                       const char* what) {
  if (x.size() != y.size())
    throw Error(Status::kInvalidArgument, std::string(what) + ": x has " +
                                              std::to_string(x.size()) + " values, y has " +
                                              std::to_string(y.size()));
}

// The pairs in which neither value is NaN.
std::vector<std::pair<double, double>> complete_pairs(const std::vector<double>& x,
                                                      const std::vector<double>& y) {
  std::vector<std::pair<double, double>> pairs;
  pairs.reserve(x.size());
  for (std::size_t i = 0; i < x.size(); ++i)
    if (!std::isnan(x[i]) && !std::isnan(y[i])) pairs.emplace_back(x[i], y[i]);
  return pairs;
}

// Number of pairs among `n` equal values.
std::int64_t tied_pairs(std::int64_t n) { return n * (n - 1) / 2; }

// Sum of tied_pairs over the runs of equal values of a sorted range.
template <typename Equal>
std::int64_t tied_pairs_in_runs(std::size_t n, Equal equal) {
  std::int64_t total = 0;
  std::size_t start = 0;
  for (std::size_t i = 1; i <= n; ++i)
    if (i == n || !equal(start, i)) {
      total += tied_pairs(static_cast<std::int64_t>(i - start));
      start = i;
    }
  return total;
}

// Sorts `v` ascending by a bottom-up merge sort and returns the number of strict inversions
// (i < j with v[i] > v[j]) it removed: Knight's count of discordant pairs.
std::int64_t sort_counting_inversions(std::vector<double>& v) {
  const std::size_t n = v.size();
  std::vector<double> buffer(n);
  std::int64_t inversions = 0;
  for (std::size_t width = 1; width < n; width *= 2) {
    for (std::size_t lo = 0; lo < n; lo += 2 * width) {
      const std::size_t mid = std::min(lo + width, n), hi = std::min(lo + 2 * width, n);
      std::size_t a = lo, b = mid, out = lo;
      while (a < mid && b < hi) {
        if (v[a] <= v[b]) {
          buffer[out++] = v[a++];
        } else {
          inversions += static_cast<std::int64_t>(mid - a);
          buffer[out++] = v[b++];
        }
      }
      while (a < mid) buffer[out++] = v[a++];
      while (b < hi) buffer[out++] = v[b++];
    }
    v.swap(buffer);
  }
  return inversions;
}

double pearson(const std::vector<double>& x, const std::vector<double>& y) {
  const double n = static_cast<double>(x.size());
  const double mean_x = std::accumulate(x.begin(), x.end(), 0.0) / n;
  const double mean_y = std::accumulate(y.begin(), y.end(), 0.0) / n;
  double sxy = 0, sxx = 0, syy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double dx = x[i] - mean_x, dy = y[i] - mean_y;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx == 0 || syy == 0) return kNaN;
  // Rounding can push a perfect correlation just past +-1.
  return std::clamp(sxy / std::sqrt(sxx * syy), -1.0, 1.0);
}

}  // namespace

std::vector<double> average_ranks(const std::vector<double>& values) {
  std::vector<std::size_t> order;
  order.reserve(values.size());
  for (std::size_t i = 0; i < values.size(); ++i)
    if (!std::isnan(values[i])) order.push_back(i);
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return values[a] < values[b]; });
  std::vector<double> ranks(values.size(), kNaN);
  std::size_t start = 0;
  for (std::size_t i = 1; i <= order.size(); ++i) {
    if (i < order.size() && values[order[i]] == values[order[start]]) continue;
    // Positions start..i-1 (0-based) share the mean 1-based rank.
    const double rank = 0.5 * static_cast<double>(start + 1 + i);
    for (std::size_t k = start; k < i; ++k) ranks[order[k]] = rank;
    start = i;
  }
  return ranks;
}

std::vector<double> hybrid_rank_scores(const std::vector<double>& ntk_condition,
                                       const std::vector<double>& linear_regions,
                                       const std::vector<double>& flops,
                                       const std::vector<double>& latency, double flops_weight,
                                       double latency_weight) {
  require_same_size(ntk_condition, linear_regions, "hybrid_rank_scores");
  require_same_size(ntk_condition, flops, "hybrid_rank_scores");
  require_same_size(ntk_condition, latency, "hybrid_rank_scores");
  const double proxy_weight = (1.0 - flops_weight - latency_weight) / 2.0;
  auto in_unit = [](double w) { return w >= 0.0 && w <= 1.0; };
  if (!in_unit(flops_weight) || !in_unit(latency_weight) || !in_unit(2.0 * proxy_weight)) {
    throw Error(Status::kInvalidArgument,
                "hybrid rank weights: phi = " + std::to_string(flops_weight) + " and lambda = " +
                    std::to_string(latency_weight) + " must be in [0, 1] with phi + lambda <= 1");
  }
  std::vector<double> negated_regions(linear_regions.size());
  for (std::size_t i = 0; i < linear_regions.size(); ++i) negated_regions[i] = -linear_regions[i];
  const std::vector<double> rank_ntk = average_ranks(ntk_condition);
  const std::vector<double> rank_regions = average_ranks(negated_regions);
  const std::vector<double> rank_flops = average_ranks(flops);
  const std::vector<double> rank_latency = average_ranks(latency);
  std::vector<double> scores(ntk_condition.size());
  for (std::size_t i = 0; i < scores.size(); ++i) {
    // A term with weight 0 is left out, so that its NaN ranks do not spoil the others.
    double sum = proxy_weight * (rank_ntk[i] + rank_regions[i]);
    if (flops_weight > 0) sum += flops_weight * rank_flops[i];
    if (latency_weight > 0) sum += latency_weight * rank_latency[i];
    scores[i] = -sum;
  }
  return scores;
}

double kendall_tau(const std::vector<double>& x, const std::vector<double>& y) {
  require_same_size(x, y, "kendall_tau");
  std::vector<std::pair<double, double>> pairs = complete_pairs(x, y);
  const std::size_t n = pairs.size();
  if (n < 2) return kNaN;
  std::sort(pairs.begin(), pairs.end());
  // Pairs tied in x, and tied in both (equal pairs are adjacent after the sort).
  const std::int64_t tied_x = tied_pairs_in_runs(
      n, [&](std::size_t a, std::size_t b) { return pairs[a].first == pairs[b].first; });
  const std::int64_t tied_xy =
      tied_pairs_in_runs(n, [&](std::size_t a, std::size_t b) { return pairs[a] == pairs[b]; });
  // Within a run of equal x the y values are ascending, so every strict inversion of y in this
  // order is a discordant pair.
  std::vector<double> ys(n);
  for (std::size_t i = 0; i < n; ++i) ys[i] = pairs[i].second;
  const std::int64_t discordant = sort_counting_inversions(ys);
  const std::int64_t tied_y =
      tied_pairs_in_runs(n, [&](std::size_t a, std::size_t b) { return ys[a] == ys[b]; });
  const std::int64_t total = tied_pairs(static_cast<std::int64_t>(n));
  if (total == tied_x || total == tied_y) return kNaN;
  // concordant - discordant = total - tied_x - tied_y + tied_xy - 2 * discordant.
  const double numerator = static_cast<double>(total - tied_x - tied_y + tied_xy - 2 * discordant);
  // sqrt(a * b) rather than sqrt(a) * sqrt(b): equal factors then give exactly a, so a perfect
  // ranking gives exactly +-1.
  const double denominator =
      std::sqrt(static_cast<double>(total - tied_x) * static_cast<double>(total - tied_y));
  return std::clamp(numerator / denominator, -1.0, 1.0);
}

double spearman_rho(const std::vector<double>& x, const std::vector<double>& y) {
  require_same_size(x, y, "spearman_rho");
  std::vector<std::pair<double, double>> pairs = complete_pairs(x, y);
  if (pairs.size() < 2) return kNaN;
  std::vector<double> xs(pairs.size()), ys(pairs.size());
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    xs[i] = pairs[i].first;
    ys[i] = pairs[i].second;
  }
  return pearson(average_ranks(xs), average_ranks(ys));
}

std::vector<std::size_t> pareto_front(const std::vector<ParetoPoint>& points) {
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < points.size(); ++i)
    if (!std::isnan(points[i].accuracy) && !std::isnan(points[i].latency)) order.push_back(i);
  // Latency ascending; at equal latency the most accurate first; exact duplicates by index.
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (points[a].latency != points[b].latency) return points[a].latency < points[b].latency;
    if (points[a].accuracy != points[b].accuracy) return points[a].accuracy > points[b].accuracy;
    return a < b;
  });
  // A point is on the front iff it is strictly more accurate than everything at most as slow.
  std::vector<std::size_t> front;
  double best = -std::numeric_limits<double>::infinity();
  for (std::size_t i : order)
    if (points[i].accuracy > best || (front.empty() && points[i].accuracy == best)) {
      front.push_back(i);
      best = points[i].accuracy;
    }
  return front;
}

// --- SVG plot ---

namespace {

std::string xml_escape(const std::string& text) {
  std::string out;
  for (char c : text) switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  return out;
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// An axis over [lo, hi] rounded outwards to a "nice" step of 1, 2 or 5 times a power of ten,
// giving about `target_ticks` ticks.
struct Axis {
  double lo = 0, hi = 1, step = 0.2;
  int decimals = 1;

  Axis(double min_value, double max_value, int target_ticks) {
    if (!(max_value > min_value)) {  // one value (or none): a unit-wide window around it
      const double pad = min_value == 0 ? 1.0 : 0.05 * std::abs(min_value);
      min_value -= pad;
      max_value += pad;
    }
    const double raw = (max_value - min_value) / target_ticks;
    const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
    const double normalized = raw / magnitude;
    step = (normalized < 1.5 ? 1 : normalized < 3 ? 2 : normalized < 7 ? 5 : 10) * magnitude;
    lo = std::floor(min_value / step) * step;
    hi = std::ceil(max_value / step) * step;
    decimals = std::max(0, -static_cast<int>(std::floor(std::log10(step) + 1e-9)));
  }
  std::vector<double> ticks() const {
    std::vector<double> t;
    const int count = static_cast<int>(std::llround((hi - lo) / step));
    for (int i = 0; i <= count; ++i) t.push_back(lo + i * step);
    return t;
  }
};

}  // namespace

std::string pareto_svg(const std::vector<ParetoPoint>& points,
                       const std::vector<std::size_t>& front, const ParetoPlotOptions& options) {
  auto finite = [](const ParetoPoint& p) {
    return std::isfinite(p.accuracy) && std::isfinite(p.latency);
  };
  double min_x = std::numeric_limits<double>::infinity(), max_x = -min_x;
  double min_y = min_x, max_y = -min_x;
  for (const ParetoPoint& p : points)
    if (finite(p)) {
      min_x = std::min(min_x, p.latency);
      max_x = std::max(max_x, p.latency);
      min_y = std::min(min_y, p.accuracy);
      max_y = std::max(max_y, p.accuracy);
    }
  if (min_x > max_x) min_x = max_x = min_y = max_y = 0;  // nothing to draw: empty axes
  const Axis x_axis(min_x, max_x, 8), y_axis(min_y, max_y, 6);

  const double left = 78, right = 24, top = options.title.empty() ? 20 : 44, bottom = 58;
  const double width = options.width, height = options.height;
  const double plot_w = width - left - right, plot_h = height - top - bottom;
  auto px = [&](double v) { return left + (v - x_axis.lo) / (x_axis.hi - x_axis.lo) * plot_w; };
  auto py = [&](double v) {
    return top + plot_h - (v - y_axis.lo) / (y_axis.hi - y_axis.lo) * plot_h;
  };

  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << options.width << "\" height=\""
      << options.height << "\" viewBox=\"0 0 " << options.width << " " << options.height
      << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  svg << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  if (!options.title.empty())
    svg << "<text x=\"" << fixed(width / 2, 1) << "\" y=\"26\" text-anchor=\"middle\" "
        << "font-size=\"15\">" << xml_escape(options.title) << "</text>\n";

  // Grid and ticks.
  svg << "<g stroke=\"#e6e6e6\" stroke-width=\"1\">\n";
  for (double t : x_axis.ticks())
    svg << "<line x1=\"" << fixed(px(t), 2) << "\" y1=\"" << fixed(top, 2) << "\" x2=\""
        << fixed(px(t), 2) << "\" y2=\"" << fixed(top + plot_h, 2) << "\"/>\n";
  for (double t : y_axis.ticks())
    svg << "<line x1=\"" << fixed(left, 2) << "\" y1=\"" << fixed(py(t), 2) << "\" x2=\""
        << fixed(left + plot_w, 2) << "\" y2=\"" << fixed(py(t), 2) << "\"/>\n";
  svg << "</g>\n<g fill=\"#333333\">\n";
  for (double t : x_axis.ticks())
    svg << "<text x=\"" << fixed(px(t), 2) << "\" y=\"" << fixed(top + plot_h + 18, 2)
        << "\" text-anchor=\"middle\">" << fixed(t, x_axis.decimals) << "</text>\n";
  for (double t : y_axis.ticks())
    svg << "<text x=\"" << fixed(left - 8, 2) << "\" y=\"" << fixed(py(t) + 4, 2)
        << "\" text-anchor=\"end\">" << fixed(t, y_axis.decimals) << "</text>\n";
  svg << "</g>\n";
  svg << "<rect x=\"" << fixed(left, 2) << "\" y=\"" << fixed(top, 2) << "\" width=\""
      << fixed(plot_w, 2) << "\" height=\"" << fixed(plot_h, 2)
      << "\" fill=\"none\" stroke=\"#333333\"/>\n";
  svg << "<text x=\"" << fixed(left + plot_w / 2, 2) << "\" y=\"" << fixed(height - 14, 2)
      << "\" text-anchor=\"middle\">" << xml_escape(options.x_label) << "</text>\n";
  svg << "<text transform=\"translate(18 " << fixed(top + plot_h / 2, 2)
      << ") rotate(-90)\" text-anchor=\"middle\">" << xml_escape(options.y_label) << "</text>\n";

  // Every point, then the front on top.
  svg << "<g fill=\"#c8c8c8\">\n";
  for (const ParetoPoint& p : points)
    if (finite(p))
      svg << "<circle cx=\"" << fixed(px(p.latency), 2) << "\" cy=\"" << fixed(py(p.accuracy), 2)
          << "\" r=\"1.6\"/>\n";
  svg << "</g>\n";
  std::vector<std::size_t> drawn;
  for (std::size_t i : front)
    if (i < points.size() && finite(points[i])) drawn.push_back(i);
  if (!drawn.empty()) {
    svg << "<polyline fill=\"none\" stroke=\"#d62728\" stroke-width=\"1.8\" points=\"";
    for (std::size_t k = 0; k < drawn.size(); ++k)
      svg << (k ? " " : "") << fixed(px(points[drawn[k]].latency), 2) << ","
          << fixed(py(points[drawn[k]].accuracy), 2);
    svg << "\"/>\n<g fill=\"#d62728\">\n";
    for (std::size_t i : drawn)
      svg << "<circle class=\"front-marker\" cx=\"" << fixed(px(points[i].latency), 2) << "\" cy=\""
          << fixed(py(points[i].accuracy), 2) << "\" r=\"3.5\"/>\n";
    svg << "</g>\n";
  }
  svg << "</svg>\n";
  return svg.str();
}

}  // namespace micronas
