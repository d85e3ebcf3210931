#include "micronas/threads.hpp"

#include <string>

#include "micronas/error.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace micronas {

void set_num_threads(int threads) {
  if (threads < 1)
    throw Error(Status::kInvalidArgument,
                "thread count must be >= 1, got " + std::to_string(threads));
#ifdef _OPENMP
  omp_set_num_threads(threads);
#endif
}

int num_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

}  // namespace micronas
