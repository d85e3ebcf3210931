#include "micronas/network.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>

#include "kernels/cpu/cpu_kernels.hpp"
#include "micronas/error.hpp"
#include "micronas/threads.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace micronas {
namespace {

constexpr double kBatchNormEps = 1e-5;

int omp_thread_id() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

cpu::ConvGeometry conv_geometry(const Graph& g, const Layer& l) {
  const Shape& in = g.values[l.inputs[0]];
  const Shape& out = g.values[l.output];
  return {in.c,     in.h,     in.w,  out.c, l.kernel, l.kernel,
          l.stride, l.stride, l.pad, l.pad, out.h,    out.w};
}

cpu::PoolGeometry pool_geometry(const Graph& g, const Layer& l) {
  const Shape& in = g.values[l.inputs[0]];
  const Shape& out = g.values[l.output];
  return {in.c, in.h, in.w, l.kernel, l.stride, l.pad, out.h, out.w};
}

template <class Real>
void resize(std::vector<Real>* v, std::int64_t n) {
  try {
    v->resize(static_cast<std::size_t>(n));
  } catch (const std::bad_alloc&) {
    throw Error(Status::kOutOfMemory, "cannot allocate " + std::to_string(n * sizeof(Real)) +
                                          " bytes for a network tensor");
  }
}

}  // namespace

template <class Real>
Network<Real>::Network(Graph graph) : graph_(std::move(graph)) {
  resize(&params_, graph_.num_params);
  bn_mean_.resize(graph_.layers.size());
  bn_invstd_.resize(graph_.layers.size());
  const std::size_t layers = graph_.layers.size();
  std::vector<int> readers(graph_.values.size(), 0), producer(graph_.values.size(), -1);
  for (std::size_t li = 0; li < layers; ++li) {
    for (int v : graph_.layers[li].inputs) ++readers[v];
    producer[graph_.layers[li].output] = static_cast<int>(li);
  }
  scaled_alias_.assign(graph_.values.size(), false);
  for (std::size_t li = 0; li < layers; ++li) {
    const Layer& l = graph_.layers[li];
    if (l.kind != LayerKind::kWeightedSum) continue;
    for (int v : l.inputs) {
      const int p = producer[v];
      scaled_alias_[v] = p >= 0 && readers[v] == 1 && v != graph_.logits &&
                         (graph_.layers[p].kind == LayerKind::kBatchNorm ||
                          graph_.layers[p].kind == LayerKind::kAvgPool);
    }
  }
  fused_relu_.assign(layers, -1);
  for (std::size_t li = 0; li < layers; ++li) {
    const Layer& l = graph_.layers[li];
    if (l.kind != LayerKind::kConv2d) continue;
    const int v = l.inputs[0], p = producer[v];
    if (p >= 0 && graph_.layers[p].kind == LayerKind::kReLU && readers[v] == 1 &&
        v != graph_.logits)
      fused_relu_[li] = p;
  }
  deferred_bn_.assign(layers, false);
  for (std::size_t li = 0; li < layers; ++li) {
    const Layer& l = graph_.layers[li];
    if (l.kind != LayerKind::kBatchNorm) continue;
    const int v = l.inputs[0], p = producer[v];
    deferred_bn_[li] = p >= 0 && graph_.layers[p].kind == LayerKind::kConv2d && readers[v] == 1 &&
                       v != graph_.logits &&
                       cpu::conv2d_backward_fusable(conv_geometry(graph_, graph_.layers[p]));
  }
}

template <class Real>
const Parameter& Network<Real>::parameter(const std::string& name) const {
  for (const Parameter& p : graph_.params)
    if (p.name == name) return p;
  throw Error(Status::kInvalidArgument, "the network has no parameter '" + name + "'");
}

template <class Real>
void Network<Real>::initialize(InitMode mode, std::uint64_t seed) {
  std::vector<double> values(static_cast<std::size_t>(graph_.num_params));
  initialize_parameters(graph_, mode, seed, values.data());
  std::transform(values.begin(), values.end(), params_.begin(),
                 [](double v) { return static_cast<Real>(v); });
}

template <class To, class From>
void copy_parameters(const Graph& from_graph, const From* from, const Graph& to_graph, To* to) {
  for (const Parameter& p : to_graph.params) {
    for (const Parameter& q : from_graph.params) {
      if (q.name != p.name) continue;
      if (q.size != p.size)
        throw Error(Status::kInvalidArgument, "parameter '" + p.name + "' has " +
                                                  std::to_string(q.size) + " values, expected " +
                                                  std::to_string(p.size));
      for (std::int64_t i = 0; i < p.size; ++i)
        to[p.offset + i] = static_cast<To>(from[q.offset + i]);
      break;
    }
  }
}

template <class Real>
template <class Other>
void Network<Real>::copy_parameters_from(const Network<Other>& other) {
  copy_parameters(other.graph(), other.params(), graph_, params_.data());
}

template <class Real>
const std::vector<Real>& Network<Real>::forward(const Real* input, int batch,
                                                ActivationPatterns* patterns) {
  if (batch < 1) throw Error(Status::kInvalidArgument, "batch must be >= 1");
  const Graph& g = graph_;
  const std::int64_t in_numel = g.values[0].numel();
  for (int n = 0; n < batch; ++n)
    for (std::int64_t i = 0; i < in_numel; ++i)
      if (!std::isfinite(input[n * in_numel + i]))
        throw Error(Status::kNumericalError, "input sample " + std::to_string(n) +
                                                 " holds a non-finite value at element " +
                                                 std::to_string(i));
  batch_ = batch;
  packed_inputs_ready_ = false;
  if (patterns) {
    patterns->hash.resize(2 * static_cast<std::size_t>(batch));
    cpu::pattern_hash_init(batch, patterns->hash.data());
    if (patterns->rows) patterns->rows->assign(batch, {});
  }
  // Every tensor keeps its storage from the last forward (a search runs hundreds): every kernel
  // below writes its whole output, so only the sizes change.
  values_.resize(g.values.size());
  values_[0].assign(input, input + batch * in_numel);
  for (std::size_t li = 0; li < g.layers.size(); ++li) {
    const Layer& l = g.layers[li];
    const Shape& out_shape = g.values[l.output];
    std::vector<Real>& out = values_[l.output];
    resize(&out, batch * out_shape.numel());
    const Real* x = l.inputs.empty() ? nullptr : values_[l.inputs[0]].data();
    const Real* w = l.weight >= 0 ? params_.data() + g.params[l.weight].offset : nullptr;
    const Real* b = l.bias >= 0 ? params_.data() + g.params[l.bias].offset : nullptr;
    const Shape& in_shape = l.inputs.empty() ? out_shape : g.values[l.inputs[0]];
    switch (l.kind) {
      case LayerKind::kConv2d:
        cpu::conv2d_forward(conv_geometry(g, l), batch, x, w, out.data());
        break;
      case LayerKind::kBatchNorm:
        bn_mean_[li].resize(out_shape.c);
        bn_invstd_[li].resize(out_shape.c);
        cpu::batch_norm_forward(batch, out_shape.c, out_shape.h * out_shape.w, x, w, b,
                                kBatchNormEps, out.data(), bn_mean_[li].data(),
                                bn_invstd_[li].data());
        break;
      case LayerKind::kReLU:
        if (patterns) {
          cpu::relu_forward_pattern_hash<Real>(batch, out_shape.numel(), x, out.data(),
                                               patterns->hash.data());
          if (patterns->rows)
            cpu::append_pattern_bits<Real>(batch, out_shape.numel(), x, patterns->rows->data());
        } else {
          cpu::relu_forward<Real>(batch * out_shape.numel(), x, out.data());
        }
        break;
      case LayerKind::kAvgPool:
        cpu::avg_pool_forward(pool_geometry(g, l), batch, x, out.data());
        break;
      case LayerKind::kGlobalAvgPool:
        cpu::global_avg_pool_forward(batch, in_shape.c, in_shape.h * in_shape.w, x, out.data());
        break;
      case LayerKind::kLinear:
        cpu::linear_forward(batch, static_cast<int>(in_shape.numel()), out_shape.c, x, w, b,
                            out.data());
        break;
      case LayerKind::kWeightedSum:
        if (l.inputs.empty()) std::fill(out.begin(), out.end(), Real(0));  // every edge `none`
        for (std::size_t k = 0; k < l.inputs.size(); ++k)
          cpu::scaled_add<Real>(batch * out_shape.numel(), Real(1) / Real(l.divisors[k]),
                                values_[l.inputs[k]].data(), out.data(), k > 0);
        break;
    }
  }
  return values_[g.logits];
}

template <class Real>
Real* Network<Real>::BufferPool::acquire(std::int64_t n) {
  // Best fit among the free buffers (the same sizes recur every cotangent and every call), and
  // among equal fits the one freed last: its lines are the likeliest to be still cached.
  Buffer* best = nullptr;
  for (Buffer& b : buffers_)
    if (b.users == 0 && b.capacity >= n &&
        (!best || b.capacity < best->capacity ||
         (b.capacity == best->capacity && b.freed > best->freed)))
      best = &b;
  if (!best) {
    Buffer b;
    try {
      b.data.reset(new Real[static_cast<std::size_t>(n)]);
    } catch (const std::bad_alloc&) {
      throw Error(Status::kOutOfMemory, "cannot allocate " + std::to_string(n * sizeof(Real)) +
                                            " bytes for a gradient tensor");
    }
    b.capacity = n;
    buffers_.push_back(std::move(b));
    best = &buffers_.back();
  }
  best->users = 1;
  return best->data.get();
}

template <class Real>
void Network<Real>::BufferPool::retain(const Real* p) {
  for (Buffer& b : buffers_)
    if (b.data.get() == p) ++b.users;
}

template <class Real>
void Network<Real>::BufferPool::release(const Real* p) {
  for (Buffer& b : buffers_)
    if (b.data.get() == p && b.users > 0 && --b.users == 0) b.freed = ++releases_;
}

template <class Real>
void Network<Real>::backward(const Real* dlogits, int cotangents, Real* dparams, Real* dinput) {
  if (batch_ == 0) throw Error(Status::kInvalidArgument, "backward() needs a forward() first");
  if (cotangents < 1) throw Error(Status::kInvalidArgument, "cotangents must be >= 1");
  const std::int64_t P = graph_.num_params;
  const int threads = num_threads();
  if (pools_.size() < static_cast<std::size_t>(threads)) pools_.resize(threads);
  pack_conv_inputs();
  // Cotangents are independent (BN couples the samples of one cotangent, never two
  // cotangents), so with at least one per thread each thread runs whole single-cotangent
  // passes: a gradient tensor is then N·C·H·W (< 2 MB for the NTK net at B = 128) and stays in
  // L2/L3 across the layers instead of streaming T times that through DRAM, and no layer ends
  // in a barrier. Kernels called inside the region run on one thread. Every kernel computes
  // each cotangent's outputs in an order independent of the cotangent count and of the thread
  // that runs it, so both schedules give bitwise identical results.
  if (threads > 1 && cotangents >= threads) {
    std::exception_ptr error;
#pragma omp parallel num_threads(threads)
    {
      BufferPool& pool = pools_[omp_thread_id()];
#pragma omp for schedule(dynamic, 1)
      for (int t = 0; t < cotangents; ++t) {
        try {
          backward_chunk(dlogits, t, 1, dparams ? dparams + t * P : nullptr, dinput, pool);
        } catch (...) {
#pragma omp critical(micronas_backward_error)
          if (!error) error = std::current_exception();
        }
      }
    }
    if (error) std::rethrow_exception(error);
  } else if (cotangents > 1 && threads == 1) {
    for (int t = 0; t < cotangents; ++t)
      backward_chunk(dlogits, t, 1, dparams ? dparams + t * P : nullptr, dinput, pools_[0]);
  } else {
    backward_chunk(dlogits, 0, cotangents, dparams, dinput, pools_[0]);
  }
}

template <class Real>
void Network<Real>::pack_conv_inputs() {
  if (packed_inputs_ready_) return;
  const Graph& g = graph_;
  packed_inputs_.resize(g.layers.size());
  for (std::size_t li = 0; li < g.layers.size(); ++li) {
    const Layer& l = g.layers[li];
    if (l.kind != LayerKind::kConv2d) continue;
    const cpu::ConvGeometry geo = conv_geometry(g, l);
    std::vector<Real>& packed = packed_inputs_[li];
    try {
      packed.resize(static_cast<std::size_t>(batch_ * cpu::conv2d_packed_input_size<Real>(geo)));
    } catch (const std::bad_alloc&) {
      throw Error(Status::kOutOfMemory, "cannot allocate the packed input of layer " +
                                            std::to_string(li) + " for the weight gradient");
    }
    cpu::conv2d_pack_input(geo, batch_, values_[l.inputs[0]].data(), packed.data());
  }
  packed_inputs_ready_ = true;
}

template <class Real>
void Network<Real>::backward_chunk(const Real* dlogits, int t0, int count, Real* dparams,
                                   Real* dinput, BufferPool& pool) {
  const Graph& g = graph_;
  const std::int64_t T = count, N = batch_, P = g.num_params;
  std::vector<Real> scratch_params;
  if (!dparams) {
    resize(&scratch_params, T * P);
    dparams = scratch_params.data();
  }
  std::fill(dparams, dparams + T * P, Real(0));
  // Gradient buffers [count, N, shape] per value; null = no gradient reached it yet. The
  // gradient of value v is grad_scale[v] times its buffer (1 except for scaled aliases).
  std::vector<Real*> grads(g.values.size(), nullptr);
  std::vector<double> grad_scale(g.values.size(), 1.0);
  // Per value: the coefficients of a deferred BN backward (deferred_bn_) whose output gradient
  // grads[v] holds; empty for a gradient stored as it is.
  std::vector<std::vector<cpu::BatchNormDx<Real>>> deferred(g.values.size());
  const std::int64_t nlogits = N * g.values[g.logits].numel();
  grads[g.logits] = pool.acquire(T * nlogits);
  std::copy(dlogits + t0 * nlogits, dlogits + (t0 + T) * nlogits, grads[g.logits]);

  // Returns the gradient buffer of value v and whether the kernel should add into it.
  auto grad_of = [&](int v, bool* accumulate) -> Real* {
    *accumulate = grads[v] != nullptr;
    if (!grads[v]) grads[v] = pool.acquire(T * N * g.values[v].numel());
    return grads[v];
  };

  const int cotangents = count;
  for (std::size_t li = g.layers.size(); li-- > 0;) {
    const Layer& l = g.layers[li];
    if (!grads[l.output]) continue;  // output never reaches the logits
    const Real* dy = grads[l.output];
    const Shape& out_shape = g.values[l.output];
    const Real* x = l.inputs.empty() ? nullptr : values_[l.inputs[0]].data();
    const Real* w = l.weight >= 0 ? params_.data() + g.params[l.weight].offset : nullptr;
    Real* dw = l.weight >= 0 ? dparams + g.params[l.weight].offset : nullptr;
    Real* db = l.bias >= 0 ? dparams + g.params[l.bias].offset : nullptr;
    const Shape& in_shape = l.inputs.empty() ? out_shape : g.values[l.inputs[0]];
    bool acc = false;
    switch (l.kind) {
      case LayerKind::kConv2d: {
        const cpu::ConvGeometry geo = conv_geometry(g, l);
        const Real* packed = packed_inputs_[li].data();
        // A fused ReLU's backward runs here, so its output never gets a gradient buffer and
        // its own layer is skipped.
        const int relu = fused_relu_[li];
        const int src = relu >= 0 ? g.layers[relu].inputs[0] : l.inputs[0];
        // The network input needs a gradient only when asked for.
        Real* dx = src != 0 || dinput ? grad_of(src, &acc) : nullptr;
        if (cpu::conv2d_backward_fusable(geo)) {
          const std::vector<cpu::BatchNormDx<Real>>& bn = deferred[l.output];
          const cpu::ConvOutputGradient<Real> grad{dy,
                                                   bn.empty() ? nullptr : values_[l.output].data(),
                                                   bn.empty() ? nullptr : bn.data()};
          cpu::conv2d_backward(geo, cotangents, batch_, grad, packed, w, relu >= 0, dx, acc, dw, P);
        } else {
          cpu::conv2d_backward_weight(geo, cotangents, batch_, dy, x, packed, dw, P);
          if (dx)
            cpu::conv2d_backward_data<Real>(geo, cotangents, batch_, dy, w,
                                            relu >= 0 ? values_[src].data() : nullptr, dx, acc);
        }
        break;
      }
      case LayerKind::kBatchNorm: {
        if (deferred_bn_[li]) {
          // The conv's output gradient is this layer's, with the coefficients applied by the
          // conv; nothing else reads the conv's output, so no gradient reached it yet.
          const int v = l.inputs[0];
          deferred[v].resize(static_cast<std::size_t>(T) * out_shape.c);
          cpu::batch_norm_input_gradient(cotangents, batch_, out_shape.c, out_shape.h * out_shape.w,
                                         dy, grad_scale[l.output], x, bn_mean_[li].data(),
                                         bn_invstd_[li].data(), w, dw, db, P, deferred[v].data());
          grads[v] = grads[l.output];
          pool.retain(grads[v]);
          break;
        }
        Real* dx = grad_of(l.inputs[0], &acc);
        cpu::batch_norm_backward(cotangents, batch_, out_shape.c, out_shape.h * out_shape.w, dy,
                                 grad_scale[l.output], x, bn_mean_[li].data(),
                                 bn_invstd_[li].data(), w, dx, acc, dw, db, P);
        break;
      }
      case LayerKind::kReLU: {
        Real* dx = grad_of(l.inputs[0], &acc);
        cpu::relu_backward(cotangents, N * out_shape.numel(), dy, x, dx, acc);
        break;
      }
      case LayerKind::kAvgPool: {
        Real* dx = grad_of(l.inputs[0], &acc);
        cpu::avg_pool_backward(pool_geometry(g, l), cotangents * batch_, dy,
                               static_cast<Real>(grad_scale[l.output]), dx, acc);
        break;
      }
      case LayerKind::kGlobalAvgPool: {
        Real* dx = grad_of(l.inputs[0], &acc);
        cpu::global_avg_pool_backward(cotangents * batch_, in_shape.c, in_shape.h * in_shape.w, dy,
                                      dx, acc);
        break;
      }
      case LayerKind::kLinear: {
        int in = static_cast<int>(in_shape.numel());
        cpu::linear_backward_params(cotangents, batch_, in, out_shape.c, dy, x, dw, db, P);
        Real* dx = grad_of(l.inputs[0], &acc);
        cpu::linear_backward_data(cotangents * batch_, in, out_shape.c, dy, w, dx, acc);
        break;
      }
      case LayerKind::kWeightedSum:
        for (std::size_t k = 0; k < l.inputs.size(); ++k) {
          const int v = l.inputs[k];
          // Its only reader is this sum, so no gradient reached it yet; a sum's own output is
          // never an alias, so its gradient is its buffer.
          if (scaled_alias_[v]) {
            grads[v] = grads[l.output];
            grad_scale[v] = 1.0 / l.divisors[k];
            pool.retain(grads[v]);
            continue;
          }
          Real* dx = grad_of(v, &acc);
          cpu::scaled_add<Real>(T * N * out_shape.numel(), Real(1) / Real(l.divisors[k]), dy, dx,
                                acc);
        }
        break;
    }
    // Every reader of this value has run its backward: its buffer goes back to the pool.
    pool.release(grads[l.output]);
    grads[l.output] = nullptr;
  }
  if (dinput) {
    const std::int64_t n = N * g.values[0].numel();
    Real* out = dinput + t0 * n;
    if (!grads[0])
      std::fill(out, out + T * n, Real(0));
    else
      std::copy(grads[0], grads[0] + T * n, out);
  }
  for (Real* p : grads)
    if (p) pool.release(p);
}

template class Network<float>;
template class Network<double>;
template void Network<float>::copy_parameters_from(const Network<float>&);
template void Network<float>::copy_parameters_from(const Network<double>&);
template void Network<double>::copy_parameters_from(const Network<float>&);
template void Network<double>::copy_parameters_from(const Network<double>&);
template void copy_parameters(const Graph&, const float*, const Graph&, float*);

}  // namespace micronas
