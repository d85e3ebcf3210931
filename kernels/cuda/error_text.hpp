// The wording of CUDA backend errors, kept free of CUDA headers so that it is unit-tested on
// machines without a GPU (tests/test_cuda_host.cpp).
#pragma once

#include <cstdint>
#include <string>

namespace micronas::cuda {

// "cudaMemcpyAsync(...) failed: cudaErrorInvalidValue (invalid argument)"; `library` is the
// status's namespace (CUDA, cuBLAS, cuSOLVER) and `code` its numeric value.
std::string call_failure_message(const std::string& call, const std::string& library, int code,
                                 const std::string& name, const std::string& description);

// "cannot allocate 1.50 GiB (1610612736 bytes) for <what> on cuda:0: 512.00 MiB free of
// 80.00 GiB"
std::string out_of_memory_message(const std::string& what, int device, std::int64_t needed,
                                  std::int64_t free_bytes, std::int64_t total_bytes);

// 1536 -> "1.50 KiB"; below 1 KiB the plain count "512 B".
std::string format_bytes(std::int64_t bytes);

}  // namespace micronas::cuda
