// Whole-network estimate: lowering the network graph to deployed int8 ops, their costs, and the
// tensor-lifetime schedule for peak SRAM.
#include <cmath>
#include <memory>

#include "mcu/op_cost.hpp"
#include "mcu/schedule.hpp"
#include "micronas/error.hpp"
#include "micronas/mcu.hpp"

namespace micronas::mcu {
namespace {

struct Lowered {
  std::vector<DeployedOp> ops;
  std::vector<ScheduleOp> schedule;
  std::vector<std::int64_t> tensor_numel;
  std::vector<bool> tensor_constant;
  std::vector<int> tensor_def;
  std::int64_t constant_flash_bytes = 0;  // constant zero tensors of all-`none` nodes
  int output_tensor = -1;
};

class Lowering {
 public:
  explicit Lowering(const Graph& g) : g_(g), tensor_of_(g.values.size(), -1) {
    consumers_.assign(g.values.size(), 0);
    for (const Layer& l : g.layers)
      for (int v : l.inputs) ++consumers_[v];
  }

  Lowered run() {
    tensor_of_[0] = new_tensor(g_.values[0].numel(), false);
    const std::size_t n = g_.layers.size();
    for (std::size_t i = 0; i < n; ++i) {
      const Layer& l = g_.layers[i];
      const Layer* next = i + 1 < n ? &g_.layers[i + 1] : nullptr;
      switch (l.kind) {
        case LayerKind::kConv2d: {
          DeployedOp op = base_op(DeployedOpKind::kConv2d, l);
          op.kernel_h = op.kernel_w = l.kernel;
          op.stride_h = op.stride_w = l.stride;
          op.pad_top = op.pad_left = l.pad;
          int out_value = l.output;
          // BN folds into the conv's weights and bias.
          if (next && next->kind == LayerKind::kBatchNorm && next->inputs[0] == out_value) {
            out_value = next->output;
            ++i;
            next = i + 1 < n ? &g_.layers[i + 1] : nullptr;
          }
          out_value = fuse_relu(op, out_value, next, i);
          emit(op, {l.inputs[0]}, out_value);
          break;
        }
        case LayerKind::kBatchNorm: {
          // A BN not after a conv (the head's `lastact`): the converter emits MUL + ADD with
          // per-channel constants.
          DeployedOp mul = base_op(DeployedOpKind::kMul, l);
          int scaled = new_tensor(g_.values[l.output].numel(), false);
          emit_to_tensor(mul, tensor_of_[l.inputs[0]], -1, scaled);
          DeployedOp add = base_op(DeployedOpKind::kAdd, l);
          int out_value = fuse_relu(add, l.output, next, i);
          tensor_of_[out_value] = new_tensor(g_.values[out_value].numel(), false);
          emit_to_tensor(add, scaled, -1, tensor_of_[out_value]);
          break;
        }
        case LayerKind::kReLU:
          emit(base_op(DeployedOpKind::kRelu, l), {l.inputs[0]}, l.output);
          break;
        case LayerKind::kAvgPool: {
          DeployedOp op = base_op(DeployedOpKind::kAveragePool2d, l);
          op.kernel_h = op.kernel_w = l.kernel;
          op.stride_h = op.stride_w = l.stride;
          op.pad_top = op.pad_left = l.pad;
          emit(op, {l.inputs[0]}, l.output);
          break;
        }
        case LayerKind::kGlobalAvgPool: {
          // Exported as AVERAGE_POOL_2D over the whole map (TFLM's MEAN is ~20x slower).
          DeployedOp op = base_op(DeployedOpKind::kAveragePool2d, l);
          op.kernel_h = op.input.h;
          op.kernel_w = op.input.w;
          emit(op, {l.inputs[0]}, l.output);
          break;
        }
        case LayerKind::kLinear:
          emit(base_op(DeployedOpKind::kFullyConnected, l), {l.inputs[0]}, l.output);
          break;
        case LayerKind::kWeightedSum: weighted_sum(l); break;
      }
    }
    out_.output_tensor = tensor_of_[g_.logits];
    return std::move(out_);
  }

 private:
  int new_tensor(std::int64_t numel, bool constant) {
    out_.tensor_numel.push_back(numel);
    out_.tensor_constant.push_back(constant);
    out_.tensor_def.push_back(static_cast<int>(out_.ops.size()));  // the next op writes it
    if (out_.ops.empty() && out_.tensor_numel.size() == 1) out_.tensor_def.back() = -1;
    return static_cast<int>(out_.tensor_numel.size()) - 1;
  }

  DeployedOp base_op(DeployedOpKind kind, const Layer& l) const {
    DeployedOp op;
    op.kind = kind;
    op.input = g_.values[l.inputs.empty() ? l.output : l.inputs[0]];
    op.output = g_.values[l.output];
    op.origin = l.origin;
    return op;
  }

  // A ReLU that alone reads `value` runs as the producing op's clamp. Only within a block (a
  // reduction's Conv-BN-ReLU, the head's BN-ReLU): a cell edge's RELU stays its own op, so that
  // its cost belongs to its (edge, op) whatever produced the edge's input.
  int fuse_relu(DeployedOp& op, int value, const Layer* next, std::size_t& i) {
    if (next && next->kind == LayerKind::kReLU && next->inputs[0] == value &&
        consumers_[value] == 1 && next->origin.block != BlockKind::kCell &&
        next->origin.block == op.origin.block &&
        next->origin.block_index == op.origin.block_index) {
      op.fused_relu = true;
      ++i;
      return next->output;
    }
    return value;
  }

  void emit_to_tensor(const DeployedOp& op, int in0, int in1, int out) {
    ScheduleOp s;
    s.in0 = in0;
    s.in1 = in1;
    s.out = out;
    s.scratch = 0;  // filled in by the estimate, which knows the target
    out_.ops.push_back(op);
    out_.schedule.push_back(s);
  }

  void emit(const DeployedOp& op, std::initializer_list<int> input_values, int out_value) {
    int in0 = tensor_of_[*input_values.begin()];
    if (tensor_of_[out_value] < 0)
      tensor_of_[out_value] = new_tensor(g_.values[out_value].numel(), false);
    emit_to_tensor(op, in0, -1, tensor_of_[out_value]);
  }

  void weighted_sum(const Layer& l) {
    const std::size_t terms = l.inputs.size();
    const std::int64_t numel = g_.values[l.output].numel();
    if (terms == 0) {
      // All `none`: a constant zero tensor stored in the flatbuffer.
      tensor_of_[l.output] = new_tensor(numel, true);
      out_.constant_flash_bytes += numel;
      return;
    }
    if (terms == 1) {
      if (l.divisors[0] == 1) {
        tensor_of_[l.output] = tensor_of_[l.inputs[0]];  // the node is its single term
        return;
      }
      // Σ (1/k)·op(x) with one executed term: the 1/k is a requantisation of the int8 data.
      DeployedOp q = base_op(DeployedOpKind::kQuantize, l);
      emit(q, {l.inputs[0]}, l.output);
      return;
    }
    // n terms -> n-1 binary ADDs; ADD rescales each input, which absorbs the 1/k weights.
    int acc = tensor_of_[l.inputs[0]];
    for (std::size_t k = 1; k < terms; ++k) {
      DeployedOp add = base_op(DeployedOpKind::kAdd, l);
      int out = k + 1 == terms ? (tensor_of_[l.output] = new_tensor(numel, false))
                               : new_tensor(numel, false);
      emit_to_tensor(add, acc, tensor_of_[l.inputs[k]], out);
      acc = out;
    }
  }

  const Graph& g_;
  std::vector<int> tensor_of_;
  std::vector<int> consumers_;
  Lowered out_;
};

}  // namespace

NetworkEstimate estimate_graph(const TargetProfile& target, const Graph& graph,
                               const EstimateOptions& options) {
  if (options.clock_mhz < 0) throw Error(Status::kInvalidArgument, "clock must be > 0 MHz");
  Lowered low = Lowering(graph).run();
  NetworkEstimate est;
  est.target = target.name;
  est.clock_mhz = options.clock_mhz > 0 ? options.clock_mhz : target.clock_mhz;
  est.runtime = options.runtime;
  const double cycles_per_ms = est.clock_mhz * 1e3;

  const int n_ops = static_cast<int>(low.ops.size());
  const int n_tensors = static_cast<int>(low.tensor_numel.size());
  std::int64_t persistent = 0;
  est.model_flash_bytes =
      std::llround(target.flash_model_overhead_bytes) + low.constant_flash_bytes;
  est.layers.resize(n_ops);
  for (int i = 0; i < n_ops; ++i) {
    LayerEstimate& layer = est.layers[i];
    layer.op = low.ops[i];
    layer.cost = op_cost(target, layer.op, options.runtime);
    layer.ms = layer.cost.cycles / cycles_per_ms;
    low.schedule[i].scratch = layer.cost.scratch_bytes;
    est.cycles += layer.cost.cycles;
    est.macs += layer.cost.macs;
    persistent += layer.cost.persistent_bytes;
    est.model_flash_bytes += layer.cost.flash_bytes;
  }
  std::vector<std::int64_t> arena(n_tensors), live(n_ops);
  std::vector<int> last_use(n_tensors);
  std::unique_ptr<bool[]> to_end(new bool[n_tensors]);
  for (int t = 0; t < n_tensors; ++t) {
    arena[t] = low.tensor_constant[t] ? 0 : aligned_bytes(target, low.tensor_numel[t]);
    to_end[t] = t == low.output_tensor;
  }
  std::int64_t peak_live =
      schedule_peak(low.schedule.data(), n_ops, arena.data(), low.tensor_def.data(), to_end.get(),
                    n_tensors, last_use.data(), live.data());
  for (int i = 0; i < n_ops; ++i) est.layers[i].live_sram_bytes = live[i];
  est.peak_sram_bytes = peak_live + persistent + target.arena_fixed_bytes;
  est.flash_bytes = est.model_flash_bytes + std::llround(target.runtime_code_kb * 1024.0);
  est.analytic_latency_ms = est.cycles / cycles_per_ms;
  if (!(est.analytic_latency_ms > 0) || !std::isfinite(est.analytic_latency_ms))
    throw Error(Status::kNumericalError,
                "target '" + target.name + "' gives a latency of " +
                    std::to_string(est.analytic_latency_ms) +
                    " ms for a whole network; its constants cannot describe a real target");
  est.micronas_table_ms = micronas_constant_table_ms(graph.arch);
  est.latency_ms = options.latency_model == LatencyModel::kMicronasConstantTable
                       ? est.micronas_table_ms
                       : est.analytic_latency_ms;
  est.fits_sram = est.peak_sram_bytes <= target.sram_kb * 1024.0;
  est.fits_flash = est.flash_bytes <= target.flash_kb * 1024.0;
  return est;
}

NetworkEstimate estimate_network(const TargetProfile& target, const NetworkConfig& config,
                                 const Arch& arch, const EstimateOptions& options) {
  return estimate_graph(target, build_graph(config, arch), options);
}

double micronas_constant_table_ms(const Arch& arch) {
  // Zero-shot MicroNAS's per-op latency table (ms), indexed by Op.
  static constexpr double kTableMs[kNumOps] = {0.0, 1.43, 23.49, 80.26, 24.02};
  double total = 0;
  for (int e = 0; e < kNumEdges; ++e)
    for (int op = 0; op < kNumOps; ++op)
      if (arch.has(e, static_cast<Op>(op))) total += kTableMs[op];
  return total;
}

}  // namespace micronas::mcu
