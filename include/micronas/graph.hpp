// The network as a flat, executable graph: the NB201 macro skeleton (stem, cells, ResNet
// reduction blocks, head) for a cell or supernet state, lowered to primitive layers in execution
// order. Every consumer works from this one description: the executor, FLOPs/params counting,
// parameter naming and the microcontroller cost model.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "micronas/arch.hpp"

namespace micronas {

enum class Dataset { kCifar10, kCifar100, kImageNet16 };
const char* dataset_name(Dataset dataset);
Dataset dataset_from_name(const std::string& name);  // cifar10 | cifar100 | imagenet16

// The macro skeleton (C, N, use_stem, depth) plus input and output sizes.
struct NetworkConfig {
  int channels = 16;        // C: channels of the first stage (2C, 4C after each reduction)
  int cells_per_stage = 5;  // N
  bool use_stem = true;     // Conv3x3(in->C)+BN before the first cell
  int depth = -1;           // >0: keep only the first `depth` cells/blocks
  int input_channels = 3;
  int input_size = 32;  // square H = W
  int num_classes = 10;

  // NB201's evaluation network (C=16, N=5) for a dataset.
  static NetworkConfig nb201(Dataset dataset);
  // TE-NAS's NTK network: C=3, N=1, stem.
  static NetworkConfig ntk(Dataset dataset);
  // TE-NAS's linear-region "thin" network: C=1, N=1, depth 1, no stem, 1x3x3 input.
  static NetworkConfig linear_regions(Dataset dataset);

  void validate() const;  // throws Error(kInvalidArgument) naming the bad field
};

enum class LayerKind {
  kConv2d,         // no bias; weight [Cout, Cin, K, K]
  kBatchNorm,      // training mode; weight = gamma [C], bias = beta [C]
  kReLU,           //
  kAvgPool,        // K x K, stride, pad; count_include_pad = false
  kGlobalAvgPool,  // [C, H, W] -> [C, 1, 1]
  kLinear,         // weight [out, in], bias [out]
  kWeightedSum,    // out = Σ inputs[k] · (1 / divisors[k]), accumulated left to right
};
const char* layer_kind_name(LayerKind kind);

// Per-sample tensor shape (the batch dimension is not part of the graph).
struct Shape {
  int c = 0, h = 0, w = 0;
  std::int64_t numel() const { return static_cast<std::int64_t>(c) * h * w; }
  bool operator==(const Shape& o) const { return c == o.c && h == o.h && w == o.w; }
};

// Where a layer comes from in the macro skeleton, for per-cell/per-edge breakdowns.
enum class BlockKind { kStem, kCell, kReduction, kHead };
struct Origin {
  BlockKind block = BlockKind::kStem;
  int block_index = -1;  // position in the cells/blocks list (the `cells.<i>` key), -1 otherwise
  int edge = -1;         // kCell only: edge 0..5, -1 for the node sums
  Op op = Op::kNone;     // kCell only, edge >= 0
};

struct Layer {
  LayerKind kind;
  std::vector<int> inputs;  // value ids
  // kWeightedSum: input k is scaled by 1/divisors[k] (TE-NAS's softmax weight of a mixed edge
  // with k active ops is exactly 1/k, computed in the precision of the network).
  std::vector<int> divisors;
  int output = -1;                      // value id
  int kernel = 0, stride = 1, pad = 0;  // conv and pooling
  int weight = -1, bias = -1;           // parameter ids, -1 if none
  Origin origin;
};

// One trainable tensor. Names follow the state_dict keys of the NB201 search network used by
// TE-NAS (e.g. `cells.0.edges.1<-0.3.op.1.weight`); ids follow module registration order.
struct Parameter {
  std::string name;
  std::vector<int> shape;
  std::int64_t size = 0;
  std::int64_t offset = 0;  // position in the flat parameter vector
  int fan_in = 0, fan_out = 0;
  enum class Role { kConvWeight, kBatchNormWeight, kBatchNormBias, kLinearWeight, kLinearBias };
  Role role;
  // TE-NAS's Jacobian takes the parameters whose name contains "weight".
  bool is_weight() const { return role != Role::kBatchNormBias && role != Role::kLinearBias; }
};

struct Graph {
  NetworkConfig config;
  Arch arch;
  std::vector<Shape> values;  // value 0 is the network input
  std::vector<Layer> layers;  // execution order
  std::vector<Parameter> params;
  std::int64_t num_params = 0;
  int logits = -1;  // value id of the classifier output [classes, 1, 1]
};

// Builds the network of `config` whose cells all use `arch`. Edges with several active ops are
// mixed: Σ (1/k)·op(x) over the k active ops (k counts every active op, `none` included, as
// TE-NAS's softmax does); `none` contributes zero and is not executed.
Graph build_graph(const NetworkConfig& config, const Arch& arch);

// NB201's counting convention: FLOPs = multiply-accumulates of conv and linear layers (linear
// bias counted as one per output; pooling, BN, ReLU, sums not counted); params include BN affine
// and the classifier bias.
struct ModelSize {
  std::int64_t macs = 0;
  std::int64_t params = 0;
  double flops_m() const { return static_cast<double>(macs) / 1e6; }
  double params_m() const { return static_cast<double>(params) / 1e6; }
};
ModelSize model_size(const Graph& graph);

}  // namespace micronas
