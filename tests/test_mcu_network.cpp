// Whole-network properties of the cost model and the O(edges) NB201 table's equality with the
// layer-by-layer model.
#include <gtest/gtest.h>

#include <cmath>

#include "micronas/error.hpp"
#include "micronas/mcu.hpp"

namespace micronas::mcu {
namespace {

const Arch kAllConv3x3 = Arch::parse(
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~"
    "2|");
const Arch kMixed = Arch::parse(
    "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|");

TEST(McuNetwork, FastTableEqualsLayerModelForAllCells) {
  TargetProfile target = load_target("stm32f746");
  NetworkConfig config = NetworkConfig::nb201(Dataset::kCifar10);
  Nb201CostTable table(target, config);
  int mismatches = 0;
  for (int id = 0; id < kNumCells; ++id) {
    Arch arch = Arch::from_cell_id(id);
    NetworkEstimate slow = estimate_network(target, config, arch);
    Nb201CostTable::Estimate fast = table.estimate(arch);
    if (slow.cycles != fast.cycles || slow.peak_sram_bytes != fast.peak_sram_bytes ||
        slow.flash_bytes != fast.flash_bytes || slow.latency_ms != fast.latency_ms) {
      if (++mismatches < 5)
        ADD_FAILURE() << arch.to_string() << ": cycles " << slow.cycles << " vs " << fast.cycles
                      << ", sram " << slow.peak_sram_bytes << " vs " << fast.peak_sram_bytes
                      << ", flash " << slow.flash_bytes << " vs " << fast.flash_bytes;
    }
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(McuNetwork, FastTableEqualsLayerModelForSupernetStates) {
  // Mixed edges (1/k scales, QUANTIZE of single-term nodes), other targets, runtimes, datasets.
  std::vector<Arch> states = {Arch(), Arch::parse("supernet-none"), kMixed,
                              Arch::parse("|skip_connect/none~0|+|none~0|none~1|+|none~0|"
                                          "skip_connect~1|none~2|"),
                              Arch::parse("|nor_conv_1x1/avg_pool_3x3~0|+|none~0|skip_connect/"
                                          "none~1|+|none~0|none~1|nor_conv_3x3/none~2|")};
  for (const std::string& name : builtin_target_names())
    for (Runtime rt : {Runtime::kTflm, Runtime::kCodegen})
      for (Dataset ds : {Dataset::kCifar10, Dataset::kImageNet16}) {
        TargetProfile target = load_target(name);
        EstimateOptions opt;
        opt.runtime = rt;
        NetworkConfig config = NetworkConfig::nb201(ds);
        Nb201CostTable table(target, config, opt);
        for (const Arch& a : states) {
          NetworkEstimate slow = estimate_network(target, config, a, opt);
          Nb201CostTable::Estimate fast = table.estimate(a);
          EXPECT_EQ(slow.cycles, fast.cycles) << name << " " << a.to_string();
          EXPECT_EQ(slow.peak_sram_bytes, fast.peak_sram_bytes) << name << " " << a.to_string();
          EXPECT_EQ(slow.flash_bytes, fast.flash_bytes) << name << " " << a.to_string();
        }
      }
}

TEST(McuNetwork, FastTableEqualsLayerModelForOtherStageDepths) {
  // The table assembles the network's schedule for its arena plan: one and two cells per stage
  // put the first cell next to the last and the blocks around them.
  TargetProfile target = load_target("stm32f446re");
  for (int n : {1, 2}) {
    NetworkConfig config = NetworkConfig::nb201(Dataset::kCifar100);
    config.cells_per_stage = n;
    Nb201CostTable table(target, config);
    for (int id = 0; id < kNumCells; id += 97) {
      const Arch a = Arch::from_cell_id(id);
      EXPECT_EQ(estimate_network(target, config, a).peak_sram_bytes,
                table.estimate(a).peak_sram_bytes)
          << n << " " << a.to_string();
    }
  }
}

TEST(McuNetwork, MoreChannelsOrResolutionNeverLowersCost) {
  TargetProfile target = load_target("stm32f746");
  for (const Arch& arch : {kAllConv3x3, kMixed, Arch::from_cell_id(1234)}) {
    NetworkConfig base = NetworkConfig::nb201(Dataset::kCifar10);
    NetworkEstimate b = estimate_network(target, base, arch);
    for (int variant = 0; variant < 2; ++variant) {
      NetworkConfig bigger = base;
      if (variant == 0) {
        bigger.channels = 24;
      } else {
        bigger.input_size = 48;
      }
      NetworkEstimate g = estimate_network(target, bigger, arch);
      EXPECT_GT(g.cycles, b.cycles) << arch.to_string() << " variant " << variant;
      EXPECT_GE(g.peak_sram_bytes, b.peak_sram_bytes) << arch.to_string();
      EXPECT_GE(g.flash_bytes, b.flash_bytes) << arch.to_string();
    }
  }
  // Per op: a conv with more output channels or a larger map never costs fewer cycles.
  for (int c = 8; c <= 64; c += 8)
    for (int hw = 4; hw <= 32; hw *= 2) {
      DeployedOp op;
      op.input = Shape{c, hw, hw};
      op.output = Shape{c, hw, hw};
      op.kernel_h = op.kernel_w = 3;
      op.pad_top = op.pad_left = 1;
      DeployedOp wider = op, larger = op;
      wider.output.c += 8;
      larger.input.h = larger.input.w = larger.output.h = larger.output.w = 2 * hw;
      EXPECT_LT(op_cost(target, op, Runtime::kTflm).cycles,
                op_cost(target, wider, Runtime::kTflm).cycles);
      EXPECT_LT(op_cost(target, op, Runtime::kTflm).cycles,
                op_cost(target, larger, Runtime::kTflm).cycles);
    }
}

// "Skip-only cells are cheapest", in the form that holds for a deployed network: replacing a
// skip by any computing op never lowers latency, and among cells without `none` edges the
// all-skip cell is the cheapest. Cells with `none` edges can be cheaper than the all-skip cell:
// they drop int8 ADDs (~80 instructions per element), a cost a per-op table does not see.
TEST(McuNetwork, SkipOnlyCellsAreCheapest) {
  for (const std::string& name : builtin_target_names()) {
    TargetProfile target = load_target(name);
    Nb201CostTable table(target, NetworkConfig::nb201(Dataset::kCifar10));
    const Arch all_skip = Arch::from_ops({Op::kSkipConnect, Op::kSkipConnect, Op::kSkipConnect,
                                          Op::kSkipConnect, Op::kSkipConnect, Op::kSkipConnect});
    const double skip_only = table.latency_ms(all_skip);
    for (int id = 0; id < kNumCells; ++id) {
      Arch a = Arch::from_cell_id(id);
      std::array<Op, kNumEdges> ops = a.cell_ops();
      bool has_none = false;
      for (Op op : ops) has_none = has_none || op == Op::kNone;
      if (!has_none && a != all_skip) {
        EXPECT_GT(table.latency_ms(a), skip_only) << name << " " << a.to_string();
      }
      for (int e = 0; e < kNumEdges; ++e) {
        if (ops[e] != Op::kSkipConnect) continue;
        for (Op op : {Op::kConv1x1, Op::kConv3x3, Op::kAvgPool3x3}) {
          std::array<Op, kNumEdges> replaced = ops;
          replaced[e] = op;
          EXPECT_GT(table.latency_ms(Arch::from_ops(replaced)), table.latency_ms(a))
              << name << " " << a.to_string() << " edge " << e;
        }
      }
    }
  }
}

TEST(McuNetwork, CodegenIsFasterThanTflmAndClockScalesLatency) {
  TargetProfile target = load_target("stm32f746");
  NetworkConfig config = NetworkConfig::nb201(Dataset::kCifar10);
  EstimateOptions codegen;
  codegen.runtime = Runtime::kCodegen;
  NetworkEstimate tflm = estimate_network(target, config, kMixed);
  NetworkEstimate gen = estimate_network(target, config, kMixed, codegen);
  EXPECT_LT(gen.cycles, tflm.cycles);
  EXPECT_EQ(tflm.cycles - gen.cycles, static_cast<std::int64_t>(tflm.layers.size()) *
                                          std::llround(target.tflm_op_overhead_cycles));
  EstimateOptions fast_clock;
  fast_clock.clock_mhz = 432;
  NetworkEstimate f = estimate_network(target, config, kMixed, fast_clock);
  EXPECT_DOUBLE_EQ(f.latency_ms * 2, tflm.latency_ms);
}

TEST(McuNetwork, PruningDeltasMatchTheDifferenceAndArePositive) {
  TargetProfile target = load_target("stm32f446re");
  NetworkConfig config = NetworkConfig::nb201(Dataset::kCifar10);
  Nb201CostTable table(target, config);
  Arch state = Arch::parse("supernet-none");
  auto d = table.pruning_deltas_ms(state);
  for (int e = 0; e < kNumEdges; ++e)
    for (Op op : {Op::kConv1x1, Op::kConv3x3, Op::kAvgPool3x3, Op::kSkipConnect}) {
      double expect = estimate_network(target, config, state).latency_ms -
                      estimate_network(target, config, state.without(e, op)).latency_ms;
      EXPECT_NEAR(d[e][static_cast<int>(op)], expect, 1e-9);
      EXPECT_GT(d[e][static_cast<int>(op)], 0) << e << " " << op_name(op);
    }
  EXPECT_GT(d[0][static_cast<int>(Op::kConv3x3)], d[0][static_cast<int>(Op::kConv1x1)]);
}

TEST(McuNetwork, MicronasConstantTable) {
  EXPECT_NEAR(micronas_constant_table_ms(kAllConv3x3), 6 * 80.26, 1e-9);
  EXPECT_NEAR(micronas_constant_table_ms(kMixed), 80.26 + 1.43 + 23.49 + 24.02 + 80.26, 1e-9);
  EstimateOptions opt;
  opt.latency_model = LatencyModel::kMicronasConstantTable;
  TargetProfile target = load_target("stm32f746");
  NetworkConfig config = NetworkConfig::nb201(Dataset::kCifar10);
  EXPECT_DOUBLE_EQ(Nb201CostTable(target, config, opt).latency_ms(kMixed),
                   micronas_constant_table_ms(kMixed));
  // The cycles reported beside the table's latency are that latency at the target's clock, not
  // the per-layer model's.
  const Nb201CostTable::Estimate est = Nb201CostTable(target, config, opt).estimate(kMixed);
  EXPECT_NEAR(static_cast<double>(est.cycles), est.latency_ms * target.clock_mhz * 1e3, 1.0);
}

TEST(McuNetwork, MemoryFacts) {
  // The all-conv3x3 network needs ~1.5 MB of int8 weights: over the F746's 1 MB flash; its
  // activations (5 x 16 KB at most at 32x32) fit the 320 KB SRAM.
  TargetProfile target = load_target("stm32f746");
  NetworkEstimate e =
      estimate_network(target, NetworkConfig::nb201(Dataset::kCifar10), kAllConv3x3);
  EXPECT_FALSE(e.fits_flash);
  EXPECT_GT(e.model_flash_bytes, 1400 * 1024);
  EXPECT_TRUE(e.fits_sram);
  EXPECT_LT(e.peak_sram_bytes, 160 * 1024);
  EXPECT_GT(e.peak_sram_bytes, 3 * 16 * 1024);
}

}  // namespace
}  // namespace micronas::mcu

namespace micronas::mcu {
namespace {

// MLPerf Tiny's ResNet-8 (CIFAR-10, 12.5 M MACs) deployed op by op with TF 'same' padding and
// fused ReLUs, for the whole-network anchor in mcu/VALIDATION.md. Published on STM32F746:
// 61.6-64.8 ms with optimised engines (~1.1 cycles/MAC); TFLM + CMSIS-NN is expected slower.
TEST(McuNetwork, ResNet8AnchorOnF746) {
  auto conv = [](int ci, int co, int hw, int k, int s) {
    DeployedOp op;
    op.kind = DeployedOpKind::kConv2d;
    op.input = Shape{ci, hw, hw};
    op.output = Shape{co, hw / s, hw / s};
    op.kernel_h = op.kernel_w = k;
    op.stride_h = op.stride_w = s;
    int total = std::max((hw / s - 1) * s + k - hw, 0);
    op.pad_top = op.pad_left = total / 2;
    op.fused_relu = true;
    return op;
  };
  auto add = [](int c, int hw) {
    DeployedOp op;
    op.kind = DeployedOpKind::kAdd;
    op.input = op.output = Shape{c, hw, hw};
    return op;
  };
  DeployedOp pool;
  pool.kind = DeployedOpKind::kAveragePool2d;
  pool.input = Shape{64, 8, 8};
  pool.output = Shape{64, 1, 1};
  pool.kernel_h = pool.kernel_w = 8;
  DeployedOp fc;
  fc.kind = DeployedOpKind::kFullyConnected;
  fc.input = Shape{64, 1, 1};
  fc.output = Shape{10, 1, 1};
  std::vector<DeployedOp> ops = {conv(3, 16, 32, 3, 1),
                                 conv(16, 16, 32, 3, 1),
                                 conv(16, 16, 32, 3, 1),
                                 add(16, 32),
                                 conv(16, 32, 32, 3, 2),
                                 conv(32, 32, 16, 3, 1),
                                 conv(16, 32, 32, 1, 2),
                                 add(32, 16),
                                 conv(32, 64, 16, 3, 2),
                                 conv(64, 64, 8, 3, 1),
                                 conv(32, 64, 16, 1, 2),
                                 add(64, 8),
                                 pool,
                                 fc};
  TargetProfile target = load_target("stm32f746");
  for (Runtime rt : {Runtime::kTflm, Runtime::kCodegen}) {
    std::int64_t cycles = 0, macs = 0;
    for (const DeployedOp& op : ops) {
      OpCost c = op_cost(target, op, rt);
      cycles += c.cycles;
      macs += c.macs;
    }
    const double ms = cycles / (target.clock_mhz * 1e3);
    std::printf("ResNet-8 on stm32f746 (%s): %.2f M MACs, %.1f ms, %.2f cycles/MAC\n",
                runtime_name(rt), macs / 1e6, ms, static_cast<double>(cycles) / macs);
    EXPECT_NEAR(macs / 1e6, 12.5, 0.1);
    // Not faster than the fastest published engines, within 4x of them.
    EXPECT_GT(ms, 61.6);
    EXPECT_LT(ms, 4 * 64.8);
  }
}

}  // namespace
}  // namespace micronas::mcu
