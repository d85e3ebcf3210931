// Differentiable architecture search on the time-series space (King et al.'s DNAS, reference §4):
// a supernet (timeseries_training.hpp) mixed by a Gumbel-softmax relaxation of logits α
// (timeseries_relaxation.hpp), first-order alternating updates, and asymmetric log penalties on
// the expected latency and expected peak memory (timeseries_expected_cost.hpp).
//
// Per training batch (step s, temperature τ = gumbel_temperature(s)):
//   1. α step on a validation batch: a fresh Gumbel draw relaxes α to a distribution d; loss =
//      NLL(supernet mixed by d) + Σ over the set limits of m·log(E[cost](d) / target), m =
//      penalty_above when the expectation exceeds its target, penalty_below otherwise, for the
//      latency, the peak memory and the flash; no cost terms when `hardware` is off (the
//      DARTS-like baseline). Plain SGD on α with the rate cosine-annealed from arch_lr to
//      arch_lr_min over all steps.
//   2. weight step on the training batch: another fresh draw, plain NLL, gradient-norm clipping,
//      Adam.
// The targets. A limit is on the network the search returns, the argmax of α; an expected sum
// over ops (latency, flash) weighs every option by its probability, so until α is sharp it is
// far from the derived network's cost (at the start of a search on BasicMotions, E[lat] ≈ 106 ms
// against a derived 13 ms). Against the limit itself (the reference, scale_targets = false) the
// latency penalty keeps pushing long after the derived network is within it and returns
// networks at a third of the limit. So the latency and flash targets are, at the start of every
// epoch, the limit scaled by E[cost] / cost of the architecture derived at that point (at
// softmax(α), no noise): the penalty is in force exactly while the derived network exceeds its
// limit (E > L·E/D ⇔ D > L), with the reference's gradient.
// E[mem] is in the reference's peak-memory model (activations and im2col scratch), which counts
// 4–5× less than TFLite Micro's arena of the same network (alignment, the planner's packing,
// persistent per-channel data), so a limit on the arena taken as is would never bind. Its target
// is the SRAM limit in those units: scaled by reference peak / arena of the derived
// architecture, every epoch, in both modes. (Scaling it by E[mem] / arena instead, as the
// others, was measured and is worse: the peak is a max, its expectation barely moves, and the
// penalty flips with the argmax; bench/README.md.) Limits on the deployed network are still
// enforced after derivation (timeseries_repair.hpp), not here.
//
// Determinism: the shuffles, Gumbel draws and dropout masks come from counter-based streams of
// the seed and the training kernels are thread-invariant, so a search is bitwise reproducible
// for a seed whatever the thread count, and a search resumed from a checkpoint after any epoch
// ends with the same α and weights as one run without interruption.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "micronas/mcu.hpp"
#include "micronas/optimizer.hpp"
#include "micronas/timeseries_distribution.hpp"
#include "micronas/timeseries_expected_cost.hpp"
#include "micronas/timeseries_relaxation.hpp"
#include "micronas/timeseries_space.hpp"
#include "micronas/timeseries_training.hpp"
#include "micronas/trainer.hpp"
#include "micronas/training_graph.hpp"

namespace micronas::timeseries {

// The reference's hyper-parameters are the defaults.
struct DnasOptions {
  int epochs = 60;
  int batch = 64;
  std::uint64_t seed = 0;
  double arch_lr = 0.36, arch_lr_min = 8e-4;  // SGD on α, cosine-annealed over all steps
  double weight_lr = 1e-3;                    // Adam on the supernet's weights
  double clip = 5.0;                          // weight gradient L2-norm limit (0: none)
  double tau0 = 1.0, tau_decay = 0.995, tau_floor = 1e-5;  // per mini-batch
  double penalty_above = 4.0, penalty_below = 0.002;
  bool hardware = true;  // false: no cost terms (the DARTS-like baseline)
  // The limits on the deployed network (infinite: unset): latency (ms), peak SRAM and flash
  // (bytes, as McuLimits' KiB · 1024).
  double target_latency_ms = std::numeric_limits<double>::infinity();
  double target_memory_bytes = std::numeric_limits<double>::infinity();
  double target_flash_bytes = std::numeric_limits<double>::infinity();
  // true: the latency and flash targets are scaled per epoch at the derived network (above);
  // false: the reference's, E[lat] and E[flash] against the limits themselves.
  bool scale_targets = true;
  double dropout = 0.3;
  // Throws Error(kInvalidArgument) for a value out of range.
  void validate() const;
};

// One epoch's summary: what the per-epoch log prints and the α trajectory in JSON.
struct DnasEpoch {
  double train_loss = 0;   // mean NLL of the weight steps
  double arch_loss = 0;    // mean loss of the α steps, penalties included
  double temperature = 0;  // τ of the epoch's last step
  // The targets of E[lat] (ms), E[mem] (reference-model bytes) and E[flash] (bytes) during the
  // epoch (see above), infinite when unset.
  double latency_target = std::numeric_limits<double>::infinity();
  double memory_target = std::numeric_limits<double>::infinity();
  double flash_target = std::numeric_limits<double>::infinity();
  // At softmax(α) (no noise, τ = 1): expected latency (ms), peak memory and flash (bytes) on the
  // target, mean entropy per choice (nats), and the argmax architecture.
  double expected_latency_ms = 0, expected_memory_bytes = 0, expected_flash_bytes = 0, entropy = 0;
  std::string argmax;
};

class DnasSearch {
 public:
  // Supernet weights and α initialised from options.seed. Throws like DnasOptions::validate and
  // ExpectedCost.
  DnasSearch(const Space& space, const mcu::TargetProfile& target, const DnasOptions& options);
  ~DnasSearch();
  // The executor holds a reference to the supernet it runs: not copyable or movable.
  DnasSearch(const DnasSearch&) = delete;
  DnasSearch& operator=(const DnasSearch&) = delete;

  // One epoch: every training batch (seeded shuffle; a last batch of one sample is skipped),
  // each after an α step on the next validation batch (validation cycles in its own shuffled
  // order). Both sets need at least two samples.
  const DnasEpoch& run_epoch(const training::Samples& train, const training::Samples& validation);

  int epochs_done() const { return static_cast<int>(history_.size()); }
  const std::vector<DnasEpoch>& history() const { return history_; }
  const std::vector<double>& logits() const { return logits_; }
  const ArchRelaxation& relaxation() const { return relaxation_; }
  // softmax(α) per choice without noise (τ = 1): the architecture weights repair weighs.
  ArchDistribution weights() const;
  // The derived architecture: argmax of α.
  Arch derive() const;

  // The whole search state with `fingerprint` (what the run was started with); restore refuses
  // a checkpoint with another fingerprint (kInvalidArgument) or a malformed one (kIoError).
  std::string checkpoint(const std::string& fingerprint) const;
  void restore(const std::string& bytes, const std::string& fingerprint, const std::string& path);

 private:
  // The seed of this step's stream `label` (Gumbel noise, dropout).
  std::uint64_t stream(const char* label) const;
  // A training-mode forward and backward of the supernet mixed by `d` on one batch: returns the
  // NLL, leaves the parameter gradients in grads_ and, unless null, the mixing inputs' in
  // `dmixing`. The batch statistics update the running ones.
  double supernet_pass(const ArchDistribution& d, const float* x, const int* labels, int n,
                       const char* dropout, training::MixingGradients* dmixing);
  // The α step on one validation batch; returns its loss.
  double arch_step(const float* x, const int* labels, int n, double tau);
  // The weight step on one training batch; returns its NLL.
  double weight_step(const float* x, const int* labels, int n, double tau);
  // Adds the penalty on `expected` against `target` (scaled gradient into `grad`) to the loss.
  double penalty(double expected, double target, const ArchDistribution& cost_grad,
                 ArchDistribution* grad) const;
  DnasEpoch summary() const;
  // The epoch's targets from the limits (see above).
  void set_targets();

  Space space_;
  DnasOptions options_;
  ArchRelaxation relaxation_;
  mcu::TargetProfile target_;
  ExpectedCost cost_;
  double latency_target_ = 0, memory_target_ = 0, flash_target_ = 0;  // of the current epoch
  training::TrainingGraph net_;
  // One executor for every pass: its activations, gradients and kept conv inputs are allocated
  // once, not faulted in and zeroed twice per step.
  std::unique_ptr<training::TrainingExecutor<float>> executor_;
  std::vector<double> logits_;
  std::vector<float> params_, state_, grads_;
  training::Adam adam_;
  std::int64_t step_ = 0, total_steps_ = 0;
  std::vector<DnasEpoch> history_;
};

}  // namespace micronas::timeseries
