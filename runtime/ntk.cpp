// The NTK condition number: Jacobian by one backward pass carrying all B cotangents, Gram
// matrix in fp64, eigenvalues in fp64.
#include <cfloat>
#include <cmath>
#include <cstring>
#include <sstream>

#include "micronas/error.hpp"
#include "micronas/linalg.hpp"
#include "micronas/proxies.hpp"

namespace micronas {

Jacobian compute_jacobian(Network<float>& net, const float* inputs, int batch) {
  const Graph& g = net.graph();
  const int classes = g.values[g.logits].c;
  net.forward(inputs, batch);
  // Cotangent t selects sample t's logits, all classes: row t of J is ∂(Σ_c logits[t, c])/∂θ.
  std::vector<float> cotangents(static_cast<std::size_t>(batch) * batch * classes, 0.0f);
  for (int t = 0; t < batch; ++t)
    for (int c = 0; c < classes; ++c)
      cotangents[(static_cast<std::size_t>(t) * batch + t) * classes + c] = 1.0f;
  const std::int64_t P = g.num_params;
  std::vector<float> grads;
  try {
    grads.resize(static_cast<std::size_t>(batch) * P);
  } catch (const std::bad_alloc&) {
    throw Error(Status::kOutOfMemory, "cannot allocate the " + std::to_string(batch) + " x " +
                                          std::to_string(P) + " gradient matrix");
  }
  net.backward(cotangents.data(), batch, grads.data(), nullptr);

  Jacobian j;
  j.rows = batch;
  for (std::size_t p = 0; p < g.params.size(); ++p) {
    if (!g.params[p].is_weight()) continue;
    j.params.push_back(static_cast<int>(p));
    j.cols += g.params[p].size;
  }
  j.values.resize(static_cast<std::size_t>(batch) * j.cols);
  for (int t = 0; t < batch; ++t) {
    float* row = j.values.data() + static_cast<std::size_t>(t) * j.cols;
    for (int p : j.params) {
      const Parameter& param = g.params[p];
      std::memcpy(row, grads.data() + static_cast<std::size_t>(t) * P + param.offset,
                  param.size * sizeof(float));
      row += param.size;
    }
  }
  return j;
}

std::vector<double> ntk_gram(const Jacobian& j) {
  const int n = j.rows;
  const std::int64_t cols = j.cols;
  std::vector<double> k(static_cast<std::size_t>(n) * n);
  // Each entry is one fp64 dot product in column order, owned by one thread: deterministic.
#pragma omp parallel for schedule(dynamic, 1)
  for (int a = 0; a < n; ++a) {
    const float* ra = j.values.data() + static_cast<std::size_t>(a) * cols;
    for (int b = 0; b <= a; ++b) {
      const float* rb = j.values.data() + static_cast<std::size_t>(b) * cols;
      double sum = 0.0;
#pragma omp simd reduction(+ : sum)
      for (std::int64_t c = 0; c < cols; ++c)
        sum += static_cast<double>(ra[c]) * static_cast<double>(rb[c]);
      k[static_cast<std::size_t>(a) * n + b] = sum;
      k[static_cast<std::size_t>(b) * n + a] = sum;
    }
  }
  return k;
}

NtkCondition ntk_condition(const std::vector<double>& gram, int n) {
  if (gram.size() != static_cast<std::size_t>(n) * n)
    throw Error(Status::kInvalidArgument, "NTK matrix has " + std::to_string(gram.size()) +
                                              " entries, expected " + std::to_string(n) + "^2");
  NtkCondition r;
  bool finite = true;
  for (double v : gram) finite = finite && std::isfinite(v);
  if (!finite) {
    r.valid = false;
    r.invalid_reason = "the NTK matrix holds NaN or Inf (the network's gradients overflowed)";
    r.condition = NAN;
    r.lambda_min = r.lambda_max = NAN;
    r.tenas_condition = 1e5;  // TE-NAS: NaN -> 1e5
    return r;
  }
  r.eigenvalues = symmetric_eigenvalues(gram.data(), n);
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

}  // namespace micronas
