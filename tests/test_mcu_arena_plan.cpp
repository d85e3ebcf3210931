// TFLite Micro's arena plan as the cost model simulates it (mcu/schedule.hpp): hand-made
// schedules whose greedy plans are worked out below, and whole NB201 networks against the arena
// heads TFLite Micro's own planner gave for the exported files (mcu/VALIDATION.md).
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "mcu/schedule.hpp"
#include "micronas/mcu.hpp"

namespace micronas::mcu {
namespace {

std::int64_t max_live(const std::vector<ArenaBuffer>& buffers, int n_ops) {
  std::vector<std::int64_t> live;
  live_bytes(buffers, n_ops, live);
  return *std::max_element(live.begin(), live.end());
}

// Four equal buffers, max 2 live at once (32 bytes). Equal sizes are placed later buffer first:
// X@0; Y@0 (no overlap with X); Z overlaps X -> 16; W overlaps Y (0..16) and Z (16..32) -> 32.
// The plan needs 48 bytes, one buffer more than the lifetime-overlap bound. Placed in list order
// (W@0, Z@16, Y@16, X@0) the same buffers would need 32: the tie rule decides.
TEST(McuArenaPlan, EqualSizesLaterFirstCanExceedTheLiveBound) {
  const std::vector<ArenaBuffer> b = {
      {16, 1, 3},  // W
      {16, 3, 4},  // Z
      {16, 0, 1},  // Y
      {16, 4, 5},  // X
  };
  std::vector<std::int64_t> offsets;
  EXPECT_EQ(greedy_arena_plan(b, &offsets), 48);
  EXPECT_EQ(offsets, (std::vector<std::int64_t>{32, 16, 0, 0}));
  EXPECT_EQ(max_live(b, 6), 32);
}

// Larger buffers first; a smaller one takes the lowest gap between placed buffers live with it.
//   A 64 [0,1] -> 0; B 48 [1,2] overlaps A -> 64; C 32 [2,3] overlaps B only -> 0;
//   E 16 [2,2] (the later 16) overlaps C (0..32) and B (64..112): the gap 32..64 -> 32;
//   D 16 [0,3] overlaps A (0..64), C, E (32..48), B: no gap below 112 -> 112.
TEST(McuArenaPlan, LargestFirstThenLowestGap) {
  const std::vector<ArenaBuffer> b = {
      {64, 0, 1}, {48, 1, 2}, {32, 2, 3}, {16, 0, 3}, {16, 2, 2},
  };
  std::vector<std::int64_t> offsets;
  EXPECT_EQ(greedy_arena_plan(b, &offsets), 128);
  EXPECT_EQ(offsets, (std::vector<std::int64_t>{0, 64, 0, 112, 32}));
  EXPECT_EQ(max_live(b, 4), 128);
}

// A gap exactly as large as the buffer is taken; one byte less is not.
TEST(McuArenaPlan, GapMustHoldTheWholeBuffer) {
  // W 48 [0,0] -> 0; Y 48 [0,2] overlaps W -> 48; X 24 [1,2] (later of the 24s) overlaps Y: the
  // 48 bytes below it -> 0; Z 24 [1,1] overlaps X (0..24) and Y (48..96): the gap 24..48 fits.
  std::vector<std::int64_t> offsets;
  EXPECT_EQ(greedy_arena_plan({{48, 0, 2}, {48, 0, 0}, {24, 1, 1}, {24, 1, 2}}, &offsets), 96);
  EXPECT_EQ(offsets, (std::vector<std::int64_t>{48, 0, 24, 0}));
  // W and Y of 47 bytes leave a 23-byte gap: Z goes above Y.
  EXPECT_EQ(greedy_arena_plan({{47, 0, 2}, {47, 0, 0}, {24, 1, 1}, {24, 1, 2}}, &offsets), 118);
  EXPECT_EQ(offsets, (std::vector<std::int64_t>{47, 0, 94, 0}));
}

// Lifetimes from a schedule: the input lives from before the first op through its last reader,
// an unread tensor while its producer runs, the output through the last op; a constant (0 bytes)
// takes no buffer; scratch buffers come after all tensors, each live while its op runs.
TEST(McuArenaPlan, ScheduleBuffersFollowTheAllocatorsOrder) {
  //   op0: t1 = f(t0) with 48 bytes of scratch;  op1: t2 = g(t1, t4 constant), t2 never read;
  //   op2: t3 = h(t0, t1) with 16 bytes of scratch;  t3 is the output; op3: t5 = k(t1).
  std::vector<ScheduleOp> ops(4);
  ops[0] = {0, -1, 1, 48};
  ops[1] = {1, 4, 2, 0};
  ops[2] = {0, 1, 3, 16};
  ops[3] = {1, -1, 5, 0};
  const std::vector<std::int64_t> bytes = {32, 64, 16, 32, 0, 16};
  const std::vector<int> def = {-1, 0, 1, 2, 1, 3};
  std::vector<ArenaBuffer> b;
  schedule_buffers(ops, bytes, def, {3}, b);
  ASSERT_EQ(b.size(), 7u);
  auto is = [](const ArenaBuffer& x, std::int64_t size, int first, int last) {
    return x.bytes == size && x.first == first && x.last == last;
  };
  EXPECT_TRUE(is(b[0], 32, -1, 2));  // input
  EXPECT_TRUE(is(b[1], 64, 0, 3));
  EXPECT_TRUE(is(b[2], 16, 1, 1));  // never read
  EXPECT_TRUE(is(b[3], 32, 2, 3));  // output
  EXPECT_TRUE(is(b[4], 16, 3, 3));
  EXPECT_TRUE(is(b[5], 48, 0, 0));  // scratch of op0
  EXPECT_TRUE(is(b[6], 16, 2, 2));  // scratch of op2
  std::vector<std::int64_t> live;
  live_bytes(b, 4, live);
  EXPECT_EQ(live, (std::vector<std::int64_t>{32 + 64 + 48, 32 + 64 + 16, 32 + 64 + 32 + 16,
                                             64 + 32 + 16}));
  // Order: t1 64, scratch0 48, t3 32, t0 32, then the 16s later first: scratch2, t5, t2.
  // t1 -> 0; scratch0 [0,0] overlaps t1 -> 64; t3 [2,3] overlaps t1 -> 64; t0 [-1,2] overlaps
  // t1, scratch0, t3 -> 112; scratch2 [2,2] overlaps t1, t3 (64..96), t0 (112..): the gap
  // 96..112 -> 96; t5 [3,3] overlaps t1, t3 -> 96; t2 [1,1] overlaps t1, t0 -> 64.
  std::vector<std::int64_t> offsets;
  EXPECT_EQ(greedy_arena_plan(b, &offsets), 144);
  EXPECT_EQ(offsets, (std::vector<std::int64_t>{112, 0, 64, 64, 96, 64, 96}));
}

// TFLite Micro 1.x's arena head (Python `tflite-micro`, reference kernels: no scratch buffers)
// for files `micronas export` wrote, as recorded in mcu/VALIDATION.md: the model's plan of the
// activations must be those bytes exactly, including where the greedy plan exceeds the
// lifetime-overlap bound by one or two 16 KB tensors.
TEST(McuArenaPlan, NetworksPlanLikeTfliteMicro) {
  struct Case {
    const char* cell;
    std::int64_t head;
  };
  const Case cases[] = {
      {"|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_"
       "3x3~2|",
       81920},
      {"|avg_pool_3x3~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|avg_pool_3x3~0|avg_pool_3x3~1|avg_pool_"
       "3x3~2|",
       98304},
      {"|avg_pool_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|avg_pool_3x3~0|nor_conv_3x3~1|avg_pool_"
       "3x3~2|",
       114688},
      {"|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_3x3~1|+|skip_connect~0|none~1|avg_pool_3x3~2|",
       82960},
      {"|avg_pool_3x3~0|+|none~0|avg_pool_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|skip_connect~2|",
       66576},
      {"|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_"
       "connect~2|",
       50192},
  };
  const TargetProfile target = load_target("stm32f746");
  const NetworkConfig config = NetworkConfig::nb201(Dataset::kCifar10);
  for (const Case& c : cases) {
    const NetworkEstimate e = estimate_network(target, config, Arch::parse(c.cell));
    EXPECT_EQ(e.activation_plan_bytes, c.head) << c.cell;
    // With the kernels' scratch the plan only grows; never below the live bound.
    std::int64_t bound = 0;
    for (const LayerEstimate& l : e.layers) bound = std::max(bound, l.live_sram_bytes);
    EXPECT_GE(e.arena_plan_bytes, e.activation_plan_bytes) << c.cell;
    EXPECT_GE(e.arena_plan_bytes, bound) << c.cell;
  }
}

}  // namespace
}  // namespace micronas::mcu
