// Per-op validation of the cost model against the boards' measurements
// (shared/data/mcu/measured_ops_cmsis_tflm.csv): cycle MAPE per board and op family on the rows
// used for fitting and on held-out rows, and TFLM arena bytes.
//
// Split (the same as mcu/scripts/fit_profiles.py): within each (device, op family) group, rows
// with an even ordinal were used to fit the instruction forms and CPIs; odd ordinals are held out.
// The bound is the 5 % MAPE for every (board, family, split) that has rows. The L552 has
// a single global_average_pooling2d row, which falls in the fit half: it has no held-out pool row.
// SOFTMAX (2 rows on the F446RE, 1 on the L552) is fitted on every row, so all its rows are FIT.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "micronas/error.hpp"
#include "micronas/mcu.hpp"
#include "tests/test_util.hpp"

namespace micronas::mcu {
namespace {

struct Errors {
  double sum = 0;
  int n = 0;
  double mape() const { return n ? sum / n : 0; }
};

std::string group_of(const MeasuredOp& r) {
  if (r.op == "conv2d") return "conv";
  if (r.op == "add") return "add";
  if (r.op == "softmax") return "softmax";
  return "pool";
}

// (fit errors, held-out errors) per op group for one board.
std::map<std::string, std::pair<Errors, Errors>> board_errors(const std::string& target_name) {
  TargetProfile target = load_target(target_name);
  std::vector<MeasuredOp> all =
      read_measured_ops(test::data_path("mcu/measured_ops_cmsis_tflm.csv"));
  std::map<std::string, int> ordinal;
  std::map<std::string, std::pair<Errors, Errors>> out;
  for (const MeasuredOp& r : all) {
    if (!r.supported || r.device != target.measured_device) continue;
    const bool fit = ordinal[group_of(r)]++ % 2 == 0 || group_of(r) == "softmax";
    OpPrediction p = predict_measured(target, r);
    double err = std::fabs(static_cast<double>(p.kernel_cycles) / r.kernel_cycles - 1.0) * 100;
    Errors& e = fit ? out[group_of(r)].first : out[group_of(r)].second;
    e.sum += err;
    ++e.n;
  }
  return out;
}

void expect_board_mape(const std::string& target_name, double bound_pct) {
  auto errors = board_errors(target_name);
  ASSERT_TRUE(errors.count("conv") && errors.count("add") && errors.count("pool") &&
              errors.count("softmax"));
  for (const auto& [group, e] : errors) {
    std::printf("%s %-5s fit MAPE %.2f%% (%d rows)  held-out MAPE %.2f%% (%d rows)\n",
                target_name.c_str(), group.c_str(), e.first.mape(), e.first.n, e.second.mape(),
                e.second.n);
    EXPECT_GT(e.first.n, 0);
    EXPECT_LE(e.first.mape(), bound_pct) << target_name << " " << group << " fit rows";
    if (e.second.n > 0) {
      EXPECT_LE(e.second.mape(), bound_pct) << target_name << " " << group << " held-out rows";
    }
  }
}

TEST(McuOps, F446reCycleMapeWithin5PercentFitAndHeldOut) {
  MICRONAS_REQUIRE_DATA("mcu/measured_ops_cmsis_tflm.csv");
  expect_board_mape("stm32f446re", 5.0);
}

TEST(McuOps, L552CycleMapeWithin5PercentFitAndHeldOut) {
  MICRONAS_REQUIRE_DATA("mcu/measured_ops_cmsis_tflm.csv");
  expect_board_mape("stm32l552", 5.0);
}

TEST(McuOps, ArenaBytesWithin2PercentOr256Bytes) {
  MICRONAS_REQUIRE_DATA("mcu/measured_ops_cmsis_tflm.csv");

  std::vector<MeasuredOp> all =
      read_measured_ops(test::data_path("mcu/measured_ops_cmsis_tflm.csv"));
  TargetProfile target = load_target("stm32f446re");
  int checked = 0;
  double max_abs = 0, sum_rel = 0;
  for (const MeasuredOp& r : all) {
    if (!r.supported || r.arena_bytes < 0) continue;
    std::int64_t predicted = predict_measured(target, r).arena_bytes;
    double diff = std::fabs(static_cast<double>(predicted - r.arena_bytes));
    EXPECT_TRUE(diff <= 256 || diff <= 0.02 * r.arena_bytes)
        << "line " << r.line << ": predicted " << predicted << " measured " << r.arena_bytes;
    max_abs = std::max(max_abs, diff);
    sum_rel += diff / r.arena_bytes;
    ++checked;
  }
  std::printf("arena: %d rows, max |error| %.0f bytes, mean relative error %.4f%%\n", checked,
              max_abs, 100 * sum_rel / checked);
  EXPECT_GT(checked, 1900);
}

TEST(McuOps, CalibrateRecoversTheFittedCpi) {
  MICRONAS_REQUIRE_DATA("mcu/measured_ops_cmsis_tflm.csv");

  // Calibrating the L552 profile on its own rows must give CPIs near the profile's (the profile
  // used only the fit half, so they differ slightly).
  TargetProfile base = load_target("stm32l552");
  std::vector<MeasuredOp> rows =
      rows_for_target(base, read_measured_ops(test::data_path("mcu/measured_ops_cmsis_tflm.csv")));
  TargetProfile cal = calibrate(base, rows, "l552-cal");
  for (CostFamily f : {CostFamily::kConvIm2col, CostFamily::kConv1x1, CostFamily::kAdd}) {
    const int i = static_cast<int>(f);
    EXPECT_NEAR(cal.cpi[i], base.cpi[i], 0.02 * base.cpi[i]) << cost_family_name(f);
  }
  // The written profile loads back with the same numbers.
  TargetProfile back = parse_target_json(cal.to_json(), "roundtrip");
  EXPECT_EQ(back.name, "l552-cal");
  for (int i = 0; i < kNumCostFamilies; ++i) EXPECT_DOUBLE_EQ(back.cpi[i], cal.cpi[i]);
}

TEST(McuOps, BuiltinTargetsLoadAndUnknownIsAnError) {
  for (const std::string& name : builtin_target_names()) EXPECT_EQ(load_target(name).name, name);
  EXPECT_EQ(builtin_target_names().front(), "stm32f746");
  EXPECT_THROW(load_target("stm32nope"), Error);
  EXPECT_THROW(parse_target_json("{\"name\": \"x\"", "truncated"), Error);
  EXPECT_THROW(parse_target_json("{\"name\": \"x\", \"core\": \"m4\"}", "partial"), Error);
}

// A profile whose fields have the wrong JSON types is refused as malformed (kIoError, naming the
// field), never with the JSON library's own exception (a fuzzer found feature names that were
// numbers).
TEST(McuOps, ProfilesWithFieldsOfTheWrongTypeAreRefusedByName) {
  const nlohmann::json good = nlohmann::json::parse(load_target("stm32f746").to_json());
  const std::vector<std::pair<std::string, nlohmann::json>> cases = {
      {"/instruction_models/conv_im2col/features", nlohmann::json::array({1, 2})},
      {"/description", 5},
      {"/measured_device", nlohmann::json::array()},
      {"/flash/per_op_bytes", "147"},
      {"/flash/per_constant_tensor_bytes", -1},
      {"/flash/per_op_kind_bytes/ADD", nullptr},
  };
  for (const auto& [pointer, value] : cases) {
    nlohmann::json bad = good;
    bad[nlohmann::json::json_pointer(pointer)] = value;
    const std::string field = pointer.substr(pointer.rfind('/') + 1);
    try {
      parse_target_json(bad.dump(), "bad.json");
      ADD_FAILURE() << pointer << " = " << value.dump() << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.status(), Status::kIoError) << e.what();
      const std::string what = e.what();
      EXPECT_NE(what.find("bad.json"), std::string::npos) << what;
      EXPECT_NE(what.find(field), std::string::npos) << what;
      EXPECT_EQ(what.find("json.exception"), std::string::npos) << what;
    }
  }
}

// Flatbuffer bytes per op kind: the built-in targets list every kind the exporter writes, a
// one-conv model still adds up to the converter's measured one-conv file (weights + per-channel
// data + 1309 B), and a profile without a kind prices it with per_op_bytes.
TEST(McuOps, FlashBytesPerOpKind) {
  for (const std::string& name : builtin_target_names()) {
    const TargetProfile t = load_target(name);
    EXPECT_EQ(
        std::llround(t.flash_model_overhead_bytes + t.flash_op_bytes(DeployedOpKind::kConv2d) +
                     2 * t.flash_per_constant_tensor_bytes),
        1309)
        << name;
    for (DeployedOpKind k :
         {DeployedOpKind::kConv2d, DeployedOpKind::kDepthwiseConv2d, DeployedOpKind::kAdd,
          DeployedOpKind::kMul, DeployedOpKind::kRelu, DeployedOpKind::kAveragePool2d,
          DeployedOpKind::kMean, DeployedOpKind::kSoftmax, DeployedOpKind::kPad,
          DeployedOpKind::kFullyConnected})
      EXPECT_TRUE(t.flash_per_op_kind_bytes[static_cast<int>(k)].has_value())
          << name << " " << deployed_op_name(k);
  }
  const TargetProfile t = load_target("stm32l552");
  DeployedOp relu;
  relu.kind = DeployedOpKind::kRelu;
  relu.input = relu.output = Shape{8, 4, 4};
  EXPECT_EQ(op_cost(t, relu, Runtime::kTflm).flash_bytes,
            std::llround(*t.flash_per_op_kind_bytes[static_cast<int>(DeployedOpKind::kRelu)]));

  // Written and read back: the same bytes per kind.
  const TargetProfile back = parse_target_json(t.to_json(), "roundtrip");
  for (int k = 0; k < kNumDeployedOpKinds; ++k)
    EXPECT_EQ(back.flash_per_op_kind_bytes[k], t.flash_per_op_kind_bytes[k]) << k;

  // A kind the profile does not list takes per_op_bytes; an unknown kind is an error.
  std::string json = t.to_json();
  const std::size_t at = json.find("\"RELU\"");
  ASSERT_NE(at, std::string::npos);
  std::string renamed = json;
  renamed.replace(at, 6, "\"NOPE\"");
  EXPECT_THROW(parse_target_json(renamed, "unknown kind"), Error);
  TargetProfile partial = t;
  partial.flash_per_op_kind_bytes[static_cast<int>(DeployedOpKind::kRelu)].reset();
  const TargetProfile fallback = parse_target_json(partial.to_json(), "partial");
  EXPECT_FALSE(fallback.flash_per_op_kind_bytes[static_cast<int>(DeployedOpKind::kRelu)]);
  EXPECT_EQ(op_cost(fallback, relu, Runtime::kTflm).flash_bytes,
            std::llround(t.flash_per_op_bytes));
}

// The 1x1 depthwise conv (a per-channel affine: the time-series networks' batch norm after the
// ReLU) is derived from CMSIS-NN's source, not measured: its cost follows the form in every
// built-in target, its arena and flash terms are those the kernel and the file need, and other
// depthwise shapes, which take other kernels, are refused.
TEST(McuOps, DepthwiseOneByOneFollowsItsDerivedForm) {
  DeployedOp op;
  op.kind = DeployedOpKind::kDepthwiseConv2d;
  op.input = op.output = Shape{18, 32, 5};  // 18 channels: 2 beyond the last group of 4
  op.constant_inputs = 2;
  for (const std::string& name : builtin_target_names()) {
    const TargetProfile t = load_target(name);
    const OpCost c = op_cost(t, op, Runtime::kCodegen);
    EXPECT_EQ(c.family, CostFamily::kDepthwise1x1);
    const std::vector<double>& k =
        t.instructions[static_cast<int>(CostFamily::kDepthwise1x1)].coefficients;
    ASSERT_EQ(k.size(), 4u);
    const double pixels = 32.0 * 5;
    const double insn = k[0] * 18 * pixels + k[1] * pixels + k[2] * pixels * 2 + k[3];
    EXPECT_NEAR(c.instructions, insn, 1e-9 * insn) << name;
    EXPECT_EQ(c.cycles,
              std::llround(t.cpi[static_cast<int>(CostFamily::kDepthwise1x1)] * c.instructions));
    EXPECT_EQ(c.macs, 18 * 32 * 5);
    EXPECT_EQ(c.scratch_bytes, 2 * 18);     // CMSIS-NN's int16 column of the DSP path
    EXPECT_EQ(c.persistent_bytes, 2 * 80);  // multipliers and shifts, 72 B each aligned to 16
    EXPECT_EQ(c.flash_bytes, 18 + std::llround(t.flash_per_out_channel_bytes * 18) +
                                 std::llround(t.flash_op_bytes(DeployedOpKind::kDepthwiseConv2d) +
                                              2 * t.flash_per_constant_tensor_bytes));
  }
  const TargetProfile t = load_target("stm32l552");
  for (int variant = 0; variant < 3; ++variant) {
    DeployedOp bad = op;
    if (variant == 0) bad.kernel_h = bad.kernel_w = 3;
    if (variant == 1) bad.stride_h = 2;
    if (variant == 2) bad.output.c = 36;  // depth multiplier 2
    try {
      op_cost(t, bad, Runtime::kTflm);
      ADD_FAILURE() << "variant " << variant << " should be refused";
    } catch (const Error& e) {
      EXPECT_EQ(e.status(), Status::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find("DEPTHWISE_CONV_2D"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace micronas::mcu
