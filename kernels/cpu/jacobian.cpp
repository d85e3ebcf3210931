// The CPU backend's NTK pieces: the Jacobian by one backward pass carrying all B cotangents, and
// the Gram matrix K = J Jᵀ accumulated in fp64.
#include <algorithm>
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
  std::vector<double> k(static_cast<std::size_t>(n) * n, 0.0);
  // K[a][b] = Σ_c J[a][c]·J[b][c], each entry one fp64 sum in column order from 0 (the order does
  // not depend on the thread count). A dot product per entry is a chain of dependent adds; here a
  // tile of columns is transposed (and widened to fp64) so that for each column the entries
  // K[a][0..a] of a row form one vectorised multiply-add over independent sums. Each thread
  // owns rows a ≡ its index (mod threads) and transposes the tiles itself, so no thread waits
  // for another.
  constexpr std::int64_t kTile = 128;  // 128 columns x B rows of fp64: 72 KB at B = 72, in L2
#pragma omp parallel
  {
    std::vector<double> tile(static_cast<std::size_t>(kTile) * n);
    for (std::int64_t c0 = 0; c0 < cols; c0 += kTile) {
      const int width = static_cast<int>(std::min(kTile, cols - c0));
      for (int a = 0; a < n; ++a) {
        const float* row = j.values.data() + static_cast<std::size_t>(a) * cols + c0;
        for (int c = 0; c < width; ++c) tile[static_cast<std::size_t>(c) * n + a] = row[c];
      }
#pragma omp for schedule(static, 1) nowait
      for (int a = 0; a < n; ++a) {
        double* ka = k.data() + static_cast<std::size_t>(a) * n;
        for (int c = 0; c < width; ++c) {
          const double* t = tile.data() + static_cast<std::size_t>(c) * n;
          const double ja = t[a];
#pragma omp simd
          for (int b = 0; b <= a; ++b) ka[b] += ja * t[b];
        }
      }
    }
  }
  for (int a = 0; a < n; ++a)
    for (int b = 0; b < a; ++b)
      k[static_cast<std::size_t>(b) * n + a] = k[static_cast<std::size_t>(a) * n + b];
  return k;
}

}  // namespace micronas
