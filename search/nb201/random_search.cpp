#include "micronas/random_search.hpp"

#include <chrono>
#include <numeric>

#include "micronas/error.hpp"
#include "micronas/random.hpp"
#include "runtime/proxy_evaluator.hpp"

namespace micronas {

RandomSearchResult random_search(const RandomSearchOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  o.proxies.validate();
  o.limits.validate();
  if (o.samples < 1) throw Error(Status::kInvalidArgument, "--samples must be >= 1");
  const mcu::Nb201CostTable costs(mcu::load_target(o.target),
                                  NetworkConfig::nb201(o.proxies.dataset), o.mcu);
  const FeasibilityChecker checker(costs, o.limits);
  const Arch space = Arch::parse("supernet-none");
  checker.require_feasible(space);

  std::vector<Arch> feasible;
  for_each_cell(space, [&](const Arch& cell) {
    if (checker.feasible(cell)) feasible.push_back(cell);
  });
  RandomSearchResult result;
  result.feasible_cells = static_cast<std::int64_t>(feasible.size());
  const int n = std::min<int>(o.samples, static_cast<int>(feasible.size()));
  // Partial Fisher-Yates: the first n entries become a uniform sample without replacement.
  Rng rng(derive_seed(o.proxies.seed, "random-search"));
  for (int i = 0; i < n; ++i) {
    const auto j = i + static_cast<std::size_t>(rng.below(feasible.size() - i));
    std::swap(feasible[i], feasible[j]);
  }

  const NetworkConfig ntk_config = NetworkConfig::ntk(o.proxies.dataset);
  ProxyEvaluator evaluator(o.proxies.context);
  std::vector<RankInputs> inputs;
  for (int i = 0; i < n; ++i) {
    RandomSearchCell cell;
    cell.score = score_architecture(feasible[i], o.proxies, evaluator);
    cell.cost = costs.estimate(feasible[i]);
    cell.proxy_flops = static_cast<double>(model_size(build_graph(ntk_config, feasible[i])).macs);
    // rank_candidates prunes first what ranks first; negating every quantity turns its sort
    // directions into "best cell first": κ ascending, regions descending, FLOPs/latency
    // ascending.
    inputs.push_back({-cell.score.ntk_condition, -cell.score.linear_regions, -cell.proxy_flops,
                      -cell.cost.latency_ms});
    result.cells.push_back(std::move(cell));
    if (o.progress) o.progress(i + 1, n);
  }
  std::vector<RankedCandidate> ranks = rank_candidates(inputs, o.flops_weight, o.latency_weight);
  for (int i = 0; i < n; ++i) {
    result.cells[i].rank = ranks[i];
    if (ranks[i].order == 0) result.arch = result.cells[i].score.arch;
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace micronas
