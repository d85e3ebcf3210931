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

mcu::DeployedOp deployed_op(const Layer& l) {
  mcu::DeployedOp op;
  switch (l.kind) {
    case LayerKind::kConv:
      require_tflite_same(l.in.t, l.out.t, l.kh, l.sh, l.pad_top, l.pad_bottom);
      require_tflite_same(l.in.s, l.out.s, l.kw, l.sw, l.pad_left, l.pad_right);
      op = shaped(mcu::DeployedOpKind::kConv2d, l);
      op.kernel_h = l.kh, op.kernel_w = l.kw, op.stride_h = l.sh, op.stride_w = l.sw;
      op.pad_top = l.pad_top, op.pad_left = l.pad_left;
      op.fused_relu = l.relu;
      op.constant_inputs = 2;  // weights and bias, the batch norm folded into both
      break;
    case LayerKind::kAdd: op = shaped(mcu::DeployedOpKind::kAdd, l); break;
    case LayerKind::kGlobalAvgPool:
      op = shaped(mcu::DeployedOpKind::kMean, l);
      op.constant_inputs = 1;  // the reduction axes
      break;
    case LayerKind::kSoftmax: op = shaped(mcu::DeployedOpKind::kSoftmax, l); break;
    case LayerKind::kDropout:
      throw Error(Status::kInternal, "a dropout has no deployed op (" + l.name + ")");
  }
  return op;
}

}  // namespace micronas::timeseries
