// The reference's peak-memory model of one time-series network (timeseries_cost.hpp).
#include <algorithm>

#include "micronas/timeseries_cost.hpp"

namespace micronas::timeseries {
namespace {

std::int64_t bytes(const Shape& s) { return std::int64_t{s.t} * s.s * s.c; }

}  // namespace

std::vector<std::int64_t> reference_memory_bytes(const LayerGraph& g) {
  std::vector<std::int64_t> mem(g.layers.size(), 0);
  // Within a cell its first conv is the bottleneck (a Time-Reduce cell's only conv), a conv
  // reading the bottleneck is a temporal branch, any other conv the residual; `sum` is the running
  // sum of the block so far (the first branch, then each add of the next one).
  int cell = -2, bottleneck = -1, sum = -1;
  for (std::size_t i = 0; i < g.layers.size(); ++i) {
    const Layer& l = g.layers[i];
    if (l.cell != cell) cell = l.cell, bottleneck = -1, sum = -1;
    const std::int64_t in = bytes(l.in), out = bytes(l.out);
    switch (l.kind) {
      case LayerKind::kConv: {
        mem[i] = in + out + 4 * std::int64_t{l.kh} * l.kw * l.in.c;
        if (bottleneck < 0) {
          bottleneck = static_cast<int>(i);
        } else if (l.inputs[0] == bottleneck) {
          if (sum >= 0)
            mem[i] += bytes(g.layers[sum].out);
          else
            sum = static_cast<int>(i);
        } else if (sum >= 0) {
          mem[i] += bytes(g.layers[sum].out);  // the residual while the block's sum waits
        }
        break;
      }
      case LayerKind::kAdd:
        mem[i] = 2 * in + out;
        if (l.inputs[0] == sum) sum = static_cast<int>(i);
        break;
      case LayerKind::kGlobalAvgPool:
      case LayerKind::kSoftmax: mem[i] = in + out; break;
      case LayerKind::kDropout: break;
    }
  }
  return mem;
}

std::int64_t reference_peak_memory_bytes(const LayerGraph& graph) {
  const std::vector<std::int64_t> mem = reference_memory_bytes(graph);
  return mem.empty() ? 0 : *std::max_element(mem.begin(), mem.end());
}

}  // namespace micronas::timeseries
