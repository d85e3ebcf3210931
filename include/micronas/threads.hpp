// Thread count of the CPU backend. Results are bitwise identical for any thread count.
#pragma once

namespace micronas {

// Sets the number of OpenMP threads (>= 1); no effect in a build without OpenMP.
void set_num_threads(int threads);
int num_threads();

}  // namespace micronas
