// A TFLite model in memory and its serialisation as a flatbuffer (file identifier "TFL3",
// schema version 3). Tables are written field by field with the FlatBuffers runtime, each field
// in the slot of the public TFLite schema (vtable offset 4 + 2 x field index); only the tables
// and fields an int8 CNN needs are written, every other field takes its schema default.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace micronas::tflite {

// TensorType values of the TFLite schema.
enum class TensorType : std::int8_t { kFloat32 = 0, kInt32 = 2, kInt8 = 9 };

// BuiltinOperator values of the TFLite schema.
enum class BuiltinOperator : std::int32_t {
  kAdd = 0,
  kAveragePool2d = 1,
  kConv2d = 3,
  kDepthwiseConv2d = 4,
  kFullyConnected = 9,
  kMul = 18,
  kRelu = 19,
  kSoftmax = 25,
  kPad = 34,
  kMean = 40,
  kQuantize = 114,
};
const char* builtin_operator_name(BuiltinOperator op);  // "CONV_2D", ...

// BuiltinOptions union member indices of the TFLite schema.
enum class BuiltinOptionsType : std::uint8_t {
  kNone = 0,
  kConv2dOptions = 1,
  kDepthwiseConv2dOptions = 2,
  kPool2dOptions = 5,
  kFullyConnectedOptions = 8,
  kSoftmaxOptions = 9,
  kAddOptions = 11,
  kMulOptions = 21,
  kPadOptions = 22,
  kReducerOptions = 27,
  kQuantizeOptions = 89,
};

enum class Padding : std::int8_t { kSame = 0, kValid = 1 };
enum class Activation : std::int8_t { kNone = 0, kRelu = 1 };

// One scalar field of an options table: its field index in the schema, its width in bytes
// (1 or 4) and its value; a float field (SOFTMAX's beta) holds real_value instead.
struct ScalarField {
  int index = 0;
  int bytes = 4;
  std::int32_t value = 0;
  bool is_float = false;
  float real_value = 0;
};

struct BuiltinOptions {
  BuiltinOptionsType type = BuiltinOptionsType::kNone;
  std::vector<ScalarField> fields;
};
BuiltinOptions conv2d_options(Padding padding, int stride_w, int stride_h, Activation act);
BuiltinOptions pool2d_options(Padding padding, int stride_w, int stride_h, int filter_w,
                              int filter_h, Activation act);
BuiltinOptions depthwise_conv2d_options(Padding padding, int stride_w, int stride_h,
                                        int depth_multiplier, Activation act);
BuiltinOptions softmax_options(float beta);
BuiltinOptions fully_connected_options(Activation act);
BuiltinOptions add_options(Activation act);
BuiltinOptions mul_options(Activation act);
BuiltinOptions reducer_options(bool keep_dims);
BuiltinOptions pad_options();
BuiltinOptions quantize_options();

struct Quantization {
  std::vector<float> scale;
  std::vector<std::int64_t> zero_point;
  int quantized_dimension = 0;
};

struct Tensor {
  std::vector<int> shape;
  TensorType type = TensorType::kInt8;
  int buffer = 0;  // 0: no data (an activation)
  std::string name;
  Quantization quantization;  // empty scale: no quantization table
};

struct OperatorCode {
  BuiltinOperator builtin = BuiltinOperator::kAdd;
  int version = 1;
};

struct Operator {
  int opcode_index = 0;
  std::vector<int> inputs, outputs;
  BuiltinOptions options;
};

// One subgraph (the model's only one) and its buffers; buffer 0 is the empty buffer.
struct Model {
  std::string description;
  std::string subgraph_name;
  std::vector<OperatorCode> operator_codes;
  std::vector<Tensor> tensors;
  std::vector<int> inputs, outputs;
  std::vector<Operator> operators;
  std::vector<std::vector<std::uint8_t>> buffers{std::vector<std::uint8_t>{}};

  // Index of the operator code (added on first use).
  int opcode(BuiltinOperator op, int version);
  // A new buffer holding `data`; returns its index.
  int add_buffer(std::vector<std::uint8_t> data);
  // A new tensor; returns its index.
  int add_tensor(Tensor tensor);
};

// Buffer contents: int8 values, int32 values little-endian.
std::vector<std::uint8_t> int8_bytes(const std::vector<std::int8_t>& v);
std::vector<std::uint8_t> int32_bytes(const std::vector<std::int32_t>& v);
struct AffineQuant;
// A per-tensor quantisation table.
Quantization per_tensor(const AffineQuant& q);
// The scale as the file stores it (float32), so that biases match what the runtime reads.
AffineQuant as_stored(AffineQuant q);

// Why an export refuses calibration whose float activations are NaN or Inf (weights too large for
// the network's values to stay finite): min/max calibration would pass over a NaN.
inline constexpr const char* kActivationsNotFinite =
    "TFLite export: the network's activations on the calibration inputs are not finite; the "
    "weights are too large to quantise to int8";

// The model as a TFLite flatbuffer. Constant buffers are 16-byte aligned in the file. Throws
// Error(kNumericalError) naming a tensor whose quantisation scale is not a positive finite
// float32 (TFLite refuses such a model): weights, or the activations they give, too large or too
// small for int8.
std::vector<std::uint8_t> serialize(const Model& model);

}  // namespace micronas::tflite
