// Winograd (Toom-Cook) convolution along time for the time-series branch convs: kernel (k, 1),
// k ∈ {3, 5, 7}, stride 1, TensorFlow "same" padding, 16 or more channels in and out. These
// convs are two thirds of a supernet training step's multiply-adds; the minimal filtering
// algorithm F(m, k) computes m outputs of a k-tap correlation from an α = m + k - 1 input tile
// with α multiplications instead of m·k:
//
//     y = Aᵀ [ (G w) ⊙ (Bᵀ d) ]          (per input channel, summed over input channels)
//
// Bᵀ (α x α) transforms an input tile d, G (α x k) the kernel, Aᵀ (m x α) the product back.
// Summed over channels, the α products become α independent channel-mixing matrix products:
// Y[ξ] = W̃[ξ] · U[ξ] with W̃[ξ] = (G w)[ξ] (cout x cin) and U[ξ] = (Bᵀ d)[ξ] over all tiles,
// which the direct kernels compute as 1x1 convolutions. The backward passes are the exact
// gradients of the same algorithm: dY[ξ] = (A dy)[ξ]; dU[ξ] = W̃[ξ]ᵀ dY[ξ] (a 1x1 data gradient),
// scattered back as dd = B dU over the overlapping tiles; dW̃[ξ] = dY[ξ] Uᵀ (a 1x1 weight
// gradient) and dw = Gᵀ dW̃.
//
// Tiles: m = 4 outputs for every k (α = 6, 8, 10: 2x, 2.5x and 2.8x fewer products; a 16-step
// window is exactly 4 tiles). Points 0, ±1, ±2, ±1/2, ±3/2 and ∞: the float error against the
// exact sum is at most ~1e-6 of the largest value for k = 3 and 5 and ~5e-6 for k = 7 (±3 or
// ±4 as the last pair: 8e-6 and 1.1e-5; m = 2 for k = 7, α = 8: 1e-6 but 1.75x). The
// matrices are built in double from the points (G: the Vandermonde rows of the kernel's
// polynomial, Aᵀ: those of the output's, Bᵀ: the transpose of the inverse α x α Vandermonde
// matrix) rather than typed in.
//
// Layout: 16 images side by side, image innermost. A group of 16 images' channel c is first
// gathered as X[row][sensor][image] (zero padding rows, zero images past the batch), so that tap
// τ of a tile reads one contiguous run of w·16 values (every sensor of every image) and each
// transform row is a few full-vector multiply-adds with no remainder. The transformed domain
// keeps that order: per component ξ, group and channel, `positions` = tiles·w·16 values, which
// the 1x1 products treat as one image.
//
// Determinism: the transforms are elementwise in a fixed order and the matrix products are the
// direct kernels', so results are bitwise the same for any thread count.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/cpu_kernels.hpp"
#include "kernels/cpu/image_groups.hpp"
#include "kernels/cpu/scratch.hpp"
#include "kernels/cpu/simd.hpp"
#include "micronas/error.hpp"

namespace micronas::cpu {
namespace {

struct Transform {
  int m = 0, k = 0, alpha = 0;
  std::vector<double> bt;  // alpha x alpha
  std::vector<double> g;   // alpha x k
  std::vector<double> at;  // m x alpha
};

// Rows of the evaluation of a polynomial with n coefficients at each point and at ∞ (its
// leading coefficient): alpha x n.
std::vector<double> vandermonde(const std::vector<double>& points, int n) {
  const int alpha = static_cast<int>(points.size()) + 1;
  std::vector<double> v(static_cast<std::size_t>(alpha) * n, 0.0);
  for (int i = 0; i + 1 < alpha; ++i) {
    double p = 1.0;
    for (int j = 0; j < n; ++j, p *= points[i]) v[i * n + j] = p;
  }
  v[(alpha - 1) * n + n - 1] = 1.0;
  return v;
}

// The inverse of an n x n matrix (Gauss-Jordan, partial pivoting; n <= 8 and well conditioned).
std::vector<double> inverse(std::vector<double> a, int n) {
  std::vector<double> inv(static_cast<std::size_t>(n) * n, 0.0);
  for (int i = 0; i < n; ++i) inv[i * n + i] = 1.0;
  for (int c = 0; c < n; ++c) {
    int pivot = c;
    for (int r = c + 1; r < n; ++r)
      if (std::abs(a[r * n + c]) > std::abs(a[pivot * n + c])) pivot = r;
    for (int j = 0; j < n; ++j) {
      std::swap(a[c * n + j], a[pivot * n + j]);
      std::swap(inv[c * n + j], inv[pivot * n + j]);
    }
    const double d = a[c * n + c];
    for (int j = 0; j < n; ++j) a[c * n + j] /= d, inv[c * n + j] /= d;
    for (int r = 0; r < n; ++r) {
      if (r == c) continue;
      const double f = a[r * n + c];
      for (int j = 0; j < n; ++j)
        a[r * n + j] -= f * a[c * n + j], inv[r * n + j] -= f * inv[c * n + j];
    }
  }
  return inv;
}

// F(m, k) as the transpose of the Toom-Cook polynomial product: a correlation y = Convᵀ d where
// Conv multiplies by the kernel's polynomial, Conv = V⁻¹ diag(V_k w) V_m, so
// y = V_mᵀ [ (V_k w) ⊙ (V⁻ᵀ d) ].
Transform make_transform(int m, int k) {
  Transform t;
  t.m = m, t.k = k, t.alpha = m + k - 1;
  const std::vector<double> all = {0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 1.5, -1.5};
  const std::vector<double> points(all.begin(), all.begin() + (t.alpha - 1));
  t.g = vandermonde(points, k);
  const std::vector<double> vm = vandermonde(points, m);
  t.at.resize(static_cast<std::size_t>(m) * t.alpha);
  for (int i = 0; i < t.alpha; ++i)
    for (int j = 0; j < m; ++j) t.at[j * t.alpha + i] = vm[i * m + j];
  const std::vector<double> vinv = inverse(vandermonde(points, t.alpha), t.alpha);
  t.bt.resize(static_cast<std::size_t>(t.alpha) * t.alpha);
  for (int i = 0; i < t.alpha; ++i)
    for (int j = 0; j < t.alpha; ++j) t.bt[i * t.alpha + j] = vinv[j * t.alpha + i];
  return t;
}

constexpr int kMaxAlpha = 10;

const Transform& transform_for(int k) {
  static const Transform t3 = make_transform(4, 3), t5 = make_transform(4, 5),
                         t7 = make_transform(4, 7);
  return k == 3 ? t3 : k == 5 ? t5 : t7;
}

struct Plan {
  const Transform& t;
  int m, alpha, w;
  int tiles;               // output tiles along time: ceil(h / m)
  int run;                 // one row of a group: w sensors x kGroup images
  int rows;                // padded input rows the tiles read: (tiles - 1)·m + alpha
  int groups;              // ceil(batch / kGroup)
  int positions;           // values per channel of a group in the transformed domain: tiles·run
  ConvGeometry pointwise;  // the 1x1 products: cin -> cout over `positions`

  Plan(const ConvGeometry& g, int batch)
      : t(transform_for(g.kh)),
        m(t.m),
        alpha(t.alpha),
        w(g.w),
        tiles((g.h + t.m - 1) / t.m),
        run(g.w * kGroup),
        rows((tiles - 1) * t.m + t.alpha),
        groups(image_groups(batch)),
        positions(tiles * run),
        pointwise{g.cin, 1, positions, g.cout, 1, 1, 1, 1, 0, 0, 1, positions} {}
  // Channel c of group b in component xi, for `channels` channels.
  std::int64_t offset(int xi, int b, int c, int channels) const {
    return ((std::int64_t{xi} * groups + b) * channels + c) * positions;
  }
  std::int64_t component(int channels) const { return std::int64_t{groups} * channels * positions; }
  std::int64_t size(int channels) const { return alpha * component(channels); }
};

// One row (or column) of a transform: its non-zero coefficients and where each term's run
// starts relative to a base pointer.
template <class R>
struct Terms {
  int n = 0;
  R coef[kMaxAlpha];
  std::int64_t offset[kMaxAlpha];
};

// The terms of row `row` of an r x c matrix (transposed: column `row`), term j at j·step.
template <class R>
Terms<R> terms_of(const std::vector<double>& matrix, int r, int c, int row, bool transposed,
                  std::int64_t step) {
  Terms<R> t;
  const int count = transposed ? r : c;
  for (int j = 0; j < count; ++j) {
    const double v = transposed ? matrix[j * c + row] : matrix[row * c + j];
    if (v == 0.0) continue;
    t.coef[t.n] = static_cast<R>(v);
    t.offset[t.n++] = j * step;
  }
  return t;
}

// out[q] = Σ_j coef[j] · base[offset[j] + q] for q < n (a multiple of the vector width), the
// terms in order, each output summed in a register and stored once.
template <class R>
void combine(const Terms<R>& t, const R* base, R* out, int n) {
  using S = Simd<R>;
  using V = typename S::V;
  for (int q = 0; q < n; q += S::width) {
    V sum = V{};
    for (int j = 0; j < t.n; ++j) sum += t.coef[j] * S::load(base + t.offset[j] + q);
    S::store(out + q, sum);
  }
}

// This file's thread_scratch slots (scratch.hpp).
constexpr int kRowsSlot = 4, kBlockSlot = 5, kProductGradSlot = 6, kWeightGradSlot = 7,
              kWeightsSlot = 8;

// W̃[ξ] = Σ_j G[ξ][j] w[:, :, j]: alpha x cout x cin, in the calling thread's scratch.
template <class R>
const R* transform_weights(const ConvGeometry& g, const Plan& p, const R* w) {
  const int k = g.kh;
  const std::int64_t pairs = std::int64_t{g.cout} * g.cin;
  R* wt = thread_scratch<R>(kWeightsSlot, static_cast<std::size_t>(p.alpha * pairs));
  for (int xi = 0; xi < p.alpha; ++xi)
    for (std::int64_t c = 0; c < pairs; ++c) {
      double s = 0.0;
      for (int j = 0; j < k; ++j) s += p.t.g[xi * k + j] * static_cast<double>(w[c * k + j]);
      wt[xi * pairs + c] = static_cast<R>(s);
    }
  return wt;
}

// The α channel-mixing products of a conv: W̃[ξ] (transposed: W̃[ξ]ᵀ, for the data gradient).
template <class R>
std::vector<PointwiseProduct<R>> component_products(const ConvGeometry& g, const Plan& p,
                                                    const R* w, bool transposed) {
  const R* wt = transform_weights(g, p, w);
  const std::int64_t pairs = std::int64_t{g.cout} * g.cin;
  std::vector<PointwiseProduct<R>> products;
  for (int xi = 0; xi < p.alpha; ++xi)
    products.emplace_back(transposed ? g.cout : g.cin, transposed ? g.cin : g.cout, p.positions,
                          wt + xi * pairs, transposed);
  return products;
}

}  // namespace

bool winograd_applicable(const ConvGeometry& g) {
  return g.kw == 1 && (g.kh == 3 || g.kh == 5 || g.kh == 7) && g.sh == 1 && g.sw == 1 &&
         g.pad_left == 0 && 2 * g.pad_top == g.kh - 1 && g.ho == g.h && g.wo == g.w &&
         g.cin >= 16 && g.cout >= 16;
}

bool winograd_pays(const ConvGeometry& g, int batch) {
  // Batch 8 on BasicMotions' branches: 1.2-1.4x slower than direct; batch 16: 1.2-1.5x faster.
  return winograd_applicable(g) && groups_fill(batch);
}

template <class R>
std::int64_t winograd_input_size(const ConvGeometry& g, int batch) {
  return Plan(g, batch).size(g.cin);
}

template <class R>
void winograd_forward(const ConvGeometry& g, int batch, const R* x, const R* w, R* y,
                      R* transformed_x) {
  if (!winograd_applicable(g)) throw Error(Status::kInternal, "winograd_forward: unsupported conv");
  const Plan p(g, batch);
  const std::int64_t plane = std::int64_t{g.h} * g.w;
  // U[ξ] = Bᵀ d over every tile: tap τ of tile t is padded row t·m + τ.
  std::vector<Terms<R>> input_rows(p.alpha);
  for (int xi = 0; xi < p.alpha; ++xi)
    input_rows[xi] = terms_of<R>(p.t.bt, p.alpha, p.alpha, xi, false, p.run);
  for_each_group_channel(p.groups, batch, g.cin, [&](int b, int c, int count) {
    R* rows = thread_scratch<R>(kRowsSlot, static_cast<std::size_t>(p.rows) * p.run);
    std::fill(rows, rows + std::int64_t{p.rows} * p.run, R(0));
    gather_group(x + (std::int64_t{b} * kGroup * g.cin + c) * plane, g.cin * plane, g.h, g.w, count,
                 g.pad_top, rows);
    for (int tile = 0; tile < p.tiles; ++tile)
      for (int xi = 0; xi < p.alpha; ++xi)
        combine(input_rows[xi], rows + tile * p.m * p.run,
                transformed_x + p.offset(xi, b, c, g.cin) + tile * p.run, p.run);
  });
  // Per group and block of output channels: Y[ξ] = W̃[ξ] U[ξ] for every component into the
  // thread's cache (α x 12 channels x positions), then y = Aᵀ Y summed in registers, and the
  // rows go to the images: the products never make the round trip through memory.
  const std::vector<PointwiseProduct<R>> products = component_products(g, p, w, false);
  const std::int64_t out_rows = std::int64_t{p.tiles} * p.m * p.run;
  const std::int64_t block_component =
      std::int64_t{PointwiseProduct<R>::kChannelBlock} * p.positions;
  std::vector<Terms<R>> output_rows(p.m);
  for (int i = 0; i < p.m; ++i)
    output_rows[i] = terms_of<R>(p.t.at, p.m, p.alpha, i, false, block_component);
  for_each_channel_block(p.groups, batch, g.cout, [&](int b, int c0, int nc, int count) {
    R* prod = thread_scratch<R>(kBlockSlot, static_cast<std::size_t>(p.alpha * block_component));
    R* rows = thread_scratch<R>(kRowsSlot, static_cast<std::size_t>(out_rows));
    for (int xi = 0; xi < p.alpha; ++xi)
      products[xi](transformed_x + p.offset(xi, b, 0, g.cin), c0, c0 + nc,
                   prod + xi * block_component);
    for (int c = 0; c < nc; ++c) {
      for (int tile = 0; tile < p.tiles; ++tile)
        for (int i = 0; i < p.m; ++i)
          combine(output_rows[i], prod + c * p.positions + tile * p.run,
                  rows + (tile * p.m + i) * p.run, p.run);
      scatter_group(rows, g.ho, g.wo, count, 0, g.cout * plane,
                    y + (std::int64_t{b} * kGroup * g.cout + c0 + c) * plane, false);
    }
  });
}

template <class R>
void winograd_backward(const ConvGeometry& g, int batch, const R* dy, const R* transformed_x,
                       const R* w, R* dx, bool accumulate, R* dw) {
  if (!winograd_applicable(g))
    throw Error(Status::kInternal, "winograd_backward: unsupported conv");
  const Plan p(g, batch);
  const std::int64_t plane = std::int64_t{g.h} * g.w;
  const std::int64_t u_xi = p.component(g.cin), y_xi = p.component(g.cout);
  // dY[ξ] = A dy: output row t·m + i of tile t (zero past the last row and the batch).
  R* dprod = thread_scratch<R>(kProductGradSlot, static_cast<std::size_t>(p.size(g.cout)));
  std::vector<Terms<R>> dy_rows(p.alpha);
  for (int xi = 0; xi < p.alpha; ++xi)
    dy_rows[xi] = terms_of<R>(p.t.at, p.m, p.alpha, xi, true, p.run);
  for_each_group_channel(p.groups, batch, g.cout, [&](int b, int c, int count) {
    R* rows = thread_scratch<R>(kRowsSlot, static_cast<std::size_t>(p.tiles) * p.m * p.run);
    std::fill(rows, rows + std::int64_t{p.tiles} * p.m * p.run, R(0));
    gather_group(dy + (std::int64_t{b} * kGroup * g.cout + c) * plane, g.cout * plane, g.ho, g.wo,
                 count, 0, rows);
    for (int tile = 0; tile < p.tiles; ++tile)
      for (int xi = 0; xi < p.alpha; ++xi)
        combine(dy_rows[xi], rows + tile * p.m * p.run,
                dprod + p.offset(xi, b, c, g.cout) + tile * p.run, p.run);
  });
  // dW̃[ξ] = dY[ξ] U[ξ]ᵀ, then dw = Gᵀ dW̃. U's layout is the 1x1 kernels' packed input
  // (positions are a multiple of every vector width), so it is passed as packed.
  const std::int64_t pairs = std::int64_t{g.cout} * g.cin;
  R* dwt = thread_scratch<R>(kWeightGradSlot, static_cast<std::size_t>(p.alpha * pairs));
  for (int xi = 0; xi < p.alpha; ++xi)
    conv2d_backward_weight<R>(p.pointwise, 1, p.groups, dprod + xi * y_xi, nullptr,
                              transformed_x + xi * u_xi, dwt + xi * pairs, 0);
  for (std::int64_t c = 0; c < pairs; ++c)
    for (int j = 0; j < g.kh; ++j) {
      double s = 0.0;
      for (int xi = 0; xi < p.alpha; ++xi)
        s += p.t.g[xi * g.kh + j] * static_cast<double>(dwt[xi * pairs + c]);
      dw[c * g.kh + j] = static_cast<R>(s);
    }
  if (!dx) return;
  // Per group and block of input channels: dU[ξ] = W̃[ξ]ᵀ dY[ξ] for every component into the
  // thread's cache, then dd = B dU summed in registers and added over the overlapping tiles'
  // rows in tile order, and the rows go to the images.
  const std::vector<PointwiseProduct<R>> products = component_products(g, p, w, true);
  const std::int64_t in_rows = std::int64_t{p.rows} * p.run;
  const std::int64_t block_component =
      std::int64_t{PointwiseProduct<R>::kChannelBlock} * p.positions;
  std::vector<Terms<R>> input_taps(p.alpha);
  for (int tau = 0; tau < p.alpha; ++tau)
    input_taps[tau] = terms_of<R>(p.t.bt, p.alpha, p.alpha, tau, true, block_component);
  for_each_channel_block(p.groups, batch, g.cin, [&](int b, int c0, int nc, int count) {
    R* du = thread_scratch<R>(kBlockSlot, static_cast<std::size_t>(p.alpha * block_component));
    R* rows = thread_scratch<R>(kRowsSlot, static_cast<std::size_t>(in_rows + p.run));
    R* tap = rows + in_rows;
    for (int xi = 0; xi < p.alpha; ++xi)
      products[xi](dprod + p.offset(xi, b, 0, g.cout), c0, c0 + nc, du + xi * block_component);
    for (int c = 0; c < nc; ++c) {
      std::fill(rows, rows + in_rows, R(0));
      for (int tile = 0; tile < p.tiles; ++tile)
        for (int tau = 0; tau < p.alpha; ++tau) {
          combine(input_taps[tau], du + c * p.positions + tile * p.run, tap, p.run);
          axpy(R(1), tap, rows + (tile * p.m + tau) * p.run, p.run);
        }
      scatter_group(rows, g.h, g.w, count, g.pad_top, g.cin * plane,
                    dx + (std::int64_t{b} * kGroup * g.cin + c0 + c) * plane, accumulate);
    }
  });
}

#define MICRONAS_INSTANTIATE(R)                                                                  \
  template std::int64_t winograd_input_size<R>(const ConvGeometry&, int);                        \
  template void winograd_forward<R>(const ConvGeometry&, int, const R*, const R*, R*, R*);       \
  template void winograd_backward<R>(const ConvGeometry&, int, const R*, const R*, const R*, R*, \
                                     bool, R*);
MICRONAS_INSTANTIATE(float)
MICRONAS_INSTANTIATE(double)
#undef MICRONAS_INSTANTIATE

}  // namespace micronas::cpu
