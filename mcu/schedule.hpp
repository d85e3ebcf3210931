// Tensor-lifetime schedule (internal): the live arena bytes while each op runs, for ops executed
// in order with no in-place reuse (TFLM's planner gives every live tensor its own buffer).
#pragma once

#include <cstdint>

namespace micronas::mcu {

struct ScheduleOp {
  int in0 = -1, in1 = -1;  // tensor ids read (-1: none or a constant)
  int out = -1;            // tensor id written
  std::int64_t scratch = 0;
};

// A tensor lives from its producing op (`def`; -1: it exists before the first op) through its
// last reader; `live_to_end` tensors (outputs read after these ops) live through the last op.
// Constant tensors (arena_bytes 0) take no arena. Writes the live bytes + scratch of every op to
// `live` (may be null) and returns their maximum. `last_use` is caller-provided space for
// n_tensors ints, so that the function allocates nothing.
inline std::int64_t schedule_peak(const ScheduleOp* ops, int n_ops, const std::int64_t* arena_bytes,
                                  const int* def, const bool* live_to_end, int n_tensors,
                                  int* last_use, std::int64_t* live) {
  for (int t = 0; t < n_tensors; ++t) last_use[t] = live_to_end[t] ? n_ops - 1 : def[t];
  for (int i = 0; i < n_ops; ++i) {
    const ScheduleOp& op = ops[i];
    if (op.in0 >= 0 && last_use[op.in0] < i) last_use[op.in0] = i;
    if (op.in1 >= 0 && last_use[op.in1] < i) last_use[op.in1] = i;
  }
  std::int64_t peak = 0;
  for (int i = 0; i < n_ops; ++i) {
    std::int64_t bytes = ops[i].scratch;
    for (int t = 0; t < n_tensors; ++t)
      if (def[t] <= i && i <= last_use[t]) bytes += arena_bytes[t];
    if (live) live[i] = bytes;
    if (bytes > peak) peak = bytes;
  }
  return peak;
}

}  // namespace micronas::mcu
