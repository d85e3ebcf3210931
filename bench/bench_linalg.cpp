// Symmetric eigenvalues of NTK-sized Gram matrices (n = batch = 72, 128, 256, 512): the cost of
// one condition number after the Jacobian is known. Reports matrices per second; a cyclic Jacobi
// sweep is ~3 n^3 flops and a well-conditioned random matrix needs 7-10 sweeps.
#include <benchmark/benchmark.h>

#include <vector>

#include "micronas/linalg.hpp"
#include "micronas/random.hpp"

namespace micronas {
namespace {

// A = X X^T / m for a Gaussian n x m X (m = 2n): a positive definite Gram matrix like the NTK's.
std::vector<double> random_gram(int n, std::uint64_t seed) {
  const int m = 2 * n;
  Rng rng(seed);
  std::vector<double> x(static_cast<std::size_t>(n) * m), a(static_cast<std::size_t>(n) * n);
  for (double& v : x) v = rng.normal();
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < n; ++j) {
      double s = 0.0;
      for (int k = 0; k < m; ++k) s += x[i * m + k] * x[j * m + k];
      a[i * n + j] = s / m;
    }
  }
  return a;
}

void BM_symmetric_eigenvalues(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const std::vector<double> a = random_gram(n, 1);
  for (auto _ : state) benchmark::DoNotOptimize(symmetric_eigenvalues(a.data(), n));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_symmetric_eigenvalues)
    ->Name("BM_symmetric_eigenvalues/jacobi_cyclic")
    ->Arg(72)
    ->Arg(128)
    ->Arg(256)
    ->Arg(512)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace micronas

BENCHMARK_MAIN();
