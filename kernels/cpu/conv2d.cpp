// Direct convolution on whole planes: NB201's channel counts are small (3..64) and its planes
// fit in L1, so sliding one input row against one output row per kernel tap keeps the inner
// loop contiguous and vectorisable without an im2col buffer.
#include <algorithm>
#include <cstring>

#include "kernels/cpu/cpu_kernels.hpp"

namespace micronas::cpu {
namespace {

// Output columns ow whose input column ow*stride - pad + kw lies inside [0, w).
inline void valid_columns(const ConvGeometry& g, int kw, int* lo, int* hi) {
  int first = g.pad - kw;  // need ow*stride >= first
  *lo = first > 0 ? (first + g.stride - 1) / g.stride : 0;
  int last = g.w - 1 + g.pad - kw;  // need ow*stride <= last
  *hi = last < 0 ? 0 : std::min(g.wo, last / g.stride + 1);
}

}  // namespace

template <class R>
void conv2d_forward(const ConvGeometry& g, int batch, const R* x, const R* w, R* y) {
  const std::int64_t in_plane = std::int64_t{g.h} * g.w, out_plane = std::int64_t{g.ho} * g.wo;
#pragma omp parallel for collapse(2) schedule(static)
  for (int n = 0; n < batch; ++n) {
    for (int co = 0; co < g.cout; ++co) {
      R* yp = y + (std::int64_t{n} * g.cout + co) * out_plane;
      std::fill(yp, yp + out_plane, R(0));
      for (int ci = 0; ci < g.cin; ++ci) {
        const R* xp = x + (std::int64_t{n} * g.cin + ci) * in_plane;
        const R* wp = w + (std::int64_t{co} * g.cin + ci) * g.k * g.k;
        for (int kh = 0; kh < g.k; ++kh) {
          for (int kw = 0; kw < g.k; ++kw) {
            const R wv = wp[kh * g.k + kw];
            int lo, hi;
            valid_columns(g, kw, &lo, &hi);
            for (int oh = 0; oh < g.ho; ++oh) {
              int ih = oh * g.stride - g.pad + kh;
              if (ih < 0 || ih >= g.h) continue;
              const R* xr = xp + std::int64_t{ih} * g.w - g.pad + kw;
              R* yr = yp + std::int64_t{oh} * g.wo;
              if (g.stride == 1) {
#pragma omp simd
                for (int ow = lo; ow < hi; ++ow) yr[ow] += wv * xr[ow];
              } else {
                for (int ow = lo; ow < hi; ++ow) yr[ow] += wv * xr[ow * g.stride];
              }
            }
          }
        }
      }
    }
  }
}

template <class R>
void conv2d_backward_data(const ConvGeometry& g, int batch, const R* dy, const R* w, R* dx,
                          bool accumulate) {
  const std::int64_t in_plane = std::int64_t{g.h} * g.w, out_plane = std::int64_t{g.ho} * g.wo;
#pragma omp parallel for collapse(2) schedule(static)
  for (int b = 0; b < batch; ++b) {
    for (int ci = 0; ci < g.cin; ++ci) {
      R* dxp = dx + (std::int64_t{b} * g.cin + ci) * in_plane;
      if (!accumulate) std::fill(dxp, dxp + in_plane, R(0));
      for (int co = 0; co < g.cout; ++co) {
        const R* dyp = dy + (std::int64_t{b} * g.cout + co) * out_plane;
        const R* wp = w + (std::int64_t{co} * g.cin + ci) * g.k * g.k;
        for (int kh = 0; kh < g.k; ++kh) {
          for (int kw = 0; kw < g.k; ++kw) {
            const R wv = wp[kh * g.k + kw];
            int lo, hi;
            valid_columns(g, kw, &lo, &hi);
            for (int oh = 0; oh < g.ho; ++oh) {
              int ih = oh * g.stride - g.pad + kh;
              if (ih < 0 || ih >= g.h) continue;
              R* dxr = dxp + std::int64_t{ih} * g.w - g.pad + kw;
              const R* dyr = dyp + std::int64_t{oh} * g.wo;
              if (g.stride == 1) {
#pragma omp simd
                for (int ow = lo; ow < hi; ++ow) dxr[ow] += wv * dyr[ow];
              } else {
                for (int ow = lo; ow < hi; ++ow) dxr[ow * g.stride] += wv * dyr[ow];
              }
            }
          }
        }
      }
    }
  }
}

template <class R>
void conv2d_backward_weight(const ConvGeometry& g, int cotangents, int batch, const R* dy,
                            const R* x, R* dw, std::int64_t dw_stride) {
  const std::int64_t in_plane = std::int64_t{g.h} * g.w, out_plane = std::int64_t{g.ho} * g.wo;
#pragma omp parallel for collapse(2) schedule(static)
  for (int t = 0; t < cotangents; ++t) {
    for (int co = 0; co < g.cout; ++co) {
      R* dwp = dw + t * dw_stride + std::int64_t{co} * g.cin * g.k * g.k;
      for (int ci = 0; ci < g.cin; ++ci) {
        for (int kh = 0; kh < g.k; ++kh) {
          for (int kw = 0; kw < g.k; ++kw) {
            int lo, hi;
            valid_columns(g, kw, &lo, &hi);
            // Rows are summed in double: a weight gradient adds batch * plane products.
            double acc = 0.0;
            for (int n = 0; n < batch; ++n) {
              const R* dyp = dy + ((std::int64_t{t} * batch + n) * g.cout + co) * out_plane;
              const R* xp = x + (std::int64_t{n} * g.cin + ci) * in_plane;
              for (int oh = 0; oh < g.ho; ++oh) {
                int ih = oh * g.stride - g.pad + kh;
                if (ih < 0 || ih >= g.h) continue;
                const R* xr = xp + std::int64_t{ih} * g.w - g.pad + kw;
                const R* dyr = dyp + std::int64_t{oh} * g.wo;
                R row = 0;
                if (g.stride == 1) {
#pragma omp simd reduction(+ : row)
                  for (int ow = lo; ow < hi; ++ow) row += dyr[ow] * xr[ow];
                } else {
                  for (int ow = lo; ow < hi; ++ow) row += dyr[ow] * xr[ow * g.stride];
                }
                acc += row;
              }
            }
            dwp[(ci * g.k + kh) * g.k + kw] = static_cast<R>(acc);
          }
        }
      }
    }
  }
}

#define MICRONAS_INSTANTIATE(R)                                                               \
  template void conv2d_forward<R>(const ConvGeometry&, int, const R*, const R*, R*);          \
  template void conv2d_backward_data<R>(const ConvGeometry&, int, const R*, const R*, R*,     \
                                        bool);                                                \
  template void conv2d_backward_weight<R>(const ConvGeometry&, int, int, const R*, const R*, \
                                          R*, std::int64_t);
MICRONAS_INSTANTIATE(float)
MICRONAS_INSTANTIATE(double)
#undef MICRONAS_INSTANTIATE

}  // namespace micronas::cpu
