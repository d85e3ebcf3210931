// Construction of a training graph: shapes, parameters, mixing inputs (see
// include/micronas/training_graph.hpp).
#include "micronas/training_graph.hpp"

#include <cmath>
#include <string>
#include <utility>

#include "micronas/error.hpp"
#include "micronas/random.hpp"

namespace micronas::training {
namespace {

int same_out(int in, int stride) { return (in + stride - 1) / stride; }
int same_before(int in, int k, int stride) {
  const int total = (same_out(in, stride) - 1) * stride + k - in;
  return total > 0 ? total / 2 : 0;
}

}  // namespace

const char* node_kind_name(NodeKind kind) {
  switch (kind) {
    case NodeKind::kInput: return "input";
    case NodeKind::kConv: return "conv";
    case NodeKind::kRelu: return "relu";
    case NodeKind::kBatchNorm: return "batch_norm";
    case NodeKind::kChannelScale: return "channel_scale";
    case NodeKind::kScale: return "scale";
    case NodeKind::kAdd: return "add";
    case NodeKind::kDropout: return "dropout";
    case NodeKind::kGlobalAvgPool: return "global_avg_pool";
    case NodeKind::kLogSoftmax: return "log_softmax";
  }
  return "?";
}

TrainingGraph::TrainingGraph(TensorShape input) {
  if (input.c <= 0 || input.h <= 0 || input.w <= 0)
    throw Error(Status::kInvalidArgument, "the input shape must be positive");
  Node n;
  n.kind = NodeKind::kInput;
  n.name = "input";
  n.shape = input;
  nodes_.push_back(n);
}

const Node& TrainingGraph::at(int x) const {
  if (x < 0 || x >= static_cast<int>(nodes_.size()))
    throw Error(Status::kInvalidArgument, "no node " + std::to_string(x));
  return nodes_[x];
}

int TrainingGraph::push(Node node) {
  nodes_.push_back(std::move(node));
  return static_cast<int>(nodes_.size()) - 1;
}

int TrainingGraph::add_parameter(const std::string& name, std::vector<int> dims,
                                 Parameter::Init init, int fan_in) {
  if (find_parameter(name) >= 0)
    throw Error(Status::kInvalidArgument, "parameter " + name + " defined twice");
  Parameter p;
  p.name = name;
  p.size = 1;
  for (int d : dims) p.size *= d;
  p.dims = std::move(dims);
  p.offset = param_count_;
  p.init = init;
  p.fan_in = fan_in;
  param_count_ += p.size;
  params_.push_back(p);
  return static_cast<int>(params_.size()) - 1;
}

int TrainingGraph::conv(const std::string& name, int x, int cout, int kh, int kw, int sh, int sw,
                        bool bias) {
  const TensorShape in = at(x).shape;
  if (cout <= 0 || kh <= 0 || kw <= 0 || sh <= 0 || sw <= 0)
    throw Error(Status::kInvalidArgument, name + ": channels, kernel and strides must be positive");
  Node n;
  n.kind = NodeKind::kConv;
  n.name = name;
  n.inputs = {x};
  n.shape = {cout, same_out(in.h, sh), same_out(in.w, sw)};
  n.kh = kh, n.kw = kw, n.sh = sh, n.sw = sw;
  n.pad_top = same_before(in.h, kh, sh);
  n.pad_left = same_before(in.w, kw, sw);
  const int fan_in = in.c * kh * kw;
  n.weight =
      add_parameter(name + ".weight", {cout, in.c, kh, kw}, Parameter::Init::kUniformFanIn, fan_in);
  if (bias) n.bias = add_parameter(name + ".bias", {cout}, Parameter::Init::kUniformFanIn, fan_in);
  return push(n);
}

int TrainingGraph::relu(int x) {
  Node n;
  n.kind = NodeKind::kRelu;
  n.name = at(x).name + ".relu";
  n.inputs = {x};
  n.shape = at(x).shape;
  return push(n);
}

int TrainingGraph::batch_norm(const std::string& name, int x) {
  Node n;
  n.kind = NodeKind::kBatchNorm;
  n.name = name;
  n.inputs = {x};
  n.shape = at(x).shape;
  n.weight = add_parameter(name + ".gamma", {n.shape.c}, Parameter::Init::kOnes, 0);
  n.bias = add_parameter(name + ".beta", {n.shape.c}, Parameter::Init::kZeros, 0);
  n.state = state_count_;
  state_count_ += 2 * n.shape.c;
  return push(n);
}

int TrainingGraph::channel_scale(int x, int mixing) {
  if (mixing < 0 || mixing >= static_cast<int>(mixings_.size()) ||
      mixings_[mixing].size != at(x).shape.c)
    throw Error(Status::kInvalidArgument,
                at(x).name + ": a channel scale needs a mixing input of one value per channel");
  Node n;
  n.kind = NodeKind::kChannelScale;
  n.name = at(x).name + "*" + mixings_[mixing].name;
  n.inputs = {x};
  n.shape = at(x).shape;
  n.mixing = mixing;
  return push(n);
}

int TrainingGraph::scale(int x, int mixing, int element) {
  if (mixing < 0 || mixing >= static_cast<int>(mixings_.size()) || element < 0 ||
      element >= mixings_[mixing].size)
    throw Error(Status::kInvalidArgument, at(x).name + ": no such mixing element");
  Node n;
  n.kind = NodeKind::kScale;
  n.name = at(x).name + "*" + mixings_[mixing].name + "[" + std::to_string(element) + "]";
  n.inputs = {x};
  n.shape = at(x).shape;
  n.mixing = mixing;
  n.element = element;
  return push(n);
}

int TrainingGraph::add(const std::vector<int>& xs) {
  if (xs.empty()) throw Error(Status::kInvalidArgument, "an add needs inputs");
  Node n;
  n.kind = NodeKind::kAdd;
  n.shape = at(xs[0]).shape;
  n.name = "add";
  for (int x : xs) {
    if (!(at(x).shape == n.shape))
      throw Error(Status::kInvalidArgument,
                  "add: " + at(x).name + " has another shape than " + at(xs[0]).name);
    n.name += ":" + at(x).name;
  }
  n.inputs = xs;
  return push(n);
}

int TrainingGraph::dropout(int x, double p, std::uint64_t stream) {
  if (!(p >= 0.0 && p < 1.0)) throw Error(Status::kInvalidArgument, "dropout must be in [0, 1)");
  Node n;
  n.kind = NodeKind::kDropout;
  n.name = at(x).name + ".dropout";
  n.inputs = {x};
  n.shape = at(x).shape;
  n.dropout = p;
  n.stream = stream;
  return push(n);
}

int TrainingGraph::global_avg_pool(int x) {
  Node n;
  n.kind = NodeKind::kGlobalAvgPool;
  n.name = at(x).name + ".pool";
  n.inputs = {x};
  n.shape = {at(x).shape.c, 1, 1};
  return push(n);
}

int TrainingGraph::log_softmax(int x) {
  if (at(x).shape.h != 1 || at(x).shape.w != 1)
    throw Error(Status::kInvalidArgument, "log-softmax takes a (classes, 1, 1) tensor");
  Node n;
  n.kind = NodeKind::kLogSoftmax;
  n.name = at(x).name + ".log_softmax";
  n.inputs = {x};
  n.shape = at(x).shape;
  return push(n);
}

int TrainingGraph::add_mixing(const std::string& name, int size) {
  if (size <= 0 || find_mixing(name) >= 0)
    throw Error(Status::kInvalidArgument, "mixing input " + name + " repeated or empty");
  mixings_.push_back({name, size});
  return static_cast<int>(mixings_.size()) - 1;
}

int TrainingGraph::find_parameter(const std::string& name) const {
  for (std::size_t i = 0; i < params_.size(); ++i)
    if (params_[i].name == name) return static_cast<int>(i);
  return -1;
}

int TrainingGraph::find_mixing(const std::string& name) const {
  for (std::size_t i = 0; i < mixings_.size(); ++i)
    if (mixings_[i].name == name) return static_cast<int>(i);
  return -1;
}

std::vector<float> TrainingGraph::initial_parameters(std::uint64_t seed) const {
  std::vector<float> v(static_cast<std::size_t>(param_count_));
  for (const Parameter& p : params_) {
    // One stream per parameter name: adding a layer does not change the others' values.
    Rng rng(derive_seed(seed, p.name));
    const double bound = p.fan_in > 0 ? 1.0 / std::sqrt(double(p.fan_in)) : 0.0;
    for (std::int64_t i = 0; i < p.size; ++i) {
      float& x = v[static_cast<std::size_t>(p.offset + i)];
      switch (p.init) {
        case Parameter::Init::kUniformFanIn:
          x = static_cast<float>(rng.uniform(-bound, bound));
          break;
        case Parameter::Init::kOnes: x = 1.0f; break;
        case Parameter::Init::kZeros: x = 0.0f; break;
      }
    }
  }
  return v;
}

std::vector<float> TrainingGraph::initial_state() const {
  std::vector<float> s(static_cast<std::size_t>(state_count_), 0.0f);
  for (const Node& n : nodes_)
    if (n.kind == NodeKind::kBatchNorm)
      for (int c = 0; c < n.shape.c; ++c)
        s[static_cast<std::size_t>(n.state + n.shape.c + c)] = 1.0f;
  return s;
}

std::int64_t TrainingGraph::macs() const {
  std::int64_t total = 0;
  for (const Node& n : nodes_)
    if (n.kind == NodeKind::kConv)
      total += n.shape.size() * n.kh * n.kw * nodes_[n.inputs[0]].shape.c;
  return total;
}

}  // namespace micronas::training
