// The continuous relaxation of the time-series space that differentiable search optimises: one
// logit vector α per choice, turned into an ArchDistribution by a Gumbel-softmax (reference §4),
// and the chain rule back from a gradient with respect to the distribution to one with respect
// to α.
//
// Logits are one flat vector, cell after cell (Time-Reduce cells first), each cell's choices in
// the order of ArchDistribution's fields:
//   Time-Reduce:   kernel (one logit per kernel size), width (one per width)
//   Sensor-Fusion: skip (2: [keep, skip], non-reducing cells only), bottleneck (one per width),
//                  branch k for k in 3, 5, 7 (2 each: [off, on]), width (one per width),
//                  residual (2: [none, conv])
// Binary choices are two-way softmaxes, as the reference relaxes them, and the distribution
// keeps the probability of their second outcome.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "micronas/random.hpp"
#include "micronas/timeseries_distribution.hpp"
#include "micronas/timeseries_space.hpp"

namespace micronas::timeseries {

// The temperature after `step` mini-batches: max(tau0 · decay^step, floor) (reference: 1,
// 0.995 per batch, 1e-5).
double gumbel_temperature(long step, double tau0 = 1.0, double decay = 0.995, double floor = 1e-5);

class ArchRelaxation {
 public:
  explicit ArchRelaxation(const Space& space);

  const Space& space() const { return space_; }
  std::size_t size() const { return names_.size(); }
  // "tr0.kernel3", "tr0.width8", "sf1.skip", "sf0.branch5.on", "sf2.residual.conv", ...: one per
  // logit, for logs and JSON.
  const std::vector<std::string>& names() const { return names_; }

  // The reference's start: logits of operations (kernels, branches, residual, skip) drawn from
  // 1e-3·N(0, 1), width logits 0.
  std::vector<double> initial_logits(Rng& rng) const;

  // Per choice y = softmax((α + g) / τ) with g standard Gumbel noise drawn from `rng`, or no
  // noise when `rng` is null (the deterministic softmax(α / τ)). Writes every y, in the logits'
  // layout, to `probabilities` (what backward() needs) when not null. Throws
  // Error(kInvalidArgument) for a wrong logit count, a non-finite logit or τ <= 0.
  ArchDistribution relax(const std::vector<double>& logits, double tau, Rng* rng,
                         std::vector<double>* probabilities = nullptr) const;

  // dL/dα given dL/d(distribution) (`grad`, shaped like a distribution: one entry per
  // probability, a binary choice's entry is the derivative by the probability of its second
  // outcome) and the probabilities relax() wrote: per choice dL/dα_i = y_i (dL/dy_i − Σ_j y_j
  // dL/dy_j) / τ. The noise does not enter: it is an additive constant of α.
  std::vector<double> backward(const std::vector<double>& probabilities, double tau,
                               const ArchDistribution& grad) const;

  // The derived architecture: argmax of every choice's logits (ties: the first), a binary
  // choice on when its second logit is larger; a cell whose branches all come out off keeps the
  // one with the largest on-minus-off margin.
  Arch derive(const std::vector<double>& logits) const;

 private:
  Space space_;
  std::vector<std::string> names_;
};

}  // namespace micronas::timeseries
