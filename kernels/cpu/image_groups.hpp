// Batches as groups of 16 images side by side, image innermost: the layout of the CPU kernels
// that turn a conv into channel-mixing products over long runs of positions (winograd.cpp along
// time, lowered_conv.cpp for the other one-dimensional convs). A group's plane row is w sensors x
// 16 images, so every per-row operation is whole vectors of floats and the products see 16x the
// positions of one image; images past the batch are zero lanes.
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/cpu/cpu_kernels.hpp"
#include "kernels/cpu/simd.hpp"

namespace micronas::cpu {

// Images per group: the widest vector of floats, so a run over (sensor, image) is whole vectors.
constexpr int kGroup = 16;

inline int image_groups(int batch) { return (batch + kGroup - 1) / kGroup; }

// Whether a batch fills at least two thirds of its groups' lanes (16, 22-32, 33-48, ...): below
// that the zero lanes cost more than the grouped kernels save.
inline bool groups_fill(int batch) {
  return batch >= kGroup && 3 * batch >= 2 * kGroup * image_groups(batch);
}

// `count` images (image i at src + i·image_stride, one channel's h x w plane) as rows of a
// group: dst[(row + row0)·run + s·kGroup + i] = image i's row `row`, sensor s (the other lanes
// and rows are the caller's to zero).
template <class R>
void gather_group(const R* src, std::int64_t image_stride, int h, int w, int count, int row0,
                  R* dst) {
  const int run = w * kGroup;
  for (int i = 0; i < count; ++i) {
    const R* img = src + i * image_stride;
    for (int row = 0; row < h; ++row)
      for (int s = 0; s < w; ++s) dst[(row + row0) * run + s * kGroup + i] = img[row * w + s];
  }
}

// The inverse: rows [row0, row0 + h) of a group back to the images' planes (added when
// accumulate).
template <class R>
void scatter_group(const R* src, int h, int w, int count, int row0, std::int64_t image_stride,
                   R* dst, bool accumulate) {
  const int run = w * kGroup;
  for (int i = 0; i < count; ++i) {
    R* img = dst + i * image_stride;
    for (int row = 0; row < h; ++row)
      for (int s = 0; s < w; ++s) {
        const R v = src[(row + row0) * run + s * kGroup + i];
        img[row * w + s] = accumulate ? img[row * w + s] + v : v;
      }
  }
}

// f(group, channel, images) for every (group, channel), in parallel: the unit of work of the
// gathers and transforms into the group layout.
template <class F>
void for_each_group_channel(int groups, int batch, int channels, F f) {
#pragma omp parallel for schedule(static)
  for (std::int64_t bc = 0; bc < std::int64_t{groups} * channels; ++bc) {
    const int b = static_cast<int>(bc / channels);
    f(b, static_cast<int>(bc % channels), std::min(kGroup, batch - b * kGroup));
  }
}

// f(group, first channel, channels, images) for every (group, block of kChannelBlock of
// `channels` channels), in parallel: the unit of work of the products and their transforms.
template <class F>
void for_each_channel_block(int groups, int batch, int channels, F f) {
  constexpr int kBlock = PointwiseProduct<float>::kChannelBlock;
  const int blocks = (channels + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static)
  for (int task = 0; task < groups * blocks; ++task) {
    const int b = task / blocks, c0 = task % blocks * kBlock;
    f(b, c0, std::min(kBlock, channels - c0), std::min(kGroup, batch - b * kGroup));
  }
}

// out[q] += a · in[q] for q < n, a multiple of the vector width.
template <class R>
void axpy(R a, const R* in, R* out, int n) {
  using S = Simd<R>;
  for (int q = 0; q < n; q += S::width) S::store(out + q, S::load(out + q) + a * S::load(in + q));
}

}  // namespace micronas::cpu
