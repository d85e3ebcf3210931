// int8 TFLite export of a network graph (see micronas/tflite_export.hpp).
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "mcu/lowering.hpp"
#include "mcu/tflite/tflite_writer.hpp"
#include "micronas/error.hpp"
#include "micronas/network.hpp"
#include "micronas/npy.hpp"
#include "micronas/tflite_export.hpp"

namespace micronas::tflite {
namespace {

using mcu::DeployedOp;
using mcu::DeployedOpKind;
using mcu::LoweredSource;
using mcu::ScheduleOp;

constexpr double kBnEps = 1e-5;

[[noreturn]] void unsupported(const std::string& what) {
  throw Error(Status::kUnsupported, "TFLite export: " + what);
}

std::string param_prefix(const std::string& name) {
  const std::size_t dot = name.rfind('.');
  return dot == std::string::npos ? name : name.substr(0, dot);
}

std::vector<double> param_values(const Graph& g, const Weights& w, int id) {
  const Parameter& p = g.params[id];
  return std::vector<double>(w.params.begin() + p.offset, w.params.begin() + p.offset + p.size);
}

std::vector<double> stat_or(const RunningStats& s, bool mean, const std::string& prefix, int c) {
  const auto& table = mean ? s.mean : s.var;
  auto it = table.find(prefix);
  if (it != table.end()) return it->second;
  return std::vector<double>(c, mean ? 0.0 : 1.0);
}

// Inference-mode BN of layer `bn` as a per-channel affine map x * scale + shift.
void bn_affine(const Graph& g, const Weights& w, const Layer& bn, std::vector<double>& scale,
               std::vector<double>& shift) {
  const std::vector<double> gamma = param_values(g, w, bn.weight);
  const std::vector<double> beta = param_values(g, w, bn.bias);
  const int c = static_cast<int>(gamma.size());
  const std::string prefix = param_prefix(g.params[bn.weight].name);
  const std::vector<double> mean = stat_or(w.stats, true, prefix, c);
  const std::vector<double> var = stat_or(w.stats, false, prefix, c);
  scale.resize(c);
  shift.resize(c);
  for (int i = 0; i < c; ++i) {
    scale[i] = gamma[i] / std::sqrt(var[i] + kBnEps);
    shift[i] = beta[i] - mean[i] * scale[i];
  }
}

// ---- The graph in inference mode, NCHW, per sample (the unfolded reference). ----

void ref_conv(const std::vector<double>& in, const Shape& is, const std::vector<double>& w,
              const Layer& l, const Shape& os, std::vector<double>& out) {
  out.assign(os.numel(), 0.0);
  const int k = l.kernel;
  for (int co = 0; co < os.c; ++co)
    for (int ci = 0; ci < is.c; ++ci)
      for (int ky = 0; ky < k; ++ky)
        for (int kx = 0; kx < k; ++kx) {
          const double wv = w[((static_cast<std::size_t>(co) * is.c + ci) * k + ky) * k + kx];
          for (int oy = 0; oy < os.h; ++oy) {
            const int iy = oy * l.stride - l.pad + ky;
            if (iy < 0 || iy >= is.h) continue;
            for (int ox = 0; ox < os.w; ++ox) {
              const int ix = ox * l.stride - l.pad + kx;
              if (ix < 0 || ix >= is.w) continue;
              out[(static_cast<std::size_t>(co) * os.h + oy) * os.w + ox] +=
                  wv * in[(static_cast<std::size_t>(ci) * is.h + iy) * is.w + ix];
            }
          }
        }
}

void ref_pool(const std::vector<double>& in, const Shape& is, int k_h, int k_w, int stride, int pad,
              const Shape& os, std::vector<double>& out) {
  out.assign(os.numel(), 0.0);
  for (int c = 0; c < os.c; ++c)
    for (int oy = 0; oy < os.h; ++oy)
      for (int ox = 0; ox < os.w; ++ox) {
        double sum = 0;
        int count = 0;
        for (int ky = 0; ky < k_h; ++ky)
          for (int kx = 0; kx < k_w; ++kx) {
            const int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
            if (iy < 0 || iy >= is.h || ix < 0 || ix >= is.w) continue;
            sum += in[(static_cast<std::size_t>(c) * is.h + iy) * is.w + ix];
            ++count;
          }
        out[(static_cast<std::size_t>(c) * os.h + oy) * os.w + ox] = sum / count;
      }
}

// ---- The deployed network (folded, NHWC) ----

enum class PadMode { kSame, kValid, kExplicit };

struct PadPlan {
  PadMode mode = PadMode::kValid;
  int top = 0, bottom = 0, left = 0, right = 0;  // kExplicit: the PAD op's amounts
};

// How TFLite expresses PyTorch's symmetric padding `pad` of a K x K window with `stride`.
PadPlan pad_plan(int in_h, int in_w, int out_h, int out_w, int k, int stride, int pad) {
  PadPlan plan;
  auto bottom_of = [&](int in, int out) { return (out - 1) * stride + k - in - pad; };
  const int bottom = bottom_of(in_h, out_h), right = bottom_of(in_w, out_w);
  if (pad == 0 && bottom <= 0 && right <= 0) return plan;  // VALID
  auto same_matches = [&](int in, int out, int after) {
    const int same_out = (in + stride - 1) / stride;
    const int total = std::max((same_out - 1) * stride + k - in, 0);
    return same_out == out && total / 2 == pad && total - total / 2 == after;
  };
  if (same_matches(in_h, out_h, bottom) && same_matches(in_w, out_w, right)) {
    plan.mode = PadMode::kSame;
    return plan;
  }
  plan.mode = PadMode::kExplicit;
  plan.top = plan.left = pad;
  plan.bottom = std::max(bottom, 0);
  plan.right = std::max(right, 0);
  return plan;
}

struct Prepared {
  DeployedOp op;
  ScheduleOp io;
  LoweredSource src;
  std::vector<double> weight, bias;  // conv OHWI folded / FC [out][in]; MUL scale; ADD shift
  PadPlan pad;
};

struct Deployed {
  mcu::Lowered low;
  std::vector<Prepared> ops;
  std::vector<Shape> tensor_shape;
};

Deployed prepare(const Graph& g, const Weights& w) {
  Deployed d;
  d.low = mcu::lower_graph(g);
  const mcu::Lowered& low = d.low;
  const int n_tensors = static_cast<int>(low.tensor_numel.size());
  d.tensor_shape.assign(n_tensors, Shape{});
  d.tensor_shape[0] = g.values[0];
  for (std::size_t i = 0; i < low.ops.size(); ++i) {
    Prepared p;
    p.op = low.ops[i];
    p.io = low.schedule[i];
    p.src = low.source[i];
    const Layer& l = g.layers[p.src.layer];
    d.tensor_shape[p.io.out] = p.op.output;
    if (p.io.in0 >= 0 && d.tensor_shape[p.io.in0].c == 0) d.tensor_shape[p.io.in0] = p.op.input;
    if (p.io.in1 >= 0 && d.tensor_shape[p.io.in1].c == 0) d.tensor_shape[p.io.in1] = p.op.output;
    switch (p.op.kind) {
      case DeployedOpKind::kConv2d: {
        const std::vector<double> wt = param_values(g, w, l.weight);
        const int co = p.op.output.c, ci = p.op.input.c, k = l.kernel;
        std::vector<double> scale(co, 1.0), shift(co, 0.0);
        if (p.src.bn_layer >= 0) bn_affine(g, w, g.layers[p.src.bn_layer], scale, shift);
        p.weight.resize(wt.size());
        for (int o = 0; o < co; ++o)
          for (int c = 0; c < ci; ++c)
            for (int y = 0; y < k; ++y)
              for (int x = 0; x < k; ++x)
                p.weight[((static_cast<std::size_t>(o) * k + y) * k + x) * ci + c] =
                    wt[((static_cast<std::size_t>(o) * ci + c) * k + y) * k + x] * scale[o];
        p.bias = shift;
        // An explicit padding is the lowering's PAD op, which this conv reads.
        p.pad = pad_plan(p.op.input.h, p.op.input.w, p.op.output.h, p.op.output.w, k, l.stride,
                         p.op.pad_top);
        if (p.pad.mode == PadMode::kExplicit)
          throw Error(Status::kInternal, "TFLite export: a conv needing a PAD op has none");
        break;
      }
      case DeployedOpKind::kAveragePool2d: {
        if (l.kind == LayerKind::kGlobalAvgPool) break;  // VALID over the whole map
        p.pad = pad_plan(p.op.input.h, p.op.input.w, p.op.output.h, p.op.output.w, l.kernel,
                         l.stride, l.pad);
        if (p.pad.mode == PadMode::kExplicit)
          unsupported("an average pool whose padding is neither SAME nor VALID");
        break;
      }
      case DeployedOpKind::kFullyConnected:
        p.weight = param_values(g, w, l.weight);
        p.bias = param_values(g, w, l.bias);
        break;
      case DeployedOpKind::kMul:
      case DeployedOpKind::kAdd:
        if (l.kind == LayerKind::kBatchNorm) {
          std::vector<double> scale, shift;
          bn_affine(g, w, l, scale, shift);
          p.weight = p.op.kind == DeployedOpKind::kMul ? scale : shift;
        } else {
          for (int div : l.divisors)
            if (div != 1)
              unsupported(
                  "a mixed edge (several ops on one edge): TFLite's ADD and QUANTIZE keep real "
                  "values, so the 1/k weight has no int8 op; export a cell with one op per edge");
        }
        break;
      case DeployedOpKind::kQuantize:
        unsupported(
            "a mixed edge (several ops on one edge): TFLite's ADD and QUANTIZE keep real values, "
            "so the 1/k weight has no int8 op; export a cell with one op per edge");
      case DeployedOpKind::kRelu:
      case DeployedOpKind::kPad: break;
      case DeployedOpKind::kMean:
      case DeployedOpKind::kSoftmax:
      case DeployedOpKind::kDepthwiseConv2d:
        unsupported(std::string(deployed_op_name(p.op.kind)) +
                    " is not part of the NB201 lowering");
    }
    d.ops.push_back(std::move(p));
  }
  return d;
}

using Tensor3 = std::vector<double>;  // NHWC of one sample (H, W, C)

void run_conv(const Prepared& p, const Tensor3& in, Tensor3& out) {
  const Shape& is = p.op.input;
  const Shape& os = p.op.output;
  const int k = p.op.kernel_h, s = p.op.stride_h, pad = p.op.pad_top;
  out.assign(os.numel(), 0.0);
  for (int oy = 0; oy < os.h; ++oy)
    for (int ox = 0; ox < os.w; ++ox) {
      double* o = &out[(static_cast<std::size_t>(oy) * os.w + ox) * os.c];
      for (int co = 0; co < os.c; ++co) o[co] = p.bias[co];
      for (int ky = 0; ky < k; ++ky) {
        const int iy = oy * s - pad + ky;
        if (iy < 0 || iy >= is.h) continue;
        for (int kx = 0; kx < k; ++kx) {
          const int ix = ox * s - pad + kx;
          if (ix < 0 || ix >= is.w) continue;
          const double* x = &in[(static_cast<std::size_t>(iy) * is.w + ix) * is.c];
          for (int co = 0; co < os.c; ++co) {
            const double* wr = &p.weight[((static_cast<std::size_t>(co) * k + ky) * k + kx) * is.c];
            double acc = 0;
            for (int ci = 0; ci < is.c; ++ci) acc += wr[ci] * x[ci];
            o[co] += acc;
          }
        }
      }
      if (p.op.fused_relu)
        for (int co = 0; co < os.c; ++co) o[co] = std::max(o[co], 0.0);
    }
}

void run_pool(const Prepared& p, const Tensor3& in, Tensor3& out) {
  const Shape& is = p.op.input;
  const Shape& os = p.op.output;
  out.assign(os.numel(), 0.0);
  for (int oy = 0; oy < os.h; ++oy)
    for (int ox = 0; ox < os.w; ++ox)
      for (int c = 0; c < os.c; ++c) {
        double sum = 0;
        int count = 0;
        for (int ky = 0; ky < p.op.kernel_h; ++ky)
          for (int kx = 0; kx < p.op.kernel_w; ++kx) {
            const int iy = oy * p.op.stride_h - p.op.pad_top + ky;
            const int ix = ox * p.op.stride_w - p.op.pad_left + kx;
            if (iy < 0 || iy >= is.h || ix < 0 || ix >= is.w) continue;
            sum += in[(static_cast<std::size_t>(iy) * is.w + ix) * is.c + c];
            ++count;
          }
        out[(static_cast<std::size_t>(oy) * os.w + ox) * os.c + c] = sum / count;
      }
}

// Runs the deployed ops on one NCHW sample; `values` receives every tensor (NHWC).
void run_deployed(const Deployed& d, const float* sample, std::vector<Tensor3>& values) {
  const int n_tensors = static_cast<int>(d.tensor_shape.size());
  values.assign(n_tensors, Tensor3{});
  for (int t = 0; t < n_tensors; ++t)
    if (d.low.tensor_constant[t]) values[t].assign(d.low.tensor_numel[t], 0.0);
  const Shape& is = d.tensor_shape[0];
  Tensor3& x = values[0];
  x.resize(is.numel());
  for (int c = 0; c < is.c; ++c)
    for (int y = 0; y < is.h; ++y)
      for (int xx = 0; xx < is.w; ++xx)
        x[(static_cast<std::size_t>(y) * is.w + xx) * is.c + c] =
            sample[(static_cast<std::size_t>(c) * is.h + y) * is.w + xx];
  for (const Prepared& p : d.ops) {
    const Tensor3& in = values[p.io.in0];
    Tensor3 out;
    const int channels = p.op.output.c;
    switch (p.op.kind) {
      case DeployedOpKind::kConv2d: run_conv(p, in, out); break;
      case DeployedOpKind::kAveragePool2d: run_pool(p, in, out); break;
      case DeployedOpKind::kRelu:
        out = in;
        for (double& v : out) v = std::max(v, 0.0);
        break;
      case DeployedOpKind::kPad: {
        const Shape& ps = p.op.input;
        const Shape& os = p.op.output;
        out.assign(os.numel(), 0.0);
        for (int y = 0; y < ps.h; ++y)
          for (int xx = 0; xx < ps.w; ++xx)
            std::copy_n(
                &in[(static_cast<std::size_t>(y) * ps.w + xx) * ps.c], ps.c,
                &out[(static_cast<std::size_t>(y + p.op.pad_top) * os.w + xx + p.op.pad_left) *
                     os.c]);
        break;
      }
      case DeployedOpKind::kFullyConnected: {
        const int n_in = static_cast<int>(in.size());
        out.assign(channels, 0.0);
        for (int o = 0; o < channels; ++o) {
          double acc = p.bias[o];
          for (int i = 0; i < n_in; ++i)
            acc += p.weight[static_cast<std::size_t>(o) * n_in + i] * in[i];
          out[o] = acc;
        }
        break;
      }
      case DeployedOpKind::kMul:
        out = in;
        for (std::size_t i = 0; i < out.size(); ++i) out[i] *= p.weight[i % channels];
        break;
      case DeployedOpKind::kAdd:
        out = in;
        if (p.io.in1 >= 0) {
          const Tensor3& other = values[p.io.in1];
          for (std::size_t i = 0; i < out.size(); ++i) out[i] += other[i];
        } else {
          for (std::size_t i = 0; i < out.size(); ++i) out[i] += p.weight[i % channels];
        }
        if (p.op.fused_relu)
          for (double& v : out) v = std::max(v, 0.0);
        break;
      default: throw Error(Status::kInternal, "TFLite export: unexpected deployed op");
    }
    values[p.io.out] = std::move(out);
  }
}

std::vector<int> nhwc(const Shape& s) { return {1, s.h, s.w, s.c}; }

}  // namespace

// ---- Quantisation arithmetic ----

AffineQuant activation_quant(double min, double max) {
  min = std::min(min, 0.0);
  max = std::max(max, 0.0);
  AffineQuant q;
  q.scale = max - min > 0 ? (max - min) / 255.0 : 1.0 / 255.0;
  const double zp = std::round(-128.0 - min / q.scale);
  q.zero_point = static_cast<int>(std::clamp(zp, -128.0, 127.0));
  return q;
}

std::int8_t quantize_value(double x, const AffineQuant& q) {
  const double v = std::round(x / q.scale) + q.zero_point;
  return static_cast<std::int8_t>(std::clamp(v, -128.0, 127.0));
}

ChannelQuant quantize_per_channel(const std::vector<double>& weights, int channels,
                                  const std::vector<double>& min_scales) {
  ChannelQuant q;
  const std::size_t per = weights.size() / channels;
  q.scales.resize(channels);
  q.values.resize(weights.size());
  for (int c = 0; c < channels; ++c) {
    double m = 0;
    for (std::size_t i = 0; i < per; ++i) m = std::max(m, std::fabs(weights[c * per + i]));
    double scale = m / 127.0;
    if (!min_scales.empty()) scale = std::max(scale, min_scales[c]);
    scale = scale > 0 ? static_cast<double>(static_cast<float>(scale)) : 1.0;
    q.scales[c] = scale;
    for (std::size_t i = 0; i < per; ++i)
      q.values[c * per + i] = static_cast<std::int8_t>(
          std::clamp(std::round(weights[c * per + i] / scale), -127.0, 127.0));
  }
  return q;
}

std::vector<double> bias_safe_scales(const std::vector<double>& bias, double input_scale) {
  std::vector<double> out(bias.size());
  // A margin below 2^31 - 1 keeps the float32 rounding of the bias scale from crossing it.
  constexpr double kLimit = 2147483647.0 * 0.999;
  for (std::size_t c = 0; c < bias.size(); ++c)
    out[c] = std::fabs(bias[c]) / (input_scale * kLimit);
  return out;
}

std::vector<std::int32_t> quantize_bias(const std::vector<double>& bias, double input_scale,
                                        const std::vector<double>& weight_scales) {
  std::vector<std::int32_t> out(bias.size());
  constexpr double lo = std::numeric_limits<std::int32_t>::min();
  constexpr double hi = std::numeric_limits<std::int32_t>::max();
  for (std::size_t c = 0; c < bias.size(); ++c) {
    const double ws = weight_scales.size() == 1 ? weight_scales[0] : weight_scales[c];
    const double scale = static_cast<double>(static_cast<float>(input_scale * ws));
    out[c] = static_cast<std::int32_t>(std::clamp(std::round(bias[c] / scale), lo, hi));
  }
  return out;
}

FoldedConv fold_batch_norm(const std::vector<double>& weight, int out_channels,
                           const std::vector<double>& gamma, const std::vector<double>& beta,
                           const std::vector<double>& mean, const std::vector<double>& var,
                           double eps) {
  FoldedConv f;
  f.weight = weight;
  f.bias.resize(out_channels);
  const std::size_t per = weight.size() / out_channels;
  for (int c = 0; c < out_channels; ++c) {
    const double s = gamma[c] / std::sqrt(var[c] + eps);
    for (std::size_t i = 0; i < per; ++i) f.weight[c * per + i] *= s;
    f.bias[c] = beta[c] - mean[c] * s;
  }
  return f;
}

// ---- Weights ----

Weights random_weights(const Graph& graph, std::uint64_t seed) {
  Weights w;
  w.params.resize(graph.num_params);
  initialize_parameters(graph, InitMode::kPyTorchDefault, seed, w.params.data());
  return w;
}

namespace {

// The tensor `name` of the network from `path`: refused unless it has the parameter's shape (the
// same number of values in another layout, e.g. [16, 27] for [16, 3, 3, 3], is another tensor)
// and only finite float32 values.
NpyArray read_tensor(const std::string& path, const std::string& name,
                     const std::vector<std::int64_t>& shape) {
  NpyArray a = read_npy(path);
  if (a.shape != shape)
    throw Error(Status::kInvalidArgument, path + ": shape " + npy_shape_text(a.shape) +
                                              " does not match (expected " + npy_shape_text(shape) +
                                              ", the network's " + name + ")");
  const std::string bad = nonfinite_element(a);
  if (!bad.empty())
    throw Error(Status::kInvalidArgument, path + ": " + bad + "; weights must be finite");
  return a;
}

}  // namespace

Weights load_weights(const Graph& graph, const std::string& dir, int* stats_loaded) {
  Weights w;
  w.params.resize(graph.num_params);
  auto path_of = [&](const std::string& name) { return dir + "/" + name + ".npy"; };
  for (const Parameter& p : graph.params) {
    const NpyArray a = read_tensor(path_of(p.name), p.name, {p.shape.begin(), p.shape.end()});
    std::copy(a.data.begin(), a.data.end(), w.params.begin() + p.offset);
  }
  int loaded = 0;
  auto exists = [](const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
  };
  for (const Layer& l : graph.layers) {
    if (l.kind != LayerKind::kBatchNorm) continue;
    const std::string prefix = param_prefix(graph.params[l.weight].name);
    const std::int64_t c = graph.params[l.weight].size;
    bool any = false;
    for (bool mean : {true, false}) {
      const std::string name = prefix + (mean ? ".running_mean" : ".running_var");
      const std::string path = path_of(name);
      if (!exists(path)) continue;
      const NpyArray a = read_tensor(path, name, {c});
      for (std::size_t i = 0; i < a.data.size(); ++i)
        if (!mean && a.data[i] < 0)
          throw Error(Status::kInvalidArgument, path + ": element [" + std::to_string(i) +
                                                    "] is negative; a variance must be >= 0");
      (mean ? w.stats.mean : w.stats.var)[prefix] = a.data;
      any = true;
    }
    loaded += any;
  }
  if (stats_loaded) *stats_loaded = loaded;
  return w;
}

// ---- Float reference ----

void estimate_running_stats(const Graph& g, Weights& w, const ImageBatch& images) {
  if (images.n < 2)
    throw Error(Status::kInvalidArgument, "batch statistics need at least 2 images");
  Network<double> net(g);
  std::copy(w.params.begin(), w.params.end(), net.params());
  // Training-mode BN normalises with the batch statistics, so each BN's input in this pass is
  // the input it sees in inference mode once its running statistics are those statistics.
  std::vector<double> x(images.data.begin(), images.data.end());
  net.forward(x.data(), images.n);
  for (const Layer& l : g.layers) {
    if (l.kind != LayerKind::kBatchNorm) continue;
    const Shape& s = g.values[l.inputs[0]];
    const std::vector<double>& v = net.value(l.inputs[0]);
    const std::int64_t hw = static_cast<std::int64_t>(s.h) * s.w;
    std::vector<double> mean(s.c, 0.0), var(s.c, 0.0);
    for (int n = 0; n < images.n; ++n)
      for (int c = 0; c < s.c; ++c)
        for (std::int64_t i = 0; i < hw; ++i)
          mean[c] += v[(static_cast<std::int64_t>(n) * s.c + c) * hw + i];
    const double count = static_cast<double>(images.n) * hw;
    for (double& m : mean) m /= count;
    for (int n = 0; n < images.n; ++n)
      for (int c = 0; c < s.c; ++c)
        for (std::int64_t i = 0; i < hw; ++i) {
          const double d = v[(static_cast<std::int64_t>(n) * s.c + c) * hw + i] - mean[c];
          var[c] += d * d;
        }
    for (double& x2 : var) x2 /= count;
    const std::string prefix = param_prefix(g.params[l.weight].name);
    w.stats.mean[prefix] = mean;
    w.stats.var[prefix] = var;
  }
}

std::vector<double> inference_forward(const Graph& g, const Weights& w, const float* input,
                                      int batch) {
  const int classes = g.values[g.logits].c;
  std::vector<double> logits(static_cast<std::size_t>(batch) * classes);
  const std::int64_t in_numel = g.values[0].numel();
#pragma omp parallel for schedule(dynamic)
  for (int n = 0; n < batch; ++n) {
    std::vector<std::vector<double>> v(g.values.size());
    v[0].assign(input + n * in_numel, input + (n + 1) * in_numel);
    for (const Layer& l : g.layers) {
      const Shape& is = g.values[l.inputs.empty() ? l.output : l.inputs[0]];
      const Shape& os = g.values[l.output];
      std::vector<double>& out = v[l.output];
      switch (l.kind) {
        case LayerKind::kConv2d:
          ref_conv(v[l.inputs[0]], is, param_values(g, w, l.weight), l, os, out);
          break;
        case LayerKind::kBatchNorm: {
          std::vector<double> scale, shift;
          bn_affine(g, w, l, scale, shift);
          out = v[l.inputs[0]];
          const std::int64_t hw = static_cast<std::int64_t>(os.h) * os.w;
          for (std::int64_t i = 0; i < os.numel(); ++i)
            out[i] = out[i] * scale[i / hw] + shift[i / hw];
          break;
        }
        case LayerKind::kReLU:
          out = v[l.inputs[0]];
          for (double& x : out) x = std::max(x, 0.0);
          break;
        case LayerKind::kAvgPool:
          ref_pool(v[l.inputs[0]], is, l.kernel, l.kernel, l.stride, l.pad, os, out);
          break;
        case LayerKind::kGlobalAvgPool:
          ref_pool(v[l.inputs[0]], is, is.h, is.w, 1, 0, os, out);
          break;
        case LayerKind::kLinear: {
          const std::vector<double> wt = param_values(g, w, l.weight);
          const std::vector<double> b = param_values(g, w, l.bias);
          const std::vector<double>& x = v[l.inputs[0]];
          out.assign(os.c, 0.0);
          for (int o = 0; o < os.c; ++o) {
            double acc = b[o];
            for (std::size_t i = 0; i < x.size(); ++i) acc += wt[o * x.size() + i] * x[i];
            out[o] = acc;
          }
          break;
        }
        case LayerKind::kWeightedSum:
          out.assign(os.numel(), 0.0);
          for (std::size_t k = 0; k < l.inputs.size(); ++k) {
            const std::vector<double>& x = v[l.inputs[k]];
            for (std::int64_t i = 0; i < os.numel(); ++i) out[i] += x[i] / l.divisors[k];
          }
          break;
      }
    }
    std::copy(v[g.logits].begin(), v[g.logits].end(), logits.begin() + n * classes);
  }
  return logits;
}

std::vector<double> deployed_forward(const Graph& g, const Weights& w, const float* input,
                                     int batch) {
  const Deployed d = prepare(g, w);
  const int classes = g.values[g.logits].c;
  std::vector<double> logits(static_cast<std::size_t>(batch) * classes);
  const std::int64_t in_numel = g.values[0].numel();
#pragma omp parallel for schedule(dynamic)
  for (int n = 0; n < batch; ++n) {
    std::vector<Tensor3> values;
    run_deployed(d, input + n * in_numel, values);
    const Tensor3& out = values[d.low.output_tensor];
    std::copy(out.begin(), out.end(), logits.begin() + static_cast<std::size_t>(n) * classes);
  }
  return logits;
}

// ---- Export ----

ExportedModel export_model(const Graph& g, const Weights& w, const ImageBatch& calibration,
                           const std::string& description) {
  if (static_cast<std::int64_t>(w.params.size()) != g.num_params)
    throw Error(Status::kInvalidArgument, "TFLite export: the weights do not fit the network");
  const Shape& in_shape = g.values[0];
  if (calibration.n < 1 || calibration.c != in_shape.c || calibration.h != in_shape.h ||
      calibration.w != in_shape.w)
    throw Error(Status::kInvalidArgument,
                "TFLite export: calibration inputs must be [N >= 1, " + std::to_string(in_shape.c) +
                    ", " + std::to_string(in_shape.h) + ", " + std::to_string(in_shape.w) + "]");
  const Deployed d = prepare(g, w);
  const int n_tensors = static_cast<int>(d.tensor_shape.size());

  // Calibration: min/max of every tensor over the inputs, in the deployed float network.
  std::vector<double> lo(n_tensors, 0.0), hi(n_tensors, 0.0);
  bool finite = true;
  const std::int64_t sample_numel = in_shape.numel();
#pragma omp parallel
  {
    std::vector<double> my_lo(n_tensors, 0.0), my_hi(n_tensors, 0.0);
    bool my_finite = true;
    std::vector<Tensor3> values;
#pragma omp for schedule(dynamic)
    for (int n = 0; n < calibration.n; ++n) {
      run_deployed(d, calibration.data.data() + n * sample_numel, values);
      for (int t = 0; t < n_tensors; ++t)
        for (double v : values[t]) {
          my_lo[t] = std::min(my_lo[t], v);
          my_hi[t] = std::max(my_hi[t], v);
          my_finite = my_finite && std::isfinite(v);
        }
    }
#pragma omp critical
    {
      for (int t = 0; t < n_tensors; ++t) {
        lo[t] = std::min(lo[t], my_lo[t]);
        hi[t] = std::max(hi[t], my_hi[t]);
      }
      finite = finite && my_finite;
    }
  }
  if (!finite) throw Error(Status::kNumericalError, kActivationsNotFinite);

  Model m;
  m.description = description;
  m.subgraph_name = "main";
  std::vector<AffineQuant> q(n_tensors);
  std::vector<int> tensor_index(n_tensors, -1);
  std::vector<bool> quantized(n_tensors, false);
  auto activation = [&](int t, const std::string& name) {
    Tensor tensor;
    tensor.shape = nhwc(d.tensor_shape[t]);
    tensor.name = name;
    tensor.quantization = per_tensor(q[t]);
    if (d.low.tensor_constant[t]) {
      std::vector<std::int8_t> zeros(d.low.tensor_numel[t], quantize_value(0.0, q[t]));
      tensor.buffer = m.add_buffer(int8_bytes(zeros));
    }
    tensor_index[t] = m.add_tensor(std::move(tensor));
  };
  auto calibrated = [&](int t) {
    if (!quantized[t]) {
      q[t] = as_stored(activation_quant(lo[t], hi[t]));
      quantized[t] = true;
    }
  };
  calibrated(0);
  activation(0, "input");
  m.inputs = {tensor_index[0]};

  ExportedModel result;
  int op_number = 0;
  for (const Prepared& p : d.ops) {
    const std::string tag = "op" + std::to_string(op_number++);
    for (int t : {p.io.in0, p.io.in1})
      if (t >= 0 && tensor_index[t] < 0) {  // a constant zero node
        const int other = t == p.io.in0 ? p.io.in1 : p.io.in0;
        // Zero is exact at any scale; an ADD's other input's scale keeps ADD's rescaling
        // multipliers below 1 (TFLite's requirement), else 1/255.
        q[t] = other >= 0 && quantized[other] ? AffineQuant{q[other].scale, 0}
                                              : as_stored(AffineQuant{1.0 / 255, 0});
        quantized[t] = true;
        activation(t, tag + ".zero");
      }
    const AffineQuant& in_q = q[p.io.in0];
    if (p.op.kind == DeployedOpKind::kAveragePool2d || p.op.kind == DeployedOpKind::kPad) {
      q[p.io.out] = in_q;  // TFLite's int8 pooling and PAD keep the input's quantisation
      quantized[p.io.out] = true;
    } else {
      calibrated(p.io.out);
    }
    activation(p.io.out, tag);
    const int out = tensor_index[p.io.out];
    int in0 = tensor_index[p.io.in0];
    const Activation act = p.op.fused_relu ? Activation::kRelu : Activation::kNone;
    Operator op;
    op.outputs = {out};
    switch (p.op.kind) {
      case DeployedOpKind::kConv2d: {
        const int co = p.op.output.c, k = p.op.kernel_h;
        const ChannelQuant wq =
            quantize_per_channel(p.weight, co, bias_safe_scales(p.bias, in_q.scale));
        Tensor weight;
        weight.shape = {co, k, k, p.op.input.c};
        weight.name = tag + ".w";
        weight.buffer = m.add_buffer(int8_bytes(wq.values));
        weight.quantization.scale.assign(wq.scales.begin(), wq.scales.end());
        weight.quantization.zero_point.assign(co, 0);
        Tensor bias;
        bias.shape = {co};
        bias.type = TensorType::kInt32;
        bias.name = tag + ".b";
        bias.buffer = m.add_buffer(int32_bytes(quantize_bias(p.bias, in_q.scale, wq.scales)));
        for (double s : wq.scales)
          bias.quantization.scale.push_back(static_cast<float>(in_q.scale * s));
        bias.quantization.zero_point.assign(co, 0);
        op.opcode_index = m.opcode(BuiltinOperator::kConv2d, 3);
        op.inputs = {in0, m.add_tensor(std::move(weight)), m.add_tensor(std::move(bias))};
        op.options = conv2d_options(p.pad.mode == PadMode::kSame ? Padding::kSame : Padding::kValid,
                                    p.op.stride_w, p.op.stride_h, act);
        break;
      }
      case DeployedOpKind::kAveragePool2d:
        op.opcode_index = m.opcode(BuiltinOperator::kAveragePool2d, 2);
        op.inputs = {in0};
        op.options =
            pool2d_options(p.pad.mode == PadMode::kSame ? Padding::kSame : Padding::kValid,
                           p.op.stride_w, p.op.stride_h, p.op.kernel_w, p.op.kernel_h, act);
        break;
      case DeployedOpKind::kRelu:
        op.opcode_index = m.opcode(BuiltinOperator::kRelu, 2);
        op.inputs = {in0};
        break;
      case DeployedOpKind::kPad: {
        // PyTorch's padding that TFLite's SAME is not (see mcu/lowering.cpp); pads with the
        // input's zero point, i.e. real zeros.
        const int bottom = p.op.output.h - p.op.input.h - p.op.pad_top;
        const int right = p.op.output.w - p.op.input.w - p.op.pad_left;
        Tensor paddings;
        paddings.shape = {4, 2};
        paddings.type = TensorType::kInt32;
        paddings.name = tag + ".paddings";
        paddings.buffer =
            m.add_buffer(int32_bytes({0, 0, p.op.pad_top, bottom, p.op.pad_left, right, 0, 0}));
        op.opcode_index = m.opcode(BuiltinOperator::kPad, 2);
        op.inputs = {in0, m.add_tensor(std::move(paddings))};
        op.options = pad_options();
        break;
      }
      case DeployedOpKind::kFullyConnected: {
        const int co = p.op.output.c;
        // Per-tensor weights, as TFLite's converter writes FULLY_CONNECTED.
        std::vector<double> fc_min = bias_safe_scales(p.bias, in_q.scale);
        const ChannelQuant wq =
            quantize_per_channel(p.weight, 1, {*std::max_element(fc_min.begin(), fc_min.end())});
        Tensor weight;
        weight.shape = {co, static_cast<int>(p.weight.size() / co)};
        weight.name = tag + ".w";
        weight.buffer = m.add_buffer(int8_bytes(wq.values));
        weight.quantization.scale = {static_cast<float>(wq.scales[0])};
        weight.quantization.zero_point = {0};
        Tensor bias;
        bias.shape = {co};
        bias.type = TensorType::kInt32;
        bias.name = tag + ".b";
        bias.buffer = m.add_buffer(int32_bytes(quantize_bias(p.bias, in_q.scale, wq.scales)));
        bias.quantization.scale = {static_cast<float>(in_q.scale * wq.scales[0])};
        bias.quantization.zero_point = {0};
        m.tensors[out].shape = {1, co};
        op.opcode_index = m.opcode(BuiltinOperator::kFullyConnected, 4);
        op.inputs = {in0, m.add_tensor(std::move(weight)), m.add_tensor(std::move(bias))};
        op.options = fully_connected_options(act);
        break;
      }
      case DeployedOpKind::kMul:
      case DeployedOpKind::kAdd: {
        const bool mul = p.op.kind == DeployedOpKind::kMul;
        int in1;
        if (p.io.in1 >= 0) {
          in1 = tensor_index[p.io.in1];
        } else {
          // A stand-alone BN's per-channel constant, [1, 1, 1, C], per-tensor int8.
          const auto [mn, mx] = std::minmax_element(p.weight.begin(), p.weight.end());
          AffineQuant cq = as_stored(activation_quant(*mn, *mx));
          if (*mn == 0 && *mx == 0) cq = AffineQuant{in_q.scale, 0};  // all zero: any scale;
          // the input's keeps ADD's rescaling multipliers below 1 as TFLite requires
          std::vector<std::int8_t> values;
          for (double v : p.weight) values.push_back(quantize_value(v, cq));
          Tensor constant;
          constant.shape = {1, 1, 1, static_cast<int>(p.weight.size())};
          constant.name = tag + (mul ? ".scale" : ".shift");
          constant.buffer = m.add_buffer(int8_bytes(values));
          constant.quantization = per_tensor(cq);
          in1 = m.add_tensor(std::move(constant));
        }
        op.opcode_index = m.opcode(mul ? BuiltinOperator::kMul : BuiltinOperator::kAdd, 2);
        op.inputs = {in0, in1};
        op.options = mul ? mul_options(act) : add_options(act);
        break;
      }
      default: throw Error(Status::kInternal, "TFLite export: unexpected deployed op");
    }
    ++result.operator_counts[builtin_operator_name(m.operator_codes[op.opcode_index].builtin)];
    m.operators.push_back(std::move(op));
  }
  // The lowering's every all-`none` node is a constant zero tensor in flash, read or not (the cost
  // model counts each; neither prunes dead parts of a cell).
  for (int t = 0; t < n_tensors; ++t)
    if (d.low.tensor_constant[t] && tensor_index[t] < 0) {
      q[t] = as_stored(AffineQuant{1.0 / 255, 0});
      quantized[t] = true;
      activation(t, "zero" + std::to_string(t));
    }
  m.outputs = {tensor_index[d.low.output_tensor]};
  result.bytes = serialize(m);
  result.input = q[0];
  result.output = q[d.low.output_tensor];
  result.num_operators = static_cast<int>(m.operators.size());
  result.pad_operators = result.operator_counts["PAD"];
  return result;
}

}  // namespace micronas::tflite
