#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "micronas/error.hpp"
#include "micronas/linalg.hpp"

namespace micronas {
namespace {

constexpr int kMaxSweeps = 60;

// One Jacobi rotation in the (p, q) plane that annihilates a[p][q] of the full symmetric n x n
// matrix `a` (row-major; which entries are current is explained below) and its diagonal copy `d`.
// Rutishauser's formulas: t = tan(phi) is the smaller root of t^2 + 2 theta t - 1 = 0, computed
// without cancellation; the diagonal moves by t * a_pq instead of being recomputed from the
// rotated 2x2 block, and off-block entries are updated as x - s (y + tau x) with
// tau = s / (1 + c), a small correction to x rather than a sum of two large products.
void rotate(double* a, double* d, int n, std::size_t ld, int p, int q) {
  double* row_p = a + p * ld;
  double* row_q = a + q * ld;
  const double apq = row_p[q];
  const double theta = (d[q] - d[p]) / (2.0 * apq);
  // For |theta| > 1e150, theta^2 would overflow; then t = 1 / (2 theta) to full precision.
  double t = std::abs(theta) > 1e150 ? 0.5 / theta
                                     : 1.0 / (std::abs(theta) + std::sqrt(theta * theta + 1.0));
  if (theta < 0.0) t = -t;
  const double c = 1.0 / std::sqrt(t * t + 1.0);
  const double s = t * c;
  const double tau = s / (1.0 + c);

  // Rows p and q are contiguous: rotate them in one vectorisable pass, then mirror row q into
  // column q (strided stores, no strided loads), but only into rows p..n-1: rows above p take no
  // part in the rest of the sweep and are refreshed from the lower triangle when it ends.
  // Column p is mirrored by the caller once per run of rotations sharing p: until then only rows
  // p and q are read, and their entries in column p lie in the 2x2 block overwritten below.
  for (int k = 0; k < n; ++k) {
    const double x = row_p[k], y = row_q[k];
    row_p[k] = x - s * (y + tau * x);
    row_q[k] = y + s * (x - tau * y);
  }
  for (int k = p; k < n; ++k) a[k * ld + q] = row_q[k];
  // The 2x2 block got only the one-sided update above; set it to the exact two-sided result.
  d[p] -= t * apq;
  d[q] += t * apq;
  row_p[p] = d[p];
  row_q[q] = d[q];
  row_p[q] = row_q[p] = 0.0;
}

}  // namespace

std::vector<double> symmetric_eigenvalues(const double* a, int n) {
  if (n < 1) {
    throw Error(Status::kInvalidArgument,
                "symmetric_eigenvalues: n = " + std::to_string(n) + " (must be >= 1)");
  }
  const std::size_t nn = static_cast<std::size_t>(n) * n;
  double max_abs = 0.0;
  for (std::size_t i = 0; i < nn; ++i) {
    if (!std::isfinite(a[i])) {
      throw Error(Status::kNumericalError,
                  "symmetric_eigenvalues: element (" + std::to_string(i / n) + ", " +
                      std::to_string(i % n) + ") is " + (std::isnan(a[i]) ? "NaN" : "Inf"));
    }
    max_abs = std::max(max_abs, std::abs(a[i]));
  }
  std::vector<double> d(n);
  if (max_abs == 0.0) return d;

  // Scale by a power of two (exact) so that max |a_ij| is in [0.5, 1): intermediate products
  // can then neither overflow nor underflow prematurely, whatever the input's magnitude.
  int exponent = 0;
  std::frexp(max_abs, &exponent);
  // Rows are padded by one element: with a power-of-two stride (n = 128, 512) the strided column
  // stores of every rotation all map to the same L1 set and evict each other.
  const std::size_t ld = static_cast<std::size_t>(n) + 1;
  std::vector<double> w(ld * n);
  for (int i = 0; i < n; ++i) {
    for (int j = i; j < n; ++j) {
      // The upper triangle is authoritative; mirroring it makes `w` exactly symmetric.
      const double v = std::ldexp(a[static_cast<std::size_t>(i) * n + j], -exponent);
      w[i * ld + j] = w[j * ld + i] = v;
    }
    d[i] = w[i * ld + i];
  }

  // Demmel & Veselic's stopping rule: a_pq is negligible when |a_pq| <= eps sqrt(|a_pp a_qq|).
  // Dropping such an entry changes every eigenvalue by a small *relative* amount (for positive
  // definite A the bound scales with the condition number of D^-1/2 A D^-1/2, D = diag(A), not
  // with that of A), which is what keeps the small eigenvalues of a Gram matrix accurate; an
  // absolute rule (|a_pq| <= eps ||A||) would not. The DBL_MIN floor only guards against
  // endless rotations of subnormal entries next to an exactly zero diagonal.
  const double eps = std::numeric_limits<double>::epsilon();
  const double floor = std::numeric_limits<double>::min();
  for (int sweep = 0; sweep < kMaxSweeps; ++sweep) {
    int rotations = 0;
    // Fixed row-cyclic order: (0,1), (0,2), ..., (n-2,n-1). Deterministic by construction.
    for (int p = 0; p < n - 1; ++p) {
      for (int q = p + 1; q < n; ++q) {
        const double apq = std::abs(w[p * ld + q]);
        if (apq <= floor || apq <= eps * std::sqrt(std::abs(d[p])) * std::sqrt(std::abs(d[q]))) {
          continue;
        }
        rotate(w.data(), d.data(), n, ld, p, q);
        ++rotations;
      }
      for (int k = p + 1; k < n; ++k) w[k * ld + p] = w[p * ld + k];
    }
    // A sweep without rotations left the matrix unchanged, so every off-diagonal entry meets
    // the rule at once.
    // Invariant: the lower triangle and every row from p on are current; restore symmetry.
    for (int i = 0; i < n; ++i) {
      for (int j = i + 1; j < n; ++j) w[i * ld + j] = w[j * ld + i];
    }
    if (rotations == 0) {
      for (double& v : d) v = std::ldexp(v, exponent);
      std::sort(d.begin(), d.end());
      return d;
    }
  }
  throw Error(Status::kNumericalError, "symmetric_eigenvalues: Jacobi did not converge in " +
                                           std::to_string(kMaxSweeps) +
                                           " sweeps (n = " + std::to_string(n) + ")");
}

}  // namespace micronas
