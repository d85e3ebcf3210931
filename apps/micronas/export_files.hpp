// Output files of `micronas export` (NB201 and time-series): never overwritten, and all written or
// none left behind.
#pragma once

#include <functional>
#include <string>

#include "micronas/tflite_export.hpp"

namespace micronas::cli {

bool exists(const std::string& path);
// Throws Error(kIoError) naming `option` and `path` when the path exists.
void refuse_existing(const std::string& option, const std::string& path);

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
