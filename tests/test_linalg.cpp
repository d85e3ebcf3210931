// symmetric_eigenvalues against matrices with a known spectrum: A = Q diag(lambda) Q^T with Q a
// random orthogonal matrix (a product of Householder reflections from our Rng).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "micronas/error.hpp"
#include "micronas/linalg.hpp"
#include "micronas/random.hpp"

namespace micronas {
namespace {

using Real = long double;
constexpr double kEps = std::numeric_limits<double>::epsilon();

// A = Q diag(lambda) Q^T, Q = H_1 ... H_n (H_i = I - 2 v v^T / v^T v, v Gaussian), formed in
// long double and rounded to double once at the end. On x86-64 (64-bit mantissa) the rounding to
// double is then the only error of any size: |A_double - A| <= (eps/2) |A| elementwise.
std::vector<double> with_spectrum(const std::vector<double>& lambda, std::uint64_t seed) {
  const int n = static_cast<int>(lambda.size());
  Rng rng(seed);
  std::vector<Real> q(static_cast<std::size_t>(n) * n, 0.0L);
  for (int i = 0; i < n; ++i) q[i * n + i] = 1.0L;
  std::vector<Real> v(n);
  for (int r = 0; r < n; ++r) {
    Real vv = 0.0L;
    for (Real& x : v) {
      x = rng.normal();
      vv += x * x;
    }
    // Q <- Q H: each row x of Q becomes x - (2 x.v / v.v) v.
    for (int i = 0; i < n; ++i) {
      Real dot = 0.0L;
      for (int k = 0; k < n; ++k) dot += q[i * n + k] * v[k];
      const Real f = 2.0L * dot / vv;
      for (int k = 0; k < n; ++k) q[i * n + k] -= f * v[k];
    }
  }
  std::vector<double> a(static_cast<std::size_t>(n) * n);
  for (int i = 0; i < n; ++i) {
    for (int j = i; j < n; ++j) {
      Real s = 0.0L;
      for (int k = 0; k < n; ++k) s += q[i * n + k] * lambda[k] * q[j * n + k];
      a[i * n + j] = a[j * n + i] = static_cast<double>(s);
    }
  }
  return a;
}

struct Errors {
  double max_abs = 0.0;  // max_i |computed_i - lambda_i|
  double norm = 0.0;     // ||A||_2 = max |lambda|
};

Errors compare(std::vector<double> want, const std::vector<double>& got) {
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got.size(), want.size());
  EXPECT_TRUE(std::is_sorted(got.begin(), got.end()));
  Errors e;
  for (std::size_t i = 0; i < want.size() && i < got.size(); ++i) {
    EXPECT_TRUE(std::isfinite(got[i]));
    e.max_abs = std::max(e.max_abs, std::abs(got[i] - want[i]));
    e.norm = std::max(e.norm, std::abs(want[i]));
  }
  return e;
}

// Absolute accuracy for any symmetric A: Jacobi is backward stable, each eigenvalue's error is
// O(n eps ||A||) from the rotations (in practice ~sqrt(n) eps ||A||, the errors being random),
// plus the (eps/2)||A|| rounding of A itself. 4 n eps ||A|| bounds both with margin.
void expect_accurate(const std::vector<double>& lambda, std::uint64_t seed) {
  const int n = static_cast<int>(lambda.size());
  std::vector<double> a = with_spectrum(lambda, seed);
  Errors e = compare(lambda, symmetric_eigenvalues(a.data(), n));
  EXPECT_LE(e.max_abs, 4.0 * n * kEps * e.norm) << "n = " << n;
}

TEST(SymmetricEigenvalues, OneByOne) {
  const double a = -3.25;
  EXPECT_EQ(symmetric_eigenvalues(&a, 1), std::vector<double>{-3.25});
}

TEST(SymmetricEigenvalues, TwoByTwo) {
  // [[2, 1], [1, 2]] has eigenvalues 1 and 3.
  const double a[4] = {2.0, 1.0, 1.0, 2.0};
  std::vector<double> got = symmetric_eigenvalues(a, 2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_NEAR(got[0], 1.0, 2 * kEps);
  EXPECT_NEAR(got[1], 3.0, 4 * kEps);
  expect_accurate({-1e-3, 7.0}, 11);
}

TEST(SymmetricEigenvalues, SpreadSpectrum) {
  for (int n : {2, 3, 17, 72, 128}) {
    Rng rng(100 + n);
    std::vector<double> lambda(n);
    for (double& l : lambda) l = rng.uniform(-10.0, 10.0);
    expect_accurate(lambda, n);
  }
}

TEST(SymmetricEigenvalues, RepeatedEigenvalues) {
  // Clusters of equal eigenvalues: the eigenvectors are not unique, the eigenvalues are.
  std::vector<double> lambda;
  for (int i = 0; i < 72; ++i) lambda.push_back(i % 3 == 0 ? 1.0 : i % 3 == 1 ? 5.0 : -2.0);
  expect_accurate(lambda, 7);
  expect_accurate(std::vector<double>(128, 3.0), 8);  // A = 3 I up to rounding
}

TEST(SymmetricEigenvalues, NegativeAndZero) {
  std::vector<double> lambda(72);
  for (int i = 0; i < 72; ++i) lambda[i] = -1.0 - i;
  expect_accurate(lambda, 9);
  lambda[5] = 0.0;  // singular and indefinite
  lambda[6] = 4.0;
  expect_accurate(lambda, 10);
}

TEST(SymmetricEigenvalues, DiagonalAndScaledInputsAreExact) {
  // Already diagonal: no rotation is needed and the diagonal comes back exactly, sorted.
  std::vector<double> a(9, 0.0);
  a[0] = 3.0, a[4] = -0.1, a[8] = 1e10;
  EXPECT_EQ(symmetric_eigenvalues(a.data(), 3), (std::vector<double>{-0.1, 3.0, 1e10}));
  // Scaling by a power of two scales the result exactly (the solver rescales internally).
  std::vector<double> b = with_spectrum({1.0, 2.0, 3.0, 4.0}, 3), c = b;
  for (double& x : c) x = std::ldexp(x, 900);
  std::vector<double> eb = symmetric_eigenvalues(b.data(), 4),
                      ec = symmetric_eigenvalues(c.data(), 4);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(std::ldexp(eb[i], 900), ec[i]);
}

TEST(SymmetricEigenvalues, Deterministic) {
  std::vector<double> lambda(72);
  for (int i = 0; i < 72; ++i) lambda[i] = std::pow(10.0, -i / 8.0);
  std::vector<double> a = with_spectrum(lambda, 5);
  EXPECT_EQ(symmetric_eigenvalues(a.data(), 72), symmetric_eigenvalues(a.data(), 72));
}

// Positive definite A with eigenvalues log-spaced over [1/kappa, 1] (an NTK-like spectrum).
//
// What bounds the smallest eigenvalue's relative error:
// - Jacobi with the sqrt(|a_pp a_qq|) stopping rule is accurate in the relative sense w.r.t.
//   the scaled matrix H = D^-1/2 A D^-1/2: |dl|/l <= O(n eps) kappa(H) (Demmel & Veselic 1992).
// - With a random Q, diag(A) is nearly constant, so kappa(H) ~ kappa(A): the construction
//   offers no grading for Jacobi to exploit.
// - Rounding A to double perturbs it by up to (eps/2)|A| elementwise, ||dA||_2 <= (eps/2)
//   sqrt(n) ||A||; by Weyl that moves lambda_min by up to that much, a relative error of
//   (eps/2) sqrt(n) kappa that no solver can undo.
// So the achievable relative error of lambda_min is ~eps sqrt(n) kappa, not eps; the test allows
// n eps kappa and prints what it measured. Every eigenvalue is also checked absolutely.
void expect_positive_definite(int n, double kappa, std::uint64_t seed) {
  std::vector<double> lambda(n);
  for (int i = 0; i < n; ++i) lambda[i] = std::pow(kappa, -static_cast<double>(i) / (n - 1));
  std::vector<double> a = with_spectrum(lambda, seed);
  std::vector<double> got = symmetric_eigenvalues(a.data(), n);
  Errors e = compare(lambda, got);
  EXPECT_LE(e.max_abs, 4.0 * n * kEps * e.norm);
  const double lmin = 1.0 / kappa;
  const double rel = std::abs(got[0] - lmin) / lmin;
  EXPECT_GT(got[0], 0.0) << "kappa " << kappa;
  EXPECT_LE(rel, n * kEps * kappa) << "kappa " << kappa;
  const double cond = got.back() / got[0];
  std::printf(
      "  n=%d kappa=%.0e: max|dl|/||A|| = %.2e (%.1f eps), lambda_min rel err = %.2e "
      "(%.2f eps kappa), cond = %.6e\n",
      n, kappa, e.max_abs / e.norm, e.max_abs / e.norm / kEps, rel, rel / (kEps * kappa), cond);
}

TEST(SymmetricEigenvalues, PositiveDefiniteConditioned) {
  for (int n : {72, 128}) {
    expect_positive_definite(n, 1e3, 21);
    expect_positive_definite(n, 1e8, 22);
    expect_positive_definite(n, 1e12, 23);
  }
}

TEST(SymmetricEigenvalues, GradedPositiveDefiniteKeepsRelativeAccuracy) {
  // A = D H D with D = diag(10^-k/2) spanning 1e-10 and H a well-conditioned SPD matrix:
  // kappa(A) ~ 1e10 but kappa(H) ~ 10, so Jacobi's relative bound applies with kappa(H).
  // Reference: eigenvalues of A are those of the symmetric-definite pencil; instead of solving
  // that, compare against the diagonal-similarity-invariant product of all eigenvalues,
  // det(A) = det(D)^2 det(H) = det(D)^2 prod(mu), which sums logs of every relative error.
  const int n = 12;
  std::vector<double> mu(n);
  for (int i = 0; i < n; ++i) mu[i] = 1.0 + 9.0 * i / (n - 1);
  std::vector<double> h = with_spectrum(mu, 31);
  std::vector<double> dscale(n), a(n * n);
  for (int i = 0; i < n; ++i) dscale[i] = std::pow(10.0, -5.0 * i / (n - 1));
  Real log_det_d = 0.0L;
  for (int i = 0; i < n; ++i) {
    log_det_d += 2.0L * std::log(static_cast<Real>(dscale[i]));
    for (int j = 0; j < n; ++j) a[i * n + j] = dscale[i] * h[i * n + j] * dscale[j];
  }
  std::vector<double> got = symmetric_eigenvalues(a.data(), n);
  ASSERT_GT(got[0], 0.0);
  Real log_det_got = 0.0L, log_det_want = log_det_d;
  for (int i = 0; i < n; ++i) {
    log_det_got += std::log(static_cast<Real>(got[i]));
    log_det_want += std::log(static_cast<Real>(mu[i]));
  }
  EXPECT_GT(got.back() / got[0], 1e9);
  // Each computed eigenvalue carries a relative error of O(n eps kappa(H)) ~ 1e-13, so their
  // log-sum is off by at most n times that; the forming of A adds ~3 eps per element.
  EXPECT_NEAR(static_cast<double>(log_det_got), static_cast<double>(log_det_want), 1e-11);
}

TEST(SymmetricEigenvalues, RejectsBadInput) {
  std::vector<double> a = with_spectrum({1.0, 2.0, 3.0}, 1);
  a[5] = std::numeric_limits<double>::quiet_NaN();
  try {
    symmetric_eigenvalues(a.data(), 3);
    FAIL() << "NaN accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::kNumericalError);
    EXPECT_NE(std::string(e.what()).find("(1, 2)"), std::string::npos) << e.what();
  }
  a[5] = std::numeric_limits<double>::infinity();
  EXPECT_THROW(symmetric_eigenvalues(a.data(), 3), Error);
  for (int n : {0, -1}) {
    try {
      symmetric_eigenvalues(a.data(), n);
      FAIL() << "n = " << n << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.status(), Status::kInvalidArgument);
    }
  }
}

}  // namespace
}  // namespace micronas
