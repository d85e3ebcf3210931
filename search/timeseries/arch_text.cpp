// The text form of time-series architectures (grammar in include/micronas/timeseries_space.hpp).
#include <string_view>

#include "micronas/error.hpp"
#include "micronas/timeseries_space.hpp"
#include "search/timeseries/space_check.hpp"

namespace micronas::timeseries {
namespace {

std::string branch_list(std::uint8_t mask) {
  std::string out;
  for (int i = 0; i < 3; ++i)
    if (mask & (1u << i)) out += (out.empty() ? "" : ",") + std::to_string(kBranchKernels[i]);
  return out;
}

// A cursor over the text; every failure names the text, the reason and the 1-based character.
class Parser {
 public:
  explicit Parser(const std::string& text) : text_(text) {}

  [[noreturn]] void fail(std::size_t pos, const std::string& what) const {
    throw Error(Status::kParseError, "malformed time-series architecture '" + text_ + "': " + what +
                                         " at character " + std::to_string(pos + 1));
  }
  bool done() const { return pos_ >= text_.size(); }
  std::size_t pos() const { return pos_; }
  char peek() const { return done() ? '\0' : text_[pos_]; }
  bool accept(std::string_view lit) {
    if (std::string_view(text_).substr(pos_, lit.size()) != lit) return false;
    pos_ += lit.size();
    return true;
  }
  void expect(std::string_view lit, const std::string& what) {
    if (accept(lit)) return;
    if (done())
      fail(pos_, "the text ends where " + what + " ('" + std::string(lit) + "') was expected");
    fail(pos_, "expected " + what + " ('" + std::string(lit) + "') but found '" + peek() + "'");
  }
  int number(const std::string& what) {
    const std::size_t start = pos_;
    int v = 0;
    while (!done() && peek() >= '0' && peek() <= '9') {
      if (pos_ - start >= 6) fail(start, what + " is too large");
      v = v * 10 + (peek() - '0');
      ++pos_;
    }
    if (pos_ == start) {
      if (done()) fail(pos_, "the text ends where " + what + " (a number) was expected");
      fail(pos_, "expected " + what + " (a number) but found '" + std::string(1, peek()) + "'");
    }
    return v;
  }

 private:
  const std::string& text_;
  std::size_t pos_ = 0;
};

struct ParsedCell {
  std::size_t pos;
  bool time_reduce;
  TimeReduceChoice t;
  SensorFusionChoice s;
};

ParsedCell parse_cell(Parser& p) {
  ParsedCell cell{p.pos(), false, {}, {}};
  if (p.accept("tr:")) {
    cell.time_reduce = true;
    p.expect("k", "the Time-Reduce kernel");
    cell.t.kernel = p.number("the kernel size");
    p.expect("w", "the Time-Reduce width");
    cell.t.width = p.number("the width");
    return cell;
  }
  if (!p.accept("sf:")) {
    if (p.done()) p.fail(p.pos(), "empty cell (expected 'tr:' or 'sf:')");
    p.fail(p.pos(), "expected a cell, 'tr:' (Time-Reduce) or 'sf:' (Sensor-Fusion)");
  }
  if (p.accept("skip")) {
    cell.s.skip = true;
    return cell;
  }
  p.expect("b", "the bottleneck width or 'skip'");
  cell.s.bottleneck = p.number("the bottleneck width");
  p.expect("[", "the branch list");
  cell.s.branches = 0;
  int last = 0;
  do {
    const std::size_t at = p.pos();
    const int k = p.number("a branch kernel size");
    int bit = -1;
    for (int i = 0; i < 3; ++i)
      if (kBranchKernels[i] == k) bit = i;
    if (bit < 0) p.fail(at, "branch kernel " + std::to_string(k) + " is not 3, 5 or 7");
    if (k <= last) p.fail(at, "branch kernels must be ascending without repeats");
    last = k;
    cell.s.branches = static_cast<std::uint8_t>(cell.s.branches | (1u << bit));
  } while (p.accept(","));
  p.expect("]", "',' or the end of the branch list");
  p.expect("w", "the block width");
  cell.s.width = p.number("the block width");
  cell.s.residual = p.accept("r");
  return cell;
}

}  // namespace

std::string Arch::to_string() const {
  std::string out;
  auto sep = [&] {
    if (!out.empty()) out += '|';
  };
  for (const TimeReduceChoice& t : time_reduce) {
    sep();
    out += "tr:k" + std::to_string(t.kernel) + "w" + std::to_string(t.width);
  }
  for (const SensorFusionChoice& s : sensor_fusion) {
    sep();
    if (s.skip) {
      out += "sf:skip";
      continue;
    }
    out += "sf:b" + std::to_string(s.bottleneck) + "[" + branch_list(s.branches) + "]w" +
           std::to_string(s.width) + (s.residual ? "r" : "");
  }
  return out;
}

Arch Space::parse(const std::string& text) const {
  Parser p(text);
  if (text.empty()) p.fail(0, "empty architecture");
  std::vector<ParsedCell> cells;
  while (true) {
    cells.push_back(parse_cell(p));
    if (p.done()) break;
    if (!p.accept("|"))
      p.fail(p.pos(), std::string("unexpected '") + p.peek() + "' after cell " +
                          std::to_string(cells.size()) + " (cells are separated by '|')");
  }
  // Structure against this space, reported at the offending cell.
  Arch arch;
  int sensor_index = 0;
  for (const ParsedCell& c : cells) {
    if (c.time_reduce) {
      if (!arch.sensor_fusion.empty())
        p.fail(c.pos, "Time-Reduce cells must come before the Sensor-Fusion cells");
      if (static_cast<int>(arch.time_reduce.size()) == time_reduce_cells())
        p.fail(c.pos, "more than the space's " + std::to_string(time_reduce_cells()) +
                          " Time-Reduce cells");
      const std::string problem = detail::time_problem(*this, c.t);
      if (!problem.empty())
        p.fail(c.pos,
               "Time-Reduce cell " + std::to_string(arch.time_reduce.size() + 1) + ": " + problem);
      arch.time_reduce.push_back(c.t);
      continue;
    }
    if (static_cast<int>(arch.time_reduce.size()) != time_reduce_cells())
      p.fail(c.pos, "the space has " + std::to_string(time_reduce_cells()) +
                        " Time-Reduce cells before the Sensor-Fusion cells, found " +
                        std::to_string(arch.time_reduce.size()));
    if (sensor_index == sensor_fusion_cells())
      p.fail(c.pos, "more than the space's " + std::to_string(sensor_fusion_cells()) +
                        " Sensor-Fusion cells");
    const std::string problem = detail::sensor_problem(*this, sensor_index, c.s);
    if (!problem.empty())
      p.fail(c.pos, "Sensor-Fusion cell " + std::to_string(sensor_index + 1) + ": " + problem);
    arch.sensor_fusion.push_back(c.s);
    ++sensor_index;
  }
  if (sensor_index != sensor_fusion_cells())
    p.fail(text.size(),
           "the space has " + std::to_string(time_reduce_cells()) + " Time-Reduce and " +
               std::to_string(sensor_fusion_cells()) + " Sensor-Fusion cells, found " +
               std::to_string(arch.time_reduce.size()) + " and " + std::to_string(sensor_index));
  return arch;
}

}  // namespace micronas::timeseries
