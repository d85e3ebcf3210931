// Log-softmax over the classes of each sample (never over the batch) and the mean negative
// log-likelihood. Per sample in double: a class count is small, and the loss is summed over the
// batch in sample order.
#include <algorithm>
#include <cmath>
#include <string>

#include "kernels/cpu/cpu_kernels.hpp"
#include "micronas/error.hpp"

namespace micronas::cpu {

template <class R>
void log_softmax_forward(int batch, int classes, const R* x, R* y) {
  for (int n = 0; n < batch; ++n) {
    const R* xr = x + std::int64_t{n} * classes;
    double m = xr[0];
    for (int k = 1; k < classes; ++k) m = std::max(m, double(xr[k]));
    double s = 0.0;
    for (int k = 0; k < classes; ++k) s += std::exp(double(xr[k]) - m);
    const double lse = m + std::log(s);
    for (int k = 0; k < classes; ++k) y[std::int64_t{n} * classes + k] = R(double(xr[k]) - lse);
  }
}

template <class R>
void log_softmax_backward(int batch, int classes, const R* dy, const R* y, R* dx, bool accumulate) {
  for (int n = 0; n < batch; ++n) {
    const std::int64_t off = std::int64_t{n} * classes;
    double s = 0.0;
    for (int k = 0; k < classes; ++k) s += dy[off + k];
    for (int k = 0; k < classes; ++k) {
      const R v = R(double(dy[off + k]) - std::exp(double(y[off + k])) * s);
      dx[off + k] = accumulate ? dx[off + k] + v : v;
    }
  }
}

namespace {
void check_label(int label, int classes) {
  if (label < 0 || label >= classes)
    throw Error(Status::kInvalidArgument,
                "label " + std::to_string(label) + " outside [0, " + std::to_string(classes) + ")");
}
}  // namespace

template <class R>
double nll_loss_forward(int batch, int classes, const R* log_probs, const int* labels) {
  double sum = 0.0;
  for (int n = 0; n < batch; ++n) {
    check_label(labels[n], classes);
    sum -= log_probs[std::int64_t{n} * classes + labels[n]];
  }
  return sum / batch;
}

template <class R>
void nll_loss_backward(int batch, int classes, const int* labels, double dloss, R* dlog_probs) {
  const R g = static_cast<R>(-dloss / batch);
  for (int n = 0; n < batch; ++n) {
    check_label(labels[n], classes);
    for (int k = 0; k < classes; ++k)
      dlog_probs[std::int64_t{n} * classes + k] = k == labels[n] ? g : R(0);
  }
}

#define MICRONAS_INSTANTIATE(R)                                                  \
  template void log_softmax_forward<R>(int, int, const R*, R*);                  \
  template void log_softmax_backward<R>(int, int, const R*, const R*, R*, bool); \
  template double nll_loss_forward<R>(int, int, const R*, const int*);           \
  template void nll_loss_backward<R>(int, int, const int*, double, R*);
MICRONAS_INSTANTIATE(float)
MICRONAS_INSTANTIATE(double)
#undef MICRONAS_INSTANTIATE

}  // namespace micronas::cpu
