// Distributions over the time-series space's choices: one-hot and argmax are inverse on every
// architecture of a small space and on samples of UCI-HAR's, uniform is valid, and malformed
// distributions are refused naming the cell and field.
#include <gtest/gtest.h>

#include <limits>
#include <string>

#include "micronas/error.hpp"
#include "micronas/random.hpp"
#include "micronas/timeseries_distribution.hpp"
#include "tests/timeseries_spaces.hpp"

namespace micronas::timeseries {
namespace {

using test::tiny;

TEST(TimeseriesDistribution, OneHotThenArgmaxIsTheArchitecture) {
  const Space small = tiny();
  for (const Arch& arch : small.enumerate()) {
    EXPECT_EQ(ArchDistribution::one_hot(small, arch).argmax(small), arch) << arch.to_string();
  }
  const Space har(128, 9, 6);
  Rng rng(7);
  for (int i = 0; i < 200; ++i) {
    const Arch arch = har.sample(rng);
    EXPECT_EQ(ArchDistribution::one_hot(har, arch).argmax(har), arch) << arch.to_string();
  }
}

TEST(TimeseriesDistribution, UniformIsValidAndArgmaxTakesTheFirstTie) {
  const Space har(128, 9, 6);
  const ArchDistribution d = ArchDistribution::uniform(har);
  EXPECT_NO_THROW(d.check(har));
  EXPECT_EQ(d.sensor_fusion[0].skip, 0.0);  // a reducing cell is never skipped
  EXPECT_EQ(d.sensor_fusion[1].skip, 0.5);
  // Ties: the first kernel and width; no branch above 1/2: the first branch; skip and residual
  // at exactly 1/2 stay off.
  EXPECT_EQ(d.argmax(har).to_string(), "tr:k3w4|tr:k3w4|tr:k3w4|sf:b8[3]w8|sf:b8[3]w8|sf:b8[3]w8");
}

TEST(TimeseriesDistribution, ArgmaxKeepsTheMostProbableBranchWhenNoneIsOn) {
  const Space har(128, 9, 6);
  ArchDistribution d = ArchDistribution::uniform(har);
  d.sensor_fusion[0].branch = {0.1, 0.4, 0.3};
  d.sensor_fusion[2].branch = {0.6, 0.2, 0.9};
  const Arch arch = d.argmax(har);
  EXPECT_EQ(arch.sensor_fusion[0].branches, 2);  // kernel 5
  EXPECT_EQ(arch.sensor_fusion[2].branches, 5);  // kernels 3 and 7
}

void expect_refused(const ArchDistribution& d, const Space& space, const std::string& part) {
  try {
    d.check(space);
    ADD_FAILURE() << "accepted; expected an error containing \"" << part << "\"";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

TEST(TimeseriesDistribution, CheckNamesTheCellAndField) {
  const Space har(128, 9, 6);
  const ArchDistribution base = ArchDistribution::uniform(har);
  ArchDistribution d = base;
  d.time_reduce.pop_back();
  expect_refused(d, har, "2 + 3 cells, the space has 3 + 3");
  d = base;
  d.time_reduce[1].width.push_back(0.0);
  expect_refused(d, har, "time-reduce cell 1 width: 5 probabilities for 4 choices");
  d = base;
  d.sensor_fusion[2].bottleneck[0] += 0.01;
  expect_refused(d, har, "sensor-fusion cell 2 bottleneck: probabilities sum to");
  d = base;
  d.sensor_fusion[1].branch[2] = std::numeric_limits<double>::quiet_NaN();
  expect_refused(d, har, "sensor-fusion cell 1 branch 7: probability");
  d = base;
  d.sensor_fusion[0].skip = 0.25;
  expect_refused(d, har, "sensor-fusion cell 0 reduces and cannot be skipped");
  d = base;
  d.sensor_fusion[2].residual = 1.5;
  expect_refused(d, har, "sensor-fusion cell 2 residual");
}

}  // namespace
}  // namespace micronas::timeseries
