// Thread-local buffers of the CPU kernels, grown on demand and never shrunk, reused by every
// call on the thread: no allocation, page fault or zeroing per image or per call. A kernel owns
// its slots, so it may call another kernel (conv2d.cpp's, below it) without clobbering them:
//   conv2d.cpp   0: packed input, 1: flat output, 2: packed dy, 3: one image
//   winograd.cpp 4: a group's rows, 5: a channel block's products, 6: the products' gradient,
//                7: the transformed weights' gradient, 8: the transformed weights
//   lowered_conv.cpp shares 4-6 (rows, block, gradient) with winograd.cpp: neither calls the
//                other.
#pragma once

#include <cstddef>
#include <vector>

namespace micronas::cpu {

inline constexpr int kScratchSlots = 9;

template <class R>
R* thread_scratch(int slot, std::size_t n) {
  thread_local std::vector<R> buffers[kScratchSlots];
  if (buffers[slot].size() < n) buffers[slot].resize(n);
  return buffers[slot].data();
}

}  // namespace micronas::cpu
