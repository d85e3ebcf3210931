// Output files that are never overwritten, and all written or none left behind: `micronas export`'s
// (NB201 and time-series), random-search --out and evaluate --svg.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "micronas/tflite_export.hpp"

namespace micronas::cli {

bool exists(const std::string& path);
// Throws Error(kIoError) naming `option` and `path` when the path exists.
void refuse_existing(const std::string& option, const std::string& path);
// Creates `path` only if nothing is there yet and writes `data` whole; a failed write removes it.
// Error(kIoError) naming `option` and `path` otherwise.
void write_new_file(const std::string& option, const std::string& path, const void* data,
                    std::size_t size);

// The --reference directory (none when `dir` is empty) and what writes its files into it.
struct ReferenceOutput {
  std::string dir;
  std::function<void(const std::string& dir)> write;
};

// Creates `out`, `c_array` (unless empty) and the reference directory, each only where nothing
// exists, before writing any of them; then writes the model to `out`, the C array g_model (with
// `description` in its comment) to `c_array` and the reference files, and prints
// "wrote OUT: N bytes, M operators (counts by kind)" on stdout. Any failure (Error(kIoError)
// naming the option and path) removes everything it created: a failed export leaves no file for a
// rerun to be refused over.
void write_model_files(const tflite::ExportedModel& model, const std::string& out,
                       const std::string& c_array, const std::string& description,
                       const ReferenceOutput& reference = {});

}  // namespace micronas::cli
