// Convolution and pooling geometry, shared by the CPU and CUDA kernels.
#pragma once

#include "kernels/common/host_device.hpp"

namespace micronas {

struct ConvGeometry {
  int cin, h, w;    // input plane
  int cout, k;      // square kernel
  int stride, pad;  // same in both dimensions
  int ho, wo;       // output plane: (h + 2 pad - k) / stride + 1
};

// Average pooling, k x k, stride, pad, count_include_pad = false (divisor = window ∩ input).
struct PoolGeometry {
  int channels, h, w, k, stride, pad, ho, wo;
};

// Output size of a k-wide window sliding with `stride` over `size` inputs padded by `pad`.
MICRONAS_HOST_DEVICE int window_output_size(int size, int k, int stride, int pad) {
  return (size + 2 * pad - k) / stride + 1;
}

// The input rows (or columns) [*begin, *end) that output position `o` of a window covers.
MICRONAS_HOST_DEVICE void window_extent(int o, int k, int stride, int pad, int size, int* begin,
                                        int* end) {
  const int first = o * stride - pad;
  *begin = first < 0 ? 0 : first;
  *end = first + k > size ? size : first + k;
}

// count_include_pad = false: the divisor of output (oy, ox) is the number of input elements
// its window covers.
MICRONAS_HOST_DEVICE int avg_pool_divisor(const PoolGeometry& g, int oy, int ox) {
  int y0, y1, x0, x1;
  window_extent(oy, g.k, g.stride, g.pad, g.h, &y0, &y1);
  window_extent(ox, g.k, g.stride, g.pad, g.w, &x0, &x1);
  return (y1 - y0) * (x1 - x0);
}

}  // namespace micronas
