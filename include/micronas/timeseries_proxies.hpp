// TE-NAS's zero-cost proxies on time-series networks (timeseries_training.hpp): the condition
// number of the neural tangent kernel and the number of linear regions, for an exact network and
// for the supernet at an ArchDistribution. Build the networks with NetworkOptions{0.0, false}: no
// dropout, and the output is the globally average-pooled class scores (the logits), not their
// log-softmax.
//
// NTK, as TE-NAS defines it (../shared/reference/tenas-semantics.md §3): one forward pass in
// training mode (batch statistics; the running statistics are not touched), then
// J[i, :] = ∂(Σ_c logits[i, c]) / ∂θ over every parameter whose name contains "weight" (conv
// weights) or "gamma" (batch-norm scales), in graph order; K = J Jᵀ in fp64 and its condition
// number from micronas::ntk_condition. Because batch norm uses the batch's statistics, row i is the
// gradient of one output row of a batch function, so J takes one backward pass through the whole
// batch per row (cotangent e_i ⊗ 1). A supernet option with mixing weight 0 contributes zero
// columns, so K is that of the network without it, as if it were not executed.
//
// Linear regions: every ReLU node's output, in execution order, gives the bits [value > 0]
// (= [pre-activation > 0]) of each sample; the count is the number of distinct bit rows, hashed
// per sample like the NB201 counter (kernels/common/pattern_hash.hpp), optionally verified
// against an exact count of the full rows.
#pragma once

#include <cstdint>
#include <vector>

#include "micronas/proxies.hpp"
#include "micronas/training_graph.hpp"

namespace micronas::timeseries {

// The parameters that form the Jacobian's columns: names containing "weight" or "gamma".
std::vector<int> ntk_parameters(const training::TrainingGraph& net);

// J [batch, cols] row-major, cols = Σ sizes of ntk_parameters(net), in that order. `mixing` as
// the graph's mixing inputs (empty vectors for an exact network). Throws Error(kInvalidArgument)
// for a batch < 2 or a graph whose output is not [classes, 1, 1]. `executor`, when given, is an
// executor of `net` whose buffers are reused (a search scores many networks of one graph).
template <class R>
std::vector<R> network_jacobian(const training::TrainingGraph& net, const std::vector<R>& params,
                                const std::vector<std::vector<R>>& mixing, const R* x, int batch,
                                training::TrainingExecutor<R>* executor = nullptr);

// κ of K = J Jᵀ (fp32 Jacobian, fp64 Gram and eigenvalues).
NtkCondition network_ntk(const training::TrainingGraph& net, const std::vector<float>& params,
                         const training::MixingValues& mixing, const float* x, int batch,
                         training::TrainingExecutor<float>* executor = nullptr);

// Distinct ReLU activation patterns over the samples of every batch added. Each batch is one
// training-mode forward pass (batch statistics of that batch).
class ReluPatternCounter {
 public:
  // verify = true also keeps the full bit rows and checks after every batch that the exact
  // count equals the hash count (throws Error(kInternal) if not).
  explicit ReluPatternCounter(bool verify = false) : patterns_(verify) {}
  void add_batch(const training::TrainingGraph& net, const std::vector<float>& params,
                 const training::MixingValues& mixing, const float* x, int batch,
                 training::TrainingExecutor<float>* executor = nullptr);
  std::int64_t samples() const { return patterns_.samples(); }
  std::int64_t count() const { return patterns_.count(); }
  // Throws Error(kInvalidArgument) unless built with verify = true.
  std::int64_t exact_count() const { return patterns_.exact_count(); }

 private:
  PatternSet patterns_;
};

}  // namespace micronas::timeseries
