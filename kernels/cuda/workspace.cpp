#include "kernels/cuda/workspace.hpp"

#include <algorithm>
#include <string>

#include "micronas/error.hpp"

namespace micronas::cuda {
namespace {

// Hands out offsets in a growing arena: `take` returns the next aligned offset.
class Arena {
 public:
  std::int64_t take(std::int64_t bytes) {
    const std::int64_t at = size_;
    size_ = align_up(size_ + std::max<std::int64_t>(bytes, 1));
    return at;
  }
  std::int64_t size() const { return size_; }

 private:
  std::int64_t size_ = 0;
};

// First-fit placement of buffers with lifetimes: the lowest aligned offset where `bytes` do
// not overlap any live buffer.
class LifetimeArena {
 public:
  std::int64_t take(std::int64_t bytes, int owner) {
    bytes = align_up(std::max<std::int64_t>(bytes, 1));
    std::sort(live_.begin(), live_.end(),
              [](const Block& a, const Block& b) { return a.offset < b.offset; });
    std::int64_t at = 0;
    for (const Block& b : live_) {
      if (at + bytes <= b.offset) break;
      at = std::max(at, b.offset + b.bytes);
    }
    live_.push_back({at, bytes, owner});
    peak_ = std::max(peak_, at + bytes);
    return at;
  }
  void give_back(int owner) {
    live_.erase(std::remove_if(live_.begin(), live_.end(),
                               [&](const Block& b) { return b.owner == owner; }),
                live_.end());
  }
  std::int64_t peak() const { return peak_; }

 private:
  struct Block {
    std::int64_t offset, bytes;
    int owner;
  };
  std::vector<Block> live_;
  std::int64_t peak_ = 0;
};

}  // namespace

std::vector<int> fused_relu_layers(const Graph& g) {
  const std::size_t layers = g.layers.size();
  std::vector<int> readers(g.values.size(), 0), producer(g.values.size(), -1);
  for (std::size_t li = 0; li < layers; ++li) {
    for (int v : g.layers[li].inputs) ++readers[v];
    producer[g.layers[li].output] = static_cast<int>(li);
  }
  std::vector<int> fused(layers, -1);
  for (std::size_t li = 0; li < layers; ++li) {
    const Layer& l = g.layers[li];
    if (l.kind != LayerKind::kConv2d) continue;
    const int v = l.inputs[0], p = producer[v];
    if (p >= 0 && g.layers[p].kind == LayerKind::kReLU && readers[v] == 1 && v != g.logits)
      fused[li] = p;
  }
  return fused;
}

std::vector<BackwardStep> backward_schedule(const Graph& g, const std::vector<int>& fused_relu,
                                            bool input_gradient) {
  std::vector<BackwardStep> steps;
  if (g.logits < 0) return steps;
  const std::size_t layers = g.layers.size();
  std::vector<int> readers(g.values.size(), 0), producer(g.values.size(), -1);
  for (std::size_t li = 0; li < layers; ++li) {
    for (int v : g.layers[li].inputs) ++readers[v];
    producer[g.layers[li].output] = static_cast<int>(li);
  }
  auto aliasable = [&](int v) {
    const int p = producer[v];
    return p >= 0 && readers[v] == 1 && v != g.logits &&
           (g.layers[p].kind == LayerKind::kBatchNorm || g.layers[p].kind == LayerKind::kAvgPool);
  };
  std::vector<bool> reached(g.values.size(), false);
  std::vector<int> buffer(g.values.size());  // whose buffer holds v's gradient
  std::vector<double> scale(g.values.size(), 1.0);
  for (std::size_t v = 0; v < g.values.size(); ++v) buffer[v] = static_cast<int>(v);
  reached[g.logits] = true;
  // Step `s` writes the gradient of v, if wanted: the input's only when asked for.
  auto write = [&](int v, BackwardStep* s) {
    if (v == 0 && !input_gradient) return;
    s->dx = v;
    s->accumulate = reached[v];
    reached[v] = true;
  };
  for (std::size_t li = layers; li-- > 0;) {
    const Layer& l = g.layers[li];
    if (!reached[l.output]) continue;  // never reaches the logits (or a fused ReLU)
    BackwardStep s;
    s.layer = static_cast<int>(li);
    s.dy = buffer[l.output];
    s.dy_scale = scale[l.output];
    switch (l.kind) {
      case LayerKind::kConv2d: {
        s.params = true;
        const int relu = fused_relu[li];
        const int src = relu >= 0 ? g.layers[relu].inputs[0] : l.inputs[0];
        if (relu >= 0) s.relu_mask = src;
        write(src, &s);
        steps.push_back(s);
        break;
      }
      case LayerKind::kBatchNorm:
      case LayerKind::kLinear:
        s.params = true;
        write(l.inputs[0], &s);
        steps.push_back(s);
        break;
      case LayerKind::kReLU:
      case LayerKind::kAvgPool:
      case LayerKind::kGlobalAvgPool:
        write(l.inputs[0], &s);
        steps.push_back(s);
        break;
      case LayerKind::kWeightedSum:
        if (l.inputs.empty()) {
          s.input = -1;
          steps.push_back(s);
        }
        for (std::size_t k = 0; k < l.inputs.size(); ++k) {
          const int v = l.inputs[k];
          // The sum is v's only reader, so nothing else has reached v; a sum's output is never
          // an alias itself, so its gradient is its own buffer.
          if (aliasable(v)) {
            reached[v] = true;
            buffer[v] = s.dy;
            scale[v] = 1.0 / l.divisors[k];
            continue;
          }
          BackwardStep t = s;
          t.input = static_cast<int>(k);
          write(v, &t);
          steps.push_back(t);
        }
        break;
    }
  }
  return steps;
}

GradientLayout plan_gradients(const Graph& g, const std::vector<int>& fused_relu,
                              bool input_gradient, std::int64_t bytes_per_element) {
  GradientLayout out;
  out.offset.assign(g.values.size(), -1);
  if (g.logits < 0) return out;
  LifetimeArena arena;
  auto bytes_of = [&](int v) { return g.values[v].numel() * bytes_per_element; };
  const std::vector<BackwardStep> steps = backward_schedule(g, fused_relu, input_gradient);
  std::vector<std::size_t> last_read(g.values.size(), 0);
  for (std::size_t i = 0; i < steps.size(); ++i) last_read[steps[i].dy] = i;
  out.offset[g.logits] = arena.take(bytes_of(g.logits), g.logits);
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const BackwardStep& s = steps[i];
    if (s.dx >= 0 && out.offset[s.dx] < 0) out.offset[s.dx] = arena.take(bytes_of(s.dx), s.dx);
    // After the last step that reads it, the buffer is free for the values upstream. The
    // offset stays recorded; the executor uses it only until then.
    if (last_read[s.dy] == i) arena.give_back(s.dy);
  }
  out.bytes = arena.peak();
  return out;
}

std::vector<int> jacobian_columns(const Graph& g) {
  std::vector<int> cols;
  for (const Parameter& p : g.params)
    if (p.is_weight())
      for (std::int64_t i = 0; i < p.size; ++i) cols.push_back(static_cast<int>(p.offset + i));
  return cols;
}

WorkspacePlan plan_workspace(const Graph& g, const WorkspaceRequest& r) {
  if (r.batch < 1 || r.cotangents < 1)
    throw Error(Status::kInvalidArgument, "workspace for batch " + std::to_string(r.batch) +
                                              " and " + std::to_string(r.cotangents) +
                                              " cotangents: both must be >= 1");
  if (g.logits < 0 || g.values.empty())
    throw Error(Status::kInvalidArgument, "workspace for a graph without logits");
  WorkspacePlan p;
  p.request = r;
  const std::int64_t N = r.batch, T = r.cotangents, P = g.num_params;
  const std::int64_t f = sizeof(float), d = sizeof(double);
  Arena a;
  p.params = a.take(P * f);
  p.dlogits = a.take(T * N * g.values[g.logits].numel() * f);
  p.values.resize(g.values.size());
  for (std::size_t v = 0; v < g.values.size(); ++v)
    p.values[v] = a.take(N * g.values[v].numel() * f);
  p.bn_mean.assign(g.layers.size(), -1);
  p.bn_invstd.assign(g.layers.size(), -1);
  for (std::size_t li = 0; li < g.layers.size(); ++li) {
    if (g.layers[li].kind != LayerKind::kBatchNorm) continue;
    const std::int64_t c = g.values[g.layers[li].output].c;
    p.bn_mean[li] = a.take(c * d);
    p.bn_invstd[li] = a.take(c * d);
  }
  const GradientLayout grads = plan_gradients(g, fused_relu_layers(g), r.input_gradient, T * N * f);
  const std::int64_t arena = a.take(grads.bytes);
  p.grad_bytes = grads.bytes;
  p.grads = grads.offset;
  for (std::int64_t& o : p.grads)
    if (o >= 0) o += arena;
  p.dparams = a.take(T * P * f);
  for (const Parameter& q : g.params)
    if (q.is_weight()) p.jacobian_cols += q.size;
  // A Jacobian has one row per cotangent: a forward-only executor with large batches (linear
  // regions) plans no large J or K.
  p.jacobian = a.take(T * p.jacobian_cols * f);
  p.jacobian64 = a.take(T * p.jacobian_cols * d);
  p.column_source = a.take(p.jacobian_cols * static_cast<std::int64_t>(sizeof(int)));
  p.gram = a.take(T * T * d);
  p.eigenvalues = a.take(T * d);
  p.solver = a.take(r.solver_bytes);
  p.flags = a.take(2 * static_cast<std::int64_t>(sizeof(int)));
  p.hashes = a.take(2 * N * static_cast<std::int64_t>(sizeof(std::uint64_t)));
  p.total_bytes = a.size();
  return p;
}

}  // namespace micronas::cuda
