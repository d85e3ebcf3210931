#include "micronas/threads.hpp"

#include <string>

#include "micronas/error.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace micronas {

namespace {

int openmp_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

// Read when the library is loaded, before any caller could change the loading thread's count.
const int kDefaultThreads = openmp_threads();

}  // namespace

void set_num_threads(int threads) {
  if (threads < 1 || threads > kMaxThreads)
    throw Error(Status::kInvalidArgument, "thread count must be in 1.." +
                                              std::to_string(kMaxThreads) + ", got " +
                                              std::to_string(threads));
#ifdef _OPENMP
  omp_set_num_threads(threads);
#endif
}

int num_threads() { return openmp_threads(); }

int default_num_threads() { return kDefaultThreads; }

}  // namespace micronas
