// Proxy throughput: NTK evaluations/s (forward + batched-Jacobian backward + fp64 Gram and
// eigenvalues) and linear-region evaluations/s (3 x 1000 samples through the thin net), for the
// round-1 supernet (every non-none op on every edge) and a single cell, at B = 72 and 128.
#include <benchmark/benchmark.h>

#include "micronas/data.hpp"
#include "micronas/proxies.hpp"

namespace micronas {
namespace {

const char* kArchs[] = {
    "supernet-none",
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
    "nor_conv_3x3~2|",
};

void BM_ntk(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(0));
  Network<float> net(
      build_graph(NetworkConfig::ntk(Dataset::kCifar10), Arch::parse(kArchs[state.range(1)])));
  net.initialize(InitMode::kPyTorchDefault, 1);
  InputSampler sampler(DataSpec{}, 2);
  ImageBatch x = sampler.ntk_batch(batch, 32);
  for (auto _ : state) {
    Jacobian j = compute_jacobian(net, x.data.data(), batch);
    NtkCondition c = ntk_condition(ntk_gram(j), batch);
    benchmark::DoNotOptimize(c.condition);
  }
  state.counters["evals/s"] = benchmark::Counter(1, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_ntk)
    ->Name("BM_ntk/cpu")
    ->ArgNames({"batch", "arch"})
    ->ArgsProduct({{72, 128}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_linear_regions(benchmark::State& state) {
  Network<float> net(build_graph(NetworkConfig::linear_regions(Dataset::kCifar10),
                                 Arch::parse(kArchs[state.range(0)])));
  net.initialize(InitMode::kPyTorchDefault, 1);
  InputSampler sampler(DataSpec{}, 2);
  std::vector<ImageBatch> batches;
  for (int b = 0; b < 3; ++b) batches.push_back(sampler.lr_batch(1000));
  for (auto _ : state) {
    LinearRegionCounter counter;
    for (const ImageBatch& b : batches) counter.add_batch(net, b.data.data(), b.n);
    benchmark::DoNotOptimize(counter.count());
  }
  state.counters["evals/s"] = benchmark::Counter(1, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_linear_regions)
    ->Name("BM_linear_regions/cpu")
    ->ArgNames({"arch"})
    ->DenseRange(0, 1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace micronas

BENCHMARK_MAIN();
