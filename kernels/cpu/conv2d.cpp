// Register-blocked direct convolution for small channel counts (3..64 channels) on small planes
// (NB201's 8x8..32x32 images, time-series windows T x S such as 128 x 9), where an im2col GEMM
// would mostly move data. Kernels may be rectangular (kh x kw), strides differ per dimension and
// padding may be asymmetric (TensorFlow "same").
//
// Each image's input planes are first copied into a zero-padded, thread-local scratch with row
// pitch P (the padded width), so that output position (oh, ow) has the flat index i = oh·P + ow
// and every kernel tap (plane, i, j) reads the input at the constant flat shift
// i·P + j: a convolution becomes out[c][i] = Σ_tap w[c][tap] · in[shift(tap) + i], one long
// contiguous stream per tap. Columns ow >= Wo of that flat output are discarded (pitch overhang:
// 2 of 34 columns at 32x32). Strides (sh, sw) become stride 1 by splitting the padded input
// into its sh·sw (row, column) phases: tap (i, j) reads phase (i % sh, j % sw) at shift
// (i / sh)·P + j / sw. A time-series (k, 1) tap along time is thus a shift of whole rows.
//
// The micro-kernel keeps a CB x U block of vector accumulators (CB output channels, U vectors of
// positions) in registers and streams the taps: per tap it loads U input vectors and issues
// CB·U FMAs with broadcast weights, about 1/CB loads per FMA instead of two loads and a store.
// A scratch image is at most a few tens of KB (3 x 34 x 34 floats = 14 KB for the NTK net's
// first stage), so the shifted loads hit L1/L2.
//
// The weight gradient uses the same flat view: dw[co][tap] = Σ_i dy[co][i] · in[shift(tap) + i]
// with dy packed at the input's pitch and zeros in the overhang columns; a CB x TB block of
// (channel, tap) accumulators shares every loaded dy and input vector.
#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/cpu/cpu_kernels.hpp"
#include "kernels/cpu/openmp_context.hpp"
#include "kernels/cpu/scratch.hpp"
#include "kernels/cpu/simd.hpp"
#include "micronas/error.hpp"

namespace micronas::cpu {
namespace {

// Returns v, which the compiler must then hold in a register. Without this GCC folds the load
// of a vector that several FMAs share into each of them as a memory operand; the loads are
// unaligned, and a 64-byte one always spans two cache lines, so the load ports rather than the
// FMA units bound the weight-gradient micro-kernel (13 % of a Jacobian on AVX-512).
template <class V>
V in_register(V v) {
#if defined(__GNUC__) && defined(__x86_64__)
  __asm__("" : "+v"(v));
#endif
  return v;
}

int round_up(int n, int m) { return (n + m - 1) / m * m; }

// dst[r·pitch + c] = src[(row_step·r + r0)·w + col_step·c + c0] where that lies inside the h x w
// source,
// else 0, for every flat index < size: the padded (or parity-phase) copy of one plane.
// Rows are short (8..34 values): GCC would turn these copy and fill loops into memcpy/memset
// calls whose fixed cost exceeds the copy, so that transformation is off here and in
// unpack_output.
template <class R>
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-loop-distribute-patterns")))
#endif
void pack_plane(const R* src, int h, int w, int row_step, int col_step, int r0, int c0, int pitch,
                int size, R* dst) {
  const int rows = size / pitch;
  // Columns c whose source column col_step·c + c0 lies in [0, w): [c_lo, c_hi).
  const int c_lo = c0 >= 0 ? 0 : (-c0 + col_step - 1) / col_step;
  const int c_hi = std::max(c_lo, std::min(pitch, (w - 1 - c0) / col_step + 1));
  for (int r = 0; r < rows; ++r) {
    R* d = dst + r * pitch;
    const int sr = row_step * r + r0;
    if (sr < 0 || sr >= h) {
      for (int c = 0; c < pitch; ++c) d[c] = R(0);
      continue;
    }
    const R* s = src + static_cast<std::int64_t>(sr) * w + c0;
    for (int c = 0; c < c_lo; ++c) d[c] = R(0);
    if (col_step == 1) {
#pragma omp simd
      for (int c = c_lo; c < c_hi; ++c) d[c] = s[c];
    } else {
      for (int c = c_lo; c < c_hi; ++c) d[c] = s[col_step * c];
    }
    for (int c = c_hi; c < pitch; ++c) d[c] = R(0);
  }
  for (int i = rows * pitch; i < size; ++i) dst[i] = R(0);
}

// How a convolution reads its packed input: `planes` planes of `plane_size` floats at row pitch
// `pitch`; tap j reads flat offset shift[j]; the flat output has `rows` rows of the same pitch.
struct FlatPlan {
  int pitch = 0, rows = 0, positions = 0, vectors = 0, planes = 0, plane_size = 0;
  std::vector<int> shift;
};

// The padded extent along one dimension: the input after `before` zeros, or as far as the last
// output's window reaches (symmetric NB201 padding gives size + 2·pad for stride 1 and even
// sizes, the row pitch the weight gradient's lane sums were defined with).
int padded_extent(int size, int before, int k, int stride, int out) {
  return std::max(before + size, (out - 1) * stride + k);
}

// The input of the forward pass (or the input side of the weight gradient): x padded, or its
// sh·sw phases for strides above 1. Taps are ordered (ci, i, j), the weight layout.
template <class R>
FlatPlan input_plan(const ConvGeometry& g) {
  constexpr int V = Simd<R>::width;
  FlatPlan p;
  const int hp = padded_extent(g.h, g.pad_top, g.kh, g.sh, g.ho);
  const int wp = padded_extent(g.w, g.pad_left, g.kw, g.sw, g.wo);
  p.pitch = (wp + g.sw - 1) / g.sw;
  p.rows = g.ho;
  p.positions = g.ho * p.pitch;
  p.vectors = (p.positions + V - 1) / V;
  const int max_shift = (g.kh - 1) / g.sh * p.pitch + (g.kw - 1) / g.sw;
  p.plane_size = round_up(std::max((hp + g.sh - 1) / g.sh * p.pitch, max_shift + p.vectors * V), V);
  const int phases = g.sh * g.sw;
  p.planes = g.cin * phases;
  for (int ci = 0; ci < g.cin; ++ci)
    for (int i = 0; i < g.kh; ++i)
      for (int j = 0; j < g.kw; ++j)
        p.shift.push_back((ci * phases + (i % g.sh) * g.sw + j % g.sw) * p.plane_size +
                          (i / g.sh) * p.pitch + j / g.sw);
  return p;
}

template <class R>
void pack_input(const ConvGeometry& g, const FlatPlan& p, const R* x, R* dst) {
  const int phases = g.sh * g.sw;
  for (int ci = 0; ci < g.cin; ++ci)
    for (int a = 0; a < g.sh; ++a)
      for (int b = 0; b < g.sw; ++b)
        pack_plane(x + static_cast<std::int64_t>(ci) * g.h * g.w, g.h, g.w, g.sh, g.sw,
                   a - g.pad_top, b - g.pad_left, p.pitch, p.plane_size,
                   dst + (ci * phases + a * g.sw + b) * p.plane_size);
}

// CB output channels x U position vectors: out[c][v·V + lane] = Σ_tap wp[tap·CB + c] · in[...].
template <class R, int CB, int U>
void correlate_block(const R* in, const int* shift, int taps, const R* wp, R* out, int out_stride,
                     int v0, int v1) {
  using S = Simd<R>;
  using V = typename S::V;
  constexpr int W = S::width;
  for (int v = v0; v + U <= v1; v += U) {
    V acc[CB][U];
#pragma GCC unroll 16
    for (int c = 0; c < CB; ++c)
#pragma GCC unroll 16
      for (int u = 0; u < U; ++u) acc[c][u] = V{};
    const R* base = in + v * W;
    for (int j = 0; j < taps; ++j) {
      const R* src = base + shift[j];
      const R* wj = wp + j * CB;
      V xv[U];
#pragma GCC unroll 16
      for (int u = 0; u < U; ++u) xv[u] = S::load(src + u * W);
#pragma GCC unroll 16
      for (int c = 0; c < CB; ++c) {
        const R wc = wj[c];
#pragma GCC unroll 16
        for (int u = 0; u < U; ++u) acc[c][u] += xv[u] * wc;
      }
    }
#pragma GCC unroll 16
    for (int c = 0; c < CB; ++c)
#pragma GCC unroll 16
      for (int u = 0; u < U; ++u) S::store(out + c * out_stride + (v + u) * W, acc[c][u]);
  }
}

// Position vectors per block for CB channels: CB·U accumulators, U input vectors and one
// broadcast weight in registers. AVX-512 (32 registers): 24 accumulators; 16 registers: at most
// 14 in all (AVX2: 12 accumulators for 12 channels x 1 or 6 x 2, 9 for 3 x 3).
template <int CB>
constexpr int position_block() {
  if constexpr (kVectorRegisters >= 32) return CB >= 24 ? 1 : 24 / CB;
  return std::max(1, (kVectorRegisters - 2) / (CB + 1));
}

template <class R, int CB>
void correlate_channels(const R* in, const int* shift, int taps, const R* wp, R* out,
                        int out_stride, int vectors) {
  constexpr int U = position_block<CB>();
  const int full = vectors / U * U;
  correlate_block<R, CB, U>(in, shift, taps, wp, out, out_stride, 0, full);
  correlate_block<R, CB, 1>(in, shift, taps, wp, out, out_stride, full, vectors);
}

constexpr int kMaxChannelBlock = 12;

// out[c][0 .. vectors·V) for c < nout; wpack holds blocks of kMaxChannelBlock channels, each
// [taps][block] (see pack_weights); tap j reads in + shift[j].
template <class R>
void correlate_taps(const R* in, const int* sh, int taps, int vectors, const R* wpack, int nout,
                    R* out, int out_stride) {
  for (int c0 = 0; c0 < nout; c0 += kMaxChannelBlock) {
    const int cb = std::min(kMaxChannelBlock, nout - c0);
    const R* wp = wpack + static_cast<std::int64_t>(c0) * taps;
    R* o = out + static_cast<std::int64_t>(c0) * out_stride;
    switch (cb) {
      case 1: correlate_channels<R, 1>(in, sh, taps, wp, o, out_stride, vectors); break;
      case 2: correlate_channels<R, 2>(in, sh, taps, wp, o, out_stride, vectors); break;
      case 3: correlate_channels<R, 3>(in, sh, taps, wp, o, out_stride, vectors); break;
      case 4: correlate_channels<R, 4>(in, sh, taps, wp, o, out_stride, vectors); break;
      case 5: correlate_channels<R, 5>(in, sh, taps, wp, o, out_stride, vectors); break;
      case 6: correlate_channels<R, 6>(in, sh, taps, wp, o, out_stride, vectors); break;
      case 7: correlate_channels<R, 7>(in, sh, taps, wp, o, out_stride, vectors); break;
      case 8: correlate_channels<R, 8>(in, sh, taps, wp, o, out_stride, vectors); break;
      case 9: correlate_channels<R, 9>(in, sh, taps, wp, o, out_stride, vectors); break;
      case 10: correlate_channels<R, 10>(in, sh, taps, wp, o, out_stride, vectors); break;
      case 11: correlate_channels<R, 11>(in, sh, taps, wp, o, out_stride, vectors); break;
      default: correlate_channels<R, 12>(in, sh, taps, wp, o, out_stride, vectors); break;
    }
  }
}

template <class R>
void correlate(const R* in, const FlatPlan& p, const R* wpack, int nout, R* out, int out_stride) {
  correlate_taps(in, p.shift.data(), static_cast<int>(p.shift.size()), p.vectors, wpack, nout, out,
                 out_stride);
}

// weight(o, j) of output channel o and tap j, regrouped into channel blocks of [taps][block] so
// the micro-kernel broadcasts consecutive values.
template <class R, class F>
std::vector<R> pack_weights(int nout, int taps, F weight) {
  std::vector<R> wp(static_cast<std::size_t>(nout) * taps);
  for (int c0 = 0; c0 < nout; c0 += kMaxChannelBlock) {
    const int cb = std::min(kMaxChannelBlock, nout - c0);
    for (int j = 0; j < taps; ++j)
      for (int c = 0; c < cb; ++c)
        wp[static_cast<std::size_t>(c0) * taps + j * cb + c] = weight(c0 + c, j);
  }
  return wp;
}

// dst[c][oh][ow] (+)= flat[c][oh·pitch + ow], or [mask > 0] · flat for a ReLU-fused gradient;
// the mask of channel c, row oh starts at mask + c·mask_plane + oh·mask_pitch.
template <class R>
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-loop-distribute-patterns")))
#endif
void unpack_output(const R* flat, int flat_stride, int pitch, int channels, int ho, int wo,
                   const R* mask, int mask_pitch, std::int64_t mask_plane, R* dst,
                   bool accumulate) {
  for (int c = 0; c < channels; ++c) {
    for (int oh = 0; oh < ho; ++oh) {
      const R* f = flat + static_cast<std::int64_t>(c) * flat_stride + oh * pitch;
      R* d = dst + (static_cast<std::int64_t>(c) * ho + oh) * wo;
      if (mask) {
        const R* m = mask + c * mask_plane + oh * mask_pitch;
        if (accumulate) {
#pragma omp simd
          for (int i = 0; i < wo; ++i) d[i] += m[i] > R(0) ? f[i] : R(0);
        } else {
#pragma omp simd
          for (int i = 0; i < wo; ++i) d[i] = m[i] > R(0) ? f[i] : R(0);
        }
      } else if (accumulate) {
#pragma omp simd
        for (int i = 0; i < wo; ++i) d[i] += f[i];
      } else {
#pragma omp simd
        for (int i = 0; i < wo; ++i) d[i] = f[i];
      }
    }
  }
}

// The stride-1 transposed convolution is a stride-1 correlation of dy, preceded by
// q_top = kh - 1 - pad_top zero rows and q_left = kw - 1 - pad_left zero columns (zeros after it
// as far as the flat rows reach), with the flipped kernel, input and output channels swapped:
// taps (co, i, j).
int transposed_top(const ConvGeometry& g) { return g.kh - 1 - g.pad_top; }
int transposed_left(const ConvGeometry& g) { return g.kw - 1 - g.pad_left; }

template <class R>
FlatPlan transposed_plan(const ConvGeometry& g) {
  constexpr int V = Simd<R>::width;
  const int qt = transposed_top(g), ql = transposed_left(g);
  FlatPlan p;
  p.pitch = std::max(ql + g.wo, g.w + g.kw - 1);
  p.rows = g.h;
  p.positions = g.h * p.pitch;
  p.vectors = (p.positions + V - 1) / V;
  const int max_shift = (g.kh - 1) * p.pitch + g.kw - 1;
  const int rows = std::max(qt + g.ho, g.h + g.kh - 1);
  p.plane_size = round_up(std::max(rows * p.pitch, max_shift + p.vectors * V), V);
  p.planes = g.cout;
  for (int co = 0; co < g.cout; ++co)
    for (int i = 0; i < g.kh; ++i)
      for (int j = 0; j < g.kw; ++j)
        p.shift.push_back(co * p.plane_size + (g.kh - 1 - i) * p.pitch + (g.kw - 1 - j));
  return p;
}

template <class R>
std::vector<R> transposed_weights(const ConvGeometry& g, const R* w) {
  const int kk = g.kh * g.kw;
  return pack_weights<R>(g.cin, g.cout * kk, [&](int ci, int j) {
    const int co = j / kk, tap = j % kk;
    return w[(static_cast<std::int64_t>(co) * g.cin + ci) * kk + tap];
  });
}

// Image img = t·batch + n of dy [cout, ho, wo] padded into the planes of a transposed plan
// (a deferred batch norm's gradient applied on the way). Only the data rows are written: the
// caller zeroes dst once (clear_planes) and the padding stays zero for every image of the same
// geometry.
template <class R>
void pack_dy(const ConvGeometry& g, const FlatPlan& p, const ConvOutputGradient<R>& dy,
             std::int64_t img, int batch, R* dst) {
  const int qt = transposed_top(g), ql = transposed_left(g);
  const std::int64_t out_plane = std::int64_t{g.ho} * g.wo;
  const std::int64_t t = img / batch, n = img % batch;
  for (int co = 0; co < g.cout; ++co) {
    const R* src = dy.dy + (img * g.cout + co) * out_plane;
    R* d = dst + co * p.plane_size + qt * p.pitch + ql;
    if (dy.bn) {
      const BatchNormDx<R>& k = dy.bn[t * g.cout + co];
      const R* y = dy.bn_input + (n * g.cout + co) * out_plane;
      for (int r = 0; r < g.ho; ++r) k.write(g.wo, src + r * g.wo, y + r * g.wo, d + r * p.pitch);
      continue;
    }
    for (int r = 0; r < g.ho; ++r) {
#pragma omp simd
      for (int c = 0; c < g.wo; ++c) d[r * p.pitch + c] = src[r * g.wo + c];
    }
  }
}

// A thread's dy scratch for pack_dy, zeroed.
template <class R>
R* clear_planes(const FlatPlan& p) {
  const std::size_t n = static_cast<std::size_t>(p.planes) * p.plane_size;
  R* planes = thread_scratch<R>(2, n);
  std::fill(planes, planes + n, R(0));
  return planes;
}

// Where the ReLU mask of image n lies (see unpack_output): data + n·image_stride, channel
// planes plane_stride apart, rows pitch apart; data = null: no mask.
template <class R>
struct MaskView {
  const R* data = nullptr;
  std::int64_t image_stride = 0, plane_stride = 0;
  int pitch = 0;
};

// The mask of a conv whose input is a ReLU's output, read from the conv's packed input (see
// conv2d_backward); null data without a ReLU.
template <class R>
MaskView<R> packed_relu_mask(const ConvGeometry& g, const FlatPlan& in_p, const R* packed_x,
                             bool relu_mask) {
  return {relu_mask ? packed_x + g.pad_top * in_p.pitch + g.pad_left : nullptr,
          std::int64_t{in_p.planes} * in_p.plane_size, in_p.plane_size, in_p.pitch};
}

// Stride-1 data gradient of `images` images, dy[b] -> dx[b] with the mask of image b % batch,
// parallel over images.
template <class R>
void data_gradient_stride1(const ConvGeometry& g, int images, int batch, const R* dy, const R* w,
                           const MaskView<R>& mask, R* dx, bool accumulate) {
  const FlatPlan p = transposed_plan<R>(g);
  const std::vector<R> wpack = transposed_weights(g, w);
  const std::int64_t in_plane = std::int64_t{g.h} * g.w;
  const int out_stride = p.vectors * Simd<R>::width;
#pragma omp parallel
  {
    R* dyp = clear_planes<R>(p);
    R* out = thread_scratch<R>(1, static_cast<std::size_t>(g.cin) * out_stride);
#pragma omp for schedule(static)
    for (int b = 0; b < images; ++b) {
      pack_dy(g, p, ConvOutputGradient<R>{dy}, b, batch, dyp);
      correlate(dyp, p, wpack.data(), g.cin, out, out_stride);
      const R* m = mask.data ? mask.data + (b % batch) * mask.image_stride : nullptr;
      unpack_output<R>(out, out_stride, p.pitch, g.cin, g.h, g.w, m, mask.pitch, mask.plane_stride,
                       dx + b * g.cin * in_plane, accumulate);
    }
  }
}

// acc[c][j] += Σ_v dy[c][v] · in[shift[j] + v] over vectors [0, vectors): CB channels x TB taps
// of vector accumulators; per position vector CB + TB loads feed CB·TB FMAs.
template <class R, int CB, int TB>
void weight_block(const R* dyq, int dy_stride, const R* in, const int* shift, int vectors,
                  R* acc_out, int acc_stride) {
  using S = Simd<R>;
  using V = typename S::V;
  constexpr int W = S::width;
  V acc[CB][TB];
#pragma GCC unroll 16
  for (int c = 0; c < CB; ++c)
#pragma GCC unroll 16
    for (int j = 0; j < TB; ++j) acc[c][j] = V{};
  for (int v = 0; v < vectors; ++v) {
    V d[CB];
#pragma GCC unroll 16
    for (int c = 0; c < CB; ++c) d[c] = S::load(dyq + c * dy_stride + v * W);
#pragma GCC unroll 16
    for (int j = 0; j < TB; ++j) {
      const V xv = in_register(S::load(in + shift[j] + v * W));
#pragma GCC unroll 16
      for (int c = 0; c < CB; ++c) acc[c][j] += d[c] * xv;
    }
  }
  // Lane-wise partial sums of this image go to memory; the caller folds them into double.
#pragma GCC unroll 16
  for (int c = 0; c < CB; ++c)
#pragma GCC unroll 16
    for (int j = 0; j < TB; ++j) {
      R* a = acc_out + (c * acc_stride + j) * W;
      S::store(a, S::load(a) + acc[c][j]);
    }
}

// CB channels, taps in blocks of TB; the last taps % TB taps in one narrower block.
template <class R, int CB, int TB>
void weight_channels(const R* dyq, int dy_stride, const R* in, const int* shift, int taps,
                     int vectors, R* acc, int acc_stride) {
  constexpr int W = Simd<R>::width;
  int j = 0;
  for (; j + TB <= taps; j += TB)
    weight_block<R, CB, TB>(dyq, dy_stride, in, shift + j, vectors, acc + j * W, acc_stride);
  const int r = taps - j;
  const int* sh = shift + j;
  R* a = acc + j * W;
  switch (r) {
    case 0: break;
    case 1: weight_block<R, CB, 1>(dyq, dy_stride, in, sh, vectors, a, acc_stride); break;
    case 2: weight_block<R, CB, 2>(dyq, dy_stride, in, sh, vectors, a, acc_stride); break;
    case 3: weight_block<R, CB, 3>(dyq, dy_stride, in, sh, vectors, a, acc_stride); break;
    case 4: weight_block<R, CB, 4>(dyq, dy_stride, in, sh, vectors, a, acc_stride); break;
    case 5: weight_block<R, CB, 5>(dyq, dy_stride, in, sh, vectors, a, acc_stride); break;
    case 6: weight_block<R, CB, 6>(dyq, dy_stride, in, sh, vectors, a, acc_stride); break;
    default: weight_block<R, CB, 7>(dyq, dy_stride, in, sh, vectors, a, acc_stride); break;
  }
}

// The weight gradient of output channels [c_begin, c_end) for one cotangent, image by image:
// lane-wise partial sums in R over at most ~4096 positions (256 products per lane) are added,
// in lane order, to double sums, since the weight gradient adds N·H·W products. The order of
// every addition depends only on the geometry, never on the caller or the thread.
template <class R>
class WeightGradient {
 public:
  WeightGradient(const ConvGeometry& g, const FlatPlan& p, int c_begin, int c_end)
      : p_(p),
        taps_(g.cin * g.kh * g.kw),
        nc_(c_end - c_begin),
        cb_(channel_block(g.cout)),
        images_per_flush_(std::max(1, 4096 / (p.vectors * W))),
        lanes_(lane_buffer()),
        sum_(sum_buffer()) {
    // Thread-local buffers, reused by every weight gradient on the thread: a 64-channel layer's
    // lanes take ~2 MB, which a fresh allocation would page-fault in on every call.
    lanes_.assign(static_cast<std::size_t>(nc_) * taps_ * W, R(0));
    sum_.assign(static_cast<std::size_t>(nc_) * taps_, 0.0);
  }

  // Channel blocks of up to 4 (x 6 taps: 24 accumulators + 4 dy + 1 input vector registers;
  // with 16 registers up to 3, x 4 taps: 12 + 3 + 1), balanced: 6 channels run as 3 + 3, not
  // 4 + 2.
  static int channel_block(int cout) {
    constexpr int kMaxCB = kVectorRegisters >= 32 ? 4 : 3;
    const int blocks = (cout + kMaxCB - 1) / kMaxCB;
    return (cout + blocks - 1) / blocks;
  }

  // Adds one image: dy of the nc channels at dy + c·dy_stride in the input plan's flat layout
  // (zeros in the overhang columns), the image's packed input at `in`.
  void add_image(const R* dy, int dy_stride, const R* in) {
    const int* sh = p_.shift.data();
    for (int c0 = 0; c0 < nc_; c0 += cb_) {
      const int cb = std::min(cb_, nc_ - c0);
      const R* d = dy + c0 * dy_stride;
      R* acc = lanes_.data() + static_cast<std::size_t>(c0) * taps_ * W;
      switch (cb) {
        case 1:
          weight_channels<R, 1, 8>(d, dy_stride, in, sh, taps_, p_.vectors, acc, taps_);
          break;
        case 2:
          weight_channels<R, 2, tap_block(2)>(d, dy_stride, in, sh, taps_, p_.vectors, acc, taps_);
          break;
        case 3:
          weight_channels<R, 3, tap_block(3)>(d, dy_stride, in, sh, taps_, p_.vectors, acc, taps_);
          break;
        default:
          weight_channels<R, 4, 6>(d, dy_stride, in, sh, taps_, p_.vectors, acc, taps_);
          break;
      }
    }
    if (++images_ % images_per_flush_ == 0) flush();
  }

  // dw[c·taps + j] of the nc channels, after the last image.
  void write(R* dw) {
    flush();
    for (std::size_t i = 0; i < sum_.size(); ++i) dw[i] = static_cast<R>(sum_[i]);
  }

 private:
  static constexpr int W = Simd<R>::width;
  // Taps per block for CB channels: CB·TB accumulators, CB dy vectors and one input vector in
  // registers (at most 8 taps: weight_channels' remainder blocks).
  static constexpr int tap_block(int cb) {
    return kVectorRegisters >= 32 ? 8 : std::min(8, (kVectorRegisters - cb - 1) / cb);
  }
  static std::vector<R>& lane_buffer() {
    thread_local std::vector<R> buffer;
    return buffer;
  }
  static std::vector<double>& sum_buffer() {
    thread_local std::vector<double> buffer;
    return buffer;
  }
  void flush() {
    for (std::size_t i = 0; i < sum_.size(); ++i) {
      double s = 0.0;
      for (int l = 0; l < W; ++l) s += lanes_[i * W + l];
      sum_[i] += s;
    }
    std::fill(lanes_.begin(), lanes_.end(), R(0));
  }

  const FlatPlan& p_;
  const int taps_, nc_, cb_, images_per_flush_;
  int images_ = 0;
  std::vector<R>& lanes_;
  std::vector<double>& sum_;
};

}  // namespace

template <class R>
void conv2d_forward(const ConvGeometry& g, int batch, const R* x, const R* w, R* y, R* packed_x) {
  const FlatPlan p = input_plan<R>(g);
  const int taps = g.cin * g.kh * g.kw;
  const std::vector<R> wpack = pack_weights<R>(
      g.cout, taps, [&](int co, int j) { return w[static_cast<std::int64_t>(co) * taps + j]; });
  const std::int64_t in_plane = std::int64_t{g.h} * g.w, out_plane = std::int64_t{g.ho} * g.wo;
  const int out_stride = p.vectors * Simd<R>::width;
#pragma omp parallel for schedule(static)
  for (int n = 0; n < batch; ++n) {
    const std::int64_t packed_size = std::int64_t{p.planes} * p.plane_size;
    R* in = packed_x ? packed_x + n * packed_size
                     : thread_scratch<R>(0, static_cast<std::size_t>(packed_size));
    R* out = thread_scratch<R>(1, static_cast<std::size_t>(g.cout) * out_stride);
    pack_input(g, p, x + n * g.cin * in_plane, in);
    correlate(in, p, wpack.data(), g.cout, out, out_stride);
    unpack_output<R>(out, out_stride, p.pitch, g.cout, g.ho, g.wo, nullptr, 0, 0,
                     y + n * g.cout * out_plane, false);
  }
}

template <class R>
void conv2d_backward_data(const ConvGeometry& g, int cotangents, int batch, const R* dy, const R* w,
                          const R* relu_input, R* dx, bool accumulate) {
  const std::int64_t in_plane = std::int64_t{g.h} * g.w, out_plane = std::int64_t{g.ho} * g.wo;
  const int kk = g.kh * g.kw;
  const int images = cotangents * batch;
  if (g.sh == 1 && g.sw == 1) {
    data_gradient_stride1<R>(g, images, batch, dy, w, {relu_input, g.cin * in_plane, in_plane, g.w},
                             dx, accumulate);
    return;
  }
  // Strides (sh, sw): split dx into its sh x sw phases (a, b). Phase element (i', j'), i.e.
  // dx[sh·i' + a][sw·j' + b], receives the taps (i, j) with sh | (a + pad_top - i) and
  // sw | (b + pad_left - j), from dy[i' + (a + pad_top - i) / sh][j' + (b + pad_left - j) / sw]:
  // a stride-1 correlation of dy (padded by qh rows on top and qw columns on the left for the
  // negative offsets) per phase, with its own taps.
  constexpr int V = Simd<R>::width;
  const int sh = g.sh, sw = g.sw;
  const int qh = (g.kh - 1 + sh - 1) / sh, qw = (g.kw - 1 + sw - 1) / sw;
  const int dmax_h = (sh - 1 + g.pad_top) / sh, dmax_w = (sw - 1 + g.pad_left) / sw;
  const int phase_h = (g.h + sh - 1) / sh, phase_w = (g.w + sw - 1) / sw;
  const int pitch = qw + std::max(g.wo, phase_w + dmax_w) + 1;
  const int vectors = (phase_h * pitch + V - 1) / V;
  const int max_shift = (qh + dmax_h) * pitch + qw + dmax_w;
  const int plane_size = round_up(
      std::max((qh + std::max(g.ho, phase_h + dmax_h) + 1) * pitch, max_shift + vectors * V), V);
  std::vector<FlatPlan> plans(sh * sw);
  std::vector<std::vector<R>> wpacks(sh * sw);
  for (int a = 0; a < sh; ++a) {
    for (int b = 0; b < sw; ++b) {
      FlatPlan& p = plans[a * sw + b];
      p.pitch = pitch;
      p.rows = phase_h;
      p.positions = phase_h * pitch;
      p.vectors = vectors;
      p.planes = g.cout;
      p.plane_size = plane_size;
      std::vector<int> tap_index;  // co·kh·kw + i·kw + j of each tap
      for (int co = 0; co < g.cout; ++co)
        for (int i = 0; i < g.kh; ++i)
          for (int j = 0; j < g.kw; ++j) {
            const int dh = a + g.pad_top - i, dw = b + g.pad_left - j;
            if (dh % sh != 0 || dw % sw != 0) continue;
            p.shift.push_back(co * plane_size + (qh + dh / sh) * pitch + qw + dw / sw);
            tap_index.push_back(co * kk + i * g.kw + j);
          }
      const int taps = static_cast<int>(tap_index.size());
      wpacks[a * sw + b] = pack_weights<R>(g.cin, taps, [&](int ci, int j) {
        const int co = tap_index[j] / kk, tap = tap_index[j] % kk;
        return w[(static_cast<std::int64_t>(co) * g.cin + ci) * kk + tap];
      });
    }
  }
  const int out_stride = vectors * V;
#pragma omp parallel for schedule(static)
  for (int img = 0; img < images; ++img) {
    R* in = thread_scratch<R>(0, static_cast<std::size_t>(g.cout) * plane_size);
    R* out = thread_scratch<R>(1, static_cast<std::size_t>(g.cin) * out_stride);
    for (int co = 0; co < g.cout; ++co)
      pack_plane(dy + (std::int64_t{img} * g.cout + co) * out_plane, g.ho, g.wo, 1, 1, -qh, -qw,
                 pitch, plane_size, in + co * plane_size);
    R* image = thread_scratch<R>(3, static_cast<std::size_t>(g.cin) * in_plane);
    for (int a = 0; a < sh; ++a) {
      for (int b = 0; b < sw; ++b) {
        const FlatPlan& p = plans[a * sw + b];
        correlate(in, p, wpacks[a * sw + b].data(), g.cin, out, out_stride);
        // Scatter the phase into every sh-th row and sw-th column of the image.
        for (int ci = 0; ci < g.cin; ++ci) {
          for (int i = 0; sh * i + a < g.h; ++i) {
            const R* f = out + static_cast<std::int64_t>(ci) * out_stride + i * pitch;
            R* d = image + (static_cast<std::int64_t>(ci) * g.h + sh * i + a) * g.w + b;
            for (int j = 0; sw * j + b < g.w; ++j) d[sw * j] = f[j];
          }
        }
      }
    }
    // Mask and accumulate in one contiguous pass.
    const R* mask = relu_input ? relu_input + (img % batch) * g.cin * in_plane : nullptr;
    unpack_output<R>(image, static_cast<int>(in_plane), g.w, g.cin, g.h, g.w, mask, g.w, in_plane,
                     dx + img * g.cin * in_plane, accumulate);
  }
}

template <class R>
std::int64_t conv2d_packed_input_size(const ConvGeometry& g) {
  const FlatPlan p = input_plan<R>(g);
  return std::int64_t{p.planes} * p.plane_size;
}

template <class R>
void conv2d_pack_input(const ConvGeometry& g, int batch, const R* x, R* packed) {
  const FlatPlan p = input_plan<R>(g);
  const std::int64_t in_plane = std::int64_t{g.h} * g.w,
                     size = std::int64_t{p.planes} * p.plane_size;
#pragma omp parallel for schedule(static)
  for (int n = 0; n < batch; ++n) pack_input(g, p, x + n * g.cin * in_plane, packed + n * size);
}

template <class R>
void conv2d_backward_weight(const ConvGeometry& g, int cotangents, int batch, const R* dy,
                            const R* x, const R* packed_x, R* dw, std::int64_t dw_stride) {
  const FlatPlan p = input_plan<R>(g);
  const int taps = g.cin * g.kh * g.kw;
  const std::int64_t in_plane = std::int64_t{g.h} * g.w, out_plane = std::int64_t{g.ho} * g.wo;
  const std::int64_t packed_size = std::int64_t{p.planes} * p.plane_size;
  const int dy_stride = p.vectors * Simd<R>::width;
  const int cb = WeightGradient<R>::channel_block(g.cout);
  const int blocks = (g.cout + cb - 1) / cb;
  // A task owns `group` channel blocks of one cotangent and packs each image's input once for
  // all of them; only when there are fewer cotangents than threads (and no enclosing parallel
  // region) does it take single blocks, for parallelism, at the cost of repacking.
  const int group = in_parallel() || cotangents >= max_threads() ? blocks : 1;
  const int groups = (blocks + group - 1) / group;
  // An unpadded 1x1 conv over whole vectors (the channel-mixing products of the grouped
  // algorithms) reads its output planes at their own pitch with nothing to pad: dy is already
  // in the packed layout and is read in place.
  const bool dy_packed = p.pitch == g.wo && dy_stride == out_plane;
#pragma omp parallel for schedule(static)
  for (int task = 0; task < cotangents * groups; ++task) {
    const int t = task / groups, b0 = task % groups * group, b1 = std::min(blocks, b0 + group);
    const int c_begin = b0 * cb, c_end = std::min(g.cout, b1 * cb), nc = c_end - c_begin;
    R* scratch_in =
        packed_x ? nullptr : thread_scratch<R>(0, static_cast<std::size_t>(packed_size));
    R* dyq = dy_packed ? nullptr : thread_scratch<R>(2, static_cast<std::size_t>(nc) * dy_stride);
    WeightGradient<R> grad(g, p, c_begin, c_end);
    for (int n = 0; n < batch; ++n) {
      const R* in = packed_x ? packed_x + n * packed_size : scratch_in;
      if (!packed_x) pack_input(g, p, x + n * g.cin * in_plane, scratch_in);
      const R* dy_image = dy + ((std::int64_t{t} * batch + n) * g.cout + c_begin) * out_plane;
      if (dy_packed) {
        grad.add_image(dy_image, dy_stride, in);
        continue;
      }
      for (int c = 0; c < nc; ++c)
        pack_plane(dy_image + c * out_plane, g.ho, g.wo, 1, 1, 0, 0, p.pitch, dy_stride,
                   dyq + c * dy_stride);
      grad.add_image(dyq, dy_stride, in);
    }
    grad.write(dw + t * dw_stride + static_cast<std::int64_t>(c_begin) * taps);
  }
}

bool conv2d_backward_fusable(const ConvGeometry& g) {
  return g.sh == 1 && g.sw == 1 && 2 * g.pad_top == g.kh - 1 && 2 * g.pad_left == g.kw - 1 &&
         g.ho == g.h && g.wo == g.w;
}

// dy as one tensor, with a deferred batch norm's gradient applied.
template <class R>
std::vector<R> materialize(const ConvGeometry& g, int cotangents, int batch,
                           const ConvOutputGradient<R>& dy) {
  const std::int64_t images = std::int64_t{cotangents} * batch, plane = std::int64_t{g.ho} * g.wo;
  std::vector<R> out(static_cast<std::size_t>(images * g.cout * plane));
#pragma omp parallel for collapse(2) schedule(static)
  for (std::int64_t img = 0; img < images; ++img)
    for (int co = 0; co < g.cout; ++co) {
      const std::int64_t o = (img * g.cout + co) * plane;
      dy.bn[img / batch * g.cout + co].write(static_cast<int>(plane), dy.dy + o,
                                             dy.bn_input + (img % batch * g.cout + co) * plane,
                                             out.data() + o);
    }
  return out;
}

template <class R>
void conv2d_backward(const ConvGeometry& g, int cotangents, int batch,
                     const ConvOutputGradient<R>& dy, const R* packed_x, const R* w, bool relu_mask,
                     R* dx, bool accumulate, R* dw, std::int64_t dw_stride) {
  if (!in_parallel() && cotangents < max_threads()) {
    // Too few cotangents to give every thread one: the separate kernels split images and
    // channel blocks instead, with the same arithmetic.
    std::vector<R> applied;
    if (dy.bn) applied = materialize(g, cotangents, batch, dy);
    const R* dyv = dy.bn ? applied.data() : dy.dy;
    conv2d_backward_weight<R>(g, cotangents, batch, dyv, nullptr, packed_x, dw, dw_stride);
    if (dx)
      data_gradient_stride1<R>(g, cotangents * batch, batch, dyv, w,
                               packed_relu_mask(g, input_plan<R>(g), packed_x, relu_mask), dx,
                               accumulate);
    return;
  }
  // A "same" convolution with symmetric padding pads dy by the same pad_top rows and pad_left
  // columns for the transposed convolution, at the input's pitch: dy's flat layout for the
  // weight gradient is that padded copy shifted by pad_top rows and pad_left columns (its
  // overhang columns are the padding), so one packed dy serves both gradients.
  const FlatPlan in_p = input_plan<R>(g);
  const FlatPlan p = transposed_plan<R>(g);
  const std::vector<R> wpack = transposed_weights(g, w);
  const std::int64_t in_plane = std::int64_t{g.h} * g.w;
  const std::int64_t packed_size = std::int64_t{in_p.planes} * in_p.plane_size;
  const int out_stride = p.vectors * Simd<R>::width;
  const int dy_offset = g.pad_top * p.pitch + g.pad_left;
  const MaskView<R> mask = packed_relu_mask(g, in_p, packed_x, relu_mask);
#pragma omp parallel for schedule(static)
  for (int t = 0; t < cotangents; ++t) {
    R* dyp = clear_planes<R>(p);
    R* out = thread_scratch<R>(1, static_cast<std::size_t>(g.cin) * out_stride);
    WeightGradient<R> grad(g, in_p, 0, g.cout);
    for (int n = 0; n < batch; ++n) {
      const std::int64_t img = std::int64_t{t} * batch + n;
      const R* in = packed_x + n * packed_size;
      pack_dy(g, p, dy, img, batch, dyp);
      grad.add_image(dyp + dy_offset, p.plane_size, in);
      if (!dx) continue;
      correlate(dyp, p, wpack.data(), g.cin, out, out_stride);
      // The ReLU output x > 0 exactly where its input is: the mask is the packed input itself.
      const R* m = mask.data ? mask.data + n * mask.image_stride : nullptr;
      unpack_output<R>(out, out_stride, p.pitch, g.cin, g.h, g.w, m, mask.pitch, mask.plane_stride,
                       dx + img * g.cin * in_plane, accumulate);
    }
    grad.write(dw + t * dw_stride);
  }
}

static_assert(PointwiseProduct<float>::kChannelBlock == kMaxChannelBlock,
              "a product's channel blocks are the micro-kernel's");

template <class R>
PointwiseProduct<R>::PointwiseProduct(int nin, int nout, int positions, const R* w, bool transposed)
    : nin_(nin), nout_(nout), positions_(positions) {
  if (positions % Simd<R>::width != 0)
    throw Error(Status::kInternal, "pointwise product: positions not a multiple of the vector");
  for (int i = 0; i < nin; ++i) shift_.push_back(i * positions);
  // w is [nout][nin], or [nin][nout] read transposed.
  wpack_ = pack_weights<R>(nout, nin, [&](int o, int i) {
    return transposed ? w[static_cast<std::int64_t>(i) * nout + o]
                      : w[static_cast<std::int64_t>(o) * nin + i];
  });
}

template <class R>
void PointwiseProduct<R>::operator()(const R* in, int c_begin, int c_end, R* out) const {
  if (c_begin % kChannelBlock != 0 || c_begin < 0 || c_end > nout_ || c_end < c_begin)
    throw Error(Status::kInternal, "pointwise product: bad channel range");
  correlate_taps(in, shift_.data(), nin_, positions_ / Simd<R>::width,
                 wpack_.data() + static_cast<std::int64_t>(c_begin) * nin_, c_end - c_begin, out,
                 positions_);
}

#define MICRONAS_INSTANTIATE(R)                                                                 \
  template void conv2d_forward<R>(const ConvGeometry&, int, const R*, const R*, R*, R*);        \
  template void conv2d_backward_data<R>(const ConvGeometry&, int, int, const R*, const R*,      \
                                        const R*, R*, bool);                                    \
  template void conv2d_backward_weight<R>(const ConvGeometry&, int, int, const R*, const R*,    \
                                          const R*, R*, std::int64_t);                          \
  template std::int64_t conv2d_packed_input_size<R>(const ConvGeometry&);                       \
  template void conv2d_backward<R>(const ConvGeometry&, int, int, const ConvOutputGradient<R>&, \
                                   const R*, const R*, bool, R*, bool, R*, std::int64_t);       \
  template void conv2d_pack_input<R>(const ConvGeometry&, int, const R*, R*);                   \
  template class PointwiseProduct<R>;
MICRONAS_INSTANTIATE(float)
MICRONAS_INSTANTIATE(double)
#undef MICRONAS_INSTANTIATE

}  // namespace micronas::cpu
