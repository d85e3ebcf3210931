// --backend, --device and --threads: where score, search, random-search and sweep compute.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "micronas/context.hpp"

namespace micronas::cli {

struct BackendCliOptions {
  std::string backend = "cpu";
  int device = 0, threads = 0;
  void add_to(CLI::App* cmd);
  // The resolved context; `--backend auto` says on stderr, once, what it chose. Throws
  // Error(kUnsupported) for a backend this build or machine lacks. With local_rank >= 0 (one
  // process of several on a node) and no --device given, a CUDA context takes device
  // local_rank modulo the devices present, so that each local process has its own GPU.
  ComputeContext to_context(int local_rank = -1) const;

 private:
  CLI::Option* device_option_ = nullptr;
};

}  // namespace micronas::cli
