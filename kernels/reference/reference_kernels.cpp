#include "kernels/reference/reference_kernels.hpp"

#include <cmath>

namespace micronas::reference {

Vec conv2d_forward(const ConvGeometry& g, int batch, const Vec& x, const Vec& w) {
  Vec y(static_cast<std::size_t>(batch) * g.cout * g.ho * g.wo, 0.0);
  for (int n = 0; n < batch; ++n)
    for (int co = 0; co < g.cout; ++co)
      for (int oh = 0; oh < g.ho; ++oh)
        for (int ow = 0; ow < g.wo; ++ow) {
          double sum = 0.0;
          for (int ci = 0; ci < g.cin; ++ci)
            for (int kh = 0; kh < g.kh; ++kh)
              for (int kw = 0; kw < g.kw; ++kw) {
                int ih = oh * g.sh - g.pad_top + kh, iw = ow * g.sw - g.pad_left + kw;
                double xv = (ih >= 0 && ih < g.h && iw >= 0 && iw < g.w)
                                ? x[((std::size_t(n) * g.cin + ci) * g.h + ih) * g.w + iw]
                                : 0.0;
                sum += w[((std::size_t(co) * g.cin + ci) * g.kh + kh) * g.kw + kw] * xv;
              }
          y[((std::size_t(n) * g.cout + co) * g.ho + oh) * g.wo + ow] = sum;
        }
  return y;
}

void conv2d_backward(const ConvGeometry& g, int batch, const Vec& x, const Vec& w, const Vec& dy,
                     Vec* dx, Vec* dw) {
  dx->assign(x.size(), 0.0);
  dw->assign(w.size(), 0.0);
  for (int n = 0; n < batch; ++n)
    for (int co = 0; co < g.cout; ++co)
      for (int oh = 0; oh < g.ho; ++oh)
        for (int ow = 0; ow < g.wo; ++ow) {
          double d = dy[((std::size_t(n) * g.cout + co) * g.ho + oh) * g.wo + ow];
          for (int ci = 0; ci < g.cin; ++ci)
            for (int kh = 0; kh < g.kh; ++kh)
              for (int kw = 0; kw < g.kw; ++kw) {
                int ih = oh * g.sh - g.pad_top + kh, iw = ow * g.sw - g.pad_left + kw;
                if (ih < 0 || ih >= g.h || iw < 0 || iw >= g.w) continue;
                std::size_t xi = ((std::size_t(n) * g.cin + ci) * g.h + ih) * g.w + iw;
                std::size_t wi = ((std::size_t(co) * g.cin + ci) * g.kh + kh) * g.kw + kw;
                (*dx)[xi] += w[wi] * d;
                (*dw)[wi] += x[xi] * d;
              }
        }
}

Vec conv2d_forward(const ConvShape& s, const Vec& x, const Vec& w) {
  return conv2d_forward(s.geometry(), s.batch, x, w);
}

void conv2d_backward(const ConvShape& s, const Vec& x, const Vec& w, const Vec& dy, Vec* dx,
                     Vec* dw) {
  conv2d_backward(s.geometry(), s.batch, x, w, dy, dx, dw);
}

namespace {
// Batch mean and biased variance of channel c, as BatchNorm2d normalises in training mode.
void channel_statistics(int batch, int channels, int plane, const Vec& x, int c, double* mean,
                        double* var) {
  const double m = static_cast<double>(batch) * plane;
  double sum = 0.0, sq = 0.0;
  for (int n = 0; n < batch; ++n)
    for (int i = 0; i < plane; ++i) sum += x[(n * channels + c) * plane + i];
  *mean = sum / m;
  for (int n = 0; n < batch; ++n)
    for (int i = 0; i < plane; ++i) {
      double d = x[(n * channels + c) * plane + i] - *mean;
      sq += d * d;
    }
  *var = sq / m;
}
}  // namespace

Vec batch_norm_forward(int batch, int channels, int plane, const Vec& x, const Vec& gamma,
                       const Vec& beta, double eps) {
  Vec y(x.size());
  for (int c = 0; c < channels; ++c) {
    double mean, var;
    channel_statistics(batch, channels, plane, x, c, &mean, &var);
    for (int n = 0; n < batch; ++n)
      for (int i = 0; i < plane; ++i) {
        std::size_t j = (n * channels + c) * plane + i;
        y[j] = (x[j] - mean) / std::sqrt(var + eps) * gamma[c] + beta[c];
      }
  }
  return y;
}

void batch_norm_backward(int batch, int channels, int plane, const Vec& x, const Vec& gamma,
                         double eps, const Vec& dy, Vec* dx, Vec* dgamma, Vec* dbeta) {
  dx->assign(x.size(), 0.0);
  dgamma->assign(channels, 0.0);
  dbeta->assign(channels, 0.0);
  const double m = static_cast<double>(batch) * plane;
  for (int c = 0; c < channels; ++c) {
    double mean, var;
    channel_statistics(batch, channels, plane, x, c, &mean, &var);
    const double inv = 1.0 / std::sqrt(var + eps);
    // y = γ x̂ + β with x̂ = (x − μ)/σ; through μ and σ² every x couples to every output:
    // dx = γ/σ · (dy − mean(dy) − x̂ · mean(dy · x̂)).
    double sum_dy = 0.0, sum_dy_xhat = 0.0;
    for (int n = 0; n < batch; ++n)
      for (int i = 0; i < plane; ++i) {
        std::size_t j = (n * channels + c) * plane + i;
        sum_dy += dy[j];
        sum_dy_xhat += dy[j] * (x[j] - mean) * inv;
      }
    (*dgamma)[c] = sum_dy_xhat;
    (*dbeta)[c] = sum_dy;
    for (int n = 0; n < batch; ++n)
      for (int i = 0; i < plane; ++i) {
        std::size_t j = (n * channels + c) * plane + i;
        double xhat = (x[j] - mean) * inv;
        (*dx)[j] = gamma[c] * inv * (dy[j] - sum_dy / m - xhat * sum_dy_xhat / m);
      }
  }
}

Vec relu_forward(const Vec& x) {
  Vec y(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = x[i] > 0.0 ? x[i] : 0.0;
  return y;
}

Vec relu_backward(const Vec& x, const Vec& dy) {
  Vec dx(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) dx[i] = x[i] > 0.0 ? dy[i] : 0.0;
  return dx;
}

namespace {
// Number of window positions inside the input (count_include_pad = false).
int window_count(const PoolShape& s, int oh, int ow) {
  int count = 0;
  for (int kh = 0; kh < s.k; ++kh)
    for (int kw = 0; kw < s.k; ++kw) {
      int ih = oh * s.stride - s.pad + kh, iw = ow * s.stride - s.pad + kw;
      count += (ih >= 0 && ih < s.h && iw >= 0 && iw < s.w) ? 1 : 0;
    }
  return count;
}
}  // namespace

Vec avg_pool_forward(const PoolShape& s, const Vec& x) {
  const int ho = s.ho(), wo = s.wo();
  Vec y(static_cast<std::size_t>(s.batch) * s.channels * ho * wo, 0.0);
  for (int p = 0; p < s.batch * s.channels; ++p)
    for (int oh = 0; oh < ho; ++oh)
      for (int ow = 0; ow < wo; ++ow) {
        double sum = 0.0;
        for (int kh = 0; kh < s.k; ++kh)
          for (int kw = 0; kw < s.k; ++kw) {
            int ih = oh * s.stride - s.pad + kh, iw = ow * s.stride - s.pad + kw;
            if (ih >= 0 && ih < s.h && iw >= 0 && iw < s.w) sum += x[(p * s.h + ih) * s.w + iw];
          }
        y[(p * ho + oh) * wo + ow] = sum / window_count(s, oh, ow);
      }
  return y;
}

Vec avg_pool_backward(const PoolShape& s, const Vec& dy) {
  const int ho = s.ho(), wo = s.wo();
  Vec dx(static_cast<std::size_t>(s.batch) * s.channels * s.h * s.w, 0.0);
  for (int p = 0; p < s.batch * s.channels; ++p)
    for (int oh = 0; oh < ho; ++oh)
      for (int ow = 0; ow < wo; ++ow) {
        double g = dy[(p * ho + oh) * wo + ow] / window_count(s, oh, ow);
        for (int kh = 0; kh < s.k; ++kh)
          for (int kw = 0; kw < s.k; ++kw) {
            int ih = oh * s.stride - s.pad + kh, iw = ow * s.stride - s.pad + kw;
            if (ih >= 0 && ih < s.h && iw >= 0 && iw < s.w) dx[(p * s.h + ih) * s.w + iw] += g;
          }
      }
  return dx;
}

Vec global_avg_pool_forward(int batch, int channels, int plane, const Vec& x) {
  Vec y(static_cast<std::size_t>(batch) * channels, 0.0);
  for (int p = 0; p < batch * channels; ++p) {
    for (int i = 0; i < plane; ++i) y[p] += x[p * plane + i];
    y[p] /= plane;
  }
  return y;
}

Vec global_avg_pool_backward(int batch, int channels, int plane, const Vec& dy) {
  Vec dx(static_cast<std::size_t>(batch) * channels * plane);
  for (int p = 0; p < batch * channels; ++p)
    for (int i = 0; i < plane; ++i) dx[p * plane + i] = dy[p] / plane;
  return dx;
}

Vec linear_forward(int batch, int in, int out, const Vec& x, const Vec& w, const Vec& b) {
  Vec y(static_cast<std::size_t>(batch) * out);
  for (int n = 0; n < batch; ++n)
    for (int o = 0; o < out; ++o) {
      double sum = b[o];
      for (int i = 0; i < in; ++i) sum += w[o * in + i] * x[n * in + i];
      y[n * out + o] = sum;
    }
  return y;
}

void linear_backward(int batch, int in, int out, const Vec& x, const Vec& w, const Vec& dy, Vec* dx,
                     Vec* dw, Vec* db) {
  dx->assign(static_cast<std::size_t>(batch) * in, 0.0);
  dw->assign(w.size(), 0.0);
  db->assign(out, 0.0);
  for (int n = 0; n < batch; ++n)
    for (int o = 0; o < out; ++o) {
      double g = dy[n * out + o];
      (*db)[o] += g;
      for (int i = 0; i < in; ++i) {
        (*dx)[n * in + i] += w[o * in + i] * g;
        (*dw)[o * in + i] += x[n * in + i] * g;
      }
    }
}

Vec channel_scale_forward(int batch, int channels, int plane, const Vec& x, const Vec& scale) {
  Vec y(x.size());
  for (int n = 0; n < batch; ++n)
    for (int c = 0; c < channels; ++c)
      for (int i = 0; i < plane; ++i) {
        const std::size_t j = (std::size_t(n) * channels + c) * plane + i;
        y[j] = x[j] * scale[c];
      }
  return y;
}

void channel_scale_backward(int batch, int channels, int plane, const Vec& x, const Vec& scale,
                            const Vec& dy, Vec* dx, Vec* dscale) {
  dx->assign(x.size(), 0.0);
  dscale->assign(channels, 0.0);
  for (int n = 0; n < batch; ++n)
    for (int c = 0; c < channels; ++c)
      for (int i = 0; i < plane; ++i) {
        const std::size_t j = (std::size_t(n) * channels + c) * plane + i;
        (*dx)[j] = dy[j] * scale[c];
        (*dscale)[c] += dy[j] * x[j];
      }
}

void batch_norm_update_running(int batch, int channels, int plane, const Vec& x, double momentum,
                               Vec* running_mean, Vec* running_var) {
  const double m = static_cast<double>(batch) * plane;
  for (int c = 0; c < channels; ++c) {
    double mean, var;
    channel_statistics(batch, channels, plane, x, c, &mean, &var);
    (*running_mean)[c] = (1 - momentum) * (*running_mean)[c] + momentum * mean;
    (*running_var)[c] = (1 - momentum) * (*running_var)[c] + momentum * var * m / (m - 1);
  }
}

Vec batch_norm_eval_forward(int batch, int channels, int plane, const Vec& x, const Vec& gamma,
                            const Vec& beta, const Vec& running_mean, const Vec& running_var,
                            double eps) {
  Vec y(x.size());
  for (int n = 0; n < batch; ++n)
    for (int c = 0; c < channels; ++c)
      for (int i = 0; i < plane; ++i) {
        const std::size_t j = (std::size_t(n) * channels + c) * plane + i;
        y[j] = (x[j] - running_mean[c]) / std::sqrt(running_var[c] + eps) * gamma[c] + beta[c];
      }
  return y;
}

Vec log_softmax_forward(int batch, int classes, const Vec& x) {
  Vec y(x.size());
  for (int n = 0; n < batch; ++n) {
    double sum = 0.0;
    for (int k = 0; k < classes; ++k) sum += std::exp(x[n * classes + k]);
    for (int k = 0; k < classes; ++k) y[n * classes + k] = x[n * classes + k] - std::log(sum);
  }
  return y;
}

Vec log_softmax_backward(int batch, int classes, const Vec& x, const Vec& dy) {
  // ∂y_k/∂x_j = δ_kj − softmax_j, summed against dy.
  Vec dx(x.size(), 0.0);
  const Vec y = log_softmax_forward(batch, classes, x);
  for (int n = 0; n < batch; ++n)
    for (int j = 0; j < classes; ++j)
      for (int k = 0; k < classes; ++k)
        dx[n * classes + j] +=
            dy[n * classes + k] * ((j == k ? 1.0 : 0.0) - std::exp(y[n * classes + j]));
  return dx;
}

double nll_loss(int batch, int classes, const Vec& log_probs, const std::vector<int>& labels) {
  double sum = 0.0;
  for (int n = 0; n < batch; ++n) sum += -log_probs[n * classes + labels[n]];
  return sum / batch;
}

}  // namespace micronas::reference
