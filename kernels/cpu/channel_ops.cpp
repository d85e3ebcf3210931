// Per-channel operations of a training graph: a bias, a scale by a differentiable vector (width
// masks), a scale by a differentiable scalar (mixing weights) and Dropout2d. Reductions (the
// gradients of a bias, a vector or a scalar) add each plane in R and the planes in double, in
// image order: one thread per channel, so the result is the same for any thread count.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/cpu/cpu_kernels.hpp"

namespace micronas::cpu {
namespace {

// Σ_i a[i] · b[i] over one plane, in R.
template <class R>
R plane_dot(int plane, const R* a, const R* b) {
  R s = R(0);
#pragma omp simd reduction(+ : s)
  for (int i = 0; i < plane; ++i) s += a[i] * b[i];
  return s;
}

// Σ_n Σ_i a[n, c, i] · (b ? b[n, c, i] : 1) for one channel: each plane in R, planes in double.
template <class R>
double channel_sum(int batch, int channels, int plane, int c, const R* a, const R* b) {
  double total = 0.0;
  for (int n = 0; n < batch; ++n) {
    const std::int64_t off = (std::int64_t{n} * channels + c) * plane;
    if (b) {
      total += plane_dot(plane, a + off, b + off);
      continue;
    }
    R s = R(0);
#pragma omp simd reduction(+ : s)
    for (int i = 0; i < plane; ++i) s += a[off + i];
    total += s;
  }
  return total;
}

// Channels per task of scale_backward: a task walks its channels image by image, so each image's
// planes of the block are read contiguously.
constexpr int kScaleChannelBlock = 8;

// A 64-bit mix of (seed, index) (SplitMix64's finaliser): a counter-based random stream, so a
// value depends only on its index, never on which thread draws it or in which order.
std::uint64_t mix(std::uint64_t seed, std::uint64_t index) {
  std::uint64_t z = seed + 0x9E3779B97F4A7C15ull * (index + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

template <class R>
void bias_forward(int batch, int channels, int plane, const R* bias, R* y) {
#pragma omp parallel for schedule(static)
  for (int nc = 0; nc < batch * channels; ++nc) {
    const R b = bias[nc % channels];
    R* p = y + std::int64_t{nc} * plane;
#pragma omp simd
    for (int i = 0; i < plane; ++i) p[i] += b;
  }
}

template <class R>
void bias_backward(int batch, int channels, int plane, const R* dy, R* dbias) {
#pragma omp parallel for schedule(static)
  for (int c = 0; c < channels; ++c)
    dbias[c] = static_cast<R>(channel_sum<R>(batch, channels, plane, c, dy, nullptr));
}

template <class R>
void channel_scale_forward(int batch, int channels, int plane, const R* x, const R* scale, R* y) {
#pragma omp parallel for schedule(static)
  for (int nc = 0; nc < batch * channels; ++nc) {
    const R s = scale[nc % channels];
    const R* xp = x + std::int64_t{nc} * plane;
    R* yp = y + std::int64_t{nc} * plane;
#pragma omp simd
    for (int i = 0; i < plane; ++i) yp[i] = xp[i] * s;
  }
}

template <class R>
void channel_scale_backward(int batch, int channels, int plane, const R* dy, const R* x,
                            const R* scale, R* dx, bool accumulate, double* dscale) {
#pragma omp parallel for schedule(static)
  for (int c = 0; c < channels; ++c) {
    if (dscale) dscale[c] += channel_sum<R>(batch, channels, plane, c, dy, x);
    if (!dx) continue;
    const R s = scale[c];
    for (int n = 0; n < batch; ++n) {
      const std::int64_t off = (std::int64_t{n} * channels + c) * plane;
      if (accumulate) {
#pragma omp simd
        for (int i = 0; i < plane; ++i) dx[off + i] += dy[off + i] * s;
      } else {
#pragma omp simd
        for (int i = 0; i < plane; ++i) dx[off + i] = dy[off + i] * s;
      }
    }
  }
}

template <class R>
double scale_backward(int batch, int channels, int plane, const R* dy, const R* x, R scale, R* dx,
                      bool accumulate) {
  std::vector<double> sums(channels, 0.0);
  const int blocks = (channels + kScaleChannelBlock - 1) / kScaleChannelBlock;
#pragma omp parallel for schedule(static)
  for (int q = 0; q < blocks; ++q) {
    const int c0 = q * kScaleChannelBlock, c1 = std::min(channels, c0 + kScaleChannelBlock);
    for (int n = 0; n < batch; ++n) {
      for (int c = c0; c < c1; ++c) {
        const std::int64_t off = (std::int64_t{n} * channels + c) * plane;
        const R* g = dy + off;
        sums[c] += plane_dot(plane, g, x + off);
        if (!dx) continue;
        R* d = dx + off;
        if (accumulate) {
#pragma omp simd
          for (int i = 0; i < plane; ++i) d[i] += scale * g[i];
        } else {
#pragma omp simd
          for (int i = 0; i < plane; ++i) d[i] = scale * g[i];
        }
      }
    }
  }
  double total = 0.0;
  for (double v : sums) total += v;
  return total;
}

template <class R>
void dropout2d_mask(int batch, int channels, double p, std::uint64_t seed, std::uint64_t stream,
                    R* mask) {
  const R keep = static_cast<R>(1.0 / (1.0 - p));
  const std::uint64_t s = mix(seed, stream);
  for (int n = 0; n < batch; ++n)
    for (int c = 0; c < channels; ++c) {
      // Indexed by (sample, channel) alone: a narrower copy of the layer draws the same masks
      // for the channels they share.
      const std::uint64_t index = (std::uint64_t(n) << 32) | std::uint32_t(c);
      const double u = static_cast<double>(mix(s, index) >> 11) * 0x1.0p-53;
      mask[std::int64_t{n} * channels + c] = u < p ? R(0) : keep;
    }
}

template <class R>
void plane_scale(std::int64_t planes, int plane, const R* x, const R* factor, R* y,
                 bool accumulate) {
#pragma omp parallel for schedule(static)
  for (std::int64_t q = 0; q < planes; ++q) {
    const R f = factor[q];
    const R* xp = x + q * plane;
    R* yp = y + q * plane;
    if (accumulate) {
#pragma omp simd
      for (int i = 0; i < plane; ++i) yp[i] += xp[i] * f;
    } else {
#pragma omp simd
      for (int i = 0; i < plane; ++i) yp[i] = xp[i] * f;
    }
  }
}

#define MICRONAS_INSTANTIATE(R)                                                                  \
  template void bias_forward<R>(int, int, int, const R*, R*);                                    \
  template void bias_backward<R>(int, int, int, const R*, R*);                                   \
  template void channel_scale_forward<R>(int, int, int, const R*, const R*, R*);                 \
  template void channel_scale_backward<R>(int, int, int, const R*, const R*, const R*, R*, bool, \
                                          double*);                                              \
  template double scale_backward<R>(int, int, int, const R*, const R*, R, R*, bool);             \
  template void dropout2d_mask<R>(int, int, double, std::uint64_t, std::uint64_t, R*);           \
  template void plane_scale<R>(std::int64_t, int, const R*, const R*, R*, bool);
MICRONAS_INSTANTIATE(float)
MICRONAS_INSTANTIATE(double)
#undef MICRONAS_INSTANTIATE

}  // namespace micronas::cpu
