// A time-series network as an int8 TFLite model, op for op lower_deployed (see
// include/micronas/timeseries_export.hpp).
#include <algorithm>
#include <cmath>
#include <map>

#include "mcu/tflite/tflite_writer.hpp"
#include "micronas/error.hpp"
#include "micronas/timeseries_export.hpp"
#include "search/timeseries/deployed_op.hpp"

namespace micronas::timeseries {
namespace {

using tflite::AffineQuant;
using Values = std::vector<double>;  // one tensor, NHWC per sample: [T][S][C]

constexpr double kEps = 1e-5;  // the engine's batch-norm epsilon (training::ExecutionOptions)

// The float constants of one deployed op.
struct OpWeights {
  Values weight, bias;  // CONV_2D: weight [co][kh][kw][ci] (TFLite's OHWI); BN: g and b per channel
};

struct Deployed {
  mcu::Lowered low;
  std::vector<int> layer;  // the LayerGraph layer of each op
  std::vector<OpWeights> weights;
};

// The training graph's name of a conv layer: a Time-Reduce conv carries its kernel.
std::string conv_name(const Layer& l) {
  return l.name.rfind("tr", 0) == 0 ? l.name + "_k" + std::to_string(l.kh) : l.name;
}

const training::Node& node_named(const training::TrainingGraph& net, const std::string& name) {
  for (const training::Node& n : net.nodes())
    if (n.name == name) return n;
  throw Error(Status::kInvalidArgument,
              "the weights' network has no layer " + name + " (another architecture?)");
}

Deployed prepare(const LayerGraph& g, const training::TrainingGraph& net, const NetworkWeights& w) {
  if (static_cast<std::int64_t>(w.params.size()) != net.parameter_count() ||
      static_cast<std::int64_t>(w.state.size()) != net.state_count())
    throw Error(Status::kInvalidArgument, "TFLite export: the weights do not fit the network");
  Deployed d;
  d.low = lower_deployed(g, d.layer);
  for (std::size_t i = 0; i < d.low.ops.size(); ++i) {
    const mcu::DeployedOp& op = d.low.ops[i];
    const Layer& l = g.layers[d.layer[i]];
    OpWeights ow;
    if (op.kind == mcu::DeployedOpKind::kConv2d) {
      const training::Node& conv = node_named(net, conv_name(l));
      if (conv.kind != training::NodeKind::kConv || conv.kh != l.kh || conv.kw != l.kw ||
          conv.shape.c != l.out.c || conv.bias < 0)
        throw Error(Status::kInvalidArgument, "TFLite export: " + l.name + " does not match");
      const float* wt = w.params.data() + net.parameters()[conv.weight].offset;
      const float* b = w.params.data() + net.parameters()[conv.bias].offset;
      const int co = l.out.c, ci = l.in.c;
      ow.weight.resize(static_cast<std::size_t>(co) * l.kh * l.kw * ci);
      for (int o = 0; o < co; ++o)
        for (int c = 0; c < ci; ++c)
          for (int y = 0; y < l.kh; ++y)
            for (int x = 0; x < l.kw; ++x)
              ow.weight[((static_cast<std::size_t>(o) * l.kh + y) * l.kw + x) * ci + c] =
                  wt[((static_cast<std::size_t>(o) * ci + c) * l.kh + y) * l.kw + x];
      ow.bias.assign(b, b + co);
    } else if (op.kind == mcu::DeployedOpKind::kDepthwiseConv2d) {
      const training::Node& bn = node_named(net, conv_name(l) + ".bn");
      const float* gamma = w.params.data() + net.parameters()[bn.weight].offset;
      const float* beta = w.params.data() + net.parameters()[bn.bias].offset;
      const float* mean = w.state.data() + bn.state;
      const float* var = mean + bn.shape.c;
      for (int c = 0; c < bn.shape.c; ++c) {
        const double s = gamma[c] / std::sqrt(static_cast<double>(var[c]) + kEps);
        ow.weight.push_back(s);
        ow.bias.push_back(beta[c] - mean[c] * s);
      }
    }
    d.weights.push_back(std::move(ow));
  }
  return d;
}

// Every tensor of one window through the deployed ops in double precision.
void run(const Deployed& d, const LayerGraph& g, const float* window, std::vector<Values>& v) {
  v.assign(d.low.tensor_numel.size(), Values{});
  v[0].assign(window, window + d.low.tensor_numel[0]);  // [T][S] = [T][S][1]
  for (std::size_t i = 0; i < d.low.ops.size(); ++i) {
    const mcu::DeployedOp& op = d.low.ops[i];
    const mcu::ScheduleOp& io = d.low.schedule[i];
    const Layer& l = g.layers[d.layer[i]];
    const OpWeights& ow = d.weights[i];
    const Values& in = v[io.in0];
    Values& out = v[io.out];
    const int co = op.output.c;
    switch (op.kind) {
      case mcu::DeployedOpKind::kConv2d: {
        const int ci = op.input.c, ih = op.input.h, iw = op.input.w;
        out.assign(static_cast<std::size_t>(op.output.numel()), 0.0);
        for (int y = 0; y < op.output.h; ++y)
          for (int x = 0; x < op.output.w; ++x)
            for (int o = 0; o < co; ++o) {
              double acc = ow.bias[o];
              for (int ky = 0; ky < l.kh; ++ky) {
                const int yy = y * l.sh - l.pad_top + ky;
                if (yy < 0 || yy >= ih) continue;
                for (int kx = 0; kx < l.kw; ++kx) {
                  const int xx = x * l.sw - l.pad_left + kx;
                  if (xx < 0 || xx >= iw) continue;
                  const double* wr =
                      &ow.weight[((static_cast<std::size_t>(o) * l.kh + ky) * l.kw + kx) * ci];
                  const double* xr = &in[(static_cast<std::size_t>(yy) * iw + xx) * ci];
                  for (int c = 0; c < ci; ++c) acc += wr[c] * xr[c];
                }
              }
              out[(static_cast<std::size_t>(y) * op.output.w + x) * co + o] =
                  op.fused_relu ? std::max(acc, 0.0) : acc;
            }
        break;
      }
      case mcu::DeployedOpKind::kDepthwiseConv2d:
        out = in;
        for (std::size_t k = 0; k < out.size(); ++k)
          out[k] = ow.weight[k % co] * out[k] + ow.bias[k % co];
        break;
      case mcu::DeployedOpKind::kAdd:
        out = in;
        for (std::size_t k = 0; k < out.size(); ++k) out[k] += v[io.in1][k];
        break;
      case mcu::DeployedOpKind::kMean: {
        out.assign(co, 0.0);
        const std::size_t pixels = in.size() / co;
        for (std::size_t k = 0; k < in.size(); ++k) out[k % co] += in[k];
        for (double& x : out) x /= static_cast<double>(pixels);
        break;
      }
      case mcu::DeployedOpKind::kSoftmax: {
        const double top = *std::max_element(in.begin(), in.end());
        out.resize(in.size());
        double sum = 0;
        for (std::size_t k = 0; k < in.size(); ++k) sum += out[k] = std::exp(in[k] - top);
        for (double& x : out) x /= sum;
        break;
      }
      default: throw Error(Status::kInternal, "TFLite export: unexpected deployed op");
    }
  }
}

void check_windows(const LayerGraph& g, int n) {
  if (n < 1)
    throw Error(Status::kInvalidArgument, "TFLite export: at least one calibration window of " +
                                              std::to_string(g.input.t) + " x " +
                                              std::to_string(g.input.s) + " is needed");
}

tflite::BuiltinOptions conv_options(const mcu::DeployedOp& op) {
  return tflite::conv2d_options(
      tflite::Padding::kSame, op.stride_w, op.stride_h,
      op.fused_relu ? tflite::Activation::kRelu : tflite::Activation::kNone);
}

}  // namespace

std::vector<double> deployed_probabilities(const LayerGraph& graph,
                                           const training::TrainingGraph& net,
                                           const NetworkWeights& w, const float* x, int batch) {
  const Deployed d = prepare(graph, net, w);
  const std::int64_t numel = d.low.tensor_numel[0];
  std::vector<double> out;
  std::vector<Values> v;
  for (int n = 0; n < batch; ++n) {
    run(d, graph, x + n * numel, v);
    const Values& p = v[d.low.output_tensor];
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

tflite::ExportedModel export_tflite(const LayerGraph& graph, const training::TrainingGraph& net,
                                    const NetworkWeights& w, const float* calibration, int n,
                                    const std::string& description) {
  check_windows(graph, n);
  const Deployed d = prepare(graph, net, w);
  const std::size_t n_tensors = d.low.tensor_numel.size();
  // Calibration: each tensor's range over the windows (always holding 0).
  std::vector<double> lo(n_tensors, 0.0), hi(n_tensors, 0.0);
  bool finite = true;
  std::vector<Values> v;
  for (int k = 0; k < n; ++k) {
    run(d, graph, calibration + k * d.low.tensor_numel[0], v);
    for (std::size_t t = 0; t < n_tensors; ++t)
      for (double x : v[t]) {
        lo[t] = std::min(lo[t], x);
        hi[t] = std::max(hi[t], x);
        finite = finite && std::isfinite(x);
      }
  }
  if (!finite) throw Error(Status::kNumericalError, tflite::kActivationsNotFinite);
  std::vector<AffineQuant> q(n_tensors);
  for (std::size_t t = 0; t < n_tensors; ++t)
    q[t] = tflite::as_stored(tflite::activation_quant(lo[t], hi[t]));
  // TFLite's int8 SOFTMAX writes probabilities with scale 1/256 and zero point -128.
  q[d.low.output_tensor] = tflite::as_stored(AffineQuant{1.0 / 256, -128});

  tflite::Model m;
  m.description = description;
  m.subgraph_name = "main";
  std::vector<int> index(n_tensors, -1);
  auto activation = [&](std::size_t t, const std::string& name, std::vector<int> shape) {
    tflite::Tensor tensor;
    tensor.shape = std::move(shape);
    tensor.name = name;
    tensor.quantization = tflite::per_tensor(q[t]);
    index[t] = m.add_tensor(std::move(tensor));
  };
  activation(0, "input", {1, graph.input.t, graph.input.s, 1});
  m.inputs = {index[0]};

  tflite::ExportedModel result;
  for (std::size_t i = 0; i < d.low.ops.size(); ++i) {
    const mcu::DeployedOp& op = d.low.ops[i];
    const mcu::ScheduleOp& io = d.low.schedule[i];
    const OpWeights& ow = d.weights[i];
    const std::string tag = "op" + std::to_string(i);
    const AffineQuant& in_q = q[io.in0];
    const int co = op.output.c;
    const bool flat = op.kind == mcu::DeployedOpKind::kMean ||
                      op.kind == mcu::DeployedOpKind::kSoftmax;  // [1, classes]
    activation(io.out, tag,
               flat ? std::vector<int>{1, co} : std::vector<int>{1, op.output.h, op.output.w, co});
    tflite::Operator o;
    o.outputs = {index[io.out]};
    // Per-channel int8 weights and int32 bias of a CONV_2D or the BN's DEPTHWISE_CONV_2D; the
    // weight scales are widened where a bias would not fit int32.
    auto weighted = [&](std::vector<int> shape, int quantized_dimension) {
      const tflite::ChannelQuant wq = tflite::quantize_per_channel(
          ow.weight, co, tflite::bias_safe_scales(ow.bias, in_q.scale));
      tflite::Tensor weight;
      weight.shape = std::move(shape);
      weight.name = tag + ".w";
      weight.buffer = m.add_buffer(tflite::int8_bytes(wq.values));
      weight.quantization.scale.assign(wq.scales.begin(), wq.scales.end());
      weight.quantization.zero_point.assign(co, 0);
      weight.quantization.quantized_dimension = quantized_dimension;
      tflite::Tensor bias;
      bias.shape = {co};
      bias.type = tflite::TensorType::kInt32;
      bias.name = tag + ".b";
      bias.buffer =
          m.add_buffer(tflite::int32_bytes(tflite::quantize_bias(ow.bias, in_q.scale, wq.scales)));
      for (double s : wq.scales)
        bias.quantization.scale.push_back(static_cast<float>(in_q.scale * s));
      bias.quantization.zero_point.assign(co, 0);
      return std::vector<int>{index[io.in0], m.add_tensor(std::move(weight)),
                              m.add_tensor(std::move(bias))};
    };
    switch (op.kind) {
      case mcu::DeployedOpKind::kConv2d:
        o.opcode_index = m.opcode(tflite::BuiltinOperator::kConv2d, 3);
        o.inputs = weighted({co, op.kernel_h, op.kernel_w, op.input.c}, 0);
        o.options = conv_options(op);
        break;
      case mcu::DeployedOpKind::kDepthwiseConv2d:
        // Weights [1, 1, 1, C], quantised per channel along the last dimension.
        o.opcode_index = m.opcode(tflite::BuiltinOperator::kDepthwiseConv2d, 3);
        o.inputs = weighted({1, 1, 1, co}, 3);
        o.options = tflite::depthwise_conv2d_options(tflite::Padding::kSame, 1, 1, 1,
                                                     tflite::Activation::kNone);
        break;
      case mcu::DeployedOpKind::kAdd:
        o.opcode_index = m.opcode(tflite::BuiltinOperator::kAdd, 2);
        o.inputs = {index[io.in0], index[io.in1]};
        o.options = tflite::add_options(tflite::Activation::kNone);
        break;
      case mcu::DeployedOpKind::kMean: {
        tflite::Tensor axes;
        axes.shape = {2};
        axes.type = tflite::TensorType::kInt32;
        axes.name = tag + ".axes";
        axes.buffer = m.add_buffer(tflite::int32_bytes({1, 2}));
        o.opcode_index = m.opcode(tflite::BuiltinOperator::kMean, 2);
        o.inputs = {index[io.in0], m.add_tensor(std::move(axes))};
        o.options = tflite::reducer_options(false);
        break;
      }
      case mcu::DeployedOpKind::kSoftmax:
        o.opcode_index = m.opcode(tflite::BuiltinOperator::kSoftmax, 2);
        o.inputs = {index[io.in0]};
        o.options = tflite::softmax_options(1.0f);
        break;
      default: throw Error(Status::kInternal, "TFLite export: unexpected deployed op");
    }
    ++result
          .operator_counts[tflite::builtin_operator_name(m.operator_codes[o.opcode_index].builtin)];
    m.operators.push_back(std::move(o));
  }
  m.outputs = {index[d.low.output_tensor]};
  result.bytes = tflite::serialize(m);
  result.input = q[0];
  result.output = q[d.low.output_tensor];
  result.num_operators = static_cast<int>(m.operators.size());
  return result;
}

}  // namespace micronas::timeseries
