// The backend seam. A Backend compiles a Graph into a GraphExecutor that holds the network's
// parameters, activations and Jacobian where it computes them (host memory for the CPU backend,
// device memory for CUDA). Everything between the network's input and the NTK's eigenvalues or
// the count of distinct activation patterns runs behind this interface; only inputs and
// parameters go in, and only eigenvalues, counts (and, for dumps and tests, copies) come out.
//
//   kernels/cpu/cpu_backend.cpp    the CPU backend (OpenMP kernels of kernels/cpu/)
//   kernels/cuda/cuda_backend.cu   the CUDA backend (kernels of kernels/cuda/, cuBLAS, cuSOLVER)
//   runtime/backend_registry.cpp   picks one from a ComputeContext
//   runtime/proxy_evaluator.cpp    the proxies, written once against this interface
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "micronas/context.hpp"
#include "micronas/graph.hpp"
#include "micronas/proxies.hpp"

namespace micronas {

// The NTK's spectrum as it leaves the executor.
struct NtkSpectrum {
  bool finite = true;               // false: K holds NaN or Inf (no eigenvalues computed)
  std::vector<double> eigenvalues;  // ascending, fp64
  std::vector<double> gram;         // K [rows, rows], only when asked for
};

class GraphExecutor {
 public:
  virtual ~GraphExecutor() = default;
  virtual const Graph& graph() const = 0;

  // Copies the flat parameter vector (graph().num_params values, Parameter::offset layout).
  virtual void set_parameters(const float* params) = 0;

  // Training-mode forward of `batch` inputs [batch, C, H, W] (host memory). Throws
  // Error(kNumericalError) naming the sample if an input is NaN or Inf. With record_patterns,
  // every ReLU folds each sample's activation pattern into its hash (kernels/common/
  // pattern_hash.hpp), and the batch's hashes are added to the executor's pattern set.
  virtual void forward(const float* inputs, int batch, bool record_patterns) = 0;
  // Logits [batch, classes] of the last forward, copied to the host.
  virtual std::vector<float> logits() = 0;

  // Forward, then one backward pass carrying the `batch` cotangents e_t ⊗ 1 (row t of J is
  // ∂(Σ_c logits[t, c]) / ∂θ over the parameters whose name contains "weight"). J stays on the
  // executor for ntk_spectrum().
  virtual void compute_jacobian(const float* inputs, int batch) = 0;
  // J of the last compute_jacobian(), copied to the host (dumps and tests).
  virtual Jacobian jacobian() = 0;
  // K = J Jᵀ accumulated in fp64 and its eigenvalues in fp64. With keep_gram, K is copied too.
  virtual NtkSpectrum ntk_spectrum(bool keep_gram) = 0;

  // Empties the pattern set; count_patterns() is the number of distinct hashes in it.
  virtual void clear_patterns() = 0;
  virtual std::int64_t count_patterns() = 0;
  virtual std::int64_t recorded_patterns() const = 0;  // samples recorded since clear_patterns()

  // Backward of the last forward for `cotangents` cotangents of the logits at once,
  // dlogits [T, batch, classes] (host). Writes parameter gradients [T, num_params] and input
  // gradients [T, batch, C, H, W] to host memory; either may be null. For tests.
  virtual void backward(const float* dlogits, int cotangents, float* dparams, float* dinput) = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  // The resolved context (never kAuto).
  virtual const ComputeContext& context() const = 0;
  virtual std::unique_ptr<GraphExecutor> compile(const Graph& graph) = 0;
};

// The backend of `context` (resolved first). Throws Error(kUnsupported) when this build or
// machine does not have it. The only place that knows which backends exist.
std::unique_ptr<Backend> make_backend(const ComputeContext& context);

// Factories of the individual backends (kernels/cpu, kernels/cuda); call make_backend instead.
std::unique_ptr<Backend> make_cpu_backend(const ComputeContext& context);
std::unique_ptr<Backend> make_cuda_backend(const ComputeContext& context);

}  // namespace micronas
