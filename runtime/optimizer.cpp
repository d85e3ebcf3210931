// Adam, SGD with momentum, cosine annealing and gradient-norm clipping (see
// include/micronas/optimizer.hpp).
#include "micronas/optimizer.hpp"

#include <cmath>

#include "micronas/error.hpp"

namespace micronas::training {
namespace {

void check_state_size(const std::vector<double>& state, std::size_t want, const char* what) {
  if (state.size() != want)
    throw Error(Status::kInvalidArgument, std::string(what) + " state of " +
                                              std::to_string(state.size()) + " values, expected " +
                                              std::to_string(want));
}

}  // namespace

Adam::Adam(std::int64_t size, const AdamOptions& options)
    : options_(options),
      m_(static_cast<std::size_t>(size), 0.0f),
      v_(static_cast<std::size_t>(size), 0.0f) {}

void Adam::step(float* params, float* grads, double lr) {
  ++steps_;
  // 1 - β in double, then rounded, as PyTorch passes Python floats to its float kernels.
  const float one_minus_b1 = static_cast<float>(1.0 - options_.beta1);
  const float one_minus_b2 = static_cast<float>(1.0 - options_.beta2);
  const float b2 = static_cast<float>(options_.beta2);
  const float wd = static_cast<float>(options_.weight_decay);
  // PyTorch's single-tensor Adam: step size lr / (1 - β1^t), denominator
  // sqrt(v) / sqrt(1 - β2^t) + eps, moments in the parameters' precision.
  const double bc1 = 1.0 - std::pow(options_.beta1, double(steps_));
  const double bc2_sqrt = std::sqrt(1.0 - std::pow(options_.beta2, double(steps_)));
  const float step_size = static_cast<float>(lr / bc1);
  const float bc2 = static_cast<float>(bc2_sqrt);
  const float eps = static_cast<float>(options_.eps);
  for (std::size_t i = 0; i < m_.size(); ++i) {
    float g = grads[i];
    if (wd != 0.0f) g += wd * params[i];
    m_[i] += one_minus_b1 * (g - m_[i]);
    v_[i] = v_[i] * b2 + one_minus_b2 * g * g;
    const float denom = std::sqrt(v_[i]) / bc2 + eps;
    params[i] -= step_size * (m_[i] / denom);
  }
}

std::vector<double> Adam::state() const {
  std::vector<double> s;
  s.reserve(1 + 2 * m_.size());
  s.push_back(static_cast<double>(steps_));
  s.insert(s.end(), m_.begin(), m_.end());
  s.insert(s.end(), v_.begin(), v_.end());
  return s;
}

void Adam::set_state(const std::vector<double>& s) {
  check_state_size(s, 1 + 2 * m_.size(), "Adam");
  steps_ = static_cast<std::int64_t>(s[0]);
  for (std::size_t i = 0; i < m_.size(); ++i) {
    m_[i] = static_cast<float>(s[1 + i]);
    v_[i] = static_cast<float>(s[1 + m_.size() + i]);
  }
}

Sgd::Sgd(std::int64_t size, const SgdOptions& options)
    : options_(options), buffer_(static_cast<std::size_t>(size), 0.0f) {}

void Sgd::step(float* params, float* grads, double lr) {
  const float mu = static_cast<float>(options_.momentum);
  const float wd = static_cast<float>(options_.weight_decay);
  const float rate = static_cast<float>(lr);
  for (std::size_t i = 0; i < buffer_.size(); ++i) {
    float g = grads[i];
    if (wd != 0.0f) g += wd * params[i];
    if (mu != 0.0f) {
      // torch.optim.SGD: the buffer starts as the first gradient, then μ·b + g (no dampening).
      buffer_[i] = started_ ? buffer_[i] * mu + g : g;
      g = buffer_[i];
    }
    params[i] -= rate * g;
  }
  started_ = true;
}

std::vector<double> Sgd::state() const {
  std::vector<double> s;
  s.push_back(started_ ? 1.0 : 0.0);
  s.insert(s.end(), buffer_.begin(), buffer_.end());
  return s;
}

void Sgd::set_state(const std::vector<double>& s) {
  check_state_size(s, 1 + buffer_.size(), "SGD");
  started_ = s[0] != 0.0;
  for (std::size_t i = 0; i < buffer_.size(); ++i) buffer_[i] = static_cast<float>(s[1 + i]);
}

double cosine_annealing_lr(double base_lr, double eta_min, std::int64_t step, std::int64_t t_max) {
  if (t_max <= 0) throw Error(Status::kInvalidArgument, "cosine annealing needs t_max > 0");
  const double pi = 3.14159265358979323846;
  return eta_min + (base_lr - eta_min) * (1.0 + std::cos(pi * double(step) / double(t_max))) / 2.0;
}

double clip_grad_norm(float* grads, std::int64_t size, double max_norm) {
  double sq = 0.0;
  for (std::int64_t i = 0; i < size; ++i) sq += double(grads[i]) * grads[i];
  const double norm = std::sqrt(sq);
  const double coef = max_norm / (norm + 1e-6);
  if (coef < 1.0) {
    const float c = static_cast<float>(coef);
    for (std::int64_t i = 0; i < size; ++i) grads[i] *= c;
  }
  return norm;
}

}  // namespace micronas::training
