// ReLU fused with activation-pattern hashing for linear-region counting: one pass over the
// pre-activations writes the ReLU output and folds each sample's bits [x > 0] into a 128-bit
// hash. The exact variant packs the bits themselves (the verification oracle).
#include "kernels/common/pattern_hash.hpp"
#include "kernels/cpu/cpu_kernels.hpp"

namespace micronas::cpu {
using pattern_hash::absorb;

void pattern_hash_init(int batch, std::uint64_t* hash) {
  for (int n = 0; n < batch; ++n) {
    hash[2 * n] = pattern_hash::kSeed0;
    hash[2 * n + 1] = pattern_hash::kSeed1;
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
    absorb(pattern_hash::segment_end(per_sample), h);
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
