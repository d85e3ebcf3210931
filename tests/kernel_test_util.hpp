// Helpers the kernel and training tests share: seeded random inputs, the tolerance of a kernel
// against its double reference, and a central-difference gradient check.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "kernels/reference/reference_kernels.hpp"
#include "micronas/random.hpp"

namespace micronas::test {

using reference::Vec;

// n values uniform in [-1, 1) from `seed`.
inline Vec random_vec(std::size_t n, std::uint64_t seed) {
  Rng rng(seed);
  Vec v(n);
  for (double& x : v) x = rng.uniform(-1.0, 1.0);
  return v;
}

template <class R>
std::vector<R> cast(const Vec& v) {
  return std::vector<R>(v.begin(), v.end());
}

// Tolerance relative to the largest reference magnitude. Double: the kernels sum in another
// order than the oracle, so results differ by a few ulps times the number of terms (<= ~1e3):
// 1e-12. Float: inputs are rounded to fp32 (2^-24) and sums of up to ~1e3 fp32 products
// accumulate ~sqrt(n)·2^-24 relative error; 2e-5 leaves margin.
template <class R>
double tolerance() {
  return sizeof(R) == 8 ? 1e-12 : 2e-5;
}

// Central differences in double, step 1e-6, at up to ~300 evenly spaced entries of `v`, against
// `analytic`; tolerance 1e-6 of the largest analytic entry (truncation ~1e-12, rounding ~1e-10
// for |loss| ~ 1; a ReLU kink within 1e-6 of a perturbed input is the only other error). `v` is
// restored after each probe.
inline void check_gradient(std::vector<double>& v, const std::vector<double>& analytic,
                           const std::function<double()>& loss, const std::string& what) {
  ASSERT_EQ(v.size(), analytic.size()) << what;
  double scale = 1e-12, worst = 0.0;
  for (double g : analytic) scale = std::max(scale, std::abs(g));
  const std::size_t step = std::max<std::size_t>(1, v.size() / 300);
  for (std::size_t i = 0; i < v.size(); i += step) {
    const double saved = v[i];
    v[i] = saved + 1e-6;
    const double up = loss();
    v[i] = saved - 1e-6;
    const double down = loss();
    v[i] = saved;
    worst = std::max(worst, std::abs((up - down) / 2e-6 - analytic[i]) / scale);
  }
  EXPECT_LE(worst, 1e-6) << what;
  EXPECT_GT(scale, 1e-8) << what << ": the gradient is zero, the check would be vacuous";
}

}  // namespace micronas::test
