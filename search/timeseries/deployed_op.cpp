// One time-series layer as its deployed int8 op (see search/timeseries/deployed_op.hpp).
#include "search/timeseries/deployed_op.hpp"

#include <algorithm>

#include "micronas/error.hpp"

namespace micronas::timeseries {
namespace {

mcu::DeployedOp shaped(mcu::DeployedOpKind kind, const Layer& l) {
  mcu::DeployedOp op;
  op.kind = kind;
  op.input = micronas::Shape{l.in.c, l.in.t, l.in.s};
  op.output = micronas::Shape{l.out.c, l.out.t, l.out.s};
  return op;
}

// TFLite's SAME pads max((out - 1) * stride + k - in, 0) with the smaller half before; the
// lowering uses TensorFlow's rule, which is the same, so the conv needs no PAD op. Checked rather
// than assumed, since an explicit PAD would change the deployed network.
void require_tflite_same(int in, int out, int k, int stride, int before, int after) {
  const int total = std::max((out - 1) * stride + k - in, 0);
  if (out != (in + stride - 1) / stride || before != total / 2 || after != total - total / 2)
    throw Error(Status::kInternal, "time-series conv padding is not TFLite's SAME");
}

}  // namespace

std::vector<mcu::DeployedOp> deployed_ops(const Layer& l) {
  switch (l.kind) {
    case LayerKind::kConv: {
      require_tflite_same(l.in.t, l.out.t, l.kh, l.sh, l.pad_top, l.pad_bottom);
      require_tflite_same(l.in.s, l.out.s, l.kw, l.sw, l.pad_left, l.pad_right);
      mcu::DeployedOp conv = shaped(mcu::DeployedOpKind::kConv2d, l);
      conv.kernel_h = l.kh, conv.kernel_w = l.kw, conv.stride_h = l.sh, conv.stride_w = l.sw;
      conv.pad_top = l.pad_top, conv.pad_left = l.pad_left;
      conv.fused_relu = l.relu;
      conv.constant_inputs = 2;  // weights and bias
      if (!l.batch_norm) return {conv};
      // Batch norm after the ReLU, y = g * relu(z) + b per channel (g = gamma / sqrt(var + eps),
      // b = beta - mean * g), cannot be folded into the conv: g may be negative, and b moved into
      // the next conv's bias would be wrong where "same" padding reads zeros. A 1x1 depthwise
      // conv with depth multiplier 1 is that affine exactly: per-channel int8 weights g and
      // int32 bias b.
      mcu::DeployedOp bn;
      bn.kind = mcu::DeployedOpKind::kDepthwiseConv2d;
      bn.input = bn.output = conv.output;
      bn.constant_inputs = 2;  // g and b
      return {conv, bn};
    }
    case LayerKind::kAdd: return {shaped(mcu::DeployedOpKind::kAdd, l)};
    case LayerKind::kGlobalAvgPool: {
      mcu::DeployedOp op = shaped(mcu::DeployedOpKind::kMean, l);
      op.constant_inputs = 1;  // the reduction axes
      return {op};
    }
    case LayerKind::kSoftmax: return {shaped(mcu::DeployedOpKind::kSoftmax, l)};
    case LayerKind::kDropout: return {};
  }
  return {};
}

mcu::Lowered lower_deployed(const LayerGraph& g, std::vector<int>& graph_layer) {
  mcu::Lowered low;
  auto new_tensor = [&](std::int64_t numel) {
    low.tensor_numel.push_back(numel);
    low.tensor_constant.push_back(false);
    low.tensor_def.push_back(static_cast<int>(low.ops.size()));  // the next op writes it
    return static_cast<int>(low.tensor_numel.size()) - 1;
  };
  new_tensor(std::int64_t{g.input.t} * g.input.s * g.input.c);
  low.tensor_def[0] = -1;  // the input exists before the first op
  std::vector<int> tensor_of(g.layers.size(), -1);
  auto tensor_in = [&](int layer) { return layer < 0 ? 0 : tensor_of[layer]; };
  for (std::size_t i = 0; i < g.layers.size(); ++i) {
    const Layer& l = g.layers[i];
    int in0 = tensor_in(l.inputs[0]);
    if (l.kind == LayerKind::kDropout) {
      tensor_of[i] = in0;  // identity at inference
      continue;
    }
    const int in1 = l.kind == LayerKind::kAdd ? tensor_in(l.inputs[1]) : -1;
    // Each op writes a new tensor; a conv's batch-norm op reads the conv's output.
    for (const mcu::DeployedOp& op : deployed_ops(l)) {
      mcu::ScheduleOp io;
      io.in0 = in0;
      io.in1 = op.kind == mcu::DeployedOpKind::kAdd ? in1 : -1;
      io.out = new_tensor(op.output.numel());
      mcu::LoweredSource src;
      src.layer = static_cast<int>(i);
      low.ops.push_back(op);
      low.schedule.push_back(io);
      low.source.push_back(src);
      graph_layer.push_back(static_cast<int>(i));
      in0 = io.out;
    }
    tensor_of[i] = in0;
  }
  low.output_tensor = tensor_of[g.output];
  return low;
}

}  // namespace micronas::timeseries
