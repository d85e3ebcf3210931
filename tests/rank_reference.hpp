// Independent O(n^2) references for the rank statistics, written from the textbook definitions
// (no sorting, no merge counting) to check the library's O(n log n) implementations.
#pragma once

#include <cmath>
#include <vector>

namespace micronas::test {

// Kendall's tau-b: sum over pairs of sign(dx) * sign(dy), over sqrt((n0 - ties_x)(n0 - ties_y)).
inline double brute_force_kendall_tau(const std::vector<double>& x, const std::vector<double>& y) {
  const std::size_t n = x.size();
  double s = 0, ties_x = 0, ties_y = 0;
  auto sign = [](double v) { return static_cast<double>((v > 0) - (v < 0)); };
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = i + 1; j < n; ++j) {
      s += sign(x[i] - x[j]) * sign(y[i] - y[j]);
      ties_x += x[i] == x[j];
      ties_y += y[i] == y[j];
    }
  const double pairs = 0.5 * static_cast<double>(n) * static_cast<double>(n - 1);
  return s / std::sqrt((pairs - ties_x) * (pairs - ties_y));
}

// Average rank of each value: 1 + (number of smaller values) + (number of other equal values)/2.
inline std::vector<double> brute_force_ranks(const std::vector<double>& v) {
  std::vector<double> r(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    double smaller = 0, equal = 0;
    for (double w : v) {
      smaller += w < v[i];
      equal += w == v[i];
    }
    r[i] = smaller + (equal + 1) / 2;
  }
  return r;
}

// Pearson correlation of the average ranks.
inline double brute_force_spearman_rho(const std::vector<double>& x, const std::vector<double>& y) {
  std::vector<double> rx = brute_force_ranks(x), ry = brute_force_ranks(y);
  const double n = static_cast<double>(x.size());
  double mx = 0, my = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    mx += rx[i] / n;
    my += ry[i] / n;
  }
  double sxy = 0, sxx = 0, syy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sxy += (rx[i] - mx) * (ry[i] - my);
    sxx += (rx[i] - mx) * (rx[i] - mx);
    syy += (ry[i] - my) * (ry[i] - my);
  }
  return sxy / std::sqrt(sxx * syy);
}

}  // namespace micronas::test
