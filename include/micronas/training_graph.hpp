// A trainable network as a graph of operations over NCHW float tensors, with a flat parameter
// vector, and its executor: forward in training or eval mode, backward to the parameter
// gradients and to the gradients of "mixing inputs" (vectors and scalars that scale tensors, such
// as a supernet's width masks and choice probabilities). Space-agnostic: search spaces build their
// networks from these nodes (search/timeseries/ builds the time-series networks and supernet).
//
// Per-sample tensors are (c, h, w); a batch is [batch, c, h, w], contiguous. Convolutions use
// TensorFlow's "same" padding (out = ceil(in / stride), the smaller half of the padding before).
// Determinism: every kernel reduces in a fixed order with one thread per output, and Dropout2d
// draws from a counter-based stream, so a forward and backward are bitwise identical for the
// same inputs whatever the thread count.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace micronas::training {

struct TensorShape {
  int c = 0, h = 0, w = 0;
  std::int64_t size() const { return std::int64_t{c} * h * w; }
  bool operator==(const TensorShape& o) const { return c == o.c && h == o.h && w == o.w; }
};

enum class NodeKind {
  kInput,
  kConv,  // weight [cout, cin, kh, kw], optional bias [cout]
  kRelu,
  kBatchNorm,     // gamma, beta [c]; running mean and variance in the state vector
  kChannelScale,  // y[n, c] = x[n, c] · mixing[c] (a vector mixing input of c values)
  kScale,         // y = mixing[element] · x (one element of a mixing input)
  kAdd,           // sum of the inputs (equal shapes)
  kDropout,       // Dropout2d: whole channels per sample, scaled by 1 / (1 - p), training only
  kGlobalAvgPool,
  kLogSoftmax,  // over the channels of a (classes, 1, 1) tensor
};
const char* node_kind_name(NodeKind kind);

struct Node {
  NodeKind kind = NodeKind::kInput;
  std::string name;
  std::vector<int> inputs;
  TensorShape shape;  // per-sample output shape
  // kConv
  int kh = 1, kw = 1, sh = 1, sw = 1, pad_top = 0, pad_left = 0;
  // Parameter indices: kConv weight and bias (-1: none), kBatchNorm gamma and beta.
  int weight = -1, bias = -1;
  std::int64_t state = -1;   // kBatchNorm: offset of the running mean (c values, variance after)
  int mixing = -1;           // kChannelScale, kScale: the mixing input
  int element = 0;           // kScale: its element
  double dropout = 0.0;      // kDropout: drop probability
  std::uint64_t stream = 0;  // kDropout: random stream (same stream, same masks per channel)
};

struct Parameter {
  enum class Init { kUniformFanIn, kOnes, kZeros };
  std::string name;
  std::vector<int> dims;
  std::int64_t offset = 0, size = 0;
  Init init = Init::kZeros;
  int fan_in = 0;  // kUniformFanIn: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), PyTorch's conv default
};

struct MixingInput {
  std::string name;
  int size = 0;
};

// Mixing values (one vector per mixing input, in graph order) and their gradients.
using MixingValues = std::vector<std::vector<float>>;
using MixingGradients = std::vector<std::vector<double>>;

class TrainingGraph {
 public:
  explicit TrainingGraph(TensorShape input);

  int input() const { return 0; }
  // Conv with TensorFlow "same" padding, named `name` (parameters name.weight, name.bias).
  int conv(const std::string& name, int x, int cout, int kh, int kw, int sh, int sw,
           bool bias = true);
  int relu(int x);
  // Parameters name.gamma, name.beta; running statistics start at mean 0, variance 1.
  int batch_norm(const std::string& name, int x);
  int channel_scale(int x, int mixing);
  int scale(int x, int mixing, int element);
  int add(const std::vector<int>& xs);
  int dropout(int x, double p, std::uint64_t stream);
  int global_avg_pool(int x);
  int log_softmax(int x);
  // A new mixing input of `size` values; throws kInvalidArgument for a repeated name.
  int add_mixing(const std::string& name, int size);

  const std::vector<Node>& nodes() const { return nodes_; }
  const std::vector<Parameter>& parameters() const { return params_; }
  const std::vector<MixingInput>& mixings() const { return mixings_; }
  std::int64_t parameter_count() const { return param_count_; }
  std::int64_t state_count() const { return state_count_; }
  int output() const { return static_cast<int>(nodes_.size()) - 1; }
  // Index of the parameter or mixing input called `name`, -1 if none.
  int find_parameter(const std::string& name) const;
  int find_mixing(const std::string& name) const;

  // Seeded initial parameters (PyTorch's defaults: conv weights and biases uniform in
  // ±1/sqrt(fan_in), batch norm gamma 1, beta 0) and running statistics (mean 0, variance 1).
  std::vector<float> initial_parameters(std::uint64_t seed) const;
  std::vector<float> initial_state() const;
  // Multiply-accumulates of the convolutions per sample.
  std::int64_t macs() const;

 private:
  int push(Node node);
  int add_parameter(const std::string& name, std::vector<int> dims, Parameter::Init init,
                    int fan_in);
  const Node& at(int x) const;

  std::vector<Node> nodes_;
  std::vector<Parameter> params_;
  std::vector<MixingInput> mixings_;
  std::int64_t param_count_ = 0, state_count_ = 0;
};

struct ExecutionOptions {
  bool training = true;            // batch statistics and dropout; else running statistics
  std::uint64_t dropout_seed = 0;  // with the node's stream: the Dropout2d masks of this step
  double momentum = 0.1;           // running statistics (PyTorch's default)
  double eps = 1e-5;
  // The faster paths, whose results equal the node-by-node arithmetic up to rounding: for
  // batches that fill 16-image groups (16, 22-32, 33-48, ...), branch convs ((k, 1), stride 1,
  // "same", >= 16 channels) by Winograd along time, with about half the multiply-adds
  // (kernels/cpu/winograd.cpp), and other one-dimensional convs with >= 24 outputs (the sensor
  // convs (1, k)) as one lowered product (kernels/cpu/lowered_conv.cpp); and a Scale node read
  // only by an Add folded into it; and a ReLU read only by a batch norm has its backward applied
  // inside the batch norm's (bitwise the same, its gradient never stored). false: the direct
  // kernels and every node on its own, the arithmetic of the proxies
  // (search/timeseries/proxies.cpp).
  bool fast_paths = true;
};

// Runs a graph on the CPU in precision R (float for training, double for gradient checks).
// Holds the activations of the last forward pass for the backward pass.
template <class R>
class TrainingExecutor {
 public:
  explicit TrainingExecutor(const TrainingGraph& graph);
  ~TrainingExecutor();
  TrainingExecutor(const TrainingExecutor&) = delete;
  TrainingExecutor& operator=(const TrainingExecutor&) = delete;

  // x [batch, input shape]; params of parameter_count() values; state of state_count() values,
  // updated in training mode; mixing as mixings() sizes. Returns the output node's values.
  const std::vector<R>& forward(const R* params, R* state,
                                const std::vector<std::vector<R>>& mixing, const R* x, int batch,
                                const ExecutionOptions& options);
  // After a training-mode forward: dout is d(loss)/d(output); writes dparams (parameter_count()
  // values) and, unless null, dmixing (resized like the mixing inputs).
  void backward(const R* params, const std::vector<std::vector<R>>& mixing, const R* dout,
                R* dparams, MixingGradients* dmixing);
  // The last forward's output of `node`; empty for a Scale node whose only reader is an Add,
  // which sums the scaled input itself.
  const std::vector<R>& value(int node) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Mean negative log-likelihood of log_probs [batch, classes] at labels, and (unless null) its
// gradient with respect to log_probs. Throws kInvalidArgument for a label outside the classes.
template <class R>
double nll_loss(int batch, int classes, const R* log_probs, const int* labels, R* dlog_probs);

}  // namespace micronas::training
