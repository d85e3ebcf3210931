// TE-NAS's candidate ranking against an independent Python statement of it
// (tests/scripts/make_ranking_golden.py): Python-compatible rounding, 3-significant-figure sort
// keys, dense ranks, rank sums and MicroNAS's weighted average. Search decisions are discrete,
// so everything compares exactly.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "micronas/error.hpp"
#include "micronas/ranking.hpp"

namespace micronas {
namespace {

nlohmann::json golden() {
  std::ifstream f(std::string(MICRONAS_TEST_DIR) + "/golden/ranking.json");
  EXPECT_TRUE(f.good());
  return nlohmann::json::parse(f);
}

TEST(Rounding, MatchesPythonRoundAndTenasRoundTo) {
  const nlohmann::json g = golden();
  ASSERT_GE(g["rounding"].size(), 100u);
  for (const auto& c : g["rounding"]) {
    const double x = c["x"];
    const int digits = c["digits"];
    EXPECT_EQ(round_decimals(x, digits), c["round"].get<double>()) << x << " to " << digits;
    EXPECT_EQ(round_significant(x, 3), c["round_to3"].get<double>()) << x;
  }
}

TEST(Rounding, TiesGoToEvenOnExactBinaryValues) {
  EXPECT_EQ(round_decimals(0.125, 2), 0.12);  // 0.125 is exact: a true tie
  EXPECT_EQ(round_decimals(0.375, 2), 0.38);
  EXPECT_EQ(round_decimals(2.675, 2), 2.67);  // 2.675 is stored below the tie
  EXPECT_EQ(round_decimals(-0.5, 0), -0.0);
  EXPECT_TRUE(std::isnan(round_decimals(NAN, 3)));
  EXPECT_EQ(rounded_relative_change(200, 150, 3), 0.25);
}

TEST(Ranking, MatchesIndependentTenasAndMicronasStatement) {
  const nlohmann::json g = golden();
  ASSERT_GE(g["cases"].size(), 50u);
  int case_index = 0;
  for (const auto& c : g["cases"]) {
    std::vector<RankInputs> inputs;
    for (const auto& v : c["candidates"]) inputs.push_back({v[0], v[1], v[2], v[3]});
    std::vector<RankedCandidate> r =
        rank_candidates(inputs, c["flops_weight"], c["latency_weight"]);
    ASSERT_EQ(r.size(), inputs.size());
    for (std::size_t i = 0; i < r.size(); ++i) {
      SCOPED_TRACE("case " + std::to_string(case_index) + " candidate " + std::to_string(i));
      EXPECT_EQ(r[i].rank_ntk, c["ranks"][i][0].get<int>());
      EXPECT_EQ(r[i].rank_regions, c["ranks"][i][1].get<int>());
      EXPECT_EQ(r[i].rank_flops, c["ranks"][i][2].get<int>());
      EXPECT_EQ(r[i].rank_latency, c["ranks"][i][3].get<int>());
      EXPECT_DOUBLE_EQ(r[i].score, c["scores"][i].get<double>());
      EXPECT_EQ(r[i].order, c["order"][i].get<int>());
    }
    ++case_index;
  }
}

TEST(Ranking, TiesInTheSumKeepTheNtkOrder) {
  // Δκ order: 1, 0, 2. Rank sums: 0+2, 1+1, 2+0 = 2 each: the order follows Δκ.
  std::vector<RankInputs> in = {{0.2, 0.1, 0, 0}, {0.3, 0.3, 0, 0}, {0.1, 0.0, 0, 0}};
  std::vector<RankedCandidate> r = rank_candidates(in, 0, 0);
  EXPECT_EQ(r[1].order, 0);
  EXPECT_EQ(r[0].order, 1);
  EXPECT_EQ(r[2].order, 2);
}

TEST(Ranking, RoundedTiesShareARankWhereTeNasCountsOn) {
  // Δκ 0.12341 and 0.12342 agree to 3 figures: TE-NAS ranks them 2 and 3 in enumeration order,
  // `rounded` gives both rank 2. ΔR separates them, so the pruning order changes with the mode.
  std::vector<RankInputs> in = {{0.12341, 0.2, 0, 0}, {0.12342, 0.1, 0, 0}, {0.5, 0.3, 0, 0}};
  std::vector<RankedCandidate> tenas = rank_candidates(in, 0, 0, RankTies::kTenas);
  std::vector<RankedCandidate> rounded = rank_candidates(in, 0, 0, RankTies::kRounded);
  EXPECT_EQ(tenas[2].rank_ntk, 0);
  EXPECT_EQ(tenas[0].rank_ntk, 1);
  EXPECT_EQ(tenas[1].rank_ntk, 2);
  EXPECT_EQ(rounded[0].rank_ntk, 1);
  EXPECT_EQ(rounded[1].rank_ntk, 1);
  // Rank sums: TE-NAS 1+1, 2+0, 0+2 (all 2: Δκ order 2, 0, 1); rounded 1+1, 1+0, 0+2.
  EXPECT_EQ(tenas[2].order, 0);
  EXPECT_EQ(tenas[0].order, 1);
  EXPECT_EQ(rounded[1].order, 0);
  EXPECT_EQ(rank_ties_from_name(rank_ties_name(RankTies::kRounded)), RankTies::kRounded);
  EXPECT_THROW(rank_ties_from_name("first"), Error);
}

TEST(Ranking, RejectsWeightsOutsideTheSimplex) {
  std::vector<RankInputs> in(2);
  EXPECT_THROW(rank_candidates(in, 0.6, 0.5), Error);
  EXPECT_THROW(rank_candidates(in, -0.1, 0), Error);
  EXPECT_THROW(rank_candidates(in, NAN, 0), Error);
}

}  // namespace
}  // namespace micronas
