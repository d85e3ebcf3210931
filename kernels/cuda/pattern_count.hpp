// The set of activation-pattern hashes recorded since the last clear, kept on the device, and
// the number of distinct ones: a stable two-pass radix sort (low word, then high word) of the
// 128-bit hashes with CUB, then a count of the positions where the hash changes.
//
// Its memory is one block from the device context's cache: the store, the sort's double
// buffers, the result and CUB's temporary storage. The block grows by doubling when a batch
// does not fit (a few times in an executor's life at most), so counting allocates nothing, and
// the executors a search compiles one after another reuse the blocks of their predecessors.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <memory>

#include "kernels/cuda/device_context.hpp"

namespace micronas::cuda {

class PatternSet {
 public:
  explicit PatternSet(std::shared_ptr<DeviceContext> context) : memory_(std::move(context)) {}

  void clear() { size_ = 0; }
  std::int64_t size() const { return size_; }
  // Appends `count` hashes, hash[2n] and hash[2n + 1] for sample n (device memory).
  void append(const std::uint64_t* hash, int count, cudaStream_t stream);
  // Distinct hashes among those appended; synchronises the stream.
  std::int64_t count_distinct(cudaStream_t stream);

 private:
  // Grows to `capacity` hashes, keeping those appended; synchronises the stream.
  void reserve(std::int64_t capacity, cudaStream_t stream);
  // Word array i of the block: 0, 1 the store (first and second word of each hash), 2..5 the
  // sort's double buffers.
  std::uint64_t* words(int i) const;

  DeviceMemory memory_;
  std::int64_t size_ = 0, capacity_ = 0;
  std::size_t temp_offset_ = 0, temp_bytes_ = 0, count_offset_ = 0;
};

}  // namespace micronas::cuda
