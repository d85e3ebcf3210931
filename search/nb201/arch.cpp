#include "micronas/arch.hpp"

#include <cctype>
#include <sstream>

#include "micronas/error.hpp"

namespace micronas {
namespace {

constexpr std::array<const char*, kNumOps> kOpNames = {"none", "skip_connect", "nor_conv_1x1",
                                                       "nor_conv_3x3", "avg_pool_3x3"};

[[noreturn]] void parse_fail(const std::string& text, std::size_t pos, const std::string& what) {
  std::ostringstream msg;
  msg << "malformed architecture string '" << text << "': " << what << " at character " << pos + 1;
  throw Error(Status::kParseError, msg.str());
}

// Index of the edge from -> to (0 <= from < to <= 3): edges are ordered by target node, then
// source, so the edges into node `to` start at to*(to-1)/2.
constexpr int edge_index(int from, int to) { return to * (to - 1) / 2 + from; }
static_assert(edge_index(0, 1) == 0 && edge_index(2, 3) == 5, "edge order 1<-0 ... 3<-2");

}  // namespace

const char* op_name(Op op) { return kOpNames.at(static_cast<int>(op)); }

Op op_from_name(const std::string& name) {
  for (int k = 0; k < kNumOps; ++k)
    if (name == kOpNames[k]) return static_cast<Op>(k);
  throw Error(Status::kParseError, "unknown op '" + name +
                                       "' (expected none, skip_connect, nor_conv_1x1, "
                                       "nor_conv_3x3 or avg_pool_3x3)");
}

Arch::Arch() { masks_.fill(kAllOpsMask); }

Arch::Arch(const std::array<OpMask, kNumEdges>& masks) : masks_(masks) {
  for (int e = 0; e < kNumEdges; ++e) {
    if (masks_[e] == 0 || (masks_[e] & ~kAllOpsMask) != 0)
      throw Error(Status::kInvalidArgument,
                  "edge " + std::to_string(e) + " needs at least one active op");
  }
}

Arch Arch::from_ops(const std::array<Op, kNumEdges>& ops) {
  std::array<OpMask, kNumEdges> masks{};
  for (int e = 0; e < kNumEdges; ++e) masks[e] = op_bit(ops[e]);
  return Arch(masks);
}

Arch Arch::from_cell_id(int id) {
  if (id < 0 || id >= kNumCells)
    throw Error(Status::kInvalidArgument, "cell id " + std::to_string(id) + " is outside 0.." +
                                              std::to_string(kNumCells - 1));
  std::array<Op, kNumEdges> ops{};
  for (int e = kNumEdges - 1; e >= 0; --e) {
    ops[e] = static_cast<Op>(id % kNumOps);
    id /= kNumOps;
  }
  return from_ops(ops);
}

Arch Arch::parse(const std::string& text) {
  if (text == "supernet") return Arch();
  if (text == "supernet-none") {
    std::array<OpMask, kNumEdges> masks{};
    masks.fill(kAllOpsMask & ~op_bit(Op::kNone));
    return Arch(masks);
  }
  std::array<OpMask, kNumEdges> masks{};
  std::size_t pos = 0;
  auto expect = [&](char c) {
    if (pos >= text.size())
      parse_fail(text, pos, std::string("string ends where '") + c + "' was expected");
    if (text[pos] != c)
      parse_fail(text, pos, std::string("expected '") + c + "' but found '" + text[pos] + "'");
    ++pos;
  };
  for (int node = 1; node < kNumNodes; ++node) {
    if (node > 1) expect('+');
    expect('|');
    for (int from = 0; from < node; ++from) {
      std::size_t token_start = pos;
      std::size_t bar = text.find('|', pos);
      if (bar == std::string::npos)
        parse_fail(text, pos, "unterminated edge (missing '|') for node " + std::to_string(node));
      std::string token = text.substr(pos, bar - pos);
      std::size_t tilde = token.rfind('~');
      if (tilde == std::string::npos)
        parse_fail(
            text, token_start,
            "edge '" + token + "' into node " + std::to_string(node) + " lacks '~<source node>'");
      std::string source = token.substr(tilde + 1);
      if (source != std::to_string(from)) {
        bool edge_count_error = source.size() == 1 && source[0] >= '0' && source[0] <= '3';
        if (edge_count_error && source[0] - '0' >= node)
          parse_fail(text, token_start + tilde + 1,
                     "node " + std::to_string(node) + " cannot read from node " + source +
                         " (edges go from lower to higher nodes)");
        parse_fail(text, token_start + tilde + 1,
                   "edge " + std::to_string(from + 1) + " of node " + std::to_string(node) +
                       " must read from node " + std::to_string(from) + ", found '~" + source +
                       "' (node " + std::to_string(node) + " needs exactly " +
                       std::to_string(node) + " edges ~0..~" + std::to_string(node - 1) + ")");
      }
      OpMask mask = 0;
      std::string ops = token.substr(0, tilde);
      std::size_t start = 0;
      while (true) {
        std::size_t slash = ops.find('/', start);
        std::string name =
            ops.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
        Op op;
        try {
          op = op_from_name(name);
        } catch (const Error& err) {
          parse_fail(text, token_start + start, err.what());
        }
        if (mask & op_bit(op)) parse_fail(text, token_start + start, "op '" + name + "' repeated");
        mask |= op_bit(op);
        if (slash == std::string::npos) break;
        start = slash + 1;
      }
      masks[edge_index(from, node)] = mask;
      pos = bar + 1;
      if (from + 1 < node) {
        // The '|' that closed this edge also opens the next one.
        if (pos >= text.size() || text[pos] == '+')
          parse_fail(text, pos,
                     "node " + std::to_string(node) + " has " + std::to_string(from + 1) +
                         " edge(s) but needs " + std::to_string(node));
      }
    }
    if (node + 1 < kNumNodes && pos < text.size() && text[pos] != '+') {
      if (std::isalpha(static_cast<unsigned char>(text[pos])))
        parse_fail(
            text, pos,
            "node " + std::to_string(node) + " has more than " + std::to_string(node) + " edge(s)");
      parse_fail(text, pos,
                 std::string("expected '+' between nodes but found '") + text[pos] + "'");
    }
  }
  if (pos != text.size()) parse_fail(text, pos, "stray characters after the last node");
  return Arch(masks);
}

int Arch::num_active(int edge) const {
  int n = 0;
  for (int k = 0; k < kNumOps; ++k) n += (masks_[edge] >> k) & 1;
  return n;
}

std::vector<Op> Arch::ops(int edge) const {
  std::vector<Op> out;
  for (int k = 0; k < kNumOps; ++k)
    if (masks_[edge] & (1u << k)) out.push_back(static_cast<Op>(k));
  return out;
}

bool Arch::is_cell() const {
  for (int e = 0; e < kNumEdges; ++e)
    if (num_active(e) != 1) return false;
  return true;
}

std::array<Op, kNumEdges> Arch::cell_ops() const {
  if (!is_cell())
    throw Error(Status::kInvalidArgument,
                "'" + to_string() + "' is a supernet state, not a single cell");
  std::array<Op, kNumEdges> out{};
  for (int e = 0; e < kNumEdges; ++e) out[e] = ops(e)[0];
  return out;
}

int Arch::cell_id() const {
  int id = 0;
  for (Op op : cell_ops()) id = id * kNumOps + static_cast<int>(op);
  return id;
}

Arch Arch::with(int edge, OpMask mask) const {
  std::array<OpMask, kNumEdges> masks = masks_;
  masks.at(edge) = mask;
  return Arch(masks);
}

Arch Arch::without(int edge, Op op) const {
  return with(edge, static_cast<OpMask>(masks_.at(edge) & ~op_bit(op)));
}

std::string Arch::to_string() const {
  std::string out;
  for (int node = 1; node < kNumNodes; ++node) {
    if (node > 1) out += '+';
    out += '|';
    for (int from = 0; from < node; ++from) {
      bool first = true;
      for (Op op : ops(edge_index(from, node))) {
        if (!first) out += '/';
        out += op_name(op);
        first = false;
      }
      out += '~' + std::to_string(from) + '|';
    }
  }
  return out;
}

std::vector<Arch> all_cells() {
  std::vector<Arch> cells;
  cells.reserve(kNumCells);
  for (int id = 0; id < kNumCells; ++id) cells.push_back(Arch::from_cell_id(id));
  return cells;
}

}  // namespace micronas
