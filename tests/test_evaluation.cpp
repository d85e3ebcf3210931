// Rank statistics against independent O(n^2) references and published values, Pareto fronts,
// the SVG plot, and the sweep CSV row format.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "micronas/error.hpp"
#include "micronas/evaluation.hpp"
#include "micronas/random.hpp"
#include "micronas/sweep.hpp"
#include "tests/rank_reference.hpp"

namespace micronas {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Integer values in [0, range): small ranges give many ties.
std::vector<double> random_integers(std::size_t n, int range, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<double> v(n);
  for (double& x : v) x = static_cast<double>(rng.below(static_cast<std::uint64_t>(range)));
  return v;
}

TEST(RankStatistics, PublishedValues) {
  // scipy.stats.kendalltau / spearmanr documentation examples.
  EXPECT_NEAR(kendall_tau({12, 2, 1, 12, 2}, {1, 4, 7, 1, 0}), -0.47140452079103173, 1e-15);
  EXPECT_NEAR(spearman_rho({1, 2, 3, 4, 5}, {5, 6, 7, 8, 7}), 0.8207826816681233, 1e-15);
}

TEST(RankStatistics, PythonGoldenWithTies) {
  // Computed with an O(n^2) tau-b and numpy.corrcoef of average ranks in Python.
  const std::vector<double> x = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4};
  const std::vector<double> y = {2, 7, 1, 8, 2, 8, 1, 8, 2, 8, 4, 5, 9, 0, 4, 5, 2, 3, 5, 3};
  EXPECT_NEAR(kendall_tau(x, y), 0.1502915281630456, 1e-14);
  EXPECT_NEAR(spearman_rho(x, y), 0.19073187020980287, 1e-14);
}

TEST(RankStatistics, PerfectAndInverseOrder) {
  std::vector<double> x, up, down;
  for (int i = 0; i < 1000; ++i) {
    x.push_back(i);
    up.push_back(std::exp(0.01 * i));  // monotone, not linear: ranks only
    down.push_back(-0.5 * i * i);
  }
  EXPECT_DOUBLE_EQ(kendall_tau(x, up), 1.0);
  EXPECT_DOUBLE_EQ(spearman_rho(x, up), 1.0);
  EXPECT_DOUBLE_EQ(kendall_tau(x, down), -1.0);
  EXPECT_DOUBLE_EQ(spearman_rho(x, down), -1.0);
  // Ties shared by both variables keep a perfect correlation.
  EXPECT_DOUBLE_EQ(kendall_tau({1, 1, 2, 3, 3}, {5, 5, 6, 7, 7}), 1.0);
  EXPECT_DOUBLE_EQ(spearman_rho({1, 1, 2, 3, 3}, {5, 5, 6, 7, 7}), 1.0);
}

TEST(RankStatistics, MatchBruteForceOnRandomDataWithTies) {
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    const std::size_t n = 50 + 300 * seed;
    const int range = seed % 2 ? 7 : 400;  // heavy and light ties
    std::vector<double> x = random_integers(n, range, seed);
    std::vector<double> y = random_integers(n, range + 3, seed + 100);
    for (std::size_t i = 0; i < n; i += 3) y[i] = x[i] + std::fmod(y[i], 4.0);  // correlated part
    // Tolerance: both sides are ratios of exact integer counts (tau) or sums of at most n^3 ~
    // 1e10 half-integers (rho), so only the final divisions and square roots round.
    EXPECT_NEAR(kendall_tau(x, y), test::brute_force_kendall_tau(x, y), 1e-12) << seed;
    EXPECT_NEAR(spearman_rho(x, y), test::brute_force_spearman_rho(x, y), 1e-12) << seed;
  }
}

TEST(RankStatistics, NaNPairsAreLeftOut) {
  std::vector<double> x = random_integers(200, 20, 7), y = random_integers(200, 20, 8);
  std::vector<double> x_complete, y_complete;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (i % 7 == 0) x[i] = kNaN;
    if (i % 11 == 0) y[i] = kNaN;
    if (!std::isnan(x[i]) && !std::isnan(y[i])) {
      x_complete.push_back(x[i]);
      y_complete.push_back(y[i]);
    }
  }
  EXPECT_DOUBLE_EQ(kendall_tau(x, y), kendall_tau(x_complete, y_complete));
  EXPECT_DOUBLE_EQ(spearman_rho(x, y), spearman_rho(x_complete, y_complete));
}

TEST(RankStatistics, UndefinedCasesAndErrors) {
  EXPECT_TRUE(std::isnan(kendall_tau({1, 1, 1}, {1, 2, 3})));   // constant x
  EXPECT_TRUE(std::isnan(spearman_rho({1, 2, 3}, {4, 4, 4})));  // constant y
  EXPECT_TRUE(std::isnan(kendall_tau({1}, {2})));
  EXPECT_TRUE(std::isnan(spearman_rho({}, {})));
  EXPECT_TRUE(std::isnan(kendall_tau({1, kNaN, 3}, {kNaN, 2, 3})));  // one complete pair
  EXPECT_THROW(kendall_tau({1, 2}, {1, 2, 3}), Error);
  EXPECT_THROW(spearman_rho({1, 2}, {1}), Error);
}

TEST(RankStatistics, AverageRanks) {
  std::vector<double> r = average_ranks({10, 20, 20, 5, kNaN, 20});
  EXPECT_EQ(r[0], 2.0);
  EXPECT_EQ(r[1], 4.0);  // positions 3, 4, 5
  EXPECT_EQ(r[2], 4.0);
  EXPECT_EQ(r[3], 1.0);
  EXPECT_TRUE(std::isnan(r[4]));
  EXPECT_EQ(r[5], 4.0);
}

// --- Pareto front ---

std::vector<std::size_t> brute_force_front(const std::vector<ParetoPoint>& p) {
  std::vector<std::size_t> front;
  for (std::size_t i = 0; i < p.size(); ++i) {
    bool keep = true;
    for (std::size_t j = 0; j < p.size() && keep; ++j) {
      const bool dominates = p[j].accuracy >= p[i].accuracy && p[j].latency <= p[i].latency &&
                             (p[j].accuracy > p[i].accuracy || p[j].latency < p[i].latency);
      const bool earlier_duplicate =
          j < i && p[j].accuracy == p[i].accuracy && p[j].latency == p[i].latency;
      keep = !dominates && !earlier_duplicate;
    }
    if (keep) front.push_back(i);
  }
  std::sort(front.begin(), front.end(),
            [&](std::size_t a, std::size_t b) { return p[a].latency < p[b].latency; });
  return front;
}

TEST(ParetoFront, SmallCases) {
  EXPECT_TRUE(pareto_front({}).empty());
  EXPECT_EQ(pareto_front({{90, 5}}), std::vector<std::size_t>({0}));
  // 1 is dominated by 0 (same latency, less accurate); 3 by 2 (same accuracy, slower);
  // 4 is a duplicate of 2; 5 has NaN.
  std::vector<ParetoPoint> p = {{90, 10}, {85, 10},  {93, 20}, {93, 25},
                                {93, 20}, {kNaN, 1}, {80, 2}};
  EXPECT_EQ(pareto_front(p), std::vector<std::size_t>({6, 0, 2}));
  // All identical: one point.
  EXPECT_EQ(pareto_front({{1, 1}, {1, 1}, {1, 1}}), std::vector<std::size_t>({0}));
  // Anti-correlated: every point is on the front, sorted by latency.
  EXPECT_EQ(pareto_front({{3, 30}, {1, 10}, {2, 20}}), std::vector<std::size_t>({1, 2, 0}));
}

TEST(ParetoFront, MatchesBruteForceOnRandomGrid) {
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    Rng rng(seed);
    std::vector<ParetoPoint> p(400);
    // A coarse grid forces ties in each coordinate and exact duplicates.
    for (ParetoPoint& q : p)
      q = {static_cast<double>(rng.below(25)), static_cast<double>(rng.below(25))};
    std::vector<std::size_t> front = pareto_front(p);
    EXPECT_EQ(front, brute_force_front(p)) << seed;
    for (std::size_t k = 1; k < front.size(); ++k) {
      EXPECT_LT(p[front[k - 1]].latency, p[front[k]].latency);
      EXPECT_LT(p[front[k - 1]].accuracy, p[front[k]].accuracy);
    }
  }
}

// --- SVG ---

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
    ++n;
  return n;
}

// Checks that elements nest properly (every <tag> closed by </tag> in order or self-closed),
// attribute values are quoted, and no raw '&' or '<' appears in text.
bool well_formed(const std::string& xml, std::string* why) {
  std::vector<std::string> open;
  std::size_t i = 0;
  while (i < xml.size()) {
    if (xml[i] == '&') {
      std::size_t semi = xml.find(';', i);
      if (semi == std::string::npos || semi - i > 6)
        return *why = "bare & at " + std::to_string(i), false;
      i = semi + 1;
      continue;
    }
    if (xml[i] != '<') {
      ++i;
      continue;
    }
    std::size_t end = i + 1;
    bool quoted = false;
    while (end < xml.size() && (quoted || xml[end] != '>')) {
      if (xml[end] == '"') quoted = !quoted;
      if (!quoted && xml[end] == '<')
        return *why = "'<' inside a tag at " + std::to_string(end), false;
      ++end;
    }
    if (end == xml.size()) return *why = "unterminated tag", false;
    std::string tag = xml.substr(i + 1, end - i - 1);
    if (tag[0] == '/') {
      if (open.empty() || open.back() != tag.substr(1))
        return *why = "mismatched </" + tag.substr(1) + ">", false;
      open.pop_back();
    } else if (tag.back() != '/') {
      open.push_back(tag.substr(0, tag.find_first_of(" \n")));
    }
    i = end + 1;
  }
  if (!open.empty()) return *why = "<" + open.back() + "> not closed", false;
  return true;
}

TEST(ParetoSvg, WellFormedWithOneMarkerPerFrontPoint) {
  Rng rng(3);
  std::vector<ParetoPoint> p(300);
  for (ParetoPoint& q : p) {
    q.latency = 100 + 1500 * rng.uniform();
    q.accuracy = 70 + 20 * rng.uniform() + 0.002 * q.latency;
  }
  p.push_back({kNaN, 3});  // not drawn
  std::vector<std::size_t> front = pareto_front(p);
  ParetoPlotOptions options;
  options.title = "Pareto <front> & \"friends\"";
  options.x_label = "modeled latency (ms) on stm32f746";
  options.y_label = "cifar10_test accuracy (%)";
  const std::string svg = pareto_svg(p, front, options);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  std::string why;
  EXPECT_TRUE(well_formed(svg, &why)) << why;
  EXPECT_EQ(count(svg, "class=\"front-marker\""), front.size());
  EXPECT_EQ(count(svg, "<circle"), 300 + front.size());
  EXPECT_NE(svg.find("Pareto &lt;front&gt; &amp; &quot;friends&quot;"), std::string::npos);
  EXPECT_NE(svg.find("modeled latency (ms) on stm32f746"), std::string::npos);
  EXPECT_EQ(svg.find("nan"), std::string::npos);
  EXPECT_EQ(svg.find("inf"), std::string::npos);

  // Degenerate inputs still give a well-formed document.
  for (const auto& points : {std::vector<ParetoPoint>{}, std::vector<ParetoPoint>{{50, 7}}}) {
    const std::string s = pareto_svg(points, pareto_front(points), {});
    EXPECT_TRUE(well_formed(s, &why)) << why;
    EXPECT_EQ(count(s, "front-marker"), points.size());
    EXPECT_EQ(s.find("nan"), std::string::npos);
  }
}

// --- Sweep rows ---

SweepRow example_row() {
  SweepRow r;
  r.arch = Arch::parse(
      "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
      "nor_conv_3x3~2|");
  r.cell_id = r.arch.cell_id();
  r.index = 9930;
  r.ntk_condition = 1.0 / 3.0;
  r.ntk_valid = false;
  r.linear_regions = 2910.6666666666665;
  r.flops_m = 184.73025;
  r.params_m = 0.1 + 0.2;  // not exactly 0.3: needs 17 digits
  r.latency_ms = 1432.8403287037038;
  r.peak_sram_kb = 104.09765625;
  r.flash_kb = 977.1611328125;
  r.ntk_seconds = 0.25;
  r.lr_seconds = 1.5;
  return r;
}

TEST(SweepRows, FormatRoundTrips) {
  const SweepRow r = example_row();
  const std::string line = format_sweep_row(r);
  EXPECT_EQ(line.find("9930,"), line.find(',') + 1);
  EXPECT_NE(line.find(",184.73025,"), std::string::npos) << line;  // shortest exact form
  const SweepRow back = parse_sweep_row(line, "test");
  EXPECT_EQ(back.cell_id, r.cell_id);
  EXPECT_EQ(back.index, r.index);
  EXPECT_EQ(back.arch, r.arch);
  EXPECT_EQ(back.ntk_condition, r.ntk_condition);
  EXPECT_EQ(back.ntk_valid, r.ntk_valid);
  EXPECT_EQ(back.linear_regions, r.linear_regions);
  EXPECT_EQ(back.flops_m, r.flops_m);
  EXPECT_EQ(back.params_m, r.params_m);
  EXPECT_EQ(back.latency_ms, r.latency_ms);
  EXPECT_EQ(back.peak_sram_kb, r.peak_sram_kb);
  EXPECT_EQ(back.flash_kb, r.flash_kb);
  EXPECT_EQ(back.ntk_seconds, r.ntk_seconds);
  SweepRow no_index = r;
  no_index.index = -1;
  EXPECT_EQ(parse_sweep_row(format_sweep_row(no_index), "test").index, -1);
  EXPECT_EQ(sweep_header_line(),
            "cell_id,index,arch,ntk_condition,ntk_valid,linear_regions,flops_m,params_m,"
            "latency_ms,peak_sram_kb,flash_kb,ntk_seconds,lr_seconds");
}

void expect_parse_error(const std::string& line, const std::string& needle) {
  try {
    parse_sweep_row(line, "f.csv:7");
    ADD_FAILURE() << "accepted: " << line;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("f.csv:7"), std::string::npos) << e.what();
  }
}

TEST(SweepRows, MalformedRowsNameTheColumn) {
  const std::string good = format_sweep_row(example_row());
  expect_parse_error(good.substr(0, good.rfind(',')), "fields");
  expect_parse_error("1" + good.substr(good.find(',')), "cell_id");
  std::string bad_number = good;
  bad_number.replace(bad_number.find("184.73025"), 9, "18x");
  expect_parse_error(bad_number, "flops_m");
  std::string supernet = good;
  supernet.replace(supernet.find("skip_connect~0"), 14, "skip_connect/none~0");
  expect_parse_error(supernet, "arch");
}

TEST(SweepRows, ReadFileChecksHeaderNewlineAndDuplicates) {
  const std::string path = ::testing::TempDir() + "/sweep_rows.csv";
  const std::string header = sweep_header_line() + "\n", row = format_sweep_row(example_row());
  auto read_error = [&](const std::string& text) -> std::string {
    std::ofstream(path, std::ios::binary) << text;
    try {
      read_sweep_csv(path);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  std::ofstream(path, std::ios::binary) << header << row << "\n";
  ASSERT_EQ(read_sweep_csv(path).size(), 1u);
  EXPECT_NE(read_error(header + row).find(":2: the last line has no final newline"),
            std::string::npos);
  EXPECT_NE(read_error(header + row + "\n" + row + "\n").find(":3: cell"), std::string::npos);
  EXPECT_NE(read_error("index,arch\n").find("not a sweep file"), std::string::npos);
  EXPECT_NE(read_error("").find("empty"), std::string::npos);
}

}  // namespace
}  // namespace micronas
