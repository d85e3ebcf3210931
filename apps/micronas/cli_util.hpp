// Helpers shared by the verbs: resolving an ARCH argument, optional benchmark tables.
#pragma once

#include <memory>
#include <string>

#include "micronas/arch.hpp"
#include "micronas/benchmark_table.hpp"

namespace micronas::cli {

// ARCH is an NB201 string, a supernet state, `supernet`/`supernet-none`, or, with a benchmark
// table, an official NB201 index.
Arch resolve_arch(const std::string& text, const BenchmarkTable* table);

// Loads a table when a path is given, else returns null.
std::unique_ptr<BenchmarkTable> load_table(const std::string& path);

}  // namespace micronas::cli
