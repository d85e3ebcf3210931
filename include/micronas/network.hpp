// A network built from a Graph, with its parameters, run forward and backward on the CPU in
// training mode exactly as PyTorch would (batch-statistics BN, biased variance, eps 1e-5).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "micronas/graph.hpp"

namespace micronas {

// Activation patterns gathered during a forward pass (linear-region counting): every ReLU folds
// each sample's bits [pre-activation > 0] into hash[2n], hash[2n+1]; with `rows` set, the bits
// are also appended to rows[n] (exact verification).
struct ActivationPatterns {
  std::vector<std::uint64_t> hash;
  std::vector<std::vector<std::uint64_t>>* rows = nullptr;
};

enum class InitMode {
  kPyTorchDefault,  // conv/linear weight U(±1/√fan_in), linear bias likewise, BN γ=1 β=0
  kKaimingFanIn,    // conv/linear weight N(0, 2/fan_in), biases 0, BN γ=1 β=0
  kKaimingFanOut,   // conv/linear weight N(0, 2/fan_out), biases 0, BN γ=1 β=0
};

// Fills `params` (graph.num_params values, in Parameter::offset layout) from the library's
// PRNG. Every parameter draws from its own stream derived from (seed, name), so a parameter has
// the same initial values in every network that contains it.
void initialize_parameters(const Graph& graph, InitMode mode, std::uint64_t seed, double* params);

// Copies into `to` every parameter of `to_graph` whose name `from_graph` also has (a candidate
// takes the supernet's values). Throws Error(kInvalidArgument) when a shared name differs in size.
template <class To, class From>
void copy_parameters(const Graph& from_graph, const From* from, const Graph& to_graph, To* to);

template <class Real>
class Network {
 public:
  explicit Network(Graph graph);

  const Graph& graph() const { return graph_; }
  std::int64_t num_params() const { return graph_.num_params; }
  Real* params() { return params_.data(); }
  const Real* params() const { return params_.data(); }
  // Parameter by state_dict name; throws Error(kInvalidArgument) if absent.
  const Parameter& parameter(const std::string& name) const;

  void initialize(InitMode mode, std::uint64_t seed);
  // Copies every parameter whose name `other` also has (a candidate takes the supernet's values).
  template <class Other>
  void copy_parameters_from(const Network<Other>& other);

  // Training-mode forward of `batch` samples [batch, C, H, W]; returns logits [batch, classes].
  // Throws Error(kNumericalError) naming the sample if the input holds NaN or Inf.
  // With `patterns`, ReLUs also record activation patterns (see ActivationPatterns).
  const std::vector<Real>& forward(const Real* input, int batch,
                                   ActivationPatterns* patterns = nullptr);
  int batch() const { return batch_; }
  // Activation of a value id from the last forward: [batch, shape].
  const std::vector<Real>& value(int id) const { return values_.at(id); }

  // Backward of the last forward for `cotangents` cotangents of the logits at once,
  // dlogits [T, batch, classes]. Writes parameter gradients [T, num_params] to dparams and input
  // gradients [T, batch, C, H, W] to dinput; either may be null.
  void backward(const Real* dlogits, int cotangents, Real* dparams, Real* dinput);

 private:
  // Gradient buffers, reused across layers, cotangents and calls (uninitialised: the first
  // writer of a gradient overwrites it), so a backward pass neither page-faults nor zero-fills.
  // A buffer may hold the gradient of several values (see scaled_alias_); it is free again when
  // each of them has released it.
  class BufferPool {
   public:
    Real* acquire(std::int64_t n);
    void retain(const Real* p);
    void release(const Real* p);

   private:
    struct Buffer {
      std::unique_ptr<Real[]> data;
      std::int64_t capacity = 0;
      int users = 0;
      std::uint64_t freed = 0;  // when it last became free
    };
    std::vector<Buffer> buffers_;
    std::uint64_t releases_ = 0;
  };
  // Fills packed_inputs_ for the last forward, once.
  void pack_conv_inputs();
  // Backward of cotangents [t0, t0 + count) with gradient buffers from `pool`.
  void backward_chunk(const Real* dlogits, int t0, int count, Real* dparams, Real* dinput,
                      BufferPool& pool);

  Graph graph_;
  std::vector<Real> params_;
  int batch_ = 0;
  std::vector<std::vector<Real>> values_;
  std::vector<std::vector<double>> bn_mean_, bn_invstd_;  // per layer (BN layers only)
  std::vector<BufferPool> pools_;                         // one per thread
  // Per conv layer: its input of the last forward packed for the weight gradient (see
  // cpu::conv2d_pack_input), built by the first backward after a forward and read by every
  // cotangent.
  std::vector<std::vector<Real>> packed_inputs_;
  bool packed_inputs_ready_ = false;
  // Per layer: for a conv whose input is a ReLU output read by nothing else, that ReLU layer
  // (its backward runs inside the conv's), else -1.
  std::vector<int> fused_relu_;
  // Per value: true for a BN or average-pool output read only by a node sum. Its gradient is the
  // node's gradient times 1/k, which the layer's backward reads from the node's buffer with the
  // factor instead of a scaled copy.
  std::vector<bool> scaled_alias_;
  // Per layer: true for a BN whose input is the output of a "same" stride-1 conv read by nothing
  // else. Its backward leaves dx as per-channel coefficients that the conv's backward applies
  // while packing its dy (cpu::ConvOutputGradient), so dx is never stored.
  std::vector<bool> deferred_bn_;
};

extern template class Network<float>;
extern template class Network<double>;

}  // namespace micronas
