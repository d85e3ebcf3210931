// Hostile and accidental inputs: files whose headers lie about their size, malformed shapes,
// trailing bytes, paths that are not regular files (/dev/zero, directories, pipes) and files
// larger than their format allows. Every one is refused before memory is spent on it, with a
// message naming the path and the problem in words.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "micronas/benchmark_table.hpp"
#include "micronas/data.hpp"
#include "micronas/error.hpp"
#include "micronas/mcu.hpp"
#include "micronas/npy.hpp"
#include "micronas/sweep.hpp"
#include "runtime/cifar.hpp"
#include "runtime/csv.hpp"
#include "runtime/file_io.hpp"

namespace micronas {
namespace {

std::string temp_file(const std::string& name) {
  return ::testing::TempDir() + "micronas_hostile_" + name;
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// Runs `f`, expects an Error with `status` whose message contains every string in `parts` and
// no text of a std:: exception.
template <class F>
void expect_error(F f, Status status, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "no error thrown";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), status) << e.what();
    const std::string what = e.what();
    for (const std::string& p : parts)
      EXPECT_NE(what.find(p), std::string::npos) << "message lacks \"" << p << "\": " << what;
    for (const char* leak : {"basic_", "substr", "stoll", "filebuf"})
      EXPECT_EQ(what.find(leak), std::string::npos) << what;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not a micronas::Error: " << e.what();
  }
}

// An .npy file (format 1.0) with the given header dict text and `data_bytes` bytes of data.
std::string npy_bytes(const std::string& dict, std::size_t data_bytes, int version = 1) {
  std::string header = dict;
  const std::size_t prefix = version == 1 ? 10 : 12;
  header.append((64 - (prefix + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string out = std::string("\x93NUMPY", 6) + static_cast<char>(version) + '\0';
  const std::uint32_t len = static_cast<std::uint32_t>(header.size());
  for (std::size_t b = 0; b < (version == 1 ? 2u : 4u); ++b)
    out += static_cast<char>((len >> (8 * b)) & 0xFF);
  return out + header + std::string(data_bytes, '\0');
}

std::string dict_with_shape(const std::string& shape, const char* descr = "<f4") {
  return std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + shape +
         ", }";
}

TEST(HostileNpy, AWellFormedFileStillReads) {
  const std::string path = temp_file("ok.npy");
  write_file(path, npy_bytes(dict_with_shape("(2, 3, 4, 4)"), 2 * 3 * 4 * 4 * 4));
  const NpyArray a = read_npy(path);
  EXPECT_EQ(a.shape, (std::vector<std::int64_t>{2, 3, 4, 4}));
  EXPECT_EQ(a.data.size(), 96u);
  write_file(path, npy_bytes(dict_with_shape("(5,)", "<f8"), 40));
  EXPECT_EQ(read_npy(path).shape, (std::vector<std::int64_t>{5}));
  write_file(path, npy_bytes(dict_with_shape("()", "<f8"), 8));
  EXPECT_EQ(read_npy(path).data.size(), 1u);
}

TEST(HostileNpy, HeaderClaimingMoreDataThanTheFileHoldsIsRefusedBeforeAllocating) {
  const std::string path = temp_file("claims.npy");
  // 150 bytes claiming 120000 x 3 x 32 x 32 float64 (2.9 GB).
  write_file(path, npy_bytes(dict_with_shape("(120000, 3, 32, 32)", "<f8"), 22));
  expect_error([&] { read_npy(path); }, Status::kIoError,
               {path, "truncated data", "2949120000", "22"});
  // A product that overflows 64 bits: 2^54 x 3 x 32 x 32.
  write_file(path, npy_bytes(dict_with_shape("(18014398509481984, 3, 32, 32)"), 16));
  expect_error([&] { read_npy(path); }, Status::kIoError, {path, "truncated data"});
  write_file(path, npy_bytes(dict_with_shape("(99999999999999999999, 3)"), 16));
  expect_error([&] { read_npy(path); }, Status::kIoError, {path, "too large"});
}

TEST(HostileNpy, HeaderLengthBeyondTheFileIsRefused) {
  const std::string path = temp_file("v2.npy");
  // Version 2.0 header length 0xFFFFFFF0 in a 13-byte file.
  write_file(path, std::string("\x93NUMPY\x02\x00\xF0\xFF\xFF\xFF{", 13));
  expect_error([&] { read_npy(path); }, Status::kIoError, {path, "header"});
  // Truncated inside the preamble, the length, or the header text.
  const std::string good = npy_bytes(dict_with_shape("(2,)"), 8);
  for (std::size_t cut : {4u, 9u, 30u}) {
    write_file(path, good.substr(0, cut));
    expect_error([&] { read_npy(path); }, Status::kIoError, {path, "truncated"});
  }
  write_file(path, "");
  expect_error([&] { read_npy(path); }, Status::kIoError, {path, "empty"});
}

TEST(HostileNpy, MalformedShapesAreRefused) {
  const std::string path = temp_file("shape.npy");
  for (const char* shape : {"(16,,3,32,32)", "(16abc, 3, 32, 32)", "(-1, 3)", "(3 4)", "(,)", "(5)",
                            "(1.5, 2)", "[2, 3]", "(2, 3"}) {
    write_file(path, npy_bytes(dict_with_shape(shape), 16 * 3 * 32 * 32 * 4));
    expect_error([&] { read_npy(path); }, Status::kIoError, {path});
  }
  write_file(path, npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape'", 4));
  expect_error([&] { read_npy(path); }, Status::kIoError, {path, "header"});
  write_file(path, npy_bytes("{'descr', 'fortran_order': False, 'shape': (1,), }", 4));
  expect_error([&] { read_npy(path); }, Status::kIoError, {path, "header"});
}

TEST(HostileNpy, TrailingBytesAreRefused) {
  const std::string path = temp_file("trailing.npy");
  write_file(path, npy_bytes(dict_with_shape("(2, 2)"), 16 + 3));
  expect_error([&] { read_npy(path); }, Status::kIoError, {path, "3 trailing bytes"});
}

TEST(HostileFiles, NonRegularFilesAreRefusedByTheReadersThatReadTwice) {
  const std::string dir = ::testing::TempDir();
  expect_error([] { read_npy("/dev/zero"); }, Status::kIoError,
               {"/dev/zero", "character device", "not a regular file"});
  expect_error([&] { read_npy(dir); }, Status::kIoError, {dir, "directory"});
  expect_error([] { read_cifar_binary("/dev/zero", 1); }, Status::kIoError,
               {"/dev/zero", "not a regular file"});
  expect_error([&] { InputSampler(DataSpec::parse("cifar10:" + dir), 0); }, Status::kIoError,
               {dir, "directory"});
  // A named pipe: inputs are read more than once, so a pipe is refused with that reason (and
  // without waiting for a writer).
  const std::string fifo = temp_file("fifo");
  std::filesystem::remove(fifo);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  expect_error([&] { read_npy(fifo); }, Status::kIoError, {fifo, "pipe", "regular (seekable)"});
  std::filesystem::remove(fifo);
}

TEST(HostileFiles, CifarFilesBeyondTheDatasetSizeAreRefusedBeforeReading) {
  const std::string path = temp_file("big.bin");
  // A sparse file of 60,001 records: refused from its size alone.
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.seekp(static_cast<std::streamoff>(60001) * 3073 - 1);
    out.put('\0');
  }
  expect_error([&] { read_cifar_binary(path, 1); }, Status::kIoError,
               {path, "60001 records", "60000"});
  std::filesystem::remove(path);
}

TEST(HostileFiles, BenchmarkTablesWithMalformedValuesOrRepeatedCellsAreRefused) {
  const std::string cell =
      "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
      "nor_conv_3x3~2|";
  const std::string other =
      "|nor_conv_1x1~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
      "nor_conv_3x3~2|";
  const std::string path = temp_file("benchmark.csv");
  auto table = [&](const std::string& value) {
    write_file(path,
               "index,arch,cifar10_test\n0," + other + ",91.5\n1," + cell + "," + value + "\n");
  };
  // An empty field (or nan) is a cell without a value; a finite number is a value.
  for (const char* missing : {"", "nan"}) {
    table(missing);
    EXPECT_TRUE(std::isnan(BenchmarkTable::load(path).value(1, "cifar10_test"))) << missing;
  }
  table("93.5");
  EXPECT_EQ(BenchmarkTable::load(path).value(1, "cifar10_test"), 93.5);
  for (const char* bad : {"50abc", "5O.1", " 50 ", "inf", "1e400", "-infinity"}) {
    table(bad);
    expect_error([&] { BenchmarkTable::load(path); }, Status::kIoError,
                 {path + ":3", "column 'cifar10_test'", "not a finite number"});
  }
  // A column of text (no field written as a number) is no column of values, and no error.
  write_file(path, "index,arch,ops,cifar10_test\n0," + other + ",\"(4, 3)\",91.5\n1," + cell +
                       ",\"(1, 2)\",93\n");
  EXPECT_TRUE(std::isnan(BenchmarkTable::load(path).value(1, "ops")));
  EXPECT_EQ(BenchmarkTable::load(path).value(1, "cifar10_test"), 93.0);
  write_file(path, "index,arch,cifar10_test\n0," + cell + ",91.5\n1651," + cell + ",10\n");
  expect_error([&] { BenchmarkTable::load(path); }, Status::kIoError,
               {path + ":3", "index 1651", "already at line 2"});
  std::filesystem::remove(path);
}

TEST(HostileFiles, TablesAreReadWithABound) {
  expect_error([] { BenchmarkTable::load("/dev/zero"); }, Status::kIoError,
               {"/dev/zero", "not a regular file"});
  expect_error([] { mcu::read_measured_ops("/dev/zero"); }, Status::kIoError, {"/dev/zero"});
  const std::string dir = ::testing::TempDir();
  expect_error([&] { BenchmarkTable::load(dir); }, Status::kIoError, {dir, "directory"});
  expect_error([&] { read_sweep_csv(dir); }, Status::kIoError, {dir, "directory"});
  expect_error([&] { mcu::load_target(dir + "/"); }, Status::kIoError, {dir, "directory"});

  const std::string path = temp_file("table.csv");
  write_file(path, "a,b\n1,2\n3,4\n5,6\n");
  expect_error(
      [&] {
        read_csv(path, {1000, 2, "a test table"});
      },
      Status::kIoError, {path, "more than 2 rows", "a test table"});
  expect_error(
      [&] {
        read_csv(path, {10, 100, "a test table"});
      },
      Status::kIoError, {path, "more than a test table can need"});
  EXPECT_EQ(read_csv(path, {1000, 3, "a test table"}).rows.size(), 3u);
  // A pipe holding more than the bound stops being read at the bound.
  expect_error([] { read_input_file("/dev/zero", 1 << 20, "a test file", true); }, Status::kIoError,
               {"/dev/zero"});
}

TEST(CsvWriter, QuotesOnlyWhatNeedsQuotingAndReadsBack) {
  EXPECT_EQ(csv_field("plain|text~0"), "plain|text~0");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  const std::vector<std::string> fields = {"x", "a,b", "q\"uote", "", "line\nbreak"};
  const std::string record = csv_record(fields);
  EXPECT_EQ(record.back(), '\n');
  const CsvTable t = parse_csv("h1,h2,h3,h4,h5\n" + record, "mem", {1 << 20, 10, "a table"});
  ASSERT_EQ(t.rows.size(), 1u);
  EXPECT_EQ(t.rows[0], fields);
  EXPECT_EQ(split_csv_record("x,\"a,b\",\"q\"\"uote\","),
            (std::vector<std::string>{"x", "a,b", "q\"uote", ""}));
}

}  // namespace
}  // namespace micronas
