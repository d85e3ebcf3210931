// TFLite flatbuffer serialisation, field by field (see tflite_writer.hpp).
#include "mcu/tflite/tflite_writer.hpp"

#include <flatbuffers/flatbuffers.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "micronas/error.hpp"
#include "micronas/tflite_export.hpp"

namespace micronas::tflite {
namespace {

namespace fb = flatbuffers;

// The vtable offset of schema field `index`.
constexpr fb::voffset_t slot(int index) { return static_cast<fb::voffset_t>(4 + 2 * index); }

// Field indices of the schema's tables (declaration order in schema.fbs).
namespace model_field {
constexpr int kVersion = 0, kOperatorCodes = 1, kSubgraphs = 2, kDescription = 3, kBuffers = 4;
}
namespace subgraph_field {
constexpr int kTensors = 0, kInputs = 1, kOutputs = 2, kOperators = 3, kName = 4;
}
namespace tensor_field {
constexpr int kShape = 0, kType = 1, kBuffer = 2, kName = 3, kQuantization = 4;
}
namespace quantization_field {
constexpr int kScale = 2, kZeroPoint = 3, kQuantizedDimension = 6;
}
namespace buffer_field {
constexpr int kData = 0;
}
namespace opcode_field {
constexpr int kDeprecatedBuiltinCode = 0, kVersion = 2, kBuiltinCode = 3;
}
namespace operator_field {
constexpr int kOpcodeIndex = 0, kInputs = 1, kOutputs = 2, kBuiltinOptionsType = 3,
              kBuiltinOptions = 4;
}
// The largest builtin code the deprecated int8 field can hold (PLACEHOLDER_FOR_GREATER_OP_CODES).
constexpr std::int32_t kPlaceholderForGreaterOpCodes = 127;

fb::Offset<void> write_options(fb::FlatBufferBuilder& b, const BuiltinOptions& options) {
  const fb::uoffset_t start = b.StartTable();
  for (const ScalarField& f : options.fields) {
    if (f.is_float)
      b.AddElement<float>(slot(f.index), f.real_value, 0.0f);
    else if (f.bytes == 1)
      b.AddElement<std::int8_t>(slot(f.index), static_cast<std::int8_t>(f.value), 0);
    else
      b.AddElement<std::int32_t>(slot(f.index), f.value, 0);
  }
  return fb::Offset<void>(b.EndTable(start));
}

fb::Offset<void> write_quantization(fb::FlatBufferBuilder& b, const Quantization& q) {
  auto scale = b.CreateVector(q.scale);
  auto zero_point = b.CreateVector(q.zero_point);
  const fb::uoffset_t start = b.StartTable();
  b.AddOffset(slot(quantization_field::kScale), scale);
  b.AddOffset(slot(quantization_field::kZeroPoint), zero_point);
  b.AddElement<std::int32_t>(slot(quantization_field::kQuantizedDimension), q.quantized_dimension,
                             0);
  return fb::Offset<void>(b.EndTable(start));
}

fb::Offset<void> write_tensor(fb::FlatBufferBuilder& b, const Tensor& t) {
  auto shape = b.CreateVector(t.shape);
  auto name = b.CreateString(t.name);
  fb::Offset<void> quantization;
  if (!t.quantization.scale.empty()) quantization = write_quantization(b, t.quantization);
  const fb::uoffset_t start = b.StartTable();
  b.AddOffset(slot(tensor_field::kShape), shape);
  b.AddElement<std::int8_t>(slot(tensor_field::kType), static_cast<std::int8_t>(t.type), 0);
  b.AddElement<std::uint32_t>(slot(tensor_field::kBuffer), static_cast<std::uint32_t>(t.buffer), 0);
  b.AddOffset(slot(tensor_field::kName), name);
  if (!t.quantization.scale.empty()) b.AddOffset(slot(tensor_field::kQuantization), quantization);
  return fb::Offset<void>(b.EndTable(start));
}

fb::Offset<void> write_operator(fb::FlatBufferBuilder& b, const Operator& op) {
  auto inputs = b.CreateVector(op.inputs);
  auto outputs = b.CreateVector(op.outputs);
  fb::Offset<void> options;
  const bool has_options = op.options.type != BuiltinOptionsType::kNone;
  if (has_options) options = write_options(b, op.options);
  const fb::uoffset_t start = b.StartTable();
  b.AddElement<std::uint32_t>(slot(operator_field::kOpcodeIndex),
                              static_cast<std::uint32_t>(op.opcode_index), 0);
  b.AddOffset(slot(operator_field::kInputs), inputs);
  b.AddOffset(slot(operator_field::kOutputs), outputs);
  if (has_options) {
    b.AddElement<std::uint8_t>(slot(operator_field::kBuiltinOptionsType),
                               static_cast<std::uint8_t>(op.options.type), 0);
    b.AddOffset(slot(operator_field::kBuiltinOptions), options);
  }
  return fb::Offset<void>(b.EndTable(start));
}

fb::Offset<void> write_opcode(fb::FlatBufferBuilder& b, const OperatorCode& code) {
  const std::int32_t builtin = static_cast<std::int32_t>(code.builtin);
  const fb::uoffset_t start = b.StartTable();
  b.AddElement<std::int8_t>(slot(opcode_field::kDeprecatedBuiltinCode),
                            static_cast<std::int8_t>(builtin < kPlaceholderForGreaterOpCodes
                                                         ? builtin
                                                         : kPlaceholderForGreaterOpCodes),
                            0);
  b.AddElement<std::int32_t>(slot(opcode_field::kVersion), code.version, 1);
  b.AddElement<std::int32_t>(slot(opcode_field::kBuiltinCode), builtin, 0);
  return fb::Offset<void>(b.EndTable(start));
}

fb::Offset<void> write_buffer(fb::FlatBufferBuilder& b, const std::vector<std::uint8_t>& data) {
  fb::Offset<fb::Vector<std::uint8_t>> vec;
  if (!data.empty()) {
    b.ForceVectorAlignment(data.size(), 1, 16);  // the schema's force_align: 16
    vec = b.CreateVector(data);
  }
  const fb::uoffset_t start = b.StartTable();
  if (!data.empty()) b.AddOffset(slot(buffer_field::kData), vec);
  return fb::Offset<void>(b.EndTable(start));
}

template <class T, class F>
fb::Offset<fb::Vector<fb::Offset<void>>> table_vector(fb::FlatBufferBuilder& b,
                                                      const std::vector<T>& items, F write) {
  std::vector<fb::Offset<void>> offsets;
  offsets.reserve(items.size());
  for (const T& item : items) offsets.push_back(write(b, item));
  return b.CreateVector(offsets);
}

ScalarField byte_field(int index, int value) { return {index, 1, value}; }
ScalarField int_field(int index, int value) { return {index, 4, value}; }

// TFLite refuses a quantised tensor whose scale is not a positive finite float32 (its rescaling
// multipliers divide by the scales): weights, or the activations they give, beyond what int8 with
// a float32 scale can represent.
void check_scales(const Model& model) {
  for (const Tensor& t : model.tensors)
    for (float scale : t.quantization.scale)
      if (!(std::isfinite(scale) && scale > 0)) {
        std::ostringstream value;
        value << scale;
        throw Error(Status::kNumericalError,
                    "TFLite export: tensor '" + t.name + "' would get quantisation scale " +
                        value.str() +
                        "; the weights (or the activations they give on the calibration inputs) "
                        "are too large or too small to quantise to int8");
      }
}

}  // namespace

const char* builtin_operator_name(BuiltinOperator op) {
  switch (op) {
    case BuiltinOperator::kAdd: return "ADD";
    case BuiltinOperator::kAveragePool2d: return "AVERAGE_POOL_2D";
    case BuiltinOperator::kConv2d: return "CONV_2D";
    case BuiltinOperator::kDepthwiseConv2d: return "DEPTHWISE_CONV_2D";
    case BuiltinOperator::kSoftmax: return "SOFTMAX";
    case BuiltinOperator::kFullyConnected: return "FULLY_CONNECTED";
    case BuiltinOperator::kMul: return "MUL";
    case BuiltinOperator::kRelu: return "RELU";
    case BuiltinOperator::kPad: return "PAD";
    case BuiltinOperator::kMean: return "MEAN";
    case BuiltinOperator::kQuantize: return "QUANTIZE";
  }
  return "?";
}

// Conv2DOptions: padding, stride_w, stride_h, fused_activation_function, dilations (default 1).
BuiltinOptions conv2d_options(Padding padding, int stride_w, int stride_h, Activation act) {
  return {BuiltinOptionsType::kConv2dOptions,
          {byte_field(0, static_cast<int>(padding)), int_field(1, stride_w), int_field(2, stride_h),
           byte_field(3, static_cast<int>(act)), int_field(4, 1), int_field(5, 1)}};
}

// DepthwiseConv2DOptions: padding, stride_w, stride_h, depth_multiplier, activation, dilations.
BuiltinOptions depthwise_conv2d_options(Padding padding, int stride_w, int stride_h,
                                        int depth_multiplier, Activation act) {
  return {BuiltinOptionsType::kDepthwiseConv2dOptions,
          {byte_field(0, static_cast<int>(padding)), int_field(1, stride_w), int_field(2, stride_h),
           int_field(3, depth_multiplier), byte_field(4, static_cast<int>(act)), int_field(5, 1),
           int_field(6, 1)}};
}

// SoftmaxOptions: beta (its schema default is 0, which would flatten every output).
BuiltinOptions softmax_options(float beta) {
  ScalarField f;
  f.index = 0;
  f.is_float = true;
  f.real_value = beta;
  return {BuiltinOptionsType::kSoftmaxOptions, {f}};
}

// Pool2DOptions: padding, stride_w, stride_h, filter_width, filter_height, activation.
BuiltinOptions pool2d_options(Padding padding, int stride_w, int stride_h, int filter_w,
                              int filter_h, Activation act) {
  return {BuiltinOptionsType::kPool2dOptions,
          {byte_field(0, static_cast<int>(padding)), int_field(1, stride_w), int_field(2, stride_h),
           int_field(3, filter_w), int_field(4, filter_h), byte_field(5, static_cast<int>(act))}};
}

// FullyConnectedOptions: fused_activation_function (weights_format DEFAULT, keep_num_dims false).
BuiltinOptions fully_connected_options(Activation act) {
  return {BuiltinOptionsType::kFullyConnectedOptions, {byte_field(0, static_cast<int>(act))}};
}

// AddOptions: fused_activation_function (pot_scale_int16 keeps its default).
BuiltinOptions add_options(Activation act) {
  return {BuiltinOptionsType::kAddOptions, {byte_field(0, static_cast<int>(act))}};
}

BuiltinOptions mul_options(Activation act) {
  return {BuiltinOptionsType::kMulOptions, {byte_field(0, static_cast<int>(act))}};
}

BuiltinOptions reducer_options(bool keep_dims) {
  return {BuiltinOptionsType::kReducerOptions, {byte_field(0, keep_dims ? 1 : 0)}};
}

BuiltinOptions pad_options() { return {BuiltinOptionsType::kPadOptions, {}}; }
BuiltinOptions quantize_options() { return {BuiltinOptionsType::kQuantizeOptions, {}}; }

std::vector<std::uint8_t> int8_bytes(const std::vector<std::int8_t>& v) {
  std::vector<std::uint8_t> out(v.size());
  std::memcpy(out.data(), v.data(), v.size());
  return out;
}

std::vector<std::uint8_t> int32_bytes(const std::vector<std::int32_t>& v) {
  std::vector<std::uint8_t> out(v.size() * 4);
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::uint32_t u = static_cast<std::uint32_t>(v[i]);
    for (int b = 0; b < 4; ++b) out[4 * i + b] = static_cast<std::uint8_t>(u >> (8 * b));
  }
  return out;
}

Quantization per_tensor(const AffineQuant& q) {
  Quantization out;
  out.scale = {static_cast<float>(q.scale)};
  out.zero_point = {q.zero_point};
  return out;
}

// Scales as the file stores them (float32), so that biases match what the runtime reads.
AffineQuant as_stored(AffineQuant q) {
  q.scale = static_cast<float>(q.scale);
  return q;
}

int Model::opcode(BuiltinOperator op, int version) {
  for (std::size_t i = 0; i < operator_codes.size(); ++i)
    if (operator_codes[i].builtin == op) return static_cast<int>(i);
  operator_codes.push_back({op, version});
  return static_cast<int>(operator_codes.size()) - 1;
}

int Model::add_buffer(std::vector<std::uint8_t> data) {
  buffers.push_back(std::move(data));
  return static_cast<int>(buffers.size()) - 1;
}

int Model::add_tensor(Tensor tensor) {
  tensors.push_back(std::move(tensor));
  return static_cast<int>(tensors.size()) - 1;
}

std::vector<std::uint8_t> serialize(const Model& model) {
  if (model.buffers.empty() || !model.buffers[0].empty())
    throw Error(Status::kInternal, "TFLite model: buffer 0 must exist and be empty");
  check_scales(model);
  fb::FlatBufferBuilder b(1 << 20);
  // Buffers first: the builder writes back to front, so they land at the end of the file, after
  // the tables, as the TFLite converter lays them out.
  auto buffers = table_vector(b, model.buffers, write_buffer);
  auto tensors = table_vector(b, model.tensors, write_tensor);
  auto operators = table_vector(b, model.operators, write_operator);
  auto inputs = b.CreateVector(model.inputs);
  auto outputs = b.CreateVector(model.outputs);
  auto subgraph_name = b.CreateString(model.subgraph_name);
  fb::uoffset_t start = b.StartTable();
  b.AddOffset(slot(subgraph_field::kTensors), tensors);
  b.AddOffset(slot(subgraph_field::kInputs), inputs);
  b.AddOffset(slot(subgraph_field::kOutputs), outputs);
  b.AddOffset(slot(subgraph_field::kOperators), operators);
  b.AddOffset(slot(subgraph_field::kName), subgraph_name);
  std::vector<fb::Offset<void>> subgraph_list{fb::Offset<void>(b.EndTable(start))};
  auto subgraphs = b.CreateVector(subgraph_list);
  auto codes = table_vector(b, model.operator_codes, write_opcode);
  auto description = b.CreateString(model.description);
  start = b.StartTable();
  b.AddElement<std::uint32_t>(slot(model_field::kVersion), 3, 0);
  b.AddOffset(slot(model_field::kOperatorCodes), codes);
  b.AddOffset(slot(model_field::kSubgraphs), subgraphs);
  b.AddOffset(slot(model_field::kDescription), description);
  b.AddOffset(slot(model_field::kBuffers), buffers);
  b.Finish(fb::Offset<void>(b.EndTable(start)), "TFL3");
  return std::vector<std::uint8_t>(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
}

namespace {

// `text` as the inside of a one-line /* */ comment: control and non-ASCII bytes as \xNN, and
// `*/` and `/*` broken up by a backslash, so that no user text (a path holding a newline) can
// end the comment early or open a nested one (-Wcomment).
std::string comment_text(const std::string& text) {
  std::string out;
  char hex[8];
  for (std::size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c >= 0x7f) {
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
      const char next = i + 1 < text.size() ? text[i + 1] : '\0';
      if ((c == '*' && next == '/') || (c == '/' && next == '*')) out += '\\';
    }
  }
  return out;
}

}  // namespace

std::string c_array_source(const std::vector<std::uint8_t>& bytes, const std::string& name,
                           const std::string& comment) {
  std::string out = "/* " + comment_text(comment) + " */\n";
  // A namespace-scope const has internal linkage in C++; declared extern first, the definitions
  // are what the firmware's `extern const unsigned char g_model[];` links against.
  out += "extern const unsigned char " + name + "[];\n";
  out += "extern const unsigned int " + name + "_len;\n";
  out += "alignas(16) const unsigned char " + name + "[] = {";
  char hex[8];
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    out += i % 12 == 0 ? "\n    " : " ";
    std::snprintf(hex, sizeof hex, "0x%02x,", bytes[i]);
    out += hex;
  }
  out += "\n};\nconst unsigned int " + name + "_len = " + std::to_string(bytes.size()) + ";\n";
  return out;
}

}  // namespace micronas::tflite
