// Average pooling (count_include_pad = false) and global average pooling.
#include <algorithm>

#include "kernels/cpu/cpu_kernels.hpp"

namespace micronas::cpu {
namespace {

// Input window [start, end) of output position o along one dimension, clipped to [0, size).
inline void window(int o, int stride, int pad, int k, int size, int* start, int* end) {
  int s = o * stride - pad;
  *start = std::max(s, 0);
  *end = std::min(s + k, size);
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
void avg_pool_backward(const PoolGeometry& g, int batch, const R* dy, R* dx, bool accumulate) {
  const std::int64_t in_plane = std::int64_t{g.h} * g.w, out_plane = std::int64_t{g.ho} * g.wo;
  const std::int64_t planes = std::int64_t{batch} * g.channels;
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
        const R share = dyp[std::int64_t{oh} * g.wo + ow] / static_cast<R>((h1 - h0) * (w1 - w0));
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

#define MICRONAS_INSTANTIATE(R)                                                              \
  template void avg_pool_forward<R>(const PoolGeometry&, int, const R*, R*);                 \
  template void avg_pool_backward<R>(const PoolGeometry&, int, const R*, R*, bool);          \
  template void global_avg_pool_forward<R>(int, int, int, const R*, R*);                     \
  template void global_avg_pool_backward<R>(int, int, int, const R*, R*, bool);
MICRONAS_INSTANTIATE(float)
MICRONAS_INSTANTIATE(double)
#undef MICRONAS_INSTANTIATE

}  // namespace micronas::cpu
