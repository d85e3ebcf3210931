// ReLU and scaled sums (node sums of mixed edges, residual adds).
#include "kernels/cpu/cpu_kernels.hpp"

namespace micronas::cpu {

template <class R>
void relu_forward(std::int64_t n, const R* x, R* y) {
#pragma omp parallel for simd schedule(static)
  for (std::int64_t i = 0; i < n; ++i) y[i] = x[i] > R(0) ? x[i] : R(0);
}

template <class R>
void relu_backward(int cotangents, std::int64_t n, const R* dy, const R* x, R* dx,
                   bool accumulate) {
#pragma omp parallel for collapse(2) schedule(static)
  for (int t = 0; t < cotangents; ++t) {
    for (std::int64_t i = 0; i < n; ++i) {
      const std::int64_t j = t * n + i;
      const R g = x[i] > R(0) ? dy[j] : R(0);
      dx[j] = accumulate ? dx[j] + g : g;
    }
  }
}

template <class R>
void scaled_add(std::int64_t n, R scale, const R* x, R* y, bool accumulate) {
  if (accumulate) {
#pragma omp parallel for simd schedule(static)
    for (std::int64_t i = 0; i < n; ++i) y[i] += scale * x[i];
  } else {
#pragma omp parallel for simd schedule(static)
    for (std::int64_t i = 0; i < n; ++i) y[i] = scale * x[i];
  }
}

#define MICRONAS_INSTANTIATE(R)                                                       \
  template void relu_forward<R>(std::int64_t, const R*, R*);                          \
  template void relu_backward<R>(int, std::int64_t, const R*, const R*, R*, bool);    \
  template void scaled_add<R>(std::int64_t, R, const R*, R*, bool);
MICRONAS_INSTANTIATE(float)
MICRONAS_INSTANTIATE(double)
#undef MICRONAS_INSTANTIATE

}  // namespace micronas::cpu
