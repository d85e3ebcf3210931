// Full-integer int8 TFLite export of a network: the graph lowered exactly as the microcontroller
// cost model lowers it (mcu/lowering.hpp), batch norm folded into the convs (inference mode, with
// running statistics), per-channel symmetric int8 conv weights, per-tensor asymmetric int8
// activations calibrated on the user's inputs, int32 biases. The model's input and output are
// int8 tensors: the input is the normalised image [1, H, W, C] quantised with the input tensor's
// scale and zero point; the output holds the quantised logits [1, classes].
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "micronas/data.hpp"
#include "micronas/graph.hpp"

namespace micronas::tflite {

// ---- Quantisation arithmetic (exposed for tests). ----

struct AffineQuant {
  double scale = 1;
  int zero_point = 0;
};
// Asymmetric int8 parameters for values in [min, max]: the range is widened to hold 0, scale =
// (max - min) / 255, zero point = round(-128 - min / scale) clamped to [-128, 127]. An empty
// range (min = max = 0) gets scale 1 / 255 (any scale represents zero exactly).
AffineQuant activation_quant(double min, double max);
// round(x / scale) + zero point, saturated to int8.
std::int8_t quantize_value(double x, const AffineQuant& q);

// Symmetric per-channel int8: for channel c (the outermost dimension of `weights`, `channels`
// rows of equal length) scale = max|w| / 127 (1 for an all-zero channel), values round(w / scale)
// in [-127, 127], zero point 0.
struct ChannelQuant {
  std::vector<double> scales;
  std::vector<std::int8_t> values;
};
// `min_scales` (empty, or one per channel) raises a channel's scale, e.g. so that its bias fits
// int32 (see bias_safe_scales).
ChannelQuant quantize_per_channel(const std::vector<double>& weights, int channels,
                                  const std::vector<double>& min_scales = {});
// The smallest weight scale per channel for which round(bias / (input_scale * scale)) fits int32
// (TFLite's converter widens such weight scales the same way).
std::vector<double> bias_safe_scales(const std::vector<double>& bias, double input_scale);
// int32 bias: round(b[c] / (input_scale * weight_scales[c])), saturated (one weight scale for
// all channels when weight_scales has one entry).
std::vector<std::int32_t> quantize_bias(const std::vector<double>& bias, double input_scale,
                                        const std::vector<double>& weight_scales);

// Inference-mode batch norm folded into the preceding conv (weight [Cout, ...], no bias):
// w'[c] = w[c] * g[c] / sqrt(var[c] + eps), b'[c] = beta[c] - mean[c] * g[c] / sqrt(var[c] + eps).
struct FoldedConv {
  std::vector<double> weight, bias;
};
FoldedConv fold_batch_norm(const std::vector<double>& weight, int out_channels,
                           const std::vector<double>& gamma, const std::vector<double>& beta,
                           const std::vector<double>& mean, const std::vector<double>& var,
                           double eps = 1e-5);

// ---- Weights and the float reference. ----

// Batch norm running statistics keyed by the BN module's state_dict prefix (e.g. "stem.1",
// "cells.0.edges.1<-0.3.op.2"); a BN without an entry uses mean 0, variance 1.
struct RunningStats {
  std::map<std::string, std::vector<double>> mean, var;
};

// The network's parameters (graph.num_params values in Parameter::offset layout) and BN running
// statistics.
struct Weights {
  std::vector<double> params;
  RunningStats stats;
};
// Seeded PyTorch-default initialisation (the same values as the proxies' networks), statistics
// 0 / 1.
Weights random_weights(const Graph& graph, std::uint64_t seed);
// `<state_dict key>.npy` for every parameter (all required, each of the parameter's shape) and,
// per BN, `<prefix>.running_mean.npy` / `<prefix>.running_var.npy` ([C]) when present. Throws
// Error(kIoError) naming a missing or malformed file, Error(kInvalidArgument) naming a file of
// another shape, or a value that is not a finite float32 number (or a negative variance) and its
// element.
// `stats_loaded` (may be null) receives the number of BNs whose statistics were read.
Weights load_weights(const Graph& graph, const std::string& dir, int* stats_loaded = nullptr);

// Sets every BN's running statistics to the batch statistics (mean, biased variance) of its input
// over `images` (NCHW), computed in the training-mode forward pass — what a trained network's
// statistics estimate. Used for random weights, whose untrained BNs would otherwise pass signals
// that shrink or grow geometrically with depth.
void estimate_running_stats(const Graph& graph, Weights& weights, const ImageBatch& images);

// The float forward pass of the graph in inference mode (BN with running statistics, eps 1e-5),
// in double precision, unfolded: input [batch, C, H, W], returns logits [batch, classes].
std::vector<double> inference_forward(const Graph& graph, const Weights& weights,
                                      const float* input, int batch);

// The network as exported, in float: the deployed ops of the cost model's lowering with BN
// folded (NHWC inside); input [batch, C, H, W], returns logits [batch, classes]. Equals
// inference_forward() up to rounding.
std::vector<double> deployed_forward(const Graph& graph, const Weights& weights, const float* input,
                                     int batch);

// ---- Export. ----

struct ExportedModel {
  std::vector<std::uint8_t> bytes;  // the .tflite file
  AffineQuant input, output;
  int num_operators = 0;
  int pad_operators = 0;  // the lowering's PAD ops (convs whose padding TFLite's SAME is not)
  std::map<std::string, int> operator_counts;  // by builtin name
};

// Exports `graph` (NB201 cells with one op per edge: a mixed supernet edge's 1/k cannot be
// expressed in TFLite's value-preserving ops, Error(kUnsupported)) with activations calibrated
// on `calibration` (NCHW, normalised as the network expects; at least one image). Throws
// Error(kNumericalError) for weights too large or too small to quantise: activations that are not
// finite, or a scale that is not a positive finite float32.
ExportedModel export_model(const Graph& graph, const Weights& weights,
                           const ImageBatch& calibration, const std::string& description);

// The model bytes as a C++ source file for firmware: `alignas(16) const unsigned char <name>[]
// = {...}; const unsigned int <name>_len = N;`, 12 bytes a line, both declared `extern` first
// (external linkage, as TFLite Micro's model_data.cc has), after a `/* <comment> */` line whose
// control and non-ASCII characters are escaped as \xNN and whose `*/` and `/*` are broken up
// (`*\/`, `/\*`).
std::string c_array_source(const std::vector<std::uint8_t>& bytes, const std::string& name,
                           const std::string& comment);

}  // namespace micronas::tflite
