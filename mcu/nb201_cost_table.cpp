// Whole-network NB201 estimates: every block outside the cells costs the same for any cell, and
// a cell's cost is a sum over its ops, so latency, flash and persistent arena are sums of
// per-(stage, op) terms taken from the layer model. Peak SRAM is TFLite Micro's arena plan, which
// depends on the whole network's tensor lifetimes: the network's schedule is assembled from the
// cell's (built once per architecture) and the fixed blocks' (read off the lowering once) and
// planned as the layer model plans it.
#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "mcu/lowering.hpp"
#include "mcu/op_cost.hpp"
#include "mcu/schedule.hpp"
#include "micronas/error.hpp"
#include "micronas/mcu.hpp"

namespace micronas::mcu {
namespace {

// Upper bounds for one cell: 6 edges x 4 executed ops x 2 deployed ops, 11 + 7 + 3 ADDs.
constexpr int kMaxCellOps = 72;
constexpr int kMaxCellTensors = 80;

enum CellOpType : std::uint8_t { kRelu, kConv1x1Op, kConv3x3Op, kPool, kAdd, kQuantize };

struct CellSchedule {
  int n_ops = 0, n_tensors = 0;
  std::array<std::uint8_t, kMaxCellOps> type{};
  std::array<int, kMaxCellOps> in0{}, in1{}, out{};
  std::array<bool, kMaxCellTensors> constant{};
  int output = 0;  // tensor of node 3; tensor 0 is the cell's input

  int add_tensor(bool is_constant) {
    constant[n_tensors] = is_constant;
    return n_tensors++;
  }
  int add_op(CellOpType t, int a, int b) {
    type[n_ops] = t;
    in0[n_ops] = a;
    in1[n_ops] = b;
    out[n_ops] = add_tensor(false);
    return out[n_ops++];
  }
};

// The cell's deployed ops in the order of build_graph + the layer lowering.
void build_cell(const Arch& arch, CellSchedule& s) {
  std::array<int, kNumNodes> node{};
  node[0] = s.add_tensor(false);
  for (int to = 1; to < kNumNodes; ++to) {
    std::array<int, 16> terms{};
    int n_terms = 0, single_k = 1;
    for (int e = 0; e < kNumEdges; ++e) {
      if (kEdgeTo[e] != to) continue;
      const int from = node[kEdgeFrom[e]];
      const OpMask m = arch.mask(e);
      const int k = arch.num_active(e);
      for (int op = 1; op < kNumOps; ++op) {
        if (!(m & (1u << op))) continue;
        int term = from;
        if (op == static_cast<int>(Op::kConv1x1) || op == static_cast<int>(Op::kConv3x3)) {
          int r = s.add_op(kRelu, from, -1);
          term = s.add_op(op == static_cast<int>(Op::kConv1x1) ? kConv1x1Op : kConv3x3Op, r, -1);
        } else if (op == static_cast<int>(Op::kAvgPool3x3)) {
          term = s.add_op(kPool, from, -1);
        }
        terms[n_terms++] = term;
        single_k = k;
      }
    }
    if (n_terms == 0) {
      node[to] = s.add_tensor(true);
    } else if (n_terms == 1) {
      node[to] = single_k == 1 ? terms[0] : s.add_op(kQuantize, terms[0], -1);
    } else {
      int acc = terms[0];
      for (int t = 1; t < n_terms; ++t) acc = s.add_op(kAdd, acc, terms[t]);
      node[to] = acc;
    }
  }
  s.output = node[3];
}

}  // namespace

Nb201CostTable::Nb201CostTable(const TargetProfile& target, const NetworkConfig& config,
                               const EstimateOptions& options) {
  config.validate();
  if (config.depth > 0 && config.depth < 3 * config.cells_per_stage + 2)
    throw Error(Status::kInvalidArgument, "Nb201CostTable needs the whole network (depth <= 0)");
  if (!config.use_stem) throw Error(Status::kInvalidArgument, "Nb201CostTable needs NB201's stem");
  cells_per_stage_ = config.cells_per_stage;
  latency_model_ = options.latency_model;
  const double clock = options.clock_mhz > 0 ? options.clock_mhz : target.clock_mhz;
  if (!(clock > 0) || !std::isfinite(clock))
    throw Error(Status::kInvalidArgument, "clock " + std::to_string(clock) + " MHz must be > 0");
  cycles_per_ms_ = clock * 1e3;
  arena_fixed_ = target.arena_fixed_bytes;
  runtime_code_bytes_ = std::llround(target.runtime_code_kb * 1024.0);

  // Every op on every edge: the per-(stage, op) terms are read off the layer model.
  EstimateOptions analytic = options;
  analytic.latency_model = LatencyModel::kAnalytic;
  const NetworkEstimate all = estimate_network(target, config, Arch(), analytic);
  const int n = config.cells_per_stage;
  std::array<int, 3> first_cell = {0, n + 1, 2 * n + 2};
  fixed_flash_ = all.model_flash_bytes;
  for (const LayerEstimate& l : all.layers) {
    if (l.op.origin.block != BlockKind::kCell) {
      fixed_cycles_ += l.cost.cycles;
      fixed_persistent_ += l.cost.persistent_bytes;
      continue;
    }
    fixed_flash_ -= l.cost.flash_bytes;  // cell flash is added per op below
    for (int s = 0; s < 3; ++s) {
      if (l.op.origin.block_index != first_cell[s]) continue;
      Stage& st = stages_[s];
      if (l.op.origin.edge == 0) {
        int op = static_cast<int>(l.op.origin.op);
        st.op_cycles[op] += l.cost.cycles;
        st.op_flash[op] += l.cost.flash_bytes;
        st.op_scratch[op] =
            std::max(st.op_scratch[op], aligned_bytes(target, l.cost.scratch_bytes));
        st.op_persistent[op] += l.cost.persistent_bytes;
      } else if (l.op.origin.edge < 0 && l.op.kind == DeployedOpKind::kAdd) {
        st.add_cycles = l.cost.cycles;
        st.add_persistent = l.cost.persistent_bytes;
        st.add_flash = l.cost.flash_bytes;
      }
      DeployedOp q;
      q.kind = DeployedOpKind::kQuantize;
      q.input = q.output = l.op.output;
      const OpCost qc = op_cost(target, q, options.runtime);
      st.quantize_cycles = qc.cycles;
      st.quantize_flash = qc.flash_bytes;
      st.tensor_bytes = aligned_bytes(target, l.op.output.numel());
      st.constant_flash =
          l.op.output.numel() + std::llround(target.flash_per_constant_tensor_bytes);
    }
  }
  // estimate() adds these terms: all of them non-negative and a positive fixed part keep every
  // cell's latency > 0 (a latency <= 0 would satisfy any limit).
  bool non_negative = fixed_cycles_ > 0;
  for (const Stage& st : stages_) {
    non_negative = non_negative && st.add_cycles >= 0 && st.quantize_cycles >= 0;
    for (std::int64_t c : st.op_cycles) non_negative = non_negative && c >= 0;
  }
  if (!non_negative)
    throw Error(Status::kNumericalError,
                "target '" + target.name +
                    "' gives negative cycles for some op of the NB201 network; its constants "
                    "cannot describe a real target");
  read_fixed_blocks(target, config, all);
}

void Nb201CostTable::read_fixed_blocks(const TargetProfile& target, const NetworkConfig& config,
                                       const NetworkEstimate& all) {
  // The lowering of the network whose layers `all` estimates: the ops outside the cells, in
  // runs (stem, reduction, reduction, head) between the cells.
  const Lowered low = lower_graph(build_graph(config, Arch()));
  input_bytes_ = aligned_bytes(target, low.tensor_numel[0]);
  int block = -1, block_start = 0, block_input = -1;
  for (std::size_t i = 0; i < low.ops.size(); ++i) {
    if (low.ops[i].origin.block == BlockKind::kCell) continue;
    if (block < 0 || low.ops[i - 1].origin.block == BlockKind::kCell) {
      if (++block == static_cast<int>(blocks_.size())) break;
      block_start = static_cast<int>(i);
      block_input = -1;
    }
    const ScheduleOp& io = low.schedule[i];
    auto local = [&](int t) {
      if (t < 0) return -1;
      if (low.tensor_def[t] >= block_start) return low.tensor_def[t] - block_start;
      if (block_input >= 0 && block_input != t)
        throw Error(Status::kInternal, "Nb201CostTable: a fixed block reads two outside tensors");
      block_input = t;
      return kBlockInput;
    };
    BlockOp op;
    op.in0 = local(io.in0);
    op.in1 = local(io.in1);
    op.out_bytes = aligned_bytes(target, low.tensor_numel[io.out]);
    op.scratch = aligned_bytes(target, all.layers[i].cost.scratch_bytes);
    blocks_[block].push_back(op);
  }
  if (block != static_cast<int>(blocks_.size()) - 1)
    throw Error(Status::kInternal, "Nb201CostTable: the network is not stem, cells, head");
}

Nb201CostTable::Estimate Nb201CostTable::costs(const Arch& arch) const noexcept {
  Estimate est;
  // Per-cell op counts (stage independent).
  std::array<int, kNumOps> ops{};
  int adds = 0, quantizes = 0, constants = 0;
  std::array<int, kNumNodes> terms{};
  std::array<int, kNumNodes> single_k{};
  for (int e = 0; e < kNumEdges; ++e) {
    const OpMask m = arch.mask(e);
    const int k = arch.num_active(e);
    for (int op = 1; op < kNumOps; ++op)
      if (m & (1u << op)) {
        ++ops[op];
        ++terms[kEdgeTo[e]];
        single_k[kEdgeTo[e]] = k;
      }
  }
  for (int node = 1; node < kNumNodes; ++node) {
    if (terms[node] == 0) ++constants;
    if (terms[node] == 1 && single_k[node] > 1) ++quantizes;
    if (terms[node] >= 2) adds += terms[node] - 1;
  }
  const int n = cells_per_stage_;
  std::int64_t cycles = fixed_cycles_, flash = fixed_flash_, persistent = fixed_persistent_;
  for (int s = 0; s < 3; ++s) {
    const Stage& st = stages_[s];
    std::int64_t cell_cycles = adds * st.add_cycles + quantizes * st.quantize_cycles;
    std::int64_t cell_flash =
        constants * st.constant_flash + adds * st.add_flash + quantizes * st.quantize_flash;
    std::int64_t cell_persistent = adds * st.add_persistent;
    for (int op = 1; op < kNumOps; ++op) {
      cell_cycles += ops[op] * st.op_cycles[op];
      cell_flash += ops[op] * st.op_flash[op];
      cell_persistent += ops[op] * st.op_persistent[op];
    }
    cycles += n * cell_cycles;
    flash += n * cell_flash;
    persistent += n * cell_persistent;
  }
  if (latency_model_ == LatencyModel::kMicronasConstantTable) {
    // The table's latency, and its cycles at the target's clock: the two always agree.
    est.latency_ms = micronas_constant_table_ms(arch);
    est.cycles = std::llround(est.latency_ms * cycles_per_ms_);
  } else {
    est.cycles = cycles;
    est.latency_ms = cycles / cycles_per_ms_;
  }
  est.peak_sram_bytes = persistent + arena_fixed_;
  est.flash_bytes = flash + runtime_code_bytes_;
  return est;
}

Nb201CostTable::Estimate Nb201CostTable::estimate(const Arch& arch) const noexcept {
  Estimate est = costs(arch);
  est.peak_sram_bytes += arena_plan_bytes(arch);
  return est;
}

double Nb201CostTable::latency_ms(const Arch& arch) const noexcept {
  return costs(arch).latency_ms;
}

std::int64_t Nb201CostTable::arena_plan_bytes(const Arch& arch) const {
  CellSchedule cell;
  build_cell(arch, cell);
  // The whole network's schedule, as the lowering numbers it: tensors in order of creation.
  std::vector<ScheduleOp> ops;
  std::vector<std::int64_t> bytes;
  std::vector<int> def;
  const std::size_t size_hint = 64 + 3 * static_cast<std::size_t>(cells_per_stage_) * kMaxCellOps;
  ops.reserve(size_hint);
  bytes.reserve(size_hint);
  def.reserve(size_hint);
  auto add_tensor = [&](std::int64_t b, int producer) {
    bytes.push_back(b);
    def.push_back(producer);
    return static_cast<int>(bytes.size()) - 1;
  };
  auto add_block = [&](const std::vector<BlockOp>& block, int in) {
    const int base = static_cast<int>(bytes.size());  // op k of the block writes tensor base + k
    auto tensor = [&](int t) { return t == kBlockInput ? in : t < 0 ? -1 : base + t; };
    for (const BlockOp& b : block) {
      ScheduleOp op;
      op.in0 = tensor(b.in0);
      op.in1 = tensor(b.in1);
      op.scratch = b.scratch;
      op.out = add_tensor(b.out_bytes, static_cast<int>(ops.size()));
      ops.push_back(op);
    }
    return static_cast<int>(bytes.size()) - 1;
  };
  std::array<int, kMaxCellTensors> producer;
  producer.fill(-1);
  for (int i = 0; i < cell.n_ops; ++i) producer[cell.out[i]] = i;
  auto add_cell = [&](const Stage& st, int in) {
    const int first_op = static_cast<int>(ops.size());
    std::array<int, kMaxCellTensors> id;
    id[0] = in;
    for (int t = 1; t < cell.n_tensors; ++t)
      id[t] =
          add_tensor(cell.constant[t] ? 0 : st.tensor_bytes, first_op + std::max(producer[t], 0));
    for (int i = 0; i < cell.n_ops; ++i) {
      ScheduleOp op;
      op.in0 = cell.in0[i] >= 0 ? id[cell.in0[i]] : -1;
      op.in1 = cell.in1[i] >= 0 ? id[cell.in1[i]] : -1;
      op.out = id[cell.out[i]];
      if (cell.type[i] == kConv1x1Op) op.scratch = st.op_scratch[static_cast<int>(Op::kConv1x1)];
      if (cell.type[i] == kConv3x3Op) op.scratch = st.op_scratch[static_cast<int>(Op::kConv3x3)];
      ops.push_back(op);
    }
    return id[cell.output];
  };
  int x = add_block(blocks_[0], add_tensor(input_bytes_, -1));
  for (int s = 0; s < 3; ++s) {
    if (s > 0) x = add_block(blocks_[s], x);
    for (int c = 0; c < cells_per_stage_; ++c) x = add_cell(stages_[s], x);
  }
  x = add_block(blocks_[3], x);
  std::vector<ArenaBuffer> buffers;
  schedule_buffers(ops, bytes, def, {x}, buffers);
  return greedy_arena_plan(buffers);
}

std::array<std::array<double, kNumOps>, kNumEdges> Nb201CostTable::pruning_deltas_ms(
    const Arch& arch) const {
  std::array<std::array<double, kNumOps>, kNumEdges> delta{};
  const double base = latency_ms(arch);
  for (int e = 0; e < kNumEdges; ++e)
    for (int op = 0; op < kNumOps; ++op)
      if (arch.has(e, static_cast<Op>(op))) {
        // The last op of an edge leaves `none` behind (the edge then contributes zero).
        const Arch pruned = arch.num_active(e) > 1 ? arch.without(e, static_cast<Op>(op))
                                                   : arch.with(e, op_bit(Op::kNone));
        delta[e][op] = base - latency_ms(pruned);
      }
  return delta;
}

}  // namespace micronas::mcu
