// Scalar double-precision oracles for the CPU kernels: literal transcriptions of each layer's
// definition (zero padding explicit, adjoints by scattering along the forward loops), one
// cotangent at a time, no parallelism. Slow and obviously correct; tests only.
#pragma once

#include <vector>

namespace micronas::reference {

using Vec = std::vector<double>;

struct ConvShape {
  int batch, cin, h, w, cout, k, stride, pad;
  int ho() const { return (h + 2 * pad - k) / stride + 1; }
  int wo() const { return (w + 2 * pad - k) / stride + 1; }
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

}  // namespace micronas::reference
