// a·b + c rounded the way the CPU build computes the same expression: GCC contracts it into one
// fused multiply-add when the library is compiled for a CPU with FMA (MICRONAS_NATIVE on such a
// machine), and rounds the product and the sum separately otherwise. The forward kernels use it
// wherever the CPU kernels multiply and add, so that forward values, and with them the signs of
// ReLU inputs that linear regions count, are the CPU's bit for bit. (nvcc would contract a plain
// a * b + c on its own; the intrinsics fix the rounding either way.)
#pragma once

#include <cuda_runtime.h>

#ifndef MICRONAS_CPU_FMA
#define MICRONAS_CPU_FMA 1
#endif

namespace micronas::cuda {

__device__ inline float cpu_madd(float a, float b, float c) {
#if MICRONAS_CPU_FMA
  return __fmaf_rn(a, b, c);
#else
  return __fadd_rn(__fmul_rn(a, b), c);
#endif
}

__device__ inline double cpu_madd(double a, double b, double c) {
#if MICRONAS_CPU_FMA
  return __fma_rn(a, b, c);
#else
  return __dadd_rn(__dmul_rn(a, b), c);
#endif
}

}  // namespace micronas::cuda
