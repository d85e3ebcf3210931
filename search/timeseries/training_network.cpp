// The time-series space's exact networks and supernet as training graphs (see
// include/micronas/timeseries_training.hpp).
#include <algorithm>
#include <string>

#include "micronas/error.hpp"
#include "micronas/timeseries_lowering.hpp"
#include "micronas/timeseries_training.hpp"

namespace micronas::timeseries {
namespace {

using training::TrainingGraph;

// conv → ReLU → batch norm, the cells' convolution block.
int conv_relu_bn(TrainingGraph& g, const std::string& name, int x, int cout, int kh, int kw, int sh,
                 int sw) {
  const int c = g.conv(name, x, cout, kh, kw, sh, sw);
  return g.batch_norm(name + ".bn", g.relu(c));
}

int head(TrainingGraph& g, int x, int classes, bool log_softmax) {
  const int c = g.conv("head.conv", x, classes, 1, 1, 1, 1);
  const int logits = g.global_avg_pool(g.relu(c));
  return log_softmax ? g.log_softmax(logits) : logits;
}

std::string cell_name(const char* kind, std::size_t i) { return kind + std::to_string(i + 1); }

// mask[c] = P(width > c) for widths[i] with probability p[i].
std::vector<float> width_mask(const std::vector<int>& widths, const std::vector<double>& p,
                              int channels) {
  std::vector<float> mask(static_cast<std::size_t>(channels));
  for (int c = 0; c < channels; ++c) {
    double s = 0.0;
    for (std::size_t i = 0; i < widths.size(); ++i)
      if (widths[i] > c) s += p[i];
    mask[c] = static_cast<float>(s);
  }
  return mask;
}

// dL/dp_i = Σ_{c < widths[i]} dL/dmask[c], the transpose of width_mask.
std::vector<double> width_mask_backward(const std::vector<int>& widths,
                                        const std::vector<double>& dmask) {
  std::vector<double> dp(widths.size(), 0.0);
  for (std::size_t i = 0; i < widths.size(); ++i)
    for (int c = 0; c < widths[i]; ++c) dp[i] += dmask[c];
  return dp;
}

}  // namespace

TrainingGraph exact_network(const Space& space, const Arch& arch, const NetworkOptions& options) {
  LoweringOptions lo;
  lo.dropout = options.dropout;
  const LayerGraph lg = lower(space, arch, lo);
  TrainingGraph g({1, space.length(), space.sensors()});
  std::vector<int> node(lg.layers.size(), -1);
  const auto source = [&](int layer) { return layer < 0 ? g.input() : node[layer]; };
  for (std::size_t i = 0; i < lg.layers.size(); ++i) {
    const Layer& l = lg.layers[i];
    const int x = source(l.inputs.empty() ? -1 : l.inputs[0]);
    switch (l.kind) {
      case LayerKind::kConv: {
        // A Time-Reduce conv carries its kernel in its name, as in the supernet.
        const bool time_reduce = l.cell >= 0 && l.cell < space.time_reduce_cells();
        const std::string name = time_reduce ? l.name + "_k" + std::to_string(l.kh) : l.name;
        const int c = g.conv(name, x, l.out.c, l.kh, l.kw, l.sh, l.sw);
        node[i] = l.batch_norm ? g.batch_norm(name + ".bn", g.relu(c)) : g.relu(c);
        break;
      }
      case LayerKind::kAdd: node[i] = g.add({source(l.inputs[0]), source(l.inputs[1])}); break;
      case LayerKind::kDropout:
        node[i] = g.dropout(x, l.dropout, static_cast<std::uint64_t>(l.cell));
        break;
      case LayerKind::kGlobalAvgPool: node[i] = g.global_avg_pool(x); break;
      case LayerKind::kSoftmax: node[i] = options.log_softmax ? g.log_softmax(x) : x; break;
    }
  }
  return g;
}

TrainingGraph supernet(const Space& space, const NetworkOptions& options) {
  if (!(options.dropout >= 0.0 && options.dropout < 1.0))
    throw Error(Status::kInvalidArgument, "dropout must be in [0, 1)");
  const SpaceOptions& so = space.options();
  TrainingGraph g({1, space.length(), space.sensors()});
  int x = g.input();
  int cell = 0;
  for (int i = 0; i < space.time_reduce_cells(); ++i, ++cell) {
    const std::string p = cell_name("tr", i);
    const int kernel = g.add_mixing(p + ".kernel", static_cast<int>(so.kernels.size()));
    const int width = g.add_mixing(p + ".width", so.time_width_max);
    std::vector<int> terms;
    for (std::size_t k = 0; k < so.kernels.size(); ++k) {
      const int K = so.kernels[k];
      const int y =
          conv_relu_bn(g, p + ".conv_k" + std::to_string(K), x, so.time_width_max, K, 1, 2, 1);
      terms.push_back(g.scale(y, kernel, static_cast<int>(k)));
    }
    x = g.dropout(g.channel_scale(g.add(terms), width), options.dropout,
                  static_cast<std::uint64_t>(cell));
  }
  for (int i = 0; i < space.sensor_fusion_cells(); ++i, ++cell) {
    const std::string p = cell_name("sf", i);
    const bool reduces = space.reduces(i);
    const int sw = reduces ? 2 : 1;
    const int bottleneck = g.add_mixing(p + ".bottleneck", so.bottleneck_max);
    const int branch = g.add_mixing(p + ".branch", static_cast<int>(kBranchKernels.size()));
    const int width = g.add_mixing(p + ".width", so.block_width_max);
    const int residual = g.add_mixing(p + ".residual", 1);
    const int skip = reduces ? -1 : g.add_mixing(p + ".skip", 2);
    const int sensors = g.nodes()[x].shape.w;
    const int neck = g.channel_scale(
        conv_relu_bn(g, p + ".bottleneck", x, so.bottleneck_max, 1, sensors, 1, sw), bottleneck);
    std::vector<int> terms;
    for (std::size_t k = 0; k < kBranchKernels.size(); ++k) {
      const int K = kBranchKernels[k];
      const int y =
          conv_relu_bn(g, p + ".branch" + std::to_string(K), neck, so.block_width_max, K, 1, 1, 1);
      terms.push_back(g.scale(y, branch, static_cast<int>(k)));
    }
    const int res = reduces ? conv_relu_bn(g, p + ".residual", x, so.block_width_max, 1, 2, 1, 2)
                            : conv_relu_bn(g, p + ".residual", x, so.block_width_max, 1, 1, 1, 1);
    terms.push_back(g.scale(res, residual, 0));
    const int out = g.dropout(g.channel_scale(g.add(terms), width), options.dropout,
                              static_cast<std::uint64_t>(cell));
    x = reduces ? out : g.add({g.scale(x, skip, 0), g.scale(out, skip, 1)});
  }
  head(g, x, space.classes(), options.log_softmax);
  return g;
}

training::MixingValues supernet_mixing(const Space& space, const TrainingGraph& net,
                                       const ArchDistribution& d) {
  d.check(space);
  training::MixingValues m(net.mixings().size());
  const auto set = [&](const std::string& name, std::vector<float> v) {
    const int i = net.find_mixing(name);
    if (i < 0 || static_cast<int>(v.size()) != net.mixings()[i].size)
      throw Error(Status::kInvalidArgument, "the network has no mixing input " + name + " of " +
                                                std::to_string(v.size()) + " values");
    m[i] = std::move(v);
  };
  const SpaceOptions& so = space.options();
  for (std::size_t i = 0; i < d.time_reduce.size(); ++i) {
    const std::string p = cell_name("tr", i);
    set(p + ".kernel",
        std::vector<float>(d.time_reduce[i].kernel.begin(), d.time_reduce[i].kernel.end()));
    set(p + ".width", width_mask(space.time_widths(), d.time_reduce[i].width, so.time_width_max));
  }
  for (std::size_t i = 0; i < d.sensor_fusion.size(); ++i) {
    const SensorFusionDistribution& s = d.sensor_fusion[i];
    const std::string p = cell_name("sf", i);
    set(p + ".bottleneck", width_mask(space.bottleneck_widths(), s.bottleneck, so.bottleneck_max));
    set(p + ".branch", std::vector<float>(s.branch.begin(), s.branch.end()));
    set(p + ".width", width_mask(space.block_widths(), s.width, so.block_width_max));
    set(p + ".residual", {static_cast<float>(s.residual)});
    if (!space.reduces(static_cast<int>(i)))
      set(p + ".skip", {static_cast<float>(s.skip), static_cast<float>(1.0 - s.skip)});
  }
  for (std::size_t i = 0; i < m.size(); ++i)
    if (m[i].empty())
      throw Error(Status::kInvalidArgument, "no value for mixing input " + net.mixings()[i].name);
  return m;
}

ArchDistribution supernet_mixing_backward(const Space& space, const TrainingGraph& net,
                                          const training::MixingGradients& dmixing) {
  if (dmixing.size() != net.mixings().size())
    throw Error(Status::kInvalidArgument, "mixing gradients: " + std::to_string(dmixing.size()) +
                                              " inputs, the network has " +
                                              std::to_string(net.mixings().size()));
  const auto get = [&](const std::string& name) -> const std::vector<double>& {
    const int i = net.find_mixing(name);
    if (i < 0 || dmixing[i].size() != static_cast<std::size_t>(net.mixings()[i].size))
      throw Error(Status::kInvalidArgument, "no gradient of mixing input " + name);
    return dmixing[i];
  };
  ArchDistribution g = ArchDistribution::uniform(space);
  for (std::size_t i = 0; i < g.time_reduce.size(); ++i) {
    const std::string p = cell_name("tr", i);
    g.time_reduce[i].kernel = get(p + ".kernel");
    g.time_reduce[i].width = width_mask_backward(space.time_widths(), get(p + ".width"));
  }
  for (std::size_t i = 0; i < g.sensor_fusion.size(); ++i) {
    SensorFusionDistribution& s = g.sensor_fusion[i];
    const std::string p = cell_name("sf", i);
    s.bottleneck = width_mask_backward(space.bottleneck_widths(), get(p + ".bottleneck"));
    const std::vector<double>& branch = get(p + ".branch");
    std::copy(branch.begin(), branch.end(), s.branch.begin());
    s.width = width_mask_backward(space.block_widths(), get(p + ".width"));
    s.residual = get(p + ".residual")[0];
    s.skip = 0.0;
    if (!space.reduces(static_cast<int>(i))) {
      const std::vector<double>& skip = get(p + ".skip");
      s.skip = skip[0] - skip[1];
    }
  }
  return g;
}

namespace {

// dst (dims small) = the leading block of src (dims big), row-major.
void copy_leading_block(const float* src, const std::vector<int>& big, float* dst,
                        const std::vector<int>& small) {
  std::int64_t inner_big = 1, inner_small = 1;
  for (std::size_t d = 1; d < big.size(); ++d) inner_big *= big[d], inner_small *= small[d];
  for (int i = 0; i < small[0]; ++i) {
    if (small.size() == 1) {
      dst[i] = src[i];
      continue;
    }
    const std::vector<int> big_rest(big.begin() + 1, big.end()),
        small_rest(small.begin() + 1, small.end());
    copy_leading_block(src + i * inner_big, big_rest, dst + i * inner_small, small_rest);
  }
}

}  // namespace

void slice_supernet(const TrainingGraph& net, const std::vector<float>& params,
                    const std::vector<float>& state, const TrainingGraph& exact,
                    std::vector<float>* exact_params, std::vector<float>* exact_state) {
  exact_params->assign(static_cast<std::size_t>(exact.parameter_count()), 0.0f);
  exact_state->assign(static_cast<std::size_t>(exact.state_count()), 0.0f);
  for (const training::Parameter& p : exact.parameters()) {
    const int i = net.find_parameter(p.name);
    if (i < 0 || net.parameters()[i].dims.size() != p.dims.size())
      throw Error(Status::kInvalidArgument, "the supernet has no parameter " + p.name);
    const training::Parameter& q = net.parameters()[i];
    for (std::size_t d = 0; d < p.dims.size(); ++d)
      if (p.dims[d] > q.dims[d])
        throw Error(Status::kInvalidArgument, p.name + " is wider than the supernet's");
    copy_leading_block(params.data() + q.offset, q.dims, exact_params->data() + p.offset, p.dims);
  }
  for (const training::Node& n : exact.nodes()) {
    if (n.kind != training::NodeKind::kBatchNorm) continue;
    for (const training::Node& s : net.nodes()) {
      if (s.kind != training::NodeKind::kBatchNorm || s.name != n.name) continue;
      for (int c = 0; c < n.shape.c; ++c) {
        (*exact_state)[n.state + c] = state[s.state + c];
        (*exact_state)[n.state + n.shape.c + c] = state[s.state + s.shape.c + c];
      }
    }
  }
}

}  // namespace micronas::timeseries
