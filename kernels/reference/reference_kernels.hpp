// Scalar double-precision oracles for the CPU kernels: literal transcriptions of each layer's
// definition (zero padding explicit, adjoints by scattering along the forward loops), one
// cotangent at a time, no parallelism. Slow and obviously correct; tests only.
#pragma once

#include <vector>

#include "kernels/common/geometry.hpp"

namespace micronas::reference {

using Vec = std::vector<double>;

// Any convolution (rectangular kernel, per-dimension strides, asymmetric zero padding); weight
// [cout, cin, kh, kw], no bias.
Vec conv2d_forward(const ConvGeometry& g, int batch, const Vec& x, const Vec& w);
void conv2d_backward(const ConvGeometry& g, int batch, const Vec& x, const Vec& w, const Vec& dy,
                     Vec* dx, Vec* dw);

// The square case: k x k, one stride, symmetric pad.
struct ConvShape {
  int batch, cin, h, w, cout, k, stride, pad;
  int ho() const { return (h + 2 * pad - k) / stride + 1; }
  int wo() const { return (w + 2 * pad - k) / stride + 1; }
  ConvGeometry geometry() const { return square_conv_geometry(cin, h, w, cout, k, stride, pad); }
};
Vec conv2d_forward(const ConvShape& s, const Vec& x, const Vec& w);
void conv2d_backward(const ConvShape& s, const Vec& x, const Vec& w, const Vec& dy, Vec* dx,
                     Vec* dw);

Vec batch_norm_forward(int batch, int channels, int plane, const Vec& x, const Vec& gamma,
                       const Vec& beta, double eps);
void batch_norm_backward(int batch, int channels, int plane, const Vec& x, const Vec& gamma,
                         double eps, const Vec& dy, Vec* dx, Vec* dgamma, Vec* dbeta);

Vec relu_forward(const Vec& x);
Vec relu_backward(const Vec& x, const Vec& dy);

struct PoolShape {
  int batch, channels, h, w, k, stride, pad;
  int ho() const { return (h + 2 * pad - k) / stride + 1; }
  int wo() const { return (w + 2 * pad - k) / stride + 1; }
};
Vec avg_pool_forward(const PoolShape& s, const Vec& x);
Vec avg_pool_backward(const PoolShape& s, const Vec& dy);

Vec global_avg_pool_forward(int batch, int channels, int plane, const Vec& x);
Vec global_avg_pool_backward(int batch, int channels, int plane, const Vec& dy);

Vec linear_forward(int batch, int in, int out, const Vec& x, const Vec& w, const Vec& b);
void linear_backward(int batch, int in, int out, const Vec& x, const Vec& w, const Vec& dy, Vec* dx,
                     Vec* dw, Vec* db);

// Per-channel scale by a vector (a width mask) with the gradients of x and of the vector.
Vec channel_scale_forward(int batch, int channels, int plane, const Vec& x, const Vec& scale);
void channel_scale_backward(int batch, int channels, int plane, const Vec& x, const Vec& scale,
                            const Vec& dy, Vec* dx, Vec* dscale);

// PyTorch BatchNorm2d's running estimates after one training step and its eval-mode forward.
void batch_norm_update_running(int batch, int channels, int plane, const Vec& x, double momentum,
                               Vec* running_mean, Vec* running_var);
Vec batch_norm_eval_forward(int batch, int channels, int plane, const Vec& x, const Vec& gamma,
                            const Vec& beta, const Vec& running_mean, const Vec& running_var,
                            double eps);

// Log-softmax over the classes of each sample, its adjoint, and the mean NLL.
Vec log_softmax_forward(int batch, int classes, const Vec& x);
Vec log_softmax_backward(int batch, int classes, const Vec& x, const Vec& dy);
double nll_loss(int batch, int classes, const Vec& log_probs, const std::vector<int>& labels);

}  // namespace micronas::reference
