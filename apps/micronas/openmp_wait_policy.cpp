#include "openmp_wait_policy.hpp"

#include <unistd.h>

#include <cstdlib>

namespace micronas::cli {

void use_passive_openmp_waiting(char** argv) {
  // The user's choice, or already re-executed.
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;
  if (setenv("OMP_WAIT_POLICY", "PASSIVE", 1) != 0 || setenv("GOMP_SPINCOUNT", "200", 1) != 0)
    return;
  execv("/proc/self/exe", argv);
  // Not re-executed (no /proc, say): go on with the runtime's default policy.
}

}  // namespace micronas::cli
