// The time-series space: macro structure from the window shape, counts against the reference's
// figures, indexing and enumeration of a small space, seeded uniform sampling, shapes, and the
// text and JSON forms with their errors.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "micronas/error.hpp"
#include "micronas/random.hpp"
#include "micronas/timeseries_space.hpp"
#include "tests/timeseries_spaces.hpp"

namespace micronas::timeseries {
namespace {

const char* kExample = "tr:k5w8|tr:k3w12|tr:k7w16|sf:b16[3,7]w32r|sf:skip|sf:b8[5]w24";

using test::tiny;
using test::uci_har;

TEST(TimeseriesSpace, MacroStructureFollowsTheWindow) {
  Space har = uci_har();
  EXPECT_EQ(har.time_reduce_cells(), 3);    // 128 -> 64 -> 32 -> 16
  EXPECT_EQ(har.sensor_fusion_cells(), 3);  // 9 -> 5, then 2 non-reducing cells
  EXPECT_TRUE(har.reduces(0));
  EXPECT_FALSE(har.reduces(1));
  EXPECT_FALSE(har.reduces(2));
  EXPECT_EQ(har.time_widths(), (std::vector<int>{4, 8, 12, 16}));
  EXPECT_EQ(har.block_widths(), (std::vector<int>{8, 16, 24, 32, 40, 48, 56, 64}));
  Space skoda(64, 30, 10);
  EXPECT_EQ(skoda.time_reduce_cells(), 2);    // 64 -> 32 -> 16
  EXPECT_EQ(skoda.sensor_fusion_cells(), 6);  // 30 -> 15 -> 8, each followed by 2 cells
  EXPECT_TRUE(skoda.reduces(3));
  // At least one cell of each kind even for windows too small to halve.
  Space small(10, 3, 2);
  EXPECT_EQ(small.time_reduce_cells(), 1);
  EXPECT_EQ(small.sensor_fusion_cells(), 3);
  EXPECT_THROW(Space(0, 3, 2), Error);
  EXPECT_THROW(Space(16, 3, 1), Error);
  SpaceOptions bad;
  bad.block_width_step = 0;
  EXPECT_THROW(Space(16, 3, 2, bad), Error);
}

// The reference quotes about 7e12 architectures for UCI-HAR and 3e21 for SkodaR. Those figures
// count the published encoding's decision vectors: 8 branch subsets (the empty one too) and a
// skip bit that multiplies the choices of a non-reducing cell. published_size() reproduces them
// exactly; size() counts distinct networks (at least one branch, a skipped cell is one network)
// and is therefore smaller: 1728 x 896 x 897^2 = 1.25e12 for UCI-HAR.
TEST(TimeseriesSpace, CountsMatchTheReferenceFigures) {
  Space har = uci_har();
  EXPECT_DOUBLE_EQ(har.published_size(), 1728.0 * 1024 * 2048 * 2048);  // 7.42e12
  EXPECT_EQ(har.size_exact(), "1245766459392");                         // 12^3 * 896 * 897^2
  EXPECT_DOUBLE_EQ(har.size(), 1245766459392.0);
  Space skoda(64, 30, 10);
  EXPECT_NEAR(skoda.published_size() / 2.656331146614175e21, 1.0, 1e-12);  // about 3e21
  EXPECT_EQ(skoda.size_exact(), "74842499582662017024");  // 144 * 896^2 * 897^4 > 2^64
  EXPECT_THROW(skoda.at(0), Error);
  EXPECT_EQ(har.cell_choices(0), 12u);
  EXPECT_EQ(har.cell_choices(3), 896u);
  EXPECT_EQ(har.cell_choices(4), 897u);
  EXPECT_THROW(har.cell_choices(6), Error);
}

TEST(TimeseriesSpace, EnumeratesASmallSpaceInIndexOrder) {
  Space s = tiny();
  ASSERT_EQ(s.size_exact(), "812");
  std::vector<Arch> all = s.enumerate();
  ASSERT_EQ(all.size(), 812u);
  std::set<std::string> texts;
  for (std::size_t i = 0; i < all.size(); ++i) {
    ASSERT_EQ(s.index_of(all[i]), i);
    const std::string text = all[i].to_string();
    texts.insert(text);
    ASSERT_EQ(s.parse(text), all[i]) << text;
    ASSERT_EQ(s.parse_json(all[i].to_json()), all[i]) << text;
  }
  EXPECT_EQ(texts.size(), 812u);
  EXPECT_EQ(all.front().to_string(), "tr:k3w4|sf:b8[3]w8|sf:skip");
  EXPECT_EQ(all.back().to_string(), "tr:k3w4|sf:b8[3,5,7]w16r|sf:b8[3,5,7]w16r");
  EXPECT_THROW(s.enumerate(811), Error);
  EXPECT_THROW(uci_har().enumerate(), Error);
  EXPECT_THROW(s.at(812), Error);
}

TEST(TimeseriesSpace, SamplingIsSeededAndUniform) {
  Space s = tiny();
  Rng a(7), b(7);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(s.sample(a), s.sample(b));
  // 812 x 60 draws: every architecture appears, none far from 60 times (Poisson sd ~7.7), and a
  // non-reducing cell is skipped about 1/29 of the time, not half of it.
  Rng rng(11);
  std::map<std::uint64_t, int> counts;
  int skipped = 0;
  const int draws = 812 * 60;
  for (int i = 0; i < draws; ++i) {
    Arch arch = s.sample(rng);
    s.check(arch);
    ++counts[s.index_of(arch)];
    skipped += arch.sensor_fusion[1].skip;
  }
  EXPECT_EQ(counts.size(), 812u);
  for (const auto& [index, n] : counts) {
    EXPECT_GT(n, 20) << index;
    EXPECT_LT(n, 105) << index;
  }
  EXPECT_NEAR(static_cast<double>(skipped) / draws, 1.0 / 29.0, 0.005);
  // Samples of the big space are valid and differ.
  Space har = uci_har();
  Arch x = har.sample(rng), y = har.sample(rng);
  har.check(x);
  EXPECT_NE(x, y);
}

TEST(TimeseriesSpace, ShapesUseSamePadding) {
  Space har = uci_har();
  std::vector<CellShape> shapes = har.shapes(har.parse(kExample));
  ASSERT_EQ(shapes.size(), 6u);
  EXPECT_EQ(shapes[0].in, (Shape{128, 9, 1}));
  EXPECT_EQ(shapes[0].out, (Shape{64, 9, 8}));
  EXPECT_EQ(shapes[2].out, (Shape{16, 9, 16}));
  EXPECT_EQ(shapes[3].out, (Shape{16, 5, 32}));  // ceil(9 / 2)
  EXPECT_TRUE(shapes[4].skipped);
  EXPECT_EQ(shapes[4].out, (Shape{16, 5, 32}));
  EXPECT_EQ(shapes[5].out, (Shape{16, 5, 24}));
  // Odd lengths round up.
  Space odd(33, 11, 3);
  EXPECT_EQ(odd.time_reduce_cells(), 1);  // 33 -> 17 -> (9 < 16)
  std::vector<CellShape> o = odd.shapes(odd.smallest());
  EXPECT_EQ(o[0].out, (Shape{17, 11, 4}));
  EXPECT_EQ(o[1].out, (Shape{17, 6, 8}));  // 11 -> 6 (-> 3 < 5: one reducing cell)
  EXPECT_EQ(same_out(9, 2), 5);
  EXPECT_EQ(same_out(8, 2), 4);
}

TEST(TimeseriesArchText, RoundTripsTextAndJson) {
  Space har = uci_har();
  Arch a = har.parse(kExample);
  EXPECT_EQ(a.to_string(), kExample);
  EXPECT_EQ(a.time_reduce[1].kernel, 3);
  EXPECT_EQ(a.time_reduce[1].width, 12);
  EXPECT_EQ(a.sensor_fusion[0].branches, 0b101);
  EXPECT_TRUE(a.sensor_fusion[0].residual);
  EXPECT_TRUE(a.sensor_fusion[1].skip);
  EXPECT_FALSE(a.sensor_fusion[2].residual);
  EXPECT_EQ(a.to_json(),
            R"({"time_reduce":[{"kernel":5,"width":8},{"kernel":3,"width":12},)"
            R"({"kernel":7,"width":16}],"sensor_fusion":[{"bottleneck":16,"branches":[3,7],)"
            R"("width":32,"residual":"conv"},{"skip":true},{"bottleneck":8,"branches":[5],)"
            R"("width":24,"residual":"none"}]})");
  EXPECT_EQ(har.parse_json(a.to_json()), a);
  EXPECT_EQ(har.parse(har.largest().to_string()), har.largest());
  EXPECT_EQ(har.largest().to_string(),
            "tr:k7w16|tr:k7w16|tr:k7w16|sf:b64[3,5,7]w64r|sf:b64[3,5,7]w64r|sf:b64[3,5,7]w64r");
}

struct BadText {
  const char* text;
  int character;
  const char* reason;
};

class TimeseriesArchRejects : public ::testing::TestWithParam<BadText> {};

TEST_P(TimeseriesArchRejects, NamesPositionAndReason) {
  const BadText& c = GetParam();
  try {
    uci_har().parse(c.text);
    ADD_FAILURE() << "accepted '" << c.text << "'";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(e.status(), Status::kParseError) << msg;
    EXPECT_NE(msg.find(c.reason), std::string::npos) << msg;
    EXPECT_NE(msg.find("at character " + std::to_string(c.character)), std::string::npos) << msg;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, TimeseriesArchRejects,
    ::testing::Values(
        BadText{"", 1, "empty architecture"}, BadText{"x", 1, "expected a cell"},
        BadText{"tr:k4w8|tr:k3w12|tr:k7w16|sf:b16[3]w32|sf:skip|sf:skip", 1,
                "kernel 4 is not one of {3, 5, 7}"},
        BadText{"tr:k5w8|tr:k3w13|tr:k7w16|sf:b16[3]w32|sf:skip|sf:skip", 9,
                "Time-Reduce cell 2: width 13 is not one of {4, 8, 12, 16}"},
        BadText{"tr:k5w8|tr:k3w12|sf:b16[3]w32|sf:skip|sf:skip", 18,
                "3 Time-Reduce cells before the Sensor-Fusion cells, found 2"},
        BadText{"tr:k5w8|tr:k3w12|tr:k7w16|tr:k7w16|sf:b16[3]w32|sf:skip|sf:skip", 27,
                "more than the space's 3 Time-Reduce cells"},
        BadText{"tr:k5w8|tr:k3w12|tr:k7w16|sf:skip|sf:skip|sf:skip", 27,
                "a reducing cell cannot be skipped"},
        BadText{"tr:k5w8|tr:k3w12|tr:k7w16|sf:b12[3]w32|sf:skip|sf:skip", 27,
                "bottleneck width 12 is not one of {8, 16"},
        BadText{"tr:k5w8|tr:k3w12|tr:k7w16|sf:b16[3]w30|sf:skip|sf:skip", 27, "block width 30"},
        BadText{"tr:k5w8|tr:k3w12|tr:k7w16|sf:b16[3,3]w32|sf:skip|sf:skip", 36,
                "ascending without repeats"},
        BadText{"tr:k5w8|tr:k3w12|tr:k7w16|sf:b16[7,5]w32|sf:skip|sf:skip", 36,
                "ascending without repeats"},
        BadText{"tr:k5w8|tr:k3w12|tr:k7w16|sf:b16[4]w32|sf:skip|sf:skip", 34,
                "branch kernel 4 is not 3, 5 or 7"},
        BadText{"tr:k5w8|tr:k3w12|tr:k7w16|sf:b16[]w32|sf:skip|sf:skip", 34,
                "expected a branch kernel size (a number) but found ']'"},
        BadText{"tr:k5w8|tr:k3w12|tr:k7w16|sf:b16[3,7w32|sf:skip|sf:skip", 37,
                "end of the branch list"},
        BadText{"tr:k5w8|tr:k3w12|tr:k7w16|sf:b16[3]w32|sf:skip|sf:skip|", 56, "empty cell"},
        BadText{"tr:k5w8|tr:k3w12|tr:k7w16|sf:b16[3]w32rx|sf:skip|sf:skip", 40,
                "unexpected 'x' after cell 4"},
        BadText{"tr:k5w8|tr:k3w12|tr:k7w16|sf:b16[3]w32|sf:skip", 47,
                "3 Sensor-Fusion cells, found 3 and 2"},
        BadText{"tr:k5w8|tr:k3w12|tr:k7w16|sf:b16[3]w32|sf:skip|sf:skip|sf:skip", 56,
                "more than the space's 3 Sensor-Fusion cells"},
        BadText{"tr:k5w8|tr:k3w12|tr:k7w16|sf:b16[3]w32|tr:k3w4|sf:skip", 40, "must come before"},
        BadText{"tr:k5w99999999|tr:k3w12", 7, "too large"},
        BadText{"tr:k5", 6, "the text ends where the Time-Reduce width"},
        BadText{"tr:kw8", 5, "expected the kernel size (a number) but found 'w'"},
        BadText{"tr:k5w8|tr:k3w12|tr:k7w16|sf:16[3]w32", 30,
                "expected the bottleneck width or 'skip'"}));

TEST(TimeseriesArchJson, ErrorsNameTheField) {
  Space har = uci_har();
  const std::string good = har.parse(kExample).to_json();
  auto expect = [&](const std::string& text, const std::string& part) {
    try {
      har.parse_json(text);
      ADD_FAILURE() << "accepted " << text;
    } catch (const Error& e) {
      EXPECT_EQ(e.status(), Status::kParseError) << e.what();
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  expect("{\"time_reduce\": [", "malformed time-series architecture JSON");
  expect("[]", "expected an object");
  expect(R"({"time_reduce":[]})", ".sensor_fusion: missing");
  expect(R"({"time_reduce":[],"sensor_fusion":[],"depth":3})", ".depth: unknown field");
  std::string s = good;
  s.replace(s.find("\"width\":12"), 10, "\"width\":\"12\"");
  expect(s, ".time_reduce[1].width: expected an integer");
  s = good;
  s.replace(s.find("\"width\":12"), 10, "\"width\":13");
  expect(s, ".time_reduce[1]: width 13 is not one of");
  s = good;
  s.replace(s.find("[3,7]"), 5, "[3,3]");
  expect(s, ".sensor_fusion[0].branches: branch 3 repeated");
  s = good;
  s.replace(s.find("[3,7]"), 5, "[]");
  expect(s, ".sensor_fusion[0].branches: expected a non-empty array");
  s = good;
  s.replace(s.find("\"conv\""), 6, "\"yes\"");
  expect(s, ".sensor_fusion[0].residual: expected \"conv\" or \"none\"");
  s = good;
  s.replace(s.find("{\"skip\":true}"), 13, "{\"skip\":true,\"width\":8}");
  expect(s, ".sensor_fusion[1].width: unknown field");
  s = good;
  s.replace(s.find("{\"bottleneck\":16"), 16, "{\"skip\":true,\"bottleneck\":16");
  expect(s, ".sensor_fusion[0]");
  expect(R"({"time_reduce":[],"sensor_fusion":[]})", "3 Time-Reduce and 3 Sensor-Fusion cells");
}

TEST(TimeseriesSpace, CheckNamesTheCell) {
  Space har = uci_har();
  Arch a = har.parse(kExample);
  a.sensor_fusion[2].branches = 0;
  try {
    har.check(a);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("Sensor-Fusion cell 3: at least one temporal branch"),
              std::string::npos)
        << e.what();
  }
  a = har.parse(kExample);
  a.time_reduce.pop_back();
  EXPECT_THROW(har.check(a), Error);
  EXPECT_THROW(har.shapes(a), Error);
}

}  // namespace
}  // namespace micronas::timeseries
