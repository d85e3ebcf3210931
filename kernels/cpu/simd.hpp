// The compile target's vector type for the hand-blocked CPU kernels (conv2d.cpp, winograd.cpp):
// GCC/Clang vector extensions, so one source serves AVX-512, AVX2 and SSE builds.
#pragma once

#include <cstring>

namespace micronas::cpu {

// The vector width and the number of vector registers of the compile target: the micro-kernels'
// register blocks are sized to the register file, since a block that spills turns every FMA
// into a load, an FMA and a store.
#if defined(__AVX512F__)
constexpr int kVectorBytes = 64;
constexpr int kVectorRegisters = 32;
#elif defined(__AVX__)
constexpr int kVectorBytes = 32;
constexpr int kVectorRegisters = 16;
#else
constexpr int kVectorBytes = 16;
constexpr int kVectorRegisters = 16;
#endif

template <class R>
struct Simd {
  static constexpr int width = kVectorBytes / static_cast<int>(sizeof(R));
  typedef R V __attribute__((vector_size(kVectorBytes)));
  static V load(const R* p) {
    V v;
    std::memcpy(&v, p, sizeof(V));
    return v;
  }
  static void store(R* p, V v) { std::memcpy(p, &v, sizeof(V)); }
};

}  // namespace micronas::cpu
