// Proxy throughput through the backend seam, on every backend this build and machine have:
// NTK evaluations/s (forward + batched-Jacobian backward + fp64 Gram and eigenvalues) and
// linear-region evaluations/s (3 x 1000 samples through the thin net), for the round-1 supernet
// (every non-none op on every edge) and a single cell, at B = 72 and 128. A backend that is
// absent is reported as skipped.
#include <benchmark/benchmark.h>

#include <string>

#include "micronas/data.hpp"
#include "micronas/error.hpp"
#include "runtime/proxy_evaluator.hpp"

namespace micronas {
namespace {

const char* kArchs[] = {
    "supernet-none",
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
    "nor_conv_3x3~2|",
};

// The evaluator of `kind`, or null after skipping the benchmark with the reason.
std::unique_ptr<ProxyEvaluator> evaluator_or_skip(BackendKind kind, benchmark::State& state) {
  try {
    return std::make_unique<ProxyEvaluator>(ComputeContext::of(kind));
  } catch (const Error& e) {
    state.SkipWithError(e.what());
    return nullptr;
  }
}

void BM_ntk(benchmark::State& state, BackendKind kind) {
  auto evaluator = evaluator_or_skip(kind, state);
  if (!evaluator) return;
  const int batch = static_cast<int>(state.range(0));
  ProxyNetwork net = evaluator->network(NetworkConfig::ntk(Dataset::kCifar10),
                                        Arch::parse(kArchs[state.range(1)]));
  net.initialize(InitMode::kPyTorchDefault, 1);
  InputSampler sampler(DataSpec{}, 2);
  ImageBatch x = sampler.ntk_batch(batch, 32);
  for (auto _ : state) benchmark::DoNotOptimize(evaluator->ntk_condition(net, x).condition);
  state.counters["evals/s"] = benchmark::Counter(1, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_linear_regions(benchmark::State& state, BackendKind kind) {
  auto evaluator = evaluator_or_skip(kind, state);
  if (!evaluator) return;
  ProxyNetwork net = evaluator->network(NetworkConfig::linear_regions(Dataset::kCifar10),
                                        Arch::parse(kArchs[state.range(0)]));
  net.initialize(InitMode::kPyTorchDefault, 1);
  InputSampler sampler(DataSpec{}, 2);
  std::vector<ImageBatch> batches;
  for (int b = 0; b < 3; ++b) batches.push_back(sampler.lr_batch(1000));
  for (auto _ : state) benchmark::DoNotOptimize(evaluator->linear_regions(net, batches));
  state.counters["evals/s"] = benchmark::Counter(1, benchmark::Counter::kIsIterationInvariantRate);
}

void register_all() {
  for (BackendKind kind : {BackendKind::kCpu, BackendKind::kCuda}) {
    const std::string name = backend_name(kind);
    benchmark::RegisterBenchmark(("BM_ntk/" + name).c_str(), BM_ntk, kind)
        ->ArgNames({"batch", "arch"})
        ->ArgsProduct({{72, 128}, {0, 1}})
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark(("BM_linear_regions/" + name).c_str(), BM_linear_regions, kind)
        ->ArgNames({"arch"})
        ->DenseRange(0, 1)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
}

}  // namespace
}  // namespace micronas

int main(int argc, char** argv) {
  micronas::register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
