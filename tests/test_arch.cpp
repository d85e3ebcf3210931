#include <gtest/gtest.h>

#include <set>

#include "micronas/arch.hpp"
#include "micronas/error.hpp"

namespace micronas {
namespace {

const char* kBest =
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|"
    "nor_conv_3x3~1|nor_conv_3x3~2|";

TEST(Arch, ParsesAndPrintsCanonicalStrings) {
  Arch a = Arch::parse(kBest);
  EXPECT_TRUE(a.is_cell());
  EXPECT_EQ(a.to_string(), kBest);
  EXPECT_EQ(a.cell_ops()[3], Op::kSkipConnect);  // edge 3<-0
  EXPECT_EQ(a.cell_ops()[5], Op::kConv3x3);      // edge 3<-2
}

TEST(Arch, SupernetNotationRoundTrips) {
  const std::string s =
      "|nor_conv_3x3/skip_connect~0|+|none/avg_pool_3x3~0|nor_conv_1x1~1|+|skip_connect~0|"
      "nor_conv_1x1/nor_conv_3x3/avg_pool_3x3~1|nor_conv_3x3~2|";
  Arch a = Arch::parse(s);
  EXPECT_FALSE(a.is_cell());
  EXPECT_EQ(a.num_active(0), 2);
  EXPECT_EQ(a.num_active(4), 3);
  // Printed in op order.
  EXPECT_EQ(a.to_string(),
            "|skip_connect/nor_conv_3x3~0|+|none/avg_pool_3x3~0|nor_conv_1x1~1|+|skip_connect~0|"
            "nor_conv_1x1/nor_conv_3x3/avg_pool_3x3~1|nor_conv_3x3~2|");
  EXPECT_EQ(Arch::parse(a.to_string()), a);
  EXPECT_EQ(Arch::parse("supernet"), Arch());
  EXPECT_EQ(Arch::parse("supernet-none").num_active(2), 4);
  EXPECT_THROW(a.cell_ops(), Error);
}

TEST(Arch, EnumeratesAllCellsUniquely) {
  std::vector<Arch> cells = all_cells();
  ASSERT_EQ(cells.size(), 15625u);
  std::set<std::string> strings;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    ASSERT_EQ(cells[i].cell_id(), static_cast<int>(i));
    strings.insert(cells[i].to_string());
    ASSERT_EQ(Arch::parse(cells[i].to_string()), cells[i]);
  }
  EXPECT_EQ(strings.size(), 15625u);
}

// Each malformed string must be rejected with a message that names the problem.
struct BadCase {
  const char* text;
  const char* message_part;
};

class ArchRejects : public ::testing::TestWithParam<BadCase> {};

TEST_P(ArchRejects, WithPreciseMessage) {
  try {
    Arch::parse(GetParam().text);
    FAIL() << "accepted '" << GetParam().text << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::kParseError);
    EXPECT_NE(std::string(e.what()).find(GetParam().message_part), std::string::npos)
        << "message was: " << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, ArchRejects,
    ::testing::Values(
        BadCase{"", "string ends where '|' was expected"},
        BadCase{"|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown op 'conv'"},
        BadCase{"|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "cannot read from node 1"},
        BadCase{"|none~0|+|none~1|none~0|+|none~0|none~1|none~2|", "must read from node 0"},
        BadCase{"|none~0|+|none~0|+|none~0|none~1|none~2|", "has 1 edge(s) but needs 2"},
        BadCase{"|none~0|none~1|+|none~0|none~1|+|none~0|none~1|none~2|",
                "node 1 has more than 1 edge(s)"},
        BadCase{"|none~0|+|none~0|none~1|+|none~0|none~1|none~2|x",
                "stray characters after the last node"},
        BadCase{"|none~0|+|none~0|none~1|+|none~0|none~1|", "needs 3"},
        BadCase{"|none~0|+|none~0|none~1|+|none~0|none~1|none~2", "unterminated edge"},
        BadCase{"|none0|+|none~0|none~1|+|none~0|none~1|none~2|", "lacks '~<source node>'"},
        BadCase{"|none/none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "repeated"},
        BadCase{"|none~0|-|none~0|none~1|+|none~0|none~1|none~2|", "expected '+' between nodes"}));

}  // namespace
}  // namespace micronas
