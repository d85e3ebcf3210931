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
  // One flat loop per cotangent (no collapse: its index division per element defeats
  // vectorisation), the branch on `accumulate` hoisted out of it.
  for (int t = 0; t < cotangents; ++t) {
    const R* d = dy + t * n;
    R* o = dx + t * n;
    if (accumulate) {
#pragma omp parallel for simd schedule(static)
      for (std::int64_t i = 0; i < n; ++i) o[i] += x[i] > R(0) ? d[i] : R(0);
    } else {
#pragma omp parallel for simd schedule(static)
      for (std::int64_t i = 0; i < n; ++i) o[i] = x[i] > R(0) ? d[i] : R(0);
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

#define MICRONAS_INSTANTIATE(R)                                                    \
  template void relu_forward<R>(std::int64_t, const R*, R*);                       \
  template void relu_backward<R>(int, std::int64_t, const R*, const R*, R*, bool); \
  template void scaled_add<R>(std::int64_t, R, const R*, R*, bool);
MICRONAS_INSTANTIATE(float)
MICRONAS_INSTANTIATE(double)
#undef MICRONAS_INSTANTIATE

}  // namespace micronas::cpu
