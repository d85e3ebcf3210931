// Average pooling (count_include_pad = false) and global average pooling.
#include <algorithm>
#include <vector>

#include "kernels/cpu/cpu_kernels.hpp"

namespace micronas::cpu {
namespace {

inline void window(int o, int stride, int pad, int k, int size, int* start, int* end) {
  window_extent(o, k, stride, pad, size, start, end);
}

// Stride-1 average-pool backward as a separable box sum (see avg_pool_backward); K > 0 fixes
// the window length at compile time, K = 0 reads it from g.
template <class R, int K>
void avg_pool_backward_stride1(const PoolGeometry& g, std::int64_t planes, const R* dy, R dy_scale,
                               R* dx, bool accumulate, const std::vector<R>& divisor_rows,
                               const std::vector<R>& divisor_cols) {
  const int k = K > 0 ? K : g.k;
  const std::int64_t in_plane = std::int64_t{g.h} * g.w, out_plane = std::int64_t{g.ho} * g.wo;
  const int q = k - 1 - g.pad;
  const int pw = g.wo + 2 * q, ph = g.ho + 2 * q;
  // Scaled reciprocal divisors per position; s = dy · (dy_scale / divisor) keeps the inner loop
  // multiply-only.
  std::vector<R> inv(static_cast<std::size_t>(out_plane));
  for (int oh = 0; oh < g.ho; ++oh)
    for (int ow = 0; ow < g.wo; ++ow)
      inv[oh * g.wo + ow] = dy_scale / (divisor_rows[oh] * divisor_cols[ow]);
#pragma omp parallel
  {
    // Only the interior of `padded` is written per plane: its zero border is set once.
    std::vector<R> padded(static_cast<std::size_t>(ph) * pw, R(0));
    std::vector<R> rows(static_cast<std::size_t>(ph) * g.w);
#pragma omp for schedule(static)
    for (std::int64_t p = 0; p < planes; ++p) {
      const R* dyp = dy + p * out_plane;
      for (int oh = 0; oh < g.ho; ++oh) {
        R* d = padded.data() + (oh + q) * pw + q;
        const R* iv = inv.data() + oh * g.wo;
        const R* src = dyp + oh * g.wo;
#pragma omp simd
        for (int ow = 0; ow < g.wo; ++ow) d[ow] = src[ow] * iv[ow];
      }
      for (int r = 0; r < ph; ++r) {
        const R* src = padded.data() + r * pw;
        R* d = rows.data() + r * g.w;
#pragma omp simd
        for (int j = 0; j < g.w; ++j) {
          R sum = src[j];
          for (int e = 1; e < k; ++e) sum += src[j + e];
          d[j] = sum;
        }
      }
      R* dxp = dx + p * in_plane;
      for (int i = 0; i < g.h; ++i) {
        R* d = dxp + i * g.w;
        const R* src = rows.data() + i * g.w;
        if (accumulate) {
#pragma omp simd
          for (int j = 0; j < g.w; ++j) {
            R sum = src[j];
            for (int e = 1; e < k; ++e) sum += src[e * g.w + j];
            d[j] += sum;
          }
        } else {
#pragma omp simd
          for (int j = 0; j < g.w; ++j) {
            R sum = src[j];
            for (int e = 1; e < k; ++e) sum += src[e * g.w + j];
            d[j] = sum;
          }
        }
      }
    }
  }
}

// Tiling windows (k = stride, no padding): dx[i][j] (+)= share · dy[i / k][j / k]. K > 0 fixes
// k at compile time (NB201's 2 x 2 pool), so the row loops vectorise; K = 0 reads it from g.
template <class R, int K>
void avg_pool_backward_tiles(const PoolGeometry& g, std::int64_t planes, const R* dy, R share,
                             R* dx, bool accumulate) {
  const int k = K > 0 ? K : g.k;
  const std::int64_t in_plane = std::int64_t{g.h} * g.w, out_plane = std::int64_t{g.ho} * g.wo;
#pragma omp parallel for schedule(static)
  for (std::int64_t p = 0; p < planes; ++p) {
    for (int ih = 0; ih < g.h; ++ih) {
      const R* dyr = dy + p * out_plane + std::int64_t{ih / k} * g.wo;
      R* d = dx + p * in_plane + std::int64_t{ih} * g.w;
      if (accumulate) {
        for (int iw = 0; iw < g.w; ++iw) d[iw] += dyr[iw / k] * share;
      } else {
        for (int iw = 0; iw < g.w; ++iw) d[iw] = dyr[iw / k] * share;
      }
    }
  }
}

}  // namespace

template <class R>
void avg_pool_forward(const PoolGeometry& g, int batch, const R* x, R* y) {
  const std::int64_t in_plane = std::int64_t{g.h} * g.w, out_plane = std::int64_t{g.ho} * g.wo;
  const std::int64_t planes = std::int64_t{batch} * g.channels;
#pragma omp parallel for schedule(static)
  for (std::int64_t p = 0; p < planes; ++p) {
    const R* xp = x + p * in_plane;
    R* yp = y + p * out_plane;
    for (int oh = 0; oh < g.ho; ++oh) {
      int h0, h1;
      window(oh, g.stride, g.pad, g.k, g.h, &h0, &h1);
      for (int ow = 0; ow < g.wo; ++ow) {
        int w0, w1;
        window(ow, g.stride, g.pad, g.k, g.w, &w0, &w1);
        R sum = 0;
        for (int ih = h0; ih < h1; ++ih)
          for (int iw = w0; iw < w1; ++iw) sum += xp[std::int64_t{ih} * g.w + iw];
        yp[std::int64_t{oh} * g.wo + ow] = sum / static_cast<R>((h1 - h0) * (w1 - w0));
      }
    }
  }
}

template <class R>
void avg_pool_backward(const PoolGeometry& g, int batch, const R* dy, R dy_scale, R* dx,
                       bool accumulate) {
  const std::int64_t in_plane = std::int64_t{g.h} * g.w, out_plane = std::int64_t{g.ho} * g.wo;
  const std::int64_t planes = std::int64_t{batch} * g.channels;
  if (g.stride == 1) {
    // Stride 1: dx[i][j] = Σ s[o][p] over the outputs whose window holds (i, j), with
    // s = dy / divisor; o ranges over [i + pad - k + 1, i + pad], so dx is a k x k box sum of s
    // zero-padded by k - 1 - pad: separable into a horizontal and a vertical pass of k
    // contiguous adds each (2k adds per element instead of k² scattered ones).
    std::vector<R> divisor_rows(g.ho), divisor_cols(g.wo);
    for (int o = 0; o < g.ho; ++o) {
      int a, b;
      window(o, 1, g.pad, g.k, g.h, &a, &b);
      divisor_rows[o] = static_cast<R>(b - a);
    }
    for (int o = 0; o < g.wo; ++o) {
      int a, b;
      window(o, 1, g.pad, g.k, g.w, &a, &b);
      divisor_cols[o] = static_cast<R>(b - a);
    }
    // NB201's 3 x 3 pool gets a constant window length, so both passes unroll and vectorise.
    if (g.k == 3)
      avg_pool_backward_stride1<R, 3>(g, planes, dy, dy_scale, dx, accumulate, divisor_rows,
                                      divisor_cols);
    else
      avg_pool_backward_stride1<R, 0>(g, planes, dy, dy_scale, dx, accumulate, divisor_rows,
                                      divisor_cols);
    return;
  }
  if (g.k == g.stride && g.pad == 0 && g.ho * g.k == g.h && g.wo * g.k == g.w) {
    // Tiling windows (NB201's 2 x 2, stride-2 shortcut pool): every input gets one share.
    const R share = dy_scale / static_cast<R>(g.k * g.k);
    if (g.k == 2) {
      avg_pool_backward_tiles<R, 2>(g, planes, dy, share, dx, accumulate);
    } else {
      avg_pool_backward_tiles<R, 0>(g, planes, dy, share, dx, accumulate);
    }
    return;
  }
#pragma omp parallel for schedule(static)
  for (std::int64_t p = 0; p < planes; ++p) {
    R* dxp = dx + p * in_plane;
    const R* dyp = dy + p * out_plane;
    if (!accumulate) std::fill(dxp, dxp + in_plane, R(0));
    for (int oh = 0; oh < g.ho; ++oh) {
      int h0, h1;
      window(oh, g.stride, g.pad, g.k, g.h, &h0, &h1);
      for (int ow = 0; ow < g.wo; ++ow) {
        int w0, w1;
        window(ow, g.stride, g.pad, g.k, g.w, &w0, &w1);
        const R share =
            dyp[std::int64_t{oh} * g.wo + ow] * dy_scale / static_cast<R>((h1 - h0) * (w1 - w0));
        for (int ih = h0; ih < h1; ++ih)
          for (int iw = w0; iw < w1; ++iw) dxp[std::int64_t{ih} * g.w + iw] += share;
      }
    }
  }
}

template <class R>
void global_avg_pool_forward(int batch, int channels, int plane, const R* x, R* y) {
  const std::int64_t planes = std::int64_t{batch} * channels;
#pragma omp parallel for schedule(static)
  for (std::int64_t p = 0; p < planes; ++p) {
    double sum = 0.0;
    for (int i = 0; i < plane; ++i) sum += x[p * plane + i];
    y[p] = static_cast<R>(sum / plane);
  }
}

template <class R>
void global_avg_pool_backward(int batch, int channels, int plane, const R* dy, R* dx,
                              bool accumulate) {
  const std::int64_t planes = std::int64_t{batch} * channels;
#pragma omp parallel for schedule(static)
  for (std::int64_t p = 0; p < planes; ++p) {
    const R share = dy[p] / static_cast<R>(plane);
    R* dxp = dx + p * plane;
    if (accumulate) {
      for (int i = 0; i < plane; ++i) dxp[i] += share;
    } else {
      for (int i = 0; i < plane; ++i) dxp[i] = share;
    }
  }
}

#define MICRONAS_INSTANTIATE(R)                                                        \
  template void avg_pool_forward<R>(const PoolGeometry&, int, const R*, R*);           \
  template void avg_pool_backward<R>(const PoolGeometry&, int, const R*, R, R*, bool); \
  template void global_avg_pool_forward<R>(int, int, int, const R*, R*);               \
  template void global_avg_pool_backward<R>(int, int, int, const R*, R*, bool);
MICRONAS_INSTANTIATE(float)
MICRONAS_INSTANTIATE(double)
#undef MICRONAS_INSTANTIATE

}  // namespace micronas::cpu
