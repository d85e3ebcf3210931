// Lowering of a time-series architecture (timeseries_space.hpp) to its list of layers with
// shapes: what training and the microcontroller cost model consume.
//
// The list is a schedule: layers appear in the order they execute, each after its inputs.
//   - Time-Reduce cell i: "trI.conv" (kernel (k, 1), stride (2, 1)), "trI.dropout".
//   - Sensor-Fusion cell i (not skipped; a skipped cell emits nothing): "sfI.bottleneck"
//     (kernel (1, S_cur), stride (1, 2) when reducing), then the branches "sfI.branchK"
//     (kernel (K, 1), stride 1) in ascending K, summed as they come ("sfI.sumK" adds branch K to
//     the running sum, so only the block input and the running sum stay live, as in the deployed
//     network); then "sfI.residual" (kernel (1, 2) stride (1, 2) when reducing, else 1x1) on the
//     cell input and "sfI.add"; then "sfI.dropout".
//   - Head: "head.conv" (1x1, C -> classes, ReLU, no batch norm), "head.pool" (global average),
//     "head.softmax" (log-softmax over the classes in training).
// Cell convs are followed by ReLU then batch norm; the int8 deployment keeps the batch norm as an
// op of its own after the conv (timeseries_cost.hpp): after the ReLU it cannot be folded.
// Padding is TensorFlow's "same": total = max((out - 1) * stride + kernel - in, 0), the smaller
// half before and the extra element after.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "micronas/timeseries_space.hpp"

namespace micronas::timeseries {

enum class LayerKind { kConv, kAdd, kDropout, kGlobalAvgPool, kSoftmax };
const char* layer_kind_name(LayerKind kind);

struct Layer {
  LayerKind kind = LayerKind::kConv;
  std::string name;
  int cell = -1;            // cell index (Time-Reduce cells first), -1 for the head
  std::vector<int> inputs;  // indices of the producing layers; -1 is the network input
  Shape in, out;            // `in` is the shape of every input (adds take equal shapes)
  // Convolutions only.
  int kh = 1, kw = 1, sh = 1, sw = 1;
  int pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;
  bool relu = false;
  bool batch_norm = false;
  // Dropout only: the drop probability of whole channels (Dropout2d) during training.
  double dropout = 0.0;

  // Multiply-accumulates of a conv (out.t * out.s * out.c * kh * kw * in.c), else 0.
  std::int64_t macs() const;
  // Parameters of a conv: its weights and bias, else 0 (batch norm in bn_params()).
  std::int64_t params() const;
  // Trainable batch-norm parameters (scale and shift per channel), 0 without batch norm; the
  // deployed batch-norm op holds as many (its per-channel weight and bias).
  std::int64_t bn_params() const;
};

struct LoweringOptions {
  double dropout = 0.3;  // Dropout2d after every cell, as in the reference
};

struct LayerGraph {
  Shape input;  // (T, S, 1)
  int classes = 0;
  std::vector<Layer> layers;
  int output = -1;  // index of the last layer (the softmax)

  std::int64_t macs() const;
  std::int64_t params() const;
  std::int64_t bn_params() const;
};

// Throws Error(kInvalidArgument) when `arch` is not in `space` (see Space::check).
LayerGraph lower(const Space& space, const Arch& arch, const LoweringOptions& options = {});

}  // namespace micronas::timeseries
