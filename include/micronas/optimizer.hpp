// Optimisers over a flat float parameter vector with PyTorch's semantics (torch.optim.Adam,
// torch.optim.SGD, torch.optim.lr_scheduler.CosineAnnealingLR, torch.nn.utils.clip_grad_norm_),
// so a step here and one in PyTorch agree to float rounding. Updates run element by element in
// index order: bitwise deterministic, independent of threads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace micronas::training {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  // coupled L2 (added to the gradient), as torch.optim.Adam
};

struct SgdOptions {
  double lr = 0.01;
  double momentum = 0.0;
  double weight_decay = 0.0;  // added to the gradient
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // params -= update(grads) at learning rate lr (a scheduler's current value); grads may be
  // modified (weight decay is added to them).
  virtual void step(float* params, float* grads, double lr) = 0;
  virtual double base_lr() const = 0;
  // The optimiser's state (moments, step count) as one vector, for checkpoints.
  virtual std::vector<double> state() const = 0;
  virtual void set_state(const std::vector<double>& state) = 0;
};

class Adam final : public Optimizer {
 public:
  Adam(std::int64_t size, const AdamOptions& options);
  void step(float* params, float* grads, double lr) override;
  double base_lr() const override { return options_.lr; }
  std::vector<double> state() const override;
  void set_state(const std::vector<double>& state) override;

 private:
  AdamOptions options_;
  std::int64_t steps_ = 0;
  std::vector<float> m_, v_;
};

class Sgd final : public Optimizer {
 public:
  Sgd(std::int64_t size, const SgdOptions& options);
  void step(float* params, float* grads, double lr) override;
  double base_lr() const override { return options_.lr; }
  std::vector<double> state() const override;
  void set_state(const std::vector<double>& state) override;

 private:
  SgdOptions options_;
  bool started_ = false;
  std::vector<float> buffer_;
};

// CosineAnnealingLR's closed form at step t of t_max: eta_min + (base - eta_min)·(1 + cos(π·t /
// t_max)) / 2.
double cosine_annealing_lr(double base_lr, double eta_min, std::int64_t step, std::int64_t t_max);

// clip_grad_norm_(max_norm), L2: when the norm (in double) exceeds max_norm, scales the
// gradients by max_norm / (norm + 1e-6). Returns the norm before clipping.
double clip_grad_norm(float* grads, std::int64_t size, double max_norm);

}  // namespace micronas::training
