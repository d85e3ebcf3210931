// The library's own seeded PRNG. std::random_device and std::*_distribution are never used:
// their output differs between standard libraries, and results must be bitwise reproducible.
#pragma once

#include <cmath>
#include <cstdint>
#include <string_view>

namespace micronas {

// SplitMix64 (Steele, Lea, Flood 2014): a 64-bit state advanced by a Weyl increment and mixed;
// passes BigCrush, and seeding with any 64-bit value is safe.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}

  std::uint64_t next_u64() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [0, n), n > 0 (Lemire's multiply-shift; bias < n / 2^64).
  std::uint64_t below(std::uint64_t n) {
    __extension__ typedef unsigned __int128 Wide;  // GCC/Clang; silences -Wpedantic
    return static_cast<std::uint64_t>((static_cast<Wide>(next_u64()) * n) >> 64);
  }
  // Standard normal by Box-Muller; both variates are used.
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u1 = 1.0 - uniform();  // (0, 1]: log() stays finite
    double u2 = uniform();
    double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(2.0 * M_PI * u2);
    has_spare_ = true;
    return r * std::cos(2.0 * M_PI * u2);
  }

 private:
  std::uint64_t state_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

// A seed for an independent stream derived from a base seed and a label (FNV-1a of the label,
// mixed with the seed), so e.g. each named parameter gets its own stream.
inline std::uint64_t derive_seed(std::uint64_t seed, std::string_view label) {
  std::uint64_t h = 0xCBF29CE484222325ull;
  for (char c : label) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001B3ull;
  Rng mix(seed ^ h);
  return mix.next_u64();
}
inline std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t index) {
  Rng mix(seed + 0x632BE59BD9B4E019ull * (index + 1));
  return mix.next_u64();
}

}  // namespace micronas
