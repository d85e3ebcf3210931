// The classifier: a small dense layer (in <= 64, out <= 120), dot products in fixed order.
#include "kernels/cpu/cpu_kernels.hpp"

namespace micronas::cpu {

template <class R>
void linear_forward(int batch, int in, int out, const R* x, const R* w, const R* b, R* y) {
#pragma omp parallel for collapse(2) schedule(static)
  for (int n = 0; n < batch; ++n) {
    for (int o = 0; o < out; ++o) {
      double acc = 0.0;
      for (int i = 0; i < in; ++i)
        acc += static_cast<double>(w[std::int64_t{o} * in + i]) * x[std::int64_t{n} * in + i];
      y[std::int64_t{n} * out + o] = static_cast<R>(acc + b[o]);
    }
  }
}

template <class R>
void linear_backward_data(int batch, int in, int out, const R* dy, const R* w, R* dx,
                          bool accumulate) {
#pragma omp parallel for collapse(2) schedule(static)
  for (int n = 0; n < batch; ++n) {
    for (int i = 0; i < in; ++i) {
      double acc = 0.0;
      for (int o = 0; o < out; ++o)
        acc += static_cast<double>(dy[std::int64_t{n} * out + o]) * w[std::int64_t{o} * in + i];
      R* d = dx + std::int64_t{n} * in + i;
      *d = accumulate ? *d + static_cast<R>(acc) : static_cast<R>(acc);
    }
  }
}

template <class R>
void linear_backward_params(int cotangents, int batch, int in, int out, const R* dy, const R* x,
                            R* dw, R* db, std::int64_t dparam_stride) {
#pragma omp parallel for collapse(2) schedule(static)
  for (int t = 0; t < cotangents; ++t) {
    for (int o = 0; o < out; ++o) {
      const R* dyt = dy + std::int64_t{t} * batch * out;
      for (int i = 0; i < in; ++i) {
        double acc = 0.0;
        for (int n = 0; n < batch; ++n)
          acc += static_cast<double>(dyt[std::int64_t{n} * out + o]) * x[std::int64_t{n} * in + i];
        dw[t * dparam_stride + std::int64_t{o} * in + i] = static_cast<R>(acc);
      }
      if (db) {
        double acc = 0.0;
        for (int n = 0; n < batch; ++n) acc += dyt[std::int64_t{n} * out + o];
        db[t * dparam_stride + o] = static_cast<R>(acc);
      }
    }
  }
}

#define MICRONAS_INSTANTIATE(R)                                                           \
  template void linear_forward<R>(int, int, int, const R*, const R*, const R*, R*);       \
  template void linear_backward_data<R>(int, int, int, const R*, const R*, R*, bool);     \
  template void linear_backward_params<R>(int, int, int, int, const R*, const R*, R*, R*, \
                                          std::int64_t);
MICRONAS_INSTANTIATE(float)
MICRONAS_INSTANTIATE(double)
#undef MICRONAS_INSTANTIATE

}  // namespace micronas::cpu
