// The activation-pattern hash of linear-region counting, shared by the CPU and CUDA backends so
// that both count exactly the same distinct patterns.
//
// Per sample, every ReLU (in execution order) contributes the bits [pre-activation > 0] of its
// elements, packed 64 per word in element order (bit i % 64 of word i / 64); each word is
// absorbed into two independent 64-bit chains, and the layer's width closes its segment so that
// patterns of different layers never alias.
#pragma once

#include <cstdint>

#include "kernels/common/host_device.hpp"

namespace micronas::pattern_hash {

constexpr std::uint64_t kSeed0 = 0x243F6A8885A308D3ull;  // digits of π: arbitrary, fixed
constexpr std::uint64_t kSeed1 = 0x13198A2E03707344ull;

// MurmurHash3's 64-bit finaliser: a bijection with full avalanche.
MICRONAS_HOST_DEVICE std::uint64_t fmix64(std::uint64_t k) {
  k ^= k >> 33;
  k *= 0xFF51AFD7ED558CCDull;
  k ^= k >> 33;
  k *= 0xC4CEB9FE1A85EC53ull;
  k ^= k >> 33;
  return k;
}

// Two independent chains: for fixed state each step is a bijection of the word, so distinct
// patterns collide only by chance (~n² / 2^129 for n samples).
MICRONAS_HOST_DEVICE void absorb(std::uint64_t word, std::uint64_t* h) {
  h[0] = fmix64(h[0] ^ word) + 0x9E3779B97F4A7C15ull;
  h[1] = fmix64(h[1] + word * 0xD6E8FEB86659FD93ull) ^ 0x632BE59BD9B4E019ull;
}

// The word that closes a layer's segment of `per_sample` bits.
MICRONAS_HOST_DEVICE std::uint64_t segment_end(std::int64_t per_sample) {
  return static_cast<std::uint64_t>(per_sample) | (1ull << 63);
}

}  // namespace micronas::pattern_hash
