// Proxy inputs: spec parsing, the CIFAR binary reader on the real files (read in place), TE-NAS's
// NTK and linear-region sampling checked pixel by pixel against an independent decoding of the
// raw bytes, synthetic and npy inputs, and every error path.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "micronas/data.hpp"
#include "micronas/error.hpp"
#include "micronas/npy.hpp"
#include "micronas/random.hpp"
#include "runtime/cifar.hpp"
#include "tests/test_util.hpp"

namespace micronas {
namespace {

const std::string kCifar10 = "cifar/cifar10_test_first846.bin";
const std::string kCifar100 = "cifar/cifar100_test_first916.bin";

std::vector<std::uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<int> read_ints(const std::string& path) {
  std::ifstream in(path);
  std::vector<int> v;
  for (int x; in >> x;) v.push_back(x);
  return v;
}

std::string temp_file(const std::string& name) { return ::testing::TempDir() + "micronas_" + name; }

void write_bytes(const std::string& path, const std::uint8_t* data, std::size_t n) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(n));
}

// Runs `f`, expects an Error with `status` whose message contains every string in `parts`.
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

// The raw file decoded here independently of the library: record r's byte for channel c, row y,
// column x, and its value after ToTensor + Normalize, written out from NB201's constants.
struct RawCifar {
  std::vector<std::uint8_t> bytes;
  int label_bytes = 1;
  int count = 0;
  double mean[3], std[3];

  RawCifar(const std::string& path, bool cifar100) : bytes(read_bytes(path)) {
    label_bytes = cifar100 ? 2 : 1;
    count = static_cast<int>(bytes.size() / (label_bytes + 3072));
    const double m10[3] = {125.3, 123.0, 113.9}, s10[3] = {63.0, 62.1, 66.7};
    const double m100[3] = {129.3, 124.1, 112.4}, s100[3] = {68.2, 65.4, 70.4};
    for (int c = 0; c < 3; ++c) {
      mean[c] = (cifar100 ? m100 : m10)[c] / 255.0;
      std[c] = (cifar100 ? s100 : s10)[c] / 255.0;
    }
  }
  int byte(int r, int c, int y, int x) const {
    return bytes[static_cast<std::size_t>(r) * (label_bytes + 3072) + label_bytes + c * 1024 +
                 y * 32 + x];
  }
  // float32 arithmetic as torchvision: byte / 255, then (x - mean) / std, constants in float.
  float normalize(int c, int b) const {
    return (static_cast<float>(b) / 255.0f - static_cast<float>(mean[c])) /
           static_cast<float>(std[c]);
  }
  float value(int r, int c, int y, int x) const { return normalize(c, byte(r, c, y, x)); }
  float border(int c) const { return normalize(c, 0); }
};

// How one NTK image was made: source record, flip, crop offsets in the padded 40 x 40 image.
struct Augmentation {
  int image = -1;
  bool flip = false;
  int oy = 0, ox = 0;
  int border_pixels = 0;  // output pixels that came from the zero padding
};

// Value of output (c, y, x) for a given augmentation: the flipped image, zero-padded by 4
// before normalisation, cropped at (oy, ox).
float augmented(const RawCifar& raw, const Augmentation& a, int c, int y, int x) {
  const int sy = y + a.oy - 4, fx = x + a.ox - 4;
  if (sy < 0 || sy >= 32 || fx < 0 || fx >= 32) return raw.border(c);
  return raw.value(a.image, c, sy, a.flip ? 31 - fx : fx);
}

// Searches every record, flip and offset in 0..8 for one that reproduces `out` (3x32x32)
// exactly; the center pixel, always inside the image, rules most candidates out at once.
Augmentation explain_ntk(const RawCifar& raw, const float* out) {
  for (int i = 0; i < raw.count; ++i) {
    for (int flip = 0; flip < 2; ++flip) {
      for (int oy = 0; oy <= 8; ++oy) {
        for (int ox = 0; ox <= 8; ++ox) {
          Augmentation a{i, flip == 1, oy, ox, 0};
          if (augmented(raw, a, 0, 16, 16) != out[16 * 32 + 16]) continue;
          bool all = true;
          for (int k = 0; k < 3 * 1024 && all; ++k) {
            all = augmented(raw, a, k / 1024, k % 1024 / 32, k % 32) == out[k];
          }
          if (!all) continue;
          for (int y = 0; y < 32; ++y) {
            for (int x = 0; x < 32; ++x) {
              const int sy = y + oy - 4, sx = x + ox - 4;
              a.border_pixels += (sy < 0 || sy >= 32 || sx < 0 || sx >= 32) ? 3 : 0;
            }
          }
          return a;
        }
      }
    }
  }
  return {};
}

TEST(DataSpec, ParsesTheFourForms) {
  EXPECT_EQ(DataSpec::parse("synthetic").kind, DataSpec::Kind::kSynthetic);
  DataSpec c10 = DataSpec::parse("cifar10:/x");
  EXPECT_EQ(c10.kind, DataSpec::Kind::kCifar10);
  EXPECT_EQ(c10.path, "/x");
  DataSpec c100 = DataSpec::parse("cifar100:dir/a:b.bin");  // only the first ':' separates
  EXPECT_EQ(c100.kind, DataSpec::Kind::kCifar100);
  EXPECT_EQ(c100.path, "dir/a:b.bin");
  DataSpec npy = DataSpec::parse("npy:in.npy");
  EXPECT_EQ(npy.kind, DataSpec::Kind::kNpy);
  for (const char* text : {"synthetic", "cifar10:/x", "cifar100:dir/a:b.bin", "npy:in.npy"}) {
    EXPECT_EQ(DataSpec::parse(text).to_string(), text);
  }
}

TEST(DataSpec, RejectsOtherTextClearly) {
  const std::string forms = "\"synthetic\", \"cifar10:PATH\", \"cifar100:PATH\" or \"npy:PATH\"";
  expect_error([] { DataSpec::parse("npy:"); }, Status::kInvalidArgument,
               {"\"npy:\"", "path after \"npy:\" is empty"});
  expect_error([] { DataSpec::parse("cifar10:"); }, Status::kInvalidArgument, {"is empty"});
  for (const char* text : {"bogus", "", "cifar10", "cifar:/x", "synthetic:x", "CIFAR10:/x"}) {
    expect_error([&] { DataSpec::parse(text); }, Status::kInvalidArgument,
                 {"\"" + std::string(text) + "\"", forms});
  }
}

TEST(CifarNormalization, Nb201Constants) {
  Normalization n10 = cifar_normalization(DataSpec::Kind::kCifar10);
  Normalization n100 = cifar_normalization(DataSpec::Kind::kCifar100);
  EXPECT_EQ(n10.mean[0], static_cast<float>(125.3 / 255));
  EXPECT_EQ(n10.mean[2], static_cast<float>(113.9 / 255));
  EXPECT_EQ(n10.std[1], static_cast<float>(62.1 / 255));
  EXPECT_EQ(n100.mean[1], static_cast<float>(124.1 / 255));
  EXPECT_EQ(n100.std[2], static_cast<float>(70.4 / 255));
  EXPECT_THROW(cifar_normalization(DataSpec::Kind::kSynthetic), Error);
  EXPECT_THROW(cifar_normalization(DataSpec::Kind::kNpy), Error);
}

TEST(CifarReader, Cifar10RecordsMatchRawBytesAndLabelFile) {
  MICRONAS_REQUIRE_DATA(kCifar10);

  const std::string path = test::data_path(kCifar10);
  CifarImages images = read_cifar_binary(path, 1);
  std::vector<std::uint8_t> raw = read_bytes(path);
  ASSERT_EQ(images.count, 846);
  EXPECT_TRUE(images.coarse_labels.empty());
  // First record by hand: label byte, then R plane, G plane, B plane.
  EXPECT_EQ(images.labels[0], raw[0]);
  EXPECT_EQ(images.labels[0], 3);  // the first CIFAR-10 test image is a cat
  for (int k = 0; k < 3072; ++k) ASSERT_EQ(images.pixels[k], raw[1 + k]) << k;
  EXPECT_EQ(images.pixels[3071 + 3072], raw[2 * 3073 - 1]);  // last byte of record 2
  std::vector<int> labels = read_ints(test::data_path("cifar/cifar10_test_labels_all10000.txt"));
  ASSERT_GE(labels.size(), 846u);
  for (int r = 0; r < 846; ++r) ASSERT_EQ(images.labels[r], labels[r]) << "record " << r;
}

TEST(CifarReader, Cifar100RecordsMatchRawBytesAndLabelFiles) {
  MICRONAS_REQUIRE_DATA(kCifar100);

  const std::string path = test::data_path(kCifar100);
  CifarImages images = read_cifar_binary(path, 2);
  std::vector<std::uint8_t> raw = read_bytes(path);
  ASSERT_EQ(images.count, 916);
  EXPECT_EQ(images.coarse_labels[0], raw[0]);
  EXPECT_EQ(images.labels[0], raw[1]);
  for (int k = 0; k < 3072; ++k) ASSERT_EQ(images.pixels[k], raw[2 + k]) << k;
  std::vector<int> coarse =
      read_ints(test::data_path("cifar/cifar100_test_coarse_labels_all10000.txt"));
  std::vector<int> fine =
      read_ints(test::data_path("cifar/cifar100_test_fine_labels_all10000.txt"));
  ASSERT_GE(coarse.size(), 916u);
  ASSERT_GE(fine.size(), 916u);
  for (int r = 0; r < 916; ++r) {
    ASSERT_EQ(images.coarse_labels[r], coarse[r]) << "record " << r;
    ASSERT_EQ(images.labels[r], fine[r]) << "record " << r;
  }
}

TEST(CifarReader, TruncatedAndMalformedFilesNameTheFileAndTheProblem) {
  MICRONAS_REQUIRE_DATA(kCifar10);

  std::vector<std::uint8_t> raw = read_bytes(test::data_path(kCifar10));
  // 2.5 records: 7682 bytes = 2 complete records + 1536 bytes of the third.
  const std::string truncated = temp_file("truncated_cifar10.bin");
  write_bytes(truncated, raw.data(), 3073 * 5 / 2);
  expect_error([&] { InputSampler(DataSpec::parse("cifar10:" + truncated), 1); }, Status::kIoError,
               {truncated, "7682 bytes", "2 complete records", "1536 leftover bytes",
                "record 3 is truncated: 1536 of 3073 bytes"});
  // One byte short of a whole record, and one byte over.
  write_bytes(truncated, raw.data(), 3072);
  expect_error([&] { read_cifar_binary(truncated, 1); }, Status::kIoError,
               {truncated, "0 complete records", "3072 leftover bytes"});
  write_bytes(truncated, raw.data(), 3074);
  expect_error([&] { read_cifar_binary(truncated, 1); }, Status::kIoError,
               {"1 complete records", "1 leftover bytes"});

  const std::string empty = temp_file("empty.bin");
  write_bytes(empty, raw.data(), 0);
  expect_error([&] { InputSampler(DataSpec::parse("cifar100:" + empty), 1); }, Status::kIoError,
               {empty, "empty"});
  const std::string missing = temp_file("does_not_exist.bin");
  expect_error([&] { InputSampler(DataSpec::parse("cifar10:" + missing), 1); }, Status::kIoError,
               {missing, "cannot open"});

  // Swapped formats: the CIFAR-100 file is not a whole number of 3073-byte records, three
  // CIFAR-10 records are not a whole number of 3074-byte ones.
  const std::string c100 = test::data_path(kCifar100);
  expect_error([&] { InputSampler(DataSpec::parse("cifar10:" + c100), 1); }, Status::kIoError,
               {c100, "not a whole number of 3073-byte CIFAR-10 records"});
  write_bytes(truncated, raw.data(), 3 * 3073);
  expect_error([&] { read_cifar_binary(truncated, 2); }, Status::kIoError,
               {"3074-byte CIFAR-100 records: 2 complete records and 3071 leftover bytes"});
  // A whole record whose label cannot be CIFAR-10's.
  std::vector<std::uint8_t> bad(raw.begin(), raw.begin() + 2 * 3073);
  bad[3073] = 57;
  write_bytes(truncated, bad.data(), bad.size());
  expect_error([&] { read_cifar_binary(truncated, 1); }, Status::kIoError,
               {truncated, "record 2 has label 57, outside 0..9"});
}

void check_ntk_sampling(bool cifar100) {
  const std::string path = test::data_path(cifar100 ? kCifar100 : kCifar10);
  const RawCifar raw(path, cifar100);
  InputSampler sampler(DataSpec::parse((cifar100 ? "cifar100:" : "cifar10:") + path), 42);
  const int batch = 64, batches = cifar100 ? 1 : 4;
  int flips = 0, images = 0, border_checked = 0;
  std::set<int> oys, oxs;
  for (int k = 0; k < batches; ++k) {
    ImageBatch b = sampler.ntk_batch(batch, 32);
    ASSERT_EQ(b.n, batch);
    ASSERT_EQ(b.c, 3);
    ASSERT_EQ(b.h, 32);
    ASSERT_EQ(b.w, 32);
    ASSERT_EQ(b.data.size(), static_cast<std::size_t>(batch) * 3072);
    std::set<int> sources;
    for (int i = 0; i < batch; ++i) {
      const float* out = b.data.data() + static_cast<std::size_t>(i) * 3072;
      // Every image is exactly some record, flipped or not, cropped within the padded image,
      // normalised, with the padding at (0 - mean) / std.
      Augmentation a = explain_ntk(raw, out);
      ASSERT_GE(a.image, 0) << "batch " << k << " image " << i << " matches no augmentation";
      sources.insert(a.image);
      flips += a.flip;
      oys.insert(a.oy);
      oxs.insert(a.ox);
      border_checked += a.border_pixels;
      ++images;
    }
    EXPECT_EQ(sources.size(), static_cast<std::size_t>(batch)) << "images repeat in a batch";
  }
  // Border pixels are exactly -mean/std: one concrete pixel, after the search above.
  EXPECT_GT(border_checked, 0);
  if (!cifar100) {
    // 256 fair coin flips: mean 128, sd 8; [96, 160] is 4 sd. Each of the 9 offsets per axis is
    // missed by 256 uniform draws with probability (8/9)^256 ~ 1e-13.
    EXPECT_GE(flips, 96);
    EXPECT_LE(flips, 160);
    EXPECT_EQ(oys.size(), 9u);
    EXPECT_EQ(oxs.size(), 9u);
  }
  std::printf("  %s: %d images explained, %d flipped, %d border pixels checked\n",
              cifar100 ? "CIFAR-100" : "CIFAR-10", images, flips, border_checked);
}

TEST(InputSampler, Cifar10NtkBatchesAreFlippedPaddedCropsOfDistinctImages) {
  MICRONAS_REQUIRE_DATA(kCifar10);

  check_ntk_sampling(false);
}

TEST(InputSampler, Cifar100NtkBatchesUseCifar100Constants) {
  MICRONAS_REQUIRE_DATA(kCifar100);
  check_ntk_sampling(true);
}

TEST(InputSampler, CifarPaddingNormalisesToMinusMeanOverStd) {
  MICRONAS_REQUIRE_DATA(kCifar10);

  // Find an image cropped with a top offset: its first row is entirely padding.
  const std::string path = test::data_path(kCifar10);
  const Normalization norm = cifar_normalization(DataSpec::Kind::kCifar10);
  InputSampler sampler(DataSpec::parse("cifar10:" + path), 3);
  ImageBatch b = sampler.ntk_batch(128, 32);
  int padded_rows = 0;
  for (int i = 0; i < b.n; ++i) {
    for (int c = 0; c < 3; ++c) {
      const float* row = b.data.data() + (static_cast<std::size_t>(i) * 3 + c) * 1024;
      const float want = (0.0f - norm.mean[c]) / norm.std[c];
      bool all = true;
      for (int x = 0; x < 32; ++x) all = all && row[x] == want;
      padded_rows += all;
    }
  }
  // P(top offset < 4) = 4/9 per image, so ~57 of 128 images, 3 channels each.
  EXPECT_GT(padded_rows, 3 * 30);
}

TEST(InputSampler, Cifar10LinearRegionWindows) {
  MICRONAS_REQUIRE_DATA(kCifar10);

  const std::string path = test::data_path(kCifar10);
  const RawCifar raw(path, false);
  InputSampler sampler(DataSpec::parse("cifar10:" + path), 7);
  ImageBatch b = sampler.lr_batch(48);
  ASSERT_EQ(b.n, 48);
  ASSERT_EQ(b.c, 1);
  ASSERT_EQ(b.h, 3);
  ASSERT_EQ(b.w, 3);
  std::set<int> channels;
  for (int s = 0; s < b.n; ++s) {
    const float* v = b.data.data() + s * 9;
    // Search every record, channel and window offset 0..29 (no padding, no flip).
    bool found = false;
    for (int r = 0; r < raw.count && !found; ++r) {
      for (int c = 0; c < 3 && !found; ++c) {
        for (int oy = 0; oy < 30 && !found; ++oy) {
          for (int ox = 0; ox < 30 && !found; ++ox) {
            bool all = true;
            for (int k = 0; k < 9 && all; ++k)
              all = raw.value(r, c, oy + k / 3, ox + k % 3) == v[k];
            if (all) channels.insert(c);
            found = all;
          }
        }
      }
    }
    ASSERT_TRUE(found) << "window " << s << " matches no normalised 3x3 window";
  }
  EXPECT_EQ(channels.size(), 3u);
}

TEST(InputSampler, DeterministicPerSeedAndStreamContinues) {
  MICRONAS_REQUIRE_DATA(kCifar10);

  const std::string spec = "cifar10:" + test::data_path(kCifar10);
  for (const std::string& text : {spec, std::string("synthetic")}) {
    InputSampler a(DataSpec::parse(text), 5), b(DataSpec::parse(text), 5),
        c(DataSpec::parse(text), 6);
    ImageBatch a1 = a.ntk_batch(16, 32), b1 = b.ntk_batch(16, 32), c1 = c.ntk_batch(16, 32);
    EXPECT_EQ(a1.data, b1.data) << text;
    EXPECT_NE(a1.data, c1.data) << text;
    // The next call continues the stream: a different batch, still the same for equal seeds.
    ImageBatch a2 = a.ntk_batch(16, 32), b2 = b.ntk_batch(16, 32);
    EXPECT_NE(a1.data, a2.data) << text;
    EXPECT_EQ(a2.data, b2.data) << text;
    EXPECT_EQ(a.lr_batch(100).data, b.lr_batch(100).data) << text;
    EXPECT_NE(a.lr_batch(100).data, c.lr_batch(100).data) << text;
  }
  // Moving the sampler keeps its stream.
  InputSampler a(DataSpec::parse(spec), 9), b(DataSpec::parse(spec), 9);
  a.ntk_batch(4, 32);
  b.ntk_batch(4, 32);
  InputSampler moved(std::move(a));
  EXPECT_EQ(moved.ntk_batch(4, 32).data, b.ntk_batch(4, 32).data);
  EXPECT_EQ(moved.spec().to_string(), spec);
}

TEST(InputSampler, CifarBatchLimits) {
  MICRONAS_REQUIRE_DATA(kCifar10);

  const std::string path = test::data_path(kCifar10);
  InputSampler sampler(DataSpec::parse("cifar10:" + path), 1);
  EXPECT_EQ(sampler.ntk_batch(846, 32).n, 846);  // every image once
  expect_error([&] { sampler.ntk_batch(847, 32); }, Status::kInvalidArgument, {path, "847", "846"});
  expect_error([&] { sampler.ntk_batch(8, 16); }, Status::kUnsupported, {path, "16x16"});
  expect_error([&] { sampler.ntk_batch(0, 32); }, Status::kInvalidArgument, {"batch 0"});
  expect_error([&] { sampler.lr_batch(-1); }, Status::kInvalidArgument, {"batch -1"});
  // Linear-region samples are drawn with replacement: more than the file holds is fine.
  EXPECT_EQ(sampler.lr_batch(1000).n, 1000);
}

TEST(InputSampler, SyntheticIsStandardNormal) {
  InputSampler sampler(DataSpec::parse("synthetic"), 11);
  ImageBatch b = sampler.ntk_batch(128, 16);
  ASSERT_EQ(b.n, 128);
  ASSERT_EQ(b.c, 3);
  ASSERT_EQ(b.h, 16);
  ASSERT_EQ(b.data.size(), 128u * 3 * 16 * 16);
  double sum = 0.0, sq = 0.0;
  for (float v : b.data) {
    sum += v;
    sq += static_cast<double>(v) * v;
  }
  const double n = static_cast<double>(b.data.size()), mean = sum / n, var = sq / n - mean * mean;
  // 98304 samples: the mean's sd is 0.0032 and the variance's 0.0045; 5 sd bounds.
  EXPECT_NEAR(mean, 0.0, 0.016);
  EXPECT_NEAR(var, 1.0, 0.023);
  ImageBatch lr = sampler.lr_batch(1000);
  EXPECT_EQ(lr.n, 1000);
  EXPECT_EQ(lr.c, 1);
  EXPECT_EQ(lr.h, 3);
  EXPECT_EQ(lr.w, 3);
}

// Writes an [n, c, h, w] float32 array whose values encode their own index.
std::vector<float> write_indexed_npy(const std::string& path, std::vector<std::int64_t> shape) {
  std::int64_t total = 1;
  for (std::int64_t d : shape) total *= d;
  std::vector<float> v(static_cast<std::size_t>(total));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i) * 0.5f - 7.0f;
  write_npy(path, shape, v.data());
  return v;
}

TEST(InputSampler, NpyNtkSamplesAreDistinctRowsAsGiven) {
  const std::string path = temp_file("ntk_inputs.npy");
  std::vector<float> v = write_indexed_npy(path, {10, 3, 8, 8});
  InputSampler sampler(DataSpec::parse("npy:" + path), 1);
  ImageBatch b = sampler.ntk_batch(10, 8);
  ASSERT_EQ(b.n, 10);
  std::set<int> rows;
  for (int i = 0; i < b.n; ++i) {
    const float* s = b.data.data() + i * 192;
    const int row = static_cast<int>((s[0] + 7.0f) / 0.5f) / 192;
    for (int k = 0; k < 192; ++k) ASSERT_EQ(s[k], v[row * 192 + k]);
    rows.insert(row);
  }
  EXPECT_EQ(rows.size(), 10u);
  expect_error([&] { sampler.ntk_batch(4, 32); }, Status::kInvalidArgument,
               {path, "[N, 3, 32, 32]", "[10, 3, 8, 8]"});
  expect_error([&] { sampler.ntk_batch(11, 8); }, Status::kInvalidArgument, {path, "11", "10"});

  // float64 arrays are accepted too.
  const std::string path64 = temp_file("ntk_inputs64.npy");
  std::vector<double> d(2 * 3 * 4 * 4, 0.25);
  write_npy(path64, {2, 3, 4, 4}, d.data());
  ImageBatch b64 = InputSampler(DataSpec::parse("npy:" + path64), 1).ntk_batch(2, 4);
  for (float x : b64.data) EXPECT_EQ(x, 0.25f);

  const std::string wrong_rank = temp_file("rank2.npy");
  write_indexed_npy(wrong_rank, {10, 27});
  expect_error([&] { InputSampler(DataSpec::parse("npy:" + wrong_rank), 1); },
               Status::kInvalidArgument, {wrong_rank, "[10, 27]", "4-D"});
  const std::string channels = temp_file("one_channel.npy");
  write_indexed_npy(channels, {10, 1, 32, 32});
  expect_error([&] { InputSampler(DataSpec::parse("npy:" + channels), 1).ntk_batch(2, 32); },
               Status::kInvalidArgument, {"[N, 3, 32, 32]", "[10, 1, 32, 32]"});
}

TEST(InputSampler, NpyLinearRegionSamplesOrCrops) {
  const std::string windows = temp_file("lr_windows.npy");
  std::vector<float> v = write_indexed_npy(windows, {50, 1, 3, 3});
  InputSampler a(DataSpec::parse("npy:" + windows), 2);
  ImageBatch b = a.lr_batch(50);
  std::set<int> rows;
  for (int i = 0; i < 50; ++i) {
    const int row = static_cast<int>((b.data[i * 9] + 7.0f) / 0.5f) / 9;
    for (int k = 0; k < 9; ++k) ASSERT_EQ(b.data[i * 9 + k], v[row * 9 + k]);
    rows.insert(row);
  }
  EXPECT_EQ(rows.size(), 50u);
  expect_error([&] { a.lr_batch(51); }, Status::kInvalidArgument, {windows, "51", "50"});

  // Other shapes are cropped: each window is a 3x3 block of one channel of one sample.
  const std::string images = temp_file("lr_images.npy");
  std::vector<float> img = write_indexed_npy(images, {4, 2, 5, 6});
  InputSampler c(DataSpec::parse("npy:" + images), 3);
  ImageBatch w = c.lr_batch(200);
  std::set<int> seen_channels;
  for (int i = 0; i < 200; ++i) {
    const int first = static_cast<int>((w.data[i * 9] + 7.0f) / 0.5f);
    const int x = first % 6, y = first / 6 % 5, ch = first / 30 % 2;
    ASSERT_LE(x, 3);
    ASSERT_LE(y, 2);
    seen_channels.insert(ch);
    for (int k = 0; k < 9; ++k) ASSERT_EQ(w.data[i * 9 + k], img[first + (k / 3) * 6 + k % 3]);
  }
  EXPECT_EQ(seen_channels.size(), 2u);

  const std::string small = temp_file("lr_small.npy");
  write_indexed_npy(small, {4, 3, 2, 8});
  expect_error([&] { InputSampler(DataSpec::parse("npy:" + small), 1).lr_batch(4); },
               Status::kInvalidArgument, {small, "H, W >= 3", "[4, 3, 2, 8]"});
}

TEST(InputSampler, NpyNonFiniteValuesAreNamed) {
  const std::string path = temp_file("nan_inputs.npy");
  std::vector<float> v(2 * 3 * 4 * 4, 1.0f);
  // Flat index of [1, 2, 3, 0] in [2, 3, 4, 4] is ((1*3 + 2)*4 + 3)*4 + 0 = 92.
  v[92] = std::numeric_limits<float>::quiet_NaN();
  v[95] = std::numeric_limits<float>::infinity();
  write_npy(path, {2, 3, 4, 4}, v.data());
  expect_error([&] { InputSampler(DataSpec::parse("npy:" + path), 1); }, Status::kNumericalError,
               {path, "element [1, 2, 3, 0] is NaN"});
  v[92] = 0.0f;
  write_npy(path, {2, 3, 4, 4}, v.data());
  expect_error([&] { InputSampler(DataSpec::parse("npy:" + path), 1); }, Status::kNumericalError,
               {path, "element [1, 2, 3, 3] is Inf"});
  std::vector<double> big(2 * 3 * 4 * 4, 1.0);
  big[1] = 1e300;
  write_npy(path, {2, 3, 4, 4}, big.data());
  expect_error([&] { InputSampler(DataSpec::parse("npy:" + path), 1); }, Status::kNumericalError,
               {path, "element [0, 0, 0, 1]", "float32"});
  expect_error([&] { InputSampler(DataSpec::parse("npy:" + temp_file("absent.npy")), 1); },
               Status::kIoError, {"absent.npy"});
}

}  // namespace
}  // namespace micronas
