#include "micronas/ranking.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numeric>

#include "micronas/error.hpp"

namespace micronas {

double round_decimals(double x, int digits) {
  if (!std::isfinite(x)) return x;
  if (digits < 0 || digits > 30)
    throw Error(Status::kInvalidArgument, "rounding precision must be in 0..30 decimals");
  // printf's %.Nf rounds the exact binary value, ties to even (IEEE default rounding mode), as
  // CPython's round() does through its correctly rounded dtoa.
  char buffer[400];
  std::snprintf(buffer, sizeof buffer, "%.*f", digits, x);
  return std::strtod(buffer, nullptr);
}

double round_significant(double x, int figures) {
  if (x == 0 || !std::isfinite(x)) return x;
  const double sign = x / std::fabs(x);
  const double magnitude = std::fabs(x) + 1e-8;
  // math.log(v, 10) is log(v) / log(10) in CPython, not log10(v): they differ at powers of 10.
  const int power = static_cast<int>(std::floor(std::log(magnitude) / std::log(10.0))) + 1;
  return sign * round_decimals(magnitude * std::pow(10.0, -power), figures) * std::pow(10.0, power);
}

double rounded_relative_change(double current, double candidate, int digits) {
  return round_decimals((current - candidate) / current, digits);
}

namespace {

// Dense ranks of `values` along a stable sort on their 3-significant-figure keys.
std::vector<int> dense_ranks(const std::vector<double>& values, bool descending, RankTies ties,
                             std::vector<int>* sorted_order = nullptr) {
  std::vector<int> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::vector<double> key(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) key[i] = round_significant(values[i], 3);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return descending ? key[a] > key[b] : key[a] < key[b]; });
  std::vector<int> rank(values.size(), 0);
  for (std::size_t k = 1; k < order.size(); ++k) {
    const int prev = order[k - 1], cur = order[k];
    const bool tied =
        ties == RankTies::kTenas ? values[cur] == values[prev] : key[cur] == key[prev];
    rank[cur] = tied ? rank[prev] : rank[prev] + 1;
  }
  if (sorted_order) *sorted_order = order;
  return rank;
}

}  // namespace

const char* rank_ties_name(RankTies ties) { return ties == RankTies::kTenas ? "tenas" : "rounded"; }

RankTies rank_ties_from_name(const std::string& name) {
  if (name == "tenas") return RankTies::kTenas;
  if (name == "rounded") return RankTies::kRounded;
  throw Error(Status::kInvalidArgument, "--ties: '" + name + "' is not tenas or rounded");
}

std::vector<RankedCandidate> rank_candidates(const std::vector<RankInputs>& candidates,
                                             double flops_weight, double latency_weight,
                                             RankTies ties) {
  if (!(flops_weight >= 0) || !(latency_weight >= 0) || flops_weight + latency_weight > 1)
    throw Error(Status::kInvalidArgument,
                "the FLOPs and latency weights must be >= 0 with a sum <= 1");
  const std::size_t n = candidates.size();
  std::vector<double> ntk(n), regions(n), flops(n), latency(n);
  for (std::size_t i = 0; i < n; ++i) {
    ntk[i] = candidates[i].ntk;
    regions[i] = candidates[i].regions;
    flops[i] = candidates[i].flops;
    latency[i] = candidates[i].latency;
  }
  std::vector<int> ntk_order;
  std::vector<int> rank_ntk = dense_ranks(ntk, /*descending=*/true, ties, &ntk_order);
  std::vector<int> rank_regions = dense_ranks(regions, /*descending=*/false, ties);
  std::vector<int> rank_flops = dense_ranks(flops, /*descending=*/true, ties);
  std::vector<int> rank_latency = dense_ranks(latency, /*descending=*/true, ties);

  const bool tenas = flops_weight == 0 && latency_weight == 0;
  const double proxy_weight = (1 - flops_weight - latency_weight) / 2;
  std::vector<RankedCandidate> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    RankedCandidate& r = out[i];
    r.rank_ntk = rank_ntk[i];
    r.rank_regions = rank_regions[i];
    r.rank_flops = rank_flops[i];
    r.rank_latency = rank_latency[i];
    r.score = tenas ? double(r.rank_ntk + r.rank_regions)
                    : proxy_weight * r.rank_ntk + proxy_weight * r.rank_regions +
                          flops_weight * r.rank_flops + latency_weight * r.rank_latency;
  }
  std::vector<int> order = ntk_order;
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return out[a].score < out[b].score; });
  for (std::size_t k = 0; k < n; ++k) out[order[k]].order = static_cast<int>(k);
  return out;
}

}  // namespace micronas
