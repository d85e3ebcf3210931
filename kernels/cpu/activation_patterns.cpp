// ReLU fused with activation-pattern hashing for linear-region counting: one pass over the
// pre-activations writes the ReLU output and folds each sample's bits [x > 0] into a 128-bit
// hash. The exact variant packs the bits themselves (the verification oracle).
#include "kernels/cpu/cpu_kernels.hpp"

namespace micronas::cpu {
namespace {

// MurmurHash3's 64-bit finaliser: a bijection with full avalanche.
inline std::uint64_t fmix64(std::uint64_t k) {
  k ^= k >> 33;
  k *= 0xFF51AFD7ED558CCDull;
  k ^= k >> 33;
  k *= 0xC4CEB9FE1A85EC53ull;
  k ^= k >> 33;
  return k;
}

// Two independent chains: for fixed state each step is a bijection of the word, so distinct
// patterns collide only by chance (~n² / 2^129 for n samples).
inline void absorb(std::uint64_t word, std::uint64_t* h) {
  h[0] = fmix64(h[0] ^ word) + 0x9E3779B97F4A7C15ull;
  h[1] = fmix64(h[1] + word * 0xD6E8FEB86659FD93ull) ^ 0x632BE59BD9B4E019ull;
}

}  // namespace

void pattern_hash_init(int batch, std::uint64_t* hash) {
  for (int n = 0; n < batch; ++n) {
    hash[2 * n] = 0x243F6A8885A308D3ull;  // digits of π: arbitrary, fixed
    hash[2 * n + 1] = 0x13198A2E03707344ull;
  }
}

template <class R>
void relu_forward_pattern_hash(int batch, std::int64_t per_sample, const R* x, R* y,
                               std::uint64_t* hash) {
#pragma omp parallel for schedule(static)
  for (int n = 0; n < batch; ++n) {
    const R* xs = x + n * per_sample;
    R* ys = y + n * per_sample;
    std::uint64_t* h = hash + 2 * n;
    std::uint64_t word = 0;
    for (std::int64_t i = 0; i < per_sample; ++i) {
      const bool on = xs[i] > R(0);
      ys[i] = on ? xs[i] : R(0);
      word |= static_cast<std::uint64_t>(on) << (i & 63);
      if ((i & 63) == 63) {
        absorb(word, h);
        word = 0;
      }
    }
    if (per_sample & 63) absorb(word, h);
    // The layer's width closes its segment, so patterns of different layers never alias.
    absorb(static_cast<std::uint64_t>(per_sample) | (1ull << 63), h);
  }
}

template <class R>
void append_pattern_bits(int batch, std::int64_t per_sample, const R* x,
                         std::vector<std::uint64_t>* rows) {
#pragma omp parallel for schedule(static)
  for (int n = 0; n < batch; ++n) {
    const R* xs = x + n * per_sample;
    std::uint64_t word = 0;
    for (std::int64_t i = 0; i < per_sample; ++i) {
      word |= static_cast<std::uint64_t>(xs[i] > R(0)) << (i & 63);
      if ((i & 63) == 63) {
        rows[n].push_back(word);
        word = 0;
      }
    }
    if (per_sample & 63) rows[n].push_back(word);
  }
}

#define MICRONAS_INSTANTIATE(R)                                                                \
  template void relu_forward_pattern_hash<R>(int, std::int64_t, const R*, R*, std::uint64_t*); \
  template void append_pattern_bits<R>(int, std::int64_t, const R*, std::vector<std::uint64_t>*);
MICRONAS_INSTANTIATE(float)
MICRONAS_INSTANTIATE(double)
#undef MICRONAS_INSTANTIATE

}  // namespace micronas::cpu
