#include "micronas/network.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/cpu/cpu_kernels.hpp"
#include "micronas/error.hpp"

namespace micronas {
namespace {

constexpr double kBatchNormEps = 1e-5;

cpu::ConvGeometry conv_geometry(const Graph& g, const Layer& l) {
  const Shape& in = g.values[l.inputs[0]];
  const Shape& out = g.values[l.output];
  return {in.c, in.h, in.w, out.c, l.kernel, l.stride, l.pad, out.h, out.w};
}

cpu::PoolGeometry pool_geometry(const Graph& g, const Layer& l) {
  const Shape& in = g.values[l.inputs[0]];
  const Shape& out = g.values[l.output];
  return {in.c, in.h, in.w, l.kernel, l.stride, l.pad, out.h, out.w};
}

template <class Real>
std::vector<Real> allocate(std::int64_t n) {
  try {
    return std::vector<Real>(static_cast<std::size_t>(n));
  } catch (const std::bad_alloc&) {
    throw Error(Status::kOutOfMemory, "cannot allocate " + std::to_string(n * sizeof(Real)) +
                                          " bytes for a network tensor");
  }
}

}  // namespace

template <class Real>
Network<Real>::Network(Graph graph) : graph_(std::move(graph)) {
  params_ = allocate<Real>(graph_.num_params);
  bn_mean_.resize(graph_.layers.size());
  bn_invstd_.resize(graph_.layers.size());
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

template <class Real>
template <class Other>
void Network<Real>::copy_parameters_from(const Network<Other>& other) {
  for (const Parameter& p : graph_.params) {
    for (const Parameter& q : other.graph().params) {
      if (q.name != p.name) continue;
      if (q.size != p.size)
        throw Error(Status::kInvalidArgument, "parameter '" + p.name + "' has " +
                                                  std::to_string(q.size) + " values, expected " +
                                                  std::to_string(p.size));
      for (std::int64_t i = 0; i < p.size; ++i)
        params_[p.offset + i] = static_cast<Real>(other.params()[q.offset + i]);
      break;
    }
  }
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
        throw Error(Status::kNumericalError,
                    "input sample " + std::to_string(n) + " holds a non-finite value at element " +
                        std::to_string(i));
  batch_ = batch;
  if (patterns) {
    patterns->hash.resize(2 * static_cast<std::size_t>(batch));
    cpu::pattern_hash_init(batch, patterns->hash.data());
    if (patterns->rows) patterns->rows->assign(batch, {});
  }
  values_.assign(g.values.size(), {});
  values_[0].assign(input, input + batch * in_numel);
  for (std::size_t li = 0; li < g.layers.size(); ++li) {
    const Layer& l = g.layers[li];
    const Shape& out_shape = g.values[l.output];
    std::vector<Real> out = allocate<Real>(batch * out_shape.numel());
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
        for (std::size_t k = 0; k < l.inputs.size(); ++k)
          cpu::scaled_add<Real>(batch * out_shape.numel(), Real(1) / Real(l.divisors[k]),
                                values_[l.inputs[k]].data(), out.data(), k > 0);
        break;  // no inputs (every edge `none`): zeros
    }
    values_[l.output] = std::move(out);
  }
  return values_[g.logits];
}

template <class Real>
void Network<Real>::backward(const Real* dlogits, int cotangents, Real* dparams, Real* dinput) {
  const Graph& g = graph_;
  if (batch_ == 0) throw Error(Status::kInvalidArgument, "backward() needs a forward() first");
  if (cotangents < 1) throw Error(Status::kInvalidArgument, "cotangents must be >= 1");
  const std::int64_t T = cotangents, N = batch_, P = g.num_params;
  // Gradient buffers [T, N, shape] per value; empty = no gradient reached it yet.
  std::vector<std::vector<Real>> grads(g.values.size());
  grads[g.logits].assign(dlogits, dlogits + T * N * g.values[g.logits].numel());
  std::vector<Real> scratch_params;
  if (!dparams) {
    scratch_params = allocate<Real>(T * P);
    dparams = scratch_params.data();
  }
  std::fill(dparams, dparams + T * P, Real(0));

  // Returns the gradient buffer of value v and whether the kernel should add into it.
  auto grad_of = [&](int v, bool* accumulate) -> Real* {
    *accumulate = !grads[v].empty();
    if (grads[v].empty()) grads[v] = allocate<Real>(T * N * g.values[v].numel());
    return grads[v].data();
  };

  for (std::size_t li = g.layers.size(); li-- > 0;) {
    const Layer& l = g.layers[li];
    if (grads[l.output].empty()) continue;  // output never reaches the logits
    const Real* dy = grads[l.output].data();
    const Shape& out_shape = g.values[l.output];
    const Real* x = l.inputs.empty() ? nullptr : values_[l.inputs[0]].data();
    const Real* w = l.weight >= 0 ? params_.data() + g.params[l.weight].offset : nullptr;
    Real* dw = l.weight >= 0 ? dparams + g.params[l.weight].offset : nullptr;
    Real* db = l.bias >= 0 ? dparams + g.params[l.bias].offset : nullptr;
    const Shape& in_shape = l.inputs.empty() ? out_shape : g.values[l.inputs[0]];
    bool acc = false;
    switch (l.kind) {
      case LayerKind::kConv2d: {
        cpu::ConvGeometry geo = conv_geometry(g, l);
        cpu::conv2d_backward_weight(geo, cotangents, batch_, dy, x, dw, P);
        // The network input needs a gradient only when asked for.
        if (l.inputs[0] != 0 || dinput) {
          Real* dx = grad_of(l.inputs[0], &acc);
          cpu::conv2d_backward_data(geo, cotangents * batch_, dy, w, dx, acc);
        }
        break;
      }
      case LayerKind::kBatchNorm: {
        Real* dx = grad_of(l.inputs[0], &acc);
        cpu::batch_norm_backward(cotangents, batch_, out_shape.c, out_shape.h * out_shape.w, dy,
                                 x, bn_mean_[li].data(), bn_invstd_[li].data(), w, dx, acc, dw,
                                 db, P);
        break;
      }
      case LayerKind::kReLU: {
        Real* dx = grad_of(l.inputs[0], &acc);
        cpu::relu_backward(cotangents, N * out_shape.numel(), dy, x, dx, acc);
        break;
      }
      case LayerKind::kAvgPool: {
        Real* dx = grad_of(l.inputs[0], &acc);
        cpu::avg_pool_backward(pool_geometry(g, l), cotangents * batch_, dy, dx, acc);
        break;
      }
      case LayerKind::kGlobalAvgPool: {
        Real* dx = grad_of(l.inputs[0], &acc);
        cpu::global_avg_pool_backward(cotangents * batch_, in_shape.c, in_shape.h * in_shape.w,
                                      dy, dx, acc);
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
          Real* dx = grad_of(l.inputs[k], &acc);
          cpu::scaled_add<Real>(T * N * out_shape.numel(), Real(1) / Real(l.divisors[k]), dy, dx,
                                acc);
        }
        break;
    }
    // Every reader of this value has run its backward: release the buffer.
    grads[l.output] = std::vector<Real>();
  }
  if (dinput) {
    const std::int64_t n = T * N * g.values[0].numel();
    if (grads[0].empty())
      std::fill(dinput, dinput + n, Real(0));
    else
      std::copy(grads[0].begin(), grads[0].end(), dinput);
  }
}

template class Network<float>;
template class Network<double>;
template void Network<float>::copy_parameters_from(const Network<float>&);
template void Network<float>::copy_parameters_from(const Network<double>&);
template void Network<double>::copy_parameters_from(const Network<float>&);
template void Network<double>::copy_parameters_from(const Network<double>&);

}  // namespace micronas
