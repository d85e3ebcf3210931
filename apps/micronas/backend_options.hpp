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
  // Error(kUnsupported) for a backend this build or machine lacks.
  ComputeContext to_context() const;
};

}  // namespace micronas::cli
