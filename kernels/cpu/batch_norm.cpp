// Training-mode batch norm. Statistics are accumulated in double (a channel sums up to
// batch * plane values) in a fixed order per channel.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/cpu_kernels.hpp"
#include "kernels/cpu/openmp_context.hpp"

namespace micronas::cpu {

namespace {

// Mean and 1/σ of channels [c0, c0 + G). Every channel sums in double in its own fixed order
// (image, then position); a group's G independent chains of dependent double adds overlap,
// where one chain alone would wait on each add's latency.
template <class R, int G>
void channel_statistics(int batch, int channels, int plane, const R* x, int c0, double eps,
                        double* mean, double* invstd) {
  const double count = static_cast<double>(batch) * plane;
  double sum[G] = {}, sq[G] = {}, mu[G];
  for (int n = 0; n < batch; ++n) {
    const R* xp = x + (std::int64_t{n} * channels + c0) * plane;
    for (int i = 0; i < plane; ++i)
#pragma GCC unroll 8
      for (int k = 0; k < G; ++k) sum[k] += xp[k * plane + i];
  }
#pragma GCC unroll 8
  for (int k = 0; k < G; ++k) mu[k] = sum[k] / count;
  for (int n = 0; n < batch; ++n) {  // two-pass variance: no cancellation for large means
    const R* xp = x + (std::int64_t{n} * channels + c0) * plane;
    for (int i = 0; i < plane; ++i)
#pragma GCC unroll 8
      for (int k = 0; k < G; ++k)
        sq[k] += (xp[k * plane + i] - mu[k]) * (xp[k * plane + i] - mu[k]);
  }
  for (int k = 0; k < G; ++k) {
    mean[c0 + k] = mu[k];
    invstd[c0 + k] = 1.0 / std::sqrt(sq[k] / count + eps);
  }
}

constexpr int kStatisticsGroup = 4;

}  // namespace

template <class R>
void batch_norm_forward(int batch, int channels, int plane, const R* x, const R* gamma,
                        const R* beta, double eps, R* y, double* mean, double* invstd) {
  const int groups = (channels + kStatisticsGroup - 1) / kStatisticsGroup;
#pragma omp parallel for schedule(static)
  for (int q = 0; q < groups; ++q) {
    const int c0 = q * kStatisticsGroup;
    if (c0 + kStatisticsGroup <= channels) {
      channel_statistics<R, kStatisticsGroup>(batch, channels, plane, x, c0, eps, mean, invstd);
    } else {
      for (int c = c0; c < channels; ++c)
        channel_statistics<R, 1>(batch, channels, plane, x, c, eps, mean, invstd);
    }
    for (int c = c0; c < std::min(channels, c0 + kStatisticsGroup); ++c) {
      const double mu = mean[c], is = invstd[c];
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
}

template <class R>
void batch_norm_update_running(int channels, double count, const double* mean, const double* invstd,
                               double eps, double momentum, R* running_mean, R* running_var) {
  // The biased batch variance back from σ⁻¹ = 1/sqrt(var + eps) (double: exact to ~1e-16
  // relative), made unbiased by count / (count - 1) as PyTorch does for the running estimate.
  const double unbias = count > 1 ? count / (count - 1) : 1.0;
  for (int c = 0; c < channels; ++c) {
    const double var = 1.0 / (invstd[c] * invstd[c]) - eps;
    running_mean[c] = static_cast<R>((1.0 - momentum) * running_mean[c] + momentum * mean[c]);
    running_var[c] = static_cast<R>((1.0 - momentum) * running_var[c] + momentum * var * unbias);
  }
}

template <class R>
void batch_norm_eval_forward(int batch, int channels, int plane, const R* x, const R* gamma,
                             const R* beta, const R* running_mean, const R* running_var, double eps,
                             R* y) {
#pragma omp parallel for schedule(static)
  for (int nc = 0; nc < batch * channels; ++nc) {
    const int c = nc % channels;
    const double is = 1.0 / std::sqrt(double(running_var[c]) + eps);
    const R scale = static_cast<R>(is * gamma[c]);
    const R shift = static_cast<R>(beta[c] - running_mean[c] * is * gamma[c]);
    const R* xp = x + std::int64_t{nc} * plane;
    R* yp = y + std::int64_t{nc} * plane;
#pragma omp simd
    for (int i = 0; i < plane; ++i) yp[i] = xp[i] * scale + shift;
  }
}

namespace {

// The input-gradient coefficients of cotangent t for channels [c0, c1) (coef[c - c0]), and
// its dgamma, dbeta. The tensors are walked in memory order (image, then channel), which the
// hardware prefetcher follows; every channel's sums still add its planes in image order, so the
// result does not depend on the channel range.
template <class R>
void channel_coefficients(int t, int c0, int c1, int batch, int channels, int plane, const R* dy,
                          double dy_scale, const R* x, const double* mean, const double* invstd,
                          const R* gamma, R* dgamma, R* dbeta, std::int64_t dparam_stride,
                          BatchNormDx<R>* coef) {
  const double count = static_cast<double>(batch) * plane;
  std::vector<double> sum_dy(c1 - c0, 0.0), sum_dy_xc(c1 - c0, 0.0);
  for (int c = c0; c < c1; ++c) coef[c - c0].mu = static_cast<R>(mean[c]);
  const R* dyt = dy + std::int64_t{t} * batch * channels * plane;
  // Each plane (<= a few thousand values) is summed in R in vector lanes, the planes in double;
  // x̂ = (x − μ)·σ⁻¹ scales the whole sum once.
  for (int n = 0; n < batch; ++n) {
    for (int c = c0; c < c1; ++c) {
      const std::int64_t o = (std::int64_t{n} * channels + c) * plane;
      const R* xp = x + o;
      const R* dyp = dyt + o;
      const R m = coef[c - c0].mu;
      R s_dy = 0, s_dy_xc = 0;
#pragma omp simd reduction(+ : s_dy, s_dy_xc)
      for (int i = 0; i < plane; ++i) {
        s_dy += dyp[i];
        s_dy_xc += dyp[i] * (xp[i] - m);
      }
      sum_dy[c - c0] += s_dy;
      sum_dy_xc[c - c0] += s_dy_xc;
    }
  }
  for (int c = c0; c < c1; ++c) {
    const int j = c - c0;
    const double is = invstd[c];
    // The gradient is dy_scale · dy: scaling the sums (and a, below) in double is exact for
    // dy_scale = 1 and never materialises the scaled copy.
    const double sdy = sum_dy[j] * dy_scale;
    const double sum_dy_xhat = sum_dy_xc[j] * dy_scale * is;
    if (dgamma) dgamma[t * dparam_stride + c] = static_cast<R>(sum_dy_xhat);
    if (dbeta) dbeta[t * dparam_stride + c] = static_cast<R>(sdy);
    // dx = γσ⁻¹·(g − mean(g) − x̂·mean(g·x̂)) = a·dy + b·(x − μ) + d for g = dy_scale·dy;
    // centring x before scaling avoids cancellation when |μ| ≫ σ.
    const double k = gamma[c] * is;
    coef[j].a = static_cast<R>(k * dy_scale);
    coef[j].b = static_cast<R>(-k * is * sum_dy_xhat / count);
    coef[j].d = static_cast<R>(-k * sdy / count);
  }
}

// dx of cotangent t for channels [c0, c1) from their coefficients.
template <class R>
void apply_coefficients(int t, int c0, int c1, int batch, int channels, int plane, const R* dy,
                        const R* x, const BatchNormDx<R>* coef, R* dx, bool accumulate) {
  const std::int64_t offset = std::int64_t{t} * batch * channels * plane;
  for (int n = 0; n < batch; ++n) {
    for (int c = c0; c < c1; ++c) {
      const std::int64_t o = (std::int64_t{n} * channels + c) * plane;
      const BatchNormDx<R>& k = coef[c - c0];
      if (accumulate)
        k.add_to(plane, dy + offset + o, x + o, dx + offset + o);
      else
        k.write(plane, dy + offset + o, x + o, dx + offset + o);
    }
  }
}

// Runs f(t, c0, c1) over every cotangent and channel: a thread per cotangent with all its
// channels (one sequential stream per tensor), or, with fewer cotangents than threads, a task
// per (cotangent, channel).
template <class F>
void for_cotangent_channels(int cotangents, int channels, F f) {
  if (in_parallel() || cotangents >= max_threads()) {
#pragma omp parallel for schedule(static)
    for (int t = 0; t < cotangents; ++t) f(t, 0, channels);
  } else {
#pragma omp parallel for collapse(2) schedule(static)
    for (int t = 0; t < cotangents; ++t)
      for (int c = 0; c < channels; ++c) f(t, c, c + 1);
  }
}

}  // namespace

template <class R>
void batch_norm_backward(int cotangents, int batch, int channels, int plane, const R* dy,
                         double dy_scale, const R* x, const double* mean, const double* invstd,
                         const R* gamma, R* dx, bool accumulate, R* dgamma, R* dbeta,
                         std::int64_t dparam_stride) {
  for_cotangent_channels(cotangents, channels, [&](int t, int c0, int c1) {
    std::vector<BatchNormDx<R>> coef(c1 - c0);
    channel_coefficients(t, c0, c1, batch, channels, plane, dy, dy_scale, x, mean, invstd, gamma,
                         dgamma, dbeta, dparam_stride, coef.data());
    if (dx)
      apply_coefficients(t, c0, c1, batch, channels, plane, dy, x, coef.data(), dx, accumulate);
  });
}

template <class R>
void batch_norm_input_gradient(int cotangents, int batch, int channels, int plane, const R* dy,
                               double dy_scale, const R* x, const double* mean,
                               const double* invstd, const R* gamma, R* dgamma, R* dbeta,
                               std::int64_t dparam_stride, BatchNormDx<R>* coef) {
  for_cotangent_channels(cotangents, channels, [&](int t, int c0, int c1) {
    channel_coefficients(t, c0, c1, batch, channels, plane, dy, dy_scale, x, mean, invstd, gamma,
                         dgamma, dbeta, dparam_stride,
                         coef + static_cast<std::int64_t>(t) * channels + c0);
  });
}

template <class R>
void batch_norm_relu_backward(int batch, int channels, int plane, const R* dy, const R* x,
                              const double* mean, const double* invstd, const R* gamma, R* dz,
                              bool accumulate, R* dgamma, R* dbeta) {
  for_cotangent_channels(1, channels, [&](int, int c0, int c1) {
    std::vector<BatchNormDx<R>> coef(c1 - c0);
    channel_coefficients(0, c0, c1, batch, channels, plane, dy, 1.0, x, mean, invstd, gamma, dgamma,
                         dbeta, 0, coef.data());
    if (!dz) return;
    // x = ReLU(z) > 0 exactly where z > 0, where the ReLU passes the gradient.
    for (int n = 0; n < batch; ++n) {
      for (int c = c0; c < c1; ++c) {
        const std::int64_t o = (std::int64_t{n} * channels + c) * plane;
        const R *g = dy + o, *xp = x + o;
        R* d = dz + o;
        const BatchNormDx<R>& k = coef[c - c0];
        const R ka = k.a, kb = k.b, kd = k.d, m = k.mu;
        if (accumulate) {
#pragma omp simd
          for (int i = 0; i < plane; ++i)
            d[i] += xp[i] > R(0) ? ka * g[i] + kb * (xp[i] - m) + kd : R(0);
        } else {
#pragma omp simd
          for (int i = 0; i < plane; ++i)
            d[i] = xp[i] > R(0) ? ka * g[i] + kb * (xp[i] - m) + kd : R(0);
        }
      }
    }
  });
}

#define MICRONAS_INSTANTIATE_RUNNING(R)                                                           \
  template void batch_norm_update_running<R>(int, double, const double*, const double*, double,   \
                                             double, R*, R*);                                     \
  template void batch_norm_eval_forward<R>(int, int, int, const R*, const R*, const R*, const R*, \
                                           const R*, double, R*);
MICRONAS_INSTANTIATE_RUNNING(float)
MICRONAS_INSTANTIATE_RUNNING(double)
#undef MICRONAS_INSTANTIATE_RUNNING

#define MICRONAS_INSTANTIATE(R)                                                                  \
  template void batch_norm_forward<R>(int, int, int, const R*, const R*, const R*, double, R*,   \
                                      double*, double*);                                         \
  template void batch_norm_backward<R>(int, int, int, int, const R*, double, const R*,           \
                                       const double*, const double*, const R*, R*, bool, R*, R*, \
                                       std::int64_t);                                            \
  template void batch_norm_relu_backward<R>(int, int, int, const R*, const R*, const double*,    \
                                            const double*, const R*, R*, bool, R*, R*);          \
  template void batch_norm_input_gradient<R>(int, int, int, int, const R*, double, const R*,     \
                                             const double*, const double*, const R*, R*, R*,     \
                                             std::int64_t, BatchNormDx<R>*);
MICRONAS_INSTANTIATE(float)
MICRONAS_INSTANTIATE(double)
#undef MICRONAS_INSTANTIATE

}  // namespace micronas::cpu
