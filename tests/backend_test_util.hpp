// Backends for tests that run one body on every backend.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "micronas/context.hpp"
#include "runtime/backend.hpp"

namespace micronas::test {

// True when MICRONAS_REQUIRE_CUDA=1: a GPU run where a skipped CUDA test is a failure.
inline bool cuda_required() {
  const char* v = std::getenv("MICRONAS_REQUIRE_CUDA");
  return v && std::string(v) == "1";
}

// The backend of `kind`, or null after marking the test skipped (no CUDA device, or a CPU-only
// build) or failed (the same with MICRONAS_REQUIRE_CUDA=1).
inline std::unique_ptr<Backend> backend_or_skip(BackendKind kind) {
  if (kind == BackendKind::kCuda) {
    std::string why;
    if (!cuda_compiled())
      why = "this build has no CUDA backend";
    else if (cuda_devices().empty())
      why = "no CUDA device";
    if (!why.empty()) {
      if (cuda_required())
        ADD_FAILURE() << why << ", and MICRONAS_REQUIRE_CUDA=1";
      else
        [&] { GTEST_SKIP() << "CUDA case skipped: " << why; }();
      return nullptr;
    }
  }
  return make_backend(ComputeContext::of(kind));
}

// Names the instances of a test parameterised over backends: .../cpu, .../cuda.
inline std::string backend_test_name(const ::testing::TestParamInfo<BackendKind>& param) {
  return backend_name(param.param);
}

}  // namespace micronas::test
