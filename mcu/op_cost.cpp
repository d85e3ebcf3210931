// Cost of one deployed int8 op: the shape features CMSIS-NN's kernels spend instructions on,
// instructions = form(features), cycles = CPI x instructions + interpreter overhead; arena
// scratch/persistent bytes and flash bytes.
#include "mcu/op_cost.hpp"

#include <cmath>

#include "micronas/error.hpp"

namespace micronas::mcu {
namespace {

std::int64_t ceil_to(std::int64_t v, std::int64_t m) { return (v + m - 1) / m * m; }

// (output position, kernel tap) pairs along one axis that read inside the input.
std::int64_t valid_taps(int size, int out, int kernel, int stride, int pad) {
  std::int64_t n = 0;
  for (int o = 0; o < out; ++o)
    for (int t = 0; t < kernel; ++t) {
      int y = o * stride - pad + t;
      n += (y >= 0 && y < size) ? 1 : 0;
    }
  return n;
}

bool is_conv_1x1_fast(const DeployedOp& op) {
  // TFLM's CMSIS-NN CONV_2D takes arm_convolve_1x1_s8_fast for 1x1 filters with stride 1, no
  // padding and Cin % 4 == 0; everything else goes through arm_convolve_s8's im2col.
  return op.kernel_h == 1 && op.kernel_w == 1 && op.stride_h == 1 && op.stride_w == 1 &&
         op.pad_top == 0 && op.pad_left == 0 && op.input.c % 4 == 0;
}

std::int64_t conv_macs(const DeployedOp& op) {
  return op.output.numel() * op.kernel_h * op.kernel_w * op.input.c;
}

}  // namespace

const char* cost_family_name(CostFamily family) {
  switch (family) {
    case CostFamily::kConvIm2col: return "conv_im2col";
    case CostFamily::kConv1x1: return "conv_1x1";
    case CostFamily::kFullyConnected: return "fully_connected";
    case CostFamily::kAveragePool: return "average_pool";
    case CostFamily::kAdd: return "add";
    case CostFamily::kRelu: return "relu";
    case CostFamily::kQuantize: return "quantize";
    case CostFamily::kMean: return "mean";
    case CostFamily::kSoftmax: return "softmax";
    case CostFamily::kDepthwise1x1: return "depthwise_conv_1x1";
  }
  return "?";
}

const char* deployed_op_name(DeployedOpKind kind) {
  switch (kind) {
    case DeployedOpKind::kConv2d: return "CONV_2D";
    case DeployedOpKind::kFullyConnected: return "FULLY_CONNECTED";
    case DeployedOpKind::kAveragePool2d: return "AVERAGE_POOL_2D";
    case DeployedOpKind::kAdd: return "ADD";
    case DeployedOpKind::kMul: return "MUL";
    case DeployedOpKind::kRelu: return "RELU";
    case DeployedOpKind::kQuantize: return "QUANTIZE";
    case DeployedOpKind::kMean: return "MEAN";
    case DeployedOpKind::kPad: return "PAD";
    case DeployedOpKind::kSoftmax: return "SOFTMAX";
    case DeployedOpKind::kDepthwiseConv2d: return "DEPTHWISE_CONV_2D";
  }
  return "?";
}

const std::vector<std::string>& family_feature_names(CostFamily family) {
  static const std::vector<std::string> conv_im2col = {"macs",
                                                       "im2col_elements",
                                                       "outputs",
                                                       "pixels",
                                                       "kernel_taps",
                                                       "out_channels",
                                                       "one",
                                                       "outputs_x_col_remainder4",
                                                       "padded_taps_x_in_channels",
                                                       "padded_taps"};
  static const std::vector<std::string> conv_1x1 = {"outputs_x_in_channel_blocks16",
                                                    "outputs_x_in_channel_remainder16",
                                                    "outputs_x_has_remainder16",
                                                    "outputs",
                                                    "pixels",
                                                    "out_channels",
                                                    "one"};
  static const std::vector<std::string> fully_connected = {"macs", "outputs", "one"};
  static const std::vector<std::string> pool = {"window_elements", "outputs", "pixels", "one"};
  static const std::vector<std::string> elementwise = {"elements", "one"};
  static const std::vector<std::string> mean = {"input_elements", "outputs", "one"};
  static const std::vector<std::string> depthwise_1x1 = {"elements", "pixels",
                                                         "pixels_x_channel_remainder4", "one"};
  switch (family) {
    case CostFamily::kConvIm2col: return conv_im2col;
    case CostFamily::kConv1x1: return conv_1x1;
    case CostFamily::kFullyConnected: return fully_connected;
    case CostFamily::kAveragePool: return pool;
    case CostFamily::kAdd:
    case CostFamily::kRelu:
    case CostFamily::kQuantize:
    case CostFamily::kSoftmax: return elementwise;
    case CostFamily::kMean: return mean;
    case CostFamily::kDepthwise1x1: return depthwise_1x1;
  }
  return elementwise;
}

CostFamily family_of(const DeployedOp& op) {
  switch (op.kind) {
    case DeployedOpKind::kConv2d:
      return is_conv_1x1_fast(op) ? CostFamily::kConv1x1 : CostFamily::kConvIm2col;
    case DeployedOpKind::kFullyConnected: return CostFamily::kFullyConnected;
    case DeployedOpKind::kAveragePool2d: return CostFamily::kAveragePool;
    case DeployedOpKind::kAdd:
    case DeployedOpKind::kMul: return CostFamily::kAdd;
    case DeployedOpKind::kRelu: return CostFamily::kRelu;
    case DeployedOpKind::kQuantize: return CostFamily::kQuantize;
    case DeployedOpKind::kMean: return CostFamily::kMean;
    // A pass over the elements like RELU's (no PAD measurements; every NB201 network has two).
    case DeployedOpKind::kPad: return CostFamily::kRelu;
    case DeployedOpKind::kSoftmax: return CostFamily::kSoftmax;
    case DeployedOpKind::kDepthwiseConv2d:
      // Only the per-channel affine (the time-series networks' batch norm) has a form; other
      // depthwise shapes take other CMSIS-NN kernels, which nothing here describes.
      if (op.kernel_h != 1 || op.kernel_w != 1 || op.stride_h != 1 || op.stride_w != 1 ||
          op.pad_top != 0 || op.pad_left != 0 || op.input.c != op.output.c)
        throw Error(Status::kInvalidArgument,
                    "DEPTHWISE_CONV_2D is modelled for 1x1 filters, stride 1 and depth "
                    "multiplier 1 only");
      return CostFamily::kDepthwise1x1;
  }
  return CostFamily::kAdd;
}

std::vector<double> op_features(const DeployedOp& op) {
  const double pixels = static_cast<double>(op.output.h) * op.output.w;
  const double co = op.output.c, ci = op.input.c;
  switch (family_of(op)) {
    case CostFamily::kConvIm2col: {
      const double taps = static_cast<double>(op.kernel_h) * op.kernel_w;
      const double inside =
          static_cast<double>(
              valid_taps(op.input.h, op.output.h, op.kernel_h, op.stride_h, op.pad_top)) *
          valid_taps(op.input.w, op.output.w, op.kernel_w, op.stride_w, op.pad_left);
      const double padded = pixels * taps - inside;
      const auto column = static_cast<std::int64_t>(taps) * op.input.c;
      return {pixels * taps * ci * co,
              pixels * taps * ci,
              pixels * co,
              pixels,
              pixels * taps,
              co,
              1.0,
              pixels * co * static_cast<double>(column % 4),
              padded * ci,
              padded};
    }
    case CostFamily::kConv1x1: {
      const int blocks = op.input.c / 16, remainder = op.input.c % 16;
      return {pixels * co * blocks,
              pixels * co * remainder,
              pixels * co * (remainder ? 1 : 0),
              pixels * co,
              pixels,
              co,
              1.0};
    }
    case CostFamily::kFullyConnected: return {static_cast<double>(op.input.numel()) * co, co, 1.0};
    case CostFamily::kAveragePool: {
      const double window =
          static_cast<double>(
              valid_taps(op.input.h, op.output.h, op.kernel_h, op.stride_h, op.pad_top)) *
          valid_taps(op.input.w, op.output.w, op.kernel_w, op.stride_w, op.pad_left) * co;
      return {window, pixels * co, pixels, 1.0};
    }
    case CostFamily::kAdd:
    case CostFamily::kRelu:
    case CostFamily::kQuantize:
    case CostFamily::kSoftmax: return {static_cast<double>(op.output.numel()), 1.0};
    case CostFamily::kMean:
      return {static_cast<double>(op.input.numel()), static_cast<double>(op.output.numel()), 1.0};
    case CostFamily::kDepthwise1x1:
      return {static_cast<double>(op.output.numel()), pixels, pixels * (op.output.c % 4), 1.0};
  }
  return {};
}

std::int64_t aligned_bytes(const TargetProfile& target, std::int64_t bytes) {
  return ceil_to(bytes, target.tensor_alignment);
}

OpCost op_cost(const TargetProfile& target, const DeployedOp& op, Runtime runtime) {
  OpCost cost;
  cost.family = family_of(op);
  const int f = static_cast<int>(cost.family);
  const std::vector<double> x = op_features(op);
  const std::vector<double>& c = target.instructions[f].coefficients;
  if (c.size() != x.size())
    throw Error(Status::kInternal, std::string("instruction form of ") +
                                       cost_family_name(cost.family) + " has the wrong size");
  double insn = 0;
  for (std::size_t i = 0; i < x.size(); ++i) insn += c[i] * x[i];
  // A fitted intercept can be negative; an op never executes fewer than zero instructions.
  cost.instructions = insn > 0 ? insn : 0;
  cost.cycles = std::llround(target.cpi[f] * cost.instructions);
  if (runtime == Runtime::kTflm) cost.cycles += std::llround(target.tflm_op_overhead_cycles);

  const std::int64_t co = op.output.c;
  switch (op.kind) {
    case DeployedOpKind::kConv2d: {
      cost.macs = conv_macs(op);
      // CMSIS arm_convolve_s8_get_buffer_size: two im2col columns of int16, padded to 4 (the
      // measured arena fits 4*ceil4(K*Cin) exactly); the 1x1 fast path needs none.
      if (cost.family == CostFamily::kConvIm2col)
        cost.scratch_bytes =
            4 * ceil_to(static_cast<std::int64_t>(op.kernel_h) * op.kernel_w * op.input.c, 4);
      // Per-channel int32 multipliers and shifts, each its own aligned allocation.
      cost.persistent_bytes = 2 * aligned_bytes(target, 4 * co);
      cost.flash_bytes = static_cast<std::int64_t>(op.kernel_h) * op.kernel_w * op.input.c * co +
                         std::llround(target.flash_per_out_channel_bytes * co);
      break;
    }
    case DeployedOpKind::kFullyConnected:
      cost.macs = op.input.numel() * co;
      cost.flash_bytes = cost.macs + std::llround(target.flash_per_out_channel_bytes * co);
      break;
    case DeployedOpKind::kAdd:
    case DeployedOpKind::kMul:
      cost.persistent_bytes = target.add_op_data_bytes;
      cost.flash_bytes = op.constant_inputs * co;  // a BN's per-channel int8 constant
      break;
    case DeployedOpKind::kDepthwiseConv2d:
      cost.macs = op.output.numel();
      // CMSIS-NN's DSP path widens each pixel's channels to int16 in a scratch column
      // (arm_depthwise_conv_s8_opt_get_buffer_size: C * kh * kw * 2 bytes), which TFLM requests
      // in the arena; per-channel multipliers and shifts as for CONV_2D.
      cost.scratch_bytes = 2 * co;
      cost.persistent_bytes = 2 * aligned_bytes(target, 4 * co);
      cost.flash_bytes = co + std::llround(target.flash_per_out_channel_bytes * co);
      break;
    case DeployedOpKind::kPad: cost.flash_bytes = 32; break;  // int32 paddings [4, 2]
    default: break;
  }
  // The op's table, its output tensor and its constant tensors' tables in the flatbuffer.
  cost.flash_bytes += std::llround(target.flash_op_bytes(op.kind) +
                                   target.flash_per_constant_tensor_bytes * op.constant_inputs);
  return cost;
}

std::int64_t single_op_arena_bytes(const TargetProfile& target, const DeployedOp& op) {
  OpCost cost = op_cost(target, op, Runtime::kTflm);
  std::int64_t inputs = aligned_bytes(target, op.input.numel());
  if (op.kind == DeployedOpKind::kAdd || op.kind == DeployedOpKind::kMul) inputs *= 2;
  return inputs + aligned_bytes(target, op.output.numel()) + cost.scratch_bytes +
         cost.persistent_bytes + target.arena_fixed_bytes;
}

}  // namespace micronas::mcu
