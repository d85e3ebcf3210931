#include <cub/device/device_radix_sort.cuh>
#include <limits>
#include <string>

#include "kernels/cuda/cuda_check.hpp"
#include "kernels/cuda/launch.hpp"
#include "kernels/cuda/pattern_count.hpp"
#include "micronas/error.hpp"

namespace micronas::cuda {
namespace {

__global__ void split_hashes_kernel(int count, const std::uint64_t* __restrict__ hash,
                                    std::uint64_t* __restrict__ first,
                                    std::uint64_t* __restrict__ second) {
  for (int n = blockIdx.x * blockDim.x + threadIdx.x; n < count; n += gridDim.x * blockDim.x) {
    first[n] = hash[2 * n];
    second[n] = hash[2 * n + 1];
  }
}

// With the hashes sorted, each distinct one starts exactly one run.
__global__ void count_runs_kernel(std::int64_t n, const std::uint64_t* __restrict__ first,
                                  const std::uint64_t* __restrict__ second,
                                  unsigned long long* __restrict__ count) {
  unsigned long long local = 0;
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n;
       i += std::int64_t{gridDim.x} * blockDim.x)
    local += i == 0 || first[i] != first[i - 1] || second[i] != second[i - 1];
  if (local) atomicAdd(count, local);
}

}  // namespace

std::uint64_t* PatternSet::words(int i) const {
  return reinterpret_cast<std::uint64_t*>(memory_.data()) + static_cast<std::size_t>(i) * capacity_;
}

void PatternSet::reserve(std::int64_t capacity, cudaStream_t stream) {
  if (capacity <= capacity_) return;
  if (capacity > std::numeric_limits<int>::max())
    throw Error(Status::kUnsupported, "more than 2^31 activation patterns in one count");
  // CUB's temporary storage for `capacity` keys, queried before anything is allocated.
  std::size_t temp_bytes = 0;
  cub::DoubleBuffer<std::uint64_t> keys(nullptr, nullptr), values(nullptr, nullptr);
  MICRONAS_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(nullptr, temp_bytes, keys, values,
                                                      static_cast<int>(capacity)));
  const std::size_t words_bytes = 6 * static_cast<std::size_t>(capacity) * sizeof(std::uint64_t);
  const std::size_t count_offset = words_bytes;  // 8-byte aligned: a multiple of 8
  const std::size_t temp_offset = (count_offset + sizeof(unsigned long long) + 255) / 256 * 256;
  DeviceMemory fresh(memory_.context());
  fresh.allocate(temp_offset + temp_bytes,
                 "the activation-pattern set of " + std::to_string(capacity) + " samples");
  if (size_ > 0) {
    const std::size_t used = static_cast<std::size_t>(size_) * sizeof(std::uint64_t);
    auto* to = reinterpret_cast<std::uint64_t*>(fresh.data());
    MICRONAS_CUDA_CHECK(cudaMemcpyAsync(to, words(0), used, cudaMemcpyDeviceToDevice, stream));
    MICRONAS_CUDA_CHECK(
        cudaMemcpyAsync(to + capacity, words(1), used, cudaMemcpyDeviceToDevice, stream));
    MICRONAS_CUDA_CHECK(cudaStreamSynchronize(stream));
  }
  memory_.swap(fresh);  // the old block goes back to the cache with `fresh`
  capacity_ = capacity;
  temp_offset_ = temp_offset;
  temp_bytes_ = temp_bytes;
  count_offset_ = count_offset;
}

void PatternSet::append(const std::uint64_t* hash, int count, cudaStream_t stream) {
  if (count <= 0) return;
  if (size_ + count > capacity_) {
    MICRONAS_CUDA_CHECK(cudaStreamSynchronize(stream));
    std::int64_t capacity = capacity_ > 0 ? capacity_ : 4096;
    while (capacity < size_ + count) capacity *= 2;
    reserve(capacity, stream);
  }
  const Launch l = elementwise_launch(count);
  split_hashes_kernel<<<l.grid_x, l.block, 0, stream>>>(count, hash, words(0) + size_,
                                                        words(1) + size_);
  check_launch("split_hashes_kernel");
  size_ += count;
}

std::int64_t PatternSet::count_distinct(cudaStream_t stream) {
  if (size_ == 0) return 0;
  const int n = static_cast<int>(size_);
  const std::size_t used = static_cast<std::size_t>(size_) * sizeof(std::uint64_t);
  // Sort copies: the store keeps its hashes for later batches.
  MICRONAS_CUDA_CHECK(cudaMemcpyAsync(words(2), words(0), used, cudaMemcpyDeviceToDevice, stream));
  MICRONAS_CUDA_CHECK(cudaMemcpyAsync(words(4), words(1), used, cudaMemcpyDeviceToDevice, stream));
  cub::DoubleBuffer<std::uint64_t> first(words(2), words(3)), second(words(4), words(5));
  void* temp = memory_.data() + temp_offset_;
  std::size_t temp_bytes = temp_bytes_;
  // Least significant word first; the radix sort is stable, so the second pass keeps ties of
  // the first word in second-word order: lexicographic (first, second) order.
  MICRONAS_CUDA_CHECK(
      cub::DeviceRadixSort::SortPairs(temp, temp_bytes, second, first, n, 0, 64, stream));
  temp_bytes = temp_bytes_;
  MICRONAS_CUDA_CHECK(
      cub::DeviceRadixSort::SortPairs(temp, temp_bytes, first, second, n, 0, 64, stream));
  auto* count = reinterpret_cast<unsigned long long*>(memory_.data() + count_offset_);
  MICRONAS_CUDA_CHECK(cudaMemsetAsync(count, 0, sizeof(unsigned long long), stream));
  const Launch l = elementwise_launch(n);
  count_runs_kernel<<<l.grid_x, l.block, 0, stream>>>(n, first.Current(), second.Current(), count);
  check_launch("count_runs_kernel");
  unsigned long long result = 0;
  MICRONAS_CUDA_CHECK(
      cudaMemcpyAsync(&result, count, sizeof result, cudaMemcpyDeviceToHost, stream));
  MICRONAS_CUDA_CHECK(cudaStreamSynchronize(stream));
  return static_cast<std::int64_t>(result);
}

}  // namespace micronas::cuda
