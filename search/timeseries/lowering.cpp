// Architecture -> layer list (see include/micronas/timeseries_lowering.hpp).
#include <algorithm>
#include <tuple>
#include <utility>

#include "micronas/error.hpp"
#include "micronas/timeseries_lowering.hpp"

namespace micronas::timeseries {
namespace {

// TensorFlow "same" padding along one axis: {before, after}, the extra element after.
std::pair<int, int> same_pad(int in, int out, int kernel, int stride) {
  const int total = std::max((out - 1) * stride + kernel - in, 0);
  return {total / 2, total - total / 2};
}

class Builder {
 public:
  explicit Builder(LayerGraph& g) : g_(g) {}

  int conv(const std::string& name, int cell, int input, Shape in, int kh, int kw, int sh, int sw,
           int cout, bool batch_norm) {
    Layer l;
    l.kind = LayerKind::kConv;
    l.name = name;
    l.cell = cell;
    l.inputs = {input};
    l.in = in;
    l.out = {same_out(in.t, sh), same_out(in.s, sw), cout};
    l.kh = kh, l.kw = kw, l.sh = sh, l.sw = sw;
    std::tie(l.pad_top, l.pad_bottom) = same_pad(in.t, l.out.t, kh, sh);
    std::tie(l.pad_left, l.pad_right) = same_pad(in.s, l.out.s, kw, sw);
    l.relu = true;
    l.batch_norm = batch_norm;
    return push(l);
  }
  int simple(LayerKind kind, const std::string& name, int cell, std::vector<int> inputs, Shape in,
             Shape out) {
    Layer l;
    l.kind = kind;
    l.name = name;
    l.cell = cell;
    l.inputs = std::move(inputs);
    l.in = in;
    l.out = out;
    return push(l);
  }
  Layer& at(int i) { return g_.layers[i]; }

 private:
  int push(const Layer& l) {
    g_.layers.push_back(l);
    return static_cast<int>(g_.layers.size()) - 1;
  }
  LayerGraph& g_;
};

}  // namespace

const char* layer_kind_name(LayerKind kind) {
  switch (kind) {
    case LayerKind::kConv: return "conv";
    case LayerKind::kAdd: return "add";
    case LayerKind::kDropout: return "dropout";
    case LayerKind::kGlobalAvgPool: return "global_avg_pool";
    case LayerKind::kSoftmax: return "softmax";
  }
  return "?";
}

std::int64_t Layer::macs() const {
  if (kind != LayerKind::kConv) return 0;
  return std::int64_t{out.t} * out.s * out.c * kh * kw * in.c;
}

std::int64_t Layer::params() const {
  if (kind != LayerKind::kConv) return 0;
  return std::int64_t{kh} * kw * in.c * out.c + out.c;
}

std::int64_t Layer::bn_params() const { return batch_norm ? 2 * std::int64_t{out.c} : 0; }

std::int64_t LayerGraph::macs() const {
  std::int64_t n = 0;
  for (const Layer& l : layers) n += l.macs();
  return n;
}
std::int64_t LayerGraph::params() const {
  std::int64_t n = 0;
  for (const Layer& l : layers) n += l.params();
  return n;
}
std::int64_t LayerGraph::bn_params() const {
  std::int64_t n = 0;
  for (const Layer& l : layers) n += l.bn_params();
  return n;
}

LayerGraph lower(const Space& space, const Arch& arch, const LoweringOptions& options) {
  space.check(arch);
  if (!(options.dropout >= 0.0 && options.dropout < 1.0))
    throw Error(Status::kInvalidArgument, "dropout must be in [0, 1)");
  LayerGraph g;
  g.input = {space.length(), space.sensors(), 1};
  g.classes = space.classes();
  Builder b(g);
  int cur = -1;  // the layer producing the current activation; -1 = the input window
  Shape shape = g.input;
  auto dropout = [&](const std::string& prefix, int cell) {
    const int d = b.simple(LayerKind::kDropout, prefix + ".dropout", cell, {cur}, shape, shape);
    b.at(d).dropout = options.dropout;
    cur = d;
  };
  int cell = 0;
  for (std::size_t i = 0; i < arch.time_reduce.size(); ++i, ++cell) {
    const TimeReduceChoice& t = arch.time_reduce[i];
    const std::string prefix = "tr" + std::to_string(i + 1);
    cur = b.conv(prefix + ".conv", cell, cur, shape, t.kernel, 1, 2, 1, t.width, true);
    shape = b.at(cur).out;
    dropout(prefix, cell);
  }
  for (std::size_t i = 0; i < arch.sensor_fusion.size(); ++i, ++cell) {
    const SensorFusionChoice& s = arch.sensor_fusion[i];
    if (s.skip) continue;  // identity: nothing to compute
    const std::string prefix = "sf" + std::to_string(i + 1);
    const int sw = space.reduces(static_cast<int>(i)) ? 2 : 1;
    const int cell_in = cur;
    const Shape in = shape;
    const int neck =
        b.conv(prefix + ".bottleneck", cell, cell_in, in, 1, in.s, 1, sw, s.bottleneck, true);
    const Shape neck_out = b.at(neck).out;
    int sum = -1;
    for (int k = 0; k < 3; ++k) {
      if (!(s.branches & (1u << k))) continue;
      const int kernel = kBranchKernels[k];
      const int branch = b.conv(prefix + ".branch" + std::to_string(kernel), cell, neck, neck_out,
                                kernel, 1, 1, 1, s.width, true);
      const Shape out = b.at(branch).out;
      sum = sum < 0 ? branch
                    : b.simple(LayerKind::kAdd, prefix + ".sum" + std::to_string(kernel), cell,
                               {sum, branch}, out, out);
    }
    shape = b.at(sum).out;
    if (s.residual) {
      const int res =
          sw == 2 ? b.conv(prefix + ".residual", cell, cell_in, in, 1, 2, 1, 2, s.width, true)
                  : b.conv(prefix + ".residual", cell, cell_in, in, 1, 1, 1, 1, s.width, true);
      sum = b.simple(LayerKind::kAdd, prefix + ".add", cell, {sum, res}, shape, shape);
    }
    cur = sum;
    dropout(prefix, cell);
  }
  cur = b.conv("head.conv", -1, cur, shape, 1, 1, 1, 1, space.classes(), false);
  const Shape logits = b.at(cur).out;
  cur =
      b.simple(LayerKind::kGlobalAvgPool, "head.pool", -1, {cur}, logits, {1, 1, space.classes()});
  cur = b.simple(LayerKind::kSoftmax, "head.softmax", -1, {cur}, {1, 1, space.classes()},
                 {1, 1, space.classes()});
  g.output = cur;
  return g;
}

}  // namespace micronas::timeseries
