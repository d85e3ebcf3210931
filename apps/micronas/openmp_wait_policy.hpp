// OpenMP's idle threads spin at every barrier by default. On a machine whose cores are shared
// (CI runners, notebooks, cluster nodes, two runs at once) a spinning thread takes the core from
// the thread it waits for, and a search slows down tenfold or more. Passive waiting (threads
// sleep until work arrives) costs a few microseconds per parallel region instead.
#pragma once

namespace micronas::cli {

// GNU OpenMP reads OMP_WAIT_POLICY once, when it is loaded, before main() runs. When the user
// has not chosen a policy, this sets OMP_WAIT_POLICY=PASSIVE and re-executes the program so that
// the runtime starts with it; it returns (and the program goes on as it is) when the policy was
// already set or the program cannot be re-executed.
void use_passive_openmp_waiting(char** argv);

}  // namespace micronas::cli
