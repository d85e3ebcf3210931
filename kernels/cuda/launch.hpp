// Launch geometry of the CUDA kernels, computed on the host and unit-tested without a GPU.
//
// Element-wise and gather kernels run one thread per element of one cotangent's tensor
// (grid.x, grid-stride loop) and one grid row per cotangent (grid.y): the B cotangents of a
// Jacobian are a grid dimension, so one launch per layer serves them all.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>

#include "micronas/error.hpp"

namespace micronas::cuda {

constexpr int kBlockSize = 256;
// grid.x is capped well below the hardware limit (2^31 - 1): beyond it a grid-stride loop
// covers the rest, and 2^16 blocks of 256 threads fill any current GPU many times over.
constexpr std::int64_t kMaxGridX = 65536;
constexpr int kMaxGridY = 65535;  // hardware limit of grid.y and grid.z

struct Launch {
  unsigned grid_x = 1, grid_y = 1;
  unsigned block = kBlockSize;
};

// `elements` threads (per cotangent) for `cotangents` cotangents.
inline Launch elementwise_launch(std::int64_t elements, int cotangents = 1,
                                 int block = kBlockSize) {
  if (elements < 0 || cotangents < 1 || block < 32 || block > 1024 || block % 32 != 0)
    throw Error(Status::kInvalidArgument, "invalid launch: " + std::to_string(elements) +
                                              " elements, " + std::to_string(cotangents) +
                                              " cotangents, block " + std::to_string(block));
  if (cotangents > kMaxGridY)
    throw Error(Status::kInvalidArgument, std::to_string(cotangents) +
                                              " cotangents exceed the CUDA backend's limit of " +
                                              std::to_string(kMaxGridY) + " per pass");
  Launch l;
  l.block = static_cast<unsigned>(block);
  const std::int64_t blocks = std::max<std::int64_t>(1, (elements + block - 1) / block);
  l.grid_x = static_cast<unsigned>(std::min(blocks, kMaxGridX));
  l.grid_y = static_cast<unsigned>(cotangents);
  return l;
}

// One block per reduction (a BN channel, a weight tap group, ...), `rows` of them per cotangent.
inline Launch reduction_launch(std::int64_t rows, int cotangents = 1, int block = kBlockSize) {
  if (rows < 1 || rows > (std::int64_t{1} << 31) - 1)
    throw Error(Status::kInvalidArgument,
                "invalid reduction launch over " + std::to_string(rows) + " rows");
  Launch l = elementwise_launch(0, cotangents, block);
  l.grid_x = static_cast<unsigned>(rows);
  return l;
}

// Smallest power of two >= n, at least 32 and at most 1024: a block for n-element reductions.
inline int reduction_block(std::int64_t n) {
  int b = 32;
  while (b < n && b < 1024) b *= 2;
  return b;
}

}  // namespace micronas::cuda
