// Where a kernel runs: kernels choose between a task per cotangent and a finer split by asking
// whether an enclosing parallel region already owns the threads, and how many threads there are.
#pragma once

#ifdef _OPENMP
#include <omp.h>
#endif

namespace micronas::cpu {

// True inside a parallel region (the kernel then runs on the calling thread alone).
inline bool in_parallel() {
#ifdef _OPENMP
  return omp_in_parallel() != 0;
#else
  return false;
#endif
}

inline int max_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

}  // namespace micronas::cpu
