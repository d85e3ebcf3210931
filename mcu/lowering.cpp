// Lowering of the network graph to deployed int8 ops (see mcu/lowering.hpp).
#include "mcu/lowering.hpp"

#include <algorithm>
#include <utility>

namespace micronas::mcu {
namespace {

class Lowering {
 public:
  explicit Lowering(const Graph& g) : g_(g), tensor_of_(g.values.size(), -1) {
    consumers_.assign(g.values.size(), 0);
    for (const Layer& l : g.layers)
      for (int v : l.inputs) ++consumers_[v];
  }

  Lowered run() {
    tensor_of_[0] = new_tensor(g_.values[0].numel(), false);
    const std::size_t n = g_.layers.size();
    for (std::size_t i = 0; i < n; ++i) {
      const Layer& l = g_.layers[i];
      const Layer* next = i + 1 < n ? &g_.layers[i + 1] : nullptr;
      switch (l.kind) {
        case LayerKind::kConv2d: {
          DeployedOp op = base_op(DeployedOpKind::kConv2d, l);
          op.constant_inputs = 2;  // weights, bias
          const std::size_t conv_layer = i;
          int bn_layer = -1;
          op.kernel_h = op.kernel_w = l.kernel;
          op.stride_h = op.stride_w = l.stride;
          op.pad_top = op.pad_left = l.pad;
          int in_tensor = tensor_of_[l.inputs[0]];
          if (needs_explicit_pad(op)) {
            DeployedOp pad = base_op(DeployedOpKind::kPad, l);
            pad.output = pad.input;
            pad.output.h = (op.output.h - 1) * op.stride_h + op.kernel_h;
            pad.output.w = (op.output.w - 1) * op.stride_w + op.kernel_w;
            pad.pad_top = pad.pad_left = l.pad;
            pad.constant_inputs = 1;  // the paddings
            const int padded = new_tensor(pad.output.numel(), false);
            emit_to_tensor(pad, in_tensor, -1, padded, source_of(i));
            in_tensor = padded;
            op.input = pad.output;
            op.pad_top = op.pad_left = 0;
          }
          int out_value = l.output;
          // BN folds into the conv's weights and bias.
          if (next && next->kind == LayerKind::kBatchNorm && next->inputs[0] == out_value) {
            out_value = next->output;
            bn_layer = static_cast<int>(++i);
            next = i + 1 < n ? &g_.layers[i + 1] : nullptr;
          }
          LoweredSource src;
          src.layer = static_cast<int>(conv_layer);
          src.bn_layer = bn_layer;
          src.relu_layer = fuse_relu(op, out_value, next, i);
          if (tensor_of_[out_value] < 0)
            tensor_of_[out_value] = new_tensor(g_.values[out_value].numel(), false);
          emit_to_tensor(op, in_tensor, -1, tensor_of_[out_value], src);
          break;
        }
        case LayerKind::kBatchNorm: {
          // A BN not after a conv (the head's `lastact`): the converter emits MUL + ADD with
          // per-channel constants.
          DeployedOp mul = base_op(DeployedOpKind::kMul, l);
          mul.constant_inputs = 1;
          int scaled = new_tensor(g_.values[l.output].numel(), false);
          LoweredSource src;
          src.layer = static_cast<int>(i);
          emit_to_tensor(mul, tensor_of_[l.inputs[0]], -1, scaled, src);
          DeployedOp add = base_op(DeployedOpKind::kAdd, l);
          add.constant_inputs = 1;
          int out_value = l.output;
          src.bn_add = true;
          src.relu_layer = fuse_relu(add, out_value, next, i);
          tensor_of_[out_value] = new_tensor(g_.values[out_value].numel(), false);
          emit_to_tensor(add, scaled, -1, tensor_of_[out_value], src);
          break;
        }
        case LayerKind::kReLU:
          emit(base_op(DeployedOpKind::kRelu, l), {l.inputs[0]}, l.output, source_of(i));
          break;
        case LayerKind::kAvgPool: {
          DeployedOp op = base_op(DeployedOpKind::kAveragePool2d, l);
          op.kernel_h = op.kernel_w = l.kernel;
          op.stride_h = op.stride_w = l.stride;
          op.pad_top = op.pad_left = l.pad;
          emit(op, {l.inputs[0]}, l.output, source_of(i));
          break;
        }
        case LayerKind::kGlobalAvgPool: {
          // Exported as AVERAGE_POOL_2D over the whole map (TFLM's MEAN is ~20x slower).
          DeployedOp op = base_op(DeployedOpKind::kAveragePool2d, l);
          op.kernel_h = op.input.h;
          op.kernel_w = op.input.w;
          emit(op, {l.inputs[0]}, l.output, source_of(i));
          break;
        }
        case LayerKind::kLinear: {
          DeployedOp fc = base_op(DeployedOpKind::kFullyConnected, l);
          fc.constant_inputs = 2;  // weights, bias
          emit(fc, {l.inputs[0]}, l.output, source_of(i));
        } break;
        case LayerKind::kWeightedSum: weighted_sum(l, static_cast<int>(i)); break;
      }
    }
    out_.output_tensor = tensor_of_[g_.logits];
    return std::move(out_);
  }

 private:
  int new_tensor(std::int64_t numel, bool constant) {
    out_.tensor_numel.push_back(numel);
    out_.tensor_constant.push_back(constant);
    out_.tensor_def.push_back(static_cast<int>(out_.ops.size()));  // the next op writes it
    if (out_.ops.empty() && out_.tensor_numel.size() == 1) out_.tensor_def.back() = -1;
    return static_cast<int>(out_.tensor_numel.size()) - 1;
  }

  DeployedOp base_op(DeployedOpKind kind, const Layer& l) const {
    DeployedOp op;
    op.kind = kind;
    op.input = g_.values[l.inputs.empty() ? l.output : l.inputs[0]];
    op.output = g_.values[l.output];
    op.origin = l.origin;
    return op;
  }

  // TFLite pads a conv only as SAME (total max((out-1)*stride + k - in, 0), the smaller half
  // before) or VALID; PyTorch pads `pad` on both sides.
  static bool needs_explicit_pad(const DeployedOp& op) {
    auto fits = [&](int in, int out, int k, int stride, int pad) {
      const int after = (out - 1) * stride + k - in - pad;  // rows PyTorch reads past the end
      if (pad == 0 && after <= 0) return true;              // VALID
      const int same_out = (in + stride - 1) / stride;
      const int total = std::max((same_out - 1) * stride + k - in, 0);
      return same_out == out && total / 2 == pad && total - total / 2 == after;
    };
    return !fits(op.input.h, op.output.h, op.kernel_h, op.stride_h, op.pad_top) ||
           !fits(op.input.w, op.output.w, op.kernel_w, op.stride_w, op.pad_left);
  }

  static LoweredSource source_of(std::size_t layer) {
    LoweredSource s;
    s.layer = static_cast<int>(layer);
    return s;
  }

  // A ReLU that alone reads `value` runs as the producing op's clamp. Only within a block (a
  // reduction's Conv-BN-ReLU, the head's BN-ReLU): a cell edge's RELU stays its own op, so that
  // its cost belongs to its (edge, op) whatever produced the edge's input. Updates `value` to
  // the ReLU's output and returns the ReLU's layer (-1: not fused).
  int fuse_relu(DeployedOp& op, int& value, const Layer* next, std::size_t& i) {
    if (next && next->kind == LayerKind::kReLU && next->inputs[0] == value &&
        consumers_[value] == 1 && next->origin.block != BlockKind::kCell &&
        next->origin.block == op.origin.block &&
        next->origin.block_index == op.origin.block_index) {
      op.fused_relu = true;
      value = next->output;
      return static_cast<int>(++i);
    }
    return -1;
  }

  void emit_to_tensor(const DeployedOp& op, int in0, int in1, int out, const LoweredSource& src) {
    ScheduleOp s;
    s.in0 = in0;
    s.in1 = in1;
    s.out = out;
    s.scratch = 0;  // filled in by the estimate, which knows the target
    out_.ops.push_back(op);
    out_.schedule.push_back(s);
    out_.source.push_back(src);
  }

  void emit(const DeployedOp& op, std::initializer_list<int> input_values, int out_value,
            const LoweredSource& src) {
    int in0 = tensor_of_[*input_values.begin()];
    if (tensor_of_[out_value] < 0)
      tensor_of_[out_value] = new_tensor(g_.values[out_value].numel(), false);
    emit_to_tensor(op, in0, -1, tensor_of_[out_value], src);
  }

  void weighted_sum(const Layer& l, int layer) {
    LoweredSource src;
    src.layer = layer;
    const std::size_t terms = l.inputs.size();
    const std::int64_t numel = g_.values[l.output].numel();
    if (terms == 0) {
      // All `none`: a constant zero tensor stored in the flatbuffer.
      tensor_of_[l.output] = new_tensor(numel, true);
      out_.constant_flash_bytes += numel;
      return;
    }
    if (terms == 1) {
      if (l.divisors[0] == 1) {
        tensor_of_[l.output] = tensor_of_[l.inputs[0]];  // the node is its single term
        return;
      }
      // Σ (1/k)·op(x) with one executed term: the 1/k is a requantisation of the int8 data.
      DeployedOp q = base_op(DeployedOpKind::kQuantize, l);
      src.term = 0;
      emit(q, {l.inputs[0]}, l.output, src);
      return;
    }
    // n terms -> n-1 binary ADDs; ADD rescales each input, which absorbs the 1/k weights.
    int acc = tensor_of_[l.inputs[0]];
    for (std::size_t k = 1; k < terms; ++k) {
      DeployedOp add = base_op(DeployedOpKind::kAdd, l);
      int out = k + 1 == terms ? (tensor_of_[l.output] = new_tensor(numel, false))
                               : new_tensor(numel, false);
      src.term = static_cast<int>(k);
      emit_to_tensor(add, acc, tensor_of_[l.inputs[k]], out, src);
      acc = out;
    }
  }

  const Graph& g_;
  std::vector<int> tensor_of_;
  std::vector<int> consumers_;
  Lowered out_;
};

}  // namespace

Lowered lower_graph(const Graph& graph) { return Lowering(graph).run(); }

}  // namespace micronas::mcu
