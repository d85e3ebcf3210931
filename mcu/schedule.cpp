// Tensor lifetimes and TFLite Micro's greedy arena plan (see mcu/schedule.hpp).
#include "mcu/schedule.hpp"

#include <algorithm>
#include <numeric>
#include <utility>

namespace micronas::mcu {

void schedule_buffers(const std::vector<ScheduleOp>& ops,
                      const std::vector<std::int64_t>& arena_bytes, const std::vector<int>& def,
                      const std::vector<int>& outputs, std::vector<ArenaBuffer>& out) {
  const int n_ops = static_cast<int>(ops.size());
  std::vector<int> last(def);  // a tensor nobody reads lives while its producer runs
  for (int t : outputs) last[t] = std::max(last[t], n_ops - 1);
  for (int i = 0; i < n_ops; ++i)
    for (int t : {ops[i].in0, ops[i].in1})
      if (t >= 0) last[t] = std::max(last[t], i);
  out.clear();
  for (std::size_t t = 0; t < arena_bytes.size(); ++t)
    if (arena_bytes[t] > 0) out.push_back({arena_bytes[t], def[t], last[t]});
  for (int i = 0; i < n_ops; ++i)
    if (ops[i].scratch > 0) out.push_back({ops[i].scratch, i, i});
}

void live_bytes(const std::vector<ArenaBuffer>& buffers, int n_ops,
                std::vector<std::int64_t>& live) {
  std::vector<std::int64_t> diff(n_ops + 1, 0);
  for (const ArenaBuffer& b : buffers) {
    const int begin = std::max(b.first, 0);
    if (b.last < begin) continue;
    diff[begin] += b.bytes;
    diff[b.last + 1] -= b.bytes;
  }
  live.assign(n_ops, 0);
  std::int64_t running = 0;
  for (int i = 0; i < n_ops; ++i) live[i] = running += diff[i];
}

namespace {

// For each buffer, the buffers live at some common op (compressed rows: `start[i]` ..
// `start[i + 1]` of `index`). A sweep in order of first use: the buffers still live when one
// begins are exactly those it overlaps among the earlier-starting ones.
void time_neighbours(const std::vector<ArenaBuffer>& b, std::vector<int>& start,
                     std::vector<int>& index) {
  const int n = static_cast<int>(b.size());
  // Counting sort by first use (ops from -1: the input).
  int last_first = -1;
  for (const ArenaBuffer& x : b) last_first = std::max(last_first, x.first);
  std::vector<int> bucket(last_first + 3, 0), by_first(n);
  for (const ArenaBuffer& x : b) ++bucket[x.first + 2];
  std::partial_sum(bucket.begin(), bucket.end(), bucket.begin());
  for (int i = 0; i < n; ++i) by_first[bucket[b[i].first + 1]++] = i;
  std::vector<std::pair<int, int>> pairs;
  std::vector<int> active;
  for (int i : by_first) {
    active.erase(
        std::remove_if(active.begin(), active.end(), [&](int a) { return b[a].last < b[i].first; }),
        active.end());
    for (int a : active) pairs.emplace_back(a, i);
    active.push_back(i);
  }
  start.assign(n + 1, 0);
  for (const auto& [x, y] : pairs) ++start[x + 1], ++start[y + 1];
  std::partial_sum(start.begin(), start.end(), start.begin());
  index.resize(start[n]);
  std::vector<int> fill(start.begin(), start.end() - 1);
  for (const auto& [x, y] : pairs) index[fill[x]++] = y, index[fill[y]++] = x;
}

}  // namespace

std::int64_t greedy_arena_plan(const std::vector<ArenaBuffer>& buffers,
                               std::vector<std::int64_t>* offsets) {
  const int n = static_cast<int>(buffers.size());
  // TFLite Micro lists the buffers last to first, then bubble-sorts them by decreasing size
  // (stable): equal sizes keep the later buffer first.
  std::vector<std::pair<std::int64_t, int>> order(n);  // (-bytes, -index): ascending
  for (int i = 0; i < n; ++i) order[i] = {-buffers[i].bytes, -i};
  std::sort(order.begin(), order.end());
  std::vector<int> start, index;
  time_neighbours(buffers, start, index);

  std::vector<std::int64_t> offset(n, -1);
  std::vector<std::pair<std::int64_t, std::int64_t>> placed;  // [offset, end) of neighbours
  std::int64_t head = 0;
  for (const auto& key : order) {
    const int id = -key.second;
    placed.clear();
    for (int k = start[id]; k < start[id + 1]; ++k) {
      const int j = index[k];
      if (offset[j] >= 0) placed.emplace_back(offset[j], offset[j] + buffers[j].bytes);
    }
    std::sort(placed.begin(), placed.end());
    // The lowest gap: below the next placed buffer and above every one before it.
    std::int64_t at = 0;
    for (const auto& [begin, end] : placed) {
      if (begin - at >= buffers[id].bytes) break;
      at = std::max(at, end);
    }
    offset[id] = at;
    head = std::max(head, at + buffers[id].bytes);
  }
  if (offsets) *offsets = std::move(offset);
  return head;
}

}  // namespace micronas::mcu
