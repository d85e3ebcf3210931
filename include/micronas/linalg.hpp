// Dense symmetric eigenvalues in double precision for the NTK's B x B Gram matrix (B <= ~512).
#pragma once

#include <vector>

namespace micronas {

// Eigenvalues of the symmetric n x n matrix `a` (row-major, not modified; symmetry is assumed and
// the upper triangle is what is read), in ascending order. Cyclic Jacobi rotations: slower than
// tridiagonal QR but deterministic and accurate to O(n eps ||A||) for every eigenvalue (a few
// ulps of ||A|| in practice); for positive definite A the stopping rule also keeps each
// eigenvalue's relative error at O(n eps kappa(D^-1/2 A D^-1/2)), D = diag(A) (Demmel-Veselic).
// Converges for any symmetric input. Throws Error(kNumericalError) if `a` holds NaN or Inf (or
// if Jacobi does not converge within its sweep cap), kInvalidArgument if n < 1.
std::vector<double> symmetric_eigenvalues(const double* a, int n);

}  // namespace micronas
