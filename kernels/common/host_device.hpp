// One spelling for functions that both compilers read: plain inline C++ for g++, host and device
// functions for nvcc. Headers in kernels/common/ hold the code the CPU and CUDA backends share, so
// that geometry and hashing cannot drift apart between them.
#pragma once

#ifdef __CUDACC__
#define MICRONAS_HOST_DEVICE __host__ __device__ inline
#else
#define MICRONAS_HOST_DEVICE inline
#endif
