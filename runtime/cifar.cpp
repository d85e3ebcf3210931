#include "runtime/cifar.hpp"

#include <cstring>

#include "micronas/error.hpp"
#include "runtime/file_io.hpp"

namespace micronas {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw Error(Status::kIoError, path + ": " + what);
}

}  // namespace

CifarImages read_cifar_binary(const std::string& path, int label_bytes) {
  if (label_bytes != 1 && label_bytes != 2) {
    throw Error(Status::kInvalidArgument, "read_cifar_binary: label_bytes must be 1 or 2");
  }
  const char* format = label_bytes == 1 ? "CIFAR-10" : "CIFAR-100";
  const std::size_t record = static_cast<std::size_t>(label_bytes) + kCifarPixels;
  // Read once, from a regular file whose size is checked before anything is allocated.
  InputFile in(path, /*allow_stream=*/false);
  const std::uint64_t size = in.size();
  const std::uint64_t complete = size / record, leftover = size % record;
  if (size == 0) fail(path, std::string("file is empty (expected ") + format + " records)");
  if (leftover != 0) {
    fail(path, "size " + std::to_string(size) + " bytes is not a whole number of " +
                   std::to_string(record) + "-byte " + format +
                   " records: " + std::to_string(complete) + " complete records and " +
                   std::to_string(leftover) + " leftover bytes (record " +
                   std::to_string(complete + 1) + " is truncated: " + std::to_string(leftover) +
                   " of " + std::to_string(record) + " bytes)");
  }
  if (complete > kCifarMaxRecords)
    fail(path, "holds " + std::to_string(complete) + " records; " + format + " has " +
                   std::to_string(kCifarMaxRecords) + " images in all, so this is not a " + format +
                   " file");
  std::vector<char> bytes(static_cast<std::size_t>(size));
  if (in.read(bytes.data(), bytes.size()) != bytes.size())
    fail(path, "the file shrank while being read");

  CifarImages images;
  images.count = static_cast<int>(complete);
  images.pixels.resize(complete * kCifarPixels);
  images.labels.resize(complete);
  if (label_bytes == 2) images.coarse_labels.resize(complete);
  const unsigned max_label = label_bytes == 1 ? 9 : 99, max_coarse = 19;
  for (std::size_t r = 0; r < complete; ++r) {
    const auto* rec = reinterpret_cast<const unsigned char*>(bytes.data() + r * record);
    const unsigned label = rec[label_bytes - 1];
    const unsigned coarse = label_bytes == 2 ? rec[0] : 0;
    // Out-of-range labels mean the bytes are not records of this format (e.g. a CIFAR-100 file
    // read as CIFAR-10 whose size happens to fit), so the pixels cannot be trusted either.
    if (label > max_label || coarse > max_coarse) {
      fail(path, "record " + std::to_string(r + 1) + " has label " +
                     std::to_string(label > max_label ? label : coarse) + ", outside 0.." +
                     std::to_string(label > max_label ? max_label : max_coarse) + ": not a " +
                     format + " file?");
    }
    images.labels[r] = static_cast<std::uint8_t>(label);
    if (label_bytes == 2) images.coarse_labels[r] = static_cast<std::uint8_t>(coarse);
    std::memcpy(images.pixels.data() + r * kCifarPixels, rec + label_bytes, kCifarPixels);
  }
  return images;
}

}  // namespace micronas
