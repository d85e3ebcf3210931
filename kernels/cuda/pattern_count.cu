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

PatternSet::~PatternSet() { release(); }

void PatternSet::release() {
  // Destructors must not throw: a failing free here has nothing left to report to.
  for (std::uint64_t*& p : words_) {
    if (p) cudaFree(p);
    p = nullptr;
  }
  if (count_) cudaFree(count_);
  if (temp_) cudaFree(temp_);
  count_ = nullptr;
  temp_ = nullptr;
  temp_bytes_ = 0;
  capacity_ = 0;
}

void PatternSet::reserve(std::int64_t capacity, cudaStream_t stream) {
  if (capacity <= capacity_) return;
  if (capacity > std::numeric_limits<int>::max())
    throw Error(Status::kUnsupported, "more than 2^31 activation patterns in one count");
  // Sort temporary storage for `capacity` keys, queried before anything is allocated.
  std::size_t temp_bytes = 0;
  cub::DoubleBuffer<std::uint64_t> keys(nullptr, nullptr), values(nullptr, nullptr);
  MICRONAS_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(nullptr, temp_bytes, keys, values,
                                                      static_cast<int>(capacity)));
  const std::size_t words = static_cast<std::size_t>(capacity) * sizeof(std::uint64_t);
  std::uint64_t* fresh[6] = {};
  void* temp = nullptr;
  unsigned long long* count = nullptr;
  try {
    for (auto& p : fresh)
      p = static_cast<std::uint64_t*>(device_malloc(words, "the activation-pattern set"));
    temp = device_malloc(temp_bytes, "the activation-pattern sort");
    count = static_cast<unsigned long long*>(
        device_malloc(sizeof(unsigned long long), "the activation-pattern count"));
  } catch (...) {
    for (auto p : fresh)
      if (p) cudaFree(p);
    if (temp) cudaFree(temp);
    throw;
  }
  if (size_ > 0) {
    const std::size_t used = static_cast<std::size_t>(size_) * sizeof(std::uint64_t);
    MICRONAS_CUDA_CHECK(
        cudaMemcpyAsync(fresh[0], words_[0], used, cudaMemcpyDeviceToDevice, stream));
    MICRONAS_CUDA_CHECK(
        cudaMemcpyAsync(fresh[1], words_[1], used, cudaMemcpyDeviceToDevice, stream));
    MICRONAS_CUDA_CHECK(cudaStreamSynchronize(stream));
  }
  const std::int64_t size = size_;
  release();
  for (int i = 0; i < 6; ++i) words_[i] = fresh[i];
  temp_ = temp;
  temp_bytes_ = temp_bytes;
  count_ = count;
  capacity_ = capacity;
  size_ = size;
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
  split_hashes_kernel<<<l.grid_x, l.block, 0, stream>>>(count, hash, words_[0] + size_,
                                                        words_[1] + size_);
  check_launch("split_hashes_kernel");
  size_ += count;
}

std::int64_t PatternSet::count_distinct(cudaStream_t stream) {
  if (size_ == 0) return 0;
  const int n = static_cast<int>(size_);
  const std::size_t used = static_cast<std::size_t>(size_) * sizeof(std::uint64_t);
  // Sort copies: the store keeps its hashes for later batches.
  MICRONAS_CUDA_CHECK(
      cudaMemcpyAsync(words_[2], words_[0], used, cudaMemcpyDeviceToDevice, stream));
  MICRONAS_CUDA_CHECK(
      cudaMemcpyAsync(words_[4], words_[1], used, cudaMemcpyDeviceToDevice, stream));
  cub::DoubleBuffer<std::uint64_t> first(words_[2], words_[3]), second(words_[4], words_[5]);
  std::size_t temp_bytes = temp_bytes_;
  // Least significant word first; the radix sort is stable, so the second pass keeps ties of
  // the first word in second-word order: lexicographic (first, second) order.
  MICRONAS_CUDA_CHECK(
      cub::DeviceRadixSort::SortPairs(temp_, temp_bytes, second, first, n, 0, 64, stream));
  temp_bytes = temp_bytes_;
  MICRONAS_CUDA_CHECK(
      cub::DeviceRadixSort::SortPairs(temp_, temp_bytes, first, second, n, 0, 64, stream));
  MICRONAS_CUDA_CHECK(cudaMemsetAsync(count_, 0, sizeof(unsigned long long), stream));
  const Launch l = elementwise_launch(n);
  count_runs_kernel<<<l.grid_x, l.block, 0, stream>>>(n, first.Current(), second.Current(), count_);
  check_launch("count_runs_kernel");
  unsigned long long result = 0;
  MICRONAS_CUDA_CHECK(
      cudaMemcpyAsync(&result, count_, sizeof result, cudaMemcpyDeviceToHost, stream));
  MICRONAS_CUDA_CHECK(cudaStreamSynchronize(stream));
  return static_cast<std::int64_t>(result);
}

}  // namespace micronas::cuda
