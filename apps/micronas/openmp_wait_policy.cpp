#include "openmp_wait_policy.hpp"

#include <unistd.h>

#include <cstdlib>

namespace micronas::cli {

void use_passive_openmp_waiting(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY")) return;  // the user's choice, or already re-executed
  if (setenv("OMP_WAIT_POLICY", "PASSIVE", 1) != 0) return;
  execv("/proc/self/exe", argv);
  // Not re-executed (no /proc, say): go on with the runtime's default policy.
}

}  // namespace micronas::cli
