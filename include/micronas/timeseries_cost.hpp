// Cost of one time-series network (timeseries_lowering.hpp) deployed as an int8 TensorFlow Lite
// Micro + CMSIS-NN model on a microcontroller target: per-op and whole-network latency, peak SRAM
// and flash from the same model as the NB201 networks (micronas/mcu.hpp: the per-op analytical
// cycle model fitted to the measured rows, the tensor-lifetime schedule, the flash terms), so
// every built-in target and every window shape works. Also the reference's simpler peak-memory
// model (King et al., §5), which the differentiable search's expectation reproduces
// (timeseries_expected_cost.hpp).
//
// The deployed network, op by op in the layer graph's order:
//   - a conv (conv, ReLU, batch norm): a CONV_2D with the ReLU fused, then the batch norm as a
//     DEPTHWISE_CONV_2D 1x1 with depth multiplier 1 (per-channel int8 weights g = gamma /
//     sqrt(var + eps), int32 bias b = beta - mean * g). The reference's lookup table prices the
//     conv alone ("BN folded"), but a batch norm after the ReLU cannot be folded into the conv
//     exactly: y = g * relu(z) + b needs a per-channel affine after the ReLU (g can be negative,
//     and b moved into the next conv is wrong where "same" padding reads zeros). Its cost
//     family is derived from CMSIS-NN's source, not measured (mcu/VALIDATION.md). The conv's
//     padding is TFLite's SAME, whose rule (total = max((out - 1) * stride + k - in, 0), the
//     smaller half before) is TensorFlow's, so no PAD op is needed; the head conv has no batch
//     norm;
//   - an add: ADD; a dropout: nothing (identity at inference);
//   - the global average pooling: MEAN over time and sensors (Keras' GlobalAveragePooling2D
//     export, as the reference deploys it);
//   - the softmax: SOFTMAX over the classes.
#pragma once

#include <cstdint>
#include <vector>

#include "micronas/mcu.hpp"
#include "micronas/timeseries_lowering.hpp"

namespace micronas::timeseries {

struct CostEstimate {
  // network.layers[i] is deployed op i: its shapes (C = channels, H = time, W = sensors), cost,
  // milliseconds and live arena bytes; the totals as for an NB201 network (micronas_table_ms is
  // 0: the constant table describes NB201 cells only). A conv with batch norm is two ops.
  mcu::NetworkEstimate network;
  std::vector<int> graph_layer;  // the LayerGraph layer deployed op i computes
};

// Throws Error(kInvalidArgument) for options.latency_model == kMicronasConstantTable or a
// negative clock, Error(kNumericalError) when the target's constants give a latency that is not
// positive and finite.
CostEstimate estimate_cost(const mcu::TargetProfile& target, const LayerGraph& graph,
                           const mcu::EstimateOptions& options = {});

// The reference's peak-memory model (int8 activation bytes; weights are in flash):
//   conv:   |input| + |output| + 4 * kh * kw * Cin (the CMSIS-NN im2col scratch), plus the
//           running sum of the temporal block while a later branch or the residual runs;
//   add:    both inputs + output;
//   pooling, softmax: input + output; dropout: nothing.
// Returns the bytes of every layer (0 for dropout); the peak is their maximum.
std::vector<std::int64_t> reference_memory_bytes(const LayerGraph& graph);
std::int64_t reference_peak_memory_bytes(const LayerGraph& graph);

}  // namespace micronas::timeseries
