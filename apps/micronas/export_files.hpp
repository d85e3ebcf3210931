// Output files that never appear half written (runtime/file_io.hpp's StagedOutput), named in
// errors by the option that gave them: `micronas export`'s (NB201 and time-series), search and
// random-search --out, evaluate --svg and the checkpoints.
#pragma once

#include <functional>
#include <string>

#include "micronas/tflite_export.hpp"
#include "runtime/file_io.hpp"

namespace micronas::cli {

bool exists(const std::string& path);
// Throws Error(kIoError) naming `option` and `path` when the path exists.
void refuse_existing(const std::string& option, const std::string& path);
// Writes `text` to `path` whole or not at all (StagedOutput); an error names `option` first.
void write_option_file(const std::string& option, const std::string& path, const std::string& text,
                       Publish mode);

// The --reference directory (none when `dir` is empty) and what writes its files into the
// directory it is given.
struct ReferenceOutput {
  std::string dir;
  std::function<void(const std::string& dir)> write;
};

// Writes the model to `out`, the C array g_model (with `description` in its comment) to `c_array`
// (unless empty) and the reference files into a new directory, and prints "wrote OUT: N bytes,
// M operators (counts by kind)" on stdout. None of them is ever overwritten, and none appears
// half written: each is written under a temporary name and renamed into place when all are
// done. Any failure (Error(kIoError) naming the option and path) removes everything written: a
// failed export leaves no file for a rerun to be refused over.
void write_model_files(const tflite::ExportedModel& model, const std::string& out,
                       const std::string& c_array, const std::string& description,
                       const ReferenceOutput& reference = {});

}  // namespace micronas::cli
