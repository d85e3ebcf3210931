// The TFLite writer (a model read back field by field, the C array source) and the export's
// quantisation arithmetic (scales, zero points, bias scaling, BN folding) against float
// references; weights files and the `export` verb's refusals.
#include <flatbuffers/flatbuffers.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "mcu/tflite/tflite_writer.hpp"
#include "micronas/error.hpp"
#include "micronas/mcu.hpp"
#include "micronas/network.hpp"
#include "micronas/npy.hpp"
#include "micronas/random.hpp"
#include "micronas/tflite_export.hpp"
#include "tests/flatbuffer_fields.hpp"
#include "tests/test_util.hpp"

namespace micronas::tflite {
namespace {

using test::slot;
using test::tables;
using test::Tables;
using test::vec;
namespace fb = flatbuffers;

TEST(TfliteWriter, ModelReadsBackFieldByField) {
  Model m;
  m.description = "test model";
  m.subgraph_name = "main";
  Tensor in;
  in.shape = {1, 4, 4, 2};
  in.name = "input";
  in.quantization.scale = {0.5f};
  in.quantization.zero_point = {-3};
  m.inputs = {m.add_tensor(in)};
  Tensor w;
  w.shape = {3, 1, 1, 2};
  w.name = "w";
  w.buffer = m.add_buffer({1, 2, 3, 4, 5, 6});
  w.quantization.scale = {0.1f, 0.2f, 0.3f};
  w.quantization.zero_point = {0, 0, 0};
  const int wi = m.add_tensor(w);
  Tensor out = in;
  out.shape = {1, 4, 4, 3};
  out.name = "out";
  m.outputs = {m.add_tensor(out)};
  Operator op;
  op.opcode_index = m.opcode(BuiltinOperator::kConv2d, 3);
  op.inputs = {0, wi, -1};
  op.outputs = {2};
  op.options = conv2d_options(Padding::kValid, 2, 1, Activation::kRelu);
  m.operators.push_back(op);
  Operator q;
  q.opcode_index = m.opcode(BuiltinOperator::kQuantize, 2);
  EXPECT_EQ(m.opcode(BuiltinOperator::kConv2d, 3), 0);  // reused
  q.inputs = {2};
  q.outputs = {2};
  q.options = quantize_options();
  m.operators.push_back(q);

  const std::vector<std::uint8_t> bytes = serialize(m);
  ASSERT_GT(bytes.size(), 8u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(bytes.data()) + 4, 4), "TFL3");
  const fb::Table* model = fb::GetRoot<fb::Table>(bytes.data());
  EXPECT_EQ(model->GetField<std::uint32_t>(slot(0), 0), 3u);  // version
  EXPECT_EQ(model->GetPointer<const fb::String*>(slot(3))->str(), "test model");

  const Tables* codes = tables(model, 1);
  ASSERT_EQ(codes->size(), 2u);
  EXPECT_EQ(codes->Get(0)->GetField<std::int8_t>(slot(0), 0), 3);    // deprecated code
  EXPECT_EQ(codes->Get(0)->GetField<std::int32_t>(slot(3), 0), 3);   // builtin_code
  EXPECT_EQ(codes->Get(0)->GetField<std::int32_t>(slot(2), 1), 3);   // version
  EXPECT_EQ(codes->Get(1)->GetField<std::int8_t>(slot(0), 0), 114);  // QUANTIZE fits int8
  EXPECT_EQ(codes->Get(1)->GetField<std::int32_t>(slot(3), 0), 114);

  const Tables* buffers = tables(model, 4);
  ASSERT_EQ(buffers->size(), 2u);
  EXPECT_EQ(buffers->Get(0)->GetPointer<const fb::Vector<std::uint8_t>*>(slot(0)), nullptr);
  const auto* data = buffers->Get(1)->GetPointer<const fb::Vector<std::uint8_t>*>(slot(0));
  ASSERT_NE(data, nullptr);
  EXPECT_EQ(std::vector<std::uint8_t>(data->begin(), data->end()),
            (std::vector<std::uint8_t>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ((data->Data() - bytes.data()) % 16, 0);  // force_align: 16

  const Tables* subgraphs = tables(model, 2);
  ASSERT_EQ(subgraphs->size(), 1u);
  const fb::Table* sg = subgraphs->Get(0);
  EXPECT_EQ(sg->GetPointer<const fb::String*>(slot(4))->str(), "main");
  EXPECT_EQ(vec<std::int32_t>(sg, 1)->Get(0), 0);
  EXPECT_EQ(vec<std::int32_t>(sg, 2)->Get(0), 2);
  const Tables* tensors = tables(sg, 0);
  ASSERT_EQ(tensors->size(), 3u);
  const fb::Table* wt = tensors->Get(1);
  EXPECT_EQ(wt->GetPointer<const fb::String*>(slot(3))->str(), "w");
  EXPECT_EQ(wt->GetField<std::int8_t>(slot(1), 0), 9);  // INT8
  EXPECT_EQ(wt->GetField<std::uint32_t>(slot(2), 0), 1u);
  const auto* shape = vec<std::int32_t>(wt, 0);
  EXPECT_EQ(std::vector<int>(shape->begin(), shape->end()), (std::vector<int>{3, 1, 1, 2}));
  const fb::Table* quant = wt->GetPointer<const fb::Table*>(slot(4));
  ASSERT_NE(quant, nullptr);
  const auto* scale = vec<float>(quant, 2);
  ASSERT_EQ(scale->size(), 3u);
  EXPECT_FLOAT_EQ(scale->Get(2), 0.3f);
  EXPECT_EQ(vec<std::int64_t>(quant, 3)->size(), 3u);
  const fb::Table* in_quant = tensors->Get(0)->GetPointer<const fb::Table*>(slot(4));
  EXPECT_EQ(vec<std::int64_t>(in_quant, 3)->Get(0), -3);

  const Tables* ops = tables(sg, 3);
  ASSERT_EQ(ops->size(), 2u);
  const fb::Table* conv = ops->Get(0);
  EXPECT_EQ(conv->GetField<std::uint32_t>(slot(0), 0), 0u);
  EXPECT_EQ(vec<std::int32_t>(conv, 1)->Get(2), -1);       // no bias
  EXPECT_EQ(conv->GetField<std::uint8_t>(slot(3), 0), 1);  // Conv2DOptions
  const fb::Table* opts = conv->GetPointer<const fb::Table*>(slot(4));
  EXPECT_EQ(opts->GetField<std::int8_t>(slot(0), 0), 1);           // VALID
  EXPECT_EQ(opts->GetField<std::int32_t>(slot(1), 0), 2);          // stride_w
  EXPECT_EQ(opts->GetField<std::int32_t>(slot(2), 0), 1);          // stride_h
  EXPECT_EQ(opts->GetField<std::int8_t>(slot(3), 0), 1);           // RELU
  EXPECT_EQ(ops->Get(1)->GetField<std::uint8_t>(slot(3), 0), 89);  // QuantizeOptions
}

TEST(TfliteWriter, BufferZeroMustBeEmpty) {
  Model m;
  m.buffers[0] = {1};
  EXPECT_THROW(serialize(m), Error);
}

TEST(TfliteWriter, CArrayHoldsTheBytes) {
  const std::string src = c_array_source({0x00, 0xff, 0x10}, "g_model", "a model");
  EXPECT_NE(src.find("alignas(16) const unsigned char g_model[] = {"), std::string::npos);
  EXPECT_NE(src.find("0x00, 0xff, 0x10,"), std::string::npos);
  EXPECT_NE(src.find("const unsigned int g_model_len = 3;"), std::string::npos);
}

TEST(TfliteWriter, CArrayHasExternalLinkage) {
  // A namespace-scope const has internal linkage in C++: without extern declarations the
  // firmware's `extern const unsigned char g_model[];` (TFLite Micro's model_data.h) cannot link.
  const std::string src = c_array_source({0x00, 0xff, 0x10}, "g_model", "a model");
  const std::size_t array = src.find("extern const unsigned char g_model[];");
  const std::size_t length = src.find("extern const unsigned int g_model_len;");
  ASSERT_NE(array, std::string::npos) << src;
  ASSERT_NE(length, std::string::npos) << src;
  EXPECT_LT(array, src.find("alignas(16) const unsigned char g_model[] = {"));
  EXPECT_LT(length, src.find("const unsigned int g_model_len = 3;"));
}

TEST(TfliteWriter, CArrayLinksFromAnotherTranslationUnit) {
  if (!std::filesystem::exists(MICRONAS_CXX)) GTEST_SKIP() << "no compiler at " << MICRONAS_CXX;
  const std::string dir = ::testing::TempDir() + "c_array_link_" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  // A comment that would break the file if copied in raw; warnings are errors.
  std::ofstream(dir + "/model_data.cc")
      << c_array_source({0x00, 0xff, 0x10}, "g_model", "m */ /* \n x \\");
  std::ofstream(dir + "/main.cc") << "extern const unsigned char g_model[];\n"
                                     "extern const unsigned int g_model_len;\n"
                                     "int main() { return g_model_len == 3 && g_model[1] == 0xff "
                                     "? 0 : 1; }\n";
  const test::CliResult r =
      test::run_shell(std::string("cd '") + dir + "' && '" + MICRONAS_CXX +
                      "' -std=c++17 -Wall -Wextra -Werror -o linked main.cc model_data.cc && "
                      "./linked");
  EXPECT_EQ(r.status, 0) << r.output;
  std::filesystem::remove_all(dir);
}

TEST(TfliteWriter, CArrayCommentIsOneInertLine) {
  // The comment carries user text (a calibration path): a newline, `*/` or a line-splicing
  // backslash in it must not end the comment and put the rest of the text into the code.
  const std::string text = "x\nint injected = 1; */ int b; /* \033[31m \\";
  const std::string src = c_array_source({1}, "g_model", text);
  const std::string first = src.substr(0, src.find('\n'));
  EXPECT_EQ(first.rfind("/* ", 0), 0u) << first;
  EXPECT_EQ(first.find("*/"), first.size() - 2) << first;
  EXPECT_EQ(first.find("/*", 1), std::string::npos) << first;  // no nested opening (-Wcomment)
  EXPECT_NE(first.find("injected"), std::string::npos) << first;
  EXPECT_EQ(src.find("injected", first.size()), std::string::npos) << src;
  for (char c : src) EXPECT_TRUE(c == '\n' || (c >= 0x20 && c < 0x7f)) << static_cast<int>(c);
}

TEST(TfliteQuant, ActivationScaleAndZeroPoint) {
  AffineQuant q = activation_quant(-1.0, 3.0);
  EXPECT_DOUBLE_EQ(q.scale, 4.0 / 255);
  EXPECT_EQ(q.zero_point, -64);                     // round(-128 + 1 / (4/255)) = round(-64.25)
  EXPECT_EQ(quantize_value(0.0, q), q.zero_point);  // zero is exact
  EXPECT_EQ(quantize_value(3.0, q), 127);
  EXPECT_EQ(quantize_value(-1.0, q), -128 + 0);  // -1/scale - 64 = -127.75 -> -128
  q = activation_quant(0.5, 2.0);                // the range is widened to hold 0
  EXPECT_DOUBLE_EQ(q.scale, 2.0 / 255);
  EXPECT_EQ(q.zero_point, -128);
  q = activation_quant(-2.0, -1.0);
  EXPECT_DOUBLE_EQ(q.scale, 2.0 / 255);
  EXPECT_EQ(q.zero_point, 127);
  q = activation_quant(0.0, 0.0);
  EXPECT_GT(q.scale, 0.0);
  EXPECT_EQ(quantize_value(0.0, q), q.zero_point);
  EXPECT_EQ(quantize_value(1e9, activation_quant(-1, 1)), 127);  // saturates
}

TEST(TfliteQuant, PerChannelSymmetricWeights) {
  const std::vector<double> w = {0.5, -1.0, 0.25, /**/ 0.0, 0.0, 0.0, /**/ 0.01, 0.02, -0.03};
  const ChannelQuant q = quantize_per_channel(w, 3);
  ASSERT_EQ(q.scales.size(), 3u);
  EXPECT_NEAR(q.scales[0], 1.0 / 127, 1e-9);
  EXPECT_EQ(q.scales[1], 1.0);  // all-zero channel
  EXPECT_NEAR(q.scales[2], 0.03 / 127, 1e-9);
  EXPECT_EQ(q.values[1], -127);
  EXPECT_EQ(q.values[0], 64);  // 63.5 rounds away from zero
  EXPECT_EQ(q.values[8], -127);
  EXPECT_EQ(q.values[3], 0);
  for (std::size_t i = 0; i < w.size(); ++i)
    EXPECT_NEAR(q.values[i] * q.scales[i / 3], w[i], q.scales[i / 3] / 2 + 1e-12);
}

TEST(TfliteQuant, BiasScaleIsInputTimesWeightScale) {
  const std::vector<std::int32_t> b = quantize_bias({1.0, -0.5}, 0.02, {0.001, 0.004});
  EXPECT_EQ(b[0], 50000);                                    // 1 / (0.02 * 0.001)
  EXPECT_EQ(b[1], -6250);                                    // -0.5 / (0.02 * 0.004)
  EXPECT_EQ(quantize_bias({1.0, 2.0}, 0.5, {0.25})[1], 16);  // one scale for all channels
}

TEST(TfliteQuant, FoldedBatchNormEqualsConvThenBatchNorm) {
  Rng rng(7);
  const int co = 3, per = 5;
  std::vector<double> w(co * per), x(per), gamma(co), beta(co), mean(co), var(co);
  for (double& v : w) v = rng.normal();
  for (double& v : x) v = rng.normal();
  for (int c = 0; c < co; ++c) {
    gamma[c] = rng.uniform(0.5, 2);
    beta[c] = rng.normal();
    mean[c] = rng.normal();
    var[c] = rng.uniform(0.1, 3);
  }
  const FoldedConv f = fold_batch_norm(w, co, gamma, beta, mean, var);
  for (int c = 0; c < co; ++c) {
    double conv = 0, folded = f.bias[c];
    for (int i = 0; i < per; ++i) {
      conv += w[c * per + i] * x[i];
      folded += f.weight[c * per + i] * x[i];
    }
    const double bn = (conv - mean[c]) / std::sqrt(var[c] + 1e-5) * gamma[c] + beta[c];
    EXPECT_NEAR(folded, bn, 1e-12);
  }
}

// A small NB201 network (C=4, N=1) with random weights and running statistics.
Graph small_graph(const std::string& arch) {
  NetworkConfig c = NetworkConfig::nb201(Dataset::kCifar10);
  c.channels = 4;
  c.cells_per_stage = 1;
  return build_graph(c, Arch::parse(arch));
}

Weights random_stats(const Graph& g, std::uint64_t seed) {
  Weights w = random_weights(g, seed);
  Rng rng(seed + 1);
  for (const Layer& l : g.layers) {
    if (l.kind != LayerKind::kBatchNorm) continue;
    const Parameter& p = g.params[l.weight];
    const std::string prefix = p.name.substr(0, p.name.rfind('.'));
    std::vector<double> mean(p.size), var(p.size);
    for (auto& v : mean) v = 0.3 * rng.normal();
    for (auto& v : var) v = rng.uniform(0.2, 2.0);
    w.stats.mean[prefix] = mean;
    w.stats.var[prefix] = var;
    for (std::int64_t i = 0; i < p.size; ++i) w.params[p.offset + i] = rng.uniform(0.5, 1.5);
  }
  return w;
}

ImageBatch random_images(int n, std::uint64_t seed) {
  ImageBatch b;
  b.n = n;
  b.c = 3;
  b.h = b.w = 32;
  Rng rng(seed);
  b.data.resize(static_cast<std::size_t>(n) * 3 * 32 * 32);
  for (float& v : b.data) v = static_cast<float>(rng.normal());
  return b;
}

TEST(TfliteExport, FoldedDeployedNetworkEqualsInferenceGraph) {
  for (const char* arch : {"|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|"
                           "nor_conv_3x3~1|nor_conv_1x1~2|",
                           "|none~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|nor_conv_3x3~1|"
                           "none~2|"}) {
    const Graph g = small_graph(arch);
    const Weights w = random_stats(g, 3);
    const ImageBatch x = random_images(2, 5);
    const std::vector<double> ref = inference_forward(g, w, x.data.data(), x.n);
    const std::vector<double> dep = deployed_forward(g, w, x.data.data(), x.n);
    ASSERT_EQ(ref.size(), dep.size());
    double scale = 0;
    for (double v : ref) scale = std::max(scale, std::fabs(v));
    ASSERT_GT(scale, 0);
    for (std::size_t i = 0; i < ref.size(); ++i) EXPECT_NEAR(dep[i], ref[i], 1e-9 * scale) << arch;
  }
}

TEST(TfliteExport, OperatorsAreTheCostModelsLayers) {
  const Arch arch = Arch::parse(
      "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|none~2|");
  const Graph g = build_graph(NetworkConfig::nb201(Dataset::kCifar10), arch);
  const ExportedModel m = export_model(g, random_weights(g, 1), random_images(2, 9), "t");
  const mcu::NetworkEstimate est =
      mcu::estimate_graph(mcu::load_target("stm32f746"), g, mcu::EstimateOptions{});
  std::map<std::string, int> expected;
  for (const auto& l : est.layers) ++expected[mcu::deployed_op_name(l.op.kind)];
  EXPECT_EQ(m.operator_counts, expected);
  EXPECT_EQ(m.num_operators, static_cast<int>(est.layers.size()));
  EXPECT_EQ(m.pad_operators, 2);  // the two reductions' stride-2 convs
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(m.bytes.data()) + 4, 4), "TFL3");
}

// Every parameter as <name>.npy of its own shape, what a PyTorch state dict gives.
void write_params(const Graph& g, const Weights& w, const std::string& dir) {
  for (const Parameter& p : g.params)
    write_npy(dir + "/" + p.name + ".npy", {p.shape.begin(), p.shape.end()},
              w.params.data() + p.offset);
}

// A new directory under the test's scratch folder.
std::string new_dir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + name + "_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// The Error that load_weights(g, dir) throws (a test failure when it does not).
Error load_error(const Graph& g, const std::string& dir) {
  try {
    load_weights(g, dir);
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "load_weights accepted " << dir;
  return Error(Status::kOk, "");
}

TEST(TfliteExport, WeightsAndStatisticsLoadFromNpyFiles) {
  const Graph g = small_graph(
      "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|"
      "nor_conv_1x1~1|none~2|");
  const Weights w = random_stats(g, 11);
  const std::string dir = ::testing::TempDir() + "tflite_weights_" + std::to_string(::getpid());
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
  write_params(g, w, dir);
  // Statistics for one BN only: the others take mean 0, variance 1.
  const auto& [prefix, mean] = *w.stats.mean.begin();
  write_npy(dir + "/" + prefix + ".running_mean.npy", {static_cast<std::int64_t>(mean.size())},
            mean.data());
  const std::vector<double>& var = w.stats.var.at(prefix);
  write_npy(dir + "/" + prefix + ".running_var.npy", {static_cast<std::int64_t>(var.size())},
            var.data());
  int loaded = -1;
  const Weights back = load_weights(g, dir, &loaded);
  EXPECT_EQ(back.params, w.params);
  EXPECT_EQ(loaded, 1);
  EXPECT_EQ(back.stats.mean.at(prefix), mean);
  EXPECT_EQ(back.stats.var.at(prefix), var);
  EXPECT_EQ(back.stats.mean.size(), 1u);
  std::remove((dir + "/" + g.params[0].name + ".npy").c_str());
  try {
    load_weights(g, dir);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::kIoError);
    EXPECT_NE(std::string(e.what()).find(g.params[0].name), std::string::npos);
  }
}

TEST(TfliteExport, WeightFilesMustHaveTheParametersShape) {
  const Graph g = small_graph(
      "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|"
      "nor_conv_1x1~1|none~2|");
  const Weights w = random_stats(g, 12);
  const std::string dir = new_dir("tflite_shapes");
  write_params(g, w, dir);
  const Parameter& stem = g.params[0];  // stem.0.weight [C, 3, 3, 3]
  ASSERT_EQ(stem.shape.size(), 4u);
  const std::string path = dir + "/" + stem.name + ".npy";
  // The same number of values, flattened or transposed, is another tensor.
  for (const std::vector<std::int64_t>& shape :
       {std::vector<std::int64_t>{stem.shape[0], 27},
        std::vector<std::int64_t>{3, 3, 3, stem.shape[0]}, std::vector<std::int64_t>{stem.size}}) {
    std::filesystem::remove(path);
    write_npy(path, shape, w.params.data() + stem.offset);
    const Error e = load_error(g, dir);
    EXPECT_EQ(e.status(), Status::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find(stem.name + ".npy: shape"), std::string::npos) << e.what();
  }
  std::filesystem::remove(path);
  write_params(g, w, dir);  // only the missing one is written again
  load_weights(g, dir);
  // Running statistics are [C] too.
  const auto& [prefix, mean] = *w.stats.mean.begin();
  write_npy(dir + "/" + prefix + ".running_mean.npy", {1, static_cast<std::int64_t>(mean.size())},
            mean.data());
  const Error e = load_error(g, dir);
  EXPECT_NE(std::string(e.what()).find(prefix + ".running_mean.npy: shape"), std::string::npos)
      << e.what();
  std::filesystem::remove_all(dir);
}

TEST(TfliteExport, NonFiniteWeightsAreRefusedNamingTheElement) {
  const Graph g = small_graph(
      "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|"
      "nor_conv_1x1~1|none~2|");
  const Weights w = random_stats(g, 13);
  const Parameter& stem = g.params[0];  // [C, 3, 3, 3]: element 1 * 27 + 2 * 9 + 1 * 3 + 2
  const std::string dir = new_dir("tflite_nonfinite");
  for (const auto& [value, said] : std::vector<std::pair<double, std::string>>{
           {std::nan(""), "NaN"},
           {std::numeric_limits<double>::infinity(), "Inf"},
           {-std::numeric_limits<double>::infinity(), "Inf"},
           {1e39, "1e+39, beyond float32's range"}}) {
    write_params(g, w, dir);
    std::vector<double> values(w.params.begin() + stem.offset,
                               w.params.begin() + stem.offset + stem.size);
    values[1 * 27 + 2 * 9 + 1 * 3 + 2] = value;
    write_npy(dir + "/" + stem.name + ".npy", {stem.shape.begin(), stem.shape.end()},
              values.data());
    const Error e = load_error(g, dir);
    EXPECT_EQ(e.status(), Status::kInvalidArgument);
    const std::string what = e.what();
    EXPECT_NE(what.find(stem.name + ".npy: element [1, 2, 1, 2] is " + said), std::string::npos)
        << what;
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  // A batch norm's running mean too.
  write_params(g, w, dir);
  const auto& [prefix, mean] = *w.stats.mean.begin();
  std::vector<double> bad = mean;
  bad[1] = std::nan("");
  write_npy(dir + "/" + prefix + ".running_mean.npy", {static_cast<std::int64_t>(bad.size())},
            bad.data());
  const Error e = load_error(g, dir);
  EXPECT_NE(std::string(e.what()).find(prefix + ".running_mean.npy: element [1] is NaN"),
            std::string::npos)
      << e.what();
  std::filesystem::remove_all(dir);
}

TEST(TfliteExport, WeightsTooLargeOrSmallToQuantiseAreRefused) {
  // Finite float32 weights whose products overflow float32 scales (or underflow them to 0): TFLite
  // refuses a model with an infinite or zero scale, so the export does.
  const Graph g = small_graph(
      "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|"
      "nor_conv_1x1~1|none~2|");
  for (double value : {1e30, 1e-44}) {
    Weights w = random_weights(g, 3);
    std::fill(w.params.begin(), w.params.end(), value);
    try {
      export_model(g, w, random_images(2, 9), "t");
      ADD_FAILURE() << "weights of " << value << " must be refused";
    } catch (const Error& e) {
      EXPECT_EQ(e.status(), Status::kNumericalError) << e.what();
      EXPECT_NE(std::string(e.what()).find("quantis"), std::string::npos) << e.what();
    }
  }
}

TEST(TfliteExport, RunningStatsMakeInferenceEqualTrainingMode) {
  // With the batch statistics as running statistics, inference mode on that batch is the
  // training-mode forward pass.
  const Graph g = small_graph(
      "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|"
      "nor_conv_1x1~1|skip_connect~2|");
  Weights w = random_weights(g, 4);
  const ImageBatch x = random_images(4, 8);
  estimate_running_stats(g, w, x);
  Network<double> net(g);
  std::copy(w.params.begin(), w.params.end(), net.params());
  const std::vector<double> in(x.data.begin(), x.data.end());
  const std::vector<double> train = net.forward(in.data(), x.n);
  const std::vector<double> infer = inference_forward(g, w, x.data.data(), x.n);
  ASSERT_EQ(train.size(), infer.size());
  for (std::size_t i = 0; i < train.size(); ++i) EXPECT_NEAR(infer[i], train[i], 1e-9);
}

TEST(TfliteExport, MixedEdgesAreRefused) {
  const Graph g = small_graph(
      "|nor_conv_3x3/skip_connect~0|+|skip_connect~0|none~1|+|"
      "skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|");
  try {
    export_model(g, random_weights(g, 1), random_images(1, 2), "t");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::kUnsupported);
    EXPECT_NE(std::string(e.what()).find("mixed edge"), std::string::npos);
  }
}

TEST(TfliteExport, CalibrationMustFitTheInput) {
  const Graph g = small_graph(
      "|skip_connect~0|+|skip_connect~0|none~1|+|skip_connect~0|none~1|"
      "none~2|");
  ImageBatch x = random_images(1, 2);
  x.h = 16;
  EXPECT_THROW(export_model(g, random_weights(g, 1), x, "t"), Error);
}

// ---- The `export` verb ----

const char* kCell =
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
    "nor_conv_3x3~2|";

// `micronas export kCell` with two calibration images and `args`.
test::CliResult run_export(const std::string& args) {
  return test::run_cli(std::string("export '") + kCell + "' --calibration-samples 2 " + args);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(ExportCli, NonFiniteWeightIsOneErrorLineNamingFileAndElement) {
  const Graph g = build_graph(NetworkConfig::nb201(Dataset::kCifar10), Arch::parse(kCell));
  Weights w = random_weights(g, 1);
  ASSERT_EQ(g.params[0].name, "stem.0.weight");
  w.params[g.params[0].offset + 5] = std::nan("");  // [16, 3, 3, 3]: element [0, 0, 1, 2]
  const std::string dir = new_dir("export_nonfinite");
  write_params(g, w, dir);
  const std::string model = dir + "/m.tflite";
  test::expect_error_line(run_export("--weights " + dir + " --out " + model), 2,
                          "stem.0.weight.npy: element [0, 0, 1, 2] is NaN");
  EXPECT_FALSE(std::filesystem::exists(model));
  std::filesystem::remove_all(dir);
}

TEST(ExportCli, TooFewInputImagesNameTheOptionThatAskedForThem) {
  const std::string dir = new_dir("export_few_images");
  const std::vector<float> images(3 * 3 * 32 * 32, 0.5f);
  write_npy(dir + "/three.npy", {3, 3, 32, 32}, images.data());
  const std::string base = std::string("export '") + kCell + "' --calibration npy:" + dir +
                           "/three.npy --out " + dir + "/m.tflite ";
  test::expect_error_line(test::run_cli(base + "--calibration-samples 4"), 2,
                          "--calibration-samples 4: ");
  test::expect_error_line(test::run_cli(base + "--calibration-samples 2 --reference " + dir +
                                        "/ref --reference-samples 9"),
                          2, "--reference-samples 9: ");
  EXPECT_FALSE(std::filesystem::exists(dir + "/m.tflite"));
  std::filesystem::remove_all(dir);
}

TEST(ExportCli, AFailedExportLeavesNoFileBehind) {
  const std::string dir = new_dir("export_clash");
  const std::string model = dir + "/m.tflite", ref = dir + "/ref";
  // The C array onto the model's own path, or into a missing directory: refused, and the model
  // (and the reference directory) are not left behind to make the next run fail too.
  test::expect_error_line(run_export("--out " + model + " --c-array " + model), 5, "--c-array");
  EXPECT_FALSE(std::filesystem::exists(model));
  test::expect_error_line(run_export("--out " + model + " --reference " + ref +
                                     " --reference-samples 1 --c-array " + dir + "/no/m.cc"),
                          5, "--c-array");
  EXPECT_FALSE(std::filesystem::exists(model));
  EXPECT_FALSE(std::filesystem::exists(ref));
  const test::CliResult r = run_export("--out " + model + " --c-array " + dir + "/m.cc");
  EXPECT_EQ(test::exit_status(r), 0) << r.output;
  EXPECT_TRUE(std::filesystem::exists(model));
  std::filesystem::remove_all(dir);
}

TEST(ExportCli, UserTextStaysInsideTheCArraysComment) {
  // The calibration path is in the comment; a newline in it must not start a line of code.
  const std::string dir = new_dir("export_comment");
  const std::string images = dir + "/cal\nint injected = 1;\n.npy";
  write_npy(images, {2, 3, 32, 32}, random_images(2, 1).data.data());
  const test::CliResult r = run_export("--out " + dir + "/m.tflite --c-array " + dir +
                                       "/m.cc --calibration 'npy:" + images + "'");
  ASSERT_EQ(test::exit_status(r), 0) << r.output;
  const std::string src = read_text(dir + "/m.cc");
  EXPECT_NE(src.find("injected"), std::string::npos) << src.substr(0, 300);
  EXPECT_EQ(src.find("\nint injected"), std::string::npos) << src.substr(0, 300);
  EXPECT_LT(src.find("injected"), src.find('\n'));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace micronas::tflite
