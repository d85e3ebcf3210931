// The arithmetic of the CUDA layer kernels, one output element (or one weight-gradient
// contribution) at a time, in functions that both compilers read: the kernels in conv2d.cu,
// pooling.cu, linear.cu and batch_norm.cu call them for each element their threads own, and
// tests/test_cuda_host.cpp runs the very same functions on the CPU against the reference oracles
// and, bit for bit, against the CPU kernels. What is left to the kernels is the mapping of
// threads to elements and the block reductions.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/common/geometry.hpp"
#include "kernels/common/host_device.hpp"
#include "kernels/common/pattern_hash.hpp"

// Whether the CPU kernels are compiled with fused multiply-adds (set by kernels/CMakeLists.txt).
#ifndef MICRONAS_CPU_FMA
#define MICRONAS_CPU_FMA 1
#endif

namespace micronas::cuda {

// a·b + c rounded the way the CPU build computes the same expression: GCC contracts it into one
// fused multiply-add when the library is compiled for a CPU with FMA (MICRONAS_NATIVE on such a
// machine) and rounds the product and the sum separately otherwise. The forward uses it wherever
// the CPU kernels multiply and add, so that forward values, and with them the signs of the ReLU
// inputs that linear regions count, are the CPU's bit for bit. (nvcc would contract a plain
// a * b + c on its own; the intrinsics fix the rounding either way.)
MICRONAS_HOST_DEVICE float cpu_madd(float a, float b, float c) {
#if defined(__CUDA_ARCH__)
#if MICRONAS_CPU_FMA
  return __fmaf_rn(a, b, c);
#else
  return __fadd_rn(__fmul_rn(a, b), c);
#endif
#else
#if MICRONAS_CPU_FMA
  return std::fma(a, b, c);
#else
  volatile float product = a * b;  // no contraction, whatever the flags of the including file
  return product + c;
#endif
#endif
}

MICRONAS_HOST_DEVICE double cpu_madd(double a, double b, double c) {
#if defined(__CUDA_ARCH__)
#if MICRONAS_CPU_FMA
  return __fma_rn(a, b, c);
#else
  return __dadd_rn(__dmul_rn(a, b), c);
#endif
#else
#if MICRONAS_CPU_FMA
  return std::fma(a, b, c);
#else
  volatile double product = a * b;
  return product + c;
#endif
#endif
}

// a·b + c with one rounding (gradients, where only accuracy matters).
MICRONAS_HOST_DEVICE float fused_madd(float a, float b, float c) {
#if defined(__CUDA_ARCH__)
  return __fmaf_rn(a, b, c);
#else
  return std::fma(a, b, c);
#endif
}

// --- convolution (no bias, weight [cout, cin, kh, kw]) ---

// Output i of the flat [N, cout, ho, wo] result. Taps in (ci, kh, kw) order, each a multiply-add
// into an accumulator that starts at 0: the CPU kernel's order and rounding
// (kernels/cpu/conv2d.cpp). Padding taps are skipped: the CPU multiplies them by zero, which
// leaves the sum unchanged.
MICRONAS_HOST_DEVICE float conv_forward_at(const ConvGeometry& g, std::int64_t i, const float* x,
                                           const float* w) {
  const int ox = static_cast<int>(i % g.wo);
  const int oy = static_cast<int>(i / g.wo % g.ho);
  const int co = static_cast<int>(i / (std::int64_t{g.wo} * g.ho) % g.cout);
  const std::int64_t n = i / (std::int64_t{g.wo} * g.ho * g.cout);
  const float* xn = x + n * g.cin * g.h * g.w;
  const float* wc = w + std::int64_t{co} * g.cin * g.kh * g.kw;
  float acc = 0.0f;
  for (int ci = 0; ci < g.cin; ++ci) {
    for (int kh = 0; kh < g.kh; ++kh) {
      const int iy = oy * g.sh - g.pad_top + kh;
      if (iy < 0 || iy >= g.h) continue;
      const float* xr = xn + (std::int64_t{ci} * g.h + iy) * g.w;
      const float* wr = wc + (ci * g.kh + kh) * g.kw;
      for (int kw = 0; kw < g.kw; ++kw) {
        const int ix = ox * g.sw - g.pad_left + kw;
        if (ix < 0 || ix >= g.w) continue;
        acc = cpu_madd(xr[ix], wr[kw], acc);
      }
    }
  }
  return acc;
}

// Element i of the flat [N, cin, h, w] data gradient of one cotangent, dy [N, cout, ho, wo]:
// Σ dy[n, co, oy, ox] · w[co, ci, kh, kw] over the outputs with iy = oy·sh − pad_top + kh
// (likewise x).
MICRONAS_HOST_DEVICE float conv_backward_data_at(const ConvGeometry& g, std::int64_t i,
                                                 const float* dy, const float* w) {
  const int ix = static_cast<int>(i % g.w);
  const int iy = static_cast<int>(i / g.w % g.h);
  const int ci = static_cast<int>(i / (std::int64_t{g.w} * g.h) % g.cin);
  const std::int64_t n = i / (std::int64_t{g.w} * g.h * g.cin);
  const float* dyn = dy + n * g.cout * g.ho * g.wo;
  float acc = 0.0f;
  for (int co = 0; co < g.cout; ++co) {
    const float* wc = w + (std::int64_t{co} * g.cin + ci) * g.kh * g.kw;
    const float* dyc = dyn + std::int64_t{co} * g.ho * g.wo;
    for (int kh = 0; kh < g.kh; ++kh) {
      const int ny = iy + g.pad_top - kh;
      if (ny < 0 || ny % g.sh != 0) continue;
      const int oy = ny / g.sh;
      if (oy >= g.ho) continue;
      for (int kw = 0; kw < g.kw; ++kw) {
        const int nx = ix + g.pad_left - kw;
        if (nx < 0 || nx % g.sw != 0) continue;
        const int ox = nx / g.sw;
        if (ox >= g.wo) continue;
        acc = fused_madd(dyc[oy * g.wo + ox], wc[kh * g.kw + kw], acc);
      }
    }
  }
  return acc;
}

// The weight gradient's contribution of output position p (flat [N, ho, wo]) of channel pair
// (co, ci), one cotangent: acc[kh·KW + kw] += dy[n, co, oy, ox] · x[n, ci, iy, ix].
template <int KH, int KW>
MICRONAS_HOST_DEVICE void conv_weight_contribution(const ConvGeometry& g, std::int64_t p, int co,
                                                   int ci, const float* dy, const float* x,
                                                   float* acc) {
  const std::int64_t out_plane = std::int64_t{g.ho} * g.wo, in_plane = std::int64_t{g.h} * g.w;
  const std::int64_t n = p / out_plane;
  const int o = static_cast<int>(p % out_plane);
  const int oy = o / g.wo, ox = o % g.wo;
  const float d = dy[(n * g.cout + co) * out_plane + o];
  const float* xc = x + (n * g.cin + ci) * in_plane;
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
  for (int kh = 0; kh < KH; ++kh) {
    const int iy = oy * g.sh - g.pad_top + kh;
    if (iy < 0 || iy >= g.h) continue;
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
    for (int kw = 0; kw < KW; ++kw) {
      const int ix = ox * g.sw - g.pad_left + kw;
      if (ix < 0 || ix >= g.w) continue;
      acc[kh * KW + kw] = fused_madd(d, xc[iy * g.w + ix], acc[kh * KW + kw]);
    }
  }
}

// --- average pooling (count_include_pad = false) ---

// Output i of the flat [planes, ho, wo] result: the window summed in (row, column) order in
// fp32, then one division, as the CPU kernel.
MICRONAS_HOST_DEVICE float avg_pool_forward_at(const PoolGeometry& g, std::int64_t i,
                                               const float* x) {
  const int ox = static_cast<int>(i % g.wo);
  const int oy = static_cast<int>(i / g.wo % g.ho);
  const std::int64_t plane = i / (std::int64_t{g.wo} * g.ho);
  const float* xp = x + plane * g.h * g.w;
  int y0, y1, x0, x1;
  window_extent(oy, g.k, g.stride, g.pad, g.h, &y0, &y1);
  window_extent(ox, g.k, g.stride, g.pad, g.w, &x0, &x1);
  float sum = 0.0f;
  for (int iy = y0; iy < y1; ++iy)
    for (int ix = x0; ix < x1; ++ix) sum += xp[iy * g.w + ix];
  return sum / static_cast<float>((y1 - y0) * (x1 - x0));
}

// The outputs o whose window [o·s − pad, o·s − pad + k) holds input i:
// o in [ceil((i + pad − k + 1) / s), floor((i + pad) / s)] ∩ [0, outputs), as [*lo, *hi].
MICRONAS_HOST_DEVICE void covering_outputs(int i, int k, int s, int pad, int outputs, int* lo,
                                           int* hi) {
  const int a = i + pad - k + 1;
  *lo = a <= 0 ? 0 : (a + s - 1) / s;
  const int b = (i + pad) / s;
  *hi = b < outputs - 1 ? b : outputs - 1;
}

// Element i of the flat [planes, h, w] input gradient of one cotangent for the output gradient
// dy_scale · dy: a gather over the windows that cover it.
MICRONAS_HOST_DEVICE float avg_pool_backward_at(const PoolGeometry& g, std::int64_t i,
                                                const float* dy, float dy_scale) {
  const int ix = static_cast<int>(i % g.w);
  const int iy = static_cast<int>(i / g.w % g.h);
  const std::int64_t plane = i / (std::int64_t{g.w} * g.h);
  const float* dyp = dy + plane * g.ho * g.wo;
  int oy0, oy1, ox0, ox1;
  covering_outputs(iy, g.k, g.stride, g.pad, g.ho, &oy0, &oy1);
  covering_outputs(ix, g.k, g.stride, g.pad, g.wo, &ox0, &ox1);
  float sum = 0.0f;
  for (int oy = oy0; oy <= oy1; ++oy)
    for (int ox = ox0; ox <= ox1; ++ox)
      sum += dyp[oy * g.wo + ox] * dy_scale / static_cast<float>(avg_pool_divisor(g, oy, ox));
  return sum;
}

// --- linear (weight [out, in], bias [out]); dot products in fp64 in index order, as the CPU ---

// Output i of the flat [N, out] result.
MICRONAS_HOST_DEVICE float linear_forward_at(int in, int out, std::int64_t i, const float* x,
                                             const float* w, const float* b) {
  const std::int64_t n = i / out;
  const int o = static_cast<int>(i % out);
  double acc = 0.0;
  // Products of two floats are exact in double: fused or not, the sum is the CPU's.
  for (int j = 0; j < in; ++j)
    acc = cpu_madd(static_cast<double>(w[std::int64_t{o} * in + j]),
                   static_cast<double>(x[n * in + j]), acc);
  return static_cast<float>(acc + b[o]);
}

// Element i of the flat [rows, in] input gradient, dy [rows, out].
MICRONAS_HOST_DEVICE float linear_backward_data_at(int in, int out, std::int64_t i, const float* dy,
                                                   const float* w) {
  const std::int64_t r = i / in;
  const int j = static_cast<int>(i % in);
  double acc = 0.0;
  for (int o = 0; o < out; ++o)
    acc = cpu_madd(static_cast<double>(dy[r * out + o]),
                   static_cast<double>(w[std::int64_t{o} * in + j]), acc);
  return static_cast<float>(acc);
}

// Parameter e of one cotangent, dy [N, out]: e < out·in is dW[o, j], else db[e − out·in].
MICRONAS_HOST_DEVICE float linear_backward_param_at(int batch, int in, int out, std::int64_t e,
                                                    const float* dy, const float* x) {
  const std::int64_t weights = std::int64_t{out} * in;
  double acc = 0.0;
  if (e < weights) {
    const int o = static_cast<int>(e / in), j = static_cast<int>(e % in);
    for (int n = 0; n < batch; ++n)
      acc = cpu_madd(static_cast<double>(dy[std::int64_t{n} * out + o]),
                     static_cast<double>(x[std::int64_t{n} * in + j]), acc);
  } else {
    const int o = static_cast<int>(e - weights);
    for (int n = 0; n < batch; ++n) acc += dy[std::int64_t{n} * out + o];
  }
  return static_cast<float>(acc);
}

// --- batch norm ---

// Offset in [N, C, plane] of element j (flat over (n, position)) of channel c.
MICRONAS_HOST_DEVICE std::int64_t channel_element(std::int64_t j, int plane, int channels, int c) {
  return (j / plane * channels + c) * std::int64_t{plane} + j % plane;
}

// The fp32 affine map the CPU applies after its fp64 statistics: y = x·scale + shift with
// scale = σ⁻¹γ and shift = β − μσ⁻¹γ (in which GCC fuses the last product into the subtraction
// when it fuses at all).
MICRONAS_HOST_DEVICE void batch_norm_affine(double mean, double invstd, float gamma, float beta,
                                            float* scale, float* shift) {
  const double g = gamma;
  *scale = static_cast<float>(invstd * g);
  *shift = static_cast<float>(cpu_madd(-(mean * invstd), g, static_cast<double>(beta)));
}

// --- activation-pattern hash (relu_hash_kernel) ---

// A sample is hashed in rounds of kHashRound elements: kHashRoundWords 64-bit words of bits.
constexpr int kHashRoundWords = 32;
constexpr int kHashRound = 64 * kHashRoundWords;

// Absorbs one round into h. halves[2w] and halves[2w + 1] are the low and high 32 bits of word w
// (the warp ballots of elements 64w .. 64w + 31 and 64w + 32 .. 64w + 63 of the round, bit =
// lane: the CPU's packing); `left` elements of the sample remain from the round's start, so a
// last round absorbs ceil(left / 64) words, the final one zero-padded as on the CPU.
MICRONAS_HOST_DEVICE void absorb_round(const unsigned* halves, std::int64_t left,
                                       std::uint64_t* h) {
  const int words = left >= kHashRound ? kHashRoundWords : static_cast<int>((left + 63) / 64);
  for (int w = 0; w < words; ++w)
    pattern_hash::absorb(static_cast<std::uint64_t>(halves[2 * w]) |
                             (static_cast<std::uint64_t>(halves[2 * w + 1]) << 32),
                         h);
}

}  // namespace micronas::cuda
