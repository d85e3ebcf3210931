// Dense symmetric eigenvalues in double precision for the NTK's B x B Gram matrix (B <= ~512).
#pragma once

#include <vector>

namespace micronas {

// Eigenvalues of the symmetric n x n matrix `a` (row-major; only symmetry is assumed, the
// matrix is not modified), in ascending order. Cyclic Jacobi rotations: slow for large n but
// accurate to a few ulps of ||A|| for every eigenvalue and deterministic; converges for any
// symmetric input. Throws Error(kNumericalError) if `a` holds NaN or Inf, kInvalidArgument if
// n < 1.
std::vector<double> symmetric_eigenvalues(const double* a, int n);

}  // namespace micronas
