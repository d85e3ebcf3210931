// Expected latency and peak memory over an ArchDistribution, with analytic gradients
// (see include/micronas/timeseries_expected_cost.hpp for the rules).
#include <algorithm>
#include <map>
#include <string>

#include "micronas/error.hpp"
#include "micronas/timeseries_cost.hpp"
#include "micronas/timeseries_expected_cost.hpp"
#include "micronas/timeseries_lowering.hpp"
#include "search/timeseries/deployed_op.hpp"

namespace micronas::timeseries {
namespace {

std::int64_t bytes(const Shape& s) { return std::int64_t{s.t} * s.s * s.c; }

int index_of(const std::vector<int>& values, int v) {
  return static_cast<int>(std::lower_bound(values.begin(), values.end(), v) - values.begin());
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// x' T y with T [x.size()][y.size()] row-major.
double bilinear(const std::vector<double>& t, const std::vector<double>& x,
                const std::vector<double>& y) {
  double s = 0;
  const std::size_t cols = y.size();
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (x[i] == 0) continue;
    double row = 0;
    for (std::size_t j = 0; j < cols; ++j) row += t[i * cols + j] * y[j];
    s += x[i] * row;
  }
  return s;
}

// Adds scale * d(x' T y)/dx to gx and scale * d(x' T y)/dy to gy.
void bilinear_grad(const std::vector<double>& t, const std::vector<double>& x,
                   const std::vector<double>& y, double scale, std::vector<double>& gx,
                   std::vector<double>& gy) {
  const std::size_t cols = y.size();
  for (std::size_t i = 0; i < x.size(); ++i) {
    double row = 0;
    for (std::size_t j = 0; j < cols; ++j) {
      row += t[i * cols + j] * y[j];
      gy[j] += scale * x[i] * t[i * cols + j];
    }
    gx[i] += scale * row;
  }
}

// P(at least one of branches [0, k) on) and its derivative with respect to each p[l], l < k.
double any_on(const std::array<double, 3>& p, int k, std::array<double, 3>* d_dp) {
  double none = 1;
  for (int l = 0; l < k; ++l) none *= 1 - p[l];
  if (d_dp) {
    for (int l = 0; l < 3; ++l) {
      double others = 1;
      for (int m = 0; m < k; ++m)
        if (m != l) others *= 1 - p[m];
      (*d_dp)[l] = l < k ? others : 0;
    }
  }
  return 1 - none;
}

ArchDistribution zeros_like(const ArchDistribution& d) {
  ArchDistribution z = d;
  for (TimeReduceDistribution& t : z.time_reduce) {
    std::fill(t.kernel.begin(), t.kernel.end(), 0.0);
    std::fill(t.width.begin(), t.width.end(), 0.0);
  }
  for (SensorFusionDistribution& s : z.sensor_fusion) {
    s.skip = s.residual = 0;
    s.branch = {0, 0, 0};
    std::fill(s.bottleneck.begin(), s.bottleneck.end(), 0.0);
    std::fill(s.width.begin(), s.width.end(), 0.0);
  }
  return z;
}

}  // namespace

ExpectedCost::ExpectedCost(const Space& space, const mcu::TargetProfile& target,
                           const mcu::EstimateOptions& options)
    : space_(space) {
  if (options.latency_model == mcu::LatencyModel::kMicronasConstantTable)
    throw Error(Status::kInvalidArgument,
                "the MicroNAS constant latency table describes NB201 cells, not time-series "
                "networks");
  if (options.clock_mhz < 0) throw Error(Status::kInvalidArgument, "clock must be > 0 MHz");
  const double cycles_per_ms = (options.clock_mhz > 0 ? options.clock_mhz : target.clock_mhz) * 1e3;
  const std::vector<int> time_widths = space.time_widths(), necks = space.bottleneck_widths(),
                         blocks = space.block_widths();
  channel_values_ = {1};
  for (const auto* v : {&time_widths, &necks, &blocks})
    channel_values_.insert(channel_values_.end(), v->begin(), v->end());
  std::sort(channel_values_.begin(), channel_values_.end());
  channel_values_.erase(std::unique(channel_values_.begin(), channel_values_.end()),
                        channel_values_.end());
  input_index_ = index_of(channel_values_, 1);
  for (int w : time_widths) time_index_.push_back(index_of(channel_values_, w));
  for (int w : blocks) block_index_.push_back(index_of(channel_values_, w));

  // Every op slot's layer, shapes and padding from lowered networks: one per Time-Reduce kernel,
  // each with all branches and residuals (the widths are then set per table entry).
  const std::vector<int>& kernels = space.options().kernels;
  std::vector<std::map<std::string, Layer>> by_kernel;
  for (int k : kernels) {
    Arch a = space.largest();
    for (TimeReduceChoice& t : a.time_reduce) t.kernel = k;
    std::map<std::string, Layer> named;
    for (const Layer& l : lower(space, a).layers) named[l.name] = l;
    by_kernel.push_back(std::move(named));
  }
  const std::map<std::string, Layer>& layers = by_kernel[0];
  // A conv's entries include its batch-norm op, whose cost depends on Cout only: summed with a
  // column distribution that sums to 1 it is linear in the output-width distribution.
  auto deployed = [&](Layer l, int cin, int cout) {
    l.in.c = cin;
    l.out.c = cout;
    mcu::OpCost sum;
    for (const mcu::DeployedOp& op : deployed_ops(l)) {
      const mcu::OpCost c = mcu::op_cost(target, op, options.runtime);
      sum.cycles += c.cycles;
      sum.flash_bytes += c.flash_bytes;
    }
    return sum;
  };
  auto latency_ms = [&](const Layer& l, int cin, int cout) {
    return static_cast<double>(deployed(l, cin, cout).cycles) / cycles_per_ms;
  };
  auto flash_bytes = [&](const Layer& l, int cin, int cout) {
    return static_cast<double>(deployed(l, cin, cout).flash_bytes);
  };
  auto conv_bytes = [](Layer l, int cin, int cout) {
    l.in.c = cin;
    l.out.c = cout;
    return static_cast<double>(bytes(l.in) + bytes(l.out) + 4 * std::int64_t{l.kh} * l.kw * cin);
  };
  // Tables of a conv over (output widths) x (input channel values).
  auto conv_tables = [&](const Layer& l, const std::vector<int>& outs, const std::vector<int>& ins,
                         Table& lat, Table& mem, Table& flash) {
    for (int co : outs)
      for (int ci : ins) {
        lat.push_back(latency_ms(l, ci, co));
        mem.push_back(conv_bytes(l, ci, co));
        flash.push_back(flash_bytes(l, ci, co));
      }
  };

  const int n_time = space.time_reduce_cells(), n_sensor = space.sensor_fusion_cells();
  for (int i = 0; i < n_time; ++i) {
    const std::string name = "tr" + std::to_string(i + 1) + ".conv";
    std::vector<Table> lat(kernels.size()), mem(kernels.size()), fl(kernels.size());
    for (std::size_t k = 0; k < kernels.size(); ++k)
      conv_tables(by_kernel[k].at(name), time_widths, channel_values_, lat[k], mem[k], fl[k]);
    latency_.time_conv.push_back(std::move(lat));
    memory_.time_conv.push_back(std::move(mem));
    flash_.time_conv.push_back(std::move(fl));
  }
  for (int j = 0; j < n_sensor; ++j) {
    const std::string prefix = "sf" + std::to_string(j + 1) + ".";
    Table lat, mem, fl;
    conv_tables(layers.at(prefix + "bottleneck"), necks, channel_values_, lat, mem, fl);
    latency_.bottleneck.push_back(std::move(lat));
    memory_.bottleneck.push_back(std::move(mem));
    flash_.bottleneck.push_back(std::move(fl));
    std::array<Table, 3> lat_b, mem_b, fl_b;
    for (int k = 0; k < 3; ++k)
      conv_tables(layers.at(prefix + "branch" + std::to_string(kBranchKernels[k])), blocks, necks,
                  lat_b[k], mem_b[k], fl_b[k]);
    latency_.branch.push_back(std::move(lat_b));
    memory_.branch.push_back(std::move(mem_b));
    flash_.branch.push_back(std::move(fl_b));
    lat.clear(), mem.clear(), fl.clear();
    conv_tables(layers.at(prefix + "residual"), blocks, channel_values_, lat, mem, fl);
    latency_.residual.push_back(std::move(lat));
    memory_.residual.push_back(std::move(mem));
    flash_.residual.push_back(std::move(fl));
    const Layer& add = layers.at(prefix + "add");
    std::vector<double> add_ms, add_bytes, sum_bytes, add_flash;
    for (int w : blocks) {
      add_ms.push_back(latency_ms(add, w, w));
      add_flash.push_back(flash_bytes(add, w, w));
      Shape s = add.out;
      s.c = w;
      add_bytes.push_back(3.0 * static_cast<double>(bytes(s)));  // both inputs and the output
      sum_bytes.push_back(static_cast<double>(bytes(s)));
    }
    latency_.add.push_back(std::move(add_ms));
    latency_.live_sum.emplace_back(blocks.size(), 0.0);  // a live tensor takes no time
    memory_.add.push_back(std::move(add_bytes));
    memory_.live_sum.push_back(std::move(sum_bytes));
    flash_.add.push_back(std::move(add_flash));
    flash_.live_sum.emplace_back(blocks.size(), 0.0);  // nor flash
  }
  const Layer& head = layers.at("head.conv");
  for (int ci : channel_values_) {
    latency_.head_conv.push_back(latency_ms(head, ci, space.classes()));
    memory_.head_conv.push_back(conv_bytes(head, ci, space.classes()));
    flash_.head_conv.push_back(flash_bytes(head, ci, space.classes()));
  }
  for (const char* name : {"head.pool", "head.softmax"}) {
    const Layer& l = layers.at(name);
    latency_.head_fixed.push_back(latency_ms(l, l.in.c, l.out.c));
    memory_.head_fixed.push_back(static_cast<double>(bytes(l.in) + bytes(l.out)));
    flash_.head_fixed.push_back(flash_bytes(l, l.in.c, l.out.c));
  }
  // What no op slot holds: the model file's fixed part and the runtime's code
  // (estimate_cost's flash without its per-op sum). Time-series networks have no constant
  // tensors outside their ops.
  flash_fixed_bytes_ = static_cast<double>(std::llround(target.flash_model_overhead_bytes) +
                                           std::llround(target.runtime_code_kb * 1024.0));
}

void ExpectedCost::check_sizes(const ArchDistribution& d) const {
  auto bad = [](const std::string& what) {
    throw Error(Status::kInvalidArgument, "distribution does not fit the space: " + what);
  };
  if (static_cast<int>(d.time_reduce.size()) != space_.time_reduce_cells())
    bad("Time-Reduce cell count");
  if (static_cast<int>(d.sensor_fusion.size()) != space_.sensor_fusion_cells())
    bad("Sensor-Fusion cell count");
  for (const TimeReduceDistribution& t : d.time_reduce)
    if (t.kernel.size() != space_.options().kernels.size() || t.width.size() != time_index_.size())
      bad("Time-Reduce kernel or width count");
  for (const SensorFusionDistribution& s : d.sensor_fusion)
    if (s.bottleneck.size() != space_.bottleneck_widths().size() ||
        s.width.size() != block_index_.size())
      bad("Sensor-Fusion bottleneck or width count");
}

void ExpectedCost::visit(const Tables& t, const ArchDistribution& d, int only,
                         std::vector<double>* values, ArchDistribution* grad) const {
  const int n_time = space_.time_reduce_cells(), n_sensor = space_.sensor_fusion_cells();
  const std::size_t nc = channel_values_.size();
  // Channel distribution of every cell's input; the last is the head's.
  std::vector<std::vector<double>> in(n_time + n_sensor + 1, std::vector<double>(nc, 0.0));
  in[0][input_index_] = 1;
  for (int i = 0; i < n_time; ++i)
    for (std::size_t a = 0; a < time_index_.size(); ++a)
      in[i + 1][time_index_[a]] = d.time_reduce[i].width[a];
  for (int j = 0; j < n_sensor; ++j) {
    const SensorFusionDistribution& s = d.sensor_fusion[j];
    const int c = n_time + j;
    const double skip = space_.reduces(j) ? 0.0 : s.skip;
    for (std::size_t v = 0; v < nc; ++v) in[c + 1][v] = skip * in[c][v];
    for (std::size_t a = 0; a < block_index_.size(); ++a)
      in[c + 1][block_index_[a]] += (1 - skip) * s.width[a];
  }
  std::vector<std::vector<double>> g_in(grad ? in.size() : 0, std::vector<double>(nc, 0.0));

  int slot = 0;
  // Records an op slot's value; true when its gradient is wanted.
  auto op = [&](double value) {
    if (values) values->push_back(value);
    const bool want = grad && (only < 0 || only == slot);
    ++slot;
    return want;
  };

  for (int i = 0; i < n_time; ++i) {
    const TimeReduceDistribution& p = d.time_reduce[i];
    double value = 0;
    std::vector<double> u(p.kernel.size());
    for (std::size_t k = 0; k < p.kernel.size(); ++k) {
      u[k] = bilinear(t.time_conv[i][k], p.width, in[i]);
      value += p.kernel[k] * u[k];
    }
    if (!op(value)) continue;
    TimeReduceDistribution& g = grad->time_reduce[i];
    for (std::size_t k = 0; k < p.kernel.size(); ++k) {
      g.kernel[k] += u[k];
      bilinear_grad(t.time_conv[i][k], p.width, in[i], p.kernel[k], g.width, g_in[i]);
    }
  }

  for (int j = 0; j < n_sensor; ++j) {
    const SensorFusionDistribution& p = d.sensor_fusion[j];
    SensorFusionDistribution* g = grad ? &grad->sensor_fusion[j] : nullptr;
    const int c = n_time + j;
    const bool may_skip = !space_.reduces(j);
    const double e = may_skip ? 1 - p.skip : 1.0;  // P(the cell is computed)
    // Each slot's value is e * u; the gradient of e * u with respect to skip is -u.
    const double u_neck = bilinear(t.bottleneck[j], p.bottleneck, in[c]);
    if (op(e * u_neck)) {
      bilinear_grad(t.bottleneck[j], p.bottleneck, in[c], e, g->bottleneck, g_in[c]);
      if (may_skip) g->skip -= u_neck;
    }
    const double live = dot(p.width, t.live_sum[j]), add = dot(p.width, t.add[j]);
    for (int k = 0; k < 3; ++k) {
      std::array<double, 3> dq{};
      const double q = any_on(p.branch, k, &dq);  // P(an earlier branch on)
      const double u_conv = bilinear(t.branch[j][k], p.width, p.bottleneck) + q * live;
      if (op(e * p.branch[k] * u_conv)) {
        const double w = e * p.branch[k];
        bilinear_grad(t.branch[j][k], p.width, p.bottleneck, w, g->width, g->bottleneck);
        for (std::size_t a = 0; a < p.width.size(); ++a) g->width[a] += w * q * t.live_sum[j][a];
        for (int l = 0; l < 3; ++l) g->branch[l] += w * live * dq[l];
        g->branch[k] += e * u_conv;
        if (may_skip) g->skip -= p.branch[k] * u_conv;
      }
      if (k == 0) continue;  // the first branch on starts the sum: no add
      if (op(e * p.branch[k] * q * add)) {
        const double w = e * p.branch[k];
        for (std::size_t a = 0; a < p.width.size(); ++a) g->width[a] += w * q * t.add[j][a];
        for (int l = 0; l < 3; ++l) g->branch[l] += w * add * dq[l];
        g->branch[k] += e * q * add;
        if (may_skip) g->skip -= p.branch[k] * q * add;
      }
    }
    std::array<double, 3> dq{};
    const double q = any_on(p.branch, 3, &dq);  // P(the block has a branch)
    const double u_res = bilinear(t.residual[j], p.width, in[c]) + q * live;
    if (op(e * p.residual * u_res)) {
      const double w = e * p.residual;
      bilinear_grad(t.residual[j], p.width, in[c], w, g->width, g_in[c]);
      for (std::size_t a = 0; a < p.width.size(); ++a) g->width[a] += w * q * t.live_sum[j][a];
      for (int l = 0; l < 3; ++l) g->branch[l] += w * live * dq[l];
      g->residual += e * u_res;
      if (may_skip) g->skip -= p.residual * u_res;
    }
    if (op(e * p.residual * q * add)) {
      const double w = e * p.residual;
      for (std::size_t a = 0; a < p.width.size(); ++a) g->width[a] += w * q * t.add[j][a];
      for (int l = 0; l < 3; ++l) g->branch[l] += w * add * dq[l];
      g->residual += e * q * add;
      if (may_skip) g->skip -= p.residual * q * add;
    }
  }

  const int h = n_time + n_sensor;
  if (op(dot(t.head_conv, in[h])))
    for (std::size_t v = 0; v < nc; ++v) g_in[h][v] += t.head_conv[v];
  for (double fixed : t.head_fixed) op(fixed);
  if (!grad) return;

  // Back through the chain of cell inputs: each cell's output distribution is the next input.
  for (int c = h - 1; c >= 0; --c) {
    const std::vector<double>& g_out = g_in[c + 1];
    if (c < n_time) {
      for (std::size_t a = 0; a < time_index_.size(); ++a)
        grad->time_reduce[c].width[a] += g_out[time_index_[a]];
      continue;
    }
    const int j = c - n_time;
    const SensorFusionDistribution& p = d.sensor_fusion[j];
    SensorFusionDistribution& g = grad->sensor_fusion[j];
    const double skip = space_.reduces(j) ? 0.0 : p.skip;
    double block = 0;
    for (std::size_t a = 0; a < block_index_.size(); ++a) {
      g.width[a] += (1 - skip) * g_out[block_index_[a]];
      block += p.width[a] * g_out[block_index_[a]];
    }
    if (space_.reduces(j)) continue;
    g.skip += dot(g_out, in[c]) - block;
    for (std::size_t v = 0; v < nc; ++v) g_in[c][v] += skip * g_out[v];
  }
}

double ExpectedCost::evaluate(const Tables& t, bool max, const ArchDistribution& d,
                              ArchDistribution* grad) const {
  check_sizes(d);
  if (grad) *grad = zeros_like(d);
  std::vector<double> values;
  if (!max) {
    visit(t, d, -1, &values, grad);
    double total = 0;
    for (double v : values) total += v;
    return total;
  }
  visit(t, d, -1, &values, nullptr);
  const int peak = static_cast<int>(std::max_element(values.begin(), values.end()) -
                                    values.begin());  // the first maximum
  if (grad) visit(t, d, peak, nullptr, grad);
  return values[peak];
}

double ExpectedCost::latency_ms(const ArchDistribution& d, ArchDistribution* grad) const {
  return evaluate(latency_, false, d, grad);
}

double ExpectedCost::peak_memory_bytes(const ArchDistribution& d, ArchDistribution* grad) const {
  return evaluate(memory_, true, d, grad);
}

double ExpectedCost::flash_bytes(const ArchDistribution& d, ArchDistribution* grad) const {
  return flash_fixed_bytes_ + evaluate(flash_, false, d, grad);
}

}  // namespace micronas::timeseries
