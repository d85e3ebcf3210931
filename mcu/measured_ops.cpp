// Measured single-op tables (the format of measured_ops_cmsis_tflm.csv): reading rows as deployed
// ops, predicting their kernel cycles and arena, and refitting a profile's CPIs on them.
#include <algorithm>
#include <cmath>

#include "mcu/op_cost.hpp"
#include "micronas/error.hpp"
#include "micronas/mcu.hpp"
#include "runtime/csv.hpp"

namespace micronas::mcu {
namespace {

[[noreturn]] void bad_field(const CsvTable& t, std::size_t row, const std::string& column,
                            const std::string& what) {
  throw Error(Status::kIoError,
              t.path + ":" + std::to_string(t.lines[row]) + ": column '" + column + "': " + what);
}

// "HxWxC" (or "C" for a vector) -> Shape; "AxB" kernel/stride pairs.
std::vector<int> dims(const CsvTable& t, std::size_t row, int col) {
  const std::string& s = t.rows[row][col];
  std::vector<int> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    std::size_t end = s.find('x', start);
    if (end == std::string::npos) end = s.size();
    std::string part = s.substr(start, end - start);
    if (part.empty() || part.find_first_not_of("0123456789") != std::string::npos ||
        part.size() > 6)
      bad_field(t, row, t.header[col], "'" + s + "' is not a list of sizes like 16x5x8");
    out.push_back(std::stoi(part));
    if (out.back() <= 0) bad_field(t, row, t.header[col], "sizes must be > 0");
    start = end + 1;
  }
  return out;
}

Shape hwc(const CsvTable& t, std::size_t row, int col) {
  std::vector<int> d = dims(t, row, col);
  if (d.size() == 1) return Shape{d[0], 1, 1};
  if (d.size() != 3) bad_field(t, row, t.header[col], "expected HxWxC");
  return Shape{d[2], d[0], d[1]};
}

int same_pad(int size, int out, int k, int s) {
  int total = std::max((out - 1) * s + k - size, 0);
  return total / 2;
}

}  // namespace

std::vector<MeasuredOp> read_measured_ops(const std::string& csv_path) {
  // measured_ops_cmsis_tflm.csv holds a few thousand rows in under 1 MB.
  CsvTable t = read_csv(csv_path, {64u << 20, 1'000'000, "a measured-operator table"});
  const int c_op = t.require_column("op");
  const int c_in = t.require_column("input_shape");
  const int c_out = t.require_column("output_shape");
  const int c_kernel = t.require_column("kernel");
  const int c_stride = t.require_column("stride");
  const int c_padding = t.require_column("padding");
  const int c_act = t.require_column("activation");
  const int c_cycles = t.require_column("kernel_cycles");
  const int c_device = t.column("device");
  const int c_invoke = t.column("invoke_cycles");
  const int c_arena = t.column("arena_bytes");
  if (t.rows.empty()) throw Error(Status::kIoError, csv_path + ": no data rows");
  std::vector<MeasuredOp> rows;
  rows.reserve(t.rows.size());
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    MeasuredOp m;
    m.line = t.lines[r];
    m.op = t.rows[r][c_op];
    m.device = c_device >= 0 ? t.rows[r][c_device] : "";
    m.input_shape = t.rows[r][c_in];
    m.output_shape = t.rows[r][c_out];
    m.kernel = t.rows[r][c_kernel];
    m.stride = t.rows[r][c_stride];
    m.kernel_cycles = t.integer(r, c_cycles);
    if (m.kernel_cycles <= 0) bad_field(t, r, "kernel_cycles", "must be > 0");
    if (c_invoke >= 0 && !t.rows[r][c_invoke].empty()) m.invoke_cycles = t.integer(r, c_invoke);
    if (c_arena >= 0 && !t.rows[r][c_arena].empty()) m.arena_bytes = t.integer(r, c_arena);
    DeployedOp& d = m.deployed;
    if (m.op == "conv2d") {
      d.kind = DeployedOpKind::kConv2d;
      d.input = hwc(t, r, c_in);
      d.output = hwc(t, r, c_out);
      std::vector<int> k = dims(t, r, c_kernel), s = dims(t, r, c_stride);
      if (k.size() != 2 || s.size() != 2)
        bad_field(t, r, "kernel", "conv2d needs kernel and stride as AxB");
      d.kernel_h = k[0];
      d.kernel_w = k[1];
      d.stride_h = s[0];
      d.stride_w = s[1];
      const std::string& padding = t.rows[r][c_padding];
      if (padding == "same") {
        d.pad_top = same_pad(d.input.h, d.output.h, d.kernel_h, d.stride_h);
        d.pad_left = same_pad(d.input.w, d.output.w, d.kernel_w, d.stride_w);
      } else if (padding != "valid") {
        bad_field(t, r, "padding", "'" + padding + "' is not same or valid");
      }
      d.fused_relu = t.rows[r][c_act] == "relu";
      m.supported = true;
    } else if (m.op == "add") {
      d.kind = DeployedOpKind::kAdd;
      std::string first = m.input_shape.substr(0, m.input_shape.find('|'));
      d.output = hwc(t, r, c_out);
      d.input = d.output;
      if (first.empty()) bad_field(t, r, "input_shape", "empty");
      m.supported = true;
    } else if (m.op == "global_average_pooling2d") {
      d.kind = DeployedOpKind::kMean;
      d.input = hwc(t, r, c_in);
      d.output = Shape{d.input.c, 1, 1};
      m.supported = true;
    } else if (m.op == "softmax") {
      d.kind = DeployedOpKind::kSoftmax;
      d.input = hwc(t, r, c_in);
      d.output = hwc(t, r, c_out);
      m.supported = true;
    }
    rows.push_back(m);
  }
  return rows;
}

std::vector<MeasuredOp> rows_for_target(const TargetProfile& target,
                                        const std::vector<MeasuredOp>& rows) {
  std::vector<MeasuredOp> mine;
  if (!target.measured_device.empty())
    for (const MeasuredOp& r : rows)
      if (r.device == target.measured_device) mine.push_back(r);
  return mine.empty() ? rows : mine;
}

OpPrediction predict_measured(const TargetProfile& target, const MeasuredOp& row) {
  if (!row.supported)
    throw Error(Status::kUnsupported, "line " + std::to_string(row.line) + ": op '" + row.op +
                                          "' is not modelled (conv2d, add, "
                                          "global_average_pooling2d, softmax are)");
  OpPrediction p;
  OpCost cost = op_cost(target, row.deployed, Runtime::kCodegen);  // the kernel alone
  p.family = cost.family;
  p.kernel_cycles = cost.cycles;
  p.arena_bytes = single_op_arena_bytes(target, row.deployed);
  return p;
}

TargetProfile calibrate(const TargetProfile& base, const std::vector<MeasuredOp>& rows,
                        const std::string& new_name) {
  // cycles = cpi * insn  =>  min Σ (cpi*insn/cyc - 1)^2  =>  cpi = Σ t / Σ t², t = insn/cyc.
  std::array<double, kNumCostFamilies> sum_t{}, sum_tt{};
  std::array<int, kNumCostFamilies> count{};
  std::vector<double> overheads;
  std::string device;
  bool single_device = true;
  for (const MeasuredOp& r : rows) {
    if (!r.supported) continue;
    OpCost cost = op_cost(base, r.deployed, Runtime::kCodegen);
    if (cost.instructions <= 0) continue;
    const int f = static_cast<int>(cost.family);
    const double t = cost.instructions / static_cast<double>(r.kernel_cycles);
    sum_t[f] += t;
    sum_tt[f] += t * t;
    ++count[f];
    if (r.invoke_cycles >= 0)
      overheads.push_back(static_cast<double>(r.invoke_cycles - r.kernel_cycles));
    if (device.empty()) device = r.device;
    single_device = single_device && r.device == device;
  }
  int total = 0;
  for (int c : count) total += c;
  if (total == 0)
    throw Error(Status::kInvalidArgument,
                "calibration needs at least one conv2d, add, global_average_pooling2d or softmax "
                "row");
  TargetProfile p = base;
  p.name = new_name;
  p.description = base.description + " (calibrated on " + std::to_string(total) + " measured ops)";
  p.measured_device = single_device ? device : "";
  for (int f = 0; f < kNumCostFamilies; ++f)
    if (count[f] > 0) p.cpi[f] = sum_t[f] / sum_tt[f];
  if (!overheads.empty()) {
    std::sort(overheads.begin(), overheads.end());
    std::size_t m = overheads.size() / 2;
    p.tflm_op_overhead_cycles =
        overheads.size() % 2 ? overheads[m] : 0.5 * (overheads[m - 1] + overheads[m]);
  }
  // A fit that cannot describe a real target is refused rather than written: a negative
  // overhead makes latencies negative, and a negative latency satisfies any limit.
  for (int f = 0; f < kNumCostFamilies; ++f)
    if (!std::isfinite(p.cpi[f]) || p.cpi[f] <= 0)
      throw Error(Status::kNumericalError, std::string("calibration fitted cpi.") +
                                               cost_family_name(static_cast<CostFamily>(f)) +
                                               " = " + std::to_string(p.cpi[f]) +
                                               ", which is not a positive finite number");
  if (!std::isfinite(p.tflm_op_overhead_cycles) || p.tflm_op_overhead_cycles < 0)
    throw Error(Status::kNumericalError,
                "calibration fitted a per-op overhead of " +
                    std::to_string(p.tflm_op_overhead_cycles) +
                    " cycles (the median of invoke_cycles - kernel_cycles); an overhead must be "
                    ">= 0, so the rows' invoke_cycles are mostly below their kernel_cycles: "
                    "check the measurements");
  return p;
}

}  // namespace micronas::mcu
