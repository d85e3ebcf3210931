// OpenMP's idle threads spin at every barrier by default. On a machine whose cores are shared
// (CI runners, notebooks, cluster nodes, two runs at once) a spinning thread takes the core from
// the thread it waits for, and a search slows down tenfold or more. Sleeping at once costs a
// wake-up per parallel region, which doubles the time of small searches run alone. A short spin
// (GNU OpenMP's GOMP_SPINCOUNT = 200) then sleep keeps most of both (bench/README.md, "Shared
// cores": a batch-8 search 1.2 s alone, 1.7 s beside a busy loop; spinning: 0.75 s and 12 s).
#pragma once

namespace micronas::cli {

// GNU OpenMP reads its wait policy once, when it is loaded, before main() runs. When the user
// has chosen neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT, this sets OMP_WAIT_POLICY=PASSIVE and
// GOMP_SPINCOUNT=200 and re-executes the program so that the runtime starts with them; it returns
// (and the program goes on as it is) when a policy was already set or the program cannot be
// re-executed.
void use_passive_openmp_waiting(char** argv);

}  // namespace micronas::cli
