// Forward and backward of a training graph on the CPU kernels (see
// include/micronas/training_graph.hpp).
#include <algorithm>
#include <utility>

#include "kernels/common/geometry.hpp"
#include "kernels/cpu/cpu_kernels.hpp"
#include "micronas/error.hpp"
#include "micronas/training_graph.hpp"

namespace micronas::training {
namespace {

ConvGeometry geometry(const Node& n, const TensorShape& in) {
  return {in.c, in.h, in.w,      n.shape.c,  n.kh,      n.kw,
          n.sh, n.sw, n.pad_top, n.pad_left, n.shape.h, n.shape.w};
}

// How a conv node runs: the direct kernels, Winograd along time (branch convs) or lowered to
// one product (other one-dimensional convs, such as those across sensors), the grouped
// algorithms where the batch fills their 16-image groups.
enum class ConvAlgorithm : char { kDirect, kWinograd, kLowered };

ConvAlgorithm conv_algorithm(const ConvGeometry& geo, int batch, const ExecutionOptions& o) {
  if (!o.fast_paths) return ConvAlgorithm::kDirect;
  if (cpu::winograd_pays(geo, batch)) return ConvAlgorithm::kWinograd;
  if (cpu::lowered_conv_pays(geo, batch)) return ConvAlgorithm::kLowered;
  return ConvAlgorithm::kDirect;
}

}  // namespace

template <class R>
struct TrainingExecutor<R>::Impl {
  const TrainingGraph& graph;
  int batch = 0;
  bool trained = false;  // the last forward ran in training mode
  // masks: Dropout2d's per-plane factors; packed: each conv's input as its algorithm reads it
  // (packed, Winograd-transformed or lowered, conv_algorithm[i]), kept from the forward for the
  // weight gradient.
  std::vector<std::vector<R>> values, grads, masks, packed;
  std::vector<std::vector<double>> mean, invstd;
  std::vector<char> has_grad;
  std::vector<ConvAlgorithm> conv_algorithm;
  // With fast paths (fast, set by each forward), two node pairs run as one:
  // - a Scale node whose only reader is an Add (foldable): the Add sums the scaled inputs itself
  //   and takes their backward, so their output is never stored and their gradient never copied
  //   (a scaled sum of k terms is one pass over each term instead of three);
  // - a ReLU node whose only reader is a batch norm (relu_fusable): the batch norm's backward
  //   applies the ReLU's, bitwise as node by node, and the ReLU's gradient is never stored.
  std::vector<char> foldable, relu_fusable;
  bool fast = false;
  bool folded(int node) const { return fast && foldable[node]; }
  bool relu_fused(int node) const { return fast && relu_fusable[node]; }

  explicit Impl(const TrainingGraph& g)
      : graph(g),
        values(g.nodes().size()),
        grads(g.nodes().size()),
        masks(g.nodes().size()),
        packed(g.nodes().size()),
        mean(g.nodes().size()),
        invstd(g.nodes().size()),
        has_grad(g.nodes().size(), 0),
        conv_algorithm(g.nodes().size(), ConvAlgorithm::kDirect),
        foldable(g.nodes().size(), 0),
        relu_fusable(g.nodes().size(), 0) {
    const auto& nodes = g.nodes();
    std::vector<int> readers(nodes.size(), 0), reader(nodes.size(), -1);
    for (std::size_t i = 0; i < nodes.size(); ++i)
      for (int s : nodes[i].inputs) ++readers[s], reader[s] = static_cast<int>(i);
    for (std::size_t i = 0; i < nodes.size(); ++i)
      foldable[i] = nodes[i].kind == NodeKind::kScale && readers[i] == 1 &&
                    static_cast<int>(i) != g.output() && nodes[reader[i]].kind == NodeKind::kAdd;
    for (std::size_t i = 0; i < nodes.size(); ++i)
      relu_fusable[i] = nodes[i].kind == NodeKind::kRelu && readers[i] == 1 &&
                        static_cast<int>(i) != g.output() &&
                        nodes[reader[i]].kind == NodeKind::kBatchNorm;
  }

  // Input k of an Add as a term: its Scale node's input and factor when folded, else itself.
  std::pair<const R*, R> term(int source, const std::vector<std::vector<R>>& mixing) const {
    const Node& s = graph.nodes()[source];
    if (!folded(source)) return {values[source].data(), R(1)};
    return {values[s.inputs[0]].data(), mixing[s.mixing][s.element]};
  }

  std::int64_t elements(int node) const { return batch * graph.nodes()[node].shape.size(); }

  // The gradient buffer of `node` and whether a contribution is already in it (the caller
  // then accumulates); marks it as written.
  R* grad_for(int node, bool* accumulate) {
    *accumulate = has_grad[node] != 0;
    if (!has_grad[node]) grads[node].resize(static_cast<std::size_t>(elements(node)));
    has_grad[node] = 1;
    return grads[node].data();
  }
};

template <class R>
TrainingExecutor<R>::TrainingExecutor(const TrainingGraph& graph)
    : impl_(std::make_unique<Impl>(graph)) {}

template <class R>
TrainingExecutor<R>::~TrainingExecutor() = default;

template <class R>
const std::vector<R>& TrainingExecutor<R>::value(int node) const {
  return impl_->values.at(static_cast<std::size_t>(node));
}

template <class R>
const std::vector<R>& TrainingExecutor<R>::forward(const R* params, R* state,
                                                   const std::vector<std::vector<R>>& mixing,
                                                   const R* x, int batch,
                                                   const ExecutionOptions& options) {
  Impl& m = *impl_;
  const TrainingGraph& g = m.graph;
  if (batch <= 0) throw Error(Status::kInvalidArgument, "batch must be positive");
  if (mixing.size() != g.mixings().size())
    throw Error(Status::kInvalidArgument, "expected " + std::to_string(g.mixings().size()) +
                                              " mixing inputs, got " +
                                              std::to_string(mixing.size()));
  for (std::size_t i = 0; i < mixing.size(); ++i)
    if (static_cast<int>(mixing[i].size()) != g.mixings()[i].size)
      throw Error(Status::kInvalidArgument, "mixing input " + g.mixings()[i].name + " needs " +
                                                std::to_string(g.mixings()[i].size) + " values");
  m.batch = batch;
  m.trained = options.training;
  m.fast = options.fast_paths;
  const auto& nodes = g.nodes();
  const auto param = [&](int index) { return params + g.parameters()[index].offset; };
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const Node& n = nodes[i];
    if (m.folded(static_cast<int>(i))) continue;  // summed by its Add
    std::vector<R>& y = m.values[i];
    y.resize(static_cast<std::size_t>(m.elements(static_cast<int>(i))));
    const std::int64_t count = static_cast<std::int64_t>(y.size());
    const int plane = n.shape.h * n.shape.w;
    const R* in = n.inputs.empty() ? nullptr : m.values[n.inputs[0]].data();
    switch (n.kind) {
      case NodeKind::kInput: std::copy(x, x + count, y.begin()); break;
      case NodeKind::kConv: {
        const ConvGeometry geo = geometry(n, nodes[n.inputs[0]].shape);
        const ConvAlgorithm a = m.conv_algorithm[i] = conv_algorithm(geo, batch, options);
        std::vector<R>& kept = m.packed[i];
        if (a == ConvAlgorithm::kWinograd) {
          kept.resize(static_cast<std::size_t>(cpu::winograd_input_size<R>(geo, batch)));
          cpu::winograd_forward<R>(geo, batch, in, param(n.weight), y.data(), kept.data());
        } else if (a == ConvAlgorithm::kLowered) {
          kept.resize(static_cast<std::size_t>(cpu::lowered_input_size<R>(geo, batch)));
          cpu::lowered_conv_forward<R>(geo, batch, in, param(n.weight), y.data(), kept.data());
        } else {
          kept.resize(static_cast<std::size_t>(batch * cpu::conv2d_packed_input_size<R>(geo)));
          cpu::conv2d_forward<R>(geo, batch, in, param(n.weight), y.data(), kept.data());
        }
        if (n.bias >= 0) cpu::bias_forward<R>(batch, n.shape.c, plane, param(n.bias), y.data());
        break;
      }
      case NodeKind::kRelu: cpu::relu_forward<R>(count, in, y.data()); break;
      case NodeKind::kBatchNorm: {
        R* running = state + n.state;
        if (options.training) {
          m.mean[i].resize(n.shape.c);
          m.invstd[i].resize(n.shape.c);
          cpu::batch_norm_forward<R>(batch, n.shape.c, plane, in, param(n.weight), param(n.bias),
                                     options.eps, y.data(), m.mean[i].data(), m.invstd[i].data());
          cpu::batch_norm_update_running<R>(n.shape.c, double(batch) * plane, m.mean[i].data(),
                                            m.invstd[i].data(), options.eps, options.momentum,
                                            running, running + n.shape.c);
        } else {
          cpu::batch_norm_eval_forward<R>(batch, n.shape.c, plane, in, param(n.weight),
                                          param(n.bias), running, running + n.shape.c, options.eps,
                                          y.data());
        }
        break;
      }
      case NodeKind::kChannelScale:
        cpu::channel_scale_forward<R>(batch, n.shape.c, plane, in, mixing[n.mixing].data(),
                                      y.data());
        break;
      case NodeKind::kScale:
        cpu::scaled_add<R>(count, mixing[n.mixing][n.element], in, y.data(), false);
        break;
      case NodeKind::kAdd:
        for (std::size_t k = 0; k < n.inputs.size(); ++k) {
          const auto [x_k, scale] = m.term(n.inputs[k], mixing);
          if (k == 0 && scale == R(1))
            std::copy(x_k, x_k + count, y.begin());
          else
            cpu::scaled_add<R>(count, scale, x_k, y.data(), k > 0);
        }
        break;
      case NodeKind::kDropout:
        if (options.training && n.dropout > 0.0) {
          m.masks[i].resize(static_cast<std::size_t>(batch) * n.shape.c);
          cpu::dropout2d_mask<R>(batch, n.shape.c, n.dropout, options.dropout_seed, n.stream,
                                 m.masks[i].data());
          cpu::plane_scale<R>(std::int64_t{batch} * n.shape.c, plane, in, m.masks[i].data(),
                              y.data(), false);
        } else {
          m.masks[i].clear();
          std::copy(in, in + count, y.begin());
        }
        break;
      case NodeKind::kGlobalAvgPool: {
        const TensorShape s = nodes[n.inputs[0]].shape;
        cpu::global_avg_pool_forward<R>(batch, s.c, s.h * s.w, in, y.data());
        break;
      }
      case NodeKind::kLogSoftmax:
        cpu::log_softmax_forward<R>(batch, n.shape.c, in, y.data());
        break;
    }
  }
  return m.values.back();
}

template <class R>
void TrainingExecutor<R>::backward(const R* params, const std::vector<std::vector<R>>& mixing,
                                   const R* dout, R* dparams, MixingGradients* dmixing) {
  Impl& m = *impl_;
  const TrainingGraph& g = m.graph;
  if (!m.trained || m.batch == 0)
    throw Error(Status::kInvalidArgument, "backward needs a training-mode forward first");
  const auto& nodes = g.nodes();
  const int batch = m.batch;
  std::fill(dparams, dparams + g.parameter_count(), R(0));
  if (dmixing) {
    dmixing->assign(g.mixings().size(), {});
    for (std::size_t i = 0; i < g.mixings().size(); ++i)
      (*dmixing)[i].assign(g.mixings()[i].size, 0.0);
  }
  std::fill(m.has_grad.begin(), m.has_grad.end(), 0);
  const int out = g.output();
  bool acc = false;
  R* dlast = m.grad_for(out, &acc);
  std::copy(dout, dout + m.elements(out), dlast);
  const auto param = [&](int index) { return params + g.parameters()[index].offset; };
  const auto dparam = [&](int index) { return dparams + g.parameters()[index].offset; };
  for (int i = out; i > 0; --i) {
    if (!m.has_grad[i]) continue;  // does not reach the output
    const Node& n = nodes[i];
    const R* dy = m.grads[i].data();
    const std::int64_t count = m.elements(i);
    const int plane = n.shape.h * n.shape.w;
    const int src = n.inputs[0];
    const R* x = m.values[src].data();
    // The network input needs no gradient.
    const bool want_dx = src != g.input();
    switch (n.kind) {
      case NodeKind::kInput: break;
      case NodeKind::kConv: {
        const ConvGeometry geo = geometry(n, nodes[src].shape);
        const R* packed = m.packed[i].data();
        if (n.bias >= 0) cpu::bias_backward<R>(batch, n.shape.c, plane, dy, dparam(n.bias));
        if (m.conv_algorithm[i] == ConvAlgorithm::kWinograd) {
          R* dx = want_dx ? m.grad_for(src, &acc) : nullptr;
          cpu::winograd_backward<R>(geo, batch, dy, packed, param(n.weight), dx, acc,
                                    dparam(n.weight));
          break;
        }
        if (m.conv_algorithm[i] == ConvAlgorithm::kLowered) {
          R* dx = want_dx ? m.grad_for(src, &acc) : nullptr;
          cpu::lowered_conv_backward<R>(geo, batch, dy, packed, param(n.weight), dx, acc,
                                        dparam(n.weight));
          break;
        }
        if (want_dx && cpu::conv2d_backward_fusable(geo)) {
          // Both gradients from one padded copy of each dy image.
          R* dx = m.grad_for(src, &acc);
          cpu::conv2d_backward<R>(geo, 1, batch, dy, packed, param(n.weight), false, dx, acc,
                                  dparam(n.weight), 0);
          break;
        }
        cpu::conv2d_backward_weight<R>(geo, 1, batch, dy, x, packed, dparam(n.weight), 0);
        if (want_dx) {
          R* dx = m.grad_for(src, &acc);
          cpu::conv2d_backward_data<R>(geo, 1, batch, dy, param(n.weight), nullptr, dx, acc);
        }
        break;
      }
      case NodeKind::kRelu:
        if (want_dx) {
          R* dx = m.grad_for(src, &acc);
          cpu::relu_backward<R>(1, count, dy, x, dx, acc);
        }
        break;
      case NodeKind::kBatchNorm: {
        if (m.relu_fused(src)) {
          const int z = nodes[src].inputs[0];
          R* dz = z != g.input() ? m.grad_for(z, &acc) : nullptr;
          cpu::batch_norm_relu_backward<R>(batch, n.shape.c, plane, dy, x, m.mean[i].data(),
                                           m.invstd[i].data(), param(n.weight), dz, acc,
                                           dparam(n.weight), dparam(n.bias));
          break;
        }
        R* dx = want_dx ? m.grad_for(src, &acc) : nullptr;
        if (!dx) {
          // The kernel always writes dx: give it a scratch buffer.
          m.grads[src].resize(static_cast<std::size_t>(m.elements(src)));
          dx = m.grads[src].data();
          acc = false;
        }
        cpu::batch_norm_backward<R>(1, batch, n.shape.c, plane, dy, 1.0, x, m.mean[i].data(),
                                    m.invstd[i].data(), param(n.weight), dx, acc, dparam(n.weight),
                                    dparam(n.bias), 0);
        break;
      }
      case NodeKind::kChannelScale: {
        R* dx = want_dx ? m.grad_for(src, &acc) : nullptr;
        cpu::channel_scale_backward<R>(batch, n.shape.c, plane, dy, x, mixing[n.mixing].data(), dx,
                                       acc, dmixing ? (*dmixing)[n.mixing].data() : nullptr);
        break;
      }
      case NodeKind::kScale: {
        R* dx = want_dx ? m.grad_for(src, &acc) : nullptr;
        const double da = cpu::scale_backward<R>(batch, n.shape.c, plane, dy, x,
                                                 mixing[n.mixing][n.element], dx, acc);
        if (dmixing) (*dmixing)[n.mixing][n.element] += da;
        break;
      }
      case NodeKind::kAdd:
        for (int s : n.inputs) {
          if (m.folded(s)) {
            // The folded Scale's backward, on this Add's dy (its own gradient would be a copy).
            const Node& sn = nodes[s];
            const int scaled = sn.inputs[0];
            R* dx = scaled != g.input() ? m.grad_for(scaled, &acc) : nullptr;
            const double da =
                cpu::scale_backward<R>(batch, sn.shape.c, plane, dy, m.values[scaled].data(),
                                       mixing[sn.mixing][sn.element], dx, acc);
            if (dmixing) (*dmixing)[sn.mixing][sn.element] += da;
            continue;
          }
          if (s == g.input()) continue;
          R* dx = m.grad_for(s, &acc);
          cpu::scaled_add<R>(count, R(1), dy, dx, acc);
        }
        break;
      case NodeKind::kDropout:
        if (!want_dx) break;
        {
          R* dx = m.grad_for(src, &acc);
          if (m.masks[i].empty())
            cpu::scaled_add<R>(count, R(1), dy, dx, acc);
          else
            cpu::plane_scale<R>(std::int64_t{batch} * n.shape.c, plane, dy, m.masks[i].data(), dx,
                                acc);
        }
        break;
      case NodeKind::kGlobalAvgPool:
        if (want_dx) {
          const TensorShape s = nodes[src].shape;
          R* dx = m.grad_for(src, &acc);
          cpu::global_avg_pool_backward<R>(batch, s.c, s.h * s.w, dy, dx, acc);
        }
        break;
      case NodeKind::kLogSoftmax:
        if (want_dx) {
          R* dx = m.grad_for(src, &acc);
          cpu::log_softmax_backward<R>(batch, n.shape.c, dy, m.values[i].data(), dx, acc);
        }
        break;
    }
  }
}

template <class R>
double nll_loss(int batch, int classes, const R* log_probs, const int* labels, R* dlog_probs) {
  const double loss = cpu::nll_loss_forward<R>(batch, classes, log_probs, labels);
  if (dlog_probs) cpu::nll_loss_backward<R>(batch, classes, labels, 1.0, dlog_probs);
  return loss;
}

template class TrainingExecutor<float>;
template class TrainingExecutor<double>;
template double nll_loss<float>(int, int, const float*, const int*, float*);
template double nll_loss<double>(int, int, const double*, const int*, double*);

}  // namespace micronas::training
