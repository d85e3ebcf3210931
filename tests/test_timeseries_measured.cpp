// The time-series cost model against the boards' measurements
// (shared/data/mcu/measured_ops_cmsis_tflm.csv): every F446RE and L552 row whose op and shape a
// time-series space of the file's windows contains (128x9 as UCI-HAR, 64x30 as SkodaR, each with
// 6 and 10 classes; every row of both boards is one) is priced as the time-series lowering
// deploys it, and its kernel cycles compared. The MAPE per (board, op family) is printed
// (mcu/VALIDATION.md quotes it) and bounded by the per-op model's 5 %.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "micronas/mcu.hpp"
#include "micronas/random.hpp"
#include "micronas/timeseries_cost.hpp"
#include "micronas/timeseries_lowering.hpp"
#include "search/timeseries/deployed_op.hpp"
#include "tests/test_util.hpp"

namespace micronas::timeseries {
namespace {

bool same_op(const mcu::DeployedOp& a, const mcu::DeployedOp& b) {
  return a.kind == b.kind && a.input == b.input && a.output == b.output &&
         a.kernel_h == b.kernel_h && a.kernel_w == b.kernel_w && a.stride_h == b.stride_h &&
         a.stride_w == b.stride_w && a.pad_top == b.pad_top && a.pad_left == b.pad_left;
}

// Every deployed op the space can contain that the boards measured (the CONV_2D of a conv, not
// the DEPTHWISE_CONV_2D of its batch norm, which has no measured rows): each op slot of the lowered
// network (one lowering per Time-Reduce kernel, with all branches and residuals) at every input and
// output width it can have.
std::vector<mcu::DeployedOp> space_ops(const Space& space) {
  const std::vector<int> time = space.time_widths(), necks = space.bottleneck_widths(),
                         blocks = space.block_widths();
  std::vector<mcu::DeployedOp> ops;
  auto add = [&](Layer l, const std::vector<int>& ins, const std::vector<int>& outs) {
    for (int ci : ins)
      for (int co : outs) {
        l.in.c = ci;
        l.out.c = co;
        ops.push_back(deployed_ops(l).front());  // a conv's CONV_2D, not its batch norm
      }
  };
  for (int k : space.options().kernels) {
    Arch a = space.largest();
    for (TimeReduceChoice& t : a.time_reduce) t.kernel = k;
    for (const Layer& l : lower(space, a).layers) {
      const std::string& n = l.name;
      auto is = [&](const char* suffix) { return n.find(suffix) != std::string::npos; };
      // A Sensor-Fusion cell's input: the last Time-Reduce width for the first, else a block
      // width (the first cell of each group reduces, so a skipped cell passes a block width on).
      const std::vector<int>& cell_in = n.rfind("sf1.", 0) == 0 ? time : blocks;
      if (n == "tr1.conv")
        add(l, {1}, time);
      else if (is(".conv") && n[0] == 't')
        add(l, time, time);
      else if (is(".bottleneck"))
        add(l, cell_in, necks);
      else if (is(".branch"))
        add(l, necks, blocks);
      else if (is(".residual"))
        add(l, cell_in, blocks);
      else if (l.kind == LayerKind::kAdd) {
        for (int w : blocks) {
          Layer s = l;
          s.in.c = s.out.c = w;
          ops.push_back(deployed_ops(s).front());
        }
      } else if (n == "head.conv")
        add(l, blocks, {space.classes()});
      else if (n == "head.pool" || n == "head.softmax")
        ops.push_back(deployed_ops(l).front());
    }
  }
  return ops;
}

struct Errors {
  double sum = 0, max = 0;
  int n = 0;
};

TEST(TimeseriesMeasured, KernelCyclesOfTheSpacesRowsWithin5PercentPerFamily) {
  MICRONAS_REQUIRE_DATA("mcu/measured_ops_cmsis_tflm.csv");
  const std::vector<mcu::MeasuredOp> rows =
      mcu::read_measured_ops(test::data_path("mcu/measured_ops_cmsis_tflm.csv"));
  // The windows of the file's first convs (128x9, 64x30) with the class counts of its softmax
  // rows (6, 10).
  std::vector<mcu::DeployedOp> ops;
  for (auto [t, s] : {std::pair<int, int>{128, 9}, {64, 30}})
    for (int classes : {6, 10})
      for (const mcu::DeployedOp& op : space_ops(Space(t, s, classes))) ops.push_back(op);

  for (const char* name : {"stm32f446re", "stm32l552"}) {
    const mcu::TargetProfile target = mcu::load_target(name);
    std::map<std::string, Errors> by_family;
    int board_rows = 0, matched = 0;
    for (const mcu::MeasuredOp& r : rows) {
      if (r.device != target.measured_device) continue;
      ++board_rows;
      const mcu::DeployedOp* ours = nullptr;
      for (const mcu::DeployedOp& op : ops)
        if (r.supported && same_op(op, r.deployed)) {
          ours = &op;
          break;
        }
      if (!ours) {
        std::printf("  not in the spaces: line %d %s %s -> %s kernel %s stride %s\n", r.line,
                    r.op.c_str(), r.input_shape.c_str(), r.output_shape.c_str(), r.kernel.c_str(),
                    r.stride.c_str());
        continue;
      }
      ++matched;
      const mcu::OpCost cost = mcu::op_cost(target, *ours, mcu::Runtime::kCodegen);
      Errors& e = by_family[mcu::cost_family_name(cost.family)];
      const double pct = std::fabs(static_cast<double>(cost.cycles) / r.kernel_cycles - 1.0) * 100;
      e.sum += pct;
      e.max = std::max(e.max, pct);
      ++e.n;
    }
    std::printf("%s: %d of %d rows in the time-series spaces\n", name, matched, board_rows);
    EXPECT_EQ(matched, board_rows) << name;
    for (const char* family : {"conv_im2col", "conv_1x1", "add", "mean", "softmax"}) {
      const Errors& e = by_family[family];
      std::printf("  %-12s %4d rows  MAPE %.2f%%  max %.2f%%\n", family, e.n,
                  e.n ? e.sum / e.n : 0.0, e.max);
      ASSERT_GT(e.n, 0) << name << " " << family;
      EXPECT_LE(e.sum / e.n, 5.0) << name << " " << family;
    }
  }
}

// Whole networks the way the reference prices them: the sum over the deployed ops of the
// measured invoke cycles (kernel + interpreter) of each op's row, against the model's cycles of
// the same ops. The batch-norm ops (DEPTHWISE_CONV_2D, which the reference folds away and the
// boards never ran) are left out of both sides; their share of the modelled latency is printed.
// Networks with an op the board has no row for (the F446RE lacks one first-conv width) are
// left out.
TEST(TimeseriesMeasured, WholeNetworksAgreeWithTheSumOfTheirMeasuredOps) {
  MICRONAS_REQUIRE_DATA("mcu/measured_ops_cmsis_tflm.csv");
  const std::vector<mcu::MeasuredOp> rows =
      mcu::read_measured_ops(test::data_path("mcu/measured_ops_cmsis_tflm.csv"));
  struct Case {
    const char* target;
    int t, s, classes;
  };
  for (const Case& c : {Case{"stm32l552", 128, 9, 6}, Case{"stm32f446re", 128, 9, 6},
                        Case{"stm32f446re", 64, 30, 10}}) {
    const mcu::TargetProfile target = mcu::load_target(c.target);
    const Space space(c.t, c.s, c.classes);
    Rng rng(552);
    Errors e;
    double lut_min = 1e300, lut_max = 0;
    double bn_min = 100, bn_max = 0, bn_sum = 0;  // the batch-norm ops' share of the latency, %
    int unmeasured = 0;                           // networks with an op the board has no row for
    for (int i = 0; i < 200; ++i) {
      Arch a = i == 0 ? space.smallest() : i == 1 ? space.largest() : space.sample(rng);
      if (i == 0)  // the fastest network: every non-reducing cell skipped
        for (std::size_t j = 0; j < a.sensor_fusion.size(); ++j)
          a.sensor_fusion[j].skip = !space.reduces(static_cast<int>(j));
      const CostEstimate est = estimate_cost(target, lower(space, a));
      std::int64_t lut = 0, bn_cycles = 0;
      for (const mcu::LayerEstimate& l : est.network.layers) {
        if (l.op.kind == mcu::DeployedOpKind::kDepthwiseConv2d) {
          bn_cycles += l.cost.cycles;
          continue;
        }
        const mcu::MeasuredOp* row = nullptr;
        for (const mcu::MeasuredOp& r : rows)
          if (r.device == target.measured_device && r.supported && same_op(l.op, r.deployed)) {
            row = &r;
            break;
          }
        if (!row) {
          lut = -1;
          break;
        }
        lut += row->invoke_cycles;
      }
      if (lut < 0) {
        ++unmeasured;
        continue;
      }
      const double measured_ops = static_cast<double>(est.network.cycles - bn_cycles);
      const double pct = std::fabs(measured_ops / static_cast<double>(lut) - 1) * 100;
      const double bn_share = 100.0 * static_cast<double>(bn_cycles) / est.network.cycles;
      bn_min = std::min(bn_min, bn_share);
      bn_max = std::max(bn_max, bn_share);
      bn_sum += bn_share;
      e.sum += pct;
      e.max = std::max(e.max, pct);
      ++e.n;
      const double lut_ms = static_cast<double>(lut) / (target.clock_mhz * 1e3);
      lut_min = std::min(lut_min, lut_ms);
      lut_max = std::max(lut_max, lut_ms);
    }
    std::printf(
        "%s %dx%d: %d networks, MAPE %.2f%%, max %.2f%% (measured sums %.1f-%.1f ms); %d with an "
        "unmeasured op\n",
        c.target, c.t, c.s, e.n, e.sum / e.n, e.max, lut_min, lut_max, unmeasured);
    std::printf(
        "  batch-norm ops (DEPTHWISE_CONV_2D, derived): %.1f%% of the latency on average, "
        "%.1f-%.1f%%\n",
        bn_sum / e.n, bn_min, bn_max);
    EXPECT_GE(e.n, 100) << c.target;
    EXPECT_LE(e.sum / e.n, 3.0) << c.target;
    EXPECT_LE(e.max, 6.0) << c.target;
  }
}

}  // namespace
}  // namespace micronas::timeseries
