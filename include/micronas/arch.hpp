// The NAS-Bench-201 cell search space: ops, edges, architecture strings and supernet states.
//
// A cell has nodes 0..3; edge e connects kEdgeFrom[e] -> kEdgeTo[e] in the order
// 1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2. An Arch stores, per edge, the set of active ops: a single
// NB201 cell has exactly one op per edge; a supernet state (TE-NAS's pruning state) may have
// several. Strings use NB201's format `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`; an edge with several
// active ops is written with '/' between them, e.g. `|nor_conv_3x3/skip_connect~0|`.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace micronas {

enum class Op : std::uint8_t {
  kNone = 0,
  kSkipConnect = 1,
  kConv1x1 = 2,
  kConv3x3 = 3,
  kAvgPool3x3 = 4,
};

inline constexpr int kNumOps = 5;
inline constexpr int kNumEdges = 6;
inline constexpr int kNumNodes = 4;
inline constexpr int kNumCells = 15625;  // 5^6 single-op cells
inline constexpr std::array<int, kNumEdges> kEdgeFrom = {0, 0, 1, 0, 1, 2};
inline constexpr std::array<int, kNumEdges> kEdgeTo = {1, 2, 2, 3, 3, 3};

// NB201 name of an op ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3").
const char* op_name(Op op);
// Inverse of op_name; throws Error(kParseError) for an unknown name.
Op op_from_name(const std::string& name);

// Bit set of active ops on one edge: bit k set <=> Op(k) active.
using OpMask = std::uint8_t;
inline constexpr OpMask op_bit(Op op) { return static_cast<OpMask>(1u << static_cast<int>(op)); }
inline constexpr OpMask kAllOpsMask = 0x1F;

class Arch {
 public:
  // The full supernet: every op active on every edge (the start of TE-NAS pruning).
  Arch();
  explicit Arch(const std::array<OpMask, kNumEdges>& masks);
  // A single cell from one op per edge.
  static Arch from_ops(const std::array<Op, kNumEdges>& ops);
  // Parses NB201 strings and the multi-op notation; also "supernet" (all five ops on every
  // edge) and "supernet-none" (all but none). Throws Error(kParseError) naming what and where.
  static Arch parse(const std::string& text);
  // Cell number `id` in 0..15624 of the enumeration order used by all_cells().
  static Arch from_cell_id(int id);

  OpMask mask(int edge) const { return masks_[edge]; }
  const std::array<OpMask, kNumEdges>& masks() const { return masks_; }
  bool has(int edge, Op op) const { return (masks_[edge] & op_bit(op)) != 0; }
  int num_active(int edge) const;
  // Active ops on an edge in op order.
  std::vector<Op> ops(int edge) const;
  // True when every edge has exactly one active op (an NB201 cell).
  bool is_cell() const;
  // For a cell: the op of each edge. Throws if !is_cell().
  std::array<Op, kNumEdges> cell_ops() const;
  // For a cell: its number in the enumeration order (edge 0 most significant, base 5).
  int cell_id() const;

  Arch with(int edge, OpMask mask) const;
  Arch without(int edge, Op op) const;

  // Canonical NB201 string (multi-op edges joined with '/', in op order).
  std::string to_string() const;

  bool operator==(const Arch& other) const { return masks_ == other.masks_; }
  bool operator!=(const Arch& other) const { return masks_ != other.masks_; }

 private:
  std::array<OpMask, kNumEdges> masks_;
};

// All 15,625 NB201 cells in enumeration order (cell id = Σ op(e)·5^(5-e)).
std::vector<Arch> all_cells();

}  // namespace micronas
