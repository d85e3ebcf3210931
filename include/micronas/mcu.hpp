// Microcontroller cost model: latency, peak SRAM and flash of a network deployed as an int8
// TensorFlow Lite Micro + CMSIS-NN model (or a code-generated runtime) on a Cortex-M target.
// NB201 networks here; the time-series space's networks through the same model in
// micronas/timeseries_cost.hpp.
//
// Latency of each deployed op = CPI(core, op family) x instructions(op shape) + per-op interpreter
// overhead; instruction counts are linear forms in shape features fitted on QEMU counts of the
// CMSIS-NN kernels, CPIs on cycle measurements (see mcu/targets/targets.json for every constant's
// origin, mcu/VALIDATION.md for the errors). Peak SRAM simulates TFLite Micro's arena: its greedy
// memory planner over the tensors' lifetimes and the kernels' scratch buffers, plus persistent
// data; flash counts int8 weights, per-channel data and model/runtime overheads.
// All functions are host-only, deterministic and thread-safe on distinct objects.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "micronas/arch.hpp"
#include "micronas/graph.hpp"

namespace micronas::mcu {

// Op families that share one instruction-count form and one CPI per core.
enum class CostFamily : std::uint8_t {
  kConvIm2col,      // arm_convolve_s8 (im2col + 2x2 SMLAD kernel)
  kConv1x1,         // arm_convolve_1x1_s8_fast (1x1, stride 1, no padding, Cin % 4 == 0)
  kFullyConnected,  // arm_fully_connected_s8
  kAveragePool,     // arm_avgpool_s8 (also GAP exported as AVERAGE_POOL_2D)
  kAdd,             // int8 ADD / MUL with requantisation of both inputs and the output
  kRelu,            // stand-alone TFLM int8 RELU
  kQuantize,        // int8 -> int8 requantisation (a 1/k-scaled single-term node)
  kMean,            // TFLM reference MEAN (Keras GlobalAveragePooling2D export)
  kSoftmax,         // int8 SOFTMAX (arm_softmax_s8) over a vector of class scores
  // arm_depthwise_conv_s8_opt on a 1x1 filter, depth multiplier 1 (a per-channel affine: the
  // time-series networks' batch norm after the ReLU). Derived from CMSIS-NN's source, not
  // measured (mcu/VALIDATION.md).
  kDepthwise1x1,
};
inline constexpr int kNumCostFamilies = 10;
const char* cost_family_name(CostFamily family);  // "conv_im2col", ... (the JSON keys)

// A linear instruction-count form over the family's features (see op_cost.cpp for their order).
struct InstructionForm {
  std::vector<double> coefficients;
};

// The kinds of deployed int8 operator.
enum class DeployedOpKind {
  kConv2d,
  kFullyConnected,
  kAveragePool2d,
  kAdd,
  kMul,
  kRelu,
  kQuantize,
  kMean,
  kPad,
  kSoftmax,
  kDepthwiseConv2d,  // 1x1, depth multiplier 1 only (the one shape the cost model prices)
};
inline constexpr int kNumDeployedOpKinds = 11;
const char* deployed_op_name(DeployedOpKind kind);  // TFLite builtin names, e.g. "CONV_2D"

// One target: core, clock, memories and the fitted constants. Loaded from JSON.
struct TargetProfile {
  std::string name;
  std::string description;
  std::string core;
  double clock_mhz = 0;
  double sram_kb = 0;
  double flash_kb = 0;
  std::string measured_device;  // `device` value of this board's rows in a measured table, or ""
  std::array<InstructionForm, kNumCostFamilies> instructions;
  std::array<double, kNumCostFamilies> cpi{};
  double tflm_op_overhead_cycles = 0;      // interpreter cost per op (Invoke minus kernel)
  int arena_fixed_bytes = 0;               // TFLM arena bytes of a one-op model beyond its tensors
  int tensor_alignment = 16;               // TFLM arena alignment of each buffer
  int add_op_data_bytes = 0;               // persistent arena bytes per ADD/MUL
  double flash_per_out_channel_bytes = 0;  // int32 bias + per-channel quantisation data
  double flash_model_overhead_bytes = 0;   // flatbuffer of a model beyond its ops and constants
  double flash_per_op_bytes = 0;           // flatbuffer bytes of each op and its output tensor
  // Per op kind (indexed by DeployedOpKind), replacing flash_per_op_bytes where set: an op's
  // table, options and tensor lists differ by kind (a RELU has one input and no options).
  std::array<std::optional<double>, kNumDeployedOpKinds> flash_per_op_kind_bytes{};
  double flash_per_constant_tensor_bytes = 0;  // of each constant tensor beyond its data
  double runtime_code_kb = 0;                  // interpreter + kernel code in flash
  std::string document;  // the JSON object this profile was read from (keeps the origins)

  // The profile as a JSON object in the format of mcu/targets/targets.json's entries; the
  // fields above replace those in `document`, other fields (origins) are kept.
  std::string to_json() const;
  // Flatbuffer bytes of one op of `kind` and its output tensor.
  double flash_op_bytes(DeployedOpKind kind) const;
};

// Names of the profiles built into the library (stm32f746 first: the default).
std::vector<std::string> builtin_target_names();
// A built-in name, or the path of a JSON file holding one profile object or a
// {"targets": [...]} document (its first target). Throws Error(kInvalidArgument) for an unknown
// name, Error(kIoError)/Error(kParseError) for an unreadable or malformed file.
TargetProfile load_target(const std::string& name_or_path);
TargetProfile parse_target_json(const std::string& json_text, const std::string& source);

enum class Runtime { kTflm, kCodegen };              // codegen: no interpreter overhead
Runtime runtime_from_name(const std::string& name);  // "tflm" | "codegen"
const char* runtime_name(Runtime runtime);

enum class LatencyModel {
  kAnalytic,               // this model
  kMicronasConstantTable,  // zero-shot MicroNAS: constant ms per active (edge, op) of the cell
};
// "model" (kAnalytic) | "micronas" (kMicronasConstantTable), the --latency-table names.
LatencyModel latency_model_from_name(const std::string& name);
const char* latency_model_name(LatencyModel model);

struct EstimateOptions {
  Runtime runtime = Runtime::kTflm;
  double clock_mhz = 0;  // > 0 overrides the target's clock
  LatencyModel latency_model = LatencyModel::kAnalytic;
};

// One deployed int8 operator. Shapes are per sample (C, H, W).
struct DeployedOp {
  DeployedOpKind kind = DeployedOpKind::kConv2d;
  Shape input, output;
  int kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_top = 0, pad_left = 0;
  bool fused_relu = false;
  int constant_inputs = 0;  // constant tensors it reads (weights, bias; a BN's channel vector)
  Origin origin;
};

struct OpCost {
  CostFamily family = CostFamily::kAdd;
  std::int64_t macs = 0;
  double instructions = 0;
  std::int64_t cycles = 0;            // CPI x instructions (rounded) + per-op overhead
  std::int64_t scratch_bytes = 0;     // arena scratch while the op runs (conv im2col buffer)
  std::int64_t persistent_bytes = 0;  // arena bytes kept for the whole run (per-channel data)
  std::int64_t flash_bytes = 0;       // weights + per-channel data
};
OpCost op_cost(const TargetProfile& target, const DeployedOp& op, Runtime runtime);
// Arena of a TFLM model holding only `op` (the quantity measured in arena_bytes).
std::int64_t single_op_arena_bytes(const TargetProfile& target, const DeployedOp& op);

struct LayerEstimate {
  DeployedOp op;
  OpCost cost;
  double ms = 0;
  // Live activations + this op's scratch; their maximum over the ops bounds the plan below.
  std::int64_t live_sram_bytes = 0;
};

struct NetworkEstimate {
  std::string target;
  double clock_mhz = 0;
  Runtime runtime = Runtime::kTflm;
  std::vector<LayerEstimate> layers;
  std::int64_t cycles = 0;
  double latency_ms = 0;  // analytic, or the MicroNAS table when that option is chosen
  double analytic_latency_ms = 0;
  double micronas_table_ms = 0;
  // TFLite Micro's arena: the greedy plan of the tensors and the kernels' scratch buffers (its
  // non-persistent head), + persistent data + the fixed arena.
  std::int64_t peak_sram_bytes = 0;
  std::int64_t arena_plan_bytes = 0;       // the head
  std::int64_t activation_plan_bytes = 0;  // the plan without scratch (reference kernels')
  std::int64_t model_flash_bytes = 0;
  std::int64_t flash_bytes = 0;  // model + runtime code
  std::int64_t macs = 0;
  bool fits_sram = false, fits_flash = false;
  double peak_sram_kb() const { return peak_sram_bytes / 1024.0; }
  double flash_kb() const { return flash_bytes / 1024.0; }
};

// Lowers `graph` to deployed ops: BN folded into the preceding conv; a ReLU fused into a conv/ADD
// whose output it alone reads (Conv-BN-ReLU inside a reduction block, BN-ReLU of the head); each
// ReLU-Conv-BN edge keeps its own RELU op; a stand-alone BN becomes MUL + ADD; a node sum of n
// terms becomes n-1 ADDs (a mixed edge's 1/k scale is absorbed by ADD's per-input rescaling, or
// is a QUANTIZE op when the node has a single term); an all-`none` node is a constant zero tensor
// in flash; GAP becomes AVERAGE_POOL_2D; a conv whose PyTorch padding is not TFLite's SAME (the
// reductions' stride-2 3x3 convs on even maps: 1 before, TFLite 0) reads an explicit PAD op's
// output and pads nothing itself.
NetworkEstimate estimate_graph(const TargetProfile& target, const Graph& graph,
                               const EstimateOptions& options = {});
NetworkEstimate estimate_network(const TargetProfile& target, const NetworkConfig& config,
                                 const Arch& arch, const EstimateOptions& options = {});

// Zero-shot MicroNAS's constant table (ms): skip 1.43, conv1x1 23.49, conv3x3 80.26, avg-pool
// 24.02, none 0, summed over the active (edge, op) pairs of the cell.
double micronas_constant_table_ms(const Arch& arch);

// Whole-network NB201 estimates from per-(stage, op) costs precomputed with the layer model:
// latency and flash in O(edges), peak SRAM by TFLite Micro's planner over the network's schedule
// assembled from the cell's and the fixed blocks' (no graph, no lowering); equal to
// estimate_network() (cycles, peak SRAM and flash exactly). The config must be NB201's skeleton
// with all three stages (depth <= 0).
class Nb201CostTable {
 public:
  Nb201CostTable(const TargetProfile& target, const NetworkConfig& config,
                 const EstimateOptions& options = {});

  struct Estimate {
    std::int64_t cycles = 0;  // latency_ms at the target's clock
    double latency_ms = 0;    // follows options.latency_model
    std::int64_t peak_sram_bytes = 0;
    std::int64_t flash_bytes = 0;  // model + runtime code
  };
  Estimate estimate(const Arch& arch) const noexcept;
  double latency_ms(const Arch& arch) const noexcept;  // estimate(arch).latency_ms, faster
  // Latency removed from the whole network when each active (edge, op) is pruned:
  // latency(arch) - latency(arch.without(edge, op)); pruning an edge's only op leaves `none`;
  // 0 for inactive pairs.
  std::array<std::array<double, kNumOps>, kNumEdges> pruning_deltas_ms(const Arch& arch) const;

 private:
  struct Stage {
    std::int64_t tensor_bytes = 0;
    std::array<std::int64_t, kNumOps> op_cycles{};  // an op on one edge, its RELU included
    std::array<std::int64_t, kNumOps> op_flash{};
    std::array<std::int64_t, kNumOps> op_scratch{};  // the conv's im2col scratch
    std::array<std::int64_t, kNumOps> op_persistent{};
    std::int64_t add_cycles = 0, quantize_cycles = 0, add_persistent = 0;
    std::int64_t add_flash = 0, quantize_flash = 0, constant_flash = 0;  // constant: a zero node
  };
  // An op of a block outside the cells (stem, the two reductions, the head), deployed alike for
  // every cell: it writes one new tensor and reads the block's input or earlier ops' outputs.
  static constexpr int kBlockInput = -2;
  struct BlockOp {
    int in0 = -1, in1 = -1;  // kBlockInput, the index of an earlier op of the block, or -1
    std::int64_t out_bytes = 0, scratch = 0;
  };
  // All but the arena plan: peak_sram_bytes holds the persistent and fixed arena only.
  Estimate costs(const Arch& arch) const noexcept;
  std::int64_t arena_plan_bytes(const Arch& arch) const;
  void read_fixed_blocks(const TargetProfile& target, const NetworkConfig& config,
                         const NetworkEstimate& all);

  std::array<Stage, 3> stages_{};
  int cells_per_stage_ = 0;
  std::int64_t fixed_cycles_ = 0, fixed_flash_ = 0, fixed_persistent_ = 0;
  std::array<std::vector<BlockOp>, 4> blocks_;
  std::int64_t input_bytes_ = 0;
  std::int64_t arena_fixed_ = 0, runtime_code_bytes_ = 0;
  double cycles_per_ms_ = 1;
  LatencyModel latency_model_ = LatencyModel::kAnalytic;
};

// Rows of a measured single-op table in the format of measured_ops_cmsis_tflm.csv (columns op,
// input_shape, output_shape, kernel, stride, padding, activation, kernel_cycles; optional device,
// invoke_cycles, arena_bytes). Throws Error(kIoError) naming file, line and column.
struct MeasuredOp {
  int line = 0;
  std::string device, op, input_shape, output_shape, kernel, stride;
  bool supported = false;  // conv2d, add, global_average_pooling2d, softmax
  DeployedOp deployed;
  std::int64_t kernel_cycles = 0;
  std::int64_t invoke_cycles = -1;  // -1: column absent
  std::int64_t arena_bytes = -1;
};
std::vector<MeasuredOp> read_measured_ops(const std::string& csv_path);
// Rows of `rows` measured on `target` (its measured_device) when any are, else all rows.
std::vector<MeasuredOp> rows_for_target(const TargetProfile& target,
                                        const std::vector<MeasuredOp>& rows);

struct OpPrediction {
  CostFamily family = CostFamily::kAdd;
  std::int64_t kernel_cycles = 0;  // the op alone, no interpreter overhead
  std::int64_t arena_bytes = 0;
};
OpPrediction predict_measured(const TargetProfile& target, const MeasuredOp& row);

// Least-squares refit on a user's measurements: per family with rows, the CPI minimising the
// squared relative cycle error; the per-op overhead as the median of invoke - kernel cycles.
// Instruction forms and memory constants are kept from `base`. Throws Error(kInvalidArgument)
// when no supported row is given.
TargetProfile calibrate(const TargetProfile& base, const std::vector<MeasuredOp>& rows,
                        const std::string& new_name);

}  // namespace micronas::mcu
