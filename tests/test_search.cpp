// The pruning search and random search on small settings: TE-NAS's loop structure, recorded
// ranks and decisions consistent with the ranking function, determinism, and hard limits that
// are always honoured (checked against a brute-force scan of the cost model over the space).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "micronas/error.hpp"
#include "micronas/pruning_search.hpp"
#include "micronas/random_search.hpp"
#include "micronas/threads.hpp"

namespace micronas {
namespace {

SearchOptions small_search(std::uint64_t seed) {
  SearchOptions o;
  o.proxies.batch = 4;
  o.proxies.repeats = 2;
  o.proxies.lr_samples = 64;
  o.proxies.lr_batches = 1;
  o.proxies.seed = seed;
  return o;
}

const mcu::Nb201CostTable& costs() {
  static const mcu::Nb201CostTable table(mcu::load_target("stm32f746"),
                                         NetworkConfig::nb201(Dataset::kCifar10));
  return table;
}

// Every cell without `none` and its latency, by brute force.
std::vector<std::pair<double, Arch>> latencies() {
  std::vector<std::pair<double, Arch>> out;
  for (const Arch& cell : all_cells()) {
    bool has_none = false;
    for (Op op : cell.cell_ops()) has_none = has_none || op == Op::kNone;
    if (!has_none) out.push_back({costs().latency_ms(cell), cell});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

TEST(SearchSpace, CountsAndEnumeratesTheCellsOfAState) {
  EXPECT_EQ(count_search_candidates(Arch::parse("supernet")), 24 + 18 + 12);
  EXPECT_EQ(count_search_candidates(Arch::parse("supernet-none")), 54);
  EXPECT_EQ(count_search_candidates(Arch::parse(
                "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|"
                "skip_connect~2|")),
            0);
  int n = 0;
  for_each_cell(Arch::parse("supernet-none"), [&](const Arch& cell) {
    EXPECT_TRUE(cell.is_cell());
    ++n;
  });
  EXPECT_EQ(n, 4096);
}

TEST(PruningSearch, FollowsTenasLoopAndRecordsConsistentDecisions) {
  set_num_threads(2);
  SearchResult r = prune_search(small_search(7));
  ASSERT_TRUE(r.arch.is_cell());
  ASSERT_EQ(r.rounds.size(), 3u);
  const std::size_t expected[] = {24, 18, 12};
  for (std::size_t k = 0; k < r.rounds.size(); ++k) {
    const SearchRound& round = r.rounds[k];
    SCOPED_TRACE("round " + std::to_string(round.round));
    ASSERT_EQ(round.candidates.size(), expected[k]);
    ASSERT_EQ(round.ntk_conditions.size(), 2u);  // shared policy: once per repeat
    for (double kappa : round.ntk_conditions) EXPECT_TRUE(std::isfinite(kappa) && kappa > 1);
    std::vector<RankInputs> inputs;
    int pruned = 0;
    for (const CandidateResult& c : round.candidates) {
      EXPECT_FALSE(round.state.has(c.edge, Op::kNone));
      ASSERT_EQ(c.ntk_deltas.size(), 2u);
      for (int rep = 0; rep < 2; ++rep) {
        EXPECT_EQ(c.ntk_deltas[rep],
                  rounded_relative_change(round.ntk_conditions[rep], c.ntk_conditions[rep], 3));
        EXPECT_EQ(c.regions_deltas[rep],
                  rounded_relative_change(round.linear_regions[rep],
                                          static_cast<double>(c.linear_regions[rep]), 3));
      }
      EXPECT_EQ(c.deltas.ntk, (c.ntk_deltas[0] + c.ntk_deltas[1]) / 2);
      inputs.push_back(c.deltas);
      pruned += c.pruned ? 1 : 0;
      EXPECT_FALSE(c.blocked_by_limits);
    }
    // One op per multi-op edge, the first of that edge in the pruning order.
    std::vector<RankedCandidate> ranks = rank_candidates(inputs, 0, 0);
    for (std::size_t i = 0; i < ranks.size(); ++i) {
      const CandidateResult& c = round.candidates[i];
      EXPECT_EQ(c.rank.order, ranks[i].order);
      bool first_on_edge = true;
      for (std::size_t j = 0; j < ranks.size(); ++j)
        if (round.candidates[j].edge == c.edge && ranks[j].order < ranks[i].order)
          first_on_edge = false;
      EXPECT_EQ(c.pruned, first_on_edge);
      EXPECT_EQ(round.pruned_state.has(c.edge, c.op), !c.pruned);
    }
    EXPECT_EQ(pruned, 6);
  }
  EXPECT_EQ(r.ntk_evaluations, 3 * 2 + 54 * 2);
  EXPECT_EQ(r.cost.latency_ms, costs().latency_ms(r.arch));
}

TEST(PruningSearch, SameSeedGivesBitwiseTheSameSearch) {
  set_num_threads(2);
  SearchResult a = prune_search(small_search(11));
  SearchResult b = prune_search(small_search(11));
  ASSERT_EQ(a.arch, b.arch);
  for (std::size_t k = 0; k < a.rounds.size(); ++k)
    for (std::size_t i = 0; i < a.rounds[k].candidates.size(); ++i) {
      EXPECT_EQ(a.rounds[k].candidates[i].ntk_conditions, b.rounds[k].candidates[i].ntk_conditions);
      EXPECT_EQ(a.rounds[k].candidates[i].linear_regions, b.rounds[k].candidates[i].linear_regions);
    }
}

TEST(PruningSearch, PerCandidatePolicyRecomputesTheSupernet) {
  set_num_threads(2);
  SearchOptions o = small_search(3);
  o.batches = BatchPolicy::kPerCandidate;
  o.proxies.repeats = 1;
  SearchResult r = prune_search(o);
  EXPECT_EQ(r.ntk_evaluations, 2 * 54);
  EXPECT_EQ(r.rounds[0].ntk_conditions.size(), 24u);
  EXPECT_TRUE(r.arch.is_cell());
}

TEST(PruningSearch, LatencyOnlyObjectiveReachesTheFastestCell) {
  SearchOptions o = small_search(5);
  o.proxies.repeats = 1;
  o.latency_weight = 1;  // proxies get weight 0: pruning follows the latency ranks alone
  SearchResult r = prune_search(o);
  EXPECT_EQ(r.cost.latency_ms, latencies().front().first) << r.arch.to_string();
}

TEST(PruningSearch, HardLatencyLimitIsAlwaysHonoured) {
  const auto lat = latencies();
  // A limit that only 3% of the space meets: the proxies alone would prune into violation.
  const double limit = lat[lat.size() * 3 / 100].first;
  SearchOptions o = small_search(9);
  o.limits.max_latency_ms = limit;
  SearchResult r = prune_search(o);
  EXPECT_LE(r.cost.latency_ms, limit);
  int blocked = 0;
  for (const SearchRound& round : r.rounds) {
    EXPECT_GT(round.feasible_cells, 0);
    for (const CandidateResult& c : round.candidates) blocked += c.blocked_by_limits ? 1 : 0;
  }
  EXPECT_GT(blocked, 0) << "the limit never changed a decision: the test is not exercising it";
}

TEST(PruningSearch, ImpossibleLimitFailsBeforeAnyEvaluationNamingTheClosestValue) {
  const auto lat = latencies();
  SearchOptions o = small_search(1);
  o.limits.max_latency_ms = lat.front().first * 0.5;
  try {
    prune_search(o);
    FAIL() << "expected kInfeasible";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::kInfeasible);
    const std::string msg = e.what();
    EXPECT_NE(msg.find("--max-latency-ms"), std::string::npos) << msg;
    std::ostringstream closest;
    closest.precision(6);
    closest << lat.front().first;
    EXPECT_NE(msg.find(closest.str()), std::string::npos) << msg;
    EXPECT_NE(msg.find(lat.front().second.to_string()), std::string::npos) << msg;
  }
}

TEST(PruningSearch, LimitsMetAloneButNotTogetherAreReportedAsSuch) {
  // Without `none` one cell is cheapest in latency, SRAM and flash at once. With it, a node left
  // without inputs saves latency but stores a zero tensor in flash: find a two-op state where
  // the fastest cells are not the smallest in flash and set the flash limit between the minima.
  auto flash_kb = [](const Arch& cell) { return costs().estimate(cell).flash_bytes / 1024.0; };
  const Op ops[] = {Op::kNone, Op::kSkipConnect, Op::kConv1x1, Op::kConv3x3, Op::kAvgPool3x3};
  for (Op a : ops)
    for (Op b : ops) {
      if (a >= b) continue;
      std::array<OpMask, kNumEdges> masks;
      masks.fill(static_cast<OpMask>(op_bit(a) | op_bit(b)));
      const Arch state(masks);
      double fastest = 1e300, min_flash = 1e300, fastest_flash = 1e300;
      for_each_cell(state, [&](const Arch& cell) {
        fastest = std::min(fastest, costs().latency_ms(cell));
        min_flash = std::min(min_flash, flash_kb(cell));
      });
      for_each_cell(state, [&](const Arch& cell) {
        if (costs().latency_ms(cell) == fastest)
          fastest_flash = std::min(fastest_flash, flash_kb(cell));
      });
      if (!(min_flash < fastest_flash)) continue;
      McuLimits limits;
      limits.max_latency_ms = fastest;
      limits.max_flash_kb = (min_flash + fastest_flash) / 2;
      FeasibilityChecker checker(costs(), limits);
      ASSERT_FALSE(checker.any_feasible(state));
      try {
        checker.require_feasible(state);
        FAIL();
      } catch (const Error& e) {
        EXPECT_EQ(e.status(), Status::kInfeasible);
        EXPECT_NE(std::string(e.what()).find("not all together"), std::string::npos) << e.what();
      }
      return;
    }
  FAIL() << "no two-op state where latency and flash disagree";
}

TEST(PruningSearch, RejectsBadOptions) {
  SearchOptions o = small_search(1);
  o.flops_weight = 0.7;
  o.latency_weight = 0.7;
  EXPECT_THROW(prune_search(o), Error);
  o = small_search(1);
  o.limits.max_sram_kb = -1;
  EXPECT_THROW(prune_search(o), Error);
  o = small_search(1);
  o.proxies.batch = 1;
  EXPECT_THROW(prune_search(o), Error);
  o = small_search(1);
  o.start = Arch::parse("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|");
  EXPECT_THROW(prune_search(o), Error);
}

TEST(RandomSearch, SamplesDistinctCellsWithinTheLimitsAndReturnsTheBestRanked) {
  set_num_threads(2);
  const auto lat = latencies();
  RandomSearchOptions o;
  o.proxies = small_search(4).proxies;
  o.proxies.repeats = 1;
  o.samples = 6;
  o.limits.max_latency_ms = lat[lat.size() / 4].first;
  RandomSearchResult r = random_search(o);
  ASSERT_EQ(r.cells.size(), 6u);
  const auto within = std::count_if(lat.begin(), lat.end(), [&](const auto& entry) {
    return entry.first <= o.limits.max_latency_ms;
  });
  EXPECT_EQ(r.feasible_cells, within);
  int best = 0;
  for (std::size_t i = 0; i < r.cells.size(); ++i) {
    EXPECT_LE(r.cells[i].cost.latency_ms, o.limits.max_latency_ms);
    for (std::size_t j = 0; j < i; ++j) EXPECT_NE(r.cells[i].score.arch, r.cells[j].score.arch);
    if (r.cells[i].rank.order == 0) best = static_cast<int>(i);
  }
  EXPECT_EQ(r.arch, r.cells[best].score.arch);
  RandomSearchResult again = random_search(o);
  EXPECT_EQ(again.arch, r.arch);
}

}  // namespace
}  // namespace micronas
