// The set of activation-pattern hashes recorded since the last clear, kept on the device, and
// the number of distinct ones: a stable two-pass radix sort (low word, then high word) of the
// 128-bit hashes with CUB, then a count of the positions where the hash changes.
//
// The store grows by doubling when a batch does not fit (a few times per linear-region
// evaluation at most, and never once its size is reached); the sort's buffers and temporary
// storage are sized with it, so counting allocates nothing.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace micronas::cuda {

class PatternSet {
 public:
  PatternSet() = default;
  ~PatternSet();
  PatternSet(const PatternSet&) = delete;
  PatternSet& operator=(const PatternSet&) = delete;

  void clear() { size_ = 0; }
  std::int64_t size() const { return size_; }
  // Appends `count` hashes, hash[2n] and hash[2n + 1] for sample n (device memory).
  void append(const std::uint64_t* hash, int count, cudaStream_t stream);
  // Distinct hashes among those appended; synchronises the stream.
  std::int64_t count_distinct(cudaStream_t stream);

 private:
  // Grows the store to `capacity` hashes, keeping those appended; synchronises the stream.
  void reserve(std::int64_t capacity, cudaStream_t stream);
  void release();

  std::int64_t size_ = 0, capacity_ = 0;
  // words_[0], words_[1]: the store (first and second word of each hash); words_[2..5]: the
  // sort's double buffers; count_: the device-side result.
  std::uint64_t* words_[6] = {};
  unsigned long long* count_ = nullptr;
  void* temp_ = nullptr;
  std::size_t temp_bytes_ = 0;
};

}  // namespace micronas::cuda
