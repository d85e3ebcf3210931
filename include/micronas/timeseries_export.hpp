// A time-series network (timeseries_space.hpp) as a full-integer int8 TFLite model, op for op
// what the cost model prices (timeseries_cost.hpp): CONV_2D with the ReLU fused and TFLite SAME
// padding, each cell conv's batch norm as a DEPTHWISE_CONV_2D 1x1 with depth multiplier 1
// (per-channel int8 weights g = gamma / sqrt(var + eps), int32 bias beta - mean * g), ADD for the
// branch sums and the residual, MEAN over time and sensors, SOFTMAX. Per-channel symmetric int8
// weights, per-tensor asymmetric int8 activations calibrated on the caller's windows, int32
// biases. The input is the normalised window as a one-channel image, int8 [1, T, S, 1]; the
// output the class probabilities, int8 [1, classes] (scale 1/256, zero point -128, as TFLite's
// int8 SOFTMAX requires).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "micronas/tflite_export.hpp"
#include "micronas/timeseries_lowering.hpp"
#include "micronas/training_graph.hpp"

namespace micronas::timeseries {

// The parameters (TrainingGraph::parameters() layout) and batch-norm running statistics (its
// state layout: per batch norm, c means then c variances) of an exact network
// (timeseries_training.hpp: exact_network).
struct NetworkWeights {
  std::vector<float> params, state;
};

// Seeded weights for measuring a network on a board: the graph's initial parameters, and every
// batch norm with gamma in [-1.5, 1.5] (negative ones included: the deployed affine must carry
// any sign), beta in [-0.5, 0.5], running mean in [0, 0.5] and variance in [0.5, 1.5].
NetworkWeights random_network_weights(const training::TrainingGraph& net, std::uint64_t seed);

// `<name>.npy` (float32, the parameter's dims) for every parameter and, for every batch norm
// `<bn>`, `<bn>.running_mean.npy` and `<bn>.running_var.npy` ([c]). save writes them into `dir`,
// which must not exist or be empty (a non-empty one is refused, Error(kIoError) naming it);
// load reads them all (Error(kIoError) naming a missing or malformed file,
// Error(kInvalidArgument) naming a file whose shape is not the parameter's, or a value that is not
// a finite float32 number (or a negative variance) and its element).
void save_network_weights(const training::TrainingGraph& net, const NetworkWeights& w,
                          const std::string& dir);
// What save_network_weights refuses, checked before any work.
void check_weights_directory(const std::string& dir);
NetworkWeights load_network_weights(const training::TrainingGraph& net, const std::string& dir);

// The training engine's forward pass in inference mode (running statistics, no dropout), in
// double precision: class probabilities [batch, classes] for windows x [batch, T, S].
std::vector<double> reference_probabilities(const training::TrainingGraph& net,
                                            const NetworkWeights& w, const float* x, int batch);

// The exported network in float (double): the deployed ops of lower_deployed, batch norm as its
// own affine op; equals reference_probabilities up to rounding.
std::vector<double> deployed_probabilities(const LayerGraph& graph,
                                           const training::TrainingGraph& net,
                                           const NetworkWeights& w, const float* x, int batch);

// The model, activations calibrated on `calibration` windows ([n, T, S], normalised as the
// network was trained; n >= 1). Throws Error(kInvalidArgument) when the weights or the
// calibration windows do not fit `graph` / `net` (exact_network of the same architecture),
// Error(kNumericalError) for weights too large or too small to quantise (activations that are not
// finite, or a scale that is not a positive finite float32).
tflite::ExportedModel export_tflite(const LayerGraph& graph, const training::TrainingGraph& net,
                                    const NetworkWeights& w, const float* calibration, int n,
                                    const std::string& description);

}  // namespace micronas::timeseries
