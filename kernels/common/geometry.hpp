// Convolution and pooling geometry, shared by the CPU and CUDA kernels.
#pragma once

#include "kernels/common/host_device.hpp"

namespace micronas {

// A convolution of an h x w plane with a kh x kw kernel at strides (sh, sw). Padding is zero
// and may be asymmetric: pad_top rows above and pad_left columns before the input; the rows
// below and columns after are whatever ho and wo need, (ho - 1)·sh + kh - h - pad_top (and
// likewise for columns), which may be less than pad_top when a stride drops the last rows.
struct ConvGeometry {
  int cin, h, w;          // input plane
  int cout, kh, kw;       // kernel rows (along h) and columns (along w)
  int sh, sw;             // strides along h and w
  int pad_top, pad_left;  // zero rows before the input, zero columns before each row
  int ho, wo;             // output plane
};

// Output size of a k-wide window sliding with `stride` over `size` inputs padded by `pad`.
MICRONAS_HOST_DEVICE int window_output_size(int size, int k, int stride, int pad) {
  return (size + 2 * pad - k) / stride + 1;
}

// The square case (NB201): k x k kernel, one stride, `pad` on every side.
MICRONAS_HOST_DEVICE ConvGeometry square_conv_geometry(int cin, int h, int w, int cout, int k,
                                                       int stride, int pad) {
  return {cin,
          h,
          w,
          cout,
          k,
          k,
          stride,
          stride,
          pad,
          pad,
          window_output_size(h, k, stride, pad),
          window_output_size(w, k, stride, pad)};
}

// TensorFlow's "same" padding along one dimension: out = ceil(size / stride) and a total padding
// of max((out - 1)·stride + k - size, 0), the smaller half before (odd totals put the extra
// element after).
MICRONAS_HOST_DEVICE int same_output_size(int size, int stride) {
  return (size + stride - 1) / stride;
}
MICRONAS_HOST_DEVICE int same_pad_before(int size, int k, int stride) {
  const int total = (same_output_size(size, stride) - 1) * stride + k - size;
  return total > 0 ? total / 2 : 0;
}

MICRONAS_HOST_DEVICE ConvGeometry same_conv_geometry(int cin, int h, int w, int cout, int kh,
                                                     int kw, int sh, int sw) {
  return {cin,
          h,
          w,
          cout,
          kh,
          kw,
          sh,
          sw,
          same_pad_before(h, kh, sh),
          same_pad_before(w, kw, sw),
          same_output_size(h, sh),
          same_output_size(w, sw)};
}

// Average pooling, k x k, stride, pad, count_include_pad = false (divisor = window ∩ input).
struct PoolGeometry {
  int channels, h, w, k, stride, pad, ho, wo;
};

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
