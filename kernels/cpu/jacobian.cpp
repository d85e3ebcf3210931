// The CPU backend's NTK pieces: the Jacobian by one backward pass carrying all B cotangents, and
// the Gram matrix K = J Jᵀ accumulated in fp64.
#include <cstring>

#include "micronas/error.hpp"
#include "micronas/proxies.hpp"

namespace micronas {

void compute_jacobian(Network<float>& net, const float* inputs, int batch, Jacobian* out,
                      std::vector<float>* gradients) {
  const Graph& g = net.graph();
  const int classes = g.values[g.logits].c;
  net.forward(inputs, batch);
  // Cotangent t selects sample t's logits, all classes: row t of J is ∂(Σ_c logits[t, c])/∂θ.
  std::vector<float> cotangents(static_cast<std::size_t>(batch) * batch * classes, 0.0f);
  for (int t = 0; t < batch; ++t)
    for (int c = 0; c < classes; ++c)
      cotangents[(static_cast<std::size_t>(t) * batch + t) * classes + c] = 1.0f;
  const std::int64_t P = g.num_params;
  // The backward writes every gradient (it zeroes them first), and every Jacobian entry is
  // copied below: buffers reused from the last call are neither cleared nor faulted in again.
  try {
    gradients->resize(static_cast<std::size_t>(batch) * P);
  } catch (const std::bad_alloc&) {
    throw Error(Status::kOutOfMemory, "cannot allocate the " + std::to_string(batch) + " x " +
                                          std::to_string(P) + " gradient matrix");
  }
  net.backward(cotangents.data(), batch, gradients->data(), nullptr);

  Jacobian& j = *out;
  j.rows = batch;
  j.cols = 0;
  j.params.clear();
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
      std::memcpy(row, gradients->data() + static_cast<std::size_t>(t) * P + param.offset,
                  param.size * sizeof(float));
      row += param.size;
    }
  }
}

Jacobian compute_jacobian(Network<float>& net, const float* inputs, int batch) {
  Jacobian j;
  std::vector<float> gradients;
  compute_jacobian(net, inputs, batch, &j, &gradients);
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

}  // namespace micronas
