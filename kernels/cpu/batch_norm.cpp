// Training-mode batch norm. Statistics are accumulated in double (a channel sums up to
// batch * plane values) in a fixed order per channel.
#include <cmath>

#include "kernels/cpu/cpu_kernels.hpp"

namespace micronas::cpu {

template <class R>
void batch_norm_forward(int batch, int channels, int plane, const R* x, const R* gamma,
                        const R* beta, double eps, R* y, double* mean, double* invstd) {
  const double count = static_cast<double>(batch) * plane;
#pragma omp parallel for schedule(static)
  for (int c = 0; c < channels; ++c) {
    double sum = 0.0;
    for (int n = 0; n < batch; ++n) {
      const R* xp = x + (std::int64_t{n} * channels + c) * plane;
      for (int i = 0; i < plane; ++i) sum += xp[i];
    }
    const double mu = sum / count;
    double sq = 0.0;  // two-pass variance: no cancellation for large means
    for (int n = 0; n < batch; ++n) {
      const R* xp = x + (std::int64_t{n} * channels + c) * plane;
      for (int i = 0; i < plane; ++i) sq += (xp[i] - mu) * (xp[i] - mu);
    }
    const double is = 1.0 / std::sqrt(sq / count + eps);
    mean[c] = mu;
    invstd[c] = is;
    const R scale = static_cast<R>(is * gamma[c]);
    const R shift = static_cast<R>(beta[c] - mu * is * gamma[c]);
    for (int n = 0; n < batch; ++n) {
      const R* xp = x + (std::int64_t{n} * channels + c) * plane;
      R* yp = y + (std::int64_t{n} * channels + c) * plane;
#pragma omp simd
      for (int i = 0; i < plane; ++i) yp[i] = xp[i] * scale + shift;
    }
  }
}

template <class R>
void batch_norm_backward(int cotangents, int batch, int channels, int plane, const R* dy,
                         double dy_scale, const R* x, const double* mean, const double* invstd,
                         const R* gamma, R* dx, bool accumulate, R* dgamma, R* dbeta,
                         std::int64_t dparam_stride) {
  const double count = static_cast<double>(batch) * plane;
#pragma omp parallel for collapse(2) schedule(static)
  for (int t = 0; t < cotangents; ++t) {
    for (int c = 0; c < channels; ++c) {
      const double mu = mean[c], is = invstd[c];
      const R rmu = static_cast<R>(mu);
      // Each plane (<= a few thousand values) is summed in R in vector lanes, the planes in
      // double; x̂ = (x − μ)·σ⁻¹ scales the whole sum once.
      double sum_dy = 0.0, sum_dy_xc = 0.0;
      for (int n = 0; n < batch; ++n) {
        const R* xp = x + (std::int64_t{n} * channels + c) * plane;
        const R* dyp = dy + ((std::int64_t{t} * batch + n) * channels + c) * plane;
        R s_dy = 0, s_dy_xc = 0;
#pragma omp simd reduction(+ : s_dy, s_dy_xc)
        for (int i = 0; i < plane; ++i) {
          s_dy += dyp[i];
          s_dy_xc += dyp[i] * (xp[i] - rmu);
        }
        sum_dy += s_dy;
        sum_dy_xc += s_dy_xc;
      }
      // The gradient is dy_scale · dy: scaling the sums (and a, below) in double is exact for
      // dy_scale = 1 and never materialises the scaled copy.
      sum_dy *= dy_scale;
      sum_dy_xc *= dy_scale;
      const double sum_dy_xhat = sum_dy_xc * is;
      if (dgamma) dgamma[t * dparam_stride + c] = static_cast<R>(sum_dy_xhat);
      if (dbeta) dbeta[t * dparam_stride + c] = static_cast<R>(sum_dy);
      if (!dx) continue;
      // dx = γσ⁻¹·(g − mean(g) − x̂·mean(g·x̂)) = a·dy + b·(x − μ) + d for g = dy_scale·dy;
      // centring x before
      // scaling avoids cancellation when |μ| ≫ σ.
      const double k = gamma[c] * is;
      const R ra = static_cast<R>(k * dy_scale);
      const R rb = static_cast<R>(-k * is * sum_dy_xhat / count);
      const R rd = static_cast<R>(-k * sum_dy / count);
      for (int n = 0; n < batch; ++n) {
        const R* xp = x + (std::int64_t{n} * channels + c) * plane;
        const R* dyp = dy + ((std::int64_t{t} * batch + n) * channels + c) * plane;
        R* dxp = dx + ((std::int64_t{t} * batch + n) * channels + c) * plane;
        if (accumulate) {
#pragma omp simd
          for (int i = 0; i < plane; ++i) dxp[i] += ra * dyp[i] + rb * (xp[i] - rmu) + rd;
        } else {
#pragma omp simd
          for (int i = 0; i < plane; ++i) dxp[i] = ra * dyp[i] + rb * (xp[i] - rmu) + rd;
        }
      }
    }
  }
}

#define MICRONAS_INSTANTIATE(R)                                                                  \
  template void batch_norm_forward<R>(int, int, int, const R*, const R*, const R*, double, R*,   \
                                      double*, double*);                                         \
  template void batch_norm_backward<R>(int, int, int, int, const R*, double, const R*,           \
                                       const double*, const double*, const R*, R*, bool, R*, R*, \
                                       std::int64_t);
MICRONAS_INSTANTIATE(float)
MICRONAS_INSTANTIATE(double)
#undef MICRONAS_INSTANTIATE

}  // namespace micronas::cpu
