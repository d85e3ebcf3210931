// Thread count of the CPU backend. Results are bitwise identical for any thread count.
#pragma once

namespace micronas {

// Most threads a context may ask for: more would only oversubscribe any machine this runs on,
// and each OpenMP thread takes a stack.
inline constexpr int kMaxThreads = 1024;

// Sets the number of OpenMP threads (1 .. kMaxThreads) of the calling thread's parallel regions;
// no effect in a build without OpenMP.
void set_num_threads(int threads);
// The calling thread's current OpenMP thread count.
int num_threads();
// OpenMP's count for a thread that never set one (OMP_NUM_THREADS, or the cores available),
// as it was when the library was loaded.
int default_num_threads();

}  // namespace micronas
