// Whole-network NB201 estimates in O(edges): every block outside the cells costs the same for
// any cell, and a cell's cost is a sum over its ops, so latency, flash and persistent arena are
// sums of per-(stage, op) terms taken from the layer model. Peak SRAM needs the cell's schedule:
// all tensors of a stage have the same size, so the cell is simulated once in units of "live
// tensors" and scaled per stage.
#include <cmath>

#include "mcu/op_cost.hpp"
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
  std::array<int, kMaxCellOps> in0{}, in1{};
  std::array<int, kMaxCellTensors> def{};
  std::array<bool, kMaxCellTensors> constant{};
  int output = 0;           // tensor of node 3
  bool input_used = false;  // an op reads x0 or node 3 is x0

  int add_tensor(bool is_constant) {
    def[n_tensors] = n_ops;
    constant[n_tensors] = is_constant;
    return n_tensors++;
  }
  int add_op(CellOpType t, int a, int b) {
    type[n_ops] = t;
    in0[n_ops] = a;
    in1[n_ops] = b;
    int out = add_tensor(false);
    ++n_ops;
    return out;
  }
};

// The cell's deployed ops in the order of build_graph + the layer lowering.
void build_cell(const Arch& arch, CellSchedule& s) {
  std::array<int, kNumNodes> node{};
  node[0] = s.add_tensor(false);
  s.def[0] = -1;
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
  s.input_used = s.output == 0;
  for (int i = 0; i < s.n_ops; ++i) s.input_used = s.input_used || s.in0[i] == 0 || s.in1[i] == 0;
}

// Live arena tensors while each op runs, for one placement of the cell.
void live_counts(const CellSchedule& s, bool input_constant, bool output_to_end,
                 std::array<int, kMaxCellOps>& count) {
  std::array<int, kMaxCellTensors> last{};
  for (int t = 0; t < s.n_tensors; ++t) last[t] = s.def[t];
  if (output_to_end) last[s.output] = s.n_ops - 1;
  for (int i = 0; i < s.n_ops; ++i) {
    if (s.in0[i] >= 0 && last[s.in0[i]] < i) last[s.in0[i]] = i;
    if (s.in1[i] >= 0 && last[s.in1[i]] < i) last[s.in1[i]] = i;
  }
  std::array<int, kMaxCellOps + 1> diff{};
  for (int t = 0; t < s.n_tensors; ++t) {
    if (s.constant[t] || (t == 0 && input_constant)) continue;
    int begin = s.def[t] < 0 ? 0 : s.def[t];
    if (last[t] < begin) continue;
    ++diff[begin];
    --diff[last[t] + 1];
  }
  int running = 0;
  for (int i = 0; i < s.n_ops; ++i) count[i] = running += diff[i];
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
  const NetworkEstimate empty = estimate_network(
      target, config, Arch(std::array<OpMask, kNumEdges>{1, 1, 1, 1, 1, 1}), analytic);
  const int n = config.cells_per_stage;
  std::array<int, 3> first_cell = {0, n + 1, 2 * n + 2};
  fixed_flash_ = all.model_flash_bytes;
  for (const LayerEstimate& l : all.layers) {
    if (l.op.origin.block != BlockKind::kCell) {
      fixed_cycles_ += l.cost.cycles;
      fixed_persistent_ += l.cost.persistent_bytes;
      outside_peak_live_ = std::max(outside_peak_live_, l.live_sram_bytes);
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
        st.op_scratch[op] = std::max(st.op_scratch[op], l.cost.scratch_bytes);
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
  for (const LayerEstimate& l : empty.layers)
    if (l.op.origin.block != BlockKind::kCell)
      outside_peak_live_constant_cell_ =
          std::max(outside_peak_live_constant_cell_, l.live_sram_bytes);
}

Nb201CostTable::Estimate Nb201CostTable::estimate(const Arch& arch) const noexcept {
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
  CellSchedule cell;
  build_cell(arch, cell);
  const bool output_constant = cell.constant[cell.output];
  const int n = cells_per_stage_;
  // Placements: first cell (input from the stem/reduction), middle cells, last cell (output
  // read by the next block). A cell reads its predecessor's output only if input_used.
  std::array<std::array<int, kMaxCellOps>, 3> counts;
  live_counts(cell, false, n == 1 || cell.input_used, counts[0]);
  live_counts(cell, output_constant, cell.input_used, counts[1]);
  live_counts(cell, output_constant, true, counts[2]);

  std::int64_t cycles = fixed_cycles_, flash = fixed_flash_, persistent = fixed_persistent_;
  std::int64_t peak = output_constant ? outside_peak_live_constant_cell_ : outside_peak_live_;
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
    const std::array<std::int64_t, 6> scratch = {0,
                                                 st.op_scratch[static_cast<int>(Op::kConv1x1)],
                                                 st.op_scratch[static_cast<int>(Op::kConv3x3)],
                                                 0,
                                                 0,
                                                 0};
    for (int placement = 0; placement < 3; ++placement) {
      if (placement == 1 && n < 3) continue;
      if (placement == 2 && n < 2) continue;
      for (int i = 0; i < cell.n_ops; ++i) {
        std::int64_t live = counts[placement][i] * st.tensor_bytes + scratch[cell.type[i]];
        if (live > peak) peak = live;
      }
    }
  }
  est.cycles = cycles;
  est.latency_ms = latency_model_ == LatencyModel::kMicronasConstantTable
                       ? micronas_constant_table_ms(arch)
                       : cycles / cycles_per_ms_;
  est.peak_sram_bytes = peak + persistent + arena_fixed_;
  est.flash_bytes = flash + runtime_code_bytes_;
  return est;
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
