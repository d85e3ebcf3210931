#include "runtime/proxy_evaluator.hpp"

#include <algorithm>

#include "micronas/error.hpp"

namespace micronas {

ProxyNetwork::ProxyNetwork(Backend& backend, const Graph& graph)
    : executor_(backend.compile(graph)) {
  try {
    params_.assign(static_cast<std::size_t>(graph.num_params), 0.0f);
  } catch (const std::bad_alloc&) {
    throw Error(Status::kOutOfMemory,
                "cannot allocate " + std::to_string(graph.num_params) + " parameters");
  }
}

void ProxyNetwork::initialize(InitMode mode, std::uint64_t seed) {
  std::vector<double> values(params_.size());
  initialize_parameters(graph(), mode, seed, values.data());
  std::transform(values.begin(), values.end(), params_.begin(),
                 [](double v) { return static_cast<float>(v); });
  uploaded_ = false;
}

void ProxyNetwork::copy_parameters_from(const ProxyNetwork& other) {
  copy_parameters(other.graph(), other.params_.data(), graph(), params_.data());
  uploaded_ = false;
}

void ProxyNetwork::set_parameters(std::vector<float> values) {
  if (values.size() != params_.size())
    throw Error(Status::kInvalidArgument, "the network has " + std::to_string(params_.size()) +
                                              " parameters, got " + std::to_string(values.size()));
  params_ = std::move(values);
  uploaded_ = false;
}

GraphExecutor& ProxyNetwork::executor() {
  if (!uploaded_) {
    executor_->set_parameters(params_.data());
    uploaded_ = true;
  }
  return *executor_;
}

ProxyEvaluator::ProxyEvaluator(const ComputeContext& context) : backend_(make_backend(context)) {}

ProxyNetwork ProxyEvaluator::network(const NetworkConfig& config, const Arch& arch) {
  return ProxyNetwork(*backend_, build_graph(config, arch));
}

NtkCondition ProxyEvaluator::ntk_condition(ProxyNetwork& net, const ImageBatch& batch,
                                           NtkDump* dump) {
  context().check_cancelled();
  GraphExecutor& exec = net.executor();
  exec.compute_jacobian(batch.data.data(), batch.n);
  NtkSpectrum spectrum = exec.ntk_spectrum(dump != nullptr);
  if (dump) {
    dump->jacobian = exec.jacobian();
    dump->gram = std::move(spectrum.gram);
  }
  if (!spectrum.finite) return ntk_condition_of_nonfinite_gram();
  return ntk_condition_from_eigenvalues(std::move(spectrum.eigenvalues));
}

std::int64_t ProxyEvaluator::linear_regions(ProxyNetwork& net,
                                            const std::vector<ImageBatch>& batches, bool verify) {
  GraphExecutor& exec = net.executor();
  exec.clear_patterns();
  for (const ImageBatch& b : batches) {
    context().check_cancelled();
    exec.forward(b.data.data(), b.n, /*record_patterns=*/true);
  }
  const std::int64_t count = exec.count_patterns();
  if (verify) {
    Network<float> oracle(net.graph());
    std::copy(net.parameters().begin(), net.parameters().end(), oracle.params());
    LinearRegionCounter exact(/*verify=*/true);
    for (const ImageBatch& b : batches) exact.add_batch(oracle, b.data.data(), b.n);
    if (exact.exact_count() != count)
      throw Error(Status::kInternal, "the " + std::string(backend_name(context().backend)) +
                                         " backend counted " + std::to_string(count) +
                                         " activation patterns, exact bit rows give " +
                                         std::to_string(exact.exact_count()));
  }
  return count;
}

}  // namespace micronas
