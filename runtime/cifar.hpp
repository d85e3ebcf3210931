// The CIFAR-10/100 binary format (the "binary version" of the official archives). Internal to
// the library; InputSampler is the public entry.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace micronas {

constexpr int kCifarSide = 32;
constexpr int kCifarPixels = 3 * kCifarSide * kCifarSide;  // 1024 R, 1024 G, 1024 B, row-major
// CIFAR-10 and CIFAR-100 hold 60,000 images each (train and test together): a file with more
// records is not one of theirs.
constexpr std::uint64_t kCifarMaxRecords = 60000;

struct CifarImages {
  int count = 0;
  std::vector<std::uint8_t> pixels;         // count x 3 x 32 x 32, raw bytes 0..255
  std::vector<std::uint8_t> labels;         // count; CIFAR-100: the fine label
  std::vector<std::uint8_t> coarse_labels;  // CIFAR-100 only, else empty
};

// Reads a whole file of records: CIFAR-10 (`label_bytes` = 1: label, 3072 pixels) or CIFAR-100
// (`label_bytes` = 2: coarse label, fine label, 3072 pixels). Throws Error(kIoError) naming the
// file for a missing or empty file, a path that is not a regular file (the file is read by size,
// and inputs are read more than once, so pipes and devices are refused), more than
// kCifarMaxRecords records, a size that is not a whole number of records (with the count
// of complete records and the leftover bytes), or a label out of range (which is also what
// reading a CIFAR-100 file as CIFAR-10 usually produces).
CifarImages read_cifar_binary(const std::string& path, int label_bytes);

}  // namespace micronas
