// TE-NAS's proxies written once against the backend seam: score, the pruning search, the random
// search and the sweep all evaluate through a ProxyEvaluator, so the backend is chosen in one
// place (the ComputeContext of their options).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "micronas/data.hpp"
#include "micronas/network.hpp"
#include "micronas/proxies.hpp"
#include "micronas/score.hpp"
#include "runtime/backend.hpp"

namespace micronas {

// One network of an architecture compiled for a backend. The parameters are drawn and copied on
// the host (the library's PRNG, name matching between supernet and candidates) and uploaded to
// the executor before it next computes.
class ProxyNetwork {
 public:
  ProxyNetwork(Backend& backend, const Graph& graph);

  const Graph& graph() const { return executor_->graph(); }
  void initialize(InitMode mode, std::uint64_t seed);
  // Takes every parameter that `other` also has, by state_dict name.
  void copy_parameters_from(const ProxyNetwork& other);
  // Takes graph().num_params values in Parameter::offset layout.
  void set_parameters(std::vector<float> values);
  const std::vector<float>& parameters() const { return params_; }
  // The executor with the current parameters uploaded.
  GraphExecutor& executor();

 private:
  std::unique_ptr<GraphExecutor> executor_;
  std::vector<float> params_;
  bool uploaded_ = false;
};

// What score --dump writes of one NTK evaluation.
struct NtkDump {
  Jacobian jacobian;
  std::vector<double> gram;
};

class ProxyEvaluator {
 public:
  explicit ProxyEvaluator(const ComputeContext& context);
  const ComputeContext& context() const { return backend_->context(); }

  ProxyNetwork network(const NetworkConfig& config, const Arch& arch);

  // The NTK condition number of `net` on one batch: forward through stem, cells and head, the
  // Jacobian by one backward pass carrying every cotangent, K = J Jᵀ in fp64, its eigenvalues.
  // With `dump`, J and K are copied out as well.
  NtkCondition ntk_condition(ProxyNetwork& net, const ImageBatch& batch, NtkDump* dump = nullptr);

  // Distinct activation patterns of `net` over the batches (BN statistics per batch). With
  // `verify`, the count is checked against exact bit rows computed by the CPU network on the
  // same parameters (throws Error(kInternal) if they differ).
  std::int64_t linear_regions(ProxyNetwork& net, const std::vector<ImageBatch>& batches,
                              bool verify = false);

 private:
  std::unique_ptr<Backend> backend_;
};

// score_architecture() on an evaluator that outlives the call (sweeps and random search score many
// cells on one backend); options.context is not consulted.
ScoreResult score_architecture(const Arch& arch, const ScoreOptions& options,
                               ProxyEvaluator& evaluator);

}  // namespace micronas
