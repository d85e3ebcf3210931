// Time-series data: the .ts reader on the real UEA files (read in place) and on small files
// written here, every malformed-file error, the UCI-HAR layout on a generated copy, the synthetic
// generator, normalisation with training statistics and the stratified validation split.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "micronas/error.hpp"
#include "micronas/timeseries_data.hpp"
#include "tests/test_util.hpp"

namespace micronas::timeseries {
namespace {

namespace fs = std::filesystem;

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "micronas_ts_" + name;
}

std::string write_file(const std::string& name, const std::string& text) {
  const std::string path = temp_path(name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  return path;
}

template <class F>
void expect_error(F f, Status status, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "no error thrown";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), status) << e.what();
    for (const std::string& p : parts) {
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos)
          << "message lacks \"" << p << "\": " << e.what();
    }
  }
}

const char* kHeader =
    "# a comment\n"
    "@problemName Tiny\n"
    "@timeStamps false\n"
    "@missing false\n"
    "@univariate false\n"
    "@dimensions 2\n"
    "@equalLength true\n"
    "@seriesLength 3\n"
    "@classLabel true up down\n"
    "@data\n";

TEST(TsReader, ReadsTimeMajorValuesAndLabels) {
  const std::string path =
      write_file("tiny.ts", std::string(kHeader) + "1,2,3:4,5,6:down\r\n-1.5,+2e-1,0:7,8,9:up\n");
  Dataset d = read_ts(path);
  EXPECT_EQ(d.cases, 2);
  EXPECT_EQ(d.length, 3);
  EXPECT_EQ(d.dims, 2);
  EXPECT_EQ(d.class_names, (std::vector<std::string>{"up", "down"}));
  EXPECT_EQ(d.labels, (std::vector<int>{1, 0}));
  // [N, T, S]: case 0, time 1 holds dimension 1's second value then dimension 2's.
  EXPECT_EQ(d.at(0, 1, 0), 2.0f);
  EXPECT_EQ(d.at(0, 1, 1), 5.0f);
  EXPECT_EQ(d.at(1, 0, 0), -1.5f);
  EXPECT_EQ(d.at(1, 1, 0), 0.2f);
  EXPECT_EQ(d.values.size(), 12u);
}

TEST(TsReader, UnequalLengthsAreRefusedOrPaddedOrTruncated) {
  const std::string path = write_file("unequal.ts",
                                      "@univariate true\n@equalLength false\n@classLabel true a b\n"
                                      "@data\n1,2,3:a\n4,5:b\n6,7,8,9:a\n");
  expect_error([&] { read_ts(path); }, Status::kInvalidArgument,
               {path + ":6:", "case 2", "length 2", "case 1 has length 3", "pad or truncate"});
  TsReadOptions opt;
  opt.length = 3;
  Dataset d = read_ts(path, opt);
  EXPECT_EQ(d.length, 3);
  EXPECT_EQ(d.dims, 1);
  EXPECT_EQ(d.at(1, 1, 0), 5.0f);
  EXPECT_EQ(d.at(1, 2, 0), 0.0f);  // padded at the end
  EXPECT_EQ(d.at(2, 2, 0), 8.0f);  // truncated: 9 dropped
}

TEST(TsReader, MissingValuesOnlyWhenAskedFor) {
  const std::string path =
      write_file("missing.ts", "@dimensions 1\n@classLabel true a\n@data\n1,?,3:a\n1,NaN,2:a\n");
  expect_error([&] { read_ts(path); }, Status::kInvalidArgument,
               {path + ":4:", "case 1, dimension 1, value 2", "missing value '?'"});
  TsReadOptions opt;
  opt.missing_as_zero = true;
  Dataset d = read_ts(path, opt);
  EXPECT_EQ(d.at(0, 1, 0), 0.0f);
  EXPECT_EQ(d.at(1, 1, 0), 0.0f);
  EXPECT_EQ(d.at(1, 2, 0), 2.0f);
}

struct BadTs {
  const char* name;
  const char* text;
  Status status;
  std::vector<std::string> parts;
};

class TsRejects : public ::testing::TestWithParam<BadTs> {};

TEST_P(TsRejects, NamesFileLineAndProblem) {
  const BadTs& c = GetParam();
  const std::string path = write_file(std::string(c.name) + ".ts", c.text);
  std::vector<std::string> parts = c.parts;
  parts.push_back(path + ":");
  expect_error([&] { read_ts(path); }, c.status, parts);
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, TsRejects,
    ::testing::Values(
        BadTs{"empty", "", Status::kIoError, {":1:", "empty file"}},
        BadTs{"nodata",
              "@classLabel true a\n# only a header\n",
              Status::kIoError,
              {":2:", "no @data"}},
        BadTs{"unknown_header", "@colour blue\n", Status::kIoError, {":1:", "'@colour'"}},
        BadTs{
            "bad_bool", "@univariate maybe\n", Status::kIoError, {":1:", "true or false", "maybe"}},
        BadTs{
            "bad_dims", "@dimensions two\n", Status::kIoError, {":1:", "positive integer", "two"}},
        BadTs{"repeated", "@dimensions 1\n@dimension 2\n", Status::kIoError, {":2:", "repeated"}},
        BadTs{"no_labels", "@dimensions 1\n@data\n1:a\n", Status::kIoError, {":2:", "@classLabel"}},
        BadTs{"label_false", "@classLabel false\n", Status::kUnsupported, {":1:", "false"}},
        BadTs{"timestamps", "@timeStamps true\n", Status::kUnsupported, {":1:", "timeStamps"}},
        BadTs{"value_first", "1,2:a\n", Status::kIoError, {":1:", "header"}},
        BadTs{"wrong_dims",
              "@dimensions 2\n@classLabel true a\n@data\n1,2:3,4:a\n1,2:a\n",
              Status::kIoError,
              {":5:", "case 2 has 1 dimension(s), expected 2"}},
        BadTs{"inferred_dims",
              "@classLabel true a\n@data\n1:2:a\n1:a\n",
              Status::kIoError,
              {":4:", "case 2 has 1 dimension(s), expected 2"}},
        BadTs{"univariate_clash",
              "@univariate true\n@dimensions 3\n@classLabel true a\n@data\n",
              Status::kIoError,
              {":4:", "contradicts"}},
        BadTs{"not_number",
              "@classLabel true a\n@data\n1,x2,3:a\n",
              Status::kIoError,
              {":3:", "case 1, dimension 1, value 2", "'x2' is not a finite number"}},
        BadTs{"inf",
              "@classLabel true a\n@data\n1,inf:a\n",
              Status::kIoError,
              {":3:", "value 2", "'inf'"}},
        BadTs{"empty_value",
              "@classLabel true a\n@data\n1,,3:a\n",
              Status::kIoError,
              {":3:", "value 2", "''"}},
        BadTs{"unknown_label",
              "@classLabel true a b\n@data\n1,2:c\n",
              Status::kIoError,
              {":3:", "unknown class label 'c'", "declared: a b"}},
        BadTs{"truncated",
              "@classLabel true a\n@data\n1,2,3:a\n1,2,",
              Status::kIoError,
              {":4:", "case 2", "truncated"}},
        BadTs{"series_length",
              "@seriesLength 4\n@classLabel true a\n@data\n1,2,3:a\n",
              Status::kIoError,
              {":4:", "@seriesLength is 4"}},
        BadTs{"header_after_data",
              "@classLabel true a\n@data\n1:a\n@dimensions 1\n",
              Status::kIoError,
              {":4:", "after @data"}},
        BadTs{"no_cases",
              "@classLabel true a\n@data\n\n",
              Status::kIoError,
              {"no cases after @data"}},
        BadTs{"empty_dim",
              "@dimensions 2\n@classLabel true a\n@data\n1,2::a\n",
              Status::kIoError,
              {":4:", "dimension 2 is empty"}},
        BadTs{"duplicate_label",
              "@classLabel true a a\n",
              Status::kIoError,
              {":1:", "declared twice"}}),
    [](const ::testing::TestParamInfo<BadTs>& p) { return std::string(p.param.name); });

TEST(TsReader, RefusesDirectoriesDevicesAndMissingFiles) {
  expect_error([] { read_ts(::testing::TempDir()); }, Status::kIoError, {"is a directory"});
  expect_error([] { read_ts(temp_path("does_not_exist.ts")); }, Status::kIoError,
               {"does_not_exist.ts", "cannot open"});
  if (fs::exists("/dev/zero"))
    expect_error([] { read_ts("/dev/zero"); }, Status::kIoError, {"/dev/zero", "NUL byte"});
  // Endless text without NUL bytes stops at the size bound.
  const std::string big = write_file("big.ts", std::string(5000, '#'));
  TsReadOptions opt;
  opt.max_bytes = 4096;
  expect_error([&] { read_ts(big, opt); }, Status::kIoError, {"big.ts", "limit of 4096 bytes"});
}

TEST(TsReader, BasicMotionsIsFortyBalancedCasesOfSixChannels) {
  MICRONAS_REQUIRE_DATA("timeseries/BasicMotions_TRAIN.ts");
  for (const char* file : {"timeseries/BasicMotions_TRAIN.ts", "timeseries/BasicMotions_TEST.ts"}) {
    Dataset d = read_ts(test::data_path(file));
    EXPECT_EQ(d.cases, 40) << file;
    EXPECT_EQ(d.length, 100) << file;
    EXPECT_EQ(d.dims, 6) << file;
    EXPECT_EQ(d.class_names,
              (std::vector<std::string>{"Standing", "Running", "Walking", "Badminton"}));
    EXPECT_EQ(d.class_counts(), (std::vector<int>{10, 10, 10, 10})) << file;
  }
  // First value of the first case, as printed in the file.
  Dataset train = read_ts(test::data_path("timeseries/BasicMotions_TRAIN.ts"));
  EXPECT_FLOAT_EQ(train.at(0, 0, 0), 0.079106f);
  EXPECT_FLOAT_EQ(train.at(0, 2, 0), -0.903497f);
}

TEST(TsReader, PickupGestureNeedsALength) {
  MICRONAS_REQUIRE_DATA("timeseries/PickupGestureWiimoteZ_TRAIN.ts");
  const std::string path = test::data_path("timeseries/PickupGestureWiimoteZ_TRAIN.ts");
  expect_error([&] { read_ts(path); }, Status::kInvalidArgument,
               {"PickupGestureWiimoteZ_TRAIN.ts:", "case 2", "has length", "pad or truncate"});
  TsReadOptions opt;
  opt.length = 128;
  Dataset d = read_ts(path, opt);
  EXPECT_EQ(d.cases, 50);
  EXPECT_EQ(d.length, 128);
  EXPECT_EQ(d.dims, 1);
  EXPECT_EQ(d.classes(), 10);
  EXPECT_EQ(d.class_counts(), std::vector<int>(10, 5));
}

// A small UCI-HAR copy: `windows` windows per split, value (n, t, s) = n + t/1000 + s/10.
std::string make_har(const std::string& name, int windows) {
  const std::string root = temp_path(name);
  fs::remove_all(root);
  for (const std::string split : {"train", "test"}) {
    fs::create_directories(root + "/" + split + "/Inertial Signals");
    std::ofstream y(root + "/" + split + "/y_" + split + ".txt");
    for (int n = 0; n < windows; ++n) y << (n % 6) + 1 << "\n";
    for (int s = 0; s < 9; ++s) {
      std::ofstream f(root + "/" + split + "/Inertial Signals/" + uci_har_channels()[s] + "_" +
                      split + ".txt");
      for (int n = 0; n < windows; ++n) {
        for (int t = 0; t < 128; ++t) f << "  " << (n + t / 1000.0 + s / 10.0);
        f << "\n";
      }
    }
  }
  return root;
}

TEST(UciHar, ReadsNineChannelsOf128Steps) {
  const std::string root = make_har("har_ok", 7);
  Dataset d = read_uci_har(root, "test");
  EXPECT_EQ(d.cases, 7);
  EXPECT_EQ(d.length, 128);
  EXPECT_EQ(d.dims, 9);
  EXPECT_EQ(d.classes(), 6);
  EXPECT_EQ(d.labels, (std::vector<int>{0, 1, 2, 3, 4, 5, 0}));
  EXPECT_FLOAT_EQ(d.at(3, 5, 0), 3.005f);
  EXPECT_FLOAT_EQ(d.at(3, 5, 8), 3.805f);  // total_acc_z is channel 9
  EXPECT_FLOAT_EQ(d.at(6, 127, 4), 6.527f);
}

TEST(UciHar, ErrorsNameFileAndLine) {
  const std::string root = make_har("har_bad", 4);
  const std::string sig = root + "/train/Inertial Signals/body_gyro_y_train.txt";
  fs::remove(sig);
  expect_error([&] { read_uci_har(root, "train"); }, Status::kIoError,
               {"body_gyro_y_train.txt", "cannot open"});
  // One window too few.
  {
    std::ofstream f(sig);
    for (int n = 0; n < 3; ++n) {
      for (int t = 0; t < 128; ++t) f << " 1";
      f << "\n";
    }
  }
  expect_error([&] { read_uci_har(root, "train"); }, Status::kIoError,
               {"body_gyro_y_train.txt:3:", "3 windows", "4 labels"});
  // Window 2 one value short.
  {
    std::ofstream f(sig);
    for (int n = 0; n < 4; ++n) {
      for (int t = 0; t < (n == 1 ? 127 : 128); ++t) f << " 1";
      f << "\n";
    }
  }
  expect_error([&] { read_uci_har(root, "train"); }, Status::kIoError,
               {"body_gyro_y_train.txt:2:", "window 2 has 127 values, expected 128"});
  {
    std::ofstream f(sig);
    for (int n = 0; n < 4; ++n) {
      for (int t = 0; t < 128; ++t) f << (t == 9 && n == 3 ? " 1..2" : " 1");
      f << "\n";
    }
  }
  expect_error([&] { read_uci_har(root, "train"); }, Status::kIoError,
               {"body_gyro_y_train.txt:4:", "window 4, value 10", "'1..2'"});
  {
    std::ofstream y(root + "/train/y_train.txt");
    y << "1\n7\n1\n1\n";
  }
  expect_error([&] { read_uci_har(root, "train"); }, Status::kIoError,
               {"y_train.txt:2:", "'7'", "1..6"});
  expect_error([&] { read_uci_har(root, "validation"); }, Status::kInvalidArgument,
               {"'validation'"});
}

TEST(Synthetic, IsSeededBalancedAndClassDependent) {
  SyntheticSpec spec;
  spec.cases = 60;
  spec.length = 64;
  spec.dims = 3;
  spec.classes = 4;
  Dataset a = make_synthetic(spec);
  Dataset b = make_synthetic(spec);
  EXPECT_EQ(a.values, b.values);
  EXPECT_EQ(a.class_counts(), (std::vector<int>{15, 15, 15, 15}));
  spec.seed = 1;
  Dataset test = make_synthetic(spec);
  EXPECT_NE(test.values, a.values);
  // Nearest class centroid of draw `a` classifies the independent draw `test`: the classes
  // share their patterns across seeds and differ from each other.
  const std::size_t per_case = 64 * 3;
  std::vector<std::vector<double>> centroid(4, std::vector<double>(per_case, 0.0));
  for (int n = 0; n < a.cases; ++n)
    for (std::size_t i = 0; i < per_case; ++i)
      centroid[a.labels[n]][i] += a.values[n * per_case + i] / 15.0;
  int correct = 0;
  for (int n = 0; n < test.cases; ++n) {
    int best = -1;
    double best_d = 1e300;
    for (int c = 0; c < 4; ++c) {
      double dist = 0.0;
      for (std::size_t i = 0; i < per_case; ++i) {
        const double d = test.values[n * per_case + i] - centroid[c][i];
        dist += d * d;
      }
      if (dist < best_d) best_d = dist, best = c;
    }
    correct += best == test.labels[n];
  }
  EXPECT_EQ(correct, test.cases);
  spec.classes = 0;
  EXPECT_THROW(make_synthetic(spec), Error);
}

TEST(Normalize, UsesTrainingStatisticsOnly) {
  SyntheticSpec spec;
  spec.cases = 24;
  spec.length = 32;
  spec.dims = 4;
  Dataset train = make_synthetic(spec);
  spec.seed = 9;
  Dataset test = make_synthetic(spec);
  ChannelStats stats = channel_stats(train);
  normalize(train, stats);
  ChannelStats after = channel_stats(train);
  for (int s = 0; s < 4; ++s) {
    EXPECT_NEAR(after.mean[s], 0.0, 1e-6);
    EXPECT_NEAR(after.stddev[s], 1.0, 1e-5);
  }
  const float raw = test.at(3, 7, 2);
  normalize(test, stats);
  EXPECT_FLOAT_EQ(test.at(3, 7, 2), static_cast<float>((raw - stats.mean[2]) / stats.stddev[2]));
  // A constant channel is centred, not divided by zero.
  Dataset flat;
  flat.cases = 2, flat.length = 2, flat.dims = 1, flat.values = {3, 3, 3, 3};
  ChannelStats fs = channel_stats(flat);
  EXPECT_EQ(fs.stddev[0], 1.0);
  normalize(flat, fs);
  EXPECT_EQ(flat.values, (std::vector<float>{0, 0, 0, 0}));
  ChannelStats wrong;
  wrong.mean = {0.0};
  wrong.stddev = {1.0};
  EXPECT_THROW(normalize(test, wrong), Error);
}

TEST(ValidationSplit, IsStratifiedSeededAndDisjoint) {
  SyntheticSpec spec;
  spec.cases = 43;
  spec.length = 8;
  spec.dims = 2;
  spec.classes = 4;  // 11, 11, 11, 10 cases
  Dataset d = make_synthetic(spec);
  auto [rest, val] = split_validation(d, 0.2, 5);
  EXPECT_EQ(val.class_counts(), (std::vector<int>{2, 2, 2, 2}));
  EXPECT_EQ(rest.class_counts(), (std::vector<int>{9, 9, 9, 8}));
  EXPECT_EQ(rest.cases + val.cases, d.cases);
  // Same seed, same split; the parts together hold every case once.
  auto [rest2, val2] = split_validation(d, 0.2, 5);
  EXPECT_EQ(val.values, val2.values);
  std::set<float> firsts;
  for (const Dataset* part : {&rest, &val})
    for (int n = 0; n < part->cases; ++n) firsts.insert(part->at(n, 0, 0));
  EXPECT_EQ(firsts.size(), static_cast<std::size_t>(d.cases));
  auto [rest3, val3] = split_validation(d, 0.2, 6);
  EXPECT_NE(val.values, val3.values);
  auto [all, none] = split_validation(d, 0.0, 5);
  EXPECT_EQ(all.cases, d.cases);
  EXPECT_EQ(none.cases, 0);
  EXPECT_THROW(split_validation(d, 1.0, 5), Error);
  EXPECT_THROW(split_validation(d, -0.1, 5), Error);
}

}  // namespace
}  // namespace micronas::timeseries
