// The NTK condition number from K's spectrum, with TE-NAS's conventions for invalid values.
#include <cfloat>
#include <cmath>
#include <sstream>

#include "micronas/error.hpp"
#include "micronas/linalg.hpp"
#include "micronas/proxies.hpp"

namespace micronas {

NtkCondition ntk_condition_of_nonfinite_gram() {
  NtkCondition r;
  r.valid = false;
  r.invalid_reason = "the NTK matrix holds NaN or Inf (the network's gradients overflowed)";
  r.condition = NAN;
  r.lambda_min = r.lambda_max = NAN;
  r.tenas_condition = 1e5;  // TE-NAS: NaN -> 1e5
  return r;
}

NtkCondition ntk_condition_from_eigenvalues(std::vector<double> eigenvalues) {
  if (eigenvalues.empty())
    throw Error(Status::kInvalidArgument, "an NTK condition needs at least one eigenvalue");
  NtkCondition r;
  r.eigenvalues = std::move(eigenvalues);
  r.lambda_min = r.eigenvalues.front();
  r.lambda_max = r.eigenvalues.back();
  double ratio = r.lambda_max / r.lambda_min;
  r.valid = r.lambda_min > 0.0 && std::isfinite(ratio);
  if (r.valid) {
    r.condition = ratio;
  } else {
    std::ostringstream why;
    why << "lambda_min = " << r.lambda_min
        << " <= 0: K = J J^T is numerically singular (rank-deficient Jacobian)";
    r.invalid_reason = why.str();
    r.condition = NAN;
  }
  // numpy.nan_to_num(x, nan=1e5): NaN -> 1e5, +Inf -> DBL_MAX, -Inf -> -DBL_MAX.
  r.tenas_condition = std::isnan(ratio)   ? 1e5
                      : std::isinf(ratio) ? (ratio > 0 ? DBL_MAX : -DBL_MAX)
                                          : ratio;
  return r;
}

NtkCondition ntk_condition(const std::vector<double>& gram, int n) {
  if (gram.size() != static_cast<std::size_t>(n) * n)
    throw Error(Status::kInvalidArgument, "NTK matrix has " + std::to_string(gram.size()) +
                                              " entries, expected " + std::to_string(n) + "^2");
  for (double v : gram)
    if (!std::isfinite(v)) return ntk_condition_of_nonfinite_gram();
  return ntk_condition_from_eigenvalues(symmetric_eigenvalues(gram.data(), n));
}

}  // namespace micronas
