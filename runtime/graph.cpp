#include "micronas/graph.hpp"

#include <string>

#include "micronas/error.hpp"

namespace micronas {
namespace {

// Builds layers, values and parameters in PyTorch module-registration order.
class GraphBuilder {
 public:
  explicit GraphBuilder(Graph& graph) : g_(graph) {}

  int add_value(Shape shape) {
    g_.values.push_back(shape);
    return static_cast<int>(g_.values.size()) - 1;
  }
  const Shape& shape(int value) const { return g_.values[value]; }

  int add_param(const std::string& name, std::vector<int> shape, Parameter::Role role, int fan_in,
                int fan_out) {
    Parameter p;
    p.name = name;
    p.size = 1;
    for (int d : shape) p.size *= d;
    p.shape = std::move(shape);
    p.offset = g_.num_params;
    p.fan_in = fan_in;
    p.fan_out = fan_out;
    p.role = role;
    g_.num_params += p.size;
    g_.params.push_back(std::move(p));
    return static_cast<int>(g_.params.size()) - 1;
  }

  int conv(int in, int cout, int k, int stride, int pad, const std::string& name, Origin o) {
    const Shape& s = shape(in);
    Layer l;
    l.kind = LayerKind::kConv2d;
    l.inputs = {in};
    l.kernel = k;
    l.stride = stride;
    l.pad = pad;
    l.weight = add_param(name + ".weight", {cout, s.c, k, k}, Parameter::Role::kConvWeight,
                         s.c * k * k, cout * k * k);
    l.output =
        add_value({cout, (s.h + 2 * pad - k) / stride + 1, (s.w + 2 * pad - k) / stride + 1});
    l.origin = o;
    g_.layers.push_back(l);
    return l.output;
  }

  int batch_norm(int in, const std::string& name, Origin o) {
    int c = shape(in).c;
    Layer l;
    l.kind = LayerKind::kBatchNorm;
    l.inputs = {in};
    l.weight = add_param(name + ".weight", {c}, Parameter::Role::kBatchNormWeight, 0, 0);
    l.bias = add_param(name + ".bias", {c}, Parameter::Role::kBatchNormBias, 0, 0);
    l.output = add_value(shape(in));
    l.origin = o;
    g_.layers.push_back(l);
    return l.output;
  }

  int simple(LayerKind kind, int in, Shape out, Origin o, int k = 0, int stride = 1, int pad = 0) {
    Layer l;
    l.kind = kind;
    l.inputs = {in};
    l.kernel = k;
    l.stride = stride;
    l.pad = pad;
    l.output = add_value(out);
    l.origin = o;
    g_.layers.push_back(l);
    return l.output;
  }

  int relu(int in, Origin o) { return simple(LayerKind::kReLU, in, shape(in), o); }

  int avg_pool(int in, int k, int stride, int pad, Origin o) {
    const Shape& s = shape(in);
    Shape out{s.c, (s.h + 2 * pad - k) / stride + 1, (s.w + 2 * pad - k) / stride + 1};
    return simple(LayerKind::kAvgPool, in, out, o, k, stride, pad);
  }

  int weighted_sum(std::vector<int> inputs, std::vector<int> divisors, Shape out, Origin o) {
    Layer l;
    l.kind = LayerKind::kWeightedSum;
    l.inputs = std::move(inputs);
    l.divisors = std::move(divisors);
    l.output = add_value(out);
    l.origin = o;
    g_.layers.push_back(l);
    return l.output;
  }

  // ReLU -> Conv(k, stride, pad) -> BN, as xautodl's ReLUConvBN (`<prefix>.op.{0,1,2}`).
  int relu_conv_bn(int in, int cout, int k, int stride, int pad, const std::string& prefix,
                   Origin o) {
    int r = relu(in, o);
    int c = conv(r, cout, k, stride, pad, prefix + ".op.1", o);
    return batch_norm(c, prefix + ".op.2", o);
  }

  int cell(int in, int index) {
    const Arch& arch = g_.arch;
    Shape s = shape(in);
    std::string prefix = "cells." + std::to_string(index);
    std::vector<int> nodes = {in};
    std::vector<std::vector<int>> node_terms(kNumNodes);
    std::vector<std::vector<int>> node_divisors(kNumNodes);
    for (int to = 1; to < kNumNodes; ++to) {
      for (int e = 0; e < kNumEdges; ++e) {
        if (kEdgeTo[e] != to) continue;
        int from = kEdgeFrom[e];
        // TE-NAS's softmax over {0 active, -1000 pruned} gives exactly 1/k per active op.
        int k = arch.num_active(e);
        std::string edge_prefix =
            prefix + ".edges." + std::to_string(to) + "<-" + std::to_string(from) + ".";
        for (Op op : arch.ops(e)) {
          Origin o{BlockKind::kCell, index, e, op};
          std::string op_prefix = edge_prefix + std::to_string(static_cast<int>(op));
          int out = -1;
          switch (op) {
            case Op::kNone: continue;  // contributes zero; not executed
            case Op::kSkipConnect: out = nodes[from]; break;
            case Op::kConv1x1: out = relu_conv_bn(nodes[from], s.c, 1, 1, 0, op_prefix, o); break;
            case Op::kConv3x3: out = relu_conv_bn(nodes[from], s.c, 3, 1, 1, op_prefix, o); break;
            case Op::kAvgPool3x3: out = avg_pool(nodes[from], 3, 1, 1, o); break;
          }
          node_terms[to].push_back(out);
          node_divisors[to].push_back(k);
        }
      }
      nodes.push_back(weighted_sum(node_terms[to], node_divisors[to], s,
                                   Origin{BlockKind::kCell, index, -1, Op::kNone}));
    }
    return nodes.back();
  }

  // xautodl's ResNetBasicblock with stride 2: conv_a, conv_b, then the AvgPool2x2 + Conv1x1
  // shortcut (registration order), output = shortcut + conv_b(conv_a(x)).
  int reduction(int in, int cout, int index) {
    std::string prefix = "cells." + std::to_string(index);
    Origin o{BlockKind::kReduction, index, -1, Op::kNone};
    int a = relu_conv_bn(in, cout, 3, 2, 1, prefix + ".conv_a", o);
    int b = relu_conv_bn(a, cout, 3, 1, 1, prefix + ".conv_b", o);
    int pooled = avg_pool(in, 2, 2, 0, o);
    int shortcut = conv(pooled, cout, 1, 1, 0, prefix + ".downsample.1", o);
    return weighted_sum({shortcut, b}, {1, 1}, shape(b), o);
  }

 private:
  Graph& g_;
};

}  // namespace

const char* dataset_name(Dataset dataset) {
  switch (dataset) {
    case Dataset::kCifar10: return "cifar10";
    case Dataset::kCifar100: return "cifar100";
    case Dataset::kImageNet16: return "imagenet16";
  }
  return "?";
}

Dataset dataset_from_name(const std::string& name) {
  if (name == "cifar10") return Dataset::kCifar10;
  if (name == "cifar100") return Dataset::kCifar100;
  if (name == "imagenet16" || name == "ImageNet16-120") return Dataset::kImageNet16;
  throw Error(Status::kInvalidArgument,
              "unknown dataset '" + name + "' (expected cifar10, cifar100 or imagenet16)");
}

NetworkConfig NetworkConfig::nb201(Dataset dataset) {
  NetworkConfig c;
  c.channels = 16;
  c.cells_per_stage = 5;
  c.input_size = dataset == Dataset::kImageNet16 ? 16 : 32;
  c.num_classes = dataset == Dataset::kCifar10 ? 10 : dataset == Dataset::kCifar100 ? 100 : 120;
  return c;
}

NetworkConfig NetworkConfig::ntk(Dataset dataset) {
  NetworkConfig c = nb201(dataset);
  c.channels = 3;
  c.cells_per_stage = 1;
  return c;
}

NetworkConfig NetworkConfig::linear_regions(Dataset dataset) {
  NetworkConfig c = nb201(dataset);
  c.channels = 1;
  c.cells_per_stage = 1;
  c.use_stem = false;
  c.depth = 1;
  c.input_channels = 1;
  c.input_size = 3;
  return c;
}

void NetworkConfig::validate() const {
  auto fail = [](const std::string& what) { throw Error(Status::kInvalidArgument, what); };
  if (channels < 1) fail("network channels C must be >= 1, got " + std::to_string(channels));
  if (cells_per_stage < 1)
    fail("cells per stage N must be >= 1, got " + std::to_string(cells_per_stage));
  if (input_channels < 1)
    fail("input channels must be >= 1, got " + std::to_string(input_channels));
  if (num_classes < 1) fail("classes must be >= 1, got " + std::to_string(num_classes));
  if (input_size < 1) fail("input size must be >= 1, got " + std::to_string(input_size));
  if (!use_stem && input_channels != channels)
    fail("without a stem the input channels (" + std::to_string(input_channels) +
         ") must equal C (" + std::to_string(channels) + ")");
  int total = 3 * cells_per_stage + 2;
  int kept = depth > 0 && depth < total ? depth : total;
  int reductions = kept > 2 * cells_per_stage + 1 ? 2 : kept > cells_per_stage ? 1 : 0;
  // Each reduction halves the size; its two branches (stride-2 conv, 2x2 pool) agree only on
  // even sizes.
  int size = input_size;
  for (int r = 0; r < reductions; ++r, size /= 2)
    if (size % 2 != 0)
      fail("input size " + std::to_string(input_size) + " must stay even through " +
           std::to_string(reductions) + " stride-2 reduction(s)");
}

const char* layer_kind_name(LayerKind kind) {
  switch (kind) {
    case LayerKind::kConv2d: return "conv2d";
    case LayerKind::kBatchNorm: return "batch_norm";
    case LayerKind::kReLU: return "relu";
    case LayerKind::kAvgPool: return "avg_pool";
    case LayerKind::kGlobalAvgPool: return "global_avg_pool";
    case LayerKind::kLinear: return "linear";
    case LayerKind::kWeightedSum: return "weighted_sum";
  }
  return "?";
}

Graph build_graph(const NetworkConfig& config, const Arch& arch) {
  config.validate();
  Graph g;
  g.config = config;
  g.arch = arch;
  GraphBuilder b(g);
  int x = b.add_value({config.input_channels, config.input_size, config.input_size});
  if (config.use_stem) {
    Origin o{BlockKind::kStem, -1, -1, Op::kNone};
    x = b.conv(x, config.channels, 3, 1, 1, "stem.0", o);
    x = b.batch_norm(x, "stem.1", o);
  }
  // The cells/blocks list: N cells (C), block (2C), N cells (2C), block (4C), N cells (4C).
  const int n = config.cells_per_stage;
  std::vector<int> block_channels;
  std::vector<bool> is_reduction;
  for (int stage = 0; stage < 3; ++stage) {
    if (stage > 0) {
      block_channels.push_back(config.channels << stage);
      is_reduction.push_back(true);
    }
    for (int i = 0; i < n; ++i) {
      block_channels.push_back(config.channels << stage);
      is_reduction.push_back(false);
    }
  }
  int count = static_cast<int>(block_channels.size());
  if (config.depth > 0 && config.depth < count) count = config.depth;
  for (int i = 0; i < count; ++i)
    x = is_reduction[i] ? b.reduction(x, block_channels[i], i) : b.cell(x, i);

  Origin head{BlockKind::kHead, -1, -1, Op::kNone};
  x = b.batch_norm(x, "lastact.0", head);
  x = b.relu(x, head);
  int c = b.shape(x).c;
  x = b.simple(LayerKind::kGlobalAvgPool, x, Shape{c, 1, 1}, head);
  Layer fc;
  fc.kind = LayerKind::kLinear;
  fc.inputs = {x};
  fc.weight = b.add_param("classifier.weight", {config.num_classes, c},
                          Parameter::Role::kLinearWeight, c, config.num_classes);
  fc.bias = b.add_param("classifier.bias", {config.num_classes}, Parameter::Role::kLinearBias, c,
                        config.num_classes);
  fc.output = b.add_value({config.num_classes, 1, 1});
  fc.origin = head;
  g.layers.push_back(fc);
  g.logits = fc.output;
  return g;
}

ModelSize model_size(const Graph& graph) {
  ModelSize size;
  size.params = graph.num_params;
  for (const Layer& l : graph.layers) {
    if (l.kind == LayerKind::kConv2d) {
      const Shape& out = graph.values[l.output];
      size.macs += graph.params[l.weight].size * out.h * out.w;
    } else if (l.kind == LayerKind::kLinear) {
      size.macs += graph.params[l.weight].size + graph.params[l.bias].size;
    }
  }
  return size;
}

}  // namespace micronas
