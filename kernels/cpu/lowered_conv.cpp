// One-dimensional convs as one channel-mixing product: kernel (k, 1) or (1, k), any strides and
// padding, at least 24 output channels (the time-series Sensor-Fusion bottlenecks (1, S) and
// reducing residual projections (1, 2), and Time-Reduce convs (k, 1) at stride (2, 1) where the
// space's widths reach 24; the stride-1 branches go to Winograd first). The direct kernels run
// these at half their speed: a (1, 5) "same" conv on 5 sensors reads a padded row of 9 for 5
// outputs, so nearly half of every vector is overhang, and a stride splits the input into phases of
// a few rows each. Lowering the taps instead (im2col) makes the conv a product of w
// [cout][cin·kh·kw] with a [cin·kh·kw][positions] matrix whose positions are every (output row,
// output column, image) of a 16-image group (image_groups.hpp): long, vector-aligned runs with no
// overhang, on the direct micro-kernel (PointwiseProduct).
//
//   forward:  L[(ci, i, j)][(to, so, n)] = x[n][ci][sh·to + i - pad_top][sw·so + j - pad_left]
//             (0 outside); y = w · L (L is kept for the weight gradient, like the direct
//             kernels' packed x)
//   backward: dw = dY · Lᵀ (a 1x1 weight gradient), dL = wᵀ · dY, dx = the sum of dL over
//             the taps that read each input (col2im), tap by tap in order.
//
// Bitwise the same for any thread count; equal to the direct kernels up to the order of each
// sum (the tests state the tolerance).
#include <algorithm>
#include <vector>

#include "kernels/cpu/cpu_kernels.hpp"
#include "kernels/cpu/image_groups.hpp"
#include "kernels/cpu/scratch.hpp"
#include "micronas/error.hpp"

namespace micronas::cpu {
namespace {

// This file's thread_scratch slots (scratch.hpp), shared with winograd.cpp.
constexpr int kRowsSlot = 4, kBlockSlot = 5, kGradSlot = 6;

struct Lowering {
  int taps;                // cin·kw: the product's inputs
  int groups;              // ceil(batch / 16)
  int run;                 // one output row of a group: wo sensors x 16 images
  int positions;           // per group: ho·run
  ConvGeometry pointwise;  // the product as a 1x1 conv: taps -> cout over `positions`

  Lowering(const ConvGeometry& g, int batch)
      : taps(g.cin * g.kh * g.kw),
        groups(image_groups(batch)),
        run(g.wo * kGroup),
        positions(g.ho * run),
        pointwise{taps, 1, positions, g.cout, 1, 1, 1, 1, 0, 0, 1, positions} {}
  std::int64_t group_size(int channels) const { return std::int64_t{channels} * positions; }
};

// Output row to (column so) of tap row i (column j) reads input row sh·to + i - pad_top (column
// sw·so + j - pad_left).
int input_row(const ConvGeometry& g, int to, int i) { return g.sh * to + i - g.pad_top; }
int input_column(const ConvGeometry& g, int so, int j) { return g.sw * so + j - g.pad_left; }

}  // namespace

bool lowered_conv_applicable(const ConvGeometry& g) {
  // With fewer than two full blocks of output channels the product does not repay the lowering:
  // a Time-Reduce conv (5, 1) 16 -> 16 at stride (2, 1) ran 1.15x slower forward than direct.
  return (g.kh == 1) != (g.kw == 1) && g.cin * g.kh * g.kw >= 16 &&
         g.cout >= 2 * PointwiseProduct<float>::kChannelBlock;
}

bool lowered_conv_pays(const ConvGeometry& g, int batch) {
  return lowered_conv_applicable(g) && groups_fill(batch);
}

template <class R>
std::int64_t lowered_input_size(const ConvGeometry& g, int batch) {
  const Lowering l(g, batch);
  return l.groups * l.group_size(l.taps);
}

template <class R>
void lowered_conv_forward(const ConvGeometry& g, int batch, const R* x, const R* w, R* y,
                          R* lowered_x) {
  if (!lowered_conv_applicable(g))
    throw Error(Status::kInternal, "lowered_conv_forward: unsupported conv");
  const Lowering l(g, batch);
  const std::int64_t plane = std::int64_t{g.h} * g.w, out_plane = std::int64_t{g.ho} * g.wo;
  const int in_run = g.w * kGroup;
  for_each_group_channel(l.groups, batch, g.cin, [&](int b, int c, int count) {
    R* rows = thread_scratch<R>(kRowsSlot, static_cast<std::size_t>(g.h) * in_run);
    std::fill(rows, rows + std::int64_t{g.h} * in_run, R(0));
    gather_group(x + (std::int64_t{b} * kGroup * g.cin + c) * plane, g.cin * plane, g.h, g.w, count,
                 0, rows);
    for (int i = 0; i < g.kh; ++i)
      for (int j = 0; j < g.kw; ++j) {
        R* dst = lowered_x + b * l.group_size(l.taps) +
                 std::int64_t{(c * g.kh + i) * g.kw + j} * l.positions;
        for (int to = 0; to < g.ho; ++to)
          for (int so = 0; so < g.wo; ++so) {
            const int r = input_row(g, to, i), s = input_column(g, so, j);
            R* d = dst + to * l.run + so * kGroup;
            if (r < 0 || r >= g.h || s < 0 || s >= g.w) {
              std::fill(d, d + kGroup, R(0));
            } else {
              const R* src = rows + r * in_run + s * kGroup;
              std::copy(src, src + kGroup, d);
            }
          }
      }
  });
  const PointwiseProduct<R> product(l.taps, g.cout, l.positions, w, false);
  for_each_channel_block(l.groups, batch, g.cout, [&](int b, int c0, int nc, int count) {
    R* block = thread_scratch<R>(kBlockSlot, static_cast<std::size_t>(nc) * l.positions);
    product(lowered_x + b * l.group_size(l.taps), c0, c0 + nc, block);
    for (int c = 0; c < nc; ++c)
      scatter_group(block + c * l.positions, g.ho, g.wo, count, 0, g.cout * out_plane,
                    y + (std::int64_t{b} * kGroup * g.cout + c0 + c) * out_plane, false);
  });
}

template <class R>
void lowered_conv_backward(const ConvGeometry& g, int batch, const R* dy, const R* lowered_x,
                           const R* w, R* dx, bool accumulate, R* dw) {
  if (!lowered_conv_applicable(g))
    throw Error(Status::kInternal, "lowered_conv_backward: unsupported conv");
  const Lowering l(g, batch);
  const std::int64_t plane = std::int64_t{g.h} * g.w, out_plane = std::int64_t{g.ho} * g.wo;
  // dY in the group layout (zero lanes past the batch).
  R* dgroup =
      thread_scratch<R>(kGradSlot, static_cast<std::size_t>(l.groups * l.group_size(g.cout)));
  for_each_group_channel(l.groups, batch, g.cout, [&](int b, int c, int count) {
    R* d = dgroup + (std::int64_t{b} * g.cout + c) * l.positions;
    if (count < kGroup) std::fill(d, d + l.positions, R(0));
    gather_group(dy + (std::int64_t{b} * kGroup * g.cout + c) * out_plane, g.cout * out_plane, g.ho,
                 g.wo, count, 0, d);
  });
  // dw [cout][cin·kw] is w's layout: the 1x1 weight gradient writes it directly. L is the 1x1
  // kernels' packed input (positions are a multiple of every vector width).
  conv2d_backward_weight<R>(l.pointwise, 1, l.groups, dgroup, nullptr, lowered_x, dw, 0);
  if (!dx) return;
  const PointwiseProduct<R> transposed(g.cout, l.taps, l.positions, w, true);
  const int in_run = g.w * kGroup;
  for_each_channel_block(l.groups, batch, g.cin, [&](int b, int c0, int nc, int count) {
    const int kk = g.kh * g.kw;
    R* dl = thread_scratch<R>(kBlockSlot, static_cast<std::size_t>(nc) * kk * l.positions);
    R* rows = thread_scratch<R>(kRowsSlot, static_cast<std::size_t>(g.h) * in_run);
    transposed(dgroup + b * l.group_size(g.cout), c0 * kk, (c0 + nc) * kk, dl);
    for (int c = 0; c < nc; ++c) {
      std::fill(rows, rows + std::int64_t{g.h} * in_run, R(0));
      for (int i = 0; i < g.kh; ++i)
        for (int j = 0; j < g.kw; ++j) {
          const R* src = dl + std::int64_t{(c * g.kh + i) * g.kw + j} * l.positions;
          for (int to = 0; to < g.ho; ++to)
            for (int so = 0; so < g.wo; ++so) {
              const int r = input_row(g, to, i), s = input_column(g, so, j);
              if (r >= 0 && r < g.h && s >= 0 && s < g.w)
                axpy(R(1), src + to * l.run + so * kGroup, rows + r * in_run + s * kGroup, kGroup);
            }
        }
      scatter_group(rows, g.h, g.w, count, 0, g.cin * plane,
                    dx + (std::int64_t{b} * kGroup * g.cin + c0 + c) * plane, accumulate);
    }
  });
}

#define MICRONAS_INSTANTIATE(R)                                                                  \
  template std::int64_t lowered_input_size<R>(const ConvGeometry&, int);                         \
  template void lowered_conv_forward<R>(const ConvGeometry&, int, const R*, const R*, R*, R*);   \
  template void lowered_conv_backward<R>(const ConvGeometry&, int, const R*, const R*, const R*, \
                                         R*, bool, R*);
MICRONAS_INSTANTIATE(float)
MICRONAS_INSTANTIATE(double)
#undef MICRONAS_INSTANTIATE

}  // namespace micronas::cpu
