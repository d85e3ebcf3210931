// Tensor-lifetime schedule and arena plan (internal): which buffers TFLite Micro places in its
// arena's non-persistent head, and where its GreedyMemoryPlanner puts them. Generic over any
// schedule of ops (NB201, time-series networks): nothing here knows a search space.
#pragma once

#include <cstdint>
#include <vector>

namespace micronas::mcu {

struct ScheduleOp {
  int in0 = -1, in1 = -1;  // tensor ids read (-1: none)
  int out = -1;            // tensor id written
  std::int64_t scratch = 0;
};

// One buffer of the arena plan, live from op `first` through op `last` (inclusive; -1 is before
// the first op: the network input).
struct ArenaBuffer {
  std::int64_t bytes = 0;
  int first = 0, last = 0;
};

// The buffers TFLite Micro's allocator hands its planner, in its order: every tensor with arena
// bytes (0: a constant, not in the arena) by id, live from its producer `def` (-1: exists before
// the first op) through its last reader (`outputs`, read after the ops: through the last op);
// then each op's non-zero scratch, by op, live while the op runs. `arena_bytes` are the aligned
// sizes. Replaces the contents of `out`.
void schedule_buffers(const std::vector<ScheduleOp>& ops,
                      const std::vector<std::int64_t>& arena_bytes, const std::vector<int>& def,
                      const std::vector<int>& outputs, std::vector<ArenaBuffer>& out);

// Bytes live while each of `n_ops` ops runs (live[i]; scratch of op i included). Their maximum
// is the lifetime-overlap bound: no plan of these buffers is smaller.
void live_bytes(const std::vector<ArenaBuffer>& buffers, int n_ops,
                std::vector<std::int64_t>& live);

// TFLite Micro's GreedyMemoryPlanner: buffers in order of decreasing size (equal sizes: the later
// buffer of `buffers` first), each at the lowest offset where it overlaps no already placed buffer
// live at the same time. Returns the planned size (the arena head: max offset + size); writes
// each buffer's offset to `offsets` when given.
std::int64_t greedy_arena_plan(const std::vector<ArenaBuffer>& buffers,
                               std::vector<std::int64_t>* offsets = nullptr);

}  // namespace micronas::mcu
