// OpenMP CPU kernels of the network layers, forward and backward, in float and double.
//
// Layouts are NCHW, contiguous. Backward kernels carry T cotangents at once: a gradient tensor is
// [T, N, C, H, W] (cotangent-major) while the saved forward activations are [N, C, H, W]. T = 1 is
// the ordinary backward pass; T = N gives all rows of a Jacobian in one pass (each row is the
// gradient of one output row of the batch function, coupled through BN's batch statistics).
//
// Determinism: every output element is produced by one thread with a fixed reduction order, so
// results are bitwise identical for any thread count. Data-gradient kernels take `accumulate`:
// false overwrites dx, true adds to it (a tensor read by several layers sums their gradients).
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/common/geometry.hpp"

namespace micronas::cpu {

using micronas::ConvGeometry;
using micronas::PoolGeometry;

// The input gradient of a training-mode batch norm for one (cotangent, channel) as an affine
// map of its output gradient g and its input x: dx = a·g + b·(x − μ) + d (dy_scale folded in).
template <class R>
struct BatchNormDx {
  R a = 0, b = 0, d = 0, mu = 0;
  // dx[i] = (or +=) the map of g[i], x[i] for i < n.
  void write(int n, const R* g, const R* x, R* dx) const {
    const R ka = a, kb = b, kd = d, m = mu;
#pragma omp simd
    for (int i = 0; i < n; ++i) dx[i] = ka * g[i] + kb * (x[i] - m) + kd;
  }
  void add_to(int n, const R* g, const R* x, R* dx) const {
    const R ka = a, kb = b, kd = d, m = mu;
#pragma omp simd
    for (int i = 0; i < n; ++i) dx[i] += ka * g[i] + kb * (x[i] - m) + kd;
  }
};
// A conv's output gradient dy [T, N, cout, ho, wo], or, with bn set, the gradient that a batch
// norm reading the conv's output (and nothing else does) left unapplied
// (batch_norm_input_gradient): dy[t, n, c] = bn[t·cout + c] applied to g = dy[t, n, c] and
// x = bn_input[n, c], the conv's output.
template <class R>
struct ConvOutputGradient {
  const R* dy = nullptr;
  const R* bn_input = nullptr;
  const BatchNormDx<R>* bn = nullptr;
};

// y[n] = conv(x[n], w); w is [cout, cin, k, k]; no bias. packed_x, if not null, receives x as
// conv2d_pack_input writes it (conv2d_packed_input_size values per image): training keeps it for
// the weight gradient instead of packing x again.
template <class R>
void conv2d_forward(const ConvGeometry& g, int batch, const R* x, const R* w, R* y,
                    R* packed_x = nullptr);
// dx[t, n] (+)= conv_transpose(dy[t, n], w) for t < cotangents, n < batch. With relu_input
// ([N, cin, H, W], the pre-activation of a ReLU feeding this conv) the ReLU's backward is fused:
// dx[t, n] (+)= [relu_input[n] > 0] ⊙ conv_transpose(dy[t, n], w), so the gradient of the ReLU's
// output is never stored.
template <class R>
void conv2d_backward_data(const ConvGeometry& g, int cotangents, int batch, const R* dy, const R* w,
                          const R* relu_input, R* dx, bool accumulate);
// dw[t] = Σ_n correlate(dy[t, n], x[n]) for t < cotangents, written to dw + t * dw_stride.
// packed_x, if not null, holds x as conv2d_pack_input wrote it and x is not read: a Jacobian
// runs one weight gradient per cotangent on the same x, so it packs x once.
template <class R>
void conv2d_backward_weight(const ConvGeometry& g, int cotangents, int batch, const R* dy,
                            const R* x, const R* packed_x, R* dw, std::int64_t dw_stride);
// x [batch, cin, h, w] as the weight gradient reads it: each image zero-padded (stride 2: split
// into its parity phases) at a fixed row pitch, conv2d_packed_input_size values per image.
template <class R>
std::int64_t conv2d_packed_input_size(const ConvGeometry& g);
template <class R>
void conv2d_pack_input(const ConvGeometry& g, int batch, const R* x, R* packed);
// Both gradients of a "same" stride-1 conv (conv2d_backward_fusable) from one packed copy of
// each dy image: dw as conv2d_backward_weight computes it, bitwise, and, unless dx is null, dx
// as conv2d_backward_data does, where relu_mask = true takes the mask from packed_x (the conv's
// input is the ReLU's output, positive exactly where the ReLU's input is).
bool conv2d_backward_fusable(const ConvGeometry& g);
template <class R>
void conv2d_backward(const ConvGeometry& g, int cotangents, int batch,
                     const ConvOutputGradient<R>& dy, const R* packed_x, const R* w, bool relu_mask,
                     R* dx, bool accumulate, R* dw, std::int64_t dw_stride);
template <class R>
void conv2d_backward(const ConvGeometry& g, int cotangents, int batch, const R* dy,
                     const R* packed_x, const R* w, bool relu_mask, R* dx, bool accumulate, R* dw,
                     std::int64_t dw_stride) {
  conv2d_backward<R>(g, cotangents, batch, ConvOutputGradient<R>{dy}, packed_x, w, relu_mask, dx,
                     accumulate, dw, dw_stride);
}

// The channel mixing of a 1x1 conv on planes of `positions` values (a multiple of 16), read and
// written in place by the direct micro-kernel: out[c - c_begin] = Σ_i w[c][i] · in[i] for the
// output channels [c_begin, c_end), c_begin a multiple of kChannelBlock. w is [nout][nin], or
// [nin][nout] when transposed (a data gradient). The weights are packed once, at construction.
template <class R>
class PointwiseProduct {
 public:
  static constexpr int kChannelBlock = 12;
  PointwiseProduct(int nin, int nout, int positions, const R* w, bool transposed);
  void operator()(const R* in, int c_begin, int c_end, R* out) const;

 private:
  int nin_, nout_, positions_;
  std::vector<int> shift_;
  std::vector<R> wpack_;
};

// Winograd convolution along time (winograd.cpp) for the convs winograd_applicable accepts:
// kernel (k, 1), k ∈ {3, 5, 7}, stride 1, "same" padding, at least 16 channels in and out.
// The forward writes x's transform (winograd_input_size values) to transformed_x, which the
// backward reads instead of x; dx may be null; dw is written. Same results as conv2d_* up to
// rounding (the tests state the tolerance), bitwise the same for any thread count.
bool winograd_applicable(const ConvGeometry& g);
// Whether Winograd is faster than the direct kernels for this conv and batch: applicable, and
// a batch that fills at least two thirds of the 16-image groups.
bool winograd_pays(const ConvGeometry& g, int batch);
template <class R>
std::int64_t winograd_input_size(const ConvGeometry& g, int batch);
template <class R>
void winograd_forward(const ConvGeometry& g, int batch, const R* x, const R* w, R* y,
                      R* transformed_x);
template <class R>
void winograd_backward(const ConvGeometry& g, int batch, const R* dy, const R* transformed_x,
                       const R* w, R* dx, bool accumulate, R* dw);

// One-dimensional convs lowered to one channel-mixing product (lowered_conv.cpp), for the convs
// lowered_conv_applicable accepts: kernel (k, 1) or (1, k), k > 1, any strides and padding,
// cin·k at least 16, at least 24 output channels. Same contract as Winograd's: the forward writes
// the lowered input (lowered_input_size values), which the backward reads.
bool lowered_conv_applicable(const ConvGeometry& g);
// Applicable, and a batch that fills at least two thirds of the 16-image groups.
bool lowered_conv_pays(const ConvGeometry& g, int batch);
template <class R>
std::int64_t lowered_input_size(const ConvGeometry& g, int batch);
template <class R>
void lowered_conv_forward(const ConvGeometry& g, int batch, const R* x, const R* w, R* y,
                          R* lowered_x);
template <class R>
void lowered_conv_backward(const ConvGeometry& g, int batch, const R* dy, const R* lowered_x,
                           const R* w, R* dx, bool accumulate, R* dw);

// Training-mode batch norm over (N, H, W) per channel: biased variance, eps.
// Saves the batch mean and 1/sqrt(var + eps) (double, one per channel) for the backward pass.
template <class R>
void batch_norm_forward(int batch, int channels, int plane, const R* x, const R* gamma,
                        const R* beta, double eps, R* y, double* mean, double* invstd);
// Full backward through the batch statistics for the output gradient dy_scale · dy (a node
// sum's 1/k folded in). dgamma/dbeta for cotangent t go to dgamma + t * dparam_stride (either
// may be null).
template <class R>
void batch_norm_backward(int cotangents, int batch, int channels, int plane, const R* dy,
                         double dy_scale, const R* x, const double* mean, const double* invstd,
                         const R* gamma, R* dx, bool accumulate, R* dgamma, R* dbeta,
                         std::int64_t dparam_stride);

// batch_norm_backward's dgamma, dbeta and, instead of dx, its coefficients coef[t·channels + c]:
// a consumer that reads dx once (the conv before the batch norm, see ConvOutputGradient) applies
// them as it reads, and dx is never stored.
template <class R>
void batch_norm_input_gradient(int cotangents, int batch, int channels, int plane, const R* dy,
                               double dy_scale, const R* x, const double* mean,
                               const double* invstd, const R* gamma, R* dgamma, R* dbeta,
                               std::int64_t dparam_stride, BatchNormDx<R>* coef);

// batch_norm_backward (one cotangent) followed by the backward of the ReLU whose output x the
// batch norm reads: dz (+)= [x > 0] ⊙ dx, bitwise as the two kernels, without storing dx. dz may
// be null (dgamma, dbeta only).
template <class R>
void batch_norm_relu_backward(int batch, int channels, int plane, const R* dy, const R* x,
                              const double* mean, const double* invstd, const R* gamma, R* dz,
                              bool accumulate, R* dgamma, R* dbeta);

// Running statistics after a training-mode forward over `count` values per channel (mean and
// invstd as batch_norm_forward saved them), PyTorch's semantics: r = (1 - momentum)·r +
// momentum·s, with the unbiased batch variance.
template <class R>
void batch_norm_update_running(int channels, double count, const double* mean, const double* invstd,
                               double eps, double momentum, R* running_mean, R* running_var);
// Eval-mode batch norm: y = (x - running_mean) / sqrt(running_var + eps) · gamma + beta.
template <class R>
void batch_norm_eval_forward(int batch, int channels, int plane, const R* x, const R* gamma,
                             const R* beta, const R* running_mean, const R* running_var, double eps,
                             R* y);

template <class R>
void relu_forward(std::int64_t n, const R* x, R* y);
// dx[t, i] (+)= dy[t, i] · [x[i] > 0] for i < n (n = elements of one forward tensor).
template <class R>
void relu_backward(int cotangents, std::int64_t n, const R* dy, const R* x, R* dx, bool accumulate);

// Activation patterns (linear-region counting): hash[n] holds two 64-bit words per sample.
void pattern_hash_init(int batch, std::uint64_t* hash);
// y = ReLU(x) and, per sample n of `batch`, bits [x > 0] of its per_sample elements folded into
// hash[2n .. 2n+1], in element order; one segment per call (layer).
template <class R>
void relu_forward_pattern_hash(int batch, std::int64_t per_sample, const R* x, R* y,
                               std::uint64_t* hash);
// The same bits, packed 64 per word, appended to rows[n] (exact verification).
template <class R>
void append_pattern_bits(int batch, std::int64_t per_sample, const R* x,
                         std::vector<std::uint64_t>* rows);

// Average pooling, k x k, stride, pad, count_include_pad = false (divisor = window ∩ input).
template <class R>
void avg_pool_forward(const PoolGeometry& g, int batch, const R* x, R* y);
// Backward for the output gradient dy_scale · dy.
template <class R>
void avg_pool_backward(const PoolGeometry& g, int batch, const R* dy, R dy_scale, R* dx,
                       bool accumulate);

// [batch, channels, plane] -> [batch, channels]
template <class R>
void global_avg_pool_forward(int batch, int channels, int plane, const R* x, R* y);
template <class R>
void global_avg_pool_backward(int batch, int channels, int plane, const R* dy, R* dx,
                              bool accumulate);

// y[n] = W x[n] + b; W is [out, in].
template <class R>
void linear_forward(int batch, int in, int out, const R* x, const R* w, const R* b, R* y);
template <class R>
void linear_backward_data(int batch, int in, int out, const R* dy, const R* w, R* dx,
                          bool accumulate);
// dW[t] = Σ_n dy[t, n] x[n]^T, db[t] = Σ_n dy[t, n], at offsets t * dparam_stride.
template <class R>
void linear_backward_params(int cotangents, int batch, int in, int out, const R* dy, const R* x,
                            R* dw, R* db, std::int64_t dparam_stride);

// y (+)= scale · x over n elements.
template <class R>
void scaled_add(std::int64_t n, R scale, const R* x, R* y, bool accumulate);

// --- per-channel operations (kernels/cpu/channel_ops.cpp); tensors [batch, channels, plane] ---

// y[n, c, i] += bias[c].
template <class R>
void bias_forward(int batch, int channels, int plane, const R* bias, R* y);
// dbias[c] = Σ_{n, i} dy[n, c, i].
template <class R>
void bias_backward(int batch, int channels, int plane, const R* dy, R* dbias);
// y[n, c, i] = x[n, c, i] · scale[c] (a width mask: scale[c] = P(width > c)).
template <class R>
void channel_scale_forward(int batch, int channels, int plane, const R* x, const R* scale, R* y);
// dx (+)= dy · scale[c] unless dx is null; dscale[c] += Σ_{n, i} dy · x unless dscale is null.
template <class R>
void channel_scale_backward(int batch, int channels, int plane, const R* dy, const R* x,
                            const R* scale, R* dx, bool accumulate, double* dscale);
// The backward of y = a · x for a scalar a (a mixing weight) in one pass over dy: dx (+)= a · dy
// unless dx is null, and returns a's gradient Σ dy · x: each plane in R, each channel's planes in
// double in image order, the channels in order.
template <class R>
double scale_backward(int batch, int channels, int plane, const R* dy, const R* x, R scale, R* dx,
                      bool accumulate);
// Dropout2d's factors mask[n·channels + c]: 0 with probability p, else 1 / (1 - p). Drawn from
// a counter-based stream of (seed, stream, n, c): independent of threads and of the channel
// count (a layer with more channels draws the same factors for the channels both have).
template <class R>
void dropout2d_mask(int batch, int channels, double p, std::uint64_t seed, std::uint64_t stream,
                    R* mask);
// y[q, i] (+)= x[q, i] · factor[q] for planes q < planes (Dropout2d forward and backward).
template <class R>
void plane_scale(std::int64_t planes, int plane, const R* x, const R* factor, R* y,
                 bool accumulate);

// --- classification (kernels/cpu/log_softmax.cpp); [batch, classes] ---

// y = x - log Σ_k exp(x_k), per sample over its classes.
template <class R>
void log_softmax_forward(int batch, int classes, const R* x, R* y);
// dx (+)= dy - softmax(x) · Σ_k dy_k, with y = log_softmax(x).
template <class R>
void log_softmax_backward(int batch, int classes, const R* dy, const R* y, R* dx, bool accumulate);
// -(1/batch) Σ_n log_probs[n, labels[n]]; Error(kInvalidArgument) for a label outside
// [0, classes).
template <class R>
double nll_loss_forward(int batch, int classes, const R* log_probs, const int* labels);
// dlog_probs = dloss · ∂loss/∂log_probs (overwritten).
template <class R>
void nll_loss_backward(int batch, int classes, const int* labels, double dloss, R* dlog_probs);

}  // namespace micronas::cpu
