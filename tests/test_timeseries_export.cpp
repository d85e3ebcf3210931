// The time-series TFLite export without a runtime: the written flatbuffer's operators are
// lower_deployed's ops (the cost model's), the batch norm's DEPTHWISE_CONV_2D carries g and b
// exactly up to int8 rounding (per-channel, any sign), the deployed float network equals the
// training engine's inference forward pass, weights round-trip through .npy files, and bad input
// (shapes, non-finite or unquantisable weights) is refused with the path or reason, by the library
// and by `micronas export --space timeseries`.
#include <flatbuffers/flatbuffers.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "micronas/error.hpp"
#include "micronas/npy.hpp"
#include "micronas/random.hpp"
#include "micronas/timeseries_cost.hpp"
#include "micronas/timeseries_export.hpp"
#include "micronas/timeseries_training.hpp"
#include "tests/flatbuffer_fields.hpp"
#include "tests/test_util.hpp"

namespace micronas::timeseries {
namespace {

using test::slot;
using test::tables;
using test::Tables;
using test::vec;
namespace fb = flatbuffers;

const char* kArch = "tr:k5w8|tr:k5w16|sf:b16[3,5,7]w32r|sf:skip|sf:skip";

struct Fixture {
  Space space{100, 6, 4};
  Arch arch = space.parse(kArch);
  training::TrainingGraph net = exact_network(space, arch);
  LayerGraph graph = lower(space, arch);
  NetworkWeights weights = random_network_weights(net, 5);
  std::vector<float> windows;
  explicit Fixture(int n = 8) {
    Rng rng(9);
    windows.resize(static_cast<std::size_t>(n) * 100 * 6);
    for (float& v : windows) v = static_cast<float>(rng.normal());
  }
};

std::string temp_dir() {
  std::string path =
      (std::filesystem::temp_directory_path() / "micronas_ts_export_XXXXXX").string();
  if (!::mkdtemp(path.data())) throw std::runtime_error("mkdtemp failed");
  return path;
}

TEST(TimeseriesExport, DeployedFloatNetworkEqualsTheEngineInInferenceMode) {
  Fixture f;
  bool negative_gamma = false;
  for (const training::Node& n : f.net.nodes())
    if (n.kind == training::NodeKind::kBatchNorm)
      for (int c = 0; c < n.shape.c; ++c)
        negative_gamma |= f.weights.params[f.net.parameters()[n.weight].offset + c] < 0;
  EXPECT_TRUE(negative_gamma) << "the random weights should exercise a negative scale";
  const std::vector<double> ref = reference_probabilities(f.net, f.weights, f.windows.data(), 8);
  const std::vector<double> dep =
      deployed_probabilities(f.graph, f.net, f.weights, f.windows.data(), 8);
  ASSERT_EQ(ref.size(), 8u * 4);
  ASSERT_EQ(dep.size(), ref.size());
  for (std::size_t i = 0; i < ref.size(); ++i) EXPECT_NEAR(dep[i], ref[i], 1e-9) << i;
}

TEST(TimeseriesExport, OperatorsAreTheCostModelsOps) {
  Fixture f;
  const tflite::ExportedModel m =
      export_tflite(f.graph, f.net, f.weights, f.windows.data(), 8, "test");
  const CostEstimate cost = estimate_cost(mcu::load_target("stm32l552"), f.graph);
  const fb::Table* model = fb::GetRoot<fb::Table>(m.bytes.data());
  const Tables* codes = tables(model, 1);
  const fb::Table* sub = tables(model, 2)->Get(0);
  const Tables* ops = tables(sub, 3);
  const Tables* tensors = tables(sub, 0);
  ASSERT_EQ(ops->size(), cost.network.layers.size());
  // TFLite builtin codes: CONV_2D 3, DEPTHWISE_CONV_2D 4, ADD 0, MEAN 40, SOFTMAX 25.
  const std::map<mcu::DeployedOpKind, int> code = {{mcu::DeployedOpKind::kConv2d, 3},
                                                   {mcu::DeployedOpKind::kDepthwiseConv2d, 4},
                                                   {mcu::DeployedOpKind::kAdd, 0},
                                                   {mcu::DeployedOpKind::kMean, 40},
                                                   {mcu::DeployedOpKind::kSoftmax, 25}};
  for (unsigned i = 0; i < ops->size(); ++i) {
    const fb::Table* op = ops->Get(i);
    const fb::Table* oc = codes->Get(op->GetField<std::uint32_t>(slot(0), 0));
    const mcu::DeployedOp& want = cost.network.layers[i].op;
    EXPECT_EQ(oc->GetField<std::int32_t>(slot(3), 0), code.at(want.kind)) << i;
    const fb::Table* out = tensors->Get(vec<std::int32_t>(op, 2)->Get(0));
    const auto* shape = vec<std::int32_t>(out, 0);
    EXPECT_EQ(shape->Get(shape->size() - 1), want.output.c) << i;
    if (want.kind == mcu::DeployedOpKind::kDepthwiseConv2d) {
      // Weights [1, 1, 1, C] quantised along dimension 3, depth multiplier 1, no activation.
      const fb::Table* w = tensors->Get(vec<std::int32_t>(op, 1)->Get(1));
      const auto* ws = vec<std::int32_t>(w, 0);
      ASSERT_EQ(ws->size(), 4u);
      EXPECT_EQ(ws->Get(3), want.output.c);
      const fb::Table* q = w->GetPointer<const fb::Table*>(slot(4));
      EXPECT_EQ(q->GetField<std::int32_t>(slot(6), 0), 3);
      EXPECT_EQ(vec<float>(q, 2)->size(), static_cast<unsigned>(want.output.c));
      const fb::Table* options = op->GetPointer<const fb::Table*>(slot(4));
      EXPECT_EQ(op->GetField<std::uint8_t>(slot(3), 0), 2);  // DepthwiseConv2DOptions
      EXPECT_EQ(options->GetField<std::int32_t>(slot(3), 0), 1);
      EXPECT_EQ(options->GetField<std::int8_t>(slot(4), 0), 0);
    }
    if (want.kind == mcu::DeployedOpKind::kSoftmax) {
      const fb::Table* options = op->GetPointer<const fb::Table*>(slot(4));
      EXPECT_EQ(options->GetField<float>(slot(0), 0.0f), 1.0f);  // beta
    }
  }
  EXPECT_EQ(m.operator_counts.at("DEPTHWISE_CONV_2D"), 7);
  EXPECT_DOUBLE_EQ(m.output.scale, static_cast<float>(1.0 / 256));
  EXPECT_EQ(m.output.zero_point, -128);
}

TEST(TimeseriesExport, BatchNormWeightsRoundTripPerChannelOfAnySign) {
  // g = gamma / sqrt(var + eps) per channel, symmetric int8: each channel's scale is |g| / 127,
  // so g is stored as +-127 steps, exact up to the float scale.
  const std::vector<double> g = {1.7, -0.3, 0.0, -2.5e-3, 42.0};
  const tflite::ChannelQuant q = tflite::quantize_per_channel(g, 5);
  for (std::size_t c = 0; c < g.size(); ++c) {
    EXPECT_NEAR(q.values[c] * q.scales[c], g[c], 1e-7 * std::fabs(g[c])) << c;  // float32 scale
    if (g[c] != 0) {
      EXPECT_EQ(std::abs(q.values[c]), 127);
    }
  }
}

TEST(TimeseriesExport, WeightsRoundTripThroughNpyFilesAndRefuseOverwrites) {
  Fixture f;
  const std::string dir = temp_dir() + "/w";
  save_network_weights(f.net, f.weights, dir);
  const NetworkWeights back = load_network_weights(f.net, dir);
  EXPECT_EQ(back.params, f.weights.params);
  EXPECT_EQ(back.state, f.weights.state);
  EXPECT_TRUE(std::filesystem::exists(dir + "/tr1.conv_k5.weight.npy"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/sf1.branch7.bn.running_var.npy"));
  try {
    save_network_weights(f.net, f.weights, dir);
    FAIL() << "a non-empty directory must be refused";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::kIoError);
    EXPECT_NE(std::string(e.what()).find(dir), std::string::npos);
  }
  // A file of another shape names itself; a missing one too.
  const std::string other = temp_dir() + "/o";
  Space wide(100, 6, 4);
  const training::TrainingGraph net2 = exact_network(wide, wide.parse("tr:k5w4|tr:k5w16|"
                                                                      "sf:b16[3,5,7]w32r|sf:skip|"
                                                                      "sf:skip"));
  try {
    load_network_weights(net2, dir);
    FAIL() << "a shape mismatch must be refused";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("tr1.conv_k5.weight.npy"), std::string::npos);
  }
  std::filesystem::remove(dir + "/sf1.residual.bn.running_mean.npy");
  try {
    load_network_weights(f.net, dir);
    FAIL() << "a missing file must be refused";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::kIoError);
    EXPECT_NE(std::string(e.what()).find("sf1.residual.bn.running_mean.npy"), std::string::npos);
  }
  std::filesystem::remove_all(std::filesystem::path(dir).parent_path());
  std::filesystem::remove_all(std::filesystem::path(other).parent_path());
}

TEST(TimeseriesExport, RefusesNoCalibrationAndForeignWeights) {
  Fixture f;
  EXPECT_THROW(export_tflite(f.graph, f.net, f.weights, f.windows.data(), 0, "x"), Error);
  Space space(100, 6, 4);
  const Arch other = space.parse("tr:k3w4|tr:k3w4|sf:b8[3]w8|sf:skip|sf:skip");
  const training::TrainingGraph small = exact_network(space, other);
  try {
    export_tflite(f.graph, f.net, random_network_weights(small, 1), f.windows.data(), 8, "x");
    FAIL() << "weights of another network must be refused";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::kInvalidArgument);
  }
}

// The Error that load_network_weights(net, dir) throws (a test failure when it does not).
Error load_error(const training::TrainingGraph& net, const std::string& dir) {
  try {
    load_network_weights(net, dir);
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "load_network_weights accepted " << dir;
  return Error(Status::kOk, "");
}

// "[d0 - 1, d1 - 1, ...]": the index of a tensor's last element.
std::string last_index(const std::vector<int>& dims) {
  std::string s = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i] - 1);
  return s + "]";
}

TEST(TimeseriesExport, NonFiniteWeightsAreRefusedNamingFileAndElement) {
  Fixture f;
  const training::Parameter& p = f.net.parameters()[0];
  for (const auto& [value, said] : std::vector<std::pair<float, std::string>>{
           {std::nanf(""), "NaN"}, {std::numeric_limits<float>::infinity(), "Inf"}}) {
    NetworkWeights w = f.weights;
    w.params[p.offset + p.size - 1] = value;
    const std::string dir = temp_dir() + "/w";
    save_network_weights(f.net, w, dir);
    const Error e = load_error(f.net, dir);
    EXPECT_EQ(e.status(), Status::kInvalidArgument);
    EXPECT_NE(
        std::string(e.what()).find(p.name + ".npy: element " + last_index(p.dims) + " is " + said),
        std::string::npos)
        << e.what();
    std::filesystem::remove_all(std::filesystem::path(dir).parent_path());
  }
  // float64 files: a value beyond float32's range would become Inf.
  const std::string dir = temp_dir() + "/w";
  save_network_weights(f.net, f.weights, dir);
  std::vector<double> values(f.weights.params.begin() + p.offset,
                             f.weights.params.begin() + p.offset + p.size);
  values[0] = -1e39;
  std::filesystem::remove(dir + "/" + p.name + ".npy");
  write_npy(dir + "/" + p.name + ".npy", {p.dims.begin(), p.dims.end()}, values.data());
  EXPECT_NE(std::string(load_error(f.net, dir).what()).find("beyond float32's range"),
            std::string::npos);
  // And a running statistic, named by its file.
  std::filesystem::remove(dir + "/" + p.name + ".npy");
  write_npy(dir + "/" + p.name + ".npy", {p.dims.begin(), p.dims.end()},
            f.weights.params.data() + p.offset);
  const std::string var = dir + "/sf1.residual.bn.running_var.npy";
  const NpyArray stats = read_npy(var);
  std::vector<double> bad = stats.data;
  bad[2] = std::numeric_limits<double>::infinity();
  std::filesystem::remove(var);
  write_npy(var, stats.shape, bad.data());
  EXPECT_NE(std::string(load_error(f.net, dir).what())
                .find("sf1.residual.bn.running_var.npy: element [2] is Inf"),
            std::string::npos);
  std::filesystem::remove_all(std::filesystem::path(dir).parent_path());
}

TEST(TimeseriesExport, WeightsTooLargeToQuantiseAreRefused) {
  // Finite float32 weights whose scales overflow float32: TFLite refuses an infinite scale.
  Fixture f;
  NetworkWeights w = f.weights;
  std::fill(w.params.begin(), w.params.end(), 1e30f);
  try {
    export_tflite(f.graph, f.net, w, f.windows.data(), 8, "x");
    FAIL() << "weights of 1e30 must be refused";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::kNumericalError) << e.what();
  }
}

// ---- The `export --space timeseries` verb ----

// `micronas export kArch --space timeseries` (window 100x6, 4 classes) with `args`.
test::CliResult run_export(const std::string& args) {
  return test::run_cli(std::string("export '") + kArch +
                       "' --space timeseries --window 100x6 --classes 4 "
                       "--calibration-samples 2 " +
                       args);
}

TEST(TimeseriesExportCli, NonFiniteWeightIsOneErrorLineNamingTheFile) {
  Fixture f;
  NetworkWeights w = f.weights;
  const training::Parameter& p = f.net.parameters()[0];
  w.params[p.offset + p.size - 1] = std::nanf("");
  const std::string root = temp_dir(), model = root + "/m.tflite";
  save_network_weights(f.net, w, root + "/w");
  test::expect_error_line(run_export("--weights " + root + "/w --out " + model), 2,
                          p.name + ".npy: element " + last_index(p.dims) + " is NaN");
  EXPECT_FALSE(std::filesystem::exists(model));
  std::filesystem::remove_all(root);
}

TEST(TimeseriesExportCli, AFailedExportLeavesNoFileBehind) {
  const std::string root = temp_dir(), model = root + "/m.tflite";
  test::expect_error_line(run_export("--out " + model + " --c-array " + model), 5, "--c-array");
  EXPECT_FALSE(std::filesystem::exists(model));
  test::expect_error_line(run_export("--out " + model + " --c-array " + root + "/no/m.cc"), 5,
                          "--c-array");
  EXPECT_FALSE(std::filesystem::exists(model));
  const test::CliResult r = run_export("--out " + model + " --c-array " + root + "/m.cc");
  EXPECT_EQ(test::exit_status(r), 0) << r.output;
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace micronas::timeseries
